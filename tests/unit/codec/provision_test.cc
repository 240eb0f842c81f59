// Provision command codec (MS-ASPROV): the spec's section 4 request, the
// response formats of 3.2.5.1, round trips for 14.1 and 16.1, the phase-1 /
// phase-2 / wipe-acknowledgment shapes, malformed documents, and a
// differential check of the encoded response against libwbxml2's wbxml2xml.
#include "codec/eas/provision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "testing/temp_dir.h"

namespace rampart::eas {
namespace {

using Bytes = std::vector<std::uint8_t>;

wbxml::Document xmlDoc(std::string_view xml) {
  auto doc = wbxml::parseXml(xml);
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? *doc : wbxml::Document{};
}

wbxml::Document bytesDoc(const Bytes& bytes) {
  auto doc = wbxml::decode(bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? *doc : wbxml::Document{};
}

// MS-ASPROV 4.1.2 (Phase 2: Client Downloads Policy from Server), the request
// body exactly as the spec prints it, "..." values included.
constexpr std::string_view kSpecInitialRequest = R"(<?xml version="1.0" encoding="utf-8"?>
 <Provision xmlns="Provision:" xmlns:settings="Settings:">
     <settings:DeviceInformation>
         <settings:Set>
             <settings:Model>...</settings:Model>
             <settings:IMEI>...</settings:IMEI>
             <settings:FriendlyName>...</settings:FriendlyName>
             <settings:OS>...</settings:OS>
             <settings:OSLanguage>...</settings:OSLanguage>
             <settings:PhoneNumber>...</settings:PhoneNumber>
             <settings:MobileOperator>...</settings:MobileOperator>
             <settings:UserAgent>...</settings:UserAgent>
         </settings:Set>
     </settings:DeviceInformation>
      <Policies>
           <Policy>
                <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType> 
           </Policy>
      </Policies>
 </Provision>
)";

DeviceInformation sampleDevice() {
  DeviceInformation d;
  d.model = "iPhone15,2";
  d.imei = "356938035643809";
  d.friendly_name = "Zo\xc3\xab's phone";
  d.os = "iOS 17.1 21B74";
  d.os_language = "en-US";
  d.phone_number = "+15555550123";
  d.user_agent = "Apple-iPhone15C2/2101.74";
  d.enable_outbound_sms = false;
  d.mobile_operator = "Example & Co <mobile>";
  return d;
}

// ---------------------------------------------------------------- the spec's example

TEST(ProvisionSpec, InitialRequestOf412DecodesAndReencodes) {
  wbxml::Document doc = xmlDoc(kSpecInitialRequest);
  auto req = decodeProvisionRequest(doc);
  ASSERT_TRUE(req) << req.error().message();
  ASSERT_TRUE(req->device_information);
  const DeviceInformation& d = *req->device_information;
  for (const auto* f : {&d.model, &d.imei, &d.friendly_name, &d.os, &d.os_language, &d.phone_number,
                        &d.mobile_operator, &d.user_agent}) {
    ASSERT_TRUE(*f);
    EXPECT_EQ(**f, "...");
  }
  EXPECT_FALSE(d.enable_outbound_sms);
  ASSERT_TRUE(req->policy);
  EXPECT_EQ(req->policy->policy_type, kEasPolicyType);
  EXPECT_FALSE(req->policy->policy_key);
  EXPECT_FALSE(req->policy->status);
  EXPECT_FALSE(req->remote_wipe_status);

  // Our encoder writes the same tree, but for the order inside Set: we follow
  // the Settings code page (UserAgent before MobileOperator), the example does
  // not. Compare after putting the example's Set into token order.
  auto bytes = encodeProvisionRequest(*req, "14.1");
  ASSERT_TRUE(bytes) << bytes.error().message();
  wbxml::Document ours = bytesDoc(*bytes);
  auto& set = doc.root.children[0].children[0].children;
  std::stable_sort(set.begin(), set.end(), [](const wbxml::Element& a, const wbxml::Element& b) {
    return a.token < b.token;
  });
  EXPECT_EQ(wbxml::toXml(ours), wbxml::toXml(doc));
  EXPECT_TRUE(ours.root == doc.root);
}

// The response format of MS-ASPROV 3.2.5.1.1 (initial request), filled in.
TEST(ProvisionSpec, InitialResponseMatchesTheFormatOf3251) {
  ProvisionResponse r;
  r.status = 1;
  r.device_information_status = 1;
  PolicyResponse p;
  p.status = 1;
  p.policy_key = 1307199584;
  p.settings = PolicySettings{};
  r.policy = p;
  auto bytes = encodeProvisionResponse(r, "14.1");
  ASSERT_TRUE(bytes) << bytes.error().message();
  std::string xml = wbxml::toXml(bytesDoc(*bytes));
  // Skeleton in the spec's order: DeviceInformation, Status, Policies.
  std::size_t di =
      xml.find("<DeviceInformation xmlns=\"Settings:\">\n<Status>1</Status>\n</DeviceInformation>");
  std::size_t st = xml.find(
      "</DeviceInformation>\n<Status>1</Status>\n<Policies>\n<Policy>\n"
      "<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>\n<Status>1</Status>\n"
      "<PolicyKey>1307199584</PolicyKey>\n<Data>\n<EASProvisionDoc>\n"
      "<DevicePasswordEnabled>1</DevicePasswordEnabled>\n");
  ASSERT_NE(di, std::string::npos) << xml;
  ASSERT_NE(st, std::string::npos) << xml;
  EXPECT_LT(di, st);
  EXPECT_NE(xml.find("<MinDevicePasswordLength>6</MinDevicePasswordLength>"), std::string::npos);
  EXPECT_NE(xml.find("<MaxAttachmentSize/>"), std::string::npos) << "unset is an empty element";
  EXPECT_NE(xml.find("<AllowSimpleDevicePassword>0</AllowSimpleDevicePassword>"),
            std::string::npos);
  EXPECT_NE(xml.find("<RequireDeviceEncryption>1</RequireDeviceEncryption>"), std::string::npos);
  EXPECT_NE(
      xml.find("<UnapprovedInROMApplicationList/>\n<ApprovedApplicationList/>\n</EASProvisionDoc>"),
      std::string::npos);
}

// MS-ASPROV 3.2.5.1.1 / 3.2.5.1.2.2: <Provision><Status/><RemoteWipe/></Provision>.
TEST(ProvisionSpec, RemoteWipeResponseIsTheSpecsXml) {
  ProvisionResponse r;
  r.remote_wipe = true;
  auto bytes = encodeProvisionResponse(r, "14.1");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(wbxml::toXml(bytesDoc(*bytes)),
            "<?xml version=\"1.0\"?>\n"
            "<!DOCTYPE ActiveSync PUBLIC \"-//MICROSOFT//DTD ActiveSync//EN\" "
            "\"http://www.microsoft.com/\">\n"
            "<Provision xmlns=\"Provision:\">\n<Status>1</Status>\n<RemoteWipe/>\n</Provision>\n");
  // Byte for byte: header, Provision (0x45), Status (0x4B) "1", RemoteWipe bare (0x0C).
  EXPECT_EQ(*bytes, (Bytes{0x03, 0x01, 0x6A, 0x00, 0x00, 0x0E, 0x45, 0x4B, 0x03, '1', 0x00, 0x01,
                           0x0C, 0x01}));
}

// ---------------------------------------------------------------- shapes

TEST(ProvisionShapes, PhaseOneAcknowledgmentAndWipeAcks) {
  // 3.1.5.1.2.1: acknowledgment, in the spec's order (PolicyKey, Status, PolicyType).
  auto ack = decodeProvisionRequest(xmlDoc(R"(<Provision xmlns="Provision:"><Policies><Policy>
      <PolicyKey>1307199584</PolicyKey><Status>1</Status>
      <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>)"));
  ASSERT_TRUE(ack) << ack.error().message();
  ASSERT_TRUE(ack->policy);
  EXPECT_EQ(ack->policy->policy_key, 1307199584u);
  EXPECT_EQ(ack->policy->status, 1);
  EXPECT_FALSE(ack->device_information);

  // 3.1.5.1.2.2 and 3.1.5.1.2.3.
  auto wipe = decodeProvisionRequest(xmlDoc(
      R"(<Provision xmlns="Provision:"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>)"));
  ASSERT_TRUE(wipe);
  EXPECT_EQ(wipe->remote_wipe_status, 1);
  auto account = decodeProvisionRequest(xmlDoc(
      R"(<Provision xmlns="Provision:"><AccountOnlyRemoteWipe><Status>2</Status></AccountOnlyRemoteWipe></Provision>)"));
  ASSERT_TRUE(account);
  EXPECT_EQ(account->account_only_remote_wipe_status, 2);

  // 3.1.5.1.1: an empty Provision (after a wipe status) is valid.
  auto empty = decodeProvisionRequest(xmlDoc(R"(<Provision xmlns="Provision:"/>)"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, ProvisionRequest{});
}

// ---------------------------------------------------------------- round trips

ProvisionRequest roundTripRequest(const ProvisionRequest& in, std::string_view version) {
  auto bytes = encodeProvisionRequest(in, version);
  EXPECT_TRUE(bytes) << bytes.error().message();
  if (!bytes) return {};
  auto out = decodeProvisionRequest(bytesDoc(*bytes));
  EXPECT_TRUE(out) << out.error().message();
  return out ? *out : ProvisionRequest{};
}

ProvisionResponse roundTripResponse(const ProvisionResponse& in, std::string_view version) {
  auto bytes = encodeProvisionResponse(in, version);
  EXPECT_TRUE(bytes) << bytes.error().message();
  if (!bytes) return {};
  auto out = decodeProvisionResponse(bytesDoc(*bytes));
  EXPECT_TRUE(out) << out.error().message();
  return out ? *out : ProvisionResponse{};
}

PolicySettings unusualSettings() {
  PolicySettings s;
  s.alphanumeric_device_password_required = true;
  s.allow_camera = false;
  s.min_device_password_length = 8;
  s.max_attachment_size = 10 * 1024 * 1024;
  s.device_password_expiration = 90;
  s.max_inactivity_time_device_lock = std::nullopt;
  s.allow_bluetooth = 1;
  s.max_email_body_truncation_size = 51200;
  s.unapproved_in_rom_applications = {"Solitaire", "Internet Explorer"};
  s.approved_application_hashes = {"A3F1C2D4E5B6A7980123456789ABCDEF01234567"};
  return s;
}

TEST(ProvisionRoundTrip, RequestsIn141And161) {
  for (std::string_view v : {"14.1", "16.0", "16.1"}) {
    SCOPED_TRACE(std::string(v));
    ProvisionRequest initial;
    initial.device_information = sampleDevice();
    initial.policy = PolicyRequest{std::string(kEasPolicyType), std::nullopt, std::nullopt};
    EXPECT_EQ(roundTripRequest(initial, v), initial);

    ProvisionRequest ack;
    ack.policy = PolicyRequest{std::string(kEasPolicyType), 4294967295u, 2};
    EXPECT_EQ(roundTripRequest(ack, v), ack);

    ProvisionRequest wipe;
    wipe.remote_wipe_status = 1;
    EXPECT_EQ(roundTripRequest(wipe, v), wipe);
  }
  ProvisionRequest account;
  account.account_only_remote_wipe_status = 1;
  EXPECT_EQ(roundTripRequest(account, "16.1"), account);
  auto refused = encodeProvisionRequest(account, "16.0");
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::invalid_argument));

  // MS-ASPROV 2.2.2.53: DeviceInformation in Provision only from 14.1.
  ProvisionRequest old;
  old.device_information = sampleDevice();
  auto r = encodeProvisionRequest(old, "14.0");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("14.1"), std::string::npos);
}

TEST(ProvisionRoundTrip, ResponsesIn141And161) {
  for (std::string_view v : {"14.1", "16.1"}) {
    SCOPED_TRACE(std::string(v));
    ProvisionResponse initial;
    initial.device_information_status = 1;
    initial.policy = PolicyResponse{std::string(kEasPolicyType), 1, 1307199584u, unusualSettings()};
    EXPECT_EQ(roundTripResponse(initial, v), initial);

    ProvisionResponse defaults;
    defaults.policy = PolicyResponse{std::string(kEasPolicyType), 1, 7u, PolicySettings{}};
    EXPECT_EQ(roundTripResponse(defaults, v), defaults);

    ProvisionResponse ack;  // 3.2.5.1.2.1: no Data in the acknowledgment's answer
    ack.policy = PolicyResponse{std::string(kEasPolicyType), 1, 3942919513u, std::nullopt};
    EXPECT_EQ(roundTripResponse(ack, v), ack);

    ProvisionResponse wrong_key;
    wrong_key.policy = PolicyResponse{std::string(kEasPolicyType), 5, std::nullopt, std::nullopt};
    EXPECT_EQ(roundTripResponse(wrong_key, v), wrong_key);

    ProvisionResponse wipe;
    wipe.status = 1;
    wipe.remote_wipe = true;
    EXPECT_EQ(roundTripResponse(wipe, v), wipe);
  }
  ProvisionResponse account;
  account.account_only_remote_wipe = true;
  EXPECT_EQ(roundTripResponse(account, "16.1"), account);
  auto bytes = encodeProvisionResponse(account, "16.1");
  ASSERT_TRUE(bytes);
  EXPECT_NE(wbxml::toXml(bytesDoc(*bytes)).find("<AccountOnlyRemoteWipe/>"), std::string::npos);
  EXPECT_FALSE(encodeProvisionResponse(account, "14.1"));
  EXPECT_FALSE(encodeProvisionResponse(ProvisionResponse{}, "2.5"));
}

TEST(ProvisionRoundTrip, DeviceInformationStatusOnlyFrom141) {
  ProvisionResponse r;
  r.device_information_status = 1;
  auto bytes = encodeProvisionResponse(r, "14.0");
  ASSERT_TRUE(bytes);
  auto back = decodeProvisionResponse(bytesDoc(*bytes));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->device_information_status);
}

