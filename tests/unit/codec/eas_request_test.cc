// Tests for the EAS request-line codec (MS-ASHTTP 2.2.1.1.1) and the version
// helpers (MS-ASHTTP 2.2.4.1.2).
#include <gtest/gtest.h>

#include <string>

#include "codec/eas/request_line.h"
#include "codec/eas/versions.h"

namespace rampart::eas {
namespace {

// MS-ASHTTP 2.2.1.1.1: "The following two examples are equivalent."
constexpr std::string_view kSpecPlain =
    "/Microsoft-Server-ActiveSync?Cmd=Sync&User=rmjones&DeviceId=v140Device&DeviceType=SmartPhone";
// MS-ASHTTP 2.2.1.1.1.1's example URI.
constexpr std::string_view kSpecBase64 =
    "/Microsoft-Server-ActiveSync?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l";

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16 |
                 static_cast<unsigned char>(bytes[i + 1]) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The spec example's bytes: 14.0, Sync, locale 0x0409, DeviceId "v140Device",
// no policy key, DeviceType "SmartPhone".
std::string specBytes() {
  return std::string(
      "\x8c\x00\x09\x04\x0a"
      "v140Device"
      "\x00\x0a"
      "SmartPhone",
      27);
}

Result<EasRequest> decodeBytes(const std::string& bytes) { return decodeQuery(base64(bytes)); }

EasRequest fullRequest() {
  EasRequest r;
  r.command = "SmartReply";
  r.user = "alice@example.org";
  r.device_id = "ABC123";
  r.device_type = "iPhone";
  r.protocol_version = "16.1";
  r.policy_key = 0xdeadbeef;
  r.locale = 0x0409;
  r.attachment_name = "att.1";
  r.collection_id = "5";
  r.item_id = "5:12";
  r.long_id = "RgAAAA...";
  r.occurrence = "2026-11-24T10:00:00.000Z";
  r.save_in_sent = true;
  r.accept_multipart = true;
  r.base64_form = true;
  return r;
}

// ---- the spec's own examples -------------------------------------------------

TEST(EasRequestLine, SpecPlainExample) {
  auto r = decodeRequestTarget(kSpecPlain);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "Sync");
  EXPECT_EQ(r->user, "rmjones");
  EXPECT_EQ(r->device_id, "v140Device");
  EXPECT_EQ(r->device_type, "SmartPhone");
  EXPECT_FALSE(r->protocol_version);
  EXPECT_FALSE(r->policy_key);
  EXPECT_FALSE(r->base64_form);
}

TEST(EasRequestLine, SpecBase64Example) {
  auto r = decodeRequestTarget(kSpecBase64);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "Sync");
  EXPECT_EQ(r->protocol_version, "14.0");
  EXPECT_EQ(r->locale, 0x0409);
  EXPECT_EQ(r->device_id, "v140Device");
  EXPECT_EQ(r->device_type, "SmartPhone");
  EXPECT_FALSE(r->policy_key);
  EXPECT_EQ(r->user, "");
  EXPECT_TRUE(r->base64_form);
}

TEST(EasRequestLine, EncoderReproducesSpecExampleByteForByte) {
  auto r = decodeRequestTarget(kSpecBase64);
  ASSERT_TRUE(r);
  auto encoded = encodeBase64Query(*r);
  ASSERT_TRUE(encoded) << encoded.error().message();
  EXPECT_EQ("/Microsoft-Server-ActiveSync?" + *encoded, kSpecBase64);
  EXPECT_EQ(base64(specBytes()), *encoded);
}

TEST(EasRequestLine, BothSpecFormsAgree) {
  auto plain = decodeRequestTarget(kSpecPlain);
  auto b64 = decodeRequestTarget(kSpecBase64);
  ASSERT_TRUE(plain && b64);
  EXPECT_EQ(plain->command, b64->command);
  EXPECT_EQ(plain->device_id, b64->device_id);
  EXPECT_EQ(plain->device_type, b64->device_type);
}

// ---- plain form ----------------------------------------------------------------

