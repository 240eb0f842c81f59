#include "server/lmtp/session.h"


#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "server/lmtp/data_reader.h"

namespace rampart::server::lmtp {

namespace asio = net::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("lmtp"); }

// Bridges LocalDelivery::deliver()'s callback (a store thread) back to the
// session's coroutine: the result is posted to the awaiting coroutine's
// executor (the session's strand). The tracked executor counts as outstanding
// work, so io_context::run() does not return while a commit is pending.
template <class Token>
auto asyncDeliver(LocalDelivery& delivery, std::shared_ptr<const std::string> bytes,
                  std::vector<std::string> users, std::string sender, Token&& token) {
  return asio::async_initiate<Token, void(Result<store::DeliveryReceipt>)>(
      [&delivery](auto handler, std::shared_ptr<const std::string> message,
                  std::vector<std::string> names, std::string from) {
        auto executor = asio::prefer(asio::get_associated_executor(handler),
                                     asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        delivery.deliver(std::move(message), std::move(names), std::move(from),
                         [shared, executor](Result<store::DeliveryReceipt> result) {
                           asio::post(executor, [shared, r = std::move(result)]() mutable {
                             (*shared)(std::move(r));
                           });
                         });
      },
      token, std::move(bytes), std::move(users), std::move(sender));
}

// RFC 5322 3.3 date-time in UTC, e.g. "Tue, 01 Jul 2025 10:00:00 +0000".
std::string rfc5322Date(std::chrono::system_clock::time_point t) {
  return utcText(unixSeconds(t), "%a, %d %b %Y %H:%M:%S +0000");
}

std::string newTransactionId() {
  std::array<std::uint8_t, 8> raw{};
  systemRandom().fill(raw);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id;
  for (auto b : raw) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

}  // namespace

Session::Session(net::tcp::socket socket, std::shared_ptr<LocalDelivery> delivery,
                 std::shared_ptr<const SessionOptions> options)
    : stream_(std::move(socket)), delivery_(std::move(delivery)), options_(std::move(options)) {
  boost::system::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : remote.address().to_string();
}

void Session::shutdown() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    // Only a session waiting for its next command is interrupted; one in the
    // middle of a transaction notices the flag when the transaction is over.
    // The socket may already be closed (a deadline fired): nothing to cancel then.
    boost::system::error_code ec;
    if (self->idle_) self->stream_.socket().cancel(ec);
  });
}

void Session::abort() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    self->stream_.close();
  });
}

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
  out_ += Reply{code, std::string(enhanced), std::string(text)}.wire();
}

void Session::resetTransaction() {
  in_transaction_ = false;
  sender_.clear();
  recipients_.clear();
}

net::Task<bool> Session::flush() {
  if (out_.empty()) co_return true;
  // A client that stops reading must not hold the session forever.
  stream_.expires_after(options_->command_timeout);
  boost::system::error_code ec;
  co_await asio::async_write(stream_, asio::buffer(out_), asio::redirect_error(asio::use_awaitable, ec));
  out_.clear();
  if (ec) {
    logger()->debug("{}: write failed: {}", peer_, ec.message());
    closing_ = true;
    co_return false;
  }
  co_return true;
}

