// Sync (MS-ASCMD 2.2.1.21) and GetItemEstimate (2.2.1.9) for email, against
// real SQLite mail and device stores; the shared email encoder, the Sync
// request decoder and mime::extractBodies with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codec/eas/sync_request.h"
#include "codec/mime/body.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "server/eas/detail/email_encoding.h"
#include "server/eas/detail/sync_state.h"
#include "server/eas/get_item_estimate_command.h"
#include "server/eas/sync_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86400;

std::string text(const wbxml::Element& e, std::string_view child) {
  const wbxml::Element* c = e.child(child);
  return c ? c->text : std::string();
}

struct Command {
  std::string kind;  // Add, Change, Delete, SoftDelete
  std::string server_id;
  const wbxml::Element* data = nullptr;  // ApplicationData
};

struct CollectionView {
  std::string key, id;
  int status = 0;
  bool more = false;
  std::vector<Command> commands;
  const wbxml::Element* responses = nullptr;
};

struct SyncView {
  bool empty = false;
  int top_status = 0;  // a top-level Status
  std::string limit;
  std::vector<CollectionView> collections;
  wbxml::Document doc;
  std::string xml;
  std::vector<std::uint8_t> bytes;
};

void parseSync(SyncView& v) {
  if (v.bytes.empty()) {
    v.empty = true;
    return;
  }
  wbxml::Limits limits;  // room for the large-body test
  limits.max_string = 16u << 20;
  limits.max_total = 64u << 20;
  auto doc = wbxml::decode(v.bytes, limits);
  ASSERT_TRUE(doc) << doc.error().message();
  v.doc = std::move(*doc);
  v.xml = wbxml::toXml(v.doc);
  ASSERT_EQ(v.doc.root.name, "Sync") << v.xml;
  if (const auto* s = v.doc.root.child("Status")) v.top_status = std::stoi(s->text);
  v.limit = text(v.doc.root, "Limit");
  if (const auto* cols = v.doc.root.child("Collections")) {
    for (const auto& c : cols->children) {
      CollectionView cv;
      cv.key = text(c, "SyncKey");
      cv.id = text(c, "CollectionId");
      cv.status = std::stoi(text(c, "Status"));
      cv.more = c.child("MoreAvailable") != nullptr;
      cv.responses = c.child("Responses");
      if (const auto* cmds = c.child("Commands")) {
        for (const auto& cmd : cmds->children) {
          cv.commands.push_back(
              {std::string(cmd.name), text(cmd, "ServerId"), cmd.child("ApplicationData")});
        }
      }
      v.collections.push_back(std::move(cv));
    }
  }
}

std::string message(const std::string& subject, const std::string& body = "Hello.",
                    const std::string& extra_headers = "") {
  return "From: Bob <bob@example.org>\r\nTo: \"Alice A.\" <alice@example.org>, "
         "carol@example.org\r\n"
         "Subject: " +
         subject + "\r\nMessage-ID: <" + subject + "@example.org>\r\n" + extra_headers + "\r\n" +
         body + "\r\n";
}

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    devices_ = std::move(*devices);
    ASSERT_TRUE(devices_->upsertDevice(kUser, kDevice, {"iPhone", "Apple-iPhone/1", 1000}));
    auto mailbox = mail_->openMailbox(kUser);
    ASSERT_TRUE(mailbox);
    mailbox_ = *mailbox;
    auto inbox = mail_->folderOfType(mailbox_, store::FolderType::inbox);
    ASSERT_TRUE(inbox);
    inbox_ = inbox->id;
    auto trash = mail_->folderOfType(mailbox_, store::FolderType::deleted_items);
    ASSERT_TRUE(trash);
    trash_ = trash->id;
  }

  store::ItemId deliver(const std::string& bytes, std::int64_t received_at = kNow - 60) {
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.summary = mime::summarize(bytes);
    d.received_at = received_at;
    store::Delivery::Target t;
    t.mailbox = mailbox_;
    d.targets.push_back(t);
    auto r = mail_->deliverSync(std::move(d));
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->items.at(0) : 0;
  }

  CommandContext context() {
    return CommandContext{*mail_, *devices_, kUser, kDevice, version_, now_};
  }

  SyncView run(const std::string& xml) {
    SyncView v;
    auto doc = wbxml::parseXml(xml);
    EXPECT_TRUE(doc) << doc.error().message() << "\n" << xml;
    if (!doc) return v;
    return runDoc(&*doc);
  }
  SyncView runDoc(const wbxml::Document* doc) {
    SyncView v;
    CommandContext ctx = context();
    auto out = runSync(ctx, doc);
    EXPECT_TRUE(out) << out.error().message();
    if (!out) return v;
    v.bytes = out->body;
    parseSync(v);
    return v;
  }

  std::string collection(const std::string& key, const std::string& inner = "",
                         std::optional<store::FolderId> folder = {}) {
    return "<Collection><SyncKey>" + key + "</SyncKey><CollectionId>" +
           std::to_string(folder.value_or(inbox_)) + "</CollectionId>" + inner + "</Collection>";
  }
  std::string syncXml(const std::string& collections, const std::string& top = "") {
    return R"(<Sync xmlns="AirSync:" xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:"><Collections>)" +
           collections + "</Collections>" + top + "</Sync>";
  }
  SyncView sync(const std::string& key, const std::string& inner = "") {
    return run(syncXml(collection(key, inner)));
  }
  std::string initial(const std::string& options = "") {
    SyncView v = sync("0", options);
    EXPECT_EQ(v.collections.size(), 1u) << v.xml;
    if (v.collections.empty()) return "";
    EXPECT_EQ(v.collections[0].status, 1) << v.xml;
    EXPECT_TRUE(v.collections[0].commands.empty()) << v.xml;
    EXPECT_NE(v.collections[0].key, "0");
    return v.collections[0].key;
  }
  // Syncs until no MoreAvailable; returns the last key and all commands.
  std::string drain(std::string key, std::vector<Command>* all = nullptr,
                    const std::string& inner = "", std::vector<SyncView>* views = nullptr) {
    for (int i = 0; i < 1000; ++i) {
      SyncView v = sync(key, inner);
      if (v.empty) return key;
      EXPECT_EQ(v.collections.size(), 1u) << v.xml;
      if (v.collections.empty()) return key;
      key = v.collections[0].key;
      if (all)
        all->insert(all->end(), v.collections[0].commands.begin(), v.collections[0].commands.end());
      bool more = v.collections[0].more;
      if (views) views->push_back(std::move(v));
      if (!more) return key;
    }
    ADD_FAILURE() << "never drained";
    return key;
  }
  std::string sid(store::ItemId item) {
    return std::to_string(inbox_) + ":" + std::to_string(item);
  }

  testing::TempDir dir_{"rampart-sync"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  store::MailboxId mailbox_ = 0;
  store::FolderId inbox_ = 0, trash_ = 0;
  std::string version_ = "16.1";
  std::int64_t now_ = kNow;
};

