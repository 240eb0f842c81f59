#include "core/base64.h"

#include <algorithm>

namespace rampart {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string base64Encode(std::string_view bytes, std::size_t line_length, std::string_view line_end) {
  std::string flat;
  flat.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    flat += kAlphabet[(v >> 18) & 63];
    flat += kAlphabet[(v >> 12) & 63];
    flat += kAlphabet[(v >> 6) & 63];
    flat += kAlphabet[v & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    flat += kAlphabet[(v >> 18) & 63];
    flat += kAlphabet[(v >> 12) & 63];
    flat += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    flat += '=';
  }
  if (line_length == 0) return flat;
  std::string out;
  out.reserve(flat.size() + (flat.size() / line_length + 1) * line_end.size());
  for (std::size_t pos = 0; pos < flat.size(); pos += line_length) {
    out.append(flat, pos, line_length);
    out += line_end;
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text, const Base64Decode& rules) {
  std::string out;
  out.reserve(std::min(text.size() / 4 * 3 + 3, rules.max_out));
  std::uint32_t acc = 0;  // the bits not yet written, at most 12
  int bits = 0;
  std::size_t data = 0;     // alphabet characters
  std::size_t padding = 0;  // '=' characters
  for (char c : text) {
    if (rules.skip_whitespace && isBlank(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = sextet(c);
    if (v < 0) return fail(Errc::parse_error, "a character that is not base64");
    if (padding > 0) return fail(Errc::parse_error, "base64 data after padding");
    ++data;
    acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= rules.max_out)
        return fail(Errc::limit_exceeded, "base64 over " + std::to_string(rules.max_out) + " bytes");
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // RFC 4648 3.2 / 4: '=' only completes the last quantum of 2 or 3 data
  // characters, so there are at most two of them.
  if (padding > 2) return fail(Errc::parse_error, "base64 with too much padding");
  if (rules.partial_end) return out;
  if (padding > 0 && (data + padding) % 4 != 0) return fail(Errc::parse_error, "bad base64 padding");
  if (data % 4 == 1) return fail(Errc::parse_error, "truncated base64");
  if (rules.require_padding && data % 4 != 0 && padding == 0)
    return fail(Errc::parse_error, "base64 without padding");
  if (rules.canonical && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return fail(Errc::parse_error, "base64 with non-zero unused bits");
  return out;
}

}  // namespace rampart
