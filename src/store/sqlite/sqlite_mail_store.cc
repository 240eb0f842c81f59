#include "store/sqlite/sqlite_mail_store.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/detail/summary_codec.h"
#include "store/sqlite/database.h"

namespace rampart::store::sqlite {
namespace {

// Item and folder ids use AUTOINCREMENT so an id is never reused: a deleted
// item's id may still sit in a device's sync state or in a change log.
// The message row keeps the (possibly large) bytes in the last column, so
// listing items reads the summary without touching the blob's overflow pages.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE mailboxes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL UNIQUE,
  folder_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE folders(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox INTEGER NOT NULL REFERENCES mailboxes(id),
  parent INTEGER REFERENCES folders(id),
  name TEXT NOT NULL,
  type INTEGER NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX folders_by_name ON folders(mailbox, ifnull(parent, 0), name);
CREATE INDEX folders_by_type ON folders(mailbox, type);
CREATE INDEX folders_by_parent ON folders(parent);
CREATE TABLE folder_changes(
  mailbox INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  folder INTEGER NOT NULL,
  PRIMARY KEY(mailbox, seq)) WITHOUT ROWID;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size INTEGER NOT NULL,
  summary BLOB NOT NULL,
  bytes BLOB NOT NULL);
CREATE TABLE items(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox INTEGER NOT NULL REFERENCES mailboxes(id),
  folder INTEGER NOT NULL REFERENCES folders(id),
  message INTEGER NOT NULL REFERENCES messages(id),
  received_at INTEGER NOT NULL,
  read INTEGER NOT NULL DEFAULT 0,
  flag INTEGER NOT NULL DEFAULT 0);
CREATE INDEX items_by_folder ON items(folder, received_at DESC, id DESC);
CREATE INDEX items_by_message ON items(message);
-- A message is stored once and lives as long as some item refers to it.
CREATE TRIGGER items_release_message AFTER DELETE ON items
  WHEN NOT EXISTS (SELECT 1 FROM items WHERE message = OLD.message)
  BEGIN DELETE FROM messages WHERE id = OLD.message; END;
CREATE TABLE changes(
  folder INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  item INTEGER NOT NULL,
  PRIMARY KEY(folder, seq)) WITHOUT ROWID;
)sql";

// v2: the owner's Out of Office settings (EAS Settings Oof), one row per
// mailbox that ever set them; no row reads as "disabled".
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE oof_settings(
  mailbox INTEGER PRIMARY KEY REFERENCES mailboxes(id),
  state INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  internal_enabled INTEGER NOT NULL,
  internal_message TEXT NOT NULL,
  internal_html INTEGER NOT NULL,
  known_enabled INTEGER NOT NULL,
  known_message TEXT NOT NULL,
  known_html INTEGER NOT NULL,
  unknown_enabled INTEGER NOT NULL,
  unknown_message TEXT NOT NULL,
  unknown_html INTEGER NOT NULL);
)sql";

// v3: whom each owner's Out of Office has answered, and when (RFC 3834 3.1.1:
// one automatic reply per sender per period). `sender` is lower case. Rows
// older than the period are pruned as new replies are claimed, and all of a
// mailbox's rows go when its Out of Office is turned off.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE oof_replies(
  mailbox INTEGER NOT NULL REFERENCES mailboxes(id),
  sender TEXT NOT NULL,
  replied_at INTEGER NOT NULL,
  PRIMARY KEY(mailbox, sender)) WITHOUT ROWID;
)sql";

struct DefaultFolder {
  FolderType type;
  std::string_view name;
};
constexpr std::array<DefaultFolder, 5> kDefaultFolders{{
    {FolderType::inbox, "Inbox"},
    {FolderType::drafts, "Drafts"},
    {FolderType::deleted_items, "Deleted Items"},
    {FolderType::sent_items, "Sent Items"},
    {FolderType::outbox, "Outbox"},
}};

std::int64_t clampToInt64(std::size_t v) {
  return v > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(v);
}

Error notFound(std::string_view what) { return Error{make_error_code(Errc::not_found), std::string(what)}; }


// A connection with its prepared statements, each prepared once.
class Connection {
 public:
  explicit Connection(Database db) : db_(std::move(db)) {}

  Result<Query> query(std::string_view sql) { return statements_.query(db_, sql); }
  // Runs a query whose only parameter is an id and leaves it on its row;
  // Errc::not_found (naming `what`) when there is none.
  Result<Query> rowById(std::string_view sql, std::int64_t id, const char* what) {
    auto q = query(sql);
    if (!q) return fail(q.error());
    (*q)->bind(1, id);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) return fail(notFound(what));
    return q;
  }
  Database& db() { return db_; }

 private:
  Database db_;
  StatementCache statements_;  // after db_: finalized before the connection closes
};


Folder folderFromRow(const Statement& s) {
  // Columns: id, mailbox, parent, name, type, last_seq
  Folder f;
  f.id = s.columnInt(0);
  f.mailbox = s.columnInt(1);
  if (!s.columnIsNull(2)) f.parent = s.columnInt(2);
  f.name = s.columnText(3);
  f.type = static_cast<FolderType>(s.columnInt(4));
  f.last_seq = s.columnInt(5);
  return f;
}

Result<Item> itemFromRow(const Statement& s) {
  // Columns: id, mailbox, folder, message, received_at, read, flag, summary
  Item it;
  it.id = s.columnInt(0);
  it.mailbox = s.columnInt(1);
  it.folder = s.columnInt(2);
  it.message = s.columnInt(3);
  it.received_at = s.columnInt(4);
  it.read = s.columnInt(5) != 0;
  it.flag = static_cast<FlagStatus>(s.columnInt(6));
  auto summary = detail::decodeSummary(s.columnBlob(7));
  if (!summary) return fail(summary.error());
  it.summary = std::move(*summary);
  return it;
}

// --- change feed ------------------------------------------------------------

