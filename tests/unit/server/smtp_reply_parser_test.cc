#include <gtest/gtest.h>

#include "server/smtp/reply_parser.h"

namespace rampart::server::smtp {
namespace {

using State = ParsedReply::State;

TEST(SmtpReplyParser, SingleLine) {
  auto r = parseReply("250 2.1.0 Ok\r\n");
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(r.reply.code, 250);
  EXPECT_EQ(r.reply.enhanced, "2.1.0");
  ASSERT_EQ(r.reply.lines.size(), 1u);
  EXPECT_EQ(r.reply.lines[0], "2.1.0 Ok");
  EXPECT_EQ(r.consumed, 14u);
  EXPECT_EQ(r.reply.text(), "250 2.1.0 Ok");
}

TEST(SmtpReplyParser, MultiLineLeavesTheRest) {
  std::string in = "250-mx.example\r\n250-SIZE 1000\r\n250 STARTTLS\r\n354 next";
  auto r = parseReply(in);
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(r.reply.code, 250);
  ASSERT_EQ(r.reply.lines.size(), 3u);
  EXPECT_EQ(r.reply.lines[1], "SIZE 1000");
  EXPECT_EQ(r.reply.enhanced, "");
  EXPECT_EQ(in.substr(r.consumed), "354 next");
}

TEST(SmtpReplyParser, NeedsMoreUntilTheLastLine) {
  EXPECT_EQ(parseReply("").state, State::need_more);
  EXPECT_EQ(parseReply("25").state, State::need_more);
  EXPECT_EQ(parseReply("250-a\r\n").state, State::need_more);
  EXPECT_EQ(parseReply("250-a\r\n250 b").state, State::need_more);
}

TEST(SmtpReplyParser, BareCodeAndBareLf) {
  auto r = parseReply("250\n");
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(r.reply.code, 250);
  ASSERT_EQ(r.reply.lines.size(), 1u);
  EXPECT_EQ(r.reply.lines[0], "");
}

TEST(SmtpReplyParser, Malformed) {
  EXPECT_EQ(parseReply("hello\r\n").state, State::error);
  EXPECT_EQ(parseReply("25x ok\r\n").state, State::error);
  EXPECT_EQ(parseReply("150 ok\r\n").state, State::error);   // no 1xx in SMTP
  EXPECT_EQ(parseReply("250_ok\r\n").state, State::error);
  EXPECT_EQ(parseReply("250-a\r\n251 b\r\n").state, State::error);  // code changed
}

TEST(SmtpReplyParser, Limits) {
  ReplyLimits limits;
  limits.max_line = 16;
  limits.max_lines = 2;
  EXPECT_EQ(parseReply("250 " + std::string(40, 'x'), limits).state, State::error);
  EXPECT_EQ(parseReply("250 " + std::string(40, 'x') + "\r\n", limits).state, State::error);
  EXPECT_EQ(parseReply("250-a\r\n250-b\r\n250 c\r\n", limits).state, State::error);
}

TEST(SmtpReplyParser, EnhancedCodeMustMatchClass) {
  EXPECT_EQ(parseReply("550 5.1.1 <x>: unknown\r\n").reply.enhanced, "5.1.1");
  EXPECT_EQ(parseReply("550 4.1.1 mismatch\r\n").reply.enhanced, "");
  EXPECT_EQ(parseReply("451 4.3.0\r\n").reply.enhanced, "4.3.0");
  EXPECT_EQ(parseReply("550 5.1.1234 x\r\n").reply.enhanced, "");
  EXPECT_EQ(parseReply("550 5.1 x\r\n").reply.enhanced, "");
}

TEST(SmtpReplyParser, TextIsOneLine) {
  auto r = parseReply("554-5.7.1 first\r\n554 second\x01\r\n");
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(r.reply.text(), "554 5.7.1 first second ");
}

}  // namespace
}  // namespace rampart::server::smtp
