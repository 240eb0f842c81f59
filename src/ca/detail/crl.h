// The CA's full CRL (RFC 5280 5): v2, signed by the issuing CA, with a CRL
// number and the issuer's key identifier; private to src/ca.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"
#include "store/ca_store.h"

namespace rampart::ca::detail {

struct CrlSpec {
  X509* issuer = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  std::int64_t number = 0;       // cRLNumber (5.2.3), from the store
  std::int64_t this_update = 0;  // Unix seconds (5.1.2.4)
  std::int64_t next_update = 0;  // (5.1.2.5)
  std::vector<store::RevokedEntry> revoked;
};

// invalid_argument for a stored serial that is not hex; internal otherwise.
Result<crypto::x509::CrlPtr> buildCrl(const CrlSpec& spec);

// RFC 5280 5.3.1 CRLReason values (7 is not used).
bool isValidCrlReason(int reason);

}  // namespace rampart::ca::detail
