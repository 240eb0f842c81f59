#include "gateway/authenticator.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include "core/log.h"
#include "directory/builtin_directory.h"
#include "directory/credential_cache.h"
#include "gateway/auth/client_cert.h"
#include "gateway/auth/ldap_authenticator.h"
#include "gateway/auth/otp.h"
#include "gateway/auth/radius_client.h"
#include "gateway/auth/second_factor_store.h"
#include "gateway/guard/auth_failures.h"
#include "http/basic_auth.h"
#include "http/client.h"
#include "net/blocking.h"
#include "net/listener.h"

namespace rampart::gateway {

namespace asio = boost::asio;
using net::Task;
using Kind = AuthVerdict::Kind;

namespace {

Result<std::string> readSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::config_error, path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return fail(Errc::config_error, path + ": empty");
  return text;
}

// An LDAP bind seen through the Directory interface, so the credential cache
// (and its single-flight of concurrent misses) serves LDAP exactly as it
// serves the built-in directory. Only authenticate() is used.
class LdapDirectory final : public directory::Directory {
 public:
  explicit LdapDirectory(std::unique_ptr<LdapAuthenticator> ldap) : ldap_(std::move(ldap)) {}
  Result<std::optional<directory::User>> findUser(std::string_view) override {
    return fail(Errc::internal, "not used");
  }
  Result<std::optional<directory::User>> findByAddress(std::string_view) override {
    return fail(Errc::internal, "not used");
  }
  Result<directory::AuthOutcome> authenticate(std::string_view name, std::string_view password) override {
    auto outcome = ldap_->authenticate(name, password);
    if (!outcome) return fail(outcome.error());
    return *outcome == LdapOutcome::ok ? directory::AuthOutcome::ok
                                       : directory::AuthOutcome::bad_credentials;
  }
  Result<std::vector<std::string>> groupsOf(std::string_view) override { return std::vector<std::string>{}; }

 private:
  std::unique_ptr<LdapAuthenticator> ldap_;
};

auth::CertUserSource certUserSource(std::string_view name) {
  using S = auth::CertUserSource;
  if (name == "san_email_local") return S::san_email_local;
  if (name == "san_upn") return S::san_upn;
  if (name == "san_upn_local") return S::san_upn_local;
  if (name == "subject_cn") return S::subject_cn;
  if (name == "subject_uid") return S::subject_uid;
  return S::san_email;
}

// OCSP queries (RFC 6960 A.1: POST of the DER request) for the certificate
// policy, which calls this from the authenticator's worker pool: a private
// io_context runs one HTTP exchange to completion.
Result<std::string> ocspOverHttp(std::string url, std::string der_request) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return fail(Errc::invalid_argument, "OCSP responder must be http://");
  std::string rest = url.substr(kScheme.size());
  std::string authority = rest.substr(0, rest.find('/'));
  std::string path = rest.size() > authority.size() ? rest.substr(authority.size()) : "/";
  if (authority.find(':') == std::string::npos) authority += ":80";
  auto endpoint = net::parseEndpoint(authority);
  if (!endpoint) return fail(Errc::invalid_argument, "OCSP responder " + url);
  http::Request req{http::Verb::post, path, 11};
  req.set(http::Field::host, authority);
  req.set(http::Field::content_type, "application/ocsp-request");
  req.body() = std::move(der_request);
  http::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(3);
  options.io_timeout = std::chrono::seconds(5);
  options.body_limit = 64 * 1024;
  asio::io_context io(1);
  auto future = asio::co_spawn(io, http::fetch(*endpoint, std::move(req), options), asio::use_future);
  io.run();
  Result<http::Response> res = future.get();
  if (!res) return fail(res.error());
  if (res->result() != http::Status::ok) return fail(Errc::unavailable, "OCSP responder answered " + std::to_string(res->result_int()));
  return std::move(res->body());
}

