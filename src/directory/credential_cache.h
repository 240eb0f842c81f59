// Remembers recent successful password checks. EAS clients send Basic
// credentials with every request (MS-ASHTTP 2.2.1.1.2.1), and an argon2id
// check costs tens of milliseconds of CPU by design; without a cache a phone
// syncing and pinging would spend more CPU on hashing than on mail.
//
// An entry holds HMAC-SHA256(per-process random key, password) for a user name,
// never the password; a hit is compared in constant time. Entries live `ttl`
// (a changed password or a disabled account takes effect within it; forget()
// makes it immediate) and the table is bounded. Failures are never cached and
// never evict: a wrong guess cannot log a real user out of the cache.
// Concurrent misses for the same user and password share one directory check
// (the first caller hashes, the others wait for its answer), so a user's many
// devices arriving together after an expiry cost one argon2id, not one each.
// Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "directory/directory.h"

struct evp_mac_ctx_st;

namespace rampart::directory {

struct CredentialCacheOptions {
  std::chrono::seconds ttl{300};
  std::size_t max_entries = 100'000;
};

class CredentialCache {
 public:
  CredentialCache(Directory& directory, Clock& clock, Random& random,
                  CredentialCacheOptions options = {});

  // Like Directory::authenticate, from the cache when a fresh entry matches.
  Result<AuthOutcome> authenticate(std::string_view name, std::string_view password);
  // True when a fresh entry matches: the answer authenticate() would give
  // without asking the directory. Never blocks, so an I/O thread may call it
  // before deciding to hand authenticate() to a worker pool.
  bool cachedOk(std::string_view name, std::string_view password);
  // Drops the user's entry (after a password change, disable or remote wipe).
  void forget(std::string_view name);

  std::size_t size() const;
  std::uint64_t hits() const;

 private:
  using Digest = std::array<std::uint8_t, 32>;
  struct Entry {
    Digest digest;
    std::chrono::steady_clock::time_point expires;
  };
  // One directory check in progress, shared by the callers that wait for it.
  struct Flight {
    bool done = false;
    Result<AuthOutcome> outcome = AuthOutcome::bad_credentials;
    std::condition_variable cv;
  };
  Digest digestOf(std::string_view password) const;

  Directory& directory_;
  Clock& clock_;
  CredentialCacheOptions options_;
  std::array<std::uint8_t, 32> key_{};
  // HMAC-SHA256 keyed once (fetching and keying per call costs microseconds
  // in OpenSSL 3, and a cache hit happens on every EAS request); each digest
  // works on a copy. Null if OpenSSL could not make it: then HMAC() per call.
  struct MacCtxFree {
    void operator()(evp_mac_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_mac_ctx_st, MacCtxFree> mac_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  // Keyed by folded name + digest: only the same password shares a flight.
  std::unordered_map<std::string, std::shared_ptr<Flight>> in_flight_;
  std::uint64_t hits_ = 0;
};

}  // namespace rampart::directory
