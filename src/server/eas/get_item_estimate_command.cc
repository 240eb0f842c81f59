#include "server/eas/get_item_estimate_command.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/sync_state.h"
#include "store/device_store.h"

namespace rampart::server::eas {
namespace {

using namespace detail;

constexpr std::uint8_t kPage = 6;  // GetItemEstimate
constexpr std::uint8_t kAirSync = 0;
constexpr std::size_t kMaxCollections = 100;
constexpr std::size_t kMaxCounted = 100000;  // log entries walked per collection

struct Ask {
  std::string collection_id;
  std::string sync_key;
  std::optional<int> filter_type;
};

void element(wbxml::Writer& w, std::string_view name, std::string_view text) {
  w.start("GetItemEstimate", name);
  w.content(text);
  w.end();
}

// MS-ASCMD 2.2.1.9.1 request: GetItemEstimate/Collections/Collection with
// airsync:SyncKey, CollectionId, airsync:Options (FilterType, Class),
// ConversationMode. None for a malformed request.
std::optional<std::vector<Ask>> parse(const wbxml::Document& body) {
  const wbxml::Element& root = body.root;
  if (root.page != kPage || root.name != "GetItemEstimate") return std::nullopt;
  const wbxml::Element* cols = nullptr;
  for (const auto& c : root.children) {
    if (c.page == kPage && c.name == "Collections") cols = &c;
  }
  if (cols == nullptr) return std::nullopt;
  std::vector<Ask> asks;
  for (const auto& col : cols->children) {
    if (col.page != kPage || col.name != "Collection") continue;
    if (asks.size() == kMaxCollections) return std::nullopt;
    Ask a;
    for (const auto& c : col.children) {
      if (c.page == kPage && c.name == "CollectionId") {
        a.collection_id = c.text.substr(0, 64);
      } else if (c.page == kAirSync && c.name == "SyncKey") {
        a.sync_key = c.text.substr(0, 64);
      } else if (c.page == kAirSync && c.name == "Options") {
        for (const auto& o : c.children) {
          if (o.page != kAirSync || o.name != "FilterType") continue;
          int v = -1;
          auto [p, ec] = std::from_chars(o.text.data(), o.text.data() + o.text.size(), v);
          if (ec != std::errc() || p != o.text.data() + o.text.size() || v < 0 || v > 8) {
            return std::nullopt;
          }
          a.filter_type = v;
        }
      }
    }
    asks.push_back(std::move(a));
  }
  if (asks.empty()) return std::nullopt;
  return asks;
}

struct Answer {
  EstimateStatus status = EstimateStatus::success;
  std::size_t estimate = 0;
};

Result<Answer> estimate(CommandContext& ctx, store::MailboxId mailbox, const Ask& a) {
  store::FolderId id = 0;
  auto [p, ec] =
      std::from_chars(a.collection_id.data(), a.collection_id.data() + a.collection_id.size(), id);
  if (a.collection_id.empty() || ec != std::errc() ||
      p != a.collection_id.data() + a.collection_id.size()) {
    return Answer{EstimateStatus::invalid_collection};
  }
  auto folder = ctx.mail.getFolder(id);
  if (!folder) {
    if (!folder.error().is(Errc::not_found)) return fail(folder.error());
    return Answer{EstimateStatus::invalid_collection};
  }
  if (folder->mailbox != mailbox) return Answer{EstimateStatus::invalid_collection};
  if (a.sync_key.empty() || a.sync_key == store::kInitialSyncKey) {
    return Answer{EstimateStatus::not_primed};
  }
  auto found = ctx.devices.lookup(ctx.user, ctx.device_id, a.collection_id, a.sync_key);
  if (!found) {
    if (!found.error().is(Errc::not_found)) return fail(found.error());
    return Answer{EstimateStatus::invalid_sync_key};
  }
  // A previous key: count from the state the client will be moved to.
  const store::SyncState& s = found->next ? *found->next : found->state;
  auto state = decodeSyncState(s.blob);
  if (!state) return Answer{EstimateStatus::invalid_sync_key};
  int filter = a.filter_type.value_or(state->filter_type);
  std::int64_t cutoff =
      std::max(filterCutoff(filter, ctx.now), filter == state->filter_type ? state->cutoff : 0);
  if (cutoff < state->cutoff) return Answer{EstimateStatus::invalid_sync_key};
  // During the initial fill: the items it has left plus the log's changes.
  auto n = estimateDelta(ctx.mail, folder->id, *state, cutoff, kMaxCounted);
  if (!n) return fail(n.error());
  return Answer{EstimateStatus::success, *n};
}

}  // namespace

Result<std::vector<std::uint8_t>> runGetItemEstimate(CommandContext& ctx,
                                                     const wbxml::Document& body) {
  auto asks = parse(body);
  wbxml::Writer w;
  w.start("GetItemEstimate", "GetItemEstimate");
  if (!asks) {
    log::get("eas")->info("GetItemEstimate from {}/{}: malformed request", ctx.user, ctx.device_id);
    w.start("GetItemEstimate", "Response");
    element(w, "Status", std::to_string(static_cast<int>(EstimateStatus::invalid_collection)));
    w.end();
  } else {
    auto mailbox = ctx.mail.openMailbox(ctx.user);
    if (!mailbox) return fail(mailbox.error());
    for (const Ask& a : *asks) {
      auto ans = estimate(ctx, *mailbox, a);
      if (!ans) return fail(ans.error());
      // MS-ASCMD 2.2.1.9.2: one Response per collection, Status then
      // Collection (CollectionId, Estimate).
      w.start("GetItemEstimate", "Response");
      element(w, "Status", std::to_string(static_cast<int>(ans->status)));
      w.start("GetItemEstimate", "Collection");
      element(w, "CollectionId", a.collection_id);
      if (ans->status == EstimateStatus::success) {
        element(w, "Estimate", std::to_string(ans->estimate));
      }
      w.end();
      w.end();
    }
  }
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
