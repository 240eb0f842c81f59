// The authenticator's certificate_or_basic (issue 5): a presented client
// certificate decides on its own (good: "certificate"; bad: 403, never Basic
// instead); without one, Basic as for `basic`.
#include "gateway/authenticator.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "directory/builtin_directory.h"
#include "http/server.h"
#include "net/listener.h"
#include "gateway/metrics.h"
#include "testing/certs.h"
#include "testing/temp_dir.h"

namespace rampart::gateway {
namespace {

namespace asio = boost::asio;

struct Cert {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  ~Cert() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

void ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(e, nullptr);
  X509_add_ext(cert, e, -1);
  X509_EXTENSION_free(e);
}

// A CA (issuer null) or a client certificate for `email` signed by `issuer`.
void make(Cert& out, const std::string& cn, const Cert* issuer, const std::string& email, long serial) {
  out.key = EVP_EC_gen("P-256");
  out.cert = X509_new();
  X509_set_version(out.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(out.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(out.cert), 86400);
  X509_set_pubkey(out.cert, out.key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(out.cert), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert : out.cert;
  X509_set_issuer_name(out.cert, X509_get_subject_name(issuer_cert));
  if (!issuer) {
    ext(out.cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    ext(out.cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ext(out.cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    ext(out.cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    ext(out.cert, issuer_cert, NID_ext_key_usage, "clientAuth");
    ext(out.cert, issuer_cert, NID_subject_alt_name, ("email:" + email).c_str());
  }
  ASSERT_GT(X509_sign(out.cert, issuer ? issuer->key : out.key, EVP_sha256()), 0);
}

// A finished TLS handshake over a BIO pair; the server side is what the
// authenticator sees. `client_cert` may be null (no certificate sent).
struct Handshake {
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* server = nullptr;
  SSL* client = nullptr;
  bool done = false;
  Handshake(const testing::CertFiles& server_files, const Cert* client_cert) {
    SSL_CTX_use_certificate_file(server_ctx, server_files.cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(server_ctx, server_files.key_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_verify(server_ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    if (client_cert) {
      SSL_CTX_use_certificate(client_ctx, client_cert->cert);
      SSL_CTX_use_PrivateKey(client_ctx, client_cert->key);
    }
    server = SSL_new(server_ctx);
    client = SSL_new(client_ctx);
    BIO *sb = nullptr, *cb = nullptr;
    BIO_new_bio_pair(&sb, 0, &cb, 0);
    SSL_set_bio(server, sb, sb);
    SSL_set_bio(client, cb, cb);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    bool s = false, c = false;
    for (int i = 0; i < 20 && !(s && c); ++i) {
      if (!c) c = SSL_do_handshake(client) == 1;
      if (!s) s = SSL_do_handshake(server) == 1;
    }
    // TLS 1.3: the client's certificate arrives in its second flight; a read
    // on the server takes it in.
    char byte;
    SSL_read(server, &byte, 1);
    ERR_clear_error();
    done = s && c;
  }
  ~Handshake() {
    SSL_free(server);
    SSL_free(client);
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
  }
};

std::string basic(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

class CertificateOrBasic : public ::testing::Test {
 protected:
  void SetUp() override {
    make(ca_, "Rampart Test Device CA", nullptr, "", 1);
    make(alice_, "alice", &ca_, "alice@example.test", 10);
    make(stranger_ca_, "Rampart Test Device CA", nullptr, "", 1);  // same name, other key
    make(forged_, "alice", &stranger_ca_, "alice@example.test", 11);
    std::string ca_file = dir_.file("device-ca.crt");
    FILE* f = std::fopen(ca_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, ca_.cert);
    std::fclose(f);
    server_files_ = testing::makeSelfSigned(dir_.path().string(), "gateway.example");
    {
      auto directory = directory::BuiltinDirectory::open(dir_.file("rampart.db"));
      ASSERT_TRUE(directory) << directory.error().message();
      ASSERT_TRUE((*directory)->addUser({"alice", "Alice", true, {"alice@example.test"}}, "s3cret"));
    }
    GatewayConfig& config = config_;
    config.data_dir = dir_.path().string();
    config.auth.directory_data_dir = dir_.path().string();
    config.auth.client_cert.ca_file = ca_file;
    config.auth.client_cert.mapping = "san_email_local";
    RuleConfig rule;
    rule.name = "est";
    rule.path = "/.well-known/est";
    rule.auth = AuthMethod::certificate_or_basic;
    rule.realm = "EST";
    rule.backend = "127.0.0.1:1";
    rule.backend_tls = false;
    config.rules.push_back(rule);
    rule_ = config.rules.front();
    auto auth = Authenticator::create(config, metrics_);
    ASSERT_TRUE(auth) << auth.error().message();
    auth_ = std::move(*auth);
  }

  // A CRL of the device CA revoking `serials`, DER.
  std::string crlDer(std::vector<long> serials) {
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_.cert));
    ASN1_TIME* last = X509_gmtime_adj(nullptr, -60 + crl_age_++);  // each one newer
    ASN1_TIME* next = X509_gmtime_adj(nullptr, 86400);
    X509_CRL_set1_lastUpdate(crl, last);
    X509_CRL_set1_nextUpdate(crl, next);
    for (long serial : serials) {
      X509_REVOKED* r = X509_REVOKED_new();
      ASN1_INTEGER* s = ASN1_INTEGER_new();
      ASN1_INTEGER_set(s, serial);
      X509_REVOKED_set_serialNumber(r, s);
      X509_REVOKED_set_revocationDate(r, last);
      X509_CRL_add0_revoked(crl, r);
      ASN1_INTEGER_free(s);
    }
    EXPECT_GT(X509_CRL_sign(crl, ca_.key, EVP_sha256()), 0);
    unsigned char* der = nullptr;
    int n = i2d_X509_CRL(crl, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return out;
  }

  AuthVerdict run(SSL* ssl, std::optional<std::string> authorization) {
    ConnectionAuth connection;
    AuthRequest req;
    req.rule = &rule_;
    if (authorization) req.authorization = std::string_view(*authorization);
    req.client = asio::ip::make_address("192.0.2.7");
    req.ssl = ssl;
    req.connection = &connection;
    asio::io_context io(1);
    auto future = asio::co_spawn(io, auth_->authenticate(req), asio::use_future);
    io.run();
    return future.get();
  }

  testing::TempDir dir_{"rampart-gw-auth"};
  GatewayConfig config_;
  long crl_age_ = 0;
  Cert ca_, alice_, stranger_ca_, forged_;
  testing::CertFiles server_files_;
  MetricsRegistry metrics_;
  RuleConfig rule_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(CertificateOrBasic, AGoodCertificateIsEnoughAndBasicIsNotLookedAt) {
  Handshake hs(server_files_, &alice_);
  ASSERT_TRUE(hs.done);
  ASSERT_NE(SSL_get0_peer_certificate(hs.server), nullptr);
  for (std::optional<std::string> authorization :
       {std::optional<std::string>{}, std::optional<std::string>{basic("alice", "wrong")}}) {
    AuthVerdict v = run(hs.server, authorization);
    ASSERT_EQ(v.kind, AuthVerdict::Kind::ok) << v.reason;
    EXPECT_EQ(v.identity.user, "alice");
    EXPECT_EQ(v.identity.method, "certificate");
    EXPECT_EQ(v.identity.strength, 1);
    EXPECT_TRUE(v.client_certificate);
  }
}

TEST_F(CertificateOrBasic, ABadCertificateIsRefusedNotDowngradedToBasic) {
  Handshake hs(server_files_, &forged_);
  ASSERT_TRUE(hs.done);
  ASSERT_NE(SSL_get0_peer_certificate(hs.server), nullptr);
  // Even with the right password: a presented certificate that fails is 403.
  AuthVerdict v = run(hs.server, basic("alice", "s3cret"));
  EXPECT_EQ(v.kind, AuthVerdict::Kind::forbidden) << v.reason;
  EXPECT_FALSE(v.client_certificate);
}

TEST_F(CertificateOrBasic, WithoutACertificateItIsBasic) {
  Handshake hs(server_files_, nullptr);
  ASSERT_TRUE(hs.done);
  ASSERT_EQ(SSL_get0_peer_certificate(hs.server), nullptr);
  EXPECT_EQ(run(hs.server, std::nullopt).kind, AuthVerdict::Kind::challenge);
  EXPECT_EQ(run(hs.server, basic("alice", "wrong")).kind, AuthVerdict::Kind::challenge);
  AuthVerdict v = run(hs.server, basic("alice", "s3cret"));
  ASSERT_EQ(v.kind, AuthVerdict::Kind::ok) << v.reason;
  EXPECT_EQ(v.identity.user, "alice");
  EXPECT_EQ(v.identity.method, "basic");
  EXPECT_EQ(v.identity.strength, 1);
  EXPECT_FALSE(v.client_certificate);
}

// A CA's CRL distribution point over plain HTTP on loopback.
class CrlServer {
 public:
  explicit CrlServer(std::string crl) : crl_(std::move(crl)) {
    auto handler = [this](http::Request& req) -> net::Task<http::Response> {
      ++requests_;
      std::string body;
      {
        std::lock_guard lock(mutex_);
        body = crl_;
      }
      if (req.target() != "/crl/issuing.crl") co_return http::textResponse(req, http::Status::not_found, "");
      co_return http::textResponse(req, http::Status::ok, body, "application/pkix-crl");
    };
    auto server = http::Server::bind(io_.get_executor(), *net::parseEndpoint("127.0.0.1:0"), {}, handler);
    EXPECT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CrlServer() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  void set(std::string crl) {
    std::lock_guard lock(mutex_);
    crl_ = std::move(crl);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->localEndpoint().port()) + "/crl/issuing.crl";
  }
  int requests() const { return requests_.load(); }

 private:
  asio::io_context io_{1};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::string crl_;
  std::atomic<int> requests_{0};
};

// [auth.client_cert] crl_urls: fetched over HTTP when the gateway starts, and
// again every crl_refresh: a revocation published later is in force without a SIGHUP.
TEST_F(CertificateOrBasic, CrlUrlIsFetchedAtStartAndOnTheRefreshTimer) {
  CrlServer ca(crlDer({}));
  config_.auth.client_cert.crl_urls = {ca.url()};
  config_.auth.client_cert.crl_refresh = std::chrono::milliseconds(50);  // the loader's minimum is 1 s
  auth_.reset();
  auto auth = Authenticator::create(config_, metrics_);
  ASSERT_TRUE(auth) << auth.error().message();
  auth_ = std::move(*auth);
  EXPECT_GE(ca.requests(), 1);
  Handshake hs(server_files_, &alice_);
  ASSERT_TRUE(hs.done);
  AuthVerdict before = run(hs.server, std::nullopt);
  ASSERT_EQ(before.kind, AuthVerdict::Kind::ok) << before.reason;

  ca.set(crlDer({10}));  // alice's serial
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  AuthVerdict after;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    after = run(hs.server, std::nullopt);
  } while (after.kind == AuthVerdict::Kind::ok && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after.kind, AuthVerdict::Kind::forbidden) << after.reason;
  EXPECT_NE(after.reason.find("revoked"), std::string::npos) << after.reason;
}

TEST_F(CertificateOrBasic, CrlUrlThatCannotBeFetchedFailsClosed) {
  config_.auth.client_cert.crl_urls = {"http://127.0.0.1:1/crl/issuing.crl"};
  auth_.reset();
  auto auth = Authenticator::create(config_, metrics_);
  ASSERT_TRUE(auth) << auth.error().message();  // the CA may come up later
  auth_ = std::move(*auth);
  Handshake hs(server_files_, &alice_);
  ASSERT_TRUE(hs.done);
  EXPECT_EQ(run(hs.server, std::nullopt).kind, AuthVerdict::Kind::forbidden);
}

}  // namespace
}  // namespace rampart::gateway
