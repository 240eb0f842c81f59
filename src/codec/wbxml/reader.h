// WBXML reader for ActiveSync bodies: bytes in, a Document or an Error out.
//
// ActiveSync uses only tags, code pages, inline strings and opaque data
// ([MS-ASWBXML] 2.1.3: no string tables, entities, processing instructions or
// attributes). The reader accepts exactly that subset and rejects the rest
// with Errc::parse_error: a non-empty string table, ENTITY, PI, LITERAL*,
// EXT*, STR_T, tags with the attribute bit (0x80), a malformed mb_u_int32
// (more than 5 bytes, or a value above 32 bits), an unterminated STR_I, an
// unclosed element, trailing bytes after the root, and any truncation.
// Tokens that no code page defines are kept (Element::name empty). Strings
// are returned as the bytes sent (ActiveSync declares UTF-8; it is not
// validated here).
//
// Every bound is set at construction and checked before memory is spent; a
// hit bound is Errc::limit_exceeded. Error details name the byte offset.
// The reader never recurses, so depth costs no stack.
//
// The whole body is needed: an HTTP layer hands over complete bodies, so
// truncated input is an error, not a "need more" answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::wbxml {

struct Limits {
  std::size_t max_depth = 32;                   // nesting of elements; the root is 1
  std::size_t max_elements = 100'000;           // elements in the document
  std::size_t max_string = 1u << 20;            // bytes of one element's text
  std::size_t max_opaque = 16u << 20;           // bytes of one element's opaque data
  std::size_t max_total = 32u << 20;            // bytes of input
};

class Reader {
 public:
  explicit Reader(Limits limits = {}) : limits_(limits) {}

  Result<Document> read(std::span<const std::uint8_t> bytes) const;

  const Limits& limits() const noexcept { return limits_; }

 private:
  Limits limits_;
};

// Shorthand for Reader(limits).read(bytes).
Result<Document> decode(std::span<const std::uint8_t> bytes, const Limits& limits = {});

}  // namespace rampart::wbxml
