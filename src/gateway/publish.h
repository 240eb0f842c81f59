// The publishing wizard behind `rampart gateway publish eas|autodiscover|est|web`:
// writes correct [[rule]] tables for a known service from a few answers, and
// refuses the unsafe combinations checkRule() names (plain HTTP to a remote
// backend, a long poll or EAS without authentication, delegation without TLS
// to the backend...). The front side needs no such check: the gateway's only
// listener is TLS, so Basic credentials never cross the Internet in clear.
#pragma once

#include <string>

#include "core/error.h"
#include "gateway/config.h"

namespace rampart::gateway {

struct PublishRequest {
  Service service = Service::eas;
  std::string name;          // default: the service's name
  std::string host = "*";
  std::string path;          // web only (the others have fixed paths)
  std::string backend;       // host:port
  std::string auth;          // empty: the service's default (basic; EST: certificate_or_basic,
                             // its cacerts rule none)
  bool backend_tls = true;
  std::string backend_ca_file;
  std::string backend_server_name;
  std::string client_cert_file;
  std::string client_key_file;
  bool delegate = false;     // EAS default true when the config has a delegation key; EST always
  bool backend_h2 = false;   // EAS default true (parked Pings multiplexed)
};

// The TOML text of the rule(s), ready to append to the gateway's file, or
// Errc::invalid_argument naming every problem. `config` is the file the rule
// will join (for its [delegation] and [auth] sections); rule names already in
// it are refused.
Result<std::string> publishRules(const PublishRequest& request, const GatewayConfig& config);

// The rules themselves (the TOML is written from these).
Result<std::vector<RuleConfig>> makeRules(const PublishRequest& request, const GatewayConfig& config);

// A rule as a [[rule]] table.
std::string ruleToToml(const RuleConfig& rule);

}  // namespace rampart::gateway
