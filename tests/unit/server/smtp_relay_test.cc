#include <gtest/gtest.h>

#include "core/clock.h"
#include "server/smtp/outbound.h"
#include "server/smtp/relay.h"
#include "store/sqlite/sqlite_outbound_queue.h"
#include "unit/server/smtp_test_util.h"

namespace rampart::server::smtp {
namespace {

using namespace std::chrono_literals;
using testing::FakeLocal;
using testing::FakeSmtpServer;
using testing::runTask;
using testing::TempDir;

TEST(RetryDelay, ExponentialAndCapped) {
  RetryPolicy p;
  p.initial = 1s;
  p.factor = 2;
  p.max_interval = 5s;
  EXPECT_EQ(retryDelay(p, 1), 1s);
  EXPECT_EQ(retryDelay(p, 2), 2s);
  EXPECT_EQ(retryDelay(p, 3), 4s);
  EXPECT_EQ(retryDelay(p, 4), 5s);
  EXPECT_EQ(retryDelay(p, 1000), 5s);
  RetryPolicy d;  // the defaults: 1m, 2m, 4m ... 1h
  EXPECT_EQ(retryDelay(d, 1), 1min);
  EXPECT_EQ(retryDelay(d, 7), 60min);
}

class FixedRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = 0xab;
  }
};

struct RelayFixture : ::testing::Test {
  RelayFixture()
      : clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))),
        server(ctx) {
    auto q = store::sqlite::SqliteOutboundQueue::open(dir.file("rampart.db"));
    EXPECT_TRUE(q);
    queue = std::move(*q);
    local.addresses = {"alice@a.test"};
    config.host = "127.0.0.1";
    config.port = server.port();
    config.tls = TlsPolicy::none;
    config.helo_name = "mail.a.test";
    config.connect_timeout = config.greeting_timeout = config.command_timeout =
        config.data_timeout = 2s;
    config.retry.initial = 10s;
    config.retry.factor = 2;
    config.retry.max_interval = 60s;
    config.retry.max_age = 100s;
  }
  ~RelayFixture() override { server.close(); }

  std::shared_ptr<Relay> relay() {
    return Relay::create(ctx.get_executor(), *queue, config, clock, random, &local, nullptr);
  }
  std::size_t pass(Relay& r) { return runTask(ctx, r.runOnce()); }

  TempDir dir;
  net::asio::io_context ctx;
  ManualClock clock;
  FixedRandom random;
  FakeSmtpServer server;
  FakeLocal local;
  std::unique_ptr<store::OutboundQueue> queue;
  RelayConfig config;
};

TEST_F(RelayFixture, DeliversBouncesAndRetries) {
  server.rcpt_replies["gone@b.test"] = "550 5.1.1 <gone@b.test>: User unknown\r\n";
  server.rcpt_replies["busy@b.test"] = "451 4.3.0 busy\r\n";
  auto r = relay();
  auto id = queue->enqueue("alice@a.test", {"ok@b.test", "gone@b.test", "busy@b.test"},
                           "Subject: hi\r\n\r\nbody\r\n", clock.now());
  ASSERT_TRUE(id);

  EXPECT_EQ(pass(*r), 1u);
  ASSERT_EQ(server.messages.size(), 1u);
  // The bounce is queued with an empty sender, and the entry keeps busy@ only.
  auto list = *queue->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].recipients, std::vector<std::string>{"busy@b.test"});
  EXPECT_EQ(list[0].next_attempt, clock.now() + 10s);
  EXPECT_EQ(list[1].sender, "");
  EXPECT_EQ(list[1].recipients, std::vector<std::string>{"alice@a.test"});

  // The bounce goes to the local sender's Inbox on the next pass.
  EXPECT_EQ(pass(*r), 1u);
  ASSERT_EQ(local.delivered.size(), 1u);
  EXPECT_EQ(local.delivered[0].sender, "");
  const std::string& dsn = local.delivered[0].bytes;
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; gone@b.test"), std::string::npos);
  EXPECT_NE(dsn.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(dsn.find("Diagnostic-Code: smtp; 550 5.1.1 <gone@b.test>: User unknown"),
            std::string::npos);
  EXPECT_EQ(dsn.find("busy@b.test"), std::string::npos);
  EXPECT_EQ(queue->list()->size(), 1u);

  // Not due yet; then due, and the relay now takes it.
  clock.advance(9s);
  EXPECT_EQ(pass(*r), 0u);
  clock.advance(1s);
  server.rcpt_replies.erase("busy@b.test");
  EXPECT_EQ(pass(*r), 1u);
  EXPECT_TRUE(queue->list()->empty());
  EXPECT_EQ(server.messages.size(), 2u);
}

