#include "device/message_security.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "core/ascii.h"
#include "device/transport.h"
#include "http/client.h"

namespace rampart::device {

namespace x509 = crypto::x509;
namespace cms = crypto::cms;
namespace rights = crypto::rights;

namespace {

// CRLs (CDP) and OCSP (AIA) over plain HTTP, names resolved as a phone would.
Result<std::string> fetchRevocation(std::string_view url, std::string_view body) {
  http::RevocationFetch how;
  how.body_limit = 4u << 20;
  how.resolve_names = true;
  return http::fetchRevocationInfo(url, body, how);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

}  // namespace

namespace {

std::string tokenFile(const CertStore& certs, std::string_view template_name) {
  return certs.dir() + "/" + std::string(template_name) + ".pkcs11";
}

struct TokenRef {
  std::string uri;
  std::string module;
};

// "uri=...\nmodule=...\n", written by useToken.
std::optional<TokenRef> readToken(const CertStore& certs, std::string_view template_name) {
  auto text = x509::readFile(tokenFile(certs, template_name), 8192);
  if (!text) return std::nullopt;
  TokenRef ref;
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.rfind("uri=", 0) == 0) ref.uri = std::string(line.substr(4));
    if (line.rfind("module=", 0) == 0) ref.module = std::string(line.substr(7));
  }
  if (ref.uri.empty() || ref.module.empty()) return std::nullopt;
  return ref;
}

// The chain kept for a template (from its enrollment), without its key.
std::vector<x509::CertPtr> storedChain(const CertStore& certs, std::string_view template_name) {
  auto text = x509::readFile(certs.chainPath(template_name), 1 << 20);
  if (!text || text->empty()) return {};
  auto chain = x509::parseCertificates(*text);
  return chain ? std::move(*chain) : std::vector<x509::CertPtr>{};
}

}  // namespace

bool MessageSecurity::hasIdentity() const {
  // Whether the files are there: identity() says what is wrong with them.
  for (std::string_view t : {kSignTemplate, kEncryptTemplate}) {
    std::error_code ec;
    if (std::filesystem::exists(tokenFile(certs_, t), ec) ||
        (std::filesystem::exists(certs_.certPath(t), ec) && std::filesystem::exists(certs_.keyPath(t), ec)))
      return true;
  }
  return false;
}

Status MessageSecurity::useToken(std::string_view template_name, std::string_view uri,
                                 std::string_view module, std::string_view pin) {
  if (template_name != kSignTemplate && template_name != kEncryptTemplate)
    return fail(Errc::invalid_argument, "a token key serves smime-sign or smime-encrypt");
  if (uri.rfind("pkcs11:", 0) != 0 || uri.find_first_of("\r\n") != std::string_view::npos ||
      module.find_first_of("\r\n") != std::string_view::npos || module.empty())
    return fail(Errc::invalid_argument, "--uri must be an RFC 7512 pkcs11: URI and --module a file");
  auto id = cms::identityFromPkcs11(uri, pin, module);
  if (!id) return fail(id.error());
  std::string text = "uri=" + std::string(uri) + "\nmodule=" + std::string(module) + "\n";
  return x509::writeFileAtomic(tokenFile(certs_, template_name), text, 0600);
}

Result<cms::Identity> MessageSecurity::identity(std::string_view template_name) const {
  // The template's own key (on a token, else on disk); a dual-use
  // certificate enrolled under the other S/MIME template serves both.
  std::string_view other = template_name == kSignTemplate ? kEncryptTemplate : kSignTemplate;
  for (std::string_view t : {template_name, other}) {
    if (auto token = readToken(certs_, t)) {
      const char* pin = std::getenv(std::string(kPinEnv).c_str());
      if (pin == nullptr)
        return fail(Errc::permission_denied, "the " + std::string(t) + " key is on a token: set " +
                                                 std::string(kPinEnv) + " to its PIN");
      auto id = cms::identityFromPkcs11(token->uri, pin, token->module);
      if (!id) return fail(id.error());
      id->chain = storedChain(certs_, t);
      return id;
    }
    if (auto stored = certs_.load(t)) {
      cms::Identity id;
      id.key = std::move(stored->key);
      id.cert = std::move(stored->cert);
      id.chain = std::move(stored->chain);
      return id;
    }
  }
  return fail(Errc::not_found, "no S/MIME certificate: run `rampart device cert enroll --template " +
                                   std::string(template_name) + "`");
}

namespace {

constexpr std::size_t kMaxCapabilityLines = 10000;

std::vector<std::pair<std::string, std::string>> readCapabilityLines(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = x509::readFile(path, 1 << 20);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty() && out.size() < kMaxCapabilityLines) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0) continue;
    out.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
  }
  return out;
}

}  // namespace

