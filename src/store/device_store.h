// The durable per-device state of the EAS server: who the devices are, where
// each stands in provisioning (MS-ASPROV), remote wipe and access, the sync
// state behind every sync key it was handed (MS-ASCMD Sync and FolderSync), and
// the cached Ping/Sync request an empty Ping or Sync reuses. Storage only: the
// protocol decisions (which status to answer, what a blob holds) belong to the
// server's commands.
//
// A device is keyed by (user, device id): the directory user name as the server
// normalised it, and the DeviceId of the request line (MS-ASHTTP 2.2.1.1.1.1).
// The same phone used by two accounts is two devices.
//
// Thread-safety: every method may be called from any thread; they block on
// storage, so the server calls them off its I/O threads.
//
// Durability: a method that reports success has committed and synced its
// changes (synchronous=FULL); a failure leaves nothing half-written.
//
// Errors: Errc::not_found for an unknown device or sync state,
// Errc::invalid_argument for a policy key or wipe acknowledgement that does not
// match the device's state, Errc::already_exists for a sync commit whose
// expected key is no longer the current one (see commit()), and
// Errc::storage_error (Errc::unavailable when busy) when the backend fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace rampart::store {

// Settings DeviceInformation/Set (MS-ASCMD 2.2.3.52, sent inside Provision by
// 14.1+ clients, MS-ASPROV 2.2.2.53). A field the client did not send is empty.
struct DeviceInformation {
  std::optional<std::string> model;
  std::optional<std::string> imei;
  std::optional<std::string> friendly_name;
  std::optional<std::string> os;
  std::optional<std::string> os_language;
  std::optional<std::string> phone_number;
  std::optional<std::string> user_agent;
  std::optional<std::string> mobile_operator;

  bool operator==(const DeviceInformation&) const = default;
};

// What the administrator decided about the device. Stored values: do not renumber.
enum class DeviceAccess : int { allowed = 0, blocked = 1, quarantined = 2 };

// Remote wipe (MS-ASPROV 3.2.5.1.2.2, 2.2.2.45) and account-only remote wipe
// (16.1, MS-ASPROV 2.2.2.1). Stored values: do not renumber.
enum class WipeState : int {
  none = 0,
  pending = 1,               // the next Provision answers RemoteWipe
  pending_account_only = 2,  // the next Provision answers AccountOnlyRemoteWipe
  acknowledged = 3,          // the device reported the wipe (its Status kept by the server)
};

struct Device {
  std::string user;
  std::string device_id;
  std::string device_type;   // DeviceType of the newest request
  std::string user_agent;    // User-Agent of the newest request
  std::int64_t first_seen = 0;  // Unix seconds
  std::int64_t last_seen = 0;
  DeviceInformation info;

  // MS-ASPROV 2.2.2.42: a policy key is a 32-bit unsigned integer; 0 = none.
  std::uint32_t policy_key = 0;          // the final key of the last acknowledged Provision
  std::uint32_t pending_policy_key = 0;  // the temporary key of phase 1, until acknowledged
  std::int64_t policy_version = 0;       // the server's policy version that was acknowledged

  DeviceAccess access = DeviceAccess::allowed;
  WipeState wipe = WipeState::none;
  bool wipe_account_only = false;        // what the last wipe request asked for
  std::int64_t wipe_requested_at = 0;    // Unix seconds; 0 = never
  std::int64_t wipe_acknowledged_at = 0;
};

// What every request tells about the device.
struct DeviceSeen {
  std::string device_type;
  std::string user_agent;
  std::int64_t at = 0;  // Unix seconds
};

// A sync state: the key the client was handed and the server's bytes behind it.
struct SyncState {
  std::string key;
  std::string blob;

  bool operator==(const SyncState&) const = default;
};

// The answer to lookup(): the state named by the key and, when that key is the
// previous one, the current state committed on top of it (what the lost
// response carried, so the server can answer the resent key the same way).
struct SyncLookup {
  SyncState state;
  std::optional<SyncState> next;  // empty when `state` is the current one
};

// The last non-empty Ping of a device (MS-ASCMD 2.2.1.13: an empty Ping reuses
// the heartbeat and folders of the one before).
struct PingCache {
  std::int64_t heartbeat_seconds = 0;
  std::vector<std::pair<std::string, std::string>> folders;  // (collection id, class)

  bool operator==(const PingCache&) const = default;
};

