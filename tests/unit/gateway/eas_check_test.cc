// EAS-aware request checks over real request targets (plain and base64 forms,
// the MS-ASHTTP examples the codec's own tests use).
#include "gateway/eas_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/eas/request_line.h"

namespace rampart::gateway {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kWbxml = "application/vnd.ms-sync.wbxml";
// MS-ASHTTP 4.1's plain example and its base64 counterpart (version 14.0, Sync).
constexpr std::string_view kSpecPlain =
    "/Microsoft-Server-ActiveSync?Cmd=Sync&User=rmjones&DeviceId=v140Device&DeviceType=SmartPhone";
constexpr std::string_view kSpecBase64 =
    "/Microsoft-Server-ActiveSync?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l";

std::string plain(std::string_view cmd, std::string_view extra = {}) {
  return "/Microsoft-Server-ActiveSync?Cmd=" + std::string(cmd) +
         "&User=alice&DeviceId=ABC123&DeviceType=iPhone" + std::string(extra);
}

// A base64 target for `cmd` in `version`, written by the codec itself.
std::string base64(std::string_view cmd, std::string_view version) {
  eas::EasRequest r;
  r.command = std::string(cmd);
  r.device_id = "ABC123";
  r.device_type = "iPhone";
  r.user = "alice";
  r.protocol_version = std::string(version);
  auto q = eas::encodeBase64Query(r);
  EXPECT_TRUE(q) << q.error().message();
  return std::string(eas::kActiveSyncPath) + "?" + *q;
}

int statusOf(const Result<EasCheck>& r) { return r ? 200 : httpStatus(r.error()); }

const EasCheckLimits kLimits{};

TEST(EasCheck, SpecExamplesPass) {
  auto p = checkEasRequest("POST", kSpecPlain, kWbxml, 100, kLimits, "14.0"sv);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->command, "Sync");
  EXPECT_EQ(p->user, "rmjones");
  EXPECT_EQ(p->device_id, "v140Device");
  EXPECT_EQ(p->device_type, "SmartPhone");
  EXPECT_EQ(p->protocol_version, "14.0");
  EXPECT_EQ(p->body_limit, 16u << 20);
  EXPECT_FALSE(p->request.base64_form);

  auto b = checkEasRequest("POST", kSpecBase64, kWbxml, 100, kLimits);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->command, "Sync");
  EXPECT_EQ(b->device_id, "v140Device");
  EXPECT_EQ(b->protocol_version, "14.0");
  EXPECT_TRUE(b->request.base64_form);
  // The base64 form's own version wins over a header.
  auto both = checkEasRequest("POST", kSpecBase64, kWbxml, 100, kLimits, "16.1"sv);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->protocol_version, "14.0");
}

TEST(EasCheck, Options) {
  auto o = checkEasRequest("OPTIONS", "/Microsoft-Server-ActiveSync", std::nullopt, 0, kLimits);
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->command, "OPTIONS");
  EXPECT_EQ(o->body_limit, 0u);
  EXPECT_TRUE(checkEasRequest("OPTIONS", "/microsoft-server-activesync", std::nullopt, std::nullopt,
                              kLimits));
  EXPECT_EQ(statusOf(checkEasRequest("OPTIONS", "/Microsoft-Server-ActiveSync?User=a&DeviceId=b",
                                     std::nullopt, 0, kLimits)),
            400);
  EasCheckLimits lenient;
  lenient.allow_options_query = true;
  EXPECT_TRUE(checkEasRequest("OPTIONS", "/Microsoft-Server-ActiveSync?User=a&DeviceId=b",
                              std::nullopt, 0, lenient));
  EXPECT_EQ(statusOf(checkEasRequest("OPTIONS", "/Microsoft-Server-ActiveSync?a b", std::nullopt, 0,
                                     lenient)),
            400);
  EXPECT_EQ(statusOf(checkEasRequest("OPTIONS", "/other", std::nullopt, 0, kLimits)), 400);
  EXPECT_EQ(
      statusOf(checkEasRequest("OPTIONS", "/Microsoft-Server-ActiveSync", kWbxml, 1, kLimits)),
      413);
  EXPECT_EQ(
      statusOf(checkEasRequest("OPTIONS", "/" + std::string(5000, 'a'), std::nullopt, 0, kLimits)),
      414);
}

