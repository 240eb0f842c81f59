// HTTP/2 (RFC 9113) on http::Server's TLS connections, for the bridged link
// between the gateway and the mail server: thousands of parked EAS Ping
// requests travel as streams multiplexed on a few connections (DESIGN.md 6).
//
// http::Server hands a connection here when ALPN selected "h2" (RFC 9113
// 3.2; tls::ServerOptions::alpn). The TLS profiles already meet 9.2 (TLS
// 1.2+, no compression or renegotiation, only ECDHE AEAD suites). No h2c. Each complete request stream becomes an
// http::Request (method from :method, target from :path, Host from
// :authority, the other fields, the body bounded by body_limit) and goes to
// the server's Handler in a coroutine of its own, many at once. A parked
// stream costs its Request, the handler's coroutine and nghttp2's stream
// state; nothing else.
//
// Limits: SETTINGS_MAX_CONCURRENT_STREAMS (h2_max_concurrent_streams), and
// the same bound on handlers still running for streams the peer reset (a
// handler cannot be cancelled, so a reset does not free its slot: this is
// what defeats "rapid reset", CVE-2023-44487, whatever nghttp2 does);
// SETTINGS_MAX_HEADER_LIST_SIZE (header_limit; over it: 431); body_limit
// (over it: 413, then RST_STREAM NO_ERROR, 8.1); h2_connection_body_limit
// on the request bodies one connection holds at once (503 beyond);
// nghttp2's own flood guards
// (Debian's 1.52 carries the RST_STREAM rate limit and the CONTINUATION cap).
// A reset stream's handler runs on; its response is dropped.
#pragma once

#include <memory>
#include <vector>

#include "http/server.h"
#include "net/asio.h"
#include "tls/stream.h"

namespace rampart::http {

class H2ServerConnection;

// The live HTTP/2 connections of one Server, so that stop() can drain them.
// Used on the server's executor only.
class H2Connections {
 public:
  // GOAWAY on every live connection (RFC 9113 6.8): no new streams; open
  // ones get h2_drain_timeout to finish.
  void drainAll();

 private:
  friend net::Task<void> serveH2(tls::Stream&, const ServerOptions&, std::shared_ptr<const Handler>,
                                 H2Connections&);
  std::vector<std::weak_ptr<H2ServerConnection>> live_;  // weak: never dangles
};

// Serves `stream` (handshaken, ALPN "h2"; taken over: moved from) until the
// connection ends. `handler` is shared by the streams' coroutines, which may
// outlive the connection.
net::Task<void> serveH2(tls::Stream& stream, const ServerOptions& options,
                        std::shared_ptr<const Handler> handler, H2Connections& live);

}  // namespace rampart::http
