// Chain verification with revocation (crypto/x509/verify.h) against
// certificates from the real CA code (ca/authority.h: issuance, revocation,
// CRL, OCSP answers signed by its delegated responder) and from the openssl
// CLI (`openssl req`, `openssl x509 -req`, `openssl ca -gencrl`; skipped when
// the CLI is missing). The Fetcher in these tests routes the certificate's
// CDP/AIA URLs straight to the authority, so no test touches the network.
#include "crypto/x509/verify.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ca/authority.h"
#include "core/clock.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "store/sqlite/sqlite_ca_store.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::crypto::x509 {
namespace {

using rampart::testing::slurp;
using rampart::testing::spit;
using namespace std::chrono_literals;

constexpr const char* kCrlUrl = "http://127.0.0.1:1/crl/issuing.crl";
constexpr const char* kOcspUrl = "http://127.0.0.1:1/ocsp";

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::sqlite::SqliteCaStore::open(tmp_.file("ca.db"));
    ASSERT_TRUE(store) << store.error().message();
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto dir = directory::BuiltinDirectory::open(tmp_.file("directory.db"), options);
    ASSERT_TRUE(dir) << dir.error().message();
    directory_ = std::shared_ptr<directory::BuiltinDirectory>(std::move(*dir));
    ASSERT_TRUE(directory_->addUser({"alice", "Alice Example", true, {"alice@example.org"}}, "pw"));
    ca::AuthorityConfig config;
    config.dir = tmp_.file("ca");
    config.crl_url = kCrlUrl;
    config.ocsp_url = kOcspUrl;
    auto ca = ca::Authority::open(config, *store, directory_, directory_, clock_);
    ASSERT_TRUE(ca) << ca.error().message();
    ca_ = *ca;
  }

  // A certificate for alice from a builtin template, with a key made here.
  CertPtr issue(const std::string& tmpl, KeyType type = KeyType::ec_p256) {
    auto key = generateKey(type);
    EXPECT_TRUE(key);
    auto der = makeCsr(key->get(), "alice", {"alice@example.org"});
    EXPECT_TRUE(der) << der.error().message();
    auto csr = parseCsr(*der);
    EXPECT_TRUE(csr);
    ca::EnrollRequest req;
    req.template_name = tmpl;
    req.user = "alice";
    req.requester = "alice (test)";
    auto r = ca_->enroll(req, *csr);
    EXPECT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->kind, ca::EnrollResult::Kind::issued) << r->reason;
    return std::move(r->cert);
  }

  VerifyOptions options(Purpose purpose = Purpose::any,
                        RevocationMode mode = RevocationMode::soft) {
    VerifyOptions o;
    o.anchors.push_back(duplicate(ca_->root()));
    o.intermediates.push_back(duplicate(ca_->issuing()));
    o.purpose = purpose;
    o.revocation = mode;
    return o;
  }

  // Answers the CA's URLs like its HTTP listener would; counts the calls.
  Fetcher caFetcher() {
    return [this](std::string_view url, std::string_view body) -> Result<std::string> {
      ++fetches_;
      if (url == kOcspUrl && !ocsp_down_) return ca_->ocspRespond(body);
      if (url == kCrlUrl && !crl_down_) return ca_->crlDer();
      return fail(Errc::unavailable, "connection refused");
    };
  }

  ChainVerdict check(X509* leaf, const VerifyOptions& o) {
    auto v = verifyChain(leaf, o);
    EXPECT_TRUE(v) << v.error().message();
    return v ? std::move(*v) : ChainVerdict{};
  }

  testing::TempDir tmp_{"rampart-verify"};
  ManualClock clock_{std::chrono::system_clock::now()};
  std::shared_ptr<directory::BuiltinDirectory> directory_;
  std::shared_ptr<ca::Authority> ca_;
  int fetches_ = 0;
  bool ocsp_down_ = false;
  bool crl_down_ = false;
};

