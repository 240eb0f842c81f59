// An SMTP client (RFC 5321) for handing one message to a relay: EHLO (HELO
// fallback), STARTTLS (RFC 3207) by policy, SIZE (RFC 1870), 8BITMIME
// (RFC 6152), a reply per recipient, DATA, QUIT. Every wait on the relay has a
// deadline from the config. No exception leaves deliver().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "net/asio.h"
#include "server/smtp/relay_config.h"
#include "server/smtp/reply_parser.h"

namespace rampart::server::smtp {

enum class Outcome { delivered, temporary, permanent };

struct RecipientResult {
  std::string recipient;
  Outcome outcome = Outcome::temporary;
  // The relay's reply ("550 5.1.1 ...") or our own description of a connection
  // or protocol failure ("connect 127.0.0.1:25: Connection refused").
  std::string detail;
  std::string enhanced;  // RFC 3463 code from the reply, when it had one
  bool from_reply = false;  // detail is an SMTP reply (for Diagnostic-Code)
};

struct SessionResult {
  std::vector<RecipientResult> recipients;  // one per recipient, in order
  bool used_tls = false;
};

struct Envelope {
  std::string sender;  // empty for a bounce: MAIL FROM:<>
  std::vector<std::string> recipients;
};

// Ends a session under way at once (server shutdown), its recipients left
// temporary. Not thread-safe: cancel() runs on the session's executor.
class SessionCanceller {
 public:
  void cancel() {
    cancelled_ = true;
    if (hook_) hook_();
  }
  bool cancelled() const { return cancelled_; }

 private:
  friend class SessionAccess;
  bool cancelled_ = false;
  std::function<void()> hook_;  // set while a session runs
};

// Builds the client TLS context for the relay from the config (CA file,
// verification). Errors: config_error when the CA file cannot be loaded.
Result<std::shared_ptr<boost::asio::ssl::context>> makeRelayTlsContext(const RelayConfig& config);

// Delivers `message` to the relay named in `config`. Never fails as a whole:
// every recipient gets an outcome (2xx delivered; 4xx, timeouts and connection
// errors temporary; 5xx permanent). `tls` may be null when config.tls is none.
net::Task<SessionResult> deliver(const RelayConfig& config,
                                 std::shared_ptr<boost::asio::ssl::context> tls,
                                 const Envelope& envelope, std::string_view message,
                                 SessionCanceller* canceller = nullptr);

// The DATA payload (RFC 5321 4.5.2, 2.3.8): line ends normalised to CRLF, a
// leading "." doubled, a final CRLF added when missing, then ".\r\n".
std::string encodeData(std::string_view message);

// Whether any byte has the high bit set (RFC 6152: needs BODY=8BITMIME).
bool hasEightBit(std::string_view message);

}  // namespace rampart::server::smtp
