// Strict HTTP/1.1 request parsing (RFC 9112 2-7, RFC 9110 5.5/5.6); see the
// header for the list of what is refused and why.
#include "http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace rampart::http {
namespace {

constexpr int kBadRequest = 400;
constexpr int kPayloadTooLarge = 413;
constexpr int kUriTooLong = 414;
constexpr int kExpectationFailed = 417;
constexpr int kHeadersTooLarge = 431;
constexpr int kNotImplemented = 501;
constexpr int kVersionNotSupported = 505;

// A chunk-size of more than 16 hex digits cannot fit 64 bits (RFC 9112 7.1:
// "anticipate potentially large hexadecimal numerals and prevent ... overflow").
constexpr std::size_t kMaxChunkSizeDigits = 16;

constexpr unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
constexpr bool isAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
constexpr bool isHex(unsigned char c) { return isDigit(c) || (lower(c) >= 'a' && lower(c) <= 'f'); }
constexpr int hexValue(unsigned char c) { return isDigit(c) ? c - '0' : lower(c) - 'a' + 10; }
constexpr bool isOws(unsigned char c) { return c == ' ' || c == '\t'; }

// RFC 9110 5.6.2: tchar.
constexpr bool isTchar(unsigned char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 3986 2.3 unreserved and 2.2 sub-delims.
constexpr bool isUnreserved(unsigned char c) {
  return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
constexpr bool isSubDelim(unsigned char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}
// RFC 3986 3.3 pchar, without pct-encoded (checked by the caller).
constexpr bool isPcharNoPct(unsigned char c) {
  return isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@';
}

// RFC 9110 5.5: field-vchar / SP / HTAB; obs-text (0x80-0xFF) is allowed,
// every other CTL (NUL, CR, LF, DEL...) is refused.
constexpr bool isFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && isOws(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(lower(static_cast<unsigned char>(c)));
  return out;
}

// Checks [pos, end) of `s` as pchar / extra characters with well-formed
// pct-encoded triplets (RFC 3986 2.1).
bool isPctText(std::string_view s, std::string_view extra) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !isHex(static_cast<unsigned char>(s[i + 1])) ||
          !isHex(static_cast<unsigned char>(s[i + 2])))
        return false;
      i += 2;
      continue;
    }
    if (isPcharNoPct(c)) continue;
    if (extra.find(static_cast<char>(c)) != std::string_view::npos) continue;
    return false;
  }
  return true;
}

// path-abempty [ "?" query ] (RFC 3986 3.3, 3.4): path chars are pchar and
// "/", query chars add "?". No fragment ("#") in a request-target.
bool isPathAndQuery(std::string_view s) {
  auto q = s.find('?');
  std::string_view path = s.substr(0, q);
  if (!isPctText(path, "/")) return false;
  if (q == std::string_view::npos) return true;
  return isPctText(s.substr(q + 1), "/?");
}