net::Task<void> Session::run() {
  // RFC 2033 4 / RFC 5321 4.3.1: the greeting. (220 carries no enhanced code.)
  reply(220, "", options_->hostname + " LMTP Rampart ready");
  if (!co_await flush()) co_return;

  Clock::time_point line_deadline = Clock::now() + options_->command_timeout;
  while (!closing_) {
    // Handle every complete command already buffered; replies accumulate in
    // out_ and go out in one write (RFC 2920 3.1).
    while (!closing_) {
      ParseResult r = parser_.parse(in_);
      in_.erase(0, r.consumed);
      if (r.kind == ParseResult::Kind::need_more) break;
      if (r.kind == ParseResult::Kind::error) {
        out_ += r.error.wire();
        continue;
      }
      co_await handle(r.command);
      if (in_.empty() && !parser_.discarding()) line_deadline = Clock::now() + options_->command_timeout;
    }
    if (closing_) break;
    if (!co_await flush()) break;
    if (stopping_) {
      // RFC 5321 3.8: a server shutting down answers 421 and closes.
      reply(421, "4.3.2", options_->hostname + " Service shutting down");
      co_await flush();
      break;
    }

    // The command deadline runs from the start of a line to its CRLF, however
    // the bytes trickle in (an overlong line being discarded included).
    if (in_.empty() && !parser_.discarding()) line_deadline = Clock::now() + options_->command_timeout;
    stream_.expires_at(line_deadline);
    boost::system::error_code ec;
    idle_ = true;
    std::size_t n = co_await stream_.async_read_some(asio::buffer(chunk_),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    idle_ = false;
    if (ec == asio::error::operation_aborted && stopping_ && !closing_) continue;  // shutdown()
    if (ec) {
      if (ec == net::beast::error::timeout) {
        logger()->info("{}: command timeout, closing", peer_);
      } else if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
        logger()->debug("{}: read failed: {}", peer_, ec.message());
      }
      break;
    }
    in_.append(chunk_.data(), n);
  }
  boost::system::error_code ec;
  stream_.socket().shutdown(net::tcp::socket::shutdown_both, ec);
  stream_.close();
}

