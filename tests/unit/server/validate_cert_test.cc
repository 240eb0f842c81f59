// ValidateCert (MS-ASCMD 2.2.1.22) against certificates from the real CA
// (ca/authority.h), whose CRL and OCSP answers are served over real HTTP on
// loopback by a tiny http::Server, as the CA's pki listener would; the trust
// anchors come from a PEM file as [eas] smime_trust_file gives them.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ca/authority.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "core/config.h"
#include "crypto/x509/csr.h"
#include "directory/builtin_directory.h"
#include "http/client.h"
#include "http/server.h"
#include "net/asio.h"
#include "server/eas/eas_config.h"
#include "server/eas/eas_service.h"
#include "server/eas/validate_cert_command.h"
#include "store/sqlite/sqlite_ca_store.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

namespace x509 = crypto::x509;
using namespace std::chrono_literals;

std::string base64(const std::string& der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The CA's CRL (GET /crl) and OCSP responder (POST /ocsp) over plain HTTP.
class PkiServer {
 public:
  PkiServer() {
    auto handler = [this](http::Request& req) -> net::Task<http::Response> {
      ++requests_;
      std::shared_ptr<ca::Authority> ca = ca_;
      if (!ca || down_) co_return http::textResponse(req, http::Status::service_unavailable, "");
      if (req.target() == "/crl" && req.method() == http::Verb::get) {
        auto crl = ca->crlDer();
        co_return http::textResponse(req, http::Status::ok, crl ? *crl : std::string(),
                                     "application/pkix-crl");
      }
      if (req.target() == "/ocsp" && req.method() == http::Verb::post) {
        co_return http::textResponse(req, http::Status::ok, ca->ocspRespond(req.body()),
                                     "application/ocsp-response");
      }
      co_return http::textResponse(req, http::Status::not_found, "");
    };
    auto server =
        http::Server::bind(io_.get_executor(), *net::parseEndpoint("127.0.0.1:0"), {}, handler);
    EXPECT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~PkiServer() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  std::string base() const {
    return "http://127.0.0.1:" + std::to_string(server_->localEndpoint().port());
  }

  std::shared_ptr<ca::Authority> ca_;  // set before the first request
  std::atomic<bool> down_{false};
  std::atomic<int> requests_{0};

 private:
  net::asio::io_context io_{1};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

class ValidateCertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail);
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices);
    devices_ = std::move(*devices);
    auto store = store::sqlite::SqliteCaStore::open(dir_.file("ca.db"));
    ASSERT_TRUE(store);
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto d = directory::BuiltinDirectory::open(dir_.file("directory.db"), options);
    ASSERT_TRUE(d);
    directory_ = std::shared_ptr<directory::BuiltinDirectory>(std::move(*d));
    ASSERT_TRUE(directory_->addUser({"alice", "Alice Example", true, {"alice@example.org"}}, "pw"));
    ca::AuthorityConfig config;
    config.dir = dir_.file("ca");
    config.crl_url = pki_.base() + "/crl";
    config.ocsp_url = pki_.base() + "/ocsp";
    auto ca = ca::Authority::open(config, *store, directory_, directory_, clock_);
    ASSERT_TRUE(ca) << ca.error().message();
    ca_ = *ca;
    pki_.ca_ = ca_;
    // [eas] smime_trust_file: the root alone (the issuing CA comes with the request).
    testing::spit(dir_.file("trust.pem"), x509::certificatePem(ca_->root()));
    setup(x509::RevocationMode::soft);
  }

  void setup(x509::RevocationMode mode, const std::string& trust = "trust.pem") {
    auto s = makeValidateCertSetup(trust.empty() ? std::string() : dir_.file(trust), mode, 2s);
    ASSERT_TRUE(s) << s.error().message();
    setup_ = *s;
  }

  x509::CertPtr issue(const std::string& tmpl) {
    auto key = x509::generateKey(x509::KeyType::ec_p256);
    auto csr = x509::parseCsr(*x509::makeCsr(key->get(), "alice", {"alice@example.org"}));
    EXPECT_TRUE(csr);
    ca::EnrollRequest req{tmpl, "alice", "alice (test)", nullptr};
    auto r = ca_->enroll(req, *csr);
    EXPECT_TRUE(r && r->cert);
    return r ? std::move(r->cert) : nullptr;
  }

  static std::string request(const std::vector<std::string>& certs,
                             const std::vector<std::string>& chain = {},
                             const std::string& check_crl = "") {
    std::string body = R"(<ValidateCert xmlns="ValidateCert:">)";
    if (!chain.empty()) {
      body += "<CertificateChain>";
      for (const auto& c : chain) body += "<Certificate>" + c + "</Certificate>";
      body += "</CertificateChain>";
    }
    body += "<Certificates>";
    for (const auto& c : certs) body += "<Certificate>" + c + "</Certificate>";
    body += "</Certificates>";
    if (!check_crl.empty()) body += "<CheckCRL>" + check_crl + "</CheckCRL>";
    return body + "</ValidateCert>";
  }

  std::string b64(X509* cert) { return base64(x509::certificateDer(cert)); }
  std::string issuing() { return b64(ca_->issuing()); }

  // The command's Status, then each certificate's.
  std::vector<std::string> run(const std::string& body, std::int64_t now = 0) {
    CommandContext ctx{*mail_, *devices_, "alice", "dev1", "16.1"};
    ctx.now = now != 0 ? now : unixSeconds(systemClock().now());
    auto doc = wbxml::parseXml(body);
    EXPECT_TRUE(doc) << doc.error().message();
    auto out = runValidateCert(ctx, *doc, *setup_);
    EXPECT_TRUE(out) << out.error().message();
    if (!out) return {};
    auto answer = wbxml::decode(*out);
    EXPECT_TRUE(answer);
    std::vector<std::string> statuses;
    EXPECT_EQ(answer->root.name, "ValidateCert");
    const wbxml::Element* top = answer->root.child("Status");
    statuses.push_back(top ? top->text : "<none>");
    for (const auto& c : answer->root.children) {
      if (c.name == "Certificate")
        statuses.push_back(c.child("Status") ? c.child("Status")->text : "<none>");
    }
    return statuses;
  }

  using V = std::vector<std::string>;

  testing::TempDir dir_{"rampart-validatecert"};
  PkiServer pki_;
  ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  std::shared_ptr<directory::BuiltinDirectory> directory_;
  std::shared_ptr<ca::Authority> ca_;
  std::shared_ptr<const ValidateCertSetup> setup_;
};

