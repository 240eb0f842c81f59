// SQLite-specific checks the interface cannot see: what rows exist on disk.
#include "store/sqlite/sqlite_mail_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "store/sqlite/database.h"
#include "store_test_util.h"

namespace rampart::store::sqlite {
namespace {

using store::testing::makeDelivery;
using store::testing::sampleMessage;
using store::testing::TempDir;
using store::testing::toInbox;

std::int64_t count(const std::string& path, const std::string& sql) {
  auto db = Database::open(path);
  EXPECT_TRUE(db);
  auto q = db->prepare(sql);
  EXPECT_TRUE(q) << q.error().message();
  EXPECT_TRUE(*q->step());
  return q->columnInt(0);
}

TEST(SqliteMailStore, MessageRowLivesAsLongAsItsItems) {
  TempDir dir;
  std::string path = (dir.path() / "mail.db").string();
  auto store = openSqliteMailStore(path);
  ASSERT_TRUE(store);
  MailboxId a = *(*store)->openMailbox("alice");
  MailboxId b = *(*store)->openMailbox("bob");
  auto r = (*store)->deliverSync(makeDelivery(sampleMessage("x"), 1, {toInbox(a), toInbox(b)}));
  ASSERT_TRUE(r);
  EXPECT_EQ(count(path, "SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(count(path, "SELECT count(*) FROM items"), 2);

  auto moved = (*store)->moveItem(r->items[0], (*store)->folderOfType(a, FolderType::drafts)->id);
  ASSERT_TRUE(moved);
  ASSERT_TRUE((*store)->deleteItem(r->items[1]));
  EXPECT_EQ(count(path, "SELECT count(*) FROM messages"), 1);
  ASSERT_TRUE((*store)->deleteItem(*moved));
  EXPECT_EQ(count(path, "SELECT count(*) FROM messages"), 0);

  // Folder deletion and emptying release messages too.
  auto f = (*store)->createFolder(a, std::nullopt, "F", FolderType::user_mail);
  Delivery::Target t = toInbox(a);
  t.folder = f->id;
  ASSERT_TRUE((*store)->deliverSync(makeDelivery(sampleMessage("y"), 1, {t})));
  ASSERT_TRUE((*store)->deliverSync(makeDelivery(sampleMessage("z"), 1, {toInbox(a)})));
  EXPECT_EQ(count(path, "SELECT count(*) FROM messages"), 2);
  ASSERT_TRUE((*store)->deleteFolder(f->id));
  ASSERT_TRUE((*store)->emptyFolder((*store)->folderOfType(a, FolderType::inbox)->id));
  EXPECT_EQ(count(path, "SELECT count(*) FROM messages"), 0);
}

TEST(SqliteMailStore, MigrationsRunOnceAndRecordVersion) {
  TempDir dir;
  std::string path = (dir.path() / "mail.db").string();
  for (int i = 0; i < 3; ++i) {
    auto store = openSqliteMailStore(path);
    ASSERT_TRUE(store) << store.error().message();
    ASSERT_TRUE((*store)->openMailbox("alice"));
  }
  // v2 added oof_settings (EAS Settings Oof), v3 oof_replies (RFC 3834 once per period).
  EXPECT_EQ(count(path, "SELECT version FROM schema_versions WHERE component = 'mailstore'"), 3);
  EXPECT_EQ(count(path, "SELECT count(*) FROM mailboxes"), 1);
  auto db = Database::open(path);
  auto q = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q && *q->step());
  EXPECT_EQ(q->columnText(0), "wal");
}

TEST(SqliteMailStore, NotADatabaseIsStorageError) {
  TempDir dir;
  std::string path = (dir.path() / "junk.db").string();
  std::ofstream(path) << std::string(8192, 'j');
  auto store = openSqliteMailStore(path);
  ASSERT_FALSE(store);
  EXPECT_TRUE(store.error().is(Errc::storage_error));
}

TEST(SqliteMailStore, SharesTheFileWithOtherComponents) {
  TempDir dir;
  std::string path = (dir.path() / "mail.db").string();
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("other", {{1, "CREATE TABLE other_things(x INTEGER)"}}));
  }
  auto store = openSqliteMailStore(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(count(path, "SELECT count(*) FROM schema_versions"), 2);
}

}  // namespace
}  // namespace rampart::store::sqlite
