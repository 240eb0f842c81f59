// The rights server: use-license decisions against a real directory and
// store on temporary files (owner, recipient, non-recipient, revoked user and
// template, expired content, no encryption certificate, malformed and
// re-signed licenses), the request log (kill -9 right after the answer), the
// licensor key on disk, the [rights] config, and the HTTP face over a real
// mTLS link with the gateway's identity assertion.
#include "rights/rights_server.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "crypto/identity_assertion.h"
#include "crypto/rights/license.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "http/client.h"
#include "store/sqlite/sqlite_rights_store.h"
#include "testing/certs.h"
#include "testing/shell.h"
#include "testing/kill9.h"
#include "testing/temp_dir.h"
#include "tls/context.h"

namespace rampart::rights {
namespace {

namespace x509 = crypto::x509;
namespace lic = crypto::rights;
namespace asio = net::asio;

constexpr std::int64_t kNow = 1'900'000'000;  // 2030-03-17
constexpr std::int64_t kDay = 24 * 3600;
constexpr const char* kHost = "rights.example.test";

// A certificate for `key` with an e-mail SAN, signed by itself: enough for
// the directory (which stores DER) and for CMS, which does not judge it.
x509::CertPtr makeCert(EVP_PKEY* key, const std::string& email, const char* key_usage,
                       std::int64_t not_after) {
  x509::CertPtr cert(X509_new());
  unsigned char serial[12];
  RAND_bytes(serial, sizeof serial);
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(kNow - 10 * kDay));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(email.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  auto add = [&](int nid, std::string value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_key_usage, std::string("critical,") + key_usage);
  add(NID_subject_alt_name, "email:" + email);
  EXPECT_GT(X509_sign(cert.get(), key, EVP_sha256()), 0);
  return cert;
}

crypto::cms::Identity makeIdentity(const std::string& email, const char* key_usage,
                                   std::int64_t not_after = kNow + 365 * kDay) {
  crypto::cms::Identity id;
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  EXPECT_TRUE(key);
  id.key = std::move(*key);
  id.cert = makeCert(id.key.get(), email, key_usage, not_after);
  return id;
}

directory::BuiltinDirectoryOptions fastDirectory() {
  directory::BuiltinDirectoryOptions options;
  options.time_cost = 1;
  options.memory_kib = 8;
  return options;
}

class RightsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("data");
    std::filesystem::create_directories(data_);
    auto directory = directory::BuiltinDirectory::open(database(), fastDirectory());
    ASSERT_TRUE(directory) << directory.error().message();
    directory_ = std::move(*directory);
    addUser("alice", {"alice@example.test"});
    addUser("bob", {"bob@example.test", "robert@example.test"});
    addUser("carol", {"carol@example.test"});
    addUser("dave", {"dave@example.test"});  // no encryption certificate
    alice_sign_ = makeIdentity("alice@example.test", "digitalSignature,nonRepudiation");
    publish("alice", alice_sign_, "smime_signing");
    alice_enc_ = makeIdentity("alice@example.test", "keyAgreement");
    publish("alice", alice_enc_, "smime_encryption");
    bob_enc_ = makeIdentity("bob@example.test", "keyAgreement");
    publish("bob", bob_enc_, "smime_encryption");
    carol_enc_ = makeIdentity("carol@example.test", "keyAgreement");
    publish("carol", carol_enc_, "smime_encryption");
    // dave only has an expired encryption certificate and a signing one.
    auto dave_old = makeIdentity("dave@example.test", "keyAgreement", kNow - kDay);
    publish("dave", dave_old, "smime_encryption");
    auto dave_sign = makeIdentity("dave@example.test", "digitalSignature");
    publish("dave", dave_sign, "smime_signing");
  }

  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::string database() const { return data_ + "/rampart.db"; }

  void addUser(const std::string& name, std::vector<std::string> addresses) {
    directory::User user;
    user.name = name;
    user.addresses = std::move(addresses);
    ASSERT_TRUE(directory_->addUser(user, "pw"));
  }

