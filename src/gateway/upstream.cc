#include "gateway/upstream.h"

#include <array>
#include <variant>

#include <openssl/evp.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include "core/ascii.h"
#include "net/listener.h"
#include "tls/stream.h"

namespace rampart::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::Task;

namespace {

void expiresAfter(beast::tcp_stream& s, std::chrono::milliseconds d) { s.expires_after(d); }
void expiresAfter(tls::Stream& s, std::chrono::milliseconds d) { s.expiresAfter(d); }
void expiresNever(beast::tcp_stream& s) { s.expires_never(); }
void expiresNever(tls::Stream& s) { s.expiresNever(); }

struct Connection {
  std::variant<beast::tcp_stream, tls::Stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;
};

Error ioError(Errc code, std::string_view what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) code = Errc::timeout;
  return Error{make_error_code(code), std::string(what) + ": " + ec.message()};
}

// One exchange on an open connection. `keep` says whether it may be reused;
// `got_bytes` whether any response byte came (a reused connection that failed
// before that was most likely closed idle by the backend: safe to retry).
template <class Stream>
Task<Result<http::Response>> exchange(Stream& s, beast::flat_buffer& buffer, const std::string& wire,
                                      const UpstreamCall& call, bool& keep, bool& got_bytes) {
  boost::system::error_code ec;
  expiresAfter(s, call.timeout);
  co_await asio::async_write(s, asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ioError(Errc::unavailable, "backend write", ec));
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(call.body_limit);
  parser.header_limit(64 * 1024);
  if (call.head) parser.skip(true);
  co_await bhttp::async_read_header(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  got_bytes = buffer.size() > 0 || parser.got_some();
  if (ec) co_return fail(ioError(ec == beast::error::timeout ? Errc::timeout : Errc::protocol_error,
                                 "backend response", ec));
  while (!parser.is_done()) {
    co_await bhttp::async_read_some(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ioError(Errc::protocol_error, "backend response body", ec));
  }
  expiresNever(s);
  keep = parser.keep_alive();
  co_return parser.release();
}

class Http1Upstream final : public Upstream {
 public:
  Http1Upstream(asio::any_io_executor executor, const RuleConfig& rule,
                std::shared_ptr<tls::ssl::context> tls)
      : executor_(std::move(executor)),
        tls_(std::move(tls)),
        server_name_(rule.backend_server_name.empty() ? endpointHost(rule.backend) : rule.backend_server_name),
        backend_(rule.backend),
        endpoint_(net::parseEndpoint(rule.backend)),
        connect_timeout_(rule.connect_timeout),
        max_idle_(static_cast<std::size_t>(rule.backend_connections)) {}

  Task<Result<http::Response>> send(ForwardRequest& req, const UpstreamCall& call) override {
    const std::string wire = serializeForward(req);
    req = {};
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Connection> conn;
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        conn->reused = true;
      } else {
        auto fresh = co_await connect();
        if (!fresh) co_return fail(fresh.error());
        conn = std::move(*fresh);
      }
      bool keep = false, got_bytes = false;
      Result<http::Response> res = fail(Errc::internal, "no exchange");
      if (auto* tcp = std::get_if<beast::tcp_stream>(&conn->stream)) {
        res = co_await exchange(*tcp, conn->buffer, wire, call, keep, got_bytes);
      } else {
        res = co_await exchange(std::get<tls::Stream>(conn->stream), conn->buffer, wire, call, keep,
                                got_bytes);
      }
      if (res) {
        // The buffer is kept: the next answer on this connection reuses it.
        if (keep && idle_.size() < max_idle_ && conn->buffer.size() == 0) {
          idle_.push_back(std::move(conn));
        }
        co_return res;
      }
      if (!(conn->reused && !got_bytes && !res.error().is(Errc::timeout))) co_return res;
    }
    co_return fail(Errc::unavailable, "backend closed the connection");
  }

  void closeIdle() override { idle_.clear(); }

 private:
  Task<Result<std::unique_ptr<Connection>>> connect() {
    if (!endpoint_) co_return fail(Errc::config_error, "backend " + backend_);
    net::tcp::endpoint endpoint = *endpoint_;
    boost::system::error_code ec;
    beast::tcp_stream tcp(executor_);
    tcp.expires_after(connect_timeout_);
    co_await tcp.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ioError(Errc::unavailable, "backend connect " + backend_, ec));
    tcp.expires_never();
    tcp.socket().set_option(net::tcp::no_delay(true), ec);
    if (!tls_) {
      co_return std::make_unique<Connection>(Connection{std::move(tcp), {}, false});
    }
    tls::Stream stream(tcp.release_socket(), *tls_);
    if (!stream.setServerName(server_name_)) co_return fail(Errc::config_error, "bad backend name");
    stream.expiresAfter(connect_timeout_);
    co_await stream.async_handshake(tls::Stream::Role::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ioError(Errc::unavailable, "backend TLS " + backend_, ec));
    stream.expiresNever();
    co_return std::make_unique<Connection>(Connection{std::move(stream), {}, false});
  }

  asio::any_io_executor executor_;
  std::shared_ptr<tls::ssl::context> tls_;
  std::string server_name_;
  std::string backend_;
  Result<net::tcp::endpoint> endpoint_;
  std::chrono::milliseconds connect_timeout_;
  std::size_t max_idle_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace

