// What the device does to a message for S/MIME and rights management (issue 6,
// DESIGN.md 4), between composing it and handing it to SendMail, and between
// fetching it (MIME, BodyPreference Type 4) and showing it. The crypto is in
// crypto/cms and crypto/rights; this file picks the keys from the device's
// certificate store, asks the rights server through the gateway, and turns
// the results into what the CLI shows.
//
// Keys: signing uses the certificate enrolled from the "smime-sign" template,
// decryption and use licenses the one from "smime-encrypt" (either may be the
// other when only one exists: a dual-use certificate).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "crypto/cms/smime.h"
#include "crypto/rights/license.h"
#include "device/cert_store.h"

namespace rampart::device {

inline constexpr std::string_view kSignTemplate = "smime-sign";
inline constexpr std::string_view kEncryptTemplate = "smime-encrypt";

// The rights server as the device reaches it (through the gateway, same
// credentials as EAS): GET and POST on /rights/... paths.
struct RightsHttp {
  std::function<Result<std::string>(std::string_view path)> get;
  std::function<Result<std::pair<int, std::string>>(std::string_view path, std::string_view body,
                                                    std::string_view content_type)>
      post;
};

struct SecurityOptions {
  bool sign = false;
  bool encrypt = false;
  std::string protect;  // a rights template's name or id; empty = none
};

// What a message turned out to be when opened.
struct SecurityReport {
  bool smime = false;
  bool encrypted = false;
  std::string cipher;
  std::optional<crypto::cms::Signature> signature;
  std::optional<crypto::rights::UseLicense> rights;  // when rights-protected and licensed
};

class MessageSecurity {
 public:
  MessageSecurity(CertStore certs, RightsHttp rights)
      : certs_(std::move(certs)), rights_(std::move(rights)) {}

  // True when an S/MIME certificate is enrolled (smime-sign or smime-encrypt)
  // or a token key is configured for one of them.
  bool hasIdentity() const;

  // A key on a PKCS#11 token (a smart card) for `template_name`: the RFC 7512
  // URI of the private key and the module (e.g. SoftHSM2's or OpenSC's). The
  // PIN is never stored: it comes from the environment variable
  // RAMPART_PKCS11_PIN each time the key is used. useToken() checks that the
  // key and its certificate load with `pin` before saving.
  static constexpr std::string_view kPinEnv = "RAMPART_PKCS11_PIN";
  Status useToken(std::string_view template_name, std::string_view uri, std::string_view module,
                  std::string_view pin);

  // Rights templates from the rights server.
  Result<std::vector<crypto::rights::Template>> templates();
  Result<crypto::rights::Template> findTemplate(std::string_view name_or_id);

  // protect (rights) -> sign -> encrypt, as asked. `recipients` are every
  // To/Cc address; `recipient_certs` their encryption certificates (DER,
  // from ResolveRecipients), needed when encrypting.
  Result<std::string> secure(std::string message, const SecurityOptions& options,
                             const std::vector<std::string>& recipients,
                             const std::vector<std::string>& recipient_certs, std::int64_t now);

  // Removes S/MIME layers and rights protection. The opened message comes
  // back in `message`; `report` says what was there.
  Result<std::string> open(std::string_view message, SecurityReport& report);

 private:
  Result<crypto::cms::Identity> identity(std::string_view template_name) const;
  // What each correspondent announced it reads (SMIMECapabilities of its last
  // good signature, RFC 8551 2.5.2), kept in <certs>/capabilities, one
  // "address capabilities" line each; encryption upgrades on that word.
  // One per address, in order, from one reading of the file.
  std::vector<crypto::cms::Capabilities> capabilitiesOf(const std::vector<std::string>& addresses) const;
  void rememberCapabilities(const std::vector<std::string>& addresses,
                            const crypto::cms::Capabilities& caps) const;
  Result<crypto::x509::CertPtr> licensor();
  crypto::x509::VerifyOptions trust() const;

  CertStore certs_;
  RightsHttp rights_;
};

}  // namespace rampart::device