  void publish(const std::string& user, const crypto::cms::Identity& id,
               const std::string& purpose) {
    directory::PublishedCertificate cert{x509::serialHex(id.cert.get()), purpose,
                                         x509::certificateDer(id.cert.get()),
                                         x509::notAfter(id.cert.get())};
    ASSERT_TRUE(directory_->publishCertificate(user, cert));
  }

  RightsConfig config() const {
    RightsConfig c;
    c.data_dir = data_;
    return c;
  }

  void open(RightsConfig c) {
    auto server = RightsServer::create(std::move(c), io_.get_executor(), fastDirectory(), clock_);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    auto cert = x509::parseCertificate(server_->licensorCertificatePem());
    ASSERT_TRUE(cert);
    licensor_ = std::move(*cert);
  }
  void open() { open(config()); }

  lic::PublishingLicense license(std::vector<std::string> recipients,
                                 std::string_view template_id = lic::kDoNotForwardId) {
    lic::PublishingLicense pl;
    unsigned char id[16];
    RAND_bytes(id, sizeof id);
    static const char* kHex = "0123456789abcdef";
    for (unsigned char b : id) {
      pl.id.push_back(kHex[b >> 4]);
      pl.id.push_back(kHex[b & 15]);
    }
    pl.template_id = std::string(template_id);
    pl.template_name = "Do Not Forward";
    pl.rights = lic::kView | lic::kEdit | lic::kReply | lic::kReplyAll;
    pl.owner = "alice@example.test";
    pl.recipients = std::move(recipients);
    pl.issued = kNow - 60;
    content_key_ = lic::newContentKey();
    auto wrapped = lic::wrapContentKey(content_key_, licensor_.get());
    EXPECT_TRUE(wrapped) << wrapped.error().message();
    if (wrapped) pl.wrapped_key = std::move(*wrapped);
    return pl;
  }

  std::string sign(const lic::PublishingLicense& pl, const crypto::cms::Identity* by = nullptr) {
    auto der = lic::signPublishingLicense(pl, by ? *by : alice_sign_);
    EXPECT_TRUE(der) << der.error().message();
    return der ? *der : std::string();
  }

  // A granted answer read as the reader's client reads it.
  lic::UseLicense granted(const IssueResult& r, const crypto::cms::Identity& reader) {
    EXPECT_EQ(r.http_status, 200) << r.body;
    auto ul = lic::readUseLicense(r.body, licensor_.get());
    EXPECT_TRUE(ul) << ul.error().message();
    if (!ul) return {};
    auto key = lic::unwrapContentKey(ul->wrapped_key, reader);
    EXPECT_TRUE(key) << key.error().message();
    if (key) {
      EXPECT_EQ(*key, content_key_);
    }
    return *ul;
  }

  std::vector<store::RightsLogEntry> logOf(const std::string& license_id) {
    auto s = store::sqlite::SqliteRightsStore::open(database());
    EXPECT_TRUE(s);
    auto entries = (*s)->logEntries(license_id, 100);
    EXPECT_TRUE(entries);
    return entries ? *entries : std::vector<store::RightsLogEntry>{};
  }

  rampart::testing::TempDir dir_{"rights-server"};
  std::string data_;
  ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(kNow))};
  std::unique_ptr<directory::BuiltinDirectory> directory_;
  crypto::cms::Identity alice_sign_, alice_enc_, bob_enc_, carol_enc_;
  x509::CertPtr licensor_;
  std::string content_key_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<RightsServer> server_;
};

