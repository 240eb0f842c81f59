#include "server/eas/folder_sync_command.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "codec/wbxml/writer.h"
#include "core/log.h"

namespace rampart::server::eas {

namespace {

// [MS-ASWBXML] 2.1.2.1.8, code page 7 (FolderHierarchy).
constexpr std::uint8_t kPage = 7;
constexpr std::uint8_t kDisplayName = 0x07;
constexpr std::uint8_t kServerId = 0x08;
constexpr std::uint8_t kParentId = 0x09;
constexpr std::uint8_t kType = 0x0A;
constexpr std::uint8_t kStatus = 0x0C;
constexpr std::uint8_t kChanges = 0x0E;
constexpr std::uint8_t kAdd = 0x0F;
constexpr std::uint8_t kDelete = 0x10;
constexpr std::uint8_t kUpdate = 0x11;
constexpr std::uint8_t kSyncKey = 0x12;
constexpr std::uint8_t kFolderSync = 0x16;
constexpr std::uint8_t kCount = 0x17;

// MS-ASCMD 2.2.3.181.2: the key is a string of up to 64 characters.
constexpr std::size_t kMaxSyncKey = 64;

// What the client holds of one folder.
struct FolderEntry {
  store::FolderId parent = 0;  // 0: top level (ParentId "0", MS-ASCMD 2.2.3.129.2)
  int type = 0;
  std::string name;

  bool operator==(const FolderEntry&) const = default;
};

// The state behind a key: the hierarchy as sent, and the seq it was read at.
struct Snapshot {
  store::Seq seq = 0;
  std::map<store::FolderId, FolderEntry> folders;
};

constexpr std::string_view kBlobMagic = "fs1";

// "fs1 <seq> <count>\n" then per folder "<id> <parent> <type> <name length> <name>\n".
std::string encodeSnapshot(const Snapshot& s) {
  std::string out;
  out += kBlobMagic;
  out += ' ' + std::to_string(s.seq) + ' ' + std::to_string(s.folders.size()) + '\n';
  for (const auto& [id, f] : s.folders) {
    out += std::to_string(id) + ' ' + std::to_string(f.parent) + ' ' + std::to_string(f.type) +
           ' ' + std::to_string(f.name.size()) + ' ' + f.name + '\n';
  }
  return out;
}

// Reads one decimal number followed by `sep`; advances `in`.
template <typename T>
bool readNumber(std::string_view& in, T& value, char sep) {
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), value);
  if (ec != std::errc() || end == in.data() + in.size() || *end != sep) return false;
  in.remove_prefix(static_cast<std::size_t>(end - in.data()) + 1);
  return true;
}

// A blob this server did not write (or a corrupt one) is none: Status 9.
std::optional<Snapshot> decodeSnapshot(std::string_view in) {
  if (!in.starts_with(kBlobMagic)) return std::nullopt;
  in.remove_prefix(kBlobMagic.size());
  if (in.empty() || in.front() != ' ') return std::nullopt;
  in.remove_prefix(1);
  Snapshot s;
  std::size_t count = 0;
  if (!readNumber(in, s.seq, ' ') || !readNumber(in, count, '\n')) return std::nullopt;
  for (std::size_t i = 0; i < count; ++i) {
    store::FolderId id = 0;
    FolderEntry f;
    std::size_t len = 0;
    if (!readNumber(in, id, ' ') || !readNumber(in, f.parent, ' ') ||
        !readNumber(in, f.type, ' ') || !readNumber(in, len, ' ')) {
      return std::nullopt;
    }
    if (in.size() < len + 1 || in[len] != '\n') return std::nullopt;
    f.name.assign(in.substr(0, len));
    in.remove_prefix(len + 1);
    s.folders.emplace(id, std::move(f));
  }
  if (!in.empty() || s.folders.size() != count) return std::nullopt;
  return s;
}

