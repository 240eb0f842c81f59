#include "gateway/auth/client_cert.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/certs.h"
#include "testing/temp_dir.h"

extern char** environ;

namespace rampart::gateway::auth {
namespace {

// ---- a small PKI made in the test ----

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PKeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyFree>;

struct Issued {
  X509Ptr cert;
  PKeyPtr key;
};

struct CertSpec {
  std::string cn;
  long serial = 1;
  std::vector<std::string> san;  // X509V3 conf syntax: "email:a@b", "otherName:...;UTF8:..."
  std::string uid;
  long not_before = -3600;  // seconds from now
  long not_after = 86400;
  bool ca = false;
  std::string eku = "clientAuth";
  std::string ocsp_url;
};

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `spec`, signed by `issuer` (self-signed when null).
Issued issue(const CertSpec& spec, const Issued* issuer) {
  Issued out{X509Ptr(X509_new()), PKeyPtr(EVP_EC_gen("P-256"))};
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rampart Test"), -1, -1, 0);
  if (!spec.uid.empty()) {
    X509_NAME_add_entry_by_NID(name, NID_userId, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.uid.c_str()),
                               static_cast<int>(spec.uid.size()), -1, 0);
  }
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()),
                             static_cast<int>(spec.cn.size()), -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  if (spec.ca) {
    addExt(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExt(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    addExt(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    if (!spec.eku.empty()) addExt(cert, issuer_cert, NID_ext_key_usage, spec.eku);
  }
  std::string san;
  for (const auto& s : spec.san) san += (san.empty() ? "" : ",") + s;
  if (!san.empty()) addExt(cert, issuer_cert, NID_subject_alt_name, san);
  if (!spec.ocsp_url.empty())
    addExt(cert, issuer_cert, NID_info_access, "OCSP;URI:" + spec.ocsp_url);
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : out.key.get();
  EXPECT_GT(X509_sign(cert, signing_key, EVP_sha256()), 0);
  return out;
}

Issued makeCa(const std::string& cn, const Issued* parent = nullptr, long serial = 1) {
  CertSpec spec;
  spec.cn = cn;
  spec.ca = true;
  spec.serial = serial;
  return issue(spec, parent);
}

void writePem(const std::string& path, std::initializer_list<X509*> certs) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  for (X509* c : certs) PEM_write_X509(f, c);
  std::fclose(f);
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// Writes a CRL issued by `ca` revoking `serials`; nextUpdate `next` seconds from now.
void writeCrl(const std::string& path, const Issued& ca, std::vector<long> serials,
              long next = 86400, bool der = false) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert.get()));
  ASN1_TIME* last = X509_gmtime_adj(nullptr, std::min(-60L, next - 3600));
  ASN1_TIME* nxt = X509_gmtime_adj(nullptr, next);
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, nxt);
  for (long serial : serials) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    X509_REVOKED_set_revocationDate(r, last);
    X509_CRL_add0_revoked(crl, r);
    ASN1_INTEGER_free(s);
  }
  X509_CRL_sort(crl);
  ASSERT_GT(X509_CRL_sign(crl, ca.key.get(), EVP_sha256()), 0);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (der)
    i2d_X509_CRL_fp(f, crl);
  else
    PEM_write_X509_CRL(f, crl);
  std::fclose(f);
  ASN1_TIME_free(last);
  ASN1_TIME_free(nxt);
  X509_CRL_free(crl);
}

Issued userCert(const Issued& ca, long serial, const std::string& email = "alice@example.com",
                const std::string& ocsp_url = "") {
  CertSpec spec;
  spec.cn = "Alice Example";
  spec.serial = serial;
  spec.san = {"email:" + email};
  spec.ocsp_url = ocsp_url;
  return issue(spec, &ca);
}

struct Pki {
  testing::TempDir dir{"rampart-clientcert"};
  Issued ca = makeCa("Rampart Test Root CA");
  std::string ca_file = dir.file("ca.crt");
  std::string crl_file = dir.file("ca.crl");
  Pki() {
    writePem(ca_file, {ca.cert.get()});
    writeCrl(crl_file, ca, {});
  }
  ClientCertConfig config() const {
    ClientCertConfig c;
    c.ca_file = ca_file;
    c.crl_files = {crl_file};
    return c;
  }
};

std::shared_ptr<ClientCertPolicy> makePolicy(ClientCertConfig config, OcspTransport t = {},
                                             const Clock& clock = systemClock()) {
  auto p = ClientCertPolicy::create(std::move(config), std::move(t), clock);
  EXPECT_TRUE(p) << p.error().message();
  return p ? *p : nullptr;
}