TEST(EasCheck, MethodsOtherThanPostAndOptions) {
  for (auto m : {"GET"sv, "HEAD"sv, "PUT"sv, "post"sv, "options"sv, ""sv}) {
    EXPECT_EQ(statusOf(checkEasRequest(m, kSpecPlain, kWbxml, 10, kLimits)), 405) << m;
  }
}

TEST(EasCheck, BadTargets) {
  // Unknown command: 501; other malformed targets: 400; too long: 414.
  auto unknown = checkEasRequest("POST", plain("Frobnicate"), kWbxml, 10, kLimits);
  EXPECT_EQ(statusOf(unknown), 501);
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("sync"), kWbxml, 10, kLimits)), 501);
  const std::string bad[] = {
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=bad-id&DeviceType=T",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=" + std::string(33, 'A') +
          "&DeviceType=T",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=D&DeviceType=%01",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceType=T",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=D&DeviceType=T&Bogus=1",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&Cmd=Ping&User=a&DeviceId=D&DeviceType=T",
      "/Microsoft-Server-ActiveSync?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25",  // truncated base64
      "/Microsoft-Server-ActiveSync?!!!!",
      "/Microsoft-Server-ActiveSync",
      "/Microsoft-Server-ActiveSync?",
      "/owa/?Cmd=Sync&User=a&DeviceId=D&DeviceType=T",
      "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceId=D&DeviceType=T#frag",
  };
  for (const auto& target : bad) {
    auto r = checkEasRequest("POST", target, kWbxml, 10, kLimits);
    EXPECT_EQ(statusOf(r), 400) << target;
  }
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync", "&ItemId=" + std::string(4096, 'x')),
                                     kWbxml, 10, kLimits)),
            414);
}

TEST(EasCheck, ProtocolVersion) {
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync"), kWbxml, 10, kLimits, "2.5"sv)), 400);
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync"), kWbxml, 10, kLimits, "14"sv)), 400);
  EXPECT_TRUE(checkEasRequest("POST", plain("Sync"), kWbxml, 10, kLimits));
  EasCheckLimits strict;
  strict.require_protocol_version = true;
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync"), kWbxml, 10, strict)), 400);
  EXPECT_TRUE(checkEasRequest("POST", plain("Sync"), kWbxml, 10, strict, "16.1"sv));
  // Commands outside their versions: GetAttachment gone in 16.0, Find new in 16.1.
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("GetAttachment", "&AttachmentName=a"),
                                     std::nullopt, 0, kLimits, "16.0"sv)),
            501);
  EXPECT_TRUE(checkEasRequest("POST", plain("GetAttachment", "&AttachmentName=a"), std::nullopt, 0,
                              kLimits, "14.1"sv));
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Find"), kWbxml, 10, kLimits, "14.1"sv)), 501);
  EXPECT_TRUE(checkEasRequest("POST", plain("Find"), kWbxml, 10, kLimits, "16.1"sv));
  EXPECT_EQ(statusOf(checkEasRequest("POST", base64("Find", "16.1"), kWbxml, 10, kLimits)), 200);
  EXPECT_EQ(
      statusOf(checkEasRequest("POST", base64("GetAttachment", "16.0"), std::nullopt, 0, kLimits)),
      501);
}

