// Ping (MS-ASCMD 2.2.1.13): the request codec, preparePing() over real SQLite
// mail and device stores, and the PushHub parking coroutines on a real
// io_context, woken by real deliveries. Behaviour only, never timings.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codec/eas/ping_request.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "net/asio.h"
#include "server/eas/ping_command.h"
#include "server/eas/push_hub.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"
#include "unit/store/store_test_util.h"

// Allocation counting for the per-waiter footprint (only while enabled).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocations{0};
std::atomic<std::size_t> g_bytes{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(size, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace rampart::server::eas {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";

wbxml::Document xml(const std::string& text) {
  auto doc = wbxml::parseXml(text);
  EXPECT_TRUE(doc) << doc.error().message() << "\n" << text;
  return doc ? *doc : wbxml::Document{};
}

std::string folderXml(const std::string& id, const std::string& cls = "Email") {
  return "<Folder><Id>" + id + "</Id><Class>" + cls + "</Class></Folder>";
}

std::string pingXml(std::optional<int> heartbeat, const std::vector<std::string>& folders) {
  std::string s = R"(<Ping xmlns="Ping:">)";
  if (heartbeat) s += "<HeartbeatInterval>" + std::to_string(*heartbeat) + "</HeartbeatInterval>";
  if (!folders.empty()) {
    s += "<Folders>";
    for (const auto& f : folders) s += f;
    s += "</Folders>";
  }
  return s + "</Ping>";
}

// --- the request codec ------------------------------------------------------------

TEST(PingRequestCodec, DecodesHeartbeatAndFolders) {
  auto r = rampart::eas::decodePingRequest(
      xml(pingXml(480, {folderXml("5"), folderXml("7", "Calendar")})));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->heartbeat_interval, 480);
  ASSERT_TRUE(r->folders);
  ASSERT_EQ(r->folders->size(), 2u);
  EXPECT_EQ((*r->folders)[0], (rampart::eas::PingFolder{"5", "Email"}));
  EXPECT_EQ((*r->folders)[1], (rampart::eas::PingFolder{"7", "Calendar"}));
  // And back.
  auto bytes = rampart::eas::encodePingRequest(*r);
  ASSERT_TRUE(bytes);
  auto doc = wbxml::decode(*bytes);
  ASSERT_TRUE(doc);
  auto again = rampart::eas::decodePingRequest(*doc);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *r);
}

TEST(PingRequestCodec, PartsAreOptional) {
  auto hb = rampart::eas::decodePingRequest(xml(pingXml(60, {})));
  ASSERT_TRUE(hb);
  EXPECT_FALSE(hb->folders);
  auto none = rampart::eas::decodePingRequest(xml(R"(<Ping xmlns="Ping:"/>)"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->heartbeat_interval);
  EXPECT_FALSE(none->folders);
}

TEST(PingRequestCodec, RejectsMalformedWithTheElementNamed) {
  struct Case {
    std::string xml;
    std::string says;
  };
  const std::vector<Case> cases = {
      {R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>)", "root"},
      {pingXml(std::nullopt, {"<Folder><Id>5</Id></Folder>"}), "without Ping:Class"},
      {pingXml(std::nullopt, {"<Folder><Class>Email</Class></Folder>"}), "without Ping:Id"},
      {pingXml(std::nullopt, {folderXml("5"), folderXml("5")}), "twice"},
      {pingXml(std::nullopt, {folderXml("5", "SMS")}), "Ping:Class"},
      {pingXml(std::nullopt, {folderXml(std::string(65, '1'))}), "Ping:Id"},
      {R"(<Ping xmlns="Ping:"><HeartbeatInterval>soon</HeartbeatInterval></Ping>)",
       "HeartbeatInterval"},
      {R"(<Ping xmlns="Ping:"><HeartbeatInterval>-5</HeartbeatInterval></Ping>)",
       "HeartbeatInterval"},
      {R"(<Ping xmlns="Ping:"><HeartbeatInterval>60</HeartbeatInterval><HeartbeatInterval>60</HeartbeatInterval></Ping>)",
       "duplicate"},
      {R"(<Ping xmlns="Ping:"><Folders/></Ping>)", "without Ping:Folder"},
      {R"(<Ping xmlns="Ping:"><MaxFolders>3</MaxFolders></Ping>)", "Ping:MaxFolders"},
  };
  for (const Case& c : cases) {
    auto r = rampart::eas::decodePingRequest(xml(c.xml));
    ASSERT_FALSE(r) << c.xml;
    EXPECT_TRUE(r.error().is(Errc::invalid_argument)) << c.xml << ": " << r.error().message();
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << c.xml << ": " << r.error().message();
  }
}

TEST(PingRequestCodec, TooManyFoldersIsTheOnlyLimit) {
  rampart::eas::PingRequestLimits limits;
  limits.max_folders = 2;
  auto two =
      rampart::eas::decodePingRequest(xml(pingXml(60, {folderXml("1"), folderXml("2")})), limits);
  EXPECT_TRUE(two);
  auto three = rampart::eas::decodePingRequest(
      xml(pingXml(60, {folderXml("1"), folderXml("2"), folderXml("3")})), limits);
  ASSERT_FALSE(three);
  EXPECT_TRUE(three.error().is(Errc::limit_exceeded)) << three.error().message();
}

// --- responses --------------------------------------------------------------------

struct PingView {
  int status = 0;
  std::vector<std::string> folders;
  std::optional<int> heartbeat;
  std::optional<int> max_folders;
  std::string xml;
};

PingView view(const std::vector<std::uint8_t>& bytes) {
  PingView v;
  auto doc = wbxml::decode(bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  if (!doc) return v;
  v.xml = wbxml::toXml(*doc);
  EXPECT_EQ(doc->root.name, "Ping") << v.xml;
  EXPECT_FALSE(doc->root.children.empty()) << v.xml;
  if (doc->root.children.empty()) return v;
  EXPECT_EQ(doc->root.children.front().name, "Status") << v.xml;
  v.status = std::stoi(doc->root.children.front().text);
  if (const auto* f = doc->root.child("Folders")) {
    for (const auto& c : f->children) {
      EXPECT_EQ(c.name, "Folder");
      v.folders.push_back(c.text);
    }
  }
  if (const auto* h = doc->root.child("HeartbeatInterval")) v.heartbeat = std::stoi(h->text);
  if (const auto* m = doc->root.child("MaxFolders")) v.max_folders = std::stoi(m->text);
  return v;
}

TEST(PingResponse, WakeResultsMapToStatus) {
  PingView changed = view(*pingWakeResponse({WakeReason::changed, {12, 14}}));
  EXPECT_EQ(changed.status, 2) << changed.xml;
  EXPECT_EQ(changed.folders, (std::vector<std::string>{"12", "14"}));
  for (WakeReason r : {WakeReason::timeout, WakeReason::superseded, WakeReason::stopping}) {
    PingView v = view(*pingWakeResponse({r, {}}));
    EXPECT_EQ(v.status, 1) << v.xml;
    EXPECT_TRUE(v.folders.empty());
  }
  PingView expired = view(*pingResponse(1, {}));
  EXPECT_EQ(expired.status, 1);
}

// --- preparePing over SQLite --------------------------------------------------------

class PreparePingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    devices_ = std::move(*devices);
    ASSERT_TRUE(devices_->upsertDevice(kUser, kDevice, {"iPhone", "Apple-iPhone/1", 1000}));
    auto mailbox = mail_->openMailbox(kUser);
    ASSERT_TRUE(mailbox);
    mailbox_ = *mailbox;
    inbox_ = mail_->folderOfType(mailbox_, store::FolderType::inbox)->id;
    drafts_ = mail_->folderOfType(mailbox_, store::FolderType::drafts)->id;
  }

  PingPlan prepare(const wbxml::Document* body, const HasPending& pending) {
    CommandContext ctx{*mail_, *devices_, kUser, kDevice, "16.1"};
    auto plan = preparePing(ctx, body, limits_, pending);
    EXPECT_TRUE(plan) << plan.error().message();
    return plan ? std::move(*plan) : PingPlan{};
  }
  PingPlan prepare(const std::string& body_xml) {
    wbxml::Document doc = xml(body_xml);
    return prepare(&doc, nothing_);
  }
  PingView answered(const PingPlan& plan) {
    EXPECT_FALSE(plan.parks());
    if (plan.parks()) return {};
    PingView v = view(*plan.response);
    EXPECT_EQ(v.status, static_cast<int>(plan.status)) << v.xml;
    return v;
  }

  std::string id(store::FolderId f) { return std::to_string(f); }

  testing::TempDir dir_{"rampart-ping"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  store::MailboxId mailbox_ = 0;
  store::FolderId inbox_ = 0;
  store::FolderId drafts_ = 0;
  PingLimits limits_;
  HasPending nothing_ = [](store::FolderId) -> Result<bool> { return false; };
};

TEST_F(PreparePingTest, FullRequestParksAndIsCached) {
  PingPlan plan = prepare(pingXml(480, {folderXml(id(inbox_)), folderXml(id(drafts_))}));
  ASSERT_TRUE(plan.parks());
  EXPECT_EQ(plan.heartbeat, 480s);
  ASSERT_EQ(plan.folders.size(), 2u);
  EXPECT_EQ(plan.folders[0].id, inbox_);
  EXPECT_EQ(plan.folders[0].seen, mail_->getFolder(inbox_)->last_seq);
  EXPECT_EQ(plan.folders[1].id, drafts_);
  auto cached = devices_->lastPing(kUser, kDevice);
  ASSERT_TRUE(cached && *cached);
  EXPECT_EQ((*cached)->heartbeat_seconds, 480);
  ASSERT_EQ((*cached)->folders.size(), 2u);
  EXPECT_EQ((*cached)->folders[0], std::make_pair(id(inbox_), std::string("Email")));
}

TEST_F(PreparePingTest, EmptyAndPartialRequestsReuseTheCache) {
  ASSERT_TRUE(prepare(pingXml(480, {folderXml(id(inbox_))})).parks());
  // No body at all.
  PingPlan empty = prepare(nullptr, nothing_);
  ASSERT_TRUE(empty.parks());
  EXPECT_EQ(empty.heartbeat, 480s);
  ASSERT_EQ(empty.folders.size(), 1u);
  EXPECT_EQ(empty.folders[0].id, inbox_);
  // Only a new heartbeat: the cached folders, and the cache takes the heartbeat.
  PingPlan hb = prepare(pingXml(900, {}));
  ASSERT_TRUE(hb.parks());
  EXPECT_EQ(hb.heartbeat, 900s);
  ASSERT_EQ(hb.folders.size(), 1u);
  // Only folders: the cached heartbeat.
  PingPlan folders = prepare(pingXml(std::nullopt, {folderXml(id(drafts_))}));
  ASSERT_TRUE(folders.parks());
  EXPECT_EQ(folders.heartbeat, 900s);
  ASSERT_EQ(folders.folders.size(), 1u);
  EXPECT_EQ(folders.folders[0].id, drafts_);
  auto cached = devices_->lastPing(kUser, kDevice);
  ASSERT_TRUE(cached && *cached);
  EXPECT_EQ((*cached)->heartbeat_seconds, 900);
  EXPECT_EQ((*cached)->folders.front().first, id(drafts_));
}

TEST_F(PreparePingTest, MissingPartsWithoutCacheIsStatus3) {
  EXPECT_EQ(answered(prepare(nullptr, nothing_)).status, 3);
  EXPECT_EQ(answered(prepare(pingXml(480, {}))).status, 3);
  EXPECT_EQ(answered(prepare(pingXml(std::nullopt, {folderXml(id(inbox_))}))).status, 3);
  EXPECT_EQ(answered(prepare(R"(<Ping xmlns="Ping:"/>)")).status, 3);
  // Nothing was cached from those.
  auto cached = devices_->lastPing(kUser, kDevice);
  ASSERT_TRUE(cached);
  EXPECT_FALSE(*cached);
}

TEST_F(PreparePingTest, MalformedIsStatus4) {
  EXPECT_EQ(answered(prepare(pingXml(480, {"<Folder><Id>5</Id></Folder>"}))).status, 4);
  EXPECT_EQ(answered(prepare(pingXml(480, {folderXml(id(inbox_)), folderXml(id(inbox_))}))).status,
            4);
  EXPECT_EQ(
      answered(prepare(R"(<Ping xmlns="Ping:"><HeartbeatInterval>x</HeartbeatInterval></Ping>)"))
          .status,
      4);
  EXPECT_EQ(answered(prepare(R"(<FolderSync xmlns="FolderHierarchy:"/>)")).status, 4);
}

TEST_F(PreparePingTest, HeartbeatOutOfRangeIsStatus5WithTheBound) {
  PingView low = answered(prepare(pingXml(10, {folderXml(id(inbox_))})));
  EXPECT_EQ(low.status, 5);
  EXPECT_EQ(low.heartbeat, 60) << low.xml;
  PingView high = answered(prepare(pingXml(4000, {folderXml(id(inbox_))})));
  EXPECT_EQ(high.status, 5);
  EXPECT_EQ(high.heartbeat, 3540) << high.xml;
  // The edges are allowed.
  EXPECT_TRUE(prepare(pingXml(60, {folderXml(id(inbox_))})).parks());
  EXPECT_TRUE(prepare(pingXml(3540, {folderXml(id(inbox_))})).parks());
}

TEST_F(PreparePingTest, TooManyFoldersIsStatus6WithMaxFolders) {
  limits_.max_folders = 1;
  PingView v = answered(prepare(pingXml(480, {folderXml(id(inbox_)), folderXml(id(drafts_))})));
  EXPECT_EQ(v.status, 6);
  EXPECT_EQ(v.max_folders, 1) << v.xml;
}

TEST_F(PreparePingTest, UnknownOrForeignFolderIsStatus7) {
  auto other = mail_->openMailbox("bob");
  ASSERT_TRUE(other);
  store::FolderId bobs = mail_->folderOfType(*other, store::FolderType::inbox)->id;
  for (const std::string& f :
       {folderXml("999999"), folderXml("abc"), folderXml("0"), folderXml("-3"),
        folderXml("0" + id(inbox_)), folderXml(id(bobs)), folderXml(id(inbox_), "Calendar")}) {
    EXPECT_EQ(answered(prepare(pingXml(480, {f}))).status, 7) << f;
  }
  // A deleted folder in the cache.
  store::Folder work =
      *mail_->createFolder(mailbox_, std::nullopt, "Work", store::FolderType::user_mail);
  ASSERT_TRUE(prepare(pingXml(480, {folderXml(id(work.id))})).parks());
  ASSERT_TRUE(mail_->deleteFolder(work.id));
  EXPECT_EQ(answered(prepare(nullptr, nothing_)).status, 7);
}

TEST_F(PreparePingTest, PendingChangesAnswerStatus2AtOnce) {
  HasPending inbox_pending = [this](store::FolderId f) -> Result<bool> { return f == inbox_; };
  wbxml::Document doc = xml(pingXml(480, {folderXml(id(drafts_)), folderXml(id(inbox_))}));
  PingView v = answered(prepare(&doc, inbox_pending));
  EXPECT_EQ(v.status, 2);
  EXPECT_EQ(v.folders, (std::vector<std::string>{id(inbox_)})) << v.xml;
}

TEST_F(PreparePingTest, StoreTroubleIsStatus8) {
  HasPending broken = [](store::FolderId) -> Result<bool> {
    return fail(Errc::storage_error, "disk on fire");
  };
  wbxml::Document doc = xml(pingXml(480, {folderXml(id(inbox_))}));
  EXPECT_EQ(answered(prepare(&doc, broken)).status, 8);
  // A folder gone between resolving and checking it is a hierarchy change.
  HasPending gone = [](store::FolderId) -> Result<bool> {
    return fail(Errc::not_found, "no such folder");
  };
  EXPECT_EQ(answered(prepare(&doc, gone)).status, 7);
}

// --- PushHub ---------------------------------------------------------------------

// One parked wait, built before the coroutine starts (docs/decisions/0002:
// nothing built from temporaries lives across the co_await).
struct Parked {
  std::string user = kUser;
  std::string device;
  std::vector<WatchedFolder> folders;
  std::chrono::milliseconds timeout = 1h;
  std::optional<WakeResult> result;
};

class PushHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    mailbox_ = *mail_->openMailbox(kUser);
    inbox_ = mail_->folderOfType(mailbox_, store::FolderType::inbox)->id;
    drafts_ = mail_->folderOfType(mailbox_, store::FolderType::drafts)->id;
    hub_ = std::make_unique<PushHub>(*mail_, pool_.get_executor());
    runner_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    hub_->stop();
    work_.reset();
    runner_.join();
    hub_.reset();
    pool_.join();
  }

  static net::Task<void> park(PushHub* hub, Parked* p, PushHubTest* test) {
    WakeResult r = co_await hub->wait(p->user, p->device, p->folders, p->timeout);
    {
      std::lock_guard lock(test->mutex_);
      p->result = std::move(r);
    }
    test->cv_.notify_all();
  }

  void start(Parked& p) { asio::co_spawn(io_, park(hub_.get(), &p, this), asio::detached); }

  // Waits (up to a generous bound, so a broken hub fails instead of hanging).
  bool until(const std::function<bool()>& done) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] { return done(); });
  }
  bool woken(const Parked& p) {
    return until([&] { return p.result.has_value(); });
  }
  bool parkedCount(std::size_t n) {
    for (int i = 0; i < 2000 && hub_->parked() != n; ++i) std::this_thread::sleep_for(5ms);
    return hub_->parked() == n;
  }

  void deliverTo(store::FolderId folder) {
    store::Delivery::Target t;
    t.mailbox = mailbox_;
    t.folder = folder;
    auto receipt = mail_->deliverSync(
        store::testing::makeDelivery(store::testing::sampleMessage("hi"), 1000, {t}));
    ASSERT_TRUE(receipt) << receipt.error().message();
  }

  // Owned by the fixture: a wait still parked when the test body returns is
  // woken by TearDown's stop(), and writes its result here.
  Parked& watching(std::string device, std::vector<store::FolderId> folders) {
    Parked& p = parked_.emplace_back();
    p.device = std::move(device);
    for (auto f : folders) p.folders.push_back({f, -1});
    return p;
  }

  testing::TempDir dir_{"rampart-pushhub"};
  std::unique_ptr<store::MailStore> mail_;
  store::MailboxId mailbox_ = 0;
  store::FolderId inbox_ = 0;
  store::FolderId drafts_ = 0;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::thread_pool pool_{1};
  std::unique_ptr<PushHub> hub_;
  std::thread runner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Parked> parked_;
};

