// libFuzzer target for the Provision command bodies (codec/eas/provision.h,
// MS-ASPROV): any bytes go through the WBXML reader and, when they decode,
// through decodeProvisionRequest() and decodeProvisionResponse(). Whatever
// decodes must re-encode (as 16.1, which has every tag) and decode again to
// the same struct. Seed corpus: fuzz/corpus/eas_provision/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "codec/eas/provision.h"
#include "codec/wbxml/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  wbxml::Reader reader(limits);
  auto doc = reader.read(std::span<const std::uint8_t>(data, size));
  if (!doc) return 0;

  if (auto request = eas::decodeProvisionRequest(*doc)) {
    auto bytes = eas::encodeProvisionRequest(*request, "16.1");
    if (!bytes) std::abort();  // whatever we accept, we can write
    auto again = reader.read(*bytes);
    if (!again) std::abort();
    auto second = eas::decodeProvisionRequest(*again);
    if (!second || !(*second == *request)) std::abort();
  }

  if (auto response = eas::decodeProvisionResponse(*doc)) {
    auto bytes = eas::encodeProvisionResponse(*response, "16.1");
    if (!bytes) std::abort();
    auto again = reader.read(*bytes);
    if (!again) std::abort();
    auto second = eas::decodeProvisionResponse(*again);
    if (!second || !(*second == *response)) std::abort();
  }
  return 0;
}
