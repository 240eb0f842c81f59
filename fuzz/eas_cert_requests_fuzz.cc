// libFuzzer target for the ResolveRecipients and ValidateCert request
// decoders (codec/eas/cert_requests.h): any bytes go through the WBXML reader
// and, when they decode, through both decoders, whose results must respect
// the limits they promise; the raw bytes also go through decodeBase64, whose
// output can never be longer than three quarters of its input nor than the
// bound it was given. Seed corpus: fuzz/corpus/eas_cert_requests/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "codec/eas/cert_requests.h"
#include "codec/wbxml/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto decoded = eas::decodeBase64(text, 4096)) {
    if (decoded->size() > 4096 || decoded->size() > size / 4 * 3) std::abort();
  }

  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  wbxml::Reader reader(limits);
  auto doc = reader.read(std::span<const std::uint8_t>(data, size));
  if (!doc) return 0;
  const eas::CertRequestLimits bounds;
  if (auto r = eas::decodeResolveRecipientsRequest(*doc, bounds)) {
    if (r->to.empty() || r->to.size() > bounds.max_recipients) std::abort();
    for (const auto& to : r->to) {
      if (to.empty() || to.size() > bounds.max_to_length) std::abort();
    }
    if (r->max_certificates && *r->max_certificates > 9999) std::abort();
    if (r->availability && r->availability->end && *r->availability->end <= r->availability->start)
      std::abort();
  }
  if (auto v = eas::decodeValidateCertRequest(*doc, bounds)) {
    if (v->certificates.empty() || v->certificates.size() > bounds.max_certificates) std::abort();
    if (v->chain.size() > bounds.max_chain) std::abort();
    for (const auto& der : v->certificates) {
      if (der.empty() || der.size() > bounds.max_certificate_bytes) std::abort();
    }
  }
  return 0;
}
