// Streaming WBXML writer for ActiveSync bodies ([MS-ASWBXML] 2.1.3, which
// defers to [WBXML1.2]).
//
// Usage:
//   Writer w;
//   w.start(13, 0x05);          // <Ping xmlns="Ping">
//   w.start(13, 0x08); w.content("60"); w.end();
//   w.end();
//   Result<std::vector<std::uint8_t>> bytes = std::move(w).finish();
//
// What it emits: the header 03 01 6A 00 (WBXML 1.3, unknown public id, UTF-8,
// empty string table: [MS-ASWBXML] section 3), SWITCH_PAGE only when the code
// page changes, tag bytes with the content bit (0x40) only on elements that
// have content, STR_I for text and OPAQUE (mb_u_int32 length) for binary. An
// element without content is a bare tag and has no END. To know whether an
// element has content before its tag byte goes out, the writer holds back the
// most recent start tag until the next call.
//
// Misuse (a token outside 0x05-0x3F, text holding NUL, end() without start(),
// content outside an element, a second root) does not throw: the first such
// error sticks and finish() returns it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::wbxml {

class Writer {
 public:
  Writer();

  // Opens an element given by code page and token.
  void start(std::uint8_t page, std::uint8_t token);
  // Opens an element by namespace and tag name (code_pages.h); an unknown
  // name is an invalid_argument error.
  void start(std::string_view ns, std::string_view name);
  // Text content of the open element, written as STR_I (NUL not allowed).
  void content(std::string_view text);
  // Binary content of the open element, written as OPAQUE.
  void opaque(std::span<const std::uint8_t> bytes);
  // Closes the innermost open element.
  void end();

  // The finished body, or the first error. Every element must be closed.
  Result<std::vector<std::uint8_t>> finish() &&;

  std::size_t depth() const noexcept { return open_; }

 private:
  void flushPending(bool with_content);
  void switchPage(std::uint8_t page);
  void setError(std::string detail);

  std::vector<std::uint8_t> out_;
  std::optional<Error> error_;
  std::uint8_t page_ = 0;  // code page in effect in the output (0 after the header)
  bool pending_ = false;   // a start tag held back
  std::uint8_t pending_page_ = 0;
  std::uint8_t pending_token_ = 0;
  std::size_t open_ = 0;   // open elements, the pending one included
  bool root_done_ = false;
};

// Encodes a whole document with a Writer: text first, then opaque data, then
// children, for every element.
Result<std::vector<std::uint8_t>> encode(const Document& doc);

// Appends the mb_u_int32 encoding of `value` ([WBXML1.2] 5.1).
void appendMbUint32(std::vector<std::uint8_t>& out, std::uint32_t value);

}  // namespace rampart::wbxml
