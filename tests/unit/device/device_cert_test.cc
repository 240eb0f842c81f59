// The device's certificates (issue 5, device side): the CertStore (files and
// modes, trust only by an explicit act, chain checks, PKCS#12 both profiles)
// and enrollment against a scripted EST server on loopback over TLS
// (http::Server): an unknown root refused until accepted, 202 + Retry-After
// pending then the same request resent, --wait, re-enrollment with the
// certificate as TLS client credential and no Authorization header.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "crypto/x509/csr.h"
#include "crypto/x509/pkcs12.h"
#include "crypto/x509/pkcs7.h"
#include "crypto/x509/x509.h"
#include "device/cert_store.h"
#include "device/est_client.h"
#include "device/transport.h"
#include "http/server.h"
#include "testing/temp_dir.h"
#include "tls/context.h"
#include "tls/dev_pki.h"

namespace rampart::device {
namespace {

namespace asio = net::asio;
namespace x509 = crypto::x509;

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffff;
  return st.st_mode & 0777;
}

void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by issuer/issuer_key (itself when null).
x509::CertPtr makeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                       bool ca) {
  x509::CertPtr cert(X509_new());
  unsigned char serial[12];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExt(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    addExt(cert.get(), signer, NID_ext_key_usage, "clientAuth");
  }
  X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

struct Ca {
  x509::KeyPtr key;
  x509::CertPtr cert;
  explicit Ca(const std::string& cn) {
    key = std::move(*x509::generateKey(x509::KeyType::ec_p256));
    cert = makeCert(key.get(), cn, nullptr, nullptr, true);
  }
  x509::CertPtr issue(EVP_PKEY* subject, const std::string& cn) const {
    return makeCert(subject, cn, cert.get(), key.get(), false);
  }
};

// ---- the store ----

class CertStoreTest : public ::testing::Test {
 protected:
  testing::TempDir tmp{"device-cert"};
  std::string dir = certDirFor(tmp.file("state.db"));
  Ca ca{"Test Root"};
};

TEST_F(CertStoreTest, StoresKeyPrivatelyAndLists) {
  auto store = CertStore::open(dir);
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(modeOf(dir), 0700u);
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto leaf = ca.issue(key->get(), "alice");
  auto info = store->store("device", key->get(), leaf.get(), {ca.cert.get()});
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(modeOf(store->keyPath("device")), 0600u);
  EXPECT_EQ(modeOf(dir + "/templates/device"), 0700u);
  auto list = store->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].template_name, "device");
  EXPECT_EQ((*list)[0].subject, "CN=alice");
  EXPECT_EQ((*list)[0].serial, x509::serialHex(leaf.get()));
  EXPECT_EQ((*list)[0].fingerprint, x509::sha256Fingerprint(leaf.get()));
  EXPECT_EQ((*list)[0].not_after, x509::notAfter(leaf.get()));
  // The presented file is the leaf alone here (the chain is only the root).
  auto presented = x509::readFile(store->certPath("device"));
  ASSERT_TRUE(presented);
  EXPECT_EQ(*presented, x509::certificatePem(leaf.get()));
  auto loaded = store->load("device");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(x509::certificateDer(loaded->cert.get()), x509::certificateDer(leaf.get()));
  ASSERT_EQ(loaded->chain.size(), 1u);
  // A key that is not the certificate's, and bad template names, are refused.
  auto other = x509::generateKey(x509::KeyType::ec_p256);
  EXPECT_TRUE(
      store->store("device", other->get(), leaf.get(), {}).error().is(Errc::invalid_argument));
  EXPECT_TRUE(store->store("../x", key->get(), leaf.get(), {}).error().is(Errc::invalid_argument));
  EXPECT_TRUE(store->load("wifi").error().is(Errc::not_found));
}

