#include "crypto/x509/csr.h"

#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "core/base64.h"
#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::x509 {


namespace {

constexpr std::size_t kMaxExtensions = 64;
constexpr std::size_t kMaxChallengeChars = 255;  // RFC 2985 5.4.1: pkcs-9-ub-challengePassword
constexpr std::size_t kMaxSanEntries = 64;

struct ExtsFree {
  void operator()(STACK_OF(X509_EXTENSION)* s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using ExtsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree>;

struct NamesFree {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
using NamesPtr = std::unique_ptr<GENERAL_NAMES, NamesFree>;

std::string asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string requestSubject(X509_REQ* req) {
  detail::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  if (X509_NAME_print_ex(bio.get(), X509_REQ_get_subject_name(req), 0, flags) < 0) return {};
  return detail::bioText(bio.get());
}

// RFC 7030 3.4 / RFC 2986 4.2: the signature algorithm must be one we would
// accept for a certificate today. Only ECDSA and PKCS#1 v1.5 RSA with SHA-2;
// RSA-PSS requests are rare for EST clients and not supported.
Status checkSignatureAlgorithm(X509_REQ* req) {
  int sig_nid = X509_REQ_get_signature_nid(req);
  int md_nid = NID_undef;
  int pk_nid = NID_undef;
  if (sig_nid == NID_undef || OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) != 1) {
    return fail(Errc::parse_error, "unsupported request signature algorithm");
  }
  if (md_nid == NID_sha1 || md_nid == NID_md5 || md_nid == NID_md5_sha1 || md_nid == NID_md4 ||
      md_nid == NID_md2) {
    return fail(Errc::parse_error, std::string("refused weak request signature digest ") + OBJ_nid2sn(md_nid));
  }
  if (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512) {
    return fail(Errc::parse_error, std::string("unsupported request signature algorithm ") + OBJ_nid2sn(sig_nid));
  }
  if (pk_nid != NID_rsaEncryption && pk_nid != NID_X9_62_id_ecPublicKey) {
    return fail(Errc::parse_error, std::string("unsupported request signature algorithm ") + OBJ_nid2sn(sig_nid));
  }
  return {};
}

Status readExtensions(X509_REQ* req, ParsedCsr& out) {
  bool has_attr = X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >= 0 ||
                  X509_REQ_get_attr_by_NID(req, NID_ms_ext_req, -1) >= 0;
  ExtsPtr exts(X509_REQ_get_extensions(req));
  if (!exts) {
    ERR_clear_error();
    if (has_attr) return fail(Errc::parse_error, "malformed extensionRequest attribute");
    return {};
  }
  int n = sk_X509_EXTENSION_num(exts.get());
  if (n < 0 || static_cast<std::size_t>(n) > kMaxExtensions) {
    return fail(Errc::limit_exceeded, "more than 64 requested extensions");
  }
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    RequestedExtension r;
    char oid[128];
    int len = OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1);
    if (len <= 0 || static_cast<std::size_t>(len) >= sizeof oid) {
      return fail(Errc::parse_error, "requested extension with a bad object identifier");
    }
    r.oid.assign(oid, static_cast<std::size_t>(len));
    for (const auto& earlier : out.extensions) {
      if (earlier.oid == r.oid) return fail(Errc::parse_error, "extension " + r.oid + " requested twice");
    }
    r.critical = X509_EXTENSION_get_critical(ext) > 0;
    r.der = asn1Text(X509_EXTENSION_get_data(ext));
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
      const unsigned char* end = p + r.der.size();
      NamesPtr names(d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(r.der.size())));
      if (!names || p != end) {
        ERR_clear_error();
        return fail(Errc::parse_error, "malformed requested subjectAltName");
      }
      int count = sk_GENERAL_NAME_num(names.get());
      if (count < 0 || static_cast<std::size_t>(count) > kMaxSanEntries) {
        return fail(Errc::limit_exceeded, "more than 64 requested subjectAltName entries");
      }
      for (int j = 0; j < count; ++j) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), j);
        if (gn->type != GEN_EMAIL && gn->type != GEN_DNS) continue;
        std::string v = asn1Text(gn->type == GEN_EMAIL ? gn->d.rfc822Name : gn->d.dNSName);
        if (v.find('\0') != std::string::npos) return fail(Errc::parse_error, "NUL in a requested name");
        (gn->type == GEN_EMAIL ? out.san_emails : out.san_dns).push_back(std::move(v));
      }
    }
    out.extensions.push_back(std::move(r));
  }
  return {};
}

