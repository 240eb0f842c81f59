#include "device/est_client.h"

#include <openssl/err.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <thread>

#include "crypto/x509/csr.h"
#include "crypto/x509/pkcs7.h"

#ifndef RAMPART_VERSION
#define RAMPART_VERSION "0"
#endif

namespace rampart::device {

namespace {

namespace x509 = crypto::x509;

constexpr std::string_view kUserAgent = "rampart-device/" RAMPART_VERSION;
constexpr std::size_t kMaxEstBody = 1024 * 1024;  // a certs-only answer, base64
constexpr std::size_t kMaxCerts = 32;

// A server's error text, safe to print: printable ASCII, bounded.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 7030 4.1.3 / 4.2.3: application/pkcs7-mime, base64 of a certs-only
// CMS. A DER body (some servers omit the base64) is accepted too.
Result<std::vector<x509::CertPtr>> decodeCerts(const Reply& reply, std::string_view what) {
  std::string type = lower(reply.content_type);
  if (!type.starts_with("application/pkcs7-mime")) {
    return fail(Errc::protocol_error, std::string(what) + ": unexpected Content-Type '" +
                                          excerpt(reply.content_type) + "'");
  }
  std::string der;
  if (!reply.body.empty() && static_cast<unsigned char>(reply.body[0]) == 0x30) {
    der = reply.body;
  } else {
    auto decoded = x509::base64DecodeLenient(reply.body, kMaxEstBody);
    if (!decoded) return fail(Errc::protocol_error, std::string(what) + ": bad base64 body");
    der = std::move(*decoded);
  }
  auto certs = x509::parseCertsOnly(der, kMaxCerts);
  if (!certs) return fail(Errc::protocol_error, std::string(what) + ": " + certs.error().message());
  if (certs->empty()) return fail(Errc::protocol_error, std::string(what) + ": no certificate");
  return certs;
}

Error httpError(std::string_view what, const Reply& reply) {
  std::string detail = std::string(what) + ": HTTP " + std::to_string(reply.status);
  std::string text = excerpt(reply.body);
  if (!text.empty()) detail += " (" + text + ")";
  switch (reply.status) {
    case 401:
      return Error{make_error_code(Errc::unauthenticated), detail + ": authentication failed"};
    case 403:
      return Error{make_error_code(Errc::permission_denied), detail};
    case 404:
      return Error{make_error_code(Errc::not_found), detail + ": no such template on the server?"};
    case 400:
      return Error{make_error_code(Errc::invalid_argument), detail};
    case 503:
      return Error{make_error_code(Errc::unavailable), detail};
    default:
      return Error{make_error_code(Errc::protocol_error), detail};
  }
}

}  // namespace

int retryAfterSeconds(const std::optional<std::string>& value, std::int64_t now, int fallback,
                      int max) {
  int seconds = fallback;
  if (value) {
    std::string v = *value;
    while (!v.empty() && v.back() == ' ') v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    long long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (!v.empty() && ec == std::errc() && end == v.data() + v.size()) {
      seconds = static_cast<int>(std::clamp<long long>(n, 0, max));
    } else {
      // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7).
      std::tm tm{};
      const char* rest = ::strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
      if (rest && *rest == '\0') {
        std::int64_t at = ::timegm(&tm);
        seconds = static_cast<int>(std::clamp<std::int64_t>(at - now, 0, max));
      }
    }
  }
  return std::clamp(seconds, 1, max);
}

Result<EstClient> EstClient::create(EstOptions options) {
  auto url = parseUrl(options.url);
  if (!url) return fail(url.error());
  if (!url->tls) return fail(Errc::invalid_argument, "EST needs an https:// URL (RFC 7030 3.3)");
  // parseUrl defaults an empty path to EAS's; EST's is fixed (RFC 7030 3.2.2).
  if (options.url.find('/', 8) == std::string::npos) url->path = "/.well-known/est";
  auto tls = clientContext(*url, options.ca_file, options.cert_file, options.key_file);
  if (!tls) return fail(tls.error());
  return EstClient(std::move(options), std::move(*url), std::move(*tls));
}

std::string EstClient::path(std::string_view op) const {
  std::string p = url_.path;
  if (!options_.label.empty() && options_.label != "device") p += "/" + options_.label;
  return p + "/" + std::string(op);
}

Result<std::vector<x509::CertPtr>> EstClient::caCerts() {
  // 4.1.1: /cacerts needs no client authentication.
  http::Request req{http::Verb::get, path("cacerts"), 11};
  req.set(http::Field::user_agent, kUserAgent);
  req.set(http::Field::accept, "application/pkcs7-mime");
  auto reply = sendRequest(url_, tls_, std::move(req), options_.timeout, kMaxEstBody);
  if (!reply) return fail(reply.error());
  if (reply->status != 200) return fail(httpError("EST cacerts", *reply));
  return decodeCerts(*reply, "EST cacerts");
}

Result<EstAnswer> EstClient::enrollCall(std::string_view op, std::string_view csr_der) {
  // 4.2.1: "application/pkcs10", base64 with Content-Transfer-Encoding.
  http::Request req{http::Verb::post, path(op), 11};
  req.set(http::Field::user_agent, kUserAgent);
  req.set(http::Field::content_type, "application/pkcs10");
  req.set("Content-Transfer-Encoding", "base64");
  if (!options_.user.empty()) {
    req.set(http::Field::authorization, basicAuth(options_.user, options_.password));
  }
  req.body() = x509::base64Lines(csr_der);
  auto reply = sendRequest(url_, tls_, std::move(req), options_.timeout, kMaxEstBody);
  if (!reply) return fail(reply.error());
  std::string what = "EST " + std::string(op);
  EstAnswer answer;
  if (reply->status == 202) {
    // 4.2.3: the request is held; come back after Retry-After.
    answer.pending = true;
    answer.retry_after = retryAfterSeconds(
        reply->retry_after, static_cast<std::int64_t>(std::time(nullptr)), 60, 24 * 3600);
    return answer;
  }
  if (reply->status != 200) return fail(httpError(what, *reply));
  auto certs = decodeCerts(*reply, what);
  if (!certs) return fail(certs.error());
  answer.certs = std::move(*certs);
  return answer;
}

Result<EstAnswer> EstClient::simpleEnroll(std::string_view csr_der) {
  return enrollCall("simpleenroll", csr_der);
}

Result<EstAnswer> EstClient::simpleReenroll(std::string_view csr_der) {
  return enrollCall("simplereenroll", csr_der);
}

Result<EnrollResult> enroll(CertStore& store, const EnrollRequest& r, const TrustPrompt& prompt,
                            const Notify& notify, const Sleep& sleep) {
  auto say = [&notify](const std::string& line) {
    if (notify) notify(line);
  };
  if (r.est_url.empty()) {
    return fail(Errc::invalid_argument,
                "no EST URL (--est-url, or `rampart device setup --provisioning FILE`)");
  }
  std::vector<std::string> accepted;
  for (const auto& fp : r.trust_fingerprints) {
    auto n = normalizeFingerprint(fp);
    if (!n) return fail(n.error());
    accepted.push_back(*n);
  }

  EstOptions o;
  o.url = r.est_url;
  o.label = r.template_name;
  o.ca_file = r.ca_file;
  std::optional<StoredCert> current;
  if (r.renew) {
    // 3.3.2: re-enrollment authenticates with the certificate being renewed.
    auto stored = store.load(r.template_name);
    if (!stored) return fail(stored.error());
    current = std::move(*stored);
    o.cert_file = store.certPath(r.template_name);
    o.key_file = store.keyPath(r.template_name);
  } else {
    o.user = r.user;
    o.password = r.password;
  }
  auto est = EstClient::create(o);
  if (!est) return fail(est.error());

  // The CA chain and its roots: trusted, accepted now, or refused (4.1.1).
  auto ca = est->caCerts();
  if (!ca) return fail(ca.error());
  EnrollResult result;
  std::vector<RootInfo> refused;
  for (auto& c : *ca) {
    if (!isSelfSigned(c.get())) continue;
    auto trusted = store.isTrusted(c.get());
    if (!trusted) return fail(trusted.error());
    if (*trusted) continue;
    RootInfo info = rootInfo(c.get());
    bool ok = std::find(accepted.begin(), accepted.end(), info.fingerprint) != accepted.end() ||
              (prompt && prompt(info));
    if (ok) {
      auto t = store.trust(c.get());
      if (!t) return fail(t.error());
      say("trusted root " + t->subject + " (SHA-256 " + t->fingerprint + ")");
      result.trusted_now.push_back(std::move(*t));
    } else {
      auto p = store.addPending(c.get());
      if (!p) return fail(p.error());
      refused.push_back(std::move(*p));
    }
  }
  if (!refused.empty()) {
    std::string detail = "the EST server's root is not trusted:";
    for (const auto& i : refused) detail += "\n  " + i.subject + "\n  SHA-256 " + i.fingerprint;
    detail +=
        "\ncheck the fingerprint with your administrator, then accept it with "
        "`rampart device cert trust --fingerprint FP` (or --trust-fingerprint FP)";
    return fail(Errc::permission_denied, detail);
  }

  // The request: the one the CA holds, or a fresh key pair made here.
  auto held = store.pendingRequest(r.template_name);
  if (!held) return fail(held.error());
  x509::KeyPtr key;
  std::string csr;
  if (*held) {
    key = std::move((*held)->key);
    csr = std::move((*held)->csr_der);
    say("resending the request the CA holds for template " + r.template_name);
  } else {
    // The key type asked for; on renewal, else the current key's (the
    // template allowed it); else P-256.
    x509::KeyType type = x509::KeyType::ec_p256;
    if (r.key_type) {
      type = *r.key_type;
    } else if (current) {
      if (auto t = x509::keyTypeOf(current->key.get())) type = *t;
    }
    auto made = x509::generateKey(type);
    if (!made) return fail(made.error());
    key = std::move(*made);
    std::string cn = r.user;
    if (current) {
      // 4.2.2: the renewal's subject is the current certificate's; the CA
      // builds it anyway, the CN is informational.
      auto subject = x509::subjectText(current->cert.get());
      if (subject.starts_with("CN=")) cn = subject.substr(3, subject.find(',') - 3);
    }
    auto request = x509::makeCsr(key.get(), cn);
    if (!request) return fail(request.error());
    csr = std::move(*request);
  }

  EstAnswer answer;
  for (int waits = 0;; ++waits) {
    auto got = r.renew ? est->simpleReenroll(csr) : est->simpleEnroll(csr);
    if (!got) return fail(got.error());
    answer = std::move(*got);
    if (!answer.pending) break;
    if (waits == 0) {
      if (auto st = store.savePendingRequest(r.template_name, key.get(), csr); !st)
        return fail(st.error());
    }
    int seconds = std::min(answer.retry_after, r.max_retry_after);
    if (!r.wait || waits >= r.max_waits) {
      result.pending = true;
      result.retry_after = seconds;
      return result;
    }
    say("pending: the CA holds the request, retrying in " + std::to_string(seconds) + " s");
    if (sleep)
      sleep(std::chrono::seconds(seconds));
    else
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
  }

  // 4.2.3: the issued certificate (with, maybe, others): ours carries our key.
  X509* leaf = nullptr;
  for (auto& c : answer.certs) {
    if (X509_check_private_key(c.get(), key.get()) == 1) {
      leaf = c.get();
      break;
    }
  }
  ERR_clear_error();
  if (!leaf) return fail(Errc::protocol_error, "the EST answer holds no certificate for our key");
  std::vector<X509*> untrusted;
  for (auto& c : answer.certs)
    if (c.get() != leaf) untrusted.push_back(c.get());
  for (auto& c : *ca) untrusted.push_back(c.get());
  if (auto st = store.verify(leaf, untrusted); !st) return fail(st.error());

  std::vector<X509*> chain;
  for (auto& c : *ca) chain.push_back(c.get());
  auto info = store.store(r.template_name, key.get(), leaf, chain);
  if (!info) return fail(info.error());
  result.cert = std::move(*info);
  return result;
}

}  // namespace rampart::device
