// FolderCreate, FolderUpdate, FolderDelete (MS-ASCMD 2.2.1.3, 2.2.1.6,
// 2.2.1.4) against real SQLite mail and device stores, each followed by the
// FolderSync that must not send the client's own change back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "server/eas/folder_commands.h"
#include "server/eas/folder_sync_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";

struct Response {
  std::string command;
  int status = 0;
  std::optional<std::string> key;
  std::optional<std::string> server_id;
  std::optional<int> count;  // FolderSync
  std::vector<std::string> changes;  // FolderSync: "Add <name>", ...
  std::string xml;
};

Response parse(const std::vector<std::uint8_t>& bytes) {
  Response r;
  auto doc = wbxml::decode(bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  if (!doc) return r;
  r.xml = wbxml::toXml(*doc);
  const wbxml::Element& root = doc->root;
  r.command = std::string(root.name);
  EXPECT_FALSE(root.children.empty()) << r.xml;
  if (!root.children.empty()) {
    EXPECT_EQ(root.children.front().name, "Status") << r.xml;
  }
  if (const auto* s = root.child("Status")) r.status = std::stoi(s->text);
  if (const auto* k = root.child("SyncKey")) r.key = k->text;
  if (const auto* id = root.child("ServerId")) r.server_id = id->text;
  if (const auto* changes = root.child("Changes")) {
    for (const auto& c : changes->children) {
      if (c.name == "Count") {
        r.count = std::stoi(c.text);
      } else {
        const auto* n = c.child("DisplayName");
        r.changes.push_back(std::string(c.name) + " " + (n ? n->text : c.child("ServerId")->text));
      }
    }
  }
  return r;
}

wbxml::Document xml(const std::string& text) {
  auto doc = wbxml::parseXml(text);
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? *doc : wbxml::Document{};
}

std::string tag(std::string_view name, std::string_view value) {
  return "<" + std::string(name) + ">" + std::string(value) + "</" + std::string(name) + ">";
}

class FolderCommandsTest : public ::testing::Test {
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
  }

  FolderSyncContext ctx() { return FolderSyncContext{*mail_, *devices_, kUser, kDevice, "16.1"}; }

  Response folderSync(std::string_view key) {
    auto c = ctx();
    auto bytes = runFolderSync(
        c, xml(R"(<FolderSync xmlns="FolderHierarchy:">)" + tag("SyncKey", key) + "</FolderSync>"));
    EXPECT_TRUE(bytes) << bytes.error().message();
    return bytes ? parse(*bytes) : Response{};
  }
  std::string initial() {
    Response r = folderSync("0");
    EXPECT_EQ(r.status, 1) << r.xml;
    return r.key.value_or("");
  }

  Response create(std::string_view key, std::string_view parent, std::string_view name,
                  std::string_view type = "12") {
    auto c = ctx();
    auto bytes = runFolderCreate(
        c, xml(R"(<FolderCreate xmlns="FolderHierarchy:">)" + tag("SyncKey", key) +
               tag("ParentId", parent) + tag("DisplayName", name) + tag("Type", type) +
               "</FolderCreate>"));
    EXPECT_TRUE(bytes) << bytes.error().message();
    return bytes ? parse(*bytes) : Response{};
  }
  Response update(std::string_view key, std::string_view id, std::string_view parent,
                  std::string_view name) {
    auto c = ctx();
    auto bytes = runFolderUpdate(
        c, xml(R"(<FolderUpdate xmlns="FolderHierarchy:">)" + tag("SyncKey", key) +
               tag("ServerId", id) + tag("ParentId", parent) + tag("DisplayName", name) +
               "</FolderUpdate>"));
    EXPECT_TRUE(bytes) << bytes.error().message();
    return bytes ? parse(*bytes) : Response{};
  }
  Response remove(std::string_view key, std::string_view id) {
    auto c = ctx();
    auto bytes = runFolderDelete(c, xml(R"(<FolderDelete xmlns="FolderHierarchy:">)" +
                                        tag("SyncKey", key) + tag("ServerId", id) +
                                        "</FolderDelete>"));
    EXPECT_TRUE(bytes) << bytes.error().message();
    return bytes ? parse(*bytes) : Response{};
  }

  // The next FolderSync with `key` reports nothing.
  void expectNoChanges(const std::string& key) {
    Response r = folderSync(key);
    EXPECT_EQ(r.status, 1) << r.xml;
    EXPECT_EQ(r.key, key) << r.xml;
    EXPECT_EQ(r.count, 0) << r.xml;
  }

  std::string inboxId() {
    auto f = mail_->folderOfType(mailbox_, store::FolderType::inbox);
    EXPECT_TRUE(f);
    return f ? std::to_string(f->id) : "";
  }

  std::optional<store::Folder> folderNamed(std::string_view name) {
    auto all = mail_->listFolders(mailbox_);
    EXPECT_TRUE(all);
    for (auto& f : *all) {
      if (f.name == name) return f;
    }
    return std::nullopt;
  }

  testing::TempDir dir_{"rampart-foldercmds"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  store::MailboxId mailbox_ = 0;
};

TEST_F(FolderCommandsTest, CreateAtTopLevelAndNested) {
  std::string key = initial();
  Response top = create(key, "0", "Projects");
  ASSERT_EQ(top.status, 1) << top.xml;
  EXPECT_EQ(top.command, "FolderCreate");
  ASSERT_TRUE(top.key && top.server_id) << top.xml;
  EXPECT_NE(*top.key, key);
  auto projects = folderNamed("Projects");
  ASSERT_TRUE(projects);
  EXPECT_EQ(*top.server_id, std::to_string(projects->id));
  EXPECT_FALSE(projects->parent);
  EXPECT_EQ(projects->type, store::FolderType::user_mail);

  Response nested = create(*top.key, *top.server_id, "2026", "1");
  ASSERT_EQ(nested.status, 1) << nested.xml;
  auto year = folderNamed("2026");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->parent, projects->id);
  EXPECT_EQ(year->type, store::FolderType::user_generic);
  expectNoChanges(*nested.key);
}