// ---- mapping ----

TEST(CertMapping, SanEmailWholeAndLocalPart) {
  Pki pki;
  Issued leaf = userCert(pki.ca, 10, "Alice@Example.com");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::san_email, ""}), "Alice@Example.com");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::san_email_local, ""}), "Alice");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::san_email_local, "example.COM"}), "Alice");
  auto other = mapToUser(leaf.cert.get(), {CertUserSource::san_email, "corp.example"});
  ASSERT_FALSE(other);
  EXPECT_TRUE(other.error().is(Errc::unauthenticated));
}

TEST(CertMapping, UpnCnAndUid) {
  Pki pki;
  CertSpec spec;
  spec.cn = "bob";
  spec.uid = "bob.uid";
  spec.serial = 11;
  spec.san = {"otherName:1.3.6.1.4.1.311.20.2.3;UTF8:bob@corp.example", "email:bob@mail.example"};
  Issued leaf = issue(spec, &pki.ca);
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::san_upn, ""}), "bob@corp.example");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::san_upn_local, "corp.example"}), "bob");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::subject_cn, ""}), "bob");
  EXPECT_EQ(*mapToUser(leaf.cert.get(), {CertUserSource::subject_uid, ""}), "bob.uid");
  // A CN without '@' cannot satisfy a required domain.
  EXPECT_FALSE(mapToUser(leaf.cert.get(), {CertUserSource::subject_cn, "corp.example"}));
  // No UPN in the usual test certificate.
  Issued plain = userCert(pki.ca, 12);
  auto none = mapToUser(plain.cert.get(), {CertUserSource::san_upn, ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().detail, "client certificate: no user name field");
  EXPECT_FALSE(mapToUser(plain.cert.get(), {CertUserSource::subject_uid, ""}));
}

TEST(CertMapping, AmbiguousAndBadNamesRefused) {
  Pki pki;
  CertSpec two;
  two.cn = "x";
  two.serial = 13;
  two.san = {"email:alice@example.com", "email:mallory@example.com"};
  Issued leaf = issue(two, &pki.ca);
  auto r = mapToUser(leaf.cert.get(), {CertUserSource::san_email, ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "client certificate: ambiguous user name");
  // A required domain that selects one of them is fine.
  CertSpec split = two;
  split.serial = 14;
  split.san = {"email:alice@example.com", "email:alice@gmail.example"};
  Issued leaf2 = issue(split, &pki.ca);
  EXPECT_EQ(*mapToUser(leaf2.cert.get(), {CertUserSource::san_email, "example.com"}),
            "alice@example.com");
  // The same local part twice is not ambiguous.
  EXPECT_EQ(*mapToUser(leaf2.cert.get(), {CertUserSource::san_email_local, ""}), "alice");

  // Embedded NUL and control characters in the CN.
  CertSpec nul;
  nul.cn = std::string("admin\0.evil", 11);
  nul.serial = 15;
  Issued leaf3 = issue(nul, &pki.ca);
  EXPECT_FALSE(mapToUser(leaf3.cert.get(), {CertUserSource::subject_cn, ""}));
  CertSpec ctl;
  ctl.cn = "alice\r\nX-Injected: 1";
  ctl.serial = 16;
  Issued leaf4 = issue(ctl, &pki.ca);
  EXPECT_FALSE(mapToUser(leaf4.cert.get(), {CertUserSource::subject_cn, ""}));
  EXPECT_FALSE(mapToUser(nullptr, {}));
}

// ---- chain and CRL ----

TEST(ClientCertPolicy, GoodCertMapsToUser) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  Issued leaf = userCert(pki.ca, 100);
  auto user = policy->verifyAndMap(leaf.cert.get(), nullptr);
  ASSERT_TRUE(user) << user.error().message();
  EXPECT_EQ(*user, "alice@example.com");
}

TEST(ClientCertPolicy, RevokedRefusedAfterCrlReload) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  Issued alice = userCert(pki.ca, 100);
  Issued bob = userCert(pki.ca, 101, "bob@example.com");
  ASSERT_TRUE(policy->verifyAndMap(alice.cert.get(), nullptr));
  // The new CRL is DER this time; until reload the old one is in force.
  writeCrl(pki.crl_file, pki.ca, {100}, 86400, /*der=*/true);
  EXPECT_TRUE(policy->verifyAndMap(alice.cert.get(), nullptr));
  ASSERT_TRUE(policy->reloadCrls());
  auto r = policy->verifyAndMap(alice.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unauthenticated));
  EXPECT_NE(r.error().detail.find("revoked"), std::string::npos) << r.error().detail;
  EXPECT_TRUE(policy->verifyAndMap(bob.cert.get(), nullptr));
}

