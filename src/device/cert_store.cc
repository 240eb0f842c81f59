#include "device/cert_store.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "crypto/x509/csr.h"

namespace rampart::device {

namespace {

namespace x509 = crypto::x509;
namespace fs = std::filesystem;

constexpr std::size_t kMaxRoots = 64;            // files read from trusted/ or pending/
constexpr std::size_t kMaxPemFile = 256 * 1024;  // one stored PEM file
constexpr std::size_t kMaxPkcs12 = 1024 * 1024;

bool validTemplateName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string hexName(const std::string& fingerprint) {
  std::string out;
  for (char c : fingerprint)
    if (c != ':') out += c;
  return out;
}

Status makePrivateDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::io_error, "cannot create " + path + ": " + ec.message());
  if (::chmod(path.c_str(), 0700) != 0)
    return fail(Errc::io_error, "cannot chmod " + path + ": " + std::strerror(errno));
  return {};
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::string pemOf(const std::vector<X509*>& certs) {
  std::string out;
  for (X509* c : certs) out += x509::certificatePem(c);
  return out;
}

CertInfo infoOf(std::string_view template_name, X509* cert) {
  CertInfo i;
  i.template_name = std::string(template_name);
  i.subject = x509::subjectText(cert);
  i.issuer = x509::issuerText(cert);
  i.serial = x509::serialHex(cert);
  i.fingerprint = x509::sha256Fingerprint(cert);
  i.not_before = x509::notBefore(cert);
  i.not_after = x509::notAfter(cert);
  return i;
}

struct StoreFree {
  void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_free(p); }
};

}  // namespace

std::string certDirFor(const std::string& state_path) { return state_path + ".certs"; }

Result<std::string> normalizeFingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)) || hex.size() >= 64)
      return fail(Errc::invalid_argument, "not a SHA-256 fingerprint: " + std::string(text));
    hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64)
    return fail(Errc::invalid_argument,
                "not a SHA-256 fingerprint (64 hex digits): " + std::string(text));
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

bool isSelfSigned(X509* cert) {
  // The issuer is the subject and the certificate's key verifies its signature.
  return X509_check_issued(cert, cert) == X509_V_OK;
}

RootInfo rootInfo(X509* cert) {
  return RootInfo{x509::subjectText(cert), x509::sha256Fingerprint(cert), x509::notAfter(cert)};
}

Result<CertStore> CertStore::open(const std::string& dir) {
  if (auto st = makePrivateDir(dir); !st) return fail(st.error());
  for (const char* sub : {"/trusted", "/pending", "/templates"}) {
    if (auto st = makePrivateDir(dir + sub); !st) return fail(st.error());
  }
  return CertStore(dir);
}

// ---- roots ----

Result<std::vector<x509::CertPtr>> CertStore::rootsIn(const std::string& sub) const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/" + sub, ec)) {
    if (entry.path().extension() == ".pem") files.push_back(entry.path().string());
  }
  if (ec) return fail(Errc::io_error, "cannot list " + dir_ + "/" + sub + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.size() > kMaxRoots)
    return fail(Errc::limit_exceeded, "more than 64 roots in " + dir_ + "/" + sub);
  std::vector<x509::CertPtr> out;
  for (const auto& f : files) {
    auto text = x509::readFile(f, kMaxPemFile);
    if (!text) return fail(text.error());
    auto cert = x509::parseCertificate(*text);
    if (!cert) return fail(cert.error().code, f + ": " + cert.error().detail);
    out.push_back(std::move(*cert));
  }
  return out;
}

Result<std::vector<RootInfo>> CertStore::trustedRoots() const {
  auto roots = rootsIn("trusted");
  if (!roots) return fail(roots.error());
  std::vector<RootInfo> out;
  for (auto& r : *roots) out.push_back(rootInfo(r.get()));
  return out;
}

Result<std::vector<RootInfo>> CertStore::pendingRoots() const {
  auto roots = rootsIn("pending");
  if (!roots) return fail(roots.error());
  std::vector<RootInfo> out;
  for (auto& r : *roots) out.push_back(rootInfo(r.get()));
  return out;
}