TEST(EasRequestLine, PlainWithCommandParameters) {
  auto r = decodeRequestTarget(
      "/Microsoft-Server-ActiveSync?Cmd=SmartForward&User=alice&DeviceId=ABC123&DeviceType=iPhone"
      "&CollectionId=5&ItemId=5%3A12&LongId=L1&Occurrence=O1&SaveInSent=T&AttachmentName=a%2Fb"
      "&AcceptMultiPart=T&PolicyKey=4294967295");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "SmartForward");
  EXPECT_EQ(r->collection_id, "5");
  EXPECT_EQ(r->item_id, "5:12");
  EXPECT_EQ(r->long_id, "L1");
  EXPECT_EQ(r->occurrence, "O1");
  EXPECT_EQ(r->attachment_name, "a/b");
  EXPECT_TRUE(r->save_in_sent);
  EXPECT_TRUE(r->accept_multipart);
  EXPECT_EQ(r->policy_key, 4294967295u);
}

TEST(EasRequestLine, PlainAcceptsAnyParameterOrderAndCase) {
  auto r = decodeQuery("DeviceType=Android&deviceid=X1&cmd=Ping&USER=bob");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "Ping");
  EXPECT_EQ(r->device_id, "X1");
}

TEST(EasRequestLine, AbsoluteUriAndPathCase) {
  EXPECT_TRUE(
      decodeRequestTarget("https://mail.example.org:8443/Microsoft-Server-ActiveSync?"
                          "Cmd=Sync&User=a&DeviceId=D&DeviceType=T"));
  EXPECT_TRUE(
      decodeRequestTarget("/microsoft-server-activesync?Cmd=Sync&User=a&DeviceId=D&DeviceType=T"));
}

TEST(EasRequestLine, PercentEncodingEdgeCases) {
  auto ok = decodeQuery("Cmd=Sync&User=dom%5Calice%2Btag%40example.org&DeviceId=D&DeviceType=T");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->user, "dom\\alice+tag@example.org");
  // '+' is literal, not a space.
  auto plus = decodeQuery("Cmd=Sync&User=a+b&DeviceId=D&DeviceType=T");
  ASSERT_TRUE(plus);
  EXPECT_EQ(plus->user, "a+b");
  // Lower-case hex digits are fine.
  auto lower = decodeQuery("Cmd=Sync&User=a%2fb&DeviceId=D&DeviceType=T");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->user, "a/b");
  // UTF-8 in a user name passes; percent-encoded ASCII in the DeviceId decodes first.
  EXPECT_TRUE(decodeQuery("Cmd=Sync&User=z%C3%B6e&DeviceId=D&DeviceType=T"));
  auto id = decodeQuery("Cmd=Sync&User=a&DeviceId=%41%42&DeviceType=T");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->device_id, "AB");

  for (std::string_view bad : {
           "Cmd=Sync&User=a%&DeviceId=D&DeviceType=T",    // truncated at '&'
           "Cmd=Sync&User=a&DeviceId=D&DeviceType=T%4",   // truncated at the end
           "Cmd=Sync&User=a&DeviceId=D&DeviceType=T%",    // bare '%'
           "Cmd=Sync&User=a%zz&DeviceId=D&DeviceType=T",  // not hex
           "Cmd=Sync&User=a%G1&DeviceId=D&DeviceType=T",  // not hex
       }) {
    auto r = decodeQuery(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::parse_error)) << bad << ": " << r.error().message();
  }
  for (std::string_view bad : {
           "Cmd=Sync&User=a%00b&DeviceId=D&DeviceType=T",     // NUL in User
           "Cmd=Sync&User=a%0D%0Ab&DeviceId=D&DeviceType=T",  // CRLF in User
           "Cmd=Sync&User=a&DeviceId=A%2CB&DeviceType=T",     // comma in DeviceId
           "Cmd=Sync&User=a&DeviceId=D&DeviceType=T%20T",     // space in DeviceType
           "Cmd=Sy%6Ec%00&User=a&DeviceId=D&DeviceType=T",    // NUL in Cmd
       }) {
    auto r = decodeQuery(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << bad << ": " << r.error().message();
  }
}

TEST(EasRequestLine, TextMustBeUtf8) {
  EXPECT_TRUE(decodeQuery("Cmd=Sync&User=%E2%82%AC%F0%9F%98%80&DeviceId=D&DeviceType=T"));
  for (std::string_view bad : {"%FF", "%C3", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%E2%82"}) {
    auto r = decodeQuery("Cmd=Sync&User=a" + std::string(bad) + "&DeviceId=D&DeviceType=T");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().detail.find("UTF-8"), std::string::npos) << bad;
  }
  auto r = decodeQuery("Cmd=Sync&User=a&DeviceId=D&DeviceType=T&AttachmentName=%80");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("AttachmentName"), std::string::npos);
}

