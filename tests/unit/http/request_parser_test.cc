// The strict HTTP/1.1 request parser (http/request_parser.h): one test per
// rule, a table-driven request-smuggling corpus (also kept as raw files in
// tests/data/smuggling/ for the gateway's integration test), split and
// pipelining invariance, and serializeRequest round trips.
#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace rampart::http {
namespace {

using namespace std::string_literals;

// What a whole input gave: the error status, or the request and how many
// bytes of the input it took.
struct Outcome {
  int status = 0;  // 0: a request was parsed; -1: the input ended first
  ParsedRequest req;
  std::size_t consumed = 0;
  int headers_done = 0;  // how many times feed() said headers_done
};

// Feeds `input` in pieces of the sizes `piece(i)` returns, as a read loop
// would: a buffer, feed, erase what was consumed, feed again after
// headers_done, stop at done.
template <class PieceFn>
Outcome drive(std::string_view input, PieceFn piece, ParserLimits limits = {},
              RequestParser* reuse = nullptr) {
  RequestParser own(limits);
  RequestParser& parser = reuse ? *reuse : own;
  Outcome out;
  std::string buffer;
  std::size_t offset = 0;  // of buffer[0] in input
  std::size_t next = 0;    // next input byte to append
  for (std::size_t i = 0;; ++i) {
    while (true) {
      auto r = parser.feed(buffer);
      if (!r) {
        out.status = parser.errorStatus();
        EXPECT_NE(out.status, 0);
        return out;
      }
      EXPECT_LE(r->first, buffer.size());
      buffer.erase(0, r->first);
      offset += r->first;
      if (r->second == ParseStatus::headers_done) {
        ++out.headers_done;
        continue;
      }
      if (r->second == ParseStatus::done) {
        out.consumed = offset;
        out.req = parser.release();
        return out;
      }
      EXPECT_TRUE(buffer.empty()) << "need_more must consume everything";
      break;
    }
    if (next >= input.size()) {
      out.status = -1;
      return out;
    }
    std::size_t n = std::min(std::max<std::size_t>(1, piece(i)), input.size() - next);
    buffer.append(input.substr(next, n));
    next += n;
  }
}

Outcome whole(std::string_view input, ParserLimits limits = {}) {
  return drive(
      input, [&](std::size_t) { return input.size(); }, limits);
}
Outcome byteByByte(std::string_view input, ParserLimits limits = {}) {
  return drive(
      input, [](std::size_t) { return std::size_t{1}; }, limits);
}
int statusOf(std::string_view input, ParserLimits limits = {}) {
  return whole(input, limits).status;
}

bool sameRequest(const ParsedRequest& a, const ParsedRequest& b) {
  if (a.method != b.method || a.target != b.target || a.minor_version != b.minor_version ||
      a.body != b.body || a.keep_alive != b.keep_alive || a.chunked_in != b.chunked_in ||
      a.expect_continue != b.expect_continue || a.content_length != b.content_length ||
      a.connection_options != b.connection_options || a.headers.size() != b.headers.size())
    return false;
  for (std::size_t i = 0; i < a.headers.size(); ++i)
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value)
      return false;
  return true;
}

const std::string kSimpleGet =
    "GET /Microsoft-Server-ActiveSync?Cmd=Sync&User=a%40b HTTP/1.1\r\nHost: "
    "mail.example.com\r\nUser-Agent: t\r\n\r\n";
const std::string kChunkedPost =
    "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A:  spaced value "
    "\t\r\n\r\n"
    "5\r\nhello\r\n1;name=\"q\\\"v\";flag\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n";

// ---------------------------------------------------------------- basics

TEST(RequestParser, ParsesASimpleGet) {
  auto o = whole(kSimpleGet);
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.method, "GET");
  EXPECT_EQ(o.req.target, "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a%40b");
  EXPECT_EQ(o.req.minor_version, 1);
  ASSERT_EQ(o.req.headers.size(), 2u);
  EXPECT_EQ(o.req.header("HOST"), "mail.example.com");
  EXPECT_EQ(o.req.count("user-agent"), 1u);
  EXPECT_FALSE(o.req.header("content-length"));
  EXPECT_TRUE(o.req.keep_alive);
  EXPECT_TRUE(o.req.body.empty());
  EXPECT_EQ(o.headers_done, 0) << "no body: straight to done";
  EXPECT_EQ(o.consumed, kSimpleGet.size());
}

TEST(RequestParser, ParsesContentLengthBody) {
  std::string in = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n1234567";
  auto o = whole(in);
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.body, "1234567");
  EXPECT_EQ(o.req.content_length, 7u);
  EXPECT_EQ(o.headers_done, 1);
  EXPECT_FALSE(o.req.chunked_in);
}

TEST(RequestParser, ParsesChunkedBodyWithExtensions) {
  auto o = whole(kChunkedPost);
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.body, "hello 0123456789");
  EXPECT_TRUE(o.req.chunked_in);
  EXPECT_EQ(o.req.header("x-a"), "spaced value") << "OWS trimmed on both sides";
  EXPECT_EQ(o.consumed, kChunkedPost.size());
}

