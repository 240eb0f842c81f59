// S/MIME 4.0 (RFC 8551) over OpenSSL 3.0's CMS (RFC 5652, RFC 5083).
#include "crypto/cms/smime.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "core/ascii.h"
#include "core/base64.h"
#include "crypto/cms/detail/mime_entity.h"
#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::cms {

namespace {

using x509::opensslErrors;
using x509::detail::BioPtr;

constexpr std::size_t kMaxRecipients = 100;
constexpr int kMaxLayers = 4;  // smime.h: at most 4 layers
constexpr int kMaxCapabilities = 64;

struct CmsFree {
  void operator()(CMS_ContentInfo* p) const noexcept { CMS_ContentInfo_free(p); }
};
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using CertStackPtr = std::unique_ptr<STACK_OF(X509), CertStackFree>;

BioPtr memBio() { return BioPtr(BIO_new(BIO_s_mem())); }

std::string lower(std::string s) {
  for (char& c : s) c = asciiLower(c);
  return s;
}

const EVP_MD* digestMd(Digest d) {
  switch (d) {
    case Digest::sha256:
      return EVP_sha256();
    case Digest::sha384:
      return EVP_sha384();
    case Digest::sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

// RFC 8551 3.5.3.2: the micalg names.
std::string_view micalg(Digest d) {
  switch (d) {
    case Digest::sha256:
      return "sha-256";
    case Digest::sha384:
      return "sha-384";
    case Digest::sha512:
      return "sha-512";
  }
  return "sha-256";
}

const EVP_CIPHER* cipherOf(ContentCipher c) {
  switch (c) {
    case ContentCipher::aes128_cbc:
      return EVP_aes_128_cbc();
    case ContentCipher::aes256_cbc:
      return EVP_aes_256_cbc();
    case ContentCipher::aes128_gcm:
      return EVP_aes_128_gcm();
    case ContentCipher::aes256_gcm:
      return EVP_aes_256_gcm();
  }
  return EVP_aes_256_cbc();
}

bool isGcm(ContentCipher c) {
  return c == ContentCipher::aes128_gcm || c == ContentCipher::aes256_gcm;
}

std::string randomBoundary() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    ERR_clear_error();
    // Uniqueness, not secrecy: the clock will do if the RNG failed.
    std::uint64_t t = static_cast<std::uint64_t>(std::time(nullptr));
    for (std::size_t i = 0; i < sizeof bytes; ++i)
      bytes[i] = static_cast<unsigned char>(t >> (i % 8) * 8);
  }
  return "----=_rampart_" + x509::detail::hexLower(bytes, sizeof bytes);
}

// The message as CRLF text split into what stays outside and the entity that
// is protected; an entity without Content-Type gets the RFC 2045 5.2 default
// spelled out, so every reader sees the same type.
Result<detail::SplitMessage> protectedParts(std::string_view message) {
  if (message.size() > detail::kMaxMessageBytes)
    return fail(Errc::limit_exceeded, "message over 64 MiB");
  auto split = detail::splitMessage(detail::toCrlf(message));
  if (!split) return split;
  if (!split->has_content_type)
    split->entity = "Content-Type: text/plain; charset=us-ascii\r\n" + split->entity;
  if (!detail::headerValue(split->outer, "MIME-Version")) split->outer += "MIME-Version: 1.0\r\n";
  return split;
}

std::string pkcs7MimePart(std::string_view smime_type, std::string_view der) {
  // RFC 8551 3.2.1, 3.3, 3.4: application/pkcs7-mime with smime-type and name.
  std::string out = "Content-Type: application/pkcs7-mime; smime-type=" + std::string(smime_type) +
                    "; name=\"smime.p7m\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n"
                    "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";
  out += base64Encode(der, 76);  // RFC 2045 6.8: lines of 76
  return out;
}

Result<std::string> cmsDer(CMS_ContentInfo* cms) {
  std::string der = x509::detail::i2dString(i2d_CMS_ContentInfo, cms);
  if (der.empty()) return fail(Errc::internal, "CMS encoding: " + opensslErrors());
  return der;
}

// What we can read, announced in preference order (RFC 8551 2.5.2, 2.7):
// AuthEnvelopedData with AES-GCM (RFC 5083/5084), AES-CBC, RSAES-OAEP
// (RFC 3560) and ECDH with the SHA-256 KDF (RFC 5753 7.2).
Status addCapabilities(CMS_SignerInfo* si) {
  STACK_OF(X509_ALGOR)* algs = nullptr;
  const int nids[] = {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc,
                      NID_aes_128_cbc, NID_rsaesOaep,   NID_dhSinglePass_stdDH_sha256kdf_scheme};
  bool ok = true;
  for (int nid : nids) ok = ok && CMS_add_simple_smimecap(&algs, nid, -1) == 1;
  ok = ok && CMS_add_smimecap(si, algs) == 1;
  sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
  if (!ok) return fail(Errc::internal, "SMIMECapabilities: " + opensslErrors());
  return {};
}

}  // namespace

