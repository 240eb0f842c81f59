// The rights server role: see rights_server.h for the HTTP face and the
// decision rules, docs/rights.md for the design.
//
// A use-license request (POST /rights/license, or issue() directly):
//
//   1. read the signed publishing license          400 when it does not parse
//   2. its owner is a directory user, and the      403 otherwise (a license
//      signer certificate is one the CA                re-signed by someone
//      published for that user                         else cannot widen the
//                                                      recipients)
//   3. the server's own template for its id        404 unknown, 403 revoked
//   4. the asking user is not revoked, is enabled  403
//   5. one of its addresses is the owner (kAll)    403 "not a recipient"
//      or a recipient (the template's rights)
//   6. the content has not expired                 403
//   7. its newest unexpired smime_encryption       409 none
//      certificate in the directory
//   8. the content key, unwrapped with the         400 when it is not
//      licensor key, re-wrapped to that cert           wrapped to this server
//   9. the use license, signed by the licensor
//
// and the outcome, granted or refused, is committed to the RightsStore before
// the answer goes out (a failed commit answers 500, never a license).
#include "rights/rights_server.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/ascii.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "crypto/rights/license.h"
#include "crypto/x509/x509.h"
#include "http/server.h"
#include "net/listener.h"
#include "store/sqlite/sqlite_rights_store.h"

namespace rampart::rights {

namespace asio = net::asio;
namespace x509 = crypto::x509;
namespace lic = crypto::rights;

namespace {

constexpr std::string_view kIdentityHeader = "Rampart-Identity";
constexpr std::string_view kPublishingLicenseType = "application/vnd.rampart.publishing-license";
constexpr std::string_view kUseLicenseType = "application/vnd.rampart.use-license";
constexpr std::string_view kEncryptionPurpose = "smime_encryption";
// A signed publishing license: the body text (a few hundred recipients at
// most), the wrapped key and the owner's certificate chain.
constexpr std::size_t kMaxPublishingLicense = 256 * 1024;
constexpr std::size_t kMaxLogReason = 300;
// The licensor certificate is re-made (same key) when it has less than this
// left, so that senders never wrap to an expired certificate.
constexpr std::int64_t kLicensorLifetime = 10LL * 365 * 24 * 3600;
constexpr std::int64_t kLicensorRenewBefore = 30LL * 24 * 3600;

std::int64_t nowSeconds(const Clock& clock) { return unixSeconds(clock.now()); }

// --- The licensor key and certificate (<data_dir>/rights/). ---

Status ensurePrivateDir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return {};
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::io_error, "create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    return fail(Errc::io_error, "chmod " + dir + ": " + std::strerror(errno));
  return {};
}

Status addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    return fail(Errc::internal, std::string("extension ") + value + ": " + x509::opensslErrors());
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return fail(Errc::internal, "add extension: " + x509::opensslErrors());
  return {};
}

// A self-signed end-entity certificate for the licensor key: it signs use
// licenses (digitalSignature) and is what senders wrap content keys to (ECDH,
// keyAgreement; RFC 5753 via RFC 5652 6.2.2).
Result<x509::CertPtr> makeLicensorCert(EVP_PKEY* key, std::int64_t now) {
  x509::CertPtr cert(X509_new());
  if (!cert) return fail(Errc::internal, "X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail(Errc::internal, "RAND_bytes");
  serial[0] &= 0x7f;  // RFC 5280 4.1.2.2: positive
  serial[0] |= 0x01;  // and no leading zero byte
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) == nullptr) {
    BN_free(bn);
    return fail(Errc::internal, "serial: " + x509::opensslErrors());
  }
  BN_free(bn);
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - 300)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + kLicensorLifetime)) ==
          nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return fail(Errc::internal, "certificate fields: " + x509::opensslErrors());
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rampart"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rampart rights licensor"), -1,
                             -1, 0);
  if (X509_set_issuer_name(cert.get(), name) != 1)
    return fail(Errc::internal, "issuer: " + x509::opensslErrors());
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyAgreement"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto st = addExtension(cert.get(), nid, value); !st) return fail(st.error());
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0)
    return fail(Errc::internal, "sign: " + x509::opensslErrors());
  return cert;
}