// CRL distribution points (RFC 5280 4.2.1.13): a plain GET, the body DER or
// PEM, at most 16 MiB within 10 s. Runs on the refresher's own thread.
Result<std::string> crlOverHttp(std::string url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return fail(Errc::invalid_argument, "CRL URL must be http://");
  std::string rest = url.substr(kScheme.size());
  std::string authority = rest.substr(0, rest.find('/'));
  std::string path = rest.size() > authority.size() ? rest.substr(authority.size()) : "/";
  std::string host = authority;
  if (authority.empty() || authority.back() == ']' || authority.find(':') == std::string::npos) authority += ":80";
  auto endpoint = net::parseEndpoint(authority);
  if (!endpoint) return fail(Errc::invalid_argument, "CRL URL " + url);
  http::Request req{http::Verb::get, path, 11};
  req.set(http::Field::host, host);
  req.set(http::Field::accept, "application/pkix-crl, */*");
  http::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(10);
  options.io_timeout = std::chrono::seconds(10);
  options.body_limit = 16 * 1024 * 1024;
  asio::io_context io(1);
  auto future = asio::co_spawn(io, http::fetch(*endpoint, std::move(req), options), asio::use_future);
  // The whole exchange within 10 s, however slowly the bytes trickle in.
  io.run_for(std::chrono::seconds(10));
  if (!io.stopped()) {
    // Destroying the io_context destroys the unfinished exchange (and its socket).
    return fail(Errc::timeout, "no answer within 10 s");
  }
  Result<http::Response> res = future.get();
  if (!res) return fail(res.error());
  if (res->result() != http::Status::ok) return fail(Errc::unavailable, "answered " + std::to_string(res->result_int()));
  return std::move(res->body());
}

std::string methodName(AuthMethod m) { return std::string(authMethodName(m)); }

AuthVerdict verdict(Kind kind, std::string reason) {
  AuthVerdict v;
  v.kind = kind;
  v.reason = std::move(reason);
  return v;
}

}  // namespace

struct Authenticator::Impl {
  GatewayConfig config;
  Clock& clock = systemClock();
  asio::thread_pool pool{2};
  std::unique_ptr<directory::Directory> directory;
  std::unique_ptr<directory::CredentialCache> cache;
  bool builtin = false;  // the built-in directory resolves user@domain to a name
  std::unique_ptr<auth::SecondFactorStore> second_factor;
  std::shared_ptr<auth::ClientCertPolicy> cert_policy;
  std::unique_ptr<auth::CrlRefresher> crl_refresher;  // after cert_policy: stopped first
  std::optional<auth::RadiusClientConfig> radius;
  guard::AuthFailures failures;
  Counter* ok = nullptr;
  Counter* bad = nullptr;
  Counter* locked = nullptr;
  Counter* errors = nullptr;
  // (user, device) pairs that passed a second factor, until when: in front of
  // the store so that a parked device's every request is not a disk read.
  std::mutex remembered_mutex;
  std::unordered_map<std::string, std::chrono::system_clock::time_point> remembered;
  // RADIUS Access-Challenge State per user/device, for the next attempt.
  std::mutex challenge_mutex;
  std::unordered_map<std::string, std::string> challenges;

  explicit Impl(const GatewayConfig& c, guard::AuthFailureConfig fc)
      : config(c), failures(fc) {}

  Task<AuthVerdict> authenticate(const AuthRequest& req);
  // Parameters by reference to the caller's named locals (docs/decisions/0002).
  Task<AuthVerdict> password(const AuthRequest& req, const std::string& user, const std::string& secret);
  Task<Result<bool>> checkPassword(const std::string& user, const std::string& password);
  Task<AuthVerdict> secondFactor(const AuthRequest& req, const std::string& user, const std::string& secret);
  Task<AuthVerdict> certificate(const AuthRequest& req);
  AuthVerdict failed(const AuthRequest& req, const std::string& user, AuthVerdict v);
  bool isRemembered(const std::string& key);
  void remember(const std::string& user, const std::string& device);
};

Authenticator::Authenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authenticator::~Authenticator() {
  if (impl_) impl_->pool.join();
}

