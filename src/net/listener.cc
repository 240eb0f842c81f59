#include "net/listener.h"

#include <boost/asio/ip/address.hpp>

namespace rampart::net {

Result<tcp::endpoint> parseEndpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return fail(Errc::invalid_argument, "expected host:port in '" + text + "'");
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return fail(Errc::invalid_argument, "bad port in '" + text + "'");
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(Errc::invalid_argument, "bad address in '" + text + "'");
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

Listener::Listener(tcp::acceptor acceptor, ListenerOptions options, Handler serve)
    : acceptor_(std::move(acceptor)), options_(options), serve_(std::move(serve)) {}

Result<std::shared_ptr<Listener>> Listener::bind(asio::any_io_executor executor,
                                                 const tcp::endpoint& endpoint,
                                                 ListenerOptions options, Handler serve) {
  tcp::acceptor acceptor(executor);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(options.backlog, ec);
  if (ec) {
    return fail(Errc::io_error, "listen on " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return std::shared_ptr<Listener>(new Listener(std::move(acceptor), options, std::move(serve)));
}

tcp::endpoint Listener::localEndpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::start() {
  asio::co_spawn(acceptor_.get_executor(), [self = shared_from_this()] { return self->acceptLoop(); },
                 asio::detached);
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

Task<void> Listener::acceptLoop() {
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    // Each connection on its own strand: with several threads running the
    // io_context, everything one connection starts (an HTTP/2 session's read
    // and write loops and stream handlers, a TLS stream's deadline timer)
    // still runs one at a time.
    tcp::socket socket = co_await acceptor_.async_accept(asio::make_strand(acceptor_.get_executor()),
                                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (live_->load() >= options_.max_connections) {
      if (refuse_) refuse_(socket);
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    live_->fetch_add(1);
    auto executor = socket.get_executor();
    asio::co_spawn(
        executor,
        [serve = serve_, live = live_, s = std::move(socket)]() mutable -> Task<void> {
          struct Release {
            std::shared_ptr<std::atomic<std::size_t>> live;
            ~Release() { live->fetch_sub(1); }
          } release{live};
          co_await serve(std::move(s));
        },
        asio::detached);
  }
}

}  // namespace rampart::net