// The sync key a client sends to start over (MS-ASCMD 2.2.3.181.4).
inline constexpr std::string_view kInitialSyncKey = "0";

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;

  // --- devices -----------------------------------------------------------------

  // Records a request of the device: creates it (allowed, not provisioned) on
  // first sight, else updates type, user agent and last seen. Returns the
  // device as stored, so a request costs one call to learn its policy key,
  // access and wipe state.
  virtual Result<Device> upsertDevice(std::string_view user, std::string_view device_id,
                                      const DeviceSeen& seen) = 0;
  // Errc::not_found when unknown.
  virtual Result<Device> getDevice(std::string_view user, std::string_view device_id) = 0;
  // The user's devices, ordered by device id.
  virtual Result<std::vector<Device>> listDevices(std::string_view user) = 0;
  // Replaces the stored DeviceInformation (MS-ASPROV 3.2.5.1.1: the server
  // SHOULD store it). Errc::not_found when the device is unknown.
  virtual Status setDeviceInformation(std::string_view user, std::string_view device_id,
                                      const DeviceInformation& info) = 0;

  // Phase 1 of Provision (MS-ASPROV 3.1.5.1.1, 3.2.5.1.1): draws a fresh random
  // non-zero temporary policy key, stores it as pending (replacing any earlier
  // pending one) and returns it. The current final key stays as it is until
  // the acknowledgement, so a client that re-provisions and never acknowledges
  // keeps working with what it had. Errc::not_found when the device is unknown.
  virtual Result<std::uint32_t> beginProvision(std::string_view user,
                                               std::string_view device_id) = 0;
  // Phase 2 (MS-ASPROV 3.1.5.1.2.1, 3.2.5.1.2.1): when `temporary_key` is the
  // pending key, draws a new random final key (never the temporary one), makes
  // it current with `policy_version`, clears the pending key and returns it.
  // Errc::invalid_argument when nothing is pending or the key differs (the
  // server answers "invalid policy key" and the client starts over).
  virtual Result<std::uint32_t> confirmProvision(std::string_view user,
                                                 std::string_view device_id,
                                                 std::uint32_t temporary_key,
                                                 std::int64_t policy_version) = 0;
  virtual Status setAccess(std::string_view user, std::string_view device_id,
                           DeviceAccess access) = 0;
  // Marks a wipe pending (full, or account-only for 16.1 clients); a second
  // request replaces the first. `now` in Unix seconds.
  virtual Status requestWipe(std::string_view user, std::string_view device_id,
                             bool account_only, std::int64_t now) = 0;
  // The device acknowledged the directive (MS-ASPROV 3.1.5.1.2.2/3).
  // Errc::invalid_argument when no wipe is pending.
  virtual Status acknowledgeWipe(std::string_view user, std::string_view device_id,
                                 std::int64_t now) = 0;
  // Forgets the device with its sync states and caches. Errc::not_found when unknown.
  virtual Status removeDevice(std::string_view user, std::string_view device_id) = 0;

  // --- sync states -----------------------------------------------------------------
  //
  // One chain per (user, device, collection): a folder's server id for Sync,
  // "hierarchy" (or whatever the server picks) for FolderSync. Keys are opaque
  // strings made by the store ("{8 hex digits}N": a random generation drawn
  // when the chain starts, then a counter), never "0", different after every
  // commit and, short of a 1-in-2^32 draw of the same generation, never reused
  // by a later chain, so a key from before a reset cannot match the state
  // after it.

  // The current state, or none for a collection never synced (or reset).
  virtual Result<std::optional<SyncState>> current(std::string_view user,
                                                   std::string_view device_id,
                                                   std::string_view collection) = 0;
  // Stores `blob` under a new key and returns that key, atomically with the
  // check that `expected_key` is the current key; the state it replaces is kept
  // as the previous one (a client that lost the response resends the old key:
  // MS-ASCMD 2.2.3.181.4). For a collection without state, `expected_key` must
  // be kInitialSyncKey; a client that sends "0" for a collection with state is
  // starting over, and the server calls reset() first. Errors:
  // Errc::already_exists when `expected_key` is not the current key (another
  // commit won the race, or the key is stale or made up), Errc::not_found when
  // there is no state and `expected_key` is not "0", or the device is unknown.
  // Of several commits racing from one key exactly one succeeds.
  virtual Result<std::string> commit(std::string_view user, std::string_view device_id,
                                     std::string_view collection,
                                     std::string_view expected_key, std::string_view blob) = 0;
  // The state behind `key` when it is the current or the immediately previous
  // key; Errc::not_found for any other key.
  virtual Result<SyncLookup> lookup(std::string_view user, std::string_view device_id,
                                    std::string_view collection, std::string_view key) = 0;
  // Forgets one collection's chain (sync key 0). Succeeds when there was none.
  virtual Status reset(std::string_view user, std::string_view device_id,
                       std::string_view collection) = 0;
  // Forgets every chain of the device (FolderSync key 0, re-provisioning).
  virtual Status resetAll(std::string_view user, std::string_view device_id) = 0;

  // --- request caches -------------------------------------------------------------

  // Replaces the device's cached Ping. Errc::not_found when the device is unknown.
  virtual Status saveLastPing(std::string_view user, std::string_view device_id,
                              const PingCache& ping) = 0;
  virtual Result<std::optional<PingCache>> lastPing(std::string_view user,
                                                    std::string_view device_id) = 0;
  // Replaces the device's cached Sync request (MS-ASCMD 2.2.1.21: an empty or
  // partial Sync reuses the collections and options of the one before); the
  // bytes are the server's own encoding.
  virtual Status saveLastSync(std::string_view user, std::string_view device_id,
                              std::string_view blob) = 0;
  virtual Result<std::optional<std::string>> lastSync(std::string_view user,
                                                      std::string_view device_id) = 0;
};

}  // namespace rampart::store
