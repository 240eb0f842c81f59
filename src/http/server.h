// An HTTP/1.1 server on Asio coroutines (Beast's parser underneath), plain or
// TLS, with a deadline on every phase so that a peer that stalls at any point
// is cut off and its buffers freed:
//
//   TLS handshake            handshake_timeout   (hard: the whole handshake)
//   first request headers    header_timeout      (hard: trickled bytes do not extend it)
//   request body             body_progress       (each read must make progress in time)
//   response                 write_progress      (a client that never reads is dropped)
//   between requests         keepalive_idle      (then headers get header_timeout again)
//
// Request size is bounded (header_limit, body_limit): over-size requests get
// 431/413 and the connection is closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/error.h"
#include "http/types.h"
#include "net/asio.h"
#include "net/listener.h"
#include "tls/context.h"

namespace rampart::http {

struct ServerOptions {
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{120'000};  // IIS "Connection Timeout" (DESIGN.md 2)
  std::chrono::milliseconds body_progress{30'000};
  std::chrono::milliseconds write_progress{30'000};
  std::chrono::milliseconds keepalive_idle{60'000};
  std::size_t header_limit = 16 * 1024;
  std::uint64_t body_limit = 1024 * 1024;
  std::size_t max_connections = 10'000;
  std::string server_name = "rampart";
  // HTTP/2, when the TLS context offers ALPN "h2" (tls::ServerOptions::alpn;
  // http/h2_server.h). keepalive_idle is the idle bound with no open stream.
  std::uint32_t h2_max_concurrent_streams = 10'000;  // SETTINGS_MAX_CONCURRENT_STREAMS
  std::chrono::milliseconds h2_ping_interval{30'000};  // streams open, peer silent: PING
  std::chrono::milliseconds h2_drain_timeout{30'000};  // after stop()'s GOAWAY
  std::uint64_t h2_connection_body_limit = 64 * 1024 * 1024;  // bodies held at once: 503 beyond
};

// Handles one request. Runs on the connection's executor; must not block.
using Handler = std::function<net::Task<Response>(Request&)>;

// A Handler for a synchronous service (one that signs, or commits to a
// store): `serve` runs on `pool`, and the answer resumes on the connection's
// executor, so that no I/O thread ever waits on it. `serve` lives as long as
// the Handler and any request still being served.
Handler onBlockingPool(std::function<Response(const Request&)> serve,
                       net::asio::any_io_executor pool);

// Exact-path routing with a fallback 404; methods are the handler's business.
class Router {
 public:
  void add(std::string path, Handler handler);
  net::Task<Response> operator()(Request& req) const;

 private:
  std::map<std::string, Handler, std::less<>> routes_;
};

class Server {
 public:
  // `tls` may be null for plain HTTP (loopback health/metrics only).
  static Result<std::unique_ptr<Server>> bind(net::asio::any_io_executor executor,
                                              const net::tcp::endpoint& endpoint,
                                              ServerOptions options, Handler handler,
                                              std::shared_ptr<tls::ReloadableContext> tls = nullptr);
  ~Server();

  void start();
  // Stops accepting; HTTP/1.1 connections run to their end, HTTP/2 ones get
  // GOAWAY and h2_drain_timeout to finish their streams.
  void stop();
  net::tcp::endpoint localEndpoint() const;

  struct Impl;  // defined in server.cc

 private:
  explicit Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// A listener only the gateway reaches (the CA's EST link, the rights
// server): TLS with a client certificate from `client_ca_file` required.
struct LinkListener {
  std::string listen;    // "127.0.0.1:8446"
  std::string setting;   // the config key `listen` came from, for errors: "est.listen"
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};
Result<std::unique_ptr<Server>> bindLink(net::asio::any_io_executor executor, const LinkListener& link,
                                         ServerOptions options, Handler handler);

}  // namespace rampart::http
