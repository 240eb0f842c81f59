// The ValidateCert command (MS-ASCMD 2.2.1.22): the device hands over
// certificates (typically an S/MIME signer's, with the chain from the
// message) and the server says, per certificate, whether it chains to a root
// it trusts, is fit for S/MIME, is inside its validity and, when the device
// sets CheckCRL, is not revoked (crypto/x509/verify.h does the judging).
// Blocking (CRL/OCSP over HTTP with short timeouts); the EAS service runs it
// on its blocking pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "crypto/x509/verify.h"
#include "crypto/x509/x509.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.18 Status (ValidateCert): the command's (1 or 17) and
// each certificate's.
enum class ValidateCertStatus : std::uint8_t {
  success = 1,
  protocol_error = 2,  // malformed request, more than 100 certificates
  bad_signature = 3,
  untrusted = 4,      // issued by a source the server does not trust
  bad_chain = 5,      // the chain is not built correctly / not a certificate
  not_for_email = 6,  // not valid for S/MIME
  expired = 7,        // expired or not yet valid
  time_nesting = 8,   // validity periods in the chain not consistent
  misused = 9,        // a CA certificate offered as a mail certificate
  bad_information = 10,  // an extension that does not parse, or an unknown critical one
  chain_misuse = 11,  // a certificate in the chain issues without being a CA (or too deep)
  revoked = 13,
  revocation_offline = 14,  // the revocation server could not be reached
  chain_revoked = 15,       // a CA certificate in the chain is revoked
  revocation_unknown = 16,  // revocation status could not be determined
  server_error = 17,
};

// The per-certificate Status for a verdict (the table above).
ValidateCertStatus validateCertStatus(crypto::x509::ChainStatus status);

// What ValidateCert judges with, built once from [eas] (eas_config.h).
struct ValidateCertSetup {
  std::vector<crypto::x509::CertPtr> anchors;  // smime_trust_file
  // For CheckCRL 1; CheckCRL 0 (or absent) checks no revocation.
  crypto::x509::RevocationMode revocation = crypto::x509::RevocationMode::soft;
  crypto::x509::Fetcher fetch;  // CRL/OCSP over HTTP; empty: only what is at hand
};

// Reads `trust_file` (PEM roots; empty path = none) and makes the HTTP
// fetcher with `timeout` per exchange. An unreadable file is an error.
Result<std::shared_ptr<const ValidateCertSetup>> makeValidateCertSetup(
    const std::string& trust_file, crypto::x509::RevocationMode revocation,
    std::chrono::milliseconds timeout);

// Answers one ValidateCert request; returns the WBXML response body:
// ValidateCert { Status, Certificate* { Status } }, one Certificate per
// request certificate in order. The certificates after the first and the
// CertificateChain serve as intermediates for each other. A certificate is
// good for S/MIME when it is fit for signing (digitalSignature or
// nonRepudiation) or for encryption. No trust anchors configured: every
// certificate is Status 4. A malformed request is the command Status 2;
// errors are encoding failures only.
Result<std::vector<std::uint8_t>> runValidateCert(CommandContext& ctx, const wbxml::Document& body,
                                                  const ValidateCertSetup& setup);

}  // namespace rampart::server::eas