TEST_F(RelayFixture, BackoffThenExpiryBounce) {
  server.rcpt_replies["busy@b.test"] = "451 4.3.0 busy\r\n";
  auto r = relay();
  auto t0 = clock.now();
  ASSERT_TRUE(queue->enqueue("alice@a.test", {"busy@b.test"}, "Subject: x\r\n\r\n", t0));
  // Attempts at 0, 10, 30, 70 (10, 20, 40 s apart), then 100 (clamped to max_age).
  std::vector<std::chrono::seconds> expected_next = {10s, 30s, 70s, 100s};
  for (auto next : expected_next) {
    EXPECT_EQ(pass(*r), 1u);
    auto list = *queue->list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].next_attempt, t0 + next);
    clock.advance(t0 + next - clock.now());
  }
  EXPECT_EQ(pass(*r), 1u);  // at max_age: expired, bounced
  auto list = *queue->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].sender, "");
  EXPECT_EQ(pass(*r), 1u);
  ASSERT_EQ(local.delivered.size(), 1u);
  EXPECT_NE(local.delivered[0].bytes.find("Status: 4.4.7"), std::string::npos);
  EXPECT_NE(local.delivered[0].bytes.find("Diagnostic-Code: smtp; 451 4.3.0 busy"),
            std::string::npos);
  EXPECT_TRUE(queue->list()->empty());
}

TEST_F(RelayFixture, FailedBounceIsDropped) {
  server.rcpt_replies["gone@b.test"] = "550 5.1.1 no\r\n";
  auto r = relay();
  ASSERT_TRUE(queue->enqueue("", {"gone@b.test"}, "Subject: x\r\n\r\n", clock.now()));
  EXPECT_EQ(pass(*r), 1u);
  EXPECT_TRUE(queue->list()->empty());
  EXPECT_TRUE(local.delivered.empty());
}

TEST_F(RelayFixture, RelayDownStaysQueued) {
  server.close();
  config.port = 1;  // nothing listens on port 1 on loopback
  auto r = relay();
  ASSERT_TRUE(queue->enqueue("alice@a.test", {"x@b.test"}, "m", clock.now()));
  EXPECT_EQ(pass(*r), 1u);
  auto list = *queue->list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].attempts, 1);
  EXPECT_NE(list[0].last_error.find("connect"), std::string::npos);
}

TEST_F(RelayFixture, LocalDeliveryFailureIsRetried) {
  local.fail_deliveries = true;
  auto r = relay();
  ASSERT_TRUE(queue->enqueue("bob@b.test", {"alice@a.test"}, "m", clock.now()));
  EXPECT_EQ(pass(*r), 1u);
  EXPECT_EQ(queue->list()->size(), 1u);
  EXPECT_TRUE(server.messages.empty());
  local.fail_deliveries = false;
  clock.advance(10s);
  EXPECT_EQ(pass(*r), 1u);
  EXPECT_TRUE(queue->list()->empty());
  EXPECT_EQ(local.delivered.size(), 1u);
}

TEST_F(RelayFixture, UnknownLocalAddressBouncesWithoutTheRelay) {
  auto r = relay();
  ASSERT_TRUE(queue->enqueue("alice@a.test", {"ghost@a.test"}, "Subject: x\r\n\r\n", clock.now()));
  EXPECT_EQ(pass(*r), 1u);
  EXPECT_EQ(pass(*r), 1u);  // the bounce, delivered locally
  EXPECT_EQ(server.connections, 0);
  ASSERT_EQ(local.delivered.size(), 1u);
  EXPECT_NE(local.delivered[0].bytes.find("Final-Recipient: rfc822; ghost@a.test\r\n"
                                          "Action: failed\r\nStatus: 5.1.1"),
            std::string::npos);
  EXPECT_TRUE(queue->list()->empty());
}