TEST_F(FolderCommandsTest, ServerSideChangesStillComeWithTheNextSync) {
  std::string key = initial();
  ASSERT_TRUE(mail_->createFolder(mailbox_, std::nullopt, "FromWeb", store::FolderType::user_mail));
  Response r = create(key, "0", "FromPhone");
  ASSERT_EQ(r.status, 1) << r.xml;
  Response s = folderSync(*r.key);
  ASSERT_EQ(s.status, 1) << s.xml;
  EXPECT_EQ(s.changes, std::vector<std::string>{"Add FromWeb"}) << s.xml;
}

TEST_F(FolderCommandsTest, CreateDuplicateNameAndBadParent) {
  std::string key = initial();
  Response r = create(key, "0", "Projects");
  ASSERT_EQ(r.status, 1) << r.xml;
  Response dup = create(*r.key, "0", "Projects");
  EXPECT_EQ(dup.status, 2) << dup.xml;
  EXPECT_FALSE(dup.key);
  EXPECT_EQ(create(*r.key, "999999", "X").status, 5);
  // A folder of another user's mailbox is not found either.
  auto bob = mail_->openMailbox("bob");
  ASSERT_TRUE(bob);
  auto bobs = mail_->folderOfType(*bob, store::FolderType::inbox);
  ASSERT_TRUE(bobs);
  EXPECT_EQ(create(*r.key, std::to_string(bobs->id), "X").status, 5);
  expectNoChanges(*r.key);  // failures commit nothing and keep the key
}

