// A thin RAII layer over one SQLite connection, shared by every SQLite-backed
// component (mail store, outbound queue, built-in directory).
//
// Connections open in WAL mode with synchronous=FULL, so a committed
// transaction has reached the disk, and foreign keys on. A connection is not
// thread-safe: each thread (or the store's writer) owns its own.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

namespace rampart::store::sqlite {

class Database;

// A prepared statement; reset and cleared for reuse by reset().
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  // Binds by 1-based index. Text and blobs are copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bindBlob(int index, std::string_view bytes);
  Statement& bindNull(int index);
  Statement& bind(int index, const std::optional<std::int64_t>& value);

  // Advances: true with a row, false when done, an error otherwise.
  Result<bool> step();
  // Runs to completion (for statements that return no rows).
  Status run();

  std::int64_t columnInt(int col) const;
  std::string columnText(int col) const;
  std::string_view columnBlob(int col) const;  // valid until the next step()
  bool columnIsNull(int col) const;

  void reset();
  sqlite3_stmt* get() const { return stmt_; }

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// A prepared statement in use, for statements kept in a per-connection cache:
// resets it when done so that it never holds a read snapshot open (a stepped,
// un-reset statement pins the WAL).
class Query {
 public:
  explicit Query(Statement& s) : s_(&s) {}
  Query(Query&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Query& operator=(Query&&) = delete;
  ~Query() {
    if (s_ != nullptr) s_->reset();
  }
  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
};

// A connection's prepared statements by SQL text, each prepared on first use.
// Declare it after the Database it serves, so that the statements are
// finalized before the connection closes. Not thread-safe (nor is the
// connection): callers hold the lock that guards the Database.
class StatementCache {
 public:
  Result<Query> query(Database& db, std::string_view sql);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Statement, Hash, std::equal_to<>> statements_;
};

// A table of text documents by key, as the CA's certificate templates and
// the rights server's policy templates are kept:
//   CREATE TABLE <table>(<key> TEXT PRIMARY KEY, toml TEXT NOT NULL)
// The key is used as given: callers normalise it and hold the connection's
// lock.
struct DocumentTable {
  std::string_view table;  // "ca_templates"
  std::string_view key;    // "name"
};
Status putDocument(Database& db, StatementCache& cache, const DocumentTable& t,
                   std::string_view key, std::string_view text);
Result<std::optional<std::string>> getDocument(Database& db, StatementCache& cache,
                                               const DocumentTable& t, std::string_view key);
// Every (key, text), by key.
Result<std::vector<std::pair<std::string, std::string>>> listDocuments(
    Database& db, StatementCache& cache, const DocumentTable& t);
// False when there was no such document.
Result<bool> removeDocument(Database& db, StatementCache& cache, const DocumentTable& t,
                            std::string_view key);

// One ordered schema step of a component.
struct Migration {
  int version;          // 1, 2, 3... within the component
  std::string_view sql; // may hold several statements
};

struct OpenOptions {
  bool read_only = false;
  int busy_timeout_ms = 10'000;
};

class Database {
 public:
  static Result<Database> open(const std::string& path, const OpenOptions& options = {});

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);

  // Applies the component's migrations newer than its recorded version, each in
  // its own transaction, recording versions in the schema_versions table.
  Status migrate(std::string_view component, const std::vector<Migration>& migrations);

  Status begin();      // BEGIN IMMEDIATE: takes the write lock up front
  Status commit();
  void rollback();     // best effort; used on error paths

  std::int64_t lastInsertId() const;
  int changes() const;
  sqlite3* handle() const { return db_; }

  // An Error for the connection's current SQLite error, prefixed with `what`.
  Error error(std::string_view what) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Runs `body` inside BEGIN IMMEDIATE/COMMIT, rolling back if it fails.
template <class F>
auto transaction(Database& db, F&& body) -> decltype(body()) {
  if (auto st = db.begin(); !st) return fail(st.error());
  auto result = body();
  if (!result) {
    db.rollback();
    return result;
  }
  if (auto st = db.commit(); !st) {
    db.rollback();
    return fail(st.error());
  }
  return result;
}

}  // namespace rampart::store::sqlite