Result<Snapshot> readHierarchy(store::MailStore& mail, store::MailboxId mailbox) {
  // The seq first: a change that lands between the two reads is in the listing
  // and after the seq, so the next sync looks again (and finds no difference).
  auto seq = mail.folderHierarchySeq(mailbox);
  if (!seq) return fail(seq.error());
  auto folders = mail.listFolders(mailbox);
  if (!folders) return fail(folders.error());
  Snapshot s;
  s.seq = *seq;
  for (store::Folder& f : *folders) {
    s.folders.emplace(
        f.id, FolderEntry{f.parent.value_or(0), static_cast<int>(f.type), std::move(f.name)});
  }
  return s;
}

struct Diff {
  std::vector<store::FolderId> updates;
  std::vector<store::FolderId> deletes;
  std::vector<store::FolderId> adds;  // parents before their children

  std::size_t count() const { return updates.size() + deletes.size() + adds.size(); }
};

// What turns the client's `from` into `to`.
Diff diffHierarchy(const Snapshot& from, const Snapshot& to) {
  Diff d;
  for (const auto& [id, f] : from.folders) {
    auto now = to.folders.find(id);
    if (now == to.folders.end()) {
      d.deletes.push_back(id);
    } else if (!(now->second == f)) {
      d.updates.push_back(id);
    }
  }
  // New folders, each after its parent when the parent is new too (a folder
  // created earlier can be moved under one created later, so ids do not tell).
  std::set<store::FolderId> pending;
  for (const auto& [id, f] : to.folders) {
    if (!from.folders.contains(id)) pending.insert(id);
  }
  while (!pending.empty()) {
    std::size_t before = pending.size();
    for (auto it = pending.begin(); it != pending.end();) {
      if (pending.contains(to.folders.at(*it).parent)) {
        ++it;
      } else {
        d.adds.push_back(*it);
        it = pending.erase(it);
      }
    }
    if (pending.size() == before) {  // a cycle the store should never hold: send in id order
      d.adds.insert(d.adds.end(), pending.begin(), pending.end());
      break;
    }
  }
  return d;
}

void element(wbxml::Writer& w, std::uint8_t token, std::string_view text) {
  w.start(kPage, token);
  w.content(text);
  w.end();
}

void folderElement(wbxml::Writer& w, std::uint8_t token, store::FolderId id, const FolderEntry& f) {
  w.start(kPage, token);
  element(w, kServerId, std::to_string(id));
  element(w, kParentId, std::to_string(f.parent));
  element(w, kDisplayName, f.name);
  element(w, kType, std::to_string(f.type));
  w.end();
}

