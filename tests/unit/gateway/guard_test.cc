// DoS guards: client keys and CIDR ranges, per-client admission, keyed rate
// limits and authentication failure backoff/lockout, all on an injected clock.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "gateway/guard/auth_failures.h"
#include "gateway/guard/ip_key.h"
#include "gateway/guard/ip_limits.h"
#include "gateway/guard/rate_limiter.h"

namespace rampart::gateway::guard {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;
using TimePoint = std::chrono::steady_clock::time_point;

const TimePoint kT0 = TimePoint{} + 1000h;

// ---- keys and CIDR ----------------------------------------------------------------

TEST(IpKey, Ipv6AggregatesToPrefix) {
  EXPECT_EQ(makeIpKey(make_address("2001:db8:1:2:aaaa::1")),
            makeIpKey(make_address("2001:db8:1:2:ffff:1:2:3")));
  EXPECT_NE(makeIpKey(make_address("2001:db8:1:2::1")), makeIpKey(make_address("2001:db8:1:3::1")));
  // /128: every address its own client; /48: whole site.
  EXPECT_NE(makeIpKey(make_address("2001:db8::1"), 128),
            makeIpKey(make_address("2001:db8::2"), 128));
  EXPECT_EQ(makeIpKey(make_address("2001:db8:0:1::1"), 48),
            makeIpKey(make_address("2001:db8:0:ff::1"), 48));
  // /60 masks inside a byte.
  EXPECT_EQ(makeIpKey(make_address("2001:db8:0:10::1"), 60),
            makeIpKey(make_address("2001:db8:0:1f::1"), 60));
  EXPECT_NE(makeIpKey(make_address("2001:db8:0:10::1"), 60),
            makeIpKey(make_address("2001:db8:0:20::1"), 60));
}

TEST(IpKey, Ipv4IsNotAggregatedAndMappedIsIpv4) {
  EXPECT_NE(makeIpKey(make_address("192.0.2.1")), makeIpKey(make_address("192.0.2.2")));
  EXPECT_EQ(makeIpKey(make_address("::ffff:192.0.2.1")), makeIpKey(make_address("192.0.2.1")));
  // An IPv6 address whose bytes start like an IPv4 one is still IPv6.
  EXPECT_NE(makeIpKey(make_address("c000:201::"), 128), makeIpKey(make_address("192.0.2.1")));
}

TEST(Cidr, ParsesRangesAndBareAddresses) {
  auto v4 = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(v4) << v4.error().message();
  EXPECT_TRUE(v4->contains(make_address("10.255.1.2")));
  EXPECT_TRUE(v4->contains(make_address("::ffff:10.1.1.1")));
  EXPECT_FALSE(v4->contains(make_address("11.0.0.1")));
  EXPECT_FALSE(v4->contains(make_address("2001:db8::1")));
  EXPECT_EQ(v4->toString(), "10.0.0.0/8");

  auto v6 = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(make_address("2001:db9::1")));
  EXPECT_FALSE(v6->contains(make_address("10.0.0.1")));

  auto bare = Cidr::parse("192.0.2.7");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->prefixLength(), 32u);
  EXPECT_TRUE(bare->contains(make_address("192.0.2.7")));
  EXPECT_FALSE(bare->contains(make_address("192.0.2.8")));
  auto bare6 = Cidr::parse("2001:db8::7");
  ASSERT_TRUE(bare6);
  EXPECT_EQ(bare6->prefixLength(), 128u);

  auto all = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(make_address("203.0.113.9")));
  auto odd = Cidr::parse("10.0.0.0/9");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(make_address("10.127.0.1")));
  EXPECT_FALSE(odd->contains(make_address("10.128.0.1")));
}

