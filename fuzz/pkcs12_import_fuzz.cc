// libFuzzer target for crypto::x509::importPkcs12 (pkcs12.h): any bytes give
// contents or an error, never a crash, leak or unbounded work (MAC iteration
// counts are bounded). The seeds use the password "password"; an import that
// succeeds must hold a key matching its certificate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <openssl/x509.h>

#include "crypto/x509/pkcs12.h"

using namespace rampart::crypto::x509;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto got = importPkcs12(in, "password");
  if (got) {
    if (!got->key || !got->cert || got->chain.size() > 32) std::abort();
    if (X509_check_private_key(got->cert.get(), got->key.get()) != 1) std::abort();
  }
  return 0;
}