TEST_F(ValidateCertTest, GoodSigningAndEncryptionCertificates) {
  auto sign = issue("smime-sign");
  auto enc = issue("smime-encrypt");
  ASSERT_TRUE(sign && enc);
  EXPECT_EQ(run(request({b64(sign.get()), b64(enc.get())}, {issuing()})), (V{"1", "1", "1"}));
  // The issuing CA among the Certificates helps the others too.
  EXPECT_EQ(run(request({b64(sign.get()), issuing()})),
            (V{"1", "1", "9"}));        // a CA is no S/MIME certificate: "used incorrectly"
  EXPECT_EQ(pki_.requests_.load(), 0);  // no CheckCRL: nothing fetched
}

TEST_F(ValidateCertTest, RevokedOverRealHttpWhenCheckCrlIsSet) {
  auto sign = issue("smime-sign");
  ASSERT_TRUE(sign);
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "1")), (V{"1", "1"}));
  EXPECT_GE(pki_.requests_.load(), 1);
  ASSERT_TRUE(ca_->revoke(x509::serialHex(sign.get()), 1, "admin"));
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "1")), (V{"1", "13"}));
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "0")), (V{"1", "1"}));  // not asked
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()})), (V{"1", "1"}));
}

TEST_F(ValidateCertTest, RevocationServerDownSoftAndHard) {
  auto sign = issue("smime-sign");
  ASSERT_TRUE(sign);
  pki_.down_ = true;
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "1")), (V{"1", "1"}));
  setup(x509::RevocationMode::hard);
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "1")), (V{"1", "14"}));
  pki_.down_ = false;
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}, "1")), (V{"1", "1"}));
}

