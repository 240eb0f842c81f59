// SqliteRightsStore: templates by GUID (any case finds the same one), revoked
// users, the request log (newest first, by license id), and that a logged
// request survives a reopen and a kill -9 right after log() returns.
#include "store/rights_store.h"

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <thread>

#include "store/sqlite/sqlite_ca_store.h"
#include "store/sqlite/sqlite_rights_store.h"
#include "testing/kill9.h"
#include "testing/temp_dir.h"

namespace rampart::store {
namespace {

using sqlite::SqliteRightsStore;

constexpr std::string_view kDnf = "CF5CF348-A8D7-40D5-91EF-A600B88A395D";
constexpr std::string_view kOther = "0A1B2C3D-0000-4000-8000-00000000000F";

RightsLogEntry entry(std::string user, std::string license, bool granted) {
  RightsLogEntry e;
  e.at = 1000;
  e.user = std::move(user);
  e.license_id = std::move(license);
  e.template_id = std::string(kDnf);
  e.owner = "alice@example.test";
  e.granted = granted;
  e.rights = granted ? 15u : 0u;
  e.reason = granted ? "" : "not a recipient";
  return e;
}

class RightsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  std::string path() const { return dir_.file("rampart.db"); }
  void reopen() {
    store_.reset();
    auto s = SqliteRightsStore::open(path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = *s;
  }

  testing::TempDir dir_{"rampart-rights-store"};
  std::shared_ptr<SqliteRightsStore> store_;
};

TEST(TemplateIds, AreGuidsKeptUpperCase) {
  EXPECT_EQ(sqlite::normalTemplateId("cf5cf348-a8d7-40d5-91ef-a600b88a395d"), std::string(kDnf));
  EXPECT_EQ(sqlite::normalTemplateId(kDnf), std::string(kDnf));
  EXPECT_FALSE(sqlite::normalTemplateId(""));
  EXPECT_FALSE(sqlite::normalTemplateId("CF5CF348A8D740D591EFA600B88A395D"));
  EXPECT_FALSE(sqlite::normalTemplateId("CF5CF348-A8D7-40D5-91EF-A600B88A395G"));
  EXPECT_FALSE(sqlite::normalTemplateId("CF5CF348-A8D7-40D5-91EF-A600B88A395D0"));
  EXPECT_FALSE(sqlite::normalTemplateId("CF5CF348_A8D7-40D5-91EF-A600B88A395D"));
}

TEST_F(RightsStoreTest, TemplatesPutGetListReplaceRemove) {
  auto none = store_->getTemplate(kDnf);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store_->putTemplate("cf5cf348-a8d7-40d5-91ef-a600b88a395d", "name = \"DNF\"\n"));
  ASSERT_TRUE(store_->putTemplate(kOther, "name = \"Other\"\n"));
  auto got = store_->getTemplate(kDnf);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, "name = \"DNF\"\n");
  ASSERT_TRUE(store_->putTemplate(kDnf, "name = \"DNF 2\"\n"));  // replaces
  auto list = store_->listTemplates();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].first, std::string(kOther));  // ordered by id
  EXPECT_EQ((*list)[1].first, std::string(kDnf));
  EXPECT_EQ((*list)[1].second, "name = \"DNF 2\"\n");

  auto bad = store_->putTemplate("dnf", "x");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
  auto odd = store_->getTemplate("'; DROP TABLE rights_templates; --");
  ASSERT_TRUE(odd);
  EXPECT_FALSE(*odd);

  ASSERT_TRUE(store_->removeTemplate("cf5cf348-a8d7-40d5-91ef-a600b88a395d"));
  auto again = store_->removeTemplate(kDnf);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::not_found));
  auto junk = store_->removeTemplate("nope");
  ASSERT_FALSE(junk);
  EXPECT_TRUE(junk.error().is(Errc::not_found));
  reopen();
  list = store_->listTemplates();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].first, std::string(kOther));
}

TEST_F(RightsStoreTest, RevokeAndRestoreUsers) {
  EXPECT_FALSE(*store_->userRevoked("bob"));
  ASSERT_TRUE(store_->revokeUser("bob", 100, "admin"));
  ASSERT_TRUE(store_->revokeUser("carol", 101, "admin"));
  auto twice = store_->revokeUser("bob", 102, "admin");
  ASSERT_FALSE(twice);
  EXPECT_TRUE(twice.error().is(Errc::already_exists));
  auto empty = store_->revokeUser("", 1, "admin");
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().is(Errc::invalid_argument));
  EXPECT_TRUE(*store_->userRevoked("bob"));
  EXPECT_FALSE(*store_->userRevoked("Bob"));  // user names are canonical: exact match
  reopen();
  auto users = store_->revokedUsers();
  ASSERT_TRUE(users);
  EXPECT_EQ(*users, (std::vector<std::string>{"bob", "carol"}));
  ASSERT_TRUE(store_->restoreUser("bob"));
  EXPECT_FALSE(*store_->userRevoked("bob"));
  auto not_revoked = store_->restoreUser("bob");
  ASSERT_FALSE(not_revoked);
  EXPECT_TRUE(not_revoked.error().is(Errc::not_found));
}