TEST_F(RightsServerTest, ARecipientGetsTheTemplatesRightsAndTheKey) {
  open();
  auto pl = license({"bob@example.test", "carol@example.test"});
  clock_.advance(std::chrono::seconds(30));
  auto ul = granted(server_->issue("bob", sign(pl)), bob_enc_);
  EXPECT_EQ(ul.license_id, pl.id);
  EXPECT_EQ(ul.user, "bob");
  EXPECT_EQ(ul.address, "bob@example.test");
  EXPECT_EQ(ul.template_id, std::string(lic::kDoNotForwardId));
  EXPECT_EQ(ul.template_name, "Do Not Forward");
  EXPECT_EQ(ul.owner, "alice@example.test");
  EXPECT_EQ(ul.rights, lic::kView | lic::kEdit | lic::kReply | lic::kReplyAll);
  EXPECT_EQ(ul.issued, kNow + 30);
  EXPECT_EQ(ul.expires, kNow + 30 + 7 * kDay);  // the template's license_lifetime
  EXPECT_EQ(ul.content_expiry, 0);

  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(log[0].granted);
  EXPECT_EQ(log[0].user, "bob");
  EXPECT_EQ(log[0].rights, ul.rights);
  EXPECT_EQ(log[0].template_id, std::string(lic::kDoNotForwardId));
  EXPECT_EQ(log[0].owner, "alice@example.test");
  EXPECT_EQ(log[0].at, kNow + 30);
}

// A renewed encryption certificate is the one the key goes to from then on.
TEST_F(RightsServerTest, TheNewestEncryptionCertificateCounts) {
  open();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  granted(server_->issue("bob", der), bob_enc_);
  auto renewed = makeIdentity("bob@example.test", "keyAgreement", kNow + 400 * kDay);
  publish("bob", renewed, "smime_encryption");
  granted(server_->issue("bob", der), renewed);
  // The first one has expired; the renewed one still serves.
  clock_.advance(std::chrono::seconds(366 * kDay));
  granted(server_->issue("bob", der), renewed);
  // Both expired: nothing to bind the key to.
  clock_.advance(std::chrono::seconds(40 * kDay));
  EXPECT_EQ(server_->issue("bob", der).http_status, 409);
}

// issue() runs on the server's pool, several at once: every answer and every
// log row is whole.
TEST_F(RightsServerTest, ConcurrentRequestsAreEachAnsweredAndLogged) {
  open();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = server_->issue(t % 2 == 0 ? "bob" : "carol", der);
        (r.http_status == 200 ? ok : refused)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(refused.load(), 10);
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 20u);
  for (const auto& e : log) EXPECT_EQ(e.granted, e.user == "bob") << e.user;
}

TEST_F(RightsServerTest, AnAliasAndAnyCaseCount) {
  open();
  auto pl = license({"Robert@Example.TEST"});
  auto ul = granted(server_->issue("bob", sign(pl)), bob_enc_);
  EXPECT_EQ(ul.address, "robert@example.test");
}

TEST_F(RightsServerTest, TheOwnerGetsEveryRight) {
  open();
  auto pl = license({"bob@example.test"});
  auto ul = granted(server_->issue("alice", sign(pl)), alice_enc_);
  EXPECT_EQ(ul.rights, static_cast<std::uint32_t>(lic::kAll));
  EXPECT_EQ(ul.address, "alice@example.test");
}

// The server's current template decides, never the license's copy.
TEST_F(RightsServerTest, TheServersTemplateDecidesTheRights) {
  open();
  auto pl = license({"bob@example.test"});
  pl.rights = lic::kAll;  // what a tampering sender might claim
  auto ul = granted(server_->issue("bob", sign(pl)), bob_enc_);
  EXPECT_EQ(ul.rights, lic::kView | lic::kEdit | lic::kReply | lic::kReplyAll);
}

TEST_F(RightsServerTest, ANonRecipientIsRefusedAndLogged) {
  open();
  auto pl = license({"bob@example.test"});
  auto r = server_->issue("carol", sign(pl));
  EXPECT_EQ(r.http_status, 403);
  EXPECT_NE(r.body.find("not a recipient"), std::string::npos) << r.body;
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].granted);
  EXPECT_EQ(log[0].user, "carol");
  EXPECT_EQ(log[0].rights, 0u);
  EXPECT_EQ(log[0].reason, "not a recipient");
  EXPECT_EQ(server_->issue("nobody", sign(pl)).http_status, 403);
}