TEST_F(ValidateCertTest, PerCertificateFailures) {
  auto device = issue("device");
  auto sign = issue("smime-sign");
  ASSERT_TRUE(device && sign);
  // Wrong purpose (a TLS client certificate), not a certificate at all.
  EXPECT_EQ(run(request({b64(device.get()), base64("not a certificate")}, {issuing()})),
            (V{"1", "6", "5"}));
  // The issuing CA is neither sent nor trusted: the chain cannot be built.
  EXPECT_EQ(run(request({b64(sign.get())})), (V{"1", "5"}));
  // Expired: judged two years on.
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()}),
                unixSeconds(systemClock().now()) + 2 * 365 * 86400),
            (V{"1", "7"}));
  setup(x509::RevocationMode::soft, "");  // no smime_trust_file: nothing is trusted
  EXPECT_EQ(run(request({b64(sign.get())}, {issuing()})), (V{"1", "4"}));
}

TEST_F(ValidateCertTest, ForeignChainIsUntrusted) {
  // A second CA: its chain is complete, but its root is not in trust.pem.
  testing::TempDir other_dir{"rampart-validatecert-other"};
  auto store = store::sqlite::SqliteCaStore::open(other_dir.file("ca.db"));
  ASSERT_TRUE(store);
  ca::AuthorityConfig config;
  config.dir = other_dir.file("ca");
  config.root_name = "Elsewhere Root";
  auto other = ca::Authority::open(config, *store, directory_, directory_, clock_);
  ASSERT_TRUE(other);
  auto key = x509::generateKey(x509::KeyType::ec_p256);
  auto csr = x509::parseCsr(*x509::makeCsr(key->get(), "alice", {"alice@example.org"}));
  ca::EnrollRequest req{"smime-sign", "alice", "alice (test)", nullptr};
  auto r = (*other)->enroll(req, *csr);
  ASSERT_TRUE(r && r->cert);
  EXPECT_EQ(run(request({b64(r->cert.get())}, {b64((*other)->issuing()), b64((*other)->root())})),
            (V{"1", "4"}));
}

TEST_F(ValidateCertTest, ProtocolErrors) {
  auto sign = issue("smime-sign");
  std::vector<std::string> many(101, b64(sign.get()));
  for (const std::string& body :
       {request(many), request({"@@not base64@@"}),
        std::string(R"(<ValidateCert xmlns="ValidateCert:"><CheckCRL>1</CheckCRL></ValidateCert>)"),
        request({b64(sign.get())}, {}, "2")}) {
    EXPECT_EQ(run(body), (V{"2"})) << body.substr(0, 120);
  }
}

// MS-ASCMD 2.2.3.177.18: every verdict has its per-certificate Status.
TEST(ValidateCertStatusTest, EveryChainStatusHasItsCode) {
  using S = x509::ChainStatus;
  using V = ValidateCertStatus;
  const std::pair<S, V> table[] = {
      {S::ok, V::success},           {S::malformed, V::bad_chain},
      {S::bad_signature, V::bad_signature}, {S::untrusted_root, V::untrusted},
      {S::incomplete_chain, V::bad_chain},  {S::wrong_purpose, V::not_for_email},
      {S::leaf_is_ca, V::misused},          {S::bad_extension, V::bad_information},
      {S::ca_misuse, V::chain_misuse},      {S::expired, V::expired},
      {S::bad_time_nesting, V::time_nesting}, {S::no_revocation_info, V::revocation_unknown},
      {S::revoked, V::revoked},             {S::revocation_unknown, V::revocation_offline}};
  for (auto [chain, code] : table) {
    EXPECT_EQ(static_cast<int>(validateCertStatus(chain)), static_cast<int>(code))
        << x509::chainStatusName(chain);
  }
  EXPECT_EQ(static_cast<int>(V::misused), 9);
  EXPECT_EQ(static_cast<int>(V::bad_information), 10);
  EXPECT_EQ(static_cast<int>(V::chain_misuse), 11);
}

