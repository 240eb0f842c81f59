// Accepting TCP connections on Asio coroutines, with a cap on live connections
// and a drain on stop.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "net/asio.h"

namespace rampart::net {

// "127.0.0.1:2424", "[::1]:443", ":2424" (all addresses), "localhost:0".
Result<tcp::endpoint> parseEndpoint(const std::string& text);

struct ListenerOptions {
  std::size_t max_connections = 1000;  // beyond it, new sockets are closed at once
  int backlog = 1024;
};

// Calls `serve(socket)` in a new coroutine for each accepted connection. The
// connection count is held until that coroutine returns. Not thread-safe:
// start() and stop() are called from the listener's executor or before run().
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using Handler = std::function<Task<void>(tcp::socket)>;
  // Called with the socket that was refused because the cap was reached.
  using RefuseHandler = std::function<void(tcp::socket&)>;

  static Result<std::shared_ptr<Listener>> bind(asio::any_io_executor executor,
                                                const tcp::endpoint& endpoint,
                                                ListenerOptions options, Handler serve);

  void setRefuseHandler(RefuseHandler refuse) { refuse_ = std::move(refuse); }
  void start();
  // Stops accepting; live connections run to their end.
  void stop();

  tcp::endpoint localEndpoint() const;
  std::size_t liveConnections() const { return live_->load(); }

 private:
  Listener(tcp::acceptor acceptor, ListenerOptions options, Handler serve);
  Task<void> acceptLoop();

  tcp::acceptor acceptor_;
  ListenerOptions options_;
  Handler serve_;
  RefuseHandler refuse_;
  std::shared_ptr<std::atomic<std::size_t>> live_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace rampart::net
