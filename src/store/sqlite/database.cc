#include "store/sqlite/database.h"

#include <string>
#include <utility>

namespace rampart::store::sqlite {

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bindBlob(int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bindNull(index);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e{make_error_code(rc == SQLITE_CONSTRAINT ? Errc::already_exists : Errc::storage_error),
          std::string("sqlite step: ") + sqlite3_errmsg(db_)};
  if (rc == SQLITE_BUSY) e.code = make_error_code(Errc::unavailable);
  return fail(std::move(e));
}

Status Statement::run() {
  while (true) {
    auto r = step();
    if (!r) return fail(r.error());
    if (!*r) return {};
  }
}

std::int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::columnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::string_view Statement::columnBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string_view();
}

bool Statement::columnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<Database> Database::open(const std::string& path, const OpenOptions& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (options.read_only ? SQLITE_OPEN_READONLY
                                 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db) sqlite3_close(db);
    return fail(Errc::storage_error, "open " + path + ": " + msg);
  }
  Database database(db);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 0);
  // WAL lets readers run beside the writer; FULL syncs the WAL on every commit,
  // which is what makes an acknowledged delivery survive a crash or power loss.
  std::string pragmas =
      "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;";
  if (!options.read_only) pragmas = "PRAGMA journal_mode=WAL; " + pragmas;
  if (auto st = database.exec(pragmas); !st) return fail(st.error());
  return database;
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Error Database::error(std::string_view what) const {
  int rc = sqlite3_errcode(db_);
  Errc code = rc == SQLITE_CONSTRAINT ? Errc::already_exists
              : rc == SQLITE_BUSY     ? Errc::unavailable
                                      : Errc::storage_error;
  return Error{make_error_code(code), std::string(what) + ": " + sqlite3_errmsg(db_)};
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Errc code = rc == SQLITE_CONSTRAINT ? Errc::already_exists
                : rc == SQLITE_BUSY     ? Errc::unavailable
                                        : Errc::storage_error;
    return fail(code, "sqlite exec: " + msg);
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return fail(error("prepare"));
  return Statement(db_, stmt);
}

Result<Query> StatementCache::query(Database& db, std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto st = db.prepare(sql);
    if (!st) return fail(st.error());
    it = statements_.emplace(std::string(sql), std::move(*st)).first;
  }
  return Query(it->second);
}

namespace {

// A string_view{} has no data pointer, and SQLite binds a null pointer as
// NULL, not as the empty text a NOT NULL column wants.
std::string_view text(std::string_view v) { return v.data() != nullptr ? v : std::string_view(""); }

std::string documentSql(const DocumentTable& t, std::string_view pattern) {
  // pattern: $T for the table, $K for the key column.
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '$' && i + 1 < pattern.size() && (pattern[i + 1] == 'T' || pattern[i + 1] == 'K')) {
      out += pattern[i + 1] == 'T' ? t.table : t.key;
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace

Status putDocument(Database& db, StatementCache& cache, const DocumentTable& t,
                   std::string_view key, std::string_view body) {
  return transaction(db, [&]() -> Status {
    auto q = cache.query(db, documentSql(t, "INSERT INTO $T($K, toml) VALUES(?1, ?2)"
                                            " ON CONFLICT($K) DO UPDATE SET toml = excluded.toml"));
    if (!q) return fail(q.error());
    (*q)->bind(1, text(key)).bind(2, text(body));
    return (*q)->run();
  });
}

Result<std::optional<std::string>> getDocument(Database& db, StatementCache& cache,
                                               const DocumentTable& t, std::string_view key) {
  auto q = cache.query(db, documentSql(t, "SELECT toml FROM $T WHERE $K = ?1"));
  if (!q) return fail(q.error());
  (*q)->bind(1, text(key));
  auto row = (*q)->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>((*q)->columnText(0));
}

Result<std::vector<std::pair<std::string, std::string>>> listDocuments(
    Database& db, StatementCache& cache, const DocumentTable& t) {
  auto q = cache.query(db, documentSql(t, "SELECT $K, toml FROM $T ORDER BY $K"));
  if (!q) return fail(q.error());
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.emplace_back((*q)->columnText(0), (*q)->columnText(1));
  }
  return out;
}

Result<bool> removeDocument(Database& db, StatementCache& cache, const DocumentTable& t,
                            std::string_view key) {
  return transaction(db, [&]() -> Result<bool> {
    auto q = cache.query(db, documentSql(t, "DELETE FROM $T WHERE $K = ?1"));
    if (!q) return fail(q.error());
    (*q)->bind(1, text(key));
    if (auto st = (*q)->run(); !st) return fail(st.error());
    return db.changes() != 0;
  });
}

Status Database::begin() { return exec("BEGIN IMMEDIATE"); }
Status Database::commit() { return exec("COMMIT"); }
void Database::rollback() {
  if (!sqlite3_get_autocommit(db_)) (void)exec("ROLLBACK");
}

std::int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Status Database::migrate(std::string_view component, const std::vector<Migration>& migrations) {
  if (auto st = exec("CREATE TABLE IF NOT EXISTS schema_versions ("
                     " component TEXT PRIMARY KEY, version INTEGER NOT NULL)");
      !st) {
    return st;
  }
  for (const Migration& m : migrations) {
    auto applied = transaction(*this, [&]() -> Result<bool> {
      auto q = prepare("SELECT version FROM schema_versions WHERE component = ?1");
      if (!q) return fail(q.error());
      q->bind(1, component);
      auto row = q->step();
      if (!row) return fail(row.error());
      std::int64_t current = *row ? q->columnInt(0) : 0;
      if (m.version <= current) return false;
      if (m.version != current + 1) {
        return fail(Errc::storage_error, std::string(component) + " schema version " +
                                             std::to_string(current) + " cannot step to " +
                                             std::to_string(m.version));
      }
      if (auto st = exec(m.sql); !st) return fail(st.error());
      auto up = prepare(
          "INSERT INTO schema_versions(component, version) VALUES(?1, ?2)"
          " ON CONFLICT(component) DO UPDATE SET version = excluded.version");
      if (!up) return fail(up.error());
      up->bind(1, component).bind(2, std::int64_t{m.version});
      if (auto st = up->run(); !st) return fail(st.error());
      return true;
    });
    if (!applied) {
      return fail(applied.error().code, std::string(component) + " migration " +
                                            std::to_string(m.version) + ": " +
                                            applied.error().detail);
    }
  }
  return {};
}

}  // namespace rampart::store::sqlite
