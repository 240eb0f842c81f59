// libFuzzer target for eas::decodeRequestTarget() (MS-ASHTTP 2.2.1.1.1): any
// bytes as a request target must give a request or an error, never a crash or
// hang. A decoded request must re-encode in its own form, and decoding that
// again must give the same request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/eas/request_line.h"

namespace {

void roundTrip(const rampart::eas::EasRequest& first) {
  using namespace rampart::eas;
  RequestLineLimits lenient;
  lenient.require_user_in_plain = false;
  if (first.base64_form) {
    auto query = encodeBase64Query(first);
    if (!query) std::abort();
    auto second = decodeRequestTarget(std::string(kActiveSyncPath) + "?" + *query, lenient);
    if (!second || !(*second == first)) std::abort();
  } else {
    auto query = encodePlainQuery(first);
    if (!query) std::abort();
    auto second = decodeQuery(*query, lenient);
    // The plain query does not carry the policy key (it travels in a header).
    EasRequest expected = first;
    expected.policy_key.reset();
    if (!second || !(*second == expected)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  rampart::eas::RequestLineLimits lenient;
  lenient.require_user_in_plain = false;
  for (const auto& limits : {rampart::eas::RequestLineLimits{}, lenient}) {
    auto request = rampart::eas::decodeRequestTarget(target, limits);
    if (request) roundTrip(*request);
    // The query alone, for inputs that lack the path.
    auto bare = rampart::eas::decodeQuery(target, limits);
    if (bare) roundTrip(*bare);
  }
  return 0;
}
