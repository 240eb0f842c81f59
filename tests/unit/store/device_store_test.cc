// The DeviceStore conformance suite: written against the interface only and run
// against every backend (INSTANTIATE_TEST_SUITE_P at the bottom). A new backend
// adds one factory and must pass all of it.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "core/clock.h"
#include "store/device_store.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::store {
namespace {

struct DeviceBackendFactory {
  std::string name;
  // Opens the backend's store kept under `dir`; opening again after the
  // previous store was destroyed must see everything it committed.
  std::function<Result<std::unique_ptr<DeviceStore>>(const std::filesystem::path& dir,
                                                     Random& random)>
      open;
};

void PrintTo(const DeviceBackendFactory& f, std::ostream* os) { *os << f.name; }

// Hands out a scripted sequence of 32-bit values (big-endian), then repeats
// the last; lets a test force a zero or a repeated key.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<std::uint32_t> values) : values_(std::move(values)) {}
  void fill(std::span<std::uint8_t> out) override {
    std::uint32_t v = values_[std::min(next_, values_.size() - 1)];
    ++next_;
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<std::uint8_t>(v >> (8 * (3 - i % 4)));
    }
  }

 private:
  std::vector<std::uint32_t> values_;
  std::size_t next_ = 0;
};

constexpr std::string_view kUser = "alice";
constexpr std::string_view kDevice = "ABCDEF0123456789";

class DeviceStoreConformance : public ::testing::TestWithParam<DeviceBackendFactory> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    reopen();
  }

  void reopen(Random& random = systemRandom()) {
    store_.reset();
    auto s = GetParam().open(dir_.path(), random);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  Device seen(std::string_view user, std::string_view device, std::int64_t at = 1000,
              std::string type = "iPhone", std::string agent = "Apple-iPhone/1") {
    auto d = store_->upsertDevice(user, device, DeviceSeen{std::move(type), std::move(agent), at});
    EXPECT_TRUE(d) << d.error().message();
    return d ? *d : Device{};
  }

  std::string commitOk(std::string_view collection, std::string_view expected,
                       std::string_view blob) {
    auto k = store_->commit(kUser, kDevice, collection, expected, blob);
    EXPECT_TRUE(k) << k.error().message();
    return k ? *k : std::string();
  }

  rampart::testing::TempDir dir_{"rampart-devices"};
  std::unique_ptr<DeviceStore> store_;
};

// --- devices ------------------------------------------------------------------------

TEST_P(DeviceStoreConformance, UpsertCreatesThenUpdates) {
  Device d = seen(kUser, kDevice, 1000, "iPhone", "Apple-iPhone/1");
  EXPECT_EQ(d.user, kUser);
  EXPECT_EQ(d.device_id, kDevice);
  EXPECT_EQ(d.first_seen, 1000);
  EXPECT_EQ(d.last_seen, 1000);
  EXPECT_EQ(d.policy_key, 0u);
  EXPECT_EQ(d.pending_policy_key, 0u);
  EXPECT_EQ(d.access, DeviceAccess::allowed);
  EXPECT_EQ(d.wipe, WipeState::none);

  d = seen(kUser, kDevice, 2000, "iPad", "Apple-iPad/2");
  EXPECT_EQ(d.first_seen, 1000);
  EXPECT_EQ(d.last_seen, 2000);
  EXPECT_EQ(d.device_type, "iPad");
  EXPECT_EQ(d.user_agent, "Apple-iPad/2");
  // A late request does not move last_seen back.
  d = seen(kUser, kDevice, 1500);
  EXPECT_EQ(d.last_seen, 2000);

  auto got = store_->getDevice(kUser, kDevice);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->last_seen, 2000);
}

