// The ResolveRecipients command (MS-ASCMD 2.2.1.15): resolves the names and
// addresses a device is about to send to against the directory (our global
// address list) and hands out the recipients' S/MIME encryption certificates
// that the CA published there (DESIGN.md 3 and 4). Blocking (directory); the
// EAS service runs it on its blocking pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.12 Status (ResolveRecipients), by parent element.
enum class ResolveStatus : std::uint16_t {
  success = 1,               // ResolveRecipients, Response, Certificates, Availability, Picture
  protocol_error = 5,        // ResolveRecipients: invalid parameter or a limit exceeded
  server_error = 6,          // ResolveRecipients: retry later
  ambiguous = 2,             // Response: every suggestion returned, no certificates
  ambiguous_partial = 3,     // Response: suggestions cut at MaxAmbiguousRecipients
  not_found = 4,             // Response
  no_valid_certificate = 7,  // Certificates
  certificate_limit = 8,     // Certificates: MaxCertificates reached
  free_busy_failed = 163,    // Availability: not retrievable, do not retry
  no_picture = 173,          // Picture: the user has none
};

// Suggestions for an ambiguous name when the request gives no
// MaxAmbiguousRecipients (the spec leaves the default to the server).
inline constexpr std::size_t kDefaultMaxAmbiguous = 20;
// Certificates handed out per recipient, newest first, whatever MaxCertificates says.
inline constexpr std::size_t kMaxCertificatesPerRecipient = 10;

// Answers one ResolveRecipients request; returns the WBXML response body:
// ResolveRecipients { Status, Response* { To, Status, RecipientCount,
// Recipient* { Type, DisplayName, EmailAddress, Availability?, Certificates?,
// Picture? } } }.
//
// A To holding '@' is looked up as an address (primary or alias; "Name
// <addr>" is taken apart); any other To matches a user name exactly, else,
// when the directory can list its users (the built-in one), every enabled
// user whose name, display name (or one of its words) or address starts
// with it, case-insensitively. Disabled users resolve to nothing. A single
// match is Status 1 and gets certificates when CertificateRetrieval asks:
// the directory's certificates of purpose "smime_encryption", inside their
// validity at ctx.now, base64 DER in Certificate (2) or the newest one in
// MiniCertificate (3: MS-ASCMD leaves that BLOB's format open, and the
// certificate is what every client can encrypt to). Availability (14.0+) is
// answered Status 163 and Picture (14.1+) Status 173: this server keeps no
// free/busy data and no photos. A malformed request or more than 100 To is
// Status 5; a directory failure is Status 6. Errors are encoding failures only.
Result<std::vector<std::uint8_t>> runResolveRecipients(CommandContext& ctx,
                                                       const wbxml::Document& body);

}  // namespace rampart::server::eas
