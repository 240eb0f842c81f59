#include "server/lmtp/lmtp_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/log.h"

namespace rampart::server::lmtp {

namespace asio = net::asio;

LmtpServer::LmtpServer(asio::any_io_executor executor, std::shared_ptr<LocalDelivery> delivery,
                       std::shared_ptr<const SessionOptions> options)
    : executor_(std::move(executor)), delivery_(std::move(delivery)), options_(std::move(options)) {}

LmtpServer::~LmtpServer() {
  if (listener_) listener_->stop();
}

Result<std::unique_ptr<LmtpServer>> LmtpServer::create(asio::any_io_executor executor, const LmtpConfig& config,
                                                       std::string hostname,
                                                       std::shared_ptr<LocalDelivery> delivery) {
  auto endpoint = net::parseEndpoint(config.listen);
  if (!endpoint) return fail(Errc::config_error, "lmtp.listen: " + endpoint.error().message());

  auto options = std::make_shared<SessionOptions>();
  options->hostname = std::move(hostname);
  options->max_message_size = config.max_message_size.bytes;
  options->max_recipients = static_cast<std::size_t>(config.max_recipients);
  options->command_timeout = config.command_timeout;
  options->data_timeout = config.data_timeout;
  options->data_total_timeout = config.data_total_timeout;

  std::unique_ptr<LmtpServer> server(new LmtpServer(executor, std::move(delivery), options));
  net::ListenerOptions listener_options;
  listener_options.max_connections = static_cast<std::size_t>(config.max_connections);
  LmtpServer* raw = server.get();
  auto listener = net::Listener::bind(executor, *endpoint, listener_options,
                                      [raw](net::tcp::socket socket) { return raw->serve(std::move(socket)); });
  if (!listener) return fail(listener.error());
  server->listener_ = std::move(*listener);
  server->endpoint_ = server->listener_->localEndpoint();

  // RFC 5321 3.8 / RFC 3463 4.3.2: over the cap, say why before closing. A
  // blocking write of one short line to a fresh socket does not block in
  // practice (the kernel buffer is empty); non_blocking makes sure of it.
  server->listener_->setRefuseHandler([hostname = options->hostname](net::tcp::socket& socket) {
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    std::string line = "421 4.3.2 " + hostname + " Too many connections, try again later\r\n";
    asio::write(socket, asio::buffer(line), ec);
    socket.shutdown(net::tcp::socket::shutdown_both, ec);
  });
  return server;
}

void LmtpServer::start() {
  log::get("lmtp")->debug("accepting on {}:{}", endpoint_.address().to_string(), endpoint_.port());
  listener_->start();
}

net::Task<void> LmtpServer::serve(net::tcp::socket socket) {
  // Each session gets its own strand: the io_context may run on several
  // threads, and stop()/abort() reach the session from outside.
  auto strand = asio::make_strand(socket.get_executor());
  net::tcp::socket own(strand);
  boost::system::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) co_return;
  auto fd = socket.release(ec);
  if (ec) co_return;
  own.assign(protocol, fd, ec);
  if (ec) co_return;

  auto session = std::make_shared<Session>(std::move(own), delivery_, options_);
  auto registry = registry_;  // outlives this server while sessions run
  bool stopping = false;
  {
    std::lock_guard lock(registry->mutex);
    registry->sessions.emplace(session.get(), session);
    stopping = registry->stopping;
  }
  if (stopping) session->shutdown();
  co_await asio::co_spawn(strand, session->run(), asio::use_awaitable);
  std::lock_guard lock(registry->mutex);
  registry->sessions.erase(session.get());
}

void LmtpServer::stop() {
  // The listener is not thread-safe: close it on its own executor.
  asio::post(executor_, [listener = listener_] { listener->stop(); });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(registry_->mutex);
    registry_->stopping = true;
    for (auto& [raw, weak] : registry_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->shutdown();
}

std::size_t LmtpServer::liveSessions() const {
  std::lock_guard lock(registry_->mutex);
  return registry_->sessions.size();
}

void LmtpServer::abort() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(registry_->mutex);
    for (auto& [raw, weak] : registry_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->abort();
}

}  // namespace rampart::server::lmtp
