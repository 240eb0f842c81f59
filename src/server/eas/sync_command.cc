#include "server/eas/sync_command.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <utility>

#include "codec/eas/sync_request.h"
#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/email_encoding.h"
#include "server/eas/detail/rights_info.h"
#include "server/eas/detail/sync_state.h"

namespace rampart::server::eas {
namespace {

using rampart::eas::SyncClientCommand;
using rampart::eas::SyncCollectionRequest;
using rampart::eas::SyncRequest;
using namespace detail;

void element(wbxml::Writer& w, std::string_view name, std::string_view text) {
  w.start("AirSync", name);
  w.content(text);
  w.end();
}

template <class T>
std::optional<T> parseId(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::string serverId(store::FolderId folder, store::ItemId item) {
  return std::to_string(folder) + ":" + std::to_string(item);
}

// "<folder>:<item>" of this folder, or none.
std::optional<store::ItemId> itemOf(std::string_view server_id, store::FolderId folder) {
  std::size_t colon = server_id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto f = parseId<store::FolderId>(server_id.substr(0, colon));
  auto i = parseId<store::ItemId>(server_id.substr(colon + 1));
  if (!f || !i || *f != folder) return std::nullopt;
  return i;
}

// A Sync response with only a top-level Status (MS-ASCMD 2.2.3.177.17), and
// Limit for Status 14 (2.2.3.97).
Result<SyncOutcome> topLevelStatus(SyncStatus status, std::optional<std::uint32_t> limit = {}) {
  wbxml::Writer w;
  w.start("AirSync", "Sync");
  element(w, "Status", std::to_string(static_cast<int>(status)));
  if (limit) element(w, "Limit", std::to_string(*limit));
  w.end();
  auto bytes = std::move(w).finish();
  if (!bytes) return fail(bytes.error());
  SyncOutcome out;
  out.body = std::move(*bytes);
  out.changes = true;
  return out;
}

// The bytes of a Collection after its SyncKey: a document whose root is a
// Collection is written, and its header and root tag cut off (the root's END
// stays and closes the Collection it is spliced into). Page 0 at the start.
class TailWriter {
 public:
  TailWriter() { w_.start("AirSync", "Collection"); }
  wbxml::Writer& w() { return w_; }
  Result<std::string> finish() && {
    w_.end();
    auto bytes = std::move(w_).finish();
    if (!bytes) return fail(bytes.error());
    constexpr std::size_t kSkip = 5;  // 03 01 6A 00, then the Collection tag
    if (bytes->size() < kSkip) return fail(Errc::internal, "sync tail too short");
    return std::string(bytes->begin() + kSkip, bytes->end());
  }

 private:
  wbxml::Writer w_;
};

// What one collection's answer may weigh (see DeltaLimits::max_bytes): it is
// kept in the device store to answer a resent key.
constexpr std::uint64_t kMaxResponseBytes = 8u << 20;

// The most body bytes one item can carry under these preferences.
std::uint64_t bodyCap(const std::vector<BodyPreference>& prefs) {
  if (prefs.empty()) return 0;  // no Data without a preference (email_encoding.h)
  std::uint64_t cap = 0;
  for (const BodyPreference& p : prefs) {
    if (!p.truncation_size) return UINT64_MAX;
    cap = std::max<std::uint64_t>(cap, *p.truncation_size);
  }
  return cap;
}

struct CollectionOut {
  std::string key;   // the SyncKey to answer
  std::string tail;  // after SyncKey
  bool include = false;
  bool changes = false;
};

Result<CollectionOut> statusOnly(std::string_view collection_id, SyncStatus status,
                                 std::string key) {
  TailWriter t;
  element(t.w(), "CollectionId", collection_id);
  element(t.w(), "Status", std::to_string(static_cast<int>(status)));
  auto tail = std::move(t).finish();
  if (!tail) return fail(tail.error());
  return CollectionOut{std::move(key), std::move(*tail), true, true};
}

struct ClientResponse {
  enum class Kind { add, change, remove, fetch } kind;
  std::string id;  // ServerId (ClientId for add)
  SyncStatus status;
  std::optional<store::Item> item;  // fetch
};

class CollectionSync {
 public:
  CollectionSync(CommandContext& ctx, const SyncRequest& req, const SyncCollectionRequest& col,
                 store::MailboxId mailbox)
      : ctx_(ctx), req_(req), col_(col), mailbox_(mailbox) {}

  Result<CollectionOut> run();

 private:
  Status applyCommands(const store::Folder& folder);
  Result<std::string> writeTail(const store::Folder& folder, const DeltaBatch& delta);

  CommandContext& ctx_;
  const SyncRequest& req_;
  const SyncCollectionRequest& col_;
  store::MailboxId mailbox_;
  std::vector<ClientResponse> responses_;
  std::set<store::ItemId> suppress_;
  std::vector<BodyPreference> prefs_;
  EmailEncodeOptions encode_;
  // MS-ASRM 2.2.2.15: made when the collection's Options ask for rights.
  std::optional<RightsResolver> rights_;
};

Status CollectionSync::applyCommands(const store::Folder& folder) {
  std::optional<store::FolderId> trash;
  for (const SyncClientCommand& cmd : col_.commands) {
    using K = SyncClientCommand::Kind;
    if (cmd.kind == K::add) {
      // Email items are not created by Sync before 16.0 drafts (MS-ASEMAIL
      // 3.1.5.3); this server takes none.
      responses_.push_back(
          {ClientResponse::Kind::add, cmd.client_id, SyncStatus::conversion_error, std::nullopt});
      continue;
    }
    auto kind = cmd.kind == K::change   ? ClientResponse::Kind::change
                : cmd.kind == K::remove ? ClientResponse::Kind::remove
                                        : ClientResponse::Kind::fetch;
    auto id = itemOf(cmd.server_id, folder.id);
    std::optional<store::Item> item;
    if (id) {
      auto got = ctx_.mail.getItem(*id);
      if (got && got->folder == folder.id) {
        item = std::move(*got);
      } else if (!got && !got.error().is(Errc::not_found)) {
        return fail(got.error());
      }
    }
    if (!item) {
      responses_.push_back({kind, cmd.server_id, SyncStatus::object_not_found, std::nullopt});
      continue;
    }
    if (cmd.kind == K::fetch) {
      responses_.push_back({kind, cmd.server_id, SyncStatus::success, std::move(item)});
      continue;
    }
    suppress_.insert(item->id);
    Status st;
    if (cmd.kind == K::change) {
      if (cmd.read && *cmd.read != item->read) st = ctx_.mail.setRead(item->id, *cmd.read);
      if (st && cmd.flag) {
        st = ctx_.mail.setFlag(item->id, static_cast<store::FlagStatus>(cmd.flag->status));
      }
    } else {
      // MS-ASCMD 2.2.3.43 DeletesAsMoves: absent or 1 moves to Deleted Items.
      bool as_move =
          col_.deletes_as_moves.value_or(true) && folder.type != store::FolderType::deleted_items;
      if (as_move && !trash) {
        auto t = ctx_.mail.folderOfType(mailbox_, store::FolderType::deleted_items);
        if (!t) return fail(t.error());
        trash = t->id;
      }
      if (as_move) {
        auto moved = ctx_.mail.moveItem(item->id, *trash);
        st = moved ? Status{} : Status(fail(moved.error()));
      } else {
        st = ctx_.mail.deleteItem(item->id);
      }
    }
    if (!st) {
      if (!st.error().is(Errc::not_found)) return st;
      responses_.push_back({kind, cmd.server_id, SyncStatus::object_not_found, std::nullopt});
    }
  }
  return {};
}

Result<std::string> CollectionSync::writeTail(const store::Folder& folder,
                                              const DeltaBatch& delta) {
  TailWriter t;
  wbxml::Writer& w = t.w();
  element(w, "CollectionId", col_.collection_id);
  element(w, "Status", "1");
  // Responses, Commands, MoreAvailable: the order of MS-ASCMD's examples
  // (4.5.8 puts MoreAvailable after Commands).
  if (!responses_.empty()) {
    w.start("AirSync", "Responses");
    for (const ClientResponse& r : responses_) {
      const char* name = r.kind == ClientResponse::Kind::add      ? "Add"
                         : r.kind == ClientResponse::Kind::change ? "Change"
                         : r.kind == ClientResponse::Kind::remove ? "Delete"
                                                                  : "Fetch";
      w.start("AirSync", name);
      element(w, r.kind == ClientResponse::Kind::add ? "ClientId" : "ServerId", r.id);
      element(w, "Status", std::to_string(static_cast<int>(r.status)));
      if (r.item) {
        w.start("AirSync", "ApplicationData");
        if (auto st =
                writeEmailProperties(w, *r.item, ctx_.mail, prefs_, ctx_.protocol_version, encode_);
            !st && !st.error().is(Errc::not_found)) {
          return fail(st.error());
        }
        w.end();
      }
      w.end();
    }
    w.end();
  }
  if (!delta.deltas.empty()) {
    w.start("AirSync", "Commands");
    for (const ItemDelta& d : delta.deltas) {
      switch (d.kind) {
        case ItemDelta::Kind::add:
          w.start("AirSync", "Add");
          element(w, "ServerId", serverId(folder.id, d.id));
          w.start("AirSync", "ApplicationData");
          if (auto st = writeEmailProperties(w, *d.item, ctx_.mail, prefs_, ctx_.protocol_version,
                                             encode_);
              !st) {
            if (!st.error().is(Errc::not_found)) return fail(st.error());
            // The item went while we wrote: its remove comes with the next sync.
          }
          w.end();
          w.end();
          break;
        case ItemDelta::Kind::change:
          // MS-ASEMAIL 3.2.5.? the properties a change to email can touch.
          w.start("AirSync", "Change");
          element(w, "ServerId", serverId(folder.id, d.id));
          w.start("AirSync", "ApplicationData");
          w.start("Email", "Read");
          w.content(d.item->read ? "1" : "0");
          w.end();
          w.start("Email", "Flag");
          if (d.item->flag != store::FlagStatus::cleared) {
            w.start("Email", "Status");
            w.content(std::to_string(static_cast<int>(d.item->flag)));
            w.end();
            w.start("Email", "FlagType");
            w.content("for Follow Up");
            w.end();
          }
          w.end();
          w.end();
          w.end();
          break;
        case ItemDelta::Kind::remove:
        case ItemDelta::Kind::soft_delete:
          w.start("AirSync", d.kind == ItemDelta::Kind::remove ? "Delete" : "SoftDelete");
          element(w, "ServerId", serverId(folder.id, d.id));
          w.end();
          break;
      }
    }
    w.end();
  }
  if (delta.more) {
    w.start("AirSync", "MoreAvailable");
    w.end();
  }
  return std::move(t).finish();
}

Result<CollectionOut> CollectionSync::run() {
  auto logger = log::get("eas");
  auto folder_id = parseId<store::FolderId>(col_.collection_id);
  std::optional<store::Folder> folder;
  if (folder_id) {
    auto f = ctx_.mail.getFolder(*folder_id);
    if (f && f->mailbox == mailbox_) {
      folder = std::move(*f);
    } else if (!f && !f.error().is(Errc::not_found)) {
      return fail(f.error());
    }
  }
  if (!folder) {
    // MS-ASCMD 2.2.3.177.17 Status 12: the client's hierarchy is out of date.
    return statusOnly(col_.collection_id, SyncStatus::hierarchy_changed, col_.sync_key);
  }
  if (col_.options) {
    prefs_ = col_.options->body_preferences;
    encode_.mime_support = col_.options->mime_support;
    // MS-ASRM 3.2.4.3: with RightsManagementSupport, protected items carry
    // rm:RightsManagementLicense in their ApplicationData.
    if (col_.options->rights_management_support) {
      rights_.emplace(RightsResolver::forContext(ctx_));
      encode_.rights = &*rights_;
    }
  }
  int filter = col_.options ? col_.options->filter_type.value_or(0) : -1;
  const std::string& cid = col_.collection_id;

  if (col_.sync_key == store::kInitialSyncKey) {
    // MS-ASCMD 2.2.3.181.4: key 0 starts over; the answer carries no items.
    if (auto st = ctx_.devices.reset(ctx_.user, ctx_.device_id, cid); !st) return fail(st.error());
    EmailSyncState s;
    s.fill = FillPosition{};  // the first window takes the fill's snapshot
    s.filter_type = filter < 0 ? 0 : filter;
    s.cutoff = filterCutoff(s.filter_type, ctx_.now);
    TailWriter t;
    element(t.w(), "CollectionId", cid);
    element(t.w(), "Status", "1");
    auto tail = std::move(t).finish();
    if (!tail) return fail(tail.error());
    s.response_tail = *tail;
    auto key = ctx_.devices.commit(ctx_.user, ctx_.device_id, cid, store::kInitialSyncKey,
                                   encodeSyncState(s));
    if (!key) {
      if (!key.error().is(Errc::already_exists)) return fail(key.error());
      return statusOnly(cid, SyncStatus::server_error, col_.sync_key);
    }
    return CollectionOut{std::move(*key), std::move(*tail), true, true};
  }

  auto found = ctx_.devices.lookup(ctx_.user, ctx_.device_id, cid, col_.sync_key);
  if (!found) {
    if (!found.error().is(Errc::not_found)) return fail(found.error());
    logger->info("Sync from {}/{}: unknown sync key for {}", ctx_.user, ctx_.device_id, cid);
    return statusOnly(cid, SyncStatus::invalid_sync_key, "0");
  }
  if (found->next) {
    // The previous key: our last answer was lost. Send it again as it was
    // (MS-ASCMD 2.2.3.181.4); the client's commands were applied then.
    auto next = decodeSyncState(found->next->blob);
    if (!next) return statusOnly(cid, SyncStatus::invalid_sync_key, "0");
    return CollectionOut{found->next->key, std::move(next->response_tail), true, true};
  }
  auto state = decodeSyncState(found->state.blob);
  if (!state) {
    logger->warn("Sync from {}/{}: unreadable sync state for {}", ctx_.user, ctx_.device_id, cid);
    return statusOnly(cid, SyncStatus::invalid_sync_key, "0");
  }
  if (filter < 0) filter = state->filter_type;
  std::int64_t cutoff_now =
      std::max(filterCutoff(filter, ctx_.now), filter == state->filter_type ? state->cutoff : 0);
  if (cutoff_now < state->cutoff) {
    // A wider FilterType: the client lacks items this state cannot name;
    // it starts over (Status 3, key 0).
    logger->info("Sync from {}/{}: FilterType widened for {}", ctx_.user, ctx_.device_id, cid);
    return statusOnly(cid, SyncStatus::invalid_sync_key, "0");
  }

  if (auto st = applyCommands(*folder); !st) return fail(st.error());

  DeltaBatch delta;
  delta.seq = state->seq;
  delta.cutoff = state->cutoff;
  delta.fill = state->fill;
  // MS-ASCMD 2.2.3.84 GetChanges: absent means yes for a non-zero key.
  if (col_.get_changes.value_or(true)) {
    DeltaLimits limits;
    limits.window = col_.window_size.value_or(req_.window_size.value_or(kDefaultWindowSize));
    limits.suppress = &suppress_;
    limits.suppress_after = folder->last_seq;  // read before applyCommands()
    limits.max_bytes = kMaxResponseBytes;
    limits.body_cap = bodyCap(prefs_);
    auto d = computeDelta(ctx_.mail, folder->id, *state, cutoff_now, limits);
    if (!d) return fail(d.error());
    delta = std::move(*d);
  }
  bool nothing = delta.deltas.empty() && responses_.empty() && col_.commands.empty();
  if (nothing && !delta.more) {
    // Up to date: same key, nothing committed, the collection left out.
    return CollectionOut{col_.sync_key, {}, false, false};
  }
  auto tail = writeTail(*folder, delta);
  if (!tail) return fail(tail.error());
  EmailSyncState next;
  next.seq = delta.seq;
  next.fill = delta.fill;
  next.filter_type = filter;
  next.cutoff = delta.cutoff;
  next.response_tail = *tail;
  auto key =
      ctx_.devices.commit(ctx_.user, ctx_.device_id, cid, col_.sync_key, encodeSyncState(next));
  if (!key) {
    if (!key.error().is(Errc::already_exists)) return fail(key.error());
    logger->info("Sync from {}/{}: lost a race on the key of {}", ctx_.user, ctx_.device_id, cid);
    return statusOnly(cid, SyncStatus::server_error, col_.sync_key);
  }
  return CollectionOut{std::move(*key), std::move(*tail), true, true};
}

// MS-ASCMD 2.2.1.21: an empty Sync reuses the cached request; a Partial one
// adds the cached collections it does not name. A collection without Options
// keeps the ones it had.
void mergeCached(SyncRequest& req, const SyncRequest& cached, bool all_collections) {
  for (const auto& c : cached.collections) {
    bool named = false;
    for (auto& mine : req.collections) {
      if (mine.collection_id != c.collection_id) continue;
      named = true;
      if (!mine.options) mine.options = c.options;
      if (!mine.window_size) mine.window_size = c.window_size;
    }
    if (!named && all_collections) {
      auto copy = c;
      copy.commands.clear();
      req.collections.push_back(std::move(copy));
    }
  }
  // Only an empty or Partial request takes the cached Wait/HeartbeatInterval:
  // a complete request without them is answered at once, or every Sync after
  // one that waited would wait too.
  if (all_collections && !req.wait_minutes && !req.heartbeat_seconds) {
    req.wait_minutes = cached.wait_minutes;
    req.heartbeat_seconds = cached.heartbeat_seconds;
  }
  if (!req.window_size) req.window_size = cached.window_size;
}

}  // namespace

Result<SyncOutcome> runSync(CommandContext& ctx, const wbxml::Document* body) {
  auto logger = log::get("eas");
  auto cached_blob = ctx.devices.lastSync(ctx.user, ctx.device_id);
  if (!cached_blob) return fail(cached_blob.error());
  std::optional<SyncRequest> cached;
  if (*cached_blob) cached = decodeCachedSync(**cached_blob);

  SyncRequest req;
  if (body == nullptr) {
    if (!cached) return topLevelStatus(SyncStatus::incomplete_request);
    req = *cached;
  } else {
    auto decoded = rampart::eas::decodeSyncRequest(*body);
    if (!decoded) {
      logger->info("Sync from {}/{}: {}", ctx.user, ctx.device_id, decoded.error().message());
      bool too_many = decoded.error().is(Errc::limit_exceeded) &&
                      decoded.error().detail.rfind("Sync:Collections", 0) == 0;
      return topLevelStatus(
          too_many ? SyncStatus::too_many_collections : SyncStatus::protocol_error,
          too_many ? std::optional<std::uint32_t>(rampart::eas::kMaxSyncCollections)
                   : std::nullopt);
    }
    req = std::move(*decoded);
    bool reuse_all = req.partial || req.collections.empty();
    if (reuse_all && !cached) return topLevelStatus(SyncStatus::incomplete_request);
    if (cached) mergeCached(req, *cached, reuse_all);
  }
  // MS-ASCMD 2.2.3.198 / 2.2.3.88.2, Status 14 with the Limit exceeded.
  if (req.wait_minutes &&
      (*req.wait_minutes < kMinWaitMinutes || *req.wait_minutes > kMaxWaitMinutes)) {
    return topLevelStatus(SyncStatus::invalid_wait,
                          *req.wait_minutes < kMinWaitMinutes ? kMinWaitMinutes : kMaxWaitMinutes);
  }
  if (req.heartbeat_seconds && (*req.heartbeat_seconds < kMinHeartbeatSeconds ||
                                *req.heartbeat_seconds > kMaxHeartbeatSeconds)) {
    return topLevelStatus(SyncStatus::invalid_wait, *req.heartbeat_seconds < kMinHeartbeatSeconds
                                                        ? kMinHeartbeatSeconds
                                                        : kMaxHeartbeatSeconds);
  }
  if (req.collections.empty()) return topLevelStatus(SyncStatus::incomplete_request);

  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());