TEST_F(VerifyTest, GoodCertificateForEachPurpose) {
  CertPtr sign = issue("smime-sign");
  CertPtr enc_ec = issue("smime-encrypt", KeyType::ec_p256);
  CertPtr enc_rsa = issue("smime-encrypt", KeyType::rsa2048);
  CertPtr device = issue("device");
  ASSERT_TRUE(sign && enc_ec && enc_rsa && device);
  auto v = check(sign.get(), options(Purpose::smime_signing, RevocationMode::none));
  EXPECT_EQ(v.status, ChainStatus::ok) << v.detail;
  EXPECT_EQ(v.subject, subjectText(sign.get()));
  ASSERT_EQ(v.emails.size(), 1u);
  EXPECT_EQ(v.emails[0], "alice@example.org");
  EXPECT_EQ(check(enc_ec.get(), options(Purpose::smime_encryption, RevocationMode::none)).status,
            ChainStatus::ok);
  EXPECT_EQ(check(enc_rsa.get(), options(Purpose::smime_encryption, RevocationMode::none)).status,
            ChainStatus::ok);
  EXPECT_EQ(check(device.get(), options(Purpose::tls_client, RevocationMode::none)).status,
            ChainStatus::ok);
  EXPECT_EQ(check(device.get(), options(Purpose::any, RevocationMode::none)).status,
            ChainStatus::ok);
  EXPECT_EQ(chainStatusName(ChainStatus::revoked), "revoked");
}

TEST_F(VerifyTest, WrongPurpose) {
  CertPtr device = issue("device");
  CertPtr sign = issue("smime-sign");
  ASSERT_TRUE(device && sign);
  auto v = check(device.get(), options(Purpose::smime_signing, RevocationMode::none));
  EXPECT_EQ(v.status, ChainStatus::wrong_purpose) << v.detail;
  EXPECT_NE(v.detail.find("emailProtection"), std::string::npos) << v.detail;
  // A signing certificate carries no keyAgreement: not for encryption.
  EXPECT_EQ(check(sign.get(), options(Purpose::smime_encryption, RevocationMode::none)).status,
            ChainStatus::wrong_purpose);
  EXPECT_EQ(check(sign.get(), options(Purpose::tls_client, RevocationMode::none)).status,
            ChainStatus::wrong_purpose);
}

TEST_F(VerifyTest, ExpiredAndNotYetValid) {
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  auto o = options(Purpose::smime_signing, RevocationMode::none);
  o.at = notAfter(leaf.get()) + 86400;
  auto v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::expired) << v.detail;
  o.at = notBefore(leaf.get()) - 86400;
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::expired);
  o.at = notBefore(leaf.get()) + 60;
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::ok);
}

TEST_F(VerifyTest, MissingIntermediateAndUntrustedRoot) {
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  auto o = options(Purpose::smime_signing, RevocationMode::none);
  o.intermediates.clear();
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::incomplete_chain);

  // Another CA (its own directory): its root is not among our anchors.
  testing::TempDir other_dir{"rampart-verify-other"};
  auto store = store::sqlite::SqliteCaStore::open(other_dir.file("ca.db"));
  ASSERT_TRUE(store);
  ca::AuthorityConfig config;
  config.dir = other_dir.file("ca");
  config.root_name = "Elsewhere Root";
  auto other = ca::Authority::open(config, *store, directory_, directory_, clock_);
  ASSERT_TRUE(other) << other.error().message();
  auto key = generateKey(KeyType::ec_p256);
  auto csr = parseCsr(*makeCsr(key->get(), "alice", {"alice@example.org"}));
  ASSERT_TRUE(csr);
  ca::EnrollRequest req{"smime-sign", "alice", "alice (test)", nullptr};
  auto r = (*other)->enroll(req, *csr);
  ASSERT_TRUE(r && r->cert);
  VerifyOptions foreign = options(Purpose::smime_signing, RevocationMode::none);
  foreign.intermediates.clear();
  foreign.intermediates.push_back(duplicate((*other)->issuing()));
  foreign.intermediates.push_back(duplicate((*other)->root()));
  auto v = check(r->cert.get(), foreign);
  EXPECT_EQ(v.status, ChainStatus::untrusted_root) << v.detail;
  // Our root alone, and the foreign root handed as a self-signed leaf.
  EXPECT_EQ(check((*other)->root(), options()).status, ChainStatus::untrusted_root);
}

TEST_F(VerifyTest, RevokedByCrlAtHand) {
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  auto o = options(Purpose::smime_signing, RevocationMode::hard);
  auto crl = parseCrl(*ca_->crlDer());
  ASSERT_TRUE(crl);
  o.crls.push_back(std::move(*crl));
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::ok);
  ASSERT_TRUE(ca_->revoke(serialHex(leaf.get()), 1, "admin"));  // keyCompromise
  o.crls.clear();
  o.crls.push_back(std::move(*parseCrl(*ca_->crlDer())));
  auto v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::revoked) << v.detail;
  EXPECT_EQ(v.revocation_reason, 1);
  EXPECT_EQ(v.depth, 0);
  EXPECT_EQ(fetches_, 0);
}

