#include "gateway/auth/client_cert.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <functional>
#include <fstream>
#include <iterator>
#include <optional>

#include "core/log.h"

namespace rampart::gateway::auth {
namespace {

constexpr std::size_t kMaxUserName = 256;
constexpr int kMaxPeerChain = 10;
constexpr std::size_t kMaxCrlBytes = 16 * 1024 * 1024;

struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct OcspRequestFree {
  void operator()(OCSP_REQUEST* p) const { OCSP_REQUEST_free(p); }
};
struct OcspResponseFree {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
};
struct OcspBasicFree {
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
};
struct OcspCertIdFree {
  void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

std::string asciiLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::optional<std::string> toUtf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string r(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return r;
}

// No NUL (a "null-prefix" name), no control characters, bounded.
bool acceptableName(const std::string& s) {
  if (s.empty() || s.size() > kMaxUserName) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool isAddressSource(CertUserSource s) {
  return s == CertUserSource::san_email || s == CertUserSource::san_email_local ||
         s == CertUserSource::san_upn || s == CertUserSource::san_upn_local;
}

std::vector<std::string> candidates(X509* leaf, CertUserSource source) {
  std::vector<std::string> out;
  if (isAddressSource(source)) {
    bool email = source == CertUserSource::san_email || source == CertUserSource::san_email_local;
    std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      // A present value that does not convert is kept as "" so that it is
      // refused rather than skipped.
      if (email && gn->type == GEN_EMAIL) {
        out.push_back(toUtf8(gn->d.rfc822Name).value_or(std::string()));
      } else if (!email && gn->type == GEN_OTHERNAME &&
                 OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn) {
        const ASN1_TYPE* v = gn->d.otherName->value;
        bool utf8 = v != nullptr && v->type == V_ASN1_UTF8STRING;
        out.push_back(utf8 ? toUtf8(v->value.utf8string).value_or(std::string()) : std::string());
      }
    }
    return out;
  }
  int nid = source == CertUserSource::subject_cn ? NID_commonName : NID_userId;
  X509_NAME* subject = X509_get_subject_name(leaf);
  for (int pos = -1; (pos = X509_NAME_get_index_by_NID(subject, nid, pos)) >= 0;) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
    auto value = toUtf8(data);
    out.push_back(value ? std::move(*value) : std::string());
  }
  return out;
}

// Unix seconds of an ASN1_TIME; nullopt when it does not parse.
std::optional<std::int64_t> unixTime(const ASN1_GENERALIZEDTIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string x509Error(X509_STORE_CTX* ctx) {
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
}

int allowExpiredCrl(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CRL_HAS_EXPIRED) return 1;
  return ok;
}

Result<std::string> readFile(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::config_error, "cannot read " + path);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > limit) return fail(Errc::config_error, path + " is too large");
  return data;
}

}  // namespace

Result<std::string> mapToUser(X509* leaf, const CertMapping& mapping) {
  if (leaf == nullptr) return fail(Errc::unauthenticated, "no client certificate");
  std::vector<std::string> found = candidates(leaf, mapping.source);
  const bool local = mapping.source == CertUserSource::san_email_local ||
                     mapping.source == CertUserSource::san_upn_local;
  const std::string domain = asciiLower(mapping.required_domain);
  std::optional<std::string> user;
  bool any_present = !found.empty();
  for (const std::string& value : found) {
    if (!acceptableName(value)) {
      return fail(Errc::unauthenticated, "client certificate: unusable user name field");
    }
    auto at = value.rfind('@');
    bool address_needed = local || !domain.empty();
    if (address_needed && (at == std::string::npos || at == 0 || at + 1 == value.size())) {
      continue;  // not an address: cannot satisfy the mapping
    }
    if (!domain.empty() && asciiLower(value.substr(at + 1)) != domain) continue;
    std::string name = local ? value.substr(0, at) : value;
    if (user && *user != name) {
      return fail(Errc::unauthenticated, "client certificate: ambiguous user name");
    }
    user = std::move(name);
  }
  if (!user) {
    return fail(Errc::unauthenticated,
                any_present ? "client certificate: user name not in the required domain"
                            : "client certificate: no user name field");
  }
  return *user;
}

