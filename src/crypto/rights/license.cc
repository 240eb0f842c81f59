// Rights management formats: rights, templates and the two license texts
// (license.h, docs/rights.md). The text parsers are strict and bounded: they
// read what a peer sent (the rights server reads publishing licenses from any
// sender, the device reads use licenses), so every field has a length bound,
// a fixed syntax, and an error that names its line.
#include "crypto/rights/license.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <set>
#include <span>

#include "core/ascii.h"
#include "core/config.h"
#include "crypto/rights/detail/text_util.h"

namespace rampart::crypto::rights {
namespace {

constexpr std::array<std::pair<Right, std::string_view>, 10> kRightNames{{
    {kView, "view"},
    {kEdit, "edit"},
    {kReply, "reply"},
    {kReplyAll, "reply-all"},
    {kForward, "forward"},
    {kPrint, "print"},
    {kExtract, "extract"},
    {kExport, "export"},
    {kProgrammatic, "programmatic"},
    {kModifyRecipients, "modify-recipients"},
}};

constexpr std::string_view kPublishingMagic = "Rampart-Publishing-License";
constexpr std::string_view kUseMagic = "Rampart-Use-License";

// Bounds of the license texts (docs/rights.md "Limits").
constexpr std::size_t kMaxLicenseText = 64 * 1024;
constexpr std::size_t kMaxRecipients = 64;
constexpr std::size_t kMaxAddress = 320;  // RFC 5321 4.5.3.1: 64 + 1 + 255
constexpr std::size_t kMaxName = 256;     // template names, user names
constexpr std::size_t kMaxDescription = 1024;
constexpr std::size_t kMaxWrappedKeyB64 = 16 * 1024;
constexpr std::size_t kMaxLines = 4 + 12 + kMaxRecipients;

// Template bounds.
constexpr std::int64_t kMaxContentLifetime = 3653LL * 24 * 3600;  // ten years
constexpr std::int64_t kMinLicenseLifetime = 60;
constexpr std::int64_t kMaxLicenseLifetime = 366LL * 24 * 3600;

std::string lineError(std::size_t line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

// One "Name: value" line of a license body.
struct Line {
  std::string_view name;
  std::string_view value;
  std::size_t number = 0;
};

// What a field may look like.
enum class Kind { license_id, guid, name, rights, address, user, time, wrapped_key };

struct FieldSpec {
  std::string_view name;
  Kind kind;
  bool repeatable = false;
  bool required = true;
};

std::size_t maxLength(Kind kind) {
  switch (kind) {
    case Kind::license_id:
      return 32;
    case Kind::guid:
      return 36;
    case Kind::name:
      return kMaxName;
    case Kind::rights:
      return 128;
    case Kind::address:
      return kMaxAddress;
    case Kind::user:
      return kMaxName;
    case Kind::time:
      return 19;
    case Kind::wrapped_key:
      return kMaxWrappedKeyB64;
  }
  return 0;
}

// Checks one value against its kind; the message says what is wrong, without
// the line (added by the caller).
std::optional<std::string> checkValue(Kind kind, std::string_view v) {
  switch (kind) {
    case Kind::license_id:
      if (!detail::isLowerHex(v, 32)) return "must be 32 lower-case hex digits";
      return std::nullopt;
    case Kind::guid:
      if (!detail::isGuid(v, /*upper_only=*/true)) return "must be an upper-case GUID (8-4-4-4-12)";
      return std::nullopt;
    case Kind::name:
      if (!detail::isUtf8Text(v)) return "must be UTF-8 text without control characters";
      return std::nullopt;
    case Kind::rights: {
      auto r = parseRightsText(v);
      if (!r) return r.error().detail;
      if (rightsText(*r) != v)
        return "rights must be listed once each, in the order of docs/rights.md";
      return std::nullopt;
    }
    case Kind::address:
      if (!detail::isAddress(v)) return "not a lower-case e-mail address";
      return std::nullopt;
    case Kind::user:
      if (!detail::isToken(v)) return "must be printable without spaces";
      return std::nullopt;
    case Kind::time:
      if (!detail::parseUnixTime(v)) return "must be Unix seconds (decimal, no leading zeros)";
      return std::nullopt;
    case Kind::wrapped_key:
      if (!base64Decode(v, detail::kStrictBase64)) return "must be base64";
      return std::nullopt;
  }
  return "unknown";
}

// Splits and checks a license body: the magic first line with version 1,
// then only the fields of `specs`, each well formed, single ones once,
// required ones present. Returns the lines after the first.
Result<std::vector<Line>> parseLicenseLines(std::string_view text, std::string_view magic,
                                            std::span<const FieldSpec> specs) {
  if (text.size() > kMaxLicenseText) {
    return fail(Errc::limit_exceeded,
                "license text over " + std::to_string(kMaxLicenseText) + " bytes");
  }
  if (text.empty()) return fail(Errc::parse_error, "empty license text");
  std::vector<Line> lines;
  std::size_t pos = 0;
  std::size_t number = 0;
  std::set<std::string_view> seen;
  while (pos < text.size()) {
    ++number;
    if (number > kMaxLines) return fail(Errc::limit_exceeded, lineError(number, "too many lines"));
    std::size_t end = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.empty()) return fail(Errc::parse_error, lineError(number, "empty line"));
    std::size_t colon = raw.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail(Errc::parse_error, lineError(number, "expected 'Name: value'"));
    }
    Line line{raw.substr(0, colon), {}, number};
    for (char c : line.name) {
      bool ok =
          (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return fail(Errc::parse_error, lineError(number, "bad field name"));
    }
    if (colon + 1 >= raw.size() || raw[colon + 1] != ' ') {
      return fail(Errc::parse_error, lineError(number, "expected ': ' after the field name"));
    }
    line.value = raw.substr(colon + 2);
    if (line.value.empty()) return fail(Errc::parse_error, lineError(number, "empty value"));
    if (line.value.front() == ' ' || line.value.front() == '\t' || line.value.back() == ' ' ||
        line.value.back() == '\t') {
      return fail(Errc::parse_error, lineError(number, "value has surrounding white space"));
    }
    if (number == 1) {
      if (line.name != magic) {
        return fail(Errc::parse_error,
                    lineError(1, "not a " + std::string(magic) + " (starts with '" +
                                     std::string(line.name.substr(0, 64)) + "')"));
      }
      if (line.value != "1") {
        return fail(
            Errc::parse_error,
            lineError(1, "unsupported version '" + std::string(line.value.substr(0, 16)) + "'"));
      }
      continue;
    }
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const FieldSpec& s) { return s.name == line.name; });
    if (spec == specs.end()) {
      return fail(
          Errc::parse_error,
          lineError(number, "unknown field '" + std::string(line.name.substr(0, 64)) + "'"));
    }
    if (!spec->repeatable && !seen.insert(spec->name).second) {
      return fail(Errc::parse_error,
                  lineError(number, "field '" + std::string(spec->name) + "' repeated"));
    }
    seen.insert(spec->name);
    if (line.value.size() > maxLength(spec->kind)) {
      return fail(Errc::limit_exceeded,
                  lineError(number, "value of '" + std::string(spec->name) + "' over " +
                                        std::to_string(maxLength(spec->kind)) + " bytes"));
    }
    if (auto bad = checkValue(spec->kind, line.value)) {
      return fail(Errc::parse_error, lineError(number, std::string(spec->name) + ": " + *bad));
    }
    lines.push_back(line);
  }
  for (const auto& spec : specs) {
    if (spec.required && !seen.contains(spec.name)) {
      return fail(Errc::parse_error, "missing field '" + std::string(spec.name) + "'");
    }
  }
  return lines;
}