// Opens (or on first start makes) the licensor key and certificate. A key
// file that group or others may read is refused: the key decrypts every
// protected message's content key.
Result<crypto::cms::Identity> openLicensor(const std::string& dir, std::int64_t now) {
  if (auto st = ensurePrivateDir(dir); !st) return fail(st.error());
  const std::string key_path = dir + "/licensor.key";
  const std::string cert_path = dir + "/licensor.pem";
  std::error_code ec;
  const bool have_key = std::filesystem::exists(key_path, ec);
  const bool have_cert = std::filesystem::exists(cert_path, ec);
  crypto::cms::Identity id;
  if (!have_key) {
    if (have_cert) {
      // A new key would orphan every publishing license made for the old one.
      return fail(Errc::config_error,
                  cert_path + " exists without " + key_path +
                      ": restore the key (or remove both to start a new licensor)");
    }
    auto key = x509::generateKey(x509::KeyType::ec_p256);
    if (!key) return fail(key.error());
    auto pem = x509::privateKeyPem(key->get());
    if (!pem) return fail(pem.error());
    auto st = x509::writeFileAtomic(key_path, *pem, 0600);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!st) return fail(st.error());
    id.key = std::move(*key);
  } else {
    struct stat info {};
    if (::stat(key_path.c_str(), &info) != 0) {
      return fail(Errc::io_error, "stat " + key_path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode))
      return fail(Errc::config_error, key_path + " is not a regular file");
    if ((info.st_mode & 077) != 0) {
      return fail(Errc::permission_denied,
                  key_path + " is readable by group or others: chmod 600 it");
    }
    auto pem = x509::readFile(key_path, 64 * 1024);
    if (!pem) return fail(pem.error());
    auto key = x509::parsePrivateKeyPem(*pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!key) return fail(Errc::config_error, key_path + ": " + key.error().detail);
    id.key = std::move(*key);
  }
  if (have_cert) {
    auto text = x509::readFile(cert_path, 64 * 1024);
    if (!text) return fail(text.error());
    auto cert = x509::parseCertificate(*text);
    if (!cert) return fail(Errc::config_error, cert_path + ": " + cert.error().detail);
    if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), id.key.get()) != 1) {
      return fail(Errc::config_error, cert_path + " does not belong to " + key_path);
    }
    if (x509::notAfter(cert->get()) - now >= kLicensorRenewBefore) id.cert = std::move(*cert);
  }
  if (!id.cert) {
    auto cert = makeLicensorCert(id.key.get(), now);
    if (!cert) return fail(cert.error());
    if (auto st = x509::writeFileAtomic(cert_path, x509::certificatePem(cert->get()), 0644); !st) {
      return fail(st.error());
    }
    id.cert = std::move(*cert);
  }
  return id;
}

std::string_view mediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value;
}

std::string endpointText(const net::tcp::endpoint& e) {
  if (e.address().is_v6()) return "[" + e.address().to_string() + "]:" + std::to_string(e.port());
  return e.address().to_string() + ":" + std::to_string(e.port());
}

// Wipes the content key however the request ends.
struct KeyWipe {
  std::string& key;
  ~KeyWipe() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
  }
};

// What answers requests: shared with the HTTP handler, so that a connection
// still open when the RightsServer goes never sees freed state.
struct Service {
  const Clock* clock = nullptr;
  std::shared_ptr<store::RightsStore> store;
  std::shared_ptr<directory::BuiltinDirectory> directory;
  crypto::cms::Identity licensor;
  std::string licensor_pem;
  std::unique_ptr<crypto::AssertionVerifier> verifier;

  // Parsed templates by id, re-parsed when the stored TOML changes (an edit
  // by `rampart admin rights` in another process counts at once).
  std::mutex templates_mutex;
  std::map<std::string, std::pair<std::string, lic::Template>, std::less<>> templates;

  // Readers' encryption certificates by DER: OpenSSL 3.0 spends about a
  // tenth of a license decoding one (its public key goes through the
  // provider decoders), and the same readers come back. Bounded; dropped
  // whole when full.
  std::mutex certs_mutex;
  std::map<std::string, x509::CertPtr, std::less<>> certs;
  x509::CertPtr parsedCertificate(const std::string& der);

