// The [relay] section of the server's config: where mail for non-local
// recipients goes, how the SMTP session is protected and timed, and how failed
// deliveries are retried.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/config.h"

namespace rampart::server::smtp {

enum class TlsPolicy {
  opportunistic,  // STARTTLS when the relay offers it, plaintext otherwise (RFC 3207)
  required,       // no STARTTLS offered or a failed handshake defers the message
  none,           // never STARTTLS
};

struct RetryPolicy {
  std::chrono::milliseconds initial{std::chrono::minutes(1)};
  int factor = 2;
  std::chrono::milliseconds max_interval{std::chrono::hours(1)};
  // RFC 5321 4.5.4.1: give up after at least 4-5 days.
  std::chrono::milliseconds max_age{std::chrono::hours(24 * 5)};
};

// The delay before the attempt that follows `attempts` failed ones (1 = the
// first failure): initial * factor^(attempts-1), capped at max_interval.
std::chrono::milliseconds retryDelay(const RetryPolicy& policy, int attempts);

struct RelayConfig {
  std::string host;        // empty: no relay; non-local recipients are refused
  int port = 25;
  TlsPolicy tls = TlsPolicy::opportunistic;
  bool tls_verify = false;  // verify the relay's certificate and name
  std::string ca_file;      // trust anchors for tls_verify; empty = the system store
  std::string helo_name;    // our name in EHLO and in bounces; empty = the host name

  // RFC 5321 4.5.3.2 timeouts: initial 220 5 min, MAIL/RCPT 5 min, DATA
  // initiation 2 min, data block 3 min, final dot 10 min. We use one value for
  // commands and one for the data transfer and its final reply.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds greeting_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_timeout{std::chrono::minutes(10)};

  RetryPolicy retry;
  // How often the worker looks at the queue for entries another process added.
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
  int batch = 50;  // entries taken per pass
};

// Reads `section` (normally "[relay]") into `out`; bad values are recorded on
// the section's file.
void readRelayConfig(ConfigSection& section, RelayConfig& out);

// The name used in EHLO and bounces: helo_name, or the machine's host name.
std::string heloName(const RelayConfig& config);

}  // namespace rampart::server::smtp