Result<bool> CertStore::isTrusted(X509* root) const {
  // The file name is the fingerprint, but the content decides: compare it.
  std::string path = dir_ + "/trusted/" + hexName(x509::sha256Fingerprint(root)) + ".pem";
  if (!exists(path)) return false;
  auto text = x509::readFile(path, kMaxPemFile);
  if (!text) return fail(text.error());
  auto stored = x509::parseCertificate(*text);
  if (!stored) return false;
  return x509::certificateDer(stored->get()) == x509::certificateDer(root);
}

Result<RootInfo> CertStore::addPending(X509* root) {
  RootInfo info = rootInfo(root);
  auto trusted = isTrusted(root);
  if (!trusted) return fail(trusted.error());
  if (*trusted) return info;
  std::string path = dir_ + "/pending/" + hexName(info.fingerprint) + ".pem";
  if (!exists(path)) {
    auto pending = pendingRoots();
    if (pending && pending->size() >= kMaxRoots)
      return fail(Errc::limit_exceeded, "too many roots waiting for acceptance in " + dir_);
    if (auto st = x509::writeFileAtomic(path, x509::certificatePem(root), 0600); !st)
      return fail(st.error());
  }
  return info;
}

Result<RootInfo> CertStore::trust(X509* root) {
  if (!isSelfSigned(root)) {
    return fail(Errc::invalid_argument, "not a root (not self-signed): " + x509::subjectText(root));
  }
  RootInfo info = rootInfo(root);
  std::string name = hexName(info.fingerprint) + ".pem";
  auto trusted = trustedRoots();
  if (!trusted) return fail(trusted.error());
  if (trusted->size() >= kMaxRoots && !exists(dir_ + "/trusted/" + name))
    return fail(Errc::limit_exceeded, "already 64 trusted roots in " + dir_);
  if (auto st = x509::writeFileAtomic(dir_ + "/trusted/" + name, x509::certificatePem(root), 0600);
      !st)
    return fail(st.error());
  std::error_code ec;
  fs::remove(dir_ + "/pending/" + name, ec);
  return info;
}

Result<RootInfo> CertStore::trustFingerprint(std::string_view fingerprint) {
  auto fp = normalizeFingerprint(fingerprint);
  if (!fp) return fail(fp.error());
  std::string path = dir_ + "/pending/" + hexName(*fp) + ".pem";
  if (!exists(path)) {
    std::string trusted = dir_ + "/trusted/" + hexName(*fp) + ".pem";
    if (exists(trusted)) {
      auto text = x509::readFile(trusted, kMaxPemFile);
      if (!text) return fail(text.error());
      auto cert = x509::parseCertificate(*text);
      if (!cert) return fail(cert.error());
      return rootInfo(cert->get());
    }
    return fail(Errc::not_found,
                "no root seen with fingerprint " + *fp +
                    " (enroll, set up from a provisioning document, or trust --file first)");
  }
  auto text = x509::readFile(path, kMaxPemFile);
  if (!text) return fail(text.error());
  auto cert = x509::parseCertificate(*text);
  if (!cert) return fail(cert.error());
  // The name is only a name: accept the file only if its content has this fingerprint.
  if (x509::sha256Fingerprint(cert->get()) != *fp)
    return fail(Errc::permission_denied, path + " does not hold the root " + *fp);
  return trust(cert->get());
}

Status CertStore::verify(X509* leaf, const std::vector<X509*>& untrusted) const {
  auto roots = rootsIn("trusted");
  if (!roots) return fail(roots.error());
  if (roots->empty()) return fail(Errc::permission_denied, "no trusted root");
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), StackFree> chain(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!store || !chain || !ctx) return fail(Errc::internal, "out of memory");
  for (auto& r : *roots) {
    if (X509_STORE_add_cert(store.get(), r.get()) != 1)
      return fail(Errc::internal, "cannot load a trusted root");
  }
  for (X509* c : untrusted) {
    if (!sk_X509_push(chain.get(), c)) return fail(Errc::internal, "out of memory");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()) != 1)
    return fail(Errc::internal, "cannot set up chain verification");
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return fail(Errc::permission_denied, std::string("the certificate does not chain to a "
                                                     "trusted root: ") +
                                             X509_verify_cert_error_string(err));
  }
  return {};
}