TEST_F(VerifyTest, RevokedByOcspThroughTheFetcher) {
  CertPtr leaf = issue("smime-encrypt");
  ASSERT_TRUE(leaf);
  auto o = options(Purpose::smime_encryption, RevocationMode::hard);
  o.fetch = caFetcher();
  auto v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::ok) << v.detail;
  EXPECT_EQ(fetches_, 1);                                       // OCSP answered: no CRL fetched
  ASSERT_TRUE(ca_->revoke(serialHex(leaf.get()), 4, "admin"));  // superseded
  crl_down_ = true;                                             // only OCSP can tell
  v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::revoked) << v.detail;
  EXPECT_EQ(v.revocation_reason, 4);
}

TEST_F(VerifyTest, CrlFetchedFromTheDistributionPointWhenOcspIsDown) {
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  ocsp_down_ = true;
  auto o = options(Purpose::smime_signing, RevocationMode::hard);
  o.fetch = caFetcher();
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::ok);
  EXPECT_EQ(fetches_, 2);  // OCSP refused, then the CRL
  ASSERT_TRUE(ca_->revoke(serialHex(leaf.get()), 0, "admin"));
  auto v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::revoked) << v.detail;
  EXPECT_EQ(v.revocation_reason, 0);
}

TEST_F(VerifyTest, SoftAndHardModesWithoutAnswers) {
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  // Nothing at hand and no fetcher.
  EXPECT_EQ(check(leaf.get(), options(Purpose::smime_signing, RevocationMode::soft)).status,
            ChainStatus::ok);
  auto v = check(leaf.get(), options(Purpose::smime_signing, RevocationMode::hard));
  EXPECT_EQ(v.status, ChainStatus::no_revocation_info) << v.detail;
  // Both servers down.
  ocsp_down_ = crl_down_ = true;
  auto soft = options(Purpose::smime_signing, RevocationMode::soft);
  soft.fetch = caFetcher();
  v = check(leaf.get(), soft);
  EXPECT_EQ(v.status, ChainStatus::ok) << v.detail;
  EXPECT_NE(v.detail.find("connection refused"), std::string::npos) << v.detail;
  auto hard = options(Purpose::smime_signing, RevocationMode::hard);
  hard.fetch = caFetcher();
  EXPECT_EQ(check(leaf.get(), hard).status, ChainStatus::revocation_unknown);
  // Revocation none never asks.
  fetches_ = 0;
  auto none = options(Purpose::smime_signing, RevocationMode::none);
  none.fetch = caFetcher();
  EXPECT_EQ(check(leaf.get(), none).status, ChainStatus::ok);
  EXPECT_EQ(fetches_, 0);
}

TEST_F(VerifyTest, ReplayedOrForgedOcspAnswersAreNotBelieved) {
  CertPtr leaf = issue("smime-sign");
  CertPtr other = issue("smime-sign");
  ASSERT_TRUE(leaf && other);
  crl_down_ = true;
  // An answer captured for `other` (its own nonce) replayed for `leaf`.
  std::string captured;
  auto o = options(Purpose::smime_signing, RevocationMode::hard);
  o.fetch = [&](std::string_view url, std::string_view body) -> Result<std::string> {
    if (url != kOcspUrl) return fail(Errc::unavailable, "down");
    captured = ca_->ocspRespond(body);
    return captured;
  };
  ASSERT_EQ(check(other.get(), o).status, ChainStatus::ok);
  o.fetch = [&](std::string_view url, std::string_view) -> Result<std::string> {
    if (url != kOcspUrl) return fail(Errc::unavailable, "down");
    return captured;
  };
  auto v = check(leaf.get(), o);
  EXPECT_EQ(v.status, ChainStatus::revocation_unknown) << v.detail;
  // Garbage and a truncated answer.
  o.fetch = [](std::string_view, std::string_view) -> Result<std::string> {
    return std::string("\x30\x03\x0a\x01", 4);
  };
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::revocation_unknown);
  o.fetch = [&](std::string_view, std::string_view) -> Result<std::string> {
    return captured.substr(0, 40);
  };
  EXPECT_EQ(check(leaf.get(), o).status, ChainStatus::revocation_unknown);
}

TEST_F(VerifyTest, CallerMistakesAndNullLeaf) {
  VerifyOptions empty;
  CertPtr leaf = issue("smime-sign");
  ASSERT_TRUE(leaf);
  auto r = verifyChain(leaf.get(), empty);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::invalid_argument));
  EXPECT_EQ(check(nullptr, options()).status, ChainStatus::malformed);
}

