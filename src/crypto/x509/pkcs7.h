// "Certs-only" CMS (RFC 5652 5, a SignedData with no signers), the form in
// which EST returns certificates: /cacerts and /simpleenroll answers are
// application/pkcs7-mime; smime-type=certs-only (RFC 7030 4.1.3, 4.2.3;
// RFC 8551 3.2.2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::x509 {

// DER of a degenerate SignedData holding `certs` in order.
Result<std::string> certsOnly(const std::vector<X509*>& certs);
// The certificates of a certs-only DER structure; parse_error for anything
// else (signers present, bad DER, trailing bytes), limit_exceeded beyond
// `max_certs`.
Result<std::vector<CertPtr>> parseCertsOnly(std::string_view der, std::size_t max_certs = 32);

}  // namespace rampart::crypto::x509