// RFC 3986 3.2.2 dec-octet "." dec-octet "." dec-octet "." dec-octet.
bool isIpv4Address(std::string_view s) {
  int parts = 0;
  while (true) {
    auto dot = s.find('.');
    auto part = s.substr(0, dot);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    int v = 0;
    for (char c : part) {
      if (!isDigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255 || ++parts > 4) return false;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// RFC 3986 3.2.2 IPv6address: h16 groups separated by ":", "::" at most once
// standing for one or more zero groups, an optional IPv4 tail worth two groups.
bool isIpv6Address(std::string_view s) {
  auto groups = [](std::string_view part, bool last_may_be_v4, int& count) {
    if (part.empty()) return true;
    while (true) {
      auto colon = part.find(':');
      auto g = part.substr(0, colon);
      if (colon == std::string_view::npos && last_may_be_v4 &&
          g.find('.') != std::string_view::npos) {
        if (!isIpv4Address(g)) return false;
        count += 2;
        return true;
      }
      if (g.empty() || g.size() > 4) return false;
      for (char c : g)
        if (!isHex(static_cast<unsigned char>(c))) return false;
      ++count;
      if (colon == std::string_view::npos) return true;
      part.remove_prefix(colon + 1);
    }
  };
  int count = 0;
  auto dc = s.find("::");
  if (dc == std::string_view::npos) return groups(s, true, count) && count == 8;
  auto head = s.substr(0, dc);
  auto tail = s.substr(dc + 2);
  if (tail.find("::") != std::string_view::npos) return false;
  return groups(head, false, count) && groups(tail, true, count) && count <= 7;
}

// RFC 3986 3.2.2 IP-literal = "[" ( IPv6address / IPvFuture ) "]".
bool isIpLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  if (s.front() == 'v' ||
      s.front() == 'V') {  // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    std::size_t i = 1;
    while (i < s.size() && isHex(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.') return false;
    ++i;
    if (i >= s.size()) return false;
    for (; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (!isUnreserved(c) && !isSubDelim(c) && c != ':') return false;
    }
    return true;
  }
  return isIpv6Address(s);
}

// Checks a quoted-string (RFC 9110 5.6.4) at the start of `s`; returns its
// length or 0 when malformed.
std::size_t quotedStringLength(std::string_view s) {
  if (s.empty() || s[0] != '"') return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (++i >= s.size()) return 0;
      auto q = static_cast<unsigned char>(s[i]);
      if (!(q == '\t' || q == ' ' || (q >= 0x21 && q != 0x7f))) return 0;
      continue;
    }
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
    if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c != 0x7f))) return 0;
  }
  return 0;
}