TEST_F(PushHubTest, DeliveryWakesTheWaiterWithTheFolder) {
  Parked& p = watching("dev1", {drafts_, inbox_});
  start(p);
  ASSERT_TRUE(parkedCount(1));
  EXPECT_EQ(hub_->subscriptions(), 2u);
  deliverTo(inbox_);
  ASSERT_TRUE(woken(p));
  EXPECT_EQ(p.result->reason, WakeReason::changed);
  EXPECT_EQ(p.result->changed, std::vector<store::FolderId>{inbox_});
  EXPECT_EQ(hub_->parked(), 0u);
  EXPECT_EQ(hub_->subscriptions(), 0u);
}

TEST_F(PushHubTest, HeartbeatPasses) {
  Parked& p = watching("dev1", {inbox_});
  p.timeout = 20ms;
  start(p);
  ASSERT_TRUE(woken(p));
  EXPECT_EQ(p.result->reason, WakeReason::timeout);
  EXPECT_TRUE(p.result->changed.empty());
  EXPECT_EQ(hub_->parked(), 0u);
  EXPECT_EQ(hub_->subscriptions(), 0u);
}

TEST_F(PushHubTest, NewerWaitOfTheSameDeviceSupersedes) {
  Parked& first = watching("dev1", {inbox_});
  start(first);
  ASSERT_TRUE(parkedCount(1));
  Parked& second = watching("dev1", {drafts_});
  start(second);
  ASSERT_TRUE(woken(first));
  EXPECT_EQ(first.result->reason, WakeReason::superseded);
  EXPECT_EQ(hub_->parked(), 1u);
  EXPECT_EQ(hub_->subscriptions(), 1u);  // the first one's folder was dropped
  // A newer wait on the same folder keeps it.
  Parked& third = watching("dev1", {drafts_});
  start(third);
  ASSERT_TRUE(woken(second));
  EXPECT_EQ(second.result->reason, WakeReason::superseded);
  EXPECT_EQ(hub_->parked(), 1u);
  EXPECT_EQ(hub_->subscriptions(), 1u);
  // Another user's device of the same name is someone else.
  Parked& bobs = watching("dev1", {inbox_});
  bobs.user = "bob";
  start(bobs);
  ASSERT_TRUE(parkedCount(2));
  EXPECT_FALSE(third.result);
  deliverTo(drafts_);
  ASSERT_TRUE(woken(third));
  EXPECT_EQ(third.result->reason, WakeReason::changed);
}

