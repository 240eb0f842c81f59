// The signed identity assertion that carries the gateway's authenticated
// identity to a backend (DESIGN.md 2, "Bridging and delegation"; issue 4).
//
// The gateway signs, the mail server verifies. Both hold the same 32-byte key
// (a 0600 file); the MAC is HMAC-SHA256 (RFC 2104, FIPS 198-1) because one
// ECDSA signature would cost more than the whole per-request proxy budget.
//
// Wire form, one HTTP header value:
//
//   v1.<base64url(payload)>.<base64url(HMAC-SHA256(key, "v1." + base64url(payload)))>
//
// base64url is RFC 4648 section 5 without padding, decoded strictly (no '=',
// no whitespace, unused trailing bits must be zero). The payload is nine
// length-prefixed fields in this fixed order, each written `<len>:<bytes>;`
// with <len> in decimal without leading zeros (netstring-like, so any byte may
// appear in a value and the encoding is unambiguous):
//
//   kid, user, device_id, method, strength, issued_at_ms, expires_at_ms,
//   nonce (32 lowercase hex = 128 random bits), binding (64 lowercase hex)
//
// binding = SHA-256 over the length-prefixed (same `<len>:<bytes>;` form)
// request method, authority, target and body_sha256 (lowercase hex of the
// SHA-256 of the body), so an assertion is good for exactly one request.
//
// A verifier checks, in order: form and bounds, key id, MAC (CRYPTO_memcmp),
// lifetime, issue time, binding, replay. The MAC is checked before any claim
// in the payload is believed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace rampart::crypto {

// Who the gateway authenticated, and how.
struct Identity {
  std::string user;
  std::string device_id;  // EAS DeviceId; may be empty
  std::string method;     // "basic", "certificate", "basic+otp", "basic+radius", ...
  int strength = 1;       // 1 single factor, 2 two-factor

  bool operator==(const Identity&) const = default;
};

// The request an assertion is bound to, as the backend receives it.
struct RequestBinding {
  std::string method;       // "POST"
  std::string authority;    // Host / :authority as forwarded
  std::string target;       // origin-form request target, query included
  std::string body_sha256;  // sha256Hex(body); sha256Hex("") for no body

  // Lowercase hex SHA-256 of `data`.
  static std::string sha256Hex(std::string_view data);
};

struct AssertionKey {
  std::string id;  // derived from the secret (hex of its SHA-256, truncated); not secret
  std::array<unsigned char, 32> secret{};
};

// Bounds on what a verifier accepts; a signer given larger fields produces an
// assertion that every verifier refuses (fail closed).
inline constexpr std::size_t kMaxAssertionHeader = 4096;
inline constexpr std::size_t kMaxAssertionField = 512;
// Longest accepted expires_at - issued_at; bounds how long a nonce is held.
inline constexpr std::chrono::milliseconds kMaxAssertionLifetime = std::chrono::minutes(10);
// Accepted clock difference between gateway and backend for issued_at.
inline constexpr std::chrono::milliseconds kAssertionClockSkew = std::chrono::seconds(5);

// The key id both sides derive from a secret: the first 16 hex digits of its SHA-256.
std::string assertionKeyId(const std::array<unsigned char, 32>& secret);

// Reads a key file: 32 bytes as 64 hex digits or as base64 (standard or url
// alphabet, padding optional), surrounding whitespace ignored. Refuses a file
// that is group- or world-accessible (permission_denied), not a regular file,
// or not exactly 32 bytes of key (config_error). Errors never include key bytes.
Result<AssertionKey> loadAssertionKey(const std::string& path);

// Creates `path` with mode 0600 holding a fresh random key (RAND_bytes) as hex.
// Refuses to overwrite an existing file (already_exists).
Status writeNewAssertionKey(const std::string& path);

// Signs assertions with one key. sign() is const and thread-safe.
class AssertionSigner {
 public:
  AssertionSigner(AssertionKey key, std::chrono::milliseconds ttl = std::chrono::seconds(60));
  ~AssertionSigner();
  AssertionSigner(AssertionSigner&&) noexcept;
  AssertionSigner& operator=(AssertionSigner&&) noexcept;

  // The header value for `identity` making `request`, issued at now_ms (Unix
  // milliseconds), valid until now_ms + ttl. Draws a 128-bit nonce from
  // RAND_bytes; returns an empty string only if OpenSSL fails (the caller must
  // then refuse to forward).
  std::string sign(const Identity& identity, const RequestBinding& request,
                   std::int64_t now_ms) const;

  const std::string& keyId() const { return key_id_; }

 private:
  struct Mac;
  std::string key_id_;
  std::chrono::milliseconds ttl_;
  std::unique_ptr<Mac> mac_;
};

// Verifies assertions against up to two keys (current and previous, for
// rotation) and remembers nonces until their assertion expires, so each
// assertion is accepted once. verify() is thread-safe.
class AssertionVerifier {
 public:
  explicit AssertionVerifier(std::vector<AssertionKey> keys,
                             std::size_t max_replay_entries = 1'000'000);
  ~AssertionVerifier();

  // The identity in `header_value` if it is authentic, current, bound to
  // `request` and not seen before. Errors:
  //   parse_error      malformed (form, base64url, field bounds, numbers)
  //   unauthenticated  "unknown key id", "bad MAC", "expired", "issued in the
  //                    future", "lifetime too long", "request binding mismatch",
  //                    "replayed nonce"
  //   unavailable      the replay cache is full (fail closed: nothing is
  //                    forgotten early; retry after assertions expire)
  // Details name the failed check only; they never echo the header.
  Result<Identity> verify(std::string_view header_value, const RequestBinding& request,
                          std::int64_t now_ms);

  std::size_t replayEntries() const;

 private:
  struct Mac;
  std::vector<std::pair<std::string, std::unique_ptr<Mac>>> keys_;
  std::size_t max_replay_entries_;
  mutable std::mutex mutex_;
  // nonce -> expires_at_ms, and the same ordered by expiry for pruning.
  std::unordered_map<std::string, std::int64_t> seen_;
  std::multimap<std::int64_t, std::string> by_expiry_;
};

// A verifier for the one key in `path` (read as loadAssertionKey reads it);
// errors are config_error, prefixed with `setting` ("eas.delegation_key_file").
Result<std::unique_ptr<AssertionVerifier>> loadAssertionVerifier(const std::string& path,
                                                                 std::string_view setting);

}  // namespace rampart::crypto