struct ClientCertPolicy::Store {
  X509_STORE* store = nullptr;
  bool has_crls = false;
  ~Store() { X509_STORE_free(store); }
};

ClientCertPolicy::ClientCertPolicy(ClientCertConfig config, OcspTransport transport,
                                   const Clock& clock)
    : config_(std::move(config)), transport_(std::move(transport)), clock_(&clock) {}

ClientCertPolicy::~ClientCertPolicy() = default;

Result<std::shared_ptr<ClientCertPolicy>> ClientCertPolicy::create(ClientCertConfig config,
                                                                   OcspTransport transport,
                                                                   const Clock& clock) {
  if (config.ca_file.empty()) return fail(Errc::config_error, "client certificates: no CA file");
  if (config.ocsp.enabled && !transport) {
    return fail(Errc::config_error, "client certificates: OCSP enabled without a transport");
  }
  if (config.max_chain_depth < 1 || config.max_chain_depth > kMaxPeerChain) {
    return fail(Errc::config_error, "client certificates: chain depth must be 1..10");
  }
  std::shared_ptr<ClientCertPolicy> policy(
      new ClientCertPolicy(std::move(config), std::move(transport), clock));
  auto store = policy->loadStore();
  if (!store) return fail(store.error());
  policy->store_ = std::move(*store);
  return policy;
}

Result<std::shared_ptr<const ClientCertPolicy::Store>> ClientCertPolicy::loadStore() const {
  auto st = std::make_shared<Store>();
  st->store = X509_STORE_new();
  if (st->store == nullptr) return fail(Errc::internal, "X509_STORE_new failed");
  if (X509_STORE_load_file(st->store, config_.ca_file.c_str()) != 1) {
    ERR_clear_error();
    return fail(Errc::config_error, "client CA file " + config_.ca_file + " cannot be loaded");
  }
  for (const std::string& path : config_.crl_files) {
    auto data = readFile(path, 64 * 1024 * 1024);
    if (!data) return fail(data.error());
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(data->data(), static_cast<int>(data->size())), &BIO_free);
    if (!bio) return fail(Errc::internal, "BIO_new_mem_buf failed");
    int loaded = 0;
    if (data->find("-----BEGIN") != std::string::npos) {
      // RFC 7468 section 5 textual encoding, possibly several CRLs in one file.
      while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        int ok = X509_STORE_add_crl(st->store, crl);
        X509_CRL_free(crl);
        if (ok != 1) break;
        ++loaded;
      }
    } else if (X509_CRL* crl = d2i_X509_CRL_bio(bio.get(), nullptr)) {
      if (X509_STORE_add_crl(st->store, crl) == 1) ++loaded;
      X509_CRL_free(crl);
    }
    ERR_clear_error();  // end-of-file from the PEM loop
    if (loaded == 0) return fail(Errc::config_error, "CRL file " + path + " holds no CRL");
  }
  std::vector<std::shared_ptr<X509_CRL>> fetched;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [source, entry] : fetched_crls_) fetched.push_back(entry.crl);
  }
  for (const auto& crl : fetched) {
    if (X509_STORE_add_crl(st->store, crl.get()) != 1) {
      ERR_clear_error();
      return fail(Errc::internal, "X509_STORE_add_crl failed");
    }
  }
  st->has_crls = !config_.crl_files.empty() || !config_.crl_urls.empty();
  return std::shared_ptr<const Store>(std::move(st));
}

std::shared_ptr<const ClientCertPolicy::Store> ClientCertPolicy::store() const {
  std::lock_guard lock(mutex_);
  return store_;
}

Status ClientCertPolicy::reloadCrls() {
  auto fresh = loadStore();
  if (!fresh) return fail(fresh.error());
  std::lock_guard lock(mutex_);
  store_ = std::move(*fresh);
  return {};
}

void ClientCertPolicy::CrlFree::operator()(X509_CRL* p) const { X509_CRL_free(p); }

