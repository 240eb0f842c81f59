#include "store/sqlite/sqlite_device_store.h"

#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "store/sqlite/database.h"

namespace rampart::store::sqlite {
namespace {

// Sync states and caches hang off their device (ON DELETE CASCADE), so
// removeDevice() forgets everything in one statement. The previous sync state
// sits in the same row as the current one: a commit moves one into the other
// with a single UPDATE, so there is never a moment with two current states.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE eas_devices(
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  device_type TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  info_model TEXT,
  info_imei TEXT,
  info_friendly_name TEXT,
  info_os TEXT,
  info_os_language TEXT,
  info_phone_number TEXT,
  info_user_agent TEXT,
  info_mobile_operator TEXT,
  policy_key INTEGER NOT NULL DEFAULT 0,
  pending_policy_key INTEGER NOT NULL DEFAULT 0,
  policy_version INTEGER NOT NULL DEFAULT 0,
  access INTEGER NOT NULL DEFAULT 0,
  wipe INTEGER NOT NULL DEFAULT 0,
  wipe_account_only INTEGER NOT NULL DEFAULT 0,
  wipe_requested_at INTEGER NOT NULL DEFAULT 0,
  wipe_acknowledged_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(owner, device_id)) WITHOUT ROWID;
CREATE TABLE eas_sync_states(
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  collection TEXT NOT NULL,
  generation TEXT NOT NULL,
  counter INTEGER NOT NULL,
  sync_key TEXT NOT NULL,
  blob BLOB NOT NULL,
  prev_key TEXT,
  prev_blob BLOB,
  PRIMARY KEY(owner, device_id, collection),
  FOREIGN KEY(owner, device_id) REFERENCES eas_devices(owner, device_id) ON DELETE CASCADE);
CREATE TABLE eas_ping_cache(
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  heartbeat INTEGER NOT NULL,
  PRIMARY KEY(owner, device_id),
  FOREIGN KEY(owner, device_id) REFERENCES eas_devices(owner, device_id) ON DELETE CASCADE);
CREATE TABLE eas_ping_folders(
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  collection TEXT NOT NULL,
  class TEXT NOT NULL,
  PRIMARY KEY(owner, device_id, position),
  FOREIGN KEY(owner, device_id) REFERENCES eas_ping_cache(owner, device_id) ON DELETE CASCADE);
CREATE TABLE eas_sync_cache(
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY(owner, device_id),
  FOREIGN KEY(owner, device_id) REFERENCES eas_devices(owner, device_id) ON DELETE CASCADE);
)sql";

constexpr std::string_view kDeviceColumns =
    "owner, device_id, device_type, user_agent, first_seen, last_seen, info_model, info_imei,"
    " info_friendly_name, info_os, info_os_language, info_phone_number, info_user_agent,"
    " info_mobile_operator, policy_key, pending_policy_key, policy_version, access, wipe,"
    " wipe_account_only, wipe_requested_at, wipe_acknowledged_at";

Error notFound(std::string_view what) {
  return Error{make_error_code(Errc::not_found), std::string(what)};
}

std::optional<std::string> optText(const Statement& s, int col) {
  if (s.columnIsNull(col)) return std::nullopt;
  return s.columnText(col);
}

Statement& bindOpt(Statement& s, int index, const std::optional<std::string>& v) {
  return v ? s.bind(index, std::string_view(*v)) : s.bindNull(index);
}

Device deviceFromRow(const Statement& s) {
  Device d;
  d.user = s.columnText(0);
  d.device_id = s.columnText(1);
  d.device_type = s.columnText(2);
  d.user_agent = s.columnText(3);
  d.first_seen = s.columnInt(4);
  d.last_seen = s.columnInt(5);
  d.info.model = optText(s, 6);
  d.info.imei = optText(s, 7);
  d.info.friendly_name = optText(s, 8);
  d.info.os = optText(s, 9);
  d.info.os_language = optText(s, 10);
  d.info.phone_number = optText(s, 11);
  d.info.user_agent = optText(s, 12);
  d.info.mobile_operator = optText(s, 13);
  d.policy_key = static_cast<std::uint32_t>(s.columnInt(14));
  d.pending_policy_key = static_cast<std::uint32_t>(s.columnInt(15));
  d.policy_version = s.columnInt(16);
  d.access = static_cast<DeviceAccess>(s.columnInt(17));
  d.wipe = static_cast<WipeState>(s.columnInt(18));
  d.wipe_account_only = s.columnInt(19) != 0;
  d.wipe_requested_at = s.columnInt(20);
  d.wipe_acknowledged_at = s.columnInt(21);
  return d;
}


