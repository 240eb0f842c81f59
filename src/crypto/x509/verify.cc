#include "crypto/x509/verify.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <utility>

#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::x509 {

namespace {

// Owning wrappers for what this file allocates.
struct StoreFree {
  void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
};
struct CtxFree {
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
};
struct ChainFree {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_pop_free(p, X509_free); }
};
struct CrlStackFree {
  void operator()(STACK_OF(X509_CRL) * p) const noexcept { sk_X509_CRL_free(p); }
};
struct CertStackFree {
  void operator()(STACK_OF(X509) * p) const noexcept { sk_X509_free(p); }
};
struct OcspReqFree {
  void operator()(OCSP_REQUEST* p) const noexcept { OCSP_REQUEST_free(p); }
};
struct OcspRespFree {
  void operator()(OCSP_RESPONSE* p) const noexcept { OCSP_RESPONSE_free(p); }
};
struct OcspBasicFree {
  void operator()(OCSP_BASICRESP* p) const noexcept { OCSP_BASICRESP_free(p); }
};
struct OcspIdFree {
  void operator()(OCSP_CERTID* p) const noexcept { OCSP_CERTID_free(p); }
};
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;
using CtxPtr = std::unique_ptr<X509_STORE_CTX, CtxFree>;
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;          // owns its certificates
using CertStackPtr = std::unique_ptr<STACK_OF(X509), CertStackFree>;  // borrows them
using CrlStackPtr = std::unique_ptr<STACK_OF(X509_CRL), CrlStackFree>;
using OcspReqPtr = std::unique_ptr<OCSP_REQUEST, OcspReqFree>;
using OcspRespPtr = std::unique_ptr<OCSP_RESPONSE, OcspRespFree>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, OcspBasicFree>;
using OcspIdPtr = std::unique_ptr<OCSP_CERTID, OcspIdFree>;

// RFC 6960 4.2.2.1 leaves clock skew to the client; five minutes is what
// `openssl ocsp` allows by default (-validity_period 300).
constexpr long kOcspSkewSeconds = 300;
// A chain longer than this is not one we issue or accept (path building
// loops are OpenSSL's to stop; this bounds our own revocation work).
constexpr int kMaxChainDepth = 10;

ChainVerdict verdict(ChainStatus status, std::string detail) {
  ChainVerdict v;
  v.status = status;
  v.detail = std::move(detail);
  return v;
}

// The verdict for an X509_V_ERR_* from path validation (RFC 5280 6.1.3).
ChainStatus statusOf(int error) {
  switch (error) {
    case X509_V_OK:
      return ChainStatus::ok;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
      return ChainStatus::bad_signature;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return ChainStatus::expired;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return ChainStatus::untrusted_root;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return ChainStatus::incomplete_chain;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_NON_CA:
      return ChainStatus::ca_misuse;
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return ChainStatus::bad_extension;
    case X509_V_ERR_INVALID_PURPOSE:
      return ChainStatus::wrong_purpose;
    case X509_V_ERR_CERT_REVOKED:
      return ChainStatus::revoked;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return ChainStatus::no_revocation_info;
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
      return ChainStatus::revocation_unknown;
    default:
      return ChainStatus::incomplete_chain;
  }
}

bool isCrlProblem(int error) {
  ChainStatus s = statusOf(error);
  return s == ChainStatus::revocation_unknown || s == ChainStatus::no_revocation_info;
}

// Pass 2's callback: a certificate without a CRL was already judged (it has
// an OCSP answer, or the mode allows it: see verifyChain), and in soft mode a
// CRL that cannot be used is "no information", not a failure. A revocation
// found is never waived.
int revocationCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const auto* mode = static_cast<const RevocationMode*>(X509_STORE_CTX_get_app_data(ctx));
  const int error = X509_STORE_CTX_get_error(ctx);
  if (error == X509_V_ERR_UNABLE_TO_GET_CRL) return 1;
  if (mode != nullptr && *mode == RevocationMode::soft && isCrlProblem(error)) return 1;
  return 0;
}

std::string errorDetail(X509_STORE_CTX* ctx) {
  const int error = X509_STORE_CTX_get_error(ctx);
  std::string out = X509_verify_cert_error_string(error);
  X509* at = X509_STORE_CTX_get_current_cert(ctx);
  if (at != nullptr)
    out += " (" + subjectText(at) + ", depth " +
           std::to_string(X509_STORE_CTX_get_error_depth(ctx)) + ")";
  return out;
}

