#include <gtest/gtest.h>

#include "http/basic_auth.h"
#include "server/config.h"
#include "server/eas/eas_service.h"

namespace rampart::server::eas {
namespace {

TEST(BasicAuthorizationTest, ParsesUserAndPassword) {
  auto c = http::parseBasicAuthorization("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");  // alice:s3cr3t:with:colons
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cr3t:with:colons");
  auto lower = http::parseBasicAuthorization("basic  YWxpY2U6eA== ");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->password, "x");
}

TEST(BasicAuthorizationTest, DomainPrefixIsDropped) {
  auto c = http::parseBasicAuthorization("Basic Q09OVE9TT1xhbGljZTp4");  // CONTOSO\alice:x
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
}

TEST(BasicAuthorizationTest, RejectsMalformedHeaders) {
  EXPECT_FALSE(http::parseBasicAuthorization(""));
  EXPECT_FALSE(http::parseBasicAuthorization("Bearer abc"));
  EXPECT_FALSE(http::parseBasicAuthorization("Basic"));
  EXPECT_FALSE(http::parseBasicAuthorization("Basic !!!!"));
  EXPECT_FALSE(http::parseBasicAuthorization("Basic YWxpY2U"));        // bad length
  EXPECT_FALSE(http::parseBasicAuthorization("Basic YWxpY2U="));       // "alice": no colon
  EXPECT_FALSE(http::parseBasicAuthorization("Basic OnBhc3N3b3Jk"));   // ":password": empty user
  EXPECT_FALSE(http::parseBasicAuthorization("Basic YQphOmI="));       // "a\na:b": control character
  EXPECT_FALSE(http::parseBasicAuthorization("Basic " + std::string(5000, 'A')));
}

TEST(EasConfigTest, ListenWithoutCertificateIsAnError) {
  auto cfg = parseServerConfig("[eas]\nlisten = \"127.0.0.1:8443\"\n", "s.toml");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().detail.find("s.toml:2: eas.listen: needs cert_file and key_file"), std::string::npos)
      << cfg.error().detail;
  auto ok = parseServerConfig("[eas]\nlisten = \"127.0.0.1:8443\"\ncert_file = \"a\"\nkey_file = \"b\"\n"
                              "credential_cache_ttl = \"2m\"\n",
                              "s.toml");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->eas.credential_cache_ttl, std::chrono::minutes(2));
}

}  // namespace
}  // namespace rampart::server::eas

#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "server/eas/policy_gate.h"

namespace rampart::server::eas {
namespace {

TEST(PolicyGateTest, OnlyAProvisionedDeviceWithItsKeyPasses) {
  store::Device d;
  EXPECT_EQ(policyGate(d, std::nullopt), kStatusDeviceNotProvisioned);
  d.policy_key = 1234;
  EXPECT_EQ(policyGate(d, std::nullopt), kStatusDeviceNotProvisioned);
  EXPECT_EQ(policyGate(d, 0u), kStatusDeviceNotProvisioned);
  EXPECT_EQ(policyGate(d, 99u), kStatusInvalidPolicyKey);
  EXPECT_EQ(policyGate(d, 1234u), std::nullopt);
  d.wipe = store::WipeState::pending;
  EXPECT_EQ(policyGate(d, 1234u), kStatusDeviceNotProvisioned) << "a pending wipe sends the device to Provision";
}

TEST(PolicyGateTest, StatusOnlyResponseUsesTheCommandsRoot) {
  auto bytes = statusOnlyResponse("FolderSync", 142);
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto doc = wbxml::decode(*bytes);
  ASSERT_TRUE(doc) << doc.error().message();
  std::string xml = wbxml::toXml(*doc);
  EXPECT_NE(xml.find("<FolderSync xmlns=\"FolderHierarchy:\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Status>142</Status>"), std::string::npos) << xml;
  ASSERT_TRUE(statusOnlyResponse("MoveItems", 144));
  EXPECT_FALSE(statusOnlyResponse("Provision", 142));
}

}  // namespace
}  // namespace rampart::server::eas
