#include "server/eas/device_limiter.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/clock.h"

namespace rampart::server::eas {
namespace {

using std::chrono::seconds;

TEST(DeviceLimiterTest, BurstThenRateThenRefill) {
  ManualClock clock(std::chrono::system_clock::time_point{});
  DeviceLimiter limiter({.requests_per_second = 2, .burst = 5, .max_in_flight = 100}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.admit("alice", "dev1").slot) << i;
  auto refused = limiter.admit("alice", "dev1");
  EXPECT_FALSE(refused.slot);
  EXPECT_GE(refused.retry_after, seconds(1));
  // Another device of the same user, and the same device id of another user, are separate.
  EXPECT_TRUE(limiter.admit("alice", "dev2").slot);
  EXPECT_TRUE(limiter.admit("bob", "dev1").slot);
  clock.advance(seconds(1));  // two tokens back
  EXPECT_TRUE(limiter.admit("alice", "dev1").slot);
  EXPECT_TRUE(limiter.admit("alice", "dev1").slot);
  EXPECT_FALSE(limiter.admit("alice", "dev1").slot);
}

TEST(DeviceLimiterTest, InFlightCapReleasesWithTheSlot) {
  ManualClock clock(std::chrono::system_clock::time_point{});
  DeviceLimiter limiter({.requests_per_second = 1000, .burst = 1000, .max_in_flight = 2}, clock);
  auto a = limiter.admit("alice", "dev1");
  auto b = limiter.admit("alice", "dev1");
  ASSERT_TRUE(a.slot && b.slot);
  auto c = limiter.admit("alice", "dev1");
  EXPECT_FALSE(c.slot);
  EXPECT_GT(c.retry_after, seconds(0));
  a.slot.reset();
  EXPECT_TRUE(limiter.admit("alice", "dev1").slot);
}

TEST(DeviceLimiterTest, IdleDevicesArePrunedWhenTheTableIsFull) {
  ManualClock clock(std::chrono::system_clock::time_point{});
  DeviceLimiter limiter({.requests_per_second = 10, .burst = 10, .max_in_flight = 4, .max_tracked = 3}, clock);
  auto held = limiter.admit("u", "busy");  // stays in flight: never pruned
  ASSERT_TRUE(held.slot);
  EXPECT_TRUE(limiter.admit("u", "a").slot);
  EXPECT_TRUE(limiter.admit("u", "b").slot);
  EXPECT_EQ(limiter.tracked(), 3u);
  clock.advance(seconds(10));
  EXPECT_TRUE(limiter.admit("u", "c").slot);
  EXPECT_EQ(limiter.tracked(), 2u);  // a and b dropped, busy and c kept
}

}  // namespace
}  // namespace rampart::server::eas
