// HTTP/2 on the bridged link: http::Server with ALPN h2, and H2Client.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <boost/asio/write.hpp>

#include "http/client.h"
#include "http/h2_client.h"
#include "http/server.h"
#include "testing/certs.h"
#include "testing/temp_dir.h"
#include "tls/stream.h"

namespace rampart::http {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using net::Task;
using net::tcp;

Task<Response> slowHandler(Request& req, std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
  co_return textResponse(req, Status::ok, "parked " + req.body());
}

class H2Test : public ::testing::Test {
 protected:
  void startServer(ServerOptions options = {}, bool mutual_tls = false) {
    options.body_limit = 4 * 1024 * 1024;
    files_ = testing::makeSelfSigned(tmp_.path().string(), "localhost");
    tls::ServerOptions so;
    so.cert_file = files_.cert_file;
    so.key_file = files_.key_file;
    so.alpn = {"h2", "http/1.1"};
    if (mutual_tls) {
      gateway_ = testing::makeSelfSigned(tmp_.path().string(), "gateway.test");
      so.client_ca_file = gateway_.cert_file;
      so.require_client_cert = true;
    }
    auto ctx = tls::ReloadableContext::create(so);
    ASSERT_TRUE(ctx) << ctx.error().message();
    tls_ = *ctx;
    router_.add("/echo", [](Request& req) -> Task<Response> {
      co_return textResponse(req, Status::ok, std::string(req.method_string()) + " " + req.body());
    });
    router_.add("/cookie", [](Request& req) -> Task<Response> {
      co_return textResponse(req, Status::ok, std::string(req[Field::cookie]));
    });
    router_.add("/park", [](Request& req) { return slowHandler(req, 300ms); });
    router_.add("/slow", [](Request& req) { return slowHandler(req, 3s); });
    // Parks until the test opens the gate (an EAS Ping waiting for mail).
    gate_ = std::make_unique<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
    router_.add("/gate", [this](Request& req) { return gated(req); });
    auto server = Server::bind(io_.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                               options, [this](Request& r) { return router_(r); }, tls_);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();

    tls::ClientOptions co;
    co.ca_file = files_.cert_file;
    co.cert_file = gateway_.cert_file;  // empty unless mutual_tls
    co.key_file = gateway_.key_file;
    auto client_ctx = tls::makeClientContext(co);
    ASSERT_TRUE(client_ctx) << client_ctx.error().message();
    client_options_.tls = *client_ctx;
    client_options_.sni = "localhost";
    client_ = std::make_unique<H2Client>(io_.get_executor(), server_->localEndpoint(), client_options_);
  }

  Task<Response> gated(Request& req) {
    boost::system::error_code ec;
    co_await gate_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return textResponse(req, Status::ok, "parked " + req.body());
  }

  // TLS handshakes the server has started: its TCP connections.
  long serverConnections() const { return SSL_CTX_sess_accept(tls_->current()->native_handle()); }

  // Runs the io_context until `done` (or 20 s).
  void runUntil(const bool& done) {
    auto end = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < end) io_.run_one_for(50ms);
    ASSERT_TRUE(done) << "timed out";
  }

  Result<Response> send(Request req, std::chrono::milliseconds timeout,
                        std::shared_ptr<CancelSignal> cancel = nullptr) {
    Result<Response> result = fail(Errc::internal, "not run");
    bool done = false;
    asio::co_spawn(io_, client_->request(std::move(req), timeout, cancel),
                   [&](std::exception_ptr, Result<Response> r) {
                     result = std::move(r);
                     done = true;
                   });
    runUntil(done);
    return result;
  }

  static Request post(std::string target, std::string body) {
    Request req{Verb::post, target, 11};
    req.set(Field::host, "localhost");
    req.body() = std::move(body);
    return req;
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
    io_.run_for(100ms);
  }

  testing::TempDir tmp_{"h2"};
  testing::CertFiles files_;
  testing::CertFiles gateway_;  // the gateway's client certificate, for mTLS
  asio::io_context io_;
  std::shared_ptr<tls::ReloadableContext> tls_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<asio::steady_timer> gate_;
  H2ClientOptions client_options_;
  std::unique_ptr<H2Client> client_;
};

struct Tally {
  int ok = 0;
  int failed = 0;
  int finished_before_park = -1;
};