TEST(Cidr, RefusesMalformed) {
  for (const char* bad : {"", "10.0.0.0/33", "2001:db8::/129", "10.0.0.1/8", "10.0.0.0/",
                          "10.0.0.0/x", "10.0.0.0/08x", "10.0.0/8", "host.example",
                          "::ffff:10.0.0.0/104", "10.0.0.0/8/8", "10.0.0.0/-1", "2001:db8::1/64"}) {
    auto c = Cidr::parse(bad);
    EXPECT_FALSE(c) << bad;
    if (!c) {
      EXPECT_TRUE(c.error().is(Errc::parse_error)) << bad;
    }
  }
}

// ---- IpLimits ---------------------------------------------------------------------

IpLimitsConfig smallConfig() {
  IpLimitsConfig c;
  c.per_client.max_concurrent = 3;
  c.per_client.max_new_per_period = 5;
  c.per_client.period = 1min;
  c.per_client.max_unauthenticated = 2;
  c.max_unauthenticated = 100;
  c.max_connections = 100;
  return c;
}

TEST(IpLimits, DefaultsAreTmgs) {
  IpLimitsConfig c;
  EXPECT_EQ(c.per_client.max_concurrent, 160u);
  EXPECT_EQ(c.per_client.max_new_per_period, 600u);
  EXPECT_EQ(c.per_client.period, std::chrono::steady_clock::duration(1min));
  EXPECT_EQ(c.per_client.max_unauthenticated, 80u);
  EXPECT_EQ(c.max_unauthenticated, 5000u);
  EXPECT_EQ(c.v6_prefix, 64u);
}

TEST(IpLimits, ConcurrentLimitAtTheBoundary) {
  auto c = smallConfig();
  c.per_client.max_unauthenticated = 3;
  IpLimits limits(c);
  auto a = make_address("192.0.2.1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limits.admit(a, kT0), Admission::ok) << i;
  EXPECT_EQ(limits.admit(a, kT0), Admission::too_many_concurrent);
  // Another client is unaffected.
  EXPECT_EQ(limits.admit(make_address("192.0.2.2"), kT0), Admission::ok);
  limits.release(a, false, kT0);
  EXPECT_EQ(limits.admit(a, kT0), Admission::ok);
  EXPECT_EQ(limits.countsFor(a).concurrent, 3u);
  EXPECT_EQ(limits.totals().connections, 4u);
}

TEST(IpLimits, RateLimitAtTheBoundaryDefaults) {
  IpLimitsConfig c;  // 600 per minute, 160 concurrent
  IpLimits limits(c);
  auto a = make_address("198.51.100.7");
  // Close each connection at once, so only the rate matters.
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(limits.admit(a, kT0), Admission::ok) << i;
    limits.release(a, false, kT0);
  }
  EXPECT_EQ(limits.admit(a, kT0), Admission::too_fast);
  // One token every 100 ms: not a nanosecond earlier.
  EXPECT_EQ(limits.admit(a, kT0 + 100ms - 1ns), Admission::too_fast);
  EXPECT_EQ(limits.admit(a, kT0 + 100ms), Admission::ok);
  EXPECT_EQ(limits.admit(a, kT0 + 100ms), Admission::too_fast);
  // A full minute later the whole burst is back.
  limits.release(a, false, kT0 + 100ms);
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(limits.admit(a, kT0 + 61s), Admission::ok) << i;
    limits.release(a, false, kT0 + 61s);
  }
  EXPECT_EQ(limits.admit(a, kT0 + 61s), Admission::too_fast);
}

TEST(IpLimits, RefusedForRateDoesNotDelayRecovery) {
  IpLimits limits(smallConfig());  // 5 per minute: one per 12 s
  auto a = make_address("192.0.2.9");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(limits.admit(a, kT0), Admission::ok);
    limits.release(a, false, kT0);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limits.admit(a, kT0 + 1s), Admission::too_fast);
  EXPECT_EQ(limits.admit(a, kT0 + 12s), Admission::ok);
}