// The fetcher ValidateCert uses (http::fetchRevocationInfo, as the server
// sets it up: names not resolved) against the CA's real PKI listener.
TEST_F(ValidateCertTest, FetcherRefusesWhatItShouldNot) {
  http::RevocationFetch how;
  how.deadline = 2s;
  EXPECT_FALSE(http::fetchRevocationInfo("https://127.0.0.1/crl", "", how));
  EXPECT_FALSE(http::fetchRevocationInfo("http://ca.example.org/crl", "", how));  // names are not resolved
  EXPECT_FALSE(http::fetchRevocationInfo("ldap://127.0.0.1/cn=crl", "", how));
  EXPECT_FALSE(http::fetchRevocationInfo("http://127.0.0.1:99999/crl", "", how));
  EXPECT_FALSE(http::fetchRevocationInfo("http://[::1/crl", "", how));
  auto crl = http::fetchRevocationInfo(pki_.base() + "/crl", "", how);
  ASSERT_TRUE(crl) << crl.error().message();
  EXPECT_TRUE(x509::parseCrl(*crl));
  auto missing = http::fetchRevocationInfo(pki_.base() + "/nothing", "", how);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("answered HTTP 404"), std::string::npos) << missing.error().detail;

  // The device's setting: a name is resolved ("localhost").
  std::string by_name = pki_.base();
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  EXPECT_FALSE(http::fetchRevocationInfo(by_name + "/crl", "", how));
  how.resolve_names = true;
  auto named = http::fetchRevocationInfo(by_name + "/crl", "", how);
  ASSERT_TRUE(named) << named.error().message();
  EXPECT_EQ(*named, *crl);
}

