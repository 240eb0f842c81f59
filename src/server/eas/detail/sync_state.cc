#include "server/eas/detail/sync_state.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

namespace rampart::server::eas::detail {
namespace {

constexpr std::string_view kStateTag = "E1 ";  // log phase
constexpr std::string_view kFillTag = "E2 ";   // fill phase (same length)
constexpr std::string_view kCacheTag = "S1\n";
constexpr std::int64_t kDay = 24 * 60 * 60;

template <class T>
bool parseInt(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Space-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    std::size_t sp = line.find(' ');
    out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return out;
}

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2 + 1);
  out.push_back('x');  // never empty
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view s) {
  if (s.empty() || s[0] != 'x' || s.size() % 2 != 1) return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i < s.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// -1 for an absent optional.
template <class T>
long long opt(const std::optional<T>& v) {
  return v ? static_cast<long long>(*v) : -1;
}

}  // namespace

// "E1 <seq> <filter> <cutoff>\n" for a log state, "E2 <seq> <filter>
// <cutoff> <max item> <last received_at> <last id>\n" for a fill; then the
// response tail.
std::string encodeSyncState(const EmailSyncState& s) {
  std::string out(s.fill ? kFillTag : kStateTag);
  out +=
      std::to_string(s.seq) + " " + std::to_string(s.filter_type) + " " + std::to_string(s.cutoff);
  if (s.fill) {
    out += " " + std::to_string(s.fill->max_item) + " " + std::to_string(s.fill->last.received_at) +
           " " + std::to_string(s.fill->last.id);
  }
  out += "\n";
  out += s.response_tail;
  return out;
}

std::optional<EmailSyncState> decodeSyncState(std::string_view blob) {
  bool fill = blob.substr(0, kFillTag.size()) == kFillTag;
  if (!fill && blob.substr(0, kStateTag.size()) != kStateTag) return std::nullopt;
  std::size_t nl = blob.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  auto f = fields(blob.substr(kStateTag.size(), nl - kStateTag.size()));
  EmailSyncState s;
  if (f.size() != (fill ? 6u : 3u) || !parseInt(f[0], s.seq) || !parseInt(f[1], s.filter_type) ||
      !parseInt(f[2], s.cutoff) || s.seq < 0) {
    return std::nullopt;
  }
  if (fill) {
    FillPosition p;
    if (!parseInt(f[3], p.max_item) || !parseInt(f[4], p.last.received_at) ||
        !parseInt(f[5], p.last.id) || p.max_item < 0 || p.last.id < 0) {
      return std::nullopt;
    }
    s.fill = p;
  }
  s.response_tail = std::string(blob.substr(nl + 1));
  return s;
}

std::int64_t filterCutoff(int filter_type, std::int64_t now) {
  switch (filter_type) {
    case 1:
      return now - kDay;
    case 2:
      return now - 3 * kDay;
    case 3:
      return now - 7 * kDay;
    case 4:
      return now - 14 * kDay;
    case 5:
      return now - 31 * kDay;
    case 6:
      return now - 92 * kDay;
    case 7:
      return now - 183 * kDay;
    default:
      return 0;
  }
}

namespace {

// Items that fell out of the window between `from` and `to` (from < to),
// oldest first, at most `room`: SoftDelete. Returns the cutoff reached.
Result<std::int64_t> agedOut(store::MailStore& mail, store::FolderId folder, std::int64_t from,
                             std::int64_t to, std::size_t room, std::vector<ItemDelta>& out,
                             bool& more) {
  auto all = mail.countItems(folder, from);
  if (!all) return fail(all.error());
  auto kept = mail.countItems(folder, to);
  if (!kept) return fail(kept.error());
  std::size_t n = *all > *kept ? *all - *kept : 0;
  if (n == 0) return to;
  std::size_t k = std::min(n, room);
  // Newest first: the aged items sit at offsets [kept, all); the k oldest at the end.
  std::size_t extra = k < n ? 1 : 0;
  auto items = mail.listItems(folder, from, *all - k - extra, k + extra);
  if (!items) return fail(items.error());
  std::int64_t reached = to;
  std::size_t first = 0;
  if (k < n) {
    // items[0] is the oldest item not sent; only items strictly older than it
    // leave the window now, so the state's cutoff stays exact.
    reached = items->front().received_at;
    more = true;
    first = 1;
  }
  for (std::size_t i = items->size(); i-- > first;) {
    const store::Item& it = (*items)[i];
    if (it.received_at >= reached) continue;
    out.push_back(ItemDelta{ItemDelta::Kind::soft_delete, it.id, std::nullopt});
  }
  return reached;
}

}  // namespace