TEST_F(PushHubTest, UnrelatedFolderDoesNotWake) {
  Parked& drafts_only = watching("dev1", {drafts_});
  Parked& inbox_watcher = watching("dev2", {inbox_});
  start(drafts_only);
  start(inbox_watcher);
  ASSERT_TRUE(parkedCount(2));
  deliverTo(inbox_);
  ASSERT_TRUE(woken(inbox_watcher));
  // The same commit's notifications are all out by now: the Drafts waiter is
  // still parked, with its subscription.
  {
    std::lock_guard lock(mutex_);
    EXPECT_FALSE(drafts_only.result);
  }
  EXPECT_EQ(hub_->parked(), 1u);
  EXPECT_EQ(hub_->subscriptions(), 1u);
}

TEST_F(PushHubTest, StopWakesEveryoneAndRefusesNewWaits) {
  std::vector<Parked*> parked;
  for (int i = 0; i < 5; ++i) {
    parked.push_back(&watching("dev" + std::to_string(i), {inbox_}));
    start(*parked.back());
  }
  ASSERT_TRUE(parkedCount(5));
  hub_->stop();
  for (const Parked* p : parked) {
    ASSERT_TRUE(woken(*p));
    EXPECT_EQ(p->result->reason, WakeReason::stopping);
  }
  EXPECT_EQ(hub_->parked(), 0u);
  EXPECT_EQ(hub_->subscriptions(), 0u);
  Parked& late = watching("late", {inbox_});
  start(late);
  ASSERT_TRUE(woken(late));
  EXPECT_EQ(late.result->reason, WakeReason::stopping);
}