// ---------------------------------------------------------------- capabilities

std::string capabilitiesText(const Capabilities& caps) {
  if (!caps.known) return "default";
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(caps.aes_cbc, "aes-cbc");
  add(caps.aes_gcm, "aes-gcm");
  add(caps.rsa_oaep, "rsa-oaep");
  add(caps.ecdh_sha256, "ecdh-sha256");
  return out;
}

Result<Capabilities> parseCapabilitiesText(std::string_view text) {
  Capabilities caps;
  if (text == "default") return caps;
  caps.known = true;
  caps.aes_cbc = false;
  if (text.empty()) return caps;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string_view word =
        text.substr(pos, (comma == std::string_view::npos ? text.size() : comma) - pos);
    bool* flag = nullptr;
    if (word == "aes-cbc")
      flag = &caps.aes_cbc;
    else if (word == "aes-gcm")
      flag = &caps.aes_gcm;
    else if (word == "rsa-oaep")
      flag = &caps.rsa_oaep;
    else if (word == "ecdh-sha256")
      flag = &caps.ecdh_sha256;
    if (flag == nullptr || *flag) {
      return fail(Errc::parse_error,
                  "capabilities: unknown or repeated '" + std::string(word.substr(0, 32)) + "'");
    }
    *flag = true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return caps;
}

std::string_view contentCipherName(ContentCipher cipher) {
  switch (cipher) {
    case ContentCipher::aes128_cbc:
      return "aes-128-cbc";
    case ContentCipher::aes256_cbc:
      return "aes-256-cbc";
    case ContentCipher::aes128_gcm:
      return "aes-128-gcm";
    case ContentCipher::aes256_gcm:
      return "aes-256-gcm";
  }
  return "aes-256-cbc";
}

// ---------------------------------------------------------------- signing

Result<std::string> signMessage(std::string_view message, const Identity& signer,
                                const SignOptions& options) {
  if (!signer.key || !signer.cert)
    return fail(Errc::invalid_argument, "signing needs a key and its certificate");
  auto parts = protectedParts(message);
  if (!parts) return fail(parts.error());
  // RFC 8551 3.1.3: what is clear-signed must pass 7-bit transports unchanged.
  const std::string entity =
      options.form == SignedForm::clear ? detail::sevenBitSafe(parts->entity) : parts->entity;

  // RFC 8551 3.1.1: the entity is already canonical (CRLF); CMS_BINARY keeps
  // OpenSSL from translating it again.
  unsigned flags = CMS_PARTIAL | CMS_BINARY;
  if (options.form == SignedForm::clear) flags |= CMS_DETACHED;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return fail(Errc::internal, "CMS_sign: " + opensslErrors());

  bool is_rsa = EVP_PKEY_get_base_id(signer.key.get()) == EVP_PKEY_RSA ||
                EVP_PKEY_get_base_id(X509_get0_pubkey(signer.cert.get())) == EVP_PKEY_RSA;
  bool pss = is_rsa && options.rsa == RsaSignature::pss;
  unsigned signer_flags = flags | CMS_NOSMIMECAP | (pss ? CMS_KEY_PARAM : 0u);
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(),
                                       digestMd(options.digest), signer_flags);
  if (si == nullptr) return fail(Errc::invalid_argument, "CMS signer: " + opensslErrors());
  if (pss) {
    // RFC 4056: RSASSA-PSS, salt as long as the digest, MGF1 with the same digest.
    EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
    if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
      return fail(Errc::internal, "RSA-PSS parameters: " + opensslErrors());
    }
  }
  if (options.capabilities) {
    if (auto st = addCapabilities(si); !st) return fail(st.error());
  }
  if (options.include_chain) {
    for (const auto& c : signer.chain) {
      if (c && CMS_add1_cert(cms.get(), c.get()) != 1)
        return fail(Errc::internal, "CMS chain: " + opensslErrors());
    }
  }
  BioPtr in = x509::detail::readBio(entity);
  if (!in || CMS_final(cms.get(), in.get(), nullptr, flags) != 1) {
    return fail(Errc::internal, "CMS signing: " + opensslErrors());
  }
  auto der = cmsDer(cms.get());
  if (!der) return fail(der.error());

  std::string out = parts->outer;
  if (options.form == SignedForm::opaque) {
    out += pkcs7MimePart("signed-data", *der);
    return out;
  }
  // RFC 8551 3.5.3 / RFC 1847 2.1.
  std::string boundary = randomBoundary();
  out += "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=" +
         std::string(micalg(options.digest)) + "; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a cryptographically signed message in MIME format.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  out += entity;
  out += "\r\n--" + boundary + "\r\n";
  out +=
      "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n";
  out += base64Encode(*der, 76);  // RFC 2045 6.8: lines of 76
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