struct Subscriber {
  // Held while the callback runs, so that a subscription destroyed on another
  // thread waits for a running callback instead of racing it. Recursive so a
  // callback may drop its own subscription.
  std::recursive_mutex mutex;
  bool active = true;
  std::function<void(FolderId, Seq)> notify;
};

class Feed {
 public:
  void add(FolderId folder, std::shared_ptr<Subscriber> sub) {
    std::lock_guard lock(mutex_);
    subs_.emplace(folder, std::move(sub));
  }
  void remove(FolderId folder, const Subscriber* sub) {
    std::lock_guard lock(mutex_);
    auto [first, last] = subs_.equal_range(folder);
    for (auto it = first; it != last; ++it) {
      if (it->second.get() == sub) {
        subs_.erase(it);
        return;
      }
    }
  }
  void publish(FolderId folder, Seq seq) {
    std::vector<std::shared_ptr<Subscriber>> targets;
    {
      std::lock_guard lock(mutex_);
      auto [first, last] = subs_.equal_range(folder);
      for (auto it = first; it != last; ++it) targets.push_back(it->second);
    }
    for (const auto& sub : targets) {
      std::lock_guard lock(sub->mutex);
      if (sub->active) sub->notify(folder, seq);
    }
  }

 private:
  std::mutex mutex_;
  std::unordered_multimap<FolderId, std::shared_ptr<Subscriber>> subs_;
};

class FeedSubscription final : public Subscription {
 public:
  FeedSubscription(std::shared_ptr<Feed> feed, FolderId folder, std::shared_ptr<Subscriber> sub)
      : feed_(std::move(feed)), folder_(folder), sub_(std::move(sub)) {}
  ~FeedSubscription() override {
    {
      std::lock_guard lock(sub_->mutex);
      sub_->active = false;
    }
    feed_->remove(folder_, sub_.get());
  }

 private:
  std::shared_ptr<Feed> feed_;  // shared: a subscription may outlive the store
  FolderId folder_;
  std::shared_ptr<Subscriber> sub_;
};

// --- the writer ---------------------------------------------------------------

// What one queued write sees while it runs inside its savepoint.
struct WriteContext {
  Connection& conn;
  std::vector<std::pair<FolderId, Seq>> touched;  // folders whose log grew

  // Appends to a folder's change log; returns the new sequence number.
  Result<Seq> logChange(FolderId folder, ChangeKind kind, ItemId item) {
    Seq seq = 0;
    {
      auto q = conn.rowById("UPDATE folders SET last_seq = last_seq + 1 WHERE id = ?1"
                          " RETURNING last_seq", folder, "folder");
      if (!q) return fail(q.error());
      seq = (*q)->columnInt(0);
    }
    auto q = conn.query("INSERT INTO changes(folder, seq, kind, item) VALUES(?1, ?2, ?3, ?4)");
    if (!q) return fail(q.error());
    (*q)->bind(1, folder).bind(2, seq).bind(3, std::int64_t{static_cast<int>(kind)}).bind(4, item);
    if (auto st = (*q)->run(); !st) return fail(st.error());
    touched.emplace_back(folder, seq);
    return seq;
  }

  Status logFolderChange(MailboxId mailbox, ChangeKind kind, FolderId folder) {
    Seq seq = 0;
    {
      auto q = conn.rowById("UPDATE mailboxes SET folder_seq = folder_seq + 1 WHERE id = ?1"
                          " RETURNING folder_seq", mailbox, "mailbox");
      if (!q) return fail(q.error());
      seq = (*q)->columnInt(0);
    }
    auto q = conn.query(
        "INSERT INTO folder_changes(mailbox, seq, kind, folder) VALUES(?1, ?2, ?3, ?4)");
    if (!q) return fail(q.error());
    (*q)->bind(1, mailbox).bind(2, seq).bind(3, std::int64_t{static_cast<int>(kind)}).bind(4, folder);
    return (*q)->run();
  }
};

struct WriteTask {
  // Runs on the writer thread inside its own savepoint.
  std::function<Status(WriteContext&)> apply;
  // Runs after the batch committed (or failed) with the task's final status.
  std::function<void(const Status&)> complete;
};

// --- the store ----------------------------------------------------------------

class SqliteMailStore final : public MailStore {
 public:
  SqliteMailStore(std::string path, SqliteStoreOptions options, Database writer)
      : path_(std::move(path)),
        options_(options),
        writer_conn_(std::move(writer)),
        feed_(std::make_shared<Feed>()) {
    writer_thread_ = std::thread([this] { writerLoop(); });
  }

