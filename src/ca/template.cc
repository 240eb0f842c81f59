// Certificate templates: see template.h. Parsing goes through core/config.h,
// so an unknown key or a bad value is an error naming its line; the checks
// across keys (an EKU the kind needs, the SAN an S/MIME certificate needs)
// are recorded against the key they concern, so they name a line too.
#include "ca/template.h"

#include <algorithm>
#include <array>
#include <set>

#include "core/config.h"

namespace rampart::ca {
namespace {

using crypto::x509::KeyType;
using namespace std::chrono_literals;

constexpr std::array<std::pair<TemplateKind, std::string_view>, 5> kKindNames{{
    {TemplateKind::tls_client, "tls_client"},
    {TemplateKind::smime_signing, "smime_signing"},
    {TemplateKind::smime_encryption, "smime_encryption"},
    {TemplateKind::wifi, "wifi"},
    {TemplateKind::tls_server, "tls_server"},
}};

constexpr std::array<std::pair<SubjectCn, std::string_view>, 3> kCnNames{{
    {SubjectCn::user, "user"},
    {SubjectCn::display_name, "display_name"},
    {SubjectCn::address, "address"},
}};

// RFC 5280 4.2.1.3 KeyUsage bit names. keyCertSign and cRLSign are known but
// refused: a template issues end-entity certificates, never a CA.
constexpr std::array<std::string_view, 9> kKeyUsages{
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};

// RFC 5280 4.2.1.12 purposes by name. OCSPSigning is known but refused: a
// user holding it could sign OCSP answers for our issuing CA (RFC 6960
// 4.2.2.2 delegated responder); only the CA's own responder certificate has it.
constexpr std::array<std::string_view, 6> kEkuNames{"serverAuth",  "clientAuth",  "emailProtection",
                                                    "codeSigning", "OCSPSigning", "timeStamping"};

constexpr auto kMinLifetime = std::chrono::seconds(1h);
// Ten years with their leap days.
constexpr auto kMaxLifetime = std::chrono::seconds(24h * 3653);
constexpr std::size_t kMaxListEntries = 32;

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool isRsa(KeyType t) {
  return t == KeyType::rsa2048 || t == KeyType::rsa3072 || t == KeyType::rsa4096;
}

// A dotted OID: at least two arcs, the first 0..2, each arc decimal without
// a leading zero (X.690 8.19).
bool isDottedOid(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  int arcs = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t end = s.find('.', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view arc = s.substr(i, end - i);
    if (arc.empty() || arc.size() > 20) return false;
    if (arc.size() > 1 && arc[0] == '0') return false;
    for (char c : arc) {
      if (c < '0' || c > '9') return false;
    }
    if (arcs == 0 && (arc.size() != 1 || arc[0] > '2')) return false;
    ++arcs;
    i = end + 1;
  }
  return arcs >= 2;
}

// A DNS name for a fixed dns: SAN: LDH labels of 1..63, 253 in all, with an
// optional leading "*." (RFC 6125 6.4.3 wildcard, left-most label only).
bool isDnsName(std::string_view s) {
  if (s.starts_with("*.")) s.remove_prefix(2);
  if (s.empty() || s.size() > 253) return false;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t end = s.find('.', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view label = s.substr(i, end - i);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    i = end + 1;
  }
  return true;
}

// At most a few names, each given once.
bool checkList(ConfigSection& root, std::string_view key, const std::vector<std::string>& v) {
  if (v.size() > kMaxListEntries) {
    root.error(key, "at most " + std::to_string(kMaxListEntries) + " entries");
    return false;
  }
  std::set<std::string_view> seen;
  for (const auto& s : v) {
    if (!seen.insert(s).second) {
      root.error(key, "'" + s + "' is listed twice");
      return false;
    }
  }
  return true;
}

// The checks across keys, recorded against the key they concern.
void validate(ConfigSection& root, const CertTemplate& t) {
  if (t.lifetime < kMinLifetime || t.lifetime > kMaxLifetime) {
    root.error("lifetime", "must be between 1h and 10 years (3653d)");
  }
  // Equal to the lifetime: a certificate may be renewed (re-keyed) at any time.
  if (t.renewal_window.count() < 0 || t.renewal_window > t.lifetime) {
    root.error("renewal_window", "must not be longer than the lifetime");
  }

  if (t.key_types.empty()) root.error("key_types", "at least one key type");

  if (checkList(root, "key_usage", t.key_usage)) {
    if (t.key_usage.empty()) root.error("key_usage", "at least one key usage");
    for (const auto& ku : t.key_usage) {
      if (std::find(kKeyUsages.begin(), kKeyUsages.end(), ku) == kKeyUsages.end()) {
        root.error("key_usage", "unknown key usage '" + ku + "' (RFC 5280 4.2.1.3 names)");
      } else if (ku == "keyCertSign" || ku == "cRLSign") {
        root.error("key_usage", ku + " is for CA certificates; templates issue end-entity ones");
      }
    }
    bool agreement = contains(t.key_usage, "keyAgreement");
    if (!agreement && (contains(t.key_usage, "encipherOnly") || contains(t.key_usage, "decipherOnly"))) {
      root.error("key_usage", "encipherOnly and decipherOnly need keyAgreement (RFC 5280 4.2.1.3)");
    }
  }

  if (checkList(root, "extended_key_usage", t.extended_key_usage)) {
    for (const auto& eku : t.extended_key_usage) {
      bool named = std::find(kEkuNames.begin(), kEkuNames.end(), eku) != kEkuNames.end();
      if (!named && !isDottedOid(eku)) {
        root.error("extended_key_usage", "unknown extended key usage '" + eku +
                                             "' (serverAuth, clientAuth, emailProtection, "
                                             "codeSigning, timeStamping, or a dotted OID)");
      } else if (eku == "OCSPSigning" || eku == "1.3.6.1.5.5.7.3.9") {
        root.error("extended_key_usage", "OCSPSigning is only for the CA's own OCSP responder");
      }
    }
  }

  bool has_email_san = false;
  bool has_dns_san = false;
  if (checkList(root, "san", t.san)) {
    for (const auto& s : t.san) {
      if (s == "email") {
        has_email_san = true;
      } else if (s == "upn") {
      } else if (s == "requested_dns") {
        has_dns_san = true;
        if (t.kind != TemplateKind::tls_server) {
          root.error("san", "requested_dns is only for tls_server templates");
        }
      } else if (s.starts_with("dns:")) {
        has_dns_san = true;
        if (!isDnsName(std::string_view(s).substr(4))) {
          root.error("san", "'" + s + "' is not a DNS name");
        }
      } else {
        root.error("san", "unknown SAN '" + s + "' (email, upn, dns:NAME, requested_dns)");
      }
    }
  }

  if (checkList(root, "enroll_groups", t.enroll_groups)) {
    for (const auto& g : t.enroll_groups) {
      if (g.empty()) root.error("enroll_groups", "a group name is empty");
    }
  }

  // What makes a certificate of each kind work for its purpose.
  auto needEku = [&](std::string_view eku) {
    if (!contains(t.extended_key_usage, eku)) {
      root.error("extended_key_usage", std::string(templateKindName(t.kind)) + " needs " +
                                           std::string(eku));
    }
  };
  switch (t.kind) {
    case TemplateKind::tls_client:
    case TemplateKind::wifi:
      needEku("clientAuth");
      break;
    case TemplateKind::smime_signing:
    case TemplateKind::smime_encryption:
      // RFC 8550 3: the sender's address must be in the certificate.
      needEku("emailProtection");
      if (!has_email_san) {
        root.error("san", std::string(templateKindName(t.kind)) + " needs the email SAN");
      }
      break;
    case TemplateKind::tls_server:
      needEku("serverAuth");
      if (!has_dns_san) root.error("san", "tls_server needs dns:NAME or requested_dns");
      break;
  }
  if (t.kind == TemplateKind::smime_signing && !contains(t.key_usage, "digitalSignature")) {
    root.error("key_usage", "smime_signing needs digitalSignature (RFC 8550 4.4.2)");
  }
  if (t.kind == TemplateKind::smime_encryption) {
    // RFC 8550 4.4.2 / RFC 5280 4.2.1.3: RSA keys transport the content key
    // (keyEncipherment), EC keys agree on one (keyAgreement).
    bool rsa = std::any_of(t.key_types.begin(), t.key_types.end(), isRsa);
    bool ec = std::any_of(t.key_types.begin(), t.key_types.end(), [](KeyType k) { return !isRsa(k); });
    if (rsa && !contains(t.key_usage, "keyEncipherment")) {
      root.error("key_usage", "smime_encryption with RSA keys needs keyEncipherment");
    }
    if (ec && !contains(t.key_usage, "keyAgreement")) {
      root.error("key_usage", "smime_encryption with EC keys needs keyAgreement");
    }
  }
}

// A TOML basic string (TOML 1.0 "String"): quotes, backslashes and control
// characters escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string quoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += ", ";
    out += quote(v[i]);
  }
  return out + "]";
}

