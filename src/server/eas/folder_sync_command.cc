#include "server/eas/folder_sync_command.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/hierarchy_state.h"

namespace rampart::server::eas {

namespace {

// The snapshot, its blob and the FolderHierarchy tokens are shared with
// FolderCreate/FolderUpdate/FolderDelete.
using namespace detail;

constexpr std::uint8_t kPage = kHierarchyPage;

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
  writeElement(w, token, text);
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