// RFC 2985 5.4.1: challengePassword is a DirectoryString of one value; EST
// puts the tls-unique value there (RFC 7030 3.5).
Status readChallenge(X509_REQ* req, ParsedCsr& out) {
  int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
  if (idx < 0) return {};
  if (X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, idx) >= 0) {
    return fail(Errc::parse_error, "challengePassword attribute given twice");
  }
  X509_ATTRIBUTE* attr = X509_REQ_get_attr(req, idx);
  if (attr == nullptr || X509_ATTRIBUTE_count(attr) != 1) {
    return fail(Errc::parse_error, "challengePassword must hold exactly one value");
  }
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, 0);
  if (value == nullptr) return fail(Errc::parse_error, "malformed challengePassword");
  switch (value->type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
      break;
    default:
      return fail(Errc::parse_error, "unsupported challengePassword string type");
  }
  std::string text = asn1Text(value->value.asn1_string);
  if (text.size() > kMaxChallengeChars) return fail(Errc::limit_exceeded, "challengePassword over 255 bytes");
  if (text.find('\0') != std::string::npos) return fail(Errc::parse_error, "NUL in challengePassword");
  out.challenge_password = std::move(text);
  return {};
}

}  // namespace

Result<ParsedCsr> parseCsr(std::string_view der) {
  if (der.size() > kMaxCsrDer) return fail(Errc::limit_exceeded, "certificate request over 16 KiB");
  ParsedCsr out;
  out.request.reset(detail::d2iExact<X509_REQ>(d2i_X509_REQ, X509_REQ_free, der));
  if (!out.request) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a DER PKCS#10 request (or bytes after it)");
  }
  X509_REQ* req = out.request.get();
  if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
    return fail(Errc::parse_error, "unsupported request version");  // RFC 2986 4.1: v1(0)
  }
  out.public_key.reset(X509_REQ_get_pubkey(req));
  if (!out.public_key) {
    ERR_clear_error();
    return fail(Errc::parse_error, "request public key cannot be decoded");
  }
  auto type = keyTypeOf(out.public_key.get());
  if (!type) return fail(Errc::parse_error, "request key: " + type.error().detail);
  out.key_type = *type;
  if (auto st = checkSignatureAlgorithm(req); !st) return fail(st.error());
  // Proof of possession (RFC 2986 4.2, RFC 7030 3.4).
  int ok = X509_REQ_verify(req, out.public_key.get());
  ERR_clear_error();
  if (ok != 1) return fail(Errc::unauthenticated, "request signature does not verify");
  if (auto st = readExtensions(req, out); !st) return fail(st.error());
  if (auto st = readChallenge(req, out); !st) return fail(st.error());
  out.subject = requestSubject(req);
  out.der.assign(der);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  out.sha256 = detail::hexLower(digest, sizeof digest);
  return out;
}

