// Base64 (RFC 4648 section 4, the standard alphabet "A-Za-z0-9+/" with '='
// padding): the one encoder and decoder every layer uses. The callers differ
// only in how much they tolerate, so the decoder takes its rules as options:
//   EST bodies (RFC 7030), MIME bodies (RFC 2045 6.8), EAS Certificate text
//   (MS-ASDTYPE strings) skip line breaks and blanks;
//   a license field or the EAS base64 query (MS-ASHTTP 2.2.1.1.1.1) has none;
//   some insist on padding, some on canonical encodings (RFC 4648 3.5).
// Bytes in, bytes out; the output is bounded by max_out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart {

// The base64 of `bytes`, padded. With line_length > 0 the text is cut into
// lines of that many characters, each (the last one too) followed by
// line_end: 76 for MIME (RFC 2045 6.8), 64 for PEM-like EST bodies. Empty
// input gives empty output.
std::string base64Encode(std::string_view bytes, std::size_t line_length = 0,
                         std::string_view line_end = "\r\n");

struct Base64Decode {
  // CR, LF, space and tab anywhere are skipped; otherwise they are invalid.
  bool skip_whitespace = true;
  // The last quantum must be padded to four characters (RFC 4648 3.2).
  // Without it a missing padding is tolerated; a padding that is there must
  // still complete its quantum, and a lone last character is refused.
  bool require_padding = false;
  // The unused bits of the last character must be zero, so that one byte
  // string has one spelling (RFC 4648 3.5).
  bool canonical = false;
  // Lenient ends, as many MIME decoders have: up to two '=' that need not
  // complete a quantum, and a lone last character, whose bits are dropped.
  // Overrides require_padding.
  bool partial_end = false;
  // At most this many decoded bytes (limit_exceeded past it).
  std::size_t max_out = SIZE_MAX;
};

// Errors: parse_error (a character outside the alphabet, data after '=',
// bad or missing padding, a lone last character, non-zero unused bits) and
// limit_exceeded (more than max_out bytes). An empty text decodes to "".
Result<std::string> base64Decode(std::string_view text, const Base64Decode& rules = {});

}  // namespace rampart