// ---- certificates ----

Result<std::string> CertStore::templateDir(std::string_view template_name, bool create) const {
  if (!validTemplateName(template_name)) {
    return fail(Errc::invalid_argument,
                "bad template name '" + std::string(template_name) + "' ([a-z0-9-], 1-64)");
  }
  std::string dir = dir_ + "/templates/" + std::string(template_name);
  if (create) {
    if (auto st = makePrivateDir(dir); !st) return fail(st.error());
  }
  return dir;
}

std::string CertStore::keyPath(std::string_view t) const {
  return dir_ + "/templates/" + std::string(t) + "/key.pem";
}
std::string CertStore::certPath(std::string_view t) const {
  return dir_ + "/templates/" + std::string(t) + "/cert.pem";
}
std::string CertStore::chainPath(std::string_view t) const {
  return dir_ + "/templates/" + std::string(t) + "/chain.pem";
}

Result<CertInfo> CertStore::store(std::string_view template_name, EVP_PKEY* key, X509* cert,
                                  const std::vector<X509*>& chain) {
  auto dir = templateDir(template_name, true);
  if (!dir) return fail(dir.error());
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "the certificate is not for this key");
  }
  auto key_pem = x509::privateKeyPem(key);
  if (!key_pem) return fail(key_pem.error());
  // What a TLS client presents: the leaf, then the intermediates (no root).
  std::vector<X509*> presented{cert};
  for (X509* c : chain)
    if (!isSelfSigned(c)) presented.push_back(c);
  // Key first: a certificate file never names a key that is not there.
  if (auto st = x509::writeFileAtomic(keyPath(template_name), *key_pem, 0600); !st)
    return fail(st.error());
  if (auto st = x509::writeFileAtomic(certPath(template_name), pemOf(presented), 0600); !st)
    return fail(st.error());
  if (auto st = x509::writeFileAtomic(chainPath(template_name), pemOf(chain), 0600); !st)
    return fail(st.error());
  if (auto st = clearPendingRequest(template_name); !st) return fail(st.error());
  CertInfo info = infoOf(template_name, cert);
  info.cert_file = certPath(template_name);
  info.key_file = keyPath(template_name);
  return info;
}

Result<StoredCert> CertStore::load(std::string_view template_name) const {
  auto dir = templateDir(template_name, false);
  if (!dir) return fail(dir.error());
  if (!exists(certPath(template_name)) || !exists(keyPath(template_name))) {
    return fail(Errc::not_found,
                "no certificate for template '" + std::string(template_name) + "'");
  }
  StoredCert out;
  auto key_text = x509::readFile(keyPath(template_name), kMaxPemFile);
  if (!key_text) return fail(key_text.error());
  auto key = x509::parsePrivateKeyPem(*key_text);
  if (!key) return fail(key.error());
  out.key = std::move(*key);
  auto cert_text = x509::readFile(certPath(template_name), kMaxPemFile);
  if (!cert_text) return fail(cert_text.error());
  auto certs = x509::parseCertificates(*cert_text);
  if (!certs) return fail(certs.error());
  out.cert = std::move(certs->front());
  if (exists(chainPath(template_name))) {
    auto chain_text = x509::readFile(chainPath(template_name), kMaxPemFile);
    if (!chain_text) return fail(chain_text.error());
    if (!chain_text->empty()) {
      auto chain = x509::parseCertificates(*chain_text);
      if (!chain) return fail(chain.error());
      out.chain = std::move(*chain);
    }
  }
  return out;
}

Result<std::vector<CertInfo>> CertStore::list() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/templates", ec)) {
    std::string name = entry.path().filename().string();
    if (validTemplateName(name) && exists(certPath(name))) names.push_back(name);
  }
  if (ec) return fail(Errc::io_error, "cannot list " + dir_ + ": " + ec.message());
  std::sort(names.begin(), names.end());
  std::vector<CertInfo> out;
  for (const auto& name : names) {
    auto text = x509::readFile(certPath(name), kMaxPemFile);
    if (!text) return fail(text.error());
    auto certs = x509::parseCertificates(*text);
    if (!certs) return fail(certs.error().code, certPath(name) + ": " + certs.error().detail);
    CertInfo info = infoOf(name, certs->front().get());
    info.cert_file = certPath(name);
    info.key_file = keyPath(name);
    out.push_back(std::move(info));
  }
  return out;
}

