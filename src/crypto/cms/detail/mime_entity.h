// Private to crypto/cms: the little MIME (RFC 2045, 2046, 5322) that S/MIME
// needs around CMS, without the codec layer (crypto sits beside codec, not on
// it). Splits a message into the headers that stay outside the protection and
// the Content-* entity that goes inside (RFC 8551 3.1), reads Content-Type
// parameters and the two parts of multipart/signed (RFC 1847 2.1). Base64 is
// core/base64.h. Bytes in, values out; every count is bounded.
// crypto/rights reads the Content-Type of its protected message with
// parseContentType too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::crypto::cms::detail {

// Largest message or entity handled (a bound for hostile input).
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024 * 1024;

// Canonical line ends (RFC 8551 3.1.1): bare LF and bare CR become CRLF.
std::string toCrlf(std::string_view text);

struct SplitMessage {
  std::string outer;   // header fields that are not Content-*, each ending CRLF
  std::string entity;  // Content-* fields, CRLF, body
  bool has_content_type = false;
};
// `message` must use CRLF. parse_error for a header block without an end or
// with a line that is no header field; limit_exceeded over 1000 fields.
Result<SplitMessage> splitMessage(std::string_view message);

// The unfolded value of the first field `name` in a header block, if any.
std::optional<std::string> headerValue(std::string_view headers, std::string_view name);
// The header block (up to and including the empty line's CRLF) and the body.
std::pair<std::string_view, std::string_view> headersAndBody(std::string_view entity);

struct ContentType {
  std::string type;                           // "multipart/signed", lower case
  std::map<std::string, std::string> params;  // names lower case, values unquoted
};
ContentType parseContentType(std::string_view value);

struct SignedParts {
  std::string_view content;    // the first part, exactly the bytes signed
  std::string_view signature;  // the second part's entity (headers + body)
};
// RFC 1847 2.1 / RFC 2046 5.1.1: the two body parts of multipart/signed.
Result<SignedParts> multipartSignedParts(std::string_view body, std::string_view boundary);

// RFC 8551 3.1.3: an entity that goes into multipart/signed must survive
// 7-bit transports unchanged. A single-part entity whose body has 8-bit
// bytes, NULs or lines over 998 octets (and no base64/quoted-printable
// encoding yet) gets its body base64-encoded; multipart and message/*
// entities (which may not be encoded as a whole, RFC 2045 6.4) are returned
// as they are.
std::string sevenBitSafe(std::string_view entity);

// The addr-spec of the (first) From mailbox, lower case; empty if none.
std::string fromAddress(std::string_view headers);

}  // namespace rampart::crypto::cms::detail
