// libFuzzer target for the MoveItems, ItemOperations, Search and Settings
// request decoders (codec/eas/item_requests.h) and the multipart body codec
// (codec/eas/multipart.h): any bytes go through the WBXML reader and, when
// they decode, through every request decoder; the raw bytes also go through
// decodeMultipart(), whose parts must re-encode and decode to the same parts,
// and through parseRange()/parseDateTime(), whose results must format and
// parse back to themselves. Seed corpus: fuzz/corpus/eas_item_requests/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "codec/eas/item_requests.h"
#include "codec/eas/multipart.h"
#include "codec/wbxml/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  std::span<const std::uint8_t> bytes(data, size);

  if (auto parts = eas::decodeMultipart(bytes)) {
    auto again = eas::encodeMultipart(*parts);
    if (!parts->empty()) {
      if (!again) std::abort();
      auto back = eas::decodeMultipart(*again);
      if (!back || back->size() != parts->size()) std::abort();
      for (std::size_t i = 0; i < parts->size(); ++i) {
        if (!std::equal((*back)[i].begin(), (*back)[i].end(), (*parts)[i].begin(),
                        (*parts)[i].end())) {
          std::abort();
        }
      }
    }
  }

  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto r = eas::parseRange(text)) {
    if (eas::parseRange(eas::formatRange(*r)) != r) std::abort();
  }
  if (auto t = eas::parseDateTime(text)) {
    if (eas::parseDateTime(eas::formatDateTime(*t)) != t) std::abort();
  }

  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  wbxml::Reader reader(limits);
  auto doc = reader.read(bytes);
  if (!doc) return 0;
  (void)eas::decodeMoveItemsRequest(*doc);
  (void)eas::decodeItemOperationsRequest(*doc);
  (void)eas::decodeSearchRequest(*doc);
  (void)eas::decodeSettingsRequest(*doc);
  return 0;
}