// --- certificates made by the openssl CLI ------------------------------------

class VerifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    spit(tmp_.file("ext.cnf"),
         "[smime]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=emailProtection\nsubjectAltName=email:bob@example.org\n"
         "[mid]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
         "[client]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,"
         "digitalSignature\nextendedKeyUsage=clientAuth\n"
         "[critical_unknown]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
         "extendedKeyUsage=emailProtection\n1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:unknown\n");
    spit(tmp_.file("ca.cnf"),
         "[ca]\ndefault_ca=cli\n[cli]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\n"
         "default_crl_days=7\ncertificate=root.pem\nprivate_key=root.key\n");
    spit(tmp_.file("index.txt"), "");
    spit(tmp_.file("crlnumber"), "01\n");
    spit(tmp_.file("req.cnf"),
         "[req]\ndistinguished_name=dn\nx509_extensions=ca_ext\nprompt=no\n[dn]\nCN=CLI Root\n"
         "[ca_ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier=hash\n");
    ASSERT_TRUE(
        testing::sh(tmp_,
                    "openssl req -x509 -config req.cnf -newkey rsa:2048 -nodes -keyout root.key "
                    "-out root.pem -days 30 2>/dev/null"));
    root_ = *parseCertificate(slurp(tmp_.file("root.pem")));
  }

  CertPtr leaf(const std::string& name, const std::string& ext, int days, int serial) {
    EXPECT_TRUE(testing::sh(
        tmp_, "(openssl req -new -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                  ".csr -subj /CN=" + name + " && openssl x509 -req -in " + name +
                  ".csr -CA root.pem -CAkey root.key -set_serial " + std::to_string(serial) +
                  " -days " + std::to_string(days) + " -extfile ext.cnf -extensions " + ext +
                  " -out " + name + ".pem) 2>/dev/null"));
    auto c = parseCertificate(slurp(tmp_.file(name + ".pem")));
    EXPECT_TRUE(c);
    return c ? std::move(*c) : nullptr;
  }

  VerifyOptions options(Purpose purpose, RevocationMode mode = RevocationMode::none) {
    VerifyOptions o;
    o.anchors.push_back(duplicate(root_.get()));
    o.purpose = purpose;
    o.revocation = mode;
    return o;
  }

  testing::TempDir tmp_{"rampart-verify-cli"};
  CertPtr root_;
};

TEST_F(VerifyCliTest, GoodWrongPurposeAndTimeNesting) {
  CertPtr good = leaf("bob", "smime", 10, 2);
  CertPtr client = leaf("dev", "client", 10, 3);
  CertPtr outlives = leaf("late", "smime", 400, 4);  // beyond the 30-day root
  ASSERT_TRUE(good && client && outlives);
  auto v = verifyChain(good.get(), options(Purpose::smime_encryption));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::ok) << v->detail;
  EXPECT_EQ(v->emails, std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(verifyChain(good.get(), options(Purpose::smime_signing))->status, ChainStatus::ok);
  EXPECT_EQ(verifyChain(client.get(), options(Purpose::smime_signing))->status,
            ChainStatus::wrong_purpose);
  EXPECT_EQ(verifyChain(client.get(), options(Purpose::tls_client))->status, ChainStatus::ok);
  EXPECT_EQ(verifyChain(outlives.get(), options(Purpose::smime_signing))->status,
            ChainStatus::bad_time_nesting);
}

TEST_F(VerifyCliTest, RevokedInAnOpensslCrl) {
  CertPtr good = leaf("bob", "smime", 10, 2);
  CertPtr gone = leaf("eve", "smime", 10, 5);
  ASSERT_TRUE(good && gone);
  ASSERT_TRUE(testing::sh(
      tmp_,
      "openssl ca -config ca.cnf -revoke eve.pem -crl_reason keyCompromise 2>/dev/null && "
      "openssl ca -config ca.cnf -gencrl -out cli.crl 2>/dev/null"));
  auto o = options(Purpose::smime_signing, RevocationMode::hard);
  o.crls.push_back(std::move(*parseCrl(slurp(tmp_.file("cli.crl")))));
  auto v = verifyChain(gone.get(), o);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::revoked) << v->detail;
  EXPECT_EQ(v->revocation_reason, 1);
  EXPECT_EQ(verifyChain(good.get(), o)->status, ChainStatus::ok);
  // The same CRL judged after its nextUpdate: stale, so nothing is known.
  o.at = ::time(nullptr) + 8 * 86400;
  EXPECT_EQ(verifyChain(good.get(), o)->status, ChainStatus::revocation_unknown);
  o.revocation = RevocationMode::soft;
  EXPECT_EQ(verifyChain(good.get(), o)->status, ChainStatus::ok);
}

