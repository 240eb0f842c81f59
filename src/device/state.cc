#include "device/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rampart::device {

namespace {

using store::sqlite::Database;
using store::sqlite::Statement;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE account (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE folders (
  server_id TEXT PRIMARY KEY,
  parent_id TEXT NOT NULL,
  name TEXT NOT NULL,
  type INTEGER NOT NULL,
  sync_key TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  folder_id TEXT NOT NULL,
  server_id TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  sender TEXT NOT NULL DEFAULT '',
  recipients TEXT NOT NULL DEFAULT '',
  date TEXT NOT NULL DEFAULT '',
  read INTEGER NOT NULL DEFAULT 0,
  flagged INTEGER NOT NULL DEFAULT 0,
  UNIQUE (folder_id, server_id)
);
)sql";

LocalItem rowToItem(const Statement& s) {
  LocalItem i;
  i.id = s.columnInt(0);
  i.folder_id = s.columnText(1);
  i.server_id = s.columnText(2);
  i.subject = s.columnText(3);
  i.from = s.columnText(4);
  i.to = s.columnText(5);
  i.date = s.columnText(6);
  i.read = s.columnInt(7) != 0;
  i.flagged = s.columnInt(8) != 0;
  return i;
}

constexpr std::string_view kItemColumns =
    "id, folder_id, server_id, subject, sender, recipients, date, read, flagged";

}  // namespace

std::string_view authModeName(AuthMode mode) {
  return mode == AuthMode::certificate ? "certificate" : "basic";
}

Result<DeviceState> DeviceState::open(const std::string& path) {
  // Create the file ourselves so that it never exists with a wider mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  // One file, no WAL side files: the state is small and has one writer.
  if (auto st = db->exec("PRAGMA journal_mode=DELETE;"); !st) return fail(st.error());
  // The account table is key/value: the fields added with certificates
  // (auth, cert_file, key_file, est_url) need no new schema version, and an
  // older file reads as a Basic account without them.
  if (auto st = db->migrate("device", {{1, kSchema}}); !st) return fail(st.error());
  return DeviceState(std::move(*db));
}

Status DeviceState::erase(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix, ec);
    if (ec) return fail(Errc::io_error, "cannot remove " + path + suffix + ": " + ec.message());
  }
  return {};
}

Result<std::optional<Account>> DeviceState::account() {
  auto s = db_.prepare("SELECT k, v FROM account");
  if (!s) return fail(s.error());
  Account a;
  bool any = false;
  for (;;) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    any = true;
    std::string k = s->columnText(0);
    std::string v = s->columnText(1);
    if (k == "url")
      a.url = v;
    else if (k == "user")
      a.user = v;
    else if (k == "password")
      a.password = v;
    else if (k == "ca_file")
      a.ca_file = v;
    else if (k == "device_id")
      a.device_id = v;
    else if (k == "device_type")
      a.device_type = v;
    else if (k == "version")
      a.version = v;
    else if (k == "max_version")
      a.max_version = v;
    else if (k == "policy_key")
      a.policy_key = v;
    else if (k == "folder_sync_key")
      a.folder_sync_key = v;
    else if (k == "email")
      a.email = v;
    else if (k == "auth")
      a.auth = v == "certificate" ? AuthMode::certificate : AuthMode::basic;
    else if (k == "cert_file")
      a.cert_file = v;
    else if (k == "key_file")
      a.key_file = v;
    else if (k == "est_url")
      a.est_url = v;
  }
  if (!any) return std::optional<Account>{};
  return std::optional<Account>{std::move(a)};
}

Status DeviceState::saveAccount(const Account& a) {
  return store::sqlite::transaction(db_, [&]() -> Status {
    auto s = db_.prepare("INSERT OR REPLACE INTO account (k, v) VALUES (?1, ?2)");
    if (!s) return fail(s.error());
    const std::string auth(authModeName(a.auth));
    const std::pair<const char*, const std::string*> fields[] = {
        {"url", &a.url},
        {"user", &a.user},
        {"password", &a.password},
        {"ca_file", &a.ca_file},
        {"device_id", &a.device_id},
        {"device_type", &a.device_type},
        {"version", &a.version},
        {"max_version", &a.max_version},
        {"policy_key", &a.policy_key},
        {"folder_sync_key", &a.folder_sync_key},
        {"email", &a.email},
        {"auth", &auth},
        {"cert_file", &a.cert_file},
        {"key_file", &a.key_file},
        {"est_url", &a.est_url},
    };
    for (const auto& [k, v] : fields) {
      s->reset();
      s->bind(1, std::string_view(k)).bind(2, std::string_view(*v));
      if (auto st = s->run(); !st) return st;
    }
    return {};
  });
}

Result<std::vector<LocalFolder>> DeviceState::folders() {
  auto s = db_.prepare(
      "SELECT server_id, parent_id, name, type, sync_key FROM folders ORDER BY type, name");
  if (!s) return fail(s.error());
  std::vector<LocalFolder> out;
  for (;;) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    LocalFolder f;
    f.folder.server_id = s->columnText(0);
    f.folder.parent_id = s->columnText(1);
    f.folder.display_name = s->columnText(2);
    f.folder.type = static_cast<int>(s->columnInt(3));
    f.sync_key = s->columnText(4);
    out.push_back(std::move(f));
  }
  return out;
}