TEST_P(DeviceStoreConformance, UnknownDeviceIsNotFound) {
  EXPECT_TRUE(store_->getDevice(kUser, "nope").error().is(Errc::not_found));
  EXPECT_TRUE(store_->setDeviceInformation(kUser, "nope", {}).error().is(Errc::not_found));
  EXPECT_TRUE(store_->beginProvision(kUser, "nope").error().is(Errc::not_found));
  EXPECT_TRUE(store_->confirmProvision(kUser, "nope", 1, 1).error().is(Errc::not_found));
  EXPECT_TRUE(store_->setAccess(kUser, "nope", DeviceAccess::blocked).error().is(Errc::not_found));
  EXPECT_TRUE(store_->requestWipe(kUser, "nope", false, 1).error().is(Errc::not_found));
  EXPECT_TRUE(store_->acknowledgeWipe(kUser, "nope", 1).error().is(Errc::not_found));
  EXPECT_TRUE(store_->removeDevice(kUser, "nope").error().is(Errc::not_found));
  EXPECT_TRUE(store_->commit(kUser, "nope", "1", kInitialSyncKey, "x").error().is(Errc::not_found));
  EXPECT_TRUE(store_->saveLastPing(kUser, "nope", {60, {}}).error().is(Errc::not_found));
  EXPECT_TRUE(store_->saveLastSync(kUser, "nope", "x").error().is(Errc::not_found));
  // The same device id under another user is another device.
  seen("bob", kDevice);
  EXPECT_TRUE(store_->getDevice(kUser, kDevice).error().is(Errc::not_found));
}

TEST_P(DeviceStoreConformance, ListDevicesPerUserOrderedById) {
  seen(kUser, "zz");
  seen(kUser, "aa");
  seen("bob", "mm");
  auto list = store_->listDevices(kUser);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].device_id, "aa");
  EXPECT_EQ((*list)[1].device_id, "zz");
  auto none = store_->listDevices("carol");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(DeviceStoreConformance, DeviceInformationRoundTripsAndIsReplaced) {
  seen(kUser, kDevice);
  DeviceInformation info;
  info.model = "iPhone15,2";
  info.imei = "356938035643809";
  info.friendly_name = "Alice's phone";
  info.os = "iOS 17.1";
  info.os_language = "en";
  info.phone_number = "+15550100";
  info.user_agent = "Apple-iPhone15C2/2101.1";
  info.mobile_operator = "Operator";
  ASSERT_TRUE(store_->setDeviceInformation(kUser, kDevice, info));
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->info, info);

  DeviceInformation fewer;
  fewer.model = "Pixel";
  fewer.os_language = "";  // sent empty: kept as empty, not as absent
  ASSERT_TRUE(store_->setDeviceInformation(kUser, kDevice, fewer));
  reopen();
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->info, fewer);
}

// --- provisioning (MS-ASPROV 3.1.5.1) ------------------------------------------------

TEST_P(DeviceStoreConformance, TwoPhaseProvision) {
  seen(kUser, kDevice);
  auto temp = store_->beginProvision(kUser, kDevice);
  ASSERT_TRUE(temp) << temp.error().message();
  EXPECT_NE(*temp, 0u);
  Device d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.pending_policy_key, *temp);
  EXPECT_EQ(d.policy_key, 0u);

  // A wrong temporary key is refused and changes nothing.
  auto wrong = store_->confirmProvision(kUser, kDevice, *temp + 1, 7);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::invalid_argument));
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->pending_policy_key, *temp);

  auto final_key = store_->confirmProvision(kUser, kDevice, *temp, 7);
  ASSERT_TRUE(final_key) << final_key.error().message();
  EXPECT_NE(*final_key, 0u);
  EXPECT_NE(*final_key, *temp);
  d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.policy_key, *final_key);
  EXPECT_EQ(d.pending_policy_key, 0u);
  EXPECT_EQ(d.policy_version, 7);

  // The temporary key is spent.
  EXPECT_TRUE(store_->confirmProvision(kUser, kDevice, *temp, 7).error().is(Errc::invalid_argument));
  // Nothing pending: even 0 is refused.
  EXPECT_TRUE(store_->confirmProvision(kUser, kDevice, 0, 7).error().is(Errc::invalid_argument));

  reopen();
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->policy_key, *final_key);
}

