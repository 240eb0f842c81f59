#include "directory/credential_cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>

namespace rampart::directory {
namespace {

std::string foldName(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

CredentialCache::CredentialCache(Directory& directory, Clock& clock, Random& random,
                                 CredentialCacheOptions options)
    : directory_(directory), clock_(clock), options_(options) {
  random.fill(key_);
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac != nullptr) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>("SHA256"), 0),
                           OSSL_PARAM_construct_end()};
    if (ctx != nullptr && EVP_MAC_init(ctx, key_.data(), key_.size(), params) == 1) {
      mac_.reset(ctx);
    } else {
      EVP_MAC_CTX_free(ctx);
    }
    EVP_MAC_free(mac);
  }
}

void CredentialCache::MacCtxFree::operator()(evp_mac_ctx_st* ctx) const { EVP_MAC_CTX_free(ctx); }

CredentialCache::Digest CredentialCache::digestOf(std::string_view password) const {
  Digest out{};
  if (mac_) {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_dup(mac_.get()));
    std::size_t len = 0;
    if (ctx && EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(password.data()), password.size()) == 1 &&
        EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size()) {
      return out;
    }
  }
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), out.data(), &len);
  return out;
}

bool CredentialCache::cachedOk(std::string_view name, std::string_view password) {
  const std::string key = foldName(name);
  const Digest digest = digestOf(password);
  const auto now = clock_.steadyNow();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= now) return false;
  if (CRYPTO_memcmp(it->second.digest.data(), digest.data(), digest.size()) != 0) return false;
  ++hits_;
  return true;
}

Result<AuthOutcome> CredentialCache::authenticate(std::string_view name, std::string_view password) {
  const std::string key = foldName(name);
  const Digest digest = digestOf(password);
  const auto now = clock_.steadyNow();
  std::string flight_key = key;
  flight_key.push_back('\0');
  flight_key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.expires <= now) {
        entries_.erase(it);
      } else if (CRYPTO_memcmp(it->second.digest.data(), digest.data(), digest.size()) == 0) {
        ++hits_;
        return AuthOutcome::ok;
      }
    }
    if (auto running = in_flight_.find(flight_key); running != in_flight_.end()) {
      // The same check is running on another thread: take its answer.
      std::shared_ptr<Flight> shared = running->second;
      shared->cv.wait(lock, [&] { return shared->done; });
      return shared->outcome;
    }
    flight = std::make_shared<Flight>();
    in_flight_.emplace(flight_key, flight);
  }
  auto outcome = directory_.authenticate(name, password);
  std::lock_guard lock(mutex_);
  flight->outcome = outcome;
  flight->done = true;
  in_flight_.erase(flight_key);
  flight->cv.notify_all();
  if (!outcome || *outcome != AuthOutcome::ok) return outcome;
  if (entries_.size() >= options_.max_entries) {
    // Full: drop expired entries; if none, drop an arbitrary one. Bounded either way.
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= options_.max_entries) entries_.erase(entries_.begin());
  }
  entries_[key] = Entry{digest, now + options_.ttl};
  return outcome;
}

void CredentialCache::forget(std::string_view name) {
  std::lock_guard lock(mutex_);
  entries_.erase(foldName(name));
}

std::size_t CredentialCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::uint64_t CredentialCache::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

}  // namespace rampart::directory
