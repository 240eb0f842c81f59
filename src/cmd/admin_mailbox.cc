// `rampart admin mailbox`: look into a user's mailbox in the store.
//
//   rampart admin [--config FILE | --data-dir DIR] mailbox folders USER
//   rampart admin ... mailbox list USER [--folder NAME]   (default Inbox)
//   rampart admin ... mailbox show USER ITEM              (the original bytes)
//
// Reads only; safe beside a running server (SQLite WAL readers never block
// the server's writer).
#include <cstdio>
#include <string>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/clock.h"
#include "store/sqlite/sqlite_mail_store.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] mailbox <command>\n"
    "  folders USER               list folders with their item counts\n"
    "  list USER [--folder NAME]  list messages (default folder: Inbox)\n"
    "  show USER ITEM             print a message's original bytes\n";

int failWith(const Error& e) {
  std::fprintf(stderr, "rampart admin mailbox: %s\n", e.message().c_str());
  return 1;
}

std::string isoDate(std::int64_t t) { return utcText(t, "%Y-%m-%d %H:%M"); }

}  // namespace

int runAdminMailbox(const Args& args) {
  auto pos = positionals(args, {"config", "data-dir", "folder"});
  // pos[0] == "mailbox"
  if (pos.size() < 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto paths = resolvePaths(args);
  if (!paths) return failWith(paths.error());
  auto store = store::sqlite::openSqliteMailStore(paths->database);
  if (!store) return failWith(store.error());
  auto mailbox = (*store)->findMailbox(pos[2]);
  if (!mailbox) return failWith(mailbox.error());
  if (!*mailbox) {
    std::fprintf(stderr, "rampart admin mailbox: %s has no mailbox yet\n", pos[2].c_str());
    return 1;
  }
  auto folders = (*store)->listFolders(**mailbox);
  if (!folders) return failWith(folders.error());

  if (pos[1] == "folders") {
    for (const auto& f : *folders) {
      auto n = (*store)->countItems(f.id, 0);
      std::printf("%-6lld %-24s type=%-2d items=%zu\n", static_cast<long long>(f.id), f.name.c_str(),
                  static_cast<int>(f.type), n ? *n : 0);
    }
    return 0;
  }
  if (pos[1] == "list") {
    std::string name = option(args, "folder", "Inbox");
    const store::Folder* folder = nullptr;
    for (const auto& f : *folders) {
      if (f.name == name) folder = &f;
    }
    if (folder == nullptr) {
      std::fprintf(stderr, "rampart admin mailbox: no folder '%s'\n", name.c_str());
      return 1;
    }
    auto items = (*store)->listItems(folder->id, 0, 0, 100000);
    if (!items) return failWith(items.error());
    for (const auto& item : *items) {
      std::printf("%-8lld %s %s %-30.30s %s\n", static_cast<long long>(item.id),
                  isoDate(item.received_at).c_str(), item.read ? "R" : "N",
                  item.summary.from.c_str(), item.summary.subject.c_str());
    }
    return 0;
  }
  if (pos[1] == "show" && pos.size() >= 4) {
    store::ItemId id = std::strtoll(pos[3].c_str(), nullptr, 10);
    auto item = (*store)->getItem(id);
    if (!item) return failWith(item.error());
    if (item->mailbox != **mailbox) {
      std::fprintf(stderr, "rampart admin mailbox: item %s is not %s's\n", pos[3].c_str(), pos[2].c_str());
      return 1;
    }
    auto bytes = (*store)->messageBytes(id);
    if (!bytes) return failWith(bytes.error());
    std::fwrite(bytes->data(), 1, bytes->size(), stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace rampart::cmd
