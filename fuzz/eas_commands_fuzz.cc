// libFuzzer target for the EAS command handlers end to end, request decoding
// included: FolderSync, FolderCreate, FolderUpdate, FolderDelete,
// GetItemEstimate, Sync, MoveItems, ItemOperations, Search, Settings and
// Ping's preparePing (with hasPendingChanges as its pending check).
//
// Input: byte 0 picks the command (low 4 bits, modulo the table), the
// protocol version (bit 0x40: 14.1, else 16.1) and AcceptMultiPart (bit
// 0x80); the rest is a WBXML body, decoded with wbxml::decode. Sync and Ping
// with nothing after byte 0 get a null body (the cached-request path).
//
// A SyncKey whose text is "@" is replaced by the current key of its chain
// (the hierarchy chain inside FolderHierarchy elements, else the chain of the
// CollectionId next to it; "0" when there is none), so inputs reach the
// states behind real keys without guessing the store's random generations.
//
// The stores are real SQLite stores in one temporary directory (on /dev/shm
// when there is one), created on the first input and rebuilt from scratch
// every kResetEvery inputs so they cannot grow without bound; the directory
// is removed at exit (after a crash, by the next run). Fresh stores hand out
// the same ids every time: alice's Inbox 1, Drafts 2, Deleted Items 3, Sent
// Items 4, Outbox 5 and her folder "Work" 6; bob's folders 7-11; items 1-3
// are alice's (2 has an attachment, FileReference "2:2"), 4 is bob's (see
// setUp()). Sync keys come from a seeded generator.
//
// The hierarchy chain and the chains of Inbox and Work are started at key 0
// in every fresh store, so "@" is a usable key from the first input on.
// State carries over between inputs (up to kResetEvery - 1 of them), so a
// crash artifact may need the inputs before it to reproduce.
//
// Bad input must be answered in-protocol: a handler error other than
// Errc::storage_error, a crash, a leak or a response that does not decode as
// WBXML is a bug. Seed corpus: fuzz/corpus/eas_commands/.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "codec/eas/multipart.h"
#include "codec/eas/request_line.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "server/eas/command_context.h"
#include "server/eas/folder_commands.h"
#include "server/eas/folder_sync_command.h"
#include "server/eas/get_item_estimate_command.h"
#include "server/eas/item_operations_command.h"
#include "server/eas/move_items_command.h"
#include "server/eas/ping_command.h"
#include "server/eas/search_command.h"
#include "server/eas/settings_command.h"
#include "server/eas/sync_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"

namespace {

using namespace rampart;
namespace cmd = rampart::server::eas;

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "FUZZ";
constexpr int kResetEvery = 256;
constexpr const char* kDirPrefix = "rampart-commands-fuzz-";

// Deterministic sync key generations (splitmix64), restarted with the stores.
class SeededRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      state_ += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = state_;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      b = static_cast<std::uint8_t>(z ^ (z >> 31));
    }
  }
  void restart() { state_ = 0; }

 private:
  std::uint64_t state_ = 0;
};

std::string plainMessage(const std::string& subject, const std::string& body) {
  return "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: " + subject +
         "\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + subject +
         "@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
         body + "\r\n";
}

const char kWithAttachment[] =
    "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: report budget\r\n"
    "Date: Tue, 24 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
    "--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <b>attached</b>.</p>\r\n"
    "--XX\r\nContent-Type: application/pdf; name=report.pdf\r\n"
    "Content-Disposition: attachment; filename=report.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nMDEyMzQ1Njc4OQ==\r\n--XX--\r\n";

