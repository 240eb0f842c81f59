// LMTP command parsing, sans I/O (RFC 2033 on RFC 5321 command syntax).
//
// Bytes in, one command or one error reply out, or "need more". The parser
// never buffers: the caller keeps the input and drops what parse() consumed.
// It is strict: lines end in CRLF (a bare LF is refused, RFC 5321 2.3.8), a
// command line is at most 512 octets with its CRLF (RFC 5321 4.5.3.1.4),
// paths and parameters are checked against the RFC 5321 4.1.2 grammar.
//
//   CommandParser parser;
//   auto r = parser.parse(buffer);     // consumes at most one line
//   buffer.erase(0, r.consumed);
//   if (r.kind == ParseResult::Kind::command) ... r.command
//   if (r.kind == ParseResult::Kind::error)   ... send r.error
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::server::lmtp {

// A reply line: basic code (RFC 5321 4.2), enhanced code (RFC 3463), text.
struct Reply {
  int code = 0;
  std::string enhanced;  // "5.5.2"; empty for replies that carry none (220, 221 greeting)
  std::string text;

  // "500 5.5.2 text\r\n"
  std::string wire() const;
};

enum class Verb { lhlo, mail, rcpt, data, rset, noop, quit, vrfy, help };

// RFC 6152 BODY parameter of MAIL.
enum class Body { unspecified, seven_bit, eight_bit_mime };

struct Command {
  Verb verb = Verb::noop;
  // LHLO: the client's domain or address literal.
  std::string domain;
  // MAIL: the reverse-path ("" for the null path "<>"); RCPT: the forward-path,
  // "postmaster" for the bare "<Postmaster>" (RFC 5321 4.1.1.3). Source routes
  // are dropped (RFC 5321 4.1.2 allows and ignores them).
  std::string path;
  // MAIL SIZE=n (RFC 1870 5).
  std::optional<std::uint64_t> size;
  Body body = Body::unspecified;
  // VRFY, HELP and NOOP: the raw argument, which we do not interpret.
  std::string argument;
};

struct ParseResult {
  enum class Kind {
    need_more,  // no complete line yet; `consumed` may still be > 0 (discarded overlong data)
    command,    // `command` is set
    error,      // `error` is the reply to send for this line
  };
  Kind kind = Kind::need_more;
  std::size_t consumed = 0;
  Command command;
  Reply error;
};

struct ParserLimits {
  std::size_t max_line = 512;  // octets including CRLF (RFC 5321 4.5.3.1.4)
};

class CommandParser {
 public:
  explicit CommandParser(ParserLimits limits = {}) : limits_(limits) {}

  // Parses the first line of `input`. An overlong line is discarded as it
  // arrives (nothing is kept) and answered once, when its end is seen.
  ParseResult parse(std::string_view input);

  // Forgets a half-discarded overlong line (e.g. when the stream switches to DATA).
  void reset() { discarding_ = false; }
  // True while the rest of an overlong line is being dropped: a line is in
  // progress even though nothing of it is buffered.
  bool discarding() const { return discarding_; }

 private:
  ParserLimits limits_;
  bool discarding_ = false;
};

// Parses one command line without its CRLF; exposed for tests and fuzzing.
ParseResult parseLine(std::string_view line);

// RFC 5321 4.1.2 Mailbox (Local-part "@" (Domain / address-literal)); true when valid.
bool isValidMailbox(std::string_view mailbox);
// RFC 5321 4.1.2 Domain (dot-separated sub-domains of letters, digits, hyphens).
bool isValidDomain(std::string_view domain);

}  // namespace rampart::server::lmtp
