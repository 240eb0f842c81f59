// The device's EST client (RFC 7030) and the enrollment it drives (issue 5,
// "Device side"): the key pair is made here, on the device; the CA sees only
// the PKCS#10 request.
//
//   GET  <est>/[<label>/]cacerts          the CA chain (4.1), certs-only CMS, base64
//   POST <est>/[<label>/]simpleenroll     Basic user:password (3.2.3), body: base64 PKCS#10 (4.2.1)
//   POST <est>/[<label>/]simplereenroll   the current certificate as TLS client cert (3.3.2, 4.2.2)
//
// <est> is "https://host:port/.well-known/est"; the label is the template
// name, none for "device" (the server's default). A 202 answer with
// Retry-After means the CA holds the request (manual approval, 4.2.3): the
// same request (same key, same bytes) is sent again later, so it is kept in
// the CertStore until the certificate comes.
//
// Trust (4.1.1): the roots of /cacerts must already be trusted, be named by
// the caller (--trust-fingerprint), or be accepted by the prompt; otherwise
// they are remembered as pending and enrollment stops with permission_denied,
// naming subject and fingerprint. The issued certificate must chain to a
// trusted root and carry our public key.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"
#include "device/cert_store.h"
#include "device/client.h"
#include "device/transport.h"

namespace rampart::device {

struct EstOptions {
  std::string url;      // "https://host:port/.well-known/est"
  std::string label;    // template name; "" or "device": no label
  std::string ca_file;  // TLS trust anchors for the server; empty: the system store
  std::string user;     // Basic credentials for simpleenroll (empty: none)
  std::string password;
  std::string cert_file;  // TLS client certificate (simplereenroll)
  std::string key_file;
  std::chrono::seconds timeout{60};
};

struct EstAnswer {
  bool pending = false;                      // 202: the CA holds the request
  int retry_after = 0;                       // seconds, when pending
  std::vector<crypto::x509::CertPtr> certs;  // when issued
};

// One EST server; each call is one blocking HTTPS request.
class EstClient {
 public:
  static Result<EstClient> create(EstOptions options);
  Result<std::vector<crypto::x509::CertPtr>> caCerts();
  Result<EstAnswer> simpleEnroll(std::string_view csr_der);
  Result<EstAnswer> simpleReenroll(std::string_view csr_der);

 private:
  EstClient(EstOptions options, ServerUrl url, std::shared_ptr<tls::ssl::context> tls)
      : options_(std::move(options)), url_(std::move(url)), tls_(std::move(tls)) {}
  std::string path(std::string_view op) const;
  Result<EstAnswer> enrollCall(std::string_view op, std::string_view csr_der);
  EstOptions options_;
  ServerUrl url_;
  std::shared_ptr<tls::ssl::context> tls_;
};

// Asked about a root seen for the first time; true accepts it.
using TrustPrompt = std::function<bool(const RootInfo&)>;
using Sleep = std::function<void(std::chrono::seconds)>;

struct EnrollRequest {
  std::string template_name = "device";
  std::string est_url;
  std::string ca_file;  // TLS trust for the EST server
  std::string user;     // simpleenroll's Basic credentials; the CSR's CN
  std::string password;
  bool renew = false;  // simplereenroll with the template's current certificate
  std::optional<crypto::x509::KeyType>
      key_type;                                 // default: the current key's on renew, else ec-p256
  std::vector<std::string> trust_fingerprints;  // roots accepted up front
  bool wait = false;                            // on 202, wait and retry
  int max_waits = 20;
  int max_retry_after = 3600;  // our bound on a server's Retry-After
};

struct EnrollResult {
  bool pending = false;  // the CA holds the request; run enroll again later
  int retry_after = 0;
  CertInfo cert;                      // when issued
  std::vector<RootInfo> trusted_now;  // roots accepted during this enrollment
};

// The whole enrollment: /cacerts and trust, key and request (or the held
// request after a 202), simple(re)enroll, chain check, store.
Result<EnrollResult> enroll(CertStore& store, const EnrollRequest& request,
                            const TrustPrompt& prompt = {}, const Notify& notify = {},
                            const Sleep& sleep = {});

// The seconds of a Retry-After value (RFC 9110 10.2.3): delay-seconds, or an
// HTTP date relative to `now` (Unix seconds); `fallback` when unreadable;
// clamped to [1, max].
int retryAfterSeconds(const std::optional<std::string>& value, std::int64_t now, int fallback,
                      int max);

}  // namespace rampart::device