// Through the EAS front door: OPTIONS lists both commands; a provisioned
// device's ResolveRecipients gets the certificate the CA published when it
// issued from the smime-encrypt template, and its ValidateCert is judged
// against [eas] smime_trust_file.
TEST_F(ValidateCertTest, DispatchedByTheEasService) {
  auto enc = issue("smime-encrypt");  // published to the directory by the CA
  ASSERT_TRUE(enc);
  const std::string db = dir_.file("service.db");
  auto mail = store::sqlite::openSqliteMailStore(db);
  ASSERT_TRUE(mail);
  auto devices = store::sqlite::openSqliteDeviceStore(db, systemRandom());
  ASSERT_TRUE(devices);
  std::shared_ptr<store::DeviceStore> device_store(std::move(*devices));
  ASSERT_TRUE(device_store->upsertDevice("alice", "DEV1", {"Test", "test/1", 1000}));
  auto temporary = device_store->beginProvision("alice", "DEV1");
  ASSERT_TRUE(temporary);
  auto key = device_store->confirmProvision("alice", "DEV1", *temporary, 1);
  ASSERT_TRUE(key);
  EasConfig config;
  config.smime_trust_file = dir_.file("trust.pem");
  net::asio::thread_pool pool(1);
  {
    EasService service(directory_, std::shared_ptr<store::MailStore>(std::move(*mail)),
                       device_store, config, pool.get_executor());
    auto send = [&](http::Request& req) {
      net::asio::io_context io;
      auto done = net::asio::co_spawn(io, service.handle(req), net::asio::use_future);
      io.run();
      return done.get();
    };
    auto post = [&](const std::string& cmd, const std::string& xml_body) {
      http::Request req{
          http::Verb::post,
          "/Microsoft-Server-ActiveSync?Cmd=" + cmd + "&User=alice&DeviceId=DEV1&DeviceType=Test",
          11};
      req.set(http::Field::host, "mail.example.test");
      req.set(http::Field::authorization, "Basic " + base64("alice:pw"));
      req.set("MS-ASProtocolVersion", "16.1");
      req.set("X-MS-PolicyKey", std::to_string(*key));
      req.set(http::Field::content_type, "application/vnd.ms-sync.wbxml");
      auto doc = wbxml::parseXml(xml_body);
      EXPECT_TRUE(doc);
      auto bytes = wbxml::encode(*doc);
      EXPECT_TRUE(bytes);
      req.body().assign(bytes->begin(), bytes->end());
      http::Response res = send(req);
      EXPECT_EQ(res.result_int(), 200) << res.body();
      auto answer = wbxml::decode(
          std::span(reinterpret_cast<const std::uint8_t*>(res.body().data()), res.body().size()));
      EXPECT_TRUE(answer) << res.body();
      return answer ? answer->root : wbxml::Element{};
    };
    http::Request options{http::Verb::options, "/Microsoft-Server-ActiveSync", 11};
    options.set(http::Field::host, "mail.example.test");
    options.set(http::Field::authorization, "Basic " + base64("alice:pw"));
    http::Response listed = send(options);
    std::string commands(listed["MS-ASProtocolCommands"]);
    EXPECT_NE(commands.find("ResolveRecipients"), std::string::npos) << commands;
    EXPECT_NE(commands.find("ValidateCert"), std::string::npos) << commands;

    auto resolved = post(
        "ResolveRecipients",
        R"(<ResolveRecipients xmlns="ResolveRecipients:"><To>alice@example.org</To>)"
        R"(<Options><CertificateRetrieval>2</CertificateRetrieval></Options></ResolveRecipients>)");
    const wbxml::Element* response = resolved.child("Response");
    ASSERT_NE(response, nullptr);
    const wbxml::Element* recipient = response->child("Recipient");
    ASSERT_NE(recipient, nullptr);
    const wbxml::Element* certs = recipient->child("Certificates");
    ASSERT_NE(certs, nullptr);
    ASSERT_NE(certs->child("Status"), nullptr);
    EXPECT_EQ(certs->child("Status")->text, "1");
    ASSERT_NE(certs->child("Certificate"), nullptr);
    EXPECT_EQ(certs->child("Certificate")->text, b64(enc.get()));

    auto validated = post("ValidateCert", request({b64(enc.get())}, {issuing()}));
    std::vector<std::string> statuses;
    for (const auto& c : validated.children) {
      if (c.name == "Status") statuses.push_back(c.text);
      if (c.name == "Certificate" && c.child("Status")) statuses.push_back(c.child("Status")->text);
    }
    EXPECT_EQ(statuses, (V{"1", "1"}));
    service.stop();
  }
  pool.join();
}

TEST(EasConfigTest, RevocationKeys) {
  auto file = ConfigFile::parse(
      "[eas]\nsmime_trust_file = \"/etc/rampart/ca.pem\"\nrevocation = \"hard\"\n"
      "revocation_timeout = \"3s\"\n",
      "test.toml");
  ASSERT_TRUE(file) << file.error().message();
  EasConfig config;
  auto section = file->root().section("eas");
  readEasConfig(section, config);
  auto done = file->finish();
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(config.smime_trust_file, "/etc/rampart/ca.pem");
  EXPECT_EQ(config.revocation, x509::RevocationMode::hard);
  EXPECT_EQ(config.revocation_timeout, 3s);
  auto bad = ConfigFile::parse("[eas]\nrevocation = \"sometimes\"\n", "bad.toml");
  ASSERT_TRUE(bad);
  EasConfig c2;
  auto s2 = bad->root().section("eas");
  readEasConfig(s2, c2);
  EXPECT_FALSE(bad->finish());
}

}  // namespace
}  // namespace rampart::server::eas