// ---------------------------------------------------------------- encryption

Result<std::string> encryptMessage(std::string_view message, std::span<const Recipient> recipients,
                                   const EncryptOptions& options, EncryptReport* report) {
  if (recipients.empty())
    return fail(Errc::invalid_argument, "encryption needs at least one recipient");
  if (recipients.size() > kMaxRecipients) return fail(Errc::limit_exceeded, "over 100 recipients");
  for (const auto& r : recipients) {
    if (!r.cert) return fail(Errc::invalid_argument, "a recipient without a certificate");
  }
  auto parts = protectedParts(message);
  if (!parts) return fail(parts.error());

  // Content cipher: forced, or GCM when every recipient announced it, else
  // AES-256-CBC, which every peer reads.
  ContentCipher cipher = ContentCipher::aes256_cbc;
  if (options.cipher) {
    cipher = *options.cipher;
  } else if (options.upgrade) {
    bool all_gcm = true;
    for (const auto& r : recipients) all_gcm = all_gcm && r.caps.known && r.caps.aes_gcm;
    if (all_gcm) cipher = ContentCipher::aes256_gcm;
  }

  unsigned flags = CMS_PARTIAL | CMS_BINARY;
  CmsPtr cms(CMS_encrypt(nullptr, nullptr, cipherOf(cipher), flags));
  if (!cms) return fail(Errc::internal, "CMS_encrypt: " + opensslErrors());
  EncryptReport rep;
  rep.cipher = cipher;
  for (const auto& r : recipients) {
    EVP_PKEY* pub = X509_get0_pubkey(r.cert.get());
    int type = pub == nullptr ? 0 : EVP_PKEY_get_base_id(pub);
    if (type == EVP_PKEY_RSA) {
      // Key transport is per recipient: each reads only its own RecipientInfo.
      bool oaep = options.rsa_oaep ? *options.rsa_oaep
                                   : (options.upgrade && r.caps.known && r.caps.rsa_oaep);
      CMS_RecipientInfo* ri =
          CMS_add1_recipient_cert(cms.get(), r.cert.get(), flags | CMS_KEY_PARAM);
      if (ri == nullptr) return fail(Errc::invalid_argument, "RSA recipient: " + opensslErrors());
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (pctx == nullptr) return fail(Errc::internal, "RSA recipient context: " + opensslErrors());
      if (oaep) {
        // RFC 3560 / RFC 8017 A.2.1: OAEP with SHA-256 and MGF1-SHA-256.
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
          return fail(Errc::internal, "RSA-OAEP parameters: " + opensslErrors());
        }
      } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
        return fail(Errc::internal, "RSA padding: " + opensslErrors());
      }
      rep.key_management.push_back(oaep ? "rsa-oaep" : "rsa-pkcs1");
    } else if (type == EVP_PKEY_EC) {
      // RFC 5753 3.1 / RFC 8551 2.7: ephemeral-static ECDH; OpenSSL would use
      // the X9.63 KDF with SHA-1 unless told otherwise: always SHA-256.
      CMS_RecipientInfo* ri =
          CMS_add1_recipient_cert(cms.get(), r.cert.get(), flags | CMS_KEY_PARAM);
      if (ri == nullptr) return fail(Errc::invalid_argument, "EC recipient: " + opensslErrors());
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (pctx == nullptr || EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
        return fail(Errc::internal, "ECDH KDF: " + opensslErrors());
      }
      rep.key_management.push_back("ecdh-sha256");
    } else {
      return fail(Errc::invalid_argument,
                  "recipient key is neither RSA nor EC: " + x509::subjectText(r.cert.get()));
    }
  }
  BioPtr in = x509::detail::readBio(parts->entity);
  if (!in || CMS_final(cms.get(), in.get(), nullptr, flags) != 1) {
    return fail(Errc::internal, "CMS encryption: " + opensslErrors());
  }
  auto der = cmsDer(cms.get());
  if (!der) return fail(der.error());
  std::string out = parts->outer;
  // RFC 8551 3.3 (enveloped-data) and 3.4 (authEnveloped-data).
  out += pkcs7MimePart(isGcm(cipher) ? "authEnveloped-data" : "enveloped-data", *der);
  if (report != nullptr) *report = std::move(rep);
  return out;
}