TEST(EasRequestLine, PlainRejectsDuplicates) {
  for (std::string_view q : {"Cmd=Sync&Cmd=Ping&User=a&DeviceId=D&DeviceType=T",
                             "Cmd=Sync&User=a&DeviceId=D&DeviceId=E&DeviceType=T",
                             "Cmd=Sync&User=a&user=b&DeviceId=D&DeviceType=T",
                             "Cmd=Sync&User=a&DeviceId=D&DeviceType=T&ItemId=1&ItemId=1"}) {
    auto r = decodeQuery(q);
    ASSERT_FALSE(r) << q;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument));
    EXPECT_NE(r.error().detail.find("duplicate"), std::string::npos) << r.error().detail;
  }
}

TEST(EasRequestLine, PlainRejectsMalformedAndMissing) {
  struct Case {
    std::string_view query;
    Errc errc;
    std::string_view mentions;
  };
  const Case cases[] = {
      {"User=a&DeviceId=D&DeviceType=T", Errc::invalid_argument, "Cmd"},
      {"Cmd=Sync&DeviceId=D&DeviceType=T", Errc::invalid_argument, "User"},
      {"Cmd=Sync&User=a&DeviceType=T", Errc::invalid_argument, "DeviceId"},
      {"Cmd=Sync&User=a&DeviceId=D", Errc::invalid_argument, "DeviceType"},
      {"Cmd=Frobnicate&User=a&DeviceId=D&DeviceType=T", Errc::invalid_argument, "unknown command"},
      {"Cmd=sync&User=a&DeviceId=D&DeviceType=T", Errc::invalid_argument, "unknown command"},
      {"Cmd=GetHierarchy&User=a&DeviceId=D&DeviceType=T", Errc::invalid_argument,
       "unknown command"},
      {"Cmd=Sync&User=a&DeviceId=D&DeviceType=T&Foo=1", Errc::invalid_argument,
       "unknown parameter"},
      {"Cmd=Sync&User=a&DeviceId=D&DeviceType=T&SaveInSent=yes", Errc::invalid_argument,
       "SaveInSent"},
      {"Cmd=Sync&User=a&DeviceId=D&DeviceType=T&PolicyKey=4294967296", Errc::invalid_argument,
       "PolicyKey"},
      {"Cmd=Sync&User=a&DeviceId=D&DeviceType=T&PolicyKey=-1", Errc::invalid_argument, "PolicyKey"},
      {"Cmd=Sync&User=&DeviceId=D&DeviceType=T", Errc::invalid_argument, "empty"},
      {"Cmd=Sync&User=a&DeviceId=D&DeviceType=T&", Errc::parse_error, "empty parameter"},
      {"Cmd=Sync&&User=a&DeviceId=D&DeviceType=T", Errc::parse_error, "empty parameter"},
      {"Cmd=Sync&User&DeviceId=D&DeviceType=T", Errc::parse_error, "without '='"},
      {"Cmd=Sync&=a&DeviceId=D&DeviceType=T", Errc::parse_error, "name"},
      {"Cmd=Sync&Us3r=a&DeviceId=D&DeviceType=T", Errc::parse_error, "name"},
  };
  for (const auto& c : cases) {
    auto r = decodeQuery(c.query);
    ASSERT_FALSE(r) << c.query;
    EXPECT_TRUE(r.error().is(c.errc)) << c.query << ": " << r.error().message();
    EXPECT_NE(r.error().detail.find(c.mentions), std::string::npos)
        << c.query << ": " << r.error().detail;
  }
}

TEST(EasRequestLine, UserOptionalWhenAsked) {
  RequestLineLimits lenient;
  lenient.require_user_in_plain = false;
  auto r = decodeQuery("Cmd=Sync&DeviceId=D&DeviceType=T", lenient);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->user, "");
}