TEST(IpLimits, UnauthenticatedPerClientAndMarkAuthenticated) {
  IpLimits limits(smallConfig());  // 3 concurrent, 2 unauthenticated
  auto a = make_address("192.0.2.1");
  EXPECT_EQ(limits.admit(a, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(a, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(a, kT0), Admission::too_many_unauthenticated);
  limits.markAuthenticated(a);
  EXPECT_EQ(limits.countsFor(a).unauthenticated, 1u);
  EXPECT_EQ(limits.admit(a, kT0), Admission::ok);
  EXPECT_EQ(limits.countsFor(a).concurrent, 3u);
  EXPECT_EQ(limits.countsFor(a).unauthenticated, 2u);
  // Release of the authenticated one leaves the unauthenticated count alone.
  limits.release(a, true, kT0);
  EXPECT_EQ(limits.countsFor(a).unauthenticated, 2u);
  limits.release(a, false, kT0);
  EXPECT_EQ(limits.countsFor(a).unauthenticated, 1u);
  EXPECT_EQ(limits.totals().unauthenticated, 1u);
}

TEST(IpLimits, GlobalUnauthenticatedBudgetPausesAccept) {
  auto c = smallConfig();
  c.max_unauthenticated = 4;
  IpLimits limits(c);
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(limits.admit(make_address("192.0.2." + std::to_string(i)), kT0), Admission::ok);
  }
  EXPECT_TRUE(limits.acceptPaused());
  EXPECT_EQ(limits.admit(make_address("192.0.2.99"), kT0), Admission::global_cap);
  // Authenticating one brings the count to 3, the resume mark is 95% of 4 = 3:
  // still paused until below it.
  limits.markAuthenticated(make_address("192.0.2.1"));
  EXPECT_TRUE(limits.acceptPaused());
  limits.markAuthenticated(make_address("192.0.2.2"));
  EXPECT_FALSE(limits.acceptPaused());
  EXPECT_EQ(limits.admit(make_address("192.0.2.99"), kT0), Admission::ok);
}

TEST(IpLimits, GlobalCapWithHysteresis) {
  auto c = smallConfig();
  c.max_connections = 10;
  c.resume_below = 8;
  IpLimits limits(c);
  std::vector<boost::asio::ip::address> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(make_address("203.0.113." + std::to_string(i + 1)));
    ASSERT_EQ(limits.admit(clients.back(), kT0), Admission::ok) << i;
    limits.markAuthenticated(clients.back());
  }
  EXPECT_TRUE(limits.acceptPaused());
  EXPECT_EQ(limits.admit(make_address("203.0.113.200"), kT0), Admission::global_cap);
  limits.release(clients[0], true, kT0);  // 9
  EXPECT_TRUE(limits.acceptPaused());
  EXPECT_EQ(limits.admit(make_address("203.0.113.200"), kT0), Admission::global_cap);
  limits.release(clients[1], true, kT0);  // 8
  EXPECT_TRUE(limits.acceptPaused());
  limits.release(clients[2], true, kT0);  // 7 < 8: resume
  EXPECT_FALSE(limits.acceptPaused());
  EXPECT_EQ(limits.admit(make_address("203.0.113.200"), kT0), Admission::ok);
  EXPECT_EQ(limits.totals().connections, 8u);
}

TEST(IpLimits, Ipv6ClientsAggregateByPrefix) {
  IpLimits limits(smallConfig());  // 3 concurrent per client
  EXPECT_EQ(limits.admit(make_address("2001:db8:1:2::1"), kT0), Admission::ok);
  limits.markAuthenticated(make_address("2001:db8:1:2::1"));
  EXPECT_EQ(limits.admit(make_address("2001:db8:1:2::2"), kT0), Admission::ok);
  limits.markAuthenticated(make_address("2001:db8:1:2::2"));
  EXPECT_EQ(limits.admit(make_address("2001:db8:1:2:dead:beef:0:1"), kT0), Admission::ok);
  limits.markAuthenticated(make_address("2001:db8:1:2::3"));
  EXPECT_EQ(limits.admit(make_address("2001:db8:1:2::4"), kT0), Admission::too_many_concurrent);
  // The next /64 is another client.
  EXPECT_EQ(limits.admit(make_address("2001:db8:1:3::1"), kT0), Admission::ok);
  EXPECT_EQ(limits.countsFor(make_address("2001:db8:1:2::ffff")).concurrent, 3u);
  EXPECT_EQ(limits.totals().tracked_clients, 2u);

  auto c = smallConfig();
  c.v6_prefix = 128;
  IpLimits per_address(c);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(per_address.admit(make_address("2001:db8::" + std::to_string(i)), kT0),
              Admission::ok);
  }
}

