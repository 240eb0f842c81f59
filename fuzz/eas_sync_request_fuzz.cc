// libFuzzer target for the Sync request decoder (codec/eas/sync_request.h,
// MS-ASCMD 2.2.1.21): any bytes go through the WBXML reader and, when they
// decode, through decodeSyncRequest(). Whatever decodes must respect the
// decoder's bounds and survive the server's cache encoding
// (server/eas/detail/sync_state.h) unchanged. The same bytes also go through
// mime::extractBodies(), which must always give valid UTF-8.
// Seed corpus: fuzz/corpus/eas_sync_request/.
#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "codec/eas/sync_request.h"
#include "codec/mime/body.h"
#include "codec/wbxml/reader.h"
#include "server/eas/detail/sync_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mime::Bodies bodies = mime::extractBodies(text);
  if (!g_utf8_validate(bodies.plain.data(), static_cast<gssize>(bodies.plain.size()), nullptr) ||
      !g_utf8_validate(bodies.html.data(), static_cast<gssize>(bodies.html.size()), nullptr)) {
    std::abort();
  }

  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  limits.max_string = 64 << 10;
  wbxml::Reader reader(limits);
  auto doc = reader.read(std::span<const std::uint8_t>(data, size));
  if (!doc) return 0;
  auto request = eas::decodeSyncRequest(*doc);
  if (!request) return 0;
  if (request->collections.size() > eas::kMaxSyncCollections) std::abort();
  if (request->window_size && (*request->window_size < 1 || *request->window_size > 512)) {
    std::abort();
  }
  for (const auto& c : request->collections) {
    if (c.sync_key.empty() || c.collection_id.empty()) std::abort();
    if (c.commands.size() > eas::kMaxSyncCommands) std::abort();
    if (c.options && c.options->body_preferences.size() > eas::kMaxBodyPreferences) std::abort();
  }
  auto copy = *request;
  for (auto& c : copy.collections) c.commands.clear();
  copy.partial = false;
  auto back = server::eas::detail::decodeCachedSync(server::eas::detail::encodeCachedSync(copy));
  if (!back || !(*back == copy)) std::abort();
  return 0;
}
