// The mail server role's configuration (`rampart server --config FILE`).
//
// One TOML file, parsed into typed structs with defaults; unknown keys are an
// error naming file, line and key (core/config.h). Example: config/server.toml.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "server/eas/eas_config.h"
#include "server/smtp/relay_config.h"

namespace rampart::server {

// [lmtp]: mail in from a real MTA (RFC 2033).
struct LmtpConfig {
  std::string listen = "127.0.0.1:2424";
  // Advertised as SIZE (RFC 1870); larger messages get 552 5.3.4.
  ByteSize max_message_size{35ull * 1024 * 1024};
  // RFC 5321 4.5.3.1.8 asks for at least 100; beyond the cap RCPT gets 452 4.5.3.
  int max_recipients = 1000;
  // Connections beyond the cap are answered "421 4.3.2" and closed.
  int max_connections = 200;
  // The longest we wait for one command line (RFC 5321 4.5.3.2.7 suggests 5 min).
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  // DATA progress: the longest we wait between two chunks of message data.
  std::chrono::milliseconds data_timeout{std::chrono::minutes(5)};
  // The longest one DATA transfer may take in total, however steady its progress.
  std::chrono::milliseconds data_total_timeout{std::chrono::minutes(30)};
};

// [admin]: the loopback HTTP listener for /healthz and /metrics (Prometheus
// text format). Empty listen = off. Never expose it beyond loopback: it has
// no authentication.
struct AdminHttpConfig {
  std::string listen;
};

struct ServerConfig {
  std::string data_dir = "/var/lib/rampart";
  // Our name in the greeting, LHLO reply and Received: headers; empty = the host name.
  std::string hostname;
  // Domains whose mailboxes live here; RCPT to another domain gets 550 5.1.2.
  std::vector<std::string> local_domains;
  std::string log_level = "info";
  // I/O threads; 0 = std::thread::hardware_concurrency().
  int threads = 0;
  // How long a graceful stop waits for live sessions before cancelling them.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};

  LmtpConfig lmtp;
  AdminHttpConfig admin;
  eas::EasConfig eas;

  // [relay]: mail out to a relay over SMTP (src/server/smtp/).
  smtp::RelayConfig relay;
};

// Reads the [lmtp] section into `out`; errors are recorded on the section's file.
void readLmtpConfig(ConfigSection& section, LmtpConfig& out);

// Loads and checks the whole file. Errors (syntax, wrong types, unknown keys,
// bad values) come back as Errc::config_error, one "file:line: message" per line.
Result<ServerConfig> loadServerConfig(const std::string& path);
// The same from text, for tests; `source_name` stands in for the file name.
Result<ServerConfig> parseServerConfig(std::string_view text, const std::string& source_name);

// The configured hostname, or the machine's name when none is configured.
std::string effectiveHostname(const ServerConfig& config);

}  // namespace rampart::server
