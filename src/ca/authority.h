// The certificate authority (DESIGN.md 3, issue 5): a root and an issuing
// intermediate, issuance from templates, revocation, CRLs (RFC 5280 5) and
// OCSP answers (RFC 6960) signed by a delegated responder.
//
// Keys live in AuthorityConfig::dir, written 0600 and never logged:
//   root.crt root.key            self-signed root (generated on first open, or imported)
//   issuing.crt issuing.key      the intermediate that signs end-entity certificates and CRLs
//   ocsp.crt ocsp.key            the delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck)
//   chain.pem                    issuing then root, for TLS peers
//   issuing.crl                  the current full CRL (PEM), re-written atomically
//
// Flow of an enrollment: EST service authenticates the user -> enroll() ->
// template checks (enabled, group, key type, renewal window) -> pending record
// (approval needed: answer 202) or issuance -> record marked issued (committed)
// -> certificate returned; published to the directory when the template says.
//
// Thread-safe: EST handlers on several threads may call it at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ca/template.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/x509.h"
#include "directory/directory.h"
#include "store/ca_store.h"

namespace rampart::ca {

struct AuthorityConfig {
  std::string dir;                        // key and certificate files (created 0700)
  std::string organization = "Rampart";   // O= of the CA subjects and issued subjects
  std::string root_name = "Rampart Root CA";
  std::string issuing_name = "Rampart Issuing CA";
  crypto::x509::KeyType key_type = crypto::x509::KeyType::ec_p256;
  std::chrono::seconds root_lifetime{std::chrono::hours(24 * 365 * 20)};
  std::chrono::seconds issuing_lifetime{std::chrono::hours(24 * 365 * 10)};
  // Put into every issued certificate when set (RFC 5280 4.2.1.13, 4.2.2.1).
  std::string crl_url;                    // "http://127.0.0.1:8080/crl/issuing.crl"
  std::string ocsp_url;                   // "http://127.0.0.1:8080/ocsp"
  std::chrono::seconds crl_validity{std::chrono::hours(24)};  // nextUpdate - thisUpdate
  std::chrono::seconds ocsp_validity{std::chrono::hours(1)};
  std::chrono::seconds retry_after{std::chrono::minutes(5)};  // pending answers (RFC 7030 4.2.3)
  // Optional import on first open, instead of generating (PEM files).
  std::string import_root_cert, import_root_key, import_issuing_cert, import_issuing_key;
};

struct EnrollRequest {
  std::string template_name;
  std::string user;        // the authenticated directory user
  std::string requester;   // for the record: "alice (basic)"
  // simplereenroll (RFC 7030 4.2.2): the certificate the client authenticated
  // with; must be ours, issued to `user` from this template, not revoked, and
  // within the template's renewal window (or expired at most... never: an
  // expired certificate fails TLS before this).
  crypto::x509::CertPtr current;
};

struct EnrollResult {
  enum class Kind { issued, pending, rejected };
  Kind kind = Kind::rejected;
  crypto::x509::CertPtr cert;             // issued
  std::string serial;                     // issued
  std::chrono::seconds retry_after{0};    // pending
  std::string reason;                     // rejected: why, safe to show the client
};

class Authority {
 public:
  // Loads the keys from config.dir, or creates (or imports) them on first
  // open; stores the builtin templates in the store when it has none.
  static Result<std::shared_ptr<Authority>> open(AuthorityConfig config, std::shared_ptr<store::CaStore> store,
                                                 std::shared_ptr<directory::Directory> dir,
                                                 std::shared_ptr<directory::DirectoryAdmin> publish_to,
                                                 const Clock& clock = systemClock());

  // Enrollment. Errors are for the CA's own failures (storage, signing);
  // refusals come back as Kind::rejected with a reason:
  //   permission_denied-like: user disabled or unknown, not in enroll_groups,
  //   template unknown or disabled, key type not allowed, re-enroll of a
  //   certificate that is not ours / revoked / another user's / another
  //   template's, or outside the renewal window.
  // A request needing approval is recorded pending; the same CSR sent again
  // after approval is issued (RFC 7030 4.2.3's retry).
  Result<EnrollResult> enroll(const EnrollRequest& request, const crypto::x509::ParsedCsr& csr);

  // Issued -> revoked (RFC 5280 5.3.1 reason), then a new CRL is written.
  Status revoke(std::string_view serial, int reason, std::string_view by);

  // The current CRL (DER), re-signed when a revocation happened since the last
  // one, or when half its validity has passed. Also written to dir/issuing.crl.
  Result<std::string> crlDer();
  // Re-issues the CRL if the store's revocation generation moved (another
  // process, e.g. `rampart admin cert revoke`, revoked); cheap when not.
  Status refresh();

  // An OCSP answer (RFC 6960 4.2) to a DER OCSPRequest: always a DER
  // OCSPResponse, with responseStatus malformedRequest / unauthorized /
  // internalError when it cannot answer successful. good / revoked / unknown
  // per CertID (issuer must be the issuing CA; unknown otherwise). The nonce
  // (RFC 8954) is echoed when present; answers without a nonce are cached
  // until revocation changes or half of ocsp_validity has passed.
  std::string ocspRespond(std::string_view der_request);

  // Trust: the issuing certificate and the root, and the chain file (PEM).
  X509* root() const;
  X509* issuing() const;
  std::vector<X509*> chain() const;  // issuing, root
  std::string chainPemPath() const;
  std::string crlPath() const;
  store::CaStore& store() const;

  // The template by name, parsed from the store; not_found.
  Result<CertTemplate> findTemplate(std::string_view name) const;

  ~Authority();
  struct Impl;

 private:
  explicit Authority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::ca