std::size_t tokenLength(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && isTchar(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

std::size_t skipOws(std::string_view s, std::size_t i) {
  while (i < s.size() && isOws(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), the shape
// of both chunk-ext (RFC 9112 7.1.1) and transfer-parameter lists (RFC 9112
// 7 / RFC 9110 5.6.6). With value_required, "=" value is mandatory.
bool isParameterList(std::string_view s, bool value_required) {
  std::size_t i = 0;
  while (true) {
    i = skipOws(s, i);
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    i = skipOws(s, i + 1);
    std::size_t n = tokenLength(s.substr(i));
    if (n == 0) return false;
    i = skipOws(s, i + n);
    if (i < s.size() && s[i] == '=') {
      i = skipOws(s, i + 1);
      std::size_t v = tokenLength(s.substr(i));
      if (v == 0) v = quotedStringLength(s.substr(i));
      if (v == 0) return false;
      i += v;
    } else if (value_required) {
      return false;
    }
  }
}

// Splits a #rule list (RFC 9110 5.6.1) on commas, trimming OWS. Commas inside
// quoted strings are not special-cased: the lists parsed here (Connection,
// Transfer-Encoding, Expect) are token lists, where a quote is an error anyway.
std::vector<std::string_view> splitList(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    auto comma = s.find(',');
    out.push_back(trimOws(s.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// The RFC 9112 2.3 HTTP-version grammar: %s"HTTP" "/" DIGIT "." DIGIT.
bool isHttpVersionSyntax(std::string_view v) {
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && isDigit(static_cast<unsigned char>(v[5])) &&
         v[6] == '.' && isDigit(static_cast<unsigned char>(v[7]));
}

// absolute-form (RFC 9112 3.2.2) for http and https URIs (RFC 9110 4.2):
// scheme "://" host [":" port] path-abempty ["?" query]. A userinfo part is
// refused (RFC 9110 4.2.4: "treat its presence as an error").
bool isAbsoluteForm(std::string_view t) {
  auto colon = t.find("://");
  if (colon == std::string_view::npos) return false;
  auto scheme = t.substr(0, colon);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) return false;
  auto rest = t.substr(colon + 3);
  auto end = rest.find_first_of("/?");
  auto authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  if (!isValidHost(authority)) return false;
  if (end == std::string_view::npos) return true;
  return isPathAndQuery(rest.substr(end));
}

}  // namespace


bool isToken(std::string_view s) { return !s.empty() && tokenLength(s) == s.size(); }

bool isFieldValue(std::string_view s) {
  if (!s.empty() &&
      (isOws(static_cast<unsigned char>(s.front())) || isOws(static_cast<unsigned char>(s.back()))))
    return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isFieldValueChar(static_cast<unsigned char>(c)); });
}

bool isOriginForm(std::string_view target) {
  // origin-form = absolute-path [ "?" query ]; absolute-path = 1*( "/" segment )
  return !target.empty() && target.front() == '/' && isPathAndQuery(target);
}

bool isValidHost(std::string_view host) {
  // Host = uri-host [ ":" port ] (RFC 9110 7.2); uri-host = IP-literal /
  // IPv4address / reg-name (RFC 3986 3.2.2). An empty value is valid (7.2).
  // The port is at most 5 digits and at most 65535 (stricter than *DIGIT).
  std::string_view name = host;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(0, close + 1);
    if (!isIpLiteral(name)) return false;
  } else {
    auto colon = host.find(':');
    name = host.substr(0, colon);
    // reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is a subset.
    for (std::size_t i = 0; i < name.size(); ++i) {
      auto c = static_cast<unsigned char>(name[i]);
      if (c == '%') {
        if (i + 2 >= name.size() || !isHex(static_cast<unsigned char>(name[i + 1])) ||
            !isHex(static_cast<unsigned char>(name[i + 2])))
          return false;
        i += 2;
      } else if (!isUnreserved(c) && !isSubDelim(c)) {
        return false;
      }
    }
  }
  auto rest = host.substr(name.size());
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  auto port = rest.substr(1);
  if (port.size() > 5) return false;
  std::uint32_t value = 0;
  for (char c : port) {
    if (!isDigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value <= 65535;
}

std::optional<std::string_view> ParsedRequest::header(std::string_view name) const {
  for (const auto& h : headers)
    if (equalsIgnoreCase(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

std::size_t ParsedRequest::count(std::string_view name) const {
  return static_cast<std::size_t>(
      std::count_if(headers.begin(), headers.end(),
                    [&](const HeaderField& h) { return equalsIgnoreCase(h.name, name); }));
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits), body_limit_(limits.max_body) {}

ParsedRequest RequestParser::release() { return std::move(req_); }

void RequestParser::reset() {
  state_ = State::request_line;
  line_.clear();
  skipped_empty_line_ = false;
  header_bytes_ = 0;
  remaining_ = 0;
  req_ = ParsedRequest{};
  body_limit_ = limits_.max_body;
  error_status_ = 0;
  error_ = Error{};
}

tl::unexpected<Error> RequestParser::failWith(int status, std::string detail) {
  state_ = State::error;
  error_status_ = status;
  Errc code = Errc::parse_error;
  if (status == kPayloadTooLarge || status == kUriTooLong || status == kHeadersTooLarge)
    code = Errc::limit_exceeded;
  if (status == kExpectationFailed || status == kNotImplemented || status == kVersionNotSupported)
    code = Errc::protocol_error;
  error_ = Error{make_error_code(code), "http request: " + std::move(detail)};
  line_.clear();
  return fail(error_);
}

int RequestParser::overlongRequestLineStatus() const {
  // line_ holds the first limit+1 octets of the line. Once a method and its
  // SP are there, what runs over is the request-target (a version is 8
  // octets): 414 (RFC 9112 3). A method that never ends is malformed: 400.
  auto sp = line_.find(' ');
  return sp != std::string::npos && sp > 0 ? kUriTooLong : kBadRequest;
}

// Appends bytes of data[pos..] to line_ up to and including an LF. A line
// ends in CRLF only; a CR anywhere else, or an LF without CR, is refused
// (RFC 9112 2.2). The content (without CRLF) may not exceed `limit`.
Result<RequestParser::LineResult> RequestParser::takeLine(std::string_view data, std::size_t& pos,
                                                          std::size_t limit, int over_status) {
  const char* begin = data.data() + pos;
  std::size_t avail = data.size() - pos;
  const void* lf = avail ? std::memchr(begin, '\n', avail) : nullptr;
  std::size_t seg_len = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - begin) : avail;
  std::string_view seg(begin, seg_len);

  // Errors are reported at the first offending octet in stream order, so the
  // answer does not depend on how the bytes were split. A CR left pending at
  // the end of the previous piece must be followed by LF.
  bool pending_cr = !line_.empty() && line_.back() == '\r';
  if (pending_cr && !seg.empty()) return failWith(kBadRequest, "bare CR");
  std::size_t have = line_.size() - (pending_cr ? 1 : 0);  // content octets so far (<= limit)
  std::size_t over = limit - have;  // index in seg of the octet that would exceed the limit
  auto cr = seg.find('\r');
  if (cr != std::string_view::npos && cr <= over) {
    // The CR comes first (it is not content): bare unless it ends the piece
    // (then the next piece must start with LF) or this line.
    if (cr + 1 != seg.size()) return failWith(kBadRequest, "bare CR");
  } else if (over < seg.size()) {
    if (over_status == kUriTooLong) {
      line_.append(seg.substr(0, over + 1));  // exactly limit+1 octets of the line
      over_status = overlongRequestLineStatus();
    }
    return failWith(over_status, "line longer than " + std::to_string(limit) + " octets");
  }
  line_.append(seg);
  pos += seg_len;
  if (!lf) return LineResult::incomplete;
  ++pos;  // the LF
  if (line_.empty() || line_.back() != '\r') return failWith(kBadRequest, "bare LF line ending");
  line_.pop_back();
  return LineResult::complete;
}

Status RequestParser::parseRequestLine(std::string_view line) {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 3),
  // single spaces only: no tab, no run of spaces, nothing before or after.
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return failWith(kBadRequest, "malformed request-line");
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return failWith(kBadRequest, "malformed request-line");
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (!isToken(method)) return failWith(kBadRequest, "method is not a token");
  if (target.empty()) return failWith(kBadRequest, "empty request-target");
  if (!isHttpVersionSyntax(version)) return failWith(kBadRequest, "malformed HTTP-version");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return failWith(kVersionNotSupported, "unsupported HTTP version");

  if (target == "*") {
    // asterisk-form only for a server-wide OPTIONS (RFC 9112 3.2.4).
    if (method != "OPTIONS")
      return failWith(kBadRequest, "asterisk-form target on a method other than OPTIONS");
  } else if (target.front() == '/') {
    if (!isOriginForm(target))
      return failWith(kBadRequest, "invalid character or escape in request-target");
  } else if (limits_.allow_absolute_form && isAbsoluteForm(target)) {
    // accepted (RFC 9112 3.2.2); the Host header is still required below.
  } else {
    return failWith(kBadRequest, "request-target is not origin-form");
  }
  req_.method.assign(method);
  req_.target.assign(target);
  req_.minor_version = version[7] - '0';
  return {};
}

Status RequestParser::parseFieldLine(std::string_view line) {
  // obs-fold and whitespace between the start-line and the first field are
  // refused (RFC 9112 5.2, 2.2).
  if (isOws(static_cast<unsigned char>(line.front())))
    return failWith(kBadRequest,
                    "obsolete line folding or leading whitespace in the header section");
  // field-line = field-name ":" OWS field-value OWS (RFC 9112 5); no
  // whitespace between name and colon (5.1).
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return failWith(kBadRequest, "field line without a colon");
  auto name = line.substr(0, colon);
  if (!isToken(name)) return failWith(kBadRequest, "field name is not a token");
  auto value = trimOws(line.substr(colon + 1));
  for (char c : value)
    if (!isFieldValueChar(static_cast<unsigned char>(c)))
      return failWith(kBadRequest, "control character in field value");
  if (req_.headers.size() >= limits_.max_headers)
    return failWith(kHeadersTooLarge, "too many header fields");
  req_.headers.push_back(HeaderField{std::string(name), std::string(value)});
  return {};
}

Status RequestParser::finishHead() {
  // Host (RFC 9112 3.2): exactly one in HTTP/1.1, never two, always valid.
  auto hosts = req_.count("host");
  if (hosts > 1) return failWith(kBadRequest, "more than one Host field");
  if (hosts == 0 && req_.minor_version == 1)
    return failWith(kBadRequest, "HTTP/1.1 request without Host");
  if (hosts == 1 && !isValidHost(*req_.header("host")))
    return failWith(kBadRequest, "invalid Host");

  // Content-Length = 1*DIGIT (RFC 9112 6.2); a list or a second line is
  // refused outright (6.3 item 5 allows identical duplicates; we do not).
  auto cls = req_.count("content-length");
  if (cls > 1) return failWith(kBadRequest, "more than one Content-Length field");
  if (cls == 1) {
    auto v = *req_.header("content-length");
    if (v.empty()) return failWith(kBadRequest, "empty Content-Length");
    std::uint64_t n = 0;
    for (char c : v) {
      if (!isDigit(static_cast<unsigned char>(c)))
        return failWith(kBadRequest, "Content-Length is not 1*DIGIT");
      auto d = static_cast<std::uint64_t>(c - '0');
      if (n > (UINT64_MAX - d) / 10) return failWith(kBadRequest, "Content-Length overflows");
      n = n * 10 + d;
    }
    req_.content_length = n;
  }

  auto tes = req_.count("transfer-encoding");
  if (tes > 0) {
    // RFC 9112 6.1 lets a server reject TE with CL (6.3 item 3 calls it a
    // likely smuggling attempt), and TE in HTTP/1.0 means faulty framing.
    if (cls > 0) return failWith(kBadRequest, "Transfer-Encoding with Content-Length");
    if (req_.minor_version == 0) return failWith(kBadRequest, "Transfer-Encoding in HTTP/1.0");
    if (tes > 1) return failWith(kBadRequest, "more than one Transfer-Encoding field");
    auto codings = splitList(*req_.header("transfer-encoding"));
    bool unknown = false;
    for (std::size_t i = 0; i < codings.size(); ++i) {
      auto c = codings[i];
      auto name_len = tokenLength(c);
      if (name_len == 0) return failWith(kBadRequest, "malformed Transfer-Encoding");
      auto name = c.substr(0, name_len);
      auto params = c.substr(name_len);
      if (!isParameterList(params, true))
        return failWith(kBadRequest, "malformed Transfer-Encoding");
      if (equalsIgnoreCase(name, "chunked")) {
        // chunked exactly once, last, without parameters (RFC 9112 6.1, 7).
        if (i + 1 != codings.size())
          return failWith(kBadRequest, "chunked is not the final transfer coding");
        if (!params.empty()) return failWith(kBadRequest, "parameters on chunked");
      } else {
        unknown = true;
      }
    }
    if (!equalsIgnoreCase(codings.back(), "chunked"))
      return failWith(kBadRequest,
                      "chunked is not the final transfer coding");  // RFC 9112 6.3 item 4
    if (unknown) return failWith(kNotImplemented, "unsupported transfer coding");  // RFC 9112 6.1
    req_.chunked_in = true;
  }

  // Connection = #connection-option (RFC 9110 7.6.1); empty elements are
  // ignored (5.6.1.2).
  req_.connection_options.clear();
  bool close = false;
  bool keep_alive = false;
  for (const auto& h : req_.headers) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    for (auto opt : splitList(h.value)) {
      if (opt.empty()) continue;
      if (!isToken(opt)) return failWith(kBadRequest, "Connection option is not a token");
      auto lowered = toLower(opt);
      if (lowered == "close") close = true;
      if (lowered == "keep-alive") keep_alive = true;
      req_.connection_options.push_back(std::move(lowered));
    }
  }
  // RFC 9112 9.3: close wins; HTTP/1.1 persists; HTTP/1.0 only with keep-alive.
  req_.keep_alive = !close && (req_.minor_version == 1 || keep_alive);

  // Expect (RFC 9110 10.1.1): 100-continue is the only expectation; it is
  // ignored in HTTP/1.0; anything else gets 417.
  for (const auto& h : req_.headers) {
    if (!equalsIgnoreCase(h.name, "expect")) continue;
    if (!equalsIgnoreCase(h.value, "100-continue"))
      return failWith(kExpectationFailed, "unsupported expectation");
    if (req_.minor_version == 1) req_.expect_continue = true;
  }
  return {};
}

Status RequestParser::parseChunkSize(std::string_view line) {
  // chunk = chunk-size [ chunk-ext ] CRLF ...; chunk-size = 1*HEXDIG (RFC 9112 7.1).
  std::size_t digits = 0;
  while (digits < line.size() && isHex(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits == 0) return failWith(kBadRequest, "malformed chunk-size");
  if (digits > kMaxChunkSizeDigits) return failWith(kBadRequest, "chunk-size overflows");
  std::uint64_t size = 0;
  for (std::size_t i = 0; i < digits; ++i)
    size = (size << 4) | static_cast<std::uint64_t>(hexValue(static_cast<unsigned char>(line[i])));
  auto ext = line.substr(digits);
  if (ext.size() > limits_.max_chunk_ext) return failWith(kBadRequest, "chunk-ext too long");
  // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (7.1.1)
  if (!isParameterList(ext, false)) return failWith(kBadRequest, "malformed chunk-ext");
  // BWS with nothing after it ("5 ") is not in the grammar.
  if (!ext.empty() && ext.find(';') == std::string_view::npos)
    return failWith(kBadRequest, "malformed chunk-ext");
  if (size > body_limit_ || req_.body.size() > body_limit_ - size)
    return failWith(kPayloadTooLarge, "chunked body over the limit");
  remaining_ = size;
  state_ = size == 0 ? State::trailers : State::chunk_data;
  return {};
}

Result<std::pair<std::size_t, ParseStatus>> RequestParser::feed(std::string_view data) {
  if (state_ == State::error) return fail(error_);
  std::size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::request_line: {
        auto r = takeLine(data, pos, limits_.max_request_line, kUriTooLong);
        if (!r) return fail(r.error());
        if (*r == LineResult::incomplete) return std::pair{pos, ParseStatus::need_more};
        if (line_.empty()) {
          // RFC 9112 2.2: ignore at least one empty line before the
          // request-line; we ignore exactly one.
          if (skipped_empty_line_)
            return failWith(kBadRequest, "more than one empty line before the request-line");
          skipped_empty_line_ = true;
          continue;
        }
        if (auto s = parseRequestLine(line_); !s) return fail(s.error());
        line_.clear();
        state_ = State::headers;
        continue;
      }
      case State::headers: {
        // Offer takeLine() at most one octet past the header-section budget,
        // so the 431 for the budget and any error inside the line come in
        // stream order whatever the split.
        std::size_t before = pos;
        std::size_t budget_left = limits_.max_header_bytes - header_bytes_;
        auto view = data.substr(0, pos + std::min(data.size() - pos, budget_left + 1));
        auto r = takeLine(view, pos, limits_.max_header_line, kHeadersTooLarge);
        if (!r) return fail(r.error());
        header_bytes_ += pos - before;
        if (header_bytes_ > limits_.max_header_bytes)
          return failWith(kHeadersTooLarge, "header section too large");
        if (*r == LineResult::incomplete) return std::pair{pos, ParseStatus::need_more};
        if (!line_.empty()) {
          if (auto s = parseFieldLine(line_); !s) return fail(s.error());
          line_.clear();
          continue;
        }
        if (auto s = finishHead(); !s) return fail(s.error());
        if (!req_.chunked_in && req_.content_length.value_or(0) == 0) {
          state_ = State::done;
          return std::pair{pos, ParseStatus::done};
        }
        // A body follows: stop so the caller can set its limit (and answer
        // 100-continue) before feeding it.
        remaining_ = req_.content_length.value_or(0);
        state_ = State::body_start;
        return std::pair{pos, ParseStatus::headers_done};
      }
      case State::body_start:
        // The caller has had its chance to setBodyLimit().
        if (req_.chunked_in) {
          state_ = State::chunk_size;
        } else {
          if (remaining_ > body_limit_)
            return failWith(kPayloadTooLarge, "Content-Length over the limit");
          req_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, 1 << 16)));
          state_ = State::body_length;
        }
        continue;
      case State::body_length: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size() - pos));
        req_.body.append(data.substr(pos, n));
        pos += n;
        remaining_ -= n;
        if (remaining_ > 0) return std::pair{pos, ParseStatus::need_more};
        state_ = State::done;
        return std::pair{pos, ParseStatus::done};
      }
      case State::chunk_size: {
        auto r = takeLine(data, pos, kMaxChunkSizeDigits + limits_.max_chunk_ext, kBadRequest);
        if (!r) return fail(r.error());
        if (*r == LineResult::incomplete) return std::pair{pos, ParseStatus::need_more};
        if (auto s = parseChunkSize(line_); !s) return fail(s.error());
        line_.clear();
        continue;
      }
      case State::chunk_data: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size() - pos));
        req_.body.append(data.substr(pos, n));
        pos += n;
        remaining_ -= n;
        if (remaining_ > 0) return std::pair{pos, ParseStatus::need_more};
        state_ = State::chunk_data_cr;
        continue;
      }
      case State::chunk_data_cr:
      case State::chunk_data_lf: {
        // chunk-data is followed by exactly CRLF (RFC 9112 7.1).
        if (pos == data.size()) return std::pair{pos, ParseStatus::need_more};
        char want = state_ == State::chunk_data_cr ? '\r' : '\n';
        if (data[pos] != want) return failWith(kBadRequest, "chunk-data not followed by CRLF");
        ++pos;
        state_ = state_ == State::chunk_data_cr ? State::chunk_data_lf : State::chunk_size;
        continue;
      }
      case State::trailers: {
        // trailer-section = *( field-line CRLF ) (RFC 9112 7.1.2): we accept
        // only the empty one, so the request ends with the next CRLF.
        auto r = takeLine(data, pos, limits_.max_header_line, kBadRequest);
        if (!r) return fail(r.error());
        if (*r == LineResult::incomplete) {
          if (!line_.empty() && line_ != "\r")
            return failWith(kBadRequest, "trailer fields are not accepted");
          return std::pair{pos, ParseStatus::need_more};
        }
        if (!line_.empty()) return failWith(kBadRequest, "trailer fields are not accepted");
        state_ = State::done;
        return std::pair{pos, ParseStatus::done};
      }
      case State::done:
        return std::pair{pos, ParseStatus::done};
      case State::error:
        return fail(error_);
    }
  }
}

