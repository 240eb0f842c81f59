#include "crypto/x509/x509.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "crypto/x509/detail/openssl_util.h"

namespace rampart::crypto::x509 {

using detail::BioPtr;

namespace {

// Certificates and keys are a few KiB; a CRL may list many serials.
constexpr std::size_t kMaxCertText = 1024 * 1024;
constexpr std::size_t kMaxCrlText = 16 * 1024 * 1024;
constexpr std::size_t kMaxBundleCerts = 256;

bool looksPem(std::string_view text) { return text.find("-----BEGIN ") != std::string_view::npos; }

// Never prompt on a terminal for an encrypted PEM key: fail instead.
int noPassword(char*, int, int, void*) { return -1; }

BioPtr memBio() { return BioPtr(BIO_new(BIO_s_mem())); }

std::string nameText(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio = memBio();
  if (!bio) return {};
  // RFC 2253 order and escaping, but UTF-8 kept readable; control characters
  // stay escaped so a name cannot forge a log line.
  unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
  return detail::bioText(bio.get());
}

std::int64_t unixTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::string> sanOfType(X509* cert, int type) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_EMAIL ? gn->d.rfc822Name : gn->d.dNSName;
    std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (v.find('\0') != std::string::npos) continue;  // never a valid name
    out.push_back(std::move(v));
  }
  GENERAL_NAMES_free(names);
  return out;
}

template <class T, class I2d>
std::string derOf(I2d i2d, T* obj) {
  return obj == nullptr ? std::string() : detail::i2dString(i2d, obj);
}

}  // namespace

void X509Free::operator()(X509* p) const noexcept { X509_free(p); }
void KeyFree::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
void CsrFree::operator()(X509_REQ* p) const noexcept { X509_REQ_free(p); }
void CrlFree::operator()(X509_CRL* p) const noexcept { X509_CRL_free(p); }

std::string_view keyTypeName(KeyType type) {
  switch (type) {
    case KeyType::ec_p256: return "ec-p256";
    case KeyType::ec_p384: return "ec-p384";
    case KeyType::rsa2048: return "rsa-2048";
    case KeyType::rsa3072: return "rsa-3072";
    case KeyType::rsa4096: return "rsa-4096";
  }
  return "unknown";
}

Result<KeyType> parseKeyType(std::string_view name) {
  for (KeyType t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048, KeyType::rsa3072,
                    KeyType::rsa4096}) {
    if (keyTypeName(t) == name) return t;
  }
  return fail(Errc::invalid_argument,
              "unknown key type '" + std::string(name.substr(0, 32)) +
                  "' (ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096)");
}

Result<KeyType> keyTypeOf(EVP_PKEY* key) {
  if (key == nullptr) return fail(Errc::invalid_argument, "no key");
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
        ERR_clear_error();
        return fail(Errc::invalid_argument, "EC key without a named curve");
      }
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256" || g == "secp256r1") return KeyType::ec_p256;
      if (g == "secp384r1" || g == "P-384") return KeyType::ec_p384;
      return fail(Errc::invalid_argument, "unsupported EC curve " + std::string(g));
    }
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(key);
      if (bits == 2048) return KeyType::rsa2048;
      if (bits == 3072) return KeyType::rsa3072;
      if (bits == 4096) return KeyType::rsa4096;
      return fail(Errc::invalid_argument, "unsupported RSA key size " + std::to_string(bits) +
                                              " (2048, 3072 or 4096 bits)");
    }
    default:
      return fail(Errc::invalid_argument,
                  std::string("unsupported key type ") +
                      (EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?"));
  }
}

Result<KeyPtr> generateKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ec_p256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ec_p384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::rsa2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}); break;
    case KeyType::rsa3072: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{3072}); break;
    case KeyType::rsa4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{4096}); break;
  }
  if (key == nullptr) {
    return fail(Errc::internal, "key generation " + std::string(keyTypeName(type)) + ": " + opensslErrors());
  }
  return KeyPtr(key);
}

Result<KeyPtr> parsePrivateKeyPem(std::string_view pem) {
  if (pem.size() > kMaxCertText) return fail(Errc::limit_exceeded, "private key PEM over 1 MiB");
  BioPtr bio = detail::readBio(pem);
  if (!bio) return fail(Errc::internal, "BIO");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr);
  if (key == nullptr) {
    // The OpenSSL reason is safe to show (no key bytes), but keep it short.
    ERR_clear_error();
    return fail(Errc::parse_error, "not an unencrypted PEM private key");
  }
  return KeyPtr(key);
}

Result<std::string> privateKeyPem(EVP_PKEY* key) {
  if (key == nullptr) return fail(Errc::invalid_argument, "no key");
  // The secure-memory BIO clears the key text when it is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return fail(Errc::internal, "BIO");
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail(Errc::internal, "PKCS#8 encoding: " + opensslErrors());
  }
  return detail::bioText(bio.get());
}

Result<std::string> publicKeyDer(EVP_PKEY* key) {
  if (key == nullptr) return fail(Errc::invalid_argument, "no key");
  std::string der = detail::i2dString(i2d_PUBKEY, key);
  if (der.empty()) return fail(Errc::internal, "SubjectPublicKeyInfo encoding: " + opensslErrors());
  return der;
}