TEST_F(SyncTest, InitialSyncThenWindowsWithMoreAvailable) {
  for (int i = 0; i < 250; ++i) deliver(message("m" + std::to_string(i)), kNow - 1000 + i);
  std::string key = initial();
  SyncView v = sync(key, "<WindowSize>100</WindowSize>");
  ASSERT_EQ(v.collections.size(), 1u);
  EXPECT_EQ(v.collections[0].commands.size(), 100u);
  EXPECT_TRUE(v.collections[0].more);
  EXPECT_NE(v.collections[0].key, key);
  std::vector<Command> all = v.collections[0].commands;
  key = drain(v.collections[0].key, &all, "<WindowSize>100</WindowSize>");
  ASSERT_EQ(all.size(), 250u);
  std::set<std::string> ids;
  for (const auto& c : all) {
    EXPECT_EQ(c.kind, "Add");
    ids.insert(c.server_id);
    ASSERT_NE(c.data, nullptr);
  }
  EXPECT_EQ(ids.size(), 250u);
  // Up to date: empty response, same key stays current.
  SyncView idle = sync(key);
  EXPECT_TRUE(idle.empty) << idle.xml;
  // New mail afterwards.
  store::ItemId fresh = deliver(message("new"));
  SyncView after = sync(key);
  ASSERT_EQ(after.collections.size(), 1u);
  ASSERT_EQ(after.collections[0].commands.size(), 1u);
  EXPECT_EQ(after.collections[0].commands[0].kind, "Add");
  EXPECT_EQ(after.collections[0].commands[0].server_id, sid(fresh));
  EXPECT_EQ(text(*after.collections[0].commands[0].data, "Subject"), "new");
}

TEST_F(SyncTest, EmailPropertiesAndBodyTypes) {
  std::string html_msg =
      "From: Bob <bob@example.org>\r\nTo: \"Alice A.\" <alice@example.org>\r\nSubject: hi\r\n"
      "Importance: high\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
      "boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "Caf\xc3\xa9 au lait\r\n--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Caf=E9</p>\r\n--b--\r\n";
  store::ItemId id = deliver(html_msg);
  auto check = [&](const std::string& pref, auto&& expect) {
    std::string key = initial();
    SyncView v = sync(key, "<Options><airsyncbase:BodyPreference>" + pref +
                               "</airsyncbase:BodyPreference></Options>");
    ASSERT_EQ(v.collections.size(), 1u) << v.xml;
    ASSERT_EQ(v.collections[0].commands.size(), 1u) << v.xml;
    const wbxml::Element* data = v.collections[0].commands[0].data;
    ASSERT_NE(data, nullptr);
    const wbxml::Element* body = data->child("Body");
    ASSERT_NE(body, nullptr) << v.xml;
    expect(*data, *body, v.xml);
  };
  check(
      "<airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>4</"
      "airsyncbase:TruncationSize>",
      [&](const wbxml::Element& d, const wbxml::Element& body, const std::string& xml) {
        EXPECT_EQ(text(body, "Type"), "1") << xml;
        EXPECT_EQ(text(body, "Truncated"), "1") << xml;
        EXPECT_EQ(text(body, "Data"), "Caf") << xml;  // é not split
        EXPECT_EQ(text(d, "Subject"), "hi");
        EXPECT_EQ(text(d, "Importance"), "2");
        EXPECT_EQ(text(d, "Read"), "0");
        EXPECT_EQ(text(d, "DisplayTo"), "Alice A.");
        EXPECT_EQ(text(d, "DateReceived"), "2027-01-15T07:59:00.000Z");
        EXPECT_EQ(text(d, "InternetCPID"), "65001");
        EXPECT_EQ(text(d, "ContentClass"), "urn:content-classes:message");
        EXPECT_EQ(text(d, "NativeBodyType"), "2");
        EXPECT_EQ(text(d, "MessageClass"), "IPM.Note");
      });
  check("<airsyncbase:Type>2</airsyncbase:Type>",
        [&](const wbxml::Element&, const wbxml::Element& body, const std::string& xml) {
          EXPECT_EQ(text(body, "Type"), "2") << xml;
          EXPECT_EQ(body.child("Truncated"), nullptr) << xml;
          EXPECT_NE(text(body, "Data").find("<p>Caf\xc3\xa9</p>"), std::string::npos) << xml;
        });
  check(
      "<airsyncbase:Type>4</airsyncbase:Type><airsyncbase:TruncationSize>10</"
      "airsyncbase:TruncationSize>"
      "<airsyncbase:AllOrNone>1</airsyncbase:AllOrNone>",
      [&](const wbxml::Element&, const wbxml::Element& body, const std::string& xml) {
        EXPECT_EQ(text(body, "Type"), "4") << xml;
        EXPECT_EQ(text(body, "Truncated"), "1") << xml;
        EXPECT_EQ(body.child("Data"), nullptr) << xml;
        EXPECT_EQ(text(body, "EstimatedDataSize"), std::to_string(html_msg.size())) << xml;
      });
  check("<airsyncbase:Type>4</airsyncbase:Type>",
        [&](const wbxml::Element&, const wbxml::Element& body, const std::string& xml) {
          EXPECT_EQ(text(body, "Data"), html_msg) << xml;
        });
  (void)id;
}

