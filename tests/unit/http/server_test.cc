#include "http/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <csignal>
#include <thread>

#include "http/client.h"
#include "testing/certs.h"
#include "testing/temp_dir.h"

namespace rampart::http {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using net::tcp;

class HttpServerTest : public ::testing::Test {
 protected:
  void startServer(ServerOptions options, std::shared_ptr<tls::ReloadableContext> tls = nullptr) {
    router_.add("/echo", [](Request& req) -> net::Task<Response> {
      co_return textResponse(req, Status::ok, std::string(req.method_string()) + " " + req.body());
    });
    router_.add("/big", [](Request& req) -> net::Task<Response> {
      co_return textResponse(req, Status::ok, std::string(32 * 1024 * 1024, 'x'));
    });
    // Parks like an EAS Ping: answers only after 600 ms, longer than any
    // read deadline the tests set.
    router_.add("/park", [](Request& req) -> net::Task<Response> {
      asio::steady_timer timer(co_await asio::this_coro::executor, 600ms);
      co_await timer.async_wait(asio::use_awaitable);
      co_return textResponse(req, Status::ok, "parked " + req.body());
    });
    auto server = Server::bind(io_.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                               options, [this](Request& r) { return router_(r); }, std::move(tls));
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect(server_->localEndpoint());
    return s;
  }