net::Task<void> Session::handle(const Command& command) {
  switch (command.verb) {
    case Verb::lhlo:
      handleLhlo(command);
      break;
    case Verb::mail:
      handleMail(command);
      break;
    case Verb::rcpt:
      handleRcpt(command);
      break;
    case Verb::data:
      co_await handleData();
      break;
    case Verb::rset:
      // RFC 5321 4.1.1.5
      resetTransaction();
      reply(250, "2.0.0", "OK");
      break;
    case Verb::noop:
      reply(250, "2.0.0", "OK");
      break;
    case Verb::vrfy:
      // RFC 5321 3.5.3: 252 when we will not verify but would accept.
      reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case Verb::help:
      reply(214, "2.0.0", "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
      break;
    case Verb::quit:
      // RFC 5321 4.1.1.10
      reply(221, "2.0.0", options_->hostname + " closing connection");
      co_await flush();
      closing_ = true;
      break;
  }
}

void Session::handleLhlo(const Command& command) {
  // RFC 2033 4.1: LHLO is EHLO for LMTP; like EHLO it resets any transaction
  // (RFC 5321 4.1.4). Extensions: RFC 2920, RFC 1870, RFC 6152, RFC 2034.
  resetTransaction();
  lhlo_domain_ = command.domain;
  out_ += "250-" + options_->hostname + "\r\n";
  out_ += "250-PIPELINING\r\n";
  out_ += "250-SIZE " + std::to_string(options_->max_message_size) + "\r\n";
  out_ += "250-8BITMIME\r\n";
  out_ += "250 ENHANCEDSTATUSCODES\r\n";
}

void Session::handleMail(const Command& command) {
  if (lhlo_domain_.empty()) return reply(503, "5.5.1", "Send LHLO first");
  if (in_transaction_) return reply(503, "5.5.1", "Nested MAIL command");
  // RFC 1870 6.1: a declared size over our limit is refused at MAIL.
  if (command.size && *command.size > options_->max_message_size) {
    return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  }
  in_transaction_ = true;
  sender_ = command.path;
  transaction_id_ = newTransactionId();
  reply(250, "2.1.0", "Sender OK");
}

void Session::handleRcpt(const Command& command) {
  if (!in_transaction_) return reply(503, "5.5.1", "Need MAIL before RCPT");
  // RFC 5321 4.5.3.1.10: 452 for too many recipients; the client retries them later.
  if (recipients_.size() >= options_->max_recipients) return reply(452, "4.5.3", "Too many recipients");
  auto resolution = delivery_->resolve(command.path);
  if (!resolution) {
    logger()->warn("{}: directory lookup failed: {}", peer_, resolution.error().message());
    return reply(451, "4.3.0", "Temporary directory failure, try again later");
  }
  switch (resolution->status) {
    case Resolution::Status::non_local_domain:
      return reply(550, "5.1.2", "Recipient domain not handled here");
    case Resolution::Status::unknown_user:
      return reply(550, "5.1.1", "No such user here");
    case Resolution::Status::disabled:
      return reply(550, "5.2.1", "Mailbox disabled");
    case Resolution::Status::local:
      recipients_.push_back(Recipient{command.path, std::move(resolution->user)});
      return reply(250, "2.1.5", "Recipient OK");
  }
}

std::string Session::receivedHeader() const {
  // RFC 5321 4.4 trace field; "with LMTP" per RFC 3848.
  std::string h = "Received: from " + lhlo_domain_ + " (" + peer_ + ")\r\n\tby " + options_->hostname +
                  " (Rampart) with LMTP id " + transaction_id_;
  // "for" names the recipient only when there is one (RFC 5321 4.4 warns
  // against disclosing Bcc recipients to each other).
  if (recipients_.size() == 1) h += "\r\n\tfor <" + recipients_.front().address + ">";
  h += ";\r\n\t" + rfc5322Date(delivery_->clock().now()) + "\r\n";
  return h;
}

net::Task<void> Session::handleData() {
  if (lhlo_domain_.empty()) co_return reply(503, "5.5.1", "Send LHLO first");
  if (!in_transaction_) co_return reply(503, "5.5.1", "Need MAIL command");
  if (recipients_.empty()) co_return reply(503, "5.5.1", "No valid recipients");

  // RFC 5321 4.1.1.4 (354 carries no enhanced code, RFC 2034 3).
  reply(354, "", "Start mail input; end with <CRLF>.<CRLF>");
  if (!co_await flush()) co_return;

  DataReader reader(options_->max_message_size);
  auto step = reader.feed(in_);
  in_.erase(0, step.consumed);
  const auto total_deadline = Clock::now() + options_->data_total_timeout;
  while (!reader.done()) {
    // Progress deadline per chunk, bounded by the deadline for the whole transfer.
    stream_.expires_at(std::min(Clock::now() + options_->data_timeout, total_deadline));
    boost::system::error_code ec;
    std::size_t n = co_await stream_.async_read_some(asio::buffer(chunk_),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == net::beast::error::timeout) logger()->info("{}: DATA timeout, closing", peer_);
      else logger()->debug("{}: connection lost during DATA: {}", peer_, ec.message());
      // Nothing was acknowledged, so nothing is stored.
      closing_ = true;
      co_return;
    }
    std::string_view got(chunk_.data(), n);
    step = reader.feed(got);
    // Whatever follows the terminator is the next (pipelined) command.
    if (step.consumed < got.size()) in_.append(got.substr(step.consumed));
  }

  if (reader.overflowed()) {
    // RFC 2033 4.2: one reply per accepted recipient, even for a refusal.
    logger()->info("{}: message over {} bytes refused ({} recipients)", peer_, options_->max_message_size,
                   recipients_.size());
    for (std::size_t i = 0; i < recipients_.size(); ++i) {
      reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    }
    resetTransaction();
    co_return;
  }

  auto message = std::make_shared<std::string>();
  std::string received = receivedHeader();
  message->reserve(received.size() + reader.message().size());
  *message += received;
  *message += reader.message();
  std::string().swap(reader.message());

  std::vector<std::string> users;
  users.reserve(recipients_.size());
  for (const Recipient& r : recipients_) users.push_back(r.user);

  // The 250s wait for the durable commit: a crash before it leaves the
  // client without an acknowledgement, so it keeps and retries the message.
  std::size_t size = message->size();
  Result<store::DeliveryReceipt> receipt = co_await asyncDeliver(
      *delivery_, std::shared_ptr<const std::string>(std::move(message)), std::move(users), sender_,
      asio::use_awaitable);
  if (receipt) {
    logger()->info("{}: {} delivered: message {} ({} bytes) from <{}> to {} recipient(s)", peer_,
                   transaction_id_, receipt->message, size, sender_, recipients_.size());
    for (const Recipient& r : recipients_) {
      reply(250, "2.0.0", transaction_id_ + " Message accepted for <" + r.address + ">");
    }
  } else {
    logger()->error("{}: {} store failed: {}", peer_, transaction_id_, receipt.error().message());
    for (std::size_t i = 0; i < recipients_.size(); ++i) {
      reply(451, "4.3.0", "Temporary storage failure, try again later");
    }
  }
  resetTransaction();
}

}  // namespace rampart::server::lmtp
