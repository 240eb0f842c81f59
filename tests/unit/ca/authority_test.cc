// The certificate authority against real peers: what it issues is checked by
// `openssl verify` / `openssl x509`, its CRL by `openssl verify -crl_check`,
// its OCSP answers by `openssl ocsp` and GnuTLS `ocsptool` (skipped when a
// tool is missing). Store and directory are the real SQLite ones.
#include "ca/authority.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ca/detail/issuer.h"
#include "ca/template.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "store/sqlite/sqlite_ca_store.h"
#include "testing/certs.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::ca {
namespace {

using rampart::testing::slurp;
using rampart::testing::spit;

namespace x509 = crypto::x509;
using namespace std::chrono_literals;

bool have(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

struct Shell {
  int rc = -1;
  std::string out;
};

// Runs a shell command in `dir`, stdout and stderr together.
Shell sh(const std::string& dir, const std::string& cmd) {
  std::string full = "cd '" + dir + "' && (" + cmd + ") 2>&1";
  Shell r;
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffff;
  return st.st_mode & 0777;
}

// Records what the CA publishes; every other DirectoryAdmin call is refused.
class PublishSink final : public directory::DirectoryAdmin {
 public:
  std::vector<std::pair<std::string, directory::PublishedCertificate>> published;
  std::vector<std::string> withdrawn;

  Status publishCertificate(std::string_view user, const directory::PublishedCertificate& cert) override {
    published.emplace_back(std::string(user), cert);
    return {};
  }
  Status unpublishCertificate(std::string_view serial) override {
    withdrawn.emplace_back(serial);
    return {};
  }
  Status addUser(const directory::User&, std::string_view) override { return no(); }
  Status setPassword(std::string_view, std::string_view) override { return no(); }
  Status setEnabled(std::string_view, bool) override { return no(); }
  Status addAddress(std::string_view, std::string_view) override { return no(); }
  Status removeAddress(std::string_view, std::string_view) override { return no(); }
  Status removeUser(std::string_view) override { return no(); }
  Result<std::vector<directory::User>> listUsers() override { return no(); }
  Status addGroup(std::string_view) override { return no(); }
  Status removeGroup(std::string_view) override { return no(); }
  Status addMember(std::string_view, std::string_view) override { return no(); }
  Status removeMember(std::string_view, std::string_view) override { return no(); }
  Result<std::vector<directory::Group>> listGroups() override { return no(); }

 private:
  static tl::unexpected<Error> no() { return fail(Errc::unavailable, "test sink"); }
};

store::CertFilter pendingOnly() {
  store::CertFilter f;
  f.status = store::CertStatus::pending;
  return f;
}

class AuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::sqlite::SqliteCaStore::open(tmp_.file("ca.db"));
    ASSERT_TRUE(store) << store.error().message();
    store_ = *store;
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto dir = directory::BuiltinDirectory::open(tmp_.file("directory.db"), options);
    ASSERT_TRUE(dir) << dir.error().message();
    directory_ = std::shared_ptr<directory::BuiltinDirectory>(std::move(*dir));
    ASSERT_TRUE(directory_->addUser({"alice", "Alice Example", true, {"alice@example.org", "a@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->addUser({"bob", "Bob", true, {"bob@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->addUser({"carol", "Carol", true, {"carol@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->setEnabled("carol", false));
    config_.dir = tmp_.file("ca");
    config_.crl_url = "http://127.0.0.1:8080/crl/issuing.crl";
    config_.ocsp_url = "http://127.0.0.1:8080/ocsp";
    config_.retry_after = 90s;
  }

  std::shared_ptr<Authority> open() {
    auto ca = Authority::open(config_, store_, directory_, sink_, clock_);
    EXPECT_TRUE(ca) << ca.error().message();
    return ca ? *ca : nullptr;
  }

  static x509::ParsedCsr csrFor(EVP_PKEY* key, const std::vector<std::string>& emails = {}) {
    auto der = x509::makeCsr(key, "whatever", emails);
    EXPECT_TRUE(der) << der.error().message();
    auto csr = x509::parseCsr(*der);
    EXPECT_TRUE(csr) << csr.error().message();
    return std::move(*csr);
  }
  static x509::ParsedCsr freshCsr(x509::KeyType type = x509::KeyType::ec_p256) {
    auto key = x509::generateKey(type);
    EXPECT_TRUE(key);
    return csrFor(key->get());
  }
  // A request made by `openssl req` with extra arguments (subject, -addext).
  x509::ParsedCsr cliCsr(const std::string& extra) {
    auto r = sh(tmp_.path().string(), "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                                      "-keyout cli.key -outform DER -out cli.der " + extra);
    EXPECT_EQ(r.rc, 0) << r.out;
    auto csr = x509::parseCsr(slurp(tmp_.file("cli.der")));
    EXPECT_TRUE(csr) << csr.error().message();
    return std::move(*csr);
  }

  EnrollResult enroll(Authority& ca, const std::string& tmpl, const std::string& user, const x509::ParsedCsr& csr,
                      X509* current = nullptr) {
    EnrollRequest req;
    req.template_name = tmpl;
    req.user = user;
    req.requester = user + " (test)";
    if (current != nullptr) req.current = x509::duplicate(current);
    auto r = ca.enroll(req, csr);
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : EnrollResult{};
  }

  void putTemplate(const std::string& toml) {
    auto t = parseTemplate(toml);
    ASSERT_TRUE(t) << t.error().message();
    ASSERT_TRUE(store_->putTemplate(t->name, toml));
  }

  std::string writeLeaf(X509* cert, const std::string& name = "leaf.pem") {
    spit(tmp_.file(name), x509::certificatePem(cert));
    return name;
  }

  std::string caDir() const { return config_.dir; }
  std::string inTmp() const { return tmp_.path().string(); }

  // `openssl verify` of a leaf written into the temp dir against the CA files.
  Shell verify(const std::string& leaf, bool crl_check) {
    std::string cmd = "openssl verify -CAfile '" + caDir() + "/root.crt' -untrusted '" + caDir() + "/issuing.crt' ";
    if (crl_check) cmd += "-crl_check -CRLfile '" + caDir() + "/issuing.crl' ";
    return sh(inTmp(), cmd + leaf);
  }
  std::string text(const std::string& leaf) { return sh(inTmp(), "openssl x509 -noout -text -in " + leaf).out; }

  testing::TempDir tmp_{"rampart-ca-authority"};
  ManualClock clock_{std::chrono::system_clock::now()};
  std::shared_ptr<store::sqlite::SqliteCaStore> store_;
  std::shared_ptr<directory::BuiltinDirectory> directory_;
  std::shared_ptr<PublishSink> sink_ = std::make_shared<PublishSink>();
  AuthorityConfig config_;
};

// --- generation, files, reopen ---------------------------------------------

TEST_F(AuthorityTest, GeneratesTheHierarchyAndReopensWithTheSameKeys) {
  std::string root_fp, issuing_fp, ocsp_serial;
  {
    auto ca = open();
    ASSERT_TRUE(ca);
    root_fp = x509::sha256Fingerprint(ca->root());
    issuing_fp = x509::sha256Fingerprint(ca->issuing());
    ocsp_serial = x509::serialHex(x509::parseCertificate(slurp(caDir() + "/ocsp.crt"))->get());
    EXPECT_EQ(x509::subjectText(ca->root()), "CN=Rampart Root CA,O=Rampart");
    EXPECT_EQ(x509::issuerText(ca->issuing()), "CN=Rampart Root CA,O=Rampart");
    ASSERT_EQ(ca->chain().size(), 2u);
    EXPECT_EQ(ca->chain()[0], ca->issuing());
    EXPECT_EQ(ca->chainPemPath(), caDir() + "/chain.pem");
    auto chain = x509::parseCertificates(slurp(ca->chainPemPath()));
    ASSERT_TRUE(chain);
    ASSERT_EQ(chain->size(), 2u);
    EXPECT_EQ(x509::sha256Fingerprint((*chain)[0].get()), issuing_fp);
    EXPECT_EQ(x509::sha256Fingerprint((*chain)[1].get()), root_fp);
    // The builtin templates were stored.
    auto templates = store_->listTemplates();
    ASSERT_TRUE(templates);
    EXPECT_EQ(templates->size(), builtinTemplates().size());
    auto device = ca->findTemplate("device");
    ASSERT_TRUE(device) << device.error().message();
    EXPECT_EQ(device->kind, TemplateKind::tls_client);
    EXPECT_TRUE(ca->findTemplate("nope").error().is(Errc::not_found));
  }
  EXPECT_EQ(modeOf(caDir()), 0700u);
  for (const char* key : {"root.key", "issuing.key", "ocsp.key"}) EXPECT_EQ(modeOf(caDir() + "/" + key), 0600u) << key;
  for (const char* f : {"root.crt", "issuing.crt", "ocsp.crt", "chain.pem", "issuing.crl"}) {
    EXPECT_NE(modeOf(caDir() + "/" + f), 0xffffu) << f;
  }
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(x509::sha256Fingerprint(again->root()), root_fp);
  EXPECT_EQ(x509::sha256Fingerprint(again->issuing()), issuing_fp);
  EXPECT_EQ(x509::serialHex(x509::parseCertificate(slurp(caDir() + "/ocsp.crt"))->get()), ocsp_serial);
}

TEST_F(AuthorityTest, CaCertificatesHaveThePkixExtensions) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  auto ca = open();
  ASSERT_TRUE(ca);
  std::string root = sh(inTmp(), "openssl x509 -noout -text -in '" + caDir() + "/root.crt'").out;
  EXPECT_NE(root.find("CA:TRUE"), std::string::npos) << root;
  EXPECT_EQ(root.find("pathlen"), std::string::npos) << root;
  EXPECT_NE(root.find("Certificate Sign, CRL Sign"), std::string::npos) << root;
  EXPECT_NE(root.find("X509v3 Subject Key Identifier"), std::string::npos) << root;
  std::string issuing = sh(inTmp(), "openssl x509 -noout -text -in '" + caDir() + "/issuing.crt'").out;
  EXPECT_NE(issuing.find("CA:TRUE, pathlen:0"), std::string::npos) << issuing;
  EXPECT_NE(issuing.find("X509v3 Authority Key Identifier"), std::string::npos) << issuing;
  std::string ocsp = sh(inTmp(), "openssl x509 -noout -text -in '" + caDir() + "/ocsp.crt'").out;
  EXPECT_NE(ocsp.find("OCSP Signing"), std::string::npos) << ocsp;
  EXPECT_NE(ocsp.find("OCSP No Check"), std::string::npos) << ocsp;
  EXPECT_NE(ocsp.find("CA:FALSE"), std::string::npos) << ocsp;
  // The responder lives about 30 days, not years.
  auto cert = x509::parseCertificate(slurp(caDir() + "/ocsp.crt"));
  ASSERT_TRUE(cert);
  EXPECT_LE(x509::notAfter(cert->get()) - unixSeconds(clock_.now()), 31 * 86400);
  Shell v = sh(inTmp(), "openssl verify -CAfile '" + caDir() + "/root.crt' '" + caDir() + "/issuing.crt'");
  EXPECT_EQ(v.rc, 0) << v.out;
}

TEST_F(AuthorityTest, RefusesAKeyFileOthersCanRead) {
  ASSERT_TRUE(open());
  ASSERT_EQ(::chmod((caDir() + "/issuing.key").c_str(), 0644), 0);
  auto ca = Authority::open(config_, store_, directory_, sink_, clock_);
  ASSERT_FALSE(ca);
  EXPECT_TRUE(ca.error().is(Errc::config_error)) << ca.error().message();
}

TEST_F(AuthorityTest, ImportsAnExistingHierarchy) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  Shell r = sh(inTmp(),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout r.key -out r.crt "
             "-subj '/CN=Imported Root' -days 3650 -addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout i.key -out i.csr "
             "-subj '/CN=Imported Issuing' && "
             "printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
             "subjectKeyIdentifier=hash\\n' > ext.cnf && "
             "openssl x509 -req -in i.csr -CA r.crt -CAkey r.key -CAcreateserial -days 1000 -extfile ext.cnf -out i.crt");
  ASSERT_EQ(r.rc, 0) << r.out;
  config_.import_root_cert = tmp_.file("r.crt");
  config_.import_issuing_cert = tmp_.file("i.crt");
  config_.import_issuing_key = tmp_.file("i.key");  // the root key stays offline
  auto ca = open();
  ASSERT_TRUE(ca);
  EXPECT_EQ(x509::subjectText(ca->issuing()), "CN=Imported Issuing");
  EXPECT_EQ(modeOf(caDir() + "/issuing.key"), 0600u);
  EXPECT_NE(modeOf(caDir() + "/root.key"), 0600u);  // absent
  auto issued = enroll(*ca, "device", "alice", freshCsr());
  ASSERT_EQ(issued.kind, EnrollResult::Kind::issued) << issued.reason;
  writeLeaf(issued.cert.get());
  Shell v = verify("leaf.pem", true);
  EXPECT_EQ(v.rc, 0) << v.out;
  // Reopening without the import settings uses the imported files.
  config_.import_root_cert.clear();
  config_.import_issuing_cert.clear();
  config_.import_issuing_key.clear();
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(x509::sha256Fingerprint(again->issuing()), x509::sha256Fingerprint(ca->issuing()));
}

TEST_F(AuthorityTest, RefusesAnImportWhoseKeyDoesNotMatch) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  Shell r = sh(inTmp(),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout r.key -out r.crt "
             "-subj '/CN=R' -days 30 -addext basicConstraints=critical,CA:TRUE && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key");
  ASSERT_EQ(r.rc, 0) << r.out;
  config_.import_root_cert = tmp_.file("r.crt");
  config_.import_issuing_cert = tmp_.file("r.crt");
  config_.import_issuing_key = tmp_.file("other.key");
  auto ca = Authority::open(config_, store_, directory_, sink_, clock_);
  ASSERT_FALSE(ca);
  EXPECT_TRUE(ca.error().is(Errc::config_error)) << ca.error().message();
}

// --- issuance ----------------------------------------------------------------

TEST_F(AuthorityTest, IssuesEveryBuiltinTemplateAndOpensslVerifiesIt) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  auto ca = open();
  ASSERT_TRUE(ca);
  struct Case {
    std::string tmpl;
    x509::KeyType key;
    std::vector<std::string> want;
    std::vector<std::string> absent;
  };
  const std::vector<Case> cases = {
      {"device", x509::KeyType::ec_p256,
       {"TLS Web Client Authentication", "email:alice@example.org", "email:a@example.org", "Subject: O = Rampart, CN = alice",
        "Digital Signature", "CA:FALSE", "URI:http://127.0.0.1:8080/crl/issuing.crl",
        "OCSP - URI:http://127.0.0.1:8080/ocsp", "X509v3 Authority Key Identifier"},
       {"UPN", "Certificate Sign"}},
      {"smime-sign", x509::KeyType::rsa2048,
       {"E-mail Protection", "email:alice@example.org", "CN = Alice Example", "Non Repudiation"},
       {"TLS Web Client Authentication"}},
      {"smime-encrypt", x509::KeyType::rsa2048, {"E-mail Protection", "Key Encipherment"}, {"Key Agreement"}},
      {"smime-encrypt", x509::KeyType::ec_p256, {"E-mail Protection", "Key Agreement"}, {"Key Encipherment"}},
      {"wifi", x509::KeyType::ec_p256, {"TLS Web Client Authentication", "UPN", "alice@example.org"}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tmpl + " " + std::string(x509::keyTypeName(c.key)));
    auto r = enroll(*ca, c.tmpl, "alice", freshCsr(c.key));
    ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
    ASSERT_TRUE(r.cert);
    EXPECT_EQ(r.serial, x509::serialHex(r.cert.get()));
    EXPECT_GE(r.serial.size(), 30u);  // 16 random bytes
    writeLeaf(r.cert.get());
    Shell v = verify("leaf.pem", true);
    EXPECT_EQ(v.rc, 0) << v.out;
    std::string t = text("leaf.pem");
    for (const auto& w : c.want) EXPECT_NE(t.find(w), std::string::npos) << w << "\n" << t;
    for (const auto& a : c.absent) EXPECT_EQ(t.find(a), std::string::npos) << a << "\n" << t;
    // The record is committed before enroll returns.
    auto rec = store_->findBySerial(r.serial);
    ASSERT_TRUE(rec && *rec);
    EXPECT_EQ((*rec)->status, store::CertStatus::issued);
    EXPECT_EQ((*rec)->user, "alice");
    EXPECT_EQ((*rec)->template_name, c.tmpl);
    EXPECT_EQ((*rec)->requester, "alice (test)");
    EXPECT_EQ((*rec)->cert_der, x509::certificateDer(r.cert.get()));
    // notBefore is back-dated for skew, notAfter follows the template.
    const auto now = unixSeconds(clock_.now());
    EXPECT_EQ(x509::notBefore(r.cert.get()), now - 300);
    EXPECT_EQ(x509::notAfter(r.cert.get()), now + ca->findTemplate(c.tmpl)->lifetime.count());
  }
}

TEST_F(AuthorityTest, LifetimeIsCappedByTheIssuingCa) {
  config_.issuing_lifetime = 24h * 100;
  auto ca = open();
  ASSERT_TRUE(ca);
  auto r = enroll(*ca, "device", "alice", freshCsr());
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  EXPECT_EQ(x509::notAfter(r.cert.get()), x509::notAfter(ca->issuing()));
}

TEST_F(AuthorityTest, TheRequestsSubjectAndExtensionsNeverReachTheCertificate) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  auto ca = open();
  ASSERT_TRUE(ca);
  auto csr = cliCsr("-subj '/O=Evil Corp/CN=Rampart Root CA' "
                    "-addext 'basicConstraints=critical,CA:TRUE' "
                    "-addext 'keyUsage=critical,keyCertSign,cRLSign' "
                    "-addext 'extendedKeyUsage=serverAuth,codeSigning' "
                    "-addext 'subjectAltName=email:mallory@evil.example,DNS:evil.example'");
  auto r = enroll(*ca, "device", "alice", csr);
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  EXPECT_EQ(x509::subjectText(r.cert.get()), "CN=alice,O=Rampart");
  EXPECT_EQ(x509::sanEmails(r.cert.get()), (std::vector<std::string>{"alice@example.org", "a@example.org"}));
  EXPECT_TRUE(x509::sanDnsNames(r.cert.get()).empty());
  EXPECT_EQ(X509_check_ca(r.cert.get()), 0);
  writeLeaf(r.cert.get());
  std::string t = text("leaf.pem");
  for (const char* bad : {"Evil", "mallory", "evil.example", "Code Signing", "TLS Web Server", "Certificate Sign"}) {
    EXPECT_EQ(t.find(bad), std::string::npos) << bad << "\n" << t;
  }
}

TEST_F(AuthorityTest, Refusals) {
  auto ca = open();
  ASSERT_TRUE(ca);
  // Key type not in the template (device: ec-p256, rsa-2048).
  auto r = enroll(*ca, "device", "alice", freshCsr(x509::KeyType::ec_p384));
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("ec-p384"), std::string::npos) << r.reason;
  // Unknown and disabled users, unknown and disabled templates.
  EXPECT_EQ(enroll(*ca, "device", "nobody", freshCsr()).kind, EnrollResult::Kind::rejected);
  r = enroll(*ca, "device", "carol", freshCsr());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("disabled"), std::string::npos) << r.reason;
  EXPECT_EQ(enroll(*ca, "no-such-type", "alice", freshCsr()).kind, EnrollResult::Kind::rejected);
  putTemplate("name = \"off\"\nkind = \"tls_client\"\nenabled = false\n");
  r = enroll(*ca, "off", "alice", freshCsr());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("disabled"), std::string::npos) << r.reason;
  // Nothing was recorded for a refusal.
  auto all = store_->list({});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(AuthorityTest, EnrollGroupsAreEnforced) {
  auto ca = open();
  ASSERT_TRUE(ca);
  putTemplate("name = \"staff-only\"\nkind = \"tls_client\"\nenroll_groups = [\"staff\"]\n");
  ASSERT_TRUE(directory_->addGroup("staff"));
  ASSERT_TRUE(directory_->addMember("staff", "alice"));
  auto r = enroll(*ca, "staff-only", "bob", freshCsr());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("group"), std::string::npos) << r.reason;
  EXPECT_EQ(enroll(*ca, "staff-only", "alice", freshCsr()).kind, EnrollResult::Kind::issued);
}

