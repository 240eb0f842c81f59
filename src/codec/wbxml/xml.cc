#include "codec/wbxml/xml.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "codec/wbxml/code_pages.h"
#include "codec/xml_text.h"
#include "core/base64.h"
#include "core/utf8.h"

namespace rampart::wbxml {
namespace {

std::string tagName(const Element& e) {
  if (!e.name.empty()) return std::string(e.name);
  return "Unknown." + std::to_string(e.page) + "." + std::to_string(e.token);
}

void render(std::string& out, const Element& e, int parent_page) {
  // Depth is bounded by the reader's limits (or by the caller's own tree).
  std::string name = tagName(e);
  out += '<';
  out += name;
  if (e.page != parent_page) {
    out += " xmlns=\"";
    std::string_view ns = pageNamespace(e.page);
    if (ns.empty()) {
      out += "Page" + std::to_string(e.page);
    } else {
      out += ns;
    }
    out += ":\"";
  }
  if (e.text.empty() && e.opaque.empty() && e.children.empty()) {
    out += "/>\n";
    return;
  }
  out += '>';
  codec::appendXmlEscaped(out, e.text);
  out += base64Encode(std::string_view(reinterpret_cast<const char*>(e.opaque.data()), e.opaque.size()));
  if (!e.children.empty()) {
    out += '\n';
    for (const Element& c : e.children) render(out, c, e.page);
  }
  out += "</";
  out += name;
  out += ">\n";
}

// ---- parsing ----

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':';
}

class XmlParser {
 public:
  XmlParser(std::string_view s, std::size_t max_depth) : s_(s), max_depth_(max_depth) {}
  Result<Document> run();

 private:
  struct Open {
    std::string qname;
    Element* element;
    std::size_t scope_size;  // namespace bindings to drop on close
  };

  tl::unexpected<Error> error(const std::string& what) const {
    return fail(Errc::parse_error, "xml: " + what + " at offset " + std::to_string(pos_));
  }
  bool startsWith(std::string_view p) const { return s_.substr(pos_).starts_with(p); }
  Status skipPast(std::string_view end) {
    auto at = s_.find(end, pos_);
    if (at == std::string_view::npos) return error("unterminated markup");
    pos_ = at + end.size();
    return {};
  }
  Result<std::string> decodeText(std::string_view raw) const;
  Result<std::string> resolve(std::string_view prefix) const {
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->first == prefix) return it->second;
    }
    return error("undeclared namespace prefix '" + std::string(prefix) + "'");
  }

  std::string_view s_;
  std::size_t max_depth_;
  std::size_t pos_ = 0;
  std::vector<std::pair<std::string, std::string>> bindings_;  // prefix ("" default) -> namespace
};

Result<std::string> XmlParser::decodeText(std::string_view raw) const {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    auto semi = raw.find(';', i);
    if (semi == std::string_view::npos) return error("unterminated reference");
    std::string_view ref = raw.substr(i + 1, semi - i - 1);
    if (ref == "amp") out += '&';
    else if (ref == "lt") out += '<';
    else if (ref == "gt") out += '>';
    else if (ref == "quot") out += '"';
    else if (ref == "apos") out += '\'';
    else if (ref.size() > 1 && ref[0] == '#') {
      std::uint32_t cp = 0;
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty() || digits.size() > 8) return error("bad character reference");
      for (char c : digits) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return error("bad character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      }
      if (cp == 0 || cp > 0x10FFFF) return error("bad character reference");
      appendUtf8(out, cp);
    } else {
      return error("unknown entity &" + std::string(ref) + ";");
    }
    i = semi;
  }
  return out;
}

