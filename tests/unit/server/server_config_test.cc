#include "server/config.h"

#include <gtest/gtest.h>

namespace rampart::server {
namespace {

TEST(ServerConfig, DefaultsAndValues) {
  auto cfg = parseServerConfig(R"(
data_dir = "/tmp/x"
hostname = "mail.example.org"
local_domains = ["Example.ORG", "example.net"]
[lmtp]
listen = "127.0.0.1:0"
max_message_size = "10MiB"
max_recipients = 50
command_timeout = "30s"
)", "server.toml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->data_dir, "/tmp/x");
  EXPECT_EQ(cfg->local_domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_EQ(cfg->lmtp.max_message_size.bytes, 10u * 1024 * 1024);
  EXPECT_EQ(cfg->lmtp.max_recipients, 50);
  EXPECT_EQ(cfg->lmtp.command_timeout, std::chrono::seconds(30));
  EXPECT_EQ(cfg->lmtp.data_total_timeout, std::chrono::minutes(30));
  EXPECT_EQ(cfg->lmtp.max_connections, 200);
}

TEST(ServerConfig, UnknownKeyIsAnErrorWithItsLine) {
  auto cfg = parseServerConfig("data_dir = \"/x\"\n[lmtp]\nlisten = \"127.0.0.1:1\"\nmax_mesage_size = 5\n",
                               "server.toml");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("server.toml:4"), std::string::npos) << cfg.error().message();
  EXPECT_NE(cfg.error().message().find("max_mesage_size"), std::string::npos);
}

TEST(ServerConfig, BadValues) {
  EXPECT_FALSE(parseServerConfig("[lmtp]\nlisten = \"nowhere\"\n", "s.toml"));
  EXPECT_FALSE(parseServerConfig("[lmtp]\ncommand_timeout = \"0s\"\n", "s.toml"));
  EXPECT_FALSE(parseServerConfig("log_level = \"loud\"\n", "s.toml"));
  EXPECT_FALSE(parseServerConfig("local_domains = [\"a@b\"]\n", "s.toml"));
}

}  // namespace
}  // namespace rampart::server

namespace rampart::server {
namespace {

TEST(ServerConfig, ExampleConfigLoads) {
  // config/server.toml must stay valid: it is what people copy.
  std::string path = std::string(RAMPART_SOURCE_DIR) + "/config/server.toml";
  auto cfg = loadServerConfig(path);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->lmtp.listen, "127.0.0.1:2424");
  EXPECT_EQ(cfg->lmtp.max_message_size.bytes, 35u * 1024 * 1024);
}

}  // namespace
}  // namespace rampart::server