TEST(RequestParser, HeadersDoneStopsBeforeTheBody) {
  std::string in = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  RequestParser p;
  auto r = p.feed(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, ParseStatus::headers_done);
  EXPECT_EQ(r->first, in.size() - 3);
  EXPECT_EQ(p.request().content_length, 3u);
  auto r2 = p.feed(std::string_view(in).substr(r->first));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->second, ParseStatus::done);
  EXPECT_EQ(r2->first, 3u);
  // done consumes nothing more
  auto r3 = p.feed("GET");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->first, 0u);
  EXPECT_EQ(r3->second, ParseStatus::done);
}

TEST(RequestParser, SameResultByteByByteAndInRandomSplits) {
  std::string post_cl =
      "PUT /x/y;p=1?q=/?:@ HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 11\r\n\r\nhello "
      "world";
  for (const std::string& in :
       {kSimpleGet, kChunkedPost, post_cl, std::string("\r\n") + kSimpleGet}) {
    auto ref = whole(in);
    ASSERT_EQ(ref.status, 0) << in;
    auto bytes = byteByByte(in);
    ASSERT_EQ(bytes.status, 0);
    EXPECT_TRUE(sameRequest(ref.req, bytes.req)) << in;
    EXPECT_EQ(bytes.consumed, in.size());
    std::mt19937 rng(42);
    for (int round = 0; round < 200; ++round) {
      std::uniform_int_distribution<std::size_t> dist(1, 1 + round % 17);
      auto o = drive(in, [&](std::size_t) { return dist(rng); });
      ASSERT_EQ(o.status, 0);
      EXPECT_TRUE(sameRequest(ref.req, o.req)) << in;
    }
  }
}

TEST(RequestParser, PipelinedRequestsConsumeOnlyTheirOwnBytes) {
  std::string second = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
  std::string third = "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  std::string all = kSimpleGet + second + third;
  RequestParser p;
  std::string_view rest = all;
  std::vector<ParsedRequest> got;
  while (!rest.empty()) {
    auto r = p.feed(rest);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_LE(r->first, rest.size());
    rest.remove_prefix(r->first);
    if (r->second == ParseStatus::done) {
      got.push_back(p.release());
      p.reset();
    } else {
      ASSERT_NE(r->second, ParseStatus::need_more);
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].target, "/Microsoft-Server-ActiveSync?Cmd=Sync&User=a%40b");
  EXPECT_EQ(got[1].body, "hi");
  EXPECT_EQ(got[2].target, "/c");
  EXPECT_FALSE(got[2].keep_alive);
  auto first = RequestParser().feed(all);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, kSimpleGet.size());
}

TEST(RequestParser, ErrorIsSticky) {
  RequestParser p;
  ASSERT_FALSE(p.feed("GET / HTTP/1.1\n"));
  EXPECT_EQ(p.errorStatus(), 400);
  EXPECT_FALSE(p.feed("\r\n"));
  p.reset();
  EXPECT_EQ(p.errorStatus(), 0);
  auto r = p.feed(kSimpleGet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, ParseStatus::done);
}