TEST_F(RelayFixture, OutboundSplitsLocalAndRemote) {
  bool woken = false;
  Outbound outbound(*queue, local, clock, true, [&] { woken = true; });
  auto bytes = std::make_shared<const std::string>("Subject: s\r\n\r\nb\r\n");
  auto result = runTask(ctx, outbound.submit("alice@a.test", {"alice@a.test", "x@b.test"}, bytes));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->delivered_locally, std::vector<std::string>{"alice@a.test"});
  EXPECT_EQ(result->queued, std::vector<std::string>{"x@b.test"});
  ASSERT_TRUE(result->queue_id);
  EXPECT_TRUE(woken);
  EXPECT_EQ(local.delivered.size(), 1u);
  EXPECT_EQ(queue->list()->size(), 1u);

  Outbound no_relay(*queue, local, clock, false, {});
  auto refused = runTask(ctx, no_relay.submit("alice@a.test", {"x@b.test"}, bytes));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::permission_denied));
  // An unknown local address needs no relay: it is queued, to be bounced.
  auto ghost = runTask(ctx, no_relay.submit("alice@a.test", {"ghost@a.test"}, bytes));
  ASSERT_TRUE(ghost) << ghost.error().message();
  EXPECT_EQ(ghost->queued, std::vector<std::string>{"ghost@a.test"});
}

TEST_F(RelayFixture, WorkerWakesOnEnqueue) {
  config.poll_interval = 10s;  // so only wake() can explain a prompt delivery
  auto r = relay();
  r->start();
  Outbound outbound(*queue, local, clock, true, [r] { r->wake(); });
  auto bytes = std::make_shared<const std::string>("Subject: s\r\n\r\nb\r\n");
  net::asio::steady_timer limit(ctx);
  auto start = std::chrono::steady_clock::now();
  std::string sender = "alice@a.test";
  std::vector<std::string> recipients = {"x@b.test"};
  auto body = [&]() -> net::Task<bool> {
    auto res = co_await outbound.submit(sender, recipients, bytes);
    if (!res) co_return false;
    while (server.messages.empty() && std::chrono::steady_clock::now() - start < 5s) {
      limit.expires_after(10ms);
      co_await limit.async_wait(net::asio::use_awaitable);
    }
    r->stop();
    co_return !server.messages.empty();
  };
  EXPECT_TRUE(runTask(ctx, body()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(RelayFixture, StopCancelsAStalledSession) {
  server.silent = true;  // never greets
  config.greeting_timeout = 60s;
  auto r = relay();
  ASSERT_TRUE(queue->enqueue("alice@a.test", {"x@b.test"}, "m", clock.now()));
  r->start();
  net::asio::steady_timer timer(ctx);
  auto start = std::chrono::steady_clock::now();
  auto body = [&]() -> net::Task<int> {
    while (server.connections == 0 && std::chrono::steady_clock::now() - start < 5s) {
      timer.expires_after(10ms);
      co_await timer.async_wait(net::asio::use_awaitable);
    }
    r->stop();
    while (std::chrono::steady_clock::now() - start < 5s) {
      auto list = queue->list();
      if (list && list->size() == 1 && (*list)[0].attempts == 1) co_return 1;
      timer.expires_after(10ms);
      co_await timer.async_wait(net::asio::use_awaitable);
    }
    co_return 0;
  };
  EXPECT_EQ(runTask(ctx, body()), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_NE(queue->list()->front().last_error.find("cancelled"), std::string::npos);
}

TEST(RelayConfigTest, ReadsSection) {
  auto file = ConfigFile::parse(
      "[relay]\nhost = \"mx.test\"\nport = 2525\ntls = \"required\"\ntls_verify = true\n"
      "retry_initial = \"2s\"\nretry_factor = 3\nretry_max_interval = \"1m\"\nmax_age = \"10m\"\n"
      "command_timeout = \"30s\"\n",
      "test.toml");
  ASSERT_TRUE(file);
  RelayConfig c;
  auto section = file->root().section("relay");
  readRelayConfig(section, c);
  ASSERT_TRUE(file->finish()) << file->finish().error().message();
  EXPECT_EQ(c.host, "mx.test");
  EXPECT_EQ(c.port, 2525);
  EXPECT_EQ(c.tls, TlsPolicy::required);
  EXPECT_TRUE(c.tls_verify);
  EXPECT_EQ(c.retry.initial, 2s);
  EXPECT_EQ(c.retry.factor, 3);
  EXPECT_EQ(c.retry.max_age, 10min);
  EXPECT_EQ(c.command_timeout, 30s);
}

TEST(RelayConfigTest, RejectsBadValues) {
  auto file = ConfigFile::parse("[relay]\ntls = \"sometimes\"\nbogus = 1\n", "test.toml");
  ASSERT_TRUE(file);
  RelayConfig c;
  auto section = file->root().section("relay");
  readRelayConfig(section, c);
  auto st = file->finish();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("tls"), std::string::npos);
  EXPECT_NE(st.error().message().find("bogus"), std::string::npos);
}

}  // namespace
}  // namespace rampart::server::smtp