TEST_F(AuthorityTest, ApprovalFlow) {
  auto ca = open();
  ASSERT_TRUE(ca);
  putTemplate("name = \"vetted\"\nkind = \"tls_client\"\nrequire_approval = true\n");
  auto csr = freshCsr();
  auto r = enroll(*ca, "vetted", "alice", csr);
  ASSERT_EQ(r.kind, EnrollResult::Kind::pending);
  EXPECT_EQ(r.retry_after, 90s);
  EXPECT_EQ(enroll(*ca, "vetted", "alice", csr).kind, EnrollResult::Kind::pending);  // still waiting
  auto pending = store_->list(pendingOnly());
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);  // the retry did not add a second request
  EXPECT_EQ(pending->front().subject, "CN=alice,O=Rampart");
  ASSERT_TRUE(store_->decide(pending->front().id, true, "admin"));
  r = enroll(*ca, "vetted", "alice", csr);
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  // The same request once more (a lost answer): the same certificate.
  auto again = enroll(*ca, "vetted", "alice", csr);
  ASSERT_EQ(again.kind, EnrollResult::Kind::issued);
  EXPECT_EQ(again.serial, r.serial);
  // Rejected by the administrator.
  auto other = freshCsr();
  ASSERT_EQ(enroll(*ca, "vetted", "alice", other).kind, EnrollResult::Kind::pending);
  pending = store_->list(pendingOnly());
  ASSERT_TRUE(pending && pending->size() == 1u);
  ASSERT_TRUE(store_->decide(pending->front().id, false, "admin"));
  EXPECT_EQ(enroll(*ca, "vetted", "alice", other).kind, EnrollResult::Kind::rejected);
}