bool dropOnForward(std::string_view name, const std::vector<std::string>& connection_options) {
  static constexpr std::array<std::string_view, 13> kDrop{
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
      "upgrade", "content-length", "expect", "authorization", "proxy-authorization",
      "forwarded", "via"};
  for (std::string_view d : kDrop) {
    if (equalsIgnoreCase(name, d)) return true;
  }
  if (startsWithIgnoreCase(name, "x-forwarded-") || startsWithIgnoreCase(name, "rampart-")) return true;
  for (const std::string& option : connection_options) {
    if (equalsIgnoreCase(name, option)) return true;
  }
  return false;
}

Result<std::string> clientCertHeaderValue(X509* leaf) {
  constexpr int kMaxDer = 16 * 1024;
  if (leaf == nullptr) return fail(Errc::invalid_argument, "no client certificate");
  int len = i2d_X509(leaf, nullptr);
  if (len <= 0) return fail(Errc::internal, "client certificate does not encode");
  if (len > kMaxDer) return fail(Errc::limit_exceeded, "client certificate over 16 KiB");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(leaf, &p) != len) return fail(Errc::internal, "client certificate does not encode");
  // EVP_EncodeBlock: RFC 4648 section 4 alphabet with '=' padding, no newlines.
  std::string out(static_cast<std::size_t>(4 * ((len + 2) / 3)) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(der.data()), len);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string serializeForward(const ForwardRequest& req) {
  std::size_t size = req.method.size() + req.target.size() + req.body.size() + 64;
  for (const auto& [name, value] : req.headers) size += name.size() + value.size() + 4;
  std::string out;
  out.reserve(size);
  out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : req.headers) out.append(name).append(": ").append(value).append("\r\n");
  if (!req.body.empty() || (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS")) {
    out.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  }
  out.append("\r\n");
  out.append(req.body);
  return out;
}

Result<std::shared_ptr<tls::ssl::context>> makeBackendContext(const RuleConfig& rule, tls::Profile profile) {
  if (!rule.backend_tls) return std::shared_ptr<tls::ssl::context>{};
  tls::ClientOptions o;
  o.ca_file = rule.backend_ca_file;
  o.cert_file = rule.client_cert_file;
  o.key_file = rule.client_key_file;
  o.profile = profile;
  return tls::makeClientContext(o);
}

std::unique_ptr<Upstream> makeHttp1Upstream(asio::any_io_executor executor, const RuleConfig& rule,
                                            std::shared_ptr<tls::ssl::context> tls) {
  return std::make_unique<Http1Upstream>(std::move(executor), rule, std::move(tls));
}

std::unique_ptr<Upstream> makeUpstream(asio::any_io_executor executor, const RuleConfig& rule,
                                       std::shared_ptr<tls::ssl::context> tls) {
  if (rule.backend_h2) {
    if (auto h2 = makeH2Upstream(executor, rule, tls)) return h2;
  }
  return makeHttp1Upstream(std::move(executor), rule, std::move(tls));
}

}  // namespace rampart::gateway
