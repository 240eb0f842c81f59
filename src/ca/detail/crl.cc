#include "ca/detail/crl.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "ca/detail/issuer.h"

namespace rampart::ca::detail {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Enumerated = std::unique_ptr<ASN1_ENUMERATED, Deleter<ASN1_ENUMERATED, ASN1_ENUMERATED_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED, X509_REVOKED_free>>;
using AuthorityKeyId = std::unique_ptr<AUTHORITY_KEYID, Deleter<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

Result<Integer> serialFromHex(const std::string& hex) {
  if (hex.empty() || hex.size() > 64 || hex.find_first_not_of("0123456789ABCDEFabcdef") != std::string::npos) {
    return fail(Errc::invalid_argument, "stored serial is not hex");
  }
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, hex.c_str()) == 0) return fail(Errc::internal, "serial: " + crypto::x509::opensslErrors());
  Bignum bn(raw);
  Integer out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return fail(Errc::internal, "serial: " + crypto::x509::opensslErrors());
  return out;
}

}  // namespace

bool isValidCrlReason(int reason) { return reason >= 0 && reason <= 10 && reason != 7; }

Result<crypto::x509::CrlPtr> buildCrl(const CrlSpec& spec) {
  crypto::x509::CrlPtr crl(X509_CRL_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.this_update)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(spec.next_update)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(spec.issuer)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return fail(Errc::internal, "CRL fields: " + crypto::x509::opensslErrors());
  }
  for (const auto& entry : spec.revoked) {
    auto serial = serialFromHex(entry.serial);
    if (!serial) return fail(serial.error());
    Revoked revoked(X509_REVOKED_new());
    Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
    if (!revoked || !when || X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1) {
      return fail(Errc::internal, "CRL entry: " + crypto::x509::opensslErrors());
    }
    // 5.3.1: the reason code SHOULD be absent rather than unspecified (0).
    if (entry.reason != 0 && isValidCrlReason(entry.reason)) {
      Enumerated reason(ASN1_ENUMERATED_new());
      if (!reason || ASN1_ENUMERATED_set(reason.get(), entry.reason) != 1 ||
          X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1) {
        return fail(Errc::internal, "CRL reason: " + crypto::x509::opensslErrors());
      }
    }
    if (X509_CRL_add0_revoked(crl.get(), revoked.get()) != 1) return fail(Errc::internal, "CRL add: " + crypto::x509::opensslErrors());
    revoked.release();
  }
  // 5.2.3 cRLNumber and 5.2.1 authorityKeyIdentifier, both MUST, non-critical.
  Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), spec.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return fail(Errc::internal, "CRL number: " + crypto::x509::opensslErrors());
  }
  AuthorityKeyId akid(AUTHORITY_KEYID_new());
  std::string key_id = authorityKeyId(spec.issuer);
  if (!akid) return fail(Errc::internal, "AUTHORITY_KEYID_new");
  akid->keyid = ASN1_OCTET_STRING_new();
  if (akid->keyid == nullptr ||
      ASN1_OCTET_STRING_set(akid->keyid, reinterpret_cast<const unsigned char*>(key_id.data()),
                            static_cast<int>(key_id.size())) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid.get(), 0, 0) != 1) {
    return fail(Errc::internal, "CRL AKI: " + crypto::x509::opensslErrors());
  }
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), spec.issuer_key, signingDigest(spec.issuer_key)) <= 0) {
    return fail(Errc::internal, "CRL signing: " + crypto::x509::opensslErrors());
  }
  return crl;
}

}  // namespace rampart::ca::detail
