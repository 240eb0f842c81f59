// libFuzzer target for crypto::x509::parseCertsOnly (pkcs7.h): any bytes give
// certificates or an error, never a crash or leak; certificates that parse
// are written again with certsOnly and read back the same, in the same order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/x509/pkcs7.h"

using namespace rampart::crypto::x509;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto certs = parseCertsOnly(in, 8);
  if (!certs) return 0;
  if (certs->empty() || certs->size() > 8) std::abort();
  std::vector<X509*> raw;
  for (const auto& c : *certs) raw.push_back(c.get());
  auto again = certsOnly(raw);
  if (!again) return 0;  // a certificate OpenSSL read but cannot re-encode
  auto back = parseCertsOnly(*again, 8);
  if (!back || back->size() != certs->size()) std::abort();
  for (std::size_t i = 0; i < certs->size(); ++i) {
    if (certificateDer((*back)[i].get()) != certificateDer((*certs)[i].get())) std::abort();
  }
  // Also the certificate parsers on the raw bytes.
  (void)parseCertificate(in);
  return 0;
}