TEST(IpLimits, ExceptionsUnlimitedAndOwnLimits) {
  auto c = smallConfig();
  c.exceptions.push_back(IpException{*Cidr::parse("10.0.0.0/8"), std::nullopt});
  PerClientLimits nat;
  nat.max_concurrent = 5;
  nat.max_new_per_period = 100;
  nat.max_unauthenticated = 5;
  c.exceptions.push_back(IpException{*Cidr::parse("2001:db8::/32"), nat});
  IpLimits limits(c);

  auto monitor = make_address("10.1.2.3");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(limits.admit(monitor, kT0), Admission::ok) << i;
  EXPECT_EQ(limits.countsFor(monitor).concurrent, 50u);

  auto carrier = make_address("2001:db8:5::1");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limits.admit(carrier, kT0), Admission::ok) << i;
  EXPECT_EQ(limits.admit(carrier, kT0), Admission::too_many_concurrent);

  // Outside the exceptions: the defaults (3 concurrent, 2 unauthenticated).
  auto other = make_address("2001:db9::1");
  EXPECT_EQ(limits.admit(other, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(other, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(other, kT0), Admission::too_many_unauthenticated);

  // Exceptions still count towards the global cap.
  auto capped = smallConfig();
  capped.max_connections = 3;
  capped.exceptions.push_back(IpException{*Cidr::parse("10.0.0.0/8"), std::nullopt});
  IpLimits global(capped);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(global.admit(monitor, kT0), Admission::ok);
  EXPECT_EQ(global.admit(monitor, kT0), Admission::global_cap);
}

TEST(IpLimits, TableIsBoundedAndIdleEntriesExpire) {
  auto c = smallConfig();
  c.max_clients = 3;
  c.sweep_interval = 1s;
  IpLimits limits(c);
  auto a = make_address("192.0.2.1");
  auto b = make_address("192.0.2.2");
  auto d = make_address("192.0.2.3");
  EXPECT_EQ(limits.admit(a, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(b, kT0), Admission::ok);
  EXPECT_EQ(limits.admit(d, kT0), Admission::ok);
  // Full of active clients: a newcomer is refused, nobody is evicted.
  EXPECT_EQ(limits.admit(make_address("192.0.2.4"), kT0), Admission::too_fast);
  EXPECT_EQ(limits.totals().tracked_clients, 3u);
  EXPECT_EQ(limits.countsFor(a).concurrent, 1u);

  // a closes; its bucket (one token of 5 per minute spent) refills in 12 s,
  // after which the entry holds nothing and a sweep may drop it.
  limits.release(a, false, kT0);
  EXPECT_EQ(limits.totals().tracked_clients, 3u);
  EXPECT_EQ(limits.admit(make_address("192.0.2.4"), kT0 + 11s), Admission::too_fast);
  EXPECT_EQ(limits.admit(make_address("192.0.2.4"), kT0 + 12s), Admission::ok);
  EXPECT_EQ(limits.countsFor(a).concurrent, 0u);
  EXPECT_EQ(limits.totals().tracked_clients, 3u);

  // expire() drops what holds no information; a release after the bucket
  // refilled drops the entry at once.
  limits.release(b, false, kT0 + 1min);
  EXPECT_EQ(limits.totals().tracked_clients, 2u);
  limits.release(d, false, kT0);
  EXPECT_EQ(limits.expire(kT0 + 1min), 1u);
  EXPECT_EQ(limits.totals().tracked_clients, 1u);
}

TEST(IpLimits, TableFullSweepsAtMostOncePerInterval) {
  auto c = smallConfig();
  c.max_clients = 1;
  c.sweep_interval = 10s;
  IpLimits limits(c);
  auto a = make_address("192.0.2.1");
  ASSERT_EQ(limits.admit(a, kT0), Admission::ok);
  limits.release(a, false, kT0);  // bucket not yet full: entry kept
  // The first newcomer sweeps, but a's bucket (one token of 5 per minute)
  // refills only at kT0 + 12s.
  EXPECT_EQ(limits.admit(make_address("192.0.2.2"), kT0 + 5s), Admission::too_fast);
  // At kT0 + 12s a's entry holds nothing, but the last sweep was 7 s ago:
  // no sweep yet, so a flood of newcomers cannot make every admit O(table).
  EXPECT_EQ(limits.admit(make_address("192.0.2.2"), kT0 + 12s), Admission::too_fast);
  EXPECT_EQ(limits.admit(make_address("192.0.2.2"), kT0 + 15s), Admission::ok);
}

TEST(IpLimits, ReleaseNeverUnderflows) {
  IpLimits limits(smallConfig());
  auto a = make_address("192.0.2.1");
  limits.release(a, false, kT0);
  limits.markAuthenticated(a);
  EXPECT_EQ(limits.totals().connections, 0u);
  ASSERT_EQ(limits.admit(a, kT0), Admission::ok);
  limits.release(a, false, kT0);
  limits.release(a, false, kT0);
  EXPECT_EQ(limits.totals().connections, 0u);
  EXPECT_EQ(limits.totals().unauthenticated, 0u);
}

TEST(IpLimits, AdmissionNames) {
  EXPECT_EQ(admissionName(Admission::ok), "ok");
  EXPECT_EQ(admissionName(Admission::global_cap), "global_cap");
  EXPECT_EQ(admissionName(Admission::too_many_unauthenticated), "too_many_unauthenticated");
}

// ---- RateLimiter ------------------------------------------------------------------

TEST(RateLimiter, BurstThenSustainedRateExactly) {
  RateLimitConfig c;
  c.limit = 60;  // one a second
  c.period = 1min;
  c.burst = 10;
  RateLimiter limiter(c);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.allow("alice", kT0)) << i;
  EXPECT_FALSE(limiter.allow("alice", kT0));
  EXPECT_FALSE(limiter.allow("alice", kT0 + 1s - 1ns));
  EXPECT_TRUE(limiter.allow("alice", kT0 + 1s));
  EXPECT_FALSE(limiter.allow("alice", kT0 + 1s));
  // Keys are independent; a device key is its own bucket.
  EXPECT_TRUE(limiter.allow("bob", kT0));
  EXPECT_TRUE(limiter.allow(deviceKey("alice", "ABC123"), kT0));
  EXPECT_EQ(deviceKey("alice", "ABC123"), "alice/ABC123");
  // After ten idle seconds the burst is back, not more.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.allow("alice", kT0 + 11s)) << i;
  EXPECT_FALSE(limiter.allow("alice", kT0 + 11s));
}

TEST(RateLimiter, BoundedKeysAndExpiry) {
  RateLimitConfig c;
  c.limit = 6;
  c.period = 1min;  // one per 10 s
  c.burst = 1;
  c.max_keys = 2;
  c.max_key_size = 8;
  RateLimiter limiter(c);
  EXPECT_TRUE(limiter.allow("a", kT0));
  EXPECT_TRUE(limiter.allow("b", kT0));
  EXPECT_FALSE(limiter.allow("c", kT0));  // full of busy keys
  EXPECT_EQ(limiter.size(), 2u);
  EXPECT_FALSE(limiter.allow("123456789", kT0));  // too long
  // 10 s later a and b are idle again; the newcomer's sweep frees room.
  EXPECT_TRUE(limiter.allow("c", kT0 + 10s));
  EXPECT_EQ(limiter.size(), 1u);
  EXPECT_EQ(limiter.expire(kT0 + 20s), 1u);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiter, ZeroLimitAllowsNothing) {
  RateLimitConfig c;
  c.limit = 0;
  RateLimiter limiter(c);
  EXPECT_FALSE(limiter.allow("a", kT0));
}

// ---- AuthFailures -----------------------------------------------------------------

AuthFailureConfig authConfig() {
  AuthFailureConfig c;
  c.free_failures = 3;
  c.base_delay = 1s;
  c.max_delay = 8s;
  c.window = 15min;
  c.ip_lockout_after = 10;
  c.ip_lockout = 15min;
  return c;
}

TEST(AuthFailures, FreeFailuresThenDoublingDelayToCap) {
  AuthFailures f(authConfig());
  auto ip = make_address("192.0.2.1");
  auto t = kT0;
  // A failure per 30 s: the delay counts from the last failure.
  std::vector<std::chrono::seconds> expected = {0s, 0s, 0s, 1s, 2s, 4s, 8s, 8s, 8s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    f.recordFailure("alice", ip, t);
    auto d = f.check("alice", ip, t);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.delay, std::chrono::steady_clock::duration(expected[i]))
        << "after failure " << i + 1;
    t += 30s;
  }
}

