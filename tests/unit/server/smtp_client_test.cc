#include <gtest/gtest.h>

#include "server/smtp/smtp_client.h"
#include "unit/server/smtp_test_util.h"

namespace rampart::server::smtp {
namespace {

using namespace std::chrono_literals;
using testing::FakeSmtpServer;
using testing::runTask;

RelayConfig configFor(const FakeSmtpServer& server) {
  RelayConfig c;
  c.host = "127.0.0.1";
  c.port = server.port();
  c.tls = TlsPolicy::none;
  c.helo_name = "client.test";
  c.connect_timeout = 2s;
  c.greeting_timeout = 2s;
  c.command_timeout = 2s;
  c.data_timeout = 2s;
  return c;
}

TEST(SmtpEncodeData, DotStuffingAndLineEnds) {
  EXPECT_EQ(encodeData("a\r\n.b\n..c\rd"), "a\r\n..b\r\n...c\r\nd\r\n.\r\n");
  EXPECT_EQ(encodeData(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(encodeData(""), ".\r\n");
  EXPECT_TRUE(hasEightBit("caf\xc3\xa9"));
  EXPECT_FALSE(hasEightBit("cafe"));
}

TEST(SmtpClient, PerRecipientOutcomes) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.rcpt_replies["gone@b.test"] = "550 5.1.1 <gone@b.test>: Recipient address rejected\r\n";
  server.rcpt_replies["busy@b.test"] = "450 4.2.1 <busy@b.test>: try later\r\n";
  auto config = configFor(server);
  Envelope env{"alice@a.test", {"ok@b.test", "gone@b.test", "busy@b.test"}};
  std::string message = "Subject: t\r\n\r\n.leading dot\nbare lf \xc3\xa9\r\n";
  auto result = runTask(ctx, deliver(config, nullptr, env, message));
  server.close();

  ASSERT_EQ(result.recipients.size(), 3u);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::delivered);
  EXPECT_EQ(result.recipients[1].outcome, Outcome::permanent);
  EXPECT_EQ(result.recipients[1].enhanced, "5.1.1");
  EXPECT_TRUE(result.recipients[1].from_reply);
  EXPECT_EQ(result.recipients[1].detail, "550 5.1.1 <gone@b.test>: Recipient address rejected");
  EXPECT_EQ(result.recipients[2].outcome, Outcome::temporary);
  EXPECT_FALSE(result.used_tls);

  ASSERT_GE(server.commands.size(), 6u);
  EXPECT_EQ(server.commands[0], "EHLO client.test");
  EXPECT_EQ(server.commands[1],
            "MAIL FROM:<alice@a.test> SIZE=" + std::to_string(message.size()) + " BODY=8BITMIME");
  EXPECT_EQ(server.commands.back(), "QUIT");
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.messages[0], "Subject: t\r\n\r\n..leading dot\r\nbare lf \xc3\xa9\r\n");
}

TEST(SmtpClient, FinalReplyAppliesToAcceptedRecipients) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.rcpt_replies["gone@b.test"] = "550 5.1.1 no\r\n";
  server.data_reply = "554 5.7.1 spam\r\n";
  auto result = runTask(ctx, deliver(configFor(server), nullptr,
                                     Envelope{"", {"ok@b.test", "gone@b.test"}}, "x\r\n"));
  server.close();
  EXPECT_EQ(server.commands[1], "MAIL FROM:<> SIZE=3");
  EXPECT_EQ(result.recipients[0].outcome, Outcome::permanent);
  EXPECT_EQ(result.recipients[0].enhanced, "5.7.1");
  EXPECT_EQ(result.recipients[1].enhanced, "5.1.1");
}

TEST(SmtpClient, GreetingRefusedIsPermanent) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.greeting = "554 5.3.2 no service\r\n";
  auto result =
      runTask(ctx, deliver(configFor(server), nullptr, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::permanent);
}

TEST(SmtpClient, HeloFallbackWhenEhloRefused) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.ehlo_reply = "500 5.5.1 what?\r\n";
  auto result =
      runTask(ctx, deliver(configFor(server), nullptr, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::delivered);
  EXPECT_EQ(server.commands[1], "HELO client.test");
  EXPECT_EQ(server.commands[2], "MAIL FROM:<a@a.test>");  // no SIZE without EHLO
}

TEST(SmtpClient, TransientMailFromDefersAll) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.respond = [&](const std::string& line) -> std::string {
    if (line.rfind("MAIL", 0) == 0) return "421 4.3.2 shutting down\r\n";
    return server.defaultReply(line);
  };
  auto result = runTask(ctx, deliver(configFor(server), nullptr,
                                     Envelope{"a@a.test", {"x@b.test", "y@b.test"}}, "x"));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::temporary);
  EXPECT_EQ(result.recipients[1].outcome, Outcome::temporary);
  EXPECT_EQ(result.recipients[1].detail, "421 4.3.2 shutting down");
}

TEST(SmtpClient, ConnectionRefusedIsTemporary) {
  net::asio::io_context ctx;
  std::uint16_t port;
  {
    // A port that nothing listens on once the acceptor is gone.
    net::tcp::acceptor probe(ctx, net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  RelayConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.tls = TlsPolicy::none;
  auto result = runTask(ctx, deliver(config, nullptr, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  EXPECT_EQ(result.recipients[0].outcome, Outcome::temporary);
  EXPECT_NE(result.recipients[0].detail.find("connect"), std::string::npos);
  EXPECT_FALSE(result.recipients[0].from_reply);
}

TEST(SmtpClient, SilentServerHitsTheGreetingDeadline) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.silent = true;
  auto config = configFor(server);
  config.greeting_timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto result = runTask(ctx, deliver(config, nullptr, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  server.close();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(result.recipients[0].outcome, Outcome::temporary);
  EXPECT_NE(result.recipients[0].detail.find("timed out"), std::string::npos);
}

TEST(SmtpClient, RequiredTlsNotOfferedDefers) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  auto config = configFor(server);
  config.tls = TlsPolicy::required;
  auto tls = makeRelayTlsContext(config);
  ASSERT_TRUE(tls) << tls.error().message();
  auto result = runTask(ctx, deliver(config, *tls, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::temporary);
  EXPECT_TRUE(server.messages.empty());
}

TEST(SmtpClient, SizeLimitIsPermanentWithoutSending) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.ehlo_reply = "250-fake\r\n250 SIZE 10\r\n";
  auto result = runTask(ctx, deliver(configFor(server), nullptr,
                                     Envelope{"a@a.test", {"x@b.test"}}, std::string(100, 'x')));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::permanent);
  EXPECT_EQ(result.recipients[0].enhanced, "5.3.4");
  EXPECT_TRUE(server.messages.empty());
}

TEST(SmtpClient, GarbageReplyIsTemporary) {
  net::asio::io_context ctx;
  FakeSmtpServer server(ctx);
  server.respond = [](const std::string&) -> std::string { return "hello there\r\n"; };
  auto result =
      runTask(ctx, deliver(configFor(server), nullptr, Envelope{"a@a.test", {"x@b.test"}}, "x"));
  server.close();
  EXPECT_EQ(result.recipients[0].outcome, Outcome::temporary);
}

}  // namespace
}  // namespace rampart::server::smtp
