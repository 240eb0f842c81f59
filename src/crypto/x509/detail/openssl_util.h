// Private helpers of crypto/x509: memory BIOs, and the
// "whole input, no trailing bytes" DER decoding every parser here relies on.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>

#include <climits>
#include <memory>
#include <string>
#include <string_view>

namespace rampart::crypto::x509::detail {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free_all(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// A read-only BIO over `data` (which must outlive it); null if too large.
BioPtr readBio(std::string_view data);
// The bytes written so far into a memory BIO.
std::string bioText(BIO* bio);

// Decodes exactly `der` with an OpenSSL d2i function: null when the bytes are
// not one complete object or when anything follows it (then the object is
// released with `free_fn`).
template <class T, class D2i>
T* d2iExact(D2i d2i, void (*free_fn)(T*), std::string_view der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(LONG_MAX)) return nullptr;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  T* obj = d2i(nullptr, &p, static_cast<long>(der.size()));
  if (obj == nullptr) return nullptr;
  if (p != end) {
    free_fn(obj);
    return nullptr;
  }
  return obj;
}

// Encodes with an OpenSSL i2d function; empty on failure.
template <class T, class I2d>
std::string i2dString(I2d i2d, T* obj) {
  int n = i2d(obj, nullptr);
  if (n <= 0) return {};
  std::string out(static_cast<std::size_t>(n), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d(obj, &p) != n) return {};
  return out;
}

// Lower-case hex of bytes.
std::string hexLower(const unsigned char* data, std::size_t n);

}  // namespace rampart::crypto::x509::detail