TEST_P(DeviceStoreConformance, ReprovisionKeepsTheFinalKeyUntilAcknowledged) {
  seen(kUser, kDevice);
  auto t1 = store_->beginProvision(kUser, kDevice);
  auto k1 = store_->confirmProvision(kUser, kDevice, *t1, 1);
  ASSERT_TRUE(k1);
  auto t2 = store_->beginProvision(kUser, kDevice);
  ASSERT_TRUE(t2);
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->policy_key, *k1);
  // A second phase 1 replaces the first pending key.
  auto t3 = store_->beginProvision(kUser, kDevice);
  ASSERT_TRUE(t3);
  EXPECT_TRUE(store_->confirmProvision(kUser, kDevice, *t2, 2).error().is(Errc::invalid_argument));
  auto k2 = store_->confirmProvision(kUser, kDevice, *t3, 2);
  ASSERT_TRUE(k2);
  EXPECT_NE(*k2, *k1);
  std::set<std::uint32_t> all{*t1, *k1, *t2, *t3, *k2};
  EXPECT_EQ(all.size(), 5u) << "keys should differ";
}

TEST_P(DeviceStoreConformance, PolicyKeysSkipZeroAndRepeats) {
  seen(kUser, kDevice);
  // The generator offers 0, then 5 twice, then 9: the temporary key must be 5
  // and the final key must skip 0 and the pending 5.
  ScriptedRandom scripted({0, 5, 0, 5, 9});
  reopen(scripted);
  auto temp = store_->beginProvision(kUser, kDevice);
  ASSERT_TRUE(temp);
  EXPECT_EQ(*temp, 5u);
  auto final_key = store_->confirmProvision(kUser, kDevice, 5, 1);
  ASSERT_TRUE(final_key);
  EXPECT_EQ(*final_key, 9u);
  store_.reset();  // before `scripted` goes
}

// --- wipe and access -----------------------------------------------------------------

TEST_P(DeviceStoreConformance, WipeRequestAndAcknowledgement) {
  seen(kUser, kDevice);
  EXPECT_TRUE(store_->acknowledgeWipe(kUser, kDevice, 10).error().is(Errc::invalid_argument));

  ASSERT_TRUE(store_->requestWipe(kUser, kDevice, /*account_only=*/true, 100));
  Device d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.wipe, WipeState::pending_account_only);
  EXPECT_TRUE(d.wipe_account_only);
  EXPECT_EQ(d.wipe_requested_at, 100);
  EXPECT_EQ(d.wipe_acknowledged_at, 0);

  // A full wipe replaces the account-only request.
  ASSERT_TRUE(store_->requestWipe(kUser, kDevice, false, 200));
  d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.wipe, WipeState::pending);
  EXPECT_FALSE(d.wipe_account_only);
  EXPECT_EQ(d.wipe_requested_at, 200);

  ASSERT_TRUE(store_->acknowledgeWipe(kUser, kDevice, 300));
  reopen();
  d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.wipe, WipeState::acknowledged);
  EXPECT_EQ(d.wipe_requested_at, 200);
  EXPECT_EQ(d.wipe_acknowledged_at, 300);
  // Acknowledged twice: nothing pending any more.
  EXPECT_TRUE(store_->acknowledgeWipe(kUser, kDevice, 400).error().is(Errc::invalid_argument));
}

TEST_P(DeviceStoreConformance, AccessStates) {
  seen(kUser, kDevice);
  for (DeviceAccess a : {DeviceAccess::blocked, DeviceAccess::quarantined, DeviceAccess::allowed,
                         DeviceAccess::blocked}) {
    ASSERT_TRUE(store_->setAccess(kUser, kDevice, a));
    EXPECT_EQ(store_->getDevice(kUser, kDevice)->access, a);
  }
  reopen();
  EXPECT_EQ(store_->getDevice(kUser, kDevice)->access, DeviceAccess::blocked);
  // Seeing the device again does not undo the administrator's decision.
  EXPECT_EQ(seen(kUser, kDevice, 5000).access, DeviceAccess::blocked);
}