Task<void> echoOne(H2Client& client, int i, Tally& tally) {
  Request req{Verb::post, "/echo", 11};
  req.set(Field::host, "localhost");
  req.body() = std::to_string(i);
  auto res = co_await client.request(std::move(req), std::chrono::milliseconds(10'000));
  if (res && res->result() == Status::ok && res->body() == "POST " + std::to_string(i)) ++tally.ok;
  else ++tally.failed;
}

Task<void> parkOne(H2Client& client, Tally& tally) {
  Request req{Verb::post, "/gate", 11};
  req.body() = "ping";
  auto res = co_await client.request(std::move(req), std::chrono::milliseconds(10'000));
  tally.finished_before_park = tally.ok;
  if (res && res->body() == "parked ping") ++tally.ok;
  else ++tally.failed;
}

TEST_F(H2Test, ThousandConcurrentRequestsShareOneConnectionWhileOneParks) {
  startServer();
  Tally tally;
  asio::co_spawn(io_, parkOne(*client_, tally), asio::detached);
  for (int i = 0; i < 1000; ++i) asio::co_spawn(io_, echoOne(*client_, i, tally), asio::detached);
  auto end = std::chrono::steady_clock::now() + 30s;
  while (tally.ok + tally.failed < 1000 && std::chrono::steady_clock::now() < end) {
    io_.run_one_for(50ms);
  }
  ASSERT_EQ(tally.ok + tally.failed, 1000);  // all but the parked one, which held up nothing
  EXPECT_EQ(tally.finished_before_park, -1);
  gate_->cancel();  // mail arrives
  while (tally.ok + tally.failed < 1001 && std::chrono::steady_clock::now() < end) {
    io_.run_one_for(50ms);
  }
  ASSERT_EQ(tally.ok + tally.failed, 1001);
  EXPECT_EQ(tally.ok, 1001);
  EXPECT_EQ(tally.finished_before_park, 1000);
  EXPECT_EQ(client_->connectionCount(), 1u);
  EXPECT_EQ(serverConnections(), 1);
}

TEST_F(H2Test, MutualTlsWithTheGatewayCertificate) {
  startServer({}, /*mutual_tls=*/true);
  auto res = send(post("/echo", "mtls"), 5s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "POST mtls");
  // Without the certificate the handshake fails: a clean, retryable error.
  tls::ClientOptions co;
  co.ca_file = files_.cert_file;
  client_options_.tls = *tls::makeClientContext(co);
  client_ = std::make_unique<H2Client>(io_.get_executor(), server_->localEndpoint(), client_options_);
  auto refused = send(post("/echo", "anonymous"), 5s);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::unavailable)) << refused.error().message();
}

TEST_F(H2Test, BodiesOfThreeMegabytesBothWays) {
  startServer();
  std::string body(3 * 1024 * 1024, 'b');
  body[12345] = 'x';
  auto res = send(post("/echo", body), 10s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result(), Status::ok);
  EXPECT_EQ(res->body(), "POST " + body);
}

TEST_F(H2Test, OversizeBodyIs413AndTheConnectionLives) {
  startServer();
  auto res = send(post("/echo", std::string(5 * 1024 * 1024, 'b')), 10s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result(), Status::payload_too_large);
  auto again = send(post("/echo", "x"), 5s);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->body(), "POST x");
  EXPECT_EQ(serverConnections(), 1);
}

TEST_F(H2Test, BodiesHeldPerConnectionAreBounded) {
  ServerOptions opt;
  opt.h2_connection_body_limit = 1024 * 1024;
  startServer(opt);
  auto res = send(post("/echo", std::string(2 * 1024 * 1024, 'b')), 10s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result(), Status::service_unavailable);
  auto again = send(post("/echo", std::string(512 * 1024, 'c')), 5s);  // the count went back
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->result(), Status::ok);
}

TEST_F(H2Test, PerRequestTimeoutResetsOnlyThatStream) {
  startServer();
  auto start = std::chrono::steady_clock::now();
  auto res = send(post("/slow", ""), 200ms);
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().is(Errc::timeout)) << res.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto again = send(post("/echo", "y"), 5s);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->body(), "POST y");
  EXPECT_EQ(serverConnections(), 1);
}

TEST_F(H2Test, CancelAbandonsTheRequest) {
  startServer();
  auto cancel = std::make_shared<CancelSignal>();
  asio::steady_timer timer(io_, 100ms);
  timer.async_wait([cancel](boost::system::error_code) { cancel->cancel(); });
  auto start = std::chrono::steady_clock::now();
  auto res = send(post("/slow", ""), 10s, cancel);
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().is(Errc::unavailable)) << res.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(H2Test, StopSendsGoawayParkedStreamsFinishThenClientErrorsCleanly) {
  startServer();
  ASSERT_TRUE(send(post("/echo", "warm"), 5s));  // the connection is up
  asio::steady_timer timer(io_, 50ms);
  timer.async_wait([this](boost::system::error_code) { server_->stop(); });
  auto parked = send(post("/park", "p"), 5s);  // in flight when GOAWAY comes
  ASSERT_TRUE(parked) << parked.error().message();
  EXPECT_EQ(parked->body(), "parked p");
  // The listener is closed and the connection gone: a clean error, no hang.
  auto after = send(post("/echo", "late"), 5s);
  ASSERT_FALSE(after);
  EXPECT_TRUE(after.error().is(Errc::unavailable)) << after.error().message();
}