// Issuance without approval writes one record, already issued (one commit),
// with what addRequest + markIssued used to leave.
TEST_F(AuthorityTest, IssuanceWithoutApprovalLeavesOneIssuedRecord) {
  auto ca = open();
  ASSERT_TRUE(ca);
  auto csr = freshCsr();
  auto r = enroll(*ca, "device", "alice", csr);
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  auto all = store_->list({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  const store::CertRecord& rec = all->front();
  EXPECT_EQ(rec.status, store::CertStatus::issued);
  EXPECT_EQ(rec.serial, r.serial);
  EXPECT_EQ(rec.cert_der, x509::certificateDer(r.cert.get()));
  EXPECT_EQ(rec.subject, x509::subjectText(r.cert.get()));
  EXPECT_EQ(rec.template_name, "device");
  EXPECT_EQ(rec.user, "alice");
  EXPECT_EQ(rec.requester, "alice (test)");
  EXPECT_EQ(rec.csr_sha256, csr.sha256);
  EXPECT_TRUE(rec.csr_der.empty());
  EXPECT_TRUE(rec.renewed_serial.empty());
  EXPECT_EQ(rec.requested_at, unixSeconds(clock_.now()));
  EXPECT_EQ(rec.issued_at, unixSeconds(clock_.now()));
  EXPECT_EQ(rec.not_before, x509::notBefore(r.cert.get()));
  EXPECT_EQ(rec.not_after, x509::notAfter(r.cert.get()));
  // RFC 5280 4.2.1.2 (1): the SKI is SHA-1 of the request key's BIT STRING.
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(r.cert.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                        static_cast<std::size_t>(ASN1_STRING_length(ski))),
            detail::keyIdentifier(csr.public_key.get()));
  // The same request again is answered from that record, without a new one.
  auto again = enroll(*ca, "device", "alice", csr);
  ASSERT_EQ(again.kind, EnrollResult::Kind::issued);
  EXPECT_EQ(again.serial, r.serial);
  EXPECT_EQ(store_->list({})->size(), 1u);
}

// Parsed templates are cached, but an edit, even one made through another
// connection to the database (another process: `rampart admin template set`),
// counts from the very next request.
TEST_F(AuthorityTest, TemplateEditsCountFromTheNextRequest) {
  auto ca = open();
  ASSERT_TRUE(ca);
  putTemplate("name = \"edit\"\nkind = \"tls_client\"\n");
  EXPECT_EQ(enroll(*ca, "edit", "alice", freshCsr()).kind, EnrollResult::Kind::issued);
  ASSERT_TRUE(ca->findTemplate("edit"));
  EXPECT_TRUE(ca->findTemplate("edit")->enabled);
  auto other = store::sqlite::SqliteCaStore::open(tmp_.file("ca.db"));
  ASSERT_TRUE(other) << other.error().message();
  ASSERT_TRUE((*other)->putTemplate("edit", "name = \"edit\"\nkind = \"tls_client\"\nenabled = false\n"));
  auto r = enroll(*ca, "edit", "alice", freshCsr());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("disabled"), std::string::npos) << r.reason;
  EXPECT_FALSE(ca->findTemplate("edit")->enabled);
  ASSERT_TRUE((*other)->putTemplate("edit", "name = \"edit\"\nkind = \"tls_client\"\nenroll_groups = [\"staff\"]\n"));
  r = enroll(*ca, "edit", "alice", freshCsr());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("group"), std::string::npos) << r.reason;
  ASSERT_TRUE((*other)->removeTemplate("edit"));
  EXPECT_EQ(enroll(*ca, "edit", "alice", freshCsr()).kind, EnrollResult::Kind::rejected);
  auto gone = ca->findTemplate("edit");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(Errc::not_found));
}

