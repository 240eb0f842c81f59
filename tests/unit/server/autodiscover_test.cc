// Autodiscover (MS-ASCMD 2.2.1.1): request parsing and the response documents.
#include "server/eas/autodiscover.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::server::eas {
namespace {

const std::string kRequest =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
    "requestschema/2006\">\r\n"
    "  <Request>\r\n"
    "    <EMailAddress>alice@example.org</EMailAddress>\r\n"
    "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
    "mobilesync/responseschema/2006</AcceptableResponseSchema>\r\n"
    "  </Request>\r\n"
    "</Autodiscover>\r\n";

AutodiscoverSettings settings() {
  AutodiscoverSettings s;
  s.server_url = "https://mail.example.org/Microsoft-Server-ActiveSync";
  s.display_name = "Alice <& Co>";
  s.email = "alice@example.org";
  s.now = 1700000000;  // 22:13:20 UTC
  return s;
}

std::string respond(std::string_view xml) {
  auto r = autodiscoverResponse(xml, settings());
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::string();
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(AutodiscoverTest, ParsesTheSpecRequest) {
  auto r = parseAutodiscoverRequest(kRequest);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->email, "alice@example.org");
  EXPECT_EQ(r->acceptable_response_schema, kMobileSyncResponseSchema);
}

TEST(AutodiscoverTest, MobileSyncSettings) {
  std::string out = respond(kRequest);
  EXPECT_TRUE(has(out, "<Autodiscover xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""));
  EXPECT_TRUE(has(out,
                  "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/"
                  "responseschema/2006\">"));
  EXPECT_TRUE(has(out,
                  "<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/"
                  "mobilesync/responseschema/2006\">"));
  EXPECT_TRUE(has(out, "<Culture>en:us</Culture>"));
  EXPECT_TRUE(has(out, "<DisplayName>Alice &lt;&amp; Co&gt;</DisplayName>")) << out;
  EXPECT_TRUE(has(out, "<EMailAddress>alice@example.org</EMailAddress>"));
  EXPECT_TRUE(has(out, "<Type>MobileSync</Type>"));
  EXPECT_TRUE(has(out, "<Url>https://mail.example.org/Microsoft-Server-ActiveSync</Url>"));
  EXPECT_TRUE(has(out, "<Name>https://mail.example.org/Microsoft-Server-ActiveSync</Name>"));
  EXPECT_FALSE(has(out, "<Error"));
  // The response is itself acceptable to our reader (well-formed).
  EXPECT_FALSE(parseAutodiscoverRequest(out));  // not a request, but it parses:
  EXPECT_TRUE(parseAutodiscoverRequest(out).error().is(Errc::invalid_argument));
}

TEST(AutodiscoverTest, PrefixedNamespacesCommentsAndReferences) {
  std::string xml =
      "\xEF\xBB\xBF<!-- hi --><a:Autodiscover xmlns:a=\"http://schemas.microsoft.com/exchange/"
      "autodiscover/mobilesync/requestschema/2006\"><a:Request>"
      "<a:EMailAddress> al&#105;ce@example.org </a:EMailAddress><!-- c -->"
      "<a:AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
      "mobilesync/responseschema/2006</a:AcceptableResponseSchema>"
      "</a:Request></a:Autodiscover>\n";
  auto r = parseAutodiscoverRequest(xml);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->email, "alice@example.org");
}

TEST(AutodiscoverTest, OutlookSchemaIs601) {
  std::string xml =
      "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
      "requestschema/2006\"><Request><EMailAddress>alice@example.org</EMailAddress>"
      "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
      "responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";
  std::string out = respond(xml);
  EXPECT_TRUE(has(out, "<ErrorCode>601</ErrorCode>")) << out;
  EXPECT_TRUE(has(out, "Time=\"22:13:20.0000000\""));
}

TEST(AutodiscoverTest, BadRequestsAre600) {
  const std::string schema =
      "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
      "responseschema/2006</AcceptableResponseSchema>";
  const std::string ns =
      "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006\"";
  const std::vector<std::string> bad = {
      "",
      "not xml",
      "<Autodiscover " + ns + "><Request><EMailAddress>a@b</EMailAddress>" + schema +
          "</Request>",  // unterminated
      "<Autodiscover><Request><EMailAddress>a@b</EMailAddress>" + schema +
          "</Request></Autodiscover>",                                              // no namespace
      "<Autodiscover " + ns + "><Request>" + schema + "</Request></Autodiscover>",  // no email
      "<Autodiscover " + ns + "><Request><EMailAddress>a@b</EMailAddress>" + schema +
          "</Request><Request><EMailAddress>a@b</EMailAddress>" + schema +
          "</Request></Autodiscover>",  // two Requests
      "<Autodiscover " + ns +
          "><Request><EMailAddress>a@b</EMailAddress><EMailAddress>c@d"
          "</EMailAddress>" +
          schema + "</Request></Autodiscover>",
      "<Other " + ns + "/>",
      "<Autodiscover " + ns + "><Request><EMailAddress>a@b</EMailAddress>" + schema +
          "</Request></Autodiscover><extra/>",
      "<x:Autodiscover><Request/></x:Autodiscover>",  // unbound prefix
      "<Autodiscover " + ns + " " + ns + "/>",        // repeated attr
      "<Autodiscover " + ns + "><Request><EMailAddress>&nbsp;</EMailAddress>" + schema +
          "</Request></Autodiscover>",  // unknown entity
      "<Autodiscover " + ns + "><Request><EMailAddress><![CDATA[a@b]]></EMailAddress>" + schema +
          "</Request></Autodiscover>",
      "<Autodiscover " + ns + "><Request><EMailAddress>&#0;</EMailAddress>" + schema +
          "</Request></Autodiscover>",
      "<Autodiscover " + ns + "></Autodiscoverx>",
  };
  for (const auto& xml : bad) {
    std::string out = respond(xml);
    EXPECT_TRUE(has(out, "<ErrorCode>600</ErrorCode>")) << xml << "\n" << out;
    EXPECT_TRUE(has(out, "<Message>Invalid Request</Message>"));
  }
}

TEST(AutodiscoverTest, NoDtdNoEntityExpansion) {
  // The classic XXE and billion-laughs shapes: refused before anything is expanded.
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
      "requestschema/2006\"><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>";
  auto r = parseAutodiscoverRequest(xxe);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::parse_error));
  EXPECT_TRUE(has(respond(xxe), "<ErrorCode>600</ErrorCode>"));
  EXPECT_FALSE(parseAutodiscoverRequest("<?pi x?><Autodiscover/>"));
}

TEST(AutodiscoverTest, Limits) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  auto r = parseAutodiscoverRequest(deep);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));

  std::string many = "<Autodiscover>";
  for (int i = 0; i < 300; ++i) many += "<x/>";
  many += "</Autodiscover>";
  r = parseAutodiscoverRequest(many);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));

  r = parseAutodiscoverRequest(std::string(kMaxAutodiscoverRequest + 1, ' '));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));
}

TEST(AutodiscoverTest, SettingsAreRequired) {
  AutodiscoverSettings s = settings();
  s.server_url.clear();
  EXPECT_FALSE(autodiscoverResponse(kRequest, s));
}

}  // namespace
}  // namespace rampart::server::eas
