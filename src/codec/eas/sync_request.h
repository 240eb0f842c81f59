// The Sync command's request body (MS-ASCMD 2.2.1.21) decoded into a struct,
// and the AirSyncBase BodyPreference options (MS-ASAIRS 2.2.2.7) shared with
// ItemOperations, Search and GetItemEstimate. Pure: no I/O, no store. What
// the request asks for is checked for shape and bounds here; what it means
// (is the key current, is the folder there, is Wait in range) is the
// command's business, so out-of-range Wait/HeartbeatInterval values are
// kept, not rejected (the command answers them with Status 14 and Limit).
//
// Errors: a document of the wrong shape (wrong root, a duplicate of a
// single-valued element, a number that is not one, a missing SyncKey or
// CollectionId) is Errc::invalid_argument; a count or string over its bound
// is Errc::limit_exceeded. Every detail names the element ("Sync:WindowSize").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::eas {

// MS-ASAIRS 2.2.2.7 BodyPreference: Type (2.2.2.22.1: 1 plain, 2 HTML, 3 RTF,
// 4 MIME), TruncationSize (2.2.2.40.1), AllOrNone (2.2.2.3.1), Preview
// (2.2.2.36.1, 0..255 characters, 14.0+).
struct BodyPreference {
  int type = 1;
  std::optional<std::uint32_t> truncation_size;
  bool all_or_none = false;
  std::optional<std::uint32_t> preview;

  bool operator==(const BodyPreference&) const = default;
};

inline constexpr std::size_t kMaxBodyPreferences = 8;
inline constexpr std::size_t kMaxSyncCollections = 100;
inline constexpr std::size_t kMaxSyncCommands = 1000;  // client commands per collection
inline constexpr std::size_t kMaxSyncKeyLength = 64;
inline constexpr std::size_t kMaxServerIdLength = 64;  // MS-ASCMD 2.2.3.166.x: 64 characters
inline constexpr std::uint32_t kMaxWindowSize = 512;   // MS-ASCMD 2.2.3.199

// The AirSyncBase:BodyPreference children of an Options element (any other
// child is ignored). Errors as above: a Type outside 1..4, a Preview over 255,
// a non-numeric value, more than kMaxBodyPreferences.
Result<std::vector<BodyPreference>> decodeBodyPreferences(const wbxml::Element& options);

// MS-ASCMD 2.2.3.125.6 Options (Sync), the parts an email collection uses.
struct SyncOptions {
  std::optional<int> filter_type;  // 2.2.3.68.2: 0..8 for email (0 = no filter)
  std::vector<BodyPreference> body_preferences;
  int mime_support = 0;                // 2.2.3.108: 0 never, 1 S/MIME only, 2 always
  std::optional<int> mime_truncation;  // 2.2.3.109: 0..8
  std::optional<int> conflict;         // 2.2.3.34: 0 client wins, 1 server wins
  // MS-ASRM 2.2.2.15 RightsManagementSupport (14.1+): the device handles
  // rights-managed mail; absent = false.
  bool rights_management_support = false;

  bool operator==(const SyncOptions&) const = default;
};

// MS-ASEMAIL 2.2.2.34 Flag, as a client Change carries it: the Status
// (2.2.2.75: 0 cleared, 1 complete, 2 active); an empty Flag clears.
struct SyncFlag {
  int status = 0;
  bool operator==(const SyncFlag&) const = default;
};

// One client operation of Commands (2.2.3.32).
struct SyncClientCommand {
  enum class Kind { add, change, remove, fetch };
  Kind kind = Kind::change;
  std::string server_id;  // Change, Delete, Fetch
  std::string client_id;  // Add (2.2.3.28.4)
  // Change's ApplicationData, the email properties a client may change
  // (MS-ASEMAIL 3.1.5.3: Read, Flag, Categories).
  std::optional<bool> read;
  std::optional<SyncFlag> flag;

  bool operator==(const SyncClientCommand&) const = default;
};

struct SyncCollectionRequest {
  std::string sync_key;                      // 2.2.3.181.4
  std::string collection_id;                 // 2.2.3.30.6
  std::optional<bool> get_changes;           // 2.2.3.84: absent = yes, except with key 0
  std::optional<bool> deletes_as_moves;      // 2.2.3.43: absent = yes
  std::optional<std::uint32_t> window_size;  // clamped to 1..512
  std::optional<SyncOptions> options;        // the first Options (without Class or Class Email)
  std::vector<SyncClientCommand> commands;

  bool operator==(const SyncCollectionRequest&) const = default;
};

struct SyncRequest {
  std::vector<SyncCollectionRequest> collections;
  // Raw values (range checks belong to the command: Status 14 with Limit).
  std::optional<std::uint32_t> wait_minutes;       // 2.2.3.198: 1..59
  std::optional<std::uint32_t> heartbeat_seconds;  // 2.2.3.88.2: 60..3540
  std::optional<std::uint32_t> window_size;        // 2.2.3.199, clamped to 1..512
  bool partial = false;                            // 2.2.3.131

  bool operator==(const SyncRequest&) const = default;
};

// Decodes a Sync request document (root AirSync:Sync).
Result<SyncRequest> decodeSyncRequest(const wbxml::Document& doc);

}  // namespace rampart::eas
