#include "codec/mime/compose.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "codec/mime/body.h"
#include "codec/mime/detail/gmime.h"
#include "codec/xml_text.h"

namespace rampart::mime {
namespace {

using namespace detail;

std::string str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* p) const { g_mime_parser_options_free(p); }
};
struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};
struct DateTimeUnref {
  void operator()(GDateTime* p) const { g_date_time_unref(p); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

GPtr<GMimeMessage> parseMessage(std::string_view bytes) {
  if (bytes.empty()) return nullptr;  // GMime makes no stream of an empty buffer
  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
  const char* fallback[] = {"utf-8", "iso-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!msg) return nullptr;
  // Text without a single header field is not a message a device composed.
  if (g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(msg.get()))) == 0) {
    return nullptr;
  }
  return msg;
}

std::string header(GMimeObject* obj, const char* name) {
  return trim(str(g_mime_object_get_header(obj, name)));
}

// Every header field called `name`, removed.
void removeAll(GMimeObject* obj, const char* name) {
  GMimeHeaderList* headers = g_mime_object_get_header_list(obj);
  while (g_mime_header_list_contains(headers, name)) {
    if (!g_mime_header_list_remove(headers, name)) break;
  }
}

// --- addresses -------------------------------------------------------------------

// The address as SMTP gets it: the domain in its ASCII (IDNA) form.
std::string mailboxAddress(InternetAddressMailbox* mb) {
  const char* idn = internet_address_mailbox_get_idn_addr(mb);
  return str(idn != nullptr ? idn : internet_address_mailbox_get_addr(mb));
}

// Recipients of one list, groups expanded (RFC 5322 3.4), in order.
void collect(InternetAddressList* list, std::vector<std::string>& out, int depth) {
  if (list == nullptr || depth > 4) return;
  int n = internet_address_list_length(list);
  for (int i = 0; i < n; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(a)) {
      collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out, depth + 1);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      out.push_back(mailboxAddress(INTERNET_ADDRESS_MAILBOX(a)));
    }
  }
}

// Duplicate key: the local part as written, the domain case-folded.
std::string dedupKey(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos) return address;
  return address.substr(0, at + 1) + lower(std::string_view(address).substr(at + 1));
}

bool sameAddress(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

// --- reply quoting ----------------------------------------------------------------

constexpr std::string_view kHtmlBreak = "<br>\r\n";

struct TextParts {
  GMimeTextPart* plain = nullptr;  // not owned
  GMimeTextPart* html = nullptr;
};

bool isAttachment(GMimeObject* obj) {
  GMimeContentDisposition* d = g_mime_object_get_content_disposition(obj);
  return d != nullptr && g_mime_content_disposition_is_attachment(d);
}

// The device's first text/plain and text/html body parts (attachments and
// attached messages are not entered).
void findText(TextParts& t, GMimeObject* obj, std::size_t depth, std::size_t max_depth) {
  if (obj == nullptr || depth > max_depth) return;
  if (GMIME_IS_MULTIPART(obj)) {
    auto* mp = GMIME_MULTIPART(obj);
    int count = g_mime_multipart_get_count(mp);
    for (int i = 0; i < count && (t.plain == nullptr || t.html == nullptr); ++i) {
      findText(t, g_mime_multipart_get_part(mp, i), depth + 1, max_depth);
    }
    return;
  }
  if (!GMIME_IS_TEXT_PART(obj) || isAttachment(obj)) return;
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (t.plain == nullptr && g_mime_content_type_is_type(ct, "text", "plain")) {
    t.plain = GMIME_TEXT_PART(obj);
  } else if (t.html == nullptr && g_mime_content_type_is_type(ct, "text", "html")) {
    t.html = GMIME_TEXT_PART(obj);
  }
}

// New text (UTF-8) for a part: GMime picks the narrowest charset that holds
// it (us-ascii, iso-8859-1, utf-8) and labels the part; we pick a transfer
// encoding SMTP carries (7bit, quoted-printable or base64).
void setText(GMimeTextPart* part, const std::string& text) {
  g_mime_text_part_set_text(part, text.c_str());
  GMimePart* p = GMIME_PART(part);
  g_mime_part_set_content_encoding(
      p, g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT));
}

std::string quotePlain(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16 + 8);
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += line.empty() || line.front() == '>' ? ">" : "> ";
    out += line;
    out += "\r\n";
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}


// Appends `block` before the last </body> (or </html>) of `html`, else at the end.
std::string insertBeforeBodyEnd(std::string html, const std::string& block) {
  std::string l = lower(html);
  std::size_t at = l.rfind("</body");
  if (at == std::string::npos) at = l.rfind("</html");
  if (at == std::string::npos) return html + block;
  html.insert(at, block);
  return html;
}

