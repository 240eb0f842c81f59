// Differential: every request the device client builds is read by Debian's
// libwbxml2 (wbxml2xml) as our own decoder reads it, so the client speaks
// WBXML that a decoder we did not write agrees with.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/eas/provision.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "device/protocol.h"
#include "testing/temp_dir.h"

namespace rampart::device {
namespace {

TEST(DeviceWbxml, Wbxml2xmlReadsEveryRequestAsWeDo) {
  if (std::system("command -v wbxml2xml >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  }
  std::vector<Bytes> requests;
  auto keep = [&](Result<Bytes> r) {
    ASSERT_TRUE(r) << r.error().message();
    requests.push_back(std::move(*r));
  };
  rampart::eas::ProvisionRequest provision;
  provision.device_information.emplace();
  provision.device_information->model = "rampart device";
  provision.policy.emplace();
  keep(rampart::eas::encodeProvisionRequest(provision, "16.1"));
  keep(buildFolderSync("0"));
  SyncRequest initial;
  initial.collection_id = "1";
  initial.sync_key = "0";
  initial.with_options = false;
  keep(buildSync(initial));
  SyncRequest next;
  next.collection_id = "1";
  next.sync_key = "{0a1b2c3d}7";
  next.changes = {{ClientChange::Kind::mark_read, "1:5", true}, {ClientChange::Kind::delete_item, "1:6", true}};
  next.fetch = {"1:7"};
  keep(buildSync(next));
  keep(buildPing(600, {{"1", "Email"}, {"4", "Email"}}));
  ComposeRequest send;
  send.kind = ComposeRequest::Kind::send;
  send.client_id = "c1";
  send.mime = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nbody\r\n";
  keep(buildCompose(send));
  ComposeRequest reply = send;
  reply.kind = ComposeRequest::Kind::reply;
  reply.client_id = "c2";
  reply.folder_id = "1";
  reply.item_id = "1:5";
  keep(buildCompose(reply));
  reply.kind = ComposeRequest::Kind::forward;
  keep(buildCompose(reply));
  keep(buildMoveItems("1:5", "1", "3"));
  keep(buildItemFetch("1", "1:5"));

  rampart::testing::TempDir dir("rampart-devwbxml");
  int n = 0;
  for (const Bytes& bytes : requests) {
    SCOPED_TRACE(n);
    std::string in = dir.file("q" + std::to_string(n) + ".wbxml");
    std::string out = dir.file("q" + std::to_string(n++) + ".xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    std::string cmd = "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + dir.file("log") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream theirs_in(out, std::ios::binary);
    std::string theirs((std::istreambuf_iterator<char>(theirs_in)), std::istreambuf_iterator<char>());
    // libwbxml2 spells ComposeMail's Mime (MS-ASWBXML 2.1.2.1.22, token 0x10)
    // "MIME": same token, other name (tests/unit/codec/wbxml_test.cc lists these).
    for (std::string tag : {"<MIME>", "</MIME>"}) {
      for (auto at = theirs.find(tag); at != std::string::npos; at = theirs.find(tag, at)) {
        theirs.replace(at, tag.size(), tag.size() == 6 ? "<Mime>" : "</Mime>");
      }
    }
    auto ours = wbxml::decode(bytes);
    ASSERT_TRUE(ours) << ours.error().message();
    EXPECT_EQ(theirs, wbxml::toXml(*ours));
  }
}

}  // namespace
}  // namespace rampart::device
