// The CMS half of license.h: signed licenses (RFC 5652 5, SignedData over the
// license text as id-data), and the content key wrapped to one certificate.
//
// The wrapped key is CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM, its
// one recipient the certificate's key: RSA keys by RSAES-OAEP with SHA-256 and
// MGF1-SHA-256 (RFC 8017 7.1, RFC 3560 3), EC keys by ECDH with a SHA-256
// X9.63 KDF (RFC 5753 3.1, dhSinglePass-stdDH-sha256kdf-scheme). Both ends are
// Rampart (the device and the rights server), so there is no need for the
// lowest common denominator S/MIME sends by default.
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "crypto/rights/license.h"
#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::rights {
namespace {

using x509::detail::BioPtr;
using x509::detail::bioText;
using x509::detail::d2iExact;
using x509::detail::i2dString;
using x509::detail::readBio;

constexpr std::size_t kContentKeyBytes = 32;
// A signed license is its text (64 KiB at most) and a few certificates.
constexpr std::size_t kMaxSignedLicense = 256 * 1024;
constexpr std::size_t kMaxWrappedKey = 12 * 1024;

struct CmsFree {
  void operator()(CMS_ContentInfo* p) const noexcept { CMS_ContentInfo_free(p); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;

struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }  // not the certs
};
using CertStackPtr = std::unique_ptr<STACK_OF(X509), CertStackFree>;

Error sslError(Errc code, std::string what) {
  return Error{make_error_code(code), what + ": " + x509::opensslErrors()};
}

// Signs `text` as the encapsulated id-data content with SHA-256; the signer's
// certificate and chain go into `certificates`.
Result<std::string> signText(std::string_view text, const cms::Identity& signer) {
  if (!signer.key || !signer.cert)
    return fail(Errc::invalid_argument, "signing identity without key or certificate");
  if (X509_check_private_key(signer.cert.get(), signer.key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "signing key does not match its certificate");
  }
  BioPtr in = readBio(text);
  if (!in) return fail(Errc::internal, "license text too large for a BIO");
  const unsigned flags = CMS_BINARY | CMS_NOSMIMECAP | CMS_PARTIAL;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return fail(sslError(Errc::internal, "CMS SignedData"));
  if (CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), EVP_sha256(),
                      flags & ~CMS_PARTIAL) == nullptr) {
    return fail(sslError(Errc::internal, "CMS signer"));
  }
  for (const auto& c : signer.chain) {
    if (c && CMS_add1_cert(cms.get(), c.get()) != 1)
      return fail(sslError(Errc::internal, "CMS chain certificate"));
  }
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1)
    return fail(sslError(Errc::internal, "CMS sign"));
  std::string der = i2dString(i2d_CMS_ContentInfo, cms.get());
  if (der.empty()) return fail(sslError(Errc::internal, "CMS encoding"));
  return der;
}

struct Verified {
  std::string text;
  x509::CertPtr signer;
};

// Decodes and verifies a SignedData over id-data with exactly one signer.
// With `expected`, the signer must be that certificate (looked up only among
// `expected`, then compared with X509_cmp); otherwise the signer's own
// certificate from the structure is used and returned for the caller to judge.
Result<Verified> verifySigned(std::string_view der, X509* expected) {
  if (der.size() > kMaxSignedLicense) {
    return fail(Errc::limit_exceeded,
                "signed license over " + std::to_string(kMaxSignedLicense) + " bytes");
  }
  CmsPtr cms(d2iExact<CMS_ContentInfo>(d2i_CMS_ContentInfo, CMS_ContentInfo_free, der));
  if (!cms) {
    ERR_clear_error();
    return fail(Errc::parse_error, "license is not a DER CMS structure (or has bytes after it)");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return fail(Errc::parse_error, "license is not CMS SignedData");
  }
  if (OBJ_obj2nid(CMS_get0_eContentType(cms.get())) != NID_pkcs7_data) {
    return fail(Errc::parse_error, "license content type is not id-data");
  }
  ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
  if (content == nullptr || *content == nullptr)
    return fail(Errc::parse_error, "license has no encapsulated text");
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  if (infos == nullptr || sk_CMS_SignerInfo_num(infos) != 1) {
    return fail(Errc::parse_error, "license must have exactly one signer");
  }
  CertStackPtr certs;
  unsigned flags = CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY;
  if (expected != nullptr) {
    certs.reset(sk_X509_new_null());
    if (!certs || sk_X509_push(certs.get(), expected) <= 0)
      return fail(Errc::internal, "certificate stack");
    flags |= CMS_NOINTERN;
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out) return fail(Errc::internal, "memory BIO");
  if (CMS_verify(cms.get(), certs.get(), nullptr, nullptr, out.get(), flags) != 1) {
    return fail(sslError(Errc::permission_denied, "license signature does not verify"));
  }
  // A new stack of borrowed certificates: the stack is ours, they are not.
  CertStackPtr signers(CMS_get0_signers(cms.get()));
  if (!signers || sk_X509_num(signers.get()) != 1) return fail(Errc::internal, "license signer");
  X509* signer = sk_X509_value(signers.get(), 0);
  if (expected != nullptr && X509_cmp(signer, expected) != 0) {
    return fail(Errc::permission_denied, "license is not signed by the expected certificate");
  }
  Verified v{bioText(out.get()), x509::duplicate(signer)};
  if (!v.signer) return fail(Errc::internal, "signer certificate reference");
  return v;
}

}  // namespace

