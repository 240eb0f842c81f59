// The client side of the bridged link (DESIGN.md 6): HTTP/2 (RFC 9113) over
// TLS with ALPN "h2" to one backend, many concurrent requests as streams on
// a few connections, so that thousands of parked EAS Ping requests do not
// each hold a backend connection.
//
// Everything runs on one executor (the gateway's per-core io_context): call
// request() and CancelSignal::cancel() from coroutines on it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "http/types.h"
#include "net/asio.h"
#include "tls/context.h"

namespace rampart::http {

struct H2ClientOptions {
  // Client context from tls::makeClientContext, with the gateway's
  // certificate for mTLS. Required.
  std::shared_ptr<tls::ssl::context> tls;
  std::string sni;  // server name for SNI, certificate check and :authority
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect + TLS handshake
  std::chrono::milliseconds write_progress{30'000};   // a write must finish in this
  std::chrono::milliseconds ping_interval{30'000};    // streams open, server silent: PING
  std::chrono::milliseconds idle_timeout{300'000};    // no streams: GOAWAY and close
  std::uint64_t body_limit = 64 * 1024 * 1024;        // per response
  std::size_t header_limit = 64 * 1024;               // per response header list
  std::size_t max_connections = 4;                    // H2Client's pool size
};

// Lets a caller abandon a request it no longer wants (its own client went
// away): the stream is reset (RST_STREAM CANCEL) and request() completes at
// once with Errc::unavailable. One request at a time; use on the executor.
class CancelSignal {
 public:
  void cancel();
  bool cancelled() const { return cancelled_; }

 private:
  friend class H2Connection;
  bool cancelled_ = false;
  std::function<void()> on_cancel_;
};

// One HTTP/2 connection. Connects in the background from open(); requests
// made meanwhile wait for it.
class H2Connection {
 public:
  static std::shared_ptr<H2Connection> open(net::asio::any_io_executor executor,
                                            net::tcp::endpoint endpoint, H2ClientOptions options);
  ~H2Connection();

  // Sends `req` (kept by the caller until this completes; :authority from its
  // Host field, else options.sni) and returns the response, with version 11
  // so that it can be written to an HTTP/1.1 front connection as it is. Errors:
  //   Errc::unavailable  not processed by the server (connect or handshake
  //                      failed, closed before the server's SETTINGS, GOAWAY,
  //                      REFUSED_STREAM: RFC 9113 8.7), safe to retry; also
  //                      after cancel
  //   Errc::timeout      no complete response within `timeout`; stream reset
  //   Errc::io_error     the connection broke or the stream was reset
  //   Errc::limit_exceeded  response over body_limit / header_limit
  net::Task<Result<Response>> request(Request& req, std::chrono::milliseconds timeout,
                                       std::shared_ptr<CancelSignal> cancel = nullptr);

  // Still connecting or open, and no GOAWAY seen: may take new requests.
  bool usable() const;
  // Requests in flight (waiting for the connection or on a stream).
  std::size_t inFlight() const;
  // The server's SETTINGS_MAX_CONCURRENT_STREAMS (nghttp2's default before it arrives).
  std::size_t streamLimit() const;
  // GOAWAY; in-flight requests finish (RFC 9113 6.8).
  void drain();

  class Impl;

 private:
  explicit H2Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// A small pool of H2Connections to one backend: requests go to the first
// usable connection with a free stream; another is opened when all are at
// their stream limit (up to max_connections); dead ones are replaced.
class H2Client {
 public:
  H2Client(net::asio::any_io_executor executor, net::tcp::endpoint endpoint,
           H2ClientOptions options);
  ~H2Client();  // drains its connections: in-flight requests get idle_timeout

  // As H2Connection::request; requests the server did not process
  // (Errc::unavailable, not cancelled) are retried once, on a usable
  // connection (a new one after GOAWAY), within the same `timeout`. Pass a
  // named Request (moved in), not a temporary (docs/decisions/0002).
  net::Task<Result<Response>> request(Request req, std::chrono::milliseconds timeout,
                                       std::shared_ptr<CancelSignal> cancel = nullptr);

  std::size_t connectionCount() const { return connections_.size(); }

 private:
  std::shared_ptr<H2Connection> pick();

  net::asio::any_io_executor executor_;
  net::tcp::endpoint endpoint_;
  H2ClientOptions options_;
  std::vector<std::shared_ptr<H2Connection>> connections_;
};

}  // namespace rampart::http
