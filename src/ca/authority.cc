#include "ca/authority.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <utility>
#include <variant>

#include "ca/detail/crl.h"
#include "ca/detail/issuer.h"
#include "ca/detail/ocsp_responder.h"
#include "core/log.h"

namespace rampart::ca {
namespace {

namespace x509 = crypto::x509;
using std::chrono::seconds;

// The delegated responder's lifetime, and when it is re-made: short-lived
// because id-pkix-ocsp-nocheck makes clients trust it without asking
// (RFC 6960 4.2.2.2.1).
constexpr std::int64_t kResponderLifetime = 30 * 24 * 3600;
constexpr std::int64_t kResponderRenewBefore = kResponderLifetime / 3;
// Clock skew allowance for every certificate's notBefore.
constexpr std::int64_t kBackdate = 5 * 60;
// Serial collisions are astronomically unlikely; a few draws are plenty.
constexpr int kSerialAttempts = 8;
// Cached OCSP answers: only small requests (a real one is ~100 bytes), and a
// bounded number of them (the cache is dropped whole when full).
constexpr std::size_t kMaxCachedRequestDer = 512;
constexpr std::size_t kMaxCachedAnswers = 4096;
// Parsed templates, by name (a handful exist; the cache is dropped whole when
// full, as the OCSP one).
constexpr std::size_t kMaxCachedTemplates = 256;

EnrollResult rejected(std::string reason) {
  EnrollResult r;
  r.kind = EnrollResult::Kind::rejected;
  r.reason = std::move(reason);
  return r;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A CA key must be readable by its owner only (issue 5).
Result<x509::KeyPtr> loadKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(Errc::io_error, path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    return fail(Errc::config_error, path + " is readable by others; chmod 600 it");
  }
  auto pem = x509::readFile(path, 1024 * 1024);
  if (!pem) return fail(pem.error());
  auto key = x509::parsePrivateKeyPem(*pem);
  if (!key) return fail(key.error().code, path + ": " + key.error().detail);
  return key;
}

Result<x509::CertPtr> loadCert(const std::string& path) {
  auto pem = x509::readFile(path, 1024 * 1024);
  if (!pem) return fail(pem.error());
  auto cert = x509::parseCertificate(*pem);
  if (!cert) return fail(cert.error().code, path + ": " + cert.error().detail);
  return cert;
}

Status writeKey(const std::string& path, EVP_PKEY* key) {
  auto pem = x509::privateKeyPem(key);
  if (!pem) return fail(pem.error());
  return x509::writeFileAtomic(path, *pem, 0600);
}

Status writeCert(const std::string& path, X509* cert) {
  return x509::writeFileAtomic(path, x509::certificatePem(cert), 0644);
}

bool isCa(X509* cert) { return X509_check_ca(cert) >= 1; }

bool signedBy(X509* cert, X509* issuer) {
  bool ok = X509_verify(cert, X509_get0_pubkey(issuer)) == 1 &&
            X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0;
  ERR_clear_error();
  return ok;
}

bool keyMatches(X509* cert, EVP_PKEY* key) {
  bool ok = X509_check_private_key(cert, key) == 1;
  ERR_clear_error();
  return ok;
}

// Characters of a UTF-8 string (RFC 5280 ub-common-name counts characters).
std::size_t utf8Length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A host name as a DNS SAN may carry it (RFC 5280 4.2.1.6, preferred name
// syntax): letters, digits and hyphens in labels of 1..63, at most 253 in
// all; no wildcard, no trailing dot.
bool isHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// `name` is `domain` or a name under it.
bool underDomain(std::string_view name, std::string_view domain) {
  if (name == domain) return true;
  return name.size() > domain.size() && name.ends_with(domain) && name[name.size() - domain.size() - 1] == '.';
}

// A template may list usages for both key families (S/MIME encryption:
// keyEncipherment for RSA, keyAgreement for EC); the certificate gets those
// its key can do (RFC 3279 2.3.1 for RSA, RFC 5480 3 for EC keys).
std::vector<std::string> usagesFor(const std::vector<std::string>& usages, EVP_PKEY* key) {
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  std::vector<std::string> out;
  for (const auto& u : usages) {
    const bool rsa_only = u == "keyEncipherment" || u == "dataEncipherment";
    const bool ec_only = u == "keyAgreement" || u == "encipherOnly" || u == "decipherOnly";
    if ((rsa && ec_only) || (!rsa && rsa_only)) continue;
    out.push_back(u);
  }
  return out.empty() ? usages : out;
}

// The store's spelling of a serial (ca_store.h: upper-case hex without
// leading zeros), whatever another helper's padding.
std::string serialOf(X509* cert) { return detail::serialHexOf(X509_get0_serialNumber(cert)); }

std::string normaliseSerial(std::string_view serial) {
  std::string out;
  for (char c : serial) out += (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  std::size_t first = out.find_first_not_of('0');
  if (first == std::string::npos) return out.empty() ? out : "0";
  return out.substr(first);
}

}  // namespace

struct Authority::Impl {
  struct Responder {
    x509::CertPtr cert;
    x509::KeyPtr key;
    std::int64_t not_after = 0;
  };
  struct CachedAnswer {
    std::string der;
    std::int64_t expires_at = 0;
  };
  struct CachedTemplate {
    std::string toml;  // the text it was parsed from
    std::shared_ptr<const CertTemplate> parsed;
  };

  AuthorityConfig config;
  std::shared_ptr<store::CaStore> store;
  std::shared_ptr<directory::Directory> directory;
  std::shared_ptr<directory::DirectoryAdmin> publish_to;
  const Clock& clock;
  Random& random = systemRandom();
  std::shared_ptr<spdlog::logger> log = log::get("ca");

  // Set in open(), immutable afterwards (so enroll needs no lock).
  x509::CertPtr root_cert;
  x509::KeyPtr root_key;  // null when the root was imported without its key
  x509::CertPtr issuing_cert;
  x509::KeyPtr issuing_key;
  std::int64_t issuing_not_after = 0;

  std::mutex mutex;  // guards everything below
  std::shared_ptr<const Responder> responder;
  std::string crl_der;
  std::int64_t crl_this_update = 0;
  std::int64_t crl_generation = -1;
  std::unordered_map<std::string, CachedAnswer> ocsp_cache;
  std::int64_t ocsp_generation = -1;

  std::mutex template_mutex;  // guards templates
  std::unordered_map<std::string, CachedTemplate> templates;

  Impl(AuthorityConfig c, std::shared_ptr<store::CaStore> s, std::shared_ptr<directory::Directory> d,
       std::shared_ptr<directory::DirectoryAdmin> p, const Clock& cl)
      : config(std::move(c)), store(std::move(s)), directory(std::move(d)), publish_to(std::move(p)), clock(cl) {}

  std::string path(const char* name) const { return config.dir + "/" + name; }
  std::int64_t now() const { return unixSeconds(clock.now()); }

  // --- keys and CA certificates -------------------------------------------

  Status makeRoot(std::int64_t t) {
    auto key = x509::generateKey(config.key_type);
    if (!key) return fail(key.error());
    detail::CertSpec spec;
    spec.subject_key = key->get();
    spec.issuer_key = key->get();
    spec.organization = config.organization;
    spec.common_name = config.root_name;
    spec.not_before = t - kBackdate;
    spec.not_after = t + config.root_lifetime.count();
    spec.ca = true;  // RFC 5280 4.2.1.9: critical, no path length on the root
    spec.key_usage = {"keyCertSign", "cRLSign"};
    auto cert = detail::buildCertificate(spec, random);
    if (!cert) return fail(cert.error());
    if (auto st = writeKey(path("root.key"), key->get()); !st) return st;
    if (auto st = writeCert(path("root.crt"), cert->get()); !st) return st;
    root_key = std::move(*key);
    root_cert = std::move(*cert);
    log->info("generated root CA '{}' ({})", config.root_name, x509::sha256Fingerprint(root_cert.get()));
    return {};
  }

  Status makeIssuing(std::int64_t t) {
    if (!root_key) return fail(Errc::config_error, "the root key is not in " + config.dir + ": cannot make an issuing CA");
    auto key = x509::generateKey(config.key_type);
    if (!key) return fail(key.error());
    detail::CertSpec spec;
    spec.subject_key = key->get();
    spec.issuer = root_cert.get();
    spec.issuer_key = root_key.get();
    spec.organization = config.organization;
    spec.common_name = config.issuing_name;
    spec.not_before = t - kBackdate;
    spec.not_after = std::min(t + config.issuing_lifetime.count(), x509::notAfter(root_cert.get()));
    spec.ca = true;
    spec.path_len = 0;  // it signs end entities only
    spec.key_usage = {"keyCertSign", "cRLSign"};
    auto cert = detail::buildCertificate(spec, random);
    if (!cert) return fail(cert.error());
    if (auto st = writeKey(path("issuing.key"), key->get()); !st) return st;
    if (auto st = writeCert(path("issuing.crt"), cert->get()); !st) return st;
    issuing_key = std::move(*key);
    issuing_cert = std::move(*cert);
    log->info("generated issuing CA '{}' ({})", config.issuing_name, x509::sha256Fingerprint(issuing_cert.get()));
    return {};
  }

  Status importCa() {
    const auto& c = config;
    if (c.import_root_cert.empty() || c.import_issuing_cert.empty() || c.import_issuing_key.empty()) {
      return fail(Errc::config_error, "importing a CA needs the root certificate and the issuing certificate and key");
    }
    auto root = loadCert(c.import_root_cert);
    if (!root) return fail(root.error());
    auto issuing = loadCert(c.import_issuing_cert);
    if (!issuing) return fail(issuing.error());
    auto pem = x509::readFile(c.import_issuing_key, 1024 * 1024);
    if (!pem) return fail(pem.error());
    auto issuing_k = x509::parsePrivateKeyPem(*pem);
    if (!issuing_k) return fail(issuing_k.error().code, c.import_issuing_key + ": " + issuing_k.error().detail);
    x509::KeyPtr root_k;
    if (!c.import_root_key.empty()) {
      auto rpem = x509::readFile(c.import_root_key, 1024 * 1024);
      if (!rpem) return fail(rpem.error());
      auto k = x509::parsePrivateKeyPem(*rpem);
      if (!k) return fail(k.error().code, c.import_root_key + ": " + k.error().detail);
      if (!keyMatches(root->get(), k->get())) return fail(Errc::config_error, "the imported root key does not match its certificate");
      root_k = std::move(*k);
    }
    if (!isCa(root->get()) || !signedBy(root->get(), root->get())) {
      return fail(Errc::config_error, "the imported root is not a self-signed CA certificate");
    }
    if (!isCa(issuing->get()) || !signedBy(issuing->get(), root->get())) {
      return fail(Errc::config_error, "the imported issuing certificate is not a CA signed by the imported root");
    }
    if (!keyMatches(issuing->get(), issuing_k->get())) {
      return fail(Errc::config_error, "the imported issuing key does not match its certificate");
    }
    if (root_k) {
      if (auto st = writeKey(path("root.key"), root_k.get()); !st) return st;
    }
    if (auto st = writeKey(path("issuing.key"), issuing_k->get()); !st) return st;
    if (auto st = writeCert(path("root.crt"), root->get()); !st) return st;
    if (auto st = writeCert(path("issuing.crt"), issuing->get()); !st) return st;
    root_cert = std::move(*root);
    root_key = std::move(root_k);
    issuing_cert = std::move(*issuing);
    issuing_key = std::move(*issuing_k);
    log->info("imported CA: root {} issuing {}", x509::sha256Fingerprint(root_cert.get()),
              x509::sha256Fingerprint(issuing_cert.get()));
    return {};
  }

  Status loadOrCreateCa(std::int64_t t) {
    const bool have_root = fileExists(path("root.crt"));
    const bool have_issuing = fileExists(path("issuing.crt"));
    const bool importing = !config.import_root_cert.empty() || !config.import_issuing_cert.empty() ||
                           !config.import_issuing_key.empty() || !config.import_root_key.empty();
    if (!have_root && have_issuing) return fail(Errc::config_error, path("root.crt") + " is missing");
    if (!have_root) {
      if (importing) {
        if (auto st = importCa(); !st) return st;
      } else {
        if (auto st = makeRoot(t); !st) return st;
        if (auto st = makeIssuing(t); !st) return st;
      }
    } else {
      auto root = loadCert(path("root.crt"));
      if (!root) return fail(root.error());
      root_cert = std::move(*root);
      if (fileExists(path("root.key"))) {
        auto key = loadKey(path("root.key"));
        if (!key) return fail(key.error());
        if (!keyMatches(root_cert.get(), key->get())) return fail(Errc::config_error, path("root.key") + " does not match root.crt");
        root_key = std::move(*key);
      }
      if (!have_issuing) {
        if (auto st = makeIssuing(t); !st) return st;
      } else {
        auto issuing = loadCert(path("issuing.crt"));
        if (!issuing) return fail(issuing.error());
        auto key = loadKey(path("issuing.key"));
        if (!key) return fail(key.error());
        if (!keyMatches(issuing->get(), key->get())) {
          return fail(Errc::config_error, path("issuing.key") + " does not match issuing.crt");
        }
        issuing_cert = std::move(*issuing);
        issuing_key = std::move(*key);
      }
    }
    if (!isCa(issuing_cert.get()) || !signedBy(issuing_cert.get(), root_cert.get())) {
      return fail(Errc::config_error, "issuing.crt is not a CA certificate signed by root.crt");
    }
    issuing_not_after = x509::notAfter(issuing_cert.get());
    if (issuing_not_after <= t) log->warn("the issuing CA certificate has expired: nothing it issues will verify");
    return x509::writeFileAtomic(path("chain.pem"),
                                 x509::certificatePem(issuing_cert.get()) + x509::certificatePem(root_cert.get()), 0644);
  }

  // --- the delegated OCSP responder (RFC 6960 4.2.2.2) --------------------

  std::int64_t responderNotAfterFor(std::int64_t t) const {
    return std::min(t + kResponderLifetime, issuing_not_after);
  }

  bool responderUsable(const Responder& r, std::int64_t t) const {
    if (r.not_after <= t) return false;
    // Near its end, and a new one would actually live longer.
    return !(t >= r.not_after - kResponderRenewBefore && responderNotAfterFor(t) > r.not_after);
  }

  Status makeResponder(std::int64_t t) {  // mutex held (or in open)
    auto key = x509::generateKey(config.key_type);
    if (!key) return fail(key.error());
    detail::CertSpec spec;
    spec.subject_key = key->get();
    spec.issuer = issuing_cert.get();
    spec.issuer_key = issuing_key.get();
    spec.organization = config.organization;
    spec.common_name = config.issuing_name + " OCSP Responder";
    spec.not_before = t - kBackdate;
    spec.not_after = responderNotAfterFor(t);
    spec.key_usage = {"digitalSignature"};
    spec.extended_key_usage = {"OCSPSigning"};
    spec.ocsp_nocheck = true;
    auto cert = detail::buildCertificate(spec, random);
    if (!cert) return fail(cert.error());
    if (auto st = writeKey(path("ocsp.key"), key->get()); !st) return st;
    if (auto st = writeCert(path("ocsp.crt"), cert->get()); !st) return st;
    auto r = std::make_shared<Responder>();
    r->not_after = x509::notAfter(cert->get());
    r->cert = std::move(*cert);
    r->key = std::move(*key);
    responder = std::move(r);
    ocsp_cache.clear();
    log->info("new OCSP responder certificate, serial {}", serialOf(responder->cert.get()));
    return {};
  }

  Status loadOrMakeResponder(std::int64_t t) {
    if (fileExists(path("ocsp.crt")) && fileExists(path("ocsp.key"))) {
      auto key = loadKey(path("ocsp.key"));
      if (!key && key.error().is(Errc::config_error)) return fail(key.error());  // readable by others
      auto cert = loadCert(path("ocsp.crt"));
      if (cert && key && signedBy(cert->get(), issuing_cert.get()) && keyMatches(cert->get(), key->get())) {
        auto r = std::make_shared<Responder>();
        r->not_after = x509::notAfter(cert->get());
        r->cert = std::move(*cert);
        r->key = std::move(*key);
        if (responderUsable(*r, t)) {
          responder = std::move(r);
          return {};
        }
      }
    }
    return makeResponder(t);
  }

  Status keepResponderFresh(std::int64_t t) {  // mutex held
    if (responder && responderUsable(*responder, t)) return {};
    auto st = makeResponder(t);
    if (!st) log->error("cannot renew the OCSP responder certificate: {}", st.error().message());
    return st;
  }

  // --- CRL (RFC 5280 5) ----------------------------------------------------

  Status issueCrl(std::int64_t t) {  // mutex held
    auto generation = store->revocationGeneration();
    if (!generation) return fail(generation.error());
    auto revoked = store->revokedSince(t);
    if (!revoked) return fail(revoked.error());
    auto number = store->nextCrlNumber();
    if (!number) return fail(number.error());
    detail::CrlSpec spec;
    spec.issuer = issuing_cert.get();
    spec.issuer_key = issuing_key.get();
    spec.number = *number;
    spec.this_update = t;
    spec.next_update = t + config.crl_validity.count();
    spec.revoked = std::move(*revoked);
    auto crl = detail::buildCrl(spec);
    if (!crl) return fail(crl.error());
    if (auto st = x509::writeFileAtomic(path("issuing.crl"), x509::crlPem(crl->get()), 0644); !st) return st;
    crl_der = x509::crlDer(crl->get());
    crl_this_update = t;
    crl_generation = *generation;
    log->info("CRL {} issued with {} entries", *number, spec.revoked.size());
    return {};
  }

  Status refreshCrl(std::int64_t t) {  // mutex held
    auto generation = store->revocationGeneration();
    if (!generation) return fail(generation.error());
    if (*generation != ocsp_generation) {
      ocsp_cache.clear();
      ocsp_generation = *generation;
    }
    const bool stale = crl_der.empty() || *generation != crl_generation ||
                       t >= crl_this_update + config.crl_validity.count() / 2;
    return stale ? issueCrl(t) : Status{};
  }

  // --- enrollment ----------------------------------------------------------

  struct Subject {
    std::string common_name;
    std::vector<detail::SanEntry> san;
  };

  // Subject and SAN from the directory and the template (never the CSR's
  // subject); the CSR's DNS names only for requested_dns. A string is a refusal.
  std::variant<Subject, std::string> subjectFor(const CertTemplate& tmpl, const directory::User& user,
                                                const x509::ParsedCsr& csr) const {
    Subject out;
    switch (tmpl.subject_cn) {
      case SubjectCn::user: out.common_name = user.name; break;
      case SubjectCn::display_name: out.common_name = user.display_name.empty() ? user.name : user.display_name; break;
      case SubjectCn::address:
        if (user.addresses.empty()) return std::string("the user has no mail address for the subject");
        out.common_name = user.addresses.front();
        break;
    }
    if (out.common_name.empty() || utf8Length(out.common_name) > 64) {  // RFC 5280 A.1 ub-common-name
      return std::string("the subject common name would be empty or over 64 characters");
    }
    std::vector<std::string> fixed_dns;
    for (const auto& rule : tmpl.san) {
      if (rule.starts_with("dns:")) fixed_dns.push_back(lower(rule.substr(4)));
    }
    auto add_dns = [&](const std::string& name) {
      for (const auto& e : out.san) {
        if (e.type == detail::SanEntry::Type::dns && e.value == name) return;
      }
      out.san.push_back({detail::SanEntry::Type::dns, name});
    };
    for (const auto& rule : tmpl.san) {
      if (rule == "email") {
        std::size_t before = out.san.size();
        for (const auto& a : user.addresses) {
          if (isAscii(a)) out.san.push_back({detail::SanEntry::Type::email, a});  // rfc822Name is IA5String
        }
        if (out.san.size() == before) return std::string("the user has no mail address for the certificate");
      } else if (rule == "upn") {
        if (user.addresses.empty()) return std::string("the user has no mail address for the UPN");
        out.san.push_back({detail::SanEntry::Type::upn, user.addresses.front()});
      } else if (rule.starts_with("dns:")) {
        add_dns(lower(rule.substr(4)));
      } else if (rule == "requested_dns") {
        if (tmpl.kind != TemplateKind::tls_server) continue;
        for (const auto& requested : csr.san_dns) {
          // Under a dns: name of the template; a template that lists none
          // takes requested names only when an administrator approves them.
          std::string name = lower(requested);
          bool allowed = isHostName(name) &&
                         (fixed_dns.empty() ? tmpl.require_approval
                                            : std::any_of(fixed_dns.begin(), fixed_dns.end(),
                                                          [&](const auto& d) { return underDomain(name, d); }));
          if (!allowed) return "the DNS name '" + requested + "' is not allowed for this certificate type";
          add_dns(name);
        }
      }
    }
    return out;
  }

  // The template `name` as the store has it now; null when there is none.
  // The TOML text is read from the store on every call, so an edit made by
  // another process (`rampart admin template set`) counts from the next
  // request; only the parse is reused, while the text is the same.
  Result<std::shared_ptr<const CertTemplate>> templateNamed(std::string_view name) {
    auto text = store->getTemplate(name);
    if (!text) return fail(text.error());
    if (!*text) return std::shared_ptr<const CertTemplate>();
    std::string key(name);
    {
      std::lock_guard lock(template_mutex);
      if (auto it = templates.find(key); it != templates.end() && it->second.toml == **text) return it->second.parsed;
    }
    auto parsed = parseTemplate(**text, "template " + key);
    if (!parsed) return fail(parsed.error());
    auto shared = std::make_shared<const CertTemplate>(std::move(*parsed));
    std::lock_guard lock(template_mutex);
    if (templates.size() >= kMaxCachedTemplates && !templates.contains(key)) templates.clear();
    templates[std::move(key)] = CachedTemplate{std::move(**text), shared};
    return shared;
  }

  // Signs the certificate and records it, committed before it returns:
  // `record_id` names an approved request already in the store (markIssued);
  // 0 means `fresh` is a new request, written already issued in one
  // transaction (addIssued: one commit per issuance, not two).
  Result<EnrollResult> issue(std::int64_t record_id, store::CertRecord* fresh, const CertTemplate& tmpl,
                             const directory::User& user, const Subject& subject, const x509::ParsedCsr& csr) {
    const std::int64_t t = now();
    detail::CertSpec spec;
    spec.subject_key = csr.public_key.get();
    spec.issuer = issuing_cert.get();
    spec.issuer_key = issuing_key.get();
    spec.organization = config.organization;
    spec.common_name = subject.common_name;
    spec.not_before = t - kBackdate;
    spec.not_after = std::min(t + tmpl.lifetime.count(), issuing_not_after);
    spec.key_usage = usagesFor(tmpl.key_usage, csr.public_key.get());
    spec.extended_key_usage = tmpl.extended_key_usage;
    spec.san = subject.san;
    spec.crl_url = config.crl_url;
    spec.ocsp_url = config.ocsp_url;
    if (spec.not_after <= t) return fail(Errc::unavailable, "the issuing CA certificate has expired");
    for (int attempt = 0; attempt < kSerialAttempts; ++attempt) {
      auto cert = detail::buildCertificate(spec, random);
      if (!cert) {
        if (cert.error().is(Errc::invalid_argument)) return rejected(cert.error().detail);
        return fail(cert.error());
      }
      const std::string serial = serialOf(cert->get());
      std::string der = x509::certificateDer(cert->get());
      std::string subject_text = x509::subjectText(cert->get());
      const std::int64_t not_after = x509::notAfter(cert->get());
      Status st;
      if (record_id > 0) {
        st = store->markIssued(record_id, serial, der, subject_text, t, x509::notBefore(cert->get()), not_after);
      } else {
        fresh->status = store::CertStatus::issued;
        fresh->serial = serial;
        fresh->cert_der = der;
        fresh->subject = subject_text;
        fresh->issued_at = t;
        fresh->not_before = x509::notBefore(cert->get());
        fresh->not_after = not_after;
        if (auto id = store->addIssued(*fresh); !id) st = fail(id.error());
      }
      if (!st) {
        if (st.error().is(Errc::already_exists)) continue;  // serial taken: draw another
        return fail(st.error());
      }
      log->info("issued {} certificate {} to {} ({})", tmpl.name, serial, user.name, subject_text);
      if (tmpl.publish && publish_to) {
        directory::PublishedCertificate published{serial, std::string(templateKindName(tmpl.kind)), std::move(der),
                                                  not_after};
        if (auto p = publish_to->publishCertificate(user.name, published); !p) {
          log->warn("certificate {} issued but not published to the directory: {}", serial, p.error().message());
        }
      }
      EnrollResult result;
      result.kind = EnrollResult::Kind::issued;
      result.serial = serial;
      result.cert = std::move(*cert);
      return result;
    }
    return fail(Errc::internal, "no free serial number after several draws");
  }

  Result<EnrollResult> enroll(const EnrollRequest& request, const x509::ParsedCsr& csr) {
    auto found_template = templateNamed(request.template_name);
    if (!found_template) return fail(found_template.error());
    if (!*found_template) return rejected("unknown certificate type '" + request.template_name + "'");
    const CertTemplate* tmpl = found_template->get();
    if (!tmpl->enabled) return rejected("certificate type '" + tmpl->name + "' is disabled");

    auto found = directory->findUser(request.user);
    if (!found) return fail(found.error());
    if (!*found) return rejected("unknown user");
    const directory::User& user = **found;
    if (!user.enabled) return rejected("the user is disabled");
    if (!tmpl->enroll_groups.empty()) {
      auto groups = directory->groupsOf(user.name);
      if (!groups) return fail(groups.error());
      bool member = std::any_of(groups->begin(), groups->end(), [&](const std::string& g) {
        return std::find(tmpl->enroll_groups.begin(), tmpl->enroll_groups.end(), g) != tmpl->enroll_groups.end();
      });
      if (!member) return rejected("the user is not in a group allowed to enroll for '" + tmpl->name + "'");
    }
    if (std::find(tmpl->key_types.begin(), tmpl->key_types.end(), csr.key_type) == tmpl->key_types.end()) {
      return rejected("key type " + std::string(x509::keyTypeName(csr.key_type)) + " is not allowed for '" +
                      tmpl->name + "'");
    }
    auto subject = subjectFor(*tmpl, user, csr);
    if (auto* refusal = std::get_if<std::string>(&subject)) return rejected(*refusal);
    const Subject& names = std::get<Subject>(subject);
    const std::int64_t t = now();

    // simplereenroll (RFC 7030 4.2.2): the certificate presented must be a
    // live one of ours, for this user and type, inside its renewal window.
    std::string renewed;
    if (request.current) {
      const std::string serial = serialOf(request.current.get());
      auto rec = store->findBySerial(serial);
      if (!rec) return fail(rec.error());
      if (!*rec || (*rec)->cert_der != x509::certificateDer(request.current.get())) {
        return rejected("the current certificate was not issued by this CA");
      }
      const store::CertRecord& cur = **rec;
      if (cur.user != user.name) return rejected("the current certificate belongs to another user");
      if (cur.template_name != tmpl->name) return rejected("the current certificate is of another type");
      if (cur.status != store::CertStatus::issued) return rejected("the current certificate is revoked");
      if (t > cur.not_after) return rejected("the current certificate has expired");
      if (t < cur.not_after - tmpl->renewal_window.count()) {
        return rejected("too early to renew: the renewal window opens " +
                        std::to_string((cur.not_after - tmpl->renewal_window.count() - t) / 86400 + 1) +
                        " day(s) from now");
      }
      renewed = serial;
    }

    // The same CSR again: RFC 7030 4.2.3's retry after a 202, or a lost answer.
    auto previous = store->findByCsr(user.name, tmpl->name, csr.sha256);
    if (!previous) return fail(previous.error());
    if (*previous) {
      const store::CertRecord& prev = **previous;
      switch (prev.status) {
        case store::CertStatus::pending: {
          EnrollResult r;
          r.kind = EnrollResult::Kind::pending;
          r.retry_after = config.retry_after;
          return r;
        }
        case store::CertStatus::approved: return issue(prev.id, nullptr, *tmpl, user, names, csr);
        case store::CertStatus::rejected: return rejected("the request was rejected by an administrator");
        case store::CertStatus::revoked: return rejected("the certificate issued for this request was revoked");
        case store::CertStatus::issued:
          if (prev.renewed_serial == renewed) {  // the same answer again
            auto cert = x509::parseCertificate(prev.cert_der);
            if (!cert) return fail(cert.error());
            EnrollResult r;
            r.kind = EnrollResult::Kind::issued;
            r.serial = prev.serial;
            r.cert = std::move(*cert);
            return r;
          }
          break;  // a renewal reusing the request of the current certificate: a new one
      }
    }

    // A renewal of an approved certificate needs no second approval.
    const bool needs_approval = tmpl->require_approval && renewed.empty();
    store::CertRecord record;
    record.template_name = tmpl->name;
    record.user = user.name;
    record.requester = request.requester;
    record.csr_sha256 = csr.sha256;
    record.renewed_serial = renewed;
    record.requested_at = t;
    if (!needs_approval) return issue(0, &record, *tmpl, user, names, csr);  // recorded there, issued
    record.status = store::CertStatus::pending;
    record.subject = detail::subjectTextFor(config.organization, names.common_name);
    record.csr_der = csr.der;
    auto id = store->addRequest(record);
    if (!id) return fail(id.error());
    log->info("request {} from {} for {} waits for approval", *id, request.requester, tmpl->name);
    EnrollResult r;
    r.kind = EnrollResult::Kind::pending;
    r.retry_after = config.retry_after;
    return r;
  }

  // --- OCSP ----------------------------------------------------------------

  std::string ocspRespond(std::string_view der) {
    const std::int64_t t = now();
    std::shared_ptr<const Responder> signer;
    std::int64_t generation = 0;
    const bool cacheable = der.size() <= kMaxCachedRequestDer;
    {
      std::lock_guard lock(mutex);
      auto g = store->revocationGeneration();
      if (!g) {
        log->error("OCSP: {}", g.error().message());
        return detail::ocspStatusOnly(OCSP_RESPONSE_STATUS_TRYLATER);
      }
      if (*g != ocsp_generation) {
        ocsp_cache.clear();
        ocsp_generation = *g;
      }
      generation = *g;
      (void)keepResponderFresh(t);
      if (!responder || responder->not_after <= t) return detail::ocspStatusOnly(OCSP_RESPONSE_STATUS_INTERNALERROR);
      if (cacheable) {
        if (auto it = ocsp_cache.find(std::string(der)); it != ocsp_cache.end()) {
          if (t < it->second.expires_at) return it->second.der;
          ocsp_cache.erase(it);
        }
      }
      signer = responder;
    }
    auto lookup = [this](const std::string& serial) -> Result<detail::OcspCertStatus> {
      auto rec = store->findBySerial(serial);
      if (!rec) return fail(rec.error());
      detail::OcspCertStatus s;
      if (*rec && (*rec)->status == store::CertStatus::issued) {
        s.kind = detail::OcspCertStatus::Kind::good;
      } else if (*rec && (*rec)->status == store::CertStatus::revoked) {
        s.kind = detail::OcspCertStatus::Kind::revoked;
        s.revoked_at = (*rec)->revoked_at;
        s.reason = (*rec)->revocation_reason;
      }
      return s;
    };
    detail::OcspSigner keys{issuing_cert.get(), signer->cert.get(), signer->key.get()};
    detail::OcspAnswer answer = detail::answerOcsp(der, keys, lookup, t, config.ocsp_validity.count());
    if (answer.successful && !answer.has_nonce && cacheable) {
      std::lock_guard lock(mutex);
      if (generation == ocsp_generation && signer == responder) {
        if (ocsp_cache.size() >= kMaxCachedAnswers) ocsp_cache.clear();
        ocsp_cache[std::string(der)] = CachedAnswer{answer.der, t + config.ocsp_validity.count() / 2};
      }
    }
    return std::move(answer.der);
  }
};

Result<std::shared_ptr<Authority>> Authority::open(AuthorityConfig config, std::shared_ptr<store::CaStore> store,
                                                   std::shared_ptr<directory::Directory> dir,
                                                   std::shared_ptr<directory::DirectoryAdmin> publish_to,
                                                   const Clock& clock) {
  if (config.dir.empty()) return fail(Errc::config_error, "the CA needs a directory");
  if (!store || !dir) return fail(Errc::invalid_argument, "the CA needs a store and a directory");
  if (config.crl_validity.count() <= 0 || config.ocsp_validity.count() <= 0) {
    return fail(Errc::config_error, "CRL and OCSP validity must be positive");
  }
  std::error_code ec;
  if (!std::filesystem::exists(config.dir, ec)) {
    std::filesystem::create_directories(config.dir, ec);
    if (ec) return fail(Errc::io_error, "cannot create " + config.dir + ": " + ec.message());
    if (::chmod(config.dir.c_str(), 0700) != 0) {
      return fail(Errc::io_error, "cannot chmod " + config.dir + ": " + std::strerror(errno));
    }
  }
  auto impl = std::make_unique<Impl>(std::move(config), std::move(store), std::move(dir), std::move(publish_to), clock);
  const std::int64_t t = impl->now();
  if (auto st = impl->loadOrCreateCa(t); !st) return fail(st.error());
  {
    std::lock_guard lock(impl->mutex);
    if (auto st = impl->loadOrMakeResponder(t); !st) return fail(st.error());
    if (auto st = impl->refreshCrl(t); !st) return fail(st.error());
  }
  auto templates = impl->store->listTemplates();
  if (!templates) return fail(templates.error());
  if (templates->empty()) {
    for (const auto& tmpl : builtinTemplates()) {
      if (auto st = impl->store->putTemplate(tmpl.name, templateToToml(tmpl)); !st) return fail(st.error());
    }
  }
  return std::shared_ptr<Authority>(new Authority(std::move(impl)));
}

Authority::Authority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authority::~Authority() = default;

Result<EnrollResult> Authority::enroll(const EnrollRequest& request, const crypto::x509::ParsedCsr& csr) {
  if (!csr.public_key) return fail(Errc::invalid_argument, "the request has no key");
  return impl_->enroll(request, csr);
}

Status Authority::revoke(std::string_view serial, int reason, std::string_view by) {
  if (!detail::isValidCrlReason(reason)) return fail(Errc::invalid_argument, "not an RFC 5280 5.3.1 reason code");
  const std::string normal = normaliseSerial(serial);
  if (normal.empty() || normal.size() > 64 || normal.find_first_not_of("0123456789ABCDEF") != std::string::npos) {
    return fail(Errc::invalid_argument, "a serial number is hexadecimal");
  }
  const std::int64_t t = impl_->now();
  if (auto st = impl_->store->revoke(normal, reason, t, by); !st) return st;
  impl_->log->info("certificate {} revoked by {} (reason {})", normal, by, reason);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->ocsp_cache.clear();
    if (auto st = impl_->issueCrl(t); !st) {
      impl_->log->error("certificate {} revoked but the CRL was not re-issued: {}", normal, st.error().message());
      return st;
    }
  }
  if (impl_->publish_to) {
    if (auto st = impl_->publish_to->unpublishCertificate(normal); !st && !st.error().is(Errc::not_found)) {
      impl_->log->debug("unpublishing {}: {}", normal, st.error().message());
    }
  }
  return {};
}

Result<std::string> Authority::crlDer() {
  std::lock_guard lock(impl_->mutex);
  if (auto st = impl_->refreshCrl(impl_->now()); !st) {
    if (impl_->crl_der.empty()) return fail(st.error());
    impl_->log->error("CRL refresh failed, serving the previous one: {}", st.error().message());
  }
  return impl_->crl_der;
}

Status Authority::refresh() {
  std::lock_guard lock(impl_->mutex);
  const std::int64_t t = impl_->now();
  auto crl = impl_->refreshCrl(t);
  auto responder = impl_->keepResponderFresh(t);
  if (!crl) return crl;
  return responder;
}

std::string Authority::ocspRespond(std::string_view der_request) { return impl_->ocspRespond(der_request); }

X509* Authority::root() const { return impl_->root_cert.get(); }
X509* Authority::issuing() const { return impl_->issuing_cert.get(); }
std::vector<X509*> Authority::chain() const { return {impl_->issuing_cert.get(), impl_->root_cert.get()}; }
std::string Authority::chainPemPath() const { return impl_->path("chain.pem"); }
std::string Authority::crlPath() const { return impl_->path("issuing.crl"); }
store::CaStore& Authority::store() const { return *impl_->store; }

Result<CertTemplate> Authority::findTemplate(std::string_view name) const {
  auto tmpl = impl_->templateNamed(name);
  if (!tmpl) return fail(tmpl.error());
  if (!*tmpl) return fail(Errc::not_found, "no certificate type '" + std::string(name) + "'");
  return **tmpl;
}

}  // namespace rampart::ca
