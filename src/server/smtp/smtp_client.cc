#include "server/smtp/smtp_client.h"

#include <openssl/ssl.h>

#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "core/log.h"
#include "tls/context.h"

namespace rampart::server::smtp {
namespace {

using namespace net;  // asio, beast, tcp, Task
using std::chrono::milliseconds;

// What EHLO told us (RFC 5321 4.1.1.1: keywords on the lines after the first).
struct Extensions {
  bool starttls = false;
  bool eightbitmime = false;
  bool size = false;
  std::uint64_t size_limit = 0;  // 0: none announced
};

Extensions parseExtensions(const Reply& reply) {
  Extensions ext;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string line = reply.lines[i];
    for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string keyword = line.substr(0, line.find(' '));
    if (keyword == "STARTTLS") ext.starttls = true;
    if (keyword == "8BITMIME") ext.eightbitmime = true;
    if (keyword == "SIZE") {
      ext.size = true;
      // RFC 1870 4: "SIZE" [SP number]; 0 means no fixed limit.
      if (line.size() > 5) {
        std::uint64_t n = 0;
        bool ok = true;
        for (char c : std::string_view(line).substr(5)) {
          if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) {
            ok = false;
            break;
          }
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (ok) ext.size_limit = n;
      }
    }
  }
  return ext;
}

Outcome classify(const Reply& reply) {
  if (reply.code >= 200 && reply.code < 300) return Outcome::delivered;
  if (reply.code >= 500) return Outcome::permanent;
  return Outcome::temporary;  // 4xx, and a 3xx where none belongs
}

}  // namespace

// Lets the session install and clear the canceller's hook.
class SessionAccess {
 public:
  static void setHook(SessionCanceller* c, std::function<void()> hook) {
    if (c) c->hook_ = std::move(hook);
  }
};

namespace {

class Session {
 public:
  Session(asio::any_io_executor executor, const RelayConfig& config,
          std::shared_ptr<asio::ssl::context> tls, const Envelope& envelope)
      : executor_(executor), config_(config), tls_context_(std::move(tls)),
        envelope_(envelope), stream_(executor) {
    result_.recipients.reserve(envelope.recipients.size());
    for (const auto& r : envelope.recipients) {
      result_.recipients.push_back({r, Outcome::temporary, "not attempted", "", false});
    }
    state_.assign(envelope.recipients.size(), State::untried);
  }

  Task<SessionResult> run(std::string_view message, SessionCanceller* canceller) {
    // Closing the socket makes the pending operation (and every later one)
    // fail at once, which ends the dialogue through the normal error path.
    SessionAccess::setHook(canceller, [this] {
      boost::system::error_code ignored;
      stream_.socket().close(ignored);
    });
    canceller_ = canceller;
    auto outcome = co_await transact(message);
    SessionAccess::setHook(canceller, nullptr);
    if (canceller && canceller->cancelled()) {
      outcome = fail(Errc::unavailable, "cancelled: server shutting down");
    }
    if (auto& st = outcome; !st) {
      // A failure of the session as a whole: every recipient not yet decided
      // gets it. Connection trouble is always temporary (RFC 5321 4.5.4.1).
      settleAll(Outcome::temporary, st.error().detail, nullptr);
    }
    stream_.close();
    co_return std::move(result_);
  }

 private:
  enum class State { untried, accepted, decided };

