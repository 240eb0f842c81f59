#include "server/eas/folder_commands.h"

#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/hierarchy_state.h"

namespace rampart::server::eas {

namespace {

using namespace detail;

// Status values (MS-ASCMD 2.2.3.177.3, .4, .6); which ones a command answers
// is listed with it in folder_commands.h.
constexpr int kSuccess = 1;
constexpr int kExists = 2;            // FolderCreate/FolderUpdate; FolderUpdate: also special
constexpr int kSpecialFolder = 3;     // FolderDelete
constexpr int kNotFound = 4;          // FolderUpdate/FolderDelete
constexpr int kParentNotFound = 5;    // FolderCreate/FolderUpdate
constexpr int kServerError = 6;
constexpr int kInvalidSyncKey = 9;
constexpr int kBadRequest = 10;

// A display name longer than this is not a request we take.
constexpr std::size_t kMaxDisplayName = 256;

// MS-ASCMD 2.2.1.3/.4/.6 responses: Status, then on success SyncKey (and for
// FolderCreate ServerId), in the order of the schemas (6.12-6.16).
Result<std::vector<std::uint8_t>> encodeResponse(std::uint8_t command, int status,
                                                 std::string_view key = {},
                                                 std::optional<store::FolderId> server_id = {}) {
  wbxml::Writer w;
  w.start(kHierarchyPage, command);
  writeElement(w, kStatus, std::to_string(status));
  if (status == kSuccess) {
    writeElement(w, kSyncKey, key);
    if (server_id) writeElement(w, kServerId, std::to_string(*server_id));
  }
  w.end();
  return std::move(w).finish();
}

// A folder id as the client sends it (ServerId, ParentId); 0 is "top level".
std::optional<store::FolderId> parseFolderId(std::string_view text) {
  store::FolderId id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 0) return std::nullopt;
  return id;
}

// The SyncKey of a request whose root is `command`, or none (Status 10).
std::optional<std::string> requestSyncKey(const wbxml::Element& root, std::uint8_t command) {
  if (root.page != kHierarchyPage || root.token != command) return std::nullopt;
  auto key = singleText(root, kSyncKey);  // 1...1 (MS-ASCMD 2.2.3.181.1)
  if (!key || key->empty() || key->size() > kMaxSyncKey) return std::nullopt;
  return key;
}

bool isUserFolderType(int type) {
  return type == static_cast<int>(store::FolderType::user_generic) ||
         type == static_cast<int>(store::FolderType::user_mail);
}

// The client's hierarchy state behind its key, when that key is the current one.
struct ClientState {
  store::MailboxId mailbox = 0;
  std::string key;
  Snapshot snapshot;
};

// None: Status 9 (unknown, previous or unreadable key).
Result<std::optional<ClientState>> openState(FolderSyncContext& ctx, std::string key) {
  auto found = ctx.devices.lookup(ctx.user, ctx.device_id, kHierarchyCollection, key);
  if (!found) {
    if (found.error().is(Errc::not_found)) return std::optional<ClientState>();
    return fail(found.error());
  }
  // MS-ASCMD 2.2.3.181.1: the key must be the current one; the previous key
  // (our last FolderSync response was lost) does not name what the client holds.
  if (found->next) return std::optional<ClientState>();
  auto snapshot = decodeSnapshot(found->state.blob);
  if (!snapshot) return std::optional<ClientState>();
  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());
  return std::optional<ClientState>(ClientState{*mailbox, std::move(key), std::move(*snapshot)});
}

// The folder `id` of the user's mailbox; not_found for another mailbox's.
Result<store::Folder> ownFolder(FolderSyncContext& ctx, store::MailboxId mailbox,
                                store::FolderId id) {
  auto f = ctx.mail.getFolder(id);
  if (!f) return fail(f.error());
  if (f->mailbox != mailbox) return fail(Errc::not_found, "folder of another mailbox");
  return f;
}

// Commits the client's new snapshot; the new key, or none when another request
// of the device moved the chain on first (Status 6).
Result<std::optional<std::string>> commitState(FolderSyncContext& ctx, const ClientState& st) {
  auto key = ctx.devices.commit(ctx.user, ctx.device_id, kHierarchyCollection, st.key,
                                encodeSnapshot(st.snapshot));
  if (!key) {
    if (key.error().is(Errc::already_exists) || key.error().is(Errc::not_found)) {
      log::get("eas")->info("folder command from {}/{}: lost a race on the sync key", ctx.user,
                            ctx.device_id);
      return std::optional<std::string>();
    }
    return fail(key.error());
  }
  return std::optional<std::string>(std::move(*key));
}

}  // namespace

