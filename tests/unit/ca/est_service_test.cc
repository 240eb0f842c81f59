// The EST service (RFC 7030) behind the gateway, driven with http::Request
// objects against a real Authority on temporary files: who may enroll (the
// gateway's assertion, bound to the request), what comes back (certs-only
// CMS, 202 + Retry-After, csrattrs), and the error answers of every misstep.
#include "ca/est_service.h"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ca/ca_server.h"
#include "ca/template.h"
#include "http/client.h"
#include "testing/certs.h"
#include "tls/context.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/pkcs7.h"
#include "directory/builtin_directory.h"
#include "store/sqlite/sqlite_ca_store.h"
#include "testing/temp_dir.h"

namespace rampart::ca {
namespace {

namespace x509 = crypto::x509;
namespace asio = net::asio;

constexpr const char* kHost = "ca.example.test";

class EstServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.file("rampart.db");
    auto store = store::sqlite::SqliteCaStore::open(db);
    ASSERT_TRUE(store) << store.error().message();
    store_ = *store;
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto directory = directory::BuiltinDirectory::open(db, options);
    ASSERT_TRUE(directory) << directory.error().message();
    directory_ = std::shared_ptr<directory::BuiltinDirectory>(std::move(*directory));
    for (const char* name : {"alice", "bob"}) {
      directory::User user;
      user.name = name;
      user.addresses = {std::string(name) + "@example.test"};
      ASSERT_TRUE(directory_->addUser(user, "pw"));
    }
    AuthorityConfig config;
    config.dir = dir_.file("ca");
    config.retry_after = std::chrono::seconds(42);
    auto authority = Authority::open(config, store_, directory_, directory_, clock_);
    ASSERT_TRUE(authority) << authority.error().message();
    authority_ = *authority;

    key_.secret.fill(7);
    key_.id = crypto::assertionKeyId(key_.secret);
    service_ = std::make_unique<EstService>(
        authority_, std::make_unique<crypto::AssertionVerifier>(std::vector<crypto::AssertionKey>{key_}),
        EstOptions{}, clock_);
  }

  // A fresh P-256 key and the base64 of a CSR signed with it.
  std::string csrBody(x509::KeyPtr& key, const std::string& cn = "alice") {
    auto made = x509::generateKey(x509::KeyType::ec_p256);
    EXPECT_TRUE(made);
    key = std::move(*made);
    auto der = x509::makeCsr(key.get(), cn);
    EXPECT_TRUE(der);
    return x509::base64Lines(*der);
  }

