#include "crypto/x509/pkcs7.h"

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

class CertsOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    for (const char* cn : {"root", "issuing", "leaf"}) {
      std::string n(cn);
      ASSERT_TRUE(sh(dir_, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-keyout " + n + ".key -out " + n + ".pem -days 2 -subj /CN=" + n + " >/dev/null"));
      auto cert = parseCertificate(slurp(dir_.file(n + ".pem")));
      ASSERT_TRUE(cert);
      certs_.push_back(std::move(*cert));
    }
  }
  std::vector<X509*> raw() const {
    std::vector<X509*> out;
    for (const auto& c : certs_) out.push_back(c.get());
    return out;
  }
  testing::TempDir dir_;
  std::vector<CertPtr> certs_;
};

TEST_F(CertsOnlyTest, OurOutputIsReadByOpensslInOrder) {
  auto der = certsOnly(raw());
  ASSERT_TRUE(der) << der.error().message();
  spit(dir_.file("out.p7"), *der);
  ASSERT_TRUE(sh(dir_, "openssl pkcs7 -inform DER -in out.p7 -print_certs -out printed.pem"));
  auto printed = parseCertificates(slurp(dir_.file("printed.pem")));
  ASSERT_TRUE(printed) << printed.error().message();
  ASSERT_EQ(printed->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(certificateDer((*printed)[i].get()), certificateDer(certs_[i].get()));
  }
  auto back = parseCertsOnly(*der);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ(subjectText((*back)[0].get()), "CN=root");
  EXPECT_EQ(subjectText((*back)[2].get()), "CN=leaf");
}

TEST_F(CertsOnlyTest, Crl2pkcs7OutputIsRead) {
  ASSERT_TRUE(sh(dir_, "openssl crl2pkcs7 -nocrl -certfile issuing.pem -certfile root.pem "
                       "-outform DER -out chain.p7"));
  auto certs = parseCertsOnly(slurp(dir_.file("chain.p7")));
  ASSERT_TRUE(certs) << certs.error().message();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(subjectText((*certs)[0].get()), "CN=issuing");
  EXPECT_EQ(subjectText((*certs)[1].get()), "CN=root");
}

// A Simple PKI Response has no encapsulated content at all (RFC 5272 4.1),
// not an empty one: Bouncy Castle's EST client refuses "signed content".
// openssl crl2pkcs7 writes the same structure, byte for byte.
TEST_F(CertsOnlyTest, ContentIsAbsentAsCrl2pkcs7WritesIt) {
  ASSERT_TRUE(sh(dir_, "openssl crl2pkcs7 -nocrl -certfile issuing.pem -certfile root.pem "
                       "-outform DER -out chain.p7"));
  auto der = certsOnly({certs_[1].get(), certs_[0].get()});
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_EQ(*der, slurp(dir_.file("chain.p7")));
}

TEST_F(CertsOnlyTest, SignedMessagesAndDamageAreRefused) {
  spit(dir_.file("msg.txt"), "hello");
  ASSERT_TRUE(sh(dir_, "openssl cms -sign -in msg.txt -signer leaf.pem -inkey leaf.key -outform DER "
                       "-nodetach -out signed.p7"));
  auto signed_msg = parseCertsOnly(slurp(dir_.file("signed.p7")));
  ASSERT_FALSE(signed_msg);
  EXPECT_TRUE(signed_msg.error().is(Errc::parse_error)) << signed_msg.error().message();

  auto der = certsOnly(raw());
  ASSERT_TRUE(der);
  auto trailing = parseCertsOnly(*der + "x");
  ASSERT_FALSE(trailing);
  EXPECT_TRUE(trailing.error().is(Errc::parse_error));
  EXPECT_FALSE(parseCertsOnly(der->substr(0, der->size() - 2)));
  EXPECT_FALSE(parseCertsOnly(""));
  EXPECT_FALSE(parseCertsOnly(certificateDer(certs_[0].get())));
  auto too_many = parseCertsOnly(*der, 2);
  ASSERT_FALSE(too_many);
  EXPECT_TRUE(too_many.error().is(Errc::limit_exceeded));
  EXPECT_FALSE(certsOnly({}));
}

}  // namespace
}  // namespace rampart::crypto::x509
