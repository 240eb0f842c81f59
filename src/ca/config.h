// The certificate authority role's configuration (`rampart ca serve --config
// FILE`, and the CA that `rampart up` runs in-process). Example with every key
// explained: config/ca.toml.
//
// One TOML file parsed into typed structs with defaults; unknown keys are an
// error naming file, line and key (core/config.h).
#pragma once

#include <chrono>
#include <string>

#include "ca/authority.h"
#include "core/config.h"
#include "core/error.h"

namespace rampart::ca {

// [est]: the EST link (RFC 7030). Only the edge gateway talks to it: mTLS with
// a client certificate chaining to gateway_ca_file, and a signed identity
// assertion (Rampart-Identity) on every request but GET cacerts.
struct EstConfig {
  std::string listen = "127.0.0.1:9444";  // empty: no EST listener
  std::string cert_file;                  // the CA's TLS server certificate for the link (PEM)
  std::string key_file;
  std::string gateway_ca_file;            // trust anchors for the gateway's client certificate
  std::string delegation_key_file;        // the assertion key shared with the gateway (0600)
  std::string default_template = "device";  // /.well-known/est/<op> without a label
  ByteSize body_limit{64 * 1024};
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds header_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds keepalive_idle{std::chrono::seconds(60)};
  int max_connections = 1000;
};

// [pki]: CRL and OCSP over plain HTTP (RFC 5280 4.2.1.13, RFC 6960 A.1).
struct PkiConfig {
  std::string listen = "127.0.0.1:8080";  // empty: no PKI listener
  // The base URL put into issued certificates (CRL distribution point and
  // OCSP in AuthorityInfoAccess); default "http://" + listen.
  std::string public_url;
  std::chrono::milliseconds refresh_interval{std::chrono::seconds(5)};  // Authority::refresh()
  int max_connections = 1000;
};

struct CaConfig {
  std::string data_dir = "/var/lib/rampart";
  // The SQLite database, shared with the mail server (its directory and the
  // CA's own tables); default <data_dir>/rampart.db, as server::databasePath.
  std::string database;
  std::string log_level = "info";
  // I/O threads for `rampart ca serve`; 0 = one per CPU core.
  int threads = 0;
  // authority.dir defaults to <data_dir>/ca; crl_url and ocsp_url are derived
  // from pki.public_url.
  AuthorityConfig authority;
  EstConfig est;
  PkiConfig pki;
};

// Loads and checks the whole file, then fills in the derived defaults
// (database, authority.dir, pki.public_url, authority.crl_url/ocsp_url).
// Errc::config_error with one "file:line: message" per problem.
Result<CaConfig> loadCaConfig(const std::string& path);
// The same from text, for tests; `source_name` stands in for the file name.
Result<CaConfig> parseCaConfig(std::string_view text, const std::string& source_name);

// Fills the derived defaults of a config built in code (what loadCaConfig
// does after reading): database, authority.dir, pki.public_url and the URLs.
void applyCaDefaults(CaConfig& config);

}  // namespace rampart::ca