TEST_F(PushHubTest, ChangeBeforeSubscribingIsNotLost) {
  // The caller looked at Inbox, found nothing, and a delivery landed before
  // its wait subscribed: the position it saw is behind the folder's.
  store::Seq seen = mail_->getFolder(inbox_)->last_seq;
  deliverTo(inbox_);
  Parked& p = watching("dev1", {});
  p.folders = {{drafts_, mail_->getFolder(drafts_)->last_seq}, {inbox_, seen}};
  start(p);
  ASSERT_TRUE(woken(p));
  EXPECT_EQ(p.result->reason, WakeReason::changed);
  EXPECT_EQ(p.result->changed, std::vector<store::FolderId>{inbox_});
  // Positions that are current park.
  Parked& q = watching("dev2", {});
  q.folders = {{inbox_, mail_->getFolder(inbox_)->last_seq}};
  q.timeout = 50ms;
  start(q);
  ASSERT_TRUE(woken(q));
  EXPECT_EQ(q.result->reason, WakeReason::timeout);
}

TEST_F(PushHubTest, AThousandWaitersParkAndWake) {
  constexpr std::size_t kWaiters = 1000;
  std::vector<Parked*> parked;
  for (std::size_t i = 0; i < kWaiters; ++i) {
    parked.push_back(&watching("ApplDEVICE" + std::to_string(100000 + i), {inbox_}));
  }
  g_allocations = 0;
  g_bytes = 0;
  g_counting = true;
  for (Parked* p : parked) start(*p);
  bool all = parkedCount(kWaiters);
  g_counting = false;
  ASSERT_TRUE(all);
  EXPECT_EQ(hub_->subscriptions(), 1u);  // one store subscription, fanned out
  // Not a check: what a parked wait costs in allocations (this test's
  // coroutine frame included; spawned and parked on one io_context thread).
  std::printf("[ per parked waiter: %.1f allocations, %.0f bytes ]\n",
              static_cast<double>(g_allocations) / kWaiters,
              static_cast<double>(g_bytes) / kWaiters);
  deliverTo(inbox_);
  ASSERT_TRUE(until([&] {
    for (const Parked* p : parked) {
      if (!p->result) return false;
    }
    return true;
  }));
  for (const Parked* p : parked) {
    EXPECT_EQ(p->result->reason, WakeReason::changed);
    EXPECT_EQ(p->result->changed, std::vector<store::FolderId>{inbox_});
  }
  EXPECT_EQ(hub_->parked(), 0u);
  EXPECT_EQ(hub_->subscriptions(), 0u);
}

}  // namespace
}  // namespace rampart::server::eas