  // Runs the whole dialogue. Returns an error for connection-level failures;
  // reply-level failures are settled per recipient inside.
  Task<Status> transact(std::string_view message) {
    if (auto st = co_await connect(); !st) co_return st;

    auto greeting = co_await readReply(config_.greeting_timeout);
    if (!greeting) co_return fail(greeting.error());
    if (greeting->code != 220) {
      settleAll(classify(*greeting), greeting->text(), &*greeting);
      co_await quit();
      co_return Status{};
    }

    auto ext = co_await hello();
    if (!ext) co_return fail(ext.error());
    if (!*ext) co_return Status{};  // settled inside

    // RFC 3207: STARTTLS when offered and allowed; then the session starts
    // over, so every extension learned before is forgotten and EHLO is sent again.
    bool offered = (*ext)->starttls;
    if (config_.tls != TlsPolicy::none && offered && tls_context_) {
      auto reply = co_await command("STARTTLS", config_.command_timeout);
      if (!reply) co_return fail(reply.error());
      if (reply->code == 220) {
        if (auto st = co_await handshake(); !st) co_return st;
        ext = co_await hello();
        if (!ext) co_return fail(ext.error());
        if (!*ext) co_return Status{};
      } else if (config_.tls == TlsPolicy::required) {
        settleAll(Outcome::temporary, "STARTTLS refused: " + reply->text(), nullptr);
        co_await quit();
        co_return Status{};
      }
      // Opportunistic: a refused STARTTLS (454) leaves the plaintext session usable.
    } else if (config_.tls == TlsPolicy::required) {
      settleAll(Outcome::temporary, "relay does not offer STARTTLS and tls = \"required\"",
                nullptr);
      co_await quit();
      co_return Status{};
    }
    const Extensions& extensions = **ext;

    // RFC 1870 6: do not send what the relay has said it will refuse.
    if (extensions.size_limit != 0 && message.size() > extensions.size_limit) {
      settleAll(Outcome::permanent,
                "552 5.3.4 message size " + std::to_string(message.size()) +
                    " exceeds the relay's limit of " + std::to_string(extensions.size_limit),
                nullptr);
      setMissingEnhanced("5.3.4");
      co_await quit();
      co_return Status{};
    }

    std::string mail = "MAIL FROM:<" + envelope_.sender + ">";
    if (extensions.size) mail += " SIZE=" + std::to_string(message.size());
    // RFC 6152 3: declare 8-bit content when the relay understands it. When it
    // does not we send the bytes anyway, as Postfix does, rather than bounce.
    if (extensions.eightbitmime && hasEightBit(message)) mail += " BODY=8BITMIME";
    auto mail_reply = co_await command(mail, config_.command_timeout);
    if (!mail_reply) co_return fail(mail_reply.error());
    if (classify(*mail_reply) != Outcome::delivered) {
      settleAll(classify(*mail_reply), mail_reply->text(), &*mail_reply);
      co_await quit();
      co_return Status{};
    }

    // One RCPT per recipient, each with its own answer (RFC 5321 3.3).
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < envelope_.recipients.size(); ++i) {
      auto reply = co_await command("RCPT TO:<" + envelope_.recipients[i] + ">",
                                    config_.command_timeout);
      if (!reply) co_return fail(reply.error());
      if (classify(*reply) == Outcome::delivered) {
        state_[i] = State::accepted;
        ++accepted;
      } else {
        settle(i, classify(*reply), reply->text(), &*reply);
      }
    }
    if (accepted == 0) {
      co_await quit();
      co_return Status{};
    }

    auto data = co_await command("DATA", config_.command_timeout);
    if (!data) co_return fail(data.error());
    if (data->code != 354) {
      settleAll(classify(*data), data->text(), &*data);
      co_await quit();
      co_return Status{};
    }
    // RFC 5321 4.5.3.2.5-6: the whole transfer and the reply to the final dot
    // each get the (longer) data deadline.
    std::string payload = encodeData(message);
    if (auto st = co_await write(payload, config_.data_timeout); !st) co_return st;
    auto final_reply = co_await readReply(config_.data_timeout);
    if (!final_reply) co_return fail(final_reply.error());
    // SMTP (unlike LMTP) answers the message once for all accepted recipients.
    settleAll(classify(*final_reply), final_reply->text(), &*final_reply);
    co_await quit();
    co_return Status{};
  }

  void setMissingEnhanced(const std::string& code) {
    for (auto& r : result_.recipients) {
      if (r.enhanced.empty()) r.enhanced = code;
    }
  }