Result<std::unique_ptr<Authenticator>> Authenticator::create(const GatewayConfig& config,
                                                             MetricsRegistry& metrics) {
  guard::AuthFailureConfig fc;
  fc.window = config.limits.failure_window;
  fc.free_failures = static_cast<std::uint32_t>(config.limits.failure_free);
  fc.ip_lockout_after = static_cast<std::uint32_t>(config.limits.ip_lockout_failures);
  fc.ip_lockout = config.limits.lockout_time;
  auto impl = std::make_unique<Impl>(config, fc);
  const AuthConfig& a = config.auth;
  bool needs_password = false, needs_otp = false;
  for (const RuleConfig& r : config.rules) {
    // Certificate users are looked up in the directory too.
    needs_password |= usesPassword(r.auth) || usesCertificate(r.auth);
    needs_otp |= r.auth == AuthMethod::basic_otp || r.auth == AuthMethod::basic_radius;
  }
  if (needs_password) {
    if (a.directory == "ldap") {
      LdapOptions o;
      o.uri = a.ldap.uri;
      o.start_tls = a.ldap.start_tls;
      o.ca_file = a.ldap.ca_file;
      o.user_dn_template = a.ldap.user_dn_template;
      o.search_base = a.ldap.search_base;
      o.search_filter = a.ldap.search_filter;
      o.bind_dn = a.ldap.bind_dn;
      if (!a.ldap.bind_password_file.empty()) {
        auto pw = readSecretFile(a.ldap.bind_password_file);
        if (!pw) return fail(pw.error());
        o.bind_password = std::move(*pw);
      }
      o.timeout = a.ldap.timeout;
      o.pool_size = a.ldap.pool_size;
      auto ldap = LdapAuthenticator::create(std::move(o));
      if (!ldap) return fail(ldap.error());
      impl->directory = std::make_unique<LdapDirectory>(std::move(*ldap));
    } else {
      auto dir = directory::BuiltinDirectory::open(a.directory_data_dir + "/rampart.db");
      if (!dir) return fail(dir.error());
      impl->directory = std::move(*dir);
      impl->builtin = true;
    }
    impl->cache = std::make_unique<directory::CredentialCache>(
        *impl->directory, impl->clock, systemRandom(),
        directory::CredentialCacheOptions{a.cache_ttl, 100'000});
  }
  if (needs_otp) {
    auto store = auth::SecondFactorStore::open(config.data_dir + "/second-factor.db");
    if (!store) return fail(store.error());
    impl->second_factor = std::move(*store);
  }
  if (!a.client_cert.ca_file.empty()) {
    auth::ClientCertConfig o;
    o.ca_file = a.client_cert.ca_file;
    o.crl_files = a.client_cert.crl_files;
    o.crl_urls = a.client_cert.crl_urls;
    o.crl_check_all = a.client_cert.crl_check != "leaf";
    o.ocsp.enabled = a.client_cert.ocsp;
    // A revocation must show within crl_refresh, OCSP included.
    o.ocsp.max_cache_age = std::chrono::duration_cast<std::chrono::seconds>(a.client_cert.crl_refresh);
    o.ocsp.responder_url = a.client_cert.ocsp_url;
    o.mapping.source = certUserSource(a.client_cert.mapping);
    o.mapping.required_domain = a.client_cert.domain;
    auto policy = auth::ClientCertPolicy::create(std::move(o), ocspOverHttp);
    if (!policy) return fail(policy.error());
    impl->cert_policy = std::move(*policy);
    if (!a.client_cert.crl_urls.empty()) {
      // The first fetch at start; a CA that is not up yet only delays
      // certificate logins (no CRL: they fail closed) until the next round.
      if (auto st = impl->cert_policy->refreshCrls(crlOverHttp); !st) {
        log::get("gateway")->warn("CRL fetch at start: {}", st.error().message());
      }
    }
    if (!a.client_cert.crl_urls.empty() || !a.client_cert.crl_files.empty()) {
      impl->crl_refresher = std::make_unique<auth::CrlRefresher>(impl->cert_policy, a.client_cert.crl_refresh,
                                                                 crlOverHttp);
    }
  }
  if (!a.radius.servers.empty()) {
    auth::RadiusClientConfig rc;
    std::string secret;
    if (!a.radius.secret_file.empty()) {
      auto s = readSecretFile(a.radius.secret_file);
      if (!s) return fail(s.error());
      secret = std::move(*s);
    }
    for (const std::string& server : a.radius.servers) {
      auto ep = net::parseEndpoint(server);
      if (!ep) return fail(Errc::config_error, "radius server " + server);
      rc.servers.push_back({ep->address().to_string(), ep->port(), secret});
    }
    rc.nas_identifier = a.radius.nas_identifier;
    rc.timeout = a.radius.timeout;
    rc.retries = static_cast<unsigned>(a.radius.retries);
    impl->radius = std::move(rc);
  }
  const std::string name = "rampart_gateway_auth_total";
  const std::string help = "Pre-authentication results.";
  impl->ok = &metrics.counter(name, help, {{"result", "ok"}});
  impl->bad = &metrics.counter(name, help, {{"result", "bad_credentials"}});
  impl->locked = &metrics.counter(name, help, {{"result", "locked"}});
  impl->errors = &metrics.counter(name, help, {{"result", "error"}});
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(impl)));
}

