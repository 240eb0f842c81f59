#include "ca/detail/issuer.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <utility>

namespace rampart::ca::detail {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using BitString = std::unique_ptr<ASN1_BIT_STRING, Deleter<ASN1_BIT_STRING, ASN1_BIT_STRING_free>>;
using BasicConstraints = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;
using AuthorityKeyId = std::unique_ptr<AUTHORITY_KEYID, Deleter<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;
using GeneralName = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME, GENERAL_NAME_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

struct EkuFree {
  void operator()(EXTENDED_KEY_USAGE* p) const noexcept { sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free); }
};
struct DistPointsFree {
  void operator()(CRL_DIST_POINTS* p) const noexcept { CRL_DIST_POINTS_free(p); }
};
struct InfoAccessFree {
  void operator()(AUTHORITY_INFO_ACCESS* p) const noexcept { AUTHORITY_INFO_ACCESS_free(p); }
};

// RFC 5280 4.2.1.3 KeyUsage bit numbers; "contentCommitment" is the newer
// name of nonRepudiation.
int keyUsageBit(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, int>, 10> kBits{{
      {"digitalSignature", 0}, {"nonRepudiation", 1}, {"contentCommitment", 1}, {"keyEncipherment", 2},
      {"dataEncipherment", 3}, {"keyAgreement", 4}, {"keyCertSign", 5}, {"cRLSign", 6},
      {"encipherOnly", 7}, {"decipherOnly", 8}}};
  for (const auto& [n, bit] : kBits) {
    if (n == name) return bit;
  }
  return -1;
}

Result<GeneralName> ia5Name(int type, std::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e) return fail(Errc::invalid_argument, "a name in an IA5String must be printable ASCII");
  }
  GeneralName gn(GENERAL_NAME_new());
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (!gn || s == nullptr ||
      ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(s);
    return fail(Errc::internal, "general name: " + crypto::x509::opensslErrors());
  }
  GENERAL_NAME_set0_value(gn.get(), type, s);
  return gn;
}

Result<GeneralName> upnName(std::string_view value) {
  GeneralName gn(GENERAL_NAME_new());
  ASN1_OBJECT* oid = OBJ_txt2obj(kMsUpnOid, 1);
  ASN1_TYPE* any = ASN1_TYPE_new();
  ASN1_UTF8STRING* utf8 = ASN1_UTF8STRING_new();
  if (!gn || oid == nullptr || any == nullptr || utf8 == nullptr ||
      ASN1_STRING_set(utf8, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(any);
    ASN1_UTF8STRING_free(utf8);
    return fail(Errc::internal, "UPN name: " + crypto::x509::opensslErrors());
  }
  ASN1_TYPE_set(any, V_ASN1_UTF8STRING, utf8);
  if (GENERAL_NAME_set0_othername(gn.get(), oid, any) != 1) {
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(any);
    return fail(Errc::internal, "UPN name: " + crypto::x509::opensslErrors());
  }
  return gn;
}

Result<Name> makeName(std::string_view organization, std::string_view common_name) {
  Name name(X509_NAME_new());
  if (!name) return fail(Errc::internal, "X509_NAME_new");
  auto add = [&](const char* field, std::string_view value) -> Status {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return fail(Errc::invalid_argument, std::string("subject ") + field + ": " + crypto::x509::opensslErrors());
    }
    return {};
  };
  if (!organization.empty()) {
    if (auto st = add("O", organization); !st) return fail(st.error());
  }
  if (auto st = add("CN", common_name); !st) return fail(st.error());
  return name;
}

Status addExt(X509* cert, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1) {
    return fail(Errc::internal, std::string("extension ") + OBJ_nid2sn(nid) + ": " + crypto::x509::opensslErrors());
  }
  return {};
}

Result<OctetString> octets(const std::string& bytes) {
  OctetString s(ASN1_OCTET_STRING_new());
  if (!s || ASN1_OCTET_STRING_set(s.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size())) != 1) {
    return fail(Errc::internal, "octet string");
  }
  return s;
}

Status setSerial(X509* cert, Random& random) {
  std::array<std::uint8_t, 16> bytes{};
  random.fill(bytes);
  // Positive (RFC 5280 4.1.2.2), and a first nibble that is not zero, so
  // the hex text has one spelling whether or not a tool pads it to whole
  // octets (openssl x509 -serial does, serialHexOf does not).
  bytes[0] &= 0x7f;
  if (bytes[0] < 0x10) bytes[0] = static_cast<std::uint8_t>(bytes[0] + 0x10);
  Bignum bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return fail(Errc::internal, "serial: " + crypto::x509::opensslErrors());
  }
  return {};
}

