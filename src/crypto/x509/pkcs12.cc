#include "crypto/x509/pkcs12.h"

#include <openssl/crypto.h>
#include <openssl/pkcs12.h>

#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::x509 {


namespace {

constexpr std::size_t kMaxPkcs12Der = 1024 * 1024;
constexpr std::size_t kMaxPkcs12Certs = 32;
constexpr std::size_t kMaxPasswordBytes = 1024;
// OpenSSL's default (PKCS12_DEFAULT_ITER) and what the compat readers expect.
constexpr int kIterations = 2048;
// A file may ask for any MAC iteration count; above this it is a denial of
// service, not protection (OpenSSL itself writes 2048).
constexpr long kMaxMacIterations = 1'000'000;

struct Pkcs12Free {
  void operator()(PKCS12* p) const noexcept { PKCS12_free(p); }
};
using Pkcs12Ptr = std::unique_ptr<PKCS12, Pkcs12Free>;

struct CertStackFree {
  void operator()(STACK_OF(X509)* s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using CertStackPtr = std::unique_ptr<STACK_OF(X509), CertStackFree>;

// The password as OpenSSL wants it (NUL-terminated), wiped when done.
class Password {
 public:
  explicit Password(std::string_view p) : text_(p) {}
  ~Password() { OPENSSL_cleanse(text_.data(), text_.size()); }
  Password(const Password&) = delete;
  Password& operator=(const Password&) = delete;
  const char* c_str() const { return text_.c_str(); }
  int size() const { return static_cast<int>(text_.size()); }

 private:
  std::string text_;
};

Status checkPassword(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) return fail(Errc::invalid_argument, "password over 1024 bytes");
  if (password.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "password with NUL");
  return {};
}

}  // namespace

Result<Pkcs12Profile> parsePkcs12Profile(std::string_view name) {
  if (name == "modern") return Pkcs12Profile::modern;
  if (name == "compat") return Pkcs12Profile::compat;
  return fail(Errc::invalid_argument,
              "unknown PKCS#12 profile '" + std::string(name.substr(0, 32)) + "' (modern, compat)");
}

// RFC 7292 4 and 5. PKCS12_create_ex with explicit algorithms, then the MAC
// set separately so its digest is ours and not the library default.
Result<std::string> exportPkcs12(EVP_PKEY* key, X509* cert, const std::vector<X509*>& chain,
                                 std::string_view password, std::string_view friendly_name,
                                 Pkcs12Profile profile) {
  if (key == nullptr || cert == nullptr) return fail(Errc::invalid_argument, "PKCS#12 needs a key and a certificate");
  if (password.empty()) return fail(Errc::invalid_argument, "PKCS#12 export needs a password");
  if (auto st = checkPassword(password); !st) return fail(st.error());
  if (friendly_name.find('\0') != std::string_view::npos || friendly_name.size() > 256) {
    return fail(Errc::invalid_argument, "friendly name must be at most 256 bytes without NUL");
  }
  if (chain.size() + 1 > kMaxPkcs12Certs) return fail(Errc::invalid_argument, "more than 32 certificates");
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "the key does not match the certificate");
  }
  CertStackPtr ca(sk_X509_new_null());
  if (!ca) return fail(Errc::internal, "certificate stack");
  for (X509* c : chain) {
    if (c == nullptr) return fail(Errc::invalid_argument, "null chain certificate");
    CertPtr ref = duplicate(c);
    if (!ref || sk_X509_push(ca.get(), ref.get()) <= 0) return fail(Errc::internal, "certificate stack");
    ref.release();  // now owned by the stack
  }
  // compat: pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 Appendix C) for both
  // bags and an HMAC-SHA1 MAC; 3DES and the PKCS#12 KDF live in OpenSSL's
  // default provider, so no legacy provider is loaded.
  // modern: PBES2 (RFC 8018 6.2) with AES-256-CBC, PBKDF2 with
  // hmacWithSHA256 (OpenSSL 3's PBES2 default PRF), and an HMAC-SHA256 MAC.
  int nid = profile == Pkcs12Profile::compat ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
  const EVP_MD* mac_md = profile == Pkcs12Profile::compat ? EVP_sha1() : EVP_sha256();
  Password pass(password);
  std::string name(friendly_name);
  Pkcs12Ptr p12(PKCS12_create_ex(pass.c_str(), name.empty() ? nullptr : name.c_str(), key, cert,
                                 ca.get(), nid, nid, kIterations, /*mac_iter=*/-1, /*keytype=*/0,
                                 nullptr, nullptr));
  if (!p12) return fail(Errc::internal, "PKCS12_create: " + opensslErrors());
  if (PKCS12_set_mac(p12.get(), pass.c_str(), pass.size(), nullptr, 0, kIterations, mac_md) != 1) {
    return fail(Errc::internal, "PKCS#12 MAC: " + opensslErrors());
  }
  std::string der = detail::i2dString(i2d_PKCS12, p12.get());
  if (der.empty()) return fail(Errc::internal, "PKCS#12 encoding: " + opensslErrors());
  return der;
}