TEST(EasRequestLine, DeviceIdSyntax) {
  std::string id32(32, 'a');
  EXPECT_TRUE(decodeQuery("Cmd=Sync&User=a&DeviceId=" + id32 + "&DeviceType=T"));
  auto too_long = decodeQuery("Cmd=Sync&User=a&DeviceId=" + id32 + "b&DeviceType=T");
  ASSERT_FALSE(too_long);
  EXPECT_TRUE(too_long.error().is(Errc::invalid_argument));
  for (std::string_view id : {"ab-cd", "ab_cd", "ab.cd", "ab%20cd", "%C3%A9"}) {
    auto r = decodeQuery("Cmd=Sync&User=a&DeviceId=" + std::string(id) + "&DeviceType=T");
    ASSERT_FALSE(r) << id;
    EXPECT_NE(r.error().detail.find("DeviceId"), std::string::npos);
  }
  EXPECT_FALSE(decodeQuery("Cmd=Sync&User=a&DeviceId=D&DeviceType=" + std::string(65, 'x')));
  EXPECT_FALSE(decodeQuery("Cmd=Sync&User=" + std::string(256, 'u') + "&DeviceId=D&DeviceType=T"));
}

TEST(EasRequestLine, TargetShape) {
  EXPECT_TRUE(
      decodeRequestTarget("/Microsoft-Server-ActiveSync").error().is(Errc::invalid_argument));
  EXPECT_TRUE(
      decodeRequestTarget("/Microsoft-Server-ActiveSync?").error().is(Errc::invalid_argument));
  EXPECT_TRUE(decodeRequestTarget("/Autodiscover?Cmd=Sync&User=a&DeviceId=D&DeviceType=T")
                  .error()
                  .is(Errc::parse_error));
  EXPECT_TRUE(
      decodeRequestTarget("/Microsoft-Server-ActiveSync/?Cmd=Sync&User=a&DeviceId=D&DeviceType=T")
          .error()
          .is(Errc::parse_error));
  EXPECT_TRUE(
      decodeRequestTarget("/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=D&DeviceType=T#x")
          .error()
          .is(Errc::parse_error));
  EXPECT_TRUE(decodeRequestTarget("https://host").error().is(Errc::parse_error));
  EXPECT_TRUE(decodeRequestTarget("").error().is(Errc::parse_error));
}

TEST(EasRequestLine, SizeLimit) {
  std::string target =
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=D&DeviceType=T&ItemId=" +
      std::string(5000, 'x');
  auto r = decodeRequestTarget(target);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));
  RequestLineLimits small;
  small.max_target_size = 20;
  EXPECT_TRUE(decodeRequestTarget(kSpecBase64, small).error().is(Errc::limit_exceeded));
  EXPECT_TRUE(decodeQuery(std::string(5000, 'A')).error().is(Errc::limit_exceeded));
}

// ---- base64 form -----------------------------------------------------------------

TEST(EasRequestLine, Base64RoundTripAllFields) {
  EasRequest want = fullRequest();
  auto q = encodeBase64Query(want);
  ASSERT_TRUE(q) << q.error().message();
  auto got = decodeQuery(*q);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, want);
}

TEST(EasRequestLine, Base64RoundTripEveryCommandAndVersion) {
  for (const CommandInfo& c : allCommands()) {
    for (std::string_view v : kSupportedVersions) {
      EasRequest r;
      r.command = std::string(c.name);
      r.device_id = "D1";
      r.device_type = "T";
      r.protocol_version = std::string(v);
      r.base64_form = true;
      auto q = encodeBase64Query(r);
      ASSERT_TRUE(q) << c.name;
      auto back = decodeQuery(*q);
      ASSERT_TRUE(back) << c.name << " " << v << ": " << back.error().message();
      EXPECT_EQ(*back, r);
    }
  }
}

TEST(EasRequestLine, Base64PolicyKeyIsLittleEndian) {
  std::string bytes = std::string(
      "\x8d\x12\x09\x04\x01"
      "D"
      "\x04\x78\x56\x34\x12\x01"
      "T",
      13);
  auto r = decodeBytes(bytes);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "Ping");
  EXPECT_EQ(r->protocol_version, "14.1");
  EXPECT_EQ(r->policy_key, 0x12345678u);
}

TEST(EasRequestLine, Base64OptionsAndUser) {
  std::string bytes = std::string(
      "\xa1\x03\x09\x04\x01"
      "D"
      "\x00\x01"
      "T"
      "\x07\x01\x01"
      "\x08\x05"
      "alice"
      "\x01\x01"
      "5"
      "\x03\x04"
      "5:12",
      28);
  auto r = decodeBytes(bytes);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->command, "SmartReply");
  EXPECT_EQ(r->protocol_version, "16.1");
  EXPECT_TRUE(r->save_in_sent);
  EXPECT_FALSE(r->accept_multipart);
  EXPECT_EQ(r->user, "alice");
  EXPECT_EQ(r->collection_id, "5");
  EXPECT_EQ(r->item_id, "5:12");
}