TEST_F(RightsServerTest, ARevokedUserGetsNoNewLicense) {
  open();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  EXPECT_EQ(server_->issue("bob", der).http_status, 200);
  {
    // As `rampart admin rights revoke-user` does, from another connection.
    auto s = store::sqlite::SqliteRightsStore::open(database());
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->revokeUser("bob", kNow, "admin"));
  }
  auto r = server_->issue("bob", der);
  EXPECT_EQ(r.http_status, 403);
  EXPECT_NE(r.body.find("user revoked"), std::string::npos) << r.body;
  // The owner is not affected.
  EXPECT_EQ(server_->issue("alice", der).http_status, 200);
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].reason, "user revoked");
}

TEST_F(RightsServerTest, ARevokedTemplateGetsNoNewLicense) {
  open();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  EXPECT_EQ(server_->issue("bob", der).http_status, 200);
  {
    auto s = store::sqlite::SqliteRightsStore::open(database());
    ASSERT_TRUE(s);
    auto toml = (*s)->getTemplate(lic::kDoNotForwardId);
    ASSERT_TRUE(toml && *toml);
    auto t = lic::parseTemplateToml(**toml, "dnf");
    ASSERT_TRUE(t);
    t->revoked = true;
    ASSERT_TRUE((*s)->putTemplate(t->id, lic::templateToml(*t)));
  }
  auto r = server_->issue("bob", der);
  EXPECT_EQ(r.http_status, 403);
  EXPECT_NE(r.body.find("template revoked"), std::string::npos) << r.body;
  EXPECT_EQ(server_->issue("alice", der).http_status, 403);
}

TEST_F(RightsServerTest, AnUnknownTemplateIs404) {
  open();
  auto pl = license({"bob@example.test"}, "01234567-89AB-4DEF-8123-456789ABCDEF");
  auto r = server_->issue("bob", sign(pl));
  EXPECT_EQ(r.http_status, 404);
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].granted);
}

TEST_F(RightsServerTest, ExpiredContentIsRefusedAndTheLicenseEndsWithTheContent) {
  open();
  auto pl = license({"bob@example.test"});
  pl.content_expiry = kNow + kDay;
  const std::string der = sign(pl);
  auto ul = granted(server_->issue("bob", der), bob_enc_);
  EXPECT_EQ(ul.content_expiry, kNow + kDay);
  EXPECT_EQ(ul.expires, kNow + kDay);  // capped by the content's expiry
  clock_.advance(std::chrono::seconds(kDay));
  auto r = server_->issue("bob", der);
  EXPECT_EQ(r.http_status, 403);
  EXPECT_NE(r.body.find("content expired"), std::string::npos) << r.body;
}

// A template with a content lifetime caps a license that claims none.
TEST_F(RightsServerTest, TheTemplatesContentLifetimeCounts) {
  open();
  {
    auto s = store::sqlite::SqliteRightsStore::open(database());
    ASSERT_TRUE(s);
    lic::Template t;
    t.id = "11111111-2222-4333-8444-555555555555";
    t.name = "Two days";
    t.rights = lic::kView;
    t.content_lifetime = 2 * kDay;
    ASSERT_TRUE((*s)->putTemplate(t.id, lic::templateToml(t)));
  }
  auto pl = license({"bob@example.test"}, "11111111-2222-4333-8444-555555555555");
  const std::string der = sign(pl);
  auto ul = granted(server_->issue("bob", der), bob_enc_);
  EXPECT_EQ(ul.rights, static_cast<std::uint32_t>(lic::kView));
  EXPECT_EQ(ul.content_expiry, pl.issued + 2 * kDay);
  clock_.advance(std::chrono::seconds(2 * kDay));
  EXPECT_EQ(server_->issue("bob", der).http_status, 403);
}

TEST_F(RightsServerTest, NoEncryptionCertificateIs409) {
  open();
  auto pl = license({"dave@example.test"});
  auto r = server_->issue("dave", sign(pl));
  EXPECT_EQ(r.http_status, 409) << r.body;
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].granted);
}