TEST_F(SyncTest, AttachmentsCarryAFileReference) {
  std::string msg =
      "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "see attached\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\n"
      "Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "aGVsbG8=\r\n--b--\r\n";
  store::ItemId id = deliver(msg);
  std::string key = initial();
  SyncView v = sync(key);
  ASSERT_EQ(v.collections.size(), 1u);
  const auto* atts = v.collections[0].commands.at(0).data->child("Attachments");
  ASSERT_NE(atts, nullptr) << v.xml;
  ASSERT_EQ(atts->children.size(), 1u);
  const auto& a = atts->children[0];
  EXPECT_EQ(text(a, "DisplayName"), "a.pdf");
  EXPECT_EQ(text(a, "EstimatedDataSize"), "5");
  EXPECT_EQ(text(a, "Method"), "1");
  auto ref = detail::parseFileReference(text(a, "FileReference"));
  ASSERT_TRUE(ref) << v.xml;
  EXPECT_EQ(ref->item, id);
  EXPECT_EQ(ref->part_path, "2");
  EXPECT_FALSE(detail::parseFileReference("x:1"));
  EXPECT_FALSE(detail::parseFileReference("5:1..2"));
  EXPECT_FALSE(detail::parseFileReference("5:"));
}

TEST_F(SyncTest, ReadAndFlagBothWays) {
  store::ItemId a = deliver(message("a"));
  store::ItemId b = deliver(message("b"));
  std::string key = drain(initial());
  // Server side change.
  ASSERT_TRUE(mail_->setRead(a, true));
  ASSERT_TRUE(mail_->setFlag(a, store::FlagStatus::active));
  SyncView v = sync(key);
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  ASSERT_EQ(v.collections[0].commands.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].commands[0].kind, "Change");
  EXPECT_EQ(text(*v.collections[0].commands[0].data, "Read"), "1");
  EXPECT_EQ(text(*v.collections[0].commands[0].data->child("Flag"), "Status"), "2");
  key = v.collections[0].key;
  // Client side change: applied, no Responses (success), not echoed.
  v = sync(key,
           "<Commands><Change><ServerId>" + sid(b) +
               "</ServerId><ApplicationData><email:Read>1</email:Read><email:Flag><email:Status>1"
               "</email:Status></email:Flag></ApplicationData></Change></Commands>");
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].responses, nullptr) << v.xml;
  EXPECT_TRUE(v.collections[0].commands.empty()) << v.xml;
  auto item = mail_->getItem(b);
  ASSERT_TRUE(item);
  EXPECT_TRUE(item->read);
  EXPECT_EQ(item->flag, store::FlagStatus::complete);
  key = v.collections[0].key;
  EXPECT_TRUE(sync(key).empty);
  // A change to an unknown item: Responses with Status 8.
  v = sync(key, "<Commands><Change><ServerId>" + sid(999999) +
                    "</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData>"
                    "</Change></Commands>");
  ASSERT_NE(v.collections.at(0).responses, nullptr) << v.xml;
  EXPECT_EQ(text(v.collections[0].responses->children.at(0), "Status"), "8");
}

TEST_F(SyncTest, DeleteMovesToDeletedItemsOrDeletes) {
  store::ItemId a = deliver(message("a"));
  store::ItemId b = deliver(message("b"));
  std::string key = drain(initial());
  SyncView v =
      sync(key, "<Commands><Delete><ServerId>" + sid(a) + "</ServerId></Delete></Commands>");
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].responses, nullptr) << v.xml;
  EXPECT_TRUE(v.collections[0].commands.empty()) << v.xml;  // not echoed
  auto in_trash = mail_->countItems(trash_, 0);
  ASSERT_TRUE(in_trash);
  EXPECT_EQ(*in_trash, 1u);
  key = v.collections[0].key;
  v = sync(key, "<DeletesAsMoves>0</DeletesAsMoves><Commands><Delete><ServerId>" + sid(b) +
                    "</ServerId></Delete></Commands>");
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  EXPECT_EQ(*mail_->countItems(trash_, 0), 1u);
  EXPECT_EQ(*mail_->countItems(inbox_, 0), 0u);
  // Server-side delete reaches the client.
  store::ItemId c = deliver(message("c"));
  key = drain(v.collections[0].key);
  ASSERT_TRUE(mail_->deleteItem(c));
  v = sync(key);
  ASSERT_EQ(v.collections.at(0).commands.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].commands[0].kind, "Delete");
  EXPECT_EQ(v.collections[0].commands[0].server_id, sid(c));
  // Added and removed between two syncs: nothing.
  store::ItemId d = deliver(message("d"));
  ASSERT_TRUE(mail_->deleteItem(d));
  EXPECT_TRUE(sync(v.collections[0].key).empty);
}

TEST_F(SyncTest, FilterTypeAndSoftDelete) {
  deliver(message("old"), kNow - 10 * kDay);
  store::ItemId recent = deliver(message("recent"), kNow - 2 * kDay);
  deliver(message("today"), kNow - 60);
  const std::string week = "<Options><FilterType>3</FilterType></Options>";
  std::string key = initial(week);
  std::vector<Command> all;
  key = drain(key, &all, week);
  ASSERT_EQ(all.size(), 2u);
  // Six days later the "recent" one leaves the week: SoftDelete.
  now_ = kNow + 6 * kDay;
  SyncView v = sync(key, week);
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  ASSERT_EQ(v.collections[0].commands.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].commands[0].kind, "SoftDelete");
  EXPECT_EQ(v.collections[0].commands[0].server_id, sid(recent));
  key = v.collections[0].key;
  EXPECT_TRUE(sync(key, week).empty);
  // Options omitted: the state's filter stays.
  EXPECT_TRUE(sync(key).empty);
  // A wider filter: start over.
  v = sync(key, "<Options><FilterType>0</FilterType></Options>");
  EXPECT_EQ(v.collections.at(0).status, 3) << v.xml;
}

TEST_F(SyncTest, ResentPreviousKeyGetsTheSameBytes) {
  for (int i = 0; i < 5; ++i) deliver(message("m" + std::to_string(i)));
  std::string k1 = initial();
  std::string req = syncXml(collection(k1, "<WindowSize>3</WindowSize>"));
  SyncView first = run(req);
  ASSERT_FALSE(first.empty);
  deliver(message("later"));
  SyncView again = run(req);
  EXPECT_EQ(first.bytes, again.bytes) << again.xml;
  // And the key it carried still moves on.
  std::vector<Command> rest;
  drain(first.collections.at(0).key, &rest);
  EXPECT_EQ(rest.size(), 3u);
}

