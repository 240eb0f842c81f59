#include "gateway/config.h"

#include <algorithm>
#include <array>
#include <set>

#include "gateway/rules.h"
#include "net/listener.h"

namespace rampart::gateway {

namespace {

constexpr std::array<std::pair<AuthMethod, std::string_view>, 7> kAuthNames{{
    {AuthMethod::none, "none"},
    {AuthMethod::basic, "basic"},
    {AuthMethod::certificate, "certificate"},
    {AuthMethod::certificate_basic, "certificate+basic"},
    {AuthMethod::basic_otp, "basic+otp"},
    {AuthMethod::basic_radius, "basic+radius"},
    {AuthMethod::certificate_or_basic, "certificate_or_basic"},
}};

constexpr std::array<std::pair<Service, std::string_view>, 4> kServiceNames{{
    {Service::web, "web"},
    {Service::eas, "eas"},
    {Service::autodiscover, "autodiscover"},
    {Service::est, "est"},
}};

// RFC 9110 5.6.2 token characters, for method names.
bool isToken(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

bool positive(milliseconds d) { return d > milliseconds(0); }

// The host of a URI ("ldap://[::1]:389/dc=x" -> "::1"); empty without "://".
std::string uriHost(std::string_view uri) {
  auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view authority = uri.substr(scheme_end + 3);
  return std::string(hostWithoutPort(authority.substr(0, authority.find('/'))));
}

void readListener(ConfigSection s, ListenerConfig& out) {
  s.read("listen", out.listen);
  s.read("profile", out.profile);
  s.read("threads", out.threads, 1, 256);
  s.read("handshake_timeout", out.handshake_timeout);
  s.read("first_request_timeout", out.first_request_timeout);
  s.read("header_timeout", out.header_timeout);
  s.read("keepalive_idle", out.keepalive_idle);
  s.read("body_progress", out.body_progress);
  ByteSize rate{out.min_body_rate};
  s.read("min_body_rate", rate);
  out.min_body_rate = rate.bytes;
  s.read("write_progress", out.write_progress);
  s.read("header_limit", out.header_limit);
  s.read("max_headers", out.max_headers, 8, 1000);
  s.read("drain_timeout", out.drain_timeout);
  if (!net::parseEndpoint(out.listen)) s.error("listen", "expected host:port, e.g. :443");
  if (out.profile != "modern" && out.profile != "fips") s.error("profile", "must be modern or fips");
  for (auto [key, d] : {std::pair{"handshake_timeout", out.handshake_timeout},
                        {"first_request_timeout", out.first_request_timeout},
                        {"header_timeout", out.header_timeout},
                        {"keepalive_idle", out.keepalive_idle},
                        {"body_progress", out.body_progress},
                        {"write_progress", out.write_progress}}) {
    if (!positive(d)) s.error(key, "must be greater than zero");
  }
  if (out.header_limit.bytes < 1024 || out.header_limit.bytes > 1024 * 1024) {
    s.error("header_limit", "must be between 1KiB and 1MiB");
  }
}

void readLimits(ConfigSection s, LimitsConfig& out) {
  s.read("max_connections", out.max_connections, 1, 10'000'000);
  s.read("per_ip_connections", out.per_ip_connections, 1, 10'000'000);
  s.read("per_ip_connects_per_minute", out.per_ip_connects_per_minute, 1, 10'000'000);
  s.read("unauthenticated_connections", out.unauthenticated_connections, 1, 10'000'000);
  s.read("exceptions", out.exceptions);
  s.read("per_user_requests_per_minute", out.per_user_requests_per_minute, 1, 10'000'000);
  s.read("per_device_requests_per_minute", out.per_device_requests_per_minute, 1, 10'000'000);
  s.read("failure_free", out.failure_free, 0, 1000);
  s.read("ip_lockout_failures", out.ip_lockout_failures, 1, 1'000'000);
  s.read("failure_window", out.failure_window);
  s.read("lockout_time", out.lockout_time);
}

void readAuth(ConfigSection s, AuthConfig& out) {
  s.read("directory", out.directory);
  s.read("directory_data_dir", out.directory_data_dir);
  s.read("cache_ttl", out.cache_ttl);
  s.read("remember_device", out.remember_device);
  if (out.directory != "builtin" && out.directory != "ldap") {
    s.error("directory", "must be builtin or ldap");
  }
  ConfigSection ldap = s.section("ldap");
  ldap.read("uri", out.ldap.uri);
  ldap.read("start_tls", out.ldap.start_tls);
  ldap.read("ca_file", out.ldap.ca_file);
  ldap.read("user_dn_template", out.ldap.user_dn_template);
  ldap.read("search_base", out.ldap.search_base);
  ldap.read("search_filter", out.ldap.search_filter);
  ldap.read("bind_dn", out.ldap.bind_dn);
  ldap.read("bind_password_file", out.ldap.bind_password_file);
  ldap.read("timeout", out.ldap.timeout);
  ldap.read("pool_size", out.ldap.pool_size, 1, 256);
  if (out.directory == "ldap") {
    if (out.ldap.uri.empty()) ldap.error("uri", "required when auth.directory = \"ldap\"");
    if (out.ldap.user_dn_template.empty() == out.ldap.search_filter.empty()) {
      ldap.error("", "set exactly one of user_dn_template and search_filter");
    }
    bool ldaps = out.ldap.uri.rfind("ldaps://", 0) == 0;
    if (!ldaps && !out.ldap.start_tls && !isLoopbackHost(uriHost(out.ldap.uri))) {
      ldap.error("start_tls", "passwords to a remote LDAP server need ldaps:// or start_tls = true");
    }
  } else if (out.directory_data_dir.empty()) {
    s.error("directory_data_dir", "required for the builtin directory (the mail server's data_dir)");
  }
  ConfigSection cert = s.section("client_cert");
  cert.read("ca_file", out.client_cert.ca_file);
  cert.read("crl_files", out.client_cert.crl_files);
  cert.read("mapping", out.client_cert.mapping);
  cert.read("domain", out.client_cert.domain);
  cert.read("ocsp_url", out.client_cert.ocsp_url);
  cert.read("ocsp", out.client_cert.ocsp);
  cert.read("crl_urls", out.client_cert.crl_urls);
  cert.read("crl_refresh", out.client_cert.crl_refresh);
  cert.read("crl_check", out.client_cert.crl_check);
  for (const std::string& url : out.client_cert.crl_urls) {
    // Plain HTTP by design (RFC 5280 4.2.1.13; the CRL is signed), host:port after the scheme.
    std::string_view rest = std::string_view(url).substr(std::min<std::size_t>(url.size(), 7));
    std::string authority(rest.substr(0, rest.find('/')));
    if (url.rfind("http://", 0) != 0 || authority.empty()) {
      cert.error("crl_urls", "'" + url + "' is not an http:// URL");
    }
  }
  if (out.client_cert.crl_refresh < std::chrono::seconds(1) || out.client_cert.crl_refresh > std::chrono::hours(24)) {
    cert.error("crl_refresh", "must be between 1s and 24h");
  }
  if (out.client_cert.crl_check != "chain" && out.client_cert.crl_check != "leaf") {
    cert.error("crl_check", "must be chain or leaf");
  }
  static constexpr std::array<std::string_view, 6> kMappings{
      "san_email", "san_email_local", "san_upn", "san_upn_local", "subject_cn", "subject_uid"};
  if (std::find(kMappings.begin(), kMappings.end(), out.client_cert.mapping) == kMappings.end()) {
    cert.error("mapping", "must be san_email, san_email_local, san_upn, san_upn_local, subject_cn or subject_uid");
  }
  ConfigSection radius = s.section("radius");
  radius.read("servers", out.radius.servers);
  radius.read("secret_file", out.radius.secret_file);
  radius.read("nas_identifier", out.radius.nas_identifier);
  radius.read("timeout", out.radius.timeout);
  radius.read("retries", out.radius.retries, 0, 10);
  for (const auto& server : out.radius.servers) {
    if (!net::parseEndpoint(server)) radius.error("servers", "'" + server + "' is not host:port");
  }
  ConfigSection otp = s.section("otp");
  otp.read("totp_window", out.otp.totp_window, 0, 10);
  otp.read("hotp_window", out.otp.hotp_window, 0, 100);
}

void readRule(ConfigSection s, RuleConfig& out) {
  s.read("name", out.name);
  s.read("host", out.host);
  s.read("path", out.path);
  s.read("methods", out.methods);
  std::string service = "web";
  s.read("service", service);
  if (auto v = parseService(service)) out.service = *v;
  else s.error("service", "must be web, eas, autodiscover or est");
  std::string auth = "basic";
  s.read("auth", auth);
  if (auto v = parseAuthMethod(auth)) out.auth = *v;
  else {
    s.error("auth",
            "must be none, basic, certificate, certificate+basic, certificate_or_basic, basic+otp or "
            "basic+radius");
  }
  s.read("realm", out.realm);
  s.read("backend", out.backend);
  s.read("backend_tls", out.backend_tls);
  s.read("backend_h2", out.backend_h2);
  s.read("backend_ca_file", out.backend_ca_file);
  s.read("backend_server_name", out.backend_server_name);
  s.read("client_cert_file", out.client_cert_file);
  s.read("client_key_file", out.client_key_file);
  s.read("backend_connections", out.backend_connections, 0, 100'000);
  s.read("connect_timeout", out.connect_timeout);
  s.read("response_timeout", out.response_timeout);
  s.read("long_poll_timeout", out.long_poll_timeout);
  s.read("body_limit", out.body_limit);
  s.read("delegate", out.delegate);
  if (out.name.empty()) s.error("name", "required");
  if (out.path.empty() || out.path.front() != '/') s.error("path", "must start with /");
  if (out.host.empty()) s.error("host", "required (\"*\" for any)");
  for (auto& m : out.methods) {
    if (!isToken(m)) s.error("methods", "'" + m + "' is not a method name");
    std::transform(m.begin(), m.end(), m.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  }
  if (out.methods.empty()) out.methods = {"GET", "HEAD"};
  if (!net::parseEndpoint(out.backend)) s.error("backend", "expected host:port");
  if (!positive(out.connect_timeout)) s.error("connect_timeout", "must be greater than zero");
  if (!positive(out.response_timeout)) s.error("response_timeout", "must be greater than zero");
}

Result<GatewayConfig> readGatewayConfig(Result<ConfigFile> file) {
  if (!file) return fail(file.error());
  GatewayConfig cfg;
  ConfigSection root = file->root();
  root.read("data_dir", cfg.data_dir);
  root.read("log_level", cfg.log_level);
  root.read("access_log", cfg.access_log);
  if (cfg.data_dir.empty()) root.error("data_dir", "must not be empty");
  readListener(root.section("listener"), cfg.listener);
  for (ConfigSection c : root.sections("certificate")) {
    CertificateConfig cert;
    c.read("names", cert.names);
    c.read("cert_file", cert.cert_file);
    c.read("key_file", cert.key_file);
    c.read("ocsp_staple_file", cert.ocsp_staple_file);
    if (cert.cert_file.empty() || cert.key_file.empty()) c.error("", "cert_file and key_file are required");
    cfg.certificates.push_back(std::move(cert));
  }
  if (cfg.certificates.empty()) root.error("", "at least one [[certificate]] is required");
  readLimits(root.section("limits"), cfg.limits);
  readAuth(root.section("auth"), cfg.auth);
  ConfigSection delegation = root.section("delegation");
  delegation.read("key_file", cfg.delegation.key_file);
  delegation.read("ttl", cfg.delegation.ttl);
  ConfigSection admin = root.section("admin");
  admin.read("listen", cfg.admin.listen);
  if (!cfg.admin.listen.empty() && !net::parseEndpoint(cfg.admin.listen)) {
    admin.error("listen", "expected host:port");
  }
  std::vector<ConfigSection> rule_sections = root.sections("rule");
  std::set<std::string> names;
  for (ConfigSection r : rule_sections) {
    RuleConfig rule;
    readRule(r, rule);
    if (!names.insert(rule.name).second) r.error("name", "'" + rule.name + "' is used twice");
    for (const std::string& problem : checkRule(rule, cfg)) r.error("", problem);
    cfg.rules.push_back(std::move(rule));
  }
  if (cfg.rules.empty()) root.error("", "nothing is published: add a [[rule]]");
  if (auto st = file->finish(); !st) return fail(st.error());
  return cfg;
}

}  // namespace

Result<AuthMethod> parseAuthMethod(std::string_view text) {
  for (auto [method, name] : kAuthNames) {
    if (name == text) return method;
  }
  return fail(Errc::invalid_argument, "unknown authentication '" + std::string(text) + "'");
}

std::string_view authMethodName(AuthMethod method) {
  for (auto [m, name] : kAuthNames) {
    if (m == method) return name;
  }
  return "none";
}

bool usesPassword(AuthMethod method) {
  return method == AuthMethod::basic || method == AuthMethod::certificate_basic ||
         method == AuthMethod::basic_otp || method == AuthMethod::basic_radius ||
         method == AuthMethod::certificate_or_basic;
}

bool usesCertificate(AuthMethod method) {
  return method == AuthMethod::certificate || method == AuthMethod::certificate_basic ||
         method == AuthMethod::certificate_or_basic;
}

bool usesSecondFactor(AuthMethod method) {
  return method == AuthMethod::basic_otp || method == AuthMethod::basic_radius ||
         method == AuthMethod::certificate_basic;
}

Result<Service> parseService(std::string_view text) {
  for (auto [service, name] : kServiceNames) {
    if (name == text) return service;
  }
  return fail(Errc::invalid_argument, "unknown service '" + std::string(text) + "'");
}

std::string_view serviceName(Service service) {
  for (auto [s, name] : kServiceNames) {
    if (s == service) return name;
  }
  return "web";
}

std::string endpointHost(const std::string& endpoint) {
  if (!endpoint.empty() && endpoint.front() == '[') {
    auto close = endpoint.find(']');
    return close == std::string::npos ? endpoint : endpoint.substr(1, close - 1);
  }
  return endpoint.substr(0, endpoint.rfind(':'));
}

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  // An address literal, not a name that merely starts with "127.".
  boost::system::error_code ec;
  auto address = net::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::vector<std::string> checkRule(const RuleConfig& rule, const GatewayConfig& config) {
  std::vector<std::string> problems;
  std::string host = endpointHost(rule.backend);
  if (!rule.backend_tls && !isLoopbackHost(host)) {
    problems.push_back("plain HTTP to the remote backend " + rule.backend +
                       ": set backend_tls = true (bridging)");
  }
  if (rule.backend_h2 && !rule.backend_tls) {
    problems.push_back("backend_h2 needs backend_tls (HTTP/2 is negotiated by ALPN)");
  }
  if (rule.auth == AuthMethod::none && rule.long_poll_timeout > milliseconds(0)) {
    problems.push_back("a long_poll_timeout on a rule without authentication lets anyone park "
                       "connections: set auth or remove long_poll_timeout");
  }
  if (rule.auth == AuthMethod::none && rule.delegate) {
    problems.push_back("delegate = true needs an authenticated rule");
  }
  if (rule.delegate && config.delegation.key_file.empty()) {
    problems.push_back("delegate = true needs [delegation] key_file");
  }
  if (rule.delegate && !rule.backend_tls) {
    problems.push_back("delegate = true needs backend_tls: the assertion must not cross the network in clear");
  }
  if (rule.service == Service::eas && rule.auth == AuthMethod::none) {
    problems.push_back("Exchange ActiveSync must be pre-authenticated: set auth");
  }
  if (usesCertificate(rule.auth) && config.auth.client_cert.ca_file.empty()) {
    problems.push_back(std::string(authMethodName(rule.auth)) + " needs [auth.client_cert] ca_file");
  }
  if (rule.auth == AuthMethod::basic_radius && config.auth.radius.servers.empty()) {
    problems.push_back("basic+radius needs [auth.radius] servers");
  }
  if (rule.client_cert_file.empty() != rule.client_key_file.empty()) {
    problems.push_back("client_cert_file and client_key_file go together");
  }
  if (rule.long_poll_timeout > std::chrono::hours(1)) {
    problems.push_back("long_poll_timeout above 1h (EAS Ping's limit is 3540 s)");
  }
  return problems;
}

Result<GatewayConfig> loadGatewayConfig(const std::string& path) {
  return readGatewayConfig(ConfigFile::load(path));
}

Result<GatewayConfig> parseGatewayConfig(std::string_view text, const std::string& source_name) {
  return readGatewayConfig(ConfigFile::parse(text, source_name));
}

}  // namespace rampart::gateway
