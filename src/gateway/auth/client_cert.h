// TLS client-certificate pre-authentication (DESIGN.md 2, issue 4 "TLS client
// certificates"): after the handshake the gateway re-verifies the peer's
// certificate against its own trust anchors and CRLs (RFC 5280 6.3), optionally
// asks an OCSP responder about the leaf (RFC 6960), and maps the certificate
// to a directory user name.
//
// Flow: TLS handshake (the listener requests a client certificate) ->
// ClientCertPolicy::verifyAndMap(ssl) -> user name -> directory lookup.
//
// This file does no network I/O: the OCSP POST (RFC 6960 appendix A.1) goes
// through an OcspTransport callback, so the caller decides how to run it (a
// blocking helper thread, a coroutine bridge). A verifyAndMap() that misses
// the OCSP cache blocks for as long as the callback does.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace rampart::gateway::auth {

// Where the directory user name comes from.
enum class CertUserSource {
  san_email,        // subjectAltName rfc822Name, whole address
  san_email_local,  // subjectAltName rfc822Name, the part before '@'
  san_upn,          // subjectAltName otherName msUPN (1.3.6.1.4.1.311.20.2.3), whole UPN
  san_upn_local,    // the same, the part before '@'
  subject_cn,       // subject commonName
  subject_uid,      // subject userId (0.9.2342.19200300.100.1.1)
};

struct CertMapping {
  CertUserSource source = CertUserSource::san_email;
  // When set, the address (e-mail, UPN, or a CN/UID of the form x@domain) must
  // be in this domain (ASCII case-insensitive); values without '@' are refused.
  std::string required_domain;
};

// The user name `leaf` maps to. Refuses (unauthenticated) when the field is
// absent, appears more than once with different values (ambiguous), is not in
// required_domain, is empty, longer than 256 bytes, or holds control
// characters or NUL. The name is returned as in the certificate (UTF-8).
Result<std::string> mapToUser(X509* leaf, const CertMapping& mapping);

// The OCSP POST: DER request to `url`, DER response back (or an error).
using OcspTransport = std::function<Result<std::string>(std::string url, std::string der_request)>;

// OCSP is asked about the leaf only; the intermediates are covered by CRLs.
// The responder's own certificate is checked by OCSP_basic_verify against the
// trust anchors at the real time (not the injected clock), without CRLs
// (RFC 6960 4.2.2.2.1: responder certificates are usually id-pkix-ocsp-nocheck).
struct OcspConfig {
  bool enabled = false;
  std::string responder_url;  // overrides the leaf's AIA OCSP URL when set
  // Fail closed when no answer can be had (no URL, transport error, bad
  // response); false = soft-fail (accept on "no answer", never on "revoked").
  bool require_answer = true;
  bool require_nonce = true;           // RFC 6960 4.4.1; responders with presigned answers lack it
  std::chrono::seconds max_skew{300};  // tolerance on thisUpdate / nextUpdate
  std::size_t max_response_bytes = 64 * 1024;
  std::size_t max_cache_entries = 10'000;
  // An answer is cached until its nextUpdate, but never longer than this, so
  // that a revocation is seen within the gateway's refresh interval even when
  // the responder announces a distant nextUpdate. Zero: not cached at all.
  // Answers without nextUpdate are not cached (RFC 6960 2.4: newer ones are always available).
  std::chrono::seconds max_cache_age{60};
};

// Fetches the CRL published at `url` (the body of a GET: DER or PEM), or an error.
using CrlFetcher = std::function<Result<std::string>(std::string url)>;

struct ClientCertConfig {
  std::string ca_file;                 // PEM trust anchors (and intermediates to trust)
  std::vector<std::string> crl_files;  // PEM (one or more CRLs) or DER
  // CRL distribution URLs (http://) whose CRLs are taken in by setCrl() /
  // refreshCrls(). With neither files nor URLs there are no CRL checks; with
  // URLs but no CRL fetched yet, certificates fail closed (no CRL to check).
  std::vector<std::string> crl_urls;
  // RFC 5280 6.3: true checks the CRL of every certificate in the path (each
  // CA must publish one); false only the leaf's (a CA that publishes just the
  // issuing CA's CRL).
  bool crl_check_all = true;
  bool allow_expired_crl = false;      // an expired CRL fails closed unless this is set
  int max_chain_depth = 4;
  OcspConfig ocsp;
  CertMapping mapping;
};

