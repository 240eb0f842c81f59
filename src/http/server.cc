#include "http/server.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/log.h"

namespace rampart::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using net::Task;

Response textResponse(const Request& req, Status status, std::string body,
                      std::string_view content_type) {
  Response res{status, req.version()};
  res.set(Field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

void Router::add(std::string path, Handler handler) {
  routes_[std::move(path)] = std::move(handler);
}

Task<Response> Router::operator()(Request& req) const {
  std::string_view target = req.target();
  auto q = target.find('?');
  auto it = routes_.find(target.substr(0, q));
  if (it == routes_.end()) co_return textResponse(req, Status::not_found, "not found\n");
  co_return co_await it->second(req);
}

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  std::shared_ptr<tls::ReloadableContext> tls;
  std::shared_ptr<net::Listener> listener;
  std::shared_ptr<spdlog::logger> log = log::get("http");
};

namespace {

// A malformed request (as opposed to a closed or timed-out connection).
bool isParseError(const boost::system::error_code& ec) {
  return ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

template <class Stream>
beast::tcp_stream& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// Writes `res` making progress within write_progress on every chunk; false if cut off.
template <class Stream>
Task<bool> writeResponse(Stream& stream, Response& res, const ServerOptions& opt) {
  bhttp::serializer<false, bhttp::string_body> sr(res);
  boost::system::error_code ec;
  while (!sr.is_done()) {
    lowest(stream).expires_after(opt.write_progress);
    co_await bhttp::async_write_some(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  co_return true;
}

// Answers a request that could not be read and ends the connection.
template <class Stream>
Task<void> refuse(Stream& stream, Status status, const ServerOptions& opt) {
  Response res{status, 11};
  res.set(Field::server, opt.server_name);
  res.set(Field::content_type, "text/plain; charset=utf-8");
  res.set(Field::connection, "close");
  res.body() = std::string(bhttp::obsolete_reason(status)) + "\n";
  res.prepare_payload();
  co_await writeResponse(stream, res, opt);
}

template <class Stream>
Task<void> serveRequests(Stream& stream, const ServerOptions& opt, const Handler& handler) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (bool first = true;; first = false) {
    if (!first && buffer.size() == 0) {
      // Between requests the peer may idle for keepalive_idle; the header
      // deadline starts with the next request's first byte.
      lowest(stream).expires_after(opt.keepalive_idle);
      std::size_t n = co_await stream.async_read_some(
          buffer.prepare(1024), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
    parser.body_limit(opt.body_limit);
    // One deadline for the whole header: bytes trickled in slowly do not extend it.
    lowest(stream).expires_after(opt.header_timeout);
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::header_limit) co_return co_await refuse(stream, Status::request_header_fields_too_large, opt);
    if (ec == bhttp::error::body_limit) co_return co_await refuse(stream, Status::payload_too_large, opt);
    if (isParseError(ec)) co_return co_await refuse(stream, Status::bad_request, opt);
    if (ec) co_return;
    while (!parser.is_done()) {
      lowest(stream).expires_after(opt.body_progress);
      co_await bhttp::async_read_some(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::body_limit) co_return co_await refuse(stream, Status::payload_too_large, opt);
      if (isParseError(ec)) co_return co_await refuse(stream, Status::bad_request, opt);
      if (ec) co_return;
    }
    lowest(stream).expires_never();
    Request req = parser.release();
    Response res;
    try {
      res = co_await handler(req);
    } catch (const std::exception& e) {
      // Handlers report failures as responses; this is the last line of defence.
      log::get("http")->error("handler for {} threw: {}", std::string(req.target()), e.what());
      res = textResponse(req, Status::internal_server_error, "internal error\n");
    }
    res.set(Field::server, opt.server_name);
    if (!req.keep_alive()) res.keep_alive(false);
    res.prepare_payload();
    bool keep = res.keep_alive();
    if (!co_await writeResponse(stream, res, opt)) co_return;
    if (!keep) co_return;
  }
}

Task<void> servePlain(net::tcp::socket socket, std::shared_ptr<Server::Impl> impl) {
  beast::tcp_stream stream(std::move(socket));
  co_await serveRequests(stream, impl->options, impl->handler);
  boost::system::error_code ec;
  stream.socket().shutdown(net::tcp::socket::shutdown_send, ec);
}

Task<void> serveTls(net::tcp::socket socket, std::shared_ptr<Server::Impl> impl) {
  // Each connection keeps the context it started with; a reload affects new ones only.
  std::shared_ptr<tls::ssl::context> ctx = impl->tls->current();
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ctx);
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(impl->options.handshake_timeout);
  co_await stream.async_handshake(tls::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  co_await serveRequests(stream, impl->options, impl->handler);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

Result<std::unique_ptr<Server>> Server::bind(asio::any_io_executor executor,
                                             const net::tcp::endpoint& endpoint,
                                             ServerOptions options, Handler handler,
                                             std::shared_ptr<tls::ReloadableContext> tls) {
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->tls = std::move(tls);
  std::weak_ptr<Impl> weak = impl;
  net::ListenerOptions lo;
  lo.max_connections = options.max_connections;
  auto listener = net::Listener::bind(
      executor, endpoint, lo, [weak](net::tcp::socket socket) -> Task<void> {
        auto self = weak.lock();
        if (!self) co_return;
        if (self->tls) co_await serveTls(std::move(socket), self);
        else co_await servePlain(std::move(socket), self);
      });
  if (!listener) return fail(listener.error());
  impl->listener = std::move(*listener);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

void Server::start() { impl_->listener->start(); }

void Server::stop() {
  if (impl_ && impl_->listener) impl_->listener->stop();
}

net::tcp::endpoint Server::localEndpoint() const { return impl_->listener->localEndpoint(); }

}  // namespace rampart::http
