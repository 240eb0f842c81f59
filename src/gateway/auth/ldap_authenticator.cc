#include "gateway/auth/ldap_authenticator.h"

#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include "core/log.h"
#include "gateway/config.h"

namespace rampart::gateway {
namespace {

constexpr std::string_view kUserPlaceholder = "{user}";
constexpr size_t kMaxUserBytes = 256;
constexpr size_t kMaxPasswordBytes = 1024;
constexpr int kMaxPoolSize = 64;

char hexDigit(unsigned v) { return "0123456789abcdef"[v & 0xf]; }

void appendHex(std::string& out, unsigned char c) {
  out += '\\';
  out += hexDigit(c >> 4);
  out += hexDigit(c);
}

std::string replaceAll(std::string_view tmpl, std::string_view what, std::string_view with) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = tmpl.find(what, pos);
    if (hit == std::string_view::npos) break;
    out.append(tmpl.substr(pos, hit - pos));
    out.append(with);
    pos = hit + what.size();
  }
  out.append(tmpl.substr(pos));
  return out;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// libldap's first initialization (ldap.conf), TLS option setting and TLS
// context creation touch process-wide state; they are serialized (connects
// and binds are not).
std::mutex& setupMutex() {
  static std::mutex mu;
  return mu;
}

// liblber writes to the socket with write(2), so a request sent on a
// connection the server has reset raises SIGPIPE, which ends a process that
// has not ignored it. While libldap runs, SIGPIPE is blocked in the calling
// thread and any it raised there is discarded, leaving EPIPE, which libldap
// reports as LDAP_SERVER_DOWN.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// Why one try on one connection did not produce an outcome.
struct Failure {
  int rc;            // an LDAP result code or API error (LDAP_SERVER_DOWN, LDAP_TIMEOUT ...)
  std::string step;  // "connect", "StartTLS", "service bind", "search", "bind"
  std::string diagnostic;
};

std::string diagnosticOf(LDAP* ld) {
  char* msg = nullptr;
  std::string out;
  if (ld != nullptr && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS &&
      msg != nullptr) {
    out = msg;
    ldap_memfree(msg);
  }
  return out == "(unknown error code)" ? std::string() : out;
}

int lastResultCode(LDAP* ld) {
  int rc = LDAP_OTHER;
  ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
  return rc;
}

// Waits for the complete response to `msgid` within `timeout`; on a timeout
// the request is abandoned (RFC 4511 4.11) and LDAP_TIMEOUT returned, and the
// caller must not reuse the connection.
int waitResult(LDAP* ld, int msgid, std::chrono::milliseconds timeout, LDAPMessage** res) {
  timeval tv = toTimeval(timeout);
  *res = nullptr;
  int got = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, res);
  if (got == 0) {
    ldap_abandon_ext(ld, msgid, nullptr, nullptr);
    return LDAP_TIMEOUT;
  }
  if (got < 0) return lastResultCode(ld);
  return LDAP_SUCCESS;
}

