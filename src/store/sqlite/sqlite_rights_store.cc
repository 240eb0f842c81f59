// SQLite RightsStore: see sqlite_rights_store.h.
#include "store/sqlite/sqlite_rights_store.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace rampart::store::sqlite {
namespace {

// Templates by id; users whose licensing is revoked; and the request log,
// append-only, indexed by license id for `rampart admin rights log <id>`.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE rights_templates(
  id TEXT PRIMARY KEY,
  toml TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE rights_revoked_users(
  user TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  revoked_by TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE rights_log(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  user TEXT NOT NULL,
  license_id TEXT NOT NULL,
  template_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  granted INTEGER NOT NULL,
  rights INTEGER NOT NULL,
  reason TEXT NOT NULL);
CREATE INDEX rights_log_license ON rights_log(license_id, id);
)sql";

constexpr std::size_t kMaxListLimit = 100'000;
constexpr std::string_view kLogColumns =
    "id, at, user, license_id, template_id, owner, granted, rights, reason";

// A string_view{} has no data pointer, and SQLite binds a null pointer as
// NULL, not as the empty text the NOT NULL columns want.
std::string_view text(std::string_view v) { return v.data() != nullptr ? v : std::string_view(""); }

RightsLogEntry entryFromRow(const Statement& s) {
  RightsLogEntry e;
  e.id = s.columnInt(0);
  e.at = s.columnInt(1);
  e.user = s.columnText(2);
  e.license_id = s.columnText(3);
  e.template_id = s.columnText(4);
  e.owner = s.columnText(5);
  e.granted = s.columnInt(6) != 0;
  e.rights = static_cast<std::uint32_t>(s.columnInt(7));
  e.reason = s.columnText(8);
  return e;
}

}  // namespace

std::optional<std::string> normalTemplateId(std::string_view id) {
  // 8-4-4-4-12 hex digits, as license.h's Template::id.
  if (id.size() != 36) return std::nullopt;
  std::string out(id);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const auto c = static_cast<unsigned char>(out[i]);
    if (dash) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (std::isxdigit(c) == 0) return std::nullopt;
    out[i] = static_cast<char>(std::toupper(c));
  }
  return out;
}

Result<std::shared_ptr<SqliteRightsStore>> SqliteRightsStore::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  if (auto st = db->migrate("rights", {{1, kSchemaV1}}); !st) return fail(st.error());
  return std::shared_ptr<SqliteRightsStore>(new SqliteRightsStore(std::move(*db)));
}

Result<Query> SqliteRightsStore::query(std::string_view sql) { return statements_.query(db_, sql); }

namespace {
constexpr DocumentTable kTemplates{"rights_templates", "id"};
}  // namespace

Status SqliteRightsStore::putTemplate(std::string_view id, std::string_view toml) {
  auto normal = normalTemplateId(id);
  if (!normal) {
    return fail(Errc::invalid_argument, "template id '" + std::string(id.substr(0, 64)) +
                                            "' is not a GUID (8-4-4-4-12 hex)");
  }
  std::lock_guard lock(mutex_);
  return putDocument(db_, statements_, kTemplates, *normal, toml);
}

Result<std::optional<std::string>> SqliteRightsStore::getTemplate(std::string_view id) {
  auto normal = normalTemplateId(id);
  if (!normal) return std::optional<std::string>();  // no such template can exist
  std::lock_guard lock(mutex_);
  return getDocument(db_, statements_, kTemplates, *normal);
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteRightsStore::listTemplates() {
  std::lock_guard lock(mutex_);
  return listDocuments(db_, statements_, kTemplates);
}

Status SqliteRightsStore::removeTemplate(std::string_view id) {
  auto normal = normalTemplateId(id);
  if (!normal) return fail(Errc::not_found, "no template '" + std::string(id.substr(0, 64)) + "'");
  std::lock_guard lock(mutex_);
  auto removed = removeDocument(db_, statements_, kTemplates, *normal);
  if (!removed) return fail(removed.error());
  if (!*removed) return fail(Errc::not_found, "no template " + *normal);
  return {};
}

Status SqliteRightsStore::revokeUser(std::string_view user, std::int64_t at, std::string_view by) {
  if (user.empty()) return fail(Errc::invalid_argument, "revoking needs a user name");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto q = query(
        "INSERT INTO rights_revoked_users(user, revoked_at, revoked_by) VALUES(?1, ?2, ?3)"
        " ON CONFLICT(user) DO NOTHING");
    if (!q) return fail(q.error());
    (*q)->bind(1, user).bind(2, at).bind(3, text(by));
    if (auto st = (*q)->run(); !st) return st;
    if (db_.changes() == 0) {
      return fail(Errc::already_exists, "user '" + std::string(user) + "' is already revoked");
    }
    return {};
  });
}

