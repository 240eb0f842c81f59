#include "codec/mime/summary.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "codec/mime/body.h"
#include "codec/mime/detail/gmime.h"

namespace rampart::mime {
namespace {

using namespace detail;

std::string str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// --- header fields --------------------------------------------------------------

std::string header(GMimeObject* obj, const char* name) {
  return trim(str(g_mime_object_get_header(obj, name)));
}

std::string addresses(InternetAddressList* list) {
  if (list == nullptr || internet_address_list_length(list) == 0) return {};
  return take(internet_address_list_to_string(list, nullptr, FALSE));
}

// MS-ASEMAIL Importance from the headers mail clients set: Importance
// (RFC 2156), X-Priority (1-2 high, 3 normal, 4-5 low), Priority (RFC 2156).
Importance importanceOf(GMimeObject* msg) {
  std::string importance = lower(header(msg, "Importance"));
  if (importance == "high") return Importance::high;
  if (importance == "low") return Importance::low;
  if (importance == "normal") return Importance::normal;
  std::string x = header(msg, "X-Priority");
  if (!x.empty() && x[0] >= '1' && x[0] <= '5') {
    if (x[0] <= '2') return Importance::high;
    if (x[0] >= '4') return Importance::low;
    return Importance::normal;
  }
  std::string priority = lower(header(msg, "Priority"));
  if (priority == "urgent") return Importance::high;
  if (priority == "non-urgent") return Importance::low;
  return Importance::normal;
}

std::string mimeType(GMimeContentType* ct) {
  if (ct == nullptr) return "text/plain";
  return lower(take(g_mime_content_type_get_mime_type(ct)));
}

// --- preview ------------------------------------------------------------------------

// How much of an HTML body's text a preview is made from.
constexpr std::size_t kPreviewSource = 8192;

// Folds whitespace runs to one space, trims, forces valid UTF-8 and keeps at
// most `max_chars` code points (never cutting inside a character).
std::string makePreview(std::string_view text, std::size_t max_chars) {
  std::unique_ptr<char, GFree> valid(
      g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  std::string out;
  std::size_t chars = 0;
  bool pending_space = false;
  for (const char* p = valid.get(); *p != '\0' && chars < max_chars; p = g_utf8_next_char(p)) {
    gunichar ch = g_utf8_get_char(p);
    if (g_unichar_isspace(ch) || ch == 0xA0) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
      if (++chars == max_chars) break;
    }
    out.append(p, static_cast<std::size_t>(g_utf8_next_char(p) - p));
    ++chars;
  }
  return out;
}

// --- the MIME tree ------------------------------------------------------------------

struct Walk {
  const SummaryLimits& limits;
  Summary& summary;
  GMimeTextPart* plain = nullptr;  // first body candidates, not owned
  GMimeTextPart* html = nullptr;
};

std::uint64_t decodedSize(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return 0;
  GPtr<GMimeStream> null_stream(g_mime_stream_null_new());
  if (g_mime_data_wrapper_write_to_stream(content, null_stream.get()) < 0) return 0;
  return GMIME_STREAM_NULL(null_stream.get())->written;
}

void addAttachment(Walk& w, Attachment a) {
  if (w.summary.attachments.size() >= w.limits.max_attachments) {
    w.summary.truncated = true;
    return;
  }
  w.summary.attachments.push_back(std::move(a));
}

void walk(Walk& w, GMimeObject* obj, const std::string& path, std::size_t depth) {
  if (obj == nullptr) return;
  if (depth > w.limits.max_depth) {
    w.summary.truncated = true;
    return;
  }
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    int count = g_mime_multipart_get_count(mp);
    // The signature of multipart/signed (RFC 1847 2.1) is the second part; it
    // is part of the S/MIME envelope, not something the user attached.
    bool is_signed = GMIME_IS_MULTIPART_SIGNED(obj);
    for (int i = 0; i < count; ++i) {
      if (is_signed && i == GMIME_MULTIPART_SIGNED_SIGNATURE) continue;
      std::string child = path.empty() ? std::to_string(i + 1) : path + "." + std::to_string(i + 1);
      walk(w, g_mime_multipart_get_part(mp, i), child, depth + 1);
    }
    return;
  }
  std::string part_path = path.empty() ? "1" : path;
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(obj);
  bool attachment_disposition =
      disposition != nullptr && g_mime_content_disposition_is_attachment(disposition);
  if (GMIME_IS_MESSAGE_PART(obj)) {
    // An attached message (message/rfc822) is an attachment; its insides are
    // the attached message's business.
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    Attachment a;
    a.content_type = mimeType(ct);
    a.part_path = part_path;
    a.filename = str(disposition ? g_mime_content_disposition_get_parameter(disposition, "filename")
                                 : nullptr);
    if (inner != nullptr) {
      if (a.filename.empty()) a.filename = str(g_mime_message_get_subject(inner));
      GPtr<GMimeStream> null_stream(g_mime_stream_null_new());
      if (g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, null_stream.get()) >= 0) {
        a.size = GMIME_STREAM_NULL(null_stream.get())->written;
      }
    }
    if (a.filename.empty()) a.filename = "message";
    if (a.filename.size() < 4 || lower(a.filename.substr(a.filename.size() - 4)) != ".eml") {
      a.filename += ".eml";
    }
    addAttachment(w, std::move(a));
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  auto* part = GMIME_PART(obj);
  std::string filename = str(g_mime_part_get_filename(part));
  std::string content_id = str(g_mime_part_get_content_id(part));
  bool is_text = ct != nullptr && g_mime_content_type_is_type(ct, "text", "*");
  bool is_attachment =
      attachment_disposition || (!is_text && (!filename.empty() || !content_id.empty()));
  if (!is_attachment && is_text) {
    if (w.plain == nullptr && g_mime_content_type_is_type(ct, "text", "plain") &&
        GMIME_IS_TEXT_PART(obj)) {
      w.plain = GMIME_TEXT_PART(obj);
    } else if (w.html == nullptr && g_mime_content_type_is_type(ct, "text", "html") &&
               GMIME_IS_TEXT_PART(obj)) {
      w.html = GMIME_TEXT_PART(obj);
    }
    return;
  }
  if (!is_attachment) {
    // A non-text leaf with neither name nor Content-ID: the body of an
    // attachment-only message (e.g. application/pkcs7-mime without a name).
    is_attachment = true;
  }
  Attachment a;
  a.filename = std::move(filename);
  a.content_type = mimeType(ct);
  a.content_id = std::move(content_id);
  a.size = decodedSize(part);
  a.is_inline = !attachment_disposition && !a.content_id.empty();
  a.part_path = part_path;
  addAttachment(w, std::move(a));
}

std::string messageClass(GMimeObject* body) {
  if (body == nullptr) return "IPM.Note";
  GMimeContentType* ct = g_mime_object_get_content_type(body);
  if (ct == nullptr) return "IPM.Note";
  // MS-ASEMAIL 2.2.2.50 MessageClass; RFC 8551 3.3 (application/pkcs7-mime)
  // and 3.5.3 (multipart/signed with application/pkcs7-signature).
  if (g_mime_content_type_is_type(ct, "multipart", "signed")) {
    std::string protocol = lower(str(g_mime_content_type_get_parameter(ct, "protocol")));
    if (protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature") {
      return "IPM.Note.SMIME.MultipartSigned";
    }
    return "IPM.Note";
  }
  if (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
      g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")) {
    return "IPM.Note.SMIME";
  }
  return "IPM.Note";
}

void onParserWarning(gint64 /*offset*/, GMimeParserWarning code, const gchar* /*item*/,
                     gpointer user_data) {
  switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_WARN_TRUNCATED_MESSAGE:
    case GMIME_WARN_MALFORMED_MESSAGE:
    case GMIME_WARN_PART_WITHOUT_CONTENT:
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_CRIT_CONFLICTING_HEADER:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_CRIT_NESTING_OVERFLOW:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      static_cast<Summary*>(user_data)->well_formed = false;
      break;
    default:
      // Duplicated headers, raw 8-bit headers, sloppy encoded words: common in
      // real mail and handled; not worth calling the message malformed.
      break;
  }
}

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* p) const { g_mime_parser_options_free(p); }
};

}  // namespace

