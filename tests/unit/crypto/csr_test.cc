#include "crypto/x509/csr.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <cstdlib>
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
using rampart::testing::spit;

class CsrCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
  }
  // A request made by the openssl CLI; extra arguments go to `openssl req`.
  std::string cliCsr(const std::string& newkey, const std::string& extra) {
    EXPECT_TRUE(sh(dir_, "openssl req -new -newkey " + newkey + " -nodes -keyout k.pem -outform DER "
                         "-out r.der " + extra));
    return slurp(dir_.file("r.der"));
  }
  testing::TempDir dir_;
};

TEST_F(CsrCliTest, OpensslEcRequestParsesAndVerifies) {
  std::string der = cliCsr("ec -pkeyopt ec_paramgen_curve:P-256",
                           "-subj '/O=Example/CN=alice' "
                           "-addext 'subjectAltName=email:alice@example.com,DNS:dev.example.com' "
                           "-addext 'keyUsage=critical,digitalSignature'");
  auto csr = parseCsr(der);
  ASSERT_TRUE(csr) << csr.error().message();
  EXPECT_EQ(csr->key_type, KeyType::ec_p256);
  EXPECT_EQ(csr->subject, "CN=alice,O=Example");
  EXPECT_EQ(csr->der, der);
  EXPECT_EQ(csr->sha256.size(), 64u);
  EXPECT_EQ(csr->san_emails, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(csr->san_dns, std::vector<std::string>{"dev.example.com"});
  ASSERT_EQ(csr->extensions.size(), 2u);
  EXPECT_EQ(csr->extensions[0].oid, "2.5.29.17");
  EXPECT_FALSE(csr->extensions[0].critical);
  EXPECT_EQ(csr->extensions[1].oid, "2.5.29.15");
  EXPECT_TRUE(csr->extensions[1].critical);
  EXPECT_TRUE(csr->challenge_password.empty());
  ASSERT_TRUE(csr->public_key);
  EXPECT_EQ(X509_REQ_verify(csr->request.get(), csr->public_key.get()), 1);
}

TEST_F(CsrCliTest, ChallengePasswordAndRsaAndP384) {
  std::string cfg =
      "[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nCN=bob\n"
      "[attrs]\nchallengePassword=tls-unique-value\n";
  spit(dir_.file("req.cnf"), cfg);
  auto rsa = parseCsr(cliCsr("rsa:2048", "-config req.cnf"));
  ASSERT_TRUE(rsa) << rsa.error().message();
  EXPECT_EQ(rsa->key_type, KeyType::rsa2048);
  EXPECT_EQ(rsa->challenge_password, "tls-unique-value");
  EXPECT_EQ(rsa->subject, "CN=bob");
  auto p384 = parseCsr(cliCsr("ec -pkeyopt ec_paramgen_curve:P-384", "-subj /CN=c -sha384"));
  ASSERT_TRUE(p384) << p384.error().message();
  EXPECT_EQ(p384->key_type, KeyType::ec_p384);
}

TEST_F(CsrCliTest, TamperedRequestIsUnauthenticated) {
  std::string der = cliCsr("ec -pkeyopt ec_paramgen_curve:P-256", "-subj /CN=alice");
  auto pos = der.find("alice");
  ASSERT_NE(pos, std::string::npos);
  der[pos] = 'm';  // "mlice": still a well-formed request, signature now wrong
  auto csr = parseCsr(der);
  ASSERT_FALSE(csr);
  EXPECT_TRUE(csr.error().is(Errc::unauthenticated)) << csr.error().message();
}

TEST_F(CsrCliTest, WeakSignaturesAndKeysAreRefused) {
  auto sha1 = parseCsr(cliCsr("ec -pkeyopt ec_paramgen_curve:P-256", "-subj /CN=a -sha1"));
  ASSERT_FALSE(sha1);
  EXPECT_TRUE(sha1.error().is(Errc::parse_error)) << sha1.error().message();
  auto rsa1024 = parseCsr(cliCsr("rsa:1024", "-subj /CN=a"));
  ASSERT_FALSE(rsa1024);
  EXPECT_TRUE(rsa1024.error().is(Errc::parse_error)) << rsa1024.error().message();
  auto ed = parseCsr(cliCsr("ed25519", "-subj /CN=a"));
  ASSERT_FALSE(ed);
  EXPECT_TRUE(ed.error().is(Errc::parse_error));
  auto k1 = parseCsr(cliCsr("ec -pkeyopt ec_paramgen_curve:secp256k1", "-subj /CN=a"));
  ASSERT_FALSE(k1);
  EXPECT_TRUE(k1.error().is(Errc::parse_error));
}

TEST_F(CsrCliTest, MakeCsrPassesOpensslVerify) {
  for (KeyType t : {KeyType::ec_p256, KeyType::rsa2048}) {
    auto key = generateKey(t);
    ASSERT_TRUE(key);
    auto der = makeCsr(key->get(), "device-1", {"alice@example.com", "a@example.org"});
    ASSERT_TRUE(der) << der.error().message();
    spit(dir_.file("mine.der"), *der);
    EXPECT_TRUE(sh(dir_, "openssl req -verify -inform DER -in mine.der -noout"));
    auto parsed = parseCsr(*der);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->subject, "CN=device-1");
    EXPECT_EQ(parsed->key_type, t);
    EXPECT_EQ(parsed->san_emails, (std::vector<std::string>{"alice@example.com", "a@example.org"}));
  }
}