TEST_P(DeviceStoreConformance, RemoveDeviceForgetsItsState) {
  seen(kUser, kDevice);
  seen(kUser, "other");
  commitOk("1", kInitialSyncKey, "a");
  ASSERT_TRUE(store_->saveLastPing(kUser, kDevice, {60, {{"1", "Email"}}}));
  ASSERT_TRUE(store_->saveLastSync(kUser, kDevice, "s"));
  ASSERT_TRUE(store_->removeDevice(kUser, kDevice));
  EXPECT_TRUE(store_->getDevice(kUser, kDevice).error().is(Errc::not_found));
  EXPECT_TRUE(store_->getDevice(kUser, "other"));
  // Seen again, it starts from nothing.
  seen(kUser, kDevice);
  EXPECT_FALSE(*store_->current(kUser, kDevice, "1"));
  EXPECT_FALSE(*store_->lastPing(kUser, kDevice));
  EXPECT_FALSE(*store_->lastSync(kUser, kDevice));
}

// --- sync states (MS-ASCMD 2.2.3.181.4) ----------------------------------------------

TEST_P(DeviceStoreConformance, SyncKeyChain) {
  seen(kUser, kDevice);
  auto none = store_->current(kUser, kDevice, "5");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  // A chain starts only from "0".
  EXPECT_TRUE(store_->commit(kUser, kDevice, "5", "{x}1", "a").error().is(Errc::not_found));

  std::string k1 = commitOk("5", kInitialSyncKey, "state-1");
  std::string k2 = commitOk("5", k1, "state-2");
  std::string k3 = commitOk("5", k2, "state-3");
  EXPECT_NE(k1, "0");
  EXPECT_NE(k1, k2);
  EXPECT_NE(k2, k3);
  EXPECT_NE(k1, k3);
  EXPECT_EQ(**store_->current(kUser, kDevice, "5"), (SyncState{k3, "state-3"}));

  // The current key answers with no successor.
  auto cur = store_->lookup(kUser, kDevice, "5", k3);
  ASSERT_TRUE(cur);
  EXPECT_EQ(cur->state, (SyncState{k3, "state-3"}));
  EXPECT_FALSE(cur->next);
  // The previous key still answers, with what was committed on top of it.
  auto prev = store_->lookup(kUser, kDevice, "5", k2);
  ASSERT_TRUE(prev) << prev.error().message();
  EXPECT_EQ(prev->state, (SyncState{k2, "state-2"}));
  ASSERT_TRUE(prev->next);
  EXPECT_EQ(*prev->next, (SyncState{k3, "state-3"}));
  // The one before that does not, nor does a made-up key.
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "5", k1).error().is(Errc::not_found));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "5", "junk").error().is(Errc::not_found));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "9", k3).error().is(Errc::not_found));

  // Committing from anything but the current key is refused and changes nothing.
  EXPECT_TRUE(store_->commit(kUser, kDevice, "5", k2, "x").error().is(Errc::already_exists));
  EXPECT_TRUE(store_->commit(kUser, kDevice, "5", "junk", "x").error().is(Errc::already_exists));
  EXPECT_TRUE(store_->commit(kUser, kDevice, "5", kInitialSyncKey, "x")
                  .error().is(Errc::already_exists));
  EXPECT_EQ(**store_->current(kUser, kDevice, "5"), (SyncState{k3, "state-3"}));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "5", k2));

  // Collections and devices are separate chains.
  seen(kUser, "other");
  EXPECT_FALSE(*store_->current(kUser, "other", "5"));
  EXPECT_FALSE(*store_->current(kUser, kDevice, "hierarchy"));
}

