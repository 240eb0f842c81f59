// The Ping command (MS-ASCMD 2.2.1.13, 3.1.5.8): Direct Push. A request is
// answered at once when it is wrong or something is already waiting, else it
// parks in the PushHub until a folder changes or its heartbeat passes.
//
// The service drives it in three steps:
//   1. preparePing() on the blocking pool: parse, validate, merge with the
//      cached Ping, resolve folders, look for pending changes. Returns either
//      the answer or a plan to park.
//   2. co_await hub.wait(user, device, plan.folders, plan.heartbeat) on the
//      connection's executor (named locals: docs/decisions/0002).
//   3. pingWakeResponse(result) for the answer (no store access; any thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"
#include "server/eas/push_hub.h"
#include "store/types.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.11 Status (Ping).
enum class PingStatus : std::uint8_t {
  expired = 1,                 // heartbeat passed, nothing changed: reissue the Ping
  changes = 2,                 // the response lists the changed folders: Sync them
  missing_parameters = 3,      // neither the request nor the cache has heartbeat and folders
  syntax_error = 4,            // malformed request (also: the same Id twice, 2.2.3.90)
  heartbeat_out_of_range = 5,  // answered with the nearest allowed HeartbeatInterval
  too_many_folders = 6,        // answered with MaxFolders
  hierarchy_changed = 7,       // a folder we do not know: FolderSync first
  server_error = 8,            // transient: retry
};

// Our bounds (valid heartbeats are implementation-specific, 2.2.3.88.1 <6>;
// 3540 s stays under the 60-minute idle timeouts of common NATs and proxies).
struct PingLimits {
  int min_heartbeat = 60;
  int max_heartbeat = 3540;
  std::size_t max_folders = 300;
};

// What preparePing() decided.
struct PingPlan {
  // Set: send this at once (with `status`).
  std::optional<std::vector<std::uint8_t>> response;
  PingStatus status = PingStatus::expired;
  // Otherwise: park on `folders` (with the change-log positions the pending
  // check saw) for `heartbeat`.
  std::vector<WatchedFolder> folders;
  std::chrono::seconds heartbeat{0};

  bool parks() const { return !response.has_value(); }
};

// Pending-change check of one folder for this device: true when the device's
// last Sync of the folder is behind (MS-ASCMD 3.1.5.8: the server compares with
// the last airsync:SyncKey it handed out). Injected: Sync owns that state.
using HasPending = std::function<Result<bool>(store::FolderId)>;

// Step 1 (blocking). `body` is null for a request without a body (an empty
// Ping: the cached one is reused, 2.2.1.13). A request that names only one of
// HeartbeatInterval and Folders takes the other from the cache; the merged
// Ping is cached when it is valid and differs from the cache.
//
// Folder Id is a store FolderId in decimal; one that is not, that does not
// exist, that is not in ctx.user's mailbox, or whose Class does not match the
// folder's type, is Status 7. Classes map from folder types as FolderSync
// reports them: calendar -> Calendar, contacts -> Contacts, tasks -> Tasks,
// notes -> Notes, any other -> Email.
//
// In-protocol answers: Status 2 (pending changes, the changed folders listed),
// 3, 4, 5 (with HeartbeatInterval), 6 (with MaxFolders), 7, and 8 when a store
// read or the cache write fails. Errors only when encoding fails.
Result<PingPlan> preparePing(CommandContext& ctx, const wbxml::Document* body,
                             const PingLimits& limits, const HasPending& has_pending);

// A Ping response with `status` and, for Status 2, the changed folders
// (Ping{Status, Folders{Folder*}}; MS-ASCMD 2.2.1.13, 2.2.3.71.2: Folder
// holds the Id as text).
Result<std::vector<std::uint8_t>> pingResponse(int status,
                                               const std::vector<store::FolderId>& folders);

// Step 3: the answer to a parked Ping.
//   changed    -> Status 2 with the folders that changed.
//   timeout    -> Status 1.
//   superseded -> Status 1. The spec names no status for a Ping replaced by a
//                 newer one of the same device; 1 ("nothing changed, reissue")
//                 is true of the old request and sends the device nowhere it
//                 would not go anyway (its newer Ping is already parked).
//   stopping   -> Status 1 as well: nothing was missed, and the device reissues
//                 its Ping to whichever server answers next.
Result<std::vector<std::uint8_t>> pingWakeResponse(const WakeResult& result);

}  // namespace rampart::server::eas