Result<CertPtr> parseCertificate(std::string_view pem_or_der) {
  if (pem_or_der.size() > kMaxCertText) return fail(Errc::limit_exceeded, "certificate over 1 MiB");
  X509* cert = nullptr;
  if (looksPem(pem_or_der)) {
    BioPtr bio = detail::readBio(pem_or_der);
    if (!bio) return fail(Errc::internal, "BIO");
    cert = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr);
  } else {
    cert = detail::d2iExact<X509>(d2i_X509, X509_free, pem_or_der);
  }
  if (cert == nullptr) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a PEM or DER certificate");
  }
  return CertPtr(cert);
}

Result<std::vector<CertPtr>> parseCertificates(std::string_view pem) {
  if (pem.size() > kMaxCrlText) return fail(Errc::limit_exceeded, "certificate bundle over 16 MiB");
  BioPtr bio = detail::readBio(pem);
  if (!bio) return fail(Errc::internal, "BIO");
  std::vector<CertPtr> out;
  ERR_clear_error();
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr);
    if (cert == nullptr) break;
    if (out.size() == kMaxBundleCerts) {
      X509_free(cert);
      return fail(Errc::limit_exceeded, "more than 256 certificates in a bundle");
    }
    out.emplace_back(cert);
  }
  // The loop ends with "no start line" at the end of the text; any other
  // reason is a damaged certificate.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!clean_end) return fail(Errc::parse_error, "damaged certificate in PEM bundle");
  if (out.empty()) return fail(Errc::parse_error, "no certificate in PEM text");
  return out;
}

std::string certificatePem(X509* cert) {
  if (cert == nullptr) return {};
  BioPtr bio = memBio();
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return detail::bioText(bio.get());
}

std::string certificateDer(X509* cert) { return derOf(i2d_X509, cert); }

CertPtr duplicate(X509* cert) {
  if (cert == nullptr || X509_up_ref(cert) != 1) return nullptr;
  return CertPtr(cert);
}

Result<CrlPtr> parseCrl(std::string_view pem_or_der) {
  if (pem_or_der.size() > kMaxCrlText) return fail(Errc::limit_exceeded, "CRL over 16 MiB");
  X509_CRL* crl = nullptr;
  if (looksPem(pem_or_der)) {
    BioPtr bio = detail::readBio(pem_or_der);
    if (!bio) return fail(Errc::internal, "BIO");
    crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, noPassword, nullptr);
  } else {
    crl = detail::d2iExact<X509_CRL>(d2i_X509_CRL, X509_CRL_free, pem_or_der);
  }
  if (crl == nullptr) {
    ERR_clear_error();
    return fail(Errc::parse_error, "not a PEM or DER CRL");
  }
  return CrlPtr(crl);
}

std::string crlPem(X509_CRL* crl) {
  if (crl == nullptr) return {};
  BioPtr bio = memBio();
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) return {};
  return detail::bioText(bio.get());
}

std::string crlDer(X509_CRL* crl) { return derOf(i2d_X509_CRL, crl); }

std::string sha256Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i != 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

std::string serialHex(X509* cert) {
  if (cert == nullptr) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);  // upper case, "0" for zero
  BN_free(bn);
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  // BN_bn2hex pads to whole bytes ("0E..."); the header promises no leading
  // zeros, the spelling the CA store and `rampart admin cert` use.
  const bool negative = !out.empty() && out.front() == '-';
  std::size_t first = out.find_first_not_of('0', negative ? 1 : 0);
  if (first == std::string::npos) return "0";
  return (negative ? "-" : "") + out.substr(first);
}

std::string subjectText(X509* cert) { return cert ? nameText(X509_get_subject_name(cert)) : ""; }
std::string issuerText(X509* cert) { return cert ? nameText(X509_get_issuer_name(cert)) : ""; }
std::int64_t notBefore(X509* cert) { return cert ? unixTime(X509_get0_notBefore(cert)) : 0; }
std::int64_t notAfter(X509* cert) { return cert ? unixTime(X509_get0_notAfter(cert)) : 0; }
std::vector<std::string> sanEmails(X509* cert) { return cert ? sanOfType(cert, GEN_EMAIL) : std::vector<std::string>{}; }
std::vector<std::string> sanDnsNames(X509* cert) { return cert ? sanOfType(cert, GEN_DNS) : std::vector<std::string>{}; }

Result<std::string> readFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return fail(e == ENOENT ? Errc::not_found : Errc::io_error, "open " + path + ": " + std::strerror(e));
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail(Errc::io_error, "read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return fail(Errc::limit_exceeded, path + " is over " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Status writeFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  // A unique temporary name in the same directory (rename must not cross
  // file systems); mkstemp creates it 0600 with O_EXCL, so no other user
  // can open it, and a symlink planted at the name is not followed.
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return fail(Errc::io_error, "create temporary file for " + path + ": " + std::strerror(errno));
  auto abandon = [&](const std::string& what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(Errc::io_error, what + " " + path + ": " + std::strerror(e));
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return abandon("chmod");
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Errc::io_error, "close " + path + ": " + std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Errc::io_error, "rename to " + path + ": " + std::strerror(e));
  }
  // The rename is durable only once the directory entry is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(Errc::io_error, "open directory " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return fail(Errc::io_error, "fsync directory " + dir + ": " + std::strerror(e));
  return {};
}

}  // namespace rampart::crypto::x509
