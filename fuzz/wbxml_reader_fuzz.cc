// Fuzzes the ActiveSync WBXML reader (codec/wbxml/reader.h). Whatever decodes
// must re-encode with the writer and decode again to the same tree; the XML
// rendering must not crash either. Seed corpus: fuzz/corpus/wbxml_reader/
// (the MS-ASWBXML section 3 example, a captured Ping, and request/response
// bodies as our writer emits them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rampart::wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  limits.max_opaque = 256 << 10;
  rampart::wbxml::Reader reader(limits);

  auto doc = reader.read(std::span<const std::uint8_t>(data, size));
  if (!doc) return 0;

  (void)rampart::wbxml::toXml(*doc);

  auto bytes = rampart::wbxml::encode(*doc);
  if (!bytes) std::abort();  // every decoded tree is encodable
  auto again = reader.read(*bytes);
  if (!again) std::abort();  // our own output is within the same limits
  if (!(again->root == doc->root)) std::abort();
  return 0;
}
