#include "tls/stream.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <optional>
#include <string>
#include <vector>

#include "testing/certs.h"
#include "testing/temp_dir.h"

namespace rampart::tls {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;
using net::Task;
using net::tcp;

// A connected pair of TCP sockets on loopback.
struct SocketPair {
  tcp::socket server;
  tcp::socket client;
};

SocketPair connectedPair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(server), std::move(client)};
}

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::makeSelfSigned(tmp_.path().string(), "localhost");
    other_ = testing::makeSelfSigned(tmp_.path().string(), "other.test");
    ServerOptions so;
    so.cert_file = files_.cert_file;
    so.key_file = files_.key_file;
    auto server_ctx = makeServerContext(so);
    ASSERT_TRUE(server_ctx) << server_ctx.error().message();
    server_ctx_ = *server_ctx;
    ClientOptions co;
    co.ca_file = files_.cert_file;
    auto client_ctx = makeClientContext(co);
    ASSERT_TRUE(client_ctx) << client_ctx.error().message();
    client_ctx_ = *client_ctx;
  }

  // Makes a server and a client stream over a fresh loopback pair.
  void makeStreams(ssl::context* client_ctx = nullptr) {
    auto pair = connectedPair(io_);
    server_.emplace(std::move(pair.server), *server_ctx_);
    client_.emplace(std::move(pair.client), client_ctx ? *client_ctx : *client_ctx_);
    ASSERT_TRUE(client_->setServerName("localhost"));
  }

  // Runs the io_context until `done` or 20 s pass.
  void runUntil(const std::function<bool()>& done) {
    auto end = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < end) {
      io_.restart();
      io_.run_for(10ms);
    }
    ASSERT_TRUE(done()) << "timed out";
  }

  // Handshakes both sides; returns their errors.
  std::pair<error_code, error_code> handshake() {
    std::optional<error_code> s, c;
    server_->async_handshake(Stream::Role::server, [&](error_code ec, std::size_t) { s = ec; });
    client_->async_handshake(Stream::Role::client, [&](error_code ec, std::size_t) { c = ec; });
    runUntil([&] { return s && c; });
    return {s.value_or(asio::error::timed_out), c.value_or(asio::error::timed_out)};
  }

  asio::io_context io_;
  testing::TempDir tmp_{"tls-stream"};
  testing::CertFiles files_, other_;
  std::shared_ptr<ssl::context> server_ctx_, client_ctx_;
  std::optional<Stream> server_, client_;
};

TEST_F(TlsStreamTest, HandshakeThenEchoBothWays) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s) << s.message();
  ASSERT_FALSE(c) << c.message();
  EXPECT_NE(SSL_version(server_->native_handle()), 0);

  std::string to_server = "ping", got_server(4, '\0');
  std::string to_client = "pong!", got_client(5, '\0');
  int done = 0;
  asio::async_write(*client_, asio::buffer(to_server), [&](error_code ec, std::size_t) { EXPECT_FALSE(ec); ++done; });
  asio::async_read(*server_, asio::buffer(got_server), [&](error_code ec, std::size_t) { EXPECT_FALSE(ec); ++done; });
  asio::async_write(*server_, asio::buffer(to_client), [&](error_code ec, std::size_t) { EXPECT_FALSE(ec); ++done; });
  asio::async_read(*client_, asio::buffer(got_client), [&](error_code ec, std::size_t) { EXPECT_FALSE(ec); ++done; });
  runUntil([&] { return done == 4; });
  EXPECT_EQ(got_server, to_server);
  EXPECT_EQ(got_client, to_client);
}

TEST_F(TlsStreamTest, UntrustedCertificateFailsTheHandshake) {
  ClientOptions co;
  co.ca_file = other_.cert_file;  // trusts someone else
  auto ctx = makeClientContext(co);
  ASSERT_TRUE(ctx);
  makeStreams(ctx->get());
  auto [s, c] = handshake();
  EXPECT_TRUE(c);
  EXPECT_EQ(c.category(), asio::error::get_ssl_category()) << c.message();
  EXPECT_TRUE(s);  // the client's alert (or its close) ends the server's handshake too
}

TEST_F(TlsStreamTest, PlainTextToTheServerFailsTheHandshake) {
  auto pair = connectedPair(io_);
  server_.emplace(std::move(pair.server), *server_ctx_);
  asio::write(pair.client, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::optional<error_code> s;
  server_->async_handshake(Stream::Role::server, [&](error_code ec, std::size_t) { s = ec; });
  runUntil([&] { return s.has_value(); });
  EXPECT_TRUE(*s);
  // After a fatal error, shutdown does not try to speak TLS.
  std::optional<error_code> sh;
  server_->async_shutdown([&](error_code ec, std::size_t) { sh = ec; });
  runUntil([&] { return sh.has_value(); });
  EXPECT_TRUE(*sh);
}

TEST_F(TlsStreamTest, PeerClosingMidRecordIsTruncation) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  ASSERT_FALSE(c);
  // An application-data record header announcing 1000 bytes, then 10 of them, then FIN.
  const unsigned char partial[] = {0x17, 0x03, 0x03, 0x03, 0xe8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  asio::write(client_->socket(), asio::buffer(partial));
  client_->socket().shutdown(tcp::socket::shutdown_send);
  char buf[64];
  std::optional<error_code> r;
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  runUntil([&] { return r.has_value(); });
  EXPECT_EQ(*r, asio::ssl::error::stream_truncated) << r->message();
}

TEST_F(TlsStreamTest, PeerClosingWithoutCloseNotifyIsTruncation) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  client_->socket().shutdown(tcp::socket::shutdown_send);  // FIN, no close_notify
  char buf[64];
  std::optional<error_code> r;
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  runUntil([&] { return r.has_value(); });
  EXPECT_EQ(*r, asio::ssl::error::stream_truncated) << r->message();
}

