#include "http/server.h"

#include <optional>

#include <openssl/ssl.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "core/log.h"
#include "http/h2_server.h"
#include "net/blocking.h"
#include "tls/stream.h"

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
  H2Connections h2;
  std::shared_ptr<spdlog::logger> log = log::get("http");
};

namespace {

// A malformed request (as opposed to a closed or timed-out connection).
bool isParseError(const boost::system::error_code& ec) {
  return ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Per-phase deadlines on either stream type.
using Duration = std::chrono::steady_clock::duration;
void expiresAfter(beast::tcp_stream& s, Duration d) { s.expires_after(d); }
void expiresAfter(tls::Stream& s, Duration d) { s.expiresAfter(d); }
void expiresNever(beast::tcp_stream& s) { s.expires_never(); }
void expiresNever(tls::Stream& s) { s.expiresNever(); }

// Writes `res` making progress within write_progress on every chunk; false if cut off.
template <class Stream>
Task<bool> writeResponse(Stream& stream, Response& res, const ServerOptions& opt) {
  bhttp::serializer<false, bhttp::string_body> sr(res);
  boost::system::error_code ec;
  while (!sr.is_done()) {
    expiresAfter(stream, opt.write_progress);
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

// Reads the next request into a Request, or answers what cannot be read
// (431/413/400) and returns nothing; nothing too when the peer went away or
// a deadline passed. A coroutine of its own so that the parser and its frame
// are gone while the handler runs (a parked Ping holds only the Request).
template <class Stream>
Task<std::optional<Request>> readRequest(Stream& stream, beast::flat_buffer& buffer,
                                         const ServerOptions& opt, bool first) {
  boost::system::error_code ec;
  if (!first && buffer.size() == 0) {
    // Between requests the peer may idle for keepalive_idle; the header
    // deadline starts with the next request's first byte.
    expiresAfter(stream, opt.keepalive_idle);
    std::size_t n = co_await stream.async_read_some(
        buffer.prepare(1024), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
    buffer.commit(n);
  }
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
  parser.body_limit(opt.body_limit);
  // One deadline for the whole header: bytes trickled in slowly do not extend it.
  expiresAfter(stream, opt.header_timeout);
  co_await bhttp::async_read_header(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
  Status refusal = Status::unknown;
  if (ec == bhttp::error::header_limit) refusal = Status::request_header_fields_too_large;
  else if (ec == bhttp::error::body_limit) refusal = Status::payload_too_large;
  else if (isParseError(ec)) refusal = Status::bad_request;
  else if (ec) co_return std::nullopt;
  while (refusal == Status::unknown && !parser.is_done()) {
    expiresAfter(stream, opt.body_progress);
    co_await bhttp::async_read_some(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::body_limit) refusal = Status::payload_too_large;
    else if (isParseError(ec)) refusal = Status::bad_request;
    else if (ec) co_return std::nullopt;
  }
  if (refusal != Status::unknown) {
    co_await refuse(stream, refusal, opt);
    co_return std::nullopt;
  }
  expiresNever(stream);
  co_return parser.release();
}

template <class Stream>
Task<void> serveRequests(Stream& stream, const ServerOptions& opt, const Handler& handler) {
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    std::optional<Request> req = co_await readRequest(stream, buffer, opt, first);
    if (!req) co_return;
    // The handler may park for a long time (EAS Ping): hold no read buffer
    // meanwhile unless the client pipelined its next request.
    if (buffer.size() == 0) buffer.shrink_to_fit();
    Response res;
    try {
      res = co_await handler(*req);
    } catch (const std::exception& e) {
      // Handlers report failures as responses; this is the last line of defence.
      log::get("http")->error("handler for {} threw: {}", std::string(req->target()), e.what());
      res = textResponse(*req, Status::internal_server_error, "internal error\n");
    }
    res.set(Field::server, opt.server_name);
    if (!req->keep_alive()) res.keep_alive(false);
    req.reset();
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

// TLS on tls::Stream: an idle connection keeps no record buffers (tls/stream.h).
// Each connection keeps the context it started with (its SSL object holds a
// reference); a reload affects new ones only.
Task<void> serveTls(net::tcp::socket socket, std::shared_ptr<Server::Impl> impl) {
  tls::Stream stream(std::move(socket), *impl->tls->current());
  boost::system::error_code ec;
  stream.expiresAfter(impl->options.handshake_timeout);
  co_await stream.async_handshake(tls::Stream::Role::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  if (stream.native_handle()) SSL_get0_alpn_selected(stream.native_handle(), &alpn, &alpn_len);
  if (alpn_len == 2 && alpn[0] == 'h' && alpn[1] == '2') {
    // RFC 9113 3.2: "h2" over TLS; the handler outlives no Impl it uses.
    std::shared_ptr<const Handler> handler(impl, &impl->handler);
    co_await serveH2(stream, impl->options, handler, impl->h2);
    co_return;
  }
  co_await serveRequests(stream, impl->options, impl->handler);
  stream.expiresAfter(std::chrono::seconds(5));
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
  if (impl_) impl_->h2.drainAll();
}

net::tcp::endpoint Server::localEndpoint() const { return impl_->listener->localEndpoint(); }

namespace {

// A coroutine with no captures: the service is a parameter, kept in the frame.
net::Task<Response> serveOnPool(std::shared_ptr<const std::function<Response(const Request&)>> serve,
                                net::asio::any_io_executor pool, Request& req) {
  // A named closure passed as an lvalue (docs/decisions/0002).
  auto work = [&serve, &req] { return (*serve)(req); };
  co_return co_await net::runBlocking<Response>(pool, work);
}

}  // namespace

Handler onBlockingPool(std::function<Response(const Request&)> serve,
                       net::asio::any_io_executor pool) {
  auto shared = std::make_shared<const std::function<Response(const Request&)>>(std::move(serve));
  return [shared, pool = std::move(pool)](Request& req) { return serveOnPool(shared, pool, req); };
}

Result<std::unique_ptr<Server>> bindLink(net::asio::any_io_executor executor, const LinkListener& link,
                                         ServerOptions options, Handler handler) {
  tls::ServerOptions tls_options;
  tls_options.cert_file = link.cert_file;
  tls_options.key_file = link.key_file;
  tls_options.client_ca_file = link.client_ca_file;
  tls_options.require_client_cert = true;
  auto tls = tls::ReloadableContext::create(tls_options);
  if (!tls) return fail(tls.error());
  auto endpoint = net::parseEndpoint(link.listen);
  if (!endpoint) return fail(Errc::config_error, link.setting + ": " + endpoint.error().message());
  return Server::bind(std::move(executor), *endpoint, std::move(options), std::move(handler), *tls);
}

}  // namespace rampart::http
