// Connection admission per client IP, the unauthenticated-connection budget
// and the global connection cap (DESIGN.md 2, "DoS guards"; issue 4).
//
// The listener calls admit() for every accepted socket before the TLS
// handshake, release() when the connection closes, and markAuthenticated()
// once, when its first request passes pre-authentication. No I/O, no timers:
// time comes in as `now`. Thread-safe (one mutex; admission happens once per
// connection, not per request).
//
// Policy (each number a setting, defaults below):
// - Per client (IPv4 address, or IPv6 /64 by default, see ip_key.h):
//   at most 160 concurrent connections and 600 new connections per minute,
//   TMG's defaults ("Flood Mitigation"), as a token bucket (gcra.h) that
//   allows the whole minute's worth at once. Every attempt that gets as far as
//   the per-client checks costs a token, also one then refused for
//   concurrency; an attempt refused as too_fast costs nothing.
// - Unauthenticated budget: a connection counts as unauthenticated from
//   admit() until markAuthenticated(). Globally at most 5000; per client at
//   most 80, half the per-client concurrency, so that one client can never
//   fill its whole allowance with connections that say nothing (a global half,
//   2500, would exceed the per-client cap and mean nothing).
// - Exceptions: CIDR ranges with no per-client limits (a monitoring host, a
//   reverse proxy) or their own per-client limits (a carrier NAT range). The
//   first matching exception wins. Exceptions still count towards the global
//   cap and global unauthenticated budget, which protect the process itself.
//   Exception limits apply to each client key in the range, not to the range
//   as a whole.
// - Global cap: at most 20000 connections; at the cap, admit() refuses with
//   global_cap and acceptPaused() turns true, so the listener stops calling
//   accept() (the kernel backlog then pushes back on clients) instead of
//   accepting and closing. Admission resumes below `resume_below` (95% of the
//   cap by default), so the listener does not flap at the edge. The same holds
//   for the global unauthenticated budget.
// - Bounded memory: at most `max_clients` tracked clients (1M, ~100 MB at
//   worst). A client's entry is dropped as soon as it has no connection and a
//   full bucket (it then holds no information). When the table is full, a
//   sweep drops such entries (at most once per second); if it is still full,
//   a new client is refused with too_fast. Active clients are never evicted:
//   evicting them would let an attacker reset its own counts by spraying
//   addresses, while refusing newcomers only under a table-filling flood keeps
//   everyone already connected served.
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
#include <vector>

#include "core/error.h"
#include "gateway/guard/gcra.h"
#include "gateway/guard/ip_key.h"

namespace rampart::gateway::guard {

// Limits applied to each client key.
struct PerClientLimits {
  std::uint32_t max_concurrent = 160;
  std::uint32_t max_new_per_period = 600;
  std::chrono::steady_clock::duration period = std::chrono::minutes(1);
  std::uint32_t max_unauthenticated = 80;
};

struct IpException {
  Cidr range;
  // nullopt: no per-client limits at all for addresses in `range`.
  std::optional<PerClientLimits> limits;
};

struct IpLimitsConfig {
  PerClientLimits per_client;
  unsigned v6_prefix = 64;  // IPv6 aggregation, 0..128
  std::vector<IpException> exceptions;
  std::uint32_t max_unauthenticated = 5000;  // global
  std::uint32_t max_connections = 20000;     // global cap
  // Admission resumes once the total is below this (and unauthenticated below
  // its own 95%); 0 means 95% of max_connections.
  std::uint32_t resume_below = 0;
  std::size_t max_clients = 1'000'000;
  std::chrono::steady_clock::duration sweep_interval = std::chrono::seconds(1);
};

enum class Admission {
  ok,
  too_many_concurrent,       // the client's concurrent connections are at its limit
  too_fast,                  // the client's connection rate, or the client table is full
  too_many_unauthenticated,  // the client's unauthenticated connections are at its limit
  global_cap,                // the process-wide cap or unauthenticated budget
};
std::string_view admissionName(Admission a);

class IpLimits {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit IpLimits(IpLimitsConfig config);

  // Counts a new connection from `address` when the answer is ok; any other
  // answer changes no connection count (the caller closes the socket).
  Admission admit(const boost::asio::ip::address& address, TimePoint now);
  // The connection admitted for `address` passed pre-authentication: it no
  // longer counts against the unauthenticated budgets. Call at most once per
  // connection.
  void markAuthenticated(const boost::asio::ip::address& address);
  // The connection admitted for `address` closed; `authenticated` says whether
  // markAuthenticated() was called for it. Unknown or already-zero counts are
  // ignored (never underflow).
  void release(const boost::asio::ip::address& address, bool authenticated, TimePoint now);

  // True while the listener should not accept (global cap or global
  // unauthenticated budget reached, until below the resume mark).
  bool acceptPaused() const;

  // Drops entries that hold no information; for a periodic timer. Returns how
  // many were dropped.
  std::size_t expire(TimePoint now);

  // For metrics and the admin view.
  struct Totals {
    std::uint32_t connections = 0;
    std::uint32_t unauthenticated = 0;
    std::size_t tracked_clients = 0;
  };
  Totals totals() const;
  // Current counts for one client (zeros when not tracked).
  struct ClientCounts {
    std::uint32_t concurrent = 0;
    std::uint32_t unauthenticated = 0;
  };
  ClientCounts countsFor(const boost::asio::ip::address& address) const;

 private:
  struct Entry {
    Gcra::State rate;
    std::uint32_t concurrent = 0;
    std::uint32_t unauthenticated = 0;
    std::uint32_t exception = 0;  // index+1 into exceptions_, 0 = default limits
  };
  struct Rule {
    PerClientLimits limits;
    Gcra rate;
    bool unlimited = false;
  };

  const Rule& ruleFor(const boost::asio::ip::address& address, std::uint32_t& index) const;
  void updatePaused();
  std::size_t sweepLocked(TimePoint now);

  IpLimitsConfig config_;
  std::vector<Rule> rules_;  // [0] default, [i] exception i-1
  std::uint32_t resume_connections_;
  std::uint32_t resume_unauthenticated_;

  mutable std::mutex mutex_;
  std::unordered_map<IpKey, Entry, IpKeyHash> clients_;
  std::uint32_t connections_ = 0;
  std::uint32_t unauthenticated_ = 0;
  bool paused_ = false;
  std::optional<TimePoint> last_sweep_;
};

}  // namespace rampart::gateway::guard