TEST_F(SyncTest, BadKeyMalformedAndUnknownCollection) {
  initial();
  SyncView v = sync("bogus");
  ASSERT_EQ(v.collections.size(), 1u);
  EXPECT_EQ(v.collections[0].status, 3);
  EXPECT_EQ(v.collections[0].key, "0");
  v = run(
      R"(<Sync xmlns="AirSync:"><Collections><Collection><CollectionId>1</CollectionId></Collection></Collections></Sync>)");
  EXPECT_EQ(v.top_status, 4) << v.xml;
  v = run(
      R"(<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>0</SyncKey><CollectionId>1</CollectionId><WindowSize>x</WindowSize></Collection></Collections></Sync>)");
  EXPECT_EQ(v.top_status, 4) << v.xml;
  v = run(syncXml(collection("0", "", 987654)));
  EXPECT_EQ(v.collections.at(0).status, 12) << v.xml;
  v = run(syncXml(collection("0"), "<Wait>90</Wait>"));
  EXPECT_EQ(v.top_status, 14) << v.xml;
  EXPECT_EQ(v.limit, "59");
  v = run(syncXml(collection("0"), "<HeartbeatInterval>30</HeartbeatInterval>"));
  EXPECT_EQ(v.top_status, 14) << v.xml;
  EXPECT_EQ(v.limit, "60");
}

TEST_F(SyncTest, EmptyAndPartialRequestsUseTheCache) {
  SyncView v = runDoc(nullptr);
  EXPECT_EQ(v.top_status, 13) << v.xml;
  std::string key = initial();
  deliver(message("x"));
  v = runDoc(nullptr);  // the cached request, with the key handed out
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  EXPECT_EQ(v.collections[0].commands.size(), 1u);
  v = runDoc(nullptr);
  EXPECT_TRUE(v.empty) << v.xml;
  // Wait: reported for the service, nothing to send yet.
  CommandContext ctx = context();
  auto cur = devices_->current(kUser, kDevice, std::to_string(inbox_));
  ASSERT_TRUE(cur && *cur);
  auto doc = wbxml::parseXml(syncXml(collection((*cur)->key), "<Wait>5</Wait>"));
  ASSERT_TRUE(doc);
  auto out = runSync(ctx, &*doc);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->body.empty());
  EXPECT_FALSE(out->changes);
  EXPECT_EQ(out->wait_seconds, 300);
  ASSERT_EQ(out->watched.size(), 1u);
  EXPECT_EQ(out->watched[0], inbox_);
  auto pending = hasPendingChanges(ctx, inbox_);
  ASSERT_TRUE(pending);
  EXPECT_FALSE(*pending);
  deliver(message("y"));
  pending = hasPendingChanges(ctx, inbox_);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(*pending);
  (void)key;
}

TEST_F(SyncTest, FetchAndClientAdd) {
  store::ItemId a = deliver(message("a", "fetched body"));
  std::string key = drain(initial());
  SyncView v = sync(key,
                    "<Options><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>"
                    "</airsyncbase:BodyPreference></Options><Commands><Fetch><ServerId>" +
                        sid(a) + "</ServerId></Fetch><Fetch><ServerId>" + sid(424242) +
                        "</ServerId></Fetch><Add><ClientId>c1</ClientId><ApplicationData>"
                        "<email:Read>1</email:Read></ApplicationData></Add></Commands>");
  ASSERT_EQ(v.collections.size(), 1u) << v.xml;
  const auto* r = v.collections[0].responses;
  ASSERT_NE(r, nullptr) << v.xml;
  ASSERT_EQ(r->children.size(), 3u) << v.xml;
  // In the order of the client's commands.
  EXPECT_EQ(r->children[0].name, "Fetch");
  EXPECT_EQ(text(r->children[0], "Status"), "1");
  ASSERT_NE(r->children[0].child("ApplicationData"), nullptr) << v.xml;
  EXPECT_EQ(text(*r->children[0].child("ApplicationData")->child("Body"), "Data"),
            "fetched body\r\n");
  EXPECT_EQ(text(r->children[1], "Status"), "8");
  EXPECT_EQ(r->children[2].name, "Add");
  EXPECT_EQ(text(r->children[2], "ClientId"), "c1");
  EXPECT_EQ(text(r->children[2], "Status"), "6");
}

TEST_F(SyncTest, GetItemEstimate) {
  for (int i = 0; i < 7; ++i) deliver(message("m" + std::to_string(i)));
  auto estimate = [&](const std::string& key, store::FolderId folder) {
    auto doc = wbxml::parseXml(
        R"(<GetItemEstimate xmlns="GetItemEstimate:" xmlns:airsync="AirSync:"><Collections><Collection><airsync:SyncKey>)" +
        key + "</airsync:SyncKey><CollectionId>" + std::to_string(folder) +
        "</CollectionId></Collection></Collections></GetItemEstimate>");
    EXPECT_TRUE(doc);
    CommandContext ctx = context();
    auto bytes = runGetItemEstimate(ctx, *doc);
    EXPECT_TRUE(bytes);
    auto out = wbxml::decode(*bytes);
    EXPECT_TRUE(out);
    const auto* resp = out->root.child("Response");
    EXPECT_NE(resp, nullptr);
    std::string est;
    if (const auto* c = resp->child("Collection")) est = text(*c, "Estimate");
    return std::make_pair(text(*resp, "Status"), est);
  };
  EXPECT_EQ(estimate("0", inbox_).first, "3");
  std::string key = initial();
  EXPECT_EQ(estimate(key, inbox_), std::make_pair(std::string("1"), std::string("7")));
  EXPECT_EQ(estimate("nope", inbox_).first, "4");
  EXPECT_EQ(estimate(key, 987654).first, "2");
  key = drain(key);
  EXPECT_EQ(estimate(key, inbox_).second, "0");
}

TEST_F(SyncTest, LargeInitialSyncKeepsTheStateSmall) {
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) deliver(message("m" + std::to_string(i)), kNow - kCount + i);
  std::string key = initial(
      "<Options><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>"
      "<airsyncbase:TruncationSize>0</airsyncbase:TruncationSize>"
      "</airsyncbase:BodyPreference></Options>");
  std::vector<Command> all;
  auto start = std::chrono::steady_clock::now();
  key = drain(key, &all, "<WindowSize>512</WindowSize>");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  std::cout << "initial sync of " << kCount << " messages in windows of 512: " << ms.count()
            << " ms\n";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kCount));
  auto cur = devices_->current(kUser, kDevice, std::to_string(inbox_));
  ASSERT_TRUE(cur && *cur);
  auto state = detail::decodeSyncState((*cur)->blob);
  ASSERT_TRUE(state);
  EXPECT_LT((*cur)->blob.size() - state->response_tail.size(), 64u);
}

