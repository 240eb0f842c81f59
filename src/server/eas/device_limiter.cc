#include "server/eas/device_limiter.h"

#include <algorithm>
#include <cmath>

namespace rampart::server::eas {

DeviceLimiter::Admission DeviceLimiter::admit(std::string_view user, std::string_view device_id) {
  std::string key;
  key.reserve(user.size() + 1 + device_id.size());
  key.append(user).push_back('\0');
  key.append(device_id);
  const auto now = clock_.steadyNow();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= limits_.max_tracked && !entries_.contains(key)) pruneLocked(now);
  auto [it, fresh] = entries_.try_emplace(key);
  Entry& e = it->second;
  if (fresh) {
    e.tokens = limits_.burst;
    e.refilled = now;
  } else {
    double elapsed = std::chrono::duration<double>(now - e.refilled).count();
    e.tokens = std::min(limits_.burst, e.tokens + elapsed * limits_.requests_per_second);
    e.refilled = now;
  }
  if (e.in_flight >= limits_.max_in_flight) {
    // Busy, not fast: the device should come back once something finishes.
    return Admission{nullptr, std::chrono::seconds(5)};
  }
  if (e.tokens < 1) {
    double wait = (1 - e.tokens) / limits_.requests_per_second;
    return Admission{nullptr, std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))))};
  }
  e.tokens -= 1;
  ++e.in_flight;
  return Admission{std::make_unique<Slot>(*this, std::move(key)), std::chrono::seconds(0)};
}

void DeviceLimiter::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.in_flight > 0) --it->second.in_flight;
}

std::size_t DeviceLimiter::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void DeviceLimiter::pruneLocked(std::chrono::steady_clock::time_point now) {
  // Idle devices whose bucket has refilled hold nothing worth remembering.
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    double elapsed = std::chrono::duration<double>(now - e.refilled).count();
    return e.in_flight == 0 && e.tokens + elapsed * limits_.requests_per_second >= limits_.burst;
  });
}

}  // namespace rampart::server::eas