  std::int64_t now() const { return nowSeconds(*clock); }
  Result<std::optional<lic::Template>> findTemplate(std::string_view id);
  IssueResult issue(std::string_view user, std::string_view der);
  IssueResult decide(std::string_view user, std::string_view der, store::RightsLogEntry& entry);
  http::Response serve(const http::Request& req);
  http::Response answer(const http::Request& req, std::string& who, std::string& what);
};

}  // namespace

struct RightsServer::Impl {
  RightsConfig config;
  // Declared first: destroyed (joined) last, after everything that posts to it.
  std::unique_ptr<asio::thread_pool> pool;
  std::shared_ptr<Service> service;
  std::unique_ptr<http::Server> http;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
};

namespace {

Result<std::optional<lic::Template>> Service::findTemplate(std::string_view raw_id) {
  // One cache entry per template, whatever the case a license spells it in.
  auto normal = store::sqlite::normalTemplateId(raw_id);
  if (!normal) return std::optional<lic::Template>();
  const std::string& id = *normal;
  auto toml = store->getTemplate(id);
  if (!toml) return fail(toml.error());
  if (!*toml) return std::optional<lic::Template>();
  std::lock_guard lock(templates_mutex);
  auto it = templates.find(id);
  if (it != templates.end() && it->second.first == **toml)
    return std::optional<lic::Template>(it->second.second);
  auto parsed = lic::parseTemplateToml(**toml, "template " + id);
  if (!parsed) return fail(Errc::storage_error, parsed.error().detail);
  templates.insert_or_assign(id, std::pair{std::move(**toml), *parsed});
  return std::optional<lic::Template>(std::move(*parsed));
}

x509::CertPtr Service::parsedCertificate(const std::string& der) {
  constexpr std::size_t kMaxCachedCertificates = 4096;
  {
    std::lock_guard lock(certs_mutex);
    if (auto it = certs.find(der); it != certs.end()) return x509::duplicate(it->second.get());
  }
  auto cert = x509::parseCertificate(der);
  if (!cert) return nullptr;
  std::lock_guard lock(certs_mutex);
  if (certs.size() >= kMaxCachedCertificates) certs.clear();
  certs.emplace(der, x509::duplicate(cert->get()));
  return std::move(*cert);
}

IssueResult Service::issue(std::string_view user, std::string_view der) {
  store::RightsLogEntry entry;
  entry.at = now();
  entry.user = std::string(user);
  IssueResult result = decide(user, der, entry);
  entry.granted = result.http_status == 200;
  if (!entry.granted && entry.reason.empty()) entry.reason = result.body;
  if (entry.reason.size() > kMaxLogReason) entry.reason.resize(kMaxLogReason);
  if (!entry.granted) entry.rights = 0;
  // The record first: no answer (above all no license) without it.
  if (auto logged = store->log(entry); !logged) {
    log::get("rights")->error("request log: {}", logged.error().message());
    result = {500, "the request could not be recorded\n"};
  }
  auto logger = log::get("rights");
  const auto level = result.http_status >= 500
                         ? spdlog::level::err
                         : (entry.granted ? spdlog::level::info : spdlog::level::warn);
  logger->log(level, "user={} license={} template={} owner={} result={} rights={} {}", entry.user,
              entry.license_id.empty() ? "-" : entry.license_id,
              entry.template_id.empty() ? "-" : entry.template_id,
              entry.owner.empty() ? "-" : entry.owner, result.http_status,
              lic::rightsText(entry.rights), entry.granted ? "granted" : entry.reason);
  return result;
}

IssueResult Service::decide(std::string_view user, std::string_view der,
                            store::RightsLogEntry& entry) {
  auto refuse = [&entry](int status, std::string reason) {
    entry.reason = reason;
    return IssueResult{status, reason + "\n"};
  };
  auto internal = [](std::string_view what, const Error& e) {
    log::get("rights")->error("{}: {}", what, e.message());
    return IssueResult{500, "internal error\n"};
  };
  if (user.empty()) return refuse(403, "no user");
  if (der.size() > kMaxPublishingLicense) return refuse(413, "publishing license too large");

  // 1. The signed publishing license.
  auto signed_pl = lic::readPublishingLicense(der);
  if (!signed_pl)
    return refuse(400, "malformed publishing license: " + signed_pl.error().detail.substr(0, 200));
  const lic::PublishingLicense& pl = signed_pl->license;
  entry.license_id = pl.id;
  entry.template_id = pl.template_id;
  entry.owner = pl.owner;
  if (!signed_pl->signer)
    return refuse(400, "the publishing license carries no signer certificate");

  // 2. Signed by its owner: a certificate the CA published for the owner's
  // user. Without this anyone could re-sign a copy naming themselves a
  // recipient.
  auto owner = directory->findByAddress(pl.owner);
  if (!owner) return internal("directory", owner.error());
  if (!*owner) return refuse(403, "the publishing license's owner is not a user of this server");
  auto owner_certs = directory->certificatesOf((*owner)->name);
  if (!owner_certs) return internal("directory", owner_certs.error());
  const std::string signer_der = x509::certificateDer(signed_pl->signer.get());
  const bool signed_by_owner = std::any_of(
      owner_certs->begin(), owner_certs->end(),
      [&signer_der](const directory::PublishedCertificate& c) { return c.der == signer_der; });
  if (!signed_by_owner) {
    return refuse(403, "the publishing license is not signed with a certificate of its owner");
  }

  // 3. The server's own template decides the rights.
  auto templ = findTemplate(pl.template_id);
  if (!templ) return internal("template " + pl.template_id, templ.error());
  if (!*templ) return refuse(404, "unknown template " + pl.template_id);
  if ((*templ)->revoked) return refuse(403, "template revoked");

  // 4. The reader.
  auto revoked = store->userRevoked(user);
  if (!revoked) return internal("store", revoked.error());
  if (*revoked) return refuse(403, "user revoked");
  auto reader = directory->findUser(user);
  if (!reader) return internal("directory", reader.error());
  if (!*reader) return refuse(403, "unknown user");
  if (!(*reader)->enabled) return refuse(403, "user disabled");

  // 5. Owner or recipient.
  std::string address;
  std::uint32_t rights = 0;
  for (const std::string& a : (*reader)->addresses) {
    if (equalsIgnoreCase(a, pl.owner)) {
      address = a;
      rights = lic::kAll;
      break;
    }
  }
  if (address.empty()) {
    for (const std::string& a : (*reader)->addresses) {
      const bool listed =
          std::any_of(pl.recipients.begin(), pl.recipients.end(),
                      [&a](const std::string& r) { return equalsIgnoreCase(a, r); });
      if (listed) {
        address = a;
        rights = (*templ)->rights;
        break;
      }
    }
  }
  if (address.empty()) return refuse(403, "not a recipient");

  // 6. Content expiry: the license's, capped by the server's template.
  const std::int64_t now_s = entry.at;
  std::int64_t content_expiry = pl.content_expiry;
  if ((*templ)->content_lifetime > 0) {
    const std::int64_t by_template = pl.issued + (*templ)->content_lifetime;
    content_expiry = content_expiry == 0 ? by_template : std::min(content_expiry, by_template);
  }
  if (content_expiry != 0 && now_s >= content_expiry) return refuse(403, "content expired");

  // 7. The reader's newest unexpired S/MIME encryption certificate.
  auto published = directory->certificatesOf((*reader)->name);
  if (!published) return internal("directory", published.error());
  x509::CertPtr to;
  for (const auto& c : *published) {  // newest first
    if (c.purpose != kEncryptionPurpose || c.not_after <= now_s) continue;
    x509::CertPtr cert = parsedCertificate(c.der);
    if (!cert || x509::notAfter(cert.get()) <= now_s) continue;
    to = std::move(cert);
    break;
  }
  if (!to)
    return refuse(409, "no published S/MIME encryption certificate for " + std::string(user));

  // 8. The content key, from the licensor to the reader.
  auto key = lic::unwrapContentKey(pl.wrapped_key, licensor);
  if (!key) return refuse(400, "the content key is not wrapped to this rights server");
  KeyWipe wipe{*key};
  auto wrapped = lic::wrapContentKey(*key, to.get());
  if (!wrapped) return internal("wrap content key", wrapped.error());

  // 9. The use license.
  lic::UseLicense ul;
  ul.license_id = pl.id;
  ul.user = std::string(user);
  ul.address = address;
  ul.template_id = (*templ)->id.empty() ? pl.template_id : (*templ)->id;
  ul.template_name = (*templ)->name;
  ul.owner = pl.owner;
  ul.rights = rights;
  ul.issued = now_s;
  ul.expires = now_s + std::max<std::int64_t>(1, (*templ)->license_lifetime);
  if (content_expiry != 0) ul.expires = std::min(ul.expires, content_expiry);
  ul.content_expiry = content_expiry;
  ul.wrapped_key = std::move(*wrapped);
  auto signed_ul = lic::signUseLicense(ul, licensor);
  if (!signed_ul) return internal("sign use license", signed_ul.error());
  entry.rights = rights;
  return IssueResult{200, std::move(*signed_ul)};
}

http::Response Service::serve(const http::Request& req) {
  std::string who = "-";
  std::string what;
  http::Response res = answer(req, who, what);
  const int code = res.result_int();
  // POST /rights/license logs its own line (issue()).
  if (!what.empty()) {
    const auto level = code >= 500 ? spdlog::level::err
                                   : (code >= 400 ? spdlog::level::warn : spdlog::level::debug);
    log::get("rights")->log(level, "user={} {} {} result={} {}", who,
                            std::string(req.method_string()),
                            std::string(req.target().substr(0, 200)), code, what);
  }
  return res;
}

http::Response Service::answer(const http::Request& req, std::string& who, std::string& what) {
  auto text = [&req, &what](http::Status status, std::string result, std::string body) {
    what = std::move(result);
    return http::textResponse(req, status, std::move(body));
  };
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  auto only = [&](http::Verb verb, std::string_view allow) -> std::optional<http::Response> {
    if (req.method() == verb) return std::nullopt;
    http::Response res =
        text(http::Status::method_not_allowed, "wrong method", "method not allowed\n");
    res.set(http::Field::allow, allow);
    return res;
  };

  if (path == "/healthz") {
    if (auto res = only(http::Verb::get, "GET")) return *res;
    auto probe = store->userRevoked("-");
    if (!probe)
      return text(http::Status::service_unavailable, "store: " + probe.error().message(),
                  "store unavailable\n");
    what = {};
    return http::textResponse(req, http::Status::ok, "ok\n");
  }
  const bool is_license = path == "/rights/license";
  if (!is_license && path != "/rights/templates" && path != "/rights/licensor.pem") {
    return text(http::Status::not_found, "no such path", "not found\n");
  }
  if (auto res = only(is_license ? http::Verb::post : http::Verb::get, is_license ? "POST" : "GET"))
    return *res;
  if (req.body().size() > kMaxPublishingLicense) {
    return text(http::Status::payload_too_large, "body too large", "request too large\n");
  }

  // Who: the gateway's assertion, bound to this very request.
  auto header = req.find(kIdentityHeader);
  if (!verifier || header == req.end()) {
    return text(http::Status::forbidden, "no identity assertion", "identity assertion refused\n");
  }
  auto host = req.find(http::Field::host);
  crypto::RequestBinding binding{std::string(req.method_string()),
                                 host == req.end() ? std::string() : std::string(host->value()),
                                 std::string(req.target()),
                                 crypto::RequestBinding::sha256Hex(req.body())};
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock->now().time_since_epoch())
          .count();
  auto identity = verifier->verify(header->value(), binding, now_ms);
  if (!identity) {
    return text(http::Status::forbidden, "assertion refused: " + identity.error().detail,
                "identity assertion refused\n");
  }
  who = identity->user;

