#include "codec/wbxml/reader.h"

#include <string>
#include <vector>

#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/detail/tokens.h"

namespace rampart::wbxml {
namespace {

using namespace detail;


const char* globalName(std::uint8_t b) {
  switch (b) {
    case kEntity: return "ENTITY";
    case kLiteral: return "LITERAL";
    case 0x40: return "EXT_I_0";
    case 0x41: return "EXT_I_1";
    case 0x42: return "EXT_I_2";
    case kPi: return "PI";
    case 0x44: return "LITERAL_C";
    case 0x80: return "EXT_T_0";
    case 0x81: return "EXT_T_1";
    case 0x82: return "EXT_T_2";
    case kStrT: return "STR_T";
    case 0x84: return "LITERAL_A";
    case 0xC0: return "EXT_0";
    case 0xC1: return "EXT_1";
    case 0xC2: return "EXT_2";
    case 0xC4: return "LITERAL_AC";
    default: return nullptr;
  }
}

class Parser {
 public:
  Parser(std::span<const std::uint8_t> in, const Limits& limits) : in_(in), limits_(limits) {}

  Result<Document> run();

 private:
  tl::unexpected<Error> error(Errc code, std::size_t at, const std::string& what) const {
    return fail(code, "wbxml: " + what + " at offset " + std::to_string(at));
  }
  tl::unexpected<Error> truncated() const { return error(Errc::parse_error, in_.size(), "truncated input"); }

  bool atEnd() const { return pos_ >= in_.size(); }

  // [WBXML1.2] 5.1: big-endian base-128, at most 5 bytes for 32 bits.
  Result<std::uint32_t> mbUint32() {
    const std::size_t start = pos_;
    std::uint32_t value = 0;
    for (int i = 0; i < 5; ++i) {
      if (atEnd()) return truncated();
      std::uint8_t b = in_[pos_++];
      if (value > (0xFFFFFFFFu >> 7)) return error(Errc::parse_error, start, "mb_u_int32 overflows 32 bits");
      value = (value << 7) | (b & 0x7F);
      if ((b & 0x80) == 0) return value;
    }
    return error(Errc::parse_error, start, "mb_u_int32 longer than 5 bytes");
  }

  Status header();
  Status strI(Element& into);
  Status opaque(Element& into);

