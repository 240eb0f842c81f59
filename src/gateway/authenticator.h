// Pre-authentication: decides who is asking before anything reaches a
// backend (DESIGN.md 2). One Authenticator serves every rule and thread.
//
//   basic              Basic over TLS against the built-in directory or an LDAP bind
//   certificate        the TLS client certificate, chained, CRL/OCSP-checked, mapped to a user
//   certificate+basic  both, and they must name the same user
//   certificate_or_basic  the certificate when one was presented (a bad one is
//                      refused with 403, not downgraded), else Basic
//   basic+otp          password followed by a TOTP/HOTP code ("secret123456"), the code
//                      checked natively (liboath) and refused if replayed
//   basic+radius       the password checked by the directory, the trailing code by RADIUS
//
// Two-factor and Direct Push: once (user, DeviceId) passes with a good code,
// it is remembered for auth.remember_device, and that device's later requests
// pass with the password alone (or with the stale code still appended, which
// is not re-checked), so the phone's parked Pings keep working.
//
// Successes are cached briefly (directory/credential_cache.h; LDAP binds the
// same way), failures never. Unknown users and wrong passwords get the same
// answer after the same work. Failures feed guard::AuthFailures: after a few,
// answers are delayed, and a source address with many is locked out (429).
// Nothing here logs a password or a code.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/identity_assertion.h"
#include "gateway/config.h"
#include "gateway/metrics.h"
#include "net/asio.h"

namespace rampart::gateway {

struct AuthVerdict {
  enum class Kind {
    ok,           // identity is set
    challenge,    // 401 with WWW-Authenticate (missing or wrong credentials)
    forbidden,    // 403 (a certificate that is missing, revoked or unmapped)
    locked,       // 429 with Retry-After (too many failures from this address)
    unavailable,  // 503 (the directory or RADIUS server cannot be reached)
  };
  Kind kind = Kind::challenge;
  crypto::Identity identity;
  std::string reason;  // for the access log; never a secret
  std::chrono::milliseconds retry_after{0};
  // Authenticated (also) by the TLS client certificate: a delegated backend
  // is sent the leaf (Rampart-Client-Cert).
  bool client_certificate = false;
};

// What the authenticator may remember per client connection: the mapped
// certificate user (a certificate does not change within a connection).
struct ConnectionAuth {
  bool cert_checked = false;
  std::optional<std::string> cert_user;
  std::string cert_problem;
};

struct AuthRequest {
  const RuleConfig* rule = nullptr;
  std::optional<std::string_view> authorization;  // the Authorization header
  std::string_view device_id;                     // EAS DeviceId, may be empty
  net::asio::ip::address client;
  SSL* ssl = nullptr;                             // the client's TLS connection
  ConnectionAuth* connection = nullptr;
};

class Authenticator {
 public:
  // Opens what the config names (the built-in directory, the LDAP pool, the
  // second-factor store under data_dir, the client-certificate policy).
  static Result<std::unique_ptr<Authenticator>> create(const GatewayConfig& config,
                                                       MetricsRegistry& metrics);
  ~Authenticator();

  // Runs on the caller's I/O thread; blocking checks go to a small pool.
  net::Task<AuthVerdict> authenticate(const AuthRequest& request);

  // Re-reads CRLs (SIGHUP). Besides, a timer re-reads the CRL files and
  // re-fetches auth.client_cert.crl_urls every crl_refresh.
  Status reload();

  struct Impl;

 private:
  explicit Authenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::gateway
