#include "server/smtp/relay.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/log.h"
#include "server/smtp/dsn.h"
#include "server/smtp/outbound.h"

namespace rampart::server::smtp {
namespace {

using store::RecipientOutcome;
using Kind = RecipientOutcome::Kind;

std::string token(Random& random) {
  std::uint8_t bytes[12];
  random.fill(bytes);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

std::shared_ptr<Relay> Relay::create(net::asio::any_io_executor executor,
                                     store::OutboundQueue& queue, RelayConfig config,
                                     Clock& clock, Random& random, LocalRecipients* local,
                                     std::shared_ptr<boost::asio::ssl::context> tls) {
  return std::shared_ptr<Relay>(
      new Relay(executor, queue, std::move(config), clock, random, local, std::move(tls)));
}

Relay::Relay(net::asio::any_io_executor executor, store::OutboundQueue& queue,
             RelayConfig config, Clock& clock, Random& random, LocalRecipients* local,
             std::shared_ptr<boost::asio::ssl::context> tls)
    : executor_(net::asio::make_strand(executor)), queue_(queue), config_(std::move(config)), clock_(clock),
      random_(random), local_(local), tls_(std::move(tls)), timer_(executor) {}

void Relay::start() {
  net::asio::co_spawn(executor_, [self = shared_from_this()] { return self->loop(); },
                      net::asio::detached);
}

void Relay::stop() {
  stopped_ = true;
  net::asio::post(executor_, [self = shared_from_this()] {
    self->timer_.cancel();
    // A stalled relay must not hold shutdown for a whole data_timeout.
    self->canceller_.cancel();
  });
}

void Relay::wake() {
  net::asio::post(executor_, [self = shared_from_this()] { self->timer_.cancel(); });
}

net::Task<void> Relay::loop() {
  auto logger = log::get("smtp");
  while (!stopped_) {
    co_await runOnce();
    if (stopped_) break;
    // Sleep until the next entry is due, but no longer than poll_interval: an
    // entry another process enqueued is only seen by looking.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(config_.poll_interval);
    auto next = queue_.nextDue();
    if (!next) {
      logger->warn("outbound queue: {}", next.error().message());
    } else if (*next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(**next - clock_.now());
      // A floor keeps a queue that cannot record progress from spinning.
      wait = std::clamp(until, std::chrono::milliseconds(20), wait);
    }
    timer_.expires_after(wait);
    boost::system::error_code ec;
    co_await timer_.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
  }
  logger->info("relay worker stopped");
}

net::Task<std::size_t> Relay::runOnce() {
  std::size_t done = 0;
  while (!stopped_) {
    auto entries = queue_.due(clock_.now(), static_cast<std::size_t>(config_.batch));
    if (!entries) {
      log::get("smtp")->error("outbound queue: {}", entries.error().message());
      break;
    }
    for (const auto& entry : *entries) {
      if (stopped_) break;
      co_await attempt(entry);
      ++done;
    }
    if (entries->size() < static_cast<std::size_t>(config_.batch)) break;
  }
  co_return done;
}

net::Task<void> Relay::attempt(const store::QueueEntry& entry) {
  auto logger = log::get("smtp");
  attempts_++;
  auto bytes = queue_.messageBytes(entry.id);
  if (!bytes) {
    logger->error("queue {}: {}", entry.id, bytes.error().message());
    if (!bytes.error().is(Errc::not_found)) {
      // Back off like any temporary failure rather than retrying at once.
      std::vector<RecipientOutcome> later;
      for (const auto& r : entry.recipients) {
        later.push_back({r, Kind::temporary, "queue: " + bytes.error().message()});
      }
      (void)queue_.recordAttempt(entry.id, later,
                                 clock_.now() + retryDelay(config_.retry, entry.attempts + 1));
    }
    co_return;
  }
  auto message = std::make_shared<const std::string>(std::move(*bytes));

  std::vector<RecipientOutcome> outcomes;
  std::vector<FailedRecipient> failed;
  std::vector<std::string> local, remote;
  std::vector<std::string> local_errors;

  // Recipients that became (or always were) local go straight to their Inbox.
  for (const auto& r : entry.recipients) {
    if (local_ == nullptr) {
      remote.push_back(r);
      continue;
    }
    auto where = local_->locate(r);
    if (!where) {
      outcomes.push_back({r, Kind::temporary, "local lookup: " + where.error().message()});
      continue;
    }
    switch (*where) {
      case LocalRecipients::Locality::local:
        local.push_back(r);
        break;
      case LocalRecipients::Locality::remote:
        remote.push_back(r);
        break;
      // RFC 3463 3.2: 5.1.1 bad destination mailbox, 5.2.1 mailbox disabled.
      case LocalRecipients::Locality::unknown_local:
      case LocalRecipients::Locality::disabled_local: {
        bool unknown = *where == LocalRecipients::Locality::unknown_local;
        std::string why = "<" + r + ">: " + (unknown ? "no such user here" : "mailbox disabled");
        outcomes.push_back({r, Kind::permanent, why});
        failed.push_back({r, unknown ? "5.1.1" : "5.2.1", "", why});
        logger->info("queue {}: to=<{}> failed permanently: {}", entry.id, r, why);
        break;
      }
    }
  }
  if (!local.empty()) {
    auto st = co_await deliverLocally(*local_, entry.sender, local, message);
    for (const auto& r : local) {
      if (st) {
        outcomes.push_back({r, Kind::delivered, ""});
        logger->info("queue {}: to=<{}> delivered locally", entry.id, r);
      } else {
        outcomes.push_back({r, Kind::temporary, "local delivery: " + st.error().message()});
      }
    }
  }

  if (!remote.empty() && config_.host.empty()) {
    for (const auto& r : remote) {
      outcomes.push_back({r, Kind::temporary, "no relay configured"});
    }
  } else if (!remote.empty()) {
    Envelope envelope{entry.sender, remote};
    auto session = co_await deliver(config_, tls_, envelope, *message, &canceller_);
    for (const auto& r : session.recipients) {
      switch (r.outcome) {
        case Outcome::delivered:
          outcomes.push_back({r.recipient, Kind::delivered, ""});
          logger->info("queue {}: to=<{}> relay={}:{} tls={} delivered: {}", entry.id,
                       r.recipient, config_.host, config_.port, session.used_tls, r.detail);
          break;
        case Outcome::temporary:
          outcomes.push_back({r.recipient, Kind::temporary, r.detail});
          break;
        case Outcome::permanent:
          outcomes.push_back({r.recipient, Kind::permanent, r.detail});
          failed.push_back({r.recipient, statusFor(r.from_reply ? 500 : 0, r.enhanced, true),
                            r.from_reply ? r.detail : "", r.detail});
          logger->info("queue {}: to=<{}> relay={}:{} failed permanently: {}", entry.id,
                       r.recipient, config_.host, config_.port, r.detail);
          break;
      }
    }
  }

  // Expiry (RFC 5321 4.5.4.1): a recipient still failing temporarily after
  // max_age is given up, with status 4.4.7 (RFC 3463 3.5).
  const auto now = clock_.now();
  const bool expired = now - entry.created_at >= config_.retry.max_age;
  for (auto& o : outcomes) {
    if (o.kind != Kind::temporary) continue;
    if (expired) {
      bool reply = o.error.size() >= 3 && std::isdigit(static_cast<unsigned char>(o.error[0]));
      failed.push_back({o.recipient, "4.4.7", reply ? o.error : "",
                        "delivery time expired; last error: " + o.error});
      logger->info("queue {}: to=<{}> expired after {} attempts: {}", entry.id, o.recipient,
                   entry.attempts + 1, o.error);
      o.kind = Kind::permanent;
    } else {
      logger->info("queue {}: to=<{}> deferred: {}", entry.id, o.recipient, o.error);
    }
  }

  if (!failed.empty()) {
    if (auto st = bounce(entry, *message, failed); !st) {
      // Without a bounce the sender would never learn of the failure: keep the
      // recipients queued and try again later.
      logger->error("queue {}: bounce not queued: {}", entry.id, st.error().message());
      for (auto& o : outcomes) {
        if (o.kind == Kind::permanent) o.kind = Kind::temporary;
      }
    }
  }

  auto next = now + retryDelay(config_.retry, entry.attempts + 1);
  // The last try happens at expiry, not up to one max interval after it.
  next = std::min(next, entry.created_at + config_.retry.max_age);
  if (auto st = queue_.recordAttempt(entry.id, outcomes, next); !st) {
    logger->error("queue {}: recording the attempt failed: {}", entry.id, st.error().message());
  }
}

Status Relay::bounce(const store::QueueEntry& entry, std::string_view message,
                     const std::vector<FailedRecipient>& failed) {
  if (entry.sender.empty()) {
    // RFC 5321 4.5.5 / 6.1: never bounce a bounce.
    for (const auto& f : failed) {
      log::get("smtp")->warn("queue {}: bounce to <{}> undeliverable, dropped: {}", entry.id,
                             f.recipient, f.reason);
    }
    return {};
  }
  BounceInput in;
  in.reporting_mta = heloName(config_);
  in.remote_mta = config_.host;
  in.original_sender = entry.sender;
  in.recipients = failed;
  in.original = message;
  in.arrival = entry.created_at;
  in.now = clock_.now();
  in.unique = token(random_);
  std::string dsn = buildBounce(in);
  auto id = queue_.enqueue("", {entry.sender}, dsn, clock_.now());
  if (!id) return fail(id.error());
  log::get("smtp")->info("queue {}: bounce to <{}> queued as {}", entry.id, entry.sender, *id);
  return {};
}

}  // namespace rampart::server::smtp