TEST_F(RightsServerTest, MalformedIs400AndLogged) {
  open();
  for (std::string bad :
       {std::string(), std::string("garbage"), std::string("\x30\x03\x02\x01\x00", 5)}) {
    auto r = server_->issue("bob", bad);
    EXPECT_EQ(r.http_status, 400) << r.body;
  }
  EXPECT_EQ(server_->issue("bob", std::string(300 * 1024, '\x30')).http_status, 413);
  auto log = logOf("");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].reason, "publishing license too large");
  log.erase(log.begin());
  EXPECT_EQ(log[0].user, "bob");
  EXPECT_FALSE(log[0].granted);
  EXPECT_NE(log[0].reason.find("malformed"), std::string::npos) << log[0].reason;

  // A content key wrapped to some other server.
  auto pl = license({"bob@example.test"});
  auto other = makeIdentity("rights@elsewhere.test", "keyAgreement");
  auto wrapped = lic::wrapContentKey(content_key_, other.cert.get());
  ASSERT_TRUE(wrapped);
  pl.wrapped_key = *wrapped;
  EXPECT_EQ(server_->issue("bob", sign(pl)).http_status, 400);
}

// Carol copies the license, adds herself and signs it with her own
// certificate (or a made-up one in alice's name): refused.
TEST_F(RightsServerTest, ALicenseNotSignedByItsOwnerIsRefused) {
  open();
  auto pl = license({"bob@example.test", "carol@example.test"});
  auto carol_sign = makeIdentity("carol@example.test", "digitalSignature");
  publish("carol", carol_sign, "smime_signing");
  EXPECT_EQ(server_->issue("carol", sign(pl, &carol_sign)).http_status, 403);
  auto forged = makeIdentity("alice@example.test", "digitalSignature");
  EXPECT_EQ(server_->issue("carol", sign(pl, &forged)).http_status, 403);
  pl.owner = "stranger@elsewhere.test";
  EXPECT_EQ(server_->issue("bob", sign(pl)).http_status, 403);
  EXPECT_EQ(server_->issue("carol", sign(license({"carol@example.test"}))).http_status, 200);
}

TEST_F(RightsServerTest, TheDefaultTemplatesAreSeededOnce) {
  open();
  auto s = store::sqlite::SqliteRightsStore::open(database());
  ASSERT_TRUE(s);
  auto all = (*s)->listTemplates();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), lic::defaultTemplates().size());
  ASSERT_TRUE((*s)->removeTemplate(lic::kDoNotForwardId));
  server_.reset();
  open();  // some templates remain: nothing is re-seeded
  all = (*s)->listTemplates();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), lic::defaultTemplates().size() - 1);
}

// --- The licensor key. ---

TEST_F(RightsServerTest, TheLicensorKeyIs0600AndKeptAcrossRestarts) {
  open();
  const std::string key = data_ + "/rights/licensor.key";
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((data_ + "/rights").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 077, 0u);
  const std::string pem = server_->licensorCertificatePem();
  EXPECT_EQ(pem, rampart::testing::slurp(data_ + "/rights/licensor.pem"));
  auto cert = x509::parseCertificate(pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_purpose(cert->get(), -1, 0), 1);
  EXPECT_EQ(X509_get_key_usage(cert->get()) & (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT));

  // A license made for this licensor is still good after a restart.
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  server_.reset();
  open();
  EXPECT_EQ(server_->licensorCertificatePem(), pem);
  granted(server_->issue("bob", der), bob_enc_);
}

TEST_F(RightsServerTest, AGroupReadableLicensorKeyIsRefused) {
  open();
  server_.reset();
  const std::string key = data_ + "/rights/licensor.key";
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  auto server = RightsServer::create(config(), io_.get_executor(), fastDirectory(), clock_);
  ASSERT_FALSE(server);
  EXPECT_TRUE(server.error().is(Errc::permission_denied)) << server.error().message();
  EXPECT_EQ(server.error().message().find("BEGIN"), std::string::npos);
}

TEST_F(RightsServerTest, ACertificateWithoutItsKeyIsRefused) {
  open();
  server_.reset();
  std::filesystem::remove(data_ + "/rights/licensor.key");
  auto server = RightsServer::create(config(), io_.get_executor(), fastDirectory(), clock_);
  ASSERT_FALSE(server);
  EXPECT_TRUE(server.error().is(Errc::config_error)) << server.error().message();
}