class World {
 public:
  World() {
    log::init("off");  // the handlers log every rejected request at info
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    removeStale(base);
    std::string pattern =
        std::string(base) + "/" + kDirPrefix + std::to_string(getpid()) + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    setUp();
  }
  ~World() {
    mail.reset();
    devices.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // A crash ends the process before ~World; the next run removes what such
  // a run left (directories named after a process that no longer exists).
  static void removeStale(const std::string& base) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(kDirPrefix, 0) != 0) continue;
      long pid = std::strtol(name.c_str() + std::strlen(kDirPrefix), nullptr, 10);
      if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
  }

  // Called before every input: rebuilds the stores every kResetEvery inputs.
  void tick() {
    if (++runs_ % kResetEvery != 0) return;
    mail.reset();
    devices.reset();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ec;
      std::filesystem::remove(dir_ + "/rampart.db" + suffix, ec);
    }
    setUp();
  }

  std::unique_ptr<store::MailStore> mail;
  std::unique_ptr<store::DeviceStore> devices;

 private:
  void deliver(store::MailboxId mailbox, std::optional<store::FolderId> folder,
               const std::string& bytes) {
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.summary = mime::summarize(bytes);
    d.received_at = 1'790'000'000;
    d.targets.push_back({mailbox, folder, store::FolderType::inbox, false});
    if (!mail->deliverSync(std::move(d))) std::abort();
  }

  void setUp() {
    random_.restart();
    std::string db = dir_ + "/rampart.db";
    auto m = store::sqlite::openSqliteMailStore(db);
    auto d = store::sqlite::openSqliteDeviceStore(db, random_);
    if (!m || !d) std::abort();
    mail = std::move(*m);
    devices = std::move(*d);
    if (!devices->upsertDevice(kUser, kDevice, {"iPhone", "Apple-iPhone/1", 1000})) std::abort();
    auto alice = mail->openMailbox(kUser);
    if (!alice) std::abort();
    auto work = mail->createFolder(*alice, std::nullopt, "Work", store::FolderType::user_mail);
    if (!work) std::abort();
    auto bob = mail->openMailbox("bob");  // someone else's: never reachable by alice
    if (!bob) std::abort();
    deliver(*alice, std::nullopt, plainMessage("hello", "Lunch tomorrow?"));       // item 1
    deliver(*alice, std::nullopt, kWithAttachment);                                // item 2
    deliver(*alice, work->id, plainMessage("budget", "The budget is attached."));  // item 3
    deliver(*bob, std::nullopt, plainMessage("private", "Bob's own."));            // item 4
    prime(work->id);
  }

  // Starts the hierarchy chain and the chains of Inbox and Work, so that "@"
  // names a real key from the first input on (the folder commands and
  // GetItemEstimate answer a bare key 0 with "sync first").
  void prime(store::FolderId work) {
    cmd::CommandContext ctx{*mail, *devices, kUser, kDevice, "16.1"};
    ctx.now = 2'000'000'000;
    auto hierarchy = wbxml::parseXml(
        R"(<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>)");
    if (!hierarchy || !cmd::runFolderSync(ctx, *hierarchy)) std::abort();
    for (store::FolderId folder : {store::FolderId{1}, work}) {
      auto sync = wbxml::parseXml(
          R"(<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>0</SyncKey><CollectionId>)" +
          std::to_string(folder) + "</CollectionId></Collection></Collections></Sync>");
      if (!sync || !cmd::runSync(ctx, &*sync)) std::abort();
    }
  }

  std::string dir_;
  SeededRandom random_;
  int runs_ = 0;
};

World& world() {
  static World w;
  return w;
}

// Replaces SyncKey "@" with the current key of its chain (see the header).
void substituteKeys(cmd::CommandContext& ctx, wbxml::Element& e) {
  const wbxml::Element* collection = e.child("CollectionId");
  for (auto& c : e.children) {
    if (c.name == "SyncKey" && c.text == "@") {
      std::string chain = c.page == 7             ? std::string(cmd::kHierarchyCollection)
                          : collection != nullptr ? collection->text
                                                  : std::string();
      auto current = ctx.devices.current(ctx.user, ctx.device_id, chain);
      c.text = current && *current ? (*current)->key : std::string("0");
    }
    substituteKeys(ctx, c);
  }
}

void check(const char* command, const Error& error) {
  if (error.is(Errc::storage_error)) return;
  std::fprintf(stderr, "%s returned an error on client input: %s\n", command,
               error.message().c_str());
  std::abort();
}

// A response body the handler wrote must be WBXML that our reader takes back.
void checkBody(const char* command, const std::vector<std::uint8_t>& body) {
  if (body.empty()) return;
  if (!wbxml::decode(body)) {
    std::fprintf(stderr, "%s wrote a response that does not decode\n", command);
    std::abort();
  }
}

