// A token bucket in one time point: the generic cell rate algorithm (GCRA,
// ITU-T I.371 "virtual scheduling"). `limit` events per `period`, all of them
// allowed at once from a full bucket, then one every period/limit. Integer
// durations, so a boundary is exact: the limit-th event at one instant is
// allowed, the (limit+1)-th is not, and one more is allowed exactly
// period/limit later. A refused event does not move the schedule, so a client
// hammering while refused does not push its own recovery further away.
#pragma once

#include <chrono>
#include <cstdint>

namespace rampart::gateway::guard {

class Gcra {
 public:
  using Clock = std::chrono::steady_clock;

  // `limit` 0 means nothing is ever allowed; `period` must be positive.
  Gcra(std::uint32_t limit, Clock::duration period)
      : interval_(limit == 0 ? Clock::duration::zero() : period / limit),
        tolerance_(limit == 0 ? Clock::duration::zero() : period - interval_),
        never_(limit == 0) {}

  // Theoretical arrival time of the next event; a bucket whose tat is <= now
  // is full, and such state can be forgotten without changing any answer.
  struct State {
    Clock::time_point tat{};
  };

  // Takes one token from `s` if one is available at `now`.
  bool take(State& s, Clock::time_point now) const {
    if (never_) return false;
    Clock::time_point tat = s.tat < now ? now : s.tat;
    if (tat - now > tolerance_) return false;
    s.tat = tat + interval_;
    return true;
  }

  // True when `s` holds no information (bucket full at `now`).
  static bool idle(const State& s, Clock::time_point now) { return s.tat <= now; }

 private:
  Clock::duration interval_;
  Clock::duration tolerance_;
  bool never_;
};

}  // namespace rampart::gateway::guard
