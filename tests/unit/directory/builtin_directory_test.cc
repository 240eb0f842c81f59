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

// Certificates the CA publishes: kept per user, newest first, replaced by
// serial, withdrawn by serial, gone with their user, kept across a reopen.
TEST_F(BuiltinDirectoryTest, PublishesCertificates) {
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_TRUE((*d)->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw"));
  ASSERT_TRUE((*d)->addUser({"bob", "Bob", true, {"bob@example.org"}}, "pw"));
  EXPECT_TRUE((*d)->certificatesOf("alice")->empty());

  PublishedCertificate enc{"0a1b", "smime_encryption", std::string("\x30\x82\x00\x01", 4), 2000};
  PublishedCertificate sign{"0C", "smime_signing", "SIGN", 3000};
  PublishedCertificate old{"0D", "smime_encryption", "OLD", 1000};
  ASSERT_TRUE((*d)->publishCertificate("alice", enc));
  ASSERT_TRUE((*d)->publishCertificate("Alice", sign));  // user names are case-folded
  ASSERT_TRUE((*d)->publishCertificate("alice", old));
  ASSERT_TRUE((*d)->publishCertificate("bob", {"0E", "tls_client", "BOB", 5000}));

  auto certs = (*d)->certificatesOf("alice");
  ASSERT_TRUE(certs) << certs.error().message();
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ((*certs)[0].serial, "0C");
  EXPECT_EQ((*certs)[1].serial, "0A1B");  // kept upper-case
  EXPECT_EQ((*certs)[1].purpose, "smime_encryption");
  EXPECT_EQ((*certs)[1].der, std::string("\x30\x82\x00\x01", 4));  // binary-safe
  EXPECT_EQ((*certs)[1].not_after, 2000);
  EXPECT_EQ((*certs)[2].serial, "0D");
  EXPECT_EQ((*d)->certificatesOf("bob")->size(), 1u);
  EXPECT_TRUE((*d)->certificatesOf("nobody")->empty());

  // The same serial again replaces it.
  ASSERT_TRUE((*d)->publishCertificate("alice", {"0A1B", "smime_encryption", "NEW", 4000}));
  certs = (*d)->certificatesOf("alice");
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ((*certs)[0].serial, "0A1B");
  EXPECT_EQ((*certs)[0].der, "NEW");

  // Refused: unknown user, bad serial, empty or oversized parts.
  EXPECT_TRUE((*d)->publishCertificate("carol", {"10", "tls_client", "X", 1}).error().is(Errc::not_found));
  EXPECT_TRUE((*d)->publishCertificate("alice", {"xyz", "tls_client", "X", 1}).error().is(Errc::invalid_argument));
  EXPECT_TRUE((*d)->publishCertificate("alice", {"", "tls_client", "X", 1}).error().is(Errc::invalid_argument));
  EXPECT_TRUE((*d)->publishCertificate("alice", {"10", "", "X", 1}).error().is(Errc::invalid_argument));
  EXPECT_TRUE((*d)->publishCertificate("alice", {"10", "tls_client", "", 1}).error().is(Errc::invalid_argument));
  EXPECT_TRUE((*d)->publishCertificate("alice", {"10", "tls_client", std::string(64 * 1024 + 1, 'x'), 1})
                  .error().is(Errc::invalid_argument));

  // Withdrawn by serial, in any case.
  ASSERT_TRUE((*d)->unpublishCertificate("0d"));
  EXPECT_TRUE((*d)->unpublishCertificate("0D").error().is(Errc::not_found));
  EXPECT_TRUE((*d)->unpublishCertificate("zz").error().is(Errc::not_found));
  EXPECT_EQ((*d)->certificatesOf("alice")->size(), 2u);

  // Kept across a reopen; gone with the user.
  d->reset();
  auto again = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->certificatesOf("alice")->size(), 2u);
  ASSERT_TRUE((*again)->removeUser("alice"));
  EXPECT_TRUE((*again)->certificatesOf("alice")->empty());
  ASSERT_TRUE((*again)->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw"));
  EXPECT_TRUE((*again)->certificatesOf("alice")->empty());  // a new alice inherits nothing
  EXPECT_EQ((*again)->certificatesOf("bob")->size(), 1u);
}

// A database made before certificates existed gains the table on open.
TEST_F(BuiltinDirectoryTest, MigratesAVersionOneDatabase) {
  {
    auto db = store::sqlite::Database::open(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate("directory", {{1, R"sql(
CREATE TABLE dir_users(name TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1, password_hash TEXT NOT NULL);
CREATE TABLE dir_addresses(address TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES dir_users(name) ON DELETE CASCADE, position INTEGER NOT NULL);
CREATE INDEX dir_addresses_by_user ON dir_addresses(user, position);
CREATE TABLE dir_groups(name TEXT PRIMARY KEY);
CREATE TABLE dir_members(grp TEXT NOT NULL REFERENCES dir_groups(name) ON DELETE CASCADE,
  user TEXT NOT NULL REFERENCES dir_users(name) ON DELETE CASCADE,
  PRIMARY KEY(grp, user)) WITHOUT ROWID;
CREATE INDEX dir_members_by_user ON dir_members(user);
)sql"}}));
  }
  auto d = BuiltinDirectory::open(path_, options_);
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_TRUE((*d)->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw"));
  ASSERT_TRUE((*d)->publishCertificate("alice", {"01", "smime_encryption", "X", 1}));
  EXPECT_EQ((*d)->certificatesOf("alice")->size(), 1u);
}

}  // namespace
}  // namespace rampart::directory
