// Differential libFuzzer target for mime::plainBodyFast(): whenever the fast
// path claims a message, its body must be byte-identical to what GMime gives
// (extractBodiesGmime), and extractPlainPrefix() must agree with both.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/mime/body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto fast = rampart::mime::plainBodyFast(bytes);
  if (!fast) return 0;
  rampart::mime::Bodies ref = rampart::mime::extractBodiesGmime(bytes);
  if (*fast != ref.plain || !ref.html.empty() || ref.html_native) std::abort();
  rampart::mime::PlainPrefix p = rampart::mime::extractPlainPrefix(bytes, 16);
  if (p.total_size != ref.plain.size() || p.prefix != std::string_view(ref.plain).substr(0, 16) ||
      p.complete != (ref.plain.size() <= 16)) {
    std::abort();
  }
  return 0;
}
