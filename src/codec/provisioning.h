// The provisioning document (issue 5, "Device side"): what an administrator
// hands a device so it can enroll for certificates and reach its mail. It is
// written by `rampart ca provisioning` and read by
// `rampart device setup --provisioning FILE`. Pure: bytes in, structs out.
//
//   <?xml version="1.0" encoding="UTF-8"?>
//   <provisioning xmlns="urn:rampart:provisioning:1">
//     <organization>Example Corp</organization>
//     <eas url="https://mail.example.com"/>
//     <est url="https://mail.example.com/.well-known/est"/>
//     <template name="device" kind="tls_client" key-type="ec-p256">
//       <description>Mail login</description>
//     </template>
//     <root>-----BEGIN CERTIFICATE-----...-----END CERTIFICATE-----</root>
//   </provisioning>
//
// The document names the roots but does not make them trusted: a device still
// shows each root's subject and SHA-256 fingerprint and asks for acceptance
// (out-of-band check, RFC 7030 4.1.1). parseProvisioning only checks form.
//
// Parsing is hostile-input safe (libexpat): at most kMaxProvisioningBytes,
// element depth kMaxProvisioningDepth, kMaxProvisioningTemplates templates,
// kMaxProvisioningRoots roots, kMaxProvisioningText bytes of text per element;
// any DOCTYPE (and so any entity declaration: no XXE, no "billion laughs") is
// refused. Unknown elements and attributes are skipped (a later version may
// add some), elements of other namespaces too; a wrong root element, a
// missing or duplicate <est>/<eas>, or a URL that is not https:// is
// Errc::parse_error / Errc::invalid_argument with a detail naming it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::codec {

inline constexpr std::string_view kProvisioningNamespace = "urn:rampart:provisioning:1";
inline constexpr std::size_t kMaxProvisioningBytes = 1024 * 1024;
inline constexpr std::size_t kMaxProvisioningDepth = 8;
inline constexpr std::size_t kMaxProvisioningTemplates = 64;
inline constexpr std::size_t kMaxProvisioningRoots = 16;
inline constexpr std::size_t kMaxProvisioningText = 64 * 1024;

struct ProvisioningTemplate {
  std::string name;         // the EST label, [a-z0-9-]{1,64} (ca::isValidTemplateName)
  std::string kind;         // tls_client | smime_signing | smime_encryption | wifi | tls_server
  std::string key_type;     // the key a device makes, e.g. "ec-p256" (x509::keyTypeName)
  std::string description;  // for people; may be empty
};

struct ProvisioningDoc {
  std::string organization;
  std::string est_url;  // https://host:port/.well-known/est
  std::string eas_url;  // https://host:port (may be empty: EST only)
  std::vector<ProvisioningTemplate> templates;
  std::vector<std::string> root_pems;  // each one PEM certificate, as given
};

// The XML text; every value escaped (& < > " and control characters other
// than TAB, LF, CR are dropped: XML 1.0 cannot carry them).
std::string writeProvisioning(const ProvisioningDoc& doc);

// Errors: limit_exceeded (a bound above), parse_error (not well-formed XML,
// a DOCTYPE, the wrong root element or namespace), invalid_argument (a
// missing or duplicate <est>, a URL that is not https://, a template without
// a name, a root that is not a PEM certificate block).
Result<ProvisioningDoc> parseProvisioning(std::string_view xml);

}  // namespace rampart::codec
