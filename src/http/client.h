// A small HTTP/1.1 client on Asio coroutines, plain or TLS, one request per
// connection, with deadlines for connect, handshake, write and read. Used by
// the device client, health checks and tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

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

}  // namespace rampart::http