// Near its end the licensor certificate is re-made for the same key, so
// licenses wrapped to the old one still open.
TEST_F(RightsServerTest, AnAgingLicensorCertificateIsRenewedForTheSameKey) {
  open();
  const std::string old_pem = server_->licensorCertificatePem();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  server_.reset();
  clock_.advance(std::chrono::seconds(10LL * 365 * kDay - 10 * kDay));
  open();
  EXPECT_NE(server_->licensorCertificatePem(), old_pem);
  auto old_cert = x509::parseCertificate(old_pem);
  ASSERT_TRUE(old_cert);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(old_cert->get()), X509_get0_pubkey(licensor_.get())), 1);
}

// --- The log survives a kill -9 right after the answer. ---

TEST_F(RightsServerTest, TheAnswerIsLoggedBeforeAKill9) {
  open();
  auto pl = license({"bob@example.test"});
  const std::string der = sign(pl);
  server_.reset();
  directory_.reset();  // no open connection across fork()
  ASSERT_EQ(rampart::testing::runThenKill9([&] {
              asio::io_context io;
              auto server =
                  RightsServer::create(config(), io.get_executor(), fastDirectory(), clock_);
              if (!server) return 2;
              auto r = (*server)->issue("bob", der);
              if (r.http_status != 200) return 3;
              return 0;
            }),
            "");
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(log[0].granted);
  EXPECT_EQ(log[0].user, "bob");
}

// --- The [rights] config. ---

TEST(RightsConfigTest, ReadsEveryKeyAndDerivesTheDatabase) {
  auto c = parseRightsConfig(R"(
[rights]
data_dir = "/var/lib/rampart"
listen = "127.0.0.1:9445"
tls_cert_file = "link.crt"
tls_key_file = "link.key"
gateway_ca_file = "gateway-ca.crt"
assertion_key_file = "delegation.key"
)",
                             "rights.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->data_dir, "/var/lib/rampart");
  EXPECT_EQ(c->database, "/var/lib/rampart/rampart.db");
  EXPECT_EQ(c->listen, "127.0.0.1:9445");
  EXPECT_EQ(c->tls_cert_file, "link.crt");
  EXPECT_EQ(c->tls_key_file, "link.key");
  EXPECT_EQ(c->gateway_ca_file, "gateway-ca.crt");
  EXPECT_EQ(c->assertion_key_file, "delegation.key");
  EXPECT_EQ(c->audience, "rights");

  auto offline = parseRightsConfig("[rights]\ndata_dir = \"/d\"\ndatabase = \"/x.db\"\n", "r.toml");
  ASSERT_TRUE(offline) << offline.error().message();
  EXPECT_EQ(offline->database, "/x.db");
  EXPECT_TRUE(offline->listen.empty());
}

// The example in the source tree is what `rampart rights serve` takes.
TEST(RightsConfigTest, TheShippedExampleParses) {
  std::string path = std::string(RAMPART_SOURCE_DIR) + "/config/rights.toml";
  auto text = rampart::testing::slurp(path);
  auto c = parseRightsConfig(text, path);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->listen, "127.0.0.1:9445");
  EXPECT_FALSE(c->assertion_key_file.empty());
}