// The first http: URL of the certificate's CRL distribution points (RFC 5280 4.2.1.13).
std::string crlUrlOf(X509* cert) {
  std::string url;
  auto* points = static_cast<STACK_OF(DIST_POINT)*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  if (points == nullptr) return url;
  for (int i = 0; i < sk_DIST_POINT_num(points) && url.empty(); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(points, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;  // fullName only
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      std::string candidate(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)),
          static_cast<std::size_t>(ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
      if (candidate.rfind("http://", 0) == 0) {
        url = std::move(candidate);
        break;
      }
    }
  }
  sk_DIST_POINT_pop_free(points, DIST_POINT_free);
  return url;
}

// The first http: OCSP responder of the AIA extension (RFC 5280 4.2.2.1).
std::string ocspUrlOf(X509* cert) {
  std::string url;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  if (urls == nullptr) return url;
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls); ++i) {
    std::string candidate = sk_OPENSSL_STRING_value(urls, i);
    if (candidate.rfind("http://", 0) == 0) {
      url = std::move(candidate);
      break;
    }
  }
  X509_email_free(urls);
  return url;
}

bool crlFor(const std::vector<X509_CRL*>& crls, X509* cert) {
  for (X509_CRL* crl : crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0) return true;
  }
  return false;
}

// The CRLReason of `cert` in one of `crls` (RFC 5280 5.3.1; absent = 0, unspecified).
int crlReason(const std::vector<X509_CRL*>& crls, X509* cert) {
  for (X509_CRL* crl : crls) {
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_cert(crl, &entry, cert) != 1 || entry == nullptr) continue;
    int crit = 0;
    auto* reason = static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &crit, nullptr));
    if (reason == nullptr) return 0;
    long r = ASN1_ENUMERATED_get(reason);
    ASN1_ENUMERATED_free(reason);
    return r >= 0 && r <= 10 ? static_cast<int>(r) : 0;
  }
  return -1;
}

// What one OCSP exchange said about one certificate (RFC 6960 4.2).
struct OcspOutcome {
  enum class Kind { good, revoked, unknown, failed } kind = Kind::failed;
  int reason = -1;
  std::string detail;
};

OcspOutcome failedOcsp(std::string detail) {
  OcspOutcome o;
  o.detail = std::move(detail);
  return o;
}

// Asks the responder named in `cert` about it: a request with a nonce
// (RFC 8954), the answer's signature checked against the anchors (the
// responder is the issuer or delegated by it, RFC 6960 4.2.2.2: that is
// OCSP_basic_verify's job), the nonce, and thisUpdate/nextUpdate around `at`.
OcspOutcome askOcsp(const std::string& url, X509* cert, X509* issuer, STACK_OF(X509) * chain,
                    X509_STORE* store, std::int64_t at, const Fetcher& fetch) {
  OcspReqPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
  if (!req || id == nullptr) return failedOcsp("cannot build an OCSP request: " + opensslErrors());
  OcspIdPtr wanted(OCSP_CERTID_dup(id));
  if (!wanted || OCSP_request_add0_id(req.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    return failedOcsp("cannot build an OCSP request: " + opensslErrors());
  }
  if (OCSP_request_add1_nonce(req.get(), nullptr, -1) != 1)
    return failedOcsp("OCSP nonce: " + opensslErrors());
  std::string der = detail::i2dString(i2d_OCSP_REQUEST, req.get());
  if (der.empty()) return failedOcsp("cannot encode the OCSP request");

  Result<std::string> answer = fetch(url, der);
  if (!answer) return failedOcsp("OCSP " + url + ": " + answer.error().message());
  OcspRespPtr resp(detail::d2iExact<OCSP_RESPONSE>(d2i_OCSP_RESPONSE, OCSP_RESPONSE_free, *answer));
  if (!resp) return failedOcsp("OCSP " + url + ": not an OCSPResponse");
  const int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return failedOcsp("OCSP " + url + ": responseStatus " + OCSP_response_status_str(rs));
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return failedOcsp("OCSP " + url + ": not a basic response");
  // 1: nonces match; -1: the responder sent none (allowed, RFC 8954 2.1: the
  // answer is then only as fresh as its thisUpdate, checked below); 0: a
  // different nonce, a replay.
  if (OCSP_check_nonce(req.get(), basic.get()) == 0)
    return failedOcsp("OCSP " + url + ": nonce mismatch");
  if (OCSP_basic_verify(basic.get(), chain, store, 0) <= 0) {
    return failedOcsp("OCSP " + url + ": the answer does not verify: " + opensslErrors());
  }
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), wanted.get(), &status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    return failedOcsp("OCSP " + url + ": no answer for this certificate");
  }
  time_t early = static_cast<time_t>(at + kOcspSkewSeconds);
  time_t late = static_cast<time_t>(at - kOcspSkewSeconds);
  if (this_update == nullptr || X509_cmp_time(this_update, &early) > 0) {
    return failedOcsp("OCSP " + url + ": thisUpdate is in the future");
  }
  if (next_update != nullptr && X509_cmp_time(next_update, &late) < 0) {
    return failedOcsp("OCSP " + url + ": the answer is stale (nextUpdate passed)");
  }
  OcspOutcome out;
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      out.kind = OcspOutcome::Kind::good;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      out.kind = OcspOutcome::Kind::revoked;
      out.reason = reason >= 0 ? reason : 0;
      out.detail = "OCSP: revoked";
      break;
    default:
      out.kind = OcspOutcome::Kind::unknown;
      out.detail = "OCSP " + url + ": unknown certificate";
      break;
  }
  return out;
}