  // Reads until the peer closes or `limit` passes; returns what arrived.
  static std::string readAll(tcp::socket& s, std::chrono::milliseconds limit = 5s) {
    std::string out;
    auto end = std::chrono::steady_clock::now() + limit;
    s.non_blocking(true);
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      boost::system::error_code ec;
      std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  asio::io_context client_io_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequests) {
  startServer({});
  auto s = connect();
  std::string two =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(two));
  std::string got = readAll(s);
  EXPECT_NE(got.find("POST abc"), std::string::npos) << got;
  EXPECT_NE(got.find("GET "), std::string::npos) << got;
  EXPECT_EQ(got.find("HTTP/1.1 200"), 0u);
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  startServer({});
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  EXPECT_EQ(readAll(s).rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(HttpServerTest, OversizeHeaderIs431) {
  ServerOptions o;
  o.header_limit = 1024;
  startServer(o);
  auto s = connect();
  std::string req = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n";
  boost::system::error_code ec;
  asio::write(s, asio::buffer(req), ec);
  EXPECT_EQ(readAll(s).rfind("HTTP/1.1 431", 0), 0u);
}

TEST_F(HttpServerTest, OversizeBodyIs413) {
  ServerOptions o;
  o.body_limit = 10;
  startServer(o);
  auto s = connect();
  boost::system::error_code ec;
  asio::write(s, asio::buffer(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")), ec);
  EXPECT_EQ(readAll(s).rfind("HTTP/1.1 413", 0), 0u);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  startServer({});
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")));
  EXPECT_EQ(readAll(s).rfind("HTTP/1.1 400", 0), 0u);
}

TEST_F(HttpServerTest, TrickledHeadersDoNotExtendTheHeaderDeadline) {
  ServerOptions o;
  o.header_timeout = 300ms;
  startServer(o);
  auto s = connect();
  auto start = std::chrono::steady_clock::now();
  std::string line = "GET /echo HTTP/1.1\r\nX-Slow: ";
  boost::system::error_code ec;
  asio::write(s, asio::buffer(line), ec);
  // One byte every 50 ms: each arrives well within any per-read timeout.
  for (int i = 0; i < 40 && !ec; ++i) {
    std::this_thread::sleep_for(50ms);
    asio::write(s, asio::buffer("a", 1), ec);
  }
  std::string got = readAll(s, 3s);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec || got.empty()) << "the server should have closed the connection";
  EXPECT_LT(elapsed, 5s);
}

TEST_F(HttpServerTest, IdleKeepAliveIsClosed) {
  ServerOptions o;
  o.keepalive_idle = 200ms;
  startServer(o);
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto start = std::chrono::steady_clock::now();
  std::string got = readAll(s, 3s);  // returns when the server closes
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpServerTest, StalledBodyIsCutOff) {
  ServerOptions o;
  o.body_progress = 200ms;
  startServer(o);
  auto s = connect();
  asio::write(s, asio::buffer(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")));
  auto start = std::chrono::steady_clock::now();
  std::string got = readAll(s, 3s);
  EXPECT_TRUE(got.empty()) << got;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpServerTest, ClientThatNeverReadsIsDropped) {
  ServerOptions o;
  o.write_progress = 300ms;
  startServer(o);
  auto s = connect();
  s.set_option(asio::socket_base::receive_buffer_size(4096));
  asio::write(s, asio::buffer(std::string("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::this_thread::sleep_for(1500ms);  // never read: the server must give up
  // After the server gave up, draining ends well before 32 MiB.
  std::string got = readAll(s, 3s);
  EXPECT_LT(got.size(), 32u * 1024 * 1024);
}

TEST_F(HttpServerTest, TlsRequestThroughClient) {
  testing::TempDir tmp("http-tls");
  const std::string dir = tmp.path().string();
  auto files = testing::makeSelfSigned(dir, "localhost");
  tls::ServerOptions so;
  so.cert_file = files.cert_file;
  so.key_file = files.key_file;
  auto ctx = tls::ReloadableContext::create(so);
  ASSERT_TRUE(ctx) << ctx.error().message();
  startServer({}, *ctx);

  tls::ClientOptions co;
  co.ca_file = files.cert_file;
  auto client_ctx = tls::makeClientContext(co);
  ASSERT_TRUE(client_ctx);
  ClientOptions opt;
  opt.tls = *client_ctx;
  opt.sni = "localhost";
  Request req{Verb::post, "/echo", 11};
  req.body() = "hello";
  Result<Response> result = fail(Errc::internal);
  asio::co_spawn(client_io_, fetch(server_->localEndpoint(), req, opt),
                 [&](std::exception_ptr, Result<Response> r) { result = std::move(r); });
  client_io_.run();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->result(), Status::ok);
  EXPECT_EQ(result->body(), "POST hello");

  // Certificate reload: a new certificate is served to new connections.
  auto old_ctx = (*ctx)->current();
  EXPECT_TRUE((*ctx)->reload());
  EXPECT_NE((*ctx)->current(), old_ctx);
}

TEST_F(HttpServerTest, TlsClientRejectsUntrustedServer) {
  testing::TempDir tmp("http-tls");
  const std::string dir = tmp.path().string();
  auto files = testing::makeSelfSigned(dir, "localhost");
  auto other = testing::makeSelfSigned(dir, "other.test");
  tls::ServerOptions so;
  so.cert_file = files.cert_file;
  so.key_file = files.key_file;
  auto ctx = tls::ReloadableContext::create(so);
  ASSERT_TRUE(ctx);
  startServer({}, *ctx);
  tls::ClientOptions co;
  co.ca_file = other.cert_file;  // trusts a different certificate
  ClientOptions opt;
  opt.tls = *tls::makeClientContext(co);
  opt.sni = "localhost";
  Result<Response> result = fail(Errc::internal);
  asio::co_spawn(client_io_, fetch(server_->localEndpoint(), Request{Verb::get, "/echo", 11}, opt),
                 [&](std::exception_ptr, Result<Response> r) { result = std::move(r); });
  client_io_.run();
  EXPECT_FALSE(result);
}


// A blocking TLS client on OpenSSL (trusting anything), for tests that stall,
// trickle or never read.
class TlsClient {
 public:
  explicit TlsClient(tcp::socket socket) : socket_(std::move(socket)) {
    std::signal(SIGPIPE, SIG_IGN);  // OpenSSL's socket BIO write()s to a closed peer
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
    timeval tv{0, 50'000};  // reads return every 50 ms so that readAll can give up
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool handshake() {
    for (auto end = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < end;) {
      int ret = SSL_connect(ssl_);
      if (ret == 1) return true;
      if (SSL_get_error(ssl_, ret) != SSL_ERROR_WANT_READ) return false;
    }
    return false;
  }
  bool send(const std::string& data) {
    std::size_t n = 0;
    return data.empty() || SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1;
  }
  // Reads until the server closes (or fails the stream) or `limit` passes.
  std::string readAll(std::chrono::milliseconds limit = 5s, std::size_t max = SIZE_MAX) {
    std::string out;
    char buf[16384];
    for (auto end = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < end && out.size() < max;) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) {
        out.append(buf, n);
        continue;
      }
      if (SSL_get_error(ssl_, 0) == SSL_ERROR_WANT_READ) continue;
      closed_ = true;
      break;
    }
    return out;
  }
  bool closed() const { return closed_; }
  tcp::socket& socket() { return socket_; }

 private:
  tcp::socket socket_;
  SSL_CTX* ctx_;
  SSL* ssl_;
  bool closed_ = false;
};

class HttpTlsServerTest : public HttpServerTest {
 protected:
  void startTls(ServerOptions options) {
    files_ = testing::makeSelfSigned(tmp_.path().string(), "localhost");
    tls::ServerOptions so;
    so.cert_file = files_.cert_file;
    so.key_file = files_.key_file;
    auto ctx = tls::ReloadableContext::create(so);
    ASSERT_TRUE(ctx) << ctx.error().message();
    startServer(options, *ctx);
  }
  testing::TempDir tmp_{"http-tls"};
  testing::CertFiles files_;
};

TEST_F(HttpTlsServerTest, StalledHandshakeIsCutOff) {
  ServerOptions o;
  o.handshake_timeout = 200ms;
  startTls(o);
  auto s = connect();
  auto start = std::chrono::steady_clock::now();
  std::string got = readAll(s, 3s);  // sends nothing; returns when the server closes
  EXPECT_TRUE(got.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpTlsServerTest, TrickledHeadersDoNotExtendTheHeaderDeadline) {
  ServerOptions o;
  o.header_timeout = 300ms;
  startTls(o);
  TlsClient c(connect());
  ASSERT_TRUE(c.handshake());
  auto start = std::chrono::steady_clock::now();
  bool ok = c.send("GET /echo HTTP/1.1\r\nX-Slow: ");
  for (int i = 0; i < 40 && ok; ++i) {
    std::this_thread::sleep_for(50ms);
    ok = c.send("a");
    if (std::chrono::steady_clock::now() - start > 1s) break;
  }
  std::string got = c.readAll(3s);
  EXPECT_TRUE(got.empty()) << got;
  EXPECT_TRUE(c.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(HttpTlsServerTest, StalledBodyIsCutOff) {
  ServerOptions o;
  o.body_progress = 200ms;
  startTls(o);
  TlsClient c(connect());
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"));
  auto start = std::chrono::steady_clock::now();
  std::string got = c.readAll(3s);
  EXPECT_TRUE(got.empty()) << got;
  EXPECT_TRUE(c.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpTlsServerTest, ParkedRequestOutlivesReadDeadlinesThenKeepAliveIdleCloses) {
  ServerOptions o;
  o.header_timeout = 100ms;
  o.body_progress = 100ms;
  o.keepalive_idle = 300ms;
  startTls(o);
  TlsClient c(connect());
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.send("POST /park HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping"
                     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto start = std::chrono::steady_clock::now();
  std::string got = c.readAll(5s);  // both answers, then the idle close
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_NE(got.find("parked ping"), std::string::npos) << got;
  EXPECT_NE(got.find("POST abc"), std::string::npos) << got;
  EXPECT_TRUE(c.closed());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 600ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(HttpTlsServerTest, LimitsApplyOverTls) {
  ServerOptions o;
  o.body_limit = 10;
  o.header_limit = 1024;
  startTls(o);
  {
    TlsClient c(connect());
    ASSERT_TRUE(c.handshake());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
    EXPECT_EQ(c.readAll(3s).rfind("HTTP/1.1 413", 0), 0u);
  }
  {
    TlsClient c(connect());
    ASSERT_TRUE(c.handshake());
    ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n"));
    EXPECT_EQ(c.readAll(3s).rfind("HTTP/1.1 431", 0), 0u);
  }
}

TEST_F(HttpTlsServerTest, LargeBodiesBothWays) {
  ServerOptions o;
  o.body_limit = 4 * 1024 * 1024;
  startTls(o);
  TlsClient c(connect());
  ASSERT_TRUE(c.handshake());
  std::string body(3 * 1024 * 1024, 'b');
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body));
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string got = c.readAll(30s);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(got.find("POST " + body), std::string::npos);
  auto second = got.find("HTTP/1.1 200", 10);
  ASSERT_NE(second, std::string::npos);
  auto head_end = got.find("\r\n\r\n", second);
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(got.size() - head_end - 4, 32u * 1024 * 1024);
  EXPECT_TRUE(c.closed());
}

TEST_F(HttpTlsServerTest, ClientThatNeverReadsIsDropped) {
  ServerOptions o;
  o.write_progress = 300ms;
  startTls(o);
  TlsClient c(connect());
  c.socket().set_option(asio::socket_base::receive_buffer_size(4096));
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(1500ms);  // never read: the server must give up
  // After the server gave up, draining ends well before 32 MiB (the tiny
  // window makes draining slow, so this does not wait for the close).
  std::string got = c.readAll(3s);
  EXPECT_LT(got.size(), 32u * 1024 * 1024);
}

TEST(TlsContextTest, RefusesOldProtocolsAndMismatchedKey) {
  testing::TempDir tmp("tls-ctx");
  const std::string dir = tmp.path().string();
  auto a = testing::makeSelfSigned(dir, "a.test");
  auto b = testing::makeSelfSigned(dir, "b.test");
  auto opts = [](std::string c, std::string k) {
    tls::ServerOptions o;
    o.cert_file = std::move(c);
    o.key_file = std::move(k);
    return o;
  };
  auto bad = tls::makeServerContext(opts(a.cert_file, b.key_file));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("private key"), std::string::npos) << bad.error().detail;
  auto good = tls::makeServerContext(opts(a.cert_file, a.key_file));
  ASSERT_TRUE(good);
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*good)->native_handle()), TLS1_2_VERSION);
  EXPECT_FALSE(tls::makeServerContext(opts(dir + "/missing.crt", a.key_file)));
}

}  // namespace
}  // namespace rampart::http