  if (path == "/rights/licensor.pem") {
    what = "licensor certificate";
    return http::textResponse(req, http::Status::ok, licensor_pem, "application/x-pem-file");
  }
  if (path == "/rights/templates") {
    auto all = store->listTemplates();
    if (!all)
      return text(http::Status::internal_server_error, "templates: " + all.error().message(),
                  "internal error\n");
    std::string body;
    for (const auto& [id, toml] : *all) {
      if (!body.empty()) body += "\n---\n";
      body += toml;
    }
    what = "templates";
    return http::textResponse(req, http::Status::ok, std::move(body));
  }

  auto content_type = req.find(http::Field::content_type);
  if (content_type == req.end() ||
      !equalsIgnoreCase(mediaType(content_type->value()), kPublishingLicenseType)) {
    return text(http::Status::unsupported_media_type, "wrong content type",
                "expected Content-Type: " + std::string(kPublishingLicenseType) + "\n");
  }
  IssueResult result = issue(identity->user, req.body());
  if (result.http_status == 200) {
    http::Response res =
        http::textResponse(req, http::Status::ok, std::move(result.body), kUseLicenseType);
    res.set(http::Field::cache_control, "no-store");
    return res;
  }
  return http::textResponse(req, static_cast<http::Status>(result.http_status),
                            std::move(result.body));
}

}  // namespace