// Several MiB each way at once: both streams read and write concurrently,
// through many WANT_WRITE waits (the socket buffers fill up).
TEST_F(TlsStreamTest, LargeTransfersBothWaysConcurrently) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  ASSERT_FALSE(c);
  const std::size_t kSize = 6 * 1024 * 1024 + 123;
  std::string up(kSize, '\0'), down(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) {
    up[i] = static_cast<char>(i * 7 + 1);
    down[i] = static_cast<char>(i * 13 + 5);
  }
  std::string got_up(kSize, '\0'), got_down(kSize, '\0');
  int done = 0;
  auto check = [&](error_code ec, std::size_t n) {
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, kSize);
    ++done;
  };
  // A gathered write, as Beast does it: many buffers of mixed sizes.
  std::vector<asio::const_buffer> pieces;
  for (std::size_t off = 0; off < kSize;) {
    std::size_t len = std::min<std::size_t>(kSize - off, (off / 997) % 5 == 0 ? 40000 : 300);
    pieces.emplace_back(up.data() + off, len);
    off += len;
  }
  asio::async_write(*client_, pieces, check);
  asio::async_write(*server_, asio::buffer(down), check);
  asio::async_read(*server_, asio::buffer(got_up), check);
  asio::async_read(*client_, asio::buffer(got_down), check);
  runUntil([&] { return done == 4; });
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
}

TEST_F(TlsStreamTest, ShutdownBothSides) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  ASSERT_FALSE(c);
  std::optional<error_code> client_done, server_read, server_done;
  char buf[16];
  client_->async_shutdown([&](error_code ec, std::size_t) { client_done = ec; });
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) {
    server_read = ec;
    server_->async_shutdown([&](error_code ec2, std::size_t) { server_done = ec2; });
  });
  runUntil([&] { return client_done && server_read && server_done; });
  EXPECT_EQ(*server_read, asio::error::eof);
  EXPECT_FALSE(*client_done) << client_done->message();
  EXPECT_FALSE(*server_done) << server_done->message();
}

TEST_F(TlsStreamTest, DeadlineCutsOffAStalledRead) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  server_->expiresAfter(150ms);
  char buf[16];
  std::optional<error_code> r;
  auto start = std::chrono::steady_clock::now();
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  runUntil([&] { return r.has_value(); });
  EXPECT_EQ(*r, boost::beast::error::timeout) << r->message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // The stream is done for: later operations fail at once.
  std::optional<error_code> w;
  asio::async_write(*server_, asio::buffer("x", 1), [&](error_code ec, std::size_t) { w = ec; });
  runUntil([&] { return w.has_value(); });
  EXPECT_EQ(*w, boost::beast::error::timeout);
}

TEST_F(TlsStreamTest, DeadlineDoesNotFireWhileIdle) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  // An operation that completes under the deadline, then idleness past it.
  server_->expiresAfter(200ms);
  std::string msg = "hi";
  char buf[16];
  std::optional<error_code> r;
  asio::async_write(*client_, asio::buffer(msg), [](error_code, std::size_t) {});
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  runUntil([&] { return r.has_value(); });
  ASSERT_FALSE(*r);
  server_->expiresNever();
  auto idle_end = std::chrono::steady_clock::now() + 400ms;
  runUntil([&] { return std::chrono::steady_clock::now() >= idle_end; });
  r.reset();
  asio::async_write(*client_, asio::buffer(msg), [](error_code, std::size_t) {});
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  runUntil([&] { return r.has_value(); });
  EXPECT_FALSE(*r) << r->message();
}

TEST_F(TlsStreamTest, WriteToAPeerThatNeverReadsTimesOut) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  server_->expiresAfter(300ms);
  std::string big(64 * 1024 * 1024, 'x');
  std::optional<error_code> w;
  asio::async_write(*server_, asio::buffer(big), [&](error_code ec, std::size_t) { w = ec; });
  runUntil([&] { return w.has_value(); });
  EXPECT_EQ(*w, boost::beast::error::timeout) << w->message();
}

TEST_F(TlsStreamTest, DestroyingAStreamWithAnArmedTimerIsSafe) {
  makeStreams();
  auto [s, c] = handshake();
  ASSERT_FALSE(s);
  server_->expiresAfter(50ms);
  char buf[16];
  std::optional<error_code> r;
  server_->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { r = ec; });
  io_.restart();
  io_.poll();
  server_.reset();  // cancels the pending read; the timer is disarmed
  runUntil([&] { return r.has_value(); });
  EXPECT_TRUE(*r);
  auto end = std::chrono::steady_clock::now() + 100ms;
  runUntil([&] { return std::chrono::steady_clock::now() >= end; });
}

}  // namespace
}  // namespace rampart::tls
