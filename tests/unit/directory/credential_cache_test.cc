#include "directory/credential_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace rampart::directory {
namespace {

using namespace std::chrono_literals;

// A directory that counts the (expensive) checks that reach it.
class CountingDirectory final : public Directory {
 public:
  std::map<std::string, std::string> passwords;
  std::map<std::string, bool> disabled;
  int calls = 0;

  Result<std::optional<User>> findUser(std::string_view) override { return std::nullopt; }
  Result<std::optional<User>> findByAddress(std::string_view) override { return std::nullopt; }
  Result<std::vector<std::string>> groupsOf(std::string_view) override { return std::vector<std::string>{}; }
  Result<AuthOutcome> authenticate(std::string_view name, std::string_view password) override {
    ++calls;
    auto it = passwords.find(std::string(name));
    if (it == passwords.end() || it->second != password) return AuthOutcome::bad_credentials;
    return disabled[std::string(name)] ? AuthOutcome::disabled : AuthOutcome::ok;
  }
};

class FixedRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = 0x42;
  }
};

class CredentialCacheTest : public ::testing::Test {
 protected:
  CountingDirectory dir_;
  ManualClock clock_{std::chrono::system_clock::time_point{}};
  FixedRandom random_;
};

TEST_F(CredentialCacheTest, SecondGoodLoginComesFromTheCache) {
  dir_.passwords["alice"] = "s3cret";
  CredentialCache cache(dir_, clock_, random_, {60s, 10});
  EXPECT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  EXPECT_EQ(*cache.authenticate("Alice", "s3cret"), AuthOutcome::ok);
  EXPECT_EQ(dir_.calls, 1);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST_F(CredentialCacheTest, CachedOkAnswersOnlyFromFreshMatchingEntries) {
  dir_.passwords["alice"] = "s3cret";
  CredentialCache cache(dir_, clock_, random_, {60s, 10});
  EXPECT_FALSE(cache.cachedOk("alice", "s3cret"));  // nothing cached yet, and no directory call
  EXPECT_EQ(dir_.calls, 0);
  ASSERT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  EXPECT_TRUE(cache.cachedOk("ALICE", "s3cret"));
  EXPECT_FALSE(cache.cachedOk("alice", "wrong"));
  clock_.advance(61s);
  EXPECT_FALSE(cache.cachedOk("alice", "s3cret"));
  EXPECT_EQ(dir_.calls, 1);
}

TEST_F(CredentialCacheTest, WrongPasswordIsNeverCachedAndDoesNotEvict) {
  dir_.passwords["alice"] = "s3cret";
  CredentialCache cache(dir_, clock_, random_, {60s, 10});
  EXPECT_EQ(*cache.authenticate("alice", "wrong"), AuthOutcome::bad_credentials);
  EXPECT_EQ(*cache.authenticate("alice", "wrong"), AuthOutcome::bad_credentials);
  EXPECT_EQ(dir_.calls, 2);
  EXPECT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  EXPECT_EQ(*cache.authenticate("alice", "wrong"), AuthOutcome::bad_credentials);
  EXPECT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  EXPECT_EQ(dir_.calls, 4);  // the last good login was a hit
}

TEST_F(CredentialCacheTest, EntriesExpireAndForgetTakesEffectAtOnce) {
  dir_.passwords["alice"] = "s3cret";
  CredentialCache cache(dir_, clock_, random_, {60s, 10});
  ASSERT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  dir_.disabled["alice"] = true;
  clock_.advance(61s);
  EXPECT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::disabled);
  dir_.disabled["alice"] = false;
  ASSERT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::ok);
  dir_.passwords["alice"] = "new";
  cache.forget("ALICE");
  EXPECT_EQ(*cache.authenticate("alice", "s3cret"), AuthOutcome::bad_credentials);
  EXPECT_EQ(*cache.authenticate("alice", "new"), AuthOutcome::ok);
}

TEST_F(CredentialCacheTest, SizeIsBounded) {
  CredentialCache cache(dir_, clock_, random_, {60s, 3});
  for (int i = 0; i < 10; ++i) {
    std::string name = "u" + std::to_string(i);
    dir_.passwords[name] = "p";
    ASSERT_EQ(*cache.authenticate(name, "p"), AuthOutcome::ok);
    EXPECT_LE(cache.size(), 3u);
  }
}

// A directory whose checks wait at a gate, to hold a check in progress.
class GatedDirectory final : public Directory {
 public:
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;

  Result<std::optional<User>> findUser(std::string_view) override { return std::nullopt; }
  Result<std::optional<User>> findByAddress(std::string_view) override { return std::nullopt; }
  Result<std::vector<std::string>> groupsOf(std::string_view) override { return std::vector<std::string>{}; }
  Result<AuthOutcome> authenticate(std::string_view, std::string_view password) override {
    ++calls;
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return open; });
    return password == "s3cret" ? AuthOutcome::ok : AuthOutcome::bad_credentials;
  }
};

TEST_F(CredentialCacheTest, ConcurrentMissesForOnePasswordShareOneCheck) {
  GatedDirectory gated;
  CredentialCache cache(gated, clock_, random_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (*cache.authenticate("alice", "s3cret") == AuthOutcome::ok) ++ok;
    });
  }
  threads.emplace_back([&] {  // another password never joins the good one's check
    if (*cache.authenticate("alice", "wrong") == AuthOutcome::bad_credentials) ++refused;
  });
  // Wait until both checks have reached the directory, then let them finish.
  while (gated.calls.load() < 2) std::this_thread::yield();
  {
    std::lock_guard lock(gated.mutex);
    gated.open = true;
  }
  gated.cv.notify_all();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(refused.load(), 1);
  // Threads that arrived after the check finished were served by the cache;
  // none ran a second check for the same password.
  EXPECT_EQ(gated.calls.load(), 2);
}

}  // namespace
}  // namespace rampart::directory
