// Out of Office replies (RFC 3834 "Recommendations for Automatic Responses to
// Electronic Mail"): after a message is delivered locally, each recipient
// whose Out of Office (EAS Settings Oof, store::OofSettings) is on answers
// its sender once per period with the reply the user wrote for that sender's
// audience.
//
// Flow: LocalDelivery calls the hook (AutoReplier::hook) on the store thread
// after the durable commit; the hook only queues the message. A worker
// thread of the AutoReplier then decides per user (process()), claims the
// (user, sender) pair in the store (MailStore::claimAutoReply, durable before
// anything is sent) and hands the reply to `Send`, which in the server
// submits it through smtp::Outbound with an empty envelope sender
// (sendThroughOutbound). Nothing here can delay or fail the delivery that
// triggered it; failures are logged.
//
// Rules (RFC 3834 section 2 unless said; "no reply" unless all pass):
// - the envelope sender is not null (never reply to a null address), is at
//   most 254 bytes, and is not a daemon or list address (MAILER-DAEMON,
//   LISTSERV, majordomo, owner-*, *-request, *-owner: common practice, as
//   vacation(1) does);
// - Auto-Submitted is absent or "no" (2, and 5 for the field); no
//   Precedence bulk, list or junk; no List-* field (RFC 2369, RFC 2919);
//   not a multipart/report (a DSN or MDN); no X-Auto-Response-Suppress
//   naming OOF or All (Microsoft's equivalent of the same wish);
// - the user's Out of Office is on: global, or time_based with
//   start <= now < end;
// - the sender is not one of the user's own addresses;
// - one of the user's addresses appears in To, Cc, Bcc, Resent-To,
//   Resent-Cc or Resent-Bcc: absence notices "SHOULD NOT be issued unless a
//   valid address for the recipient is explicitly included in a recipient
//   field", so a copy that came through a list or a Bcc is not answered;
// - the audience's reply is enabled: internal when the sender's domain is
//   one of ours (any domain when local_domains is empty), else
//   external_known when the user has mailed the sender (an address in the
//   To/Cc of the newest `max_sent_items_scanned` items of Sent Items), else
//   external_unknown;
// - no reply from this user to this sender within `period` (3.1.1). We keep
//   7 days, the period RFC 3834 suggests. The claim is recorded durably
//   before sending: a send that then fails is logged, not retried, which
//   errs toward silence rather than repeated replies.
//
// The reply: From the user's primary address, To the envelope sender (the
// one address the delivery vouches for; Reply-To is not used), Subject
// "Automatic reply: <original>", In-Reply-To and References from the
// original (RFC 5322 3.6.4), Auto-Submitted: auto-replied (RFC 3834 5),
// and the user's text or HTML body in UTF-8, base64-encoded so any line
// length is safe. It is submitted with MAIL FROM:<> (RFC 3834 3.3), so
// nothing answers it and a failure cannot bounce back to the user.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "directory/directory.h"
#include "net/asio.h"
#include "server/delivery.h"
#include "store/mail_store.h"