Result<ParsedCsr> parseEstCsr(std::string_view body) {
  std::string_view text = body;
  // Some clients send PEM despite RFC 7030 4.2.1; take what is inside.
  constexpr std::string_view kBegin = "-----BEGIN ";
  if (auto begin = text.find(kBegin); begin != std::string_view::npos) {
    auto label_end = text.find("-----", begin + kBegin.size());
    if (label_end == std::string_view::npos) return fail(Errc::parse_error, "bad PEM header");
    std::string_view label = text.substr(begin + kBegin.size(), label_end - begin - kBegin.size());
    if (label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST") {
      return fail(Errc::parse_error, "PEM body is not a certificate request");
    }
    std::string_view rest = text.substr(label_end + 5);
    auto end = rest.find("-----END ");
    if (end == std::string_view::npos) return fail(Errc::parse_error, "PEM request without END line");
    text = rest.substr(0, end);
  }
  auto der = base64DecodeLenient(text, kMaxCsrDer);
  if (!der) return fail(der.error());
  return parseCsr(*der);
}

Result<std::string> makeCsr(EVP_PKEY* key, std::string_view common_name,
                            const std::vector<std::string>& san_emails) {
  if (key == nullptr) return fail(Errc::invalid_argument, "no key");
  if (auto type = keyTypeOf(key); !type) return fail(type.error());
  if (common_name.find('\0') != std::string_view::npos || common_name.size() > 64) {
    return fail(Errc::invalid_argument, "common name must be at most 64 characters without NUL");  // RFC 5280 ub-common-name
  }
  CsrPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return fail(Errc::internal, "X509_REQ_new: " + opensslErrors());
  }
  if (!common_name.empty()) {
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.data()),
                                   static_cast<int>(common_name.size()), -1, 0) != 1) {
      return fail(Errc::invalid_argument, "common name: " + opensslErrors());
    }
  }
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return fail(Errc::internal, "set key: " + opensslErrors());
  if (!san_emails.empty()) {
    // Built as GENERAL_NAMEs, not a config string, so no address can smuggle
    // in another name with a comma.
    NamesPtr names(GENERAL_NAMES_new());
    if (!names) return fail(Errc::internal, "GENERAL_NAMES_new");
    for (const auto& email : san_emails) {
      if (email.empty() || email.size() > 255 ||
          email.find_first_of(std::string_view("\0 ,\r\n\t", 6)) != std::string::npos) {
        return fail(Errc::invalid_argument, "bad e-mail address for subjectAltName");
      }
      for (unsigned char c : email) {
        if (c >= 0x80 || c < 0x20) return fail(Errc::invalid_argument, "e-mail address must be ASCII (IA5String)");
      }
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
      if (gn == nullptr || ia5 == nullptr ||
          ASN1_STRING_set(ia5, email.data(), static_cast<int>(email.size())) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(ia5);
        return fail(Errc::internal, "GENERAL_NAME");
      }
      GENERAL_NAME_set0_value(gn, GEN_EMAIL, ia5);
      if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
        GENERAL_NAME_free(gn);
        return fail(Errc::internal, "GENERAL_NAMES push");
      }
    }
    STACK_OF(X509_EXTENSION)* raw = nullptr;
    if (X509V3_add1_i2d(&raw, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
      sk_X509_EXTENSION_pop_free(raw, X509_EXTENSION_free);
      return fail(Errc::internal, "subjectAltName: " + opensslErrors());
    }
    ExtsPtr exts(raw);
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
      return fail(Errc::internal, "extensionRequest: " + opensslErrors());
    }
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return fail(Errc::internal, "sign request: " + opensslErrors());
  }
  std::string der = detail::i2dString(i2d_X509_REQ, req.get());
  if (der.empty()) return fail(Errc::internal, "encode request: " + opensslErrors());
  return der;
}

// MIME lines (RFC 2045 6.8) end in CRLF; 64 characters as PEM uses.
std::string base64Lines(std::string_view bytes) { return base64Encode(bytes, 64); }

Result<std::string> base64DecodeLenient(std::string_view text, std::size_t max_out) {
  // Padding, when given, must complete the last quantum (RFC 4648 4); a
  // missing one is tolerated. A lone trailing character is never valid.
  return base64Decode(text, {.max_out = max_out});
}

}  // namespace rampart::crypto::x509
