// The mail server role assembled from its parts: the SQLite mailbox store and
// built-in directory in data_dir, local delivery, and the LMTP listener. Other
// services of the role (SMTP relay worker, HTTP/EAS, health) are added here
// next to LMTP: open in the constructor path of start(), stop in stop().
//
// Lifetime: create() opens storage; start() binds and begins accepting on the
// given io_context; stop() drains. The MailServer must outlive the
// io_context's run() and be destroyed before the io_context.
#pragma once

#include <memory>

#include "core/error.h"
#include "directory/directory.h"
#include "net/asio.h"
#include "server/config.h"
#include "server/delivery.h"
#include "server/lmtp/lmtp_server.h"
#include "server/smtp/outbound.h"
#include "server/smtp/relay.h"
#include "http/server.h"
#include "server/eas/eas_service.h"
#include "store/outbound_queue.h"
#include "store/mail_store.h"

namespace rampart::server {

class MailServer {
 public:
  // Creates data_dir (mode 0700) when missing and opens data_dir/rampart.db
  // (store and directory). Errc::io_error / storage_error when it cannot.
  static Result<std::unique_ptr<MailServer>> create(const ServerConfig& config);
  ~MailServer();

  // Binds the listeners on `io` and starts accepting. Errc::io_error when an
  // address cannot be bound.
  Status start(net::asio::io_context& io);
  // Stops accepting and lets sessions finish their transactions (thread-safe).
  void stop();
  // Closes whatever is still open (after stop() and a grace period).
  void abort();
  // Live sessions across all listeners; 0 once a drain has finished.
  std::size_t liveSessions() const;

  // The bound LMTP address (the real port when the config said 0).
  net::tcp::endpoint lmtpEndpoint() const;
  // The bound [admin] HTTP address; unspecified when [admin] listen is empty.
  net::tcp::endpoint adminEndpoint() const;
  // The bound [eas] HTTPS address; unspecified when [eas] listen is empty.
  net::tcp::endpoint easEndpoint() const;
  // The bound [eas] gateway_listen address (the gateway's bridged link).
  net::tcp::endpoint gatewayLinkEndpoint() const;

  const ServerConfig& config() const { return config_; }
  store::MailStore& store() { return *store_; }
  directory::Directory& directory() { return *directory_; }
  LocalDelivery& localDelivery() { return *delivery_; }
  // Mail out (after start()): local recipients directly, the rest via the relay.
  smtp::Outbound& outbound() { return *outbound_; }
  store::OutboundQueue& outboundQueue() { return *queue_; }

 private:
  Status startAdminHttp(net::asio::io_context& io);
  Status startEas(net::asio::io_context& io);
  explicit MailServer(ServerConfig config) : config_(std::move(config)) {}

  ServerConfig config_;
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<directory::Directory> directory_;
  std::shared_ptr<LocalDelivery> delivery_;
  std::unique_ptr<lmtp::LmtpServer> lmtp_;
  // SMTP out (src/server/smtp/): queue in data_dir/rampart.db, relay worker.
  std::unique_ptr<store::OutboundQueue> queue_;
  std::unique_ptr<http::Server> admin_http_;
  // Blocking work kept off the I/O threads (password hashing).
  std::unique_ptr<net::asio::thread_pool> blocking_;
  std::shared_ptr<eas::EasService> eas_;
  std::unique_ptr<http::Server> eas_http_;
  std::unique_ptr<http::Server> gateway_http_;
  std::unique_ptr<smtp::LocalRecipients> local_recipients_;
  std::shared_ptr<smtp::Relay> relay_;
  std::unique_ptr<smtp::Outbound> outbound_;
};

// data_dir/rampart.db
std::string databasePath(const ServerConfig& config);

}  // namespace rampart::server