TEST_F(AuthorityTest, ServerNamesFromTheRequest) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  auto ca = open();
  ASSERT_TRUE(ca);
  // A template with fixed domains: requested names must be under one of them.
  putTemplate("name = \"web\"\nkind = \"tls_server\"\nrequire_approval = false\n"
              "san = [\"dns:example.org\", \"requested_dns\"]\n");
  auto r = enroll(*ca, "web", "alice", cliCsr("-subj '/CN=x' -addext 'subjectAltName=DNS:www.Example.org'"));
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  EXPECT_EQ(x509::sanDnsNames(r.cert.get()), (std::vector<std::string>{"example.org", "www.example.org"}));
  r = enroll(*ca, "web", "alice", cliCsr("-subj '/CN=x' -addext 'subjectAltName=DNS:www.example.org,DNS:evil.com'"));
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("evil.com"), std::string::npos) << r.reason;
  r = enroll(*ca, "web", "alice", cliCsr("-subj '/CN=x' -addext 'subjectAltName=DNS:notexample.org'"));
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  r = enroll(*ca, "web", "alice", cliCsr("-subj '/CN=x' -addext 'subjectAltName=DNS:*.example.org'"));
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  // The builtin server template lists no domain: requested names wait for an administrator.
  auto csr = cliCsr("-subj '/CN=x' -addext 'subjectAltName=DNS:mail.example.net'");
  ASSERT_EQ(enroll(*ca, "server", "alice", csr).kind, EnrollResult::Kind::pending);
  auto pending = store_->list(pendingOnly());
  ASSERT_TRUE(pending && pending->size() == 1u);
  ASSERT_TRUE(store_->decide(pending->front().id, true, "admin"));
  r = enroll(*ca, "server", "alice", csr);
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued) << r.reason;
  EXPECT_EQ(x509::sanDnsNames(r.cert.get()), std::vector<std::string>{"mail.example.net"});
  writeLeaf(r.cert.get());
  Shell v = sh(inTmp(), "openssl verify -purpose sslserver -CAfile '" + caDir() + "/root.crt' -untrusted '" + caDir() +
                          "/issuing.crt' leaf.pem");
  EXPECT_EQ(v.rc, 0) << v.out;
}

