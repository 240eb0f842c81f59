// Authentication failure tracking: per-user backoff and per-client lockout
// (DESIGN.md 2 "lockout and rate limits on failures"; issue 4 "Failures").
// No I/O; time comes in as `now`. Thread-safe (one mutex).
//
// Policy, and why:
// - Per client IP (IPv4 address or IPv6 /64, ip_key.h), HARD: after
//   `ip_lockout_after` failures (20) within `window` (15 min, counted from the
//   first failure of the window), the client is refused without checking any
//   credential until `locked_until` (15 min later). A hard lock costs the
//   attacker its own address, never a real user elsewhere.
// - Per user, SOFT: no lockout. After `free_failures` (3) failures, every
//   further attempt is answered only after a delay that doubles from
//   `base_delay` (1 s) to `max_delay` (30 s), counted from the last failure.
//   AD-style hard user lockout lets anyone who knows a user name lock that
//   user out from anywhere, forever, for the price of a few requests; a
//   delay only slows guessing. A correct password still works after the
//   delay, and a success resets the user's record.
// - The same delay logic applies per client (the larger of the two is used),
//   so a single client is slowed before it is locked.
// - A success does not reset the client's record: an attacker holding one
//   valid account could otherwise clear its address between guesses. The
//   client's count expires with its window.
// - No user enumeration: the caller records a failure for an unknown user
//   exactly as for a wrong password, and applies the same delay.
// - User names are compared ASCII-case-insensitively (directories are), so
//   "Alice" and "alice" share one record; names are capped to 256 bytes.
// - Bounded memory: at most `max_users` and `max_clients` records. Records
//   whose window has passed and that hold no lock are dropped by sweeps (expire(),
//   or when a table is full, at most once per `sweep_interval`). When a table is
//   full of live records a new user or client is not tracked (fail open for
//   availability; untracked() counts these for a metric and an alert).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/guard/ip_key.h"

namespace rampart::gateway::guard {

struct AuthFailureConfig {
  std::chrono::steady_clock::duration window = std::chrono::minutes(15);
  std::uint32_t free_failures = 3;  // failures answered without delay (user and client)
  std::chrono::steady_clock::duration base_delay = std::chrono::seconds(1);
  std::chrono::steady_clock::duration max_delay = std::chrono::seconds(30);
  std::uint32_t ip_lockout_after = 20;  // failures in `window`; 0 = never lock
  std::chrono::steady_clock::duration ip_lockout = std::chrono::minutes(15);
  unsigned v6_prefix = 64;
  std::size_t max_users = 1'000'000;
  std::size_t max_clients = 1'000'000;
  std::chrono::steady_clock::duration sweep_interval = std::chrono::seconds(1);
};

class AuthFailures {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  struct Decision {
    // false: refuse without checking credentials (the client is locked);
    // answer exactly as for a wrong password.
    bool allowed = true;
    // Hold the request this long before checking credentials and answering.
    Duration delay = Duration::zero();
    // Set when !allowed: when the client's lock ends (for logs and the admin
    // view; not to be sent to the client).
    std::optional<TimePoint> locked_until;
  };

  explicit AuthFailures(AuthFailureConfig config);

  // What to do with an authentication attempt by `user` from `ip` now.
  Decision check(std::string_view user, const boost::asio::ip::address& ip, TimePoint now) const;
  // The attempt failed (wrong password, unknown user, bad one-time code).
  void recordFailure(std::string_view user, const boost::asio::ip::address& ip, TimePoint now);
  // The attempt succeeded: forgets the user's failures (not the client's).
  void recordSuccess(std::string_view user, const boost::asio::ip::address& ip);

  // Drops records that hold no information; returns how many.
  std::size_t expire(TimePoint now);
  // Failures that could not be tracked because a table was full.
  std::uint64_t untracked() const;
  // Failures currently counted in the window (0 when unknown), for tests and
  // the admin view.
  std::uint32_t userFailures(std::string_view user, TimePoint now) const;
  std::uint32_t clientFailures(const boost::asio::ip::address& ip, TimePoint now) const;

 private:
  struct Record {
    std::uint32_t failures = 0;
    TimePoint window_start{};
    TimePoint last_failure{};
    TimePoint locked_until{};
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  std::uint32_t liveFailures(const Record& r, TimePoint now) const;
  Duration backoff(std::uint32_t failures) const;
  Duration remaining(const Record& r, TimePoint now) const;
  bool idle(const Record& r, TimePoint now) const;
  void count(Record& r, TimePoint now) const;
  void sweepLocked(TimePoint now);
  static std::string userKey(std::string_view user);

  AuthFailureConfig config_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record, StringHash, std::equal_to<>> users_;
  std::unordered_map<IpKey, Record, IpKeyHash> clients_;
  std::uint64_t untracked_ = 0;
  std::optional<TimePoint> last_sweep_;
};

}  // namespace rampart::gateway::guard
