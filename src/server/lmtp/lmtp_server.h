// The LMTP listener: accepts connections (with a cap), runs a Session on its
// own strand for each, and drains on stop(). The server must outlive the
// io_context's run(): the listener calls back into it for every connection.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "net/asio.h"
#include "net/listener.h"
#include "server/config.h"
#include "server/delivery.h"
#include "server/lmtp/session.h"

namespace rampart::server::lmtp {

class LmtpServer {
 public:
  // Binds `config.listen` (port 0 picks a free port; see endpoint()).
  // Errc::io_error when the address cannot be bound.
  static Result<std::unique_ptr<LmtpServer>> create(net::asio::any_io_executor executor,
                                                    const LmtpConfig& config, std::string hostname,
                                                    std::shared_ptr<LocalDelivery> delivery);
  ~LmtpServer();

  void start();
  // Stops accepting and asks every session to finish: a DATA transfer or
  // commit under way completes with its replies; a session waiting for a
  // command gets "421 4.3.2" and is closed. Thread-safe.
  void stop();
  // Closes every live session at once. Thread-safe.
  void abort();

  net::tcp::endpoint endpoint() const { return endpoint_; }
  std::size_t liveSessions() const;

 private:
  LmtpServer(net::asio::any_io_executor executor, std::shared_ptr<LocalDelivery> delivery,
             std::shared_ptr<const SessionOptions> options);
  net::Task<void> serve(net::tcp::socket socket);

  net::asio::any_io_executor executor_;
  std::shared_ptr<LocalDelivery> delivery_;
  std::shared_ptr<const SessionOptions> options_;
  std::shared_ptr<net::Listener> listener_;
  net::tcp::endpoint endpoint_;

  // Live sessions, so stop() and abort() can reach them.
  struct Registry {
    std::mutex mutex;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
    bool stopping = false;
  };
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
};

}  // namespace rampart::server::lmtp