TEST_F(VerifyCliTest, RevokedIntermediateIsReportedAtItsDepth) {
  CertPtr mid = leaf("mid", "mid", 20, 6);
  ASSERT_TRUE(mid);
  ASSERT_TRUE(
      testing::sh(tmp_,
                  "(openssl req -new -newkey rsa:2048 -nodes -keyout carl.key -out carl.csr "
                  "-subj /CN=carl && openssl x509 -req -in carl.csr -CA mid.pem -CAkey mid.key "
                  "-set_serial 7 -days 10 -extfile ext.cnf -extensions smime -out carl.pem) "
                  "2>/dev/null"));
  auto carl = parseCertificate(slurp(tmp_.file("carl.pem")));
  ASSERT_TRUE(carl);
  auto o = options(Purpose::smime_signing, RevocationMode::soft);
  o.intermediates.push_back(duplicate(mid.get()));
  auto v = verifyChain(carl->get(), o);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::ok) << v->detail;
  EXPECT_EQ(v->depth, -1);
  ASSERT_TRUE(testing::sh(tmp_,
                          "(openssl ca -config ca.cnf -revoke mid.pem -crl_reason cACompromise && "
                          "openssl ca -config ca.cnf -gencrl -out root.crl) 2>/dev/null"));
  o.crls.push_back(std::move(*parseCrl(slurp(tmp_.file("root.crl")))));
  v = verifyChain(carl->get(), o);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::revoked) << v->detail;
  EXPECT_EQ(v->depth, 1);
  EXPECT_EQ(v->revocation_reason, 2);  // cACompromise
  // The leaf itself has no CRL: hard mode stops there first.
  o.revocation = RevocationMode::hard;
  v = verifyChain(carl->get(), o);
  EXPECT_EQ(v->status, ChainStatus::no_revocation_info);
  EXPECT_EQ(v->depth, 0);
}

// RFC 5280 4.2.1.9 and 4.2: a CA certificate is no mail certificate, a
// certificate that is not a CA issues nothing, and an unknown critical
// extension fails the certificate (ValidateCert Status 9, 11 and 10).
TEST_F(VerifyCliTest, CaAsLeafNonCaIssuerAndUnknownCriticalExtension) {
  CertPtr mid = leaf("mid", "mid", 20, 8);
  CertPtr bob = leaf("bob", "smime", 10, 9);
  CertPtr odd = leaf("odd", "critical_unknown", 10, 10);
  ASSERT_TRUE(mid && bob && odd);
  auto v = verifyChain(mid.get(), options(Purpose::smime_signing));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::leaf_is_ca) << v->detail;
  EXPECT_EQ(v->depth, 0);
  EXPECT_EQ(verifyChain(mid.get(), options(Purpose::any))->status, ChainStatus::ok);

  // bob (CA:FALSE) signs a certificate for mallory.
  ASSERT_TRUE(testing::sh(
      tmp_, "(openssl req -new -newkey rsa:2048 -nodes -keyout mal.key -out mal.csr -subj /CN=mal "
            "&& openssl x509 -req -in mal.csr -CA bob.pem -CAkey bob.key -set_serial 11 -days 5 "
            "-extfile ext.cnf -extensions smime -out mal.pem) 2>/dev/null"));
  auto mal = parseCertificate(slurp(tmp_.file("mal.pem")));
  ASSERT_TRUE(mal);
  auto o = options(Purpose::smime_signing);
  o.intermediates.push_back(duplicate(bob.get()));
  v = verifyChain(mal->get(), o);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::ca_misuse) << v->detail;
  EXPECT_EQ(v->depth, 1);

  v = verifyChain(odd.get(), options(Purpose::smime_signing));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::bad_extension) << v->detail;
  EXPECT_EQ(chainStatusName(ChainStatus::ca_misuse), "ca_misuse");
}

TEST_F(VerifyCliTest, TamperedSignature) {
  CertPtr good = leaf("bob", "smime", 10, 2);
  ASSERT_TRUE(good);
  std::string der = certificateDer(good.get());
  der[der.size() - 5] ^= 0x01;  // inside the signature value
  auto bad = parseCertificate(der);
  ASSERT_TRUE(bad);
  auto v = verifyChain(bad->get(), options(Purpose::smime_signing));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, ChainStatus::bad_signature) << v->detail;
}

}  // namespace
}  // namespace rampart::crypto::x509