// --- the initial fill: newest first, keyset, then the log -----------------------

// What a client holds after applying commands in order; a second Add of a
// ServerId it holds, or a Change of one it lacks, is a failure.
struct ClientView {
  std::set<std::string> held;
  std::vector<std::string> added;  // in the order received
  std::set<std::string> deleted_unknown;
  void apply(const std::vector<Command>& cmds) {
    for (const Command& c : cmds) {
      if (c.kind == "Add") {
        EXPECT_TRUE(held.insert(c.server_id).second) << "second Add of " << c.server_id;
        added.push_back(c.server_id);
      } else if (c.kind == "Change") {
        EXPECT_TRUE(held.contains(c.server_id)) << "Change of unknown " << c.server_id;
      } else if (held.erase(c.server_id) == 0) {
        deleted_unknown.insert(c.server_id);
      }
    }
  }
};

class SyncFillTest : public SyncTest {
 protected:
  // The folder's items as ServerIds (what a client must end up holding).
  std::set<std::string> folderIds(std::int64_t since = 0) {
    std::set<std::string> out;
    auto items = mail_->listItems(inbox_, since, 0, SIZE_MAX);
    EXPECT_TRUE(items);
    if (items) {
      for (const auto& it : *items) out.insert(sid(it.id));
    }
    return out;
  }
  // One window: applies it to `client`, returns the view.
  SyncView step(std::string& key, ClientView& client, const std::string& inner) {
    SyncView v = sync(key, inner);
    if (v.empty) return v;
    EXPECT_EQ(v.collections.size(), 1u) << v.xml;
    if (v.collections.empty()) return v;
    EXPECT_EQ(v.collections[0].status, 1) << v.xml;
    key = v.collections[0].key;
    client.apply(v.collections[0].commands);
    return v;
  }
};

TEST_F(SyncFillTest, NewestFirstAcrossWindows) {
  std::vector<store::ItemId> ids;
  // received_at ascending with a few ties; the listing order is (received_at, id) descending.
  for (int i = 0; i < 25; ++i)
    ids.push_back(deliver(message("m" + std::to_string(i)), kNow - 1000 + i / 2));
  std::string key = initial();
  ClientView client;
  std::vector<SyncView> views;
  key = drain(key, nullptr, "<WindowSize>10</WindowSize>", &views);
  ASSERT_EQ(views.size(), 3u);
  EXPECT_TRUE(views[0].collections.at(0).more);
  EXPECT_TRUE(views[1].collections.at(0).more);
  EXPECT_FALSE(views[2].collections.at(0).more);
  for (const auto& v : views) client.apply(v.collections.at(0).commands);
  std::vector<std::string> expect;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) expect.push_back(sid(*it));
  EXPECT_EQ(client.added, expect);
  EXPECT_EQ(client.held, folderIds());
  EXPECT_TRUE(sync(key).empty);
  // The state after the fill is a small log state.
  auto cur = devices_->current(kUser, kDevice, std::to_string(inbox_));
  ASSERT_TRUE(cur && *cur);
  auto state = detail::decodeSyncState((*cur)->blob);
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->fill);
}

TEST_F(SyncFillTest, DeliveriesDuringTheFillArriveExactlyOnceThroughTheLog) {
  for (int i = 0; i < 20; ++i) deliver(message("m" + std::to_string(i)), kNow - 1000 + i);
  std::string key = initial();
  ClientView client;
  const std::string w = "<WindowSize>5</WindowSize>";
  step(key, client, w);  // the fill's snapshot is taken here
  // Newer than everything, older than everything, and in the middle.
  store::ItemId newest = deliver(message("newest"), kNow);
  store::ItemId oldest = deliver(message("oldest"), kNow - 5000);
  store::ItemId middle = deliver(message("middle"), kNow - 990);
  std::vector<SyncView> views;
  std::vector<Command> rest;
  key = drain(key, &rest, w);
  client.apply(rest);
  EXPECT_EQ(client.held, folderIds());
  EXPECT_EQ(client.added.size(), 23u);
  // They come after the 20 of the fill, through the log, in log order.
  EXPECT_EQ(std::vector<std::string>(client.added.end() - 3, client.added.end()),
            (std::vector<std::string>{sid(newest), sid(oldest), sid(middle)}));
  EXPECT_TRUE(client.deleted_unknown.empty());
}

TEST_F(SyncFillTest, DeleteMoveAndReadDuringTheFill) {
  std::vector<store::ItemId> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(deliver(message("m" + std::to_string(i)), kNow - 1000 + i));
  std::string key = initial();
  ClientView client;
  const std::string w = "<WindowSize>5</WindowSize>";
  step(key, client, w);  // sent: ids[19..15]
  ASSERT_TRUE(client.held.contains(sid(ids[19])));
  ASSERT_FALSE(client.held.contains(sid(ids[3])));
  // Deleted: one sent, one not yet sent.
  ASSERT_TRUE(mail_->deleteItem(ids[18]));
  ASSERT_TRUE(mail_->deleteItem(ids[3]));
  // Moved out: one sent, one not; moved in from Deleted Items (a new id).
  ASSERT_TRUE(mail_->moveItem(ids[17], trash_));
  ASSERT_TRUE(mail_->moveItem(ids[4], trash_));
  auto in_trash = mail_->listItems(trash_, 0, 0, 10);
  ASSERT_TRUE(in_trash);
  ASSERT_EQ(in_trash->size(), 2u);
  auto back = mail_->moveItem(in_trash->front().id, inbox_);
  ASSERT_TRUE(back);
  // Read: one sent (Change later), one not (its Add carries Read 1).
  ASSERT_TRUE(mail_->setRead(ids[16], true));
  ASSERT_TRUE(mail_->setRead(ids[2], true));

  std::vector<SyncView> views;
  key = drain(key, nullptr, w, &views);
  std::vector<Command> all;
  for (const auto& v : views) {
    const auto& cmds = v.collections.at(0).commands;
    all.insert(all.end(), cmds.begin(), cmds.end());
  }
  // The first command for the unsent one is its Add, already read (a Change
  // with the same value follows from the log).
  auto first = std::find_if(all.begin(), all.end(),
                            [&](const Command& c) { return c.server_id == sid(ids[2]); });
  ASSERT_NE(first, all.end());
  EXPECT_EQ(first->kind, "Add");
  EXPECT_EQ(text(*first->data, "Read"), "1");
  client.apply(all);
  EXPECT_EQ(client.held, folderIds());
  EXPECT_TRUE(client.held.contains(sid(*back)));
  EXPECT_FALSE(client.held.contains(sid(ids[3])));
  bool changed = false;
  for (const auto& c : all) {
    if (c.kind == "Change" && c.server_id == sid(ids[16])) {
      changed = true;
      EXPECT_EQ(text(*c.data, "Read"), "1");
    }
  }
  EXPECT_TRUE(changed);
  // The items removed before the fill reached them get a Delete the client
  // ignores; no other surprise.
  EXPECT_EQ(client.deleted_unknown, (std::set<std::string>{sid(ids[3]), sid(ids[4])}));
  EXPECT_TRUE(sync(key).empty);
}