// Header text we copy into new fields: on one line, whatever the original held.
std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return s;
}

// A msg-id (RFC 5322 3.6.4) "<left@right>" we can repeat in In-Reply-To and
// References: one token, printable ASCII; anything else is not copied.
std::string msgId(std::string_view s) {
  if (s.size() < 3 || s.size() > 998 || s.front() != '<' || s.back() != '>') return {};
  for (char ch : s.substr(1, s.size() - 2)) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>') return {};
  }
  return std::string(s);
}

// The original's identity for the attribution line and threading headers.
struct OriginalInfo {
  std::string from;        // display form
  std::string date;        // as in the header
  std::string message_id;  // with brackets
  std::string references;
  std::string text;  // plain text, UTF-8
};

OriginalInfo describe(GMimeMessage* orig, std::string_view bytes, const ComposeLimits& limits) {
  OriginalInfo info;
  auto* obj = GMIME_OBJECT(orig);
  InternetAddressList* from = g_mime_message_get_from(orig);
  if (from != nullptr && internet_address_list_length(from) > 0) {
    info.from = oneLine(take(internet_address_list_to_string(from, nullptr, FALSE)));
  }
  info.date = oneLine(header(obj, "Date"));
  info.message_id = msgId(header(obj, "Message-ID"));
  info.references = header(obj, "References");
  info.text = extractBodies(bytes, BodyLimits{limits.max_depth}).plain;
  return info;
}

std::string attribution(const OriginalInfo& info) {
  std::string who = info.from.empty() ? std::string("the sender") : info.from;
  if (info.date.empty()) return who + " wrote:";
  return "On " + info.date + ", " + who + " wrote:";
}

// "<a@b> <c@d> ..." without its oldest ids beyond `max` (RFC 5322 3.6.4 lets a
// reply's References grow; we keep the first id, the thread root, and the
// newest ones).
std::string boundedReferences(std::string_view refs, std::string_view add, std::size_t max) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while (pos < refs.size() && ids.size() < 10000) {
    std::size_t open = refs.find('<', pos);
    if (open == std::string_view::npos) break;
    std::size_t close = refs.find('>', open);
    if (close == std::string_view::npos) break;
    if (auto id = msgId(refs.substr(open, close - open + 1)); !id.empty()) ids.push_back(id);
    pos = close + 1;
  }
  if (!add.empty()) ids.emplace_back(add);
  if (max < 2) max = 2;
  if (ids.size() > max) {
    ids.erase(ids.begin() + 1, ids.begin() + static_cast<std::ptrdiff_t>(ids.size() - (max - 1)));
  }
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ' ';
    out += id;
  }
  return out;
}

void addQuote(GMimeMessage* msg, const OriginalInfo& info, const ComposeLimits& limits) {
  std::string intro = attribution(info);
  TextParts t;
  findText(t, g_mime_message_get_mime_part(msg), 0, limits.max_depth);
  std::string plain_quote = intro + "\r\n" + quotePlain(info.text);
  if (t.plain != nullptr) {
    std::string text = take(g_mime_text_part_get_text(t.plain));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    setText(t.plain, text + "\r\n\r\n" + plain_quote);
  }
  if (t.html != nullptr) {
    std::string html = take(g_mime_text_part_get_text(t.html));
    std::string block = "<br>\r\n<div>" + codec::htmlFromText(intro, kHtmlBreak) +
                        "</div>\r\n<blockquote type=\"cite\" style=\"margin:0 0 0 .8ex;"
                        "border-left:1px solid #ccc;padding-left:1ex\">\r\n" +
                        codec::htmlFromText(info.text, kHtmlBreak) + "</blockquote>\r\n";
    setText(t.html, insertBeforeBodyEnd(std::move(html), block));
  }
  if (t.plain == nullptr && t.html == nullptr) {
    // No text body (an attachment only): the quote goes in a part of its own.
    GPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype("plain"));
    setText(part.get(), "\r\n" + plain_quote);
    GMimeObject* body = g_mime_message_get_mime_part(msg);
    GPtr<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
    if (body != nullptr) g_mime_multipart_add(mixed.get(), body);
    g_mime_multipart_add(mixed.get(), GMIME_OBJECT(part.get()));
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed.get()));
  }

  auto* obj = GMIME_OBJECT(msg);
  if (!info.message_id.empty()) {
    if (header(obj, "In-Reply-To").empty()) {
      g_mime_object_set_header(obj, "In-Reply-To", info.message_id.c_str(), nullptr);
    }
    if (header(obj, "References").empty()) {
      std::string refs = boundedReferences(info.references, info.message_id, limits.max_references);
      g_mime_object_set_header(obj, "References", refs.c_str(), nullptr);
    }
  }
}