TEST(ClientCertPolicy, BadCrlReloadKeepsCurrentStore) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  writeCrl(pki.crl_file, pki.ca, {100});
  ASSERT_TRUE(policy->reloadCrls());
  std::ofstream(pki.crl_file) << "garbage";
  EXPECT_FALSE(policy->reloadCrls());
  Issued alice = userCert(pki.ca, 100);
  EXPECT_FALSE(policy->verifyAndMap(alice.cert.get(), nullptr));  // still revoked
}

// Reloads swap the store under verifications in flight (run under ASan in CI).
TEST(ClientCertPolicy, ReloadWhileVerifying) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  Issued alice = userCert(pki.ca, 100);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> verifiers;
  for (int t = 0; t < 2; ++t) {
    verifiers.emplace_back([&] {
      while (!stop) {
        if (!policy->verifyAndMap(alice.cert.get(), nullptr)) ++failures;
      }
    });
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(policy->reloadCrls());
  stop = true;
  for (auto& t : verifiers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ClientCertPolicy, EveryCertificateInTheChainIsCrlChecked) {
  Pki pki;
  Issued inter = makeCa("Rampart Test Issuing CA", &pki.ca, 7);
  Issued leaf = userCert(inter, 200);
  std::string inter_crl = pki.dir.file("inter.crl");
  writeCrl(inter_crl, inter, {});
  ClientCertConfig config = pki.config();
  config.crl_files.push_back(inter_crl);
  auto policy = makePolicy(config);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, inter.cert.get());
  auto ok = policy->verifyAndMap(leaf.cert.get(), chain);
  EXPECT_TRUE(ok) << ok.error().message();
  // The root revokes the intermediate: the leaf is refused although its own CRL is clean.
  writeCrl(pki.crl_file, pki.ca, {7});
  ASSERT_TRUE(policy->reloadCrls());
  auto r = policy->verifyAndMap(leaf.cert.get(), chain);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("revoked"), std::string::npos) << r.error().detail;
  // Without the intermediate's CRL the leaf cannot be checked: refused.
  writeCrl(pki.crl_file, pki.ca, {});
  config.crl_files.pop_back();
  auto no_inter_crl = makePolicy(config);
  EXPECT_FALSE(no_inter_crl->verifyAndMap(leaf.cert.get(), chain));
  sk_X509_free(chain);
}

TEST(ClientCertPolicy, ExpiredCrlFailsClosedUnlessAllowed) {
  Pki pki;
  writeCrl(pki.crl_file, pki.ca, {}, /*next=*/-60);
  Issued leaf = userCert(pki.ca, 100);
  auto strict = makePolicy(pki.config());
  auto r = strict->verifyAndMap(leaf.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("CRL has expired"), std::string::npos) << r.error().detail;
  ClientCertConfig lenient_config = pki.config();
  lenient_config.allow_expired_crl = true;
  auto lenient = makePolicy(lenient_config);
  EXPECT_TRUE(lenient->verifyAndMap(leaf.cert.get(), nullptr));
  // An expired CRL still revokes.
  writeCrl(pki.crl_file, pki.ca, {100}, -60);
  ASSERT_TRUE(lenient->reloadCrls());
  EXPECT_FALSE(lenient->verifyAndMap(leaf.cert.get(), nullptr));
}

TEST(ClientCertPolicy, UnknownCaRefused) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  Issued stranger_ca = makeCa("Somebody Else's CA");
  Issued leaf = userCert(stranger_ca, 100);
  auto r = policy->verifyAndMap(leaf.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unauthenticated));
  // Sending the stranger CA along as an intermediate does not help.
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, stranger_ca.cert.get());
  EXPECT_FALSE(policy->verifyAndMap(leaf.cert.get(), chain));
  sk_X509_free(chain);
}

TEST(ClientCertPolicy, ExpiredAndNotYetValidRefused) {
  Pki pki;
  CertSpec old;
  old.cn = "old";
  old.serial = 300;
  old.san = {"email:old@example.com"};
  old.not_before = -3 * 86400;
  old.not_after = -86400;
  Issued expired = issue(old, &pki.ca);
  auto policy = makePolicy(pki.config());
  auto r = policy->verifyAndMap(expired.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("expired"), std::string::npos) << r.error().detail;

  // The injected clock decides: two days on, a one-day certificate has expired.
  ManualClock clock(std::chrono::system_clock::now());
  auto clocked = makePolicy(pki.config(), {}, clock);
  Issued leaf = userCert(pki.ca, 301);
  EXPECT_TRUE(clocked->verifyAndMap(leaf.cert.get(), nullptr));
  clock.advance(std::chrono::hours(48));
  EXPECT_FALSE(clocked->verifyAndMap(leaf.cert.get(), nullptr));
}