TEST(ProvisionRoundTrip, SettingsFollowTheVersionTable) {
  // 12.1 has every EASProvisionDoc tag; the writer must never emit a tag the
  // version lacks ([MS-ASWBXML] 2.1.2.1.15).
  ProvisionResponse r;
  r.policy = PolicyResponse{std::string(kEasPolicyType), 1, 1u, PolicySettings{}};
  auto bytes = encodeProvisionResponse(r, "12.1");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(roundTripResponse(r, "12.1"), r);
}

// ---------------------------------------------------------------- malformed

void expectRequestError(std::string_view xml, Errc code, std::string_view detail_part) {
  auto r = decodeProvisionRequest(xmlDoc(xml));
  ASSERT_FALSE(r) << "decoded: " << xml;
  EXPECT_TRUE(r.error().is(code)) << r.error().message();
  EXPECT_NE(r.error().detail.find(detail_part), std::string::npos) << r.error().detail;
}

TEST(ProvisionMalformed, RequestsAreRefusedWithTheElementNamed) {
  expectRequestError(R"(<Ping xmlns="Ping:"/>)", Errc::invalid_argument, "Ping:Ping");
  expectRequestError(R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyKey>1</PolicyKey>
      </Policy></Policies></Provision>)",
                     Errc::invalid_argument, "PolicyType");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>
      <PolicyKey>12ab</PolicyKey></Policy></Policies></Provision>)",
      Errc::invalid_argument, "Provision:PolicyKey");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>
      <PolicyKey>4294967296</PolicyKey></Policy></Policies></Provision>)",
      Errc::invalid_argument, "PolicyKey");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>
      <PolicyKey>-1</PolicyKey></Policy></Policies></Provision>)",
      Errc::invalid_argument, "PolicyKey");
  expectRequestError(R"(<Provision xmlns="Provision:"><Status>1</Status></Provision>)",
                     Errc::invalid_argument, "unexpected element Provision:Status");
  expectRequestError(R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>x</PolicyType>
      <Data/></Policy></Policies></Provision>)",
                     Errc::invalid_argument, "Provision:Data");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>x</PolicyType></Policy>
      <Policy><PolicyType>x</PolicyType></Policy></Policies></Provision>)",
      Errc::invalid_argument, "duplicate");
  expectRequestError(R"(<Provision xmlns="Provision:"><RemoteWipe/></Provision>)",
                     Errc::invalid_argument, "without Provision:Status");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><RemoteWipe><Status>x</Status></RemoteWipe></Provision>)",
      Errc::invalid_argument, "Provision:Status");
  expectRequestError(
      R"(<Provision xmlns="Provision:" xmlns:s="Settings:"><s:DeviceInformation><s:Set>
      <s:Oof/></s:Set></s:DeviceInformation></Provision>)",
      Errc::invalid_argument, "Settings:Oof");
  expectRequestError(R"(<Provision xmlns="Provision:" xmlns:s="Settings:"><s:DeviceInformation>
      <s:Model>x</s:Model></s:DeviceInformation></Provision>)",
                     Errc::invalid_argument, "Settings:Model");
  expectRequestError(
      R"(<Provision xmlns="Provision:" xmlns:s="Settings:"><s:DeviceInformation><s:Set>
      <s:Model>a</s:Model><s:Model>b</s:Model></s:Set></s:DeviceInformation></Provision>)",
      Errc::invalid_argument, "duplicate element Settings:Model");
  expectRequestError(
      R"(<Provision xmlns="Provision:" xmlns:s="Settings:"><s:DeviceInformation><s:Set>
      <s:EnableOutboundSMS>yes</s:EnableOutboundSMS></s:Set></s:DeviceInformation></Provision>)",
      Errc::invalid_argument, "EnableOutboundSMS");
  expectRequestError(
      R"(<Provision xmlns="Provision:"><Policies><Policy><PolicyType>x<PolicyKey>1</PolicyKey>
      </PolicyType></Policy></Policies></Provision>)",
      Errc::invalid_argument, "child elements");
}

