// The SQLite backend of CaStore (store/ca_store.h), kept in the server's
// database file with its own tables (prefixed `ca_`) and its own migration
// component "ca".
//
// One connection behind a mutex: issuance and revocation are a few rows at a
// time, so a writer thread would cost more than it saves. Every write is one
// BEGIN IMMEDIATE transaction, committed (WAL, synchronous=FULL, see
// database.h) before the call returns: an answered issuance or revocation
// survives a kill -9 right after.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "store/ca_store.h"
#include "store/sqlite/database.h"

namespace rampart::store::sqlite {

class SqliteCaStore final : public CaStore {
 public:
  // Opens (creating if needed) the CA tables in the SQLite file at `path` and
  // applies the "ca" migrations. Errc::storage_error when the file cannot be
  // opened or migrated.
  static Result<std::shared_ptr<SqliteCaStore>> open(const std::string& path);

  Status putTemplate(std::string_view name, std::string_view toml) override;
  Result<std::optional<std::string>> getTemplate(std::string_view name) override;
  Result<std::vector<std::pair<std::string, std::string>>> listTemplates() override;
  Status removeTemplate(std::string_view name) override;

  Result<std::int64_t> addRequest(const CertRecord& record) override;
  Result<std::optional<CertRecord>> findByCsr(std::string_view user, std::string_view template_name,
                                              std::string_view csr_sha256) override;
  Result<std::optional<CertRecord>> findById(std::int64_t id) override;
  Result<std::optional<CertRecord>> findBySerial(std::string_view serial) override;
  Status decide(std::int64_t id, bool approve, std::string_view by) override;
  Status markIssued(std::int64_t id, std::string_view serial, std::string_view cert_der,
                    std::string_view subject, std::int64_t issued_at, std::int64_t not_before,
                    std::int64_t not_after) override;
  Result<std::int64_t> addIssued(const CertRecord& record) override;
  Status revoke(std::string_view serial, int reason, std::int64_t at, std::string_view by) override;
  Result<std::vector<CertRecord>> list(const CertFilter& filter) override;
  Result<std::vector<RevokedEntry>> revokedSince(std::int64_t now) override;
  Result<std::int64_t> revocationGeneration() override;
  Result<std::int64_t> nextCrlNumber() override;

 private:
  explicit SqliteCaStore(Database db) : db_(std::move(db)) {}

  Result<Query> query(std::string_view sql);
  Result<std::optional<CertRecord>> readOne(std::string_view where_sql,
                                            const std::function<void(Statement&)>& bind);
  Result<std::int64_t> readCounter(std::string_view name);

  std::mutex mutex_;
  Database db_;
  StatementCache statements_;  // after db_: finalized before the connection closes
};

}  // namespace rampart::store::sqlite
