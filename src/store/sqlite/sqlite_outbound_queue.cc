#include "store/sqlite/sqlite_outbound_queue.h"

#include <algorithm>

namespace rampart::store::sqlite {
namespace {

// Times are stored as Unix milliseconds: retry tests run with second-scale
// backoff, and whole seconds would round a 1 s retry to anything in [0, 2) s.
std::int64_t toMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint fromMs(std::int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

const std::vector<Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE outbound_messages (
        id           INTEGER PRIMARY KEY,
        sender       TEXT    NOT NULL,
        bytes        BLOB    NOT NULL,
        size         INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,   -- Unix ms
        next_attempt INTEGER NOT NULL,   -- Unix ms
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT    NOT NULL DEFAULT ''
      );
      CREATE INDEX outbound_messages_due ON outbound_messages(next_attempt);
      CREATE TABLE outbound_recipients (
        message    INTEGER NOT NULL REFERENCES outbound_messages(id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,
        recipient  TEXT    NOT NULL,
        PRIMARY KEY (message, recipient)
      );
    )sql"},
};

}  // namespace

Result<std::unique_ptr<SqliteOutboundQueue>> SqliteOutboundQueue::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  if (auto st = db->migrate("outbound", kMigrations); !st) return fail(st.error());
  return std::unique_ptr<SqliteOutboundQueue>(new SqliteOutboundQueue(std::move(*db)));
}

Result<QueueId> SqliteOutboundQueue::enqueue(std::string_view sender,
                                             const std::vector<std::string>& recipients,
                                             std::string_view bytes, TimePoint now) {
  if (recipients.empty()) return fail(Errc::invalid_argument, "no recipients");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Result<QueueId> {
    auto msg = db_.prepare(
        "INSERT INTO outbound_messages(sender, bytes, size, created_at, next_attempt) "
        "VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!msg) return fail(msg.error());
    msg->bind(1, sender).bindBlob(2, bytes).bind(3, static_cast<std::int64_t>(bytes.size()));
    msg->bind(4, toMs(now));
    if (auto st = msg->run(); !st) return fail(st.error());
    QueueId id = db_.lastInsertId();
    auto rcpt = db_.prepare(
        "INSERT OR IGNORE INTO outbound_recipients(message, position, recipient) "
        "VALUES (?1, ?2, ?3)");
    if (!rcpt) return fail(rcpt.error());
    std::int64_t position = 0;
    for (const auto& r : recipients) {
      rcpt->reset();
      rcpt->bind(1, id).bind(2, position++).bind(3, std::string_view(r));
      if (auto st = rcpt->run(); !st) return fail(st.error());
    }
    return id;
  });
}

Result<std::vector<QueueEntry>> SqliteOutboundQueue::select(std::string_view where_and_order,
                                                            std::int64_t now_ms,
                                                            std::int64_t limit) {
  std::string sql =
      "SELECT id, sender, size, created_at, next_attempt, attempts, last_error "
      "FROM outbound_messages ";
  sql += where_and_order;
  auto stmt = db_.prepare(sql);
  if (!stmt) return fail(stmt.error());
  if (sql.find("?1") != std::string::npos) stmt->bind(1, now_ms);
  if (sql.find("?2") != std::string::npos) stmt->bind(2, limit);
  std::vector<QueueEntry> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    QueueEntry e;
    e.id = stmt->columnInt(0);
    e.sender = stmt->columnText(1);
    e.size = static_cast<std::uint64_t>(stmt->columnInt(2));
    e.created_at = fromMs(stmt->columnInt(3));
    e.next_attempt = fromMs(stmt->columnInt(4));
    e.attempts = static_cast<int>(stmt->columnInt(5));
    e.last_error = stmt->columnText(6);
    out.push_back(std::move(e));
  }
  auto rcpt = db_.prepare(
      "SELECT recipient FROM outbound_recipients WHERE message = ?1 ORDER BY position");
  if (!rcpt) return fail(rcpt.error());
  for (auto& e : out) {
    rcpt->reset();
    rcpt->bind(1, e.id);
    while (true) {
      auto row = rcpt->step();
      if (!row) return fail(row.error());
      if (!*row) break;
      e.recipients.push_back(rcpt->columnText(0));
    }
  }
  return out;
}

Result<std::vector<QueueEntry>> SqliteOutboundQueue::due(TimePoint now, std::size_t limit) {
  std::lock_guard lock(mutex_);
  return select("WHERE next_attempt <= ?1 ORDER BY next_attempt, id LIMIT ?2", toMs(now),
                static_cast<std::int64_t>(std::min<std::size_t>(limit, 1u << 30)));
}

Result<std::vector<QueueEntry>> SqliteOutboundQueue::list() {
  std::lock_guard lock(mutex_);
  return select("ORDER BY id", 0, 0);
}

Result<std::string> SqliteOutboundQueue::messageBytes(QueueId id) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT bytes FROM outbound_messages WHERE id = ?1");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "queue entry " + std::to_string(id));
  return std::string(stmt->columnBlob(0));
}

Status SqliteOutboundQueue::recordAttempt(QueueId id,
                                          const std::vector<RecipientOutcome>& outcomes,
                                          TimePoint next_attempt) {
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto exists = db_.prepare("SELECT 1 FROM outbound_messages WHERE id = ?1");
    if (!exists) return fail(exists.error());
    exists->bind(1, id);
    auto row = exists->step();
    if (!row) return fail(row.error());
    if (!*row) return fail(Errc::not_found, "queue entry " + std::to_string(id));

    auto del = db_.prepare("DELETE FROM outbound_recipients WHERE message = ?1 AND recipient = ?2");
    if (!del) return fail(del.error());
    std::string last_error;
    for (const auto& o : outcomes) {
      if (o.kind == RecipientOutcome::Kind::temporary) {
        if (last_error.empty()) last_error = o.error;
        continue;
      }
      del->reset();
      del->bind(1, id).bind(2, std::string_view(o.recipient));
      if (auto st = del->run(); !st) return fail(st.error());
    }
    auto left = db_.prepare("SELECT count(*) FROM outbound_recipients WHERE message = ?1");
    if (!left) return fail(left.error());
    left->bind(1, id);
    if (auto r = left->step(); !r) return fail(r.error());
    if (left->columnInt(0) == 0) {
      auto drop = db_.prepare("DELETE FROM outbound_messages WHERE id = ?1");
      if (!drop) return fail(drop.error());
      drop->bind(1, id);
      return drop->run();
    }
    auto upd = db_.prepare(
        "UPDATE outbound_messages SET attempts = attempts + 1, next_attempt = ?2, "
        "last_error = CASE WHEN ?3 = '' THEN last_error ELSE ?3 END WHERE id = ?1");
    if (!upd) return fail(upd.error());
    upd->bind(1, id).bind(2, toMs(next_attempt)).bind(3, std::string_view(last_error));
    return upd->run();
  });
}

Result<std::optional<TimePoint>> SqliteOutboundQueue::nextDue() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("SELECT min(next_attempt) FROM outbound_messages");
  if (!stmt) return fail(stmt.error());
  auto row = stmt->step();
  if (!row) return fail(row.error());
  if (!*row || stmt->columnIsNull(0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(fromMs(stmt->columnInt(0)));
}

Status SqliteOutboundQueue::remove(QueueId id) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare("DELETE FROM outbound_messages WHERE id = ?1");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, id);
  if (auto st = stmt->run(); !st) return fail(st.error());
  if (db_.changes() == 0) return fail(Errc::not_found, "queue entry " + std::to_string(id));
  return {};
}

}  // namespace rampart::store::sqlite
