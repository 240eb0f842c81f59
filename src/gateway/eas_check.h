// EAS-aware request checks for the gateway's EAS rule (DESIGN.md 2 "Protocol
// hygiene"; issue 4 "Hygiene"), over plain inputs taken from an already
// parsed HTTP request. Pure: no I/O. The request line is decoded by
// eas::decodeRequestTarget (codec/eas/request_line.h), not reimplemented here.
//
// What is checked, in this order:
//  1. Method: POST, or OPTIONS (MS-ASHTTP 2.2.3: the client asks for the
//     supported versions and commands). Anything else: 405.
//  2. OPTIONS: the path is /Microsoft-Server-ActiveSync (case-insensitive),
//     with no query unless EasCheckLimits::allow_options_query, and no body.
//  3. POST: the target decodes (plain or base64 form, MS-ASHTTP 2.2.1.1.1):
//     a known Cmd, DeviceId 1-32 letters/digits, DeviceType 1-64 printable
//     characters, User well-formed; the base64 form fully validated.
//  4. Protocol version: the base64 form's own field, else the
//     MS-ASProtocolVersion header (2.2.1.1.2.6) passed by the caller. It must
//     be one we support, and the command must exist in it (GetAttachment is
//     gone in 16.0, Find is new in 16.1).
//  5. Body size per command (below), against Content-Length when given; the
//     limit is returned so the caller enforces it on a chunked body.
//  6. Content-Type (MS-ASHTTP 2.2.1.1.2.3): a body is WBXML,
//     "application/vnd.ms-sync.wbxml" or the short "application/vnd.ms-sync";
//     SendMail/SmartReply/SmartForward carry "message/rfc822" instead in 12.1
//     (MS-ASCMD: the MIME message is the body before 14.0), WBXML from 14.0;
//     with no known version either is accepted. Parameters (";charset=...")
//     are ignored; comparison is case-insensitive (RFC 9110 8.3.1). An empty
//     body is allowed only for Ping (MS-ASCMD 2.2.1.13, 3.1.5.8: the server
//     uses the cached folders and interval), Sync (MS-ASCMD 2.2.1.21, the
//     empty Sync request) and GetAttachment (no body at all); its
//     Content-Type, which SHOULD NOT be present, is then ignored.
//
// Body limits (EasCheckLimits, defaults): SendMail/SmartReply/SmartForward
// `max_message` 35 MiB (a whole message with attachments; Exchange Online's
// default send limit); Sync `max_sync` 16 MiB (client adds and drafts carry
// bodies and, from 16.0, attachments); Ping `max_ping` 16 KiB (a folder list:
// a few hundred folders at ~30 WBXML bytes each); GetAttachment 0; every other
// command `max_default` 1 MiB (FolderSync, Settings, Provision,
// ItemOperations, ValidateCert... name items or carry small documents; data
// flows in their responses).
//
// Errors: Result's Error has a code in easCheckCategory() whose value IS the
// HTTP status to answer (httpStatus() reads it), and a detail for the log
// line (never echoed to the client verbatim, it may quote the target):
//   400 bad target, parameter, protocol version or missing body
//   405 method neither POST nor OPTIONS
//   411 no Content-Length while require_content_length is set
//   413 Content-Length over the command's limit (or a body on OPTIONS)
//   414 target longer than request_line.max_target_size
//   415 Content-Type missing or not allowed for the command and version
//   501 unknown Cmd, or a command that does not exist in the version
//       (MS-ASHTTP's HTTP status table: 501 Not Implemented, a command the
//       server does not support)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "codec/eas/request_line.h"
#include "core/error.h"

namespace rampart::gateway {

enum class EasCheckErrc {
  bad_request = 400,
  method_not_allowed = 405,
  length_required = 411,
  payload_too_large = 413,
  uri_too_long = 414,
  unsupported_media_type = 415,
  not_implemented = 501,
};
const std::error_category& easCheckCategory() noexcept;
inline std::error_code make_error_code(EasCheckErrc e) noexcept {
  return {static_cast<int>(e), easCheckCategory()};
}
// The HTTP status for an error from checkEasRequest(); 400 for any other error.
int httpStatus(const Error& error) noexcept;

struct EasCheckLimits {
  eas::RequestLineLimits request_line;
  std::uint64_t max_message = 35ull << 20;  // SendMail, SmartReply, SmartForward
  std::uint64_t max_sync = 16ull << 20;
  std::uint64_t max_ping = 16ull << 10;
  std::uint64_t max_default = 1ull << 20;
  // Refuse a POST without Content-Length (a chunked body) with 411.
  bool require_content_length = false;
  // Refuse a plain-form POST without an MS-ASProtocolVersion header (400).
  // The header is required by MS-ASHTTP 2.2.1.1.2.6; off by default so the
  // backend, which needs it anyway, gives the EAS-level answer.
  bool require_protocol_version = false;
  // Accept OPTIONS with a query (printable ASCII, not decoded or used).
  bool allow_options_query = false;
  std::size_t max_content_type_size = 256;
};

struct EasCheck {
  std::string command;                          // "Sync", ... or "OPTIONS"
  std::string user;                             // from the query (may be empty); not authenticated
  std::string device_id;                        // empty for OPTIONS
  std::string device_type;                      // empty for OPTIONS
  std::optional<std::string> protocol_version;  // "14.1"; nullopt when unknown
  std::uint64_t body_limit = 0;                 // the most body bytes the caller may read
  eas::EasRequest request;                      // the whole decoded query (POST)
};

// `content_type`: the Content-Type header value, nullopt when absent.
// `content_length`: the Content-Length value, nullopt when the body is
// chunked (the HTTP layer has already refused CL with TE, and a request with
// neither has content_length 0). `protocol_version`: the MS-ASProtocolVersion
// header, nullopt when absent.
Result<EasCheck> checkEasRequest(std::string_view method, std::string_view target,
                                 std::optional<std::string_view> content_type,
                                 std::optional<std::uint64_t> content_length,
                                 const EasCheckLimits& limits,
                                 std::optional<std::string_view> protocol_version = std::nullopt);

// The body limit checkEasRequest() applies to `command` (a known name).
std::uint64_t easBodyLimit(std::string_view command, const EasCheckLimits& limits);

}  // namespace rampart::gateway

template <>
struct std::is_error_code_enum<rampart::gateway::EasCheckErrc> : std::true_type {};