TEST_F(CertStoreTest, TrustNeedsAnExplicitAct) {
  auto store = CertStore::open(dir);
  ASSERT_TRUE(store);
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  auto leaf = ca.issue(key->get(), "alice");
  // An unknown root: the chain does not verify.
  EXPECT_TRUE(store->verify(leaf.get(), {ca.cert.get()}).error().is(Errc::permission_denied));
  // Seen: pending, still not trusted.
  auto seen = store->addPending(ca.cert.get());
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->fingerprint, x509::sha256Fingerprint(ca.cert.get()));
  EXPECT_FALSE(*store->isTrusted(ca.cert.get()));
  EXPECT_EQ(store->pendingRoots()->size(), 1u);
  EXPECT_TRUE(store->verify(leaf.get(), {ca.cert.get()}).error().is(Errc::permission_denied));
  // Accepted by fingerprint, written any way (lower case, no colons).
  std::string fp = seen->fingerprint;
  std::string plain;
  for (char c : fp)
    if (c != ':') plain += static_cast<char>(std::tolower(c));
  EXPECT_TRUE(store->trustFingerprint(std::string(64, '0')).error().is(Errc::not_found));
  EXPECT_TRUE(store->trustFingerprint("12:34").error().is(Errc::invalid_argument));
  auto trusted = store->trustFingerprint(plain);
  ASSERT_TRUE(trusted) << trusted.error().message();
  EXPECT_TRUE(*store->isTrusted(ca.cert.get()));
  EXPECT_TRUE(store->pendingRoots()->empty());
  EXPECT_TRUE(store->verify(leaf.get(), {}));
  // A leaf of another CA still fails; a non-root cannot be trusted.
  Ca other("Other Root");
  auto stranger = other.issue(key->get(), "mallory");
  EXPECT_FALSE(store->verify(stranger.get(), {other.cert.get()}));
  EXPECT_TRUE(store->trust(leaf.get()).error().is(Errc::invalid_argument));
  // A pending file whose content is another root is not accepted under that name.
  ASSERT_TRUE(store->addPending(other.cert.get()));
  std::string other_name = x509::sha256Fingerprint(other.cert.get());
  std::string other_hex;
  for (char c : other_name)
    if (c != ':') other_hex += c;
  ASSERT_TRUE(x509::writeFileAtomic(dir + "/pending/" + other_hex + ".pem",
                                    x509::certificatePem(ca.cert.get()), 0600));
  EXPECT_TRUE(store->trustFingerprint(other_name).error().is(Errc::permission_denied));
}

TEST_F(CertStoreTest, Pkcs12RoundTripBothProfiles) {
  auto store = CertStore::open(dir);
  ASSERT_TRUE(store);
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  auto leaf = ca.issue(key->get(), "alice");
  ASSERT_TRUE(store->store("device", key->get(), leaf.get(), {ca.cert.get()}));
  for (auto profile : {x509::Pkcs12Profile::modern, x509::Pkcs12Profile::compat}) {
    SCOPED_TRACE(profile == x509::Pkcs12Profile::modern ? "modern" : "compat");
    auto der = store->exportPkcs12("device", "pa55 word", profile);
    ASSERT_TRUE(der) << der.error().message();
    EXPECT_TRUE(store->importPkcs12("copy", *der, "wrong").error().is(Errc::unauthenticated));
    // Into a fresh store: the root comes back as pending, not trusted.
    testing::TempDir other_tmp{"device-cert-import"};
    auto other = CertStore::open(certDirFor(other_tmp.file("s.db")));
    ASSERT_TRUE(other);
    auto imported = other->importPkcs12("device", *der, "pa55 word");
    ASSERT_TRUE(imported) << imported.error().message();
    EXPECT_EQ(imported->cert.fingerprint, x509::sha256Fingerprint(leaf.get()));
    ASSERT_EQ(imported->untrusted_roots.size(), 1u);
    EXPECT_EQ(imported->untrusted_roots[0].fingerprint, x509::sha256Fingerprint(ca.cert.get()));
    EXPECT_FALSE(*other->isTrusted(ca.cert.get()));
    EXPECT_EQ(modeOf(other->keyPath("device")), 0600u);
    auto loaded = other->load("device");
    ASSERT_TRUE(loaded);
    EXPECT_EQ(X509_check_private_key(loaded->cert.get(), key->get()), 1);
  }
  EXPECT_FALSE(store->exportPkcs12("device", "", x509::Pkcs12Profile::modern));
  EXPECT_TRUE(
      store->exportPkcs12("wifi", "x", x509::Pkcs12Profile::modern).error().is(Errc::not_found));
}

