// The edge gateway's configuration (`rampart gateway run --config FILE`).
//
// One TOML file parsed into these structs (core/config.h: unknown keys are an
// error with file and line). The listener, certificates, guards and
// authentication back-ends are global; what is published, and how, is a list
// of [[rule]] tables. `rampart gateway publish` writes rules for known
// services (publish.h); config/gateway.toml documents every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace rampart::gateway {

using std::chrono::milliseconds;

// A certificate served for one or more names (SNI). The first [[certificate]]
// is the default for clients that send no name or an unknown one.
struct CertificateConfig {
  std::vector<std::string> names;  // "mail.example.org", "*.example.org"
  std::string cert_file;           // PEM chain, leaf first
  std::string key_file;
  // A DER OCSP response for the leaf, stapled to handshakes (RFC 6066 8);
  // re-read on reload. Empty: no stapling.
  std::string ocsp_staple_file;
};

// [listener]: the one public TLS port and the per-phase deadlines of a client
// connection (the DoS guards that are about time).
struct ListenerConfig {
  std::string listen = ":443";
  std::string profile = "modern";  // "modern" or "fips" (tls/context.h)
  int threads = 1;                 // I/O threads, each with its own acceptor (SO_REUSEPORT)
  milliseconds handshake_timeout{std::chrono::seconds(10)};
  // From accept to the end of the first request's headers: a hard deadline that
  // bytes trickled in do not extend (the seed's IIS "Connection Timeout").
  milliseconds first_request_timeout{std::chrono::seconds(120)};
  // The same for later requests on a keep-alive connection, counted from the
  // first byte; between requests the connection may idle keepalive_idle.
  milliseconds header_timeout{std::chrono::seconds(30)};
  milliseconds keepalive_idle{std::chrono::seconds(60)};
  // Request body: each read must progress within body_progress, and the body
  // as a whole must arrive at min_body_rate bytes/s (after a 10 s grace).
  milliseconds body_progress{std::chrono::seconds(30)};
  std::uint64_t min_body_rate = 1024;
  // Response: each write must progress within write_progress, or the client
  // (which does not read) is cut off and its buffers freed.
  milliseconds write_progress{std::chrono::seconds(30)};
  ByteSize header_limit{32 * 1024};
  int max_headers = 64;
  // How long a stop waits for requests in flight (parked Pings are answered
  // at once by the backend's own drain, or cut).
  milliseconds drain_timeout{std::chrono::seconds(10)};
};

// [limits]: connection and request-rate guards; TMG's flood-mitigation
// defaults (REFERENCES.md "Edge").
struct LimitsConfig {
  int max_connections = 20'000;          // global cap: beyond it accepting pauses
  int per_ip_connections = 160;
  int per_ip_connects_per_minute = 600;
  int unauthenticated_connections = 5'000;  // connections with no authenticated request yet
  std::vector<std::string> exceptions;   // CIDRs with no per-IP limits ("10.0.0.0/8")
  int per_user_requests_per_minute = 1'200;
  int per_device_requests_per_minute = 600;
  // Failed logins: backoff after `failure_free` failures, hard lockout of the
  // source IP after `ip_lockout_failures` within `failure_window`.
  int failure_free = 3;
  int ip_lockout_failures = 30;
  milliseconds failure_window{std::chrono::minutes(15)};
  milliseconds lockout_time{std::chrono::minutes(15)};
};

struct LdapConfig {
  std::string uri;
  bool start_tls = false;
  std::string ca_file;
  std::string user_dn_template;  // "uid={user},ou=people,dc=example,dc=org"
  std::string search_base, search_filter, bind_dn, bind_password_file;
  milliseconds timeout{std::chrono::seconds(5)};
  int pool_size = 4;
};

struct ClientCertConfig {
  std::string ca_file;                 // trust anchors for client certificates
  std::vector<std::string> crl_files;  // re-read on reload and every crl_refresh
  // http:// CRL distribution points, fetched at start and every crl_refresh
  // (DER or PEM, at most 16 MiB, 10 s); a fetched CRL replaces the previous
  // one from its URL only when it parses and its issuer (in ca_file) signed it.
  std::vector<std::string> crl_urls;
  // How often CRLs are re-read and re-fetched, and the longest an OCSP answer
  // is cached: a revocation is seen within this interval (issue 5).
  milliseconds crl_refresh{std::chrono::seconds(60)};
  // "chain": the CRL of every certificate in the path (RFC 5280 6.3); "leaf":
  // only the end entity's (a CA that publishes only its issuing CA's CRL).
  std::string crl_check = "chain";
  std::string mapping = "san_email";   // san_email[_local] | san_upn[_local] | subject_cn | subject_uid
  std::string domain;                  // required e-mail/UPN domain, stripped; empty = any
  std::string ocsp_url;                // empty: from the certificate's AIA, or no OCSP
  bool ocsp = false;
};

struct RadiusConfig {
  std::vector<std::string> servers;  // "127.0.0.1:1812"
  std::string secret_file;
  std::string nas_identifier = "rampart-gateway";
  milliseconds timeout{std::chrono::seconds(3)};
  int retries = 2;
};