namespace {

constexpr std::uint64_t kItemOverhead = 1024;

std::uint64_t addCost(const store::Item& item, const DeltaLimits& limits) {
  return kItemOverhead + std::min<std::uint64_t>(item.summary.size, limits.body_cap);
}

bool started(const FillPosition& p) { return p.max_item != 0 || p.last.id != 0; }

// The cutoff a fill reads with at `cutoff_now`: it rises with time or a
// narrower FilterType, but never above the last item sent (see the header).
std::int64_t fillCutoff(const EmailSyncState& from, std::int64_t cutoff_now) {
  std::int64_t c = cutoff_now;
  if (from.fill->last.id != 0) c = std::min(c, from.fill->last.received_at);
  return std::max(c, from.cutoff);
}

store::ItemRange fillRange(const EmailSyncState& from, std::int64_t cutoff) {
  store::ItemRange r;
  r.received_since = cutoff;
  if (from.fill->last.id != 0) r.after = from.fill->last;
  if (started(*from.fill)) r.max_item = from.fill->max_item;
  return r;
}

// The fill's part of a window: the next items of the keyset scan, newest
// first, in one store read. Leaves b.fill set when the fill goes on (with
// MoreAvailable), and clears it with b.seq = S when the scan ran dry.
Status fillWindow(store::MailStore& mail, store::FolderId folder, const EmailSyncState& from,
                  std::int64_t cutoff_now, const DeltaLimits& limits, std::size_t window,
                  DeltaBatch& b, std::uint64_t& bytes) {
  FillPosition pos = *from.fill;
  b.cutoff = fillCutoff(from, cutoff_now);
  std::size_t room = window - b.deltas.size();
  // One more than the room, to know whether the fill ends in this window.
  auto page = mail.scanItems(folder, fillRange(from, b.cutoff), room + 1);
  if (!page) return fail(page.error());
  if (!started(pos)) {
    pos.max_item = page->max_item;
    b.seq = page->folder_seq;  // S, from the same snapshot as the page
  }
  std::size_t taken = 0;
  for (store::Item& item : page->items) {
    if (taken == room || bytes >= limits.max_bytes) break;
    ++taken;
    bytes += addCost(item, limits);
    pos.last = store::ItemKey{item.received_at, item.id};
    ItemDelta d{ItemDelta::Kind::add, item.id, std::nullopt};
    if (limits.load_items) d.item = std::move(item);
    b.deltas.push_back(std::move(d));
  }
  if (taken < page->items.size()) {
    b.fill = pos;
    b.more = true;
  } else {
    b.fill.reset();  // the log phase starts at S (b.seq)
  }
  return {};
}

// Loads, in one store call, the item of entry `at` and of the next entries
// that will be the first of their item in this window and need it (not a
// remove), at most `batch` in all; each asked id lands in `loaded` (none:
// gone).
Status readAhead(store::MailStore& mail, const std::vector<store::Change>& chunk, std::size_t at,
                 const std::set<store::ItemId>& seen, std::size_t batch,
                 std::map<store::ItemId, std::optional<store::Item>>& loaded) {
  std::vector<store::ItemId> ids{chunk[at].item};
  std::set<store::ItemId> decided{chunk[at].item};
  for (std::size_t j = at + 1; j < chunk.size() && ids.size() < batch; ++j) {
    const store::Change& e = chunk[j];
    if (seen.contains(e.item) || loaded.contains(e.item) || !decided.insert(e.item).second) {
      continue;
    }
    if (e.kind != store::ChangeKind::remove) ids.push_back(e.item);
  }
  auto items = mail.getItems(ids);
  if (!items) return fail(items.error());
  for (store::ItemId id : ids) loaded[id] = std::nullopt;
  for (store::Item& it : *items) loaded[it.id] = std::move(it);
  return {};
}

// The log's part of a window, from b.seq at b.cutoff towards `cutoff_now`.
Status logWindow(store::MailStore& mail, store::FolderId folder, std::int64_t cutoff_now,
                 const DeltaLimits& limits, std::size_t window, DeltaBatch& b,
                 std::uint64_t& bytes) {
  if (cutoff_now > b.cutoff) {
    std::size_t room = window > b.deltas.size() ? window - b.deltas.size() : 0;
    auto reached = agedOut(mail, folder, b.cutoff, cutoff_now, room, b.deltas, b.more);
    if (!reached) return fail(reached.error());
    b.cutoff = *reached;
    if (b.more) return {};
  } else {
    b.cutoff = cutoff_now;
  }

  std::set<store::ItemId> seen;
  std::size_t scanned = 0;
  constexpr std::size_t kChunk = 1024;
  constexpr std::size_t kReadAhead = 128;
  // Items read ahead in one store call for the entries about to be decided
  // (none: gone), so a window costs a few reads, not one per entry.
  std::map<store::ItemId, std::optional<store::Item>> loaded;
  while (true) {
    auto chunk = mail.changes(folder, b.seq, kChunk);
    if (!chunk) return fail(chunk.error());
    if (chunk->empty()) return {};
    for (std::size_t at = 0; at < chunk->size(); ++at) {
      const store::Change& c = (*chunk)[at];
      if (seen.contains(c.item)) {
        b.seq = c.seq;
        continue;
      }
      if (b.deltas.size() >= window || scanned >= limits.max_scan || bytes >= limits.max_bytes) {
        b.more = true;
        return {};
      }
      ++scanned;
      seen.insert(c.item);
      b.seq = c.seq;
      if (limits.suppress != nullptr && c.seq > limits.suppress_after &&
          limits.suppress->contains(c.item) && c.kind != store::ChangeKind::add) {
        continue;  // the client's own change
      }
      bool was_in = c.kind != store::ChangeKind::add;
      std::optional<store::Item> now;
      if (c.kind != store::ChangeKind::remove) {
        if (!loaded.contains(c.item)) {
          std::size_t room = window > b.deltas.size() ? window - b.deltas.size() : 0;
          std::size_t batch = std::clamp<std::size_t>(room, 16, kReadAhead);
          if (auto st = readAhead(mail, *chunk, at, seen, batch, loaded); !st) {
            return fail(st.error());
          }
        }
        auto hit = loaded.find(c.item);
        if (hit->second && hit->second->folder == folder) now = std::move(hit->second);
        loaded.erase(hit);
      }
      bool now_in = now && now->received_at >= b.cutoff;
      if (!was_in && now_in) {
        bytes += addCost(*now, limits);
        b.deltas.push_back({ItemDelta::Kind::add, c.item, std::move(now)});
      } else if (was_in && now_in) {
        b.deltas.push_back({ItemDelta::Kind::change, c.item, std::move(now)});
      } else if (was_in && now) {
        b.deltas.push_back({ItemDelta::Kind::soft_delete, c.item, std::nullopt});
      } else if (was_in) {
        b.deltas.push_back({ItemDelta::Kind::remove, c.item, std::nullopt});
      }
      if (!limits.load_items && !b.deltas.empty()) b.deltas.back().item.reset();
    }
    if (chunk->size() < kChunk) return {};
  }
}

}  // namespace

