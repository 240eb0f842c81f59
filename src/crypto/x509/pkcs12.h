// PKCS#12 (RFC 7292) import and export of a key with its certificate and chain,
// for the device's "soft certificate" (DESIGN.md 3, 5).
//
// Two export profiles (REFERENCES.md "PKI and message security"):
//   modern  AES-256-CBC with PBKDF2-HMAC-SHA256 for key and certificates, and
//           a SHA-256 MAC: OpenSSL 3's default.
//   compat  PBE-SHA1-3DES for key and certificates and a SHA-1 MAC, which
//           Android 12, iOS and gpgsm 2.2 read; built without OpenSSL's legacy
//           provider.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::x509 {

enum class Pkcs12Profile { modern, compat };
Result<Pkcs12Profile> parsePkcs12Profile(std::string_view name);  // "modern" | "compat"

struct Pkcs12Contents {
  KeyPtr key;
  CertPtr cert;                // the key's certificate
  std::vector<CertPtr> chain;  // the other certificates, issuer first
};

// DER PKCS#12. An empty password is refused (invalid_argument).
Result<std::string> exportPkcs12(EVP_PKEY* key, X509* cert, const std::vector<X509*>& chain,
                                 std::string_view password, std::string_view friendly_name,
                                 Pkcs12Profile profile);
// Errors: unauthenticated (wrong password: the MAC does not verify),
// parse_error (not PKCS#12, no key, no certificate, a key that does not match
// the certificate), limit_exceeded (over 1 MiB or 32 certificates).
Result<Pkcs12Contents> importPkcs12(std::string_view der, std::string_view password);

}  // namespace rampart::crypto::x509
