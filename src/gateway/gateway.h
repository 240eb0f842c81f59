// The edge gateway (DESIGN.md 2): one TLS listener in front of the backends.
// A client connection goes through, in order:
//
//   admission      per-IP concurrent/rate limits, unauthenticated budget, global cap
//   TLS            handshake within handshake_timeout; certificate by SNI
//   request        strict HTTP/1.1 (http/request_parser.h) under hard deadlines
//   rule           host + path prefix (rules.h), method allowed, Host matches SNI
//   service check  EAS: known Cmd, DeviceId/DeviceType, query form, content type, size
//   pre-auth       authenticator.h: nothing unauthenticated goes further
//   rates          per user and per device
//   forward        re-built request (credentials and hop-by-hop headers gone, the
//                  identity assertion added) to the backend over mTLS, HTTP/1.1 or
//                  HTTP/2; the answer written back under a write-progress deadline
//
// docs/life-of-a-request.md walks through it with the code's names.
//
// Threads: `listener.threads` I/O threads, each with its own io_context and
// acceptor on the same port (SO_REUSEPORT), its own backend connections; the
// guards, authenticator and metrics are shared and thread-safe.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "gateway/config.h"
#include "gateway/metrics.h"
#include "net/asio.h"

namespace rampart::gateway {

class Gateway {
 public:
  // Loads certificates, keys, the directory and the second-factor store, and
  // binds the listener (and the admin listener); nothing runs until start().
  static Result<std::unique_ptr<Gateway>> create(GatewayConfig config);
  ~Gateway();

  // Starts the I/O threads.
  void start();
  // Graceful stop: stops accepting, lets requests in flight finish within
  // drain_timeout, then closes what is left and joins the threads.
  void stop();
  // Re-reads certificates, OCSP staples, CRLs and the rules from `config`
  // (the same listener); connections and parked requests are not touched.
  Status reload(GatewayConfig config);

  net::tcp::endpoint localEndpoint() const;
  net::tcp::endpoint adminEndpoint() const;  // port 0 when there is none
  MetricsRegistry& metrics();

  struct Impl;

 private:
  explicit Gateway(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared with the connection coroutines
};

}  // namespace rampart::gateway