TEST(RequestParser, ErrorCodesMapToConditions) {
  RequestParser p;
  auto r = p.feed("GET / HTTP/1.1\r\nHost: h\r\nExpect: nope\r\n\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(p.errorStatus(), 417);
  EXPECT_TRUE(r.error().is(Errc::protocol_error));
  RequestParser q;
  auto r2 = q.feed("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().is(Errc::parse_error));
  ParserLimits small;
  small.max_headers = 1;
  RequestParser s(small);
  auto r3 = s.feed("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n");
  ASSERT_FALSE(r3);
  EXPECT_TRUE(r3.error().is(Errc::limit_exceeded));
}

// ---------------------------------------------------------------- line endings (RFC 9112 2.2)

TEST(RequestParserRules, BareLfAnywhereInTheHeadIs400) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400);
  EXPECT_EQ(statusOf("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(RequestParserRules, BareCrAnywhereInTheHeadIs400) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(byteByByte("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n").status, 400);
}

TEST(RequestParserRules, OneLeadingEmptyLineIsIgnoredTwoAreNot) {
  EXPECT_EQ(statusOf("\r\n" + kSimpleGet), 0);
  EXPECT_EQ(statusOf("\r\n\r\n" + kSimpleGet), 400);
}

// ---------------------------------------------------------------- request-line (RFC 9112 3)

TEST(RequestParserRules, RequestLineNeedsExactlySingleSpaces) {
  EXPECT_EQ(statusOf("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET /\r\nHost: h\r\n\r\n"), 400);
}

TEST(RequestParserRules, MethodMustBeAToken) {
  EXPECT_EQ(statusOf("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("G\xc3\xa9T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  auto o = whole("X-CUSTOM~ / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.req.method, "X-CUSTOM~");
}

TEST(RequestParserRules, OnlyHttp10And11AreServed) {
  EXPECT_EQ(statusOf("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(statusOf("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(statusOf("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(statusOf("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400);
  auto o = whole("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.minor_version, 0);
}

TEST(RequestParserRules, TargetMustBeOriginFormWithValidCharacters) {
  for (std::string ok :
       {"/", "/a/b/", "/a?", "/a?b=c&d=/e?f", "/%41%7e", "/a:b@c!$&'()*+,;=-._~", "//double"}) {
    EXPECT_EQ(statusOf("GET " + ok + " HTTP/1.1\r\nHost: h\r\n\r\n"), 0) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{
           "a", "/a#frag", "/%", "/%4", "/%zz", "/a\"b", "/a<b>", "/a\\b", "/a{b}", "/a|b", "/^",
           "/`", "/\x7f", "/\x80", "/a\0b"s, "/[::1]"}) {
    EXPECT_EQ(statusOf("GET " + bad + " HTTP/1.1\r\nHost: h\r\n\r\n"), 400) << bad;
  }
}

TEST(RequestParserRules, AsteriskOnlyForOptions) {
  EXPECT_EQ(statusOf("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
  EXPECT_EQ(statusOf("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("OPTIONS ** HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(RequestParserRules, AbsoluteFormOnlyWhenAllowed) {
  std::string in =
      "GET http://mail.example.com:8443/a?b HTTP/1.1\r\nHost: mail.example.com\r\n\r\n";
  EXPECT_EQ(statusOf(in), 400);
  ParserLimits allow;
  allow.allow_absolute_form = true;
  auto o = whole(in, allow);
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.target, "http://mail.example.com:8443/a?b");
  EXPECT_EQ(statusOf("GET https://[::1]/ HTTP/1.1\r\nHost: h\r\n\r\n", allow), 0);
  EXPECT_EQ(statusOf("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", allow), 400) << "userinfo";
  EXPECT_EQ(statusOf("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", allow), 400);
  EXPECT_EQ(statusOf("GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", allow), 400);
  EXPECT_EQ(statusOf("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", allow), 400) << "authority-form";
}

TEST(RequestParserRules, OverlongTargetIs414OverlongElsewhereIs400) {
  ParserLimits l;
  l.max_request_line = 64;
  std::string long_target = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(statusOf(long_target, l), 414);
  EXPECT_EQ(byteByByte(long_target, l).status, 414);
  std::string long_method = std::string(100, 'G') + " / HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(statusOf(long_method, l), 400);
  std::string exact = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(exact.size(), 64u);
  EXPECT_EQ(statusOf(exact + "\r\nHost: h\r\n\r\n", l), 0);
  EXPECT_EQ(byteByByte(exact + "\r\nHost: h\r\n\r\n", l).status, 0)
      << "a pending CR does not count";
  EXPECT_EQ(statusOf("GET /a" + exact.substr(5) + "\r\nHost: h\r\n\r\n", l), 414);
}

TEST(RequestParserRules, TheFirstOffendingOctetDecidesWhateverTheSplit) {
  // Over the line limit before a bare CR: the limit wins, whole or split.
  ParserLimits l;
  l.max_request_line = 20;
  std::string in = "GET /" + std::string(30, 'a') + "\rx HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(statusOf(in, l), 414);
  EXPECT_EQ(byteByByte(in, l).status, 414);
  // A bare CR before the limit wins.
  std::string cr = "GET /a\rx" + std::string(30, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(statusOf(cr, l), 400);
  EXPECT_EQ(byteByByte(cr, l).status, 400);
  // The header-section budget is counted octet by octet too.
  ParserLimits h;
  h.max_header_bytes = 12;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX: 1234\rZ\r\n\r\n";
  EXPECT_EQ(statusOf(head, h), 431);
  EXPECT_EQ(byteByByte(head, h).status, 431);
}

// ---------------------------------------------------------------- fields (RFC 9112 5, RFC
// 9110 5.5)

TEST(RequestParserRules, FieldNameMustBeATokenWithNoSpaceBeforeColon) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX Y: z\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\n: z\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX\xff: z\r\n\r\n"), 400);
}

TEST(RequestParserRules, ValueControlCharactersRefusedObsTextAllowed) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"s), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\x0b\r\n\r\n"), 400);
  auto o = whole("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\tand \xff\r\nEmpty:\r\n\r\n");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.header("x"), "caf\xc3\xa9\tand \xff");
  EXPECT_EQ(o.req.header("empty"), "");
}

TEST(RequestParserRules, ObsFoldAndLeadingWhitespaceAre400) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
}

TEST(RequestParserRules, HeaderCountAndSizeLimitsAre431) {
  ParserLimits l;
  l.max_headers = 3;
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", l), 0);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l), 431);
  ParserLimits line;
  line.max_header_line = 20;
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(17, 'a') + "\r\n\r\n", line),
            0);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(18, 'a') + "\r\n\r\n", line),
            431);
  EXPECT_EQ(byteByByte("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(1000, 'a'), line).status,
            431);
  ParserLimits total;
  total.max_header_bytes = 40;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\nA: 1234567890\r\nB: 12345\r\n\r\n";
  total.max_header_bytes =
      head.size() - 16;  // the field lines and the final CRLF, not the request-line
  EXPECT_EQ(statusOf(head, total), 0);
  EXPECT_EQ(byteByByte(head, total).status, 0);
  total.max_header_bytes = head.size() - 17;
  EXPECT_EQ(statusOf(head, total), 431);
}

TEST(RequestParserRules, HostExactlyOnceAndValid) {
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.0\r\n\r\n"), 0) << "HTTP/1.0 may omit Host";
  for (std::string ok : {"a", "mail.example.com", "h:443", "h:", "10.0.0.1:80", "[::1]",
                         "[::1]:8443", "[2001:db8::7]", "[1:2:3:4:5:6:7:8]", "[::ffff:192.0.2.1]",
                         "[v1.x:y]", "xn--bcher-kva.example", "a%20b", ""}) {
    EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: " + ok + "\r\n\r\n"), 0) << ok;
  }
  for (std::string bad :
       {"a b", "a/b", "u@h", "h:99999", "h:123456", "h:-1", "h:8x", "[::1", "[::g]",
        "[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[::1.2.3.256]", "h#", "a%2", "h:80:80", "[::1]x"}) {
    EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: " + bad + "\r\n\r\n"), 400) << bad;
  }
}

// ---------------------------------------------------------------- framing (RFC 9112 6)

TEST(RequestParserRules, ContentLengthDigitsOnlyOnceNoOverflow) {
  for (std::string bad : {"+5", "-5", "5 5", "0x10", "5, 5", "5,5", "5.0", "", "five",
                          "\xef\xbc\x95", "18446744073709551616", "99999999999999999999999"}) {
    EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + bad + "\r\n\r\n"), 400)
        << bad;
  }
  EXPECT_EQ(
      statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"),
      400);
  // the largest uint64 parses; it is then over the body limit
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n"),
            413);
  auto zero = whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(zero.status, 0);
  EXPECT_EQ(zero.headers_done, 0);
  EXPECT_EQ(zero.req.content_length, 0u);
}

TEST(RequestParserRules, BodyLimitIs413AndSetBodyLimitApplies) {
  ParserLimits l;
  l.max_body = 10;
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", l), 0);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890", l),
            413);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
                     l),
            0);
  EXPECT_EQ(
      statusOf(
          "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n", l),
      413);

  // A per-command limit set at headers_done, up or down.
  std::string in = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n01234567890123456789";
  RequestParser p(l);
  auto r = p.feed(in);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->second, ParseStatus::headers_done);
  p.setBodyLimit(20);
  auto r2 = p.feed(std::string_view(in).substr(r->first));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->second, ParseStatus::done);
  p.reset();  // back to the construction limit
  r = p.feed(in);
  ASSERT_TRUE(r);
  EXPECT_FALSE(p.feed(std::string_view(in).substr(r->first)));
  EXPECT_EQ(p.errorStatus(), 413);
}