// A simple bind (RFC 4513 5.1.3) as `dn`; returns the server's result code
// or an API error. The password is never copied or logged.
int simpleBind(LDAP* ld, const std::string& dn, std::string_view password,
               std::chrono::milliseconds timeout) {
  berval cred{};
  cred.bv_len = password.size();
  cred.bv_val = const_cast<char*>(password.data());  // libldap does not write to it
  int msgid = -1;
  int rc = ldap_sasl_bind(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return rc;
  LDAPMessage* res = nullptr;
  rc = waitResult(ld, msgid, timeout, &res);
  if (rc != LDAP_SUCCESS) {
    ldap_msgfree(res);
    return rc;
  }
  int result = LDAP_OTHER;
  rc = ldap_parse_result(ld, res, &result, nullptr, nullptr, nullptr, nullptr, /*freeit=*/1);
  return rc != LDAP_SUCCESS ? rc : result;
}

// Results of a user bind that mean "these credentials are not good", as
// opposed to "the directory cannot answer".
bool meansBadCredentials(int rc) {
  switch (rc) {
    case LDAP_INVALID_CREDENTIALS:   // 49: wrong password, no such DN, no userPassword
    case LDAP_INAPPROPRIATE_AUTH:    // 48: the entry cannot use simple bind
    case LDAP_INVALID_DN_SYNTAX:     // 34: a user name that makes no DN
    case LDAP_NO_SUCH_OBJECT:        // 32: some servers say so for unknown DNs
    case LDAP_UNWILLING_TO_PERFORM:  // 53: e.g. a disabled or locked account
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string escapeDnValue(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    switch (c) {
      // RFC 4514 2.4: these are always escaped; '=' may be and is, so the
      // value can never be read as another attribute type and value.
      case '"':
      case '+':
      case ',':
      case ';':
      case '<':
      case '>':
      case '\\':
      case '=':
        out += '\\';
        out += static_cast<char>(c);
        continue;
      case ' ':
        if (i == 0 || i + 1 == value.size()) {
          out += "\\ ";
          continue;
        }
        break;
      case '#':
        if (i == 0) {
          out += "\\#";
          continue;
        }
        break;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {  // NUL must be escaped; other controls are, too
      appendHex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string escapeFilterValue(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    // RFC 4515 3: '*', '(', ')', '\' and NUL must be escaped as \XX; any
    // other octet may be, which is done for control characters.
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
      appendHex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

struct LdapAuthenticator::Impl {
  LdapOptions options;
  bool use_tls = false;  // ldaps:// or StartTLS
  bool search_mode = false;
  std::string dummy_dn;  // a DN that exists nowhere, for unknown users
  std::shared_ptr<spdlog::logger> log = log::get("gateway.ldap");

  std::mutex mu;
  std::condition_variable freed;
  std::vector<LDAP*> idle;  // open connections, each handed to one thread at a time
  int open = 0;             // idle + handed out + being opened

  ~Impl() {
    SigpipeBlock no_sigpipe;  // unbind writes to connections that may be reset
    for (LDAP* ld : idle) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }

  // A connection from the pool, or a freshly opened one when fewer than
  // pool_size are open. `reused` tells whether it had been used before (and so
  // may have found the server gone since).
  struct Lease {
    LDAP* ld = nullptr;
    bool reused = false;
  };

  tl::expected<Lease, Failure> acquire() {
    {
      std::unique_lock lock(mu);
      if (!freed.wait_for(lock, options.timeout,
                          [&] { return !idle.empty() || open < options.pool_size; })) {
        return tl::unexpected(Failure{LDAP_TIMEOUT, "waiting for a free connection", {}});
      }
      if (!idle.empty()) {
        LDAP* ld = idle.back();
        idle.pop_back();
        return Lease{ld, true};
      }
      ++open;
    }
    auto ld = connect();
    if (!ld) {
      release(nullptr, false);
      return tl::unexpected(std::move(ld.error()));
    }
    return Lease{*ld, false};
  }

  // Gives a connection back: kept for reuse, or closed (after a timeout or an
  // error its state is unknown).
  void release(LDAP* ld, bool keep) {
    {
      std::lock_guard lock(mu);
      if (keep && ld != nullptr) {
        idle.push_back(ld);
      } else {
        --open;
      }
    }
    freed.notify_one();
    if (!keep && ld != nullptr) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }

  // Closes every idle connection: when one finds the server gone (restarted),
  // the others opened before it are gone too.
  void dropIdle() {
    std::vector<LDAP*> stale;
    {
      std::lock_guard lock(mu);
      stale.swap(idle);
      open -= static_cast<int>(stale.size());
    }
    freed.notify_all();
    for (LDAP* ld : stale) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }

  tl::expected<LDAP*, Failure> connect() {
    std::unique_lock setup(setupMutex());
    LDAP* ld = nullptr;
    int rc = ldap_initialize(&ld, options.uri.c_str());
    if (rc != LDAP_SUCCESS) return tl::unexpected(Failure{rc, "initialize", {}});
    auto fail_with = [&](int code, std::string step) {
      Failure f{code, std::move(step), diagnosticOf(ld)};
      ldap_unbind_ext_s(ld, nullptr, nullptr);
      return tl::unexpected(std::move(f));
    };
    int version = LDAP_VERSION3;
    timeval tv = toTimeval(options.timeout);
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS) {
      return fail_with(LDAP_LOCAL_ERROR, "set options");
    }
    if (use_tls) {
      // Always verify the server certificate and its name, whatever
      // ldap.conf says (TLS_REQCERT), and speak TLS 1.2 or later.
      int require = LDAP_OPT_X_TLS_HARD;
      int min_version = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
      int is_server = 0;
      if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS ||
          ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_version) != LDAP_OPT_SUCCESS ||
          (!options.ca_file.empty() &&
           ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, options.ca_file.c_str()) !=
               LDAP_OPT_SUCCESS) ||
          ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) != LDAP_OPT_SUCCESS) {
        return fail_with(LDAP_LOCAL_ERROR, "TLS options");
      }
    }
    setup.unlock();
    // Connect now (bounded by LDAP_OPT_NETWORK_TIMEOUT), so that a fresh
    // connection that fails is told apart from a pooled one the server
    // dropped. For ldaps:// this includes the TLS handshake.
    rc = ldap_connect(ld);
    if (rc != LDAP_SUCCESS) return fail_with(rc, "connect");
    if (options.start_tls) {
      // RFC 4513 3: the StartTLS exchange, then the handshake and the server
      // certificate check (RFC 4513 3.1.3), before any credentials are sent.
      rc = ldap_start_tls_s(ld, nullptr, nullptr);
      if (rc != LDAP_SUCCESS) return fail_with(rc, "StartTLS");
    }
    return ld;
  }

  // One try on one connection.
  tl::expected<LdapOutcome, Failure> tryOnce(LDAP* ld, std::string_view user,
                                             std::string_view password) {
    std::string dn;
    if (!search_mode) {
      dn = replaceAll(options.user_dn_template, kUserPlaceholder, escapeDnValue(user));
    } else {
      auto found = findUser(ld, user);
      if (!found) return tl::unexpected(std::move(found.error()));
      dn = std::move(*found);
    }
    bool known = !dn.empty();
    // An unknown user still costs a bind, with a DN that does not exist, so
    // that the response time does not say whether the user exists.
    int rc = simpleBind(ld, known ? dn : dummy_dn, password, options.timeout);
    if (rc == LDAP_SUCCESS) {
      if (known) return LdapOutcome::ok;
      log->error("bind with the placeholder DN {} succeeded; check the directory", dummy_dn);
      return LdapOutcome::bad_credentials;
    }
    if (meansBadCredentials(rc)) {
      log->debug("bind refused: {} ({})", ldap_err2string(rc), rc);
      return LdapOutcome::bad_credentials;
    }
    return tl::unexpected(Failure{rc, "bind", diagnosticOf(ld)});
  }

  // Search-then-bind: binds as the service account and looks the user up.
  // Returns the entry's DN, or an empty string when no single entry matches.
  tl::expected<std::string, Failure> findUser(LDAP* ld, std::string_view user) {
    int rc = simpleBind(ld, options.bind_dn, options.bind_password, options.timeout);
    if (rc != LDAP_SUCCESS) return tl::unexpected(Failure{rc, "service bind", diagnosticOf(ld)});
    std::string filter =
        replaceAll(options.search_filter, kUserPlaceholder, escapeFilterValue(user));
    char no_attrs[] = LDAP_NO_ATTRS;  // RFC 4511 4.5.1.8: return no attributes
    char* attrs[] = {no_attrs, nullptr};
    timeval tv = toTimeval(options.timeout);
    int msgid = -1;
    // Size limit 2: enough to tell one match from several.
    rc = ldap_search_ext(ld, options.search_base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs,
                         /*attrsonly=*/1, nullptr, nullptr, &tv, /*sizelimit=*/2, &msgid);
    if (rc != LDAP_SUCCESS) return tl::unexpected(Failure{rc, "search", diagnosticOf(ld)});
    LDAPMessage* res = nullptr;
    rc = waitResult(ld, msgid, options.timeout, &res);
    if (rc != LDAP_SUCCESS) {
      ldap_msgfree(res);
      return tl::unexpected(Failure{rc, "search", diagnosticOf(ld)});
    }
    int result = LDAP_OTHER;
    rc = ldap_parse_result(ld, res, &result, nullptr, nullptr, nullptr, nullptr, /*freeit=*/0);
    int entries = ldap_count_entries(ld, res);
    std::string dn;
    if (rc == LDAP_SUCCESS && result == LDAP_SUCCESS && entries == 1) {
      if (char* found = ldap_get_dn(ld, ldap_first_entry(ld, res))) {
        dn = found;
        ldap_memfree(found);
      }
    }
    ldap_msgfree(res);
    if (rc != LDAP_SUCCESS) return tl::unexpected(Failure{rc, "search", diagnosticOf(ld)});
    if (result == LDAP_SIZELIMIT_EXCEEDED || entries > 1) {
      log->warn("search-then-bind: the filter matches several entries; refusing the login");
      return std::string();
    }
    if (result != LDAP_SUCCESS && result != LDAP_NO_SUCH_OBJECT) {
      return tl::unexpected(Failure{result, "search", diagnosticOf(ld)});
    }
    if (result == LDAP_NO_SUCH_OBJECT) {
      log->warn("search-then-bind: the search base {} does not exist", options.search_base);
    }
    return dn;
  }
};

LdapAuthenticator::LdapAuthenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LdapAuthenticator::~LdapAuthenticator() = default;

Result<std::unique_ptr<LdapAuthenticator>> LdapAuthenticator::create(LdapOptions options) {
  LDAPURLDesc* url = nullptr;
  if (options.uri.empty() || ldap_url_parse(options.uri.c_str(), &url) != LDAP_URL_SUCCESS) {
    return fail(Errc::config_error, "ldap: uri is not an LDAP URL");
  }
  std::string scheme = url->lud_scheme ? url->lud_scheme : "";
  std::string host = url->lud_host ? url->lud_host : "";
  ldap_free_urldesc(url);
  if (scheme != "ldap" && scheme != "ldaps") {
    return fail(Errc::config_error, "ldap: uri must be ldap:// or ldaps://");
  }
  if (options.uri.find_first_of(" \t") != std::string::npos) {
    return fail(Errc::config_error, "ldap: uri must name a single server");
  }
  if (scheme == "ldaps" && options.start_tls) {
    return fail(Errc::config_error, "ldap: start_tls makes no sense with ldaps://");
  }
  if (scheme == "ldap" && !options.start_tls && !isLoopbackHost(host)) {
    return fail(Errc::config_error,
                "ldap: passwords would cross the network in the clear; use ldaps:// or start_tls");
  }
  bool has_template = !options.user_dn_template.empty();
  bool has_search = !options.search_base.empty() || !options.search_filter.empty();
  if (has_template == has_search) {
    return fail(Errc::config_error,
                "ldap: set either user_dn_template or search_base and search_filter");
  }
  if (has_template && options.user_dn_template.find(kUserPlaceholder) == std::string::npos) {
    return fail(Errc::config_error, "ldap: user_dn_template has no {user}");
  }
  if (has_search) {
    if (options.search_base.empty() ||
        options.search_filter.find(kUserPlaceholder) == std::string::npos) {
      return fail(Errc::config_error,
                  "ldap: search-then-bind needs search_base and a search_filter with {user}");
    }
    // A service DN with an empty password would be an unauthenticated bind
    // (RFC 4513 5.1.2) that searches with anonymous rights.
    if (!options.bind_dn.empty() && options.bind_password.empty()) {
      return fail(Errc::config_error, "ldap: bind_dn without bind_password");
    }
    if (options.bind_dn.empty() && !options.bind_password.empty()) {
      return fail(Errc::config_error, "ldap: bind_password without bind_dn");
    }
  }
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return fail(Errc::config_error, "ldap: timeout must be positive");
  }
  if (options.pool_size < 1 || options.pool_size > kMaxPoolSize) {
    return fail(Errc::config_error, "ldap: pool_size must be 1.." + std::to_string(kMaxPoolSize));
  }
  auto impl = std::make_unique<Impl>();
  impl->use_tls = options.start_tls || scheme == "ldaps";
  impl->search_mode = has_search;
  impl->dummy_dn = "cn=rampart-no-such-user," + options.search_base;
  impl->options = std::move(options);
  return std::unique_ptr<LdapAuthenticator>(new LdapAuthenticator(std::move(impl)));
}

Result<LdapOutcome> LdapAuthenticator::authenticate(std::string_view user,
                                                    std::string_view password) {
  // RFC 4513 5.1.2: a simple bind with a DN and an empty password is an
  // unauthenticated bind, which servers answer with success. Never send one.
  if (password.empty() || user.empty()) return LdapOutcome::bad_credentials;
  if (user.size() > kMaxUserBytes || password.size() > kMaxPasswordBytes) {
    return LdapOutcome::bad_credentials;
  }
  Impl& impl = *impl_;
  SigpipeBlock no_sigpipe;
  Failure failure{};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = impl.acquire();
    if (!lease) {
      failure = std::move(lease.error());
      break;
    }
    auto outcome = impl.tryOnce(lease->ld, user, password);
    if (outcome) {
      impl.release(lease->ld, true);
      return *outcome;
    }
    impl.release(lease->ld, false);
    failure = std::move(outcome.error());
    // A pooled connection may have been closed by the server (restart, idle
    // timeout) since its last use: reopen it and try once more.
    if (!(failure.rc == LDAP_SERVER_DOWN && lease->reused)) break;
    impl.log->info("ldap: pooled connection lost ({}); reconnecting", failure.step);
    impl.dropIdle();
  }
  std::string detail = "ldap " + failure.step + ": " + ldap_err2string(failure.rc);
  if (!failure.diagnostic.empty()) detail += " (" + failure.diagnostic + ")";
  impl.log->warn("{}", detail);
  return fail(failure.rc == LDAP_TIMEOUT ? Errc::timeout : Errc::unavailable, std::move(detail));
}

}  // namespace rampart::gateway