  http::Request request(http::Verb verb, std::string target, std::string body = "",
                        std::string content_type = "application/pkcs10") {
    http::Request req{verb, target, 11};
    req.set(http::Field::host, kHost);
    if (!content_type.empty() && verb == http::Verb::post) req.set(http::Field::content_type, content_type);
    req.set("Content-Transfer-Encoding", "base64");
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  void sign(http::Request& req, const std::string& user, const std::string& method = "basic",
            const crypto::AssertionKey* key = nullptr) {
    crypto::RequestBinding binding{std::string(req.method_string()), kHost, std::string(req.target()),
                                   crypto::RequestBinding::sha256Hex(req.body())};
    crypto::AssertionSigner signer(key ? *key : key_);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
    req.set(kIdentityHeader, signer.sign({user, "", method, 1}, binding, now));
  }

  http::Response call(http::Request& req) { return service_->serve(req); }

  // The certificates of a certs-only base64 answer.
  std::vector<x509::CertPtr> certsOf(const http::Response& res) {
    auto der = x509::base64DecodeLenient(res.body(), 1 << 20);
    EXPECT_TRUE(der);
    if (!der) return {};
    auto certs = x509::parseCertsOnly(*der);
    EXPECT_TRUE(certs) << certs.error().message();
    if (!certs) return {};
    return std::move(*certs);
  }

  // Issues a certificate to alice through simpleenroll.
  x509::CertPtr enrollAlice(x509::KeyPtr& key) {
    auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
    sign(req, "alice");
    auto res = call(req);
    EXPECT_EQ(res.result_int(), 200) << res.body();
    auto certs = certsOf(res);
    if (certs.size() != 1) return nullptr;
    return std::move(certs[0]);
  }

  void putTemplate(const CertTemplate& t) { ASSERT_TRUE(store_->putTemplate(t.name, templateToToml(t))); }

  rampart::testing::TempDir dir_{"est-service"};
  ManualClock clock_{std::chrono::system_clock::now()};
  std::shared_ptr<store::sqlite::SqliteCaStore> store_;
  std::shared_ptr<directory::BuiltinDirectory> directory_;
  std::shared_ptr<Authority> authority_;
  crypto::AssertionKey key_;
  std::unique_ptr<EstService> service_;
};

TEST_F(EstServiceTest, EnrollIssuesACertificateForTheRequestKey) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
  sign(req, "alice");
  auto res = call(req);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::Field::content_type], "application/pkcs7-mime; smime-type=certs-only");
  EXPECT_EQ(res["Content-Transfer-Encoding"], "base64");
  auto certs = certsOf(res);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0].get()), key.get()), 1);
  EXPECT_NE(x509::subjectText(certs[0].get()).find("alice"), std::string::npos);
  // Recorded with who asked.
  auto record = store_->findBySerial(x509::serialHex(certs[0].get()));
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->user, "alice");
  EXPECT_EQ((*record)->requester, "alice (basic)");
}

TEST_F(EstServiceTest, ALabelPicksTheTemplate) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/device/simpleenroll", csrBody(key));
  sign(req, "alice");
  EXPECT_EQ(call(req).result_int(), 200);
}

TEST_F(EstServiceTest, NoAssertionIsForbidden) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
  EXPECT_EQ(call(req).result_int(), 403);
}

TEST_F(EstServiceTest, AForgedAssertionIsForbidden) {
  crypto::AssertionKey other;
  other.secret.fill(9);
  other.id = crypto::assertionKeyId(other.secret);
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
  sign(req, "alice", "basic", &other);
  EXPECT_EQ(call(req).result_int(), 403);
}

TEST_F(EstServiceTest, AnAssertionForAnotherBodyIsForbidden) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
  sign(req, "alice");
  x509::KeyPtr other;
  req.body() = csrBody(other);
  req.prepare_payload();
  EXPECT_EQ(call(req).result_int(), 403);
}

TEST_F(EstServiceTest, AReplayedAssertionIsForbidden) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key));
  sign(req, "alice");
  http::Request again = req;
  EXPECT_EQ(call(req).result_int(), 200);
  EXPECT_EQ(call(again).result_int(), 403);
}

TEST_F(EstServiceTest, ReenrollWithoutACertificateLoginIsForbidden) {
  x509::KeyPtr key;
  auto current = enrollAlice(key);
  ASSERT_TRUE(current);
  // Basic login: not a re-enrollment, whatever header comes along.
  auto basic = request(http::Verb::post, "/.well-known/est/simplereenroll", csrBody(key));
  basic.set(kClientCertHeader, x509::base64Lines(x509::certificateDer(current.get())));
  sign(basic, "alice", "basic");
  EXPECT_EQ(call(basic).result_int(), 403);
  // Certificate login but no certificate forwarded.
  auto bare = request(http::Verb::post, "/.well-known/est/simplereenroll", csrBody(key));
  sign(bare, "alice", "certificate");
  EXPECT_EQ(call(bare).result_int(), 403);
  // A forwarded certificate that is not one.
  auto junk = request(http::Verb::post, "/.well-known/est/simplereenroll", csrBody(key));
  junk.set(kClientCertHeader, "bm90IGEgY2VydGlmaWNhdGU=");
  sign(junk, "alice", "certificate");
  EXPECT_EQ(call(junk).result_int(), 403);
}

