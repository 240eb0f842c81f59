#include "http/client.h"

#include <openssl/ssl.h>

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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

Result<Response> fetchBlocking(const net::tcp::endpoint& endpoint, Request req,
                               const ClientOptions& options, std::chrono::milliseconds deadline) {
  asio::io_context io(1);
  Result<Response> result = fail(Errc::timeout, "no answer within " + std::to_string(deadline.count()) + " ms");
  asio::co_spawn(io, fetch(endpoint, std::move(req), options),
                 [&result](std::exception_ptr e, Result<Response> r) {
                   result = e ? fail(Errc::internal, "HTTP client failed") : std::move(r);
                 });
  if (deadline.count() > 0) {
    io.run_for(deadline);
  } else {
    io.run();
  }
  return result;
}

Result<Response> fetchBlocking(const std::string& host, const std::string& port, Request req,
                               const ClientOptions& options, std::chrono::milliseconds deadline) {
  const auto start = std::chrono::steady_clock::now();
  asio::io_context io(1);
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return fail(Errc::io_error, "cannot resolve " + host + ": " + ec.message());
  if (req.find(Field::host) == req.end()) req.set(Field::host, host + ":" + port);
  Result<Response> res = fail(Errc::io_error, "no address for " + host);
  for (const auto& entry : endpoints) {
    std::chrono::milliseconds left{};
    if (deadline.count() > 0) {
      left = deadline - std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start);
      if (left.count() <= 0) return fail(Errc::timeout, "no answer within " + std::to_string(deadline.count()) + " ms");
    }
    res = fetchBlocking(entry.endpoint(), req, options, left);
    if (res || res.error().detail.rfind("connect:", 0) != 0) break;
  }
  if (!res) return fail(res.error().code, host + ":" + port + ": " + res.error().detail);
  return res;
}

Result<std::string> fetchRevocationInfo(std::string_view url, std::string_view ocsp_request,
                                        const RevocationFetch& how) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return fail(Errc::invalid_argument, "not an http:// URL: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string path = authority.size() < rest.size() ? std::string(rest.substr(authority.size())) : "/";
  std::string host;
  std::string port = "80";
  if (authority.starts_with("[")) {  // [v6] or [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid_argument, "bad IPv6 address in " + std::string(url));
    host = std::string(authority.substr(1, close - 1));
    if (authority.substr(close + 1).starts_with(":")) port = std::string(authority.substr(close + 2));
  } else {
    auto colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return fail(Errc::invalid_argument, "bad host or port in " + std::string(url));
  }
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec && !how.resolve_names) {
    return fail(Errc::invalid_argument, "only address-literal hosts are fetched: " + std::string(url));
  }
  Request req{ocsp_request.empty() ? Verb::get : Verb::post, path, 11};
  req.set(Field::host, std::string(authority));
  if (ocsp_request.empty()) {
    req.set(Field::accept, "application/pkix-crl, */*");
  } else {
    req.set(Field::content_type, "application/ocsp-request");
    req.body() = std::string(ocsp_request);
  }
  ClientOptions options;
  options.connect_timeout = how.deadline;
  options.io_timeout = how.deadline;
  options.body_limit = how.body_limit;
  auto res = fetchBlocking(host, port, std::move(req), options, how.deadline);
  if (!res) return fail(res.error());
  if (res->result() != Status::ok) {
    return fail(Errc::unavailable, std::string(url) + " answered HTTP " + std::to_string(res->result_int()));
  }
  return std::move(res->body());
}

}  // namespace rampart::http
