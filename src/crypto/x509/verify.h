// Certificate path validation (RFC 5280 6) with revocation (CRL, RFC 5280 5;
// OCSP, RFC 6960) for the three places that judge someone else's certificate:
// the EAS server's ValidateCert (MS-ASCMD 2.2.1.22), the device verifying an
// S/MIME signer (RFC 8550 4), and the rights server checking a license signer.
// It never fetches anything itself: the caller hands over the CRLs and OCSP
// answers it has (a `Fetcher` may be given to get the ones named in the
// certificate's CDP/AIA), so tests and the device decide what touches the
// network.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::x509 {

// What the certificate is being accepted for: checked against its EKU
// (RFC 5280 4.2.1.12) and key usage (4.2.1.3).
enum class Purpose {
  any,               // chain only
  smime_signing,     // emailProtection + digitalSignature or nonRepudiation
  smime_encryption,  // emailProtection + keyEncipherment (RSA) or keyAgreement (EC)
  tls_client,
};

enum class RevocationMode {
  none,         // do not look
  soft,         // use what is available; unknown is not a failure
  hard,         // every certificate below the root must have a CRL or OCSP answer
};

// The verdict's reason, mapped by ValidateCert onto its status codes
// (MS-ASCMD 2.2.3.177.18: 1 ok, 2 protocol error, 3 signature, 4 untrusted
// source, 5 chain not built correctly, 6 not valid for signing, 7 expired or
// not yet valid, 8 time nesting, 9/11 used incorrectly, 13 revoked, 14
// revocation server unreachable, 15 one in the chain revoked, 16 revocation
// status undetermined, 17 server error).
enum class ChainStatus {
  ok,
  malformed,            // not a certificate
  bad_signature,        // a signature in the chain does not verify
  untrusted_root,       // the chain does not end at one of the anchors
  incomplete_chain,     // an issuer is missing
  wrong_purpose,        // EKU / key usage do not allow `Purpose`
  leaf_is_ca,           // an end-entity purpose asked of a CA certificate (basicConstraints cA)
  bad_extension,        // an extension that does not parse, or an unknown critical one
  ca_misuse,            // a certificate issues without being a CA, or beyond its path length
  expired,              // now outside notBefore..notAfter (leaf or CA)
  bad_time_nesting,     // a CA's validity does not cover its subject's
  no_revocation_info,   // hard mode and nothing said good or revoked
  revoked,
  revocation_unknown,   // OCSP said unknown / the CRL could not be had
};
std::string_view chainStatusName(ChainStatus status);  // "ok", "revoked", ...

struct ChainVerdict {
  ChainStatus status = ChainStatus::malformed;
  std::string detail;     // human words: which certificate, what OpenSSL said
  std::string subject;    // the leaf's subject (subjectText)
  std::vector<std::string> emails;  // the leaf's SAN rfc822Names
  int revocation_reason = -1;       // CRLReason when revoked, else -1
  // Which certificate the status is about: 0 the leaf, 1 its issuer, ...;
  // -1 when ok (ValidateCert tells "revoked" from "one in the chain revoked").
  int depth = -1;
  bool ok() const noexcept { return status == ChainStatus::ok; }
};

// CRL or OCSP bytes for a URL from a certificate (CDP for CRLs, AIA for OCSP:
// the request DER is in `body`); an error means "could not get it".
using Fetcher = std::function<Result<std::string>(std::string_view url, std::string_view body)>;

struct VerifyOptions {
  std::vector<CertPtr> anchors;          // trusted roots (and pinned intermediates)
  std::vector<CertPtr> intermediates;    // untrusted helpers for path building
  std::vector<CrlPtr> crls;              // CRLs already at hand
  Purpose purpose = Purpose::any;
  RevocationMode revocation = RevocationMode::soft;
  std::int64_t at = 0;                   // Unix seconds to judge validity at; 0 = now
  Fetcher fetch;                         // optional: consulted for CDP/AIA URLs
};

// Never an Error for a bad certificate: that is a verdict. Error only for a
// caller mistake (no anchors) or an internal OpenSSL failure.
Result<ChainVerdict> verifyChain(X509* leaf, const VerifyOptions& options);

}  // namespace rampart::crypto::x509