  Task<Status> connect() {
    auto resolver = std::make_shared<tcp::resolver>(executor_);
    // The resolver has no deadline of its own: a timer cancels it.
    asio::steady_timer timer(executor_);
    timer.expires_after(config_.connect_timeout);
    timer.async_wait([resolver](boost::system::error_code ec) {
      if (!ec) resolver->cancel();
    });
    boost::system::error_code ec;
    auto endpoints = co_await resolver->async_resolve(
        config_.host, std::to_string(config_.port), asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    std::string where = config_.host + ":" + std::to_string(config_.port);
    if (ec) co_return fail(Errc::unavailable, "resolve " + where + ": " + ec.message());
    if (canceller_ && canceller_->cancelled()) {
      co_return fail(Errc::unavailable, "cancelled: server shutting down");
    }
    stream_.expires_after(config_.connect_timeout);
    co_await stream_.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(Errc::unavailable, "connect " + where + ": " + describe(ec));
    co_return Status{};
  }

  Task<Status> handshake() {
    // RFC 3207 4.2 / 6: anything the server sent after its 220 is discarded
    // (a plaintext injection would otherwise be read as if it came over TLS).
    if (!buffer_.empty()) co_return fail(Errc::protocol_error, "data after STARTTLS reply");
    tls_.emplace(stream_, *tls_context_);
    if (config_.tls_verify) {
      tls_->set_verify_mode(asio::ssl::verify_peer);
      tls_->set_verify_callback(asio::ssl::host_name_verification(config_.host));
    }
    boost::system::error_code addr_ec;
    asio::ip::make_address(config_.host, addr_ec);
    if (addr_ec) {  // SNI only for names, never IP literals (RFC 6066 3)
      if (SSL_set_tlsext_host_name(tls_->native_handle(), config_.host.c_str()) != 1) {
        co_return fail(Errc::internal, "SNI: " + tls::opensslErrors());
      }
    }
    stream_.expires_after(config_.command_timeout);
    boost::system::error_code ec;
    co_await tls_->async_handshake(asio::ssl::stream_base::client,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(Errc::unavailable, "TLS handshake: " + describe(ec));
    result_.used_tls = true;
    co_return Status{};
  }

  // EHLO, or HELO when EHLO is refused with 5xx (RFC 5321 3.2). Returns the
  // extensions, or none when the recipients were settled by a refusal.
  Task<Result<std::optional<Extensions>>> hello() {
    const std::string name = heloName(config_);
    auto reply = co_await command("EHLO " + name, config_.command_timeout);
    if (!reply) co_return fail(reply.error());
    if (reply->code == 250) co_return std::optional<Extensions>(parseExtensions(*reply));
    if (reply->permanent()) {
      auto helo = co_await command("HELO " + name, config_.command_timeout);
      if (!helo) co_return fail(helo.error());
      if (helo->code == 250) co_return std::optional<Extensions>(Extensions{});
      reply = std::move(helo);
    }
    settleAll(classify(*reply), reply->text(), &*reply);
    co_await quit();
    co_return std::optional<Extensions>();
  }

  Task<Result<Reply>> command(const std::string& line, milliseconds timeout) {
    log::get("smtp")->debug("relay {}:{} <- {}", config_.host, config_.port,
                            line.substr(0, 4) == "MAIL" || line.substr(0, 4) == "RCPT"
                                ? line
                                : line.substr(0, line.find(' ')));
    if (auto st = co_await write(line + "\r\n", timeout); !st) co_return fail(st.error());
    co_return co_await readReply(timeout);
  }

  Task<Status> write(std::string_view data, milliseconds timeout) {
    stream_.expires_after(timeout);
    boost::system::error_code ec;
    if (tls_) {
      co_await asio::async_write(*tls_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(stream_, asio::buffer(data),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return fail(Errc::unavailable, "write to relay: " + describe(ec));
    co_return Status{};
  }

  Task<Result<Reply>> readReply(milliseconds timeout) {
    stream_.expires_after(timeout);
    while (true) {
      auto parsed = parseReply(buffer_);
      if (parsed.state == ParsedReply::State::complete) {
        buffer_.erase(0, parsed.consumed);
        co_return std::move(parsed.reply);
      }
      if (parsed.state == ParsedReply::State::error) {
        co_return fail(Errc::protocol_error, "relay reply: " + parsed.error);
      }
      char chunk[4096];
      boost::system::error_code ec;
      std::size_t n = 0;
      if (tls_) {
        n = co_await tls_->async_read_some(asio::buffer(chunk),
                                           asio::redirect_error(asio::use_awaitable, ec));
      } else {
        n = co_await stream_.async_read_some(asio::buffer(chunk),
                                             asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) co_return fail(Errc::unavailable, "read from relay: " + describe(ec));
      buffer_.append(chunk, n);
    }
  }

  // RFC 5321 4.1.1.10: say goodbye, briefly; its outcome changes nothing.
  Task<void> quit() {
    auto timeout = std::min(config_.command_timeout, milliseconds(std::chrono::seconds(10)));
    (void)co_await command("QUIT", timeout);
  }

  static std::string describe(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) return "timed out";
    return ec.message();
  }

  void settle(std::size_t i, Outcome outcome, std::string detail, const Reply* reply) {
    auto& r = result_.recipients[i];
    r.outcome = outcome;
    r.detail = std::move(detail);
    r.from_reply = reply != nullptr;
    r.enhanced = reply ? reply->enhanced : "";
    state_[i] = State::decided;
  }

  void settleAll(Outcome outcome, const std::string& detail, const Reply* reply) {
    for (std::size_t i = 0; i < state_.size(); ++i) {
      if (state_[i] != State::decided) settle(i, outcome, detail, reply);
    }
  }

  asio::any_io_executor executor_;
  const RelayConfig& config_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  const Envelope& envelope_;
  beast::tcp_stream stream_;
  std::optional<asio::ssl::stream<beast::tcp_stream&>> tls_;
  std::string buffer_;
  SessionResult result_;
  std::vector<State> state_;
  SessionCanceller* canceller_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> makeRelayTlsContext(const RelayConfig& config) {
  tls::ClientOptions options;
  options.ca_file = config.ca_file;
  // Opportunistic TLS to a relay whose certificate we cannot check still beats
  // plaintext (RFC 7435); verification is on only when asked for.
  options.verify_peer = config.tls_verify;
  return tls::makeClientContext(options);
}

Task<SessionResult> deliver(const RelayConfig& config, std::shared_ptr<asio::ssl::context> tls,
                            const Envelope& envelope, std::string_view message,
                            SessionCanceller* canceller) {
  auto executor = co_await asio::this_coro::executor;
  Session session(executor, config, std::move(tls), envelope);
  co_return co_await session.run(message, canceller);
}

std::string encodeData(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (line_start && c == '.') out += '.';  // RFC 5321 4.5.2 transparency
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < message.size() && message[i + 1] == '\n') ++i;
      line_start = true;
    } else if (c == '\n') {
      out += "\r\n";  // a bare LF becomes CRLF (RFC 5321 2.3.8)
      line_start = true;
    } else {
      out += c;
      line_start = false;
    }
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

bool hasEightBit(std::string_view message) {
  for (char c : message) {
    if (static_cast<unsigned char>(c) & 0x80) return true;
  }
  return false;
}

}  // namespace rampart::server::smtp
