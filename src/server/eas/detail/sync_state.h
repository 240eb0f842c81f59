// The state behind an email collection's Sync key (MS-ASCMD 2.2.1.21) and the
// delta engine that Sync, GetItemEstimate and Ping share.
//
// Model: what the client holds is never stored item by item. A state is in
// one of two phases.
//
// Fill (after key 0): a keyset scan of the folder, newest first, so a phone
// adding a big account sees its Inbox fill from the top (as Exchange does),
// and with a FilterType only the items inside the window are read at all.
// The fill's first window takes, in ONE store snapshot (MailStore::scanItems),
// the folder's log position S (kept in `seq`) and the item-id high-water mark
// M. Items are sent in (received_at, id) descending order, received_at >=
// cutoff, id <= M, strictly after the cursor (the last item sent); the blob
// keeps S, M and the cursor. When the scan runs dry the state becomes a log
// state at S, in the same window if room is left. Why that is exact:
//  - every item with id <= M was added to the folder at or before S (an item
//    and its add entry are one commit; ids only grow, never reused), and
//    every item filed after the snapshot (delivered, or moved in: a move
//    gives a new id) has id > M and an add entry after S: it never shows in
//    the fill and arrives exactly once, through the log;
//  - an item of the snapshot changed during the fill has a change entry
//    after S: it is sent as Add by the fill (with its state when read) and
//    then as Change by the log, which is harmless;
//  - an item of the snapshot removed (deleted, moved out) during the fill
//    has a remove entry after S: Delete, whether or not the fill had reached
//    it (a Delete for a ServerId the client never had is ignored by clients,
//    as for an item added and removed between two log windows);
//  - the cutoff may rise during the fill (time passes, a narrower
//    FilterType): the fill's cutoff rises with it, but never above the
//    cursor's received_at, so nothing already sent falls out of the state's
//    window; the rest is SoftDeleted by the log phase (below) as usual.
// A client's own changes during the fill are not echoed in that Sync; the
// log phase later repeats them as Change (same values) or Delete (already
// gone on the client), which clients tolerate.
//
// Log: a state names a position `seq` in the folder's change log and a
// FilterType cutoff; the client holds exactly the items that were in the
// folder at `seq` and were received at or after `cutoff`. Blobs of either
// phase are a few dozen bytes plus the stored response, for any folder size.
//
// A log window is the log from `seq` up to the point where WindowSize
// distinct items have produced a command; each item's command is decided by
// its first entry in the window (add: the client lacks it; change/remove:
// the client has it) and whether it is in the window now (in the folder,
// received after the cutoff): Add, Change, Delete, SoftDelete (aged out), or
// nothing (added and removed in between, or outside the filter). A cutoff
// that moved forward (time passed, a narrower FilterType) first SoftDeletes
// the items that fell out of the window.
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

// Where a fill stands (see above).
struct FillPosition {
  store::ItemId max_item = 0;  // M; 0 with last.id 0: the snapshot is not taken yet
  store::ItemKey last;         // the last item sent; id 0: none yet

  bool operator==(const FillPosition& o) const {
    return max_item == o.max_item && last.received_at == o.last.received_at && last.id == o.last.id;
  }
};

struct EmailSyncState {
  // Log phase: the change-log position the client is up to date with.
  // Fill phase: S, where the log phase will start.
  store::Seq seq = 0;
  std::optional<FillPosition> fill;  // set during the initial fill
  int filter_type = 0;               // MS-ASCMD 2.2.3.68.2; 0 = all items
  std::int64_t cutoff = 0;           // received_at >= cutoff is in the window
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
  store::Seq seq = 0;                // the new state's position
  std::optional<FillPosition> fill;  // the new state's fill; none: log phase
  std::int64_t cutoff = 0;           // the new state's cutoff
  bool more = false;                 // MoreAvailable
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
// `cutoff_now` (>= from.cutoff): the rest of the fill first, then the log.
// Errors: the store's.
Result<DeltaBatch> computeDelta(store::MailStore& mail, store::FolderId folder,
                                const EmailSyncState& from, std::int64_t cutoff_now,
                                const DeltaLimits& limits);

// GetItemEstimate (MS-ASCMD 2.2.1.9): the commands a client at `from` is
// still owed at `cutoff_now`: during a fill, the items the fill has left
// (counted, not read) plus what the log holds after S; at most about
// `max_counted` log entries are walked.
Result<std::size_t> estimateDelta(store::MailStore& mail, store::FolderId folder,
                                  const EmailSyncState& from, std::int64_t cutoff_now,
                                  std::size_t max_counted);

// A Sync request's collections and options as the server remembers them for
// an empty or partial Sync (MS-ASCMD 2.2.1.21, DeviceStore::saveLastSync):
// the request with each collection's key replaced by the key last handed out.
std::string encodeCachedSync(const rampart::eas::SyncRequest& r);
std::optional<rampart::eas::SyncRequest> decodeCachedSync(std::string_view blob);

}  // namespace rampart::server::eas::detail
