// Certificate templates ("certificate types", DESIGN.md 3): what a certificate
// of each kind may look like and who may have one. An administrator edits
// them with `rampart admin template ...`; they live in the CA store as TOML
// text, parsed by parseTemplate (unknown keys are errors naming the line).
//
//   name = "device"                  # [a-z0-9-]{1,64}; also the EST label:
//                                    #   /.well-known/est/device/simpleenroll
//   kind = "tls_client"              # tls_client | smime_signing | smime_encryption
//                                    # | wifi | tls_server
//   key_types = ["ec-p256", "rsa-2048"]
//   lifetime = "365d"
//   renewal_window = "30d"           # simplereenroll accepted this long before expiry
//                                    # (= lifetime: at any time)
//   key_usage = ["digitalSignature"]  # RFC 5280 4.2.1.3 names
//   extended_key_usage = ["clientAuth"]  # RFC 5280 4.2.1.12 names, or dotted OIDs
//   subject_cn = "user"              # user | display_name | address
//   san = ["email"]                  # email (every address of the user) |
//                                    # upn (otherName msUPN = primary address) |
//                                    # dns:NAME (fixed) | requested_dns (tls_server only)
//   enroll_groups = []               # empty: every enabled user
//   require_approval = false
//   publish = false                  # publish issued certificates to the directory
//   enabled = true
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::ca {

enum class TemplateKind { tls_client, smime_signing, smime_encryption, wifi, tls_server };
std::string_view templateKindName(TemplateKind kind);
Result<TemplateKind> parseTemplateKind(std::string_view name);

enum class SubjectCn { user, display_name, address };

struct CertTemplate {
  std::string name;
  TemplateKind kind = TemplateKind::tls_client;
  std::vector<crypto::x509::KeyType> key_types{crypto::x509::KeyType::ec_p256};
  std::chrono::seconds lifetime{std::chrono::hours(24 * 365)};
  std::chrono::seconds renewal_window{std::chrono::hours(24 * 30)};
  std::vector<std::string> key_usage;
  std::vector<std::string> extended_key_usage;
  SubjectCn subject_cn = SubjectCn::user;
  std::vector<std::string> san;
  std::vector<std::string> enroll_groups;
  bool require_approval = false;
  bool publish = false;
  bool enabled = true;
};

// The defaults for a kind (key usages, EKUs, SAN rules that make the
// certificate work for its purpose), named `name`.
CertTemplate defaultTemplate(TemplateKind kind, std::string name);
// The five templates a new CA starts with: device (tls_client), smime-sign,
// smime-encrypt, wifi, server.
std::vector<CertTemplate> builtinTemplates();

// Parses and validates. invalid_argument/config_error with "line N: ..." for
// unknown keys, bad values, an EKU the kind cannot use, lifetime over 10 years.
Result<CertTemplate> parseTemplate(std::string_view toml, std::string_view source = "template");
// The TOML text parseTemplate reads back to an equal template.
std::string templateToToml(const CertTemplate& t);
bool isValidTemplateName(std::string_view name);

}  // namespace rampart::ca