TEST_F(EstServiceTest, ReenrollWithTheCurrentCertificateInItsRenewalWindow) {
  x509::KeyPtr key;
  auto current = enrollAlice(key);
  ASSERT_TRUE(current);
  // Into the device template's renewal window (365 d lifetime, 30 d window).
  clock_.advance(std::chrono::hours(24 * 350));
  x509::KeyPtr next;
  auto req = request(http::Verb::post, "/.well-known/est/simplereenroll", csrBody(next));
  req.set(kClientCertHeader, x509::base64Lines(x509::certificateDer(current.get())));
  sign(req, "alice", "certificate");
  auto res = call(req);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  auto certs = certsOf(res);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0].get()), next.get()), 1);
  EXPECT_NE(x509::serialHex(certs[0].get()), x509::serialHex(current.get()));
}

TEST_F(EstServiceTest, ReenrollWithAnotherUsersCertificateIsRefused) {
  x509::KeyPtr key;
  auto current = enrollAlice(key);
  ASSERT_TRUE(current);
  clock_.advance(std::chrono::hours(24 * 350));
  x509::KeyPtr next;
  auto req = request(http::Verb::post, "/.well-known/est/simplereenroll", csrBody(next, "bob"));
  req.set(kClientCertHeader, x509::base64Lines(x509::certificateDer(current.get())));
  sign(req, "bob", "certificate");
  EXPECT_EQ(call(req).result_int(), 403);
}

TEST_F(EstServiceTest, ApprovalAnswers202WithRetryAfter) {
  CertTemplate t = defaultTemplate(TemplateKind::tls_client, "approved-device");
  t.require_approval = true;
  putTemplate(t);
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/approved-device/simpleenroll", csrBody(key));
  sign(req, "alice");
  auto res = call(req);
  EXPECT_EQ(res.result_int(), 202) << res.body();
  EXPECT_EQ(res[http::Field::retry_after], "42");
}

TEST_F(EstServiceTest, AUserOutsideTheEnrollGroupsIsRefused) {
  CertTemplate t = defaultTemplate(TemplateKind::tls_client, "staff-device");
  t.enroll_groups = {"staff"};
  putTemplate(t);
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/staff-device/simpleenroll", csrBody(key));
  sign(req, "alice");
  auto res = call(req);
  EXPECT_EQ(res.result_int(), 403);
  EXPECT_FALSE(res.body().empty());
}

TEST_F(EstServiceTest, BadBase64IsABadRequest) {
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", "!!! not base64 !!!");
  sign(req, "alice");
  EXPECT_EQ(call(req).result_int(), 400);
}

TEST_F(EstServiceTest, ACsrWhoseSignatureFailsIsABadRequest) {
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto der = x509::makeCsr(key->get(), "alice");
  ASSERT_TRUE(der);
  // The last byte is inside the signature's s value.
  der->back() = static_cast<char>(der->back() ^ 0x01);
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", x509::base64Lines(*der));
  sign(req, "alice");
  EXPECT_EQ(call(req).result_int(), 400);
}

TEST_F(EstServiceTest, OversizeBodiesAre413) {
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", std::string(65 * 1024, 'A'));
  sign(req, "alice");
  EXPECT_EQ(call(req).result_int(), 413);
}

TEST_F(EstServiceTest, WrongContentTypeIs415) {
  x509::KeyPtr key;
  auto req = request(http::Verb::post, "/.well-known/est/simpleenroll", csrBody(key), "text/plain");
  sign(req, "alice");
  EXPECT_EQ(call(req).result_int(), 415);
}

