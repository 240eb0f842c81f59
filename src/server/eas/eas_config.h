// [eas]: Exchange ActiveSync over HTTPS, answered by the mail server itself
// (Basic authentication against the directory), so it can run without the
// gateway. Empty listen = off.
#pragma once

#include <chrono>
#include <string>

#include "core/config.h"
#include "crypto/x509/verify.h"
#include "server/eas/device_limiter.h"

namespace rampart::server::eas {

struct EasConfig {
  std::string listen;       // "127.0.0.1:8443"
  std::string cert_file;    // PEM chain, leaf first
  std::string key_file;     // PEM key
  ByteSize max_request_body{16ull * 1024 * 1024};
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds header_timeout{std::chrono::seconds(120)};
  std::chrono::milliseconds body_progress{std::chrono::seconds(60)};
  std::chrono::milliseconds write_progress{std::chrono::seconds(60)};
  std::chrono::milliseconds keepalive_idle{std::chrono::seconds(120)};
  int max_connections = 10'000;
  // How long a good password is remembered (directory/credential_cache.h).
  std::chrono::seconds credential_cache_ttl{std::chrono::minutes(5)};
  // Per-device request rate and concurrency (device_limiter.h).
  DeviceLimits device_limits;
  // The bridged link from the edge gateway (DESIGN.md 2, "Bridging and
  // delegation"): a second TLS listener that only accepts connections with a
  // client certificate issued by gateway_ca_file, and on it only requests
  // carrying a valid identity assertion signed with delegation_key_file
  // (crypto/identity_assertion.h). Empty gateway_listen = off.
  std::string gateway_listen;
  std::string gateway_ca_file;
  std::string delegation_key_file;
  // ValidateCert (MS-ASCMD 2.2.1.22): the roots S/MIME certificates must
  // chain to (PEM; empty = none trusted: every certificate is Status 4), how
  // revocation is judged when the device sets CheckCRL ("soft": what can be
  // had, unknown is fine; "hard": the leaf must have a CRL or OCSP answer;
  // "none"), and how long one CRL/OCSP fetch may take.
  std::string smime_trust_file;
  crypto::x509::RevocationMode revocation = crypto::x509::RevocationMode::soft;
  std::chrono::milliseconds revocation_timeout{std::chrono::seconds(5)};
};

// Reads [eas]; a listen address without cert_file and key_file is an error.
void readEasConfig(ConfigSection& section, EasConfig& out);

}  // namespace rampart::server::eas
