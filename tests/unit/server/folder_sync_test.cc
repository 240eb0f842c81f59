// FolderSync (MS-ASCMD 2.2.1.5) against real SQLite mail and device stores.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "server/eas/folder_sync_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";

struct FolderEntryView {
  std::string kind;  // Add, Update, Delete
  std::string server_id;
  std::string parent_id;
  std::string name;
  std::string type;
};

struct Response {
  int status = 0;
  std::optional<std::string> key;
  std::optional<int> count;
  std::vector<FolderEntryView> changes;  // in the order sent
  std::string xml;                       // for failure messages

  const FolderEntryView* find(std::string_view kind, std::string_view server_id) const {
    for (const auto& c : changes) {
      if (c.kind == kind && c.server_id == server_id) return &c;
    }
    return nullptr;
  }
  const FolderEntryView* findByName(std::string_view name) const {
    for (const auto& c : changes) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
};

std::string text(const wbxml::Element& e, std::string_view child) {
  const wbxml::Element* c = e.child(child);
  return c ? c->text : std::string();
}

Response parseResponse(const std::vector<std::uint8_t>& bytes) {
  Response r;
  auto doc = wbxml::decode(bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  if (!doc) return r;
  r.xml = wbxml::toXml(*doc);
  const wbxml::Element& root = doc->root;
  EXPECT_EQ(root.name, "FolderSync") << r.xml;
  EXPECT_EQ(root.page, 7) << r.xml;
  // The order of the schema (MS-ASCMD 6.15): Status, SyncKey, Changes.
  std::vector<std::string_view> order;
  for (const auto& c : root.children) order.push_back(c.name);
  if (!order.empty()) {
    EXPECT_EQ(order.front(), "Status") << r.xml;
  }
  r.status = std::stoi(text(root, "Status"));
  if (const auto* k = root.child("SyncKey")) r.key = k->text;
  if (const auto* changes = root.child("Changes")) {
    EXPECT_FALSE(changes->children.empty());
    if (!changes->children.empty()) {
      EXPECT_EQ(changes->children.front().name, "Count") << r.xml;
    }
    int rank = 0;  // Update* Delete* Add*
    for (const auto& c : changes->children) {
      if (c.name == "Count") {
        r.count = std::stoi(c.text);
        continue;
      }
      int this_rank = c.name == "Update" ? 0 : c.name == "Delete" ? 1 : 2;
      EXPECT_GE(this_rank, rank) << "out of schema order: " << r.xml;
      rank = this_rank;
      r.changes.push_back({std::string(c.name), text(c, "ServerId"), text(c, "ParentId"),
                           text(c, "DisplayName"), text(c, "Type")});
    }
  }
  return r;
}

wbxml::Document request(std::string_view key) {
  auto doc = wbxml::parseXml(std::string(R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey>)") +
                             std::string(key) + "</SyncKey></FolderSync>");
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? *doc : wbxml::Document{};
}

class FolderSyncTest : public ::testing::Test {
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

  Response run(const wbxml::Document& body) {
    FolderSyncContext ctx{*mail_, *devices_, kUser, kDevice, "16.1"};
    auto bytes = runFolderSync(ctx, body);
    EXPECT_TRUE(bytes) << bytes.error().message();
    if (!bytes) return {};
    return parseResponse(*bytes);
  }
  Response sync(std::string_view key) { return run(request(key)); }

  // Initial sync; returns the key.
  std::string initial() {
    Response r = sync("0");
    EXPECT_EQ(r.status, 1) << r.xml;
    EXPECT_TRUE(r.key);
    return r.key.value_or("");
  }

  store::Folder create(std::optional<store::FolderId> parent, std::string_view name) {
    auto f = mail_->createFolder(mailbox_, parent, name, store::FolderType::user_mail);
    EXPECT_TRUE(f) << f.error().message();
    return f ? *f : store::Folder{};
  }

  testing::TempDir dir_{"rampart-foldersync"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  store::MailboxId mailbox_ = 0;
};

TEST_F(FolderSyncTest, InitialSyncListsTheDefaultFolders) {
  Response r = sync("0");
  ASSERT_EQ(r.status, 1) << r.xml;
  ASSERT_TRUE(r.key);
  EXPECT_NE(*r.key, "0");
  ASSERT_EQ(r.count, 5) << r.xml;
  ASSERT_EQ(r.changes.size(), 5u) << r.xml;
  const std::vector<std::pair<std::string, std::string>> expected = {{"Inbox", "2"},
                                                                     {"Drafts", "3"},
                                                                     {"Deleted Items", "4"},
                                                                     {"Sent Items", "5"},
                                                                     {"Outbox", "6"}};
  for (const auto& [name, type] : expected) {
    const FolderEntryView* f = r.findByName(name);
    ASSERT_NE(f, nullptr) << name << "\n" << r.xml;
    EXPECT_EQ(f->kind, "Add");
    EXPECT_EQ(f->type, type) << name;
    EXPECT_EQ(f->parent_id, "0") << name;
    auto inbox = mail_->folderOfType(mailbox_, static_cast<store::FolderType>(std::stoi(type)));
    ASSERT_TRUE(inbox);
    EXPECT_EQ(f->server_id, std::to_string(inbox->id)) << name;
  }
}

TEST_F(FolderSyncTest, NoChangesKeepsTheKey) {
  std::string key = initial();
  Response r = sync(key);
  EXPECT_EQ(r.status, 1) << r.xml;
  EXPECT_EQ(r.key, key);
  EXPECT_EQ(r.count, 0) << r.xml;
  EXPECT_TRUE(r.changes.empty());
  // Still the current key: the same answer again.
  Response again = sync(key);
  EXPECT_EQ(again.key, key);
  EXPECT_EQ(again.count, 0);
}

TEST_F(FolderSyncTest, CreateRenameMoveDelete) {
  std::string key = initial();
  store::Folder work = create(std::nullopt, "Work");
  store::Folder old = create(std::nullopt, "Old");
  Response r = sync(key);
  ASSERT_EQ(r.status, 1) << r.xml;
  ASSERT_TRUE(r.key);
  EXPECT_NE(*r.key, key);
  EXPECT_EQ(r.count, 2) << r.xml;
  const FolderEntryView* added = r.find("Add", std::to_string(work.id));
  ASSERT_NE(added, nullptr) << r.xml;
  EXPECT_EQ(added->name, "Work");
  EXPECT_EQ(added->parent_id, "0");
  EXPECT_EQ(added->type, "12");
  ASSERT_NE(r.find("Add", std::to_string(old.id)), nullptr) << r.xml;
  key = *r.key;

  // Rename, then move under Inbox: one Update with the end result.
  auto inbox = mail_->folderOfType(mailbox_, store::FolderType::inbox);
  ASSERT_TRUE(inbox);
  ASSERT_TRUE(mail_->updateFolder(work.id, std::nullopt, "Projects"));
  ASSERT_TRUE(mail_->updateFolder(work.id, inbox->id, "Projects"));
  ASSERT_TRUE(mail_->deleteFolder(old.id));
  r = sync(key);
  ASSERT_EQ(r.status, 1) << r.xml;
  EXPECT_EQ(r.count, 2) << r.xml;
  ASSERT_EQ(r.changes.size(), 2u) << r.xml;
  const FolderEntryView* updated = r.find("Update", std::to_string(work.id));
  ASSERT_NE(updated, nullptr) << r.xml;
  EXPECT_EQ(updated->name, "Projects");
  EXPECT_EQ(updated->parent_id, std::to_string(inbox->id));
  EXPECT_EQ(updated->type, "12");
  EXPECT_NE(r.find("Delete", std::to_string(old.id)), nullptr) << r.xml;
  key = *r.key;

  Response quiet = sync(key);
  EXPECT_EQ(quiet.key, key);
  EXPECT_EQ(quiet.count, 0) << quiet.xml;
}

TEST_F(FolderSyncTest, RenameAloneIsAnUpdate) {
  store::Folder f = create(std::nullopt, "Misc");
  std::string key = initial();
  ASSERT_TRUE(mail_->updateFolder(f.id, std::nullopt, "Miscellaneous"));
  Response r = sync(key);
  ASSERT_EQ(r.status, 1) << r.xml;
  ASSERT_EQ(r.changes.size(), 1u) << r.xml;
  EXPECT_EQ(r.changes[0].kind, "Update");
  EXPECT_EQ(r.changes[0].name, "Miscellaneous");
  EXPECT_EQ(r.changes[0].parent_id, "0");
}

TEST_F(FolderSyncTest, DeletingAParentDeletesItsSubfolders) {
  store::Folder parent = create(std::nullopt, "Archive");
  store::Folder child = create(parent.id, "2025");
  std::string key = initial();
  ASSERT_TRUE(mail_->deleteFolder(parent.id));
  Response r = sync(key);
  ASSERT_EQ(r.status, 1) << r.xml;
  EXPECT_EQ(r.count, 2) << r.xml;
  EXPECT_NE(r.find("Delete", std::to_string(parent.id)), nullptr) << r.xml;
  EXPECT_NE(r.find("Delete", std::to_string(child.id)), nullptr) << r.xml;
}

TEST_F(FolderSyncTest, AddedThenDeletedSendsNothing) {
  std::string key = initial();
  store::Folder temp = create(std::nullopt, "Temp");
  ASSERT_TRUE(mail_->deleteFolder(temp.id));
  Response r = sync(key);
  EXPECT_EQ(r.status, 1) << r.xml;
  EXPECT_EQ(r.count, 0) << r.xml;
  EXPECT_TRUE(r.changes.empty()) << r.xml;
  EXPECT_EQ(r.key, key);
}

TEST_F(FolderSyncTest, NestedFolderHasItsParentsId) {
  store::Folder parent = create(std::nullopt, "Clients");
  store::Folder child = create(parent.id, "Acme");
  Response r = sync("0");
  ASSERT_EQ(r.status, 1) << r.xml;
  EXPECT_EQ(r.count, 7) << r.xml;
  const FolderEntryView* c = r.find("Add", std::to_string(child.id));
  ASSERT_NE(c, nullptr) << r.xml;
  EXPECT_EQ(c->parent_id, std::to_string(parent.id));
  // The parent's Add comes before the child's.
  std::size_t parent_at = 0, child_at = 0;
  for (std::size_t i = 0; i < r.changes.size(); ++i) {
    if (r.changes[i].server_id == std::to_string(parent.id)) parent_at = i;
    if (r.changes[i].server_id == std::to_string(child.id)) child_at = i;
  }
  EXPECT_LT(parent_at, child_at);

  // Incremental: an older new folder moved under a newer new one still comes after it.
  std::string key = *r.key;
  store::Folder a = create(std::nullopt, "A");
  store::Folder b = create(std::nullopt, "B");
  ASSERT_TRUE(mail_->updateFolder(a.id, b.id, "A"));
  r = sync(key);
  ASSERT_EQ(r.changes.size(), 2u) << r.xml;
  EXPECT_EQ(r.changes[0].server_id, std::to_string(b.id)) << r.xml;
  EXPECT_EQ(r.changes[1].server_id, std::to_string(a.id)) << r.xml;
  EXPECT_EQ(r.changes[1].parent_id, std::to_string(b.id));
}

TEST_F(FolderSyncTest, ResentPreviousKeyIsAnsweredAgain) {
  std::string k1 = initial();
  store::Folder work = create(std::nullopt, "Work");
  FolderSyncContext ctx{*mail_, *devices_, kUser, kDevice, "16.1"};
  auto lost_bytes = runFolderSync(ctx, request(k1));  // the client never sees this answer
  ASSERT_TRUE(lost_bytes);
  Response lost = parseResponse(*lost_bytes);
  ASSERT_EQ(lost.status, 1) << lost.xml;
  ASSERT_TRUE(lost.key);
  std::string k2 = *lost.key;
  ASSERT_NE(k2, k1);

  // A change after the lost answer does not alter the answer to the resent key.
  store::Folder later = create(std::nullopt, "Later");
  for (int i = 0; i < 2; ++i) {
    auto again_bytes = runFolderSync(ctx, request(k1));
    ASSERT_TRUE(again_bytes);
    EXPECT_EQ(*again_bytes, *lost_bytes) << "resend " << i;
    Response again = parseResponse(*again_bytes);
    EXPECT_EQ(again.status, 1) << again.xml;
    EXPECT_EQ(again.key, k2);
    EXPECT_EQ(again.count, 1) << again.xml;
    EXPECT_NE(again.find("Add", std::to_string(work.id)), nullptr) << again.xml;
  }

  // From the key it now holds the client gets what changed since.
  Response next = sync(k2);
  ASSERT_EQ(next.status, 1) << next.xml;
  EXPECT_EQ(next.count, 1) << next.xml;
  EXPECT_NE(next.find("Add", std::to_string(later.id)), nullptr) << next.xml;
  ASSERT_TRUE(next.key);
  EXPECT_NE(*next.key, k2);
  // Now k1 is two keys back: unknown.
  EXPECT_EQ(sync(k1).status, 9);
  Response quiet = sync(*next.key);
  EXPECT_EQ(quiet.key, next.key);
  EXPECT_EQ(quiet.count, 0) << quiet.xml;
}

TEST_F(FolderSyncTest, BogusKeyIsStatus9) {
  initial();
  Response r = sync("deadbeef7");
  EXPECT_EQ(r.status, 9) << r.xml;
  EXPECT_FALSE(r.key);
  EXPECT_FALSE(r.count);
}

TEST_F(FolderSyncTest, KeyFromBeforeAResetIsStatus9) {
  std::string old = initial();
  std::string fresh = initial();
  EXPECT_NE(old, fresh);
  EXPECT_EQ(sync(old).status, 9);
  EXPECT_EQ(sync(fresh).status, 1);
}

TEST_F(FolderSyncTest, MalformedRequestIsStatus10) {
  // No SyncKey.
  auto empty = wbxml::parseXml(R"(<FolderSync xmlns="FolderHierarchy:"/>)");
  ASSERT_TRUE(empty);
  EXPECT_EQ(run(*empty).status, 10);
  // An empty SyncKey.
  auto blank = wbxml::parseXml(R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey/></FolderSync>)");
  ASSERT_TRUE(blank);
  EXPECT_EQ(run(*blank).status, 10);
  // Two SyncKeys.
  auto twice = wbxml::parseXml(
      R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey><SyncKey>0</SyncKey></FolderSync>)");
  ASSERT_TRUE(twice);
  EXPECT_EQ(run(*twice).status, 10);
  // A key longer than the 64 characters of MS-ASCMD 2.2.3.181.2.
  EXPECT_EQ(sync(std::string(65, '1')).status, 10);
  // Another command's root element.
  auto other = wbxml::parseXml(
      R"(<FolderCreate xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderCreate>)");
  ASSERT_TRUE(other);
  EXPECT_EQ(run(*other).status, 10);
  // A SyncKey of the AirSync page is not FolderHierarchy's.
  auto wrong_page = wbxml::parseXml(
      R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey xmlns="AirSync:">0</SyncKey></FolderSync>)");
  ASSERT_TRUE(wrong_page);
  Response r = run(*wrong_page);
  EXPECT_EQ(r.status, 10) << r.xml;
}

TEST_F(FolderSyncTest, ResponseIsWhatTheWriterWouldBuild) {
  // The no-change answer, byte for byte: Status, SyncKey, Changes/Count (MS-ASCMD 4.4.2 shape).
  std::string key = initial();
  FolderSyncContext ctx{*mail_, *devices_, kUser, kDevice, "14.1"};
  auto bytes = runFolderSync(ctx, request(key));
  ASSERT_TRUE(bytes);
  wbxml::Writer w;
  w.start("FolderHierarchy", "FolderSync");
  w.start("FolderHierarchy", "Status");
  w.content("1");
  w.end();
  w.start("FolderHierarchy", "SyncKey");
  w.content(key);
  w.end();
  w.start("FolderHierarchy", "Changes");
  w.start("FolderHierarchy", "Count");
  w.content("0");
  w.end();
  w.end();
  w.end();
  auto expected = std::move(w).finish();
  ASSERT_TRUE(expected);
  EXPECT_EQ(*bytes, *expected);
}

// Differential: libwbxml2's wbxml2xml reads every kind of response we build as we do.
TEST_F(FolderSyncTest, Wbxml2xmlReadsOurResponsesAsWeDo) {
  if (std::system("command -v wbxml2xml >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  }
  FolderSyncContext ctx{*mail_, *devices_, kUser, kDevice, "14.1"};
  std::vector<std::vector<std::uint8_t>> responses;
  auto add = [&](const wbxml::Document& body) {
    auto bytes = runFolderSync(ctx, body);
    ASSERT_TRUE(bytes) << bytes.error().message();
    responses.push_back(*bytes);
  };
  store::Folder gone = create(std::nullopt, "Gone");
  store::Folder renamed = create(std::nullopt, "Before");
  add(request("0"));
  std::string key = *parseResponse(responses.back()).key;
  ASSERT_TRUE(mail_->updateFolder(renamed.id, std::nullopt, "R&D <\"after\">"));
  ASSERT_TRUE(mail_->deleteFolder(gone.id));
  create(renamed.id, "Caf\xc3\xa9");
  add(request(key));       // Update, Delete, Add
  add(request("bogus"));   // Status 9
  add(wbxml::Document{});  // Status 10
  int n = 0;
  for (const auto& bytes : responses) {
    SCOPED_TRACE(n);
    std::string in = dir_.file("r" + std::to_string(n) + ".wbxml");
    std::string out = dir_.file("r" + std::to_string(n) + ".xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    }
    std::string log = dir_.file("log");
    std::string cmd = "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + log + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream theirs_in(out, std::ios::binary);
    std::string theirs((std::istreambuf_iterator<char>(theirs_in)),
                       std::istreambuf_iterator<char>());
    auto ours = wbxml::decode(bytes);
    ASSERT_TRUE(ours);
    EXPECT_EQ(theirs, wbxml::toXml(*ours));
    ++n;
  }
  EXPECT_EQ(parseResponse(responses[1]).count, 3);
}

}  // namespace
}  // namespace rampart::server::eas
