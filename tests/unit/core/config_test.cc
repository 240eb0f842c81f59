#include "core/config.h"

#include <gtest/gtest.h>

namespace rampart {
namespace {

using namespace std::chrono_literals;

TEST(ConfigTest, ReadsTypedValuesWithDefaults) {
  auto file = ConfigFile::parse(R"(
data_dir = "/var/lib/rampart"
[lmtp]
listen = "127.0.0.1:2424"
max_message_size = "35MiB"
command_timeout = "5m"
max_connections = 200
pipelining = true
)",
                                "server.toml");
  ASSERT_TRUE(file) << file.error().message();
  std::string data_dir, listen = "default";
  ByteSize max_size{1};
  std::chrono::milliseconds timeout = 1s, untouched = 7s;
  int max_conn = 0;
  bool pipelining = false;
  ConfigSection root = file->root();
  root.read("data_dir", data_dir);
  ConfigSection lmtp = root.section("lmtp");
  lmtp.read("listen", listen);
  lmtp.read("max_message_size", max_size);
  lmtp.read("command_timeout", timeout);
  lmtp.read("data_timeout", untouched);
  lmtp.read("max_connections", max_conn, 1, 100000);
  lmtp.read("pipelining", pipelining);
  ASSERT_TRUE(file->finish()) << file->finish().error().message();
  EXPECT_EQ(data_dir, "/var/lib/rampart");
  EXPECT_EQ(listen, "127.0.0.1:2424");
  EXPECT_EQ(max_size.bytes, 35u * 1024 * 1024);
  EXPECT_EQ(timeout, 5min);
  EXPECT_EQ(untouched, 7s);
  EXPECT_EQ(max_conn, 200);
  EXPECT_TRUE(pipelining);
}

TEST(ConfigTest, UnknownKeyIsAnErrorWithFileAndLine) {
  auto file = ConfigFile::parse("data_dir = \"x\"\n[lmtp]\nlisten = \"a\"\nlistne = \"b\"\n",
                                "server.toml");
  ASSERT_TRUE(file);
  std::string s;
  ConfigSection root = file->root();
  root.read("data_dir", s);
  root.section("lmtp").read("listen", s);
  auto st = file->finish();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("server.toml:4: unknown key 'lmtp.listne'"), std::string::npos)
      << st.error().detail;
}

TEST(ConfigTest, UnknownSectionIsReportedOnce) {
  auto file = ConfigFile::parse("[lmpt]\nlisten = \"a\"\n", "x.toml");
  ASSERT_TRUE(file);
  auto st = file->finish();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("unknown key 'lmpt'"), std::string::npos);
  EXPECT_EQ(st.error().detail.find("listen"), std::string::npos);
}

TEST(ConfigTest, WrongTypeAndRangeAreErrors) {
  auto file = ConfigFile::parse("a = \"x\"\nb = 5\nc = \"10 parsecs\"\n", "t.toml");
  ASSERT_TRUE(file);
  int a = 0, b = 0;
  std::chrono::milliseconds c{};
  ConfigSection root = file->root();
  root.read("a", a, 0, 10);
  root.read("b", b, 6, 10);
  root.read("c", c);
  auto st = file->finish();
  ASSERT_FALSE(st);
  const std::string& d = st.error().detail;
  EXPECT_NE(d.find("t.toml:1: a: expected an integer"), std::string::npos) << d;
  EXPECT_NE(d.find("t.toml:2: b: expected an integer from 6 to 10"), std::string::npos) << d;
  EXPECT_NE(d.find("t.toml:3: c: expected a duration"), std::string::npos) << d;
  EXPECT_EQ(b, 0);
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto file = ConfigFile::parse("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().detail.find("bad.toml:2:"), std::string::npos) << file.error().detail;
}

TEST(ConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*parseDuration("250ms"), 250ms);
  EXPECT_EQ(*parseDuration("2h"), 2h);
  EXPECT_EQ(*parseDuration("7d"), 168h);
  EXPECT_FALSE(parseDuration("-1s"));
  EXPECT_FALSE(parseDuration("1y"));
  EXPECT_EQ(*parseByteSize("64KiB"), 65536u);
  EXPECT_EQ(*parseByteSize("10MB"), 10'000'000u);
  EXPECT_FALSE(parseByteSize("99999999999999999999GiB"));
}

}  // namespace
}  // namespace rampart