struct OtpConfig {
  int totp_window = 1;   // steps accepted either side of now (clock drift)
  int hotp_window = 10;  // counters accepted ahead
};

// [auth]: where credentials are checked.
struct AuthConfig {
  std::string directory = "builtin";  // "builtin" (SQLite under directory_data_dir) or "ldap"
  std::string directory_data_dir;     // the mail server's data_dir for "builtin"
  std::chrono::seconds cache_ttl{std::chrono::minutes(5)};
  // After a good second factor, (user, DeviceId) passes with the password alone
  // for this long, so that Direct Push keeps working.
  milliseconds remember_device{std::chrono::hours(24 * 7)};
  LdapConfig ldap;
  ClientCertConfig client_cert;
  RadiusConfig radius;
  OtpConfig otp;
};

enum class AuthMethod : std::uint8_t {
  none,
  basic,             // password (Basic over TLS)
  certificate,       // TLS client certificate mapped to a user
  certificate_basic, // both, naming the same user
  basic_otp,         // password + native TOTP/HOTP code
  basic_radius,      // password + code checked by a RADIUS server
  // The TLS client certificate when the client presented one (a bad one is
  // refused, never downgraded), else Basic as for `basic` (EST: first
  // enrollment with the password, re-enrollment with the certificate).
  certificate_or_basic,
};
Result<AuthMethod> parseAuthMethod(std::string_view text);
std::string_view authMethodName(AuthMethod method);
bool usesPassword(AuthMethod method);
bool usesSecondFactor(AuthMethod method);
// Whether the method checks the TLS client certificate (needs [auth.client_cert]).
bool usesCertificate(AuthMethod method);

enum class Service : std::uint8_t { web, eas, autodiscover, est };
Result<Service> parseService(std::string_view text);
std::string_view serviceName(Service service);

// One published path. A request is matched by host (exact, "*.domain", or
// "*") and the longest path prefix, compared at segment boundaries.
struct RuleConfig {
  std::string name;
  std::string host = "*";
  std::string path = "/";
  std::vector<std::string> methods;  // empty = GET and HEAD
  Service service = Service::web;
  AuthMethod auth = AuthMethod::basic;
  std::string realm = "Rampart";
  // Backend: "host:port". TLS to it unless backend_tls = false (loopback only).
  std::string backend;
  bool backend_tls = true;
  bool backend_h2 = false;            // multiplex over HTTP/2 (mail server with ALPN h2)
  std::string backend_ca_file;        // to verify the backend
  std::string backend_server_name;    // name to verify; default the backend host
  std::string client_cert_file;       // the gateway's own certificate (mTLS)
  std::string client_key_file;
  int backend_connections = 64;       // idle HTTP/1.1 connections kept per thread
  milliseconds connect_timeout{std::chrono::seconds(5)};
  milliseconds response_timeout{std::chrono::seconds(120)};
  // Authenticated long-poll requests (EAS Ping, Sync with Wait) may wait this
  // long for the backend's answer; never on an unauthenticated rule.
  milliseconds long_poll_timeout{0};
  ByteSize body_limit{1024 * 1024};
  // Send the signed identity assertion (crypto/identity_assertion.h).
  bool delegate = false;
};

// [delegation]: the key the gateway signs identity assertions with.
struct DelegationConfig {
  std::string key_file;
  milliseconds ttl{std::chrono::seconds(60)};
};

struct AdminConfig {
  std::string listen;  // loopback HTTP: /healthz, /metrics, /connections; empty = off
};

struct GatewayConfig {
  std::string data_dir = "/var/lib/rampart-gateway";  // second-factor state
  std::string log_level = "info";
  std::string access_log = "-";  // "-" = stdout through the logger; a path; "" = off
  ListenerConfig listener;
  std::vector<CertificateConfig> certificates;
  LimitsConfig limits;
  AuthConfig auth;
  DelegationConfig delegation;
  AdminConfig admin;
  std::vector<RuleConfig> rules;
};

// Loads and checks the whole file, including the safety checks of
// checkRule(). Errors come back as Errc::config_error, one "file:line: ..."
// per line.
Result<GatewayConfig> loadGatewayConfig(const std::string& path);
Result<GatewayConfig> parseGatewayConfig(std::string_view text, const std::string& source_name);

// The combinations a rule must not have, as messages (empty = safe): plain
// HTTP to a non-loopback backend, a long-poll timeout without
// authentication, delegation without authentication or without TLS to the
// backend... Used by the loader and by the publish wizard.
std::vector<std::string> checkRule(const RuleConfig& rule, const GatewayConfig& config);

// The host part of a "host:port" or "[v6]:port" endpoint.
std::string endpointHost(const std::string& endpoint);

// Whether `host` (no port, no brackets) is "localhost" or a loopback address
// literal (127.0.0.0/8, ::1, ::ffff:127.x).
bool isLoopbackHost(std::string_view host);

}  // namespace rampart::gateway
