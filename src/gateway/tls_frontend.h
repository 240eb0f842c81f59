// The gateway's server-side TLS: one context per [[certificate]], chosen by
// the client's SNI name (exact name, then a one-label wildcard, then the
// first certificate), OCSP stapling from a file per certificate, and
// client-certificate requests when a rule authenticates by certificate.
// reload() re-reads every certificate, key and staple and swaps them in as a
// whole; handshakes already made keep what they started with.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "gateway/config.h"
#include "tls/context.h"

namespace rampart::gateway {

class TlsFrontend {
 public:
  // `request_client_cert`: ask for (but do not require) a client certificate
  // signed by `client_ca_file`; the certificate filter decides per rule.
  static Result<std::shared_ptr<TlsFrontend>> create(std::vector<CertificateConfig> certs,
                                                     tls::Profile profile,
                                                     std::string client_ca_file);
  ~TlsFrontend();

  // The context new connections start with (its SNI callback switches to the
  // right certificate during the handshake).
  std::shared_ptr<tls::ssl::context> current() const;
  Status reload();

  struct Set;  // the contexts of one load, defined in tls_frontend.cc

 private:
  TlsFrontend() = default;
  std::vector<CertificateConfig> certs_;
  tls::Profile profile_ = tls::Profile::modern;
  std::string client_ca_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<Set> set_;
};

}  // namespace rampart::gateway
