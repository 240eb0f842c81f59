#include "gateway/guard/auth_failures.h"

#include <algorithm>
#include <utility>

namespace rampart::gateway::guard {

namespace {
constexpr std::size_t kMaxUserKey = 256;
}

AuthFailures::AuthFailures(AuthFailureConfig config) : config_(std::move(config)) {}

std::string AuthFailures::userKey(std::string_view user) {
  std::string key(user.substr(0, kMaxUserKey));
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

std::uint32_t AuthFailures::liveFailures(const Record& r, TimePoint now) const {
  return now - r.window_start >= config_.window ? 0 : r.failures;
}

AuthFailures::Duration AuthFailures::backoff(std::uint32_t failures) const {
  if (failures <= config_.free_failures) return Duration::zero();
  std::uint32_t doublings = failures - config_.free_failures - 1;
  Duration d = config_.base_delay;
  for (std::uint32_t i = 0; i < doublings && d < config_.max_delay; ++i) d *= 2;
  return std::min(d, config_.max_delay);
}

AuthFailures::Duration AuthFailures::remaining(const Record& r, TimePoint now) const {
  Duration wait = backoff(liveFailures(r, now));
  if (wait == Duration::zero()) return wait;
  TimePoint until = r.last_failure + wait;
  return until > now ? until - now : Duration::zero();
}

bool AuthFailures::idle(const Record& r, TimePoint now) const {
  return liveFailures(r, now) == 0 && r.locked_until <= now;
}

void AuthFailures::count(Record& r, TimePoint now) const {
  if (liveFailures(r, now) == 0) {
    r.failures = 0;
    r.window_start = now;
  }
  if (r.failures < UINT32_MAX) ++r.failures;
  r.last_failure = now;
}

AuthFailures::Decision AuthFailures::check(std::string_view user,
                                           const boost::asio::ip::address& ip,
                                           TimePoint now) const {
  IpKey key = makeIpKey(ip, config_.v6_prefix);
  std::string name = userKey(user);
  std::lock_guard lock(mutex_);
  Decision d;
  if (auto it = clients_.find(key); it != clients_.end()) {
    if (it->second.locked_until > now) {
      d.allowed = false;
      d.locked_until = it->second.locked_until;
      return d;
    }
    d.delay = remaining(it->second, now);
  }
  if (auto it = users_.find(name); it != users_.end()) {
    d.delay = std::max(d.delay, remaining(it->second, now));
  }
  return d;
}

void AuthFailures::sweepLocked(TimePoint now) {
  last_sweep_ = now;
  std::erase_if(users_, [&](const auto& item) { return idle(item.second, now); });
  std::erase_if(clients_, [&](const auto& item) { return idle(item.second, now); });
}

void AuthFailures::recordFailure(std::string_view user, const boost::asio::ip::address& ip,
                                 TimePoint now) {
  IpKey key = makeIpKey(ip, config_.v6_prefix);
  std::string name = userKey(user);
  std::lock_guard lock(mutex_);
  auto makeRoom = [&](std::size_t size, std::size_t max) {
    if (size < max) return true;
    if (!last_sweep_ || now - *last_sweep_ >= config_.sweep_interval) sweepLocked(now);
    return false;
  };

  auto cit = clients_.find(key);
  if (cit == clients_.end() && !makeRoom(clients_.size(), config_.max_clients) &&
      clients_.size() >= config_.max_clients) {
    ++untracked_;
  } else {
    if (cit == clients_.end()) cit = clients_.emplace(key, Record{}).first;
    Record& r = cit->second;
    count(r, now);
    if (config_.ip_lockout_after != 0 && r.failures >= config_.ip_lockout_after &&
        r.locked_until <= now) {
      r.locked_until = now + config_.ip_lockout;
      // The lock replaces the count: after it ends the client starts afresh.
      r.failures = 0;
    }
  }

  auto uit = users_.find(name);
  if (uit == users_.end() && !makeRoom(users_.size(), config_.max_users) &&
      users_.size() >= config_.max_users) {
    ++untracked_;
  } else {
    if (uit == users_.end()) uit = users_.emplace(std::move(name), Record{}).first;
    count(uit->second, now);
  }
}

void AuthFailures::recordSuccess(std::string_view user, const boost::asio::ip::address&) {
  std::string name = userKey(user);
  std::lock_guard lock(mutex_);
  if (auto it = users_.find(name); it != users_.end()) users_.erase(it);
}

std::size_t AuthFailures::expire(TimePoint now) {
  std::lock_guard lock(mutex_);
  std::size_t before = users_.size() + clients_.size();
  sweepLocked(now);
  return before - users_.size() - clients_.size();
}

std::uint64_t AuthFailures::untracked() const {
  std::lock_guard lock(mutex_);
  return untracked_;
}

std::uint32_t AuthFailures::userFailures(std::string_view user, TimePoint now) const {
  std::string name = userKey(user);
  std::lock_guard lock(mutex_);
  auto it = users_.find(name);
  return it == users_.end() ? 0 : liveFailures(it->second, now);
}

std::uint32_t AuthFailures::clientFailures(const boost::asio::ip::address& ip,
                                           TimePoint now) const {
  IpKey key = makeIpKey(ip, config_.v6_prefix);
  std::lock_guard lock(mutex_);
  auto it = clients_.find(key);
  return it == clients_.end() ? 0 : liveFailures(it->second, now);
}

}  // namespace rampart::gateway::guard
