// The rights-protected message (license.h, docs/rights.md "The protected
// message"): the original's top-level headers stay readable, its Content-*
// headers and body are encrypted under a fresh content key as CMS
// AuthEnvelopedData (RFC 5083, AES-256-GCM) whose one recipient is a
// KEKRecipientInfo (RFC 5652 6.2.3) with AES-256 key wrap (RFC 3394), kekid =
// the 16 bytes of the license id. The body becomes multipart/mixed (RFC 2046
// 5.1) with a notice, the signed publishing license and the content.
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/ascii.h"
#include "core/base64.h"
#include "crypto/cms/detail/mime_entity.h"
#include "crypto/rights/detail/text_util.h"
#include "crypto/rights/license.h"
#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::rights {
namespace {

using x509::detail::BioPtr;
using x509::detail::bioText;
using x509::detail::d2iExact;
using x509::detail::i2dString;
using x509::detail::readBio;

constexpr std::string_view kRightsHeader = "X-Rampart-Rights";
constexpr std::string_view kLicenseType = "application/vnd.rampart.publishing-license";
constexpr std::string_view kContentType = "application/vnd.rampart.protected-content";
constexpr std::string_view kNotice =
    "This message is protected by Rampart rights management.\r\n"
    "Open it with a client that supports Rampart rights management to read it.\r\n";

constexpr std::size_t kMaxMessage = 64 * 1024 * 1024;
constexpr std::size_t kMaxHeaderFields = 1000;
constexpr std::size_t kMaxHeaderLine = 64 * 1024;
constexpr std::size_t kMaxParts = 16;
constexpr std::size_t kMaxRecipients = 64;

struct CmsFree {
  void operator()(CMS_ContentInfo* p) const noexcept { CMS_ContentInfo_free(p); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;

// Wipes a key copy when it goes.
struct Secret {
  std::string bytes;
  ~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// One header field: its name and its physical lines without line ends.
struct Field {
  std::string_view name;
  std::vector<std::string_view> lines;
  // The value unfolded (RFC 5322 2.2.3), without the name and colon.
  std::string value() const {
    std::string v(lines.front().substr(name.size() + 1));
    for (std::size_t i = 1; i < lines.size(); ++i) v += lines[i];
    std::size_t b = v.find_first_not_of(" \t");
    std::size_t e = v.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
  }
  void appendTo(std::string& out) const {
    for (auto l : lines) {
      out.append(l);
      out.append("\r\n");
    }
  }
};

struct Entity {
  std::vector<Field> fields;
  std::string_view body;  // after the blank line; empty when there is none
  bool has_body = false;
};

// Splits an entity into header fields and body. CRLF or bare LF line ends.
Result<Entity> parseEntity(std::string_view text) {
  Entity e;
  std::size_t pos = 0;
  while (true) {
    if (pos >= text.size()) return e;  // headers only
    std::size_t end = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxHeaderLine) return fail(Errc::limit_exceeded, "header line too long");
    if (line.empty()) {
      e.body = text.substr(pos);
      e.has_body = true;
      return e;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (e.fields.empty()) return fail(Errc::parse_error, "header continuation before any field");
      e.fields.back().lines.push_back(line);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail(Errc::parse_error, "malformed header line");
    for (char c : line.substr(0, colon)) {
      if (c <= ' ' || c >= 0x7f) return fail(Errc::parse_error, "malformed header field name");
    }
    if (e.fields.size() >= kMaxHeaderFields)
      return fail(Errc::limit_exceeded, "too many header fields");
    e.fields.push_back(Field{line.substr(0, colon), {line}});
  }
}

bool isContentField(const Field& f) { return startsWithIgnoreCase(f.name, "Content-"); }

const Field* findField(const Entity& e, std::string_view name) {
  for (const auto& f : e.fields) {
    if (equalsIgnoreCase(f.name, name)) return &f;
  }
  return nullptr;
}

// The addr-spec of a From value: inside <> when present, else the whole.
std::string fromAddress(std::string_view value) {
  std::size_t lt = value.rfind('<');
  std::size_t gt = value.rfind('>');
  std::string_view a = value;
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt)
    a = value.substr(lt + 1, gt - lt - 1);
  while (!a.empty() && (a.front() == ' ' || a.front() == '\t')) a.remove_prefix(1);
  while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
  std::string out(a);
  for (char& c : out) c = asciiLower(c);
  return out;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

std::optional<std::string> randomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

Error sslError(Errc code, std::string what) {
  return Error{make_error_code(code), what + ": " + x509::opensslErrors()};
}

// AuthEnvelopedData of `inner` for whoever holds `key`, kekid = `kek_id`.
Result<std::string> sealContent(std::string_view inner, std::string_view key,
                                std::string_view kek_id) {
  CmsPtr cms(CMS_AuthEnvelopedData_create(EVP_aes_256_gcm()));
  if (!cms) return fail(sslError(Errc::internal, "CMS AuthEnvelopedData"));
  // CMS_add0_recipient_key takes ownership of both buffers.
  auto* k = static_cast<unsigned char*>(OPENSSL_malloc(key.size()));
  auto* id = static_cast<unsigned char*>(OPENSSL_malloc(kek_id.size()));
  if (k == nullptr || id == nullptr) {
    OPENSSL_free(k);
    OPENSSL_free(id);
    return fail(Errc::internal, "out of memory");
  }
  std::memcpy(k, key.data(), key.size());
  std::memcpy(id, kek_id.data(), kek_id.size());
  if (CMS_add0_recipient_key(cms.get(), NID_id_aes256_wrap, k, key.size(), id, kek_id.size(),
                             nullptr, nullptr, nullptr) == nullptr) {
    OPENSSL_clear_free(k, key.size());
    OPENSSL_free(id);
    return fail(sslError(Errc::internal, "CMS KEK recipient"));
  }
  // Embedded, not detached: CMS_AuthEnvelopedData_create leaves that unset
  // (CMS_encrypt would set it).
  if (CMS_set_detached(cms.get(), 0) != 1) return fail(sslError(Errc::internal, "CMS content"));
  BioPtr in = readBio(inner);
  if (!in) return fail(Errc::invalid_argument, "message too large");
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1)
    return fail(sslError(Errc::internal, "CMS encrypt"));
  std::string der = i2dString(i2d_CMS_ContentInfo, cms.get());
  if (der.empty()) return fail(sslError(Errc::internal, "CMS encoding"));
  return der;
}

}  // namespace

Result<std::string> protectMessage(const ProtectRequest& request, const cms::Identity& owner,
                                   X509* rights_server_cert) {
  if (request.templ == nullptr) return fail(Errc::invalid_argument, "no template");
  if (request.message.size() > kMaxMessage)
    return fail(Errc::limit_exceeded, "message over 64 MiB");
  auto original = parseEntity(request.message);
  if (!original) return fail(original.error());
  if (findField(*original, kRightsHeader) != nullptr) {
    return fail(Errc::invalid_argument, "message is already rights-protected");
  }

  PublishingLicense pl;
  // The owner is the From address; the rights server checks it against the
  // signer's certificate.
  if (const Field* from = findField(*original, "From")) pl.owner = fromAddress(from->value());
  if (!detail::isAddress(pl.owner) && owner.cert) {
    auto emails = x509::sanEmails(owner.cert.get());
    pl.owner = emails.empty() ? std::string() : lowerAscii(emails.front());
  }
  if (!detail::isAddress(pl.owner))
    return fail(Errc::invalid_argument, "no owner address (From or certificate)");
  for (const auto& r : request.recipients) {
    std::string a = lowerAscii(r);
    if (!detail::isAddress(a))
      return fail(Errc::invalid_argument, "bad recipient address '" + r.substr(0, 64) + "'");
    if (std::find(pl.recipients.begin(), pl.recipients.end(), a) == pl.recipients.end()) {
      pl.recipients.push_back(std::move(a));
    }
  }
  if (pl.recipients.size() > kMaxRecipients)
    return fail(Errc::limit_exceeded, "more than 64 recipients");

  auto id_bytes = randomBytes(16);
  Secret key{newContentKey()};
  if (!id_bytes || key.bytes.size() != 32) return fail(Errc::internal, "random generator failed");
  pl.id = detail::hexLower(*id_bytes);
  pl.template_id = request.templ->id;
  pl.template_name = request.templ->name;
  pl.rights = request.templ->rights;
  pl.issued = request.now;
  pl.content_expiry =
      request.templ->content_lifetime > 0 ? request.now + request.templ->content_lifetime : 0;
  auto wrapped = wrapContentKey(key.bytes, rights_server_cert);
  if (!wrapped) return fail(wrapped.error());
  pl.wrapped_key = std::move(*wrapped);
  auto signed_pl = signPublishingLicense(pl, owner);
  if (!signed_pl) return fail(signed_pl.error());

  // The inner entity: the original's Content-* fields and its body.
  std::string inner;
  for (const auto& f : original->fields) {
    if (isContentField(f)) f.appendTo(inner);
  }
  inner += "\r\n";
  inner.append(original->body);
  auto sealed = sealContent(inner, key.bytes, *id_bytes);
  OPENSSL_cleanse(inner.data(), inner.size());
  if (!sealed) return fail(sealed.error());

  auto boundary_bytes = randomBytes(16);
  if (!boundary_bytes) return fail(Errc::internal, "random generator failed");
  std::string boundary = "=_rampart_" + detail::hexLower(*boundary_bytes);

  std::string out;
  out.reserve(request.message.size() * 4 / 3 + 8192);
  for (const auto& f : original->fields) {
    if (!isContentField(f) && !equalsIgnoreCase(f.name, "MIME-Version")) f.appendTo(out);
  }
  out += std::string(kRightsHeader) + ": " + pl.id + "; template=" + pl.template_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
  out += kNotice;
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Type: " + std::string(kLicenseType) + "\r\nContent-Transfer-Encoding: base64\r\n";
  out += "Content-Disposition: attachment; filename=\"publishing-license.rpl\"\r\n\r\n";
  out += base64Encode(*signed_pl, 76);  // lines of 76, each ended with CRLF (RFC 2045 6.8)
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Type: " + std::string(kContentType) + "\r\nContent-Transfer-Encoding: base64\r\n";
  out += "Content-Disposition: attachment; filename=\"protected-content.rpc\"\r\n\r\n";
  out += base64Encode(*sealed, 76);  // lines of 76, each ended with CRLF (RFC 2045 6.8)
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

Result<ProtectedParts> splitProtectedMessage(std::string_view message) {
  if (message.size() > kMaxMessage) return fail(Errc::limit_exceeded, "message over 64 MiB");
  auto top = parseEntity(message);
  if (!top) return fail(top.error());
  if (findField(*top, kRightsHeader) == nullptr)
    return fail(Errc::not_found, "message is not rights-protected");
  const Field* ct = findField(*top, "Content-Type");
  auto content_type = cms::detail::parseContentType(ct != nullptr ? ct->value() : "");
  if (content_type.type != "multipart/mixed") {
    return fail(Errc::parse_error, "protected message is not multipart/mixed");
  }
  auto boundary = content_type.params.find("boundary");
  // RFC 2046 5.1.1: 1 to 70 characters.
  if (boundary == content_type.params.end() || boundary->second.empty() ||
      boundary->second.size() > 70) {
    return fail(Errc::parse_error, "protected message has no usable boundary");
  }
  if (!top->has_body) return fail(Errc::parse_error, "protected message has no body");

  ProtectedParts parts;
  for (const auto& f : top->fields) {
    if (!isContentField(f) && !equalsIgnoreCase(f.name, kRightsHeader))
      f.appendTo(parts.outer_headers);
  }

  // Walk the body line by line; a part runs from after one delimiter line to
  // the line end before the next (RFC 2046 5.1.1: that CRLF belongs to the
  // delimiter).
  const std::string dash = "--" + boundary->second;
  std::string_view body = top->body;
  std::size_t pos = 0;
  std::optional<std::size_t> part_start;
  std::size_t nparts = 0;
  bool closed = false;
  bool have_license = false;
  bool have_content = false;
  while (pos < body.size() && !closed) {
    std::size_t line_start = pos;
    std::size_t end = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? body.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.starts_with(dash)) continue;
    std::string_view rest = line.substr(dash.size());
    bool close = rest.starts_with("--");
    if (close) rest.remove_prefix(2);
    if (rest.find_first_not_of(" \t") != std::string_view::npos) continue;  // not a delimiter
    if (part_start) {
      std::size_t part_end = line_start;
      if (part_end > *part_start && body[part_end - 1] == '\n') --part_end;
      if (part_end > *part_start && body[part_end - 1] == '\r') --part_end;
      if (++nparts > kMaxParts) return fail(Errc::limit_exceeded, "too many parts");
      auto part = parseEntity(body.substr(*part_start, part_end - *part_start));
      if (!part) return fail(Errc::parse_error, "protected message part: " + part.error().detail);
      const Field* pct = findField(*part, "Content-Type");
      std::string type = pct ? cms::detail::parseContentType(pct->value()).type : "text/plain";
      std::string* target = nullptr;
      bool* seen = nullptr;
      if (type == kLicenseType) {
        target = &parts.signed_license;
        seen = &have_license;
      } else if (type == kContentType) {
        target = &parts.content;
        seen = &have_content;
      }
      if (target != nullptr) {
        if (*seen) return fail(Errc::parse_error, "protected message has two " + type + " parts");
        const Field* cte = findField(*part, "Content-Transfer-Encoding");
        if (cte == nullptr || !equalsIgnoreCase(cte->value(), "base64")) {
          return fail(Errc::parse_error, type + " part is not base64");
        }
        // RFC 2045 6.8 lines; otherwise as strict as the license fields.
        auto bytes = base64Decode(part->body, {.require_padding = true, .canonical = true});
        if (!bytes || bytes->empty()) return fail(Errc::parse_error, type + " part: bad base64");
        *target = std::move(*bytes);
        *seen = true;
      }
    }
    part_start = pos;
    closed = close;
  }
  if (!closed) return fail(Errc::parse_error, "protected message: multipart not closed");
  if (!have_license) return fail(Errc::parse_error, "protected message has no publishing license");
  if (!have_content) return fail(Errc::parse_error, "protected message has no protected content");
  return parts;
}

Result<std::string> unprotectMessage(const ProtectedParts& parts, std::string_view content_key,
                                     std::string_view license_id) {
  if (content_key.size() != 32) return fail(Errc::invalid_argument, "content key must be 32 bytes");
  if (!detail::isLowerHex(license_id, 32))
    return fail(Errc::invalid_argument, "license id must be 32 hex digits");
  std::string kek_id = detail::hexDecode(license_id).value_or("");
  if (parts.content.size() > kMaxMessage)
    return fail(Errc::limit_exceeded, "protected content over 64 MiB");
  CmsPtr cms(d2iExact<CMS_ContentInfo>(d2i_CMS_ContentInfo, CMS_ContentInfo_free, parts.content));
  if (!cms) {
    ERR_clear_error();
    return fail(Errc::parse_error, "protected content is not a DER CMS structure");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_id_smime_ct_authEnvelopedData) {
    return fail(Errc::parse_error, "protected content is not AuthEnvelopedData");
  }
  if (CMS_decrypt_set1_key(
          cms.get(), reinterpret_cast<unsigned char*>(const_cast<char*>(content_key.data())),
          content_key.size(), reinterpret_cast<const unsigned char*>(kek_id.data()),
          kek_id.size()) != 1) {
    return fail(sslError(Errc::permission_denied, "protected content is not for this license"));
  }
  BioPtr out(BIO_new(BIO_s_secmem()));
  if (!out) return fail(Errc::internal, "memory BIO");
  if (CMS_decrypt(cms.get(), nullptr, nullptr, nullptr, out.get(), CMS_BINARY) != 1) {
    return fail(sslError(Errc::permission_denied,
                         "protected content does not decrypt (wrong key or tampered)"));
  }
  std::string result = parts.outer_headers;
  result += bioText(out.get());
  return result;
}

}  // namespace rampart::crypto::rights