TEST_F(AuthorityTest, ReenrollWindowAndOwnership) {
  auto ca = open();
  ASSERT_TRUE(ca);
  auto first = enroll(*ca, "device", "alice", freshCsr());
  ASSERT_EQ(first.kind, EnrollResult::Kind::issued);
  // Too early: the device template renews in the last 30 of 365 days.
  auto r = enroll(*ca, "device", "alice", freshCsr(), first.cert.get());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("early"), std::string::npos) << r.reason;
  clock_.advance(24h * 340);
  // Another user, another template, a foreign certificate: refused.
  EXPECT_EQ(enroll(*ca, "device", "bob", freshCsr(), first.cert.get()).kind, EnrollResult::Kind::rejected);
  EXPECT_EQ(enroll(*ca, "wifi", "alice", freshCsr(), first.cert.get()).kind, EnrollResult::Kind::rejected);
  auto foreign = testing::makeSelfSigned(inTmp(), "foreign.example");
  auto foreign_cert = x509::parseCertificate(slurp(foreign.cert_file));
  ASSERT_TRUE(foreign_cert);
  r = enroll(*ca, "device", "alice", freshCsr(), foreign_cert->get());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("not issued by this CA"), std::string::npos) << r.reason;
  // Inside the window: renewed, and the record says what it replaces.
  auto csr = freshCsr();
  auto renewed = enroll(*ca, "device", "alice", csr, first.cert.get());
  ASSERT_EQ(renewed.kind, EnrollResult::Kind::issued) << renewed.reason;
  EXPECT_NE(renewed.serial, first.serial);
  auto rec = store_->findBySerial(renewed.serial);
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->renewed_serial, first.serial);
  // A retry of that renewal gets the same answer.
  EXPECT_EQ(enroll(*ca, "device", "alice", csr, first.cert.get()).serial, renewed.serial);
  // A revoked certificate cannot renew.
  ASSERT_TRUE(ca->revoke(renewed.serial, 1, "admin"));
  clock_.advance(24h * 340);
  r = enroll(*ca, "device", "alice", freshCsr(), renewed.cert.get());
  EXPECT_EQ(r.kind, EnrollResult::Kind::rejected);
  EXPECT_NE(r.reason.find("revoked"), std::string::npos) << r.reason;
}