TEST(EasCheck, BodyLimitsPerCommandAtTheBoundary) {
  struct Case {
    std::string_view cmd;
    std::uint64_t limit;
    std::string_view type;
  };
  const Case cases[] = {
      {"SendMail", 35ull << 20, kWbxml},      {"SmartReply", 35ull << 20, kWbxml},
      {"SmartForward", 35ull << 20, kWbxml},  {"Sync", 16ull << 20, kWbxml},
      {"Ping", 16ull << 10, kWbxml},          {"FolderSync", 1ull << 20, kWbxml},
      {"ItemOperations", 1ull << 20, kWbxml}, {"Provision", 1ull << 20, kWbxml},
  };
  for (const auto& c : cases) {
    auto at = checkEasRequest("POST", plain(c.cmd), c.type, c.limit, kLimits, "14.1"sv);
    ASSERT_TRUE(at) << c.cmd << ": " << at.error().message();
    EXPECT_EQ(at->body_limit, c.limit) << c.cmd;
    EXPECT_EQ(
        statusOf(checkEasRequest("POST", plain(c.cmd), c.type, c.limit + 1, kLimits, "14.1"sv)),
        413)
        << c.cmd;
  }
  EasCheckLimits small;
  small.max_message = 1000;
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("SendMail"), kWbxml, 1001, small, "14.1"sv)),
            413);
  EXPECT_TRUE(checkEasRequest("POST", plain("SendMail"), kWbxml, 1000, small, "14.1"sv));
  // GetAttachment has no body at all.
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("GetAttachment", "&AttachmentName=a"), kWbxml, 1,
                                     kLimits, "14.1"sv)),
            413);
}

TEST(EasCheck, ChunkedBodies) {
  // No Content-Length: allowed, the caller enforces the returned limit...
  auto r = checkEasRequest("POST", plain("Sync"), kWbxml, std::nullopt, kLimits, "14.1"sv);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body_limit, 16u << 20);
  // ...and still needs a Content-Type.
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync"), std::nullopt, std::nullopt, kLimits)),
            415);
  EasCheckLimits strict;
  strict.require_content_length = true;
  EXPECT_EQ(statusOf(checkEasRequest("POST", plain("Sync"), kWbxml, std::nullopt, strict)), 411);
}

TEST(EasCheck, EmptyBodies) {
  // Empty Ping and Sync reuse cached state (MS-ASCMD 3.1.5.8, 2.2.1.21).
  EXPECT_TRUE(checkEasRequest("POST", plain("Ping"), std::nullopt, 0, kLimits, "14.1"sv));
  EXPECT_TRUE(checkEasRequest("POST", plain("Sync"), std::nullopt, 0, kLimits, "14.1"sv));
  // A Content-Type on an empty body is tolerated (SHOULD NOT, not MUST NOT).
  EXPECT_TRUE(checkEasRequest("POST", plain("Ping"), kWbxml, 0, kLimits, "14.1"sv));
  EXPECT_TRUE(checkEasRequest("POST", plain("Ping"), "text/plain"sv, 0, kLimits, "14.1"sv));
  for (auto cmd : {"FolderSync"sv, "Provision"sv, "SendMail"sv, "Settings"sv, "ItemOperations"sv}) {
    EXPECT_EQ(statusOf(checkEasRequest("POST", plain(cmd), kWbxml, 0, kLimits, "14.1"sv)), 400)
        << cmd;
  }
}

