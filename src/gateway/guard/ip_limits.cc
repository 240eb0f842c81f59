#include "gateway/guard/ip_limits.h"

#include <algorithm>
#include <utility>

namespace rampart::gateway::guard {

std::string_view admissionName(Admission a) {
  switch (a) {
    case Admission::ok:
      return "ok";
    case Admission::too_many_concurrent:
      return "too_many_concurrent";
    case Admission::too_fast:
      return "too_fast";
    case Admission::too_many_unauthenticated:
      return "too_many_unauthenticated";
    case Admission::global_cap:
      return "global_cap";
  }
  return "unknown";
}

IpLimits::IpLimits(IpLimitsConfig config) : config_(std::move(config)) {
  auto positive = [](std::chrono::steady_clock::duration d) {
    return d > std::chrono::steady_clock::duration::zero() ? d : std::chrono::minutes(1);
  };
  const auto& d = config_.per_client;
  rules_.push_back(Rule{d, Gcra(d.max_new_per_period, positive(d.period)), false});
  for (const auto& e : config_.exceptions) {
    if (e.limits) {
      rules_.push_back(
          Rule{*e.limits, Gcra(e.limits->max_new_per_period, positive(e.limits->period)), false});
    } else {
      rules_.push_back(Rule{PerClientLimits{}, Gcra(1, std::chrono::minutes(1)), true});
    }
  }
  // Resume marks of at least 1, so a tiny cap (tests, a lab box) still
  // resumes once everything has closed.
  auto ninety_five = [](std::uint32_t n) {
    return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::uint64_t{n} * 95 / 100));
  };
  resume_connections_ = config_.resume_below != 0
                            ? std::min(config_.resume_below, config_.max_connections)
                            : ninety_five(config_.max_connections);
  resume_unauthenticated_ = ninety_five(config_.max_unauthenticated);
}

const IpLimits::Rule& IpLimits::ruleFor(const boost::asio::ip::address& address,
                                        std::uint32_t& index) const {
  for (std::size_t i = 0; i < config_.exceptions.size(); ++i) {
    if (config_.exceptions[i].range.contains(address)) {
      index = static_cast<std::uint32_t>(i + 1);
      return rules_[i + 1];
    }
  }
  index = 0;
  return rules_[0];
}

void IpLimits::updatePaused() {
  if (connections_ >= config_.max_connections || unauthenticated_ >= config_.max_unauthenticated) {
    paused_ = true;
  } else if (paused_ && connections_ < resume_connections_ &&
             unauthenticated_ < resume_unauthenticated_) {
    paused_ = false;
  }
}

std::size_t IpLimits::sweepLocked(TimePoint now) {
  last_sweep_ = now;
  return std::erase_if(clients_, [now](const auto& item) {
    return item.second.concurrent == 0 && Gcra::idle(item.second.rate, now);
  });
}

Admission IpLimits::admit(const boost::asio::ip::address& address, TimePoint now) {
  std::uint32_t index = 0;
  ruleFor(address, index);
  IpKey key = makeIpKey(address, config_.v6_prefix);

  std::lock_guard lock(mutex_);
  if (paused_ || connections_ >= config_.max_connections ||
      unauthenticated_ >= config_.max_unauthenticated) {
    updatePaused();
    return Admission::global_cap;
  }
  auto it = clients_.find(key);
  if (it == clients_.end()) {
    if (clients_.size() >= config_.max_clients) {
      if (!last_sweep_ || now - *last_sweep_ >= config_.sweep_interval) sweepLocked(now);
      if (clients_.size() >= config_.max_clients) return Admission::too_fast;
    }
    it = clients_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  // A client key keeps the rule it was first seen under while it is tracked
  // (an IPv6 /64 could straddle two exception ranges).
  if (e.concurrent == 0) e.exception = index;
  const Rule& applied = rules_[e.exception];
  if (!applied.unlimited) {
    if (!applied.rate.take(e.rate, now)) {
      if (e.concurrent == 0 && Gcra::idle(e.rate, now)) clients_.erase(it);
      return Admission::too_fast;
    }
    if (e.concurrent >= applied.limits.max_concurrent) return Admission::too_many_concurrent;
    if (e.unauthenticated >= applied.limits.max_unauthenticated) {
      return Admission::too_many_unauthenticated;
    }
  }
  ++e.concurrent;
  ++e.unauthenticated;
  ++connections_;
  ++unauthenticated_;
  updatePaused();
  return Admission::ok;
}

void IpLimits::markAuthenticated(const boost::asio::ip::address& address) {
  IpKey key = makeIpKey(address, config_.v6_prefix);
  std::lock_guard lock(mutex_);
  auto it = clients_.find(key);
  if (it == clients_.end() || it->second.unauthenticated == 0) return;
  --it->second.unauthenticated;
  if (unauthenticated_ > 0) --unauthenticated_;
  updatePaused();
}

void IpLimits::release(const boost::asio::ip::address& address, bool authenticated, TimePoint now) {
  IpKey key = makeIpKey(address, config_.v6_prefix);
  std::lock_guard lock(mutex_);
  auto it = clients_.find(key);
  if (it == clients_.end() || it->second.concurrent == 0) return;
  Entry& e = it->second;
  --e.concurrent;
  if (connections_ > 0) --connections_;
  if (!authenticated && e.unauthenticated > 0) {
    --e.unauthenticated;
    if (unauthenticated_ > 0) --unauthenticated_;
  }
  if (e.concurrent == 0 && Gcra::idle(e.rate, now)) clients_.erase(it);
  updatePaused();
}

bool IpLimits::acceptPaused() const {
  std::lock_guard lock(mutex_);
  return paused_;
}

std::size_t IpLimits::expire(TimePoint now) {
  std::lock_guard lock(mutex_);
  return sweepLocked(now);
}

IpLimits::Totals IpLimits::totals() const {
  std::lock_guard lock(mutex_);
  return Totals{connections_, unauthenticated_, clients_.size()};
}

IpLimits::ClientCounts IpLimits::countsFor(const boost::asio::ip::address& address) const {
  IpKey key = makeIpKey(address, config_.v6_prefix);
  std::lock_guard lock(mutex_);
  auto it = clients_.find(key);
  if (it == clients_.end()) return {};
  return ClientCounts{it->second.concurrent, it->second.unauthenticated};
}

}  // namespace rampart::gateway::guard