TEST(RequestParserRules, TransferEncodingOnlyChunked) {
  auto te = [](std::string v) {
    return statusOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + v + "\r\n\r\n0\r\n\r\n");
  };
  // chunked, case-insensitive; OWS (SP / HTAB) around the value is not part of it (RFC 9112 5).
  EXPECT_EQ(te("chunked"), 0);
  EXPECT_EQ(te("CHUNKED"), 0);
  EXPECT_EQ(te("\tchunked"), 0);
  EXPECT_EQ(te("chunked \t"), 0);
  // chunked not final (RFC 9112 6.3 item 4) or malformed: 400
  for (std::string bad : {"xchunked", "chunkedx", "chunked, chunked", "chunked,", ",chunked",
                          "chunked, gzip", "gzip", "identity", "chunked;q=1", "chunked;",
                          "\"chunked\"", "chunked\x0b", "chunk ed", "", "chunked\xff"}) {
    EXPECT_EQ(te(bad), 400) << bad;
  }
  // a coding we do not implement before the final chunked (RFC 9112 6.1): 501
  EXPECT_EQ(te("gzip, chunked"), 501);
  EXPECT_EQ(te("x-custom;a=\"b c\" , chunked"), 501);
  EXPECT_EQ(te("gzip;, chunked"), 400);
}