TEST_F(EstServiceTest, UnknownTemplateOperationAndMethod) {
  x509::KeyPtr key;
  auto unknown = request(http::Verb::post, "/.well-known/est/nosuch/simpleenroll", csrBody(key));
  sign(unknown, "alice");
  EXPECT_EQ(call(unknown).result_int(), 404);
  auto bad_label = request(http::Verb::get, "/.well-known/est/No%20Such/cacerts");
  EXPECT_EQ(call(bad_label).result_int(), 404);
  auto op = request(http::Verb::post, "/.well-known/est/serverkeygen", csrBody(key));
  sign(op, "alice");
  EXPECT_EQ(call(op).result_int(), 404);
  auto deep = request(http::Verb::get, "/.well-known/est/device/x/cacerts");
  EXPECT_EQ(call(deep).result_int(), 404);
  auto method = request(http::Verb::get, "/.well-known/est/simpleenroll");
  sign(method, "alice");
  auto res = call(method);
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(res[http::Field::allow], "POST");
}

TEST_F(EstServiceTest, CacertsIsTheChainWithoutAnAssertion) {
  auto req = request(http::Verb::get, "/.well-known/est/cacerts");
  auto res = call(req);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::Field::content_type], "application/pkcs7-mime");
  EXPECT_EQ(res["Content-Transfer-Encoding"], "base64");
  auto certs = certsOf(res);
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(x509::certificateDer(certs[0].get()), x509::certificateDer(authority_->issuing()));
  EXPECT_EQ(x509::certificateDer(certs[1].get()), x509::certificateDer(authority_->root()));
}

TEST_F(EstServiceTest, CsrattrsNamesTheTemplatesAlgorithms) {
  auto req = request(http::Verb::get, "/.well-known/est/csrattrs");
  sign(req, "alice");
  auto res = call(req);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(res[http::Field::content_type], "application/csrattrs");
  auto der = x509::base64DecodeLenient(res.body(), 4096);
  ASSERT_TRUE(der);
  // A well-formed SEQUENCE, naming prime256v1 and ecdsa-with-SHA256.
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ASN1_SEQUENCE_ANY* seq = d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(seq, nullptr);
  EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der->data()) + der->size());
  sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
  const std::string prime256v1("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
  const std::string ecdsa_sha256("\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 10);
  EXPECT_NE(der->find(prime256v1), std::string::npos);
  EXPECT_NE(der->find(ecdsa_sha256), std::string::npos);
  // Without an assertion: refused like any other operation but cacerts.
  auto anonymous = request(http::Verb::get, "/.well-known/est/csrattrs");
  EXPECT_EQ(call(anonymous).result_int(), 403);
}

// --- CaServer over real sockets: the PKI listener and the mTLS EST link. ---

class CaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string data = dir_.file("data");
    {
      // The user exists in the server's database before the CA opens it.
      std::filesystem::create_directories(data);
      directory::BuiltinDirectoryOptions options;
      options.time_cost = 1;
      options.memory_kib = 8;
      auto directory = directory::BuiltinDirectory::open(data + "/rampart.db", options);
      ASSERT_TRUE(directory) << directory.error().message();
      directory::User alice;
      alice.name = "alice";
      alice.addresses = {"alice@example.test"};
      ASSERT_TRUE((*directory)->addUser(alice, "pw"));
    }
    link_ = rampart::testing::makeSelfSigned(dir_.path().string(), "127.0.0.1");
    CaConfig config;
    config.data_dir = data;
    config.est.listen = "127.0.0.1:0";
    config.est.cert_file = link_.cert_file;
    config.est.key_file = link_.key_file;
    config.est.gateway_ca_file = link_.cert_file;  // the "gateway" presents the same certificate
    config.est.delegation_key_file = dir_.file("delegation.key");
    ASSERT_TRUE(crypto::writeNewAssertionKey(config.est.delegation_key_file));
    config.pki.listen = "127.0.0.1:0";
    config.pki.refresh_interval = std::chrono::milliseconds(20);
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto server = CaServer::create(config, io_.get_executor(), options);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  Result<http::Response> fetch(net::tcp::endpoint to, http::Request req, http::ClientOptions options = {}) {
    asio::io_context client;
    Result<http::Response> result = fail(Errc::internal, "not run");
    asio::co_spawn(client, http::fetch(to, req, options),
                   [&](std::exception_ptr, Result<http::Response> r) { result = std::move(r); });
    client.run();
    return result;
  }

  x509::CertPtr issue() {
    auto key = x509::generateKey(x509::KeyType::ec_p256);
    EXPECT_TRUE(key);
    auto der = x509::makeCsr(key->get(), "alice");
    EXPECT_TRUE(der);
    auto csr = x509::parseCsr(*der);
    EXPECT_TRUE(csr);
    EnrollRequest request;
    request.template_name = "device";
    request.user = "alice";
    request.requester = "alice (test)";
    auto result = server_->authority()->enroll(request, *csr);
    EXPECT_TRUE(result && result->kind == EnrollResult::Kind::issued);
    if (!result || !result->cert) return nullptr;
    return std::move(result->cert);
  }

  std::string ocspRequestDer(X509* cert) {
    OCSP_REQUEST* req = OCSP_REQUEST_new();
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, cert, server_->authority()->issuing());
    OCSP_request_add0_id(req, id);
    unsigned char* out = nullptr;
    int len = i2d_OCSP_REQUEST(req, &out);
    std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(len > 0 ? len : 0));
    OPENSSL_free(out);
    OCSP_REQUEST_free(req);
    return der;
  }

  // V_OCSP_CERTSTATUS_* of the one answer, or -1.
  int ocspStatus(const std::string& der, X509* cert) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    OCSP_RESPONSE* res = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
    if (res == nullptr) return -1;
    int status = -1;
    if (OCSP_response_status(res) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
      OCSP_BASICRESP* basic = OCSP_response_get1_basic(res);
      OCSP_CERTID* id = OCSP_cert_to_id(nullptr, cert, server_->authority()->issuing());
      int reason = 0;
      if (basic && id) OCSP_resp_find_status(basic, id, &status, &reason, nullptr, nullptr, nullptr);
      OCSP_CERTID_free(id);
      OCSP_BASICRESP_free(basic);
    }
    OCSP_RESPONSE_free(res);
    return status;
  }

  std::string opensslCrlText(const std::string& der) {
    if (std::system("openssl version >/dev/null 2>&1") != 0) return "SKIP";
    const std::string in = dir_.file("issuing.crl");
    const std::string out = dir_.file("crl.txt");
    std::ofstream(in, std::ios::binary) << der;
    std::string cmd = "openssl crl -inform DER -noout -text -in '" + in + "' > '" + out + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) return "";
    std::ifstream f(out);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
  }

  rampart::testing::TempDir dir_{"ca-server"};
  rampart::testing::CertFiles link_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<CaServer> server_;
};

