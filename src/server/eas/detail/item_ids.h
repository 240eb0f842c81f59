// How EAS ids name store objects in this server: a CollectionId (and a
// folder's ServerId) is the decimal store FolderId; an item's ServerId is
// "<folder id>:<item id>" (the form Sync hands out, MS-ASCMD 2.2.3.166.4 lets
// the server choose up to 64 characters). Search's LongId (2.2.3.104) uses
// the same form as the ServerId.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "store/types.h"

namespace rampart::server::eas::detail {

// A positive decimal id, nothing else (no sign, no spaces).
inline std::optional<std::int64_t> parsePositiveId(std::string_view text) {
  if (text.empty() || text.size() > 19 || text.front() == '+' || text.front() == '-') {
    return std::nullopt;
  }
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

inline std::optional<store::FolderId> parseCollectionId(std::string_view text) {
  return parsePositiveId(text);
}

struct ItemServerId {
  store::FolderId folder = 0;
  store::ItemId item = 0;
};

inline std::optional<ItemServerId> parseItemServerId(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto folder = parsePositiveId(text.substr(0, colon));
  auto item = parsePositiveId(text.substr(colon + 1));
  if (!folder || !item) return std::nullopt;
  return ItemServerId{*folder, *item};
}

inline std::string formatItemServerId(store::FolderId folder, store::ItemId item) {
  return std::to_string(folder) + ":" + std::to_string(item);
}

}  // namespace rampart::server::eas::detail