class SqliteDeviceStore final : public DeviceStore {
 public:
  SqliteDeviceStore(Database db, Random& random) : db_(std::move(db)), random_(random) {}

  Result<Device> upsertDevice(std::string_view user, std::string_view device_id,
                              const DeviceSeen& seen) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Result<Device> {
      auto q = query(
          "INSERT INTO eas_devices(owner, device_id, device_type, user_agent, first_seen,"
          " last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"
          " ON CONFLICT(owner, device_id) DO UPDATE SET device_type = excluded.device_type,"
          " user_agent = excluded.user_agent,"
          " last_seen = max(last_seen, excluded.last_seen)");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id).bind(3, std::string_view(seen.device_type))
          .bind(4, std::string_view(seen.user_agent)).bind(5, seen.at);
      if (auto st = (*q)->run(); !st) return fail(st.error());
      return readDevice(user, device_id);
    });
  }

  Result<Device> getDevice(std::string_view user, std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    return readDevice(user, device_id);
  }

  Result<std::vector<Device>> listDevices(std::string_view user) override {
    std::lock_guard lock(mutex_);
    static const std::string sql =
        "SELECT " + std::string(kDeviceColumns) + " FROM eas_devices WHERE owner = ?1"
        " ORDER BY device_id";
    auto q = query(sql);
    if (!q) return fail(q.error());
    (*q)->bind(1, user);
    std::vector<Device> out;
    while (true) {
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      if (!*row) break;
      out.push_back(deviceFromRow(**q));
    }
    return out;
  }

  Status setDeviceInformation(std::string_view user, std::string_view device_id,
                              const DeviceInformation& info) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query(
          "UPDATE eas_devices SET info_model = ?3, info_imei = ?4, info_friendly_name = ?5,"
          " info_os = ?6, info_os_language = ?7, info_phone_number = ?8, info_user_agent = ?9,"
          " info_mobile_operator = ?10 WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      Statement& s = **q;
      s.bind(1, user).bind(2, device_id);
      bindOpt(s, 3, info.model);
      bindOpt(s, 4, info.imei);
      bindOpt(s, 5, info.friendly_name);
      bindOpt(s, 6, info.os);
      bindOpt(s, 7, info.os_language);
      bindOpt(s, 8, info.phone_number);
      bindOpt(s, 9, info.user_agent);
      bindOpt(s, 10, info.mobile_operator);
      return runOnDevice(s);
    });
  }

  Result<std::uint32_t> beginProvision(std::string_view user,
                                       std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Result<std::uint32_t> {
      auto d = readDevice(user, device_id);
      if (!d) return fail(d.error());
      std::uint32_t key = drawPolicyKey(d->policy_key, d->pending_policy_key);
      auto q = query(
          "UPDATE eas_devices SET pending_policy_key = ?3 WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id).bind(3, std::int64_t{key});
      if (auto st = runOnDevice(**q); !st) return fail(st.error());
      return key;
    });
  }

  Result<std::uint32_t> confirmProvision(std::string_view user, std::string_view device_id,
                                         std::uint32_t temporary_key,
                                         std::int64_t policy_version) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Result<std::uint32_t> {
      auto d = readDevice(user, device_id);
      if (!d) return fail(d.error());
      if (d->pending_policy_key == 0 || d->pending_policy_key != temporary_key) {
        return fail(Errc::invalid_argument, "policy key is not the pending temporary key");
      }
      std::uint32_t key = drawPolicyKey(d->policy_key, d->pending_policy_key);
      auto q = query(
          "UPDATE eas_devices SET policy_key = ?3, pending_policy_key = 0, policy_version = ?4"
          " WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id).bind(3, std::int64_t{key}).bind(4, policy_version);
      if (auto st = runOnDevice(**q); !st) return fail(st.error());
      return key;
    });
  }

  Status setAccess(std::string_view user, std::string_view device_id,
                   DeviceAccess access) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query("UPDATE eas_devices SET access = ?3 WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id).bind(3, std::int64_t{static_cast<int>(access)});
      return runOnDevice(**q);
    });
  }

  Status requestWipe(std::string_view user, std::string_view device_id, bool account_only,
                     std::int64_t now) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query(
          "UPDATE eas_devices SET wipe = ?3, wipe_account_only = ?4, wipe_requested_at = ?5,"
          " wipe_acknowledged_at = 0 WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      WipeState state = account_only ? WipeState::pending_account_only : WipeState::pending;
      (*q)->bind(1, user).bind(2, device_id).bind(3, std::int64_t{static_cast<int>(state)})
          .bind(4, std::int64_t{account_only ? 1 : 0}).bind(5, now);
      return runOnDevice(**q);
    });
  }

  Status acknowledgeWipe(std::string_view user, std::string_view device_id,
                         std::int64_t now) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto d = readDevice(user, device_id);
      if (!d) return fail(d.error());
      if (d->wipe != WipeState::pending && d->wipe != WipeState::pending_account_only) {
        return fail(Errc::invalid_argument, "no remote wipe is pending");
      }
      auto q = query(
          "UPDATE eas_devices SET wipe = ?3, wipe_acknowledged_at = ?4"
          " WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id)
          .bind(3, std::int64_t{static_cast<int>(WipeState::acknowledged)}).bind(4, now);
      return runOnDevice(**q);
    });
  }

  Status removeDevice(std::string_view user, std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query("DELETE FROM eas_devices WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id);
      return runOnDevice(**q);
    });
  }

  Result<std::optional<SyncState>> current(std::string_view user, std::string_view device_id,
                                           std::string_view collection) override {
    std::lock_guard lock(mutex_);
    auto q = query(
        "SELECT sync_key, blob FROM eas_sync_states"
        " WHERE owner = ?1 AND device_id = ?2 AND collection = ?3");
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, device_id).bind(3, collection);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return std::optional<SyncState>();
    return std::optional<SyncState>(
        SyncState{(*q)->columnText(0), std::string((*q)->columnBlob(1))});
  }

  Result<std::string> commit(std::string_view user, std::string_view device_id,
                             std::string_view collection, std::string_view expected_key,
                             std::string_view blob) override {
    std::lock_guard lock(mutex_);
    // BEGIN IMMEDIATE takes the write lock before the check, so the check and
    // the update are one step even against another process on the same file.
    return transaction(db_, [&]() -> Result<std::string> {
      struct Head {
        std::string key, generation;
        std::int64_t counter = 0;
      };
      std::optional<Head> head;
      {
        auto q = query(
            "SELECT sync_key, generation, counter FROM eas_sync_states"
            " WHERE owner = ?1 AND device_id = ?2 AND collection = ?3");
        if (!q) return fail(q.error());
        (*q)->bind(1, user).bind(2, device_id).bind(3, collection);
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (*row) head = Head{(*q)->columnText(0), (*q)->columnText(1), (*q)->columnInt(2)};
      }
      if (!head) {
        if (expected_key != kInitialSyncKey) return fail(notFound("sync state"));
        if (auto d = deviceExists(user, device_id); !d) return fail(d.error());
        std::string generation = drawGeneration();
        std::string key = makeKey(generation, 1);
        auto ins = query(
            "INSERT INTO eas_sync_states(owner, device_id, collection, generation, counter,"
            " sync_key, blob) VALUES(?1, ?2, ?3, ?4, 1, ?5, ?6)");
        if (!ins) return fail(ins.error());
        (*ins)->bind(1, user).bind(2, device_id).bind(3, collection)
            .bind(4, std::string_view(generation)).bind(5, std::string_view(key));
        (*ins)->bindBlob(6, blob);
        if (auto st = (*ins)->run(); !st) return fail(st.error());
        return key;
      }
      if (head->key != expected_key) {
        return fail(Errc::already_exists, "sync key is not the current one");
      }
      const std::string& generation = head->generation;
      const std::int64_t counter = head->counter;
      std::string key = makeKey(generation, counter + 1);
      auto up = query(
          "UPDATE eas_sync_states SET prev_key = sync_key, prev_blob = blob, sync_key = ?4,"
          " blob = ?5, counter = counter + 1"
          " WHERE owner = ?1 AND device_id = ?2 AND collection = ?3");
      if (!up) return fail(up.error());
      (*up)->bind(1, user).bind(2, device_id).bind(3, collection)
          .bind(4, std::string_view(key));
      (*up)->bindBlob(5, blob);
      if (auto st = (*up)->run(); !st) return fail(st.error());
      return key;
    });
  }

  Result<SyncLookup> lookup(std::string_view user, std::string_view device_id,
                            std::string_view collection, std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto q = query(
        "SELECT sync_key, blob, prev_key, prev_blob FROM eas_sync_states"
        " WHERE owner = ?1 AND device_id = ?2 AND collection = ?3");
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, device_id).bind(3, collection);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return fail(notFound("sync state"));
    SyncState current{(*q)->columnText(0), std::string((*q)->columnBlob(1))};
    if (current.key == key) return SyncLookup{std::move(current), std::nullopt};
    if (!(*q)->columnIsNull(2) && (*q)->columnText(2) == key) {
      return SyncLookup{SyncState{std::string(key), std::string((*q)->columnBlob(3))},
                        std::move(current)};
    }
    return fail(notFound("sync key"));
  }

  Status reset(std::string_view user, std::string_view device_id,
               std::string_view collection) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query(
          "DELETE FROM eas_sync_states WHERE owner = ?1 AND device_id = ?2 AND collection = ?3");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id).bind(3, collection);
      return (*q)->run();
    });
  }

  Status resetAll(std::string_view user, std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      auto q = query("DELETE FROM eas_sync_states WHERE owner = ?1 AND device_id = ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id);
      return (*q)->run();
    });
  }

  Status saveLastPing(std::string_view user, std::string_view device_id,
                      const PingCache& ping) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      if (auto d = deviceExists(user, device_id); !d) return fail(d.error());
      {
        // REPLACE would delete the parent row and cascade to the folders; do it
        // explicitly so the folders are rewritten whole.
        auto del = query("DELETE FROM eas_ping_cache WHERE owner = ?1 AND device_id = ?2");
        if (!del) return fail(del.error());
        (*del)->bind(1, user).bind(2, device_id);
        if (auto st = (*del)->run(); !st) return st;
      }
      {
        auto ins = query(
            "INSERT INTO eas_ping_cache(owner, device_id, heartbeat) VALUES(?1, ?2, ?3)");
        if (!ins) return fail(ins.error());
        (*ins)->bind(1, user).bind(2, device_id).bind(3, ping.heartbeat_seconds);
        if (auto st = (*ins)->run(); !st) return st;
      }
      auto folder = query(
          "INSERT INTO eas_ping_folders(owner, device_id, position, collection, class)"
          " VALUES(?1, ?2, ?3, ?4, ?5)");
      if (!folder) return fail(folder.error());
      for (std::size_t i = 0; i < ping.folders.size(); ++i) {
        (*folder)->reset();
        (*folder)->bind(1, user).bind(2, device_id).bind(3, static_cast<std::int64_t>(i))
            .bind(4, std::string_view(ping.folders[i].first))
            .bind(5, std::string_view(ping.folders[i].second));
        if (auto st = (*folder)->run(); !st) return st;
      }
      return {};
    });
  }

  Result<std::optional<PingCache>> lastPing(std::string_view user,
                                            std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    // One read transaction, so the heartbeat and the folders are of one save
    // even if another process writes between the two queries.
    if (auto st = db_.exec("BEGIN"); !st) return fail(st.error());
    auto result = [&]() -> Result<std::optional<PingCache>> {
      PingCache ping;
      {
        auto q = query("SELECT heartbeat FROM eas_ping_cache WHERE owner = ?1 AND device_id = ?2");
        if (!q) return fail(q.error());
        (*q)->bind(1, user).bind(2, device_id);
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) return std::optional<PingCache>();
        ping.heartbeat_seconds = (*q)->columnInt(0);
      }
      auto q = query(
          "SELECT collection, class FROM eas_ping_folders WHERE owner = ?1 AND device_id = ?2"
          " ORDER BY position");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id);
      while (true) {
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) break;
        ping.folders.emplace_back((*q)->columnText(0), (*q)->columnText(1));
      }
      return std::optional<PingCache>(std::move(ping));
    }();
    db_.rollback();
    return result;
  }

  Status saveLastSync(std::string_view user, std::string_view device_id,
                      std::string_view blob) override {
    std::lock_guard lock(mutex_);
    return transaction(db_, [&]() -> Status {
      if (auto d = deviceExists(user, device_id); !d) return fail(d.error());
      auto q = query(
          "INSERT INTO eas_sync_cache(owner, device_id, blob) VALUES(?1, ?2, ?3)"
          " ON CONFLICT(owner, device_id) DO UPDATE SET blob = excluded.blob");
      if (!q) return fail(q.error());
      (*q)->bind(1, user).bind(2, device_id);
      (*q)->bindBlob(3, blob);
      return (*q)->run();
    });
  }

  Result<std::optional<std::string>> lastSync(std::string_view user,
                                              std::string_view device_id) override {
    std::lock_guard lock(mutex_);
    auto q = query("SELECT blob FROM eas_sync_cache WHERE owner = ?1 AND device_id = ?2");
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, device_id);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(std::string((*q)->columnBlob(0)));
  }

 private:
  // Callers hold mutex_.
  Result<Query> query(std::string_view sql) { return statements_.query(db_, sql); }

  Result<Device> readDevice(std::string_view user, std::string_view device_id) {
    static const std::string sql = "SELECT " + std::string(kDeviceColumns) +
                                   " FROM eas_devices WHERE owner = ?1 AND device_id = ?2";
    auto q = query(sql);
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, device_id);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return fail(notFound("device"));
    return deviceFromRow(**q);
  }

  Status deviceExists(std::string_view user, std::string_view device_id) {
    auto q = query("SELECT 1 FROM eas_devices WHERE owner = ?1 AND device_id = ?2");
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, device_id);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return fail(notFound("device"));
    return {};
  }

  // Runs an UPDATE/DELETE of one device row; Errc::not_found when it touched none.
  Status runOnDevice(Statement& s) {
    if (auto st = s.run(); !st) return st;
    if (db_.changes() == 0) return fail(notFound("device"));
    return {};
  }

  std::uint32_t draw32() {
    std::array<std::uint8_t, 4> b{};
    random_.fill(b);
    return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
           static_cast<std::uint32_t>(b[2]) << 8 | static_cast<std::uint32_t>(b[3]);
  }

  // A policy key that is non-zero (0 means "not provisioned", MS-ASPROV
  // 2.2.2.42) and differs from the device's current and pending keys, so a
  // client still sending an old key is always told to provision again.
  std::uint32_t drawPolicyKey(std::uint32_t current, std::uint32_t pending) {
    while (true) {
      std::uint32_t key = draw32();
      if (key != 0 && key != current && key != pending) return key;
    }
  }

  // A new chain's generation: random, so a key of a reset chain cannot name a
  // state of the next one (the counter alone would restart at 1).
  std::string drawGeneration() {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(draw32()));
    return buf;
  }

  static std::string makeKey(const std::string& generation, std::int64_t counter) {
    return "{" + generation + "}" + std::to_string(counter);
  }

  std::mutex mutex_;
  Database db_;
  Random& random_;
  StatementCache statements_;  // after db_: finalized before the connection closes
};

}  // namespace

Result<std::unique_ptr<DeviceStore>> openSqliteDeviceStore(const std::string& path,
                                                           Random& random) {
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  if (auto st = db->migrate("devices", {{1, kSchemaV1}}); !st) return fail(st.error());
  return std::unique_ptr<DeviceStore>(new SqliteDeviceStore(std::move(*db), random));
}

}  // namespace rampart::store::sqlite