  SyncOutcome out;
  if (req.wait_minutes) out.wait_seconds = static_cast<std::int64_t>(*req.wait_minutes) * 60;
  if (req.heartbeat_seconds) out.wait_seconds = *req.heartbeat_seconds;
  std::vector<CollectionOut> results;
  std::set<std::string> done;
  for (auto& col : req.collections) {
    if (!done.insert(col.collection_id).second) {
      // The same collection twice (MS-ASCMD 2.2.3.29.2): a protocol error.
      return topLevelStatus(SyncStatus::protocol_error);
    }
    if (auto id = parseId<store::FolderId>(col.collection_id)) out.watched.push_back(*id);
    CollectionSync sync(ctx, req, col, *mailbox);
    auto r = sync.run();
    if (!r) return fail(r.error());
    if (r->key != "0") col.sync_key = r->key;
    results.push_back(std::move(*r));
  }
  // The cache holds the keys handed out now, for the next empty Sync.
  for (auto& col : req.collections) col.commands.clear();
  req.partial = false;
  if (auto st = ctx.devices.saveLastSync(ctx.user, ctx.device_id, encodeCachedSync(req)); !st) {
    return fail(st.error());
  }

  // Splice: Sync, Collections, then each Collection as SyncKey + tail
  // (SWITCH_PAGE 0 before each, as a tail may end on another page).
  std::vector<std::uint8_t>& b = out.body;
  for (const CollectionOut& r : results) {
    if (!r.include) continue;
    if (b.empty())
      b = {0x03, 0x01, 0x6A, 0x00, 0x45, 0x5C};
    else
      b.insert(b.end(), {0x00, 0x00});
    b.push_back(0x4F);  // Collection, with content
    b.push_back(0x4B);  // SyncKey
    b.push_back(0x03);  // STR_I
    b.insert(b.end(), r.key.begin(), r.key.end());
    b.push_back(0x00);
    b.push_back(0x01);  // END SyncKey
    b.insert(b.end(), r.tail.begin(), r.tail.end());
    out.changes = true;
  }
  if (!b.empty()) b.insert(b.end(), {0x01, 0x01});  // END Collections, END Sync
  return out;
}

Result<bool> hasPendingChanges(CommandContext& ctx, store::FolderId folder) {
  auto f = ctx.mail.getFolder(folder);
  if (!f) return fail(f.error());
  auto current = ctx.devices.current(ctx.user, ctx.device_id, std::to_string(folder));
  if (!current) return fail(current.error());
  if (!*current) return true;
  auto state = decodeSyncState((*current)->blob);
  if (!state) return true;
  DeltaLimits limits;
  limits.window = 1;
  limits.load_items = false;
  auto d = computeDelta(ctx.mail, folder, *state,
                        std::max(state->cutoff, filterCutoff(state->filter_type, ctx.now)), limits);
  if (!d) return fail(d.error());
  return !d->deltas.empty() || d->more;
}

}  // namespace rampart::server::eas