TEST(EasRequestLine, Base64BinaryGuidDeviceIdBecomesHex) {
  std::string guid("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
  std::string bytes = std::string("\x8c\x00\x09\x04\x10", 5) + guid +
                      std::string(
                          "\x00\x02"
                          "PC",
                          4);
  auto r = decodeBytes(bytes);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->device_id, "00112233445566778899AABBCCDDEEFF");
  // ... and re-encodes as that text, which decodes to the same request.
  auto again = decodeQuery(*encodeBase64Query(*r));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *r);
  // Other non-alphanumeric device IDs are rejected.
  auto bad =
      decodeBytes(std::string("\x8c\x00\x09\x04\x03"
                              "a-b"
                              "\x00\x01"
                              "T",
                              11));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("DeviceId"), std::string::npos);
}

TEST(EasRequestLine, Base64EveryTruncationIsAnError) {
  auto full = encodeBase64Query(fullRequest());
  ASSERT_TRUE(full);
  // Decode to raw bytes through a known-good path: re-derive from the encoder.
  auto decoded = decodeQuery(*full);
  ASSERT_TRUE(decoded);
  // Build the same bytes by hand to truncate them: fixed fields + parameters.
  EasRequest r = fullRequest();
  std::string bytes;
  bytes += '\xa1';
  bytes += '\x03';
  bytes += "\x09\x04";
  bytes += static_cast<char>(r.device_id.size()) + r.device_id;
  bytes += std::string("\x04\xef\xbe\xad\xde", 5);
  bytes += static_cast<char>(r.device_type.size()) + r.device_type;
  auto param = [&](char tag, const std::string& v) {
    bytes += tag;
    bytes += static_cast<char>(v.size());
    bytes += v;
  };
  param('\x00', *r.attachment_name);
  param('\x01', *r.collection_id);
  param('\x03', *r.item_id);
  param('\x04', *r.long_id);
  param('\x06', *r.occurrence);
  param('\x07', std::string("\x03", 1));
  param('\x08', r.user);
  ASSERT_EQ(base64(bytes), *full);

  // Every prefix that cuts a field short fails cleanly; prefixes that end on a
  // parameter boundary are valid requests with fewer parameters.
  std::size_t fixed_end = 4 + 1 + r.device_id.size() + 5 + 1 + r.device_type.size();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto got = decodeBytes(bytes.substr(0, n));
    if (n < fixed_end) {
      ASSERT_FALSE(got) << "prefix " << n;
      EXPECT_TRUE(got.error().is(Errc::parse_error) || got.error().is(Errc::invalid_argument))
          << "prefix " << n << ": " << got.error().message();
    } else if (got) {
      EXPECT_EQ(got->command, "SmartReply");
    } else {
      EXPECT_NE(got.error().detail.find("parameter"), std::string::npos)
          << "prefix " << n << ": " << got.error().detail;
    }
  }
}

TEST(EasRequestLine, Base64LengthsBeyondTheData) {
  // Device ID length 200 with 3 bytes left.
  auto r =
      decodeBytes(std::string("\x8c\x00\x09\x04\xc8"
                              "abc",
                              8));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::parse_error));
  EXPECT_NE(r.error().detail.find("remaining"), std::string::npos);
  // Device type length 255 with 1 byte left.
  r =
      decodeBytes(std::string("\x8c\x00\x09\x04\x01"
                              "D"
                              "\x00\xff"
                              "T",
                              9));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::parse_error));
  // Parameter length 255 with 2 bytes left.
  r =
      decodeBytes(std::string("\x8c\x00\x09\x04\x01"
                              "D"
                              "\x00\x01"
                              "T"
                              "\x01\xff"
                              "ab",
                              13));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::parse_error));
  // Policy key length other than 0 or 4.
  r =
      decodeBytes(std::string("\x8c\x00\x09\x04\x01"
                              "D"
                              "\x02\x00\x00\x01"
                              "T",
                              11));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("policy key"), std::string::npos);
  // Zero-length DeviceId / DeviceType.
  EXPECT_FALSE(
      decodeBytes(std::string("\x8c\x00\x09\x04\x00\x00\x01"
                              "T",
                              8)));
  EXPECT_FALSE(
      decodeBytes(std::string("\x8c\x00\x09\x04\x01"
                              "D"
                              "\x00\x00",
                              8)));
}