Status addKeyUsage(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return {};
  BitString bits(ASN1_BIT_STRING_new());
  if (!bits) return fail(Errc::internal, "ASN1_BIT_STRING_new");
  for (const auto& n : names) {
    int bit = keyUsageBit(n);
    if (bit < 0) return fail(Errc::invalid_argument, "unknown key usage '" + n + "'");
    if (ASN1_BIT_STRING_set_bit(bits.get(), bit, 1) != 1) return fail(Errc::internal, "key usage bit");
  }
  return addExt(cert, NID_key_usage, bits.get(), true);  // RFC 5280 4.2.1.3: SHOULD be critical
}

Status addExtendedKeyUsage(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::unique_ptr<EXTENDED_KEY_USAGE, EkuFree> eku(sk_ASN1_OBJECT_new_null());
  if (!eku) return fail(Errc::internal, "EKU stack");
  for (const auto& n : names) {
    ASN1_OBJECT* obj = OBJ_txt2obj(n.c_str(), 0);  // short name, long name or dotted OID
    if (obj == nullptr) {
      ERR_clear_error();
      return fail(Errc::invalid_argument, "unknown extended key usage '" + n + "'");
    }
    if (sk_ASN1_OBJECT_push(eku.get(), obj) <= 0) {
      ASN1_OBJECT_free(obj);
      return fail(Errc::internal, "EKU push");
    }
  }
  return addExt(cert, NID_ext_key_usage, eku.get(), false);
}

Status addSubjectAltName(X509* cert, const std::vector<SanEntry>& entries) {
  if (entries.empty()) return {};
  GeneralNames names(sk_GENERAL_NAME_new_null());
  if (!names) return fail(Errc::internal, "SAN stack");
  for (const auto& e : entries) {
    Result<GeneralName> gn = e.type == SanEntry::Type::email ? ia5Name(GEN_EMAIL, e.value)
                             : e.type == SanEntry::Type::dns ? ia5Name(GEN_DNS, e.value)
                                                             : upnName(e.value);
    if (!gn) return fail(gn.error());
    if (sk_GENERAL_NAME_push(names.get(), gn->get()) <= 0) return fail(Errc::internal, "SAN push");
    gn->release();
  }
  return addExt(cert, NID_subject_alt_name, names.get(), false);
}

Status addCrlDistributionPoint(X509* cert, const std::string& url) {
  std::unique_ptr<CRL_DIST_POINTS, DistPointsFree> points(sk_DIST_POINT_new_null());
  DIST_POINT* point = DIST_POINT_new();
  if (!points || point == nullptr || sk_DIST_POINT_push(points.get(), point) <= 0) {
    DIST_POINT_free(point);
    return fail(Errc::internal, "CDP");
  }
  point->distpoint = DIST_POINT_NAME_new();
  if (point->distpoint == nullptr) return fail(Errc::internal, "CDP name");
  point->distpoint->type = 0;  // fullName
  point->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
  if (point->distpoint->name.fullname == nullptr) return fail(Errc::internal, "CDP names");
  auto uri = ia5Name(GEN_URI, url);
  if (!uri) return fail(uri.error());
  if (sk_GENERAL_NAME_push(point->distpoint->name.fullname, uri->get()) <= 0) return fail(Errc::internal, "CDP push");
  uri->release();
  return addExt(cert, NID_crl_distribution_points, points.get(), false);
}

Status addOcspAccess(X509* cert, const std::string& url) {
  std::unique_ptr<AUTHORITY_INFO_ACCESS, InfoAccessFree> aia(sk_ACCESS_DESCRIPTION_new_null());
  ACCESS_DESCRIPTION* ad = ACCESS_DESCRIPTION_new();
  if (!aia || ad == nullptr || sk_ACCESS_DESCRIPTION_push(aia.get(), ad) <= 0) {
    ACCESS_DESCRIPTION_free(ad);
    return fail(Errc::internal, "AIA");
  }
  auto uri = ia5Name(GEN_URI, url);
  if (!uri) return fail(uri.error());
  ASN1_OBJECT_free(ad->method);
  ad->method = OBJ_nid2obj(NID_ad_OCSP);
  GENERAL_NAME_free(ad->location);
  ad->location = uri->release();
  return addExt(cert, NID_info_access, aia.get(), false);
}

Status addOcspNoCheck(X509* cert) {
  // The extension value is an ASN.1 NULL (RFC 6960 4.2.2.2.1).
  static const unsigned char kNull[] = {0x05, 0x00};
  OctetString value(ASN1_OCTET_STRING_new());
  if (!value || ASN1_OCTET_STRING_set(value.get(), kNull, sizeof kNull) != 1) return fail(Errc::internal, "nocheck");
  Extension ext(X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_noCheck, 0, value.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return fail(Errc::internal, "nocheck: " + crypto::x509::opensslErrors());
  return {};
}

}  // namespace


const EVP_MD* signingDigest(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) >= 384) return EVP_sha384();
  return EVP_sha256();
}

namespace {

// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING.
std::string keyIdentifierOf(const X509_PUBKEY* pub) {
  const unsigned char* bits = nullptr;
  int len = 0;
  std::string out;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, pub) == 1 &&
      EVP_Digest(bits, static_cast<size_t>(len), md, &md_len, EVP_sha1(), nullptr) == 1) {
    out.assign(reinterpret_cast<const char*>(md), md_len);
  }
  return out;
}

}  // namespace

