#include "gateway/guard/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace rampart::gateway::guard {

RateLimiter::RateLimiter(RateLimitConfig config) : config_(std::move(config)) {
  if (config_.period <= std::chrono::steady_clock::duration::zero()) {
    config_.period = std::chrono::minutes(1);
  }
  config_.burst = std::max<std::uint32_t>(config_.burst, 1);
  // GCRA (gcra.h) with a burst that differs from the sustained limit: one
  // token every period/limit, up to `burst` banked.
  interval_ = config_.limit == 0 ? std::chrono::steady_clock::duration::zero()
                                 : config_.period / config_.limit;
  tolerance_ = interval_ * (config_.burst - 1);
}

bool RateLimiter::allow(std::string_view key, TimePoint now) {
  if (config_.limit == 0 || key.size() > config_.max_key_size) return false;
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= config_.max_keys) {
      if (!last_sweep_ || now - *last_sweep_ >= config_.sweep_interval) sweepLocked(now);
      if (keys_.size() >= config_.max_keys) return false;
    }
    it = keys_.emplace(std::string(key), Gcra::State{}).first;
  }
  Gcra::State& s = it->second;
  TimePoint tat = s.tat < now ? now : s.tat;
  if (tat - now > tolerance_) return false;
  s.tat = tat + interval_;
  return true;
}

std::size_t RateLimiter::sweepLocked(TimePoint now) {
  last_sweep_ = now;
  return std::erase_if(keys_, [now](const auto& item) { return Gcra::idle(item.second, now); });
}

std::size_t RateLimiter::expire(TimePoint now) {
  std::lock_guard lock(mutex_);
  return sweepLocked(now);
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

std::string deviceKey(std::string_view user, std::string_view device_id) {
  std::string key;
  key.reserve(user.size() + 1 + device_id.size());
  key.append(user).append("/").append(device_id);
  return key;
}

}  // namespace rampart::gateway::guard