Status ClientCertPolicy::takeCrl(const std::string& source, std::string_view data) {
  if (data.empty()) return fail(Errc::invalid_argument, "CRL from " + source + ": empty");
  if (data.size() > kMaxCrlBytes) return fail(Errc::limit_exceeded, "CRL from " + source + ": too large");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), &BIO_free);
  if (!bio) return fail(Errc::internal, "BIO_new_mem_buf failed");
  // RFC 5280 4.2.1.13 / RFC 2585 3: a CRL distribution point serves DER;
  // PEM (RFC 7468 5) is taken too, as the CA's own files are PEM.
  X509_CRL* raw = data.find("-----BEGIN") != std::string_view::npos
                      ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                      : d2i_X509_CRL_bio(bio.get(), nullptr);
  ERR_clear_error();
  if (raw == nullptr) return fail(Errc::invalid_argument, "CRL from " + source + ": does not parse");
  std::shared_ptr<X509_CRL> crl(raw, CrlFree{});
  auto this_update = unixTime(X509_CRL_get0_lastUpdate(crl.get()));
  if (!this_update) return fail(Errc::invalid_argument, "CRL from " + source + ": bad thisUpdate");

  // RFC 5280 6.3.3 (f)-(g): the CRL must be signed by its issuer; here the
  // issuer must be one of our own trust anchors or trusted intermediates, so
  // that a CRL from an unauthenticated HTTP fetch cannot be forged.
  bool verified = false;
  {
    std::shared_ptr<const Store> st = store();
    STACK_OF(X509)* certs = X509_STORE_get1_all_certs(st->store);
    for (int i = 0; certs != nullptr && i < sk_X509_num(certs) && !verified; ++i) {
      X509* ca = sk_X509_value(certs, i);
      if (X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl.get())) != 0) continue;
      EVP_PKEY* key = X509_get0_pubkey(ca);
      verified = key != nullptr && X509_CRL_verify(crl.get(), key) == 1;
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
  }
  if (!verified) {
    return fail(Errc::invalid_argument, "CRL from " + source + ": not signed by a CA of the client CA file");
  }
  std::lock_guard lock(mutex_);
  auto it = fetched_crls_.find(source);
  if (it != fetched_crls_.end() && *this_update < it->second.this_update) {
    return fail(Errc::invalid_argument, "CRL from " + source + ": older than the one in force");
  }
  fetched_crls_[source] = FetchedCrl{std::move(crl), *this_update};
  return {};
}

Status ClientCertPolicy::setCrl(const std::string& source, std::string_view data) {
  if (auto ok = takeCrl(source, data); !ok) return ok;
  return reloadCrls();
}

Status ClientCertPolicy::refreshCrls(const CrlFetcher& fetcher) {
  Status first;
  for (const std::string& url : config_.crl_urls) {
    auto body = fetcher ? fetcher(url) : Result<std::string>(fail(Errc::internal, "no CRL fetcher"));
    Status st = body ? takeCrl(url, *body) : Status(fail(Errc::unavailable, "CRL from " + url + ": " + body.error().message()));
    if (!st && first) first = st;
  }
  // The files are re-read in the same round, and the fetched CRLs go in with them.
  Status reloaded = reloadCrls();
  if (!reloaded) return reloaded;
  return first;
}

std::uint64_t ClientCertPolicy::ocspQueries() const {
  std::lock_guard lock(mutex_);
  return ocsp_queries_;
}

std::size_t ClientCertPolicy::ocspCacheEntries() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

Result<std::string> ClientCertPolicy::verifyAndMap(SSL* ssl) {
  if (ssl == nullptr) return fail(Errc::unauthenticated, "no TLS connection");
  return verifyAndMap(SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl));
}