std::string keyIdentifier(EVP_PKEY* key) {
  // X509_PUBKEY_set encodes the key (OpenSSL 3.0: an encoder and then a
  // decoder, several signatures' worth of CPU): done once per call.
  X509_PUBKEY* pub = nullptr;
  if (X509_PUBKEY_set(&pub, key) != 1) {
    ERR_clear_error();
    return {};
  }
  std::string out = keyIdentifierOf(pub);
  X509_PUBKEY_free(pub);
  return out;
}

std::string authorityKeyId(X509* issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer); ski != nullptr) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                       static_cast<std::size_t>(ASN1_STRING_length(ski)));
  }
  return keyIdentifier(X509_get0_pubkey(issuer));
}

std::string subjectTextFor(std::string_view organization, std::string_view common_name) {
  auto name = makeName(organization, common_name);
  if (!name) return {};
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name->get(), 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string serialHexOf(const ASN1_INTEGER* serial) {
  if (serial == nullptr || ASN1_STRING_length(serial) > 64) return {};
  Bignum bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn || BN_is_negative(bn.get())) {
    ERR_clear_error();
    return {};
  }
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  std::size_t first = out.find_first_not_of('0');
  return first == std::string::npos ? std::string("0") : out.substr(first);
}

Result<crypto::x509::CertPtr> buildCertificate(const CertSpec& spec, Random& random) {
  if (spec.subject_key == nullptr || spec.issuer_key == nullptr) return fail(Errc::invalid_argument, "no key");
  crypto::x509::CertPtr cert(X509_new());
  if (!cert) return fail(Errc::internal, "X509_new");
  auto name = makeName(spec.organization, spec.common_name);
  if (!name) return fail(name.error());
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 || X509_set_subject_name(cert.get(), name->get()) != 1 ||
      X509_set_issuer_name(cert.get(), spec.issuer ? X509_get_subject_name(spec.issuer) : name->get()) != 1 ||
      X509_set_pubkey(cert.get(), spec.subject_key) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) == nullptr) {
    return fail(Errc::internal, "certificate fields: " + crypto::x509::opensslErrors());
  }
  if (auto st = setSerial(cert.get(), random); !st) return fail(st.error());

  BasicConstraints bc(BASIC_CONSTRAINTS_new());
  if (!bc) return fail(Errc::internal, "BASIC_CONSTRAINTS_new");
  bc->ca = spec.ca ? 0xff : 0;
  if (spec.ca && spec.path_len >= 0) {
    bc->pathlen = ASN1_INTEGER_new();
    if (bc->pathlen == nullptr || ASN1_INTEGER_set(bc->pathlen, spec.path_len) != 1) return fail(Errc::internal, "pathlen");
  }
  if (auto st = addExt(cert.get(), NID_basic_constraints, bc.get(), true); !st) return fail(st.error());
  if (auto st = addKeyUsage(cert.get(), spec.key_usage); !st) return fail(st.error());
  if (auto st = addExtendedKeyUsage(cert.get(), spec.extended_key_usage); !st) return fail(st.error());
  if (auto st = addSubjectAltName(cert.get(), spec.san); !st) return fail(st.error());

  // From the SubjectPublicKeyInfo X509_set_pubkey just encoded, rather than
  // encoding the key a second time (keyIdentifier).
  auto ski = octets(keyIdentifierOf(X509_get_X509_PUBKEY(cert.get())));
  if (!ski) return fail(ski.error());
  if (auto st = addExt(cert.get(), NID_subject_key_identifier, ski->get(), false); !st) return fail(st.error());
  AuthorityKeyId akid(AUTHORITY_KEYID_new());
  if (!akid) return fail(Errc::internal, "AUTHORITY_KEYID_new");
  auto aki = octets(spec.issuer ? authorityKeyId(spec.issuer) : keyIdentifier(spec.issuer_key));
  if (!aki) return fail(aki.error());
  akid->keyid = aki->release();
  if (auto st = addExt(cert.get(), NID_authority_key_identifier, akid.get(), false); !st) return fail(st.error());

  if (!spec.crl_url.empty()) {
    if (auto st = addCrlDistributionPoint(cert.get(), spec.crl_url); !st) return fail(st.error());
  }
  if (!spec.ocsp_url.empty()) {
    if (auto st = addOcspAccess(cert.get(), spec.ocsp_url); !st) return fail(st.error());
  }
  if (spec.ocsp_nocheck) {
    if (auto st = addOcspNoCheck(cert.get()); !st) return fail(st.error());
  }
  if (X509_sign(cert.get(), spec.issuer_key, signingDigest(spec.issuer_key)) <= 0) {
    return fail(Errc::internal, "signing: " + crypto::x509::opensslErrors());
  }
  return cert;
}

}  // namespace rampart::ca::detail