namespace rampart::server {

namespace smtp {
class Outbound;
}

struct OriginalHeader;  // the fields of the delivered message that matter (oof_replier.cc)

struct AutoReplyOptions {
  // At most one reply per (user, sender) per period (RFC 3834 3.1.1).
  std::chrono::seconds period{std::chrono::hours(24 * 7)};
  // Deliveries waiting for the worker; past this, new ones get no reply
  // (logged), so a flood cannot grow memory without bound.
  std::size_t max_pending = 1000;
  // Sent Items looked at to tell external_known from external_unknown.
  std::size_t max_sent_items_scanned = 500;
  // Header bytes of the original that are read.
  std::size_t max_header_bytes = 64 * 1024;
};

// Why a user did or did not answer a delivered message.
enum class AutoReplyOutcome {
  sent,               // handed to Send
  null_sender,        // empty envelope sender (a bounce) or an unusable one
  daemon_sender,      // MAILER-DAEMON, owner-*, *-request ...
  auto_submitted,     // Auto-Submitted other than "no"
  bulk,               // Precedence bulk/list/junk
  mailing_list,       // a List-* field
  report,             // multipart/report (DSN, MDN)
  suppressed,         // X-Auto-Response-Suppress: OOF or All
  oof_off,            // disabled, or time_based and now outside [start, end)
  own_address,        // the sender is the user
  not_addressed,      // the user is in none of To/Cc/Bcc/Resent-*
  audience_disabled,  // the reply for the sender's audience is off
  already_replied,    // answered this sender within the period
  error,              // the store or directory failed (logged)
};

std::string_view toString(AutoReplyOutcome outcome);

// Which reply a sender gets.
enum class Audience { internal, external_known, external_unknown };

// Everything the reply message is built from; pure input for buildAutoReply.
struct AutoReplyMessage {
  std::string from_address;       // the user's primary address
  std::string from_display_name;  // may be empty or non-ASCII
  std::string to;                 // the envelope sender of the original
  std::string original_subject;   // unfolded, as in the header (may hold encoded words)
  std::string original_message_id;  // "<id@host>", empty when absent or unusable
  std::string original_references;  // the References field, unfolded
  std::string body;
  bool html = false;
  std::chrono::system_clock::time_point now;
  std::string unique;  // random token for the Message-ID
};

// The complete reply, CRLF line ends, to submit with an empty envelope
// sender (RFC 3834 3.3).
std::string buildAutoReply(const AutoReplyMessage& m);

class AutoReplier {
 public:
  // Hands a reply over to be sent to `recipient` with an empty envelope
  // sender. Called on the AutoReplier's worker; must not block for long.
  using Send = std::function<void(const std::string& recipient, std::shared_ptr<const std::string> message)>;

  // `local_domains` (as LocalDelivery's): senders there are internal.
  AutoReplier(std::shared_ptr<store::MailStore> store, std::shared_ptr<directory::Directory> directory,
              std::vector<std::string> local_domains, Send send, Clock& clock = systemClock(),
              Random& random = systemRandom(), AutoReplyOptions options = {});
  // Drops what is still queued and waits for the message in progress.
  ~AutoReplier();
  AutoReplier(const AutoReplier&) = delete;
  AutoReplier& operator=(const AutoReplier&) = delete;

  // Queues a delivered message for the worker; never blocks on I/O.
  void enqueue(const DeliveredMessage& delivered);

  // The LocalDelivery::onDelivered hook for `replier`: queues, and owns it.
  static LocalDelivery::DeliveredHook hook(std::shared_ptr<AutoReplier> replier);

  // Decides for each user of `delivered` and sends the replies due, in the
  // calling thread (the worker runs this; tests call it directly). Returns
  // one outcome per user, in `delivered.users` order.
  std::vector<AutoReplyOutcome> process(const DeliveredMessage& delivered);

  // Waits until the queue is empty and the worker idle (tests, shutdown).
  void drain();

 private:
  AutoReplyOutcome processUser(const std::string& user, const DeliveredMessage& delivered,
                               const OriginalHeader& header, std::int64_t now);
  Result<Audience> audienceOf(store::MailboxId mailbox, const std::string& sender);
  void run();

  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<directory::Directory> directory_;
  std::vector<std::string> local_domains_;
  Send send_;
  Clock& clock_;
  Random& random_;
  AutoReplyOptions options_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<DeliveredMessage> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts once everything it uses exists
};

// A Send that submits through `outbound` on `io` (a coroutine spawned
// there), with the null envelope sender, and logs the outcome. `outbound`
// must outlive the io_context's work.
AutoReplier::Send sendThroughOutbound(net::asio::any_io_executor io, smtp::Outbound& outbound);

}  // namespace rampart::server