// Purpose (RFC 5280 4.2.1.3 and 4.2.1.12; RFC 8550 4.4.2 and 4.4.4): an EKU
// extension, when present, must name the purpose (or anyExtendedKeyUsage); a
// key usage extension, when present, must allow the operation. Absent
// extensions do not restrict (RFC 5280).
std::string purposeProblem(X509* leaf, Purpose purpose) {
  if (purpose == Purpose::any) return {};
  const std::uint32_t eku = X509_get_extended_key_usage(leaf);  // UINT32_MAX when absent
  const std::uint32_t ku = X509_get_key_usage(leaf);            // UINT32_MAX when absent
  const std::uint32_t wanted_eku = purpose == Purpose::tls_client ? XKU_SSL_CLIENT : XKU_SMIME;
  if ((eku & (wanted_eku | XKU_ANYEKU)) == 0) {
    return purpose == Purpose::tls_client ? "no clientAuth extended key usage"
                                          : "no emailProtection extended key usage";
  }
  switch (purpose) {
    case Purpose::smime_signing:
      if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0)
        return "key usage allows no signatures";
      break;
    case Purpose::smime_encryption: {
      EVP_PKEY* key = X509_get0_pubkey(leaf);
      const int id = key == nullptr ? 0 : EVP_PKEY_get_base_id(key);
      if (id == EVP_PKEY_EC) {
        if ((ku & KU_KEY_AGREEMENT) == 0) return "key usage has no keyAgreement (EC key)";
      } else if ((ku & KU_KEY_ENCIPHERMENT) == 0) {
        return "key usage has no keyEncipherment";
      }
      break;
    }
    case Purpose::tls_client:
      if ((ku & (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT)) == 0)
        return "key usage allows no TLS client authentication";
      break;
    case Purpose::any:
      break;
  }
  return {};
}

}  // namespace

std::string_view chainStatusName(ChainStatus status) {
  switch (status) {
    case ChainStatus::ok:
      return "ok";
    case ChainStatus::malformed:
      return "malformed";
    case ChainStatus::bad_signature:
      return "bad_signature";
    case ChainStatus::untrusted_root:
      return "untrusted_root";
    case ChainStatus::incomplete_chain:
      return "incomplete_chain";
    case ChainStatus::wrong_purpose:
      return "wrong_purpose";
    case ChainStatus::leaf_is_ca:
      return "leaf_is_ca";
    case ChainStatus::bad_extension:
      return "bad_extension";
    case ChainStatus::ca_misuse:
      return "ca_misuse";
    case ChainStatus::expired:
      return "expired";
    case ChainStatus::bad_time_nesting:
      return "bad_time_nesting";
    case ChainStatus::no_revocation_info:
      return "no_revocation_info";
    case ChainStatus::revoked:
      return "revoked";
    case ChainStatus::revocation_unknown:
      return "revocation_unknown";
  }
  return "unknown";
}

