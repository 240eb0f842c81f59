#include "server/eas/detail/email_encoding.h"

#include <charconv>

#include "codec/mime/body.h"
#include "codec/xml_text.h"
#include "core/clock.h"
#include "server/eas/detail/rights_info.h"

namespace rampart::server::eas::detail {
namespace {

constexpr std::uint8_t kEmail = 2;
constexpr std::uint8_t kAirSyncBase = 17;

void element(wbxml::Writer& w, std::string_view ns, std::string_view name, std::string_view text) {
  w.start(ns, name);
  w.content(text);
  w.end();
}

// Text content may not hold NUL (the writer refuses it: STR_I ends at NUL).
std::string noNul(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\0') c = ' ';
  }
  return out;
}

// element() for text that may hold NUL, copied only when it does.
void textElement(wbxml::Writer& w, std::string_view ns, std::string_view name,
                 std::string_view text) {
  if (text.find('\0') == std::string_view::npos) {
    element(w, ns, name, text);
  } else {
    element(w, ns, name, noNul(text));
  }
}

void optionalElement(wbxml::Writer& w, std::string_view ns, std::string_view name,
                     std::string_view text) {
  if (!text.empty()) element(w, ns, name, noNul(text));
}

std::string escapeHtml(std::string_view text) {
  return "<html><body><pre>" + codec::htmlFromText(text, "\r\n") + "</pre></body></html>";
}

bool isSmime(const store::Item& item) {
  return item.summary.message_class.rfind("IPM.Note.SMIME", 0) == 0;
}

// MS-ASAIRS 2.2.2.32 NativeBodyType: 1 plain, 2 HTML. Known from the summary
// (its content type and whether a preview came from HTML is not stored, so a
// multipart/alternative or text/html top level counts as HTML).
int nativeType(const store::Item& item) {
  const std::string& ct = item.summary.content_type;
  if (ct == "text/html" || ct == "multipart/alternative" || ct == "multipart/related") return 2;
  return 1;
}

const BodyPreference* choosePreference(const store::Item& item,
                                       const std::vector<BodyPreference>& prefs,
                                       const EmailEncodeOptions& options) {
  bool want_mime = options.mime_support == 2 || (options.mime_support == 1 && isSmime(item));
  if (want_mime) {
    for (const BodyPreference& p : prefs) {
      if (p.type == 4) return &p;
    }
  }
  int native = nativeType(item);
  for (const BodyPreference& p : prefs) {
    if (p.type == native) return &p;
  }
  for (const BodyPreference& p : prefs) {
    if (p.type == 1 || p.type == 2 || p.type == 4) return &p;
  }
  return nullptr;
}

Status writeBody(wbxml::Writer& w, const store::Item& item, store::MailStore& mail,
                 const std::vector<BodyPreference>& prefs, bool with_preview,
                 const EmailEncodeOptions& options) {
  const BodyPreference* pref = choosePreference(item, prefs, options);
  w.start("AirSyncBase", "Body");
  if (pref == nullptr) {
    // No usable preference: say what there is, send nothing.
    element(w, "AirSyncBase", "Type", "1");
    element(w, "AirSyncBase", "EstimatedDataSize", std::to_string(item.summary.size));
    element(w, "AirSyncBase", "Truncated", "1");
    w.end();
    return {};
  }
  element(w, "AirSyncBase", "Type", std::to_string(pref->type));
  bool send_nothing = pref->truncation_size && *pref->truncation_size == 0;
  if (send_nothing) {
    element(w, "AirSyncBase", "EstimatedDataSize", std::to_string(item.summary.size));
    element(w, "AirSyncBase", "Truncated", "1");
  } else {
    auto bytes = mail.messageBytes(item.id);
    if (!bytes) return fail(bytes.error());
    // MS-ASAIRS 2.2.2.23.1 EstimatedDataSize is the size of the whole body, so
    // its size is known even when only TruncationSize bytes of it are sent;
    // the body is cut before any copy (noNul keeps the size, NUL becomes ' ').
    std::string data;       // the body when built here, or its prefix
    std::string_view body;  // the whole body, or (Type 1 cut) its start
    std::size_t full = 0;
    if (pref->type == 4) {
      body = *bytes;
    } else if (pref->type == 1 && pref->truncation_size) {
      // One byte past TruncationSize lets truncateUtf8 see whether the cut
      // splits a UTF-8 sequence.
      mime::PlainPrefix p =
          mime::extractPlainPrefix(*bytes, std::size_t{*pref->truncation_size} + 1);
      data = std::move(p.prefix);
      body = data;
      full = p.total_size;
    } else {
      mime::Bodies bodies = mime::extractBodies(*bytes);
      if (pref->type == 2) {
        data = bodies.html_native ? std::move(bodies.html) : escapeHtml(bodies.plain);
      } else {
        data = std::move(bodies.plain);
      }
      body = data;
    }
    if (body.size() > full) full = body.size();
    bool truncated = pref->truncation_size && full > *pref->truncation_size;
    element(w, "AirSyncBase", "EstimatedDataSize", std::to_string(full));
    if (truncated) element(w, "AirSyncBase", "Truncated", "1");
    // MS-ASAIRS 2.2.2.3.1 AllOrNone: a body over TruncationSize is not sent at all.
    if (!(truncated && pref->all_or_none)) {
      std::string_view sent = body;
      if (truncated) {
        sent = pref->type == 4 ? sent.substr(0, *pref->truncation_size)
                               : truncateUtf8(sent, *pref->truncation_size);
      }
      if (!sent.empty()) textElement(w, "AirSyncBase", "Data", sent);
    }
  }
  if (with_preview && pref->preview && *pref->preview > 0 && !item.summary.preview.empty()) {
    // MS-ASAIRS 2.2.2.37 Preview: at most the requested number of characters.
    std::string_view p = item.summary.preview;
    std::size_t chars = 0, at = 0;
    while (at < p.size() && chars < *pref->preview) {
      ++at;
      while (at < p.size() && (static_cast<unsigned char>(p[at]) & 0xC0) == 0x80) ++at;
      ++chars;
    }
    element(w, "AirSyncBase", "Preview", noNul(p.substr(0, at)));
  }
  w.end();
  return {};
}

void writeAttachments(wbxml::Writer& w, const store::Item& item) {
  if (item.summary.attachments.empty()) return;
  w.start("AirSyncBase", "Attachments");
  for (const mime::Attachment& a : item.summary.attachments) {
    w.start("AirSyncBase", "Attachment");
    element(w, "AirSyncBase", "DisplayName",
            a.filename.empty() ? std::string("attachment") : noNul(a.filename));
    element(w, "AirSyncBase", "FileReference", fileReference(item.id, a.part_path));
    element(w, "AirSyncBase", "Method", "1");  // 2.2.2.31: normal attachment
    element(w, "AirSyncBase", "EstimatedDataSize", std::to_string(a.size));
    optionalElement(w, "AirSyncBase", "ContentId", a.content_id);
    if (a.is_inline) element(w, "AirSyncBase", "IsInline", "1");
    w.end();
  }
  w.end();
}

void writeFlag(wbxml::Writer& w, store::FlagStatus flag) {
  // MS-ASEMAIL 2.2.2.34 Flag: empty when the message is not flagged.
  w.start("Email", "Flag");
  if (flag != store::FlagStatus::cleared) {
    element(w, "Email", "Status", std::to_string(static_cast<int>(flag)));
    element(w, "Email", "FlagType", "for Follow Up");
  }
  w.end();
}

}  // namespace