std::int64_t timeValue(std::string_view v) { return detail::parseUnixTime(v).value_or(0); }

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

constexpr std::array<FieldSpec, 9> kPublishingFields{{
    {"License-Id", Kind::license_id},
    {"Template-Id", Kind::guid},
    {"Template-Name", Kind::name},
    {"Rights", Kind::rights},
    {"Owner", Kind::address},
    {"Recipient", Kind::address, /*repeatable=*/true, /*required=*/false},
    {"Issued", Kind::time},
    {"Content-Expiry", Kind::time},
    {"Wrapped-Key", Kind::wrapped_key},
}};

constexpr std::array<FieldSpec, 11> kUseFields{{
    {"License-Id", Kind::license_id},
    {"User", Kind::user},
    {"Address", Kind::address},
    {"Template-Id", Kind::guid},
    {"Template-Name", Kind::name},
    {"Owner", Kind::address},
    {"Rights", Kind::rights},
    {"Issued", Kind::time},
    {"Expires", Kind::time},
    {"Content-Expiry", Kind::time},
    {"Wrapped-Key", Kind::wrapped_key},
}};

}  // namespace

std::string rightsText(std::uint32_t rights) {
  std::string out;
  for (const auto& [bit, name] : kRightNames) {
    if ((rights & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

Result<std::uint32_t> parseRightsText(std::string_view text) {
  std::uint32_t rights = 0;
  if (text.size() > 1024) return fail(Errc::invalid_argument, "rights list too long");
  std::size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view name = text.substr(pos, end - pos);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    auto it = std::find_if(kRightNames.begin(), kRightNames.end(),
                           [&](const auto& p) { return p.second == name; });
    if (it == kRightNames.end()) {
      return fail(Errc::invalid_argument,
                  "unknown right '" + std::string(name.substr(0, 64)) + "'");
    }
    if (rights & it->first)
      return fail(Errc::invalid_argument, "right '" + std::string(name) + "' listed twice");
    rights |= it->first;
    pos = end + 1;
  }
  return rights;
}

// --- Templates --------------------------------------------------------------

Result<Template> parseTemplateToml(std::string_view toml, std::string_view source_name) {
  auto file = ConfigFile::parse(toml, std::string(source_name));
  if (!file) return fail(file.error());
  ConfigSection root = file->root();
  Template t;
  root.read("id", t.id);
  if (!root.has("id")) {
    root.error("id", "required");
  } else if (!detail::isGuid(t.id, /*upper_only=*/false)) {
    root.error("id", "must be a GUID (8-4-4-4-12 hex digits)");
  } else {
    for (char& c : t.id) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
  }
  root.read("name", t.name);
  if (!root.has("name"))
    root.error("name", "required");
  else if (t.name.empty() || t.name.size() > kMaxName || !detail::isUtf8Text(t.name)) {
    root.error("name", "must be 1 to 256 bytes of text on one line");
  }
  root.read("description", t.description);
  if (t.description.size() > kMaxDescription || !detail::isUtf8Text(t.description)) {
    root.error("description", "must be at most 1024 bytes of text on one line");
  }
  if (!root.has("rights")) {
    root.error("rights", "required");
  } else {
    std::vector<std::string> names;
    root.read("rights", names);
    std::uint32_t rights = 0;
    for (const auto& n : names) {
      auto r = parseRightsText(n);
      if (!r || n.find(',') != std::string::npos || n.empty()) {
        root.error("rights", r ? "one right per entry" : r.error().detail);
        break;
      }
      if (rights & *r) {
        root.error("rights", "'" + n + "' listed twice");
        break;
      }
      rights |= *r;
    }
    if ((rights & kView) == 0) root.error("rights", "must include view");
    t.rights = rights;
  }
  std::chrono::seconds content_lifetime{t.content_lifetime};
  std::chrono::seconds license_lifetime{t.license_lifetime};
  root.read("content_lifetime", content_lifetime);
  root.read("license_lifetime", license_lifetime);
  t.content_lifetime = content_lifetime.count();
  t.license_lifetime = license_lifetime.count();
  if (t.content_lifetime < 0 || t.content_lifetime > kMaxContentLifetime) {
    root.error("content_lifetime", "must be 0 (never expires) up to 3653d");
  }
  if (t.license_lifetime < kMinLicenseLifetime || t.license_lifetime > kMaxLicenseLifetime) {
    root.error("license_lifetime", "must be between 1m and 366d");
  }
  root.read("revoked", t.revoked);
  if (auto st = file->finish(); !st) return fail(st.error());
  return t;
}

std::string templateToml(const Template& t) {
  std::string out;
  out += "id = " + detail::tomlString(t.id) + "\n";
  out += "name = " + detail::tomlString(t.name) + "\n";
  out += "description = " + detail::tomlString(t.description) + "\n";
  out += "rights = [";
  bool first = true;
  for (const auto& [bit, name] : kRightNames) {
    if ((t.rights & bit) == 0) continue;
    if (!first) out += ", ";
    out += "\"" + std::string(name) + "\"";
    first = false;
  }
  out += "]\n";
  out += "content_lifetime = " + std::to_string(t.content_lifetime) + "\n";
  out += "license_lifetime = " + std::to_string(t.license_lifetime) + "\n";
  out += std::string("revoked = ") + (t.revoked ? "true" : "false") + "\n";
  return out;
}

std::vector<Template> defaultTemplates() {
  Template dnf;
  dnf.id = std::string(kDoNotForwardId);
  dnf.name = "Do Not Forward";
  // MS-ASRM's Do Not Forward (REFERENCES.md): read, edit, reply and reply
  // all; no forward, print, copy or export.
  dnf.description =
      "Recipients can read and reply to this message, but cannot forward, print or copy it. "
      "The sender keeps full rights to the message and its replies.";
  dnf.rights = kView | kEdit | kReply | kReplyAll;

  Template confidential;
  confidential.id = "0F6C2F4E-3B7A-4C55-9E1D-6A1B2C3D4E5F";
  confidential.name = "Confidential - View Only";
  confidential.description =
      "Recipients can read this message only: no reply, forward, print or copy.";
  confidential.rights = kView;
  return {dnf, confidential};
}

// --- License texts ------------------------------------------------------------

std::string publishingLicenseText(const PublishingLicense& pl) {
  std::string out;
  appendField(out, kPublishingMagic, "1");
  appendField(out, "License-Id", pl.id);
  appendField(out, "Template-Id", pl.template_id);
  appendField(out, "Template-Name", pl.template_name);
  appendField(out, "Rights", rightsText(pl.rights));
  appendField(out, "Owner", lowerAscii(pl.owner));
  for (const auto& r : pl.recipients) appendField(out, "Recipient", lowerAscii(r));
  appendField(out, "Issued", std::to_string(pl.issued));
  appendField(out, "Content-Expiry", std::to_string(pl.content_expiry));
  appendField(out, "Wrapped-Key", base64Encode(pl.wrapped_key));
  return out;
}

Result<PublishingLicense> parsePublishingLicenseText(std::string_view text) {
  auto lines = parseLicenseLines(text, kPublishingMagic, kPublishingFields);
  if (!lines) return fail(lines.error());
  PublishingLicense pl;
  std::set<std::string_view> recipients;
  for (const Line& l : *lines) {
    if (l.name == "License-Id")
      pl.id = l.value;
    else if (l.name == "Template-Id")
      pl.template_id = l.value;
    else if (l.name == "Template-Name")
      pl.template_name = l.value;
    else if (l.name == "Rights")
      pl.rights = parseRightsText(l.value).value_or(0);
    else if (l.name == "Owner")
      pl.owner = l.value;
    else if (l.name == "Recipient") {
      if (pl.recipients.size() >= kMaxRecipients) {
        return fail(
            Errc::limit_exceeded,
            lineError(l.number, "more than " + std::to_string(kMaxRecipients) + " recipients"));
      }
      if (!recipients.insert(l.value).second) {
        return fail(Errc::parse_error, lineError(l.number, "recipient listed twice"));
      }
      pl.recipients.emplace_back(l.value);
    } else if (l.name == "Issued")
      pl.issued = timeValue(l.value);
    else if (l.name == "Content-Expiry")
      pl.content_expiry = timeValue(l.value);
    else if (l.name == "Wrapped-Key")
      pl.wrapped_key = base64Decode(l.value, detail::kStrictBase64).value_or("");
  }
  return pl;
}

std::string useLicenseText(const UseLicense& ul) {
  std::string out;
  appendField(out, kUseMagic, "1");
  appendField(out, "License-Id", ul.license_id);
  appendField(out, "User", ul.user);
  appendField(out, "Address", lowerAscii(ul.address));
  appendField(out, "Template-Id", ul.template_id);
  appendField(out, "Template-Name", ul.template_name);
  appendField(out, "Owner", lowerAscii(ul.owner));
  appendField(out, "Rights", rightsText(ul.rights));
  appendField(out, "Issued", std::to_string(ul.issued));
  appendField(out, "Expires", std::to_string(ul.expires));
  appendField(out, "Content-Expiry", std::to_string(ul.content_expiry));
  appendField(out, "Wrapped-Key", base64Encode(ul.wrapped_key));
  return out;
}

Result<UseLicense> parseUseLicenseText(std::string_view text) {
  auto lines = parseLicenseLines(text, kUseMagic, kUseFields);
  if (!lines) return fail(lines.error());
  UseLicense ul;
  for (const Line& l : *lines) {
    if (l.name == "License-Id")
      ul.license_id = l.value;
    else if (l.name == "User")
      ul.user = l.value;
    else if (l.name == "Address")
      ul.address = l.value;
    else if (l.name == "Template-Id")
      ul.template_id = l.value;
    else if (l.name == "Template-Name")
      ul.template_name = l.value;
    else if (l.name == "Owner")
      ul.owner = l.value;
    else if (l.name == "Rights")
      ul.rights = parseRightsText(l.value).value_or(0);
    else if (l.name == "Issued")
      ul.issued = timeValue(l.value);
    else if (l.name == "Expires")
      ul.expires = timeValue(l.value);
    else if (l.name == "Content-Expiry")
      ul.content_expiry = timeValue(l.value);
    else if (l.name == "Wrapped-Key")
      ul.wrapped_key = base64Decode(l.value, detail::kStrictBase64).value_or("");
  }
  return ul;
}

}  // namespace rampart::crypto::rights
