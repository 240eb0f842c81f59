// The provisioning document (codec/provisioning.h): round trip, escaping, and
// hostile XML (DOCTYPE/entities, size, depth and count bounds).
#include "codec/provisioning.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::codec {
namespace {

constexpr const char* kPem =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0FfUm9vdF9UZXN0\n-----END CERTIFICATE-----";

ProvisioningDoc sample() {
  ProvisioningDoc d;
  d.organization = "Example & Sons <\"Mail\"> 'Ltd'";
  d.est_url = "https://mail.example.com:8443/.well-known/est";
  d.eas_url = "https://mail.example.com:8443";
  d.templates.push_back({"device", "tls_client", "ec-p256", "Mail login & push"});
  d.templates.push_back({"smime-sign", "smime_signing", "rsa-3072", ""});
  d.root_pems.push_back(kPem);
  d.root_pems.push_back(kPem);
  return d;
}

std::string wrap(const std::string& inner) {
  return "<?xml version=\"1.0\"?>\n<provisioning xmlns=\"urn:rampart:provisioning:1\">" + inner +
         "</provisioning>";
}

TEST(Provisioning, RoundTrip) {
  ProvisioningDoc d = sample();
  std::string xml = writeProvisioning(d);
  EXPECT_NE(xml.find("Example &amp; Sons &lt;&quot;Mail&quot;&gt;"), std::string::npos) << xml;
  auto back = parseProvisioning(xml);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->organization, d.organization);
  EXPECT_EQ(back->est_url, d.est_url);
  EXPECT_EQ(back->eas_url, d.eas_url);
  ASSERT_EQ(back->templates.size(), 2u);
  EXPECT_EQ(back->templates[0].name, "device");
  EXPECT_EQ(back->templates[0].kind, "tls_client");
  EXPECT_EQ(back->templates[0].key_type, "ec-p256");
  EXPECT_EQ(back->templates[0].description, "Mail login & push");
  EXPECT_EQ(back->templates[1].key_type, "rsa-3072");
  EXPECT_EQ(back->templates[1].description, "");
  ASSERT_EQ(back->root_pems.size(), 2u);
  EXPECT_EQ(back->root_pems[0], kPem);
  // Writing what was read gives the same text.
  EXPECT_EQ(writeProvisioning(*back), xml);
}

TEST(Provisioning, ControlCharactersAreDropped) {
  ProvisioningDoc d = sample();
  d.organization = std::string("A\x01") + "B\x1f" + "C";
  auto back = parseProvisioning(writeProvisioning(d));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->organization, "ABC");
  // CR, TAB and LF come back as they were (character references survive
  // line-end and attribute normalisation).
  d.organization = "a\r\nb\tc\rd";
  d.templates[0].description = "x\r\ny";
  auto again = parseProvisioning(writeProvisioning(d));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->organization, d.organization);
  EXPECT_EQ(again->templates[0].description, "x\r\ny");
}

