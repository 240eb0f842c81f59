// Rampart rights management, the cryptographic part (docs/rights.md):
// templates of rights, the publishing license a sender's client attaches to a
// protected message, the use license the rights server hands a reader, and the
// protected message itself. Shared by the device (protect, consume), the
// rights server (issue use licenses) and the EAS server (read a message's
// publishing license to fill in MS-ASRM elements and refuse SmartForward).
//
// Formats (all in docs/rights.md, versioned, strict parsers with fuzz targets):
//   - A license body is UTF-8 text, one "Name: value" per line, CRLF or LF,
//     first line "Rampart-Publishing-License: 1" / "Rampart-Use-License: 1";
//     unknown names, repeats of single names and over-long values are errors
//     naming the line.
//   - A license on the wire is a CMS SignedData (RFC 5652 5) with the body as
//     encapsulated content (id-data), signed by the owner (publishing) or the
//     rights server (use), DER.
//   - The content key is a 256-bit AES key. The protected content is CMS
//     AuthEnvelopedData (RFC 5083, AES-256-GCM) whose one recipient is a
//     KEKRecipientInfo (RFC 5652 6.2.3, AES key wrap) keyed by the content key,
//     kekid = the license id: only someone given the content key reads it.
//   - The content key travels as CMS EnvelopedData to one certificate: to the
//     rights server's in the publishing license, to the reader's S/MIME
//     encryption certificate in the use license.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/cms/smime.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::rights {

// Rights, as bits. The names are the config/CLI names (docs/rights.md).
enum Right : std::uint32_t {
  kView = 1u << 0,
  kEdit = 1u << 1,
  kReply = 1u << 2,
  kReplyAll = 1u << 3,
  kForward = 1u << 4,
  kPrint = 1u << 5,
  kExtract = 1u << 6,       // copy / extract content
  kExport = 1u << 7,        // save unprotected, export
  kProgrammatic = 1u << 8,  // programmatic access (scripts, other apps)
  kModifyRecipients = 1u << 9,
  kAll = (1u << 10) - 1,
};
std::string rightsText(std::uint32_t rights);  // "view,edit,reply,reply-all"
Result<std::uint32_t> parseRightsText(std::string_view text);  // unknown name: invalid_argument

// MS-ASRM's Do Not Forward template (REFERENCES.md): view, edit, reply,
// reply-all only.
inline constexpr std::string_view kDoNotForwardId = "CF5CF348-A8D7-40D5-91EF-A600B88A395D";

struct Template {
  std::string id;           // GUID, upper case, 8-4-4-4-12
  std::string name;         // "Do Not Forward"
  std::string description;
  std::uint32_t rights = kView;
  std::int64_t content_lifetime = 0;  // seconds from protection; 0 = never expires
  std::int64_t license_lifetime = 7 * 24 * 3600;  // how long a use license lasts
  bool revoked = false;     // no new use licenses
};
// Template TOML (one template per document, as the CA's templates): id,
// name, description, rights = ["view", ...], content_lifetime, license_lifetime.
Result<Template> parseTemplateToml(std::string_view toml, std::string_view source_name);
std::string templateToml(const Template& t);
std::vector<Template> defaultTemplates();  // Do Not Forward, Confidential (view only)...

struct PublishingLicense {
  std::string id;               // 128 random bits, lower-case hex: names the content key
  std::string template_id;
  std::string template_name;
  std::uint32_t rights = 0;     // the template's rights at protection time (informative;
                                // the server decides from its own template)
  std::string owner;            // the sender's address
  std::vector<std::string> recipients;  // addresses, lower case
  std::int64_t issued = 0;      // Unix seconds
  std::int64_t content_expiry = 0;      // 0 = never
  std::string wrapped_key;      // DER CMS EnvelopedData of the content key to the rights server
};

struct UseLicense {
  std::string license_id;       // the publishing license's id
  std::string user;             // who it was issued to (directory user name)
  std::string address;          // the address it was issued for
  std::string template_id;
  std::string template_name;
  std::string owner;
  std::uint32_t rights = 0;     // what this user may do
  std::int64_t issued = 0;
  std::int64_t expires = 0;     // the license itself
  std::int64_t content_expiry = 0;
  std::string wrapped_key;      // DER CMS EnvelopedData of the content key to the user's cert
};

// Text bodies (exposed for tests and fuzzing).
std::string publishingLicenseText(const PublishingLicense& pl);
Result<PublishingLicense> parsePublishingLicenseText(std::string_view text);
std::string useLicenseText(const UseLicense& ul);
Result<UseLicense> parseUseLicenseText(std::string_view text);

// Signed forms. `signer` signs with SHA-256. Reading returns the license and
// the signer's certificate; the caller judges that certificate (verifyChain)
// or compares it with the one it expects.
Result<std::string> signPublishingLicense(const PublishingLicense& pl, const cms::Identity& owner);
struct SignedPublishingLicense {
  PublishingLicense license;
  x509::CertPtr signer;
};
Result<SignedPublishingLicense> readPublishingLicense(std::string_view der);

Result<std::string> signUseLicense(const UseLicense& ul, const cms::Identity& rights_server);
// Checks the signature against `rights_server_cert` (exactly that certificate).
Result<UseLicense> readUseLicense(std::string_view der, X509* rights_server_cert);

// Content key: 32 random bytes; wrapped to / unwrapped by one certificate.
std::string newContentKey();
Result<std::string> wrapContentKey(std::string_view key, X509* to);
Result<std::string> unwrapContentKey(std::string_view wrapped_der, const cms::Identity& me);

// The protected message (RFC 5322, CRLF). Its top-level headers (From, To,
// Cc, Subject, Date, Message-ID, ...) stay readable; the body becomes
// multipart/mixed with
//   1. text/plain: a notice for clients that do not do rights management,
//   2. application/vnd.rampart.publishing-license (base64 of the signed PL),
//   3. application/vnd.rampart.protected-content (base64 of the
//      AuthEnvelopedData holding the original Content-* headers and body),
// and the header "X-Rampart-Rights: <license id>; template=<id>".
struct ProtectRequest {
  std::string_view message;          // the original, unprotected
  const Template* templ = nullptr;
  std::vector<std::string> recipients;  // every To/Cc/Bcc address
  std::int64_t now = 0;
};
Result<std::string> protectMessage(const ProtectRequest& request, const cms::Identity& owner,
                                   X509* rights_server_cert);

struct ProtectedParts {
  std::string signed_license;   // DER, as readPublishingLicense takes it
  std::string content;          // DER AuthEnvelopedData
  std::string outer_headers;    // the top-level headers of the protected message
};
// not_found when the message is not rights-protected.
Result<ProtectedParts> splitProtectedMessage(std::string_view message);
// The original message back: outer headers + the decrypted inner entity.
Result<std::string> unprotectMessage(const ProtectedParts& parts, std::string_view content_key,
                                     std::string_view license_id);

}  // namespace rampart::crypto::rights