TEST_F(SyncFillTest, FilterTypeOverAnOldMailboxReadsOnlyTheWindow) {
  // 1000 old messages, 15 inside the week.
  for (int i = 0; i < 1000; ++i) deliver(message("old" + std::to_string(i)), kNow - 400 * kDay + i);
  for (int i = 0; i < 15; ++i) deliver(message("new" + std::to_string(i)), kNow - 3 * kDay + i);
  const std::string week =
      "<WindowSize>10</WindowSize><Options><FilterType>3</FilterType></Options>";
  std::string key = initial("<Options><FilterType>3</FilterType></Options>");
  std::vector<SyncView> views;
  std::vector<Command> all;
  key = drain(key, &all, week, &views);
  ASSERT_EQ(views.size(), 2u);  // 10 + 5, no empty MoreAvailable windows
  EXPECT_EQ(views[0].collections.at(0).commands.size(), 10u);
  EXPECT_TRUE(views[0].collections[0].more);
  EXPECT_EQ(views[1].collections.at(0).commands.size(), 5u);
  EXPECT_FALSE(views[1].collections[0].more);
  ClientView client;
  client.apply(all);
  EXPECT_EQ(client.held, folderIds(kNow - 7 * kDay));
  EXPECT_TRUE(sync(key, week).empty);
  // The week moves on during a later fill: nothing sent falls out.
  SyncView v = sync("0", "<Options><FilterType>3</FilterType></Options>");
  key = v.collections.at(0).key;
  ClientView second;
  step(key, second, week);     // the 10 newest
  now_ = kNow + 4 * kDay + 7;  // new0..new6 leave the week, two of them sent
  std::vector<Command> rest;
  key = drain(key, &rest, week);
  second.apply(rest);
  EXPECT_EQ(second.held, folderIds(now_ - 7 * kDay));
}

TEST_F(SyncFillTest, EstimateDuringTheFillAndPingSeesTheRest) {
  for (int i = 0; i < 30; ++i) deliver(message("m" + std::to_string(i)), kNow - 1000 + i);
  auto estimate = [&](const std::string& key) {
    auto doc = wbxml::parseXml(
        R"(<GetItemEstimate xmlns="GetItemEstimate:" xmlns:airsync="AirSync:"><Collections><Collection><airsync:SyncKey>)" +
        key + "</airsync:SyncKey><CollectionId>" + std::to_string(inbox_) +
        "</CollectionId></Collection></Collections></GetItemEstimate>");
    EXPECT_TRUE(doc);
    CommandContext ctx = context();
    auto bytes = runGetItemEstimate(ctx, *doc);
    EXPECT_TRUE(bytes);
    auto out = wbxml::decode(*bytes);
    EXPECT_TRUE(out);
    const auto* c = out->root.child("Response")->child("Collection");
    return c ? text(*c, "Estimate") : std::string();
  };
  std::string key = initial();
  EXPECT_EQ(estimate(key), "30");
  ClientView client;
  step(key, client, "<WindowSize>10</WindowSize>");
  EXPECT_EQ(estimate(key), "20");
  deliver(message("late"));
  EXPECT_EQ(estimate(key), "21");
  CommandContext ctx = context();
  EXPECT_TRUE(*hasPendingChanges(ctx, inbox_));
  key = drain(key, nullptr, "<WindowSize>10</WindowSize>");
  EXPECT_EQ(estimate(key), "0");
  EXPECT_FALSE(*hasPendingChanges(ctx, inbox_));
}

TEST_F(SyncFillTest, StateBlobsRoundTrip) {
  detail::EmailSyncState s;
  s.seq = 42;
  s.filter_type = 4;
  s.cutoff = kNow - 14 * kDay;
  s.response_tail = std::string("\x00\x01tail\n", 7);
  EXPECT_EQ(detail::decodeSyncState(detail::encodeSyncState(s)), s);
  s.fill = detail::FillPosition{1234, store::ItemKey{kNow - 5, 1200}};
  EXPECT_EQ(detail::decodeSyncState(detail::encodeSyncState(s)), s);
  s.fill = detail::FillPosition{};
  EXPECT_EQ(detail::decodeSyncState(detail::encodeSyncState(s)), s);
  EXPECT_FALSE(detail::decodeSyncState("E2 1 0 0 5\n"));
  EXPECT_FALSE(detail::decodeSyncState("E2 1 0 0 5 6 -7\n"));
  EXPECT_FALSE(detail::decodeSyncState("E1 1 0 0 5 6 7\n"));
}

