// The Autodiscover command (MS-ASCMD 2.2.1.1): a device POSTs a small XML
// document to /autodiscover/autodiscover.xml naming the user's address and the
// response schema it accepts; the answer tells it where the ActiveSync
// endpoint is. Pure: text in, text out, no I/O.
//
// Request (MS-ASCMD 6.3, namespace
// http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006):
//   <Autodiscover><Request><EMailAddress/><AcceptableResponseSchema/></Request></Autodiscover>
// Response (MS-ASCMD 6.4 and 6.2): Culture, User{DisplayName, EMailAddress},
// Action{Settings{Server{Type MobileSync, Url, Name}}} in the mobilesync
// response namespace inside the responseschema/2006 Autodiscover root.
//
// The XML is read by a small strict parser of our own, not a general XML
// library: no DTD (a DOCTYPE is refused, so no entity can be declared or
// expanded, nothing external is fetched), only the five predefined entities
// and character references, no CDATA or processing instructions beyond the
// XML declaration, bounded size, depth and element count. Namespaces are
// resolved (default and prefixed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::server::eas {

inline constexpr std::string_view kAutodiscoverPath = "/autodiscover/autodiscover.xml";
inline constexpr std::string_view kMobileSyncRequestSchema =
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006";
inline constexpr std::string_view kMobileSyncResponseSchema =
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";
inline constexpr std::string_view kAutodiscoverResponseSchema =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";

// MS-ASCMD 2.2.3.64 ErrorCode.
inline constexpr int kAutodiscoverInvalidRequest = 600;
inline constexpr int kAutodiscoverNoProvider = 601;  // AcceptableResponseSchema not served

inline constexpr std::size_t kMaxAutodiscoverRequest = 16 * 1024;

struct AutodiscoverRequest {
  std::string email;                       // EMailAddress, as sent (trimmed)
  std::string acceptable_response_schema;  // AcceptableResponseSchema (trimmed)
};

// Parses a request. Errors: Errc::limit_exceeded (larger than
// kMaxAutodiscoverRequest, too deep, too many elements), Errc::parse_error
// (not well-formed, a DOCTYPE, an unknown entity, ...), Errc::invalid_argument
// (well-formed but not an Autodiscover request: wrong root or namespace, not
// exactly one Request, EMailAddress or AcceptableResponseSchema missing or
// repeated). The service answers all of them with autodiscoverError(600).
Result<AutodiscoverRequest> parseAutodiscoverRequest(std::string_view xml);

struct AutodiscoverSettings {
  std::string server_url;    // "https://mail.example.org/Microsoft-Server-ActiveSync"
  std::string display_name;  // of the authenticated user
  std::string email;         // the authenticated user's primary address
  std::string culture = "en:us";
  std::int64_t now = 0;  // Unix seconds, for the Error element's Time attribute
};

// The response document for `request_xml`: the MobileSync settings, or the
// Error response with ErrorCode 600 (a request that does not parse or is not
// an Autodiscover request) or 601 (an AcceptableResponseSchema other than
// kMobileSyncResponseSchema, e.g. Outlook's). The User element names
// `settings` (the authenticated user), whatever address the request named.
// Both are answered with HTTP 200 and Content-Type text/xml. Errors:
// Errc::invalid_argument when settings.server_url or settings.email is empty.
Result<std::string> autodiscoverResponse(std::string_view request_xml,
                                         const AutodiscoverSettings& settings);

// The Error response (MS-ASCMD 2.2.3.63 Error, 2.2.3.64 ErrorCode; 6.4 schema): ErrorCode and
// Message, Time from `now`, Id derived from `now`.
std::string autodiscoverError(int error_code, std::int64_t now);

}  // namespace rampart::server::eas
