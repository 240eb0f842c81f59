#include "codec/mime/body.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "codec/mime/detail/gmime.h"

namespace rampart::mime {
namespace {

using namespace detail;

std::string validUtf8(std::string s) {
  if (g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) return s;
  return take(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
}

struct Found {
  GMimeTextPart* plain = nullptr;  // not owned
  GMimeTextPart* html = nullptr;
};

// The first text/plain and text/html leaves that are not attachments, in
// document order; attached messages (message/rfc822) are not entered, and of
// a multipart/signed only the signed content is.
void walk(Found& f, GMimeObject* obj, std::size_t depth, std::size_t max_depth) {
  if (obj == nullptr || depth > max_depth) return;
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    int count = g_mime_multipart_get_count(mp);
    bool is_signed = GMIME_IS_MULTIPART_SIGNED(obj);
    for (int i = 0; i < count && (f.plain == nullptr || f.html == nullptr); ++i) {
      if (is_signed && i == GMIME_MULTIPART_SIGNED_SIGNATURE) continue;
      walk(f, g_mime_multipart_get_part(mp, i), depth + 1, max_depth);
    }
    return;
  }
  if (!GMIME_IS_TEXT_PART(obj)) return;
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(obj);
  if (disposition != nullptr && g_mime_content_disposition_is_attachment(disposition)) return;
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (ct == nullptr || g_mime_content_type_is_type(ct, "text", "plain")) {
    if (f.plain == nullptr) f.plain = GMIME_TEXT_PART(obj);
  } else if (g_mime_content_type_is_type(ct, "text", "html")) {
    if (f.html == nullptr) f.html = GMIME_TEXT_PART(obj);
  }
}

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* p) const { g_mime_parser_options_free(p); }
};

}  // namespace