RightsServer::RightsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RightsServer::~RightsServer() {
  stop();
  if (impl_->pool) impl_->pool->join();
}

Result<std::unique_ptr<RightsServer>> RightsServer::create(
    RightsConfig config, asio::any_io_executor executor,
    const directory::BuiltinDirectoryOptions& directory_options, const Clock& clock) {
  if (config.data_dir.empty()) return fail(Errc::config_error, "rights: data_dir is required");
  if (config.database.empty()) config.database = config.data_dir + "/rampart.db";
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_shared<Service>();
  Service& service = *impl->service;
  service.clock = &clock;
  // Unwrapping and signing are CPU work: one thread per core, at least two so
  // that a store commit never stalls the next request.
  impl->pool =
      std::make_unique<asio::thread_pool>(std::max(2u, std::thread::hardware_concurrency()));

  if (auto st = ensurePrivateDir(config.data_dir); !st) return fail(st.error());
  auto licensor = openLicensor(config.data_dir + "/rights", nowSeconds(clock));
  if (!licensor) return fail(licensor.error());
  service.licensor = std::move(*licensor);
  service.licensor_pem = x509::certificatePem(service.licensor.cert.get());

  auto store = store::sqlite::SqliteRightsStore::open(config.database);
  if (!store) return fail(store.error());
  service.store = std::move(*store);
  auto existing = service.store->listTemplates();
  if (!existing) return fail(existing.error());
  if (existing->empty()) {
    for (const lic::Template& t : lic::defaultTemplates()) {
      if (auto st = service.store->putTemplate(t.id, lic::templateToml(t)); !st)
        return fail(st.error());
    }
  }
  auto directory = directory::BuiltinDirectory::open(config.database, directory_options);
  if (!directory) return fail(directory.error());
  service.directory = std::shared_ptr<directory::BuiltinDirectory>(std::move(*directory));

  if (!config.listen.empty()) {
    auto verifier = crypto::loadAssertionVerifier(config.assertion_key_file, "rights.assertion_key_file");
    if (!verifier) return fail(verifier.error());
    service.verifier = std::move(*verifier);

    auto handler = http::onBlockingPool(
        [svc = impl->service](const http::Request& req) { return svc->serve(req); },
        impl->pool->get_executor());
    http::ServerOptions options;
    options.handshake_timeout = std::chrono::seconds(10);
    options.header_timeout = std::chrono::seconds(30);
    options.keepalive_idle = std::chrono::seconds(60);
    options.body_limit = kMaxPublishingLicense;
    options.max_connections = 1000;
    auto server = http::bindLink(
        executor, {config.listen, "rights.listen", config.tls_cert_file, config.tls_key_file, config.gateway_ca_file},
        options, std::move(handler));
    if (!server) return fail(server.error());
    impl->http = std::move(*server);
  }
  impl->config = std::move(config);
  return std::unique_ptr<RightsServer>(new RightsServer(std::move(impl)));
}

void RightsServer::start() {
  if (impl_->started.exchange(true)) return;
  if (impl_->http) {
    impl_->http->start();
    log::get("rights")->info("rights server listening on https://{} (mTLS + identity assertion)",
                             endpointText(impl_->http->localEndpoint()));
  }
}

void RightsServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  if (impl_->http) impl_->http->stop();
}

net::tcp::endpoint RightsServer::endpoint() const {
  return impl_->http ? impl_->http->localEndpoint() : net::tcp::endpoint();
}

std::string RightsServer::licensorCertificatePem() const { return impl_->service->licensor_pem; }

IssueResult RightsServer::issue(std::string_view user, std::string_view signed_publishing_license) {
  return impl_->service->issue(user, signed_publishing_license);
}

}  // namespace rampart::rights
