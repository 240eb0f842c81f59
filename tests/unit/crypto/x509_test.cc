#include "crypto/x509/x509.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::crypto::x509 {
namespace {

using rampart::testing::haveOpenssl;
using rampart::testing::sh;
using rampart::testing::slurp;

TEST(X509KeyTypes, NamesRoundTrip) {
  for (KeyType t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048, KeyType::rsa3072,
                    KeyType::rsa4096}) {
    auto parsed = parseKeyType(keyTypeName(t));
    ASSERT_TRUE(parsed) << keyTypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(keyTypeName(KeyType::ec_p256), "ec-p256");
  EXPECT_EQ(keyTypeName(KeyType::rsa2048), "rsa-2048");
  auto bad = parseKeyType("rsa-1024");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

TEST(X509KeyTypes, GeneratedKeysHaveTheirType) {
  for (KeyType t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048}) {
    auto key = generateKey(t);
    ASSERT_TRUE(key) << key.error().message();
    auto type = keyTypeOf(key->get());
    ASSERT_TRUE(type) << type.error().message();
    EXPECT_EQ(*type, t);
  }
}

TEST(X509KeyTypes, OtherKeysAreRefused) {
  KeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
  ASSERT_TRUE(rsa1024);
  auto t1 = keyTypeOf(rsa1024.get());
  ASSERT_FALSE(t1);
  EXPECT_TRUE(t1.error().is(Errc::invalid_argument));
  KeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed);
  EXPECT_FALSE(keyTypeOf(ed.get()));
  KeyPtr k256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  ASSERT_TRUE(k256);
  EXPECT_FALSE(keyTypeOf(k256.get()));
  EXPECT_FALSE(keyTypeOf(nullptr));
}

TEST(X509Keys, PemRoundTripKeepsTheKey) {
  auto key = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto pem = privateKeyPem(key->get());
  ASSERT_TRUE(pem);
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);  // PKCS#8
  auto back = parsePrivateKeyPem(*pem);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*publicKeyDer(back->get()), *publicKeyDer(key->get()));
  EXPECT_EQ(EVP_PKEY_eq(back->get(), key->get()), 1);
}

TEST(X509Keys, GarbageAndEncryptedKeysAreParseErrors) {
  auto bad = parsePrivateKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::parse_error));
  if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
  testing::TempDir dir;
  ASSERT_TRUE(sh(dir, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                      "-aes-256-cbc -pass pass:secret -out enc.pem"));
  // Must fail without prompting on a terminal.
  auto enc = parsePrivateKeyPem(slurp(dir.file("enc.pem")));
  ASSERT_FALSE(enc);
  EXPECT_TRUE(enc.error().is(Errc::parse_error));
}

