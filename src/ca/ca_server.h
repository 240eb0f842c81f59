// The certificate authority role assembled from its parts (DESIGN.md 3):
// the CA store and the built-in directory in the server's database, the
// Authority (keys in authority.dir), and two listeners:
//
//   [est] listen   HTTPS, mTLS (client certificates chaining to
//                  gateway_ca_file, required): the EST link behind the edge
//                  gateway (est_service.h).
//   [pki] listen   plain HTTP for relying parties (RFC 5280 4.2.1.13,
//                  RFC 6960 A.1):
//                    GET  /crl/issuing.crl     application/pkix-crl (DER)
//                    POST /ocsp                application/ocsp-request -> ocsp-response
//                    GET  /ocsp/<url-encoded base64 of the DER request>
//                    GET  /ca/chain.pem        issuing then root (PEM)
//                    GET  /healthz
//
// and a timer that calls Authority::refresh() every pki.refresh_interval, so
// that a revocation made by another process (`rampart admin cert revoke`)
// reaches the CRL and OCSP answers within that interval.
//
// Lifetime: create() opens storage and binds both listeners on `executor`
// (nothing is accepted yet); start() begins accepting and starts the timer;
// stop() stops accepting and the timer (thread-safe, idempotent). Blocking
// work (signing, store commits) runs on a small thread pool of the server's
// own, never on the I/O threads. The CaServer must be destroyed before the
// io_context whose executor it was given.
#pragma once

#include <memory>

#include "ca/authority.h"
#include "ca/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "directory/builtin_directory.h"
#include "net/asio.h"

namespace rampart::ca {

class CaServer {
 public:
  // Creates data_dir (0700) when missing; opens config.database (CA store and
  // built-in directory) and the Authority (generating or importing the CA
  // keys on first start); binds the listeners whose listen is not empty. When
  // pki.public_url was derived from a listen with port 0, it is rewritten
  // with the bound port before the Authority puts it into certificates.
  // Errors: config_error (unreadable TLS or assertion key files), io_error
  // (bind), storage_error, and the Authority's own.
  static Result<std::unique_ptr<CaServer>> create(CaConfig config, net::asio::any_io_executor executor,
                                                  const directory::BuiltinDirectoryOptions& directory_options = {},
                                                  const Clock& clock = systemClock());
  ~CaServer();

  void start();
  void stop();

  // The bound addresses (the real port when the config said 0); unspecified
  // for a listener that is off.
  net::tcp::endpoint estEndpoint() const;
  net::tcp::endpoint pkiEndpoint() const;

  const CaConfig& config() const;
  const std::shared_ptr<Authority>& authority() const;

  struct Impl;

 private:
  explicit CaServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::ca
