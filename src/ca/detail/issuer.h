// Certificate building for the CA (private to src/ca): the root, the issuing
// intermediate, the delegated OCSP responder and end-entity certificates are
// all made here, from explicit fields, never from a request's extensions.
// Every extension is encoded through OpenSSL's structures (no config strings),
// so a name or URL can never smuggle in another extension.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::ca::detail {

// One subjectAltName entry (RFC 5280 4.2.1.6).
struct SanEntry {
  enum class Type { email, dns, upn };
  Type type = Type::email;
  std::string value;
};

// The user principal name otherName (Microsoft, used by 802.1X and smart-card logon).
inline constexpr const char* kMsUpnOid = "1.3.6.1.4.1.311.20.2.3";

struct CertSpec {
  EVP_PKEY* subject_key = nullptr;    // the public key certified
  std::string organization;           // O= (omitted when empty)
  std::string common_name;            // CN=
  X509* issuer = nullptr;             // null: self-signed by issuer_key
  EVP_PKEY* issuer_key = nullptr;
  std::int64_t not_before = 0;        // Unix seconds (RFC 5280 4.1.2.5)
  std::int64_t not_after = 0;
  bool ca = false;                    // basicConstraints cA (RFC 5280 4.2.1.9), always critical
  int path_len = -1;                  // pathLenConstraint; -1: absent
  std::vector<std::string> key_usage;           // RFC 5280 4.2.1.3 names; critical when present
  std::vector<std::string> extended_key_usage;  // short names ("clientAuth") or dotted OIDs
  std::vector<SanEntry> san;
  std::string crl_url;                // cRLDistributionPoints (RFC 5280 4.2.1.13)
  std::string ocsp_url;               // authorityInfoAccess id-ad-ocsp (RFC 5280 4.2.2.1)
  bool ocsp_nocheck = false;          // id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1)
};

// Builds and signs the certificate with a fresh random serial (RFC 5280
// 4.1.2.2: positive, 16 random bytes, so at most 20 octets encoded). SKI is
// always set (4.2.1.2 method 1), AKI whenever there is an issuer key (4.2.1.1).
// invalid_argument for an unknown key usage or EKU name or a name OpenSSL
// refuses (e.g. a CN over 64 characters); internal for signing failures.
Result<crypto::x509::CertPtr> buildCertificate(const CertSpec& spec, Random& random);

// The digest a CA key signs with: SHA-384 for P-384, SHA-256 otherwise.
const EVP_MD* signingDigest(EVP_PKEY* key);

// SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 method 1).
std::string keyIdentifier(EVP_PKEY* key);
// The keyIdentifier an issued certificate's AKI must carry: the issuer's own
// SKI extension when it has one (an imported CA may use another method).
std::string authorityKeyId(X509* issuer);

// RFC 2253 text of the name that buildCertificate would write, for records
// made before the certificate exists (pending requests).
std::string subjectTextFor(std::string_view organization, std::string_view common_name);

// An ASN.1 INTEGER serial as the store keeps it: upper-case hex without
// leading zeros; empty for a negative or absurdly long (over 64 octets) value.
std::string serialHexOf(const ASN1_INTEGER* serial);

}  // namespace rampart::ca::detail
