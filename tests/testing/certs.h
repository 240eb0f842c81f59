// Test certificates made on the fly (tests make their own certificates).
#pragma once

#include <string>

namespace rampart::testing {

struct CertFiles {
  std::string cert_file;  // PEM, self-signed, CN and SAN = name
  std::string key_file;   // PEM, ECDSA P-256
};

// Writes a fresh self-signed ECDSA P-256 certificate for `name` (a DNS name or
// an IP address) into `dir`; aborts the test binary on failure.
CertFiles makeSelfSigned(const std::string& dir, const std::string& name);

}  // namespace rampart::testing