TEST(AuthFailures, DelayShrinksAsTimePasses) {
  AuthFailures f(authConfig());
  auto ip = make_address("192.0.2.1");
  for (int i = 0; i < 6; ++i) f.recordFailure("alice", ip, kT0);  // 3 free, then 1, 2, 4
  EXPECT_EQ(f.check("alice", ip, kT0).delay, std::chrono::steady_clock::duration(4s));
  EXPECT_EQ(f.check("alice", ip, kT0 + 3s).delay, std::chrono::steady_clock::duration(1s));
  EXPECT_EQ(f.check("alice", ip, kT0 + 4s).delay, std::chrono::steady_clock::duration::zero());
}

TEST(AuthFailures, PerUserIsSoftEvenFromManyClients) {
  auto c = authConfig();
  AuthFailures f(c);
  // An attacker spreads 1000 failures over 100 addresses.
  for (int i = 0; i < 1000; ++i) {
    f.recordFailure("alice", make_address("203.0.113." + std::to_string(i % 100)), kT0);
  }
  // The real user, elsewhere, is slowed to the cap but never refused.
  auto d = f.check("Alice", make_address("198.51.100.1"), kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.locked_until);
  EXPECT_EQ(d.delay, std::chrono::steady_clock::duration(c.max_delay));
  EXPECT_EQ(f.check("alice", make_address("198.51.100.1"), kT0 + c.max_delay).delay,
            std::chrono::steady_clock::duration::zero());
  // Success resets the user.
  f.recordSuccess("ALICE", make_address("198.51.100.1"));
  EXPECT_EQ(f.userFailures("alice", kT0), 0u);
  EXPECT_EQ(f.check("alice", make_address("198.51.100.1"), kT0).delay,
            std::chrono::steady_clock::duration::zero());
}