TEST_F(CaServerTest, TheUrlsInCertificatesNameTheBoundPort) {
  const auto port = std::to_string(server_->pkiEndpoint().port());
  EXPECT_NE(server_->pkiEndpoint().port(), 0);
  EXPECT_EQ(server_->config().authority.ocsp_url, "http://127.0.0.1:" + port + "/ocsp");
  EXPECT_EQ(server_->config().authority.crl_url, "http://127.0.0.1:" + port + "/crl/issuing.crl");
}

TEST_F(CaServerTest, OcspPostAndGetAnswerGoodThenRevoked) {
  auto cert = issue();
  ASSERT_TRUE(cert);
  const std::string der = ocspRequestDer(cert.get());
  http::Request post{http::Verb::post, "/ocsp", 11};
  post.set(http::Field::content_type, "application/ocsp-request");
  post.body() = der;
  post.prepare_payload();
  auto res = fetch(server_->pkiEndpoint(), post);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  EXPECT_EQ((*res)[http::Field::content_type], "application/ocsp-response");
  EXPECT_EQ(ocspStatus(res->body(), cert.get()), V_OCSP_CERTSTATUS_GOOD);

  auto revoked = server_->authority()->revoke(x509::serialHex(cert.get()), 1, "test");
  ASSERT_TRUE(revoked) << revoked.error().message();
  // RFC 6960 A.1 GET: url-encoded base64, with '+', '/' and '=' escaped.
  std::string b64;
  for (char c : x509::base64Lines(der)) {
    if (c == '\n' || c == '\r') continue;
    if (c == '+') b64 += "%2B"; else if (c == '/') b64 += "%2F"; else if (c == '=') b64 += "%3D"; else b64 += c;
  }
  http::Request get{http::Verb::get, "/ocsp/" + b64, 11};
  res = fetch(server_->pkiEndpoint(), get);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  EXPECT_EQ(ocspStatus(res->body(), cert.get()), V_OCSP_CERTSTATUS_REVOKED);

  // Garbage still gets an OCSP answer (malformedRequest), not a crash.
  http::Request junk{http::Verb::get, "/ocsp/%%%", 11};
  res = fetch(server_->pkiEndpoint(), junk);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  EXPECT_EQ(ocspStatus(res->body(), cert.get()), -1);
  http::Request wrong_type = post;
  wrong_type.set(http::Field::content_type, "text/plain");
  res = fetch(server_->pkiEndpoint(), wrong_type);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 415);
}