// --- forwarding -------------------------------------------------------------------

void attachOriginal(GMimeMessage* msg, GMimeMessage* orig) {
  GPtr<GMimeMessagePart> part(g_mime_message_part_new_with_message("rfc822", orig));
  GPtr<GMimeContentDisposition> disposition(g_mime_content_disposition_new());
  g_mime_content_disposition_set_disposition(disposition.get(), GMIME_DISPOSITION_ATTACHMENT);
  g_mime_object_set_content_disposition(GMIME_OBJECT(part.get()), disposition.get());

  GMimeObject* body = g_mime_message_get_mime_part(msg);
  if (body != nullptr && GMIME_IS_MULTIPART(body) &&
      g_mime_content_type_is_type(g_mime_object_get_content_type(body), "multipart", "mixed")) {
    g_mime_multipart_add(GMIME_MULTIPART(body), GMIME_OBJECT(part.get()));
    return;
  }
  GPtr<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
  if (body != nullptr) g_mime_multipart_add(mixed.get(), body);
  g_mime_multipart_add(mixed.get(), GMIME_OBJECT(part.get()));
  g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed.get()));
}

// --- headers ------------------------------------------------------------------------

bool allowedFrom(std::string_view address, const ComposeRequest& r) {
  if (sameAddress(address, r.user_address)) return true;
  return std::any_of(r.allowed_from.begin(), r.allowed_from.end(),
                     [&](const std::string& a) { return sameAddress(address, a); });
}

// The single mailbox of an address header, or none.
std::optional<std::string> singleMailbox(InternetAddressList* list) {
  if (list == nullptr || internet_address_list_length(list) != 1) return std::nullopt;
  InternetAddress* a = internet_address_list_get_address(list, 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(a)) return std::nullopt;
  return mailboxAddress(INTERNET_ADDRESS_MAILBOX(a));
}

void enforceFrom(GMimeMessage* msg, const ComposeRequest& r) {
  auto* obj = GMIME_OBJECT(msg);
  auto from = singleMailbox(g_mime_message_get_from(msg));
  if (!from || !allowedFrom(*from, r)) {
    removeAll(obj, "From");
    InternetAddressList* list = g_mime_message_get_from(msg);  // owned by msg
    internet_address_list_clear(list);
    GPtr<InternetAddress> me(
        internet_address_mailbox_new(r.user_display_name.c_str(), r.user_address.c_str()));
    internet_address_list_add(list, me.get());
  }
  if (!header(obj, "Sender").empty()) {
    auto sender = singleMailbox(g_mime_message_get_sender(msg));
    if (!sender || !allowedFrom(*sender, r)) removeAll(obj, "Sender");
  }
}

// RFC 5322 2.2 field-name: printable US-ASCII except ':'. GMime keeps lines
// it could not make sense of as fields with odd names; they are not sent.
bool isFieldName(const char* name) {
  if (name == nullptr || *name == '\0') return false;
  for (const char* p = name; *p != '\0'; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

void dropMalformedFields(GMimeObject* obj) {
  GMimeHeaderList* headers = g_mime_object_get_header_list(obj);
  for (int i = g_mime_header_list_get_count(headers) - 1; i >= 0; --i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    if (h == nullptr || !isFieldName(g_mime_header_get_name(h))) {
      g_mime_header_list_remove_at(headers, i);
    }
  }
}

void ensureHeaders(GMimeMessage* msg, const ComposeRequest& r) {
  auto* obj = GMIME_OBJECT(msg);
  if (g_mime_message_get_date(msg) == nullptr) {
    std::unique_ptr<GDateTime, DateTimeUnref> date(g_date_time_new_from_unix_utc(r.now));
    if (date) g_mime_message_set_date(msg, date.get());
  }
  if (header(obj, "Message-ID").empty() && !r.message_id.empty()) {
    std::string id = r.message_id;
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    g_mime_message_set_message_id(msg, id.c_str());
  }
  if (header(obj, "MIME-Version").empty()) {
    g_mime_object_set_header(obj, "MIME-Version", "1.0", nullptr);
  }
}

std::string serialize(GMimeMessage* msg, bool hide_bcc) {
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
  if (hide_bcc) {
    g_mime_format_options_add_hidden_header(options.get(), "Bcc");
    g_mime_format_options_add_hidden_header(options.get(), "Resent-Bcc");
  }
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), options.get(), out.get()) < 0) return {};
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// True when `m` starts with header fields (or continuation lines) up to the
// blank line that ends them (RFC 5322 2.1). GMime writes a top-level part
// whose Content-Type it could not make sense of (e.g. "multip" followed by a
// control character) without that blank line, and such output would not
// parse again: it must never be submitted.
bool headerBlockEnds(std::string_view m) {
  std::size_t pos = 0;
  while (pos < m.size()) {
    std::size_t eol = m.find("\r\n", pos);
    std::string_view line = m.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.empty()) return true;
    if (line[0] != ' ' && line[0] != '\t') {
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return false;
      for (char ch : line.substr(0, colon)) {
        if (static_cast<unsigned char>(ch) <= 32 || static_cast<unsigned char>(ch) >= 127) return false;
      }
    }
    if (eol == std::string_view::npos) return true;  // headers only, no body
    pos = eol + 2;
  }
  return true;
}