// ---------------------------------------------------------------- receiving

Layer classify(std::string_view message) {
  std::string crlf =
      detail::toCrlf(message.substr(0, std::min<std::size_t>(message.size(), 256 * 1024)));
  auto [headers, body] = detail::headersAndBody(crlf);
  (void)body;
  auto value = detail::headerValue(headers, "Content-Type");
  if (!value) return Layer::none;
  auto ct = detail::parseContentType(*value);
  if (ct.type == "multipart/signed") {
    auto proto = lower(ct.params.count("protocol") ? ct.params["protocol"] : "");
    if (proto == "application/pkcs7-signature" || proto == "application/x-pkcs7-signature")
      return Layer::signed_clear;
    return Layer::none;  // a PGP/MIME or other signature is not ours
  }
  if (ct.type == "application/pkcs7-mime" || ct.type == "application/x-pkcs7-mime") {
    std::string st = lower(ct.params.count("smime-type") ? ct.params["smime-type"] : "");
    if (st == "signed-data") return Layer::signed_opaque;
    if (st == "enveloped-data") return Layer::enveloped;
    if (st == "authenveloped-data") return Layer::auth_enveloped;
    return Layer::unknown_smime;
  }
  return Layer::none;
}

namespace {

// RFC 5652 6.1 / RFC 5083 2.1: the content-encryption algorithm sits in the
// (Auth)EncryptedContentInfo; OpenSSL 3.0 has no getter, so walk the DER:
// ContentInfo { OID, [0] { version, [0] originatorInfo?, SET ris, SEQ { OID, AlgId { OID ...
std::string contentCipherOf(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  auto next = [&](int& tag, int& cls, long& len) {
    if (p >= end) return false;
    int ret = ASN1_get_object(&p, &len, &tag, &cls, end - p);
    return (ret & 0x80) == 0 && len >= 0 && len <= end - p;
  };
  int tag, cls;
  long len;
  if (!next(tag, cls, len) || tag != V_ASN1_SEQUENCE) return {};  // ContentInfo
  if (!next(tag, cls, len) || tag != V_ASN1_OBJECT) return {};
  p += len;
  if (!next(tag, cls, len) || cls != V_ASN1_CONTEXT_SPECIFIC || tag != 0) return {};
  if (!next(tag, cls, len) || tag != V_ASN1_SEQUENCE) return {};  // (Auth)EnvelopedData
  if (!next(tag, cls, len) || tag != V_ASN1_INTEGER) return {};
  p += len;
  if (!next(tag, cls, len)) return {};
  if (cls == V_ASN1_CONTEXT_SPECIFIC) {  // originatorInfo
    p += len;
    if (!next(tag, cls, len)) return {};
  }
  if (tag != V_ASN1_SET) return {};
  p += len;                                                       // recipientInfos
  if (!next(tag, cls, len) || tag != V_ASN1_SEQUENCE) return {};  // EncryptedContentInfo
  if (!next(tag, cls, len) || tag != V_ASN1_OBJECT) return {};
  p += len;
  if (!next(tag, cls, len) || tag != V_ASN1_SEQUENCE) return {};  // AlgorithmIdentifier
  const unsigned char* oid_start = p;
  if (!next(tag, cls, len) || tag != V_ASN1_OBJECT) return {};
  const unsigned char* q = oid_start;
  ASN1_OBJECT* obj = d2i_ASN1_OBJECT(nullptr, &q, (p - oid_start) + len);
  if (obj == nullptr) {
    ERR_clear_error();
    return {};
  }
  int nid = OBJ_obj2nid(obj);
  ASN1_OBJECT_free(obj);
  const char* ln = nid == NID_undef ? nullptr : OBJ_nid2ln(nid);
  return ln == nullptr ? "unknown" : lower(ln);
}

Result<CmsPtr> parseCms(std::string_view der) {
  if (der.size() > detail::kMaxMessageBytes)
    return fail(Errc::limit_exceeded, "CMS structure over 64 MiB");
  CmsPtr cms(
      x509::detail::d2iExact<CMS_ContentInfo>(d2i_CMS_ContentInfo, CMS_ContentInfo_free, der));
  if (!cms) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a DER CMS structure (truncated, or bytes after it)");
  }
  return cms;
}

