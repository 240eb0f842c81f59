// Submission of outgoing mail (SendMail, bounces, `rampart admin mail send`):
// recipients that are local are delivered directly; the rest are queued durably
// for the relay worker, which is woken at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "net/asio.h"
#include "server/smtp/local_recipients.h"
#include "store/outbound_queue.h"

namespace rampart::server::smtp {

struct SubmitResult {
  std::vector<std::string> delivered_locally;
  std::vector<std::string> queued;       // for the relay
  std::optional<store::QueueId> queue_id;
};

// Awaits LocalRecipients::deliverLocal, resuming on the caller's executor.
net::Task<Status> deliverLocally(LocalRecipients& local, std::string sender,
                                 std::vector<std::string> recipients,
                                 std::shared_ptr<const std::string> bytes);

class Outbound {
 public:
  // `relay_enabled`: whether a relay is configured; without one, non-local
  // recipients are refused. `wake_relay` is called after each enqueue.
  Outbound(store::OutboundQueue& queue, LocalRecipients& local, Clock& clock,
           bool relay_enabled, std::function<void()> wake_relay);

  // Delivers to the local recipients, then queues the others. Success means
  // every recipient was delivered or durably queued. Errors: invalid_argument
  // without recipients; permission_denied for non-local recipients when no
  // relay is configured (nothing is delivered then); the local delivery's or
  // the queue's error. A failure after local delivery succeeded (the enqueue)
  // means a retry delivers the local copies twice, never that mail is lost.
  net::Task<Result<SubmitResult>> submit(std::string sender, std::vector<std::string> recipients,
                                         std::shared_ptr<const std::string> bytes);

 private:
  store::OutboundQueue& queue_;
  LocalRecipients& local_;
  Clock& clock_;
  bool relay_enabled_;
  std::function<void()> wake_relay_;
};

}  // namespace rampart::server::smtp