TEST_F(CaServerTest, ARevocationByAnotherProcessReachesOcspWithinTheRefreshInterval) {
  auto cert = issue();
  ASSERT_TRUE(cert);
  http::Request post{http::Verb::post, "/ocsp", 11};
  post.set(http::Field::content_type, "application/ocsp-request");
  post.body() = ocspRequestDer(cert.get());
  post.prepare_payload();
  auto res = fetch(server_->pkiEndpoint(), post);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(ocspStatus(res->body(), cert.get()), V_OCSP_CERTSTATUS_GOOD);  // now cached
  {
    // `rampart admin cert revoke`: its own connection to the database.
    auto other = store::sqlite::SqliteCaStore::open(server_->config().database);
    ASSERT_TRUE(other) << other.error().message();
    ASSERT_TRUE((*other)->revoke(x509::serialHex(cert.get()), 1, unixSeconds(std::chrono::system_clock::now()), "admin"));
  }
  // The timer runs every 20 ms; allow a slow (sanitised, loaded) machine 10 s.
  int status = -1;
  for (int i = 0; i < 500 && status != V_OCSP_CERTSTATUS_REVOKED; ++i) {
    res = fetch(server_->pkiEndpoint(), post);
    ASSERT_TRUE(res) << res.error().message();
    status = ocspStatus(res->body(), cert.get());
    if (status != V_OCSP_CERTSTATUS_REVOKED) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, V_OCSP_CERTSTATUS_REVOKED);
}

TEST_F(CaServerTest, OpensslOcspGetsAVerifiedAnswer) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
  auto cert = issue();
  ASSERT_TRUE(cert);
  const std::string cert_file = dir_.file("leaf.pem");
  const std::string issuer_file = dir_.file("issuing.pem");
  const std::string chain_file = dir_.file("chain.pem");
  const std::string out = dir_.file("ocsp.txt");
  std::ofstream(cert_file) << x509::certificatePem(cert.get());
  std::ofstream(issuer_file) << x509::certificatePem(server_->authority()->issuing());
  std::string chain;
  for (X509* c : server_->authority()->chain()) chain += x509::certificatePem(c);
  std::ofstream(chain_file) << chain;
  // openssl ocsp POSTs with a nonce and checks the delegated responder's
  // signature and chain (RFC 6960 4.2.2.2).
  const std::string cmd = "openssl ocsp -issuer '" + issuer_file + "' -cert '" + cert_file + "' -url '" +
                          server_->config().authority.ocsp_url + "' -CAfile '" + chain_file + "' > '" + out +
                          "' 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream f(out);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("Response verify OK"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find(": good"), std::string::npos) << text.str();
}