TEST(ClientCertPolicy, ServerOnlyCertificateRefused) {
  Pki pki;
  CertSpec spec;
  spec.cn = "server";
  spec.serial = 400;
  spec.san = {"email:srv@example.com"};
  spec.eku = "serverAuth";
  Issued leaf = issue(spec, &pki.ca);
  EXPECT_FALSE(makePolicy(pki.config())->verifyAndMap(leaf.cert.get(), nullptr));
}

TEST(ClientCertPolicy, ConfigErrors) {
  Pki pki;
  ClientCertConfig config = pki.config();
  config.ca_file = pki.dir.file("missing.crt");
  EXPECT_FALSE(ClientCertPolicy::create(config));
  config = pki.config();
  config.crl_files = {pki.dir.file("missing.crl")};
  EXPECT_FALSE(ClientCertPolicy::create(config));
  config = pki.config();
  config.ocsp.enabled = true;  // without a transport
  EXPECT_FALSE(ClientCertPolicy::create(config));
}

// ---- a real handshake, then verifyAndMap(SSL*) ----

TEST(ClientCertPolicy, VerifiesThePeerOfAHandshake) {
  Pki pki;
  Issued inter = makeCa("Rampart Test Issuing CA", &pki.ca, 7);
  Issued leaf = userCert(inter, 500, "carol@example.com");
  std::string inter_crl = pki.dir.file("inter.crl");
  writeCrl(inter_crl, inter, {});
  auto server_files = testing::makeSelfSigned(pki.dir.path().string(), "gateway.example");

  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_EQ(
      SSL_CTX_use_certificate_file(server_ctx, server_files.cert_file.c_str(), SSL_FILETYPE_PEM),
      1);
  ASSERT_EQ(
      SSL_CTX_use_PrivateKey_file(server_ctx, server_files.key_file.c_str(), SSL_FILETYPE_PEM), 1);
  // The handshake only asks for the certificate; the policy decides afterwards.
  SSL_CTX_set_verify(server_ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_use_certificate(client_ctx, leaf.cert.get());
  SSL_CTX_use_PrivateKey(client_ctx, leaf.key.get());
  SSL_CTX_add1_chain_cert(client_ctx, inter.cert.get());

  SSL* server = SSL_new(server_ctx);
  SSL* client = SSL_new(client_ctx);
  BIO *server_bio = nullptr, *client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  bool server_done = false, client_done = false;
  for (int i = 0; i < 20 && !(server_done && client_done); ++i) {
    if (!client_done) client_done = SSL_do_handshake(client) == 1;
    if (!server_done) server_done = SSL_do_handshake(server) == 1;
  }
  ASSERT_TRUE(server_done && client_done) << ERR_error_string(ERR_get_error(), nullptr);
  // TLS 1.3 sends the client certificate in the client's second flight; make
  // sure the server has read it.
  ASSERT_NE(SSL_get0_peer_certificate(server), nullptr);

  ClientCertConfig config = pki.config();
  config.crl_files.push_back(inter_crl);
  auto policy = makePolicy(config);
  auto user = policy->verifyAndMap(server);
  ASSERT_TRUE(user) << user.error().message();
  EXPECT_EQ(*user, "carol@example.com");
  // The client side has no client certificate to check.
  EXPECT_FALSE(policy->verifyAndMap(client));

  SSL_free(server);
  SSL_free(client);
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
}

// ---- OCSP against a real `openssl ocsp` responder on loopback ----

std::string findOpenssl() {
  for (const char* p : {"/usr/bin/openssl", "/usr/local/bin/openssl"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// Minimal blocking HTTP/1.0 POST (RFC 6960 appendix A.1) to 127.0.0.1 or ::1.
Result<std::string> httpPost(const std::string& url, const std::string& body) {
  // url: http://HOST:PORT/...
  auto host_start = url.find("//");
  auto colon = url.rfind(':');
  if (host_start == std::string::npos || colon == std::string::npos) {
    return fail(Errc::invalid_argument, "bad URL");
  }
  int port = std::atoi(url.c_str() + colon + 1);
  auto path_pos = url.find('/', colon);
  std::string path = path_pos == std::string::npos ? "/" : url.substr(path_pos);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 addr6{};
    addr6.sin6_family = AF_INET6;
    addr6.sin6_port = htons(static_cast<uint16_t>(port));
    addr6.sin6_addr = in6addr_loopback;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr6), sizeof addr6) != 0) {
      ::close(fd);
      return fail(Errc::io_error, "connect failed");
    }
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = "POST " + path +
                    " HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/ocsp-request\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return fail(Errc::io_error, "send failed");
  }
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  auto end = resp.find("\r\n\r\n");
  if (end == std::string::npos || resp.compare(0, 9, "HTTP/1.0 ") != 0 ||
      resp.compare(9, 3, "200") != 0) {
    return fail(Errc::protocol_error, "bad HTTP answer");
  }
  return resp.substr(end + 4);
}