// Verifies client certificates and maps them to users. Thread-safe: CRL
// reloads swap in a new trust store; verifications in flight keep the old one.
class ClientCertPolicy {
 public:
  // Loads the CA file and CRLs; config_error when any of them cannot be read.
  // `transport` is required when ocsp.enabled. `clock` must outlive the policy.
  static Result<std::shared_ptr<ClientCertPolicy>> create(ClientCertConfig config,
                                                          OcspTransport transport = {},
                                                          const Clock& clock = systemClock());

  // Re-reads the CA and CRL files; on any error keeps the current store.
  Status reloadCrls();

  // Takes in the CRL fetched from `source` (a crl_urls entry; DER or PEM, the
  // first CRL of a PEM text) in place of the previous one from there. Refused
  // (and the previous one kept) unless it parses, is signed by a certificate of
  // ca_file whose subject is its issuer, and is not older (thisUpdate) than the
  // one it replaces (a replayed old CRL over plain HTTP). Errors: invalid_argument
  // (unparsable, unknown issuer, bad signature, older), limit_exceeded (over 16 MiB),
  // config_error (the files no longer load; the CRL is kept for the next reload).
  Status setCrl(const std::string& source, std::string_view data);

  // One refresh round (the gateway's crl_refresh timer): reloadCrls(), then
  // every crl_urls entry through `fetcher` and setCrl(). Every URL is tried;
  // the first error is returned (the caller logs it).
  Status refreshCrls(const CrlFetcher& fetcher);

  // Verifies `leaf` with the untrusted intermediates in `chain` (may be null;
  // may or may not contain the leaf) at the clock's time, checking the CRL of
  // every certificate in the chain when CRLs are configured, then OCSP for the
  // leaf when enabled, then maps it to a user. Errors:
  //   unauthenticated  no certificate, chain/CRL failure (detail names the
  //                    X509 error), revoked by OCSP, unknown to OCSP, mapping
  //   unavailable      OCSP needed but no valid answer (require_answer)
  //   limit_exceeded   chain longer than 10 certificates
  Result<std::string> verifyAndMap(X509* leaf, STACK_OF(X509) * chain);

  // The same for a server-side connection after its handshake: the peer's
  // certificate (SSL_get0_peer_certificate) and the chain it sent
  // (SSL_get_peer_cert_chain). The handshake's own verification result is not
  // trusted; everything is checked again here.
  Result<std::string> verifyAndMap(SSL* ssl);

  // OCSP requests sent so far (for metrics and tests).
  std::uint64_t ocspQueries() const;
  std::size_t ocspCacheEntries() const;

  ~ClientCertPolicy();

 private:
  struct Store;
  struct CacheEntry {
    bool revoked = false;
    std::int64_t next_update = 0;  // Unix seconds
  };
  ClientCertPolicy(ClientCertConfig config, OcspTransport transport, const Clock& clock);
  Result<std::shared_ptr<const Store>> loadStore() const;
  Status takeCrl(const std::string& source, std::string_view data);
  std::shared_ptr<const Store> store() const;
  Status checkOcsp(X509* leaf, X509* issuer, const Store& store);
  Status queryOcsp(X509* leaf, const std::string& cache_key, void* cert_id, const Store& store,
                   std::int64_t now);

  struct CrlFree {
    void operator()(X509_CRL* p) const;
  };
  struct FetchedCrl {
    std::shared_ptr<X509_CRL> crl;
    std::int64_t this_update = 0;  // Unix seconds
  };

  ClientCertConfig config_;
  OcspTransport transport_;
  const Clock* clock_;
  mutable std::mutex mutex_;  // guards store_, cache_, ocsp_queries_
  std::shared_ptr<const Store> store_;
  std::map<std::string, CacheEntry> cache_;  // DER OCSP CertID -> answer
  std::uint64_t ocsp_queries_ = 0;
  std::map<std::string, FetchedCrl> fetched_crls_;  // by source URL; guarded by mutex_
};

// Runs policy->refreshCrls(fetcher) every `interval` on a thread of its own,
// the first round after one interval, until destroyed (the destructor waits
// for a round in progress). Failures are logged; the policy keeps what it had.
class CrlRefresher {
 public:
  CrlRefresher(std::shared_ptr<ClientCertPolicy> policy, std::chrono::milliseconds interval,
               CrlFetcher fetcher);
  ~CrlRefresher();
  CrlRefresher(const CrlRefresher&) = delete;
  CrlRefresher& operator=(const CrlRefresher&) = delete;

  std::uint64_t rounds() const;  // rounds completed (tests)

 private:
  void run();
  std::shared_ptr<ClientCertPolicy> policy_;
  std::chrono::milliseconds interval_;
  CrlFetcher fetcher_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::uint64_t rounds_ = 0;
  std::thread thread_;
};

}  // namespace rampart::gateway::auth