  std::span<const std::uint8_t> in_;
  const Limits& limits_;
  std::size_t pos_ = 0;
};

Status Parser::header() {
  // [WBXML1.2] 5.3-5.7; [MS-ASWBXML] section 3 shows 03 01 6A 00.
  if (atEnd()) return truncated();
  std::uint8_t version = in_[pos_++];
  if (version == 0 || version > 0x03) return error(Errc::parse_error, 0, "unsupported WBXML version " + std::to_string(version));
  auto publicid = mbUint32();
  if (!publicid) return fail(publicid.error());
  if (*publicid == 0) return error(Errc::parse_error, 1, "public id given by string table index (string tables are not used)");
  // The charset is always 106 (UTF-8) in ActiveSync; any value is read past
  // and strings are handed on as bytes, unchecked.
  auto charset = mbUint32();
  if (!charset) return fail(charset.error());
  const std::size_t strtbl_at = pos_;
  auto strtbl = mbUint32();
  if (!strtbl) return fail(strtbl.error());
  if (*strtbl != 0) return error(Errc::parse_error, strtbl_at, "string table present (ActiveSync uses none, MS-ASWBXML 2.1.3)");
  return {};
}

Status Parser::strI(Element& into) {
  const std::size_t start = pos_ - 1;
  std::size_t nul = pos_;
  while (nul < in_.size() && in_[nul] != 0) {
    if (into.text.size() + (nul - pos_) >= limits_.max_string)
      return error(Errc::limit_exceeded, start, "string longer than " + std::to_string(limits_.max_string) + " bytes");
    ++nul;
  }
  if (nul >= in_.size()) return error(Errc::parse_error, start, "unterminated STR_I");
  into.text.append(reinterpret_cast<const char*>(in_.data() + pos_), nul - pos_);
  pos_ = nul + 1;
  return {};
}

Status Parser::opaque(Element& into) {
  const std::size_t start = pos_ - 1;
  auto len = mbUint32();
  if (!len) return fail(len.error());
  if (*len > limits_.max_opaque || into.opaque.size() + *len > limits_.max_opaque)
    return error(Errc::limit_exceeded, start, "opaque data longer than " + std::to_string(limits_.max_opaque) + " bytes");
  if (*len > in_.size() - pos_) return truncated();
  into.opaque.insert(into.opaque.end(), in_.begin() + static_cast<std::ptrdiff_t>(pos_),
                     in_.begin() + static_cast<std::ptrdiff_t>(pos_ + *len));
  pos_ += *len;
  return {};
}

Result<Document> Parser::run() {
  if (in_.size() > limits_.max_total)
    return error(Errc::limit_exceeded, 0, "body of " + std::to_string(in_.size()) + " bytes exceeds " + std::to_string(limits_.max_total));
  if (auto h = header(); !h) return fail(h.error());

  Document doc;
  std::vector<Element*> stack;  // open elements; pointers stay valid (see below)
  std::uint8_t page = 0;
  std::size_t elements = 0;
  bool have_root = false;

  while (true) {
    if (atEnd()) {
      if (!have_root) return truncated();
      if (!stack.empty()) return truncated();
      break;
    }
    if (have_root && stack.empty()) return error(Errc::parse_error, pos_, "bytes after the root element");

    const std::size_t at = pos_;
    const std::uint8_t b = in_[pos_++];
    if (b == kSwitchPage) {
      if (atEnd()) return truncated();
      page = in_[pos_++];
      continue;
    }
    if (b == kEnd) {
      if (stack.empty()) return error(Errc::parse_error, at, "END without an open element");
      stack.pop_back();
      continue;
    }
    if (b == kStrI || b == kOpaque) {
      if (stack.empty()) return error(Errc::parse_error, at, "content outside an element");
      auto st = b == kStrI ? strI(*stack.back()) : opaque(*stack.back());
      if (!st) return fail(st.error());
      continue;
    }
    if (const char* g = globalName(b)) {
      return error(Errc::parse_error, at, std::string(g) + " token (not used by ActiveSync, MS-ASWBXML 2.1.3)");
    }
    if (b & kAttributeBit) return error(Errc::parse_error, at, "tag with attributes (not used by ActiveSync, MS-ASWBXML 2.1.3)");

    // A tag. Its low six bits are 0x05..0x3F here: 0x00-0x04 and 0x40-0x44
    // are global tokens, handled above.
    if (have_root && stack.empty()) return error(Errc::parse_error, at, "a second root element");
    if (++elements > limits_.max_elements)
      return error(Errc::limit_exceeded, at, "more than " + std::to_string(limits_.max_elements) + " elements");
    if (stack.size() + 1 > limits_.max_depth)
      return error(Errc::limit_exceeded, at, "elements nested deeper than " + std::to_string(limits_.max_depth));

    Element e;
    e.page = page;
    e.token = static_cast<std::uint8_t>(b & kTokenMask);
    if (const TagInfo* tag = findTag(e.page, e.token)) e.name = tag->name;

    Element* placed;
    if (!have_root) {
      doc.root = std::move(e);
      placed = &doc.root;
      have_root = true;
    } else {
      // Only the innermost open element's children vector grows, and no open
      // element lives in it, so the pointers on the stack stay valid.
      stack.back()->children.push_back(std::move(e));
      placed = &stack.back()->children.back();
    }
    if (b & kContentBit) stack.push_back(placed);
  }
  return doc;
}

}  // namespace

Result<Document> Reader::read(std::span<const std::uint8_t> bytes) const {
  return Parser(bytes, limits_).run();
}

Result<Document> decode(std::span<const std::uint8_t> bytes, const Limits& limits) {
  return Reader(limits).read(bytes);
}

}  // namespace rampart::wbxml
