#include "ca/detail/ocsp_responder.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <memory>

#include "ca/detail/issuer.h"

namespace rampart::ca::detail {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using Request = std::unique_ptr<OCSP_REQUEST, Deleter<OCSP_REQUEST, OCSP_REQUEST_free>>;
using Response = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using BasicResponse = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using CertId = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID, OCSP_CERTID_free>>;
using Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;

std::string responseDer(OCSP_RESPONSE* response) {
  unsigned char* out = nullptr;
  int len = i2d_OCSP_RESPONSE(response, &out);
  if (len <= 0) return {};
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return der;
}

OcspAnswer statusAnswer(int status) {
  ERR_clear_error();
  return OcspAnswer{ocspStatusOnly(status), false, false};
}

// The CertID's hash algorithm, when it is one we compute issuer hashes with.
const EVP_MD* certIdDigest(const ASN1_OBJECT* oid) {
  switch (OBJ_obj2nid(oid)) {
    case NID_sha1: return EVP_sha1();  // RFC 6960 4.1.1: what most clients still send
    case NID_sha224: return EVP_sha224();
    case NID_sha256: return EVP_sha256();
    case NID_sha384: return EVP_sha384();
    case NID_sha512: return EVP_sha512();
    default: return nullptr;
  }
}

// RFC 9654 2.1: the extension value is a DER OCTET STRING of 1..128 octets.
// Older clients put the raw bytes there; their length is checked instead.
bool nonceAcceptable(X509_EXTENSION* ext) {
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const long len = ASN1_STRING_length(value);
  OctetString inner(d2i_ASN1_OCTET_STRING(nullptr, &p, len));
  std::size_t nonce_len = static_cast<std::size_t>(len);
  if (inner && p == ASN1_STRING_get0_data(value) + len) {
    nonce_len = static_cast<std::size_t>(ASN1_STRING_length(inner.get()));
  }
  ERR_clear_error();
  return nonce_len >= 1 && nonce_len <= kMaxOcspNonce;
}

}  // namespace

std::string ocspStatusOnly(int status) {
  Response response(OCSP_response_create(status, nullptr));
  if (!response) return {};
  return responseDer(response.get());
}

OcspAnswer answerOcsp(std::string_view der, const OcspSigner& signer, const OcspLookup& lookup, std::int64_t now,
                      std::int64_t validity_s) {
  if (der.empty() || der.size() > kMaxOcspRequestDer) return statusAnswer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = begin;
  Request request(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  if (!request || p != begin + der.size()) return statusAnswer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  const int count = OCSP_request_onereq_count(request.get());
  if (count <= 0 || count > kMaxOcspCertIds) return statusAnswer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);

  const int nonce_at = OCSP_REQUEST_get_ext_by_NID(request.get(), NID_id_pkix_OCSP_Nonce, -1);
  const bool has_nonce = nonce_at >= 0;
  if (has_nonce && !nonceAcceptable(OCSP_REQUEST_get_ext(request.get(), nonce_at))) {
    return statusAnswer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }

  BasicResponse basic(OCSP_BASICRESP_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now + validity_s)));
  if (!basic || !this_update || !next_update) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);

  for (int i = 0; i < count; ++i) {
    OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), i));
    ASN1_OBJECT* md_oid = nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (id == nullptr || OCSP_id_get0_info(nullptr, &md_oid, nullptr, &serial, id) != 1) {
      return statusAnswer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    }
    OcspCertStatus status;
    // 4.1.1: issuerNameHash and issuerKeyHash must be those of our issuing CA.
    if (const EVP_MD* md = certIdDigest(md_oid); md != nullptr) {
      CertId ours(OCSP_cert_to_id(md, nullptr, signer.issuer));
      if (!ours) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
      if (OCSP_id_issuer_cmp(ours.get(), id) == 0) {
        if (std::string hex = serialHexOf(serial); !hex.empty()) {
          auto found = lookup(hex);
          if (!found) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
          status = *found;
        }
      }
    }
    int kind = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    Time revoked_at;
    if (status.kind == OcspCertStatus::Kind::good) {
      kind = V_OCSP_CERTSTATUS_GOOD;
    } else if (status.kind == OcspCertStatus::Kind::revoked) {
      kind = V_OCSP_CERTSTATUS_REVOKED;
      if (status.reason > 0 && status.reason <= 10 && status.reason != 7) reason = status.reason;
      revoked_at.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(status.revoked_at)));
      if (!revoked_at) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
    // 4.2.1 SingleResponse: the CertID is echoed as the client sent it.
    if (OCSP_basic_add1_status(basic.get(), id, kind, reason, revoked_at.get(), this_update.get(),
                               next_update.get()) == nullptr) {
      return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
    }
  }
  // RFC 6960 4.4.1: the nonce comes back as it was sent.
  if (has_nonce && OCSP_copy_nonce(basic.get(), request.get()) != 1) {
    return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
  }
  // 4.2.2.2: signed by the delegated responder, its certificate in certs.
  if (OCSP_basic_sign(basic.get(), signer.responder, signer.key, signingDigest(signer.key), nullptr, 0) != 1) {
    return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
  }
  Response response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (!response) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
  std::string out = responseDer(response.get());
  if (out.empty()) return statusAnswer(OCSP_RESPONSE_STATUS_INTERNALERROR);
  return OcspAnswer{std::move(out), true, has_nonce};
}

}  // namespace rampart::ca::detail
