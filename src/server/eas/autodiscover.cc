#include "server/eas/autodiscover.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codec/xml_text.h"
#include "core/utf8.h"

namespace rampart::server::eas {

namespace {

constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxElements = 256;
constexpr std::size_t kMaxAttributes = 32;

constexpr std::string_view kOutlookRequestSchema =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";

// --- a strict, minimal XML reader ---------------------------------------------------

struct Node {
  std::string ns;     // resolved namespace URI ("" when none)
  std::string local;  // local name
  std::string text;   // character data directly inside, concatenated
  std::vector<Node> children;
};

struct Binding {
  std::string prefix;  // "" for the default namespace
  std::string uri;
  std::size_t depth;  // element depth that declared it
};

bool isNameStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool isNameChar(unsigned char c) {
  return isNameStart(c) || std::isdigit(c) || c == '-' || c == '.' || c == ':';
}
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  Result<Node> document() {
    if (in_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
    if (in_.substr(pos_, 5) == "<?xml") {
      auto end = in_.find("?>", pos_);
      if (end == std::string_view::npos)
        return fail(Errc::parse_error, "unterminated XML declaration");
      pos_ = end + 2;
    }
    if (auto s = misc(); !s) return fail(s.error());
    if (pos_ >= in_.size() || in_[pos_] != '<') return fail(Errc::parse_error, "no root element");
    Node root;
    if (auto s = element(root, 0); !s) return fail(s.error());
    if (auto s = misc(); !s) return fail(s.error());
    if (pos_ != in_.size()) return fail(Errc::parse_error, "content after the root element");
    return root;
  }

 private:
  // Whitespace and comments between top-level constructs; a DOCTYPE or a
  // processing instruction is refused.
  Status misc() {
    while (pos_ < in_.size()) {
      if (isSpace(in_[pos_])) {
        ++pos_;
      } else if (in_.substr(pos_, 4) == "<!--") {
        if (auto s = comment(); !s) return s;
      } else if (in_.substr(pos_, 2) == "<!" || in_.substr(pos_, 2) == "<?") {
        return fail(Errc::parse_error, "DOCTYPE and processing instructions are not accepted");
      } else {
        break;
      }
    }
    return {};
  }

  Status comment() {
    auto end = in_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) return fail(Errc::parse_error, "unterminated comment");
    pos_ = end + 3;
    return {};
  }

