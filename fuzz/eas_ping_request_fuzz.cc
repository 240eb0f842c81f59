// libFuzzer target for the Ping request body (codec/eas/ping_request.h,
// MS-ASCMD 2.2.1.13): any bytes go through the WBXML reader and, when they
// decode, through decodePingRequest() with a small folder bound. Whatever
// decodes must stay within the bounds, re-encode, and decode again to the same
// struct. Seed corpus: fuzz/corpus/eas_ping_request/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "codec/eas/ping_request.h"
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

  eas::PingRequestLimits bounds;
  bounds.max_folders = 8;
  auto request = eas::decodePingRequest(*doc, bounds);
  if (!request) {
    // Only the two documented error kinds.
    if (!request.error().is(Errc::invalid_argument) && !request.error().is(Errc::limit_exceeded)) {
      std::abort();
    }
    return 0;
  }
  if (request->folders) {
    if (request->folders->empty() || request->folders->size() > bounds.max_folders) std::abort();
    for (const auto& f : *request->folders) {
      if (f.id.empty() || f.id.size() > bounds.max_id) std::abort();
    }
  }
  if (request->heartbeat_interval && *request->heartbeat_interval < 0) std::abort();

  auto bytes = eas::encodePingRequest(*request);
  if (!bytes) std::abort();  // whatever we accept, we can write
  auto again = reader.read(*bytes);
  if (!again) std::abort();
  auto second = eas::decodePingRequest(*again, bounds);
  if (!second || !(*second == *request)) std::abort();
  return 0;
}