TEST(RightsConfigTest, ErrorsNameTheLine) {
  auto unknown = parseRightsConfig("[rights]\ndata_dir = \"/d\"\nlisten_on = \"x\"\n", "r.toml");
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(Errc::config_error));
  EXPECT_NE(unknown.error().detail.find("r.toml:3"), std::string::npos) << unknown.error().detail;
  EXPECT_NE(unknown.error().detail.find("rights.listen_on"), std::string::npos)
      << unknown.error().detail;

  auto half =
      parseRightsConfig("[rights]\ndata_dir = \"/d\"\nlisten = \"127.0.0.1:1\"\n", "r.toml");
  ASSERT_FALSE(half);
  for (const char* key :
       {"tls_cert_file", "tls_key_file", "gateway_ca_file", "assertion_key_file"}) {
    EXPECT_NE(half.error().detail.find(key), std::string::npos)
        << key << ": " << half.error().detail;
  }
  auto bad_listen = parseRightsConfig(
      "[rights]\ndata_dir = \"/d\"\nlisten = \"nowhere\"\ntls_cert_file = \"a\"\ntls_key_file = "
      "\"b\"\n"
      "gateway_ca_file = \"c\"\nassertion_key_file = \"d\"\n",
      "r.toml");
  ASSERT_FALSE(bad_listen);
  EXPECT_NE(bad_listen.error().detail.find("r.toml:3"), std::string::npos)
      << bad_listen.error().detail;
  EXPECT_FALSE(parseRightsConfig("[rights]\nlisten = \"\"\n", "r.toml"));  // no data_dir
  EXPECT_FALSE(parseRightsConfig("data_dir = \"/d\"\n", "r.toml"));        // no [rights]
  EXPECT_FALSE(parseRightsConfig("[rights]\ndata_dir = 3\n", "r.toml"));   // wrong type
  EXPECT_FALSE(parseRightsConfig("[rights\n", "r.toml"));                  // syntax
}

// --- Over the mTLS link, as the gateway forwards. ---

class RightsHttpTest : public RightsServerTest {
 protected:
  void SetUp() override {
    RightsServerTest::SetUp();
    link_ = rampart::testing::makeSelfSigned(dir_.path().string(), "127.0.0.1");
    RightsConfig c = config();
    c.listen = "127.0.0.1:0";
    c.tls_cert_file = link_.cert_file;
    c.tls_key_file = link_.key_file;
    c.gateway_ca_file = link_.cert_file;  // the "gateway" presents the same certificate
    c.assertion_key_file = dir_.file("delegation.key");
    ASSERT_TRUE(crypto::writeNewAssertionKey(c.assertion_key_file));
    auto key = crypto::loadAssertionKey(c.assertion_key_file);
    ASSERT_TRUE(key);
    signer_ = std::make_unique<crypto::AssertionSigner>(*key);
    open(c);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
    tls::ClientOptions with_cert;
    with_cert.ca_file = link_.cert_file;
    with_cert.cert_file = link_.cert_file;
    with_cert.key_file = link_.key_file;
    auto ctx = tls::makeClientContext(with_cert);
    ASSERT_TRUE(ctx) << ctx.error().message();
    options_.tls = *ctx;
    options_.sni = "127.0.0.1";
  }

  http::Request request(http::Verb verb, const std::string& target, std::string body = {},
                        std::string content_type = {}) {
    http::Request req{verb, target, 11};
    req.set(http::Field::host, kHost);
    if (!content_type.empty()) req.set(http::Field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  void assertAs(http::Request& req, const std::string& user) {
    crypto::RequestBinding binding{std::string(req.method_string()), kHost,
                                   std::string(req.target()),
                                   crypto::RequestBinding::sha256Hex(req.body())};
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
            .count();
    req.set("Rampart-Identity", signer_->sign({user, "", "basic", 1}, binding, now));
  }

  Result<http::Response> fetch(http::Request req) { return fetchWith(std::move(req), options_); }
  Result<http::Response> fetchWith(http::Request req, http::ClientOptions options) {
    asio::io_context client;
    Result<http::Response> result = fail(Errc::internal, "not run");
    asio::co_spawn(client, http::fetch(server_->endpoint(), req, options),
                   [&](std::exception_ptr, Result<http::Response> r) { result = std::move(r); });
    client.run();
    return result;
  }

  rampart::testing::CertFiles link_;
  std::unique_ptr<crypto::AssertionSigner> signer_;
  http::ClientOptions options_;
};

TEST_F(RightsHttpTest, ALicenseOverTheLink) {
  auto pl = license({"bob@example.test"});
  auto req = request(http::Verb::post, "/rights/license", sign(pl),
                     "application/vnd.rampart.publishing-license");
  assertAs(req, "bob");
  auto res = fetch(req);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200) << res->body();
  EXPECT_EQ((*res)[http::Field::content_type], "application/vnd.rampart.use-license");
  IssueResult r{200, res->body()};
  auto ul = granted(r, bob_enc_);
  EXPECT_EQ(ul.user, "bob");  // the asserted user, nobody else

  // Carol over the link: 403 with the reason, logged.
  req = request(http::Verb::post, "/rights/license", sign(pl),
                "application/vnd.rampart.publishing-license");
  assertAs(req, "carol");
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 403);
  EXPECT_EQ(res->body(), "not a recipient\n");
  auto log = logOf(pl.id);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].user, "carol");
  EXPECT_EQ(log[1].user, "bob");

  // Garbage: 400.
  req = request(http::Verb::post, "/rights/license", "junk",
                "application/vnd.rampart.publishing-license");
  assertAs(req, "bob");
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400);
}