Result<DeltaBatch> computeDelta(store::MailStore& mail, store::FolderId folder,
                                const EmailSyncState& from, std::int64_t cutoff_now,
                                const DeltaLimits& limits) {
  DeltaBatch b;
  b.seq = from.seq;
  b.cutoff = from.cutoff;
  b.fill = from.fill;
  std::size_t window = std::max<std::size_t>(limits.window, 1);
  std::uint64_t bytes = 0;
  if (from.fill) {
    if (auto st = fillWindow(mail, folder, from, cutoff_now, limits, window, b, bytes); !st) {
      return fail(st.error());
    }
    if (b.fill) return b;
  }
  if (auto st = logWindow(mail, folder, cutoff_now, limits, window, b, bytes); !st) {
    return fail(st.error());
  }
  return b;
}

Result<std::size_t> estimateDelta(store::MailStore& mail, store::FolderId folder,
                                  const EmailSyncState& from, std::int64_t cutoff_now,
                                  std::size_t max_counted) {
  DeltaLimits limits;
  limits.window = max_counted;
  limits.max_scan = max_counted;
  limits.load_items = false;
  std::size_t n = 0;
  EmailSyncState log = from;
  if (from.fill) {
    std::int64_t cutoff = fillCutoff(from, cutoff_now);
    auto left = mail.countItemsInRange(folder, fillRange(from, cutoff));
    if (!left) return fail(left.error());
    n = *left;
    // Not started: the snapshot (and S) will be taken by the first window.
    if (!started(*from.fill)) return n;
    log.fill.reset();
    log.cutoff = cutoff;
  }
  auto d = computeDelta(mail, folder, log, cutoff_now, limits);
  if (!d) return fail(d.error());
  return n + d->deltas.size();
}

