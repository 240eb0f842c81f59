#include "server/smtp/reply_parser.h"

namespace rampart::server::smtp {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 3463 2: class "." subject "." detail, with class 2, 4 or 5, subject up to
// three digits and detail up to three digits.
std::string enhancedCode(std::string_view text, int code) {
  std::size_t i = 0;
  auto digits = [&](std::size_t max) {
    std::size_t start = i;
    while (i < text.size() && isDigit(text[i]) && i - start < max + 1) ++i;
    return i - start;
  };
  if (digits(1) != 1) return {};
  char cls = text[0];
  if (cls != '2' && cls != '4' && cls != '5') return {};
  // The enhanced class must agree with the reply's class (RFC 3463 3).
  if (cls - '0' != code / 100) return {};
  if (i >= text.size() || text[i] != '.') return {};
  ++i;
  std::size_t n = digits(3);
  if (n < 1 || n > 3) return {};
  if (i >= text.size() || text[i] != '.') return {};
  ++i;
  n = digits(3);
  if (n < 1 || n > 3) return {};
  if (i < text.size() && text[i] != ' ') return {};
  return std::string(text.substr(0, i));
}

}  // namespace

std::string Reply::text() const {
  std::string out = std::to_string(code);
  for (const auto& line : lines) {
    out += ' ';
    out += line;
  }
  // Keep it on one line and printable: it goes into logs and a DSN header field.
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

ParsedReply parseReply(std::string_view input, const ReplyLimits& limits) {
  ParsedReply out;
  std::size_t pos = 0;
  int code = 0;
  while (true) {
    std::size_t lf = input.find('\n', pos);
    if (lf == std::string_view::npos) {
      if (input.size() - pos > limits.max_line) {
        out.state = ParsedReply::State::error;
        out.error = "reply line too long";
      }
      return out;  // need more (or the error above)
    }
    std::string_view line = input.substr(pos, lf - pos);
    if (line.size() + 1 > limits.max_line) {
      out.state = ParsedReply::State::error;
      out.error = "reply line too long";
      return out;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) ||
        line[0] < '2' || line[0] > '5') {
      out.state = ParsedReply::State::error;
      out.error = "malformed reply line";
      return out;
    }
    int line_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code == 0) {
      code = line_code;
    } else if (line_code != code) {
      out.state = ParsedReply::State::error;
      out.error = "reply code changed within a multi-line reply";
      return out;
    }
    bool last = true;
    std::string_view text;
    if (line.size() > 3) {
      if (line[3] == '-') {
        last = false;
      } else if (line[3] != ' ') {
        out.state = ParsedReply::State::error;
        out.error = "malformed reply line";
        return out;
      }
      text = line.substr(4);
    }
    if (out.reply.lines.size() >= limits.max_lines) {
      out.state = ParsedReply::State::error;
      out.error = "too many reply lines";
      return out;
    }
    out.reply.lines.emplace_back(text);
    pos = lf + 1;
    if (last) break;
  }
  out.reply.code = code;
  out.reply.enhanced = enhancedCode(out.reply.lines.front(), code);
  out.consumed = pos;
  out.state = ParsedReply::State::complete;
  return out;
}

}  // namespace rampart::server::smtp
