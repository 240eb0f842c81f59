#include "server/lmtp/data_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::server::lmtp {
namespace {

struct Outcome {
  std::string message;
  std::size_t consumed = 0;
  bool done = false;
  bool overflowed = false;
  std::uint64_t size = 0;
};

// Feeds `wire` in chunks of `chunk` bytes.
Outcome read(const std::string& wire, std::size_t chunk, std::uint64_t max = 1 << 20) {
  DataReader reader(max);
  Outcome o;
  for (std::size_t i = 0; i < wire.size() && !reader.done(); i += chunk) {
    auto piece = std::string_view(wire).substr(i, chunk);
    auto step = reader.feed(piece);
    o.consumed += step.consumed;
    if (!step.done) {
      EXPECT_EQ(step.consumed, piece.size());
    }
  }
  o.done = reader.done();
  o.overflowed = reader.overflowed();
  o.size = reader.size();
  o.message = reader.message();
  return o;
}

TEST(LmtpDataReader, PlainMessage) {
  auto o = read("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", 4096);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(o.consumed, std::string("Subject: x\r\n\r\nbody\r\n.\r\n").size());
}

TEST(LmtpDataReader, EmptyMessage) {
  auto o = read(".\r\n", 10);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "");
}

TEST(LmtpDataReader, DotUnstuffing) {
  // RFC 5321 4.5.2: a leading dot is removed from every line that has one.
  auto o = read("..one\r\n.two\r\n...\r\nmid.dle\r\n..\r\n.\r\n", 4096);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, ".one\r\ntwo\r\n..\r\nmid.dle\r\n.\r\n");
}

TEST(LmtpDataReader, DotCrNotFollowedByLf) {
  auto o = read("a\r\n.\rb\r\n.\r\n", 4096);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "a\r\n\rb\r\n");
}

TEST(LmtpDataReader, BareLfIsNotALineEnd) {
  auto o = read("a\n.\nb\r\n.\r\n", 4096);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.message, "a\n.\nb\r\n");
}

TEST(LmtpDataReader, EveryChunkSizeGivesTheSameMessage) {
  std::string wire = "From: a\r\n\r\n..stuffed\r\n\r\n.\r\r\nx\r\n.\r\nNEXT";
  auto whole = read(wire, wire.size());
  ASSERT_TRUE(whole.done);
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    auto o = read(wire, chunk);
    EXPECT_TRUE(o.done) << chunk;
    EXPECT_EQ(o.message, whole.message) << chunk;
    EXPECT_EQ(o.consumed, wire.size() - 4) << chunk;
  }
}

TEST(LmtpDataReader, OverflowDiscardsButKeepsReading) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "0123456789012345678901234567890123456789\r\n";
  auto o = read(body + ".\r\n", 333, 1000);
  EXPECT_TRUE(o.done);
  EXPECT_TRUE(o.overflowed);
  EXPECT_TRUE(o.message.empty());
  EXPECT_EQ(o.size, body.size());
  // Exactly at the limit is fine.
  auto exact = read(std::string(998, 'x') + "\r\n.\r\n", 7, 1000);
  EXPECT_FALSE(exact.overflowed);
  EXPECT_EQ(exact.message.size(), 1000u);
}

}  // namespace
}  // namespace rampart::server::lmtp