Status DeviceState::applyFolderSync(const FolderSyncResult& r) {
  return store::sqlite::transaction(db_, [&]() -> Status {
    auto upsert = db_.prepare(
        "INSERT INTO folders (server_id, parent_id, name, type) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (server_id) DO UPDATE SET parent_id = ?2, name = ?3, type = ?4");
    if (!upsert) return fail(upsert.error());
    for (const auto* list : {&r.adds, &r.updates}) {
      for (const Folder& f : *list) {
        upsert->reset();
        upsert->bind(1, f.server_id)
            .bind(2, f.parent_id)
            .bind(3, f.display_name)
            .bind(4, std::int64_t{f.type});
        if (auto st = upsert->run(); !st) return st;
      }
    }
    auto del = db_.prepare("DELETE FROM folders WHERE server_id = ?1");
    auto del_items = db_.prepare("DELETE FROM items WHERE folder_id = ?1");
    if (!del) return fail(del.error());
    if (!del_items) return fail(del_items.error());
    for (const std::string& id : r.deletes) {
      del->reset();
      del_items->reset();
      if (auto st = del->bind(1, id).run(); !st) return st;
      if (auto st = del_items->bind(1, id).run(); !st) return st;
    }
    return {};
  });
}

Status DeviceState::resetHierarchy() { return db_.exec("DELETE FROM items; DELETE FROM folders;"); }

Status DeviceState::setFolderSyncKey(const std::string& folder_id, const std::string& sync_key) {
  auto s = db_.prepare("UPDATE folders SET sync_key = ?2 WHERE server_id = ?1");
  if (!s) return fail(s.error());
  return s->bind(1, folder_id).bind(2, sync_key).run();
}

Result<std::vector<LocalItem>> DeviceState::applySync(const std::string& folder_id,
                                                      const std::vector<ServerItem>& items) {
  std::vector<LocalItem> added;
  auto st = store::sqlite::transaction(db_, [&]() -> Status {
    auto insert = db_.prepare(
        "INSERT INTO items (folder_id, server_id, subject, sender, recipients, date, read, "
        "flagged) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (folder_id, server_id) DO UPDATE SET subject = ?3, sender = ?4, recipients = "
        "?5, "
        "date = ?6, read = ?7, flagged = ?8");
    auto find = db_.prepare("SELECT " + std::string(kItemColumns) +
                            " FROM items WHERE folder_id = ?1 AND server_id = ?2");
    auto remove = db_.prepare("DELETE FROM items WHERE folder_id = ?1 AND server_id = ?2");
    if (!insert) return fail(insert.error());
    if (!find) return fail(find.error());
    if (!remove) return fail(remove.error());
    for (const ServerItem& item : items) {
      if (item.kind == ServerItem::Kind::remove) {
        remove->reset();
        if (auto r = remove->bind(1, folder_id).bind(2, item.server_id).run(); !r) return r;
        continue;
      }
      // A Change carries only what changed (MS-ASCMD 2.2.3.24): merge into the stored row.
      find->reset();
      find->bind(1, folder_id).bind(2, item.server_id);
      auto row = find->step();
      if (!row) return fail(row.error());
      LocalItem cur;
      bool existed = *row;
      if (existed) cur = rowToItem(*find);
      find->reset();
      const EmailFields& f = item.fields;
      if (f.subject) cur.subject = *f.subject;
      if (f.from) cur.from = *f.from;
      if (f.to) cur.to = *f.to;
      if (f.date) cur.date = *f.date;
      if (f.read) cur.read = *f.read;
      if (f.flagged) cur.flagged = *f.flagged;
      insert->reset();
      insert->bind(1, folder_id)
          .bind(2, item.server_id)
          .bind(3, cur.subject)
          .bind(4, cur.from)
          .bind(5, cur.to)
          .bind(6, cur.date)
          .bind(7, std::int64_t{cur.read})
          .bind(8, std::int64_t{cur.flagged});
      if (auto r = insert->run(); !r) return r;
      if (!existed) {
        cur.id = db_.lastInsertId();
        cur.folder_id = folder_id;
        cur.server_id = item.server_id;
        added.push_back(std::move(cur));
      }
    }
    return {};
  });
  if (!st) return fail(st.error());
  return added;
}

Status DeviceState::clearItems(const std::string& folder_id) {
  auto s = db_.prepare("DELETE FROM items WHERE folder_id = ?1");
  if (!s) return fail(s.error());
  return s->bind(1, folder_id).run();
}

Result<std::vector<LocalItem>> DeviceState::items(const std::string& folder_id) {
  auto s = db_.prepare("SELECT " + std::string(kItemColumns) +
                       " FROM items WHERE folder_id = ?1 ORDER BY id");
  if (!s) return fail(s.error());
  s->bind(1, folder_id);
  std::vector<LocalItem> out;
  for (;;) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(rowToItem(*s));
  }
  return out;
}

Result<std::optional<LocalItem>> DeviceState::item(std::int64_t local_id) {
  auto s = db_.prepare("SELECT " + std::string(kItemColumns) + " FROM items WHERE id = ?1");
  if (!s) return fail(s.error());
  s->bind(1, local_id);
  auto row = s->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<LocalItem>{};
  return std::optional<LocalItem>{rowToItem(*s)};
}

Status DeviceState::setRead(std::int64_t local_id, bool read) {
  auto s = db_.prepare("UPDATE items SET read = ?2 WHERE id = ?1");
  if (!s) return fail(s.error());
  return s->bind(1, local_id).bind(2, std::int64_t{read}).run();
}

Status DeviceState::removeItem(std::int64_t local_id) {
  auto s = db_.prepare("DELETE FROM items WHERE id = ?1");
  if (!s) return fail(s.error());
  return s->bind(1, local_id).run();
}

Status DeviceState::moveItem(std::int64_t local_id, const std::string& folder_id,
                             const std::string& server_id) {
  auto s = db_.prepare("UPDATE OR REPLACE items SET folder_id = ?2, server_id = ?3 WHERE id = ?1");
  if (!s) return fail(s.error());
  return s->bind(1, local_id).bind(2, folder_id).bind(3, server_id).run();
}

}  // namespace rampart::device