std::vector<BodyPreference> parseBodyPreferences(const wbxml::Element& options) {
  auto prefs = rampart::eas::decodeBodyPreferences(options);
  return prefs ? std::move(*prefs) : std::vector<BodyPreference>{};
}

Status writeEmailProperties(wbxml::Writer& w, const store::Item& item, store::MailStore& mail,
                            const std::vector<BodyPreference>& prefs,
                            std::string_view protocol_version, const EmailEncodeOptions& options) {
  const mime::Summary& s = item.summary;
  optionalElement(w, "Email", "To", s.to);
  optionalElement(w, "Email", "Cc", s.cc);
  optionalElement(w, "Email", "From", s.from);
  element(w, "Email", "Subject", noNul(s.subject));
  optionalElement(w, "Email", "ReplyTo", s.reply_to);
  element(w, "Email", "DateReceived", formatUtc(item.received_at));
  optionalElement(w, "Email", "DisplayTo", displayTo(s.to));
  element(w, "Email", "ThreadTopic", noNul(s.thread_topic.empty() ? s.subject : s.thread_topic));
  element(w, "Email", "Importance", std::to_string(static_cast<int>(s.importance)));
  element(w, "Email", "Read", item.read ? "1" : "0");
  writeAttachments(w, item);
  if (auto st = writeBody(w, item, mail, prefs, protocol_version >= "14.0", options); !st) {
    return st;
  }
  element(w, "Email", "MessageClass", s.message_class.empty() ? "IPM.Note" : s.message_class);
  element(w, "Email", "InternetCPID", "65001");  // 2.2.2.41: UTF-8
  writeFlag(w, item.flag);
  element(w, "Email", "ContentClass", "urn:content-classes:message");
  element(w, "AirSyncBase", "NativeBodyType", std::to_string(nativeType(item)));
  // MS-ASRM 2.2.2.14: RightsManagementLicense exists from 14.1.
  if (options.rights != nullptr && protocol_version >= "14.1") {
    auto rights = options.rights->rightsOfItem(item, mail);
    if (!rights) return fail(rights.error());
    if (*rights) writeRightsManagementLicense(w, **rights);
  }
  return {};
}