TEST_F(FolderCommandsTest, UpdateRenamesAndMoves) {
  std::string key = initial();
  Response a = create(key, "0", "A");
  Response b = create(*a.key, "0", "B");
  ASSERT_EQ(b.status, 1) << b.xml;
  Response rename = update(*b.key, *a.server_id, "0", "Alpha");
  ASSERT_EQ(rename.status, 1) << rename.xml;
  EXPECT_EQ(rename.command, "FolderUpdate");
  ASSERT_TRUE(rename.key);
  EXPECT_FALSE(rename.server_id);
  Response move = update(*rename.key, *a.server_id, *b.server_id, "Alpha");
  ASSERT_EQ(move.status, 1) << move.xml;
  auto alpha = folderNamed("Alpha");
  ASSERT_TRUE(alpha);
  EXPECT_EQ(std::to_string(alpha->parent.value_or(0)), *b.server_id);
  expectNoChanges(*move.key);
  // Moving B under its own child: refused.
  EXPECT_EQ(update(*move.key, *b.server_id, *a.server_id, "B").status, 10);
}

TEST_F(FolderCommandsTest, UpdateStatuses) {
  std::string key = initial();
  Response a = create(key, "0", "A");
  Response b = create(*a.key, "0", "B");
  key = *b.key;
  EXPECT_EQ(update(key, *a.server_id, "0", "B").status, 2);  // name taken
  EXPECT_EQ(update(key, inboxId(), "0", "Renamed Inbox").status, 2);  // special folder
  EXPECT_EQ(update(key, "999999", "0", "X").status, 4);
  EXPECT_EQ(update(key, *a.server_id, "999999", "A").status, 5);
  expectNoChanges(key);
}

TEST_F(FolderCommandsTest, DeleteRemovesTheFolderAndItsSubfolders) {
  std::string key = initial();
  Response a = create(key, "0", "A");
  Response child = create(*a.key, *a.server_id, "Child");
  ASSERT_EQ(child.status, 1) << child.xml;
  // Synced so the client holds both, then the parent goes.
  Response del = remove(*child.key, *a.server_id);
  ASSERT_EQ(del.status, 1) << del.xml;
  EXPECT_EQ(del.command, "FolderDelete");
  ASSERT_TRUE(del.key);
  EXPECT_FALSE(folderNamed("A"));
  EXPECT_FALSE(folderNamed("Child"));
  expectNoChanges(*del.key);
}

TEST_F(FolderCommandsTest, DeleteStatuses) {
  std::string key = initial();
  EXPECT_EQ(remove(key, inboxId()).status, 3);
  EXPECT_EQ(remove(key, "999999").status, 4);
  EXPECT_TRUE(mail_->folderOfType(mailbox_, store::FolderType::inbox));
  expectNoChanges(key);
}

TEST_F(FolderCommandsTest, StaleOrUnknownKeyIsStatus9AndChangesNothing) {
  std::string key = initial();
  Response r = create(key, "0", "A");
  ASSERT_EQ(r.status, 1) << r.xml;
  // `key` is now the previous key: not the client's current state.
  Response stale = create(key, "0", "B");
  EXPECT_EQ(stale.status, 9) << stale.xml;
  EXPECT_FALSE(stale.key);
  EXPECT_FALSE(folderNamed("B"));
  EXPECT_EQ(update("{deadbeef}7", *r.server_id, "0", "Z").status, 9);
  EXPECT_EQ(remove("0", *r.server_id).status, 9);
  EXPECT_TRUE(folderNamed("A"));
  expectNoChanges(*r.key);
}

TEST_F(FolderCommandsTest, BeforeAnyFolderSyncIsStatus9) {
  EXPECT_EQ(create("0", "0", "A").status, 9);
  EXPECT_FALSE(folderNamed("A"));
}

