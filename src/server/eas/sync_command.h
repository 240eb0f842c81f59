// The Sync command for email collections (MS-ASCMD 2.2.1.21) and what Ping
// and GetItemEstimate share with it. Blocking (mail and device stores); the
// EAS service runs it on its blocking pool and does the waiting of Wait /
// HeartbeatInterval itself around it.
//
// Ids: a collection's CollectionId is the store FolderId in decimal; an
// item's ServerId is "<folder id>:<item id>" (both decimal).
//
// Keys and state: one DeviceStore chain per collection (the CollectionId).
// Key "0" resets the chain and answers a new key with no Commands (MS-ASCMD
// 2.2.3.181.4: the initial sync returns no items). The syncs after it fill
// the client newest first by a keyset scan of the folder within the
// FilterType window, then walk the folder's change log from the position
// the fill started at (detail/sync_state.h); each sends at most WindowSize
// commands, MoreAvailable when more remain, and commits the
// new state under a new key together with the collection's response bytes;
// a resent previous key is answered with those bytes and the key they
// carried, byte for byte, and nothing is applied again. The current key with
// nothing to send and nothing asked commits nothing and the collection is
// left out of the response; when no collection has anything, the body is
// empty (MS-ASCMD 3.2.5.? "empty response").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"
#include "store/types.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.17 Status (Sync), the values this server answers.
enum class SyncStatus : std::uint8_t {
  success = 1,
  invalid_sync_key = 3,
  protocol_error = 4,
  server_error = 5,
  conversion_error = 6,  // an item the server cannot take (email Add)
  object_not_found = 8,
  hierarchy_changed = 12,   // unknown collection: FolderSync first
  incomplete_request = 13,  // empty or partial Sync without a cached one
  invalid_wait = 14,        // Wait or HeartbeatInterval out of range (with Limit)
  too_many_collections = 15,
};

// MS-ASCMD 2.2.3.198 Wait (minutes) and 2.2.3.88.2 HeartbeatInterval (seconds).
inline constexpr std::uint32_t kMinWaitMinutes = 1;
inline constexpr std::uint32_t kMaxWaitMinutes = 59;
inline constexpr std::uint32_t kMinHeartbeatSeconds = 60;
inline constexpr std::uint32_t kMaxHeartbeatSeconds = 3540;
inline constexpr std::uint32_t kDefaultWindowSize = 100;  // MS-ASCMD 2.2.3.199

struct SyncOutcome {
  // The WBXML response; EMPTY when nothing is to be said (no collection has
  // changes or failures): the service answers 200 with an empty body, or
  // waits first when wait_seconds is set.
  std::vector<std::uint8_t> body;
  bool changes = false;                      // whether anything was sent
  std::vector<store::FolderId> watched;      // the request's collections
  std::optional<std::int64_t> wait_seconds;  // Wait*60 or HeartbeatInterval
};

// Answers one Sync request; `body` null = an empty request body (MS-ASCMD
// 2.2.1.21: the cached request of DeviceStore::lastSync is reused).
// Malformed requests, bad keys, unknown collections are answered in-protocol;
// errors are storage failures (the service answers 500) and encoding errors.
Result<SyncOutcome> runSync(CommandContext& ctx, const wbxml::Document* body);

// For Ping (MS-ASCMD 2.2.1.13): whether `folder` has changes its client has
// not been sent yet, judged from the device's current sync state of that
// folder (no state: true, the client must sync). Errc::not_found when the
// folder does not exist.
Result<bool> hasPendingChanges(CommandContext& ctx, store::FolderId folder);

}  // namespace rampart::server::eas
