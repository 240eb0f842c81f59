// The device's local SQLite state (src/device/state.h) in a TempDir.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "device/state.h"
#include "testing/temp_dir.h"

namespace rampart::device {
namespace {

TEST(DeviceState, AccountIsKeptInAPrivateFile) {
  testing::TempDir tmp("device-state");
  std::string path = tmp.file("state.db");
  {
    auto state = DeviceState::open(path);
    ASSERT_TRUE(state) << state.error().message();
    auto none = state->account();
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    Account a;
    a.url = "https://127.0.0.1:8443";
    a.user = "alice";
    a.password = "s3cret";
    a.device_id = "ABC123";
    a.device_type = "RampartDevice";
    a.version = "16.1";
    a.policy_key = "1234";
    a.folder_sync_key = "k9";
    ASSERT_TRUE(state->saveAccount(a));
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto state = DeviceState::open(path);
  ASSERT_TRUE(state);
  auto a = state->account();
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->password, "s3cret");
  EXPECT_EQ((*a)->policy_key, "1234");
  EXPECT_EQ((*a)->folder_sync_key, "k9");

  ASSERT_TRUE(DeviceState::erase(path));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(DeviceState, FoldersAndItems) {
  testing::TempDir tmp("device-state");
  auto state = DeviceState::open(tmp.file("state.db"));
  ASSERT_TRUE(state);
  FolderSyncResult fs;
  fs.status = 1;
  fs.sync_key = "1";
  fs.adds = {{"5", "0", "Inbox", 2}, {"8", "0", "Archive", 12}, {"9", "0", "Old", 12}};
  ASSERT_TRUE(state->applyFolderSync(fs));
  ASSERT_TRUE(state->setFolderSyncKey("5", "s1"));

  ServerItem add;
  add.server_id = "5:1";
  add.fields.subject = "Hello";
  add.fields.from = "bob@example.test";
  add.fields.read = false;
  ServerItem add2 = add;
  add2.server_id = "5:2";
  auto added = state->applySync("5", {add, add2});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->size(), 2u);
  std::int64_t id = (*added)[0].id;

  // A Change merges: only Read changes, the subject stays.
  ServerItem change;
  change.kind = ServerItem::Kind::change;
  change.server_id = "5:1";
  change.fields.read = true;
  added = state->applySync("5", {change});
  ASSERT_TRUE(added);
  EXPECT_TRUE(added->empty()) << "a change is not a new message";
  auto item = state->item(id);
  ASSERT_TRUE(item && *item);
  EXPECT_TRUE((*item)->read);
  EXPECT_EQ((*item)->subject, "Hello");

  // Moved: same local id, new folder and ServerId; the destination's later
  // Add of that id is not new.
  ASSERT_TRUE(state->moveItem(id, "8", "8:1"));
  ServerItem arrived = add;
  arrived.server_id = "8:1";
  added = state->applySync("8", {arrived});
  ASSERT_TRUE(added);
  EXPECT_TRUE(added->empty());
  auto in_archive = state->items("8");
  ASSERT_TRUE(in_archive);
  ASSERT_EQ(in_archive->size(), 1u);
  EXPECT_EQ((*in_archive)[0].id, id);

  ServerItem gone;
  gone.kind = ServerItem::Kind::remove;
  gone.server_id = "5:2";
  ASSERT_TRUE(state->applySync("5", {gone}));
  auto inbox = state->items("5");
  ASSERT_TRUE(inbox);
  EXPECT_TRUE(inbox->empty());

  // A folder deleted by FolderSync takes its items along.
  FolderSyncResult del;
  del.status = 1;
  del.sync_key = "2";
  del.deletes = {"8"};
  ASSERT_TRUE(state->applyFolderSync(del));
  auto folders = state->folders();
  ASSERT_TRUE(folders);
  EXPECT_EQ(folders->size(), 2u);
  auto gone_item = state->item(id);
  ASSERT_TRUE(gone_item);
  EXPECT_FALSE(*gone_item);
  auto inbox_folder = std::find_if(folders->begin(), folders->end(),
                                   [](const LocalFolder& f) { return f.folder.server_id == "5"; });
  ASSERT_NE(inbox_folder, folders->end());
  EXPECT_EQ(inbox_folder->sync_key, "s1");
}

}  // namespace
}  // namespace rampart::device
