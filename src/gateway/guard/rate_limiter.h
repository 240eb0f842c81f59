// Keyed request-rate limits: per user ("alice") and per device
// ("alice/DEVICEID"), DESIGN.md 2 "per-user and per-device request rates".
// One token bucket per key (gcra.h): `burst` requests at once, then `limit`
// per `period`. No I/O; time comes in as `now`. Thread-safe (one mutex).
//
// Bounded memory: at most `max_keys` keys. A key whose bucket is full again
// holds no information and is dropped by sweeps (expire(), or when the table
// is full, at most once per `sweep_interval`). When the table is full of keys
// with recent traffic, allow() refuses a new key: the caller answers 429/503.
// Keys reach this table only after pre-authentication, so filling it takes
// `max_keys` authenticated identities; refusing newcomers then is safer than
// evicting (which would reset a busy key's bucket).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/guard/gcra.h"

namespace rampart::gateway::guard {

struct RateLimitConfig {
  std::uint32_t limit = 120;  // sustained: `limit` requests per `period`
  std::chrono::steady_clock::duration period = std::chrono::minutes(1);
  std::uint32_t burst = 60;  // requests allowed at once from a full bucket (>= 1)
  std::size_t max_keys = 1'000'000;
  std::size_t max_key_size = 512;  // longer keys are refused
  std::chrono::steady_clock::duration sweep_interval = std::chrono::seconds(1);
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit RateLimiter(RateLimitConfig config);

  // Takes one token for `key`; false when the key is over its rate, the key
  // is longer than max_key_size, or the table is full (see above).
  bool allow(std::string_view key, TimePoint now);

  // Drops keys whose bucket is full again; returns how many.
  std::size_t expire(TimePoint now);
  std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::size_t sweepLocked(TimePoint now);

  RateLimitConfig config_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::duration tolerance_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Gcra::State, Hash, std::equal_to<>> keys_;
  std::optional<TimePoint> last_sweep_;
};

// "user/deviceid", the per-device key.
std::string deviceKey(std::string_view user, std::string_view device_id);

}  // namespace rampart::gateway::guard
