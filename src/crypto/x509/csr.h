// PKCS#10 certificate requests (RFC 2986) as EST carries them (RFC 7030 4.2.1:
// the body is the base64 of the DER request, "application/pkcs10").
//
// parseCsr checks form, bounds and the self-signature, which is the proof of
// possession of the private key (RFC 7030 3.4, RFC 2986 4.2); nothing in a
// request is trusted beyond that: the CA builds subject and extensions from
// its template and the directory, and reads the requested ones only to filter
// them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/x509/x509.h"

namespace rampart::crypto::x509 {

inline constexpr std::size_t kMaxCsrDer = 16 * 1024;

struct RequestedExtension {
  std::string oid;      // dotted, e.g. "2.5.29.17"
  bool critical = false;
  std::string der;      // the extension value (OCTET STRING contents)
};

struct ParsedCsr {
  CsrPtr request;
  KeyPtr public_key;                        // the request's key (public half only)
  KeyType key_type = KeyType::ec_p256;
  std::string subject;                      // RFC 2253 text, informational
  std::string der;                          // the request as received (DER)
  std::string sha256;                       // lowercase hex of SHA-256(der): identifies a retry
  std::vector<std::string> san_emails;      // from a requested subjectAltName, if any
  std::vector<std::string> san_dns;
  std::vector<RequestedExtension> extensions;  // every requested extension, in order
  std::string challenge_password;           // RFC 2985 5.4.1, e.g. tls-unique (RFC 7030 3.5)
};

// A DER request. Errors: limit_exceeded (over kMaxCsrDer), parse_error (not a
// request, trailing bytes, an unsupported key type or signature algorithm:
// SHA-1 and MD5 signatures are refused), unauthenticated (the signature does
// not verify).
Result<ParsedCsr> parseCsr(std::string_view der);

// An EST body: base64 (RFC 4648 section 4) of a DER request; line breaks and
// spaces are skipped; a PEM "-----BEGIN CERTIFICATE REQUEST-----" wrapper is
// accepted too, since some clients send it. Then parseCsr.
Result<ParsedCsr> parseEstCsr(std::string_view body);

// A device-side request: subject CN = common_name (may be empty), optional
// subjectAltName rfc822Name entries, signed with `key` (SHA-256). DER.
Result<std::string> makeCsr(EVP_PKEY* key, std::string_view common_name,
                            const std::vector<std::string>& san_emails = {});

// core/base64.h with EST's rules: encode with 64-character lines (RFC 7030
// 4.1.3 answers are base64 "Content-Transfer-Encoding: base64"), decode
// ignoring CR, LF, space and tab, padding optional; parse_error on anything
// else, limit_exceeded past max_out.
std::string base64Lines(std::string_view bytes);
Result<std::string> base64DecodeLenient(std::string_view text, std::size_t max_out);

}  // namespace rampart::crypto::x509