Summary summarize(std::string_view message, const SummaryLimits& limits) {
  initGmime();
  Summary s;
  s.size = message.size();
  s.message_class = "IPM.Note";
  s.content_type = "text/plain";
  if (message.empty()) {
    s.well_formed = false;
    return s;
  }

  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
  g_mime_parser_options_set_warning_callback(options.get(), onParserWarning, &s);
  // Raw 8-bit header bytes: try UTF-8, then Latin-1 (never fails) so they
  // always come out as valid UTF-8.
  const char* fallback[] = {"utf-8", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);

  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!msg) {
    s.well_formed = false;
    return s;
  }
  auto* obj = GMIME_OBJECT(msg.get());
  if (g_mime_header_list_get_count(g_mime_object_get_header_list(obj)) == 0) {
    s.well_formed = false;
  }

  s.from = addresses(g_mime_message_get_from(msg.get()));
  s.to = addresses(g_mime_message_get_to(msg.get()));
  s.cc = addresses(g_mime_message_get_cc(msg.get()));
  s.reply_to = addresses(g_mime_message_get_reply_to(msg.get()));
  s.subject = trim(str(g_mime_message_get_subject(msg.get())));
  s.message_id = header(obj, "Message-ID");
  s.in_reply_to = header(obj, "In-Reply-To");
  s.thread_topic = header(obj, "Thread-Topic");
  if (GDateTime* date = g_mime_message_get_date(msg.get()); date != nullptr) {
    s.date = g_date_time_to_unix(date);
  }
  s.importance = importanceOf(obj);

  GMimeObject* body = g_mime_message_get_mime_part(msg.get());
  if (body != nullptr) s.content_type = mimeType(g_mime_object_get_content_type(body));
  s.message_class = messageClass(body);

  Walk w{limits, s};
  walk(w, body, "", 0);
  if (w.plain != nullptr) {
    s.preview = makePreview(take(g_mime_text_part_get_text(w.plain)), limits.max_preview_chars);
  } else if (w.html != nullptr) {
    s.preview =
        makePreview(htmlToText(take(g_mime_text_part_get_text(w.html)), kPreviewSource),
                    limits.max_preview_chars);
  }
  // Header values GMime decoded from unknown charsets may still hold bad bytes.
  for (std::string* f : {&s.from, &s.to, &s.cc, &s.reply_to, &s.subject, &s.thread_topic}) {
    if (!g_utf8_validate(f->data(), static_cast<gssize>(f->size()), nullptr)) {
      *f = take(g_utf8_make_valid(f->data(), static_cast<gssize>(f->size())));
    }
  }
  return s;
}

}  // namespace rampart::mime
