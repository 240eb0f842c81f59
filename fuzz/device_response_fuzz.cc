// libFuzzer target for the device client's response parsers (device/protocol.h):
// any bytes go through the WBXML reader and, when they decode, through every
// parse* function (a server's answer is untrusted input for a device); the
// raw bytes also go through parseAutodiscover(). Nothing may crash, and every
// string kept is within its bound. Seed corpus: fuzz/corpus/device_response/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "codec/wbxml/reader.h"
#include "device/protocol.h"

namespace {

void checkFields(const rampart::device::EmailFields& f) {
  using rampart::device::kMaxField;
  for (const auto* s : {&f.subject, &f.from, &f.to, &f.cc, &f.date}) {
    if (*s && (*s)->size() > kMaxField) std::abort();
  }
  if (f.body && f.body->size() > rampart::device::kMaxBody) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  (void)device::parseAutodiscover(std::string_view(reinterpret_cast<const char*>(data), size));
  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  auto doc = wbxml::Reader(limits).read(std::span<const std::uint8_t>(data, size));
  if (!doc) return 0;
  (void)device::rootStatus(*doc);
  (void)device::parseFolderSync(*doc);
  if (auto sync = device::parseSync(*doc)) {
    for (const auto& item : sync->items) checkFields(item.fields);
    for (const auto& item : sync->fetched) checkFields(item.fields);
  }
  (void)device::parsePing(*doc);
  (void)device::parseComposeStatus(*doc);
  (void)device::parseMoveItems(*doc);
  if (auto fetched = device::parseItemFetch(*doc)) checkFields(fetched->fields);
  return 0;
}