TEST_F(AuthorityTest, RenewalOfAnApprovedCertificateNeedsNoNewApproval) {
  auto ca = open();
  ASSERT_TRUE(ca);
  putTemplate("name = \"vetted\"\nkind = \"tls_client\"\nrequire_approval = true\n");
  auto csr = freshCsr();
  ASSERT_EQ(enroll(*ca, "vetted", "alice", csr).kind, EnrollResult::Kind::pending);
  auto pending = store_->list(pendingOnly());
  ASSERT_TRUE(pending && pending->size() == 1u);
  ASSERT_TRUE(store_->decide(pending->front().id, true, "admin"));
  auto first = enroll(*ca, "vetted", "alice", csr);
  ASSERT_EQ(first.kind, EnrollResult::Kind::issued);
  clock_.advance(24h * 350);
  EXPECT_EQ(enroll(*ca, "vetted", "alice", freshCsr(), first.cert.get()).kind, EnrollResult::Kind::issued);
}

TEST_F(AuthorityTest, PublishesWhatTheTemplateSaysAndWithdrawsOnRevocation) {
  auto ca = open();
  ASSERT_TRUE(ca);
  ASSERT_EQ(enroll(*ca, "device", "alice", freshCsr()).kind, EnrollResult::Kind::issued);
  EXPECT_TRUE(sink_->published.empty());
  auto r = enroll(*ca, "smime-encrypt", "alice", freshCsr(x509::KeyType::rsa2048));
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued);
  ASSERT_EQ(sink_->published.size(), 1u);
  EXPECT_EQ(sink_->published[0].first, "alice");
  EXPECT_EQ(sink_->published[0].second.serial, r.serial);
  EXPECT_EQ(sink_->published[0].second.purpose, "smime_encryption");
  EXPECT_EQ(sink_->published[0].second.der, x509::certificateDer(r.cert.get()));
  EXPECT_EQ(sink_->published[0].second.not_after, x509::notAfter(r.cert.get()));
  ASSERT_TRUE(ca->revoke(r.serial, 1, "admin"));
  EXPECT_EQ(sink_->withdrawn, std::vector<std::string>{r.serial});
}

// --- revocation and CRL ------------------------------------------------------

TEST_F(AuthorityTest, RevocationShowsInTheCrlAndOpensslRefusesTheCertificate) {
  if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  auto ca = open();
  ASSERT_TRUE(ca);
  auto r = enroll(*ca, "device", "alice", freshCsr());
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued);
  writeLeaf(r.cert.get());
  Shell before = verify("leaf.pem", true);
  ASSERT_EQ(before.rc, 0) << before.out;
  auto crl_before = ca->crlDer();
  ASSERT_TRUE(crl_before);

  EXPECT_TRUE(ca->revoke(r.serial, 7, "admin").error().is(Errc::invalid_argument));  // 7 is unused
  EXPECT_TRUE(ca->revoke("not hex", 1, "admin").error().is(Errc::invalid_argument));
  EXPECT_TRUE(ca->revoke("ABCDEF", 1, "admin").error().is(Errc::not_found));
  ASSERT_TRUE(ca->revoke(r.serial, 1, "admin"));  // keyCompromise
  EXPECT_TRUE(ca->revoke(r.serial, 1, "admin").error().is(Errc::already_exists));

  Shell after = verify("leaf.pem", true);
  EXPECT_NE(after.rc, 0) << after.out;
  EXPECT_NE(after.out.find("revoked"), std::string::npos) << after.out;
  Shell crl_text = sh(inTmp(), "openssl crl -noout -text -in '" + ca->crlPath() + "'");
  ASSERT_EQ(crl_text.rc, 0) << crl_text.out;
  EXPECT_NE(crl_text.out.find("Version 2"), std::string::npos) << crl_text.out;
  EXPECT_NE(crl_text.out.find("X509v3 CRL Number"), std::string::npos) << crl_text.out;
  EXPECT_NE(crl_text.out.find("X509v3 Authority Key Identifier"), std::string::npos) << crl_text.out;
  EXPECT_NE(crl_text.out.find("Key Compromise"), std::string::npos) << crl_text.out;
  EXPECT_NE(crl_text.out.find(r.serial), std::string::npos) << crl_text.out;
  // The DER in memory is the file's CRL, with a higher number than before.
  auto crl_after = ca->crlDer();
  ASSERT_TRUE(crl_after);
  auto file_crl = x509::parseCrl(slurp(ca->crlPath()));
  ASSERT_TRUE(file_crl);
  EXPECT_EQ(x509::crlDer(file_crl->get()), *crl_after);
  auto number = [](const std::string& der) {
    auto crl = x509::parseCrl(der);
    auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl->get(), NID_crl_number, nullptr, nullptr));
    long v = ASN1_INTEGER_get(n);
    ASN1_INTEGER_free(n);
    return v;
  };
  EXPECT_GT(number(*crl_after), number(*crl_before));
  // Verified by openssl against the issuing CA.
  Shell vcrl = sh(inTmp(), "openssl crl -noout -CAfile '" + caDir() + "/issuing.crt' -in '" + ca->crlPath() + "'");
  EXPECT_EQ(vcrl.rc, 0) << vcrl.out;
  EXPECT_NE(vcrl.out.find("verify OK"), std::string::npos) << vcrl.out;
}

TEST_F(AuthorityTest, CrlIsReissuedWhenHalfItsValidityHasPassed) {
  auto ca = open();
  ASSERT_TRUE(ca);
  auto first = ca->crlDer();
  ASSERT_TRUE(first);
  EXPECT_EQ(*ca->crlDer(), *first);  // cheap when nothing moved
  clock_.advance(config_.crl_validity / 2 + 1s);
  auto second = ca->crlDer();
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  auto crl = x509::parseCrl(*second);
  ASSERT_TRUE(crl);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl->get()),
                                 unixSeconds(clock_.now()) + config_.crl_validity.count()),
            0);
}

TEST_F(AuthorityTest, RefreshPicksUpARevocationMadeByAnotherProcess) {
  auto server = open();
  auto admin = open();  // e.g. `rampart admin cert revoke` on the same files and database
  ASSERT_TRUE(server && admin);
  auto r = enroll(*server, "device", "alice", freshCsr());
  ASSERT_EQ(r.kind, EnrollResult::Kind::issued);
  ASSERT_TRUE(admin->revoke(r.serial, 4, "admin"));  // superseded
  ASSERT_TRUE(server->refresh());
  auto der = server->crlDer();
  ASSERT_TRUE(der);
  auto crl = x509::parseCrl(*der);
  ASSERT_TRUE(crl);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_cert(crl->get(), &entry, r.cert.get()), 1);
}

