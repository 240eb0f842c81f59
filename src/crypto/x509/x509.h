// OpenSSL 3 X.509 building blocks shared by the CA, the gateway and the device
// (DESIGN.md 3): owning pointers, keys, certificates in PEM and DER, and the
// few facts about a certificate that logs and stores need. No I/O besides the
// explicit file helpers; every OpenSSL return is checked and turned into an
// Error whose detail never holds key material.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::crypto::x509 {

struct X509Free { void operator()(X509* p) const noexcept; };
struct KeyFree { void operator()(EVP_PKEY* p) const noexcept; };
struct CsrFree { void operator()(X509_REQ* p) const noexcept; };
struct CrlFree { void operator()(X509_CRL* p) const noexcept; };
using CertPtr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CsrPtr = std::unique_ptr<X509_REQ, CsrFree>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;

// Key types a template may allow, named as in config files.
enum class KeyType { ec_p256, ec_p384, rsa2048, rsa3072, rsa4096 };
std::string_view keyTypeName(KeyType type);          // "ec-p256", "ec-p384", "rsa-2048", ...
Result<KeyType> parseKeyType(std::string_view name);  // invalid_argument for others
// The type of an existing key; invalid_argument for anything not in KeyType
// (RSA 1024, Ed25519, other curves).
Result<KeyType> keyTypeOf(EVP_PKEY* key);

// A fresh key pair from the OpenSSL default RNG.
Result<KeyPtr> generateKey(KeyType type);

// PEM in both directions. Private keys are written unencrypted PKCS#8; the
// caller writes them with mode 0600 (writeFileAtomic).
Result<KeyPtr> parsePrivateKeyPem(std::string_view pem);
Result<std::string> privateKeyPem(EVP_PKEY* key);
Result<std::string> publicKeyDer(EVP_PKEY* key);  // SubjectPublicKeyInfo

// One certificate from PEM or DER (detected); parse_error otherwise.
Result<CertPtr> parseCertificate(std::string_view pem_or_der);
// Every certificate of a PEM bundle, in order; parse_error if none.
Result<std::vector<CertPtr>> parseCertificates(std::string_view pem);
std::string certificatePem(X509* cert);
std::string certificateDer(X509* cert);
CertPtr duplicate(X509* cert);  // up-ref'd copy

Result<CrlPtr> parseCrl(std::string_view pem_or_der);
std::string crlPem(X509_CRL* crl);
std::string crlDer(X509_CRL* crl);

// Facts for logs, stores and prompts.
std::string sha256Fingerprint(X509* cert);  // "AB:CD:..." upper-case hex, as openssl x509 -fingerprint
std::string serialHex(X509* cert);          // upper-case hex without leading zeros ("0" for zero)
std::string subjectText(X509* cert);        // RFC 2253 one-line, e.g. "CN=alice,O=Example"
std::string issuerText(X509* cert);
std::int64_t notBefore(X509* cert);         // Unix seconds
std::int64_t notAfter(X509* cert);
std::vector<std::string> sanEmails(X509* cert);
std::vector<std::string> sanDnsNames(X509* cert);

// Drains this thread's OpenSSL error queue into one line, for error details
// (OpenSSL error strings name functions and reasons, never key material).
std::string opensslErrors();

// Reads a whole file (bounded by max_bytes: limit_exceeded beyond it).
Result<std::string> readFile(const std::string& path, std::size_t max_bytes = 16 * 1024 * 1024);
// Writes `data` to path.tmp with `mode`, fsyncs it, renames it over `path` and
// fsyncs the directory, so a reader sees the old or the new file, never half.
Status writeFileAtomic(const std::string& path, std::string_view data, unsigned mode);

}  // namespace rampart::crypto::x509