// The DER inside an application/pkcs7-mime entity (base64 or binary).
Result<std::string> pkcs7MimeDer(std::string_view entity) {
  auto [headers, body] = detail::headersAndBody(entity);
  auto cte = detail::headerValue(headers, "Content-Transfer-Encoding");
  // Line breaks and blanks are skipped; short or missing padding and a lone
  // last character (its bits dropped) are tolerated, as lenient MIME
  // decoders do.
  if (cte && equalsIgnoreCase(*cte, "base64")) return base64Decode(body, {.partial_end = true});
  if (!cte || equalsIgnoreCase(*cte, "binary") || equalsIgnoreCase(*cte, "8bit") ||
      equalsIgnoreCase(*cte, "7bit")) {
    return std::string(body);
  }
  return fail(Errc::parse_error,
              "unsupported Content-Transfer-Encoding for CMS: " + cte->substr(0, 32));
}

std::int64_t signingTime(CMS_SignerInfo* si) {
  int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  if (idx < 0) return 0;
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
  ASN1_TYPE* t = attr == nullptr ? nullptr : X509_ATTRIBUTE_get0_type(attr, 0);
  if (t == nullptr || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME)) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(reinterpret_cast<ASN1_TIME*>(t->value.asn1_string), &tm) != 1) {
    ERR_clear_error();
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

// RFC 8551 2.5.2: SMIMECapabilities ::= SEQUENCE OF SMIMECapability.
Capabilities signerCapabilities(CMS_SignerInfo* si) {
  Capabilities caps;
  int idx = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1);
  if (idx < 0) return caps;
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
  ASN1_TYPE* t = attr == nullptr ? nullptr : X509_ATTRIBUTE_get0_type(attr, 0);
  if (t == nullptr || t->type != V_ASN1_SEQUENCE) return caps;
  const unsigned char* p = t->value.sequence->data;
  STACK_OF(X509_ALGOR)* algs = d2i_X509_ALGORS(nullptr, &p, t->value.sequence->length);
  if (algs == nullptr) {
    ERR_clear_error();
    return caps;
  }
  caps.known = true;
  caps.aes_cbc = false;
  int n = std::min(sk_X509_ALGOR_num(algs), kMaxCapabilities);
  for (int i = 0; i < n; ++i) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, sk_X509_ALGOR_value(algs, i));
    switch (OBJ_obj2nid(obj)) {
      case NID_aes_128_cbc:
      case NID_aes_192_cbc:
      case NID_aes_256_cbc:
        caps.aes_cbc = true;
        break;
      case NID_aes_128_gcm:
      case NID_aes_256_gcm:
        caps.aes_gcm = true;
        break;
      case NID_rsaesOaep:
        caps.rsa_oaep = true;
        break;
      case NID_dhSinglePass_stdDH_sha256kdf_scheme:
        caps.ecdh_sha256 = true;
        break;
      default:
        break;
    }
  }
  sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
  return caps;
}