template <class R>
void expectBody(const char* command, const R& result) {
  if (!result) return check(command, result.error());
  checkBody(command, *result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  World& w = world();
  w.tick();

  rampart::eas::EasRequest line;
  line.accept_multipart = (data[0] & 0x80) != 0;
  cmd::CommandContext ctx{*w.mail, *w.devices, kUser, kDevice,
                          (data[0] & 0x40) != 0 ? "14.1" : "16.1"};
  ctx.now = 2'000'000'000;
  ctx.address = "alice@example.org";
  ctx.display_name = "Alice";
  ctx.request = &line;

  std::span<const std::uint8_t> rest(data + 1, size - 1);
  wbxml::Limits limits;
  limits.max_total = 1 << 20;
  limits.max_elements = 10'000;
  std::optional<wbxml::Document> doc;
  if (!rest.empty()) {
    auto decoded = wbxml::decode(rest, limits);
    if (!decoded) return 0;  // the service answers such a body itself
    doc = std::move(*decoded);
    substituteKeys(ctx, doc->root);
  }

  static const char* const kCommands[] = {
      "FolderSync",      "FolderCreate", "FolderUpdate", "FolderDelete",
      "GetItemEstimate", "Sync",         "MoveItems",    "ItemOperations",
      "Search",          "Settings",     "Ping"};
  const std::size_t pick = (data[0] & 0x0f) % std::size(kCommands);
  const char* command = kCommands[pick];
  line.command = command;
  if (!doc && pick != 5 && pick != 10) return 0;  // only Sync and Ping take an empty body

  switch (pick) {
    case 0:
      expectBody(command, cmd::runFolderSync(ctx, *doc));
      break;
    case 1:
      expectBody(command, cmd::runFolderCreate(ctx, *doc));
      break;
    case 2:
      expectBody(command, cmd::runFolderUpdate(ctx, *doc));
      break;
    case 3:
      expectBody(command, cmd::runFolderDelete(ctx, *doc));
      break;
    case 4:
      expectBody(command, cmd::runGetItemEstimate(ctx, *doc));
      break;
    case 5: {
      auto out = cmd::runSync(ctx, doc ? &*doc : nullptr);
      if (!out) {
        check(command, out.error());
        break;
      }
      checkBody(command, out->body);
      break;
    }
    case 6:
      expectBody(command, cmd::runMoveItems(ctx, *doc));
      break;
    case 7: {
      auto out = cmd::runItemOperations(ctx, *doc);
      if (!out) {
        check(command, out.error());
        break;
      }
      if (!out->multipart) {
        checkBody(command, out->body);
        break;
      }
      // MS-ASCMD 2.2.1.10.1.1: part 0 is the WBXML response.
      auto parts = rampart::eas::decodeMultipart(out->body);
      if (!parts || parts->empty()) {
        std::fprintf(stderr, "ItemOperations wrote a multipart body that does not decode\n");
        std::abort();
      }
      checkBody(command, std::vector<std::uint8_t>((*parts)[0].begin(), (*parts)[0].end()));
      break;
    }
    case 8:
      expectBody(command, cmd::runSearch(ctx, *doc));
      break;
    case 9:
      expectBody(command, cmd::runSettings(ctx, *doc));
      break;
    case 10: {
      cmd::PingLimits ping_limits;
      cmd::HasPending pending = [&ctx](store::FolderId folder) {
        return cmd::hasPendingChanges(ctx, folder);
      };
      auto plan = cmd::preparePing(ctx, doc ? &*doc : nullptr, ping_limits, pending);
      if (!plan) {
        check(command, plan.error());
        break;
      }
      if (plan->response) {
        checkBody(command, *plan->response);
      } else if (plan->folders.empty() || plan->folders.size() > ping_limits.max_folders ||
                 plan->heartbeat.count() < ping_limits.min_heartbeat ||
                 plan->heartbeat.count() > ping_limits.max_heartbeat) {
        std::fprintf(stderr, "Ping parks outside its limits\n");
        std::abort();
      }
      break;
    }
    default:
      break;
  }
  return 0;
}
