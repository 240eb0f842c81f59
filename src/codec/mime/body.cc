#include "codec/mime/body.h"

#include <gmime/gmime.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <utility>

namespace rampart::mime {
namespace {

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

std::string take(char* s) {
  std::unique_ptr<char, GFree> owned(s);
  return owned ? std::string(owned.get()) : std::string();
}

std::string validUtf8(std::string s) {
  if (g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) return s;
  return take(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
}

void initGmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
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

std::string htmlToText(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
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
  while (i < html.size()) {
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

Bodies extractBodies(std::string_view message, const BodyLimits& limits) {
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