std::string serialHex(long serial) {
  BIGNUM* bn = BN_new();
  BN_set_word(bn, static_cast<BN_ULONG>(serial));
  char* hex = BN_bn2hex(bn);
  std::string s = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  // openssl ocsp looks rows up by BN_bn2hex of the serial, which pads to whole bytes.
  if (s.size() % 2) s = "0" + s;
  return s;
}

class OcspResponder {
 public:
  // Starts `openssl ocsp` for `pki.ca` with a delegated signing certificate;
  // `rows` are index.txt lines. Leaves port() == 0 when it could not start.
  OcspResponder(const Pki& pki, const std::string& openssl, const std::vector<std::string>& rows) {
    CertSpec spec;
    spec.cn = "Rampart Test OCSP Responder";
    spec.serial = 9000;
    spec.eku = "OCSPSigning";
    Issued signer = issue(spec, &pki.ca);
    std::string rsigner = pki.dir.file("ocsp.crt"), rkey = pki.dir.file("ocsp.key");
    writePem(rsigner, {signer.cert.get()});
    writeKey(rkey, signer.key.get());
    std::string index = pki.dir.file("index.txt");
    {
      std::ofstream out(index);
      for (const auto& row : rows) out << row << "\n";
    }
    log_ = pki.dir.file("ocsp.log");
    std::vector<std::string> args = {openssl, "ocsp",      "-index", index,   "-port",
                                     "0",     "-rsigner",  rsigner,  "-rkey", rkey,
                                     "-CA",   pki.ca_file, "-nmin",  "5",     "-ignore_err"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, openssl.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
    // Wait (bounded) for "ACCEPT [::]:PORT" in its output.
    for (int i = 0; pid_ != 0 && i < 100 && port_ == 0; ++i) {
      std::ifstream in(log_);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto pos = text.find("ACCEPT ");
      if (pos != std::string::npos) {
        auto line_end = text.find(' ', pos + 7);
        auto colon = text.rfind(':', line_end);
        if (colon != std::string::npos && colon > pos) port_ = std::atoi(text.c_str() + colon + 1);
      }
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~OcspResponder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  std::string log_;
};

std::string row(char status, long serial, const std::string& subject) {
  // index.txt: status, expiry, revocation time, serial (hex), file, subject.
  return std::string(1, status) + "\t301231235959Z\t" + (status == 'R' ? "250101000000Z" : "") +
         "\t" + serialHex(serial) + "\tunknown\t" + subject;
}

class ClientCertOcsp : public ::testing::Test {
 protected:
  void SetUp() override {
    openssl_ = findOpenssl();
    if (openssl_.empty()) GTEST_SKIP() << "openssl CLI not installed; OCSP tests skipped";
    responder_ = std::make_unique<OcspResponder>(
        pki_, openssl_,
        std::vector<std::string>{row('V', 600, "/CN=good"), row('R', 601, "/CN=revoked")});
    ASSERT_NE(responder_->port(), 0) << "openssl ocsp did not start: " << responder_->log();
  }
  ClientCertConfig ocspConfig() const {
    ClientCertConfig config;
    config.ca_file = pki_.ca_file;  // OCSP only: no CRL
    config.ocsp.enabled = true;
    return config;
  }
  OcspTransport countingTransport() {
    return [this](std::string url, std::string der) {
      ++calls_;
      last_url_ = url;
      return httpPost(url, der);
    };
  }

  Pki pki_;
  std::string openssl_;
  std::unique_ptr<OcspResponder> responder_;
  int calls_ = 0;
  std::string last_url_;
};

TEST_F(ClientCertOcsp, GoodAnswerAcceptedAndCached) {
  Issued good = userCert(pki_.ca, 600, "alice@example.com", responder_->url());
  auto policy = makePolicy(ocspConfig(), countingTransport());
  auto user = policy->verifyAndMap(good.cert.get(), nullptr);
  ASSERT_TRUE(user) << user.error().message() << "\n" << responder_->log();
  EXPECT_EQ(*user, "alice@example.com");
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(last_url_, responder_->url());  // from the certificate's AIA
  // Second time: answered from the cache (nextUpdate is 5 minutes ahead).
  ASSERT_TRUE(policy->verifyAndMap(good.cert.get(), nullptr));
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(policy->ocspQueries(), 1u);
  EXPECT_EQ(policy->ocspCacheEntries(), 1u);
}

TEST_F(ClientCertOcsp, CacheExpiresAtNextUpdate) {
  Issued good = userCert(pki_.ca, 600, "alice@example.com", responder_->url());
  ManualClock clock(std::chrono::system_clock::now());
  auto policy = makePolicy(ocspConfig(), countingTransport(), clock);
  ASSERT_TRUE(policy->verifyAndMap(good.cert.get(), nullptr));
  clock.advance(std::chrono::minutes(6));
  // The cached answer has passed nextUpdate; a fresh query is made (and its
  // answer, made at real time, is now "from the past" but within nextUpdate + skew).
  (void)policy->verifyAndMap(good.cert.get(), nullptr);
  EXPECT_EQ(calls_, 2);
}

TEST_F(ClientCertOcsp, RevokedRefusedAndCached) {
  Issued revoked = userCert(pki_.ca, 601, "mallory@example.com", responder_->url());
  auto policy = makePolicy(ocspConfig(), countingTransport());
  auto r = policy->verifyAndMap(revoked.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unauthenticated)) << r.error().message();
  EXPECT_EQ(r.error().detail, "client certificate: revoked (OCSP)");
  auto again = policy->verifyAndMap(revoked.cert.get(), nullptr);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().detail, "client certificate: revoked (OCSP, cached)");
  EXPECT_EQ(calls_, 1);
}

TEST_F(ClientCertOcsp, UnknownSerialRefused) {
  Issued unknown = userCert(pki_.ca, 602, "nobody@example.com", responder_->url());
  auto policy = makePolicy(ocspConfig(), countingTransport());
  auto r = policy->verifyAndMap(unknown.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "client certificate: unknown to the OCSP responder");
}

TEST_F(ClientCertOcsp, ConfiguredUrlOverridesAia) {
  Issued good = userCert(pki_.ca, 600);  // no AIA
  ClientCertConfig config = ocspConfig();
  auto no_url = makePolicy(config, countingTransport());
  auto r = no_url->verifyAndMap(good.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable));
  config.ocsp.responder_url = responder_->url();
  auto with_url = makePolicy(config, countingTransport());
  EXPECT_TRUE(with_url->verifyAndMap(good.cert.get(), nullptr));
}