TEST_F(H2Test, DrainTimeoutCutsParkedStreams) {
  ServerOptions opt;
  opt.h2_drain_timeout = 200ms;
  startServer(opt);
  ASSERT_TRUE(send(post("/echo", "warm"), 5s));
  asio::steady_timer timer(io_, 50ms);
  timer.async_wait([this](boost::system::error_code) { server_->stop(); });
  auto start = std::chrono::steady_clock::now();
  auto res = send(post("/slow", ""), 10s);
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().is(Errc::io_error)) << res.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(H2Test, Http11ClientsStillServed) {
  startServer();
  tls::ClientOptions co;
  co.ca_file = files_.cert_file;
  ClientOptions opt;
  opt.tls = *tls::makeClientContext(co);  // offers no ALPN
  opt.sni = "localhost";
  Request req = post("/echo", "one-one");
  Result<Response> result = fail(Errc::internal);
  bool done = false;
  asio::co_spawn(io_, fetch(server_->localEndpoint(), req, opt),
                 [&](std::exception_ptr, Result<Response> r) {
                   result = std::move(r);
                   done = true;
                 });
  runUntil(done);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->body(), "POST one-one");
  EXPECT_EQ(result->version(), 11);
}

TEST_F(H2Test, OversizeHeaderListIs431) {
  startServer();
  Request req = post("/echo", "");
  req.set("x-big", std::string(20 * 1024, 'h'));
  auto res = send(std::move(req), 5s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->result(), Status::request_header_fields_too_large);
}

TEST_F(H2Test, CookieCrumbsAreJoined) {
  startServer();
  Request req = post("/cookie", "");
  req.insert(Field::cookie, "a=1");
  req.insert(Field::cookie, "b=2");
  auto res = send(std::move(req), 5s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "a=1; b=2");
  EXPECT_EQ(res->version(), 11);
}

TEST_F(H2Test, IdleConnectionIsClosedAndReplaced) {
  ServerOptions opt;
  opt.keepalive_idle = 100ms;
  startServer(opt);
  ASSERT_TRUE(send(post("/echo", "1"), 5s));
  io_.run_for(400ms);  // GOAWAY from the server's idle policy
  auto res = send(post("/echo", "2"), 5s);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "POST 2");
  EXPECT_EQ(serverConnections(), 2);
  EXPECT_EQ(client_->connectionCount(), 1u);
}

TEST_F(H2Test, PingsKeepAParkedConnectionAlive) {
  ServerOptions opt;
  opt.h2_ping_interval = 40ms;
  client_options_.ping_interval = 40ms;
  startServer(opt);
  auto res = send(post("/park", "quiet"), 5s);  // silent for 300 ms: 7 intervals
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->body(), "parked quiet");
}

// Rapid reset (CVE-2023-44487): a stream reset while its handler runs still
// holds its slot, so resets cannot pile up handlers beyond the stream limit.
TEST_F(H2Test, ResetStreamsStillCountAgainstTheLimit) {
  ServerOptions opt;
  opt.h2_max_concurrent_streams = 3;
  startServer(opt);
  for (int i = 0; i < 3; ++i) {
    auto res = send(post("/slow", ""), 30ms);  // reset by the client's timeout
    ASSERT_FALSE(res);
  }
  auto refused = send(post("/echo", "no room"), 2s);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::unavailable)) << refused.error().message();
}

// Sends `junk` on a TLS connection that negotiated h2; returns what came
// back before the server closed (nothing must hang or crash).
Task<std::string> sendJunk(tcp::endpoint endpoint, std::shared_ptr<tls::ssl::context> ctx,
                           std::string junk, bool& done) {
  std::string got;
  boost::system::error_code ec;
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  tls::Stream stream(std::move(socket), *ctx);
  static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(stream.native_handle(), kAlpn, sizeof kAlpn);
  stream.expiresAfter(std::chrono::seconds(5));
  co_await stream.async_handshake(tls::Stream::Role::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    co_await asio::async_write(stream, asio::buffer(junk),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  char buf[4096];
  while (!ec) {
    std::size_t n = co_await stream.async_read_some(asio::buffer(buf),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    got.append(buf, n);
  }
  done = true;
  co_return got;
}

TEST_F(H2Test, GarbageAfterAlpnH2ClosesTheConnection) {
  startServer();
  bool done = false;
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";  // no connection preface (3.4)
  tcp::endpoint endpoint = server_->localEndpoint();
  asio::co_spawn(io_, sendJunk(endpoint, client_options_.tls, junk, done),
                 asio::detached);
  runUntil(done);
  // The server is still fine.
  auto res = send(post("/echo", "after"), 5s);
  ASSERT_TRUE(res) << res.error().message();
}

TEST_F(H2Test, NghttpCliTalksToTheServer) {
  if (std::system("command -v nghttp >/dev/null 2>&1") != 0) GTEST_SKIP() << "nghttp not installed";
  startServer();
  std::string data = tmp_.file("body");
  std::ofstream(data) << "from nghttp";
  std::string cmd = "timeout 10 nghttp -d " + data + " https://127.0.0.1:" +
                    std::to_string(server_->localEndpoint().port()) + "/echo 2>/dev/null";
  std::string out;
  std::thread cli([&] {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return;
    char buf[512];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
  });
  bool done = false;
  std::thread waiter([&] {
    cli.join();
    asio::post(io_, [&] { done = true; });
  });
  runUntil(done);
  waiter.join();
  EXPECT_EQ(out, "POST from nghttp");
}

}  // namespace
}  // namespace rampart::http
