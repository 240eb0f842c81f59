// Decoding the request target of an EAS HTTP POST (MS-ASHTTP 2.2.1.1.1):
// `/Microsoft-Server-ActiveSync?<query>` where the query is either the plain
// text form (2.2.1.1.1.2, `Cmd=Sync&User=u&DeviceId=d&DeviceType=t...`) or the
// base64-encoded binary form (2.2.1.1.1.1). Pure: bytes in, EasRequest or an
// Error out; no I/O, no allocation beyond the result, every length checked.
//
// Errors (Error::detail names the field and what was wrong, suitable for a log
// line and an HTTP 400):
//   Errc::limit_exceeded   the target is longer than RequestLineLimits allow
//   Errc::parse_error      malformed bytes: bad path, bad percent escape, bad
//                          base64, a truncated or over-long binary field,
//                          trailing bytes
//   Errc::invalid_argument well-formed but wrong: unknown or duplicate
//                          parameter, unknown command, missing DeviceId, a
//                          DeviceId that is not 1-32 letters/digits, an
//                          unsupported protocol version, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::eas {

// The path EAS clients post to (MS-ASHTTP 2.2.1.1.1, compared case-insensitively).
inline constexpr std::string_view kActiveSyncPath = "/Microsoft-Server-ActiveSync";

// Our own bounds where the spec has none.
inline constexpr std::size_t kMaxDeviceIdLength = 32;    // MS-ASHTTP 2.2.1.1.1.2: 1*32(ALPHA/DIGIT)
inline constexpr std::size_t kMaxDeviceTypeLength = 64;  // spec: 1*VCHAR, unbounded
inline constexpr std::size_t kMaxUserLength = 255;       // base64 length byte bound
inline constexpr std::size_t kMaxParameterLength = 255;  // MS-ASHTTP 2.2.1.1.1.1.1

struct RequestLineLimits {
  // Whole target, path and query, before any decoding. The largest base64
  // query (fixed fields + 7 parameters of 255 bytes) is about 3 KiB.
  std::size_t max_target_size = 4096;
  // MS-ASHTTP 2.2.1.1.1.2's ABNF makes User= mandatory in the plain form; some
  // clients leave it out (the Authorization header names the user anyway).
  // The base64 form always treats User as an optional parameter (tag 8).
  bool require_user_in_plain = true;
};

struct EasRequest {
  std::string command;      // a name from the MS-ASHTTP 2.2.1.1.1.1.2 table
  std::string user;         // empty when absent (base64 form, or lenient plain)
  std::string device_id;    // 1-32 letters/digits; a 16-byte binary GUID in the
                            // base64 form comes out as 32 upper-case hex digits
  std::string device_type;  // 1-64 printable ASCII characters
  // Base64 form only ("14.1"); in the plain form the caller takes it from the
  // MS-ASProtocolVersion header (MS-ASHTTP 2.2.1.1.2.6).
  std::optional<std::string> protocol_version;
  // Base64 form's Policy key field; in the plain form the X-MS-PolicyKey header
  // (caller's job) or a `PolicyKey=` parameter (pyactivesync sends one).
  std::optional<std::uint32_t> policy_key;
  std::uint16_t locale = 0;  // base64 form only (an MS-LCID value); 0 = not given
  // Command parameters (MS-ASHTTP 2.2.1.1.1.2.5 / 2.2.1.1.1.1.3).
  std::optional<std::string> attachment_name;
  std::optional<std::string> collection_id;
  std::optional<std::string> item_id;
  std::optional<std::string> long_id;
  std::optional<std::string> occurrence;
  bool save_in_sent = false;      // plain SaveInSent=T, or Options bit 0x01
  bool accept_multipart = false;  // Options bit 0x02 (plain: MS-ASAcceptMultiPart
                                  // header, or AcceptMultiPart=T which we accept)
  bool base64_form = false;

  bool operator==(const EasRequest&) const = default;
};

// Decodes a request target as sent on the request line: an origin form
// ("/Microsoft-Server-ActiveSync?...") or an absolute URI
// ("https://host/Microsoft-Server-ActiveSync?..."), MS-ASHTTP 2.2.1.1.1.
Result<EasRequest> decodeRequestTarget(std::string_view target,
                                       const RequestLineLimits& limits = {});

// Decodes just the query (what follows '?'), choosing the form by its shape:
// a query with '&' or a non-padding '=' is plain, anything else base64.
Result<EasRequest> decodeQuery(std::string_view query, const RequestLineLimits& limits = {});

// The base64 query value for `request` (no path, no '?'), MS-ASHTTP
// 2.2.1.1.1.1. Needs protocol_version set to a supported version; fails with
// invalid_argument on anything decodeQuery() would reject, so what it writes
// always decodes back to an equal EasRequest (with base64_form set).
Result<std::string> encodeBase64Query(const EasRequest& request);

// The plain query for `request` (MS-ASHTTP 2.2.1.1.1.2), values percent-encoded
// (RFC 3986 unreserved characters left as they are). protocol_version,
// policy_key and locale are not written: they travel in headers.
Result<std::string> encodePlainQuery(const EasRequest& request);

}  // namespace rampart::eas