TEST(ProvisionMalformed, OverLongStrings) {
  std::string model(1025, 'm');
  expectRequestError(
      "<Provision xmlns=\"Provision:\" "
      "xmlns:s=\"Settings:\"><s:DeviceInformation><s:Set><s:Model>" +
          model + "</s:Model></s:Set></s:DeviceInformation></Provision>",
      Errc::limit_exceeded, "Settings:Model");
  std::string type(65, 't');
  expectRequestError("<Provision xmlns=\"Provision:\"><Policies><Policy><PolicyType>" + type +
                         "</PolicyType></Policy></Policies></Provision>",
                     Errc::limit_exceeded, "Provision:PolicyType");
  // The bound is the caller's.
  ProvisionLimits tight;
  tight.max_device_string = 4;
  auto r = decodeProvisionRequest(
      xmlDoc(R"(<Provision xmlns="Provision:" xmlns:s="Settings:"><s:DeviceInformation>
      <s:Set><s:OS>Android</s:OS></s:Set></s:DeviceInformation></Provision>)"),
      tight);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));
}

TEST(ProvisionMalformed, UnknownTokensAreNamed) {
  // Provision page, token 0x3F: no tag there.
  Bytes bytes = {0x03, 0x01, 0x6A, 0x00, 0x00, 0x0E, 0x45, 0x3F, 0x01};
  auto r = decodeProvisionRequest(bytesDoc(bytes));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("page 14, token 63"), std::string::npos) << r.error().detail;
}

