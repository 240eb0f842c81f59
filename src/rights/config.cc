// parseRightsConfig (rights/rights_server.h): the [rights] table, strict.
#include "core/config.h"

#include <utility>

#include "net/listener.h"
#include "rights/rights_server.h"

namespace rampart::rights {

Result<RightsConfig> parseRightsConfig(std::string_view toml, std::string_view source_name) {
  auto file = ConfigFile::parse(toml, std::string(source_name));
  if (!file) return fail(file.error());
  ConfigSection root = file->root();
  RightsConfig cfg;
  if (!root.has("rights")) root.error("", "no [rights] table");
  ConfigSection s = root.section("rights");
  s.read("data_dir", cfg.data_dir);
  s.read("database", cfg.database);
  s.read("listen", cfg.listen);
  s.read("tls_cert_file", cfg.tls_cert_file);
  s.read("tls_key_file", cfg.tls_key_file);
  s.read("gateway_ca_file", cfg.gateway_ca_file);
  s.read("assertion_key_file", cfg.assertion_key_file);
  s.read("audience", cfg.audience);

  if (root.has("rights")) {
    if (cfg.data_dir.empty()) s.error("data_dir", "required");
    if (cfg.audience.empty()) s.error("audience", "must not be empty");
    if (!cfg.listen.empty()) {
      if (!net::parseEndpoint(cfg.listen))
        s.error("listen", "expected host:port, e.g. 127.0.0.1:9445");
      // The listener is the gateway's only: mTLS plus an assertion, never less.
      if (cfg.tls_cert_file.empty()) s.error("tls_cert_file", "required when listen is set");
      if (cfg.tls_key_file.empty()) s.error("tls_key_file", "required when listen is set");
      if (cfg.gateway_ca_file.empty())
        s.error("gateway_ca_file", "required when listen is set (mTLS)");
      if (cfg.assertion_key_file.empty())
        s.error("assertion_key_file", "required when listen is set");
    }
  }
  if (auto st = file->finish(); !st) return fail(st.error());
  // The server's one database, as the CA's default (ca/config.h).
  if (cfg.database.empty()) cfg.database = cfg.data_dir + "/rampart.db";
  return cfg;
}

}  // namespace rampart::rights