Result<std::string> ClientCertPolicy::verifyAndMap(X509* leaf, STACK_OF(X509) * chain) {
  if (leaf == nullptr) return fail(Errc::unauthenticated, "no client certificate");
  if (chain != nullptr && sk_X509_num(chain) > kMaxPeerChain) {
    return fail(Errc::limit_exceeded, "client certificate chain too long");
  }
  std::shared_ptr<const Store> st = store();
  std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), st->store, leaf, chain) != 1) {
    ERR_clear_error();
    return fail(Errc::internal, "X509_STORE_CTX_init failed");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // RFC 5280 6.3: the CRL of every certificate in the path, not only the leaf's.
  if (st->has_crls) {
    X509_VERIFY_PARAM_set_flags(param, config_.crl_check_all
                                           ? X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                                           : X509_V_FLAG_CRL_CHECK);
  }
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(unixSeconds(clock_->now())));
  X509_VERIFY_PARAM_set_depth(param, config_.max_chain_depth);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (config_.allow_expired_crl) X509_STORE_CTX_set_verify_cb(ctx.get(), allowExpiredCrl);
  if (X509_verify_cert(ctx.get()) != 1) {
    std::string why = x509Error(ctx.get());
    ERR_clear_error();
    return fail(Errc::unauthenticated, "client certificate: " + why);
  }

  if (config_.ocsp.enabled) {
    STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx.get());
    // A self-signed leaf that is itself a trust anchor has no issuer to ask about.
    if (sk_X509_num(verified) >= 2) {
      if (auto ok = checkOcsp(leaf, sk_X509_value(verified, 1), *st); !ok) {
        return fail(ok.error());
      }
    }
  }
  return mapToUser(leaf, config_.mapping);
}

Status ClientCertPolicy::checkOcsp(X509* leaf, X509* issuer, const Store& st) {
  // RFC 6960 4.1.1: CertID over the issuer's name and key and the serial (SHA-1 by default).
  std::unique_ptr<OCSP_CERTID, OcspCertIdFree> id(OCSP_cert_to_id(nullptr, leaf, issuer));
  if (!id) {
    ERR_clear_error();
    return fail(Errc::internal, "OCSP: cannot build CertID");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_OCSP_CERTID(id.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return fail(Errc::internal, "OCSP: cannot encode CertID");
  }
  std::string key(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len));
  OPENSSL_free(der);

  const std::int64_t now = unixSeconds(clock_->now());
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (now <= it->second.next_update) {
        if (it->second.revoked) {
          return fail(Errc::unauthenticated, "client certificate: revoked (OCSP, cached)");
        }
        return {};
      }
      cache_.erase(it);
    }
  }
  return queryOcsp(leaf, key, id.get(), st, now);
}