TEST(Provisioning, UnknownElementsAndOtherNamespacesAreSkipped) {
  auto r = parseProvisioning(
      wrap("<future a=\"1\"><deep/></future><x:est xmlns:x=\"urn:other\" url=\"http://evil\"/>"
           "<est url=\"https://h/.well-known/est\"/>"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->est_url, "https://h/.well-known/est");
  EXPECT_TRUE(r->templates.empty());
}

TEST(Provisioning, RefusesBadShapes) {
  // Wrong root element / namespace.
  EXPECT_TRUE(parseProvisioning("<provisioning><est url=\"https://h\"/></provisioning>")
                  .error()
                  .is(Errc::parse_error));
  EXPECT_TRUE(parseProvisioning("<other xmlns=\"urn:rampart:provisioning:1\"/>")
                  .error()
                  .is(Errc::parse_error));
  // Not well-formed.
  EXPECT_TRUE(parseProvisioning(wrap("<est url=\"https://h\">")).error().is(Errc::parse_error));
  EXPECT_TRUE(parseProvisioning("").error().is(Errc::parse_error));
  // No EST, duplicate EST, plain HTTP, a URL with a space.
  EXPECT_TRUE(parseProvisioning(wrap("")).error().is(Errc::invalid_argument));
  EXPECT_TRUE(parseProvisioning(wrap("<est url=\"https://a\"/><est url=\"https://b\"/>"))
                  .error()
                  .is(Errc::invalid_argument));
  EXPECT_TRUE(
      parseProvisioning(wrap("<est url=\"http://h/est\"/>")).error().is(Errc::invalid_argument));
  EXPECT_TRUE(
      parseProvisioning(wrap("<est url=\"https://h /x\"/>")).error().is(Errc::invalid_argument));
  // A template without a name or with a bad one; a root that is not PEM.
  EXPECT_TRUE(parseProvisioning(wrap("<est url=\"https://h\"/><template kind=\"tls_client\"/>"))
                  .error()
                  .is(Errc::invalid_argument));
  EXPECT_TRUE(parseProvisioning(wrap("<est url=\"https://h\"/><template name=\"../x\"/>"))
                  .error()
                  .is(Errc::invalid_argument));
  EXPECT_TRUE(parseProvisioning(wrap("<est url=\"https://h\"/><root>hello</root>"))
                  .error()
                  .is(Errc::invalid_argument));
}

TEST(Provisioning, RefusesDoctypeAndEntities) {
  // XXE: an external entity naming a local file.
  auto xxe = parseProvisioning(
      "<?xml version=\"1.0\"?><!DOCTYPE provisioning [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<provisioning xmlns=\"urn:rampart:provisioning:1\"><organization>&x;</organization>"
      "<est url=\"https://h\"/></provisioning>");
  ASSERT_FALSE(xxe);
  EXPECT_TRUE(xxe.error().is(Errc::parse_error));
  EXPECT_NE(xxe.error().detail.find("DOCTYPE"), std::string::npos) << xxe.error().detail;
  // Billion laughs.
  std::string lol = "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a \"aaaaaaaaaa\">";
  for (char c = 'b'; c <= 'j'; ++c) {
    lol += std::string("<!ENTITY ") + c + " \"";
    for (int i = 0; i < 10; ++i) lol += std::string("&") + char(c - 1) + ";";
    lol += "\">";
  }
  lol +=
      "]><provisioning xmlns=\"urn:rampart:provisioning:1\"><organization>&j;</organization>"
      "<est url=\"https://h\"/></provisioning>";
  EXPECT_TRUE(parseProvisioning(lol).error().is(Errc::parse_error));
  // A plain DOCTYPE without entities is refused too.
  EXPECT_FALSE(parseProvisioning("<!DOCTYPE provisioning>" + wrap("<est url=\"https://h\"/>")));
  // An undeclared entity is not well-formed.
  EXPECT_FALSE(parseProvisioning(wrap("<est url=\"https://h\"/><organization>&x;</organization>")));
}

TEST(Provisioning, Bounds) {
  std::string big(kMaxProvisioningBytes + 1, ' ');
  EXPECT_TRUE(parseProvisioning(big).error().is(Errc::limit_exceeded));

  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<d>";
  for (int i = 0; i < 20; ++i) deep += "</d>";
  EXPECT_TRUE(
      parseProvisioning(wrap("<est url=\"https://h\"/>" + deep)).error().is(Errc::limit_exceeded));

  std::string many = "<est url=\"https://h\"/>";
  for (std::size_t i = 0; i <= kMaxProvisioningTemplates; ++i) many += "<template name=\"t\"/>";
  EXPECT_TRUE(parseProvisioning(wrap(many)).error().is(Errc::limit_exceeded));

  std::string roots = "<est url=\"https://h\"/>";
  for (std::size_t i = 0; i <= kMaxProvisioningRoots; ++i)
    roots += std::string("<root>") + kPem + "</root>";
  EXPECT_TRUE(parseProvisioning(wrap(roots)).error().is(Errc::limit_exceeded));

  std::string long_text = "<est url=\"https://h\"/><organization>" +
                          std::string(kMaxProvisioningText + 1, 'x') + "</organization>";
  EXPECT_TRUE(parseProvisioning(wrap(long_text)).error().is(Errc::limit_exceeded));

  std::string elements = "<est url=\"https://h\"/>";
  for (int i = 0; i < 5000; ++i) elements += "<e/>";
  EXPECT_TRUE(parseProvisioning(wrap(elements)).error().is(Errc::limit_exceeded));
}

}  // namespace
}  // namespace rampart::codec