TEST_P(DeviceStoreConformance, BlobsAreBytes) {
  seen(kUser, kDevice);
  std::string bytes("\0\x01\xff\r\n", 5);
  std::string big(200'000, 'q');
  std::string k1 = commitOk("1", kInitialSyncKey, bytes);
  std::string k2 = commitOk("1", k1, "");
  std::string k3 = commitOk("1", k2, big);
  EXPECT_EQ(store_->lookup(kUser, kDevice, "1", k2)->state.blob, "");
  EXPECT_EQ((*store_->current(kUser, kDevice, "1"))->blob, big);
  ASSERT_TRUE(store_->saveLastSync(kUser, kDevice, bytes));
  EXPECT_EQ(**store_->lastSync(kUser, kDevice), bytes);
}

TEST_P(DeviceStoreConformance, ResetStartsANewChainThatOldKeysDoNotMatch) {
  seen(kUser, kDevice);
  std::string a1 = commitOk("1", kInitialSyncKey, "a1");
  std::string a2 = commitOk("1", a1, "a2");
  std::string h1 = commitOk("hierarchy", kInitialSyncKey, "h1");

  ASSERT_TRUE(store_->reset(kUser, kDevice, "1"));
  ASSERT_TRUE(store_->reset(kUser, kDevice, "1"));  // nothing there: still fine
  EXPECT_FALSE(*store_->current(kUser, kDevice, "1"));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "1", a2).error().is(Errc::not_found));
  EXPECT_TRUE(store_->current(kUser, kDevice, "hierarchy")->has_value());

  std::string b1 = commitOk("1", kInitialSyncKey, "b1");
  std::string b2 = commitOk("1", b1, "b2");
  EXPECT_NE(b1, a1);
  EXPECT_NE(b2, a2);
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "1", a1).error().is(Errc::not_found));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "1", a2).error().is(Errc::not_found));

  ASSERT_TRUE(store_->resetAll(kUser, kDevice));
  EXPECT_FALSE(*store_->current(kUser, kDevice, "1"));
  EXPECT_FALSE(*store_->current(kUser, kDevice, "hierarchy"));
  EXPECT_TRUE(store_->lookup(kUser, kDevice, "hierarchy", h1).error().is(Errc::not_found));
  // The device itself stays.
  EXPECT_TRUE(store_->getDevice(kUser, kDevice));
}