std::string fileReference(store::ItemId item, std::string_view part_path) {
  return std::to_string(item) + ":" + std::string(part_path);
}

std::optional<AttachmentRef> parseFileReference(std::string_view ref) {
  std::size_t colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == ref.size()) {
    return std::nullopt;
  }
  AttachmentRef r;
  auto [p, ec] = std::from_chars(ref.data(), ref.data() + colon, r.item);
  if (ec != std::errc() || p != ref.data() + colon || r.item <= 0) return std::nullopt;
  std::string_view path = ref.substr(colon + 1);
  if (path.size() > 256) return std::nullopt;
  bool digit_expected = true;
  for (char c : path) {
    if (c >= '0' && c <= '9') {
      digit_expected = false;
    } else if (c == '.' && !digit_expected) {
      digit_expected = true;
    } else {
      return std::nullopt;
    }
  }
  if (digit_expected) return std::nullopt;
  r.part_path = std::string(path);
  return r;
}

std::string formatUtc(std::int64_t unix_seconds) { return utcText(unix_seconds, "%Y-%m-%dT%H:%M:%S.000Z"); }

std::string displayTo(std::string_view to) {
  // Split on commas outside quotes and angle brackets.
  std::string out;
  auto addOne = [&](std::string_view r) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!r.empty() && ws(r.front())) r.remove_prefix(1);
    while (!r.empty() && ws(r.back())) r.remove_suffix(1);
    if (r.empty()) return;
    std::string_view name = r;
    std::size_t lt = r.rfind('<');
    if (lt != std::string_view::npos) {
      name = r.substr(0, lt);
      while (!name.empty() && ws(name.back())) name.remove_suffix(1);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        name = name.substr(1, name.size() - 2);
      }
      if (name.empty()) {
        name = r.substr(lt + 1);
        if (!name.empty() && name.back() == '>') name.remove_suffix(1);
      }
    }
    if (!out.empty()) out.append("; ");
    out.append(name);
  };
  bool quoted = false;
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < to.size(); ++i) {
    char c = to[i];
    if (c == '"')
      quoted = !quoted;
    else if (!quoted && c == '<')
      ++angle;
    else if (!quoted && c == '>' && angle > 0)
      --angle;
    else if (!quoted && angle == 0 && c == ',') {
      addOne(to.substr(start, i - start));
      start = i + 1;
    }
  }
  addOne(to.substr(start));
  return out;
}

std::string_view truncateUtf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) to the start of their sequence,
  // which is then left out.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace rampart::server::eas::detail
