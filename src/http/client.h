// A small HTTP/1.1 client on Asio coroutines, plain or TLS, one request per
// connection, with deadlines for connect, handshake, write and read. Used by
// the device client, health checks, revocation fetches and tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "http/types.h"
#include "net/asio.h"
#include "tls/context.h"

namespace rampart::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds io_timeout{30'000};      // each read/write must progress
  std::uint64_t body_limit = 64 * 1024 * 1024;
  std::shared_ptr<tls::ssl::context> tls;           // null: plain HTTP
  std::string sni;                                  // server name for SNI and verification
};

// Sends `req` to `endpoint` and returns the response. Sets Host when absent.
net::Task<Result<Response>> fetch(net::tcp::endpoint endpoint, Request req, ClientOptions options);

// Blocking forms, for a CLI or a thread of a blocking pool: each runs on a
// private io_context. `deadline` bounds the whole exchange however slowly the
// bytes come (zero: only the options' per-step timeouts).
Result<Response> fetchBlocking(const net::tcp::endpoint& endpoint, Request req,
                               const ClientOptions& options,
                               std::chrono::milliseconds deadline = {});
// To `host`:`port`, resolved, each address in turn while connecting fails
// ("localhost" may name ::1 first). Sets Host to "host:port" when absent.
Result<Response> fetchBlocking(const std::string& host, const std::string& port, Request req,
                               const ClientOptions& options,
                               std::chrono::milliseconds deadline = {});

// A certificate's revocation information (RFC 5280 4.2.1.13 CRL distribution
// point, 4.2.2.1 OCSP access method), fetched over plain HTTP as relying
// parties do: GET of a CRL when `ocsp_request` is empty, else POST of an
// application/ocsp-request (RFC 6960 A.1). The body of a 200 answer.
struct RevocationFetch {
  std::chrono::milliseconds deadline{10'000};  // the whole exchange
  std::uint64_t body_limit = 16 * 1024 * 1024;
  // false: only http:// URLs whose host is an address literal, so that a
  // certificate someone else sent cannot make us resolve and dial a name.
  bool resolve_names = false;
};
Result<std::string> fetchRevocationInfo(std::string_view url, std::string_view ocsp_request,
                                        const RevocationFetch& how);

}  // namespace rampart::http