TEST_F(AuthorityTest, EnrollRevokeAndAnswerFromSeveralThreadsAtOnce) {
  auto ca = open();
  ASSERT_TRUE(ca);
  // CSRs made first: the threads then only exercise the authority.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 4;
  std::vector<std::vector<x509::ParsedCsr>> csrs(kThreads);
  for (auto& list : csrs) {
    for (int i = 0; i < kPerThread; ++i) list.push_back(freshCsr());
  }
  std::atomic<int> issued{0};
  std::atomic<int> ocsp_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (auto& csr : csrs[t]) {
        EnrollRequest req;
        req.template_name = "device";
        req.user = "alice";
        req.requester = "alice (thread)";
        auto r = ca->enroll(req, csr);
        if (!r || r->kind != EnrollResult::Kind::issued) continue;
        ++issued;
        // Ask about the new certificate; revoke every other one.
        OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), r->cert.get(), ca->issuing());
        OCSP_REQUEST* request = OCSP_REQUEST_new();
        OCSP_request_add0_id(request, id);
        unsigned char* der = nullptr;
        int len = i2d_OCSP_REQUEST(request, &der);
        std::string answer = ca->ocspRespond(std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
        OPENSSL_free(der);
        OCSP_REQUEST_free(request);
        const auto* p = reinterpret_cast<const unsigned char*>(answer.data());
        OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.size()));
        if (response != nullptr && OCSP_response_status(response) == OCSP_RESPONSE_STATUS_SUCCESSFUL) ++ocsp_ok;
        OCSP_RESPONSE_free(response);
        if (r->serial.back() % 2 == 0) (void)ca->revoke(r->serial, 4, "thread");
        (void)ca->crlDer();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(issued.load(), kThreads * kPerThread);
  EXPECT_EQ(ocsp_ok.load(), kThreads * kPerThread);
  // Every serial distinct, every revocation in the final CRL.
  auto all = store_->list({});
  ASSERT_TRUE(all);
  std::set<std::string> serials;
  std::size_t revoked = 0;
  for (const auto& rec : *all) {
    serials.insert(rec.serial);
    if (rec.status == store::CertStatus::revoked) ++revoked;
  }
  EXPECT_EQ(serials.size(), all->size());
  auto crl = x509::parseCrl(*ca->crlDer());
  ASSERT_TRUE(crl);
  EXPECT_EQ(static_cast<std::size_t>(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl->get()))), revoked);
}

// --- OCSP --------------------------------------------------------------------

class OcspTest : public AuthorityTest {
 protected:
  void SetUp() override {
    AuthorityTest::SetUp();
    if (!have("openssl")) GTEST_SKIP() << "openssl CLI not installed";
    ca_ = open();
    ASSERT_TRUE(ca_);
    auto r = enroll(*ca_, "device", "alice", freshCsr());
    ASSERT_EQ(r.kind, EnrollResult::Kind::issued);
    serial_ = r.serial;
    writeLeaf(r.cert.get());
  }

  // Builds a request with `openssl ocsp`, answers it, and checks the answer
  // with `openssl ocsp` (signature, responder authority, nonce).
  Shell ask(const std::string& what, const std::string& extra = "", const std::string& check = "") {
    const std::string issuer = "-issuer '" + caDir() + "/issuing.crt' ";
    const std::string trust = check.empty() ? "-CAfile '" + caDir() + "/chain.pem'" : check;
    Shell req = sh(inTmp(), "openssl ocsp " + issuer + what + " " + extra + " -reqout req.der");
    EXPECT_EQ(req.rc, 0) << req.out;
    spit(tmp_.file("resp.der"), ca_->ocspRespond(slurp(tmp_.file("req.der"))));
    // Signature, responder authority and nonce against the request sent...
    Shell signature = sh(inTmp(), "openssl ocsp -reqin req.der -respin resp.der " + trust);
    // ...then the status of each certificate asked for (openssl builds a new
    // request for that, so no nonce there).
    Shell status = sh(inTmp(), "openssl ocsp -no_nonce -respin resp.der " + issuer + what + " " + trust);
    return Shell{signature.rc != 0 ? signature.rc : status.rc, signature.out + status.out};
  }

  std::shared_ptr<Authority> ca_;
  std::string serial_;
};