TEST_F(ClientCertOcsp, NoAnswerFailsClosedUnlessSoftFail) {
  Issued good = userCert(pki_.ca, 600, "alice@example.com", responder_->url());
  OcspTransport down = [](std::string, std::string) -> Result<std::string> {
    return fail(Errc::io_error, "connection refused");
  };
  auto strict = makePolicy(ocspConfig(), down);
  auto r = strict->verifyAndMap(good.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable));
  ClientCertConfig soft = ocspConfig();
  soft.ocsp.require_answer = false;
  EXPECT_TRUE(makePolicy(soft, down)->verifyAndMap(good.cert.get(), nullptr));
  // Garbage instead of a response is no answer either.
  OcspTransport junk = [](std::string, std::string) -> Result<std::string> {
    return std::string("\x30\x03\x0a\x01\x00junk", 9);
  };
  EXPECT_FALSE(makePolicy(ocspConfig(), junk)->verifyAndMap(good.cert.get(), nullptr));
}

TEST_F(ClientCertOcsp, ReplayedResponseWithOldNonceRefused) {
  Issued good = userCert(pki_.ca, 600, "alice@example.com", responder_->url());
  std::string recorded;
  OcspTransport recorder = [&](std::string url, std::string der) {
    auto r = httpPost(url, der);
    if (r) recorded = *r;
    return r;
  };
  ASSERT_TRUE(makePolicy(ocspConfig(), recorder)->verifyAndMap(good.cert.get(), nullptr));
  ASSERT_FALSE(recorded.empty());
  OcspTransport replay = [&](std::string, std::string) -> Result<std::string> { return recorded; };
  auto r = makePolicy(ocspConfig(), replay)->verifyAndMap(good.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("nonce"), std::string::npos) << r.error().detail;
}

