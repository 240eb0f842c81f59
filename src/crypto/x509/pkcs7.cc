#include "crypto/x509/pkcs7.h"

#include <openssl/pkcs7.h>

#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::x509 {


namespace {

// An EST chain is a handful of certificates; this bounds the parse work
// before max_certs is even looked at.
constexpr std::size_t kMaxCertsOnlyDer = 4 * 1024 * 1024;

struct Pkcs7Free {
  void operator()(PKCS7* p) const noexcept { PKCS7_free(p); }
};
using Pkcs7Ptr = std::unique_ptr<PKCS7, Pkcs7Free>;

}  // namespace

// RFC 5652 5.1: a SignedData whose encapContentInfo is id-data without
// content and whose signerInfos is empty ("degenerate"); RFC 8551 3.2.2
// calls it certs-only. The certificates are a SET, written in the given
// order (OpenSSL keeps insertion order).
Result<std::string> certsOnly(const std::vector<X509*>& certs) {
  if (certs.empty()) return fail(Errc::invalid_argument, "certs-only needs at least one certificate");
  // The encapsulated content must be absent, not an empty OCTET STRING: a
  // Simple PKI Response has none (RFC 5272 4.1, which RFC 7030 4.1.3 and
  // 4.2.3 name), and Bouncy Castle's EST client refuses an answer that has
  // one. So only the content type is set, as `openssl crl2pkcs7` does.
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 || p7->d.sign == nullptr ||
      p7->d.sign->contents == nullptr) {
    return fail(Errc::internal, "PKCS7 SignedData: " + opensslErrors());
  }
  ASN1_OBJECT_free(p7->d.sign->contents->type);
  p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
  for (X509* cert : certs) {
    if (cert == nullptr) return fail(Errc::invalid_argument, "null certificate");
    if (PKCS7_add_certificate(p7.get(), cert) != 1) {  // up-refs the certificate
      return fail(Errc::internal, "PKCS7 add certificate: " + opensslErrors());
    }
  }
  std::string der = detail::i2dString(i2d_PKCS7, p7.get());
  if (der.empty()) return fail(Errc::internal, "PKCS7 encoding: " + opensslErrors());
  return der;
}

Result<std::vector<CertPtr>> parseCertsOnly(std::string_view der, std::size_t max_certs) {
  if (der.size() > kMaxCertsOnlyDer) return fail(Errc::limit_exceeded, "certs-only structure over 4 MiB");
  Pkcs7Ptr p7(detail::d2iExact<PKCS7>(d2i_PKCS7, PKCS7_free, der));
  if (!p7) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a DER CMS structure (or bytes after it)");
  }
  if (!PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr) {
    return fail(Errc::parse_error, "CMS content is not SignedData");
  }
  PKCS7_SIGNED* sd = p7->d.sign;
  if (sk_PKCS7_SIGNER_INFO_num(sd->signer_info) > 0) {
    return fail(Errc::parse_error, "SignedData has signers: not certs-only");
  }
  // RFC 5652 5.2: the encapsulated content of a degenerate SignedData is
  // id-data and absent.
  if (sd->contents == nullptr || !PKCS7_type_is_data(sd->contents)) {
    return fail(Errc::parse_error, "certs-only content type is not id-data");
  }
  if (sd->contents->d.data != nullptr && ASN1_STRING_length(sd->contents->d.data) > 0) {
    return fail(Errc::parse_error, "certs-only structure carries content");
  }
  int n = sk_X509_num(sd->cert);
  if (n <= 0) return fail(Errc::parse_error, "certs-only structure holds no certificate");
  if (static_cast<std::size_t>(n) > max_certs) {
    return fail(Errc::limit_exceeded, "more than " + std::to_string(max_certs) + " certificates");
  }
  std::vector<CertPtr> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    CertPtr cert = duplicate(sk_X509_value(sd->cert, i));
    if (!cert) return fail(Errc::internal, "certificate reference");
    out.push_back(std::move(cert));
  }
  return out;
}

}  // namespace rampart::crypto::x509
