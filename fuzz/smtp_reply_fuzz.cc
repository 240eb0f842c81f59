// libFuzzer target for the SMTP reply parser (server/smtp/reply_parser.h): any
// bytes give need-more, a reply or an error — never a crash — and a complete
// reply obeys RFC 5321 4.2 and the configured limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/smtp/reply_parser.h"

using rampart::server::smtp::ParsedReply;
using rampart::server::smtp::parseReply;
using rampart::server::smtp::ReplyLimits;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ReplyLimits limits;
  limits.max_line = 512;
  limits.max_lines = 32;
  ParsedReply r = parseReply(input, limits);
  if (r.state != ParsedReply::State::complete) return 0;
  const auto& reply = r.reply;
  if (r.consumed == 0 || r.consumed > size) std::abort();
  if (reply.code < 200 || reply.code > 599) std::abort();
  if (reply.lines.empty() || reply.lines.size() > limits.max_lines) std::abort();
  if (!reply.enhanced.empty() && reply.enhanced[0] - '0' != reply.code / 100) std::abort();
  // The reply is self-delimiting: its own bytes parse to the same reply.
  ParsedReply again = parseReply(input.substr(0, r.consumed), limits);
  if (again.state != ParsedReply::State::complete || again.consumed != r.consumed ||
      again.reply.lines != reply.lines) {
    std::abort();
  }
  (void)reply.text();
  return 0;
}