TEST(CertFingerprint, Normalizes) {
  std::string hex(64, 'a');
  auto n = normalizeFingerprint(hex);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->size(), 95u);
  EXPECT_EQ(n->substr(0, 6), "AA:AA:");
  EXPECT_FALSE(normalizeFingerprint(hex + "a"));
  EXPECT_FALSE(normalizeFingerprint("zz"));
  EXPECT_FALSE(normalizeFingerprint(""));
}

TEST(EstRetryAfter, SecondsAndDates) {
  EXPECT_EQ(retryAfterSeconds(std::string("7"), 0, 60, 3600), 7);
  EXPECT_EQ(retryAfterSeconds(std::nullopt, 0, 60, 3600), 60);
  EXPECT_EQ(retryAfterSeconds(std::string("junk"), 0, 60, 3600), 60);
  EXPECT_EQ(retryAfterSeconds(std::string("999999"), 0, 60, 3600), 3600);
  EXPECT_EQ(retryAfterSeconds(std::string("0"), 0, 60, 3600), 1);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777.
  EXPECT_EQ(
      retryAfterSeconds(std::string("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777 - 90, 60, 3600),
      90);
}

// ---- enrollment against a scripted EST server ----

class FakeEst {
 public:
  FakeEst(const std::string& dir, const Ca& ca, bool require_client_cert) : ca_(ca) {
    std::filesystem::create_directories(dir + "/tls");
    auto pki = tls::ensureDevPki(dir + "/tls", {"127.0.0.1"});
    if (!pki) {
      ADD_FAILURE() << pki.error().message();
      std::abort();
    }
    tls_ca_ = pki->ca_cert;
    std::string client_ca = dir + "/client-ca.pem";
    EXPECT_TRUE(x509::writeFileAtomic(client_ca, x509::certificatePem(ca.cert.get()), 0644));
    tls::ServerOptions so;
    so.cert_file = pki->server_cert;
    so.key_file = pki->server_key;
    so.client_ca_file = client_ca;
    so.require_client_cert = require_client_cert;
    auto ctx = tls::ReloadableContext::create(so);
    EXPECT_TRUE(ctx) << ctx.error().message();
    auto server = http::Server::bind(
        io_.get_executor(), net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), {},
        [this](http::Request& r) { return handle(r); }, *ctx);
    EXPECT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeEst() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(server_->localEndpoint().port()) +
           "/.well-known/est";
  }
  const std::string& tlsCa() const { return tls_ca_; }

  struct Seen {
    std::string target;
    std::string authorization;
    std::string csr_sha256;
  };
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void holdNext(int n) {
    std::lock_guard lock(mutex_);
    hold_ = n;
  }

 private:
  net::Task<http::Response> handle(http::Request& req) {
    http::Response res = respond(req);
    co_return res;
  }

  static http::Response answer(http::Status status, std::string_view type, std::string body) {
    http::Response res{status, 11};
    if (!type.empty()) res.set(http::Field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  http::Response respond(http::Request& req) {
    std::lock_guard lock(mutex_);
    Seen s;
    s.target = std::string(req.target());
    s.authorization = std::string(req[http::Field::authorization]);
    std::string base = "/.well-known/est/";
    if (s.target == base + "cacerts") {
      seen_.push_back(s);
      auto der = x509::certsOnly({ca_.cert.get()});
      return answer(http::Status::ok, "application/pkcs7-mime; smime-type=certs-only",
                    x509::base64Lines(*der));
    }
    bool enroll = s.target == base + "simpleenroll";
    bool reenroll = s.target == base + "simplereenroll";
    if (!enroll && !reenroll) {
      seen_.push_back(s);
      return answer(http::Status::not_found, "", "");
    }
    if (enroll && s.authorization != basicAuth("alice", "secret")) {
      seen_.push_back(s);
      return answer(http::Status::unauthorized, "text/plain", "who are you?");
    }
    auto csr = x509::parseEstCsr(req.body());
    if (!csr) {
      seen_.push_back(s);
      return answer(http::Status::bad_request, "text/plain", csr.error().message());
    }
    s.csr_sha256 = csr->sha256;
    seen_.push_back(s);
    if (hold_ > 0) {
      --hold_;
      http::Response res = answer(http::Status::accepted, "", "");
      res.set(http::Field::retry_after, "7");
      return res;
    }
    auto leaf = ca_.issue(csr->public_key.get(), "alice");
    auto der = x509::certsOnly({leaf.get()});
    return answer(http::Status::ok, "application/pkcs7-mime; smime-type=certs-only",
                  x509::base64Lines(*der));
  }

  const Ca& ca_;
  std::string tls_ca_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  int hold_ = 0;
};

class EnrollTest : public ::testing::Test {
 protected:
  testing::TempDir tmp{"device-enroll"};
  Ca ca{"Rampart Test Root"};
  std::string fp = x509::sha256Fingerprint(ca.cert.get());

  EnrollRequest request(const FakeEst& est) {
    EnrollRequest r;
    r.est_url = est.url();
    r.ca_file = est.tlsCa();
    r.user = "alice";
    r.password = "secret";
    return r;
  }
};

TEST_F(EnrollTest, UnknownRootIsRefusedUntilAccepted) {
  FakeEst est(tmp.path().string(), ca, false);
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  auto r = enroll(*store, request(est));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::permission_denied));
  EXPECT_NE(r.error().detail.find(fp), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("CN=Rampart Test Root"), std::string::npos);
  // Nothing was sent for enrollment, nothing stored; the root waits for acceptance.
  for (const auto& s : est.seen()) EXPECT_EQ(s.target, "/.well-known/est/cacerts");
  EXPECT_TRUE(store->list()->empty());
  ASSERT_EQ(store->pendingRoots()->size(), 1u);
  // A prompt that says no changes nothing.
  int asked = 0;
  EXPECT_FALSE(enroll(*store, request(est), [&](const RootInfo& i) {
    ++asked;
    EXPECT_EQ(i.fingerprint, fp);
    return false;
  }));
  EXPECT_EQ(asked, 1);
  // `cert trust --fingerprint`, then enrollment goes through.
  ASSERT_TRUE(store->trustFingerprint(fp));
  auto ok = enroll(*store, request(est));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_FALSE(ok->pending);
  EXPECT_EQ(ok->cert.subject, "CN=alice");
  EXPECT_EQ(ok->cert.template_name, "device");
  EXPECT_EQ(modeOf(ok->cert.key_file), 0600u);
  auto last = est.seen().back();
  EXPECT_EQ(last.target, "/.well-known/est/simpleenroll");
  EXPECT_EQ(last.authorization, basicAuth("alice", "secret"));
}

TEST_F(EnrollTest, TrustFingerprintUpFrontAndWrongPassword) {
  FakeEst est(tmp.path().string(), ca, false);
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  EnrollRequest r = request(est);
  r.password = "wrong";
  r.trust_fingerprints = {fp};
  auto bad = enroll(*store, r);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::unauthenticated)) << bad.error().message();
  // The root was accepted by --trust-fingerprint even though enrollment failed.
  EXPECT_TRUE(*store->isTrusted(ca.cert.get()));
  r.password = "secret";
  r.key_type = x509::KeyType::rsa2048;
  auto ok = enroll(*store, r);
  ASSERT_TRUE(ok) << ok.error().message();
  auto loaded = store->load("device");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*x509::keyTypeOf(loaded->key.get()), x509::KeyType::rsa2048);
}

