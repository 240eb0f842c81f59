#include "http/client.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace rampart::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using net::Task;

namespace {

Error ioError(std::string_view what, const boost::system::error_code& ec) {
  Errc code = ec == beast::error::timeout ? Errc::timeout : Errc::io_error;
  return Error{make_error_code(code), std::string(what) + ": " + ec.message()};
}

template <class Stream>
Task<Result<Response>> exchange(Stream& stream, Request& req, const ClientOptions& opt) {
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(opt.io_timeout);
  co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ioError("write request", ec));
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(opt.body_limit);
  beast::get_lowest_layer(stream).expires_after(opt.io_timeout);
  co_await bhttp::async_read_header(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ioError("read response header", ec));
  while (!parser.is_done()) {
    beast::get_lowest_layer(stream).expires_after(opt.io_timeout);
    co_await bhttp::async_read_some(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ioError("read response body", ec));
  }
  co_return parser.release();
}

}  // namespace

Task<Result<Response>> fetch(net::tcp::endpoint endpoint, Request req, ClientOptions opt) {
  auto executor = co_await asio::this_coro::executor;
  if (req.find(Field::host) == req.end()) {
    req.set(Field::host, opt.sni.empty() ? endpoint.address().to_string() : opt.sni);
  }
  req.prepare_payload();
  boost::system::error_code ec;
  beast::tcp_stream tcp(executor);
  tcp.expires_after(opt.connect_timeout);
  co_await tcp.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ioError("connect", ec));
  if (!opt.tls) {
    auto res = co_await exchange(tcp, req, opt);
    tcp.socket().shutdown(net::tcp::socket::shutdown_both, ec);
    co_return res;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *opt.tls);
  if (!opt.sni.empty()) {
    if (!SSL_set_tlsext_host_name(stream.native_handle(), opt.sni.c_str())) {
      co_return fail(Errc::invalid_argument, "bad SNI name");
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(opt.sni));
  }
  stream.next_layer().expires_after(opt.connect_timeout);
  co_await stream.async_handshake(tls::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ioError("TLS handshake", ec));
  auto res = co_await exchange(stream, req, opt);
  stream.next_layer().expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  co_return res;
}

}  // namespace rampart::http