// A timing, off unless RAMPART_SYNC_BENCH=<messages> (run it in a release
// build): a device's initial sync of that many messages spread over a year,
// WindowSize 512, with no filter and with FilterType 4 (two weeks).
TEST_F(SyncTest, InitialSyncTiming) {
  const char* env = std::getenv("RAMPART_SYNC_BENCH");
  if (env == nullptr) GTEST_SKIP() << "set RAMPART_SYNC_BENCH=<messages>";
  const int count = std::atoi(env);
  {
    // Concurrent deliveries share commits (group commit), so loading is quick.
    std::mutex m;
    std::condition_variable cv;
    int left = count;
    for (int i = 0; i < count; ++i) {
      std::string bytes = message("m" + std::to_string(i), std::string(2000, 'x'));
      store::Delivery d;
      d.bytes = std::make_shared<const std::string>(bytes);
      d.summary = mime::summarize(bytes);
      d.received_at = kNow - 365 * kDay + static_cast<std::int64_t>(i) * 365 * kDay / count;
      store::Delivery::Target t;
      t.mailbox = mailbox_;
      d.targets.push_back(t);
      mail_->deliver(std::move(d), [&](Result<store::DeliveryReceipt> r) {
        EXPECT_TRUE(r);
        std::lock_guard lock(m);
        if (--left == 0) cv.notify_all();
      });
    }
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return left == 0; });
  }
  const std::string body =
      "<airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>"
      "<airsyncbase:TruncationSize>256</airsyncbase:TruncationSize></airsyncbase:BodyPreference>";
  for (int filter : {0, 4}) {
    const std::string options =
        "<Options><FilterType>" + std::to_string(filter) + "</FilterType>" + body + "</Options>";
    std::string key = initial(options);
    std::vector<Command> all;
    std::vector<SyncView> views;
    auto start = std::chrono::steady_clock::now();
    drain(key, &all, "<WindowSize>512</WindowSize>" + options, &views);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    std::cout << "RESULT initial sync of " << count << " messages, FilterType " << filter
              << ", WindowSize 512: " << all.size() << " items in " << views.size() << " windows, "
              << ms << " ms (" << (ms > 0 ? static_cast<long long>(all.size()) * 1000 / ms : 0)
              << " items/s)\n";
  }
}

TEST_F(SyncTest, LargeBodiesCloseTheWindowEarly) {
  const std::string big(3u << 20, 'x');
  for (int i = 0; i < 4; ++i) deliver(message("big" + std::to_string(i), big));
  const std::string mime =
      "<Options><MIMESupport>2</MIMESupport><airsyncbase:BodyPreference><airsyncbase:Type>4"
      "</airsyncbase:Type></airsyncbase:BodyPreference></Options>";
  std::string key = initial(mime);
  SyncView v = sync(key, mime);
  ASSERT_EQ(v.collections.size(), 1u);
  EXPECT_EQ(v.collections[0].commands.size(), 3u);  // 9 MiB passes the 8 MiB bound
  EXPECT_TRUE(v.collections[0].more);
  std::vector<Command> rest;
  drain(v.collections[0].key, &rest, mime);
  EXPECT_EQ(rest.size(), 1u);
  // With a truncation the same window takes them all.
  const std::string small =
      "<Options><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>"
      "<airsyncbase:TruncationSize>1000</airsyncbase:TruncationSize></airsyncbase:BodyPreference>"
      "</Options>";
  v = sync(initial(small), small);
  EXPECT_EQ(v.collections.at(0).commands.size(), 4u);
  EXPECT_FALSE(v.collections[0].more);
}