TEST_F(OcspTest, GoodThenRevokedAndOpensslVerifiesBoth) {
  Shell good = ask("-cert leaf.pem");
  EXPECT_EQ(good.rc, 0) << good.out;
  EXPECT_NE(good.out.find("Response verify OK"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("leaf.pem: good"), std::string::npos) << good.out;
  EXPECT_EQ(good.out.find("nonce"), std::string::npos) << good.out;  // no "WARNING: no nonce in response"
  // -VAfile: the responder certificate trusted directly.
  Shell va = ask("-cert leaf.pem", "", "-VAfile '" + caDir() + "/ocsp.crt'");
  EXPECT_NE(va.out.find("Response verify OK"), std::string::npos) << va.out;

  ASSERT_TRUE(ca_->revoke(serial_, 1, "admin"));
  Shell revoked = ask("-cert leaf.pem");
  EXPECT_NE(revoked.out.find("Response verify OK"), std::string::npos) << revoked.out;
  EXPECT_NE(revoked.out.find("leaf.pem: revoked"), std::string::npos) << revoked.out;
  EXPECT_NE(revoked.out.find("keyCompromise"), std::string::npos) << revoked.out;
}

TEST_F(OcspTest, UnknownSerialAndForeignIssuer) {
  Shell unknown = ask("-serial 0x0123456789ABCDEF");
  EXPECT_NE(unknown.out.find("Response verify OK"), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find(": unknown"), std::string::npos) << unknown.out;
  // A certificate of another CA: unknown (the answer's signer is not that
  // CA's responder, so only its content is looked at).
  auto foreign = testing::makeSelfSigned(inTmp(), "foreign.example");
  Shell req = sh(inTmp(), "openssl ocsp -issuer '" + foreign.cert_file + "' -cert '" + foreign.cert_file +
                            "' -reqout freq.der");
  ASSERT_EQ(req.rc, 0) << req.out;
  spit(tmp_.file("fresp.der"), ca_->ocspRespond(slurp(tmp_.file("freq.der"))));
  Shell answer = sh(inTmp(), "openssl ocsp -respin fresp.der -resp_text -noverify");
  EXPECT_NE(answer.out.find("Cert Status: unknown"), std::string::npos) << answer.out;
}

TEST_F(OcspTest, NonceIsEchoedAndNonceLessAnswersAreCachedUntilARevocation) {
  Shell req = sh(inTmp(), "openssl ocsp -issuer '" + caDir() + "/issuing.crt' -cert leaf.pem -reqout n.der");
  ASSERT_EQ(req.rc, 0) << req.out;
  std::string with_nonce = slurp(tmp_.file("n.der"));
  const auto* p = reinterpret_cast<const unsigned char*>(with_nonce.data());
  OCSP_REQUEST* request = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(with_nonce.size()));
  ASSERT_NE(request, nullptr);
  std::string answer = ca_->ocspRespond(with_nonce);
  p = reinterpret_cast<const unsigned char*>(answer.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.size()));
  ASSERT_NE(response, nullptr);
  OCSP_BASICRESP* basic = OCSP_response_get1_basic(response);
  ASSERT_NE(basic, nullptr);
  EXPECT_EQ(OCSP_check_nonce(request, basic), 1);
  OCSP_BASICRESP_free(basic);
  OCSP_RESPONSE_free(response);
  OCSP_REQUEST_free(request);
  // Two answers to one nonce request are signed afresh (ECDSA: they differ).
  EXPECT_NE(ca_->ocspRespond(with_nonce), answer);

  req = sh(inTmp(), "openssl ocsp -no_nonce -issuer '" + caDir() + "/issuing.crt' -cert leaf.pem -reqout plain.der");
  ASSERT_EQ(req.rc, 0) << req.out;
  std::string plain = slurp(tmp_.file("plain.der"));
  std::string a1 = ca_->ocspRespond(plain);
  EXPECT_EQ(ca_->ocspRespond(plain), a1);  // cached
  ASSERT_TRUE(ca_->revoke(serial_, 0, "admin"));
  std::string a2 = ca_->ocspRespond(plain);
  EXPECT_NE(a2, a1);
  spit(tmp_.file("resp.der"), a2);
  Shell v = sh(inTmp(), "openssl ocsp -respin resp.der -issuer '" + caDir() + "/issuing.crt' -cert leaf.pem -CAfile '" +
                          caDir() + "/chain.pem' -no_nonce");
  EXPECT_NE(v.out.find("leaf.pem: revoked"), std::string::npos) << v.out;
  // The cache also expires after half of the validity.
  std::string a3 = ca_->ocspRespond(plain);
  EXPECT_EQ(a3, a2);
  clock_.advance(config_.ocsp_validity / 2 + 1s);
  EXPECT_NE(ca_->ocspRespond(plain), a3);
}

TEST_F(OcspTest, GarbageGetsMalformedRequest) {
  auto status_of = [&](const std::string& der) {
    std::string answer = ca_->ocspRespond(der);
    const auto* p = reinterpret_cast<const unsigned char*>(answer.data());
    OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.size()));
    if (response == nullptr) return -1;
    int status = OCSP_response_status(response);
    OCSP_RESPONSE_free(response);
    return status;
  };
  EXPECT_EQ(status_of(""), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(status_of("garbage"), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(status_of(std::string(100'000, '\x30')), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  Shell req = sh(inTmp(), "openssl ocsp -issuer '" + caDir() + "/issuing.crt' -cert leaf.pem -reqout r.der");
  ASSERT_EQ(req.rc, 0) << req.out;
  std::string der = slurp(tmp_.file("r.der"));
  EXPECT_EQ(status_of(der), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  EXPECT_EQ(status_of(der + "x"), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);  // trailing bytes
  EXPECT_EQ(status_of(der.substr(0, der.size() - 1)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

TEST_F(OcspTest, GnuTlsOcsptoolReadsAndVerifiesTheAnswer) {
  if (!have("ocsptool")) GTEST_SKIP() << "GnuTLS ocsptool not installed";
  Shell req = sh(inTmp(), "openssl ocsp -no_nonce -issuer '" + caDir() + "/issuing.crt' -cert leaf.pem -reqout g.der");
  ASSERT_EQ(req.rc, 0) << req.out;
  spit(tmp_.file("g-resp.der"), ca_->ocspRespond(slurp(tmp_.file("g.der"))));
  Shell info = sh(inTmp(), "ocsptool -j --inder --infile g-resp.der");
  EXPECT_EQ(info.rc, 0) << info.out;
  EXPECT_NE(info.out.find("Certificate Status: good"), std::string::npos) << info.out;
  Shell verified = sh(inTmp(), "ocsptool --verify-response --inder --infile g-resp.der --load-trust '" + caDir() +
                                 "/issuing.crt'");
  EXPECT_EQ(verified.rc, 0) << verified.out;
  EXPECT_NE(verified.out.find("Verifying OCSP Response: Success"), std::string::npos) << verified.out;
  ASSERT_TRUE(ca_->revoke(serial_, 1, "admin"));
  spit(tmp_.file("g-resp.der"), ca_->ocspRespond(slurp(tmp_.file("g.der"))));
  info = sh(inTmp(), "ocsptool -j --inder --infile g-resp.der");
  EXPECT_NE(info.out.find("Certificate Status: revoked"), std::string::npos) << info.out;
}

TEST_F(OcspTest, TheResponderCertificateIsRemadeBeforeItExpires) {
  auto before = x509::parseCertificate(slurp(caDir() + "/ocsp.crt"));
  ASSERT_TRUE(before);
  clock_.advance(24h * 21);  // inside the last third of its 30 days
  (void)ca_->ocspRespond(slurp(tmp_.file("leaf.pem")));  // any request: the check runs first
  auto after = x509::parseCertificate(slurp(caDir() + "/ocsp.crt"));
  ASSERT_TRUE(after);
  EXPECT_NE(x509::serialHex(after->get()), x509::serialHex(before->get()));
  EXPECT_GT(x509::notAfter(after->get()), x509::notAfter(before->get()));
}

}  // namespace
}  // namespace rampart::ca