Result<std::string> signPublishingLicense(const PublishingLicense& pl, const cms::Identity& owner) {
  std::string text = publishingLicenseText(pl);
  // Only what the parser reads back is signed: a bad field is the caller's
  // error here, not the reader's surprise later.
  if (auto back = parsePublishingLicenseText(text); !back) {
    return fail(Errc::invalid_argument, "publishing license: " + back.error().detail);
  }
  return signText(text, owner);
}

Result<SignedPublishingLicense> readPublishingLicense(std::string_view der) {
  auto v = verifySigned(der, nullptr);
  if (!v) return fail(v.error());
  auto pl = parsePublishingLicenseText(v->text);
  if (!pl) return fail(pl.error());
  return SignedPublishingLicense{std::move(*pl), std::move(v->signer)};
}

Result<std::string> signUseLicense(const UseLicense& ul, const cms::Identity& rights_server) {
  std::string text = useLicenseText(ul);
  if (auto back = parseUseLicenseText(text); !back) {
    return fail(Errc::invalid_argument, "use license: " + back.error().detail);
  }
  return signText(text, rights_server);
}

Result<UseLicense> readUseLicense(std::string_view der, X509* rights_server_cert) {
  if (rights_server_cert == nullptr)
    return fail(Errc::invalid_argument, "no rights server certificate");
  auto v = verifySigned(der, rights_server_cert);
  if (!v) return fail(v.error());
  return parseUseLicenseText(v->text);
}

std::string newContentKey() {
  std::string key(kContentKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    // Never a weak key: callers refuse anything but 32 bytes.
    ERR_clear_error();
    return {};
  }
  return key;
}

Result<std::string> wrapContentKey(std::string_view key, X509* to) {
  if (key.size() != kContentKeyBytes)
    return fail(Errc::invalid_argument, "content key must be 32 bytes");
  if (to == nullptr) return fail(Errc::invalid_argument, "no recipient certificate");
  EVP_PKEY* pub = X509_get0_pubkey(to);
  if (pub == nullptr)
    return fail(Errc::invalid_argument, "recipient certificate has no usable key");
  bool rsa = EVP_PKEY_is_a(pub, "RSA");
  bool ec = EVP_PKEY_is_a(pub, "EC");
  if (!rsa && !ec) return fail(Errc::invalid_argument, "recipient key must be RSA or EC");
  BioPtr in = readBio(key);
  if (!in) return fail(Errc::internal, "memory BIO");
  CmsPtr cms(CMS_encrypt(nullptr, nullptr, EVP_aes_256_gcm(), CMS_BINARY | CMS_PARTIAL));
  if (!cms) return fail(sslError(Errc::internal, "CMS AuthEnvelopedData"));
  CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms.get(), to, CMS_KEY_PARAM);
  if (ri == nullptr) return fail(sslError(Errc::invalid_argument, "CMS recipient"));
  EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
  if (pctx == nullptr) return fail(sslError(Errc::internal, "CMS recipient key context"));
  if (rsa) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
      return fail(sslError(Errc::internal, "RSA-OAEP parameters"));
    }
  } else if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
    return fail(sslError(Errc::internal, "ECDH KDF parameters"));
  }
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1)
    return fail(sslError(Errc::internal, "CMS encrypt"));
  std::string der = i2dString(i2d_CMS_ContentInfo, cms.get());
  if (der.empty()) return fail(sslError(Errc::internal, "CMS encoding"));
  return der;
}

Result<std::string> unwrapContentKey(std::string_view wrapped_der, const cms::Identity& me) {
  if (!me.key || !me.cert)
    return fail(Errc::invalid_argument, "decrypting identity without key or certificate");
  if (wrapped_der.size() > kMaxWrappedKey)
    return fail(Errc::limit_exceeded, "wrapped key too large");
  CmsPtr cms(d2iExact<CMS_ContentInfo>(d2i_CMS_ContentInfo, CMS_ContentInfo_free, wrapped_der));
  if (!cms) {
    ERR_clear_error();
    return fail(Errc::parse_error, "wrapped key is not a DER CMS structure");
  }
  int type = OBJ_obj2nid(CMS_get0_type(cms.get()));
  // EnvelopedData is read too (an AES-CBC wrap is as good for a 32-byte key
  // that is never re-used); we write AuthEnvelopedData.
  if (type != NID_id_smime_ct_authEnvelopedData && type != NID_pkcs7_enveloped) {
    return fail(Errc::parse_error, "wrapped key is not (Auth)EnvelopedData");
  }
  // Secure memory: its buffer is cleansed when freed.
  BioPtr out(BIO_new(BIO_s_secmem()));
  if (!out) return fail(Errc::internal, "memory BIO");
  if (CMS_decrypt(cms.get(), me.key.get(), me.cert.get(), nullptr, out.get(), CMS_BINARY) != 1) {
    return fail(sslError(Errc::permission_denied, "content key does not decrypt with this key"));
  }
  std::string key = bioText(out.get());
  if (key.size() != kContentKeyBytes) {
    OPENSSL_cleanse(key.data(), key.size());
    return fail(Errc::parse_error, "wrapped content key is not 32 bytes");
  }
  return key;
}

}  // namespace rampart::crypto::rights