TEST_F(EnrollTest, PendingThenTheSameRequestAgain) {
  FakeEst est(tmp.path().string(), ca, false);
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->trust(ca.cert.get()));
  est.holdNext(1);
  auto first = enroll(*store, request(est));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(first->pending);
  EXPECT_EQ(first->retry_after, 7);
  EXPECT_TRUE(store->list()->empty());
  ASSERT_TRUE(*store->pendingRequest("device"));
  auto second = enroll(*store, request(est));
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_FALSE(second->pending);
  std::vector<std::string> hashes;
  for (const auto& s : est.seen())
    if (!s.csr_sha256.empty()) hashes.push_back(s.csr_sha256);
  ASSERT_EQ(hashes.size(), 2u);
  EXPECT_EQ(hashes[0], hashes[1]);  // RFC 7030 4.2.3: the same request
  EXPECT_FALSE(*store->pendingRequest("device"));
}

TEST_F(EnrollTest, WaitSleepsRetryAfter) {
  FakeEst est(tmp.path().string(), ca, false);
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->trust(ca.cert.get()));
  est.holdNext(2);
  EnrollRequest r = request(est);
  r.wait = true;
  std::vector<int> slept;
  auto ok =
      enroll(*store, r, {}, {}, [&](std::chrono::seconds s) { slept.push_back(int(s.count())); });
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_FALSE(ok->pending);
  EXPECT_EQ(slept, (std::vector<int>{7, 7}));
}

