// The rights server role (`rampart rights`, docs/rights.md, DESIGN.md 4): it
// holds the templates and the licensor key, and turns a publishing license
// into a use license for a reader who is entitled to one.
//
// Like the CA's EST listener it is reached only through the edge gateway:
//
//   [rights] listen   HTTPS, mTLS (client certificates chaining to
//                     gateway_ca_file, required), every request carries the
//                     gateway's signed identity assertion (Rampart-Identity,
//                     crypto::AssertionVerifier) naming the user:
//     GET  /rights/templates        text/plain: the templates' TOML, one
//                                   document after another, "\n---\n" between
//     GET  /rights/licensor.pem     the licensor certificate (what a sender
//                                   wraps the content key to)
//     POST /rights/license          body: the signed publishing license (DER,
//                                   application/vnd.rampart.publishing-license)
//                                   -> 200 the signed use license (DER,
//                                   application/vnd.rampart.use-license)
//                                   403 not a recipient / template or user
//                                   revoked / content expired (reason in the
//                                   body), 404 unknown template, 400 malformed,
//                                   409 the user has no published S/MIME
//                                   encryption certificate to bind the key to
//     GET  /healthz
//
// Decisions (docs/rights.md): the reader is entitled when one of its
// directory addresses is among the publishing license's recipients or is its
// owner; the rights granted are the server's current template's (never the
// license's copy), the owner gets kAll; the license lasts the template's
// license_lifetime, capped by the content's expiry. The content key is wrapped
// to the user's newest unexpired published smime_encryption certificate
// (Directory::certificatesOf). Every request, granted or refused, is logged
// in the RightsStore before the answer.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "directory/builtin_directory.h"
#include "net/asio.h"

namespace rampart::rights {

struct RightsConfig {
  std::string data_dir;          // <data_dir>/rights/: licensor.key (0600), licensor.pem
  std::string database;          // SQLite file (the server's database)
  std::string listen;            // "127.0.0.1:0"; empty = no listener (tests call issue())
  std::string tls_cert_file;     // the listener's certificate and key
  std::string tls_key_file;
  std::string gateway_ca_file;   // client certificates must chain to this
  std::string assertion_key_file;  // the gateway's assertion public key (PEM)
  std::string audience = "rights";
};
// [rights] table of a TOML config; unknown keys are errors naming the line.
Result<RightsConfig> parseRightsConfig(std::string_view toml, std::string_view source_name);

// The answer to one use-license request, without HTTP (tests, the bench).
struct IssueResult {
  int http_status = 500;          // 200, 400, 403, 404, 409
  std::string body;               // the DER use license, or the reason
};

class RightsServer {
 public:
  // Creates data_dir/rights (0700) and the licensor key and self-signed
  // certificate on first start (ECDSA P-256; the key never leaves); opens the
  // store and seeds the default templates when there are none; binds.
  static Result<std::unique_ptr<RightsServer>> create(
      RightsConfig config, net::asio::any_io_executor executor,
      const directory::BuiltinDirectoryOptions& directory_options = {},
      const Clock& clock = systemClock());
  ~RightsServer();

  void start();
  void stop();
  net::tcp::endpoint endpoint() const;
  std::string licensorCertificatePem() const;

  // What POST /rights/license does for `user` (blocking: store + signing).
  IssueResult issue(std::string_view user, std::string_view signed_publishing_license);

  struct Impl;

 private:
  explicit RightsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::rights