Status ClientCertPolicy::queryOcsp(X509* leaf, const std::string& cache_key, void* cert_id,
                                   const Store& st, std::int64_t now) {
  auto* id = static_cast<OCSP_CERTID*>(cert_id);
  const OcspConfig& cfg = config_.ocsp;
  auto no_answer = [&](const std::string& why) -> Status {
    ERR_clear_error();
    if (cfg.require_answer) return fail(Errc::unavailable, "OCSP: " + why);
    return {};  // soft-fail: accepted without an answer
  };

  std::string url = cfg.responder_url;
  if (url.empty()) {
    // RFC 5280 4.2.2.1: authorityInfoAccess id-ad-ocsp.
    STACK_OF(OPENSSL_STRING)* aia = X509_get1_ocsp(leaf);
    if (aia != nullptr && sk_OPENSSL_STRING_num(aia) > 0) url = sk_OPENSSL_STRING_value(aia, 0);
    X509_email_free(aia);
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return no_answer("no usable responder URL");
  }

  std::unique_ptr<OCSP_REQUEST, OcspRequestFree> req(OCSP_REQUEST_new());
  OCSP_CERTID* request_id = OCSP_CERTID_dup(id);
  if (!req || request_id == nullptr || OCSP_request_add0_id(req.get(), request_id) == nullptr) {
    OCSP_CERTID_free(request_id);
    ERR_clear_error();
    return fail(Errc::internal, "OCSP: cannot build request");
  }
  // RFC 6960 4.4.1: a fresh nonce ties the answer to this request.
  if (OCSP_request_add1_nonce(req.get(), nullptr, -1) != 1) {
    ERR_clear_error();
    return fail(Errc::internal, "OCSP: cannot add nonce");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_OCSP_REQUEST(req.get(), &der);
  if (der_len <= 0) {
    ERR_clear_error();
    return fail(Errc::internal, "OCSP: cannot encode request");
  }
  std::string request(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len));
  OPENSSL_free(der);

  {
    std::lock_guard lock(mutex_);
    ++ocsp_queries_;
  }
  auto body = transport_(url, std::move(request));
  if (!body) return no_answer("responder unreachable: " + body.error().message());
  if (body->empty() || body->size() > cfg.max_response_bytes) {
    return no_answer("response empty or too large");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(body->data());
  std::unique_ptr<OCSP_RESPONSE, OcspResponseFree> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(body->size())));
  if (!resp) return no_answer("malformed response");
  int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return no_answer(std::string("responder said ") + OCSP_response_status_str(status));
  }
  std::unique_ptr<OCSP_BASICRESP, OcspBasicFree> basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return no_answer("no basic response");

  int nonce = OCSP_check_nonce(req.get(), basic.get());
  if (nonce == 0) return no_answer("nonce mismatch");
  if (nonce != 1 && cfg.require_nonce) return no_answer("response without our nonce");

  // RFC 6960 4.2.2.2: signed by the issuing CA or a responder it delegated
  // (id-kp-OCSPSigning); the signer's chain is checked against our anchors.
  if (OCSP_basic_verify(basic.get(), nullptr, st.store, 0) <= 0) {
    return no_answer("response signature not trusted");
  }

  int cert_status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id, &cert_status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    return no_answer("response does not cover the certificate");
  }
  // RFC 6960 4.2.2.1 / 3.2 items 4-5: thisUpdate recent enough, nextUpdate not passed.
  const std::int64_t skew = cfg.max_skew.count();
  auto this_t = unixTime(this_update);
  std::optional<std::int64_t> next_t;
  if (next_update != nullptr) next_t = unixTime(next_update);
  if (!this_t || (next_update != nullptr && !next_t)) return no_answer("bad times in response");
  if (*this_t > now + skew) return no_answer("response from the future");
  if (next_t && *next_t < now - skew) return no_answer("stale response");

  if (cert_status == V_OCSP_CERTSTATUS_UNKNOWN) {
    return fail(Errc::unauthenticated, "client certificate: unknown to the OCSP responder");
  }
  const bool revoked = cert_status == V_OCSP_CERTSTATUS_REVOKED;
  if (next_t) {
    std::lock_guard lock(mutex_);
    if (cache_.size() >= cfg.max_cache_entries) {
      // Drop what has expired; if still full, the entry closest to expiry.
      for (auto it = cache_.begin(); it != cache_.end();) {
        it = it->second.next_update < now ? cache_.erase(it) : std::next(it);
      }
      if (!cache_.empty() && cache_.size() >= cfg.max_cache_entries) {
        auto soonest = cache_.begin();
        for (auto it = cache_.begin(); it != cache_.end(); ++it) {
          if (it->second.next_update < soonest->second.next_update) soonest = it;
        }
        cache_.erase(soonest);
      }
    }
    // Until nextUpdate, but no longer than max_cache_age (the gateway's
    // revocation refresh interval).
    const std::int64_t until = std::min<std::int64_t>(*next_t, now + cfg.max_cache_age.count());
    if (cfg.max_cache_entries > 0 && cfg.max_cache_age.count() > 0) {
      cache_[cache_key] = CacheEntry{revoked, until};
    }
  }
  if (revoked) return fail(Errc::unauthenticated, "client certificate: revoked (OCSP)");
  return {};
}

CrlRefresher::CrlRefresher(std::shared_ptr<ClientCertPolicy> policy, std::chrono::milliseconds interval,
                           CrlFetcher fetcher)
    : policy_(std::move(policy)), interval_(interval), fetcher_(std::move(fetcher)) {
  thread_ = std::thread([this] { run(); });
}

CrlRefresher::~CrlRefresher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t CrlRefresher::rounds() const {
  std::lock_guard lock(mutex_);
  return rounds_;
}

void CrlRefresher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
    lock.unlock();
    Status st = policy_->refreshCrls(fetcher_);
    if (!st) log::get("gateway")->warn("CRL refresh: {} (the previous CRLs stay in force)", st.error().message());
    lock.lock();
    ++rounds_;
  }
}

}  // namespace rampart::gateway::auth
