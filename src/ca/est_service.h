// The CA's EST service (RFC 7030) as it sits behind the edge gateway
// (DESIGN.md 3): the gateway terminates the device's TLS, authenticates it
// (Basic against the directory, or its client certificate) and forwards the
// request over the mTLS link with a signed identity assertion
// (Rampart-Identity, crypto/identity_assertion.h) and, for certificate
// logins, Rampart-Client-Cert (base64 DER of the device's leaf).
//
//   /.well-known/est/[<label>/]<op>     label = template name (RFC 7030 3.2.2);
//                                       none = EstOptions::default_template
//   GET  cacerts          4.1   certs-only CMS of issuing + root (no assertion needed)
//   POST simpleenroll     4.2.1 application/pkcs10 -> 200 certs-only | 202 Retry-After
//   POST simplereenroll   4.2.2 the same, with the current certificate
//   GET  csrattrs         4.5   the key and signature algorithms the template wants
//
// Errors: unknown op or template 404, wrong method 405, body over the limit
// 413, wrong Content-Type 415, malformed or unsigned CSR 400, no or bad
// assertion (or re-enrollment without a certificate login) 403, a refusal by
// the Authority 403 with its reason, the CA's own failure 500. Bodies are
// short plain text and never carry secrets. One log line per request.
//
// RFC 7030 3.5's tls-unique binding (challengePassword = the TLS Finished
// value) cannot be enforced here: the device's TLS session ends at the
// gateway. Proof of possession rests on the CSR's signature (3.4).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ca/authority.h"
#include "core/clock.h"
#include "crypto/identity_assertion.h"
#include "http/types.h"

namespace rampart::ca {

struct EstOptions {
  std::string default_template = "device";
  std::uint64_t body_limit = 64 * 1024;
};

// The request header carrying the device's certificate on a certificate login.
inline constexpr std::string_view kClientCertHeader = "Rampart-Client-Cert";
inline constexpr std::string_view kIdentityHeader = "Rampart-Identity";
inline constexpr std::string_view kEstPrefix = "/.well-known/est/";

class EstService {
 public:
  EstService(std::shared_ptr<Authority> authority, std::unique_ptr<crypto::AssertionVerifier> verifier,
             EstOptions options, const Clock& clock = systemClock());
  ~EstService();

  // The whole answer to one request. Synchronous and blocking (it signs and
  // commits to the store): CaServer runs it on its blocking pool, never on an
  // I/O thread. Thread-safe. No coroutine here, so that fuzzing and tests
  // need no Asio.
  http::Response serve(const http::Request& req);

 private:
  struct Outcome;
  http::Response answer(const http::Request& req, Outcome& outcome);

  std::shared_ptr<Authority> authority_;
  std::unique_ptr<crypto::AssertionVerifier> verifier_;
  EstOptions options_;
  const Clock& clock_;
};

}  // namespace rampart::ca
