// The state behind an email collection's Sync key (MS-ASCMD 2.2.1.21) and the
// delta engine that Sync, GetItemEstimate and Ping share.
//
// Model: what the client holds is never stored item by item. A state names a
// position `seq` in the folder's change log and a FilterType cutoff; the
// client holds exactly the items that were in the folder at `seq` and were
// received at or after `cutoff`. The initial fill is the same walk from seq 0
// (the log records every item's add from the folder's start), so a sync of
// 100,000 messages in windows of 512 keeps a blob of a few dozen bytes and
// reads only the log entries and items of the window.
//
// A window is the log from `seq` up to the point where WindowSize distinct
// items have produced a command; each item's command is decided by its first
// entry in the window (add: the client lacks it; change/remove: the client
// has it) and whether it is in the window now (in the folder, received after
// the cutoff): Add, Change, Delete, SoftDelete (aged out), or nothing (added
// and removed in between, or outside the filter). A cutoff that moved forward
// (time passed, a narrower FilterType) first SoftDeletes the items that fell
// out of the window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/eas/sync_request.h"
#include "core/error.h"
#include "store/mail_store.h"

namespace rampart::server::eas::detail {

struct EmailSyncState {
  store::Seq seq = 0;       // change-log position the client is up to date with
  int filter_type = 0;      // MS-ASCMD 2.2.3.68.2; 0 = all items
  std::int64_t cutoff = 0;  // received_at >= cutoff is in the window
  // The part of the response that moved the client to this state after its
  // SyncKey (WBXML tokens, code page 0 at the start), kept to answer a resent
  // previous key byte for byte (MS-ASCMD 2.2.3.181.4).
  std::string response_tail;

  bool operator==(const EmailSyncState&) const = default;
};

std::string encodeSyncState(const EmailSyncState& s);
std::optional<EmailSyncState> decodeSyncState(std::string_view blob);

// The received_since of a FilterType (MS-ASCMD 2.2.3.68.2: 1 one day, 2 three
// days, 3 one week, 4 two weeks, 5 one month, 6 three months, 7 six months;
// 0 and 8 everything), at `now`.
std::int64_t filterCutoff(int filter_type, std::int64_t now);

struct ItemDelta {
  enum class Kind { add, change, remove, soft_delete };
  Kind kind = Kind::add;
  store::ItemId id = 0;
  std::optional<store::Item> item;  // for add and change
};

struct DeltaBatch {
  std::vector<ItemDelta> deltas;
  store::Seq seq = 0;       // the new state's position
  std::int64_t cutoff = 0;  // the new state's cutoff
  bool more = false;        // MoreAvailable
};

struct DeltaLimits {
  std::size_t window = 100;      // commands
  std::size_t max_scan = 20000;  // log entries read per call
  // Items the client changed or deleted in this request, and the folder's
  // log position before it did: their entries after that position are the
  // client's own and are not echoed back (an earlier server-side change
  // still is).
  const std::set<store::ItemId>* suppress = nullptr;
  store::Seq suppress_after = 0;
  bool load_items = true;  // false: count only (GetItemEstimate)
  // A bound on the response: each Add costs min(message size, body_cap) plus
  // a fixed overhead, and the window closes once the sum passes max_bytes
  // (never before the first Add), so a window of large MIME bodies stays a
  // sane response and a sane sync-state blob.
  std::uint64_t max_bytes = UINT64_MAX;
  std::uint64_t body_cap = UINT64_MAX;
};

// The next window from `from` towards the folder's present, at cutoff
// `cutoff_now` (>= from.cutoff). Errors: the store's.
Result<DeltaBatch> computeDelta(store::MailStore& mail, store::FolderId folder,
                                const EmailSyncState& from, std::int64_t cutoff_now,
                                const DeltaLimits& limits);

// A Sync request's collections and options as the server remembers them for
// an empty or partial Sync (MS-ASCMD 2.2.1.21, DeviceStore::saveLastSync):
// the request with each collection's key replaced by the key last handed out.
std::string encodeCachedSync(const rampart::eas::SyncRequest& r);
std::optional<rampart::eas::SyncRequest> decodeCachedSync(std::string_view blob);

}  // namespace rampart::server::eas::detail