Status SqliteRightsStore::restoreUser(std::string_view user) {
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto q = query("DELETE FROM rights_revoked_users WHERE user = ?1");
    if (!q) return fail(q.error());
    (*q)->bind(1, text(user));
    if (auto st = (*q)->run(); !st) return st;
    if (db_.changes() == 0) {
      return fail(Errc::not_found, "user '" + std::string(user) + "' is not revoked");
    }
    return {};
  });
}

Result<bool> SqliteRightsStore::userRevoked(std::string_view user) {
  std::lock_guard lock(mutex_);
  auto q = query("SELECT 1 FROM rights_revoked_users WHERE user = ?1");
  if (!q) return fail(q.error());
  (*q)->bind(1, text(user));
  auto row = (*q)->step();
  if (!row) return fail(row.error());
  return *row;
}

Result<std::vector<std::string>> SqliteRightsStore::revokedUsers() {
  std::lock_guard lock(mutex_);
  auto q = query("SELECT user FROM rights_revoked_users ORDER BY user");
  if (!q) return fail(q.error());
  std::vector<std::string> out;
  while (true) {
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back((*q)->columnText(0));
  }
  return out;
}

// Group commit: the first caller to find no batch being written becomes the
// writer and commits every entry queued so far in one transaction (one
// fsync); the others wait for the batch that holds theirs. Each caller still
// returns only once its own row is durable.
Result<std::int64_t> SqliteRightsStore::log(const RightsLogEntry& e) {
  PendingLog me{&e, fail(Errc::internal, "not written"), false};
  std::unique_lock queue_lock(queue_mutex_);
  queue_.push_back(&me);
  while (!me.done) {
    if (writing_) {
      queue_cv_.wait(queue_lock);
      continue;
    }
    writing_ = true;
    std::vector<PendingLog*> batch;
    batch.swap(queue_);
    queue_lock.unlock();
    writeBatch(batch);
    queue_lock.lock();
    for (PendingLog* p : batch) p->done = true;
    writing_ = false;
    queue_cv_.notify_all();
  }
  return std::move(me.result);
}

void SqliteRightsStore::writeBatch(const std::vector<PendingLog*>& batch) {
  std::lock_guard lock(mutex_);
  std::vector<std::int64_t> ids;
  Status st = transaction(db_, [&]() -> Status {
    auto q = query(
        "INSERT INTO rights_log(at, user, license_id, template_id, owner, granted, rights, reason)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!q) return fail(q.error());
    for (const PendingLog* p : batch) {
      const RightsLogEntry& e = *p->entry;
      (*q)->bind(1, e.at)
          .bind(2, std::string_view(e.user))
          .bind(3, std::string_view(e.license_id))
          .bind(4, std::string_view(e.template_id))
          .bind(5, std::string_view(e.owner))
          .bind(6, std::int64_t{e.granted ? 1 : 0})
          .bind(7, static_cast<std::int64_t>(e.granted ? e.rights : 0))
          .bind(8, std::string_view(e.reason));
      if (auto run = (*q)->run(); !run) return run;
      (*q)->reset();
      ids.push_back(db_.lastInsertId());
    }
    return {};
  });
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (st) {
      batch[i]->result = ids[i];
    } else {
      batch[i]->result = fail(st.error());
    }
  }
}

Result<std::vector<RightsLogEntry>> SqliteRightsStore::logEntries(std::string_view license_id,
                                                                  std::size_t limit) {
  std::string sql = "SELECT " + std::string(kLogColumns) + " FROM rights_log";
  if (!license_id.empty()) sql += " WHERE license_id = ?1";
  sql += " ORDER BY id DESC LIMIT ?2";
  std::lock_guard lock(mutex_);
  auto q = query(sql);
  if (!q) return fail(q.error());
  if (!license_id.empty()) (*q)->bind(1, license_id);
  (*q)->bind(2, static_cast<std::int64_t>(std::min(limit, kMaxListLimit)));
  std::vector<RightsLogEntry> out;
  while (true) {
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(entryFromRow(**q));
  }
  return out;
}

}  // namespace rampart::store::sqlite