std::string duration(std::chrono::seconds s) {
  auto n = s.count();
  if (n != 0 && n % 86400 == 0) return quote(std::to_string(n / 86400) + "d");
  if (n != 0 && n % 3600 == 0) return quote(std::to_string(n / 3600) + "h");
  if (n != 0 && n % 60 == 0) return quote(std::to_string(n / 60) + "m");
  return quote(std::to_string(n) + "s");
}

std::string_view cnName(SubjectCn cn) {
  for (const auto& [c, name] : kCnNames) {
    if (c == cn) return name;
  }
  return "user";
}

}  // namespace

std::string_view templateKindName(TemplateKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

Result<TemplateKind> parseTemplateKind(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return fail(Errc::invalid_argument,
              "unknown template kind '" + std::string(name.substr(0, 64)) +
                  "' (tls_client, smime_signing, smime_encryption, wifi, tls_server)");
}

bool isValidTemplateName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

CertTemplate defaultTemplate(TemplateKind kind, std::string name) {
  CertTemplate t;
  t.name = std::move(name);
  t.kind = kind;
  t.key_types = {KeyType::ec_p256, KeyType::rsa2048};
  t.lifetime = 24h * 365;
  t.renewal_window = 24h * 30;
  switch (kind) {
    case TemplateKind::tls_client:
      // The gateway maps a client certificate to its user by the SAN e-mail
      // address by default (gateway/auth/client_cert.h).
      t.key_usage = {"digitalSignature"};
      t.extended_key_usage = {"clientAuth"};
      t.subject_cn = SubjectCn::user;
      t.san = {"email"};
      break;
    case TemplateKind::smime_signing:
      t.key_usage = {"digitalSignature", "nonRepudiation"};
      t.extended_key_usage = {"emailProtection"};
      t.subject_cn = SubjectCn::display_name;
      t.san = {"email"};
      t.publish = true;
      break;
    case TemplateKind::smime_encryption:
      // RSA first: more mail clients encrypt to RSA recipients than to EC ones.
      // The authority keeps the usage that fits the key it certifies.
      t.key_types = {KeyType::rsa2048, KeyType::ec_p256};
      t.key_usage = {"keyEncipherment", "keyAgreement"};
      t.extended_key_usage = {"emailProtection"};
      t.subject_cn = SubjectCn::display_name;
      t.san = {"email"};
      t.publish = true;  // so ResolveRecipients can hand it out
      break;
    case TemplateKind::wifi:
      // EAP-TLS servers commonly match the UPN; the e-mail SAN as well for
      // those that match that.
      t.key_usage = {"digitalSignature"};
      t.extended_key_usage = {"clientAuth"};
      t.subject_cn = SubjectCn::user;
      t.san = {"upn", "email"};
      break;
    case TemplateKind::tls_server:
      // A server name is worth a human look before it is certified.
      t.key_usage = {"digitalSignature"};
      t.extended_key_usage = {"serverAuth"};
      t.subject_cn = SubjectCn::user;
      t.san = {"requested_dns"};
      t.lifetime = 24h * 90;
      t.renewal_window = 24h * 30;
      t.require_approval = true;
      break;
  }
  return t;
}

std::vector<CertTemplate> builtinTemplates() {
  return {defaultTemplate(TemplateKind::tls_client, "device"),
          defaultTemplate(TemplateKind::smime_signing, "smime-sign"),
          defaultTemplate(TemplateKind::smime_encryption, "smime-encrypt"),
          defaultTemplate(TemplateKind::wifi, "wifi"),
          defaultTemplate(TemplateKind::tls_server, "server")};
}

Result<CertTemplate> parseTemplate(std::string_view toml, std::string_view source) {
  auto file = ConfigFile::parse(toml, std::string(source));
  if (!file) return fail(file.error());
  ConfigSection root = file->root();

  // The kind first: its defaults are what the file's keys override.
  std::string name;
  std::string kind_name;
  root.read("name", name);
  root.read("kind", kind_name);
  CertTemplate t;
  if (!root.has("name")) root.error("name", "required");
  else if (!isValidTemplateName(name)) root.error("name", "must match [a-z0-9-]{1,64}");
  if (!root.has("kind")) {
    root.error("kind", "required");
  } else if (auto kind = parseTemplateKind(kind_name); !kind) {
    root.error("kind", kind.error().detail);
  } else {
    t = defaultTemplate(*kind, name);
  }
  t.name = name;

  if (root.has("key_types")) {
    std::vector<std::string> names;
    root.read("key_types", names);
    t.key_types.clear();
    if (checkList(root, "key_types", names)) {
      for (const auto& n : names) {
        auto k = crypto::x509::parseKeyType(n);
        if (k) t.key_types.push_back(*k);
        else root.error("key_types", k.error().detail);
      }
    }
  }
  root.read("lifetime", t.lifetime);
  root.read("renewal_window", t.renewal_window);
  root.read("key_usage", t.key_usage);
  root.read("extended_key_usage", t.extended_key_usage);
  if (root.has("subject_cn")) {
    std::string cn;
    root.read("subject_cn", cn);
    auto it = std::find_if(kCnNames.begin(), kCnNames.end(), [&](const auto& p) { return p.second == cn; });
    if (it == kCnNames.end()) root.error("subject_cn", "must be user, display_name or address");
    else t.subject_cn = it->first;
  }
  root.read("san", t.san);
  root.read("enroll_groups", t.enroll_groups);
  root.read("require_approval", t.require_approval);
  root.read("publish", t.publish);
  root.read("enabled", t.enabled);

  if (root.has("kind") && parseTemplateKind(kind_name)) validate(root, t);
  if (auto st = file->finish(); !st) return fail(st.error());
  return t;
}

std::string templateToToml(const CertTemplate& t) {
  std::vector<std::string> key_types;
  for (KeyType k : t.key_types) key_types.emplace_back(crypto::x509::keyTypeName(k));
  std::string out;
  out += "name = " + quote(t.name) + "\n";
  out += "kind = " + quote(templateKindName(t.kind)) + "\n";
  out += "key_types = " + quoteList(key_types) + "\n";
  out += "lifetime = " + duration(t.lifetime) + "\n";
  out += "renewal_window = " + duration(t.renewal_window) + "\n";
  out += "key_usage = " + quoteList(t.key_usage) + "\n";
  out += "extended_key_usage = " + quoteList(t.extended_key_usage) + "\n";
  out += "subject_cn = " + quote(cnName(t.subject_cn)) + "\n";
  out += "san = " + quoteList(t.san) + "\n";
  out += "enroll_groups = " + quoteList(t.enroll_groups) + "\n";
  out += std::string("require_approval = ") + (t.require_approval ? "true" : "false") + "\n";
  out += std::string("publish = ") + (t.publish ? "true" : "false") + "\n";
  out += std::string("enabled = ") + (t.enabled ? "true" : "false") + "\n";
  return out;
}

}  // namespace rampart::ca