TEST_F(ClientCertOcsp, ResponseSignedByAnotherCaRefused) {
  // A responder for a different CA cannot vouch for our certificates.
  Pki other;
  OcspResponder rogue(other, openssl_, {row('V', 600, "/CN=good")});
  ASSERT_NE(rogue.port(), 0);
  Issued good = userCert(pki_.ca, 600, "alice@example.com", rogue.url());
  auto r = makePolicy(ocspConfig(), countingTransport())->verifyAndMap(good.cert.get(), nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(calls_, 1);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
  EXPECT_EQ(r.error().detail, "OCSP: response signature not trusted");
}

// An answer whose nextUpdate is minutes away is still asked again after
// max_cache_age (the gateway's crl_refresh), so a revocation shows within it.
TEST_F(ClientCertOcsp, CacheIsCappedAtMaxCacheAge) {
  Issued good = userCert(pki_.ca, 600, "alice@example.com", responder_->url());
  ManualClock clock(std::chrono::system_clock::now());
  ClientCertConfig config = ocspConfig();
  config.ocsp.max_cache_age = std::chrono::seconds(30);
  auto policy = makePolicy(config, countingTransport(), clock);
  ASSERT_TRUE(policy->verifyAndMap(good.cert.get(), nullptr)) << responder_->log();
  EXPECT_EQ(calls_, 1);
  clock.advance(std::chrono::seconds(20));
  ASSERT_TRUE(policy->verifyAndMap(good.cert.get(), nullptr));
  EXPECT_EQ(calls_, 1);  // cached
  clock.advance(std::chrono::seconds(11));  // 31 s: past the cap, nextUpdate (5 min) is not
  ASSERT_TRUE(policy->verifyAndMap(good.cert.get(), nullptr));
  EXPECT_EQ(calls_, 2);
  // Zero: never cached.
  config.ocsp.max_cache_age = std::chrono::seconds(0);
  auto uncached = makePolicy(config, countingTransport(), clock);
  ASSERT_TRUE(uncached->verifyAndMap(good.cert.get(), nullptr));
  ASSERT_TRUE(uncached->verifyAndMap(good.cert.get(), nullptr));
  EXPECT_EQ(calls_, 4);
  EXPECT_EQ(uncached->ocspCacheEntries(), 0u);
}

// ---- CRLs fetched from URLs, and the refresh timer ----

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The CRL `ca` would publish, as bytes (DER unless pem).
std::string crlBytes(const Pki& pki, const Issued& ca, std::vector<long> serials, long next = 86400,
                     bool pem = false) {
  std::string path = pki.dir.file("fetched.crl");
  writeCrl(path, ca, std::move(serials), next, !pem);
  return slurp(path);
}

constexpr const char* kCrlUrl = "http://127.0.0.1:8080/crl/issuing.crl";

TEST(ClientCertCrlUrls, FetchedCrlTakenOnlyWhenOurCaSignedIt) {
  Pki pki;
  ClientCertConfig config;
  config.ca_file = pki.ca_file;
  config.crl_urls = {kCrlUrl};
  auto policy = makePolicy(config);
  Issued alice = userCert(pki.ca, 100);
  Issued bob = userCert(pki.ca, 101, "bob@example.com");
  // A URL is configured but nothing fetched yet: fail closed.
  auto before = policy->verifyAndMap(alice.cert.get(), nullptr);
  ASSERT_FALSE(before);
  EXPECT_NE(before.error().detail.find("CRL"), std::string::npos) << before.error().detail;

  ASSERT_TRUE(policy->setCrl(kCrlUrl, crlBytes(pki, pki.ca, {100})));
  EXPECT_FALSE(policy->verifyAndMap(alice.cert.get(), nullptr));
  EXPECT_TRUE(policy->verifyAndMap(bob.cert.get(), nullptr));

  // A CRL from a stranger (same issuer name, another key), garbage, an empty
  // body and an older CRL are all refused; the one in force stays.
  Issued impostor = makeCa("Rampart Test Root CA");
  auto forged = policy->setCrl(kCrlUrl, crlBytes(pki, impostor, {}));
  ASSERT_FALSE(forged);
  EXPECT_TRUE(forged.error().is(Errc::invalid_argument));
  EXPECT_NE(forged.error().detail.find("not signed"), std::string::npos) << forged.error().detail;
  EXPECT_FALSE(policy->setCrl(kCrlUrl, "garbage"));
  EXPECT_FALSE(policy->setCrl(kCrlUrl, ""));
  auto older = policy->setCrl(kCrlUrl, crlBytes(pki, pki.ca, {}, /*next=*/1800));  // thisUpdate 30 min ago
  ASSERT_FALSE(older);
  EXPECT_NE(older.error().detail.find("older"), std::string::npos) << older.error().detail;
  EXPECT_FALSE(policy->verifyAndMap(alice.cert.get(), nullptr));  // still revoked

  // A newer one (PEM this time) un-revokes nothing it should not: here it revokes bob.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later thisUpdate second
  ASSERT_TRUE(policy->setCrl(kCrlUrl, crlBytes(pki, pki.ca, {101}, 86400, /*pem=*/true)));
  EXPECT_TRUE(policy->verifyAndMap(alice.cert.get(), nullptr));
  EXPECT_FALSE(policy->verifyAndMap(bob.cert.get(), nullptr));
}

TEST(ClientCertCrlUrls, RefreshFetchesEveryUrlAndKeepsWhatFails) {
  Pki pki;
  Issued inter = makeCa("Rampart Test Issuing CA", &pki.ca, 7);
  writePem(pki.ca_file, {pki.ca.cert.get(), inter.cert.get()});
  ClientCertConfig config;
  config.ca_file = pki.ca_file;
  config.crl_urls = {"http://ca/root.crl", "http://ca/issuing.crl"};
  auto policy = makePolicy(config);
  Issued leaf = userCert(inter, 200);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, inter.cert.get());

  std::map<std::string, std::string> served{{"http://ca/root.crl", crlBytes(pki, pki.ca, {})},
                                            {"http://ca/issuing.crl", crlBytes(pki, inter, {})}};
  std::vector<std::string> asked;
  CrlFetcher fetcher = [&](std::string url) -> Result<std::string> {
    asked.push_back(url);
    auto it = served.find(url);
    if (it == served.end()) return fail(Errc::unavailable, "connection refused");
    return it->second;
  };
  ASSERT_TRUE(policy->refreshCrls(fetcher));
  EXPECT_EQ(asked, config.crl_urls);
  auto ok = policy->verifyAndMap(leaf.cert.get(), chain);
  EXPECT_TRUE(ok) << ok.error().message();

  // The issuing CA's server is down this round: an error, but the root's new
  // CRL is taken, and the issuing CA's previous CRL stays in force.
  served.erase("http://ca/issuing.crl");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  served["http://ca/root.crl"] = crlBytes(pki, pki.ca, {7});
  EXPECT_FALSE(policy->refreshCrls(fetcher));
  auto r = policy->verifyAndMap(leaf.cert.get(), chain);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("revoked"), std::string::npos) << r.error().detail;

  // crl_check_all = false: only the leaf's CRL is needed (a CA that publishes
  // just its issuing CA's CRL).
  ClientCertConfig leaf_only = config;
  leaf_only.crl_urls = {"http://ca/issuing.crl"};
  leaf_only.crl_check_all = false;
  auto lp = makePolicy(leaf_only);
  ASSERT_TRUE(lp->setCrl("http://ca/issuing.crl", crlBytes(pki, inter, {})));
  auto lok = lp->verifyAndMap(leaf.cert.get(), chain);
  EXPECT_TRUE(lok) << lok.error().message();
  ASSERT_TRUE(lp->setCrl("http://ca/issuing.crl", crlBytes(pki, inter, {200})));
  EXPECT_FALSE(lp->verifyAndMap(leaf.cert.get(), chain));
  sk_X509_free(chain);
}

// The gateway's crl_refresh timer: a CRL replaced on disk is in force within
// the interval, without a SIGHUP / reloadCrls() call.
TEST(ClientCertCrlUrls, RefresherPicksUpAReplacedCrlFile) {
  Pki pki;
  auto policy = makePolicy(pki.config());
  Issued alice = userCert(pki.ca, 100);
  ASSERT_TRUE(policy->verifyAndMap(alice.cert.get(), nullptr));
  CrlRefresher refresher(policy, std::chrono::milliseconds(20), CrlFetcher{});
  // Replaced as a CA does it: a new file renamed over the old one.
  std::string fresh = pki.dir.file("ca.crl.new");
  writeCrl(fresh, pki.ca, {100});
  ASSERT_EQ(std::rename(fresh.c_str(), pki.crl_file.c_str()), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    refused = !policy->verifyAndMap(alice.cert.get(), nullptr);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused) << "the revocation was not picked up";
  EXPECT_GE(refresher.rounds(), 1u);
}

}  // namespace
}  // namespace rampart::gateway::auth