TEST(ProvisionMalformed, Responses) {
  auto no_status =
      decodeProvisionResponse(xmlDoc(R"(<Provision xmlns="Provision:"><RemoteWipe/></Provision>)"));
  ASSERT_FALSE(no_status);
  EXPECT_NE(no_status.error().detail.find("Status"), std::string::npos);
  auto bad_setting =
      decodeProvisionResponse(xmlDoc(R"(<Provision xmlns="Provision:"><Status>1</Status>
      <Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><Status>1</Status><Data><EASProvisionDoc>
      <AllowBluetooth>3</AllowBluetooth></EASProvisionDoc></Data></Policy></Policies></Provision>)"));
  ASSERT_FALSE(bad_setting);
  EXPECT_NE(bad_setting.error().detail.find("AllowBluetooth"), std::string::npos);
  PolicySettings s;
  s.allow_bluetooth = 7;
  ProvisionResponse r;
  r.policy = PolicyResponse{std::string(kEasPolicyType), 1, 1u, s};
  EXPECT_FALSE(encodeProvisionResponse(r, "14.1"));
}

// ---------------------------------------------------------------- differential (libwbxml2)

bool haveWbxml2xml() { return std::system("command -v wbxml2xml >/dev/null 2>&1") == 0; }

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// libwbxml2 0.11.8 names Provision 0x10 "DeviceEncryptionEnabled" where
// [MS-ASWBXML] 2.1.2.1.15 says RequireStorageCardEncryption (same token).
std::string fromLibwbxmlNames(std::string xml) {
  for (std::string_view tag : {"<DeviceEncryptionEnabled>", "</DeviceEncryptionEnabled>"}) {
    std::string ours = std::string(tag);
    ours.replace(ours.find("DeviceEncryptionEnabled"), 23, "RequireStorageCardEncryption");
    for (std::size_t at = xml.find(tag); at != std::string::npos; at = xml.find(tag, at)) {
      xml.replace(at, tag.size(), ours);
    }
  }
  return xml;
}

TEST(ProvisionDifferential, Wbxml2xmlReadsOur141ResponsesAsWeDo) {
  if (!haveWbxml2xml()) GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  testing::TempDir dir("provision-diff");
  std::vector<ProvisionResponse> responses;
  ProvisionResponse initial;
  initial.device_information_status = 1;
  initial.policy = PolicyResponse{std::string(kEasPolicyType), 1, 1307199584u, unusualSettings()};
  responses.push_back(initial);
  ProvisionResponse ack;
  ack.policy = PolicyResponse{std::string(kEasPolicyType), 1, 3942919513u, std::nullopt};
  responses.push_back(ack);
  ProvisionResponse wipe;
  wipe.remote_wipe = true;
  responses.push_back(wipe);
  // (AccountOnlyRemoteWipe is 16.1-only and unknown to libwbxml2 0.11.8.)
  int n = 0;
  for (const ProvisionResponse& r : responses) {
    SCOPED_TRACE(n);
    auto bytes = encodeProvisionResponse(r, "14.1");
    ASSERT_TRUE(bytes) << bytes.error().message();
    std::string in = dir.file("r" + std::to_string(n) + ".wbxml");
    std::string out = dir.file("r" + std::to_string(n) + ".xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes->data()),
              static_cast<std::streamsize>(bytes->size()));
    }
    std::string cmd =
        "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + dir.file("log") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(dir.file("log"));
    std::string theirs = fromLibwbxmlNames(readFile(out));
    EXPECT_EQ(theirs, wbxml::toXml(bytesDoc(*bytes)));
    auto parsed = wbxml::parseXml(theirs);
    ASSERT_TRUE(parsed) << parsed.error().message() << "\n" << theirs;
    auto decoded = decodeProvisionResponse(*parsed);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(*decoded, r);
    ++n;
  }
}

}  // namespace
}  // namespace rampart::eas