TEST_F(EnrollTest, RenewPresentsTheCertificateAndNoPassword) {
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->trust(ca.cert.get()));
  std::string old_serial;
  {
    FakeEst est(tmp.path().string(), ca, false);
    auto ok = enroll(*store, request(est));
    ASSERT_TRUE(ok) << ok.error().message();
    old_serial = ok->cert.serial;
  }
  // This server refuses any TLS client without a certificate of our CA.
  FakeEst est(tmp.path().string(), ca, true);
  EnrollRequest r = request(est);
  r.renew = true;
  r.user.clear();
  r.password.clear();
  auto renewed = enroll(*store, r);
  ASSERT_TRUE(renewed) << renewed.error().message();
  EXPECT_NE(renewed->cert.serial, old_serial);
  auto seen = est.seen();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().target, "/.well-known/est/simplereenroll");
  EXPECT_EQ(seen.back().authorization, "");
  // Without a certificate the same server does not talk to us.
  testing::TempDir other{"device-enroll-other"};
  auto empty = CertStore::open(certDirFor(other.file("s.db")));
  ASSERT_TRUE(empty->trust(ca.cert.get()));
  EXPECT_FALSE(enroll(*empty, request(est)));
}

TEST_F(EnrollTest, EasTransportLogsInWithTheCertificateAlone) {
  auto store = CertStore::open(certDirFor(tmp.file("state.db")));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->trust(ca.cert.get()));
  {
    FakeEst est(tmp.path().string(), ca, false);
    ASSERT_TRUE(enroll(*store, request(est)));
  }
  // A server that talks only to holders of a certificate of our CA.
  FakeEst server(tmp.path().string(), ca, true);
  Account a;
  a.url = server.url().substr(0, server.url().find("/.well-known"));
  a.user = "alice";
  a.password = "secret";
  a.ca_file = server.tlsCa();
  a.device_id = "ABC123";
  a.device_type = "RampartDevice";
  a.version = "16.1";
  a.auth = AuthMode::certificate;
  a.cert_file = store->certPath("device");
  a.key_file = store->keyPath("device");
  auto transport = Transport::create(a);
  ASSERT_TRUE(transport) << transport.error().message();
  auto reply = transport->options(a);
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->status, 404);  // the fake knows no EAS; the TLS handshake passed
  auto reply2 = transport->command(a, "Ping", {});
  ASSERT_TRUE(reply2) << reply2.error().message();
  for (const auto& s : server.seen()) EXPECT_EQ(s.authorization, "") << s.target;
  // Basic mode with the same certificate: the password goes too.
  a.auth = AuthMode::basic;
  auto basic = Transport::create(a);
  ASSERT_TRUE(basic);
  ASSERT_TRUE(basic->options(a));
  EXPECT_EQ(server.seen().back().authorization, basicAuth("alice", "secret"));
  // Certificate mode without files is refused up front.
  a.auth = AuthMode::certificate;
  a.cert_file.clear();
  EXPECT_TRUE(Transport::create(a).error().is(Errc::invalid_argument));
}

}  // namespace
}  // namespace rampart::device