TEST(RequestParserRules, TransferEncodingWithContentLengthTwiceOrInHttp10Is400) {
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                     "0\r\n\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                     "chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(statusOf("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

// ---------------------------------------------------------------- chunked (RFC 9112 7.1)

std::string chunked(std::string body) {
  return "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
}

TEST(RequestParserRules, ChunkSizeIsBoundedHex) {
  EXPECT_EQ(statusOf(chunked("a\r\n0123456789\r\n0\r\n\r\n")), 0);
  EXPECT_EQ(statusOf(chunked("0000000000000005\r\nhello\r\n000\r\n\r\n")), 0);
  for (std::string bad :
       {"-1", "0x5", " 5", "5 ", "+5", "", "g", "00000000000000005", "ffffffffffffffffff", "5\t"}) {
    EXPECT_EQ(statusOf(chunked(bad + "\r\nhello\r\n0\r\n\r\n")), 400) << bad;
  }
  EXPECT_EQ(statusOf(chunked("ffffffffffffffff\r\n")), 413);
  EXPECT_EQ(statusOf(chunked("100001\r\n")), 413) << "over the 1 MiB default";
}

TEST(RequestParserRules, ChunkExtensionsAreSyntaxCheckedAndBounded) {
  for (std::string ok : {";a", ";a=b", ";a=\"q \\\" ; x\"", " ; a = b ;c", ";a=b;c=d"}) {
    EXPECT_EQ(statusOf(chunked("5" + ok + "\r\nhello\r\n0" + ok + "\r\n\r\n")), 0) << ok;
  }
  for (std::string bad :
       {";", ";;a", ";=b", ";a=", ";a=\"x", ";a=b c", ";a b", ";a=\"\x01\"", "x", ";a=b;"}) {
    EXPECT_EQ(statusOf(chunked("5" + bad + "\r\nhello\r\n0\r\n\r\n")), 400) << bad;
  }
  ParserLimits l;
  l.max_chunk_ext = 16;
  EXPECT_EQ(statusOf(chunked("5;" + std::string(15, 'a') + "\r\nhello\r\n0\r\n\r\n"), l), 0);
  EXPECT_EQ(statusOf(chunked("5;" + std::string(16, 'a') + "\r\nhello\r\n0\r\n\r\n"), l), 400);
  EXPECT_EQ(byteByByte(chunked("5;" + std::string(5000, 'a')), l).status, 400);
}

TEST(RequestParserRules, ChunkDataIsFollowedByExactlyCrlf) {
  EXPECT_EQ(statusOf(chunked("5\r\nhelloX\r\n0\r\n\r\n")), 400);
  EXPECT_EQ(statusOf(chunked("5\r\nhello\n0\r\n\r\n")), 400);
  EXPECT_EQ(statusOf(chunked("5\r\nhello\r0\r\n\r\n")), 400);
  EXPECT_EQ(statusOf(chunked("5\nhello\r\n0\r\n\r\n")), 400);
  EXPECT_EQ(statusOf(chunked("5\r\nhello\r\n0\r\n\n")), 400);
  EXPECT_EQ(statusOf(chunked("5\r\nhello\r\n0\n\r\n")), 400);
}

TEST(RequestParserRules, OnlyAnEmptyTrailerSection) {
  EXPECT_EQ(statusOf(chunked("0\r\n\r\n")), 0);
  EXPECT_EQ(statusOf(chunked("0\r\nX-Trailer: y\r\n\r\n")), 400);
  EXPECT_EQ(byteByByte(chunked("0\r\nX-Trailer: y\r\n\r\n")).status, 400);
  EXPECT_EQ(whole(chunked("0\r\n\r")).status, -1);
}

// ---------------------------------------------------------------- connection and expect

TEST(RequestParserRules, KeepAlivePerRfc9112Section9_3) {
  auto ka = [](std::string in) {
    auto o = whole(in);
    EXPECT_EQ(o.status, 0) << in;
    return o.req.keep_alive;
  };
  EXPECT_TRUE(ka("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
  auto o = whole("GET / HTTP/1.1\r\nHost: h\r\nConnection: , Upgrade ,,X-Foo\r\n\r\n");
  ASSERT_EQ(o.status, 0);
  EXPECT_EQ(o.req.connection_options, (std::vector<std::string>{"upgrade", "x-foo"}));
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n"), 400);
  EXPECT_EQ(statusOf("GET / HTTP/1.1\r\nHost: h\r\nConnection: \"close\"\r\n\r\n"), 400);
}

TEST(RequestParserRules, ExpectContinueFlagAndUnknownExpectationIs417) {
  auto o =
      whole("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_EQ(o.status, 0);
  EXPECT_TRUE(o.req.expect_continue);
  auto ten = whole("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_EQ(ten.status, 0);
  EXPECT_FALSE(ten.req.expect_continue) << "ignored in HTTP/1.0 (RFC 9110 10.1.1)";
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"), 417);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n"), 417);
  EXPECT_EQ(statusOf("POST / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n"), 417);
}

// ---------------------------------------------------------------- smuggling corpus

struct Case {
  const char* name;  // file name without .http: "<status>-<what>"
  const char* what;  // one line for the README
  std::string bytes;
  int status;
};

std::string s(const char* p) { return p; }
std::string manyHeaders(int n) {
  std::string out = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < n; ++i) out += "X-H" + std::to_string(i) + ": v\r\n";
  return out + "\r\n";
}

const std::vector<Case>& corpus() {
  static const std::vector<Case> cases = {
      {"400-cl-te", "CL.TE: Content-Length then Transfer-Encoding: chunked",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: "
         "chunked\r\n\r\n0\r\n\r\nG"),
       400},
      {"400-te-cl", "TE.CL: Transfer-Encoding: chunked then Content-Length",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: "
         "3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"),
       400},
      {"400-te-xchunked", "TE.TE: Transfer-Encoding: xchunked",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-space-before-colon", "TE.TE: \"Transfer-Encoding : chunked\"",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-tab-before-colon", "TE.TE: \"Transfer-Encoding\\t: chunked\"",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-chunked-then-x",
       "TE.TE: Transfer-Encoding: chunked, then a second Transfer-Encoding: x",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "x\r\n\r\n0\r\n\r\n"),
       400},
      {"400-te-twice", "two Transfer-Encoding: chunked lines",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n0\r\n\r\n"),
       400},
      {"400-te-chunked-chunked", "Transfer-Encoding: chunked, chunked (chunked applied twice)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
       400},
      {"400-te-chunked-not-last", "Transfer-Encoding: chunked, identity (chunked not final)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
       400},
      {"400-te-identity", "Transfer-Encoding: identity (no chunked at all)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n"),
       400},
      {"400-te-chunked-param", "Transfer-Encoding: chunked;q=1 (parameters on chunked)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-trailing-comma", "Transfer-Encoding: chunked, (empty list element)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-vertical-tab", "Transfer-Encoding: \\x0bchunked (VT is not OWS)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x0b"
         "chunked\r\n\r\n0\r\n\r\n"),
       400},
      {"400-te-quoted", "Transfer-Encoding: \"chunked\"",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-obs-fold", "Transfer-Encoding value on an obs-fold continuation line",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-http10", "Transfer-Encoding: chunked in an HTTP/1.0 request",
       s("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400},
      {"400-te-http10-with-cl", "HTTP/1.0 with both Content-Length and Transfer-Encoding",
       s("POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
       400},
      {"501-te-gzip-chunked", "Transfer-Encoding: gzip, chunked (coding not implemented)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501},
      {"400-cl-plus", "Content-Length: +5",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello"), 400},
      {"400-cl-minus", "Content-Length: -1",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400},
      {"400-cl-space-inside", "Content-Length: 1 0 (space inside the number)",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 0\r\n\r\n0123456789"), 400},
      {"400-cl-hex", "Content-Length: 0x10",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef"), 400},
      {"400-cl-list", "Content-Length: 5, 5 (list form)",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello"), 400},
      {"400-cl-duplicate-same", "two Content-Length: 5 lines",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), 400},
      {"400-cl-duplicate-different", "Content-Length: 5 and Content-Length: 6",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
       400},
      {"400-cl-overflow", "Content-Length: 2^64 (overflows 64 bits)",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n"), 400},
      {"400-cl-decimal", "Content-Length: 5.0",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5.0\r\n\r\nhello"), 400},
      {"400-cl-empty", "Content-Length with an empty value",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400},
      {"400-cl-space-before-colon", "\"Content-Length : 5\"",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello"), 400},
      {"413-cl-over-limit", "Content-Length: 2000000, over the 1 MiB default body limit",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n"), 413},
      {"400-bare-lf-request-line", "request-line ended by a bare LF",
       s("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400},
      {"400-bare-lf-header", "field line ended by a bare LF",
       s("GET / HTTP/1.1\r\nHost: h\nTransfer-Encoding: chunked\r\n\r\n"), 400},
      {"400-bare-lf-end-of-head", "header section ended by CRLF LF",
       s("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400},
      {"400-bare-cr-in-value", "bare CR inside a field value",
       s("GET / HTTP/1.1\r\nHost: h\r\nX: a\rTransfer-Encoding: chunked\r\n\r\n"), 400},
      {"400-bare-cr-line-end", "field line ended by CR CR LF",
       s("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n"), 400},
      {"400-obs-fold-hides-header", "obs-fold continuation carrying Transfer-Encoding",
       s("POST / HTTP/1.1\r\nHost: h\r\nX-Foo: bar\r\n Transfer-Encoding: "
         "chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
       400},
      {"400-space-before-first-header", "whitespace between the request-line and the first field",
       s("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400},
      {"400-nul-in-value", "NUL inside a field value",
       "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"s, 400},
      {"400-nul-in-name", "NUL inside a field name",
       "GET / HTTP/1.1\r\nHost: h\r\nX\0Y: b\r\n\r\n"s, 400},
      {"400-header-name-space", "\"Content Length: 5\" (space inside the name)",
       s("POST / HTTP/1.1\r\nHost: h\r\nContent Length: 5\r\n\r\nhello"), 400},
      {"400-header-empty-name", "\": value\" (empty field name)",
       s("GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n"), 400},
      {"400-header-no-colon", "field line without a colon",
       s("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding chunked\r\n\r\n"), 400},
      {"400-request-line-two-spaces", "two spaces after the method",
       s("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-request-line-tab", "tab between method and target",
       s("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-request-line-trailing-space", "space after the HTTP-version",
       s("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400},
      {"400-request-line-lowercase-version", "http/1.1 in lower case",
       s("GET / http/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-http09", "HTTP/0.9-style request-line without a version", s("GET /\r\n\r\n"), 400},
      {"505-http2-version", "HTTP/2.0 on the request-line", s("GET / HTTP/2.0\r\nHost: h\r\n\r\n"),
       505},
      {"505-http12-version", "HTTP/1.2 on the request-line", s("GET / HTTP/1.2\r\nHost: h\r\n\r\n"),
       505},
      {"400-method-not-token", "method with a character outside tchar",
       s("G{T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-no-host", "HTTP/1.1 without Host", s("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400},
      {"400-double-host", "two Host lines",
       s("GET / HTTP/1.1\r\nHost: good.example\r\nHost: evil.example\r\n\r\n"), 400},
      {"400-host-userinfo", "Host: user@host", s("GET / HTTP/1.1\r\nHost: admin@backend\r\n\r\n"),
       400},
      {"400-host-path", "Host with a path", s("GET / HTTP/1.1\r\nHost: h/evil\r\n\r\n"), 400},
      {"400-host-bad-port", "Host with port 99999", s("GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n"),
       400},
      {"400-absolute-form", "absolute-form target (not allowed by default)",
       s("GET http://internal.example/admin HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-authority-form", "CONNECT with authority-form",
       s("CONNECT internal.example:22 HTTP/1.1\r\nHost: internal.example:22\r\n\r\n"), 400},
      {"400-asterisk-get", "asterisk-form on GET", s("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-target-fragment", "fragment in the request-target",
       s("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-target-bad-escape", "malformed percent escape",
       s("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-target-truncated-escape", "truncated percent escape",
       s("GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-target-raw-8bit", "raw 8-bit byte in the target",
       s("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-target-backslash", "backslash in the target",
       s("GET /a\\..\\b HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"414-target-too-long", "request-target longer than 8192 octets",
       "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {"400-two-leading-empty-lines", "two CRLF before the request-line",
       s("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
      {"400-chunk-size-minus", "chunk-size -1",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n"), 400},
      {"400-chunk-size-0x", "chunk-size 0x5",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-size-leading-space", "chunk-size with leading space",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n "
         "5\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-size-trailing-space", "chunk-size followed by a space and no extension",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 "
         "\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-size-huge", "chunk-size of 18 hex digits (overflows 64 bits)",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n"),
       400},
      {"413-chunk-size-over-limit", "chunk-size ffffffffffffffff, over the body limit",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\nffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
       413},
      {"400-chunk-size-bare-lf", "chunk-size line ended by a bare LF",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-ext-bare-semicolon", "chunk extension that is a lone \";\"",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-ext-unterminated-quote", "chunk extension with an unterminated quoted-string",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n5;a=\"x\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-ext-bare-lf-in-ext", "bare LF inside a chunk extension hiding a second size",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n5;a\nx\r\nhello\r\n0\r\n\r\n"),
       400},
      {"400-chunk-ext-too-long", "chunk extension longer than 256 octets",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" +
           std::string(300, 'a') + "\r\nhello\r\n0\r\n\r\n",
       400},
      {"400-chunk-data-overrun", "chunk-data longer than its size",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
         "chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n"),
       400},
      {"400-chunk-data-bare-lf", "chunk-data followed by a bare LF",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"),
       400},
      {"400-chunk-trailer-fields", "non-empty trailer section",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: "
         "x\r\n\r\n"),
       400},
      {"400-last-chunk-bare-lf", "last-chunk followed by a bare LF trailer end",
       s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n"), 400},
      {"417-expect-unknown", "Expect: something other than 100-continue",
       s("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue-please\r\nContent-Length: 1\r\n\r\nx"),
       417},
      {"431-too-many-headers", "65 header fields (limit 64)", manyHeaders(64), 431},
      {"431-header-line-too-long", "a field line of 9000 octets",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431},
      {"400-connection-not-token", "Connection option that is not a token",
       s("GET / HTTP/1.1\r\nHost: h\r\nConnection: close x\r\n\r\n"), 400},
  };
  return cases;
}

TEST(RequestParserSmuggling, EveryCaseIsRefusedWithItsStatus) {
  for (const auto& c : corpus()) {
    EXPECT_EQ(whole(c.bytes).status, c.status) << c.name;
    EXPECT_EQ(byteByByte(c.bytes).status, c.status) << c.name << " byte by byte";
    EXPECT_EQ(std::to_string(c.status), std::string(c.name).substr(0, 3)) << c.name;
  }
}

// The raw files are for replay against a live gateway. They are written from
// the table above when RAMPART_WRITE_SMUGGLING_CORPUS=1, and otherwise must
// match it byte for byte (and every file must be in the table).
TEST(RequestParserSmuggling, FilesMatchTheTable) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(RAMPART_SOURCE_DIR) / "tests/data/smuggling";
  if (const char* w = std::getenv("RAMPART_WRITE_SMUGGLING_CORPUS"); w && std::string(w) == "1") {
    fs::create_directories(dir);
    std::ofstream readme(dir / "README.md", std::ios::binary);
    readme << "# Request-smuggling corpus\n\n"
              "Malformed and ambiguous HTTP/1.1 requests, one per file, raw bytes. The name\n"
              "starts with the status the gateway must answer (and the request must never\n"
              "reach a backend). Generated from tests/unit/http/request_parser_test.cc\n"
              "(RAMPART_WRITE_SMUGGLING_CORPUS=1), which checks the files against its table.\n\n";
    for (const auto& c : corpus()) {
      std::ofstream f(dir / (std::string(c.name) + ".http"), std::ios::binary);
      f << c.bytes;
      readme << "- `" << c.name << ".http`: " << c.what << "\n";
    }
  }
  std::map<std::string, const Case*> by_file;
  for (const auto& c : corpus()) by_file[std::string(c.name) + ".http"] = &c;
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (entry.path().extension() != ".http") continue;
    ++files;
    auto it = by_file.find(name);
    ASSERT_NE(it, by_file.end()) << name << " is not in the table";
    std::ifstream f(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), it->second->bytes) << name;
    EXPECT_EQ(whole(ss.str()).status, it->second->status) << name;
  }
  EXPECT_EQ(files, corpus().size());
}

TEST(RequestParserSmuggling, RfcAllowedLookalikesAreAccepted) {
  // Not smuggling: OWS is SP / HTAB and is not part of the value (RFC 9112 5);
  // coding names are case-insensitive (RFC 9112 7); BWS is allowed around
  // chunk-ext (RFC 9112 7.1.1); leading zeros are still 1*DIGIT / 1*HEXDIG.
  for (std::string in : {
           chunked("5\r\nhello\r\n0\r\n\r\n"),
           s("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n"),
           s("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked \r\n\r\n0\r\n\r\n"),
           s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\t 5 \r\n\r\nhello"),
           s("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0005\r\n\r\nhello"),
           chunked("5 ;a=b\r\nhello\r\n0\r\n\r\n"),
       }) {
    auto o = whole(in);
    EXPECT_EQ(o.status, 0) << in;
    EXPECT_EQ(o.req.body.empty() ? "hello" : o.req.body, "hello") << in;
  }
}

// ---------------------------------------------------------------- serializeRequest

TEST(SerializeRequest, CanonicalContentLengthFramingWithoutHopByHop) {
  auto o = whole(
      "POST /in?x=1 HTTP/1.1\r\nHost: mail.example.com\r\nConnection: keep-alive, "
      "X-Private\r\nX-Private: secret\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nExpect: "
      "100-continue\r\nProxy-Authorization: Basic x\r\n"
      "Authorization: Basic dXNlcjpwYXNz\r\nTransfer-Encoding: chunked\r\nX-Keep:  kept \r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_EQ(o.status, 0);
  auto req = o.req;
  req.headers.erase(std::remove_if(req.headers.begin(), req.headers.end(),
                                   [](const HeaderField& h) {
                                     return equalsIgnoreCase(h.name, "authorization");
                                   }),
                    req.headers.end());
  auto wire = serializeRequest(req, "/backend/in?x=1", {{"X-Rampart-Identity", "token"}});
  ASSERT_TRUE(wire) << wire.error().message();
  EXPECT_EQ(*wire,
            "POST /backend/in?x=1 HTTP/1.1\r\nHost: mail.example.com\r\nX-Keep: kept\r\n"
            "X-Rampart-Identity: token\r\nContent-Length: 5\r\n\r\nabcde");
  auto again = whole(*wire);
  ASSERT_EQ(again.status, 0);
  EXPECT_EQ(again.req.body, "abcde");
  EXPECT_EQ(again.consumed, wire->size());

  auto keep = serializeRequest(req, "/x", {}, /*drop_hop_by_hop=*/false);
  ASSERT_TRUE(keep);
  EXPECT_NE(keep->find("Upgrade: h2c\r\n"), std::string::npos);
  EXPECT_EQ(keep->find("Transfer-Encoding"), std::string::npos) << "framing is always rewritten";
}

TEST(SerializeRequest, WritesContentLengthOnlyWhenFramed) {
  auto get = whole(kSimpleGet);
  auto w = serializeRequest(get.req, "/", {});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->find("Content-Length"), std::string::npos);
  auto empty_post = whole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  auto w2 = serializeRequest(empty_post.req, "/", {});
  ASSERT_TRUE(w2);
  EXPECT_NE(w2->find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(SerializeRequest, ConnectionCannotDropHost) {
  auto o = whole("GET / HTTP/1.1\r\nHost: h\r\nConnection: Host, X\r\nX: 1\r\n\r\n");
  ASSERT_EQ(o.status, 0);
  auto w = serializeRequest(o.req, "/", {});
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(*w, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST(SerializeRequest, RefusesWhatWouldNotParse) {
  auto get = whole(kSimpleGet).req;
  EXPECT_FALSE(serializeRequest(get, "http://x/", {}));
  EXPECT_FALSE(serializeRequest(get, "/a b", {}));
  EXPECT_FALSE(serializeRequest(get, "*", {}));
  EXPECT_FALSE(serializeRequest(get, "/", {{"X", "a\r\nInjected: 1"}}));
  EXPECT_FALSE(serializeRequest(get, "/", {{"Bad Name", "v"}}));
  EXPECT_FALSE(serializeRequest(get, "/", {{"Content-Length", "0"}}));
  EXPECT_FALSE(serializeRequest(get, "/", {{"Host", "second"}}));
  auto ten = whole("GET / HTTP/1.0\r\n\r\n").req;
  EXPECT_FALSE(serializeRequest(ten, "/", {})) << "HTTP/1.1 to the backend needs a Host";
  auto with_host = serializeRequest(ten, "/", {{"Host", "backend"}});
  ASSERT_TRUE(with_host);
  EXPECT_EQ(*with_host, "GET / HTTP/1.1\r\nHost: backend\r\n\r\n");
}

}  // namespace
}  // namespace rampart::http
