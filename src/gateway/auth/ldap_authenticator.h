// Pre-authentication against an LDAP directory by binding as the user
// (RFC 4513 5.1.3, simple bind), the way a publishing gateway checks Basic
// credentials before anything reaches a backend.
//
// Two ways to find the user's DN:
//   - a DN template, "uid={user},ou=people,dc=example,dc=org", with {user}
//     escaped as an RFC 4514 2.4 attribute value; or
//   - search-then-bind: a service account searches search_base with
//     search_filter, "(&(objectClass=inetOrgPerson)(uid={user}))", {user}
//     escaped as an RFC 4515 3 assertion value; exactly one entry must match.
//
// authenticate() blocks (network round trips): call it off the I/O thread.
// It is safe to call from several threads at once: a pool of connections,
// each used by one thread at a time, is kept open and reused (every bind
// re-identifies the connection, RFC 4511 4.2.1).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::gateway {

struct LdapOptions {
  // ldap://host:port or ldaps://host:port (a single server).
  std::string uri;
  // StartTLS (RFC 4511 4.14, RFC 4513 3) before any bind. Required unless the
  // URI is ldaps:// or its host is a loopback address: create() refuses to
  // send passwords in the clear over a network.
  bool start_tls = false;
  // PEM CA certificates that verify the server's certificate (ldaps and
  // StartTLS); empty means libldap's default trust store. The certificate is
  // always verified and its name checked against the URI's host.
  std::string ca_file;

  // Either a DN template with {user} ...
  std::string user_dn_template;
  // ... or search-then-bind, with a service account (bind_dn may be empty for
  // an anonymous search, but then bind_password must be empty too).
  std::string search_base;
  std::string search_filter;
  std::string bind_dn;
  std::string bind_password;

  // Bounds each network step: the TCP connect (LDAP_OPT_NETWORK_TIMEOUT), and
  // the wait for each operation's response (StartTLS, binds, search).
  std::chrono::milliseconds timeout{5000};
  // Connections kept open and reused; also the most concurrent binds.
  int pool_size = 4;
};

enum class LdapOutcome {
  ok,               // the directory accepted the user's password
  bad_credentials,  // wrong password, unknown or ambiguous user, empty password
};

class LdapAuthenticator {
 public:
  // Checks the options (config_error on a bad URI, on neither or both ways to
  // find the DN, on a template without {user}, on a cleartext non-loopback
  // URI without start_tls). Connects lazily: the directory may be down now.
  static Result<std::unique_ptr<LdapAuthenticator>> create(LdapOptions options);
  ~LdapAuthenticator();
  LdapAuthenticator(const LdapAuthenticator&) = delete;
  LdapAuthenticator& operator=(const LdapAuthenticator&) = delete;

  // Binds as `user` with `password`. Returns
  //   ok               the directory accepted the credentials;
  //   bad_credentials  invalidCredentials (49) and kin, an unknown user (in
  //                    search-then-bind after a bind with a DN that does not
  //                    exist, so timing does not tell), several matching
  //                    entries, or an empty password -- decided WITHOUT
  //                    contacting the server, since a simple bind with an
  //                    empty password is an unauthenticated bind that
  //                    succeeds (RFC 4513 5.1.2), the classic LDAP bypass.
  //                    Also an over-long user (>256 bytes) or password
  //                    (>1024 bytes), without contacting the server.
  // Errors: unavailable (server down, TLS failure, refused service account,
  // a search that fails) and timeout (no answer within options.timeout, or
  // every pooled connection busy for that long). A pooled connection that
  // finds the server gone (LDAP_SERVER_DOWN) is reopened, with the other idle
  // ones, and the attempt retried once. Each step is bounded by the timeout,
  // so one call takes at most a few timeouts (pool wait, connect, StartTLS,
  // service bind, search, bind; twice when retried).
  // Never logs the password.
  Result<LdapOutcome> authenticate(std::string_view user, std::string_view password);

 private:
  struct Impl;
  explicit LdapAuthenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RFC 4514 2.4: escapes a string for use as an attribute value in a DN
// (the special characters, leading SPACE or '#', trailing SPACE, NUL).
std::string escapeDnValue(std::string_view value);

// RFC 4515 3: escapes a string for use as an assertion value in a search
// filter ('*', '(', ')', '\' and NUL as \XX).
std::string escapeFilterValue(std::string_view value);

}  // namespace rampart::gateway
