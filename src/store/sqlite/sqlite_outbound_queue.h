// The outbound queue on SQLite: its own tables ("outbound" migrations) in the
// server's database file, on its own connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/outbound_queue.h"
#include "store/sqlite/database.h"

namespace rampart::store::sqlite {

class SqliteOutboundQueue final : public OutboundQueue {
 public:
  // Opens (creating if needed) the database at `path` and applies migrations.
  static Result<std::unique_ptr<SqliteOutboundQueue>> open(const std::string& path);

  Result<QueueId> enqueue(std::string_view sender, const std::vector<std::string>& recipients,
                          std::string_view bytes, TimePoint now) override;
  Result<std::vector<QueueEntry>> due(TimePoint now, std::size_t limit) override;
  Result<std::string> messageBytes(QueueId id) override;
  Status recordAttempt(QueueId id, const std::vector<RecipientOutcome>& outcomes,
                       TimePoint next_attempt) override;
  Result<std::optional<TimePoint>> nextDue() override;
  Result<std::vector<QueueEntry>> list() override;
  Status remove(QueueId id) override;

 private:
  explicit SqliteOutboundQueue(Database db) : db_(std::move(db)) {}
  Result<std::vector<QueueEntry>> select(std::string_view where_and_order, std::int64_t now_ms,
                                         std::int64_t limit);

  std::mutex mutex_;  // one connection, used by one thread at a time
  Database db_;
};

}  // namespace rampart::store::sqlite