class X509CertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_TRUE(sh(dir_, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout key.pem -out cert.pem -days 30 -subj '/O=Example/CN=alice' "
                         "-set_serial 0x0123ABCDEF "
                         "-addext 'subjectAltName=email:alice@example.com,DNS:a.example.com,"
                         "email:al@example.org'"));
    ASSERT_TRUE(sh(dir_, "openssl x509 -in cert.pem -outform DER -out cert.der"));
    ASSERT_TRUE(sh(dir_, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes "
                         "-keyout key2.pem -out cert2.pem -days 1 -subj '/CN=bob'"));
  }
  std::string cli(const std::string& cmd) {
    std::string full = "cd '" + dir_.path().string() + "' && " + cmd + " > cli.out 2>/dev/null";
    EXPECT_EQ(std::system(full.c_str()), 0) << cmd;
    std::string out = slurp(dir_.file("cli.out"));
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(X509CertTest, PemAndDerGiveTheSameCertificate) {
  auto pem = parseCertificate(slurp(dir_.file("cert.pem")));
  ASSERT_TRUE(pem) << pem.error().message();
  auto der = parseCertificate(slurp(dir_.file("cert.der")));
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(certificateDer(pem->get()), slurp(dir_.file("cert.der")));
  EXPECT_EQ(certificateDer(der->get()), certificateDer(pem->get()));
  EXPECT_EQ(certificatePem(der->get()), slurp(dir_.file("cert.pem")));
  CertPtr dup = duplicate(der->get());
  EXPECT_EQ(dup.get(), der->get());
}

TEST_F(X509CertTest, FactsMatchTheOpensslCli) {
  auto cert = parseCertificate(slurp(dir_.file("cert.der")));
  ASSERT_TRUE(cert);
  // "sha256 Fingerprint=AB:CD:..."
  std::string fp = cli("openssl x509 -in cert.pem -noout -fingerprint -sha256");
  EXPECT_EQ("sha256 Fingerprint=" + sha256Fingerprint(cert->get()), fp);
  // No leading zero, where openssl pads to whole bytes ("0123ABCDEF").
  EXPECT_EQ(serialHex(cert->get()), "123ABCDEF");
  EXPECT_EQ("serial=0" + serialHex(cert->get()), cli("openssl x509 -in cert.pem -noout -serial"));
  EXPECT_EQ(subjectText(cert->get()), "CN=alice,O=Example");
  EXPECT_EQ(issuerText(cert->get()), "CN=alice,O=Example");
  std::int64_t nb = notBefore(cert->get());
  std::int64_t na = notAfter(cert->get());
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_LE(nb, now);
  EXPECT_GT(nb, now - 3600);
  EXPECT_EQ(na - nb, 30 * 86400);
  EXPECT_EQ(sanEmails(cert->get()), (std::vector<std::string>{"alice@example.com", "al@example.org"}));
  EXPECT_EQ(sanDnsNames(cert->get()), (std::vector<std::string>{"a.example.com"}));
  auto other = parseCertificate(slurp(dir_.file("cert2.pem")));
  ASSERT_TRUE(other);
  EXPECT_TRUE(sanEmails(other->get()).empty());
  EXPECT_EQ(subjectText(other->get()), "CN=bob");
}

TEST_F(X509CertTest, DerWithTrailingBytesOrTruncatedIsRefused) {
  std::string der = slurp(dir_.file("cert.der"));
  auto trailing = parseCertificate(der + std::string(1, '\0'));
  ASSERT_FALSE(trailing);
  EXPECT_TRUE(trailing.error().is(Errc::parse_error));
  EXPECT_FALSE(parseCertificate(der.substr(0, der.size() - 1)));
  EXPECT_FALSE(parseCertificate(""));
  EXPECT_FALSE(parseCertificate("hello"));
  auto huge = parseCertificate(std::string(2 * 1024 * 1024, 'x'));
  ASSERT_FALSE(huge);
  EXPECT_TRUE(huge.error().is(Errc::limit_exceeded));
}

TEST_F(X509CertTest, BundlesKeepOrderAndRefuseDamage) {
  std::string a = slurp(dir_.file("cert.pem"));
  std::string b = slurp(dir_.file("cert2.pem"));
  auto both = parseCertificates(a + b);
  ASSERT_TRUE(both) << both.error().message();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ(subjectText((*both)[0].get()), "CN=alice,O=Example");
  EXPECT_EQ(subjectText((*both)[1].get()), "CN=bob");
  auto none = parseCertificates("no certificates here\n");
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(Errc::parse_error));
  std::string broken_b64 = b;
  broken_b64.insert(broken_b64.find('\n') + 10, "!!!!");
  EXPECT_FALSE(parseCertificates(a + broken_b64));
}

TEST(X509Crl, RoundTripAndTrailingBytes) {
  auto key = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(key);
  CrlPtr crl(X509_CRL_new());
  ASSERT_TRUE(crl);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test CA"), -1, -1, 0);
  ASSERT_EQ(X509_CRL_set_issuer_name(crl.get(), name), 1);
  X509_NAME_free(name);
  ASN1_TIME* t = ASN1_TIME_set(nullptr, 1'790'000'000);
  X509_CRL_set1_lastUpdate(crl.get(), t);
  ASN1_TIME_free(t);
  ASSERT_GT(X509_CRL_sign(crl.get(), key->get(), EVP_sha256()), 0);
  std::string der = crlDer(crl.get());
  ASSERT_FALSE(der.empty());
  auto back = parseCrl(der);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(crlDer(back->get()), der);
  auto from_pem = parseCrl(crlPem(crl.get()));
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(crlDer(from_pem->get()), der);
  EXPECT_FALSE(parseCrl(der + "x"));
  EXPECT_FALSE(parseCrl("junk"));
}

TEST(X509Files, ReadFileIsBounded) {
  testing::TempDir dir;
  std::string path = dir.file("f");
  ASSERT_TRUE(writeFileAtomic(path, std::string(100, 'a'), 0644));
  auto ok = readFile(path, 100);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 100u);
  auto over = readFile(path, 99);
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(Errc::limit_exceeded));
  auto missing = readFile(dir.file("nope"));
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::not_found));
}

TEST(X509Files, WriteFileAtomicReplacesWithModeAndLeavesNoTemporary) {
  testing::TempDir dir;
  std::string path = dir.file("key.pem");
  ASSERT_TRUE(writeFileAtomic(path, "old", 0644));
  ASSERT_TRUE(writeFileAtomic(path, "new secret", 0600));
  EXPECT_EQ(*readFile(path), "new secret");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  auto bad = writeFileAtomic(dir.file("no/such/dir/file"), "x", 0600);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::io_error));
}

}  // namespace
}  // namespace rampart::crypto::x509