Result<Pkcs12Contents> importPkcs12(std::string_view der, std::string_view password) {
  if (der.size() > kMaxPkcs12Der) return fail(Errc::limit_exceeded, "PKCS#12 file over 1 MiB");
  if (auto st = checkPassword(password); !st) return fail(st.error());
  Pkcs12Ptr p12(detail::d2iExact<PKCS12>(d2i_PKCS12, PKCS12_free, der));
  if (!p12) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a DER PKCS#12 file (or bytes after it)");
  }
  // RFC 7292 4: integrity in password mode is the MAC; a file without one
  // could be altered unnoticed, so it is refused.
  if (PKCS12_mac_present(p12.get()) != 1) return fail(Errc::parse_error, "PKCS#12 file without a MAC");
  const ASN1_INTEGER* iter = nullptr;
  PKCS12_get0_mac(nullptr, nullptr, nullptr, &iter, p12.get());
  long iterations = iter == nullptr ? 1 : ASN1_INTEGER_get(iter);
  if (iterations < 1 || iterations > kMaxMacIterations) {
    return fail(Errc::limit_exceeded, "PKCS#12 MAC iteration count out of range");
  }
  Password pass(password);
  if (PKCS12_verify_mac(p12.get(), pass.c_str(), pass.size()) != 1) {
    unsigned long err = ERR_peek_last_error();
    ERR_clear_error();
    if (ERR_GET_REASON(err) == PKCS12_R_MAC_VERIFY_FAILURE || err == 0) {
      return fail(Errc::unauthenticated, "PKCS#12 password is wrong (MAC does not verify)");
    }
    return fail(Errc::parse_error, "PKCS#12 MAC cannot be checked (unsupported algorithm)");
  }
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_ca = nullptr;
  if (PKCS12_parse(p12.get(), pass.c_str(), &raw_key, &raw_cert, &raw_ca) != 1) {
    ERR_clear_error();
    return fail(Errc::parse_error, "PKCS#12 contents cannot be decrypted (unsupported or legacy algorithm?)");
  }
  Pkcs12Contents out;
  out.key.reset(raw_key);
  out.cert.reset(raw_cert);
  CertStackPtr ca(raw_ca);
  std::size_t others = ca ? static_cast<std::size_t>(sk_X509_num(ca.get())) : 0;
  if (others + (out.cert ? 1 : 0) > kMaxPkcs12Certs) {
    return fail(Errc::limit_exceeded, "more than 32 certificates in PKCS#12 file");
  }
  if (!out.key) return fail(Errc::parse_error, "PKCS#12 file holds no private key");
  // PKCS12_parse picks the certificate that matches the key; none means the
  // key's certificate is missing.
  if (!out.cert) return fail(Errc::parse_error, "PKCS#12 file holds no certificate for its key");
  if (X509_check_private_key(out.cert.get(), out.key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::parse_error, "PKCS#12 key does not match its certificate");
  }
  for (std::size_t i = 0; i < others; ++i) {
    out.chain.push_back(duplicate(sk_X509_value(ca.get(), static_cast<int>(i))));
  }
  return out;
}

}  // namespace rampart::crypto::x509