// MS-ASCMD 2.2.1.3: SyncKey, ParentId, DisplayName, Type; answered with
// Status, SyncKey and the new folder's ServerId.
Result<std::vector<std::uint8_t>> runFolderCreate(FolderSyncContext& ctx,
                                                  const wbxml::Document& body) {
  constexpr std::uint8_t kCmd = kFolderCreate;
  auto logger = log::get("eas");
  auto key = requestSyncKey(body.root, kCmd);
  auto parent_text = singleText(body.root, kParentId);
  auto name = singleText(body.root, kDisplayName);
  auto type_text = singleText(body.root, kType);
  std::optional<store::FolderId> parent_id;
  if (parent_text) parent_id = parseFolderId(*parent_text);
  int type = 0;
  if (type_text) {
    auto [end, ec] =
        std::from_chars(type_text->data(), type_text->data() + type_text->size(), type);
    if (ec != std::errc() || end != type_text->data() + type_text->size()) type = 0;
  }
  if (!key || !parent_id || !name || name->empty() || name->size() > kMaxDisplayName ||
      !isUserFolderType(type)) {
    logger->info("FolderCreate from {}/{}: malformed request", ctx.user, ctx.device_id);
    return encodeResponse(kCmd, kBadRequest);
  }

  auto opened = openState(ctx, std::move(*key));
  if (!opened) return fail(opened.error());
  if (!*opened) return encodeResponse(kCmd, kInvalidSyncKey);
  ClientState& st = **opened;

  std::optional<store::FolderId> parent;  // ParentId "0": top level (MS-ASCMD 2.2.3.129.1)
  if (*parent_id != 0) {
    auto p = ownFolder(ctx, st.mailbox, *parent_id);
    if (!p) {
      if (p.error().is(Errc::not_found)) return encodeResponse(kCmd, kParentNotFound);
      return fail(p.error());
    }
    parent = p->id;
  }
  auto created =
      ctx.mail.createFolder(st.mailbox, parent, *name, static_cast<store::FolderType>(type));
  if (!created) {
    if (created.error().is(Errc::already_exists)) return encodeResponse(kCmd, kExists);
    if (created.error().is(Errc::not_found)) return encodeResponse(kCmd, kParentNotFound);
    if (created.error().is(Errc::invalid_argument)) return encodeResponse(kCmd, kBadRequest);
    return fail(created.error());
  }
  st.snapshot.folders[created->id] =
      FolderEntry{created->parent.value_or(0), static_cast<int>(created->type), created->name};
  auto new_key = commitState(ctx, st);
  if (!new_key) return fail(new_key.error());
  if (!*new_key) return encodeResponse(kCmd, kServerError);
  return encodeResponse(kCmd, kSuccess, **new_key, created->id);
}