Result<std::string> serializeRequest(const ParsedRequest& req, std::string_view target,
                                     const std::vector<HeaderField>& extra_headers,
                                     bool drop_hop_by_hop) {
  if (!isToken(req.method))
    return fail(Errc::invalid_argument, "serializeRequest: method is not a token");
  bool target_ok = isOriginForm(target) || (target == "*" && req.method == "OPTIONS");
  if (!target_ok)
    return fail(Errc::invalid_argument, "serializeRequest: target is not origin-form");

  static constexpr std::array<std::string_view, 8> kHopByHop = {
      "connection", "keep-alive", "proxy-connection",    "te",
      "trailer",    "upgrade",    "proxy-authorization", "expect"};
  auto dropped = [&](std::string_view name) {
    if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding"))
      return true;
    if (!drop_hop_by_hop) return false;
    for (auto h : kHopByHop)
      if (equalsIgnoreCase(name, h)) return true;
    // Host is for every recipient and never a connection option (RFC 9110 7.6.1).
    if (equalsIgnoreCase(name, "host")) return false;
    for (const auto& opt : req.connection_options)
      if (equalsIgnoreCase(name, opt)) return true;
    return false;
  };

  std::string out;
  out.reserve(req.method.size() + target.size() + 64 + req.body.size() + 64 * req.headers.size());
  out.append(req.method).append(" ").append(target).append(" HTTP/1.1\r\n");
  std::size_t hosts = 0;
  auto write = [&](const HeaderField& h) -> Status {
    if (!isToken(h.name) || !isFieldValue(h.value))
      return fail(Errc::invalid_argument, "serializeRequest: invalid header field");
    if (equalsIgnoreCase(h.name, "host")) ++hosts;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
    return {};
  };
  for (const auto& h : req.headers) {
    if (dropped(h.name)) continue;
    if (auto s = write(h); !s) return fail(s.error());
  }
  for (const auto& h : extra_headers) {
    if (equalsIgnoreCase(h.name, "content-length") || equalsIgnoreCase(h.name, "transfer-encoding"))
      return fail(Errc::invalid_argument,
                  "serializeRequest: framing fields are the serializer's own");
    if (auto s = write(h); !s) return fail(s.error());
  }
  if (hosts != 1)
    return fail(Errc::invalid_argument, "serializeRequest: the request needs exactly one Host");
  if (!req.body.empty() || req.content_length || req.chunked_in)
    out.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  out.append("\r\n");
  out.append(req.body);
  return out;
}

}  // namespace rampart::http