// MS-ASCMD 2.2.1.5 and the schema of 6.15: Status, SyncKey, then Changes with
// Count, Update*, Delete*, Add* in that order.
Result<std::vector<std::uint8_t>> encodeResponse(FolderSyncStatus status, std::string_view key = {},
                                                 const Diff* diff = nullptr,
                                                 const Snapshot* to = nullptr) {
  wbxml::Writer w;
  w.start(kPage, kFolderSync);
  element(w, kStatus, std::to_string(static_cast<int>(status)));
  if (status == FolderSyncStatus::success) {
    element(w, kSyncKey, key);
    w.start(kPage, kChanges);
    element(w, kCount, std::to_string(diff ? diff->count() : 0));
    if (diff && to) {
      for (store::FolderId id : diff->updates) folderElement(w, kUpdate, id, to->folders.at(id));
      for (store::FolderId id : diff->deletes) {
        w.start(kPage, kDelete);
        element(w, kServerId, std::to_string(id));
        w.end();
      }
      for (store::FolderId id : diff->adds) folderElement(w, kAdd, id, to->folders.at(id));
    }
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

// The SyncKey of a well-formed request, or none (Status 10).
std::optional<std::string> requestSyncKey(const wbxml::Document& body) {
  const wbxml::Element& root = body.root;
  if (root.page != kPage || root.token != kFolderSync) return std::nullopt;
  const wbxml::Element* key = nullptr;
  for (const wbxml::Element& c : root.children) {
    if (c.page == kPage && c.token == kSyncKey) {
      if (key) return std::nullopt;  // 1...1 (MS-ASCMD 2.2.3.181.2)
      key = &c;
    }
  }
  if (!key || key->text.empty() || key->text.size() > kMaxSyncKey || !key->children.empty()) {
    return std::nullopt;
  }
  return key->text;
}

}  // namespace

Result<std::vector<std::uint8_t>> runFolderSync(FolderSyncContext& ctx,
                                                const wbxml::Document& body) {
  auto logger = log::get("eas");
  auto sent_key = requestSyncKey(body);
  if (!sent_key) {
    logger->info("FolderSync from {}/{}: malformed request", ctx.user, ctx.device_id);
    return encodeResponse(FolderSyncStatus::bad_request);
  }
  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());

  Snapshot base;                 // what the client holds
  std::string expected_key;      // the key the commit replaces
  bool answer_same_key = false;  // the client is up to date with its current key
  if (*sent_key == store::kInitialSyncKey) {
    // MS-ASCMD 2.2.3.181.2: key 0 starts over; everything is sent as Add.
    if (auto st = ctx.devices.reset(ctx.user, ctx.device_id, kHierarchyCollection); !st) {
      return fail(st.error());
    }
    expected_key = store::kInitialSyncKey;
  } else {
    auto found = ctx.devices.lookup(ctx.user, ctx.device_id, kHierarchyCollection, *sent_key);
    if (!found) {
      if (!found.error().is(Errc::not_found)) return fail(found.error());
      logger->info("FolderSync from {}/{}: unknown sync key", ctx.user, ctx.device_id);
      return encodeResponse(FolderSyncStatus::invalid_sync_key);
    }
    auto snapshot = decodeSnapshot(found->state.blob);
    std::optional<Snapshot> next;
    if (found->next) next = decodeSnapshot(found->next->blob);
    if (!snapshot || (found->next && !next)) {
      logger->warn("FolderSync from {}/{}: unreadable sync state", ctx.user, ctx.device_id);
      return encodeResponse(FolderSyncStatus::invalid_sync_key);
    }
    if (next) {
      // The previous key: our last response was lost (MS-ASCMD 2.2.3.181.2).
      // Answer it again the same way, from the stored states alone, with the
      // key it carried; nothing is committed, so a second resend gets the same
      // answer too. Later changes come with the next sync.
      Diff lost = diffHierarchy(*snapshot, *next);
      return encodeResponse(FolderSyncStatus::success, found->next->key, &lost, &*next);
    }
    base = std::move(*snapshot);
    expected_key = *sent_key;
    answer_same_key = true;
  }

  if (answer_same_key) {
    auto seq = ctx.mail.folderHierarchySeq(*mailbox);
    if (!seq) return fail(seq.error());
    if (*seq == base.seq) return encodeResponse(FolderSyncStatus::success, *sent_key);
  }
  auto now = readHierarchy(ctx.mail, *mailbox);
  if (!now) return fail(now.error());
  Diff diff = diffHierarchy(base, *now);
  if (answer_same_key && diff.count() == 0) {
    // Changes that cancel out (a folder added and deleted): nothing to send,
    // and no commit, so the key stays. The next sync compares again.
    return encodeResponse(FolderSyncStatus::success, *sent_key);
  }
  auto new_key = ctx.devices.commit(ctx.user, ctx.device_id, kHierarchyCollection, expected_key,
                                    encodeSnapshot(*now));
  if (!new_key) {
    if (!new_key.error().is(Errc::already_exists)) return fail(new_key.error());
    // Another request of this device committed first: the client retries.
    logger->info("FolderSync from {}/{}: lost a race on the sync key", ctx.user, ctx.device_id);
    return encodeResponse(FolderSyncStatus::server_error);
  }
  return encodeResponse(FolderSyncStatus::success, *new_key, &diff, &*now);
}

}  // namespace rampart::server::eas
