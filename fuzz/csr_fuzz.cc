// libFuzzer target for crypto::x509::parseCsr and parseEstCsr (csr.h): any
// bytes give a parsed request or an error, never a crash, leak or hang; and a
// request that parses is one whose facts are consistent (its DER is the input,
// its key type round-trips, its signature verifies again).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/x509/csr.h"

using namespace rampart::crypto::x509;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto csr = parseCsr(in)) {
    if (csr->der != in || csr->sha256.size() != 64) std::abort();
    auto type = keyTypeOf(csr->public_key.get());
    if (!type || *type != csr->key_type) std::abort();
    if (X509_REQ_verify(csr->request.get(), csr->public_key.get()) != 1) std::abort();
    // The EST form of the same request parses to the same request.
    auto est = parseEstCsr(base64Lines(in));
    if (!est || est->der != csr->der) std::abort();
  }
  // The same bytes as an EST body (base64 or PEM text).
  (void)parseEstCsr(in);
  if (auto decoded = base64DecodeLenient(in, kMaxCsrDer)) {
    auto again = base64DecodeLenient(base64Lines(*decoded), kMaxCsrDer);
    if (!again || *again != *decoded) std::abort();
  }
  return 0;
}