TEST(AuthFailures, PerClientIsHardLockAtTheBoundary) {
  AuthFailures f(authConfig());  // lock after 10 in 15 min, for 15 min
  auto ip = make_address("192.0.2.66");
  for (int i = 0; i < 9; ++i) f.recordFailure("user" + std::to_string(i), ip, kT0 + i * 1s);
  EXPECT_TRUE(f.check("someone", ip, kT0 + 9s).allowed);
  f.recordFailure("user9", ip, kT0 + 9s);  // the 10th
  auto d = f.check("someone", ip, kT0 + 9s);
  EXPECT_FALSE(d.allowed);
  ASSERT_TRUE(d.locked_until);
  EXPECT_EQ(*d.locked_until, kT0 + 9s + 15min);
  EXPECT_FALSE(f.check("someone", ip, kT0 + 9s + 15min - 1ns).allowed);
  EXPECT_TRUE(f.check("someone", ip, kT0 + 9s + 15min).allowed);
  // Another address, and the same users from it, are not locked.
  EXPECT_TRUE(f.check("user1", make_address("192.0.2.67"), kT0 + 10s).allowed);
  // The lock covers the whole IPv6 /64.
  for (int i = 0; i < 10; ++i) {
    f.recordFailure("x" + std::to_string(i), make_address("2001:db8:1:1::" + std::to_string(i + 1)),
                    kT0);
  }
  EXPECT_FALSE(f.check("x", make_address("2001:db8:1:1:ffff::9"), kT0).allowed);
  EXPECT_TRUE(f.check("x", make_address("2001:db8:1:2::1"), kT0).allowed);
}