TEST_F(FolderCommandsTest, MalformedIsStatus10) {
  std::string key = initial();
  EXPECT_EQ(create(key, "0", "").status, 10);             // empty name
  EXPECT_EQ(create(key, "0", "A", "2").status, 10);       // not a user folder type
  EXPECT_EQ(create(key, "x", "A").status, 10);            // bad ParentId
  EXPECT_EQ(create("", "0", "A").status, 10);             // empty SyncKey
  EXPECT_EQ(update(key, "", "0", "A").status, 10);
  EXPECT_EQ(remove(key, "-3").status, 10);
  auto c = ctx();
  // Missing SyncKey; and a body of another command.
  auto missing = runFolderDelete(c, xml(R"(<FolderDelete xmlns="FolderHierarchy:">)" +
                                        tag("ServerId", "5") + "</FolderDelete>"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(parse(*missing).status, 10);
  auto wrong = runFolderCreate(c, xml(R"(<FolderSync xmlns="FolderHierarchy:">)" +
                                      tag("SyncKey", key) + "</FolderSync>"));
  ASSERT_TRUE(wrong);
  Response w = parse(*wrong);
  EXPECT_EQ(w.status, 10);
  EXPECT_EQ(w.command, "FolderCreate");
  EXPECT_FALSE(folderNamed("A"));
  expectNoChanges(key);
}

// Differential: libwbxml2's wbxml2xml reads FolderCreate/Update/Delete
// answers (success and failure) as our decoder does.
TEST_F(FolderCommandsTest, Wbxml2xmlReadsOurResponsesAsWeDo) {
  if (std::system("command -v wbxml2xml >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  }
  std::string key = initial();
  std::vector<std::vector<std::uint8_t>> responses;
  auto keep = [&](Result<std::vector<std::uint8_t>> r) {
    ASSERT_TRUE(r) << r.error().message();
    responses.push_back(std::move(*r));
  };
  auto c = ctx();
  keep(runFolderCreate(c, xml(R"(<FolderCreate xmlns="FolderHierarchy:">)" + tag("SyncKey", key) +
                              tag("ParentId", "0") + tag("DisplayName", "R&amp;D &lt;caf\xc3\xa9&gt;") +
                              tag("Type", "12") + "</FolderCreate>")));
  Response made = parse(responses.back());
  ASSERT_TRUE(made.key && made.server_id) << made.xml;
  keep(runFolderCreate(c, xml(R"(<FolderCreate xmlns="FolderHierarchy:">)" + tag("SyncKey", "bogus") +
                              tag("ParentId", "0") + tag("DisplayName", "x") + tag("Type", "12") +
                              "</FolderCreate>")));
  keep(runFolderUpdate(c, xml(R"(<FolderUpdate xmlns="FolderHierarchy:">)" + tag("SyncKey", *made.key) +
                              tag("ServerId", *made.server_id) + tag("ParentId", "0") +
                              tag("DisplayName", "Renamed") + "</FolderUpdate>")));
  std::string key2 = parse(responses.back()).key.value_or("");
  keep(runFolderDelete(c, xml(R"(<FolderDelete xmlns="FolderHierarchy:">)" + tag("SyncKey", key2) +
                              tag("ServerId", "424242") + "</FolderDelete>")));
  keep(runFolderDelete(c, xml(R"(<FolderDelete xmlns="FolderHierarchy:">)" + tag("SyncKey", key2) +
                              tag("ServerId", *made.server_id) + "</FolderDelete>")));
  int n = 0;
  for (const auto& bytes : responses) {
    SCOPED_TRACE(n);
    std::string in = dir_.file("r" + std::to_string(n) + ".wbxml");
    std::string out = dir_.file("r" + std::to_string(n++) + ".xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    std::string cmd = "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + dir_.file("log") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream theirs_in(out, std::ios::binary);
    std::string theirs((std::istreambuf_iterator<char>(theirs_in)), std::istreambuf_iterator<char>());
    auto ours = wbxml::decode(bytes);
    ASSERT_TRUE(ours);
    EXPECT_EQ(theirs, wbxml::toXml(*ours));
  }
}

}  // namespace
}  // namespace rampart::server::eas
