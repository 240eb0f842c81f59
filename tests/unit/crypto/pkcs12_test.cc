#include "crypto/x509/pkcs12.h"

#include <gtest/gtest.h>

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

class Pkcs12Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    // A CA and a leaf it issued, both P-256.
    ASSERT_TRUE(sh(dir_, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout ca.key -out ca.pem -days 2 -subj /CN=issuing >/dev/null"));
    ASSERT_TRUE(sh(dir_, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout leaf.key -out leaf.csr -subj /CN=alice >/dev/null"));
    ASSERT_TRUE(sh(dir_, "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 7 "
                         "-days 1 -out leaf.pem >/dev/null"));
    auto key = parsePrivateKeyPem(slurp(dir_.file("leaf.key")));
    auto cert = parseCertificate(slurp(dir_.file("leaf.pem")));
    auto ca = parseCertificate(slurp(dir_.file("ca.pem")));
    ASSERT_TRUE(key && cert && ca);
    key_ = std::move(*key);
    cert_ = std::move(*cert);
    ca_ = std::move(*ca);
  }
  // `openssl pkcs12 -info` output for our export, without -legacy.
  std::string info(Pkcs12Profile profile) {
    auto der = exportPkcs12(key_.get(), cert_.get(), {ca_.get()}, "s3cret pass", "alice device", profile);
    EXPECT_TRUE(der) << der.error().message();
    if (!der) return {};
    spit(dir_.file("out.p12"), *der);
    // -info writes the algorithms to stderr.
    std::string cmd = "cd '" + dir_.path().string() +
                      "' && openssl pkcs12 -info -nokeys -in out.p12 -passin 'pass:s3cret pass' > info.txt 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::string text = slurp(dir_.file("info.txt"));
    // And once with the key, to see the key bag's algorithm too.
    cmd = "cd '" + dir_.path().string() +
          "' && openssl pkcs12 -info -nodes -in out.p12 -passin 'pass:s3cret pass' 2>&1 | grep Keybag > keybag.txt";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return text + slurp(dir_.file("keybag.txt"));
  }
  testing::TempDir dir_;
  KeyPtr key_;
  CertPtr cert_;
  CertPtr ca_;
};

TEST_F(Pkcs12Test, CompatExportIsReadByOpensslWithoutLegacyAndNames3desSha1) {
  std::string text = info(Pkcs12Profile::compat);
  EXPECT_NE(text.find("MAC: sha1"), std::string::npos) << text;
  EXPECT_NE(text.find("pbeWithSHA1And3-KeyTripleDES-CBC"), std::string::npos) << text;
  EXPECT_NE(text.find("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"), std::string::npos) << text;
  EXPECT_EQ(text.find("AES"), std::string::npos) << text;
  EXPECT_NE(text.find("CN = alice"), std::string::npos) << text;
  EXPECT_NE(text.find("CN = issuing"), std::string::npos) << text;
  EXPECT_NE(text.find("friendlyName: alice device"), std::string::npos) << text;
}

TEST_F(Pkcs12Test, ModernExportNamesAes256AndSha256) {
  std::string text = info(Pkcs12Profile::modern);
  EXPECT_NE(text.find("MAC: sha256"), std::string::npos) << text;
  EXPECT_NE(text.find("AES-256-CBC"), std::string::npos) << text;
  EXPECT_NE(text.find("hmacWithSHA256"), std::string::npos) << text;
  EXPECT_NE(text.find("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"), std::string::npos) << text;
  EXPECT_EQ(text.find("TripleDES"), std::string::npos) << text;
}

TEST_F(Pkcs12Test, RoundTripBothProfiles) {
  for (auto profile : {Pkcs12Profile::modern, Pkcs12Profile::compat}) {
    auto der = exportPkcs12(key_.get(), cert_.get(), {ca_.get()}, "pw", "", profile);
    ASSERT_TRUE(der) << der.error().message();
    auto back = importPkcs12(*der, "pw");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(EVP_PKEY_eq(back->key.get(), key_.get()), 1);
    EXPECT_EQ(certificateDer(back->cert.get()), certificateDer(cert_.get()));
    ASSERT_EQ(back->chain.size(), 1u);
    EXPECT_EQ(certificateDer(back->chain[0].get()), certificateDer(ca_.get()));
    auto wrong = importPkcs12(*der, "PW");
    ASSERT_FALSE(wrong);
    EXPECT_TRUE(wrong.error().is(Errc::unauthenticated)) << wrong.error().message();
  }
}

TEST_F(Pkcs12Test, ImportsOpensslExport) {
  ASSERT_TRUE(sh(dir_, "openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile ca.pem "
                       "-name alice -passout pass:topsecret -out cli.p12"));
  std::string der = slurp(dir_.file("cli.p12"));
  auto got = importPkcs12(der, "topsecret");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(subjectText(got->cert.get()), "CN=alice");
  ASSERT_EQ(got->chain.size(), 1u);
  EXPECT_EQ(subjectText(got->chain[0].get()), "CN=issuing");
  EXPECT_EQ(EVP_PKEY_eq(got->key.get(), key_.get()), 1);

  auto wrong = importPkcs12(der, "nope");
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::unauthenticated));
  auto trailing = importPkcs12(der + "x", "topsecret");
  ASSERT_FALSE(trailing);
  EXPECT_TRUE(trailing.error().is(Errc::parse_error));
  auto big = importPkcs12(std::string(1024 * 1024 + 1, '0'), "topsecret");
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(Errc::limit_exceeded));
  EXPECT_FALSE(importPkcs12("garbage", "x"));
}

TEST_F(Pkcs12Test, FilesWithoutKeyOrMacAreRefused) {
  ASSERT_TRUE(sh(dir_, "openssl pkcs12 -export -nokeys -in leaf.pem -passout pass:pw -out nokey.p12"));
  auto nokey = importPkcs12(slurp(dir_.file("nokey.p12")), "pw");
  ASSERT_FALSE(nokey);
  EXPECT_TRUE(nokey.error().is(Errc::parse_error)) << nokey.error().message();
  ASSERT_TRUE(sh(dir_, "openssl pkcs12 -export -nomac -in leaf.pem -inkey leaf.key -passout pass:pw "
                       "-out nomac.p12"));
  auto nomac = importPkcs12(slurp(dir_.file("nomac.p12")), "pw");
  ASSERT_FALSE(nomac);
  EXPECT_TRUE(nomac.error().is(Errc::parse_error));
}

TEST_F(Pkcs12Test, ExportRefusesBadArguments) {
  auto empty = exportPkcs12(key_.get(), cert_.get(), {}, "", "", Pkcs12Profile::modern);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(empty.error().is(Errc::invalid_argument));
  auto other = generateKey(KeyType::ec_p256);
  ASSERT_TRUE(other);
  auto mismatch = exportPkcs12(other->get(), cert_.get(), {}, "pw", "", Pkcs12Profile::modern);
  ASSERT_FALSE(mismatch);
  EXPECT_TRUE(mismatch.error().is(Errc::invalid_argument));
  EXPECT_FALSE(exportPkcs12(nullptr, cert_.get(), {}, "pw", "", Pkcs12Profile::compat));
}

TEST(Pkcs12Profiles, Names) {
  EXPECT_EQ(*parsePkcs12Profile("modern"), Pkcs12Profile::modern);
  EXPECT_EQ(*parsePkcs12Profile("compat"), Pkcs12Profile::compat);
  auto bad = parsePkcs12Profile("legacy");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

}  // namespace
}  // namespace rampart::crypto::x509