TEST(AuthFailures, SuccessDoesNotClearTheClient) {
  AuthFailures f(authConfig());
  auto ip = make_address("192.0.2.5");
  for (int i = 0; i < 9; ++i) f.recordFailure("victim" + std::to_string(i), ip, kT0);
  f.recordSuccess("attacker", ip);
  EXPECT_EQ(f.clientFailures(ip, kT0), 9u);
  f.recordFailure("victim9", ip, kT0);
  EXPECT_FALSE(f.check("victim9", ip, kT0).allowed);
}

TEST(AuthFailures, WindowForgetsOldFailures) {
  AuthFailures f(authConfig());
  auto ip = make_address("192.0.2.5");
  for (int i = 0; i < 9; ++i) f.recordFailure("bob", ip, kT0);
  EXPECT_EQ(f.userFailures("bob", kT0 + 15min - 1ns), 9u);
  EXPECT_EQ(f.userFailures("bob", kT0 + 15min), 0u);
  // A new window starts: nine more do not lock.
  for (int i = 0; i < 9; ++i) f.recordFailure("bob", ip, kT0 + 15min);
  EXPECT_TRUE(f.check("bob", ip, kT0 + 15min).allowed);
  EXPECT_EQ(f.clientFailures(ip, kT0 + 15min), 9u);
  EXPECT_EQ(f.expire(kT0 + 30min), 2u);
}

TEST(AuthFailures, TablesAreBounded) {
  auto c = authConfig();
  c.max_users = 2;
  c.max_clients = 2;
  AuthFailures f(c);
  auto ip = make_address("192.0.2.1");
  f.recordFailure("u1", ip, kT0);
  f.recordFailure("u2", ip, kT0);
  f.recordFailure("u3", ip, kT0);  // users full: u3 untracked
  EXPECT_EQ(f.untracked(), 1u);
  EXPECT_EQ(f.userFailures("u3", kT0), 0u);
  EXPECT_EQ(f.clientFailures(ip, kT0), 3u);
  f.recordFailure("u1", make_address("192.0.2.2"), kT0);
  f.recordFailure("u1", make_address("192.0.2.3"), kT0);  // clients full
  EXPECT_EQ(f.untracked(), 2u);
  EXPECT_EQ(f.userFailures("u1", kT0), 3u);
  // Once the window has passed, a sweep makes room.
  f.recordFailure("u4", make_address("192.0.2.4"), kT0 + 15min);
  EXPECT_EQ(f.userFailures("u4", kT0 + 15min), 1u);
  EXPECT_EQ(f.clientFailures(make_address("192.0.2.4"), kT0 + 15min), 1u);
}

TEST(AuthFailures, LongUserNamesShareATruncatedKey) {
  AuthFailures f(authConfig());
  std::string long_name(10000, 'a');
  f.recordFailure(long_name, make_address("192.0.2.1"), kT0);
  EXPECT_EQ(f.userFailures(long_name + "b", kT0), 1u);
}

}  // namespace
}  // namespace rampart::gateway::guard