TEST_F(RightsStoreTest, LogIsNewestFirstAndFiltersByLicense) {
  auto a = store_->log(entry("bob", "aa", true));
  auto b = store_->log(entry("carol", "aa", false));
  auto c = store_->log(entry("bob", "bb", true));
  ASSERT_TRUE(a && b && c);
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);

  auto all = store_->logEntries("", 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, *c);
  EXPECT_EQ((*all)[2].id, *a);

  auto aa = store_->logEntries("aa", 100);
  ASSERT_TRUE(aa);
  ASSERT_EQ(aa->size(), 2u);
  const RightsLogEntry& refused = (*aa)[0];
  EXPECT_EQ(refused.user, "carol");
  EXPECT_FALSE(refused.granted);
  EXPECT_EQ(refused.rights, 0u);
  EXPECT_EQ(refused.reason, "not a recipient");
  EXPECT_EQ(refused.template_id, std::string(kDnf));
  EXPECT_EQ(refused.owner, "alice@example.test");
  EXPECT_EQ(refused.at, 1000);
  const RightsLogEntry& granted = (*aa)[1];
  EXPECT_EQ(granted.user, "bob");
  EXPECT_TRUE(granted.granted);
  EXPECT_EQ(granted.rights, 15u);
  EXPECT_EQ(granted.reason, "");

  auto one = store_->logEntries("", 1);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, *c);
  auto none = store_->logEntries("cc", 10);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// log() commits concurrent callers' rows together: every caller gets the id
// of its own row, and no row is lost or doubled.
TEST_F(RightsStoreTest, ConcurrentLogsEachGetTheirOwnRow) {
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  std::vector<std::vector<std::pair<std::int64_t, std::string>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string license = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto id = store_->log(entry("user" + std::to_string(t), license, i % 2 == 0));
        if (id) got[static_cast<std::size_t>(t)].emplace_back(*id, license);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = store_->logEntries("", 100'000);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kEach));
  std::map<std::int64_t, std::string> by_id;
  for (const auto& e : *all) by_id[e.id] = e.license_id;
  for (const auto& mine : got) {
    ASSERT_EQ(mine.size(), static_cast<std::size_t>(kEach));
    for (const auto& [id, license] : mine) EXPECT_EQ(by_id[id], license);
  }
}

// A refusal logs no rights, whatever the caller put in the entry.
TEST_F(RightsStoreTest, RefusedEntriesCarryNoRights) {
  RightsLogEntry e = entry("carol", "aa", false);
  e.rights = 1023;
  ASSERT_TRUE(store_->log(e));
  auto all = store_->logEntries("aa", 10);
  ASSERT_TRUE(all && all->size() == 1u);
  EXPECT_EQ((*all)[0].rights, 0u);
}

// The rights tables live beside the CA's in the one server database.
TEST_F(RightsStoreTest, SharesTheDatabaseWithTheCaStore) {
  auto ca = sqlite::SqliteCaStore::open(path());
  ASSERT_TRUE(ca) << ca.error().message();
  ASSERT_TRUE((*ca)->putTemplate("device", "x = 1\n"));
  ASSERT_TRUE(store_->putTemplate(kDnf, "y = 1\n"));
  EXPECT_EQ((*(*ca)->listTemplates()).size(), 1u);
  EXPECT_EQ((*store_->listTemplates()).size(), 1u);
}

// The child logs and is killed the instant log() answers: no destructor, no
// checkpoint. The parent must find the entry.
TEST_F(RightsStoreTest, LoggedEntrySurvivesSigkill) {
  store_.reset();  // no open connection across fork()
  ASSERT_EQ(rampart::testing::runThenKill9([&] {
              auto s = SqliteRightsStore::open(path());
              if (!s) return 2;
              if (!(*s)->log(entry("bob", "feed", true))) return 3;
              if (!(*s)->revokeUser("carol", 5, "admin")) return 4;
              return 0;
            }),
            "");

  reopen();
  auto all = store_->logEntries("feed", 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].user, "bob");
  EXPECT_TRUE((*all)[0].granted);
  EXPECT_TRUE(*store_->userRevoked("carol"));
}

}  // namespace
}  // namespace rampart::store