// ---- pending enrollment ----

Status CertStore::savePendingRequest(std::string_view template_name, EVP_PKEY* key,
                                     std::string_view csr_der) {
  auto dir = templateDir(template_name, true);
  if (!dir) return fail(dir.error());
  auto key_pem = x509::privateKeyPem(key);
  if (!key_pem) return fail(key_pem.error());
  if (auto st = x509::writeFileAtomic(*dir + "/request.key", *key_pem, 0600); !st) return st;
  return x509::writeFileAtomic(*dir + "/request.csr", csr_der, 0600);
}

Result<std::optional<PendingRequest>> CertStore::pendingRequest(
    std::string_view template_name) const {
  auto dir = templateDir(template_name, false);
  if (!dir) return fail(dir.error());
  if (!exists(*dir + "/request.key") || !exists(*dir + "/request.csr"))
    return std::optional<PendingRequest>{};
  auto key_text = x509::readFile(*dir + "/request.key", kMaxPemFile);
  if (!key_text) return fail(key_text.error());
  auto key = x509::parsePrivateKeyPem(*key_text);
  if (!key) return fail(key.error());
  auto csr = x509::readFile(*dir + "/request.csr", x509::kMaxCsrDer);
  if (!csr) return fail(csr.error());
  PendingRequest p;
  p.key = std::move(*key);
  p.csr_der = std::move(*csr);
  return std::optional<PendingRequest>{std::move(p)};
}

Status CertStore::clearPendingRequest(std::string_view template_name) {
  auto dir = templateDir(template_name, false);
  if (!dir) return fail(dir.error());
  std::error_code ec;
  fs::remove(*dir + "/request.key", ec);
  if (ec) return fail(Errc::io_error, "cannot remove " + *dir + "/request.key: " + ec.message());
  fs::remove(*dir + "/request.csr", ec);
  return {};
}

// ---- PKCS#12 ----

Result<std::string> CertStore::exportPkcs12(std::string_view template_name,
                                            std::string_view password,
                                            x509::Pkcs12Profile profile) const {
  auto stored = load(template_name);
  if (!stored) return fail(stored.error());
  std::vector<X509*> chain;
  for (auto& c : stored->chain) chain.push_back(c.get());
  std::string friendly = "rampart " + std::string(template_name);
  return x509::exportPkcs12(stored->key.get(), stored->cert.get(), chain, password, friendly,
                            profile);
}

Result<CertStore::Imported> CertStore::importPkcs12(std::string_view template_name,
                                                    std::string_view der,
                                                    std::string_view password) {
  if (der.size() > kMaxPkcs12) return fail(Errc::limit_exceeded, "the PKCS#12 file is over 1 MiB");
  auto contents = x509::importPkcs12(der, password);
  if (!contents) return fail(contents.error());
  std::vector<X509*> chain;
  for (auto& c : contents->chain) chain.push_back(c.get());
  Imported out;
  auto info = store(template_name, contents->key.get(), contents->cert.get(), chain);
  if (!info) return fail(info.error());
  out.cert = std::move(*info);
  for (X509* c : chain) {
    if (!isSelfSigned(c)) continue;
    auto trusted = isTrusted(c);
    if (!trusted) return fail(trusted.error());
    if (*trusted) continue;
    auto pending = addPending(c);
    if (!pending) return fail(pending.error());
    out.untrusted_roots.push_back(std::move(*pending));
  }
  return out;
}

// ---- provisioning ----

Status CertStore::saveProvisioning(std::string_view xml) {
  return x509::writeFileAtomic(dir_ + "/provisioning.xml", xml, 0600);
}

Result<std::optional<std::string>> CertStore::provisioning() const {
  std::string path = dir_ + "/provisioning.xml";
  if (!exists(path)) return std::optional<std::string>{};
  auto text = x509::readFile(path, 1024 * 1024 + 1);
  if (!text) return fail(text.error());
  return std::optional<std::string>{std::move(*text)};
}

}  // namespace rampart::device