TEST_P(DeviceStoreConformance, RacingCommitsFromOneKeyHaveOneWinner) {
  seen(kUser, kDevice);
  for (std::string expected : {std::string(kInitialSyncKey), std::string()}) {
    if (expected.empty()) expected = (*store_->current(kUser, kDevice, "1"))->key;
    std::atomic<int> wins{0}, conflicts{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::string> keys(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        auto k = store_->commit(kUser, kDevice, "1", expected, "from-" + std::to_string(t));
        if (k) {
          ++wins;
          keys[static_cast<std::size_t>(t)] = *k;
        } else if (k.error().is(Errc::already_exists)) {
          ++conflicts;
        } else {
          ++other;
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins, 1);
    EXPECT_EQ(conflicts, 7);
    EXPECT_EQ(other, 0);
    for (int t = 0; t < 8; ++t) {
      if (keys[static_cast<std::size_t>(t)].empty()) continue;
      EXPECT_EQ(**store_->current(kUser, kDevice, "1"),
                (SyncState{keys[static_cast<std::size_t>(t)], "from-" + std::to_string(t)}));
    }
  }
}

TEST_P(DeviceStoreConformance, TwoStoresOnOneFileHaveOneWinner) {
  // Two handles on the same file stand for two processes: the check and the
  // update must be one transaction, not merely one mutex.
  seen(kUser, kDevice);
  std::string k1 = commitOk("1", kInitialSyncKey, "a");
  auto second = GetParam().open(dir_.path(), systemRandom());
  ASSERT_TRUE(second);
  std::atomic<int> wins{0};
  std::thread t1([&] { wins += store_->commit(kUser, kDevice, "1", k1, "x").has_value(); });
  std::thread t2([&] { wins += (*second)->commit(kUser, kDevice, "1", k1, "y").has_value(); });
  t1.join();
  t2.join();
  EXPECT_EQ(wins, 1);
}

TEST_P(DeviceStoreConformance, EverythingSurvivesReopen) {
  seen(kUser, kDevice, 1000, "Android", "Agent/1");
  auto temp = store_->beginProvision(kUser, kDevice);
  auto final_key = store_->confirmProvision(kUser, kDevice, *temp, 3);
  ASSERT_TRUE(final_key);
  auto pending = store_->beginProvision(kUser, kDevice);
  ASSERT_TRUE(pending);
  ASSERT_TRUE(store_->requestWipe(kUser, kDevice, false, 50));
  std::string k1 = commitOk("1", kInitialSyncKey, "one");
  std::string k2 = commitOk("1", k1, "two");
  PingCache ping{480, {{"1", "Email"}, {"7", "Calendar"}, {"9", "Email"}}};
  ASSERT_TRUE(store_->saveLastPing(kUser, kDevice, ping));
  ASSERT_TRUE(store_->saveLastSync(kUser, kDevice, "sync-request"));

  reopen();
  Device d = *store_->getDevice(kUser, kDevice);
  EXPECT_EQ(d.device_type, "Android");
  EXPECT_EQ(d.user_agent, "Agent/1");
  EXPECT_EQ(d.policy_key, *final_key);
  EXPECT_EQ(d.pending_policy_key, *pending);
  EXPECT_EQ(d.policy_version, 3);
  EXPECT_EQ(d.wipe, WipeState::pending);
  EXPECT_EQ(**store_->current(kUser, kDevice, "1"), (SyncState{k2, "two"}));
  EXPECT_EQ(store_->lookup(kUser, kDevice, "1", k1)->state.blob, "one");
  EXPECT_EQ(**store_->lastPing(kUser, kDevice), ping);
  EXPECT_EQ(**store_->lastSync(kUser, kDevice), "sync-request");
  // The chain goes on where it was.
  std::string k3 = commitOk("1", k2, "three");
  EXPECT_NE(k3, k2);
  EXPECT_NE(k3, k1);
}

TEST_P(DeviceStoreConformance, PingAndSyncCacheRoundTrip) {
  seen(kUser, kDevice);
  EXPECT_FALSE(*store_->lastPing(kUser, kDevice));
  EXPECT_FALSE(*store_->lastSync(kUser, kDevice));

  PingCache first{60, {{"1", "Email"}, {"2", "Email"}, {"3", "Contacts"}}};
  ASSERT_TRUE(store_->saveLastPing(kUser, kDevice, first));
  EXPECT_EQ(**store_->lastPing(kUser, kDevice), first);
  // A later Ping replaces the whole set, fewer folders included.
  PingCache second{3540, {{"9", "Email"}}};
  ASSERT_TRUE(store_->saveLastPing(kUser, kDevice, second));
  EXPECT_EQ(**store_->lastPing(kUser, kDevice), second);
  PingCache empty{120, {}};
  ASSERT_TRUE(store_->saveLastPing(kUser, kDevice, empty));
  EXPECT_EQ(**store_->lastPing(kUser, kDevice), empty);

  ASSERT_TRUE(store_->saveLastSync(kUser, kDevice, "one"));
  ASSERT_TRUE(store_->saveLastSync(kUser, kDevice, "two"));
  EXPECT_EQ(**store_->lastSync(kUser, kDevice), "two");
}

TEST_P(DeviceStoreConformance, SharesTheFileWithTheMailStore) {
  // Both stores open the same file, each with its own migrations.
  auto mail = sqlite::openSqliteMailStore((dir_.path() / "mail.db").string(), {});
  ASSERT_TRUE(mail) << mail.error().message();
  ASSERT_TRUE((*mail)->openMailbox("alice"));
  seen(kUser, kDevice);
  mail->reset();
  reopen();
  EXPECT_TRUE(store_->getDevice(kUser, kDevice));
}

// --- crash safety ------------------------------------------------------------------------

std::string crashBlob(std::uint64_t collection, std::uint64_t n) {
  // Several pages, so a torn write would show.
  return std::to_string(collection) + ":" + std::to_string(n) + ":" +
         std::string(5000 + (collection * 131 + n) % 977, static_cast<char>('a' + n % 26));
}

TEST_P(DeviceStoreConformance, AcknowledgedKeysSurviveSigkill) {
  seen(kUser, kDevice);
  store_.reset();  // the child opens its own; no open connection across fork()

  constexpr std::uint64_t kCollections = 4;
  std::random_device rd;
  std::uint64_t kill_after = 20 + rd() % 150;

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto s = GetParam().open(dir_.path(), systemRandom());
    if (!s) _exit(2);
    // One thread per collection, so the kill can land between any two commits.
    std::vector<std::thread> threads;
    for (std::uint64_t c = 0; c < kCollections; ++c) {
      threads.emplace_back([&, c] {
        std::string collection = std::to_string(c);
        std::string key(kInitialSyncKey);
        for (std::uint64_t n = 0; n < 100'000; ++n) {
          auto k = (*s)->commit(kUser, kDevice, collection, key, crashBlob(c, n));
          if (!k) _exit(3);
          key = *k;
          // Record: collection, n, key length, key bytes (keys are short).
          char rec[80] = {};
          std::uint64_t head[3] = {c, n, key.size()};
          if (key.size() > sizeof rec - sizeof head) _exit(4);
          std::memcpy(rec, head, sizeof head);
          std::memcpy(rec + sizeof head, key.data(), key.size());
          if (write(fds[1], rec, sizeof rec) != static_cast<ssize_t>(sizeof rec)) _exit(5);
        }
      });
    }
    for (auto& t : threads) t.join();
    _exit(0);
  }
  close(fds[1]);
  // The newest acknowledged (n, key) per collection.
  std::vector<std::optional<std::pair<std::uint64_t, std::string>>> acked(kCollections);
  std::uint64_t count = 0;
  bool killed = false;
  while (true) {
    char rec[80];
    ssize_t n = read(fds[0], rec, sizeof rec);
    if (n <= 0) break;
    ASSERT_EQ(n, static_cast<ssize_t>(sizeof rec));
    std::uint64_t head[3];
    std::memcpy(head, rec, sizeof head);
    ASSERT_LT(head[0], kCollections);
    acked[head[0]] = std::make_pair(head[1], std::string(rec + sizeof head, head[2]));
    if (!killed && ++count == kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(killed);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early: " << WEXITSTATUS(status);

  reopen();
  for (std::uint64_t c = 0; c < kCollections; ++c) {
    if (!acked[c]) continue;
    auto [n, key] = *acked[c];
    std::string collection = std::to_string(c);
    // The newest acknowledged key is current, or the commit after it landed
    // without its acknowledgement reaching us and it is now the previous one.
    auto found = store_->lookup(kUser, kDevice, collection, key);
    ASSERT_TRUE(found) << "acknowledged key " << key << " of collection " << c << " lost";
    EXPECT_EQ(found->state.blob, crashBlob(c, n));
    if (found->next) {
      EXPECT_EQ(found->next->blob, crashBlob(c, n + 1));
    }
    // And the chain goes on.
    auto cur = store_->current(kUser, kDevice, collection);
    ASSERT_TRUE(cur && *cur);
    EXPECT_TRUE(store_->commit(kUser, kDevice, collection, (*cur)->key, "after"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Backends, DeviceStoreConformance,
    ::testing::Values(DeviceBackendFactory{
        "sqlite",
        [](const std::filesystem::path& dir, Random& random) {
          return sqlite::openSqliteDeviceStore((dir / "mail.db").string(), random);
        }}),
    [](const ::testing::TestParamInfo<DeviceBackendFactory>& backend) {
      return backend.param.name;
    });

}  // namespace
}  // namespace rampart::store
