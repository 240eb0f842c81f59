#include "server/lmtp/command_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rampart::server::lmtp {
namespace {

ParseResult one(std::string_view line) {
  CommandParser parser;
  std::string input(line);
  return parser.parse(input);
}

Command command(std::string_view line) {
  auto r = one(line);
  EXPECT_EQ(r.kind, ParseResult::Kind::command) << line << " -> " << r.error.wire();
  EXPECT_EQ(r.consumed, line.size());
  return r.command;
}

Reply error(std::string_view line) {
  auto r = one(line);
  EXPECT_EQ(r.kind, ParseResult::Kind::error) << line;
  return r.error;
}

TEST(LmtpCommandParser, Lhlo) {
  auto c = command("LHLO mx.example.org\r\n");
  EXPECT_EQ(c.verb, Verb::lhlo);
  EXPECT_EQ(c.domain, "mx.example.org");
  EXPECT_EQ(command("lhlo [127.0.0.1]\r\n").domain, "[127.0.0.1]");
  EXPECT_EQ(error("LHLO\r\n").code, 501);
  EXPECT_EQ(error("LHLO bad_name!\r\n").code, 501);
}

TEST(LmtpCommandParser, HeloAndEhloAreRefused) {
  // RFC 2033 4.1
  EXPECT_EQ(error("EHLO x.org\r\n").code, 500);
  EXPECT_EQ(error("HELO x.org\r\n").code, 500);
}

TEST(LmtpCommandParser, MailWithParameters) {
  auto c = command("MAIL FROM:<alice@example.org> SIZE=1234 BODY=8BITMIME\r\n");
  EXPECT_EQ(c.verb, Verb::mail);
  EXPECT_EQ(c.path, "alice@example.org");
  ASSERT_TRUE(c.size);
  EXPECT_EQ(*c.size, 1234u);
  EXPECT_EQ(c.body, Body::eight_bit_mime);
  EXPECT_EQ(command("mail from:<a@b.c> body=7bit\r\n").body, Body::seven_bit);
  EXPECT_EQ(command("MAIL FROM:<>\r\n").path, "");
  // Source routes are accepted and dropped (RFC 5321 4.1.2 / C).
  EXPECT_EQ(command("MAIL FROM:<@relay.org,@b.org:a@c.org>\r\n").path, "a@c.org");
  EXPECT_EQ(command("MAIL FROM:<\"odd name\"@example.org>\r\n").path, "\"odd name\"@example.org");
  EXPECT_EQ(command("MAIL FROM:<a@[192.0.2.1]>\r\n").path, "a@[192.0.2.1]");
  // An absurd SIZE saturates: it is over any limit.
  EXPECT_EQ(*command("MAIL FROM:<a@b.c> SIZE=99999999999999999999\r\n").size, UINT64_MAX);
}

TEST(LmtpCommandParser, MailSyntaxErrors) {
  EXPECT_EQ(error("MAIL\r\n").code, 501);
  EXPECT_EQ(error("MAIL TO:<a@b.c>\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:a@b.c\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM: <a@b.c>\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c>  SIZE=1\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c> \r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a..b@c.d>\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@-b.c>\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c> SIZE=x\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n").code, 501);
  EXPECT_EQ(error("MAIL FROM:<a@b.c> SIZE=\r\n").code, 501);
  auto unknown = error("MAIL FROM:<a@b.c> SMTPUTF8\r\n");
  EXPECT_EQ(unknown.code, 555);
  EXPECT_EQ(unknown.enhanced, "5.5.4");
  EXPECT_EQ(error("MAIL FROM:<" + std::string(65, 'a') + "@b.c>\r\n").code, 501);
}

TEST(LmtpCommandParser, Rcpt) {
  auto c = command("RCPT TO:<bob@example.org>\r\n");
  EXPECT_EQ(c.verb, Verb::rcpt);
  EXPECT_EQ(c.path, "bob@example.org");
  EXPECT_EQ(command("RCPT TO:<Postmaster>\r\n").path, "postmaster");
  EXPECT_EQ(command("rcpt to:<postmaster@example.org>\r\n").path, "postmaster@example.org");
  EXPECT_EQ(error("RCPT TO:<>\r\n").code, 501);
  EXPECT_EQ(error("RCPT TO:<bob>\r\n").code, 501);
  EXPECT_EQ(error("RCPT TO:<bob@example.org> NOTIFY=NEVER\r\n").code, 555);
  EXPECT_EQ(error("RCPT TO:<b\xc3\xa9@example.org>\r\n").code, 500);  // 8-bit without SMTPUTF8
}

TEST(LmtpCommandParser, SimpleVerbs) {
  EXPECT_EQ(command("DATA\r\n").verb, Verb::data);
  EXPECT_EQ(command("rset\r\n").verb, Verb::rset);
  EXPECT_EQ(command("QUIT\r\n").verb, Verb::quit);
  EXPECT_EQ(command("NOOP\r\n").verb, Verb::noop);
  EXPECT_EQ(command("NOOP anything goes\r\n").argument, "anything goes");
  EXPECT_EQ(command("HELP\r\n").verb, Verb::help);
  EXPECT_EQ(command("VRFY bob\r\n").verb, Verb::vrfy);
  EXPECT_EQ(error("VRFY\r\n").code, 501);
  EXPECT_EQ(error("DATA now\r\n").code, 501);
  EXPECT_EQ(error("QUIT please\r\n").code, 501);
  EXPECT_EQ(error("XYZZY\r\n").code, 500);
  EXPECT_EQ(error("\r\n").code, 500);
}

TEST(LmtpCommandParser, BareLfIsRefused) {
  auto r = one("NOOP\n");
  EXPECT_EQ(r.kind, ParseResult::Kind::error);
  EXPECT_EQ(r.error.code, 500);
  EXPECT_EQ(r.consumed, 5u);
  EXPECT_EQ(error("NO\rOP\r\n").code, 500);  // a bare CR inside the line
}

TEST(LmtpCommandParser, NeedMore) {
  CommandParser parser;
  auto r = parser.parse("MAIL FROM:<a@b");
  EXPECT_EQ(r.kind, ParseResult::Kind::need_more);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(parser.parse("NOOP\r").kind, ParseResult::Kind::need_more);
}

TEST(LmtpCommandParser, LineLimitIs512WithCrlf) {
  std::string ok = "NOOP " + std::string(512 - 7, 'x') + "\r\n";
  ASSERT_EQ(ok.size(), 512u);
  EXPECT_EQ(one(ok).kind, ParseResult::Kind::command);
  std::string over = "NOOP " + std::string(512 - 6, 'x') + "\r\n";
  auto r = one(over);
  EXPECT_EQ(r.kind, ParseResult::Kind::error);
  EXPECT_EQ(r.error.code, 500);
  EXPECT_EQ(r.consumed, over.size());
}

TEST(LmtpCommandParser, OverlongLineIsDiscardedWithoutBuffering) {
  CommandParser parser;
  std::string junk(100000, 'x');
  // Fed in pieces, the parser consumes (drops) everything and answers once at the LF.
  std::size_t replies = 0;
  std::string buffer;
  for (std::size_t i = 0; i < junk.size(); i += 1000) {
    buffer += junk.substr(i, 1000);
    auto r = parser.parse(buffer);
    buffer.erase(0, r.consumed);
    EXPECT_LE(buffer.size(), 1000u);
    if (r.kind == ParseResult::Kind::error) ++replies;
  }
  buffer += "\r\nNOOP\r\n";
  auto r = parser.parse(buffer);
  ASSERT_EQ(r.kind, ParseResult::Kind::error);
  EXPECT_EQ(r.error.text, "Line too long");
  buffer.erase(0, r.consumed);
  EXPECT_EQ(replies, 0u);
  EXPECT_EQ(parser.parse(buffer).kind, ParseResult::Kind::command);
}

// Parses a whole stream fed in two pieces split at `split`; returns the
// replies/commands as text so runs can be compared.
std::vector<std::string> run(const std::string& stream, std::size_t split) {
  CommandParser parser;
  std::vector<std::string> out;
  std::string buffer;
  auto drain = [&] {
    while (true) {
      auto r = parser.parse(buffer);
      buffer.erase(0, r.consumed);
      if (r.kind == ParseResult::Kind::need_more) break;
      if (r.kind == ParseResult::Kind::error) {
        out.push_back("E" + r.error.wire());
      } else {
        out.push_back("C" + std::to_string(static_cast<int>(r.command.verb)) + r.command.path +
                      r.command.domain + r.command.argument);
      }
    }
  };
  buffer += stream.substr(0, split);
  drain();
  buffer += stream.substr(split);
  drain();
  return out;
}

TEST(LmtpCommandParser, PipelinedInputSplitAnywhereGivesTheSameResult) {
  std::string stream =
      "LHLO client.example.org\r\nMAIL FROM:<a@b.org> SIZE=10\r\nRCPT TO:<c@d.org>\r\nBAD\n"
      "RCPT TO:<x>\r\nNOOP " + std::string(600, 'z') + "\r\nRSET\r\nDATA\r\n";
  auto whole = run(stream, stream.size());
  ASSERT_EQ(whole.size(), 8u);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    ASSERT_EQ(run(stream, split), whole) << "split at " << split;
  }
}

TEST(LmtpCommandParser, ReplyWire) {
  EXPECT_EQ((Reply{250, "2.0.0", "OK"}.wire()), "250 2.0.0 OK\r\n");
  EXPECT_EQ((Reply{354, "", "Go"}.wire()), "354 Go\r\n");
}

TEST(LmtpCommandParser, MailboxAndDomainSyntax) {
  EXPECT_TRUE(isValidMailbox("a.b+c@ex-ample.org"));
  EXPECT_TRUE(isValidMailbox("\"a@b\"@example.org"));
  EXPECT_FALSE(isValidMailbox("@example.org"));
  EXPECT_FALSE(isValidMailbox("a@"));
  EXPECT_FALSE(isValidMailbox("a@b..c"));
  EXPECT_FALSE(isValidMailbox(".a@b.c"));
  EXPECT_TRUE(isValidDomain("localhost"));
  EXPECT_FALSE(isValidDomain("a-.b"));
  EXPECT_FALSE(isValidDomain(std::string(64, 'a') + ".org"));
}

}  // namespace
}  // namespace rampart::server::lmtp