std::vector<std::string> signerEmails(X509* cert) {
  std::vector<std::string> out;
  for (auto& e : x509::sanEmails(cert)) out.push_back(lower(e));
  // RFC 8550 3: an emailAddress in the subject DN counts too (older CAs).
  X509_NAME* name = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(name, NID_pkcs9_emailAddress, -1);
       i >= 0 && out.size() < 64; i = X509_NAME_get_index_by_NID(name, NID_pkcs9_emailAddress, i)) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    if (s != nullptr)
      out.push_back(lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                      static_cast<std::size_t>(ASN1_STRING_length(s)))));
  }
  return out;
}

// At most this many SignerInfos are looked at (RFC 5652 5.1 sets no bound).
constexpr int kMaxSigners = 16;

// RFC 5652 5.6 for each SignerInfo on its own (CMS_verify fails them all
// when one fails): the content is digested once, then each signer's signed
// attributes and message digest, or its signature over the content itself
// when it has no signed attributes, are checked. `valid[i]` for SignerInfo i;
// the content read goes to `out` when set. Signer certificates must have been
// matched (CMS_set1_signers_certs).
std::vector<bool> verifyEachSigner(CMS_ContentInfo* cms, const std::string_view* detached,
                                   std::string_view data, BIO* out) {
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms);
  const int n = std::min(sk_CMS_SignerInfo_num(sis), kMaxSigners);
  std::vector<bool> valid(static_cast<std::size_t>(n), false);
  BioPtr source;
  if (detached != nullptr) {
    source = x509::detail::readBio(data);
    if (!source) return valid;
  }
  BIO* chain = CMS_dataInit(cms, source.get());
  if (chain == nullptr) {
    ERR_clear_error();
    return valid;
  }
  char buf[16384];
  bool read_ok = true;
  for (;;) {
    int got = BIO_read(chain, buf, sizeof buf);
    if (got <= 0) {
      read_ok = BIO_eof(chain) != 0 || got == 0;
      break;
    }
    if (out != nullptr) BIO_write(out, buf, got);
  }
  if (read_ok) {
    for (int i = 0; i < n; ++i) {
      CMS_SignerInfo* si = sk_CMS_SignerInfo_value(sis, i);
      X509* signer = nullptr;
      CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
      if (signer == nullptr) continue;
      const bool attrs = CMS_signed_get_attr_count(si) >= 0;
      valid[static_cast<std::size_t>(i)] =
          (!attrs || CMS_SignerInfo_verify(si) == 1) && CMS_SignerInfo_verify_content(si, chain) == 1;
    }
  }
  // The digest BIOs CMS_dataInit pushed go; the source is ours.
  if (source) {
    while (chain != nullptr && chain != source.get()) {
      BIO* next = BIO_pop(chain);
      BIO_free(chain);
      chain = next;
    }
  } else {
    BIO_free_all(chain);
  }
  return valid;
}

// What one SignerInfo says, apart from whether its signature verifies: the
// digest, signing time, capabilities, and the signer's certificate judged
// for S/MIME signing (RFC 8550 4, 6) with the message's certificates as
// untrusted helpers for path building.
Signature describeSigner(CMS_ContentInfo* cms, CMS_SignerInfo* si, const x509::VerifyOptions& trust,
                         const std::string& from) {
  Signature sig;
  X509* signer = nullptr;
  X509_ALGOR* dig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, &dig, nullptr);
  if (dig != nullptr) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, dig);
    int nid = OBJ_obj2nid(obj);
    sig.digest = nid == NID_undef ? "unknown" : lower(OBJ_nid2sn(nid));
  }
  sig.signing_time = signingTime(si);
  sig.capabilities = signerCapabilities(si);
  if (signer == nullptr) {
    sig.detail = "signer certificate not in the message";
    sig.chain.status = x509::ChainStatus::incomplete_chain;
    sig.chain.detail = "signer certificate not in the message";
    return sig;
  }
  sig.signer_cert = x509::duplicate(signer);
  sig.signer_subject = x509::subjectText(signer);
  sig.signer_emails = signerEmails(signer);
  for (const auto& e : sig.signer_emails)
    sig.from_matches = sig.from_matches || (!from.empty() && e == from);

  x509::VerifyOptions opts;
  for (const auto& a : trust.anchors) opts.anchors.push_back(x509::duplicate(a.get()));
  for (const auto& c : trust.intermediates) opts.intermediates.push_back(x509::duplicate(c.get()));
  for (const auto& c : trust.crls) {
    X509_CRL_up_ref(c.get());
    opts.crls.emplace_back(c.get());
  }
  if (CertStackPtr certs{CMS_get1_certs(cms)}) {
    for (int i = 0; i < sk_X509_num(certs.get()) && i < 32; ++i) {
      opts.intermediates.push_back(x509::duplicate(sk_X509_value(certs.get(), i)));
    }
  }
  opts.purpose = x509::Purpose::smime_signing;
  opts.revocation = trust.revocation;
  opts.at = trust.at;
  opts.fetch = trust.fetch;
  auto verdict = x509::verifyChain(signer, opts);
  if (verdict) {
    sig.chain = std::move(*verdict);
  } else {
    sig.chain.status = x509::ChainStatus::untrusted_root;
    sig.chain.detail = verdict.error().message();
  }
  ERR_clear_error();
  return sig;
}