Composed problem(ComposeProblem p, std::string detail) {
  Composed c;
  c.problem = p;
  c.detail = std::move(detail);
  return c;
}

}  // namespace

bool isUsableAddress(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  std::string_view local = a.substr(0, at);
  std::string_view domain = a.substr(at + 1);
  if (local.size() > 64) return false;
  bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
  for (char ch : local) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c == 0x7F) {
      if (!(quoted && c == ' ')) return false;
      continue;
    }
    if (!quoted && std::string_view("<>(),;:\\\"[]@").find(ch) != std::string_view::npos) {
      return false;
    }
  }
  if (domain.front() == '[') return domain.back() == ']' && domain.size() > 2;
  if (domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (char ch : domain) {
    auto c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) || c == '-' || c == '.')) return false;
  }
  return true;
}

Composed compose(const ComposeRequest& r, const ComposeLimits& limits) {
  initGmime();
  if (r.message.size() > limits.max_message_size) {
    return problem(ComposeProblem::too_large, "message larger than the limit");
  }
  if (r.original.size() > limits.max_message_size) {
    return problem(ComposeProblem::too_large, "original larger than the limit");
  }
  if (r.message.find('\0') != std::string_view::npos) {
    return problem(ComposeProblem::invalid_mime, "the message holds a NUL byte (RFC 5322 2.3)");
  }
  GPtr<GMimeMessage> msg = parseMessage(r.message);
  if (!msg) return problem(ComposeProblem::invalid_mime, "not an RFC 5322 message");

  // Recipients first: nothing else is worth doing for a message that cannot go.
  std::vector<std::string> all;
  collect(g_mime_message_get_to(msg.get()), all, 0);
  collect(g_mime_message_get_cc(msg.get()), all, 0);
  collect(g_mime_message_get_bcc(msg.get()), all, 0);
  Composed out;
  std::set<std::string> seen;
  for (auto& a : all) {
    if (!isUsableAddress(a)) return problem(ComposeProblem::bad_recipient, "bad address: " + a);
    if (!seen.insert(dedupKey(a)).second) continue;
    if (out.recipients.size() == limits.max_recipients) {
      return problem(ComposeProblem::too_many_recipients, "too many recipients");
    }
    out.recipients.push_back(std::move(a));
  }
  if (out.recipients.empty()) return problem(ComposeProblem::no_recipients, "no recipients");

  dropMalformedFields(GMIME_OBJECT(msg.get()));
  enforceFrom(msg.get(), r);
  ensureHeaders(msg.get(), r);

  if (r.kind != ComposeKind::send && !r.replace_mime) {
    std::string_view original = r.original;
    std::string without_nul;
    if (original.find('\0') != std::string_view::npos) {
      without_nul.assign(original);
      std::erase(without_nul, '\0');
      original = without_nul;
    }
    GPtr<GMimeMessage> orig = parseMessage(original);
    if (!orig) return problem(ComposeProblem::invalid_mime, "the original is not a message");
    if (r.kind == ComposeKind::reply) {
      addQuote(msg.get(), describe(orig.get(), original, limits), limits);
    } else {
      attachOriginal(msg.get(), orig.get());
    }
  }

  out.sent_copy = serialize(msg.get(), false);
  out.message = serialize(msg.get(), true);
  if (out.message.empty() || out.sent_copy.empty()) {
    return problem(ComposeProblem::invalid_mime, "the message could not be written");
  }
  if (!headerBlockEnds(out.message) || !headerBlockEnds(out.sent_copy)) {
    return problem(ComposeProblem::invalid_mime, "the message's header fields do not end before its body");
  }
  if (out.sent_copy.size() > limits.max_message_size) {
    return problem(ComposeProblem::too_large, "the composed message is larger than the limit");
  }
  return out;
}

}  // namespace rampart::mime