TEST_F(RightsHttpTest, TemplatesAndTheLicensorCertificate) {
  auto req = request(http::Verb::get, "/rights/licensor.pem");
  assertAs(req, "bob");
  auto res = fetch(req);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  EXPECT_EQ(res->body(), server_->licensorCertificatePem());

  req = request(http::Verb::get, "/rights/templates");
  assertAs(req, "bob");
  res = fetch(req);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->result_int(), 200);
  std::size_t docs = 1;
  for (std::size_t at = 0; (at = res->body().find("\n---\n", at)) != std::string::npos; ++at)
    ++docs;
  EXPECT_EQ(docs, lic::defaultTemplates().size());
  EXPECT_NE(res->body().find(std::string(lic::kDoNotForwardId)), std::string::npos);
  auto first = lic::parseTemplateToml(res->body().substr(0, res->body().find("\n---\n")), "first");
  EXPECT_TRUE(first) << first.error().message();

  res = fetch(request(http::Verb::get, "/healthz"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
}

TEST_F(RightsHttpTest, ErrorAnswers) {
  const std::string pl_type = "application/vnd.rampart.publishing-license";
  // No assertion, a stale one, one for another request: 403.
  auto req = request(http::Verb::post, "/rights/license", "x", pl_type);
  auto res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 403);
  req = request(http::Verb::get, "/rights/templates");
  assertAs(req, "bob");
  req.target("/rights/licensor.pem");
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 403);
  // A replayed assertion.
  req = request(http::Verb::get, "/rights/templates");
  assertAs(req, "bob");
  res = fetch(req);
  ASSERT_TRUE(res && res->result_int() == 200);
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 403);

  // Wrong method: 405 with Allow.
  req = request(http::Verb::get, "/rights/license");
  assertAs(req, "bob");
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 405);
  EXPECT_EQ((*res)[http::Field::allow], "POST");
  res = fetch(request(http::Verb::post, "/rights/templates", "x", "text/plain"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 405);
  EXPECT_EQ((*res)[http::Field::allow], "GET");

  // Wrong or missing Content-Type: 415.
  req = request(http::Verb::post, "/rights/license", "x", "application/octet-stream");
  assertAs(req, "bob");
  res = fetch(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 415);

  // Over the body limit: 413 from the HTTP server, which then closes the
  // connection (the client may see the reset before the answer).
  req = request(http::Verb::post, "/rights/license", std::string(300 * 1024, 'x'), pl_type);
  assertAs(req, "bob");
  res = fetch(req);
  EXPECT_TRUE(!res || res->result_int() == 413) << res->result_int();

  res = fetch(request(http::Verb::get, "/rights/nothing"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404);

  // No client certificate: no answer at all.
  tls::ClientOptions without_cert;
  without_cert.ca_file = link_.cert_file;
  auto bare = tls::makeClientContext(without_cert);
  ASSERT_TRUE(bare);
  http::ClientOptions options = options_;
  options.tls = *bare;
  res = fetchWith(request(http::Verb::get, "/healthz"), options);
  EXPECT_FALSE(res && res->result_int() == 200);

  // None of these reached the request log.
  EXPECT_TRUE(logOf("").empty());
}

}  // namespace
}  // namespace rampart::rights
