#include "codec/wbxml/writer.h"

#include <string>
#include <utility>

#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/detail/tokens.h"

namespace rampart::wbxml {

using namespace detail;

void appendMbUint32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  std::uint8_t buf[5];
  int n = 0;
  do {
    buf[n++] = static_cast<std::uint8_t>(value & 0x7F);
    value >>= 7;
  } while (value != 0);
  while (n > 0) {
    --n;
    out.push_back(static_cast<std::uint8_t>(buf[n] | (n > 0 ? 0x80 : 0x00)));
  }
}

Writer::Writer() {
  // [MS-ASWBXML] section 3: version 1.3, public id 1 (unknown), charset 106
  // (UTF-8), string table length 0.
  out_ = {0x03, 0x01, 0x6A, 0x00};
}

void Writer::setError(std::string detail) {
  if (!error_) error_ = Error{make_error_code(Errc::invalid_argument), "wbxml writer: " + std::move(detail)};
}

void Writer::switchPage(std::uint8_t page) {
  if (page == page_) return;
  out_.push_back(kSwitchPage);
  out_.push_back(page);
  page_ = page;
}

void Writer::flushPending(bool with_content) {
  if (!pending_) return;
  switchPage(pending_page_);
  out_.push_back(static_cast<std::uint8_t>(pending_token_ | (with_content ? kContentBit : 0)));
  pending_ = false;
}

void Writer::start(std::uint8_t page, std::uint8_t token) {
  if (error_) return;
  if (token < kFirstTagToken || token > kLastTagToken) {
    setError("tag token " + std::to_string(token) + " outside 0x05-0x3F");
    return;
  }
  if (open_ == 0 && root_done_) {
    setError("a second root element");
    return;
  }
  flushPending(true);  // the parent now has content: this child
  pending_ = true;
  pending_page_ = page;
  pending_token_ = token;
  ++open_;
}

void Writer::start(std::string_view ns, std::string_view name) {
  if (error_) return;
  const TagInfo* tag = findTag(ns, name);
  if (!tag) {
    setError("no tag " + std::string(name) + " in namespace " + std::string(ns));
    return;
  }
  start(tag->page, tag->token);
}

void Writer::content(std::string_view text) {
  if (error_) return;
  if (open_ == 0) {
    setError("content outside an element");
    return;
  }
  if (text.find('\0') != std::string_view::npos) {
    setError("text holds a NUL byte, which STR_I cannot carry");
    return;
  }
  flushPending(true);
  out_.push_back(kStrI);
  out_.insert(out_.end(), text.begin(), text.end());
  out_.push_back(0x00);
}

void Writer::opaque(std::span<const std::uint8_t> bytes) {
  if (error_) return;
  if (open_ == 0) {
    setError("opaque data outside an element");
    return;
  }
  if (bytes.size() > 0xFFFFFFFFu) {
    setError("opaque data longer than an mb_u_int32");
    return;
  }
  flushPending(true);
  out_.push_back(kOpaque);
  appendMbUint32(out_, static_cast<std::uint32_t>(bytes.size()));
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void Writer::end() {
  if (error_) return;
  if (open_ == 0) {
    setError("end() without an open element");
    return;
  }
  if (pending_) {
    flushPending(false);  // an empty element: a bare tag, no END
  } else {
    out_.push_back(kEnd);
  }
  --open_;
  if (open_ == 0) root_done_ = true;
}

Result<std::vector<std::uint8_t>> Writer::finish() && {
  if (error_) return fail(std::move(*error_));
  if (open_ != 0) return fail(Errc::invalid_argument, "wbxml writer: " + std::to_string(open_) + " element(s) left open");
  if (!root_done_) return fail(Errc::invalid_argument, "wbxml writer: no root element");
  return std::move(out_);
}

namespace {
void encodeElement(Writer& w, const Element& e) {
  w.start(e.page, e.token);
  if (!e.text.empty()) w.content(e.text);
  if (!e.opaque.empty()) w.opaque(e.opaque);
  for (const Element& c : e.children) encodeElement(w, c);
  w.end();
}
}  // namespace

Result<std::vector<std::uint8_t>> encode(const Document& doc) {
  Writer w;
  encodeElement(w, doc.root);
  return std::move(w).finish();
}

}  // namespace rampart::wbxml
