// The device's certificates (issue 5, "Device side"; DESIGN.md 3, 5): key
// pairs made on the device, the certificates the CA issued for them, and the
// roots the user has accepted, per template <T> ([a-z0-9-]{1,64}). Files beside the state file, in
// a directory of mode 0700 (certDirFor):
//
//   <state>.certs/trusted/<FP>.pem     roots the user accepted
//   <state>.certs/pending/<FP>.pem     roots seen (EST /cacerts, a provisioning
//                                      document, a PKCS#12 file) but not accepted
//   <state>.certs/templates/<T>/key.pem    PKCS#8 private key, mode 0600
//   <state>.certs/templates/<T>/cert.pem   the certificate, then its
//                                          intermediates (what a TLS client presents)
//   <state>.certs/templates/<T>/chain.pem  the CA chain (EST /cacerts), issuer first
//   <state>.certs/templates/<T>/request.{key,csr}  an enrollment the CA holds
//                                          (HTTP 202): resent unchanged (RFC 7030 4.2.3)
//   <state>.certs/provisioning.xml     the last provisioning document
//
// <FP> is the SHA-256 fingerprint in upper-case hex without colons. A root is
// trusted only by an explicit act (trust(), trustFingerprint()); nothing
// received over the network becomes trusted by itself (RFC 7030 4.1.1: the
// client must check a bootstrap root out of band).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/pkcs12.h"
#include "crypto/x509/x509.h"

namespace rampart::device {

// "<state_path>.certs".
std::string certDirFor(const std::string& state_path);

// "AB:CD:..." (64 hex digits, colons optional, any case) to the canonical
// upper-case colon form of x509::sha256Fingerprint; invalid_argument otherwise.
Result<std::string> normalizeFingerprint(std::string_view text);

struct RootInfo {
  std::string subject;
  std::string fingerprint;  // "AB:CD:..."
  std::int64_t not_after = 0;
};

struct CertInfo {
  std::string template_name;
  std::string subject;
  std::string issuer;
  std::string serial;       // upper-case hex
  std::string fingerprint;  // SHA-256, "AB:CD:..."
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string cert_file;
  std::string key_file;
};

struct StoredCert {
  crypto::x509::KeyPtr key;
  crypto::x509::CertPtr cert;
  std::vector<crypto::x509::CertPtr> chain;  // issuer first
};

struct PendingRequest {
  crypto::x509::KeyPtr key;
  std::string csr_der;
};

// True for a self-signed certificate (a root).
bool isSelfSigned(X509* cert);
RootInfo rootInfo(X509* cert);

class CertStore {
 public:
  // Opens (creating, mode 0700) the directory.
  static Result<CertStore> open(const std::string& dir);
  // A store over `dir` without creating it: every lookup is not_found until
  // something makes the directory.
  static CertStore unopened(std::string dir) { return CertStore(std::move(dir)); }
  const std::string& dir() const { return dir_; }

  // ---- roots ----
  Result<std::vector<RootInfo>> trustedRoots() const;
  Result<std::vector<RootInfo>> pendingRoots() const;
  Result<bool> isTrusted(X509* root) const;
  // Remembers a root the user has not accepted (shown with its fingerprint);
  // nothing for one already trusted.
  Result<RootInfo> addPending(X509* root);
  // The user accepted this root: it becomes a trust anchor. invalid_argument
  // for a certificate that is not self-signed.
  Result<RootInfo> trust(X509* root);
  // Accepts a pending root by fingerprint; not_found when none has it.
  Result<RootInfo> trustFingerprint(std::string_view fingerprint);
  // Checks that `leaf` chains to a trusted root through `untrusted`
  // (X509_verify_cert: signatures, validity, CA constraints); permission_denied
  // with the reason otherwise.
  Status verify(X509* leaf, const std::vector<X509*>& untrusted) const;
  // The accepted roots themselves (S/MIME signers are judged against them).
  Result<std::vector<crypto::x509::CertPtr>> trustedRootCerts() const { return rootsIn("trusted"); }

  // ---- certificates, one per template ----
  // Stores key (0600), certificate and chain for `template_name` (replacing
  // what was there) and drops its pending request. invalid_argument for a
  // bad template name or a key that does not match the certificate.
  Result<CertInfo> store(std::string_view template_name, EVP_PKEY* key, X509* cert,
                         const std::vector<X509*>& chain);
  Result<std::vector<CertInfo>> list() const;
  // not_found when the template has no certificate.
  Result<StoredCert> load(std::string_view template_name) const;
  std::string keyPath(std::string_view template_name) const;
  std::string certPath(std::string_view template_name) const;
  std::string chainPath(std::string_view template_name) const;

  // ---- an enrollment the CA holds (HTTP 202) ----
  Status savePendingRequest(std::string_view template_name, EVP_PKEY* key,
                            std::string_view csr_der);
  Result<std::optional<PendingRequest>> pendingRequest(std::string_view template_name) const;
  Status clearPendingRequest(std::string_view template_name);

  // ---- PKCS#12 (RFC 7292) ----
  Result<std::string> exportPkcs12(std::string_view template_name, std::string_view password,
                                   crypto::x509::Pkcs12Profile profile) const;
  struct Imported {
    CertInfo cert;
    std::vector<RootInfo> untrusted_roots;  // roots in the file, now pending
  };
  // Stores the file's key, certificate and chain under `template_name`; roots
  // it carries are remembered as pending, never trusted.
  Result<Imported> importPkcs12(std::string_view template_name, std::string_view der,
                                std::string_view password);

  // ---- the provisioning document, kept for its templates' key types ----
  Status saveProvisioning(std::string_view xml);
  Result<std::optional<std::string>> provisioning() const;

 private:
  explicit CertStore(std::string dir) : dir_(std::move(dir)) {}
  Result<std::vector<crypto::x509::CertPtr>> rootsIn(const std::string& sub) const;
  Result<std::string> templateDir(std::string_view template_name, bool create) const;
  std::string dir_;
};

}  // namespace rampart::device