// How good a signer's verdict is, for choosing the one to report.
int rank(const Signature& s) {
  return s.good() ? 3 : (s.valid && s.chain.ok()) ? 2 : s.valid ? 1 : 0;
}

// Verifies a SignedData over `detached` (clear-signed) or its own content;
// the verdict goes into the result, the content into `content`. With several
// signers the best verdict is reported (RFC 4853: the content is validly
// signed by a signer when any of its signatures verifies), and `signers`
// says how many there were. An Error only when the structure is not a
// SignedData at all.
Result<Signature> verifySigned(CMS_ContentInfo* cms, const std::string_view* detached,
                               std::string* content, const x509::VerifyOptions& trust,
                               const std::string& from) {
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
    return fail(Errc::parse_error, "CMS is not SignedData");
  STACK_OF(CMS_SignerInfo)* sis = CMS_get0_SignerInfos(cms);
  if (sis == nullptr || sk_CMS_SignerInfo_num(sis) == 0)
    return fail(Errc::parse_error, "SignedData without a signer");
  const int total = sk_CMS_SignerInfo_num(sis);
  const int n = std::min(total, kMaxSigners);
  CMS_set1_signers_certs(cms, nullptr, 0);
  ERR_clear_error();

  std::string why;
  std::vector<bool> valid(static_cast<std::size_t>(n), false);
  BioPtr out = memBio();
  if (detached != nullptr && CMS_is_detached(cms) != 1) {
    why = "a multipart/signed signature that carries its own content";
  } else if (detached == nullptr && CMS_is_detached(cms) == 1) {
    why = "an opaque signature without content";
  } else {
    std::string_view data = detached != nullptr ? *detached : std::string_view();
    valid = verifyEachSigner(cms, detached, data, out.get());
    auto any = [&valid] { return std::find(valid.begin(), valid.end(), true) != valid.end(); };
    if (!any()) why = opensslErrors();
    // The signer may have signed LF text a mail system then canonicalized.
    if (!any() && detached != nullptr) {
      std::string crlf = detail::toCrlf(*detached);
      if (crlf != *detached) {
        valid = verifyEachSigner(cms, detached, crlf, nullptr);
        if (any()) why.clear();
      }
    }
    ERR_clear_error();
    if (why.empty() && !any()) why = "the signature does not verify";
  }

  // Every signer whose signature verifies is judged; the first one when none does.
  std::optional<Signature> best;
  for (int i = 0; i < n; ++i) {
    const bool ok = valid[static_cast<std::size_t>(i)];
    if (!ok && (best || i > 0)) continue;
    Signature s = describeSigner(cms, sk_CMS_SignerInfo_value(sis, i), trust, from);
    s.valid = ok && s.signer_cert != nullptr;
    if (!s.valid && s.detail.empty()) s.detail = why;
    if (!best || rank(s) > rank(*best)) best = std::move(s);
    if (rank(*best) == 3) break;
  }
  Signature sig = best ? std::move(*best) : Signature{};
  sig.signers = total;
  if (content != nullptr && sig.valid) *content = x509::detail::bioText(out.get());
  return sig;
}