Task<AuthVerdict> Authenticator::authenticate(const AuthRequest& request) {
  AuthVerdict v = co_await impl_->authenticate(request);
  switch (v.kind) {
    case Kind::ok: impl_->ok->inc(); break;
    case Kind::locked: impl_->locked->inc(); break;
    case Kind::unavailable: impl_->errors->inc(); break;
    default: impl_->bad->inc(); break;
  }
  co_return v;
}

Status Authenticator::reload() {
  if (impl_->cert_policy) return impl_->cert_policy->reloadCrls();
  return {};
}

Task<AuthVerdict> Authenticator::Impl::authenticate(const AuthRequest& req) {
  const RuleConfig& rule = *req.rule;
  if (rule.auth == AuthMethod::none) co_return verdict(Kind::ok, "");
  std::optional<std::string> cert_user;
  if (rule.auth == AuthMethod::certificate_or_basic && req.ssl != nullptr &&
      SSL_get0_peer_certificate(req.ssl) != nullptr) {
    // A presented certificate decides: good -> in, bad -> 403, never Basic instead.
    co_return co_await certificate(req);
  }
  if (rule.auth == AuthMethod::certificate || rule.auth == AuthMethod::certificate_basic) {
    AuthVerdict c = co_await certificate(req);
    if (c.kind != Kind::ok) co_return c;
    if (rule.auth == AuthMethod::certificate) co_return c;
    cert_user = c.identity.user;
  }
  if (!req.authorization) co_return verdict(Kind::challenge, "no credentials");
  auto creds = http::parseBasicAuthorization(*req.authorization);
  if (!creds) co_return verdict(Kind::challenge, "malformed Authorization");
  if (cert_user && *cert_user != creds->user) {
    co_return failed(req, creds->user,
                              verdict(Kind::challenge, "password user differs from certificate user"));
  }
  std::string user = creds->user;
  const std::string secret = creds->password;
  if (builtin && user.find('@') != std::string::npos) {
    // user@domain, as phones send: the directory's name for that address. An
    // unknown address stays as it is and fails like a wrong password.
    auto lookup = [this, user]() { return directory->findByAddress(user); };
    auto found = co_await net::runBlocking<Result<std::optional<directory::User>>>(pool.get_executor(), lookup);
    if (!found) co_return verdict(Kind::unavailable, found.error().detail);
    if (*found) user = (*found)->name;
  }
  co_return co_await password(req, user, secret);
}

Task<AuthVerdict> Authenticator::Impl::certificate(const AuthRequest& req) {
  ConnectionAuth& conn = *req.connection;
  if (!conn.cert_checked) {
    conn.cert_checked = true;
    if (!cert_policy) {
      conn.cert_problem = "no client certificate policy";
    } else {
      // Chain and CRL checks are quick, but an OCSP query is network I/O.
      SSL* ssl = req.ssl;
      // The mapped name must be a user of the built-in directory, enabled
      // (an LDAP directory is asked at bind time instead, for certificate+basic).
      // A whole address (mapping san_email, as the CA's device template
      // writes it) names the user that owns it, as for Basic's user@domain.
      directory::Directory* dir = builtin ? directory.get() : nullptr;
      auto check = [policy = cert_policy, ssl, dir]() -> Result<std::string> {
        auto user = policy->verifyAndMap(ssl);
        if (!user || dir == nullptr) return user;
        auto found = user->find('@') != std::string::npos ? dir->findByAddress(*user) : dir->findUser(*user);
        if (!found) return fail(found.error());
        if (!*found || !(*found)->enabled) return fail(Errc::unauthenticated, "no enabled user '" + *user + "'");
        return (*found)->name;
      };
      auto user = co_await net::runBlocking<Result<std::string>>(pool.get_executor(), check);
      if (user) conn.cert_user = std::move(*user);
      else conn.cert_problem = user.error().detail;
    }
  }
  if (!conn.cert_user) co_return verdict(Kind::forbidden, "certificate: " + conn.cert_problem);
  AuthVerdict v = verdict(Kind::ok, "");
  v.identity.user = *conn.cert_user;
  v.identity.device_id = std::string(req.device_id);
  const AuthMethod method =
      req.rule->auth == AuthMethod::certificate_or_basic ? AuthMethod::certificate : req.rule->auth;
  v.identity.method = methodName(method);
  v.identity.strength = method == AuthMethod::certificate ? 1 : 2;
  v.client_certificate = true;
  co_return v;
}