  std::optional<std::string_view> name() {
    std::size_t start = pos_;
    if (pos_ >= in_.size() || !isNameStart(static_cast<unsigned char>(in_[pos_]))) {
      return std::nullopt;
    }
    while (pos_ < in_.size() && isNameChar(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  void skipSpace() {
    while (pos_ < in_.size() && isSpace(in_[pos_])) ++pos_;
  }

  // Character data up to `stop` with references decoded.
  Result<std::string> chars(char stop) {
    std::string out;
    while (pos_ < in_.size() && in_[pos_] != stop) {
      char c = in_[pos_];
      if (c == '<' && stop != '<') return fail(Errc::parse_error, "'<' in an attribute value");
      if (c != '&') {
        out += c;
        ++pos_;
        continue;
      }
      auto semi = in_.find(';', pos_);
      if (semi == std::string_view::npos || semi - pos_ > 12) {
        return fail(Errc::parse_error, "bad reference");
      }
      std::string_view ref = in_.substr(pos_ + 1, semi - pos_ - 1);
      pos_ = semi + 1;
      if (ref == "lt") {
        out += '<';
      } else if (ref == "gt") {
        out += '>';
      } else if (ref == "amp") {
        out += '&';
      } else if (ref == "quot") {
        out += '"';
      } else if (ref == "apos") {
        out += '\'';
      } else if (ref.size() >= 2 && ref[0] == '#') {
        bool hex = ref[1] == 'x';
        std::string_view digits = ref.substr(hex ? 2 : 1);
        if (digits.empty()) return fail(Errc::parse_error, "bad character reference");
        std::uint32_t cp = 0;
        for (char d : digits) {
          int v = -1;
          if (d >= '0' && d <= '9') v = d - '0';
          if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
          if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
          if (v < 0) return fail(Errc::parse_error, "bad character reference");
          cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
          if (cp > 0x10FFFF) return fail(Errc::parse_error, "bad character reference");
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return fail(Errc::parse_error, "bad character reference");
        }
        appendUtf8(out, cp);
      } else {
        return fail(Errc::parse_error, "unknown entity");
      }
    }
    return out;
  }

  std::optional<std::string> resolve(std::string_view prefix) const {
    for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it) {
      if (it->prefix == prefix) return it->uri;
    }
    if (prefix.empty()) return std::string();
    if (prefix == "xml") return std::string("http://www.w3.org/XML/1998/namespace");
    return std::nullopt;
  }

  // Reads `<name attrs>content</name>` at pos_ into `node`.
  Status element(Node& node, std::size_t depth) {
    if (depth >= kMaxDepth) return fail(Errc::limit_exceeded, "nested too deep");
    if (++elements_ > kMaxElements) return fail(Errc::limit_exceeded, "too many elements");
    ++pos_;  // '<'
    auto qname = name();
    if (!qname) return fail(Errc::parse_error, "bad element name");
    std::vector<std::pair<std::string_view, std::string>> attributes;
    bool empty = false;
    for (;;) {
      std::size_t before = pos_;
      skipSpace();
      if (pos_ >= in_.size()) return fail(Errc::parse_error, "unterminated start tag");
      if (in_[pos_] == '>') {
        ++pos_;
        break;
      }
      if (in_.substr(pos_, 2) == "/>") {
        pos_ += 2;
        empty = true;
        break;
      }
      if (before == pos_) return fail(Errc::parse_error, "no space before an attribute");
      auto attr = name();
      if (!attr) return fail(Errc::parse_error, "bad attribute name");
      skipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '=') return fail(Errc::parse_error, "no '='");
      ++pos_;
      skipSpace();
      if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
        return fail(Errc::parse_error, "unquoted attribute value");
      }
      char quote = in_[pos_++];
      auto value = chars(quote);
      if (!value) return fail(value.error());
      if (pos_ >= in_.size()) return fail(Errc::parse_error, "unterminated attribute value");
      ++pos_;
      for (const auto& a : attributes) {
        if (a.first == *attr) return fail(Errc::parse_error, "repeated attribute");
      }
      if (attributes.size() == kMaxAttributes)
        return fail(Errc::limit_exceeded, "too many attributes");
      attributes.emplace_back(*attr, std::move(*value));
    }

    std::size_t bound = bindings_.size();
    for (const auto& [attr, value] : attributes) {
      if (attr == "xmlns") {
        bindings_.push_back({"", value, depth});
      } else if (attr.substr(0, 6) == "xmlns:") {
        if (value.empty()) return fail(Errc::parse_error, "empty namespace for a prefix");
        bindings_.push_back({std::string(attr.substr(6)), value, depth});
      }
    }
    std::string_view prefix;
    std::string_view local = *qname;
    if (auto colon = qname->find(':'); colon != std::string_view::npos) {
      prefix = qname->substr(0, colon);
      local = qname->substr(colon + 1);
      if (prefix.empty() || local.empty() || local.find(':') != std::string_view::npos) {
        return fail(Errc::parse_error, "bad qualified name");
      }
    }
    auto ns = resolve(prefix);
    if (!ns) return fail(Errc::parse_error, "undeclared namespace prefix");
    node.ns = std::move(*ns);
    node.local = std::string(local);

    if (!empty) {
      for (;;) {
        auto text = chars('<');
        if (!text) return fail(text.error());
        node.text += *text;
        if (pos_ >= in_.size()) return fail(Errc::parse_error, "unterminated element");
        if (in_.substr(pos_, 4) == "<!--") {
          if (auto s = comment(); !s) return s;
        } else if (in_.substr(pos_, 2) == "</") {
          pos_ += 2;
          auto end = name();
          if (!end || *end != *qname) return fail(Errc::parse_error, "mismatched end tag");
          skipSpace();
          if (pos_ >= in_.size() || in_[pos_] != '>') return fail(Errc::parse_error, "bad end tag");
          ++pos_;
          break;
        } else if (in_.substr(pos_, 2) == "<!" || in_.substr(pos_, 2) == "<?") {
          return fail(Errc::parse_error, "CDATA and processing instructions are not accepted");
        } else {
          node.children.emplace_back();
          if (auto s = element(node.children.back(), depth + 1); !s) return s;
        }
      }
    }
    bindings_.resize(bound);
    return {};
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
  std::vector<Binding> bindings_;
};

std::string trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// The only child called `local`, or none when absent or repeated.
const Node* only(const Node& parent, std::string_view local, bool& repeated) {
  const Node* found = nullptr;
  for (const Node& c : parent.children) {
    if (c.local != local) continue;
    if (found != nullptr) repeated = true;
    found = &c;
  }
  return found;
}

}  // namespace

Result<AutodiscoverRequest> parseAutodiscoverRequest(std::string_view xml) {
  if (xml.size() > kMaxAutodiscoverRequest) {
    return fail(Errc::limit_exceeded, "Autodiscover request too large");
  }
  auto doc = Reader(xml).document();
  if (!doc) return fail(doc.error());
  // MS-ASCMD 2.2.3.15 Autodiscover, 6.3 schema. Outlook's request schema is
  // taken too: its AcceptableResponseSchema then gets 601, not 600.
  if (doc->local != "Autodiscover" ||
      (doc->ns != kMobileSyncRequestSchema && doc->ns != kOutlookRequestSchema)) {
    return fail(Errc::invalid_argument, "not an Autodiscover request");
  }
  // MS-ASCMD 2.2.3.150.1: more than one Request is ErrorCode 600.
  bool repeated = false;
  const Node* request = only(*doc, "Request", repeated);
  if (request == nullptr || repeated) return fail(Errc::invalid_argument, "not one Request");
  const Node* email = only(*request, "EMailAddress", repeated);
  const Node* schema = only(*request, "AcceptableResponseSchema", repeated);
  if (email == nullptr || schema == nullptr || repeated || !email->children.empty() ||
      !schema->children.empty()) {
    return fail(Errc::invalid_argument,
                "EMailAddress and AcceptableResponseSchema must appear once each");
  }
  AutodiscoverRequest out;
  out.email = trim(email->text);
  out.acceptable_response_schema = trim(schema->text);
  if (out.email.empty() || out.acceptable_response_schema.empty()) {
    return fail(Errc::invalid_argument, "empty EMailAddress or AcceptableResponseSchema");
  }
  return out;
}

std::string autodiscoverError(int error_code, std::int64_t now) {
  std::int64_t day = ((now % 86400) + 86400) % 86400;
  char time[32];
  std::snprintf(time, sizeof time, "%02d:%02d:%02d.0000000", static_cast<int>(day / 3600),
                static_cast<int>(day / 60 % 60), static_cast<int>(day % 60));
  std::string message =
      error_code == kAutodiscoverNoProvider ? "Provider not available" : "Invalid Request";
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n";
  out += "<Autodiscover xmlns=\"";
  out += kAutodiscoverResponseSchema;
  out += "\">\r\n  <Response xmlns=\"";
  out += kMobileSyncResponseSchema;
  out += "\">\r\n    <Error Time=\"";
  out += time;
  out += "\" Id=\"";
  out += std::to_string(static_cast<std::uint32_t>(now) & 0x7FFFFFFF);
  out += "\">\r\n      <ErrorCode>" + std::to_string(error_code) + "</ErrorCode>\r\n";
  out += "      <Message>" + message + "</Message>\r\n";
  out += "      <DebugData />\r\n    </Error>\r\n  </Response>\r\n</Autodiscover>\r\n";
  return out;
}

Result<std::string> autodiscoverResponse(std::string_view request_xml,
                                         const AutodiscoverSettings& s) {
  if (s.server_url.empty() || s.email.empty()) {
    return fail(Errc::invalid_argument, "Autodiscover needs the server URL and the user's address");
  }
  auto request = parseAutodiscoverRequest(request_xml);
  if (!request) return autodiscoverError(kAutodiscoverInvalidRequest, s.now);
  // MS-ASCMD 2.2.3.1: the value must be the mobilesync response schema.
  if (request->acceptable_response_schema != kMobileSyncResponseSchema) {
    return autodiscoverError(kAutodiscoverNoProvider, s.now);
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n";
  out +=
      "<Autodiscover xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns=\"";
  out += kAutodiscoverResponseSchema;
  out += "\">\r\n  <Response xmlns=\"";
  out += kMobileSyncResponseSchema;
  out += "\">\r\n";
  out += "    <Culture>" + codec::xmlEscaped(s.culture) + "</Culture>\r\n";
  out += "    <User>\r\n";
  if (!s.display_name.empty()) {
    out += "      <DisplayName>" + codec::xmlEscaped(s.display_name) + "</DisplayName>\r\n";
  }
  out += "      <EMailAddress>" + codec::xmlEscaped(s.email) + "</EMailAddress>\r\n";
  out += "    </User>\r\n";
  out += "    <Action>\r\n      <Settings>\r\n        <Server>\r\n";
  out += "          <Type>MobileSync</Type>\r\n";
  out += "          <Url>" + codec::xmlEscaped(s.server_url) + "</Url>\r\n";
  out += "          <Name>" + codec::xmlEscaped(s.server_url) + "</Name>\r\n";
  out += "        </Server>\r\n      </Settings>\r\n    </Action>\r\n";
  out += "  </Response>\r\n</Autodiscover>\r\n";
  return out;
}

}  // namespace rampart::server::eas
