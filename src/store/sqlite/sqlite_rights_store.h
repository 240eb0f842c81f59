// The SQLite backend of RightsStore (store/rights_store.h), kept in the
// server's database file with its own tables (prefixed `rights_`) and its own
// migration component "rights".
//
// One connection behind a mutex, as SqliteCaStore. Every write is a BEGIN
// IMMEDIATE transaction committed (WAL, synchronous=FULL, see database.h)
// before the call returns, so a logged request survives a kill -9 right
// after the answer. log() is called once per use-license request, from
// several pool threads at once: callers that arrive while a commit is under
// way are committed together in the next one (group commit, one fsync for
// the lot), each still returning only once its own row is durable.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/rights_store.h"
#include "store/sqlite/database.h"

namespace rampart::store::sqlite {

class SqliteRightsStore final : public RightsStore {
 public:
  // Opens (creating if needed) the rights tables in the SQLite file at `path`
  // and applies the "rights" migrations. Errc::storage_error when the file
  // cannot be opened or migrated.
  static Result<std::shared_ptr<SqliteRightsStore>> open(const std::string& path);

  // Template ids are GUIDs (8-4-4-4-12 hex digits), kept upper case: any case
  // is accepted and finds the same template; anything else is
  // invalid_argument (putTemplate) or simply absent (get/remove).
  Status putTemplate(std::string_view id, std::string_view toml) override;
  Result<std::optional<std::string>> getTemplate(std::string_view id) override;
  Result<std::vector<std::pair<std::string, std::string>>> listTemplates() override;
  Status removeTemplate(std::string_view id) override;

  // revokeUser: already_exists when the user is revoked already;
  // invalid_argument for an empty name.
  Status revokeUser(std::string_view user, std::int64_t at, std::string_view by) override;
  Status restoreUser(std::string_view user) override;
  Result<bool> userRevoked(std::string_view user) override;
  Result<std::vector<std::string>> revokedUsers() override;

  // The entry's id is ignored; the new row's id is returned. `limit` is capped
  // at 100,000.
  Result<std::int64_t> log(const RightsLogEntry& entry) override;
  Result<std::vector<RightsLogEntry>> logEntries(std::string_view license_id,
                                                 std::size_t limit) override;

 private:
  explicit SqliteRightsStore(Database db) : db_(std::move(db)) {}

  Result<Query> query(std::string_view sql);

  // log(): entries waiting for the next group commit.
  struct PendingLog {
    const RightsLogEntry* entry;
    Result<std::int64_t> result;
    bool done;
  };
  void writeBatch(const std::vector<PendingLog*>& batch);
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<PendingLog*> queue_;
  bool writing_ = false;

  std::mutex mutex_;
  Database db_;
  StatementCache statements_;  // after db_: finalized before the connection closes
};

// A template id in its stored form (upper case), or nullopt when `id` is not
// a GUID in 8-4-4-4-12 form.
std::optional<std::string> normalTemplateId(std::string_view id);

}  // namespace rampart::store::sqlite
