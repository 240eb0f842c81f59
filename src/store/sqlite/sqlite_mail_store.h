// The SQLite (WAL) backend of MailStore: the embedded default.
//
// One writer thread owns the only write connection. Every write (deliveries,
// flag changes, moves, folder edits) is queued to it; it takes everything that
// is pending, applies each request inside its own SAVEPOINT of one
// BEGIN IMMEDIATE transaction, commits once (synchronous=FULL: one WAL fsync
// for the whole batch), then fires the change feed and the callbacks. Under
// load, deliveries that arrive while a commit is syncing ride the next one
// together: group commit. Reads use a pool of read connections (WAL readers
// never wait for the writer).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/error.h"
#include "store/mail_store.h"

namespace rampart::store::sqlite {

struct SqliteStoreOptions {
  // Most requests one transaction takes; bounds the latency of a big batch.
  std::size_t max_batch = 512;
  // Idle read connections kept open for reuse.
  std::size_t max_idle_readers = 8;
  int busy_timeout_ms = 10'000;
};

// Opens (creating if needed) the store in the SQLite file at `path` and
// applies the "mailstore" migrations. Errc::storage_error when the file cannot
// be opened or migrated.
Result<std::unique_ptr<MailStore>> openSqliteMailStore(const std::string& path,
                                                       const SqliteStoreOptions& options = {});

}  // namespace rampart::store::sqlite
