#include "server/eas/eas_config.h"

namespace rampart::server::eas {

void readEasConfig(ConfigSection& section, EasConfig& out) {
  section.read("listen", out.listen);
  section.read("cert_file", out.cert_file);
  section.read("key_file", out.key_file);
  section.read("max_request_body", out.max_request_body);
  section.read("handshake_timeout", out.handshake_timeout);
  section.read("header_timeout", out.header_timeout);
  section.read("body_progress", out.body_progress);
  section.read("write_progress", out.write_progress);
  section.read("keepalive_idle", out.keepalive_idle);
  section.read("max_connections", out.max_connections, 1, 1'000'000);
  section.read("credential_cache_ttl", out.credential_cache_ttl);
  int rate = static_cast<int>(out.device_limits.requests_per_second);
  int burst = static_cast<int>(out.device_limits.burst);
  section.read("device_requests_per_second", rate, 1, 1'000'000);
  section.read("device_burst", burst, 1, 1'000'000);
  section.read("device_max_in_flight", out.device_limits.max_in_flight, 1, 1000);
  section.read("gateway_listen", out.gateway_listen);
  section.read("gateway_ca_file", out.gateway_ca_file);
  section.read("delegation_key_file", out.delegation_key_file);
  section.read("smime_trust_file", out.smime_trust_file);
  std::string revocation;
  section.read("revocation", revocation);
  if (revocation == "soft") {
    out.revocation = crypto::x509::RevocationMode::soft;
  } else if (revocation == "hard") {
    out.revocation = crypto::x509::RevocationMode::hard;
  } else if (revocation == "none") {
    out.revocation = crypto::x509::RevocationMode::none;
  } else if (!revocation.empty()) {
    section.error("revocation", "must be \"soft\", \"hard\" or \"none\"");
  }
  section.read("revocation_timeout", out.revocation_timeout);
  if (!out.gateway_listen.empty() &&
      (out.gateway_ca_file.empty() || out.delegation_key_file.empty() || out.cert_file.empty())) {
    section.error("gateway_listen", "needs gateway_ca_file, delegation_key_file, cert_file and key_file");
  }
  out.device_limits.requests_per_second = rate;
  out.device_limits.burst = burst;
  if ((!out.listen.empty() || !out.gateway_listen.empty()) && (out.cert_file.empty() || out.key_file.empty())) {
    // EAS carries passwords in every request: never without TLS.
    section.error("listen", "needs cert_file and key_file (EAS is served over TLS only)");
  }
}

}  // namespace rampart::server::eas