Result<Document> XmlParser::run() {
  Document doc;
  std::vector<Open> stack;
  bool have_root = false;
  std::string pending_text;

  while (pos_ < s_.size()) {
    if (s_[pos_] != '<') {
      auto lt = s_.find('<', pos_);
      std::string_view raw = s_.substr(pos_, lt == std::string_view::npos ? std::string_view::npos : lt - pos_);
      pos_ = lt == std::string_view::npos ? s_.size() : lt;
      if (stack.empty()) {
        for (char c : raw)
          if (!isSpace(c)) return error("text outside the root element");
        continue;
      }
      auto text = decodeText(raw);
      if (!text) return fail(text.error());
      stack.back().element->text += *text;
      continue;
    }
    if (startsWith("<?")) {
      if (auto st = skipPast("?>"); !st) return fail(st.error());
      continue;
    }
    if (startsWith("<!--")) {
      if (auto st = skipPast("-->"); !st) return fail(st.error());
      continue;
    }
    if (startsWith("<![CDATA[")) {
      if (stack.empty()) return error("CDATA outside the root element");
      std::size_t from = pos_ + 9;
      auto end = s_.find("]]>", from);
      if (end == std::string_view::npos) return error("unterminated CDATA");
      stack.back().element->text += std::string(s_.substr(from, end - from));
      pos_ = end + 3;
      continue;
    }
    if (startsWith("<!")) {
      if (auto st = skipPast(">"); !st) return fail(st.error());
      continue;
    }
    if (startsWith("</")) {
      pos_ += 2;
      std::size_t from = pos_;
      while (pos_ < s_.size() && isNameChar(s_[pos_])) ++pos_;
      std::string_view qname = s_.substr(from, pos_ - from);
      while (pos_ < s_.size() && isSpace(s_[pos_])) ++pos_;
      if (pos_ >= s_.size() || s_[pos_] != '>') return error("malformed end tag");
      ++pos_;
      if (stack.empty() || stack.back().qname != qname) return error("mismatched end tag </" + std::string(qname) + ">");
      Element* e = stack.back().element;
      if (!e->children.empty()) {
        bool blank = true;
        for (char c : e->text) blank = blank && isSpace(c);
        if (blank) e->text.clear();
      }
      bindings_.resize(stack.back().scope_size);
      stack.pop_back();
      continue;
    }
    // A start tag.
    ++pos_;
    std::size_t from = pos_;
    while (pos_ < s_.size() && isNameChar(s_[pos_])) ++pos_;
    std::string qname(s_.substr(from, pos_ - from));
    if (qname.empty()) return error("malformed start tag");
    const std::size_t scope_size = bindings_.size();
    bool self_closing = false;
    while (true) {
      while (pos_ < s_.size() && isSpace(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) return error("unterminated start tag");
      if (s_[pos_] == '>') { ++pos_; break; }
      if (startsWith("/>")) { pos_ += 2; self_closing = true; break; }
      std::size_t an = pos_;
      while (pos_ < s_.size() && isNameChar(s_[pos_])) ++pos_;
      std::string_view attr = s_.substr(an, pos_ - an);
      if (attr.empty() || pos_ + 1 >= s_.size() || s_[pos_] != '=' || (s_[pos_ + 1] != '"' && s_[pos_ + 1] != '\''))
        return error("malformed attribute");
      char quote = s_[pos_ + 1];
      pos_ += 2;
      auto close = s_.find(quote, pos_);
      if (close == std::string_view::npos) return error("unterminated attribute value");
      auto value = decodeText(s_.substr(pos_, close - pos_));
      if (!value) return fail(value.error());
      pos_ = close + 1;
      if (attr == "xmlns") {
        bindings_.emplace_back("", *value);
      } else if (attr.starts_with("xmlns:")) {
        bindings_.emplace_back(std::string(attr.substr(6)), *value);
      } else {
        return error("attribute '" + std::string(attr) + "' (ActiveSync uses none)");
      }
    }
    std::string_view prefix, local = qname;
    if (auto colon = qname.find(':'); colon != std::string::npos) {
      prefix = std::string_view(qname).substr(0, colon);
      local = std::string_view(qname).substr(colon + 1);
    }
    auto ns = resolve(prefix);
    if (!ns) return fail(ns.error());
    const TagInfo* tag = findTag(*ns, local);
    if (!tag) return error("no tag " + std::string(local) + " in namespace '" + *ns + "'");
    if (stack.size() + 1 > max_depth_) return fail(Errc::limit_exceeded, "xml: nested deeper than " + std::to_string(max_depth_));

    Element e;
    e.page = tag->page;
    e.token = tag->token;
    e.name = tag->name;
    Element* placed;
    if (stack.empty()) {
      if (have_root) return error("a second root element");
      doc.root = std::move(e);
      placed = &doc.root;
      have_root = true;
    } else {
      stack.back().element->children.push_back(std::move(e));
      placed = &stack.back().element->children.back();
    }
    if (self_closing) {
      bindings_.resize(scope_size);
    } else {
      stack.push_back(Open{std::move(qname), placed, scope_size});
    }
  }
  if (!stack.empty()) return error("unclosed element <" + stack.back().qname + ">");
  if (!have_root) return error("no root element");
  return doc;
}

}  // namespace

std::string toXml(const Document& doc) {
  std::string out =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE ActiveSync PUBLIC \"-//MICROSOFT//DTD ActiveSync//EN\" \"http://www.microsoft.com/\">\n";
  render(out, doc.root, -1);
  return out;
}

Result<Document> parseXml(std::string_view xml, std::size_t max_depth) {
  return XmlParser(xml, max_depth).run();
}

}  // namespace rampart::wbxml