std::string htmlToText(std::string_view html, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(html.size() / 2, max_bytes));
  std::size_t i = 0;
  auto startsWithNoCase = [&](std::size_t at, std::string_view word) {
    if (html.size() - at < word.size()) return false;
    for (std::size_t k = 0; k < word.size(); ++k) {
      if (std::tolower(static_cast<unsigned char>(html[at + k])) != word[k]) return false;
    }
    return true;
  };
  auto skipPast = [&](std::string_view end) {
    for (; i < html.size(); ++i) {
      if (startsWithNoCase(i, end)) {
        i += end.size();
        return;
      }
    }
  };
  // Tags after which text continues on a new line.
  static constexpr std::string_view kBreaks[] = {"<br",   "</p",  "<p>",  "<p ",
                                                 "</div", "</tr", "</li", "</h1",
                                                 "</h2",  "</h3", "</h4", "</table"};
  while (i < html.size() && out.size() < max_bytes) {
    char c = html[i];
    if (c == '<') {
      if (startsWithNoCase(i, "<!--")) {
        skipPast("-->");
      } else if (startsWithNoCase(i, "<script")) {
        skipPast("</script>");
      } else if (startsWithNoCase(i, "<style")) {
        skipPast("</style>");
      } else if (startsWithNoCase(i, "<head")) {
        skipPast("</head>");
      } else {
        bool line_break = false;
        for (std::string_view b : kBreaks) line_break = line_break || startsWithNoCase(i, b);
        skipPast(">");
        if (line_break) {
          out.append("\r\n");
        } else if (!out.empty() && out.back() != ' ' && out.back() != '\n') {
          out.push_back(' ');
        }
      }
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
          {"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},         {"&quot;", "\""},
          {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", "\xC2\xA0"}};
      bool matched = false;
      for (auto [entity, text] : kEntities) {
        if (startsWithNoCase(i, entity)) {
          out.append(text);
          i += entity.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    // Source line breaks are layout, not text, in HTML.
    if (c == '\r' || c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
      ++i;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  // Trim.
  std::size_t b = 0;
  while (b < out.size() && (out[b] == ' ' || out[b] == '\r' || out[b] == '\n')) ++b;
  std::size_t e = out.size();
  while (e > b && (out[e - 1] == ' ' || out[e - 1] == '\r' || out[e - 1] == '\n')) --e;
  return out.substr(b, e - b);
}

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsNoCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

bool isWsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trimWsp(std::string_view v) {
  while (!v.empty() && isWsp(v.front())) v.remove_prefix(1);
  while (!v.empty() && isWsp(v.back())) v.remove_suffix(1);
  return v;
}

// RFC 2045 token characters (no tspecials, no '*' either: RFC 2231 parameters
// are left to GMime).
bool isToken(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127 || c == '*') return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// The length of the leading run of ASCII bytes, 32 bytes at a time.
std::size_t asciiPrefix(std::string_view s) {
  std::size_t i = 0;
  for (; i + 32 <= s.size(); i += 32) {
    std::uint64_t w[4];
    std::memcpy(w, s.data() + i, sizeof w);
    if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) != 0) break;
  }
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

// g_utf8_validate, with the ASCII run skipped first (most mail is ASCII).
bool validUtf8View(std::string_view s) {
  std::size_t at = asciiPrefix(s);
  return at == s.size() ||
         g_utf8_validate(s.data() + at, static_cast<gssize>(s.size() - at), nullptr);
}

enum class Charset { none, ascii, utf8 };

// "text/plain" with simple parameters (RFC 2045 5.1); the charset, if any, must
// be us-ascii or utf-8. False for anything GMime might read differently.
bool parseContentType(std::string_view v, Charset& charset) {
  v = trimWsp(v);
  std::size_t i = 0;
  while (i < v.size() && isToken(v[i])) ++i;
  if (!equalsNoCase(v.substr(0, i), "text")) return false;
  if (i >= v.size() || v[i] != '/') return false;
  std::size_t sub = ++i;
  while (i < v.size() && isToken(v[i])) ++i;
  if (!equalsNoCase(v.substr(sub, i - sub), "plain")) return false;
  bool seen_charset = false;
  while (true) {
    while (i < v.size() && isWsp(v[i])) ++i;
    if (i == v.size()) return true;
    if (v[i] != ';') return false;
    ++i;
    while (i < v.size() && isWsp(v[i])) ++i;
    std::size_t name_at = i;
    while (i < v.size() && isToken(v[i])) ++i;
    std::string_view name = v.substr(name_at, i - name_at);
    if (name.empty() || i == v.size() || v[i] != '=') return false;
    ++i;
    std::string_view value;
    if (i < v.size() && v[i] == '"') {
      std::size_t close = v.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      value = v.substr(i + 1, close - i - 1);
      for (char c : value) {
        if (!isToken(c)) return false;
      }
      i = close + 1;
    } else {
      std::size_t at = i;
      while (i < v.size() && isToken(v[i])) ++i;
      value = v.substr(at, i - at);
    }
    if (value.empty()) return false;
    if (equalsNoCase(name, "charset")) {
      if (seen_charset) return false;
      seen_charset = true;
      if (equalsNoCase(value, "utf-8")) {
        charset = Charset::utf8;
      } else if (equalsNoCase(value, "us-ascii")) {
        charset = Charset::ascii;
      } else {
        return false;
      }
    }
  }
}

bool identityEncoding(std::string_view v) {
  v = trimWsp(v);
  return equalsNoCase(v, "7bit") || equalsNoCase(v, "8bit") || equalsNoCase(v, "binary");
}

}  // namespace

std::optional<std::string_view> plainBodyFast(std::string_view message) {
  Charset charset = Charset::none;
  bool seen_type = false, seen_encoding = false, last_was_mime = false;
  std::size_t pos = 0;
  std::string_view body;
  while (true) {
    std::size_t eol = message.find('\n', pos);
    if (eol == std::string_view::npos) return std::nullopt;  // no header/body split
    std::string_view line = message.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (pos == 0) return std::nullopt;  // no header at all
      body = message.substr(eol + 1);
      break;
    }
    if (std::memchr(line.data(), '\0', line.size()) != nullptr ||
        std::memchr(line.data(), '\r', line.size()) != nullptr) {
      return std::nullopt;
    }
    bool first = pos == 0;
    pos = eol + 1;
    if (isWsp(line.front())) {
      // A folded line: fine, unless it continues a header we read or is blank.
      if (first || last_was_mime || trimWsp(line).empty()) return std::nullopt;
      continue;
    }
    std::size_t colon = 0;
    while (colon < line.size() && line[colon] != ':') {
      auto u = static_cast<unsigned char>(line[colon]);
      if (u <= 32 || u >= 127) return std::nullopt;
      ++colon;
    }
    if (colon == 0 || colon == line.size()) return std::nullopt;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    last_was_mime = false;
    if (equalsNoCase(name, "content-type")) {
      if (seen_type || !parseContentType(value, charset)) return std::nullopt;
      seen_type = last_was_mime = true;
    } else if (equalsNoCase(name, "content-transfer-encoding")) {
      if (seen_encoding || !identityEncoding(value)) return std::nullopt;
      seen_encoding = last_was_mime = true;
    } else if (name.size() > 8 && equalsNoCase(name.substr(0, 8), "content-")) {
      return std::nullopt;  // Content-Disposition and the like: GMime decides
    }
  }
  // GMime's text is NUL-terminated: it ends at the first NUL.
  std::string_view text = body.substr(0, std::min(body.size(), body.find('\0')));
  switch (charset) {
    case Charset::ascii:
      // iconv from US-ASCII refuses bytes >= 0x80 anywhere in the body.
      if (asciiPrefix(body) != body.size()) return std::nullopt;
      break;
    case Charset::utf8:
      // Through iconv: identical only when the whole body is valid.
      if (asciiPrefix(body) == body.size()) break;
      for (std::size_t at = 0; at <= body.size();) {
        std::size_t nul = std::min(body.size(), body.find('\0', at));
        if (!validUtf8View(body.substr(at, nul - at))) return std::nullopt;
        at = nul + 1;
      }
      break;
    case Charset::none:
      if (!validUtf8View(text)) return std::nullopt;
      break;
  }
  return text;
}

PlainPrefix extractPlainPrefix(std::string_view message, std::size_t max_bytes,
                               const BodyLimits& limits) {
  PlainPrefix p;
  if (auto fast = plainBodyFast(message)) {
    p.total_size = fast->size();
    p.prefix.assign(fast->substr(0, std::min(max_bytes, fast->size())));
  } else {
    Bodies b = extractBodiesGmime(message, limits);
    p.total_size = b.plain.size();
    if (b.plain.size() > max_bytes) b.plain.resize(max_bytes);
    p.prefix = std::move(b.plain);
  }
  p.complete = p.prefix.size() == p.total_size;
  return p;
}

Bodies extractBodies(std::string_view message, const BodyLimits& limits) {
  if (auto fast = plainBodyFast(message)) {
    Bodies b;
    b.plain.assign(*fast);
    return b;
  }
  return extractBodiesGmime(message, limits);
}

Bodies extractBodiesGmime(std::string_view message, const BodyLimits& limits) {
  initGmime();
  Bodies b;
  if (message.empty()) return b;
  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
  const char* fallback[] = {"utf-8", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!msg) return b;
  Found f;
  walk(f, g_mime_message_get_mime_part(msg.get()), 0, limits.max_depth);
  // g_mime_text_part_get_text decodes the transfer encoding and converts from
  // the part's charset to UTF-8.
  if (f.html != nullptr) {
    b.html = validUtf8(take(g_mime_text_part_get_text(f.html)));
    b.html_native = true;
  }
  if (f.plain != nullptr) {
    b.plain = validUtf8(take(g_mime_text_part_get_text(f.plain)));
  } else if (f.html != nullptr) {
    b.plain = htmlToText(b.html);
  }
  return b;
}

}  // namespace rampart::mime