std::vector<cms::Capabilities> MessageSecurity::capabilitiesOf(
    const std::vector<std::string>& addresses) const {
  std::vector<cms::Capabilities> out(addresses.size());
  if (addresses.empty()) return out;
  std::map<std::string, cms::Capabilities, std::less<>> found;
  for (const auto& a : addresses) found.emplace(lower(a), cms::Capabilities{});
  for (const auto& [addr, text] : readCapabilityLines(certs_.dir() + "/capabilities")) {
    auto it = found.find(addr);
    if (it == found.end()) continue;
    if (auto caps = cms::parseCapabilitiesText(text)) it->second = *caps;
  }
  for (std::size_t i = 0; i < addresses.size(); ++i) out[i] = found[lower(addresses[i])];
  return out;
}

void MessageSecurity::rememberCapabilities(const std::vector<std::string>& addresses,
                                           const cms::Capabilities& caps) const {
  if (!caps.known || addresses.empty()) return;
  std::string path = certs_.dir() + "/capabilities";
  auto lines = readCapabilityLines(path);
  std::string text;
  for (const auto& [addr, value] : lines) {
    bool replaced = false;
    for (const auto& a : addresses) replaced = replaced || lower(a) == addr;
    if (!replaced) text += addr + " " + value + "\n";
  }
  for (const auto& a : addresses) {
    if (a.find_first_of(" \r\n") != std::string::npos) continue;
    text += lower(a) + " " + cms::capabilitiesText(caps) + "\n";
  }
  // Best effort: a failure to remember only means the next message to this
  // correspondent uses the defaults every peer reads.
  (void)x509::writeFileAtomic(path, text, 0600);
}

x509::VerifyOptions MessageSecurity::trust() const {
  x509::VerifyOptions o;
  if (auto roots = certs_.trustedRootCerts()) o.anchors = std::move(*roots);
  o.purpose = x509::Purpose::smime_signing;
  o.revocation = x509::RevocationMode::soft;
  o.fetch = fetchRevocation;
  return o;
}

Result<std::vector<rights::Template>> MessageSecurity::templates() {
  if (!rights_.get) return fail(Errc::unavailable, "no rights server configured");
  auto text = rights_.get("/rights/templates");
  if (!text) return fail(text.error());
  std::vector<rights::Template> out;
  std::string_view rest = *text;
  int n = 0;
  while (!rest.empty()) {
    auto cut = rest.find("\n---\n");
    std::string_view doc = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 5);
    if (doc.find_first_not_of(" \r\n\t") == std::string_view::npos) continue;
    auto t = rights::parseTemplateToml(doc, "rights server template " + std::to_string(++n));
    if (!t) return fail(t.error());
    out.push_back(std::move(*t));
  }
  return out;
}

Result<rights::Template> MessageSecurity::findTemplate(std::string_view name_or_id) {
  auto all = templates();
  if (!all) return fail(all.error());
  std::string want = lower(name_or_id);
  for (auto& t : *all) {
    if (lower(t.id) == want || lower(t.name) == want) {
      if (t.revoked) return fail(Errc::permission_denied, "rights template '" + t.name + "' is revoked");
      return std::move(t);
    }
  }
  return fail(Errc::not_found, "no rights template named '" + std::string(name_or_id) + "'");
}

// The licensor certificate, pinned on first use: fetched over the same
// authenticated TLS channel as EAS, kept in the certificate store, and any
// later change refused until the user removes the pinned file.
Result<x509::CertPtr> MessageSecurity::licensor() {
  std::string path = certs_.dir() + "/rights-licensor.pem";
  auto pinned = x509::readFile(path, 64 * 1024);
  if (pinned) return x509::parseCertificate(*pinned);
  if (!rights_.get) return fail(Errc::unavailable, "no rights server configured");
  auto pem = rights_.get("/rights/licensor.pem");
  if (!pem) return fail(pem.error());
  auto cert = x509::parseCertificate(*pem);
  if (!cert) return fail(Errc::protocol_error, "the rights server's licensor certificate: " + cert.error().message());
  if (auto st = x509::writeFileAtomic(path, x509::certificatePem(cert->get()), 0644); !st) return fail(st.error());
  return cert;
}