// Flow: (1) path validation without revocation (RFC 5280 6.1) builds the
// chain; (2) validity nesting and purpose are judged on it; (3) for each
// certificate below the anchor: a CRL at hand, else OCSP at its AIA URL,
// else a CRL fetched from its CDP URL; (4) when any CRL is in play, path
// validation again with X509_V_FLAG_CRL_CHECK_ALL, so OpenSSL checks each
// CRL's signature, issuer and times and finds revoked serials.
Result<ChainVerdict> verifyChain(X509* leaf, const VerifyOptions& options) {
  if (options.anchors.empty())
    return fail(Errc::invalid_argument, "verifyChain needs at least one trust anchor");
  if (leaf == nullptr) return verdict(ChainStatus::malformed, "no certificate");
  ERR_clear_error();
  const std::int64_t at = options.at != 0 ? options.at : static_cast<std::int64_t>(::time(nullptr));

  StorePtr store(X509_STORE_new());
  if (!store) return fail(Errc::internal, "X509_STORE_new: " + opensslErrors());
  for (const CertPtr& anchor : options.anchors) {
    if (anchor && X509_STORE_add_cert(store.get(), anchor.get()) != 1) {
      ERR_clear_error();  // a duplicate anchor is not an error
    }
  }
  // The store's parameters reach every context made from it, OCSP_basic_verify's too.
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(at));
  X509_VERIFY_PARAM_set_depth(X509_STORE_get0_param(store.get()), kMaxChainDepth);

  CertStackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return fail(Errc::internal, "out of memory");
  for (const CertPtr& c : options.intermediates) {
    if (c && sk_X509_push(untrusted.get(), c.get()) <= 0)
      return fail(Errc::internal, "out of memory");
  }

  ChainVerdict out;
  out.subject = subjectText(leaf);
  out.emails = sanEmails(leaf);
  auto finish = [&out](ChainStatus status, std::string detail,
                       int depth = -1) -> Result<ChainVerdict> {
    out.status = status;
    out.detail = std::move(detail);
    out.depth = status == ChainStatus::ok ? -1 : depth;
    return out;
  };

  // (1) The path, no revocation yet.
  CtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return fail(Errc::internal, "X509_STORE_CTX_init: " + opensslErrors());
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    std::string detail = errorDetail(ctx.get());
    ERR_clear_error();
    return finish(statusOf(error), std::move(detail), X509_STORE_CTX_get_error_depth(ctx.get()));
  }
  ChainPtr chain(X509_STORE_CTX_get1_chain(ctx.get()));
  if (!chain || sk_X509_num(chain.get()) < 1)
    return fail(Errc::internal, "no chain after verification");
  const int depth = sk_X509_num(chain.get());

  // (2) Validity nesting (only notAfter: RFC 5280 does not require nesting,
  // but a certificate outliving its issuer is what MS-ASCMD's "time periods
  // are not consistent" names, and our CA never issues one) and purpose.
  for (int i = 0; i + 1 < depth; ++i) {
    X509* child = sk_X509_value(chain.get(), i);
    X509* parent = sk_X509_value(chain.get(), i + 1);
    if (notAfter(child) > notAfter(parent)) {
      return finish(ChainStatus::bad_time_nesting,
                    subjectText(child) + " outlives its issuer " + subjectText(parent), i);
    }
  }
  // RFC 5280 4.2.1.9: a CA certificate's key is for certificates and CRLs,
  // not for mail or TLS clients.
  if (options.purpose != Purpose::any && (X509_get_extension_flags(leaf) & EXFLAG_CA) != 0) {
    return finish(ChainStatus::leaf_is_ca, subjectText(leaf) + " is a CA certificate", 0);
  }
  if (std::string problem = purposeProblem(leaf, options.purpose); !problem.empty()) {
    return finish(ChainStatus::wrong_purpose, problem, 0);
  }
  if (options.revocation == RevocationMode::none)
    return finish(ChainStatus::ok, "chain verified; revocation not checked");

  // (3) Revocation sources, certificate by certificate below the anchor.
  std::vector<CrlPtr> fetched;
  std::vector<X509_CRL*> crls;
  for (const CrlPtr& c : options.crls) {
    if (c) crls.push_back(c.get());
  }
  std::vector<std::string> notes;
  for (int i = 0; i + 1 < depth; ++i) {
    X509* cert = sk_X509_value(chain.get(), i);
    X509* issuer = sk_X509_value(chain.get(), i + 1);
    if (crlFor(crls, cert)) continue;  // judged in (4)
    const std::string ocsp_url = options.fetch ? ocspUrlOf(cert) : std::string();
    const std::string crl_url = options.fetch ? crlUrlOf(cert) : std::string();
    bool tried = false;
    std::string why;
    if (!ocsp_url.empty()) {
      tried = true;
      OcspOutcome o = askOcsp(ocsp_url, cert, issuer, chain.get(), store.get(), at, options.fetch);
      if (o.kind == OcspOutcome::Kind::good) continue;
      if (o.kind == OcspOutcome::Kind::revoked) {
        out.revocation_reason = o.reason;
        return finish(ChainStatus::revoked, subjectText(cert) + " revoked (OCSP)", i);
      }
      why = o.detail;
      if (o.kind == OcspOutcome::Kind::unknown && crl_url.empty()) {
        if (options.revocation == RevocationMode::hard)
          return finish(ChainStatus::revocation_unknown, why, i);
        notes.push_back(why);
        continue;
      }
    }
    if (!crl_url.empty()) {
      tried = true;
      Result<std::string> bytes = options.fetch(crl_url, std::string_view());
      Result<CrlPtr> crl = bytes ? parseCrl(*bytes) : Result<CrlPtr>(fail(bytes.error()));
      if (crl) {
        crls.push_back(crl->get());
        fetched.push_back(std::move(*crl));
        continue;
      }
      why = "CRL " + crl_url + ": " + crl.error().message();
    }
    if (options.revocation == RevocationMode::hard) {
      if (tried) return finish(ChainStatus::revocation_unknown, why, i);
      // A CA certificate that names no revocation source cannot be checked by
      // anyone; hard mode insists on the leaf and on every certificate that
      // names one (RFC 5280 leaves the policy to the relying party).
      if (i == 0)
        return finish(ChainStatus::no_revocation_info,
                      subjectText(cert) + ": no CRL or OCSP answer", i);
      continue;
    }
    if (tried) notes.push_back(why);
  }

  // (4) CRLs through OpenSSL's own checks.
  if (!crls.empty()) {
    CrlStackPtr crl_stack(sk_X509_CRL_new_null());
    if (!crl_stack) return fail(Errc::internal, "out of memory");
    for (X509_CRL* c : crls) {
      if (sk_X509_CRL_push(crl_stack.get(), c) <= 0) return fail(Errc::internal, "out of memory");
    }
    CtxPtr again(X509_STORE_CTX_new());
    if (!again || X509_STORE_CTX_init(again.get(), store.get(), leaf, untrusted.get()) != 1) {
      return fail(Errc::internal, "X509_STORE_CTX_init: " + opensslErrors());
    }
    X509_STORE_CTX_set0_crls(again.get(), crl_stack.get());
    X509_STORE_CTX_set_flags(again.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    RevocationMode mode = options.revocation;
    X509_STORE_CTX_set_app_data(again.get(), &mode);
    X509_STORE_CTX_set_verify_cb(again.get(), revocationCallback);
    if (X509_verify_cert(again.get()) != 1) {
      const int error = X509_STORE_CTX_get_error(again.get());
      const int at_depth = X509_STORE_CTX_get_error_depth(again.get());
      std::string detail = errorDetail(again.get());
      ERR_clear_error();
      if (error == X509_V_ERR_CERT_REVOKED) {
        X509* which = X509_STORE_CTX_get_current_cert(again.get());
        out.revocation_reason = crlReason(crls, which != nullptr ? which : leaf);
      }
      return finish(statusOf(error), std::move(detail), at_depth);
    }
  }
  std::string detail = "chain verified";
  for (const std::string& n : notes) detail += "; " + n;
  return finish(ChainStatus::ok, std::move(detail));
}

}  // namespace rampart::crypto::x509