TEST_F(CaServerTest, TheCrlIsDerThatOpensslReadsAndListsARevocation) {
  auto cert = issue();
  ASSERT_TRUE(cert);
  ASSERT_TRUE(server_->authority()->revoke(x509::serialHex(cert.get()), 1, "test"));
  http::Request get{http::Verb::get, "/crl/issuing.crl", 11};
  auto res = fetch(server_->pkiEndpoint(), get);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  EXPECT_EQ((*res)[http::Field::content_type], "application/pkix-crl");
  EXPECT_TRUE((*res)[http::Field::cache_control].starts_with("public, max-age="));
  auto crl = x509::parseCrl(res->body());
  ASSERT_TRUE(crl) << crl.error().message();
  std::string text = opensslCrlText(res->body());
  if (text == "SKIP") GTEST_SKIP() << "openssl CLI not installed";
  EXPECT_NE(text.find("Certificate Revocation List"), std::string::npos) << text;
  EXPECT_NE(text.find(x509::serialHex(cert.get())), std::string::npos) << text;
}

TEST_F(CaServerTest, ChainAndHealth) {
  http::Request chain{http::Verb::get, "/ca/chain.pem", 11};
  auto res = fetch(server_->pkiEndpoint(), chain);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  auto certs = x509::parseCertificates(res->body());
  ASSERT_TRUE(certs);
  EXPECT_EQ(certs->size(), 2u);
  http::Request health{http::Verb::get, "/healthz", 11};
  res = fetch(server_->pkiEndpoint(), health);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200);
  http::Request nothing{http::Verb::get, "/nothing", 11};
  res = fetch(server_->pkiEndpoint(), nothing);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 404);
}

TEST_F(CaServerTest, TheEstLinkWantsTheGatewaysCertificate) {
  http::Request req{http::Verb::get, "/.well-known/est/cacerts", 11};
  tls::ClientOptions with_cert;
  with_cert.ca_file = link_.cert_file;
  with_cert.cert_file = link_.cert_file;
  with_cert.key_file = link_.key_file;
  auto ctx = tls::makeClientContext(with_cert);
  ASSERT_TRUE(ctx) << ctx.error().message();
  http::ClientOptions options;
  options.tls = *ctx;
  options.sni = "127.0.0.1";
  auto res = fetch(server_->estEndpoint(), req, options);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200);
  EXPECT_EQ((*res)[http::Field::content_type], "application/pkcs7-mime");

  // simpleenroll end to end over the link, as the gateway forwards it.
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto csr = x509::makeCsr(key->get(), "alice");
  ASSERT_TRUE(csr);
  http::Request enroll{http::Verb::post, "/.well-known/est/simpleenroll", 11};
  enroll.set(http::Field::host, "ca.example.test");
  enroll.set(http::Field::content_type, "application/pkcs10");
  enroll.body() = x509::base64Lines(*csr);
  enroll.prepare_payload();
  auto assertion_key = crypto::loadAssertionKey(server_->config().est.delegation_key_file);
  ASSERT_TRUE(assertion_key) << assertion_key.error().message();
  crypto::AssertionSigner signer(*assertion_key);
  crypto::RequestBinding binding{"POST", "ca.example.test", "/.well-known/est/simpleenroll",
                                 crypto::RequestBinding::sha256Hex(enroll.body())};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  enroll.set(kIdentityHeader, signer.sign({"alice", "", "basic", 1}, binding, now));
  res = fetch(server_->estEndpoint(), enroll, options);
  ASSERT_TRUE(res) << res.error().message();
  ASSERT_EQ(res->result_int(), 200) << res->body();
  auto der = x509::base64DecodeLenient(res->body(), 1 << 20);
  ASSERT_TRUE(der);
  auto issued = x509::parseCertsOnly(*der);
  ASSERT_TRUE(issued && issued->size() == 1u);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey((*issued)[0].get()), key->get()), 1);

  tls::ClientOptions without_cert;
  without_cert.ca_file = link_.cert_file;
  auto bare = tls::makeClientContext(without_cert);
  ASSERT_TRUE(bare);
  options.tls = *bare;
  res = fetch(server_->estEndpoint(), req, options);
  EXPECT_FALSE(res && res->result_int() == 200);
}

}  // namespace
}  // namespace rampart::ca
