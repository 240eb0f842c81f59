// The durable outbound queue: messages waiting to leave through the SMTP relay.
//
// An entry is one message (its bytes stored once), its envelope sender and the
// recipients still pending. The relay worker asks for due() entries, tries
// them, and reports each recipient's outcome through recordAttempt(), which
// drops finished recipients and the entry itself when none are left.
//
// Durability: enqueue() and recordAttempt() return success only after the
// change is committed and synced, so an accepted message survives a crash and
// a delivered recipient is not tried again (RFC 5321 6.1: once accepted, the
// message is our responsibility).
//
// Thread-safety: every method may be called from any thread; methods block on
// storage. Several processes (the server and `rampart admin mail send`) may
// share one queue database.
//
// Errors: Errc::not_found for an unknown id, Errc::invalid_argument for an
// enqueue without recipients, Errc::storage_error when the backend fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::store {

using QueueId = std::int64_t;
using TimePoint = std::chrono::system_clock::time_point;

struct QueueEntry {
  QueueId id = 0;
  std::string sender;                   // envelope sender; empty for a bounce (RFC 5321 4.5.5)
  std::vector<std::string> recipients;  // still pending, in enqueue order
  int attempts = 0;                     // attempts made so far
  TimePoint created_at;
  TimePoint next_attempt;
  std::uint64_t size = 0;               // bytes of the message
  std::string last_error;               // the last temporary failure, for admins and expiry bounces
};

struct RecipientOutcome {
  enum class Kind { delivered, temporary, permanent };
  std::string recipient;
  Kind kind = Kind::temporary;
  std::string error;  // the SMTP reply or connection error; empty when delivered
};

class OutboundQueue {
 public:
  virtual ~OutboundQueue() = default;

  // Stores the message for `recipients` (duplicates folded), due at once.
  virtual Result<QueueId> enqueue(std::string_view sender,
                                  const std::vector<std::string>& recipients,
                                  std::string_view bytes, TimePoint now) = 0;

  // Entries whose next attempt is at or before `now`, oldest due first, at most
  // `limit`; bytes are not loaded (see messageBytes()).
  virtual Result<std::vector<QueueEntry>> due(TimePoint now, std::size_t limit) = 0;

  virtual Result<std::string> messageBytes(QueueId id) = 0;

  // Records one attempt: delivered and permanently failed recipients leave the
  // entry; temporarily failed ones stay, with `next_attempt` as the entry's new
  // due time. Outcomes for recipients not pending are ignored. Removes the
  // entry when no recipient is left. Increments the attempt count.
  virtual Status recordAttempt(QueueId id, const std::vector<RecipientOutcome>& outcomes,
                               TimePoint next_attempt) = 0;

  // The earliest next attempt of any entry, or none when the queue is empty.
  // Cheap (an index lookup): the relay worker polls it.
  virtual Result<std::optional<TimePoint>> nextDue() = 0;

  // Every entry, oldest first, for `rampart admin mail queue`.
  virtual Result<std::vector<QueueEntry>> list() = 0;

  // Removes an entry whatever its state (an admin's delete).
  virtual Status remove(QueueId id) = 0;
};

}  // namespace rampart::store