// MS-ASCMD 2.2.1.6: SyncKey, ServerId, ParentId, DisplayName (a rename, a
// move, or both); answered with Status and SyncKey.
Result<std::vector<std::uint8_t>> runFolderUpdate(FolderSyncContext& ctx,
                                                  const wbxml::Document& body) {
  constexpr std::uint8_t kCmd = kFolderUpdate;
  auto logger = log::get("eas");
  auto key = requestSyncKey(body.root, kCmd);
  auto id_text = singleText(body.root, kServerId);
  auto parent_text = singleText(body.root, kParentId);
  auto name = singleText(body.root, kDisplayName);
  std::optional<store::FolderId> id;
  std::optional<store::FolderId> parent_id;
  if (id_text) id = parseFolderId(*id_text);
  if (parent_text) parent_id = parseFolderId(*parent_text);
  if (!key || !id || *id == 0 || !parent_id || !name || name->empty() ||
      name->size() > kMaxDisplayName) {
    logger->info("FolderUpdate from {}/{}: malformed request", ctx.user, ctx.device_id);
    return encodeResponse(kCmd, kBadRequest);
  }

  auto opened = openState(ctx, std::move(*key));
  if (!opened) return fail(opened.error());
  if (!*opened) return encodeResponse(kCmd, kInvalidSyncKey);
  ClientState& st = **opened;

  auto folder = ownFolder(ctx, st.mailbox, *id);
  if (!folder) {
    if (folder.error().is(Errc::not_found)) return encodeResponse(kCmd, kNotFound);
    return fail(folder.error());
  }
  // MS-ASCMD 2.2.3.177.6, Status 2: special folders cannot be updated.
  if (!isUserFolderType(static_cast<int>(folder->type))) return encodeResponse(kCmd, kExists);
  std::optional<store::FolderId> parent;
  if (*parent_id != 0) {
    auto p = ownFolder(ctx, st.mailbox, *parent_id);
    if (!p) {
      if (p.error().is(Errc::not_found)) return encodeResponse(kCmd, kParentNotFound);
      return fail(p.error());
    }
    parent = p->id;
  }
  auto updated = ctx.mail.updateFolder(folder->id, parent, *name);
  if (!updated) {
    if (updated.error().is(Errc::already_exists)) return encodeResponse(kCmd, kExists);
    if (updated.error().is(Errc::not_found)) return encodeResponse(kCmd, kNotFound);
    // A move under itself or a subfolder: no status names it; the request
    // cannot be carried out as sent.
    if (updated.error().is(Errc::invalid_argument)) return encodeResponse(kCmd, kBadRequest);
    return fail(updated.error());
  }
  // Only a folder the client holds changes in its snapshot; one it has not
  // been sent yet comes as an Add, already renamed, with the next FolderSync.
  if (auto it = st.snapshot.folders.find(updated->id); it != st.snapshot.folders.end()) {
    it->second.parent = updated->parent.value_or(0);
    it->second.name = updated->name;
  }
  auto new_key = commitState(ctx, st);
  if (!new_key) return fail(new_key.error());
  if (!*new_key) return encodeResponse(kCmd, kServerError);
  return encodeResponse(kCmd, kSuccess, **new_key);
}

// MS-ASCMD 2.2.1.4: SyncKey, ServerId; answered with Status and SyncKey.
Result<std::vector<std::uint8_t>> runFolderDelete(FolderSyncContext& ctx,
                                                  const wbxml::Document& body) {
  constexpr std::uint8_t kCmd = kFolderDelete;
  auto logger = log::get("eas");
  auto key = requestSyncKey(body.root, kCmd);
  auto id_text = singleText(body.root, kServerId);
  std::optional<store::FolderId> id;
  if (id_text) id = parseFolderId(*id_text);
  if (!key || !id || *id == 0) {
    logger->info("FolderDelete from {}/{}: malformed request", ctx.user, ctx.device_id);
    return encodeResponse(kCmd, kBadRequest);
  }

  auto opened = openState(ctx, std::move(*key));
  if (!opened) return fail(opened.error());
  if (!*opened) return encodeResponse(kCmd, kInvalidSyncKey);
  ClientState& st = **opened;

  auto folder = ownFolder(ctx, st.mailbox, *id);
  if (!folder) {
    if (folder.error().is(Errc::not_found)) return encodeResponse(kCmd, kNotFound);
    return fail(folder.error());
  }
  if (!isUserFolderType(static_cast<int>(folder->type))) {
    return encodeResponse(kCmd, kSpecialFolder);
  }
  if (auto deleted = ctx.mail.deleteFolder(folder->id); !deleted) {
    if (deleted.error().is(Errc::not_found)) return encodeResponse(kCmd, kNotFound);
    if (deleted.error().is(Errc::invalid_argument)) return encodeResponse(kCmd, kSpecialFolder);
    return fail(deleted.error());
  }
  // The folder and, as the store deleted them too, its subfolders leave the
  // client's snapshot, so the next FolderSync sends no Delete for them.
  std::set<store::FolderId> gone{folder->id};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [fid, f] : st.snapshot.folders) {
      if (gone.contains(f.parent) && gone.insert(fid).second) grew = true;
    }
  }
  for (store::FolderId fid : gone) st.snapshot.folders.erase(fid);
  auto new_key = commitState(ctx, st);
  if (!new_key) return fail(new_key.error());
  if (!*new_key) return encodeResponse(kCmd, kServerError);
  return encodeResponse(kCmd, kSuccess, **new_key);
}

}  // namespace rampart::server::eas