  ~SqliteMailStore() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    // The writer drains the queue before it exits: nothing queued is dropped.
    writer_thread_.join();
  }

  // --- mailboxes and folders ---------------------------------------------------

  Result<MailboxId> openMailbox(std::string_view owner) override {
    if (owner.empty()) return fail(Errc::invalid_argument, "empty mailbox owner");
    auto found = findMailbox(owner);
    if (!found) return fail(found.error());
    if (*found) return **found;
    std::string name(owner);
    return write<Result<MailboxId>>([name](WriteContext& w) -> Result<MailboxId> {
      {
        // Another caller may have created it since our read.
        auto q = w.conn.query("SELECT id FROM mailboxes WHERE owner = ?1");
        if (!q) return fail(q.error());
        (*q)->bind(1, name);
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (*row) return (*q)->columnInt(0);
      }
      MailboxId mailbox = 0;
      {
        auto q = w.conn.query("INSERT INTO mailboxes(owner) VALUES(?1) RETURNING id");
        if (!q) return fail(q.error());
        (*q)->bind(1, name);
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        mailbox = (*q)->columnInt(0);
      }
      for (const DefaultFolder& d : kDefaultFolders) {
        auto q = w.conn.query(
            "INSERT INTO folders(mailbox, parent, name, type, is_default)"
            " VALUES(?1, NULL, ?2, ?3, 1) RETURNING id");
        if (!q) return fail(q.error());
        (*q)->bind(1, mailbox).bind(2, d.name).bind(3, std::int64_t{static_cast<int>(d.type)});
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        FolderId id = (*q)->columnInt(0);
        if (auto st = w.logFolderChange(mailbox, ChangeKind::add, id); !st) return fail(st.error());
      }
      return mailbox;
    });
  }

  Result<std::optional<MailboxId>> findMailbox(std::string_view owner) override {
    return read([&](Connection& c) -> Result<std::optional<MailboxId>> {
      auto q = c.query("SELECT id FROM mailboxes WHERE owner = ?1");
      if (!q) return fail(q.error());
      (*q)->bind(1, owner);
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      if (!*row) return std::optional<MailboxId>();
      return std::optional<MailboxId>((*q)->columnInt(0));
    });
  }

  Result<std::vector<Folder>> listFolders(MailboxId mailbox) override {
    return read([&](Connection& c) -> Result<std::vector<Folder>> {
      if (auto st = mailboxExists(c, mailbox); !st) return fail(st.error());
      auto q = c.query(
          "SELECT id, mailbox, parent, name, type, last_seq FROM folders"
          " WHERE mailbox = ?1 ORDER BY id");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox);
      std::vector<Folder> out;
      while (true) {
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) break;
        out.push_back(folderFromRow(**q));
      }
      return out;
    });
  }

  Result<Folder> getFolder(FolderId folder) override {
    return read([&](Connection& c) { return loadFolder(c, folder); });
  }

  Result<Folder> folderOfType(MailboxId mailbox, FolderType type) override {
    return read([&](Connection& c) -> Result<Folder> {
      auto q = c.query(
          "SELECT id, mailbox, parent, name, type, last_seq FROM folders"
          " WHERE mailbox = ?1 AND type = ?2 ORDER BY is_default DESC, id LIMIT 1");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, std::int64_t{static_cast<int>(type)});
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      if (!*row) return fail(notFound("no folder of that type"));
      return folderFromRow(**q);
    });
  }

  Result<Folder> createFolder(MailboxId mailbox, std::optional<FolderId> parent,
                              std::string_view name, FolderType type) override {
    if (name.empty()) return fail(Errc::invalid_argument, "empty folder name");
    std::string folder_name(name);
    return write<Result<Folder>>([=, this](WriteContext& w) -> Result<Folder> {
      if (auto st = mailboxExists(w.conn, mailbox); !st) return fail(st.error());
      if (parent) {
        auto p = loadFolder(w.conn, *parent);
        if (!p) return fail(p.error());
        if (p->mailbox != mailbox) {
          return fail(Errc::invalid_argument, "parent folder is in another mailbox");
        }
      }
      if (auto st = checkNameFree(w.conn, mailbox, parent, folder_name); !st) return fail(st.error());
      auto q = w.conn.query(
          "INSERT INTO folders(mailbox, parent, name, type) VALUES(?1, ?2, ?3, ?4) RETURNING id");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, parent).bind(3, folder_name)
          .bind(4, std::int64_t{static_cast<int>(type)});
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      FolderId id = (*q)->columnInt(0);
      if (auto st = w.logFolderChange(mailbox, ChangeKind::add, id); !st) return fail(st.error());
      return loadFolder(w.conn, id);
    });
  }

  // An empty `new_name` keeps the current name. Default folders cannot be
  // renamed or moved (MS-ASCMD FolderUpdate status 2 "system folder").
  Result<Folder> updateFolder(FolderId folder, std::optional<FolderId> new_parent,
                              std::string_view new_name) override {
    std::string name(new_name);
    return write<Result<Folder>>([=, this](WriteContext& w) -> Result<Folder> {
      auto f = loadFolder(w.conn, folder);
      if (!f) return fail(f.error());
      auto is_default = isDefault(w.conn, folder);
      if (!is_default) return fail(is_default.error());
      std::string target_name = name.empty() ? f->name : name;
      if (*is_default) {
        if (new_parent == f->parent && target_name == f->name) return *f;
        return fail(Errc::invalid_argument, "default folders cannot be renamed or moved");
      }
      if (new_parent) {
        if (*new_parent == folder) {
          return fail(Errc::invalid_argument, "a folder cannot be its own parent");
        }
        auto p = loadFolder(w.conn, *new_parent);
        if (!p) return fail(p.error());
        if (p->mailbox != f->mailbox) {
          return fail(Errc::invalid_argument, "parent folder is in another mailbox");
        }
        auto q = w.conn.query(
            "WITH RECURSIVE sub(id) AS (SELECT id FROM folders WHERE parent = ?1"
            " UNION ALL SELECT f.id FROM folders f JOIN sub ON f.parent = sub.id)"
            " SELECT 1 FROM sub WHERE id = ?2");
        if (!q) return fail(q.error());
        (*q)->bind(1, folder).bind(2, *new_parent);
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (*row) return fail(Errc::invalid_argument, "cannot move a folder under its descendant");
      }
      if (new_parent == f->parent && target_name == f->name) return *f;
      if (auto st = checkNameFree(w.conn, f->mailbox, new_parent, target_name); !st) {
        return fail(st.error());
      }
      {
        auto q = w.conn.query("UPDATE folders SET parent = ?2, name = ?3 WHERE id = ?1");
        if (!q) return fail(q.error());
        (*q)->bind(1, folder).bind(2, new_parent).bind(3, target_name);
        if (auto st = (*q)->run(); !st) return fail(st.error());
      }
      if (auto st = w.logFolderChange(f->mailbox, ChangeKind::change, folder); !st) {
        return fail(st.error());
      }
      return loadFolder(w.conn, folder);
    });
  }

  Status deleteFolder(FolderId folder) override {
    return write<Status>([=, this](WriteContext& w) -> Status {
      auto f = loadFolder(w.conn, folder);
      if (!f) return fail(f.error());
      auto is_default = isDefault(w.conn, folder);
      if (!is_default) return fail(is_default.error());
      if (*is_default) return fail(Errc::invalid_argument, "default folders cannot be deleted");
      // Parents come before their children in `subtree`.
      std::vector<FolderId> subtree;
      {
        auto q = w.conn.query(
            "WITH RECURSIVE sub(id, depth) AS (SELECT ?1, 0"
            " UNION ALL SELECT f.id, sub.depth + 1 FROM folders f JOIN sub ON f.parent = sub.id)"
            " SELECT id FROM sub ORDER BY depth");
        if (!q) return fail(q.error());
        (*q)->bind(1, folder);
        while (true) {
          auto row = (*q)->step();
          if (!row) return fail(row.error());
          if (!*row) break;
          subtree.push_back((*q)->columnInt(0));
        }
      }
      for (auto it = subtree.rbegin(); it != subtree.rend(); ++it) {
        for (const char* sql : {"DELETE FROM items WHERE folder = ?1",
                                "DELETE FROM changes WHERE folder = ?1",
                                "DELETE FROM folders WHERE id = ?1"}) {
          auto q = w.conn.query(sql);
          if (!q) return fail(q.error());
          (*q)->bind(1, *it);
          if (auto st = (*q)->run(); !st) return fail(st.error());
        }
        if (auto st = w.logFolderChange(f->mailbox, ChangeKind::remove, *it); !st) return st;
      }
      return {};
    });
  }

  Result<std::vector<FolderChange>> folderChanges(MailboxId mailbox, Seq since) override {
    return read([&](Connection& c) -> Result<std::vector<FolderChange>> {
      if (auto st = mailboxExists(c, mailbox); !st) return fail(st.error());
      auto q = c.query(
          "SELECT seq, kind, folder FROM folder_changes WHERE mailbox = ?1 AND seq > ?2"
          " ORDER BY seq");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, since);
      std::vector<FolderChange> out;
      while (true) {
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) break;
        out.push_back(FolderChange{(*q)->columnInt(0), static_cast<ChangeKind>((*q)->columnInt(1)),
                                   (*q)->columnInt(2)});
      }
      return out;
    });
  }

  Result<Seq> folderHierarchySeq(MailboxId mailbox) override {
    return read([&](Connection& c) -> Result<Seq> {
      auto q = c.rowById("SELECT folder_seq FROM mailboxes WHERE id = ?1", mailbox, "mailbox");
      if (!q) return fail(q.error());
      return (*q)->columnInt(0);
    });
  }

  // --- messages -------------------------------------------------------------------

  void deliver(Delivery delivery, std::function<void(Result<DeliveryReceipt>)> done) override {
    if (!delivery.bytes || delivery.targets.empty()) {
      done(fail(Errc::invalid_argument, "a delivery needs bytes and at least one target"));
      return;
    }
    // Encoded on the caller's thread: the writer's time is the bottleneck.
    struct State {
      Delivery delivery;
      std::string summary;
      DeliveryReceipt receipt;
      std::function<void(Result<DeliveryReceipt>)> done;
    };
    auto state = std::make_shared<State>();
    state->summary = detail::encodeSummary(delivery.summary);
    state->delivery = std::move(delivery);
    state->done = std::move(done);
    WriteTask task;
    task.apply = [state](WriteContext& w) -> Status {
      state->receipt = {};
      return applyDelivery(w, state->delivery, state->summary, state->receipt);
    };
    task.complete = [state](const Status& st) {
      if (st) {
        state->done(std::move(state->receipt));
      } else {
        state->done(fail(st.error()));
      }
    };
    enqueue(std::move(task));
  }

  Result<Item> getItem(ItemId item) override {
    return read([&](Connection& c) { return loadItem(c, item); });
  }

  Result<std::string> messageBytes(ItemId item) override {
    return read([&](Connection& c) -> Result<std::string> {
      auto q = c.rowById(
          "SELECT m.bytes FROM items i JOIN messages m ON m.id = i.message WHERE i.id = ?1", item, "item");
      if (!q) return fail(q.error());
      return std::string((*q)->columnBlob(0));
    });
  }

  Result<std::vector<Item>> listItems(FolderId folder, std::int64_t received_since,
                                      std::size_t offset, std::size_t limit) override {
    return read([&](Connection& c) -> Result<std::vector<Item>> {
      if (auto f = loadFolder(c, folder); !f) return fail(f.error());
      auto q = c.query(
          "SELECT i.id, i.mailbox, i.folder, i.message, i.received_at, i.read, i.flag, m.summary"
          " FROM items i JOIN messages m ON m.id = i.message"
          " WHERE i.folder = ?1 AND i.received_at >= ?2"
          " ORDER BY i.received_at DESC, i.id DESC LIMIT ?3 OFFSET ?4");
      if (!q) return fail(q.error());
      (*q)->bind(1, folder).bind(2, received_since).bind(3, clampToInt64(limit))
          .bind(4, clampToInt64(offset));
      std::vector<Item> out;
      while (true) {
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) break;
        auto it = itemFromRow(**q);
        if (!it) return fail(it.error());
        out.push_back(std::move(*it));
      }
      return out;
    });
  }

  Result<std::size_t> countItems(FolderId folder, std::int64_t received_since) override {
    return read([&](Connection& c) -> Result<std::size_t> {
      if (auto f = loadFolder(c, folder); !f) return fail(f.error());
      auto q = c.query("SELECT count(*) FROM items WHERE folder = ?1 AND received_at >= ?2");
      if (!q) return fail(q.error());
      (*q)->bind(1, folder).bind(2, received_since);
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      return static_cast<std::size_t>((*q)->columnInt(0));
    });
  }

  // Batches of kBatch ids in one prepared statement (unused slots bind 0,
  // which no item has).
  Result<std::vector<Item>> getItems(const std::vector<ItemId>& ids) override {
    constexpr std::size_t kBatch = 64;
    std::vector<ItemId> sorted(ids);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    return read([&](Connection& c) -> Result<std::vector<Item>> {
      static const std::string sql = [] {
        std::string q =
            "SELECT i.id, i.mailbox, i.folder, i.message, i.received_at, i.read, i.flag, m.summary"
            " FROM items i JOIN messages m ON m.id = i.message WHERE i.id IN (";
        for (std::size_t i = 1; i <= kBatch; ++i) q += (i > 1 ? ",?" : "?") + std::to_string(i);
        return q + ") ORDER BY i.id";
      }();
      std::vector<Item> out;
      for (std::size_t at = 0; at < sorted.size(); at += kBatch) {
        auto q = c.query(sql);
        if (!q) return fail(q.error());
        for (std::size_t i = 0; i < kBatch; ++i) {
          (*q)->bind(static_cast<int>(i + 1), at + i < sorted.size() ? sorted[at + i] : ItemId{0});
        }
        while (true) {
          auto row = (*q)->step();
          if (!row) return fail(row.error());
          if (!*row) break;
          auto it = itemFromRow(**q);
          if (!it) return fail(it.error());
          out.push_back(std::move(*it));
        }
      }
      return out;
    });
  }

  // Keyset over items_by_folder(folder, received_at DESC, id DESC): the row
  // value bound seeks straight to the cursor, so a page costs its own rows
  // however deep into the folder it is. No `after` binds (max, max).
  Result<ItemPage> scanItems(FolderId folder, const ItemRange& range, std::size_t limit) override {
    return read([&](Connection& c) -> Result<ItemPage> {
      // One read transaction: the page, the folder's last_seq and the id
      // high-water mark come from the same snapshot (WAL).
      if (auto st = c.db().exec("BEGIN"); !st) return fail(st.error());
      auto page = scanInSnapshot(c, folder, range, limit);
      if (!page) {
        c.db().rollback();
        return page;
      }
      if (auto st = c.db().exec("COMMIT"); !st) {
        c.db().rollback();
        return fail(st.error());
      }
      return page;
    });
  }

  Result<std::size_t> countItemsInRange(FolderId folder, const ItemRange& range) override {
    return read([&](Connection& c) -> Result<std::size_t> {
      if (auto f = loadFolder(c, folder); !f) return fail(f.error());
      auto q = c.query(
          "SELECT count(*) FROM items WHERE folder = ?1 AND received_at >= ?2"
          " AND (received_at, id) < (?3, ?4) AND id <= ?5");
      if (!q) return fail(q.error());
      bindRange(**q, folder, range);
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      return static_cast<std::size_t>((*q)->columnInt(0));
    });
  }

  Status setRead(ItemId item, bool value) override {
    return updateItemField(item, "UPDATE items SET read = ?2 WHERE id = ?1 AND read != ?2",
                           value ? 1 : 0);
  }

  Status setFlag(ItemId item, FlagStatus flag) override {
    return updateItemField(item, "UPDATE items SET flag = ?2 WHERE id = ?1 AND flag != ?2",
                           static_cast<int>(flag));
  }

  // --- mailbox settings ------------------------------------------------------------

  Result<OofSettings> getOof(MailboxId mailbox) override {
    return read([&](Connection& c) -> Result<OofSettings> {
      if (auto st = mailboxExists(c, mailbox); !st) return fail(st.error());
      auto q = c.query(
          "SELECT state, start_time, end_time, internal_enabled, internal_message, internal_html,"
          " known_enabled, known_message, known_html, unknown_enabled, unknown_message, unknown_html"
          " FROM oof_settings WHERE mailbox = ?1");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox);
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      OofSettings oof;
      if (!*row) return oof;
      const Statement& s = **q;
      std::int64_t state = s.columnInt(0);
      oof.state = state == 1 ? OofState::global : state == 2 ? OofState::time_based
                                                             : OofState::disabled;
      oof.start_time = s.columnInt(1);
      oof.end_time = s.columnInt(2);
      OofReply* replies[] = {&oof.internal, &oof.external_known, &oof.external_unknown};
      for (int i = 0; i < 3; ++i) {
        replies[i]->enabled = s.columnInt(3 + 3 * i) != 0;
        replies[i]->message = s.columnText(4 + 3 * i);
        replies[i]->html = s.columnInt(5 + 3 * i) != 0;
      }
      return oof;
    });
  }

  Status setOof(MailboxId mailbox, const OofSettings& oof) override {
    return write<Status>([=](WriteContext& w) -> Status {
      if (auto st = mailboxExists(w.conn, mailbox); !st) return st;
      auto q = w.conn.query(
          "INSERT OR REPLACE INTO oof_settings(mailbox, state, start_time, end_time,"
          " internal_enabled, internal_message, internal_html, known_enabled, known_message,"
          " known_html, unknown_enabled, unknown_message, unknown_html)"
          " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, std::int64_t{static_cast<int>(oof.state)})
          .bind(3, oof.start_time).bind(4, oof.end_time);
      const OofReply* replies[] = {&oof.internal, &oof.external_known, &oof.external_unknown};
      for (int i = 0; i < 3; ++i) {
        (*q)->bind(5 + 3 * i, std::int64_t{replies[i]->enabled ? 1 : 0})
            .bind(6 + 3 * i, std::string_view(replies[i]->message))
            .bind(7 + 3 * i, std::int64_t{replies[i]->html ? 1 : 0});
      }
      if (auto st = (*q)->run(); !st) return st;
      if (oof.state != OofState::disabled) return {};
      // Turning Out of Office off ends the absence: the next one answers
      // every sender afresh.
      auto forget = w.conn.query("DELETE FROM oof_replies WHERE mailbox = ?1");
      if (!forget) return fail(forget.error());
      (*forget)->bind(1, mailbox);
      return (*forget)->run();
    });
  }

  Result<bool> claimAutoReply(MailboxId mailbox, std::string_view sender, std::int64_t now,
                              std::int64_t period) override {
    std::string key(sender);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return write<Result<bool>>([=](WriteContext& w) -> Result<bool> {
      if (auto st = mailboxExists(w.conn, mailbox); !st) return fail(st.error());
      // One statement decides and records: the row is written only when there
      // is none or it is older than the period, so of two racing claims for
      // the same pair only one sees a change.
      auto q = w.conn.query(
          "INSERT INTO oof_replies(mailbox, sender, replied_at) VALUES(?1, ?2, ?3)"
          " ON CONFLICT(mailbox, sender) DO UPDATE SET replied_at = excluded.replied_at"
          " WHERE replied_at <= ?3 - ?4 OR replied_at > ?3");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, std::string_view(key)).bind(3, now).bind(4, period);
      if (auto st = (*q)->run(); !st) return fail(st.error());
      const bool claimed = w.conn.db().changes() > 0;
      if (claimed) {
        // Forget the senders whose period is over, so the table stays as
        // small as one period's correspondents.
        auto prune = w.conn.query("DELETE FROM oof_replies WHERE mailbox = ?1 AND replied_at <= ?2 - ?3");
        if (!prune) return fail(prune.error());
        (*prune)->bind(1, mailbox).bind(2, now).bind(3, period);
        if (auto st = (*prune)->run(); !st) return fail(st.error());
      }
      return claimed;
    });
  }

  Result<ItemId> moveItem(ItemId item, FolderId destination) override {
    return write<Result<ItemId>>([=, this](WriteContext& w) -> Result<ItemId> {
      auto src = loadItemRow(w.conn, item);
      if (!src) return fail(src.error());
      auto dst = loadFolder(w.conn, destination);
      if (!dst) return fail(dst.error());
      if (dst->mailbox != src->mailbox) {
        return fail(Errc::invalid_argument, "destination folder is in another mailbox");
      }
      if (dst->id == src->folder) {
        return fail(Errc::invalid_argument, "item is already in the destination folder");
      }
      // Insert the new item before deleting the old so the message keeps a
      // reference throughout (the release trigger would otherwise drop it).
      auto inserted = insertItem(w, src->mailbox, destination, src->message, src->received_at,
                                 src->read, src->flag);
      if (!inserted) return fail(inserted.error());
      if (auto st = removeItem(w, item, src->folder); !st) return fail(st.error());
      return *inserted;
    });
  }

  Status deleteItem(ItemId item) override {
    return write<Status>([=, this](WriteContext& w) -> Status {
      auto src = loadItemRow(w.conn, item);
      if (!src) return fail(src.error());
      return removeItem(w, item, src->folder);
    });
  }

  Status emptyFolder(FolderId folder) override {
    return write<Status>([=, this](WriteContext& w) -> Status {
      if (auto f = loadFolder(w.conn, folder); !f) return fail(f.error());
      std::vector<ItemId> ids;
      {
        auto q = w.conn.query("SELECT id FROM items WHERE folder = ?1 ORDER BY id");
        if (!q) return fail(q.error());
        (*q)->bind(1, folder);
        while (true) {
          auto row = (*q)->step();
          if (!row) return fail(row.error());
          if (!*row) break;
          ids.push_back((*q)->columnInt(0));
        }
      }
      for (ItemId id : ids) {
        if (auto st = removeItem(w, id, folder); !st) return st;
      }
      return {};
    });
  }

  Result<std::vector<Change>> changes(FolderId folder, Seq since, std::size_t limit) override {
    return read([&](Connection& c) -> Result<std::vector<Change>> {
      if (auto f = loadFolder(c, folder); !f) return fail(f.error());
      auto q = c.query(
          "SELECT seq, kind, item FROM changes WHERE folder = ?1 AND seq > ?2"
          " ORDER BY seq LIMIT ?3");
      if (!q) return fail(q.error());
      (*q)->bind(1, folder).bind(2, since).bind(3, clampToInt64(limit));
      std::vector<Change> out;
      while (true) {
        auto row = (*q)->step();
        if (!row) return fail(row.error());
        if (!*row) break;
        out.push_back(Change{(*q)->columnInt(0), static_cast<ChangeKind>((*q)->columnInt(1)),
                             (*q)->columnInt(2)});
      }
      return out;
    });
  }

  std::unique_ptr<Subscription> subscribe(FolderId folder,
                                          std::function<void(FolderId, Seq)> notify) override {
    auto sub = std::make_shared<Subscriber>();
    sub->notify = std::move(notify);
    feed_->add(folder, sub);
    return std::make_unique<FeedSubscription>(feed_, folder, std::move(sub));
  }

 private:
  struct ItemRow {
    MailboxId mailbox = 0;
    FolderId folder = 0;
    std::int64_t message = 0;
    std::int64_t received_at = 0;
    bool read = false;
    FlagStatus flag = FlagStatus::cleared;
  };

  // --- helpers that run on any connection -----------------------------------------

  static Status mailboxExists(Connection& c, MailboxId mailbox) {
    auto q = c.rowById("SELECT 1 FROM mailboxes WHERE id = ?1", mailbox, "mailbox");
    if (!q) return fail(q.error());
    return {};
  }

  static Result<Folder> loadFolder(Connection& c, FolderId folder) {
    auto q = c.rowById(
        "SELECT id, mailbox, parent, name, type, last_seq FROM folders WHERE id = ?1", folder, "folder");
    if (!q) return fail(q.error());
    return folderFromRow(**q);
  }

  static Result<bool> isDefault(Connection& c, FolderId folder) {
    auto q = c.rowById("SELECT is_default FROM folders WHERE id = ?1", folder, "folder");
    if (!q) return fail(q.error());
    return (*q)->columnInt(0) != 0;
  }

  static Status checkNameFree(Connection& c, MailboxId mailbox, std::optional<FolderId> parent,
                              const std::string& name) {
    auto q = c.query(
        "SELECT 1 FROM folders WHERE mailbox = ?1 AND ifnull(parent, 0) = ifnull(?2, 0)"
        " AND name = ?3");
    if (!q) return fail(q.error());
    (*q)->bind(1, mailbox).bind(2, parent).bind(3, name);
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (*row) return fail(Errc::already_exists, "a folder of that name exists there");
    return {};
  }

  static Result<Item> loadItem(Connection& c, ItemId item) {
    auto q = c.rowById(
        "SELECT i.id, i.mailbox, i.folder, i.message, i.received_at, i.read, i.flag, m.summary"
        " FROM items i JOIN messages m ON m.id = i.message WHERE i.id = ?1", item, "item");
    if (!q) return fail(q.error());
    return itemFromRow(**q);
  }

  static void bindRange(Statement& s, FolderId folder, const ItemRange& range) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    s.bind(1, folder).bind(2, range.received_since)
        .bind(3, range.after ? range.after->received_at : kMax)
        .bind(4, range.after ? range.after->id : kMax)
        .bind(5, range.max_item);
  }

  static Result<ItemPage> scanInSnapshot(Connection& c, FolderId folder, const ItemRange& range,
                                         std::size_t limit) {
    ItemPage page;
    auto f = loadFolder(c, folder);
    if (!f) return fail(f.error());
    page.folder_seq = f->last_seq;
    {
      auto q = c.query("SELECT ifnull((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0)");
      if (!q) return fail(q.error());
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      page.max_item = *row ? (*q)->columnInt(0) : 0;
    }
    auto q = c.query(
        "SELECT i.id, i.mailbox, i.folder, i.message, i.received_at, i.read, i.flag, m.summary"
        " FROM items i JOIN messages m ON m.id = i.message"
        " WHERE i.folder = ?1 AND i.received_at >= ?2 AND (i.received_at, i.id) < (?3, ?4)"
        " AND i.id <= ?5 ORDER BY i.received_at DESC, i.id DESC LIMIT ?6");
    if (!q) return fail(q.error());
    bindRange(**q, folder, range);
    (*q)->bind(6, clampToInt64(limit));
    while (true) {
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      if (!*row) break;
      auto it = itemFromRow(**q);
      if (!it) return fail(it.error());
      page.items.push_back(std::move(*it));
    }
    return page;
  }

  static Result<ItemRow> loadItemRow(Connection& c, ItemId item) {
    auto q = c.rowById(
        "SELECT mailbox, folder, message, received_at, read, flag FROM items WHERE id = ?1", item, "item");
    if (!q) return fail(q.error());
    return ItemRow{(*q)->columnInt(0), (*q)->columnInt(1), (*q)->columnInt(2), (*q)->columnInt(3),
                   (*q)->columnInt(4) != 0, static_cast<FlagStatus>((*q)->columnInt(5))};
  }

  // --- helpers that run on the writer ------------------------------------------------

  static Result<ItemId> insertItem(WriteContext& w, MailboxId mailbox, FolderId folder,
                                   std::int64_t message, std::int64_t received_at, bool read,
                                   FlagStatus flag) {
    ItemId id = 0;
    {
      auto q = w.conn.query(
          "INSERT INTO items(mailbox, folder, message, received_at, read, flag)"
          " VALUES(?1, ?2, ?3, ?4, ?5, ?6) RETURNING id");
      if (!q) return fail(q.error());
      (*q)->bind(1, mailbox).bind(2, folder).bind(3, message).bind(4, received_at)
          .bind(5, std::int64_t{read ? 1 : 0}).bind(6, std::int64_t{static_cast<int>(flag)});
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      id = (*q)->columnInt(0);
    }
    if (auto seq = w.logChange(folder, ChangeKind::add, id); !seq) return fail(seq.error());
    return id;
  }

  static Status removeItem(WriteContext& w, ItemId item, FolderId folder) {
    auto q = w.conn.query("DELETE FROM items WHERE id = ?1");
    if (!q) return fail(q.error());
    (*q)->bind(1, item);
    if (auto st = (*q)->run(); !st) return st;
    if (auto seq = w.logChange(folder, ChangeKind::remove, item); !seq) return fail(seq.error());
    return {};
  }

  static Status applyDelivery(WriteContext& w, const Delivery& d, const std::string& summary,
                              DeliveryReceipt& receipt) {
    // Resolve every target first: an unknown mailbox fails before any write.
    std::vector<std::pair<MailboxId, FolderId>> folders;
    folders.reserve(d.targets.size());
    for (const Delivery::Target& t : d.targets) {
      if (t.folder) {
        auto f = loadFolder(w.conn, *t.folder);
        if (!f) return fail(f.error());
        if (f->mailbox != t.mailbox) return fail(notFound("folder in that mailbox"));
        folders.emplace_back(t.mailbox, f->id);
        continue;
      }
      auto q = w.conn.query(
          "SELECT id FROM folders WHERE mailbox = ?1 AND type = ?2"
          " ORDER BY is_default DESC, id LIMIT 1");
      if (!q) return fail(q.error());
      (*q)->bind(1, t.mailbox).bind(2, std::int64_t{static_cast<int>(t.type)});
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      if (!*row) return fail(notFound("mailbox " + std::to_string(t.mailbox) + " or its folder"));
      folders.emplace_back(t.mailbox, (*q)->columnInt(0));
    }
    {
      auto q = w.conn.query(
          "INSERT INTO messages(size, summary, bytes) VALUES(?1, ?2, ?3) RETURNING id");
      if (!q) return fail(q.error());
      (*q)->bind(1, static_cast<std::int64_t>(d.bytes->size())).bindBlob(2, summary)
          .bindBlob(3, *d.bytes);
      auto row = (*q)->step();
      if (!row) return fail(row.error());
      receipt.message = (*q)->columnInt(0);
    }
    for (std::size_t i = 0; i < d.targets.size(); ++i) {
      auto id = insertItem(w, folders[i].first, folders[i].second, receipt.message, d.received_at,
                           d.targets[i].read, FlagStatus::cleared);
      if (!id) return fail(id.error());
      receipt.items.push_back(*id);
    }
    return {};
  }

  Status updateItemField(ItemId item, const char* sql, int value) {
    return write<Status>([=](WriteContext& w) -> Status {
      auto src = loadItemRow(w.conn, item);
      if (!src) return fail(src.error());
      auto q = w.conn.query(sql);
      if (!q) return fail(q.error());
      (*q)->bind(1, item).bind(2, std::int64_t{value});
      if (auto st = (*q)->run(); !st) return st;
      // Only a real change goes to the log: devices would sync a no-op otherwise.
      if (w.conn.db().changes() == 0) return {};
      if (auto seq = w.logChange(src->folder, ChangeKind::change, item); !seq) {
        return fail(seq.error());
      }
      return {};
    });
  }

  // --- reads ----------------------------------------------------------------------

  // Runs `body` on a pooled read connection.
  template <class F>
  auto read(F&& body) -> decltype(body(std::declval<Connection&>())) {
    std::unique_ptr<Connection> conn;
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        conn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!conn) {
      auto db = Database::open(path_, OpenOptions{false, options_.busy_timeout_ms});
      if (!db) return fail(db.error());
      conn = std::make_unique<Connection>(std::move(*db));
    }
    auto result = body(*conn);
    std::lock_guard lock(readers_mutex_);
    if (readers_.size() < options_.max_idle_readers) readers_.push_back(std::move(conn));
    return result;
  }

  // --- writes ---------------------------------------------------------------------

  // Runs `body` on the writer and waits until its batch has committed.
  template <class R>
  R write(std::function<R(WriteContext&)> body) {
    std::promise<R> promise;
    auto future = promise.get_future();
    auto out = std::make_shared<std::optional<R>>();
    WriteTask task;
    task.apply = [body = std::move(body), out](WriteContext& w) -> Status {
      R r = body(w);
      Status st = r ? Status{} : Status(fail(r.error()));
      out->emplace(std::move(r));
      return st;
    };
    task.complete = [out, &promise](const Status& st) {
      if (!st) {
        promise.set_value(fail(st.error()));
      } else {
        promise.set_value(std::move(**out));
      }
    };
    enqueue(std::move(task));
    return future.get();
  }

  void enqueue(WriteTask task) {
    {
      std::lock_guard lock(queue_mutex_);
      if (!stopping_) {
        queue_.push_back(std::move(task));
        queue_cv_.notify_one();
        return;
      }
    }
    task.complete(fail(Errc::unavailable, "mail store is shutting down"));
  }

  void writerLoop() {
    std::unique_lock lock(queue_mutex_);
    while (true) {
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      std::vector<WriteTask> batch;
      std::size_t n = std::min(queue_.size(), std::max<std::size_t>(options_.max_batch, 1));
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      runBatch(batch);
      lock.lock();
    }
  }

  // One transaction for the whole batch, one savepoint per request: a request
  // that fails rolls back alone and the others still commit.
  void runBatch(std::vector<WriteTask>& batch) {
    Connection& c = writer_conn_;
    std::vector<Status> results(batch.size());
    std::vector<std::pair<FolderId, Seq>> touched;
    Status txn = c.db().begin();
    std::size_t applied = 0;
    for (; txn && applied < batch.size(); ++applied) {
      if (auto st = runStatement(c, "SAVEPOINT request"); !st) {
        txn = st;
        break;
      }
      WriteContext w{c, {}};
      Status st = batch[applied].apply(w);
      if (st) {
        if (auto rel = runStatement(c, "RELEASE request"); !rel) {
          txn = rel;
          break;
        }
        touched.insert(touched.end(), w.touched.begin(), w.touched.end());
      } else if (sqlite3_get_autocommit(c.db().handle())) {
        // SQLite rolled back the whole transaction (I/O error, disk full):
        // the requests applied before this one are gone too.
        results[applied] = st;
        txn = st;
        ++applied;
        break;
      } else {
        auto rb = runStatement(c, "ROLLBACK TO request");
        auto rel = rb ? runStatement(c, "RELEASE request") : rb;
        results[applied] = st;
        if (!rel) {
          txn = rel;
          ++applied;
          break;
        }
      }
    }
    if (txn) {
      if (auto st = c.db().commit(); !st) txn = st;
    }
    if (!txn) {
      c.db().rollback();
      touched.clear();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        // Requests that failed on their own keep their error; every other one
        // (applied or never reached) takes the transaction's.
        if (i >= applied || results[i]) results[i] = fail(txn.error());
      }
    }
    // Once per folder per batch, with its newest sequence number.
    std::map<FolderId, Seq> newest;
    for (const auto& [folder, seq] : touched) {
      Seq& s = newest[folder];
      s = std::max(s, seq);
    }
    for (const auto& [folder, seq] : newest) feed_->publish(folder, seq);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].complete(results[i]);
  }

  static Status runStatement(Connection& c, std::string_view sql) {
    auto q = c.query(sql);
    if (!q) return fail(q.error());
    return (*q)->run();
  }

  const std::string path_;
  const SqliteStoreOptions options_;
  Connection writer_conn_;  // used only on writer_thread_
  std::shared_ptr<Feed> feed_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteTask> queue_;
  bool stopping_ = false;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;

  std::thread writer_thread_;  // last: starts after everything it uses exists
};

}  // namespace

Result<std::unique_ptr<MailStore>> openSqliteMailStore(const std::string& path,
                                                       const SqliteStoreOptions& options) {
  auto db = Database::open(path, OpenOptions{false, options.busy_timeout_ms});
  if (!db) return fail(db.error());
  if (auto st = db->migrate("mailstore", {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}}); !st) return fail(st.error());
  return std::unique_ptr<MailStore>(
      std::make_unique<SqliteMailStore>(path, options, std::move(*db)));
}

}  // namespace rampart::store::sqlite