TEST(EasRequestLine, Base64RejectsBadFieldsAndGarbage) {
  const std::string head = std::string(
      "\x8c\x00\x09\x04\x01"
      "D"
      "\x00\x01"
      "T",
      9);
  EXPECT_TRUE(decodeBytes(head));
  struct Case {
    std::string bytes;
    std::string_view mentions;
  };
  const Case cases[] = {
      {head + std::string("\x02\x01"
                          "x",
                          3),
       "tag"},  // tag 2 is not in the table
      {head + std::string("\x05\x01"
                          "x",
                          3),
       "tag"},  // nor 5
      {head + std::string("\x09\x01"
                          "x",
                          3),
       "tag"},  // nor 9+
      {head + std::string("\xff\x00", 2), "tag"},
      {head + std::string("\x01\x01"
                          "5"
                          "\x01\x01"
                          "6",
                          6),
       "duplicate"},
      {head + std::string("\x07\x02\x01\x00", 4), "Options"},  // Options must be one byte
      {head + std::string("\x07\x01\x04", 3), "Options"},      // unknown flag bit
      {head + std::string("\x08\x00", 2), "User"},             // empty User
      {head + std::string("\x01\x00", 2), "CollectionId"},     // empty value
      {head + std::string("\x08\x02"
                          "a\n",
                          4),
       "User"},                                      // control character
      {head + std::string("\x01", 1), "parameter"},  // trailing garbage byte
      {std::string("\x8c\x05\x09\x04\x01"
                   "D"
                   "\x00\x01"
                   "T",
                   9),
       "command code"},
      {std::string("\x8c\x18\x09\x04\x01"
                   "D"
                   "\x00\x01"
                   "T",
                   9),
       "command code"},
      {std::string("\x78\x00\x09\x04\x01"
                   "D"
                   "\x00\x01"
                   "T",
                   9),
       "protocol version"},  // 12.0
      {std::string("\x19\x00\x09\x04\x01"
                   "D"
                   "\x00\x01"
                   "T",
                   9),
       "protocol version"},  // 2.5
      {std::string("\x8c\x00\x09\x04\x01"
                   "D"
                   "\x00\x01"
                   " ",
                   9),
       "DeviceType"},
  };
  for (const auto& c : cases) {
    auto r = decodeBytes(c.bytes);
    ASSERT_FALSE(r) << c.mentions;
    EXPECT_NE(r.error().detail.find(c.mentions), std::string::npos) << r.error().detail;
  }
}

TEST(EasRequestLine, BadBase64) {
  for (std::string_view q : {"jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25",    // 35 chars: a lone 6 bits
                             "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob2!",    // bad character
                             "jAAJ BAp2MTQwRGV2aWNlAApTbWFydFBob25l",  // space
                             "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l=",  // padding on a full block
                             "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob2=="}) {
    auto r = decodeQuery(q);
    ASSERT_FALSE(r) << q;
    EXPECT_TRUE(r.error().is(Errc::parse_error)) << q << ": " << r.error().message();
  }
  // Non-zero bits in the last character's padding.
  EXPECT_FALSE(decodeQuery(base64(std::string(1, 'x')).replace(1, 1, "J")));
}

TEST(EasRequestLine, Base64PercentEncodedAndUnpadded) {
  // Policy key 0xfbfffffb makes '+' and '/' appear; clients escape them.
  EasRequest r;
  r.command = "Sync";
  r.device_id = "D";
  r.device_type = "T";
  r.protocol_version = "14.1";
  r.policy_key = 0xfbfffffbu;
  r.base64_form = true;
  auto q = encodeBase64Query(r);
  ASSERT_TRUE(q);
  std::string escaped;
  for (char c : *q) {
    if (c == '+')
      escaped += "%2B";
    else if (c == '/')
      escaped += "%2F";
    else if (c == '=')
      escaped += "%3D";
    else
      escaped += c;
  }
  auto back = decodeQuery(escaped);
  ASSERT_TRUE(back) << escaped << ": " << back.error().message();
  EXPECT_EQ(*back, r);
  std::string unpadded = *q;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  auto back2 = decodeQuery(unpadded);
  ASSERT_TRUE(back2) << back2.error().message();
  EXPECT_EQ(*back2, r);
}