std::string encodeCachedSync(const rampart::eas::SyncRequest& r) {
  std::ostringstream out;
  out << kCacheTag << "R " << opt(r.wait_minutes) << ' ' << opt(r.heartbeat_seconds) << ' '
      << opt(r.window_size) << '\n';
  for (const auto& c : r.collections) {
    out << "C " << hex(c.sync_key) << ' ' << hex(c.collection_id) << ' ' << opt(c.get_changes)
        << ' ' << opt(c.deletes_as_moves) << ' ' << opt(c.window_size) << ' '
        << (c.options ? 1 : 0);
    if (c.options) {
      const auto& o = *c.options;
      out << ' ' << opt(o.filter_type) << ' ' << o.mime_support << ' ' << opt(o.mime_truncation)
          << ' ' << opt(o.conflict) << ' ' << o.body_preferences.size();
      for (const auto& p : o.body_preferences) {
        out << ' ' << p.type << ' ' << opt(p.truncation_size) << ' ' << (p.all_or_none ? 1 : 0)
            << ' ' << opt(p.preview);
      }
      // MS-ASRM 2.2.2.14, last so that blobs cached before it still decode.
      out << ' ' << (o.rights_management_support ? 1 : 0);
    }
    out << '\n';
  }
  return out.str();
}

std::optional<rampart::eas::SyncRequest> decodeCachedSync(std::string_view blob) {
  if (blob.substr(0, kCacheTag.size()) != kCacheTag) return std::nullopt;
  blob.remove_prefix(kCacheTag.size());
  rampart::eas::SyncRequest r;
  auto optNum = [](std::string_view s, auto& target) {
    long long v = 0;
    if (!parseInt(s, v)) return false;
    using T = typename std::decay_t<decltype(target)>::value_type;
    if (v < 0) {
      target.reset();
    } else {
      target = static_cast<T>(v);
    }
    return true;
  };
  bool header = false;
  while (!blob.empty()) {
    std::size_t nl = blob.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto f = fields(blob.substr(0, nl));
    blob.remove_prefix(nl + 1);
    if (f.empty()) return std::nullopt;
    if (f[0] == "R") {
      if (f.size() != 4 || !optNum(f[1], r.wait_minutes) || !optNum(f[2], r.heartbeat_seconds) ||
          !optNum(f[3], r.window_size)) {
        return std::nullopt;
      }
      header = true;
      continue;
    }
    if (f[0] != "C" || f.size() < 7) return std::nullopt;
    rampart::eas::SyncCollectionRequest c;
    auto key = unhex(f[1]);
    auto id = unhex(f[2]);
    if (!key || !id) return std::nullopt;
    c.sync_key = *key;
    c.collection_id = *id;
    std::optional<int> gc, dam;
    if (!optNum(f[3], gc) || !optNum(f[4], dam) || !optNum(f[5], c.window_size)) {
      return std::nullopt;
    }
    if (gc) c.get_changes = *gc != 0;
    if (dam) c.deletes_as_moves = *dam != 0;
    if (f[6] == "1") {
      if (f.size() < 12) return std::nullopt;
      rampart::eas::SyncOptions o;
      std::optional<int> ms;
      std::size_t n = 0;
      if (!optNum(f[7], o.filter_type) || !optNum(f[8], ms) || !optNum(f[9], o.mime_truncation) ||
          !optNum(f[10], o.conflict) || !parseInt(f[11], n) ||
          n > rampart::eas::kMaxBodyPreferences ||
          (f.size() != 12 + 4 * n && f.size() != 13 + 4 * n)) {
        return std::nullopt;
      }
      if (f.size() == 13 + 4 * n) {
        if (f[12 + 4 * n] != "0" && f[12 + 4 * n] != "1") return std::nullopt;
        o.rights_management_support = f[12 + 4 * n] == "1";
      }
      o.mime_support = ms.value_or(0);
      for (std::size_t i = 0; i < n; ++i) {
        rampart::eas::BodyPreference p;
        std::optional<int> all;
        if (!parseInt(f[12 + 4 * i], p.type) || !optNum(f[13 + 4 * i], p.truncation_size) ||
            !optNum(f[14 + 4 * i], all) || !optNum(f[15 + 4 * i], p.preview)) {
          return std::nullopt;
        }
        p.all_or_none = all.value_or(0) != 0;
        o.body_preferences.push_back(p);
      }
      c.options = std::move(o);
    }
    r.collections.push_back(std::move(c));
  }
  if (!header) return std::nullopt;
  return r;
}

}  // namespace rampart::server::eas::detail