Result<std::string> decryptEnveloped(CMS_ContentInfo* cms, const Identity& me) {
  BioPtr out = memBio();
  unsigned flags = CMS_BINARY;
  // With the certificate, OpenSSL picks our RecipientInfo (RFC 5652 6.2).
  if (CMS_decrypt(cms, me.key.get(), me.cert.get(), nullptr, out.get(), flags) == 1) {
    return x509::detail::bioText(out.get());
  }
  std::string first = opensslErrors();
  // A token key may not be matched by certificate; then try each
  // RecipientInfo, and a failed key decryption is an error, not a random key.
  BIO_reset(out.get());
  if (CMS_decrypt(cms, me.key.get(), nullptr, nullptr, out.get(), flags | CMS_DEBUG_DECRYPT) == 1) {
    return x509::detail::bioText(out.get());
  }
  ERR_clear_error();
  return fail(Errc::permission_denied, "cannot decrypt: " + first);
}

}  // namespace

Result<Opened> openMessage(std::string_view message, const Identity* me,
                           const x509::VerifyOptions& trust) {
  if (message.size() > detail::kMaxMessageBytes)
    return fail(Errc::limit_exceeded, "message over 64 MiB");
  Opened opened;
  std::string current = detail::toCrlf(message);
  std::string outer;
  {
    auto split = detail::splitMessage(current);
    if (!split) return fail(split.error());
    outer = split->outer;
  }
  const std::string from = detail::fromAddress(outer);
  for (int layer = 0;; ++layer) {
    Layer kind = classify(current);
    if (kind == Layer::none) break;
    if (layer == kMaxLayers) return fail(Errc::limit_exceeded, "more than 4 S/MIME layers");
    auto split = detail::splitMessage(current);
    if (!split) return fail(split.error());
    std::string inner_entity;
    if (kind == Layer::signed_clear) {
      auto [headers, body] = detail::headersAndBody(split->entity);
      auto ct = detail::parseContentType(detail::headerValue(headers, "Content-Type").value_or(""));
      auto parts = detail::multipartSignedParts(body, ct.params["boundary"]);
      if (!parts) return fail(parts.error());
      auto der = pkcs7MimeDer(parts->signature);
      if (!der) return fail(der.error());
      auto cms = parseCms(*der);
      if (!cms) return fail(cms.error());
      std::string_view content = parts->content;
      auto sig = verifySigned(cms->get(), &content, nullptr, trust, from);
      if (!sig) return fail(sig.error());
      if (!opened.signature) opened.signature = std::move(*sig);
      inner_entity = std::string(parts->content);
    } else {
      auto der = pkcs7MimeDer(split->entity);
      if (!der) return fail(der.error());
      auto cms = parseCms(*der);
      if (!cms) return fail(cms.error());
      // Dispatch on the CMS content type, not on the smime-type label.
      int type = OBJ_obj2nid(CMS_get0_type(cms->get()));
      if (type == NID_pkcs7_signed) {
        std::string content;
        auto sig = verifySigned(cms->get(), nullptr, &content, trust, from);
        if (!sig) return fail(sig.error());
        bool valid = sig->valid;
        if (!opened.signature) opened.signature = std::move(*sig);
        if (!valid) {
          // The content of a bad opaque signature is still shown, marked invalid.
          ASN1_OCTET_STRING** pos = CMS_get0_content(cms->get());
          content.clear();
          if (pos != nullptr && *pos != nullptr) {
            content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
                           static_cast<std::size_t>(ASN1_STRING_length(*pos)));
          }
        }
        inner_entity = std::move(content);
      } else if (type == NID_pkcs7_enveloped || type == NID_id_smime_ct_authEnvelopedData) {
        if (me == nullptr || !me->key)
          return fail(Errc::permission_denied, "encrypted message and no key to read it");
        auto plain = decryptEnveloped(cms->get(), *me);
        if (!plain) return fail(plain.error());
        if (!opened.encrypted) opened.cipher = contentCipherOf(*der);
        opened.encrypted = true;
        inner_entity = std::move(*plain);
      } else {
        return fail(Errc::parse_error, std::string("unsupported CMS content type ") +
                                           (type == NID_undef ? "unknown" : OBJ_nid2sn(type)));
      }
    }
    if (inner_entity.size() > detail::kMaxMessageBytes)
      return fail(Errc::limit_exceeded, "inner entity over 64 MiB");
    current = outer + detail::toCrlf(inner_entity);
  }
  opened.message = std::move(current);
  return opened;
}

}  // namespace rampart::crypto::cms