TEST(EasRequestLine, EncoderRefusesWhatTheDecoderWould) {
  EasRequest r = fullRequest();
  r.protocol_version.reset();
  EXPECT_TRUE(encodeBase64Query(r).error().is(Errc::invalid_argument));
  r = fullRequest();
  r.protocol_version = "12.0";
  EXPECT_FALSE(encodeBase64Query(r));
  r = fullRequest();
  r.command = "Nope";
  EXPECT_FALSE(encodeBase64Query(r));
  EXPECT_FALSE(encodePlainQuery(r));
  r = fullRequest();
  r.item_id = std::string(256, 'i');
  EXPECT_FALSE(encodeBase64Query(r));
  r = fullRequest();
  r.device_id = "has space";
  EXPECT_FALSE(encodeBase64Query(r));
}

TEST(EasRequestLine, PlainRoundTrip) {
  EasRequest want = fullRequest();
  want.user = "dom\\al ice+x@example.org";
  auto q = encodePlainQuery(want);
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_EQ(q->rfind("Cmd=SmartReply&User=dom%5Cal%20ice%2Bx%40example.org&DeviceId=ABC123", 0), 0u)
      << *q;
  auto got = decodeQuery(*q);
  ASSERT_TRUE(got) << got.error().message();
  // What travels in headers instead is not in the plain query.
  want.protocol_version.reset();
  want.policy_key.reset();
  want.locale = 0;
  want.base64_form = false;
  EXPECT_EQ(*got, want);
}

// ---- versions ------------------------------------------------------------------

TEST(EasVersions, ByteConversion) {
  EXPECT_EQ(versionToByte("14.1"), 141);
  EXPECT_EQ(versionToByte("12.1"), 121);
  EXPECT_EQ(versionToByte("16.0"), 160);
  EXPECT_EQ(versionToByte("2.5"), 25);
  EXPECT_FALSE(versionToByte("14"));
  EXPECT_FALSE(versionToByte("14.10"));
  EXPECT_FALSE(versionToByte("1a.1"));
  EXPECT_FALSE(versionToByte("26.0"));
  EXPECT_FALSE(versionToByte(".1"));
  EXPECT_FALSE(versionToByte(""));
  EXPECT_EQ(versionFromByte(141), "14.1");
  EXPECT_EQ(versionFromByte(25), "2.5");
  for (std::string_view v : kSupportedVersions) {
    EXPECT_TRUE(isSupportedVersion(v));
    EXPECT_EQ(versionFromByte(*versionToByte(v)), v);
  }
  EXPECT_FALSE(isSupportedVersion("12.0"));
  EXPECT_FALSE(isSupportedVersion("2.5"));
}

TEST(EasVersions, CommandTable) {
  EXPECT_EQ(commandByCode(0)->name, "Sync");
  EXPECT_EQ(commandByCode(9)->name, "FolderSync");
  EXPECT_EQ(commandByCode(18)->name, "Ping");
  EXPECT_EQ(commandByCode(22)->name, "ValidateCert");
  for (std::uint8_t unassigned : {5, 6, 7, 8, 24, 255})
    EXPECT_EQ(commandByCode(unassigned), nullptr);
  EXPECT_EQ(commandByName("Provision")->code, 20);
  EXPECT_EQ(commandByName("provision"), nullptr);
  EXPECT_TRUE(commandInVersion("GetAttachment", "14.1"));
  EXPECT_FALSE(commandInVersion("GetAttachment", "16.0"));
  EXPECT_TRUE(commandInVersion("Find", "16.1"));
  EXPECT_FALSE(commandInVersion("Find", "16.0"));
  EXPECT_TRUE(commandInVersion("Ping", "12.1"));
  EXPECT_FALSE(commandInVersion("Ping", "2.5"));
}

TEST(EasVersions, OptionsHeaders) {
  const std::string_view implemented[] = {"Ping",      "Sync",        "FolderSync",
                                          "Provision", "NotACommand", "Sync"};
  OptionsHeaders h = optionsHeaders(implemented);
  EXPECT_EQ(h.protocol_versions, "12.1,14.0,14.1,16.0,16.1");
  EXPECT_EQ(h.protocol_commands, "Sync,FolderSync,Ping,Provision");
  // A command that exists in none of the offered versions is left out.
  const std::string_view find[] = {"Find", "GetAttachment", "Sync"};
  const std::string_view only16[] = {"16.0"};
  OptionsHeaders h16 = optionsHeaders(find, only16);
  EXPECT_EQ(h16.protocol_versions, "16.0");
  EXPECT_EQ(h16.protocol_commands, "Sync");
}

}  // namespace
}  // namespace rampart::eas
