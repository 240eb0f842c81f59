// Checks particular to the built-in directory: how it stores passwords.
#include "directory/builtin_directory.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/sqlite/sqlite_mail_store.h"

namespace rampart::directory {
namespace {

// Fills with a fixed byte so salts are predictable.
class FixedRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    ++calls;
    for (auto& b : out) b = 0x42;
  }
  int calls = 0;
};

class BuiltinDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rampart-dir-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "rampart.db").string();
    options_.time_cost = 1;
    options_.memory_kib = 64;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string hashOf(const std::string& name) {
    auto db = store::sqlite::Database::open(path_);
    EXPECT_TRUE(db);
    auto q = db->prepare("SELECT password_hash FROM dir_users WHERE name = ?1");
    q->bind(1, std::string_view(name));
    EXPECT_TRUE(*q->step());
    return q->columnText(0);
  }

  std::filesystem::path dir_;
  std::string path_;
  BuiltinDirectoryOptions options_;
};

TEST_F(BuiltinDirectoryTest, StoresArgon2idPhcStrings) {
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d);
  User u;
  u.name = "alice";
  ASSERT_TRUE((*d)->addUser(u, "pw"));
  std::string hash = hashOf("alice");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("pw$"), std::string::npos);
}

TEST_F(BuiltinDirectoryTest, SaltsComeFromTheInjectedRandom) {
  FixedRandom random;
  options_.random = &random;
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d);
  User a, b;
  a.name = "alice";
  b.name = "bob";
  ASSERT_TRUE((*d)->addUser(a, "same"));
  ASSERT_TRUE((*d)->addUser(b, "same"));
  EXPECT_EQ(hashOf("alice"), hashOf("bob"));  // same salt, same password
  EXPECT_GE(random.calls, 2);
  // With real randomness the same password hashes differently.
  options_.random = nullptr;
  auto d2 = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE((*d2)->setPassword("bob", "same"));
  EXPECT_NE(hashOf("alice"), hashOf("bob"));
  EXPECT_EQ(*(*d2)->authenticate("bob", "same"), AuthOutcome::ok);
}

TEST_F(BuiltinDirectoryTest, NoPlaintextPasswordOnDisk) {
  const std::string password = "Plaintext-Canary-0123456789";
  {
    auto d = BuiltinDirectory::open(path_, options_);
    ASSERT_TRUE(d);
    User u;
    u.name = "alice";
    ASSERT_TRUE((*d)->addUser(u, password));
    ASSERT_TRUE((*d)->setPassword("alice", password + "2"));
    EXPECT_EQ(*(*d)->authenticate("alice", password), AuthOutcome::bad_credentials);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(password), std::string::npos) << entry.path();
  }
}

TEST_F(BuiltinDirectoryTest, PersistsAcrossReopenAndOldCostStillVerifies) {
  {
    auto d = BuiltinDirectory::open(path_, options_);
    User u;
    u.name = "alice";
    u.addresses = {"alice@example.org"};
    ASSERT_TRUE((*d)->addUser(u, "pw"));
  }
  options_.time_cost = 2;
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d);
  EXPECT_EQ(*(*d)->authenticate("alice", "pw"), AuthOutcome::ok);
  EXPECT_EQ((*(*d)->findByAddress("alice@example.org"))->name, "alice");
}

TEST_F(BuiltinDirectoryTest, SharesTheMailStoreFile) {
  auto store = store::sqlite::openSqliteMailStore(path_);
  ASSERT_TRUE(store);
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d) << d.error().message();
  User u;
  u.name = "alice";
  ASSERT_TRUE((*d)->addUser(u, "pw"));
  ASSERT_TRUE((*store)->openMailbox("alice"));
  EXPECT_EQ(*(*d)->authenticate("alice", "pw"), AuthOutcome::ok);
}

TEST_F(BuiltinDirectoryTest, RefusesInvalidCost) {
  options_.memory_kib = 1;  // below argon2's minimum
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(Errc::invalid_argument));
}

TEST(BuiltinDirectoryValidation, NamesAndAddresses) {
  EXPECT_TRUE(BuiltinDirectory::isValidName("a.b_c-9"));
  EXPECT_FALSE(BuiltinDirectory::isValidName("A"));
  EXPECT_EQ(BuiltinDirectory::canonicalAddress("Bob.Smith@Example.ORG"), "bob.smith@example.org");
  EXPECT_EQ(BuiltinDirectory::canonicalAddress("j\xc3\xb6rg@example.org"), "j\xc3\xb6rg@example.org");
  EXPECT_FALSE(BuiltinDirectory::canonicalAddress(std::string(65, 'l') + "@example.org"));
  EXPECT_FALSE(BuiltinDirectory::canonicalAddress("a@example..org"));
  EXPECT_FALSE(BuiltinDirectory::canonicalAddress("a@example.org\x7f"));
  std::string longest = std::string(64, 'l') + "@" + std::string(189, 'd');
  EXPECT_EQ(longest.size(), 254u);
  EXPECT_TRUE(BuiltinDirectory::canonicalAddress(longest));
  EXPECT_FALSE(BuiltinDirectory::canonicalAddress(longest + "d"));
}

}  // namespace
}  // namespace rampart::directory
