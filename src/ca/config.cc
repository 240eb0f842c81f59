#include "ca/config.h"

#include <algorithm>
#include <array>

#include "ca/template.h"
#include "core/ascii.h"
#include "net/listener.h"

namespace rampart::ca {

namespace {

bool isPositive(std::chrono::milliseconds d) { return d > std::chrono::milliseconds(0); }
bool isPositive(std::chrono::seconds d) { return d > std::chrono::seconds(0); }

void readAuthority(ConfigSection& s, AuthorityConfig& out) {
  s.read("dir", out.dir);
  s.read("organization", out.organization);
  s.read("root_name", out.root_name);
  s.read("issuing_name", out.issuing_name);
  if (s.has("key_type")) {
    std::string name;
    s.read("key_type", name);
    if (auto type = crypto::x509::parseKeyType(name)) {
      out.key_type = *type;
    } else {
      s.error("key_type", "must be one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096");
    }
  }
  s.read("root_lifetime", out.root_lifetime);
  s.read("issuing_lifetime", out.issuing_lifetime);
  s.read("crl_validity", out.crl_validity);
  s.read("ocsp_validity", out.ocsp_validity);
  s.read("retry_after", out.retry_after);
  s.read("import_root_cert", out.import_root_cert);
  s.read("import_root_key", out.import_root_key);
  s.read("import_issuing_cert", out.import_issuing_cert);
  s.read("import_issuing_key", out.import_issuing_key);

  if (out.organization.empty()) s.error("organization", "must not be empty");
  if (out.root_name.empty()) s.error("root_name", "must not be empty");
  if (out.issuing_name.empty()) s.error("issuing_name", "must not be empty");
  if (!isPositive(out.root_lifetime)) s.error("root_lifetime", "must be greater than zero");
  if (!isPositive(out.issuing_lifetime)) s.error("issuing_lifetime", "must be greater than zero");
  if (out.issuing_lifetime > out.root_lifetime) s.error("issuing_lifetime", "must not exceed root_lifetime");
  if (!isPositive(out.crl_validity)) s.error("crl_validity", "must be greater than zero");
  if (!isPositive(out.ocsp_validity)) s.error("ocsp_validity", "must be greater than zero");
  if (!isPositive(out.retry_after)) s.error("retry_after", "must be greater than zero");
  // A certificate without its key (or the reverse) cannot be imported.
  if (out.import_root_cert.empty() != out.import_root_key.empty()) {
    s.error("import_root_cert", "import_root_cert and import_root_key go together");
  }
  if (out.import_issuing_cert.empty() != out.import_issuing_key.empty()) {
    s.error("import_issuing_cert", "import_issuing_cert and import_issuing_key go together");
  }
  if (!out.import_issuing_cert.empty() && out.import_root_cert.empty()) {
    s.error("import_issuing_cert", "an imported issuing CA needs its root (import_root_cert)");
  }
}

void readEst(ConfigSection& s, EstConfig& out) {
  s.read("listen", out.listen);
  s.read("cert_file", out.cert_file);
  s.read("key_file", out.key_file);
  s.read("gateway_ca_file", out.gateway_ca_file);
  s.read("delegation_key_file", out.delegation_key_file);
  s.read("default_template", out.default_template);
  s.read("body_limit", out.body_limit);
  s.read("handshake_timeout", out.handshake_timeout);
  s.read("header_timeout", out.header_timeout);
  s.read("keepalive_idle", out.keepalive_idle);
  s.read("max_connections", out.max_connections, 1, 1'000'000);

  if (!out.listen.empty()) {
    if (!net::parseEndpoint(out.listen)) s.error("listen", "expected host:port, e.g. 127.0.0.1:9444");
    // The link is mTLS plus an assertion, never anything less.
    if (out.cert_file.empty()) s.error("cert_file", "required when [est] listen is set");
    if (out.key_file.empty()) s.error("key_file", "required when [est] listen is set");
    if (out.gateway_ca_file.empty()) s.error("gateway_ca_file", "required when [est] listen is set (mTLS)");
    if (out.delegation_key_file.empty()) s.error("delegation_key_file", "required when [est] listen is set");
  }
  if (!isValidTemplateName(out.default_template)) {
    s.error("default_template", "not a template name ([a-z0-9-]{1,64})");
  }
  // A CSR is at most 16 KiB of DER (crypto::x509::kMaxCsrDer), a third more in base64.
  if (out.body_limit.bytes < 1024 || out.body_limit.bytes > 1024 * 1024) {
    s.error("body_limit", "must be between 1KiB and 1MiB");
  }
  if (!isPositive(out.handshake_timeout)) s.error("handshake_timeout", "must be greater than zero");
  if (!isPositive(out.header_timeout)) s.error("header_timeout", "must be greater than zero");
  if (!isPositive(out.keepalive_idle)) s.error("keepalive_idle", "must be greater than zero");
}

void readPki(ConfigSection& s, PkiConfig& out) {
  s.read("listen", out.listen);
  s.read("public_url", out.public_url);
  s.read("refresh_interval", out.refresh_interval);
  s.read("max_connections", out.max_connections, 1, 1'000'000);
  if (!out.listen.empty() && !net::parseEndpoint(out.listen)) {
    s.error("listen", "expected host:port, e.g. 127.0.0.1:8080");
  }
  // RFC 5280 4.2.1.13 / RFC 6960: relying parties fetch these over plain
  // HTTP (an https URL would need a revocation check of its own).
  if (!out.public_url.empty()) {
    if (!startsWithIgnoreCase(out.public_url, "http://") || out.public_url.size() <= 7) {
      s.error("public_url", "must be an http:// URL, e.g. http://pki.example.org");
    } else if (out.public_url.find_first_of(" \t\r\n\"<>?#") != std::string::npos) {
      s.error("public_url", "must not contain spaces, quotes, '?' or '#'");
    }
  }
  if (!isPositive(out.refresh_interval)) s.error("refresh_interval", "must be greater than zero");
}

Result<CaConfig> readCaConfig(Result<ConfigFile> file) {
  if (!file) return fail(file.error());
  CaConfig cfg;
  ConfigSection root = file->root();
  root.read("data_dir", cfg.data_dir);
  root.read("database", cfg.database);
  root.read("log_level", cfg.log_level);
  root.read("threads", cfg.threads, 0, 256);
  if (cfg.data_dir.empty()) root.error("data_dir", "must not be empty");
  static constexpr std::array<std::string_view, 7> kLevels{"trace", "debug", "info", "warn",
                                                           "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), cfg.log_level) == kLevels.end()) {
    root.error("log_level", "must be one of trace, debug, info, warn, error, critical, off");
  }
  ConfigSection authority = root.section("authority");
  readAuthority(authority, cfg.authority);
  if (root.has("authority")) {
    // The URLs come from [pki] public_url, so that they match what is served.
    for (std::string_view key : {"crl_url", "ocsp_url"}) {
      if (authority.has(key)) authority.error(key, "set [pki] public_url instead");
    }
  }
  ConfigSection est = root.section("est");
  readEst(est, cfg.est);
  ConfigSection pki = root.section("pki");
  readPki(pki, cfg.pki);
  if (cfg.est.listen.empty() && cfg.pki.listen.empty()) {
    root.error("", "[est] listen and [pki] listen are both empty: nothing to serve");
  }
  if (auto st = file->finish(); !st) return fail(st.error());
  applyCaDefaults(cfg);
  return cfg;
}

}  // namespace

void applyCaDefaults(CaConfig& config) {
  if (config.database.empty()) config.database = config.data_dir + "/rampart.db";
  if (config.authority.dir.empty()) config.authority.dir = config.data_dir + "/ca";
  if (config.pki.public_url.empty() && !config.pki.listen.empty()) {
    config.pki.public_url = "http://" + config.pki.listen;
  }
  while (!config.pki.public_url.empty() && config.pki.public_url.back() == '/') config.pki.public_url.pop_back();
  if (!config.pki.public_url.empty()) {
    if (config.authority.crl_url.empty()) config.authority.crl_url = config.pki.public_url + "/crl/issuing.crl";
    if (config.authority.ocsp_url.empty()) config.authority.ocsp_url = config.pki.public_url + "/ocsp";
  }
}

Result<CaConfig> loadCaConfig(const std::string& path) { return readCaConfig(ConfigFile::load(path)); }

Result<CaConfig> parseCaConfig(std::string_view text, const std::string& source_name) {
  return readCaConfig(ConfigFile::parse(text, source_name));
}

}  // namespace rampart::ca
