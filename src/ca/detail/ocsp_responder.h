// OCSP answers (RFC 6960 4.2) for certificates of the issuing CA, signed by a
// delegated responder (RFC 6960 4.2.2.2); private to src/ca. Pure: the status
// of a serial comes from a lookup the caller supplies.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::ca::detail {

inline constexpr std::size_t kMaxOcspRequestDer = 64 * 1024;
inline constexpr int kMaxOcspCertIds = 32;      // requestList entries in one request
inline constexpr std::size_t kMaxOcspNonce = 128;  // RFC 9654 2.1 (was 32 in RFC 8954)

struct OcspCertStatus {
  enum class Kind { good, revoked, unknown };
  Kind kind = Kind::unknown;
  std::int64_t revoked_at = 0;
  int reason = 0;  // RFC 5280 5.3.1; 0 (unspecified) is left out of the answer
};

// Status of one serial (upper-case hex, as the CA store keeps it). An error
// makes the whole answer internalError.
using OcspLookup = std::function<Result<OcspCertStatus>(const std::string& serial)>;

struct OcspSigner {
  X509* issuer = nullptr;     // the CA whose certificates are answered for
  X509* responder = nullptr;  // the delegated responder, put into certs
  EVP_PKEY* key = nullptr;
};

struct OcspAnswer {
  std::string der;         // always a DER OCSPResponse
  bool successful = false;
  bool has_nonce = false;  // answers with a nonce must not be cached
};

// Answers a DER OCSPRequest (RFC 6960 4.1). Garbage, trailing bytes, an empty
// or oversized request list or an oversized nonce: malformedRequest. A CertID
// for another issuer, or hashed with an algorithm other than SHA-1/SHA-2:
// unknown. thisUpdate = now, nextUpdate = now + validity_s.
OcspAnswer answerOcsp(std::string_view der, const OcspSigner& signer, const OcspLookup& lookup, std::int64_t now,
                      std::int64_t validity_s);

// A response with only responseStatus (RFC 6960 2.3), e.g.
// OCSP_RESPONSE_STATUS_INTERNALERROR.
std::string ocspStatusOnly(int status);

}  // namespace rampart::ca::detail
