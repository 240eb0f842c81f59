// SMTP reply parsing (RFC 5321 4.2): pure, no I/O, bounded. The client feeds
// the bytes it has read; the parser answers "need more", a complete reply and
// how many bytes it used, or an error for a reply that breaks the grammar.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::server::smtp {

struct Reply {
  int code = 0;                     // 200..599
  std::string enhanced;             // RFC 3463 "5.1.1" when the first line carries one, else ""
  std::vector<std::string> lines;   // text after "NNN-" / "NNN ", one per line, no CRLF

  bool positive() const { return code >= 200 && code < 400; }  // 2xx, and 3xx intermediate
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // "550 5.1.1 <x@y>: unknown user" with continuation lines joined by a space;
  // for logs, bounces (Diagnostic-Code) and the queue's last error.
  std::string text() const;
};

struct ReplyLimits {
  // RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with CRLF. Real
  // servers exceed it a little; allow some slack but keep a hard bound.
  std::size_t max_line = 2048;
  std::size_t max_lines = 128;  // EHLO lists a few dozen at most
};

struct ParsedReply {
  enum class State { need_more, complete, error };
  State state = State::need_more;
  Reply reply;             // when complete
  std::size_t consumed = 0;  // bytes of the input that made up the reply
  std::string error;       // when error: what was wrong (no input bytes quoted beyond a line)
};

// Parses one reply from the front of `input`. Accepts CRLF and, leniently, bare
// LF line ends (RFC 5321 4.5.3.1.5 asks clients to be liberal here). A line is
// "NNN" followed by "-" (more lines follow), " " or the end of the line (last
// line); every line of one reply must carry the same code (4.2.1).
ParsedReply parseReply(std::string_view input, const ReplyLimits& limits = {});

}  // namespace rampart::server::smtp