Task<Result<bool>> Authenticator::Impl::checkPassword(const std::string& user, const std::string& password) {
  if (cache->cachedOk(user, password)) co_return true;
  auto work = [this, user, password]() -> Result<bool> {
    auto outcome = cache->authenticate(user, password);
    if (!outcome) return fail(outcome.error());
    return *outcome == directory::AuthOutcome::ok;
  };
  co_return co_await net::runBlocking<Result<bool>>(pool.get_executor(), work);
}

AuthVerdict Authenticator::Impl::failed(const AuthRequest& req, const std::string& user, AuthVerdict v) {
  failures.recordFailure(user, req.client, clock.steadyNow());
  return v;
}

bool Authenticator::Impl::isRemembered(const std::string& key) {
  std::lock_guard lock(remembered_mutex);
  auto it = remembered.find(key);
  if (it == remembered.end()) return false;
  if (it->second <= clock.now()) {
    remembered.erase(it);
    return false;
  }
  return true;
}

void Authenticator::Impl::remember(const std::string& user, const std::string& device) {
  std::lock_guard lock(remembered_mutex);
  if (remembered.size() > 1'000'000) remembered.clear();  // bounded; the store still knows
  remembered[user + '\n' + device] =
      clock.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(config.auth.remember_device);
}

Task<AuthVerdict> Authenticator::Impl::password(const AuthRequest& req, const std::string& user,
                                                const std::string& secret) {
  const RuleConfig& rule = *req.rule;
  auto decision = failures.check(user, req.client, clock.steadyNow());
  if (!decision.allowed) {
    AuthVerdict v = verdict(Kind::locked, "locked out after repeated failures");
    if (decision.locked_until) {
      v.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*decision.locked_until -
                                                                            clock.steadyNow());
    }
    co_return v;
  }
  if (decision.delay > std::chrono::steady_clock::duration::zero()) {
    // Backoff: every attempt after a run of failures waits before it is checked.
    asio::steady_timer timer(co_await asio::this_coro::executor, decision.delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (rule.auth == AuthMethod::basic || rule.auth == AuthMethod::certificate_basic ||
      rule.auth == AuthMethod::certificate_or_basic) {
    auto good = co_await checkPassword(user, secret);
    if (!good) co_return verdict(Kind::unavailable, good.error().detail);
    if (!*good) co_return failed(req, user, verdict(Kind::challenge, "bad credentials"));
    failures.recordSuccess(user, req.client);
    AuthVerdict v = verdict(Kind::ok, "");
    // certificate_or_basic without a certificate is plain Basic.
    const AuthMethod method = rule.auth == AuthMethod::certificate_or_basic ? AuthMethod::basic : rule.auth;
    v.identity = {user, std::string(req.device_id), methodName(method),
                  rule.auth == AuthMethod::certificate_basic ? 2 : 1};
    v.client_certificate = rule.auth == AuthMethod::certificate_basic;
    co_return v;
  }
  co_return co_await secondFactor(req, user, secret);
}

// "password" + "code": the code is the trailing digits (6 or 8).
Task<AuthVerdict> Authenticator::Impl::secondFactor(const AuthRequest& req, const std::string& user,
                                                    const std::string& secret) {
  const RuleConfig& rule = *req.rule;
  const std::string device(req.device_id);
  const std::string remember_key = user + '\n' + device;
  AuthVerdict ok = verdict(Kind::ok, "");
  ok.identity = {user, device, methodName(rule.auth), 2};
  if (!device.empty()) {
    bool remembered = isRemembered(remember_key);
    if (!remembered && second_factor) {
      auto lookup = [this, user, device]() { return second_factor->isRemembered(user, device, clock.now()); };
      auto r = co_await net::runBlocking<Result<bool>>(pool.get_executor(), lookup);
      if (r && *r) {
        remembered = true;
        remember(user, device);
      }
    }
    if (remembered) {
      // The phone may send the password alone, or still with the code it was
      // set up with; the code is not checked again (it was, when it was fresh).
      auto whole = co_await checkPassword(user, secret);
      if (!whole) co_return verdict(Kind::unavailable, whole.error().detail);
      if (*whole) {
        failures.recordSuccess(user, req.client);
        co_return ok;
      }
      for (std::size_t digits : {6u, 8u}) {
        if (secret.size() <= digits) continue;
        // Only a trailing run of digits can be a code: anything else costs
        // no further password hash (each is an argon2id on a cache miss).
        std::string_view tail = std::string_view(secret).substr(secret.size() - digits);
        if (!std::all_of(tail.begin(), tail.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) continue;
        const std::string without_code = secret.substr(0, secret.size() - digits);
        auto prefix = co_await checkPassword(user, without_code);
        if (prefix && *prefix) {
          failures.recordSuccess(user, req.client);
          co_return ok;
        }
      }
    }
  }
  // Fresh second factor: split off the code.
  std::size_t digits = 6;
  std::optional<auth::OtpSecret> otp_secret;
  if (rule.auth == AuthMethod::basic_otp) {
    auto lookup = [this, user]() { return second_factor->secret(user); };
    auto s = co_await net::runBlocking<Result<std::optional<auth::OtpSecret>>>(pool.get_executor(), lookup);
    if (!s) co_return verdict(Kind::unavailable, s.error().detail);
    if (*s) digits = (*s)->digits;
    otp_secret = *s;
  }
  if (secret.size() <= digits) co_return failed(req, user, verdict(Kind::challenge, "no one-time code"));
  std::string code = secret.substr(secret.size() - digits);
  std::string pw = secret.substr(0, secret.size() - digits);
  auto good = co_await checkPassword(user, pw);
  if (!good) co_return verdict(Kind::unavailable, good.error().detail);
  // A wrong password and an unenrolled user fail the same way as a bad code.
  if (!*good || (rule.auth == AuthMethod::basic_otp && !otp_secret)) {
    co_return failed(req, user, verdict(Kind::challenge, "bad credentials"));
  }
  if (rule.auth == AuthMethod::basic_otp) {
    auto check = [this, user, code]() {
      auth::TwoFactorVerifier verifier(*second_factor, clock,
                                       auth::OtpWindow{static_cast<unsigned>(config.auth.otp.totp_window),
                                                       static_cast<unsigned>(config.auth.otp.hotp_window)});
      return verifier.verify(user, code);
    };
    auto outcome = co_await net::runBlocking<Result<auth::OtpOutcome>>(pool.get_executor(), check);
    if (!outcome) co_return verdict(Kind::unavailable, outcome.error().detail);
    if (*outcome != auth::OtpOutcome::ok) {
      co_return failed(req, user,
                                verdict(Kind::challenge, "one-time code: " + std::string(auth::toString(*outcome))));
    }
  } else {
    if (!radius) co_return verdict(Kind::unavailable, "no RADIUS server");
    std::optional<std::string> state;
    {
      std::lock_guard lock(challenge_mutex);
      if (auto it = challenges.find(remember_key); it != challenges.end()) {
        state = it->second;
        challenges.erase(it);
      }
    }
    auth::RadiusClient client(co_await asio::this_coro::executor, *radius);
    std::string radius_user = user;
    auto reply = co_await client.authenticate(radius_user, code, state);
    if (!reply) co_return verdict(Kind::unavailable, "RADIUS: " + reply.error().detail);
    if (reply->kind == auth::RadiusReply::Kind::challenge) {
      std::lock_guard lock(challenge_mutex);
      if (challenges.size() > 100'000) challenges.clear();
      challenges[remember_key] = reply->state;
      co_return verdict(Kind::challenge, "RADIUS challenge: next code");
    }
    if (reply->kind != auth::RadiusReply::Kind::accept) {
      co_return failed(req, user, verdict(Kind::challenge, "RADIUS reject"));
    }
  }
  failures.recordSuccess(user, req.client);
  if (!device.empty()) {
    remember(user, device);
    if (second_factor) {
      auto until = clock.now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                     config.auth.remember_device);
      auto store = [this, user, device, until = until]() { return second_factor->remember(user, device, until); };
      auto st = co_await net::runBlocking<Status>(pool.get_executor(), store);
      if (!st) log::get("gateway")->warn("remembering device failed: {}", st.error().message());
    }
  }
  co_return ok;
}

}  // namespace rampart::gateway
