#include "gateway/publish.h"

#include <fmt/format.h>

namespace rampart::gateway {

namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string duration(milliseconds d) {
  if (d.count() % 1000 == 0) return quoted(std::to_string(d.count() / 1000) + "s");
  return quoted(std::to_string(d.count()) + "ms");
}

RuleConfig base(const PublishRequest& req) {
  RuleConfig r;
  r.host = req.host;
  r.backend = req.backend;
  r.backend_tls = req.backend_tls;
  r.backend_ca_file = req.backend_ca_file;
  r.backend_server_name = req.backend_server_name;
  r.client_cert_file = req.client_cert_file;
  r.client_key_file = req.client_key_file;
  r.service = req.service;
  return r;
}

}  // namespace

Result<std::vector<RuleConfig>> makeRules(const PublishRequest& req, const GatewayConfig& config) {
  std::vector<RuleConfig> rules;
  std::vector<std::string> problems;
  if (req.backend.empty()) problems.push_back("--backend host:port is required");
  RuleConfig r = base(req);
  r.name = req.name.empty() ? std::string(serviceName(req.service)) : req.name;
  std::string auth = req.auth;
  if (auth.empty()) {
    // EST: first enrollment with the password, re-enrollment with the
    // current certificate (RFC 7030 3.3.2, 4.2.2); the others: Basic.
    auth = req.service == Service::est ? "certificate_or_basic" : "basic";
  }
  switch (req.service) {
    case Service::eas:
      // MS-ASHTTP 2.2.1.1.1: OPTIONS for discovery, POST for every command.
      r.path = "/Microsoft-Server-ActiveSync";
      r.methods = {"OPTIONS", "POST"};
      r.realm = "ActiveSync";
      // Ping's HeartbeatInterval goes up to 3540 s (MS-ASCMD 2.2.3.79.1), plus margin.
      r.long_poll_timeout = std::chrono::seconds(3600);
      r.response_timeout = std::chrono::seconds(300);
      r.body_limit = ByteSize{35ull * 1024 * 1024};
      r.delegate = req.delegate || !config.delegation.key_file.empty();
      r.backend_h2 = req.backend_h2 || req.backend_tls;
      break;
    case Service::autodiscover:
      // MS-OXDSCLI 3.1.5.1: POST .../autodiscover/autodiscover.xml; some clients probe with GET.
      r.path = "/autodiscover";
      r.methods = {"GET", "POST"};
      r.realm = "Autodiscover";
      r.response_timeout = std::chrono::seconds(30);
      r.body_limit = ByteSize{64 * 1024};
      r.delegate = req.delegate || !config.delegation.key_file.empty();
      break;
    case Service::est: {
      // RFC 7030 4.1.1: /cacerts needs no authentication; enrollment does (3.2.3).
      RuleConfig cacerts = base(req);
      cacerts.name = r.name + "-cacerts";
      cacerts.path = "/.well-known/est/cacerts";
      cacerts.methods = {"GET"};
      cacerts.auth = AuthMethod::none;
      cacerts.response_timeout = std::chrono::seconds(30);
      cacerts.body_limit = ByteSize{0};
      rules.push_back(std::move(cacerts));
      r.path = "/.well-known/est";
      r.methods = {"GET", "POST"};
      r.realm = "EST";
      r.response_timeout = std::chrono::seconds(60);
      r.body_limit = ByteSize{64 * 1024};
      // The CA needs the identity (whose certificate to issue) and, for a
      // re-enrollment, the client certificate itself (Rampart-Client-Cert).
      r.delegate = true;
      break;
    }
    case Service::web:
      if (req.path.empty() || req.path.front() != '/') problems.push_back("--path /prefix is required");
      r.path = req.path;
      r.methods = {"GET", "HEAD", "POST"};
      r.delegate = req.delegate;
      break;
  }
  if (auto m = parseAuthMethod(auth)) r.auth = *m;
  else problems.push_back(m.error().detail);
  rules.push_back(std::move(r));
  for (const RuleConfig& rule : rules) {
    for (const RuleConfig& existing : config.rules) {
      if (existing.name == rule.name) problems.push_back("a rule named '" + rule.name + "' exists already");
    }
    for (std::string& p : checkRule(rule, config)) problems.push_back(rule.name + ": " + p);
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
    return fail(Errc::invalid_argument, all);
  }
  return rules;
}

std::string ruleToToml(const RuleConfig& r) {
  std::string out = "[[rule]]\n";
  out += "name = " + quoted(r.name) + "\n";
  out += "service = " + quoted(serviceName(r.service)) + "\n";
  out += "host = " + quoted(r.host) + "\n";
  out += "path = " + quoted(r.path) + "\n";
  out += "methods = [";
  for (std::size_t i = 0; i < r.methods.size(); ++i) out += (i ? ", " : "") + quoted(r.methods[i]);
  out += "]\n";
  out += "auth = " + quoted(authMethodName(r.auth)) + "\n";
  if (r.auth != AuthMethod::none) out += "realm = " + quoted(r.realm) + "\n";
  out += "backend = " + quoted(r.backend) + "\n";
  out += std::string("backend_tls = ") + (r.backend_tls ? "true" : "false") + "\n";
  if (r.backend_h2) out += "backend_h2 = true\n";
  if (!r.backend_ca_file.empty()) out += "backend_ca_file = " + quoted(r.backend_ca_file) + "\n";
  if (!r.backend_server_name.empty()) out += "backend_server_name = " + quoted(r.backend_server_name) + "\n";
  if (!r.client_cert_file.empty()) {
    out += "client_cert_file = " + quoted(r.client_cert_file) + "\n";
    out += "client_key_file = " + quoted(r.client_key_file) + "\n";
  }
  out += "response_timeout = " + duration(r.response_timeout) + "\n";
  if (r.long_poll_timeout.count() > 0) out += "long_poll_timeout = " + duration(r.long_poll_timeout) + "\n";
  out += "body_limit = " + std::to_string(r.body_limit.bytes) + "\n";
  if (r.delegate) out += "delegate = true\n";
  return out;
}

Result<std::string> publishRules(const PublishRequest& request, const GatewayConfig& config) {
  auto rules = makeRules(request, config);
  if (!rules) return fail(rules.error());
  std::string out;
  for (const RuleConfig& r : *rules) out += (out.empty() ? "" : "\n") + ruleToToml(r);
  return out;
}

}  // namespace rampart::gateway
