#include "server/smtp/relay_config.h"

#include <unistd.h>

#include <algorithm>
#include <climits>

namespace rampart::server::smtp {

std::chrono::milliseconds retryDelay(const RetryPolicy& policy, int attempts) {
  auto delay = policy.initial;
  for (int i = 1; i < attempts && delay < policy.max_interval; ++i) {
    delay *= std::max(policy.factor, 1);
  }
  return std::min(delay, policy.max_interval);
}

void readRelayConfig(ConfigSection& section, RelayConfig& out) {
  section.read("host", out.host);
  section.read("port", out.port, 1, 65535);
  std::string tls;
  section.read("tls", tls);
  if (tls == "opportunistic") {
    out.tls = TlsPolicy::opportunistic;
  } else if (tls == "required") {
    out.tls = TlsPolicy::required;
  } else if (tls == "none") {
    out.tls = TlsPolicy::none;
  } else if (!tls.empty()) {
    section.error("tls", "must be \"opportunistic\", \"required\" or \"none\"");
  }
  section.read("tls_verify", out.tls_verify);
  section.read("ca_file", out.ca_file);
  section.read("helo_name", out.helo_name);
  section.read("connect_timeout", out.connect_timeout);
  section.read("greeting_timeout", out.greeting_timeout);
  section.read("command_timeout", out.command_timeout);
  section.read("data_timeout", out.data_timeout);
  section.read("retry_initial", out.retry.initial);
  section.read("retry_factor", out.retry.factor, 1, 100);
  section.read("retry_max_interval", out.retry.max_interval);
  section.read("max_age", out.retry.max_age);
  section.read("poll_interval", out.poll_interval);
  section.read("batch", out.batch, 1, 10000);

  using std::chrono::milliseconds;
  auto positive = [&](std::string_view key, milliseconds value) {
    if (value <= milliseconds(0)) section.error(key, "must be greater than zero");
  };
  positive("connect_timeout", out.connect_timeout);
  positive("greeting_timeout", out.greeting_timeout);
  positive("command_timeout", out.command_timeout);
  positive("data_timeout", out.data_timeout);
  positive("retry_initial", out.retry.initial);
  positive("poll_interval", out.poll_interval);
  if (out.retry.max_interval < out.retry.initial) {
    section.error("retry_max_interval", "must not be shorter than retry_initial");
  }
  if (out.tls == TlsPolicy::none && out.tls_verify) {
    section.error("tls_verify", "needs tls = \"opportunistic\" or \"required\"");
  }
}

std::string heloName(const RelayConfig& config) {
  if (!config.helo_name.empty()) return config.helo_name;
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) == 0 && buf[0] != '\0') return buf;
  return "localhost";
}

}  // namespace rampart::server::smtp