Result<std::string> MessageSecurity::secure(std::string message, const SecurityOptions& options,
                                            const std::vector<std::string>& recipients,
                                            const std::vector<std::string>& recipient_certs,
                                            std::int64_t now) {
  // The signing key is loaded once: protecting and signing both use it, and a
  // token key costs a login each time.
  std::optional<cms::Identity> signer;
  auto signing = [&]() -> Result<const cms::Identity*> {
    if (!signer) {
      auto id = identity(kSignTemplate);
      if (!id) return fail(id.error());
      signer = std::move(*id);
    }
    return &*signer;
  };
  if (!options.protect.empty()) {
    auto templ = findTemplate(options.protect);
    if (!templ) return fail(templ.error());
    auto lic = licensor();
    if (!lic) return fail(lic.error());
    auto owner = signing();
    if (!owner) return fail(owner.error());
    rights::ProtectRequest req;
    req.message = message;
    req.templ = &*templ;
    for (const auto& r : recipients) req.recipients.push_back(lower(r));
    req.now = now;
    auto protectedMessage = rights::protectMessage(req, **owner, lic->get());
    if (!protectedMessage) return fail(protectedMessage.error());
    message = std::move(*protectedMessage);
  }
  if (options.sign) {
    auto key = signing();
    if (!key) return fail(key.error());
    auto signedMessage = cms::signMessage(message, **key);
    if (!signedMessage) return fail(signedMessage.error());
    message = std::move(*signedMessage);
  }
  if (options.encrypt) {
    std::vector<cms::Recipient> to;
    const std::vector<cms::Capabilities> known = capabilitiesOf(recipients);
    for (std::size_t i = 0; i < recipient_certs.size(); ++i) {
      auto cert = x509::parseCertificate(recipient_certs[i]);
      if (!cert) return fail(Errc::protocol_error, "a recipient's certificate: " + cert.error().message());
      cms::Capabilities caps = i < known.size() ? known[i] : cms::Capabilities{};
      to.push_back(cms::Recipient{std::move(*cert), caps});
    }
    // The sender's own copy (Sent Items) must stay readable.
    auto self = identity(kEncryptTemplate);
    if (!self) return fail(self.error());
    // This client reads everything it could be sent.
    cms::Capabilities mine{true, true, true, true, true};
    to.push_back(cms::Recipient{x509::CertPtr(X509_dup(self->cert.get())), mine});
    auto enveloped = cms::encryptMessage(message, to);
    if (!enveloped) return fail(enveloped.error());
    message = std::move(*enveloped);
  }
  return message;
}

Result<std::string> MessageSecurity::open(std::string_view message, SecurityReport& report) {
  std::string current(message);
  // The decryption key, loaded once: an encrypted and protected message needs
  // it for both layers.
  std::optional<Result<cms::Identity>> me;
  auto decryption = [&]() -> Result<cms::Identity>& {
    if (!me) me.emplace(identity(kEncryptTemplate));
    return *me;
  };
  if (cms::classify(current) != cms::Layer::none) {
    report.smime = true;
    const Result<cms::Identity>& mine = decryption();
    auto opened = cms::openMessage(current, mine ? &*mine : nullptr, trust());
    if (!opened) return fail(opened.error());
    report.encrypted = opened->encrypted;
    report.cipher = opened->cipher;
    report.signature = std::move(opened->signature);
    if (report.signature && report.signature->good())
      rememberCapabilities(report.signature->signer_emails, report.signature->capabilities);
    current = std::move(opened->message);
  }
  auto parts = rights::splitProtectedMessage(current);
  if (!parts) {
    if (parts.error().is(Errc::not_found)) return current;
    return fail(parts.error());
  }
  if (!rights_.post) return fail(Errc::unavailable, "rights-protected message and no rights server configured");
  auto pl = rights::readPublishingLicense(parts->signed_license);
  if (!pl) return fail(pl.error());
  auto answer = rights_.post("/rights/license", parts->signed_license,
                             "application/vnd.rampart.publishing-license");
  if (!answer) return fail(answer.error());
  if (answer->first != 200) {
    std::string why = answer->second.substr(0, 300);
    Errc code = answer->first == 403 ? Errc::permission_denied
                : answer->first == 404 ? Errc::not_found
                                       : Errc::protocol_error;
    return fail(code, "the rights server refused a use license (HTTP " + std::to_string(answer->first) +
                          (why.empty() ? ")" : "): " + why));
  }
  auto lic = licensor();
  if (!lic) return fail(lic.error());
  auto use = rights::readUseLicense(answer->second, lic->get());
  if (!use) return fail(use.error());
  if (use->license_id != pl->license.id)
    return fail(Errc::protocol_error, "the use license is for another message");
  // readUseLicense checks who signed; the times are the reader's to enforce.
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  if (use->expires != 0 && use->expires < now)
    return fail(Errc::permission_denied, "the use license has expired");
  if (use->content_expiry != 0 && use->content_expiry < now)
    return fail(Errc::permission_denied, "the message's content has expired (set by " + use->owner + ")");
  const Result<cms::Identity>& mine = decryption();
  if (!mine) return fail(mine.error());
  auto key = rights::unwrapContentKey(use->wrapped_key, *mine);
  if (!key) return fail(key.error());
  auto plain = rights::unprotectMessage(*parts, *key, use->license_id);
  if (!plain) return fail(plain.error());
  report.rights = std::move(*use);
  return plain;
}

}  // namespace rampart::device