TEST(EasCheck, ContentTypes) {
  auto st = [](std::string_view cmd, std::optional<std::string_view> type,
               std::optional<std::string_view> version) {
    return statusOf(checkEasRequest("POST", plain(cmd), type, 100, kLimits, version));
  };
  EXPECT_EQ(st("Sync", "application/vnd.ms-sync.wbxml", "14.1"), 200);
  EXPECT_EQ(st("Sync", "application/vnd.ms-sync", "14.1"), 200);
  EXPECT_EQ(st("Sync", "Application/VND.MS-SYNC.WBXML", "14.1"), 200);
  EXPECT_EQ(st("Sync", " application/vnd.ms-sync.wbxml ; charset=utf-8", "14.1"), 200);
  EXPECT_EQ(st("Sync", "text/xml", "14.1"), 415);
  EXPECT_EQ(st("Sync", "message/rfc822", "12.1"), 415);
  EXPECT_EQ(st("Sync", std::nullopt, "14.1"), 415);
  EXPECT_EQ(st("Sync", "application/vnd.ms-sync.wbxmlx", "14.1"), 415);
  EXPECT_EQ(st("Sync", std::string(300, 'a'), "14.1"), 415);
  // The mail commands: MIME in 12.1, WBXML from 14.0, either when unknown.
  for (auto cmd : {"SendMail"sv, "SmartReply"sv, "SmartForward"sv}) {
    EXPECT_EQ(st(cmd, "message/rfc822", "12.1"), 200) << cmd;
    EXPECT_EQ(st(cmd, "Message/RFC822", "12.1"), 200) << cmd;
    EXPECT_EQ(st(cmd, kWbxml, "12.1"), 415) << cmd;
    EXPECT_EQ(st(cmd, kWbxml, "14.0"), 200) << cmd;
    EXPECT_EQ(st(cmd, "message/rfc822", "14.0"), 415) << cmd;
    EXPECT_EQ(st(cmd, "message/rfc822", "16.1"), 415) << cmd;
    EXPECT_EQ(st(cmd, "message/rfc822", std::nullopt), 200) << cmd;
    EXPECT_EQ(st(cmd, kWbxml, std::nullopt), 200) << cmd;
  }
  // Base64 form carries its version: 12.1 SendMail is MIME.
  EXPECT_EQ(statusOf(checkEasRequest("POST", base64("SendMail", "12.1"), "message/rfc822"sv, 100,
                                     kLimits)),
            200);
  EXPECT_EQ(statusOf(checkEasRequest("POST", base64("SendMail", "12.1"), kWbxml, 100, kLimits)),
            415);
}

TEST(EasCheck, AbsoluteUriAndBase64Variants) {
  auto abs = checkEasRequest(
      "POST",
      "https://mail.example.org/Microsoft-Server-ActiveSync?Cmd=Ping&User=bob&DeviceId=androidc123&"
      "DeviceType=Android",
      kWbxml, 50, kLimits, "14.1"sv);
  ASSERT_TRUE(abs) << abs.error().message();
  EXPECT_EQ(abs->command, "Ping");
  EXPECT_EQ(abs->body_limit, 16u << 10);
  // Percent-escaped base64 (the codec's corpus) and a GUID DeviceId.
  auto esc = checkEasRequest("POST", "/Microsoft-Server-ActiveSync?jAAJBAFEBPv%2F%2F%2FsBVA%3D%3D",
                             kWbxml, 10, kLimits);
  ASSERT_TRUE(esc) << esc.error().message();
  auto guid = checkEasRequest(
      "POST",
      "/Microsoft-Server-ActiveSync?jRIJBBAAAQIDBAUGBwgJCgsMDQ4PBHhWNBIIUG9ja2V0UEM=", std::nullopt,
      0, kLimits);
  ASSERT_TRUE(guid) << guid.error().message();
  EXPECT_EQ(guid->command, "Ping");
  EXPECT_EQ(guid->device_id, "000102030405060708090A0B0C0D0E0F");
  EXPECT_EQ(guid->device_type, "PocketPC");
}

TEST(EasCheck, ErrorCategory) {
  auto r = checkEasRequest("GET", kSpecPlain, std::nullopt, 0, kLimits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EasCheckErrc::method_not_allowed);
  EXPECT_EQ(r.error().code.category().name(), std::string("eas_check"));
  EXPECT_EQ(httpStatus(Error{make_error_code(Errc::internal), "x"}), 400);
  EXPECT_EQ(easBodyLimit("MoveItems", kLimits), 1u << 20);
}

}  // namespace
}  // namespace rampart::gateway