// Differential: libwbxml2's wbxml2xml reads our Sync and GetItemEstimate
// responses as we do (the spliced collections included).
TEST_F(SyncTest, Wbxml2xmlReadsOurResponsesAsWeDo) {
  if (std::system("command -v wbxml2xml >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  }
  version_ = "14.1";
  std::string msg =
      "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: R&D <caf\xc3\xa9>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/html; charset=utf-8\r\n\r\n<b>bold</b> &amp; more\r\n--b\r\n"
      "Content-Type: image/png; name=p.png\r\nContent-ID: <p1>\r\nContent-Disposition: inline\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n--b--\r\n";
  store::ItemId a = deliver(msg);
  deliver(message("second"));
  store::Folder other =
      *mail_->createFolder(mailbox_, std::nullopt, "Other", store::FolderType::user_mail);
  std::vector<std::vector<std::uint8_t>> responses;
  // (wbxml2xml drops text's trailing whitespace: truncate where there is none.)
  const std::string opts =
      "<Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type>"
      "<airsyncbase:TruncationSize>11</airsyncbase:TruncationSize><airsyncbase:Preview>20"
      "</airsyncbase:Preview></airsyncbase:BodyPreference></Options>";
  SyncView v = run(syncXml(collection("0") + collection("0", "", other.id)));
  responses.push_back(v.bytes);
  std::string k1 = v.collections.at(0).key, k2 = v.collections.at(1).key;
  v = run(
      syncXml(collection(k1, "<WindowSize>1</WindowSize>" + opts) + collection(k2, "", other.id)));
  responses.push_back(v.bytes);
  k1 = v.collections.at(0).key;
  ASSERT_TRUE(mail_->setRead(a, true));
  v = run(syncXml(collection(k1, opts + "<Commands><Fetch><ServerId>" + sid(a) +
                                     "</ServerId></Fetch><Delete><ServerId>" + sid(4242) +
                                     "</ServerId></Delete></Commands>")));
  responses.push_back(v.bytes);
  responses.push_back(sync("bogus").bytes);
  responses.push_back(run(syncXml(collection("0"), "<Wait>0</Wait>")).bytes);
  {
    auto doc = wbxml::parseXml(
        R"(<GetItemEstimate xmlns="GetItemEstimate:" xmlns:airsync="AirSync:"><Collections><Collection><airsync:SyncKey>)" +
        k1 + "</airsync:SyncKey><CollectionId>" + std::to_string(inbox_) +
        "</CollectionId></Collection><Collection><airsync:SyncKey>x</"
        "airsync:SyncKey><CollectionId>9999"
        "</CollectionId></Collection></Collections></GetItemEstimate>");
    ASSERT_TRUE(doc);
    CommandContext ctx = context();
    auto bytes = runGetItemEstimate(ctx, *doc);
    ASSERT_TRUE(bytes);
    responses.push_back(*bytes);
  }
  for (const auto& bytes : responses) {
    ASSERT_FALSE(bytes.empty());
    std::string in = dir_.file("resp.wbxml"), out = dir_.file("resp.xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    }
    std::string cmd =
        "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + dir_.file("log") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream theirs_in(out, std::ios::binary);
    std::string theirs((std::istreambuf_iterator<char>(theirs_in)),
                       std::istreambuf_iterator<char>());
    auto ours = wbxml::decode(bytes);
    ASSERT_TRUE(ours);
    EXPECT_EQ(theirs, wbxml::toXml(*ours));
  }
}

TEST(SyncRequestTest, DecodesAndBounds) {
  auto doc = wbxml::parseXml(
      R"(<Sync xmlns="AirSync:" xmlns:airsyncbase="AirSyncBase:"><Collections><Collection><SyncKey>k1</SyncKey><CollectionId>5</CollectionId><DeletesAsMoves>0</DeletesAsMoves><GetChanges/><WindowSize>9999</WindowSize><Options><FilterType>2</FilterType><MIMESupport>1</MIMESupport><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>500</airsyncbase:TruncationSize><airsyncbase:Preview>100</airsyncbase:Preview></airsyncbase:BodyPreference></Options></Collection></Collections><HeartbeatInterval>600</HeartbeatInterval></Sync>)");
  ASSERT_TRUE(doc) << doc.error().message();
  auto r = rampart::eas::decodeSyncRequest(*doc);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->collections.size(), 1u);
  const auto& c = r->collections[0];
  EXPECT_EQ(c.sync_key, "k1");
  EXPECT_EQ(c.deletes_as_moves, false);
  EXPECT_EQ(c.get_changes, true);
  EXPECT_EQ(c.window_size, 512u);
  ASSERT_TRUE(c.options);
  EXPECT_EQ(c.options->filter_type, 2);
  EXPECT_EQ(c.options->mime_support, 1);
  ASSERT_EQ(c.options->body_preferences.size(), 1u);
  EXPECT_EQ(c.options->body_preferences[0].type, 2);
  EXPECT_EQ(c.options->body_preferences[0].truncation_size, 500u);
  EXPECT_EQ(c.options->body_preferences[0].preview, 100u);
  EXPECT_EQ(r->heartbeat_seconds, 600u);
  // Round trip of the cache encoding.
  auto back = detail::decodeCachedSync(detail::encodeCachedSync(*r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *r);
  // RightsManagementSupport survives an empty Sync that reuses the cached
  // request (MS-ASRM 2.2.2.14), and a blob cached before the field still decodes.
  auto with_rights = *r;
  with_rights.collections[0].options->rights_management_support = true;
  std::string blob = detail::encodeCachedSync(with_rights);
  auto rights_back = detail::decodeCachedSync(blob);
  ASSERT_TRUE(rights_back);
  EXPECT_TRUE(rights_back->collections[0].options->rights_management_support);
  std::string old_blob = detail::encodeCachedSync(*r);
  auto nl = old_blob.rfind(" 0\n");
  ASSERT_NE(nl, std::string::npos);
  old_blob.erase(nl, 2);
  auto old_back = detail::decodeCachedSync(old_blob);
  ASSERT_TRUE(old_back) << old_blob;
  EXPECT_FALSE(old_back->collections[0].options->rights_management_support);

  auto bad = wbxml::parseXml(
      R"(<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>1</SyncKey><SyncKey>2</SyncKey><CollectionId>5</CollectionId></Collection></Collections></Sync>)");
  ASSERT_TRUE(bad);
  auto e = rampart::eas::decodeSyncRequest(*bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("Sync:SyncKey"), std::string::npos) << e.error().message();
}

TEST(EmailEncodingTest, Helpers) {
  EXPECT_EQ(detail::truncateUtf8("caf\xc3\xa9", 4), "caf");
  EXPECT_EQ(detail::truncateUtf8("caf\xc3\xa9", 5), "caf\xc3\xa9");
  EXPECT_EQ(detail::truncateUtf8("\xe2\x82\xac", 2), "");
  EXPECT_EQ(detail::displayTo("\"Doe, John\" <j@x.org>, k@y.org, Kim <kim@z.org>"),
            "Doe, John; k@y.org; Kim");
  EXPECT_EQ(detail::formatUtc(0), "1970-01-01T00:00:00.000Z");
}

TEST(BodiesTest, ExtractsAndDerives) {
  auto b = mime::extractBodies(
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n"
      "<html><head><title>t</title></head><body><p>Caf\xe9 &amp; "
      "tea</p><script>x()</script>ok</body></html>\r\n");
  EXPECT_TRUE(b.html_native);
  EXPECT_NE(b.html.find("Caf\xc3\xa9"), std::string::npos);
  EXPECT_EQ(b.plain, "Caf\xc3\xa9 & tea\r\nok");
  auto p = mime::extractBodies("Subject: y\r\n\r\nplain only\r\n");
  EXPECT_FALSE(p.html_native);
  EXPECT_EQ(p.plain, "plain only\r\n");
  EXPECT_TRUE(p.html.empty());
  EXPECT_TRUE(mime::extractBodies("").plain.empty());
}

// A single-part text/plain message takes mime::extractPlainPrefix's fast path:
// the Data sent and EstimatedDataSize (the whole body, MS-ASAIRS 2.2.2.23.1)
// must be what the GMime path gave.
TEST_F(SyncTest, PlainBodyTruncationKeepsWholeSize) {
  const std::string body = "Caf\xc3\xa9 " + std::string(300, 'x');  // + "\r\n"
  deliver(message("plain", body, "Content-Type: text/plain; charset=utf-8\r\n"));
  auto bodyOf = [&](const std::string& pref) {
    std::string key = initial();
    SyncView v = sync(key, "<Options><airsyncbase:BodyPreference>" + pref +
                               "</airsyncbase:BodyPreference></Options>");
    EXPECT_EQ(v.collections.size(), 1u) << v.xml;
    EXPECT_EQ(v.collections.at(0).commands.size(), 1u) << v.xml;
    return *v.collections.at(0).commands.at(0).data->child("Body");
  };
  const std::string whole = std::to_string(body.size() + 2);
  wbxml::Element b = bodyOf(
      "<airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>4"
      "</airsyncbase:TruncationSize>");
  EXPECT_EQ(text(b, "Data"), "Caf");  // the \xc3\xa9 is not split
  EXPECT_EQ(text(b, "Truncated"), "1");
  EXPECT_EQ(text(b, "EstimatedDataSize"), whole);
  b = bodyOf(
      "<airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>5"
      "</airsyncbase:TruncationSize>");
  EXPECT_EQ(text(b, "Data"), "Caf\xc3\xa9");
  EXPECT_EQ(text(b, "EstimatedDataSize"), whole);
  b = bodyOf(
      "<airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>100000"
      "</airsyncbase:TruncationSize>");
  EXPECT_EQ(b.child("Truncated"), nullptr);
  EXPECT_EQ(text(b, "EstimatedDataSize"), whole);
  EXPECT_EQ(text(b, "Data").substr(0, body.size()), body);
  b = bodyOf(
      "<airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>4"
      "</airsyncbase:TruncationSize><airsyncbase:AllOrNone>1</airsyncbase:AllOrNone>");
  EXPECT_EQ(b.child("Data"), nullptr);
  EXPECT_EQ(text(b, "EstimatedDataSize"), whole);
}

}  // namespace
}  // namespace rampart::server::eas