TEST(Csr, MakeCsrRefusesBadInput) {
  auto key = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(key);
  EXPECT_FALSE(makeCsr(nullptr, "x"));
  EXPECT_FALSE(makeCsr(key->get(), "x", {"a@b.c,email:evil@x"}));
  EXPECT_FALSE(makeCsr(key->get(), "x", {""}));
  EXPECT_FALSE(makeCsr(key->get(), std::string(65, 'a')));
  auto no_cn = makeCsr(key->get(), "");
  ASSERT_TRUE(no_cn);
  auto parsed = parseCsr(*no_cn);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->subject, "");
  EXPECT_TRUE(parsed->extensions.empty());
}

TEST(Csr, BoundsAndTrailingBytes) {
  auto key = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto der = makeCsr(key->get(), "x");
  ASSERT_TRUE(der);
  auto trailing = parseCsr(*der + '\0');
  ASSERT_FALSE(trailing);
  EXPECT_TRUE(trailing.error().is(Errc::parse_error));
  EXPECT_FALSE(parseCsr(der->substr(0, der->size() - 1)));
  EXPECT_FALSE(parseCsr(""));
  auto big = parseCsr(std::string(kMaxCsrDer + 1, '0'));
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(Errc::limit_exceeded));
}

TEST(Csr, EstBodiesInBase64AndPem) {
  auto key = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(key);
  auto der = makeCsr(key->get(), "est");
  ASSERT_TRUE(der);
  std::string b64 = base64Lines(*der);
  auto plain = parseEstCsr(b64);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(plain->der, *der);
  std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + b64 + "-----END CERTIFICATE REQUEST-----\n";
  auto from_pem = parseEstCsr(pem);
  ASSERT_TRUE(from_pem) << from_pem.error().message();
  EXPECT_EQ(from_pem->sha256, plain->sha256);
  EXPECT_FALSE(parseEstCsr("-----BEGIN CERTIFICATE-----\n" + b64 + "-----END CERTIFICATE-----\n"));
  EXPECT_FALSE(parseEstCsr("not base64 !"));
  auto big = parseEstCsr(base64Lines(std::string(kMaxCsrDer + 10, 'x')));
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(Errc::limit_exceeded));
}

TEST(Csr, Base64Helpers) {
  EXPECT_EQ(base64Lines(""), "");
  EXPECT_EQ(base64Lines("f"), "Zg==\r\n");
  EXPECT_EQ(base64Lines("foobar"), "Zm9vYmFy\r\n");
  std::string long_text = base64Lines(std::string(100, 'a'));
  EXPECT_EQ(long_text.find("\r\n"), 64u);
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto back = base64DecodeLenient(base64Lines(s), 100);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(*base64DecodeLenient(" Zm9v\r\n YmFy\t", 10), "foobar");
  EXPECT_EQ(*base64DecodeLenient("Zg", 10), "f");  // missing padding tolerated
  EXPECT_FALSE(base64DecodeLenient("Z", 10));
  EXPECT_FALSE(base64DecodeLenient("Zg=", 10));
  EXPECT_FALSE(base64DecodeLenient("Zg==Zg==", 10));
  EXPECT_FALSE(base64DecodeLenient("Zm9v-", 10));
  auto over = base64DecodeLenient("Zm9vYmFy", 5);
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(Errc::limit_exceeded));
}

}  // namespace
}  // namespace rampart::crypto::x509
