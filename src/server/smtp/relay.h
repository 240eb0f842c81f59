// The relay worker: a coroutine on the server's io_context that takes due
// entries from the outbound queue and delivers them — local recipients through
// LocalRecipients, the rest over SMTP to the configured relay — then records
// each recipient's outcome. Temporary failures are retried with exponential
// backoff until max_age; permanent failures and expiry produce a bounce
// (RFC 3464) to the sender, queued like any other message. A failed bounce
// (empty sender) is dropped and logged, never bounced (RFC 5321 4.5.5).
//
// Scheduling decisions use the injected Clock; the worker wakes on wake()
// (in-process enqueue) and polls the queue's nextDue() every poll_interval so
// entries added by another process are picked up.
#pragma once

#include <atomic>
#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "core/clock.h"
#include "net/asio.h"
#include "server/smtp/dsn.h"
#include "server/smtp/local_recipients.h"
#include "server/smtp/relay_config.h"
#include "server/smtp/smtp_client.h"
#include "store/outbound_queue.h"

namespace rampart::server::smtp {

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  // `local` may be null (then every recipient goes to the relay). `tls` may be
  // null when config.tls is none. The queue, clock, random and local
  // recipients must outlive the worker.
  static std::shared_ptr<Relay> create(net::asio::any_io_executor executor,
                                       store::OutboundQueue& queue, RelayConfig config,
                                       Clock& clock, Random& random, LocalRecipients* local,
                                       std::shared_ptr<boost::asio::ssl::context> tls);

  void start();  // spawns the worker loop on the executor
  void stop();   // ends the loop after the current entry; thread-safe
  void wake();   // look at the queue now; thread-safe

  // One pass: every entry due now, in batches. Returns how many entries were
  // attempted. Exposed for tests, which drive time with a ManualClock.
  net::Task<std::size_t> runOnce();

  std::size_t attemptsMade() const { return attempts_.load(); }

 private:
  Relay(net::asio::any_io_executor executor, store::OutboundQueue& queue, RelayConfig config,
        Clock& clock, Random& random, LocalRecipients* local,
        std::shared_ptr<boost::asio::ssl::context> tls);
  net::Task<void> loop();
  net::Task<void> attempt(const store::QueueEntry& entry);
  Status bounce(const store::QueueEntry& entry, std::string_view message,
                const std::vector<FailedRecipient>& failed);

  // A strand: the loop, wake() and stop() touch timer_ from any I/O thread.
  net::asio::any_io_executor executor_;
  store::OutboundQueue& queue_;
  RelayConfig config_;
  Clock& clock_;
  Random& random_;
  LocalRecipients* local_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  net::asio::steady_timer timer_;
  SessionCanceller canceller_;  // ends the SMTP session under way on stop()
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> attempts_{0};
};

}  // namespace rampart::server::smtp
