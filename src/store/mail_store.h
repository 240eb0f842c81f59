// The mailbox store: folders, messages stored once, per-folder change logs,
// and an in-process change feed. Every backend (SQLite now, PostgreSQL later)
// implements this interface and passes tests/unit/store/conformance_test.cc.
//
// Thread-safety: every method may be called from any thread. Methods block on
// storage; the server calls them off its I/O threads or through deliver(), which
// is asynchronous and batches concurrent deliveries into one durable commit.
//
// Durability: a method (or a deliver() callback) that reports success has
// committed and synced its changes; a crash right after loses nothing. A
// failure leaves nothing half-written.
//
// Errors: Errc::not_found for an unknown mailbox/folder/item, Errc::already_exists
// for a duplicate folder name under one parent, Errc::invalid_argument for a bad
// request (moving a folder under itself, deleting a default folder), and
// Errc::storage_error when the backend fails.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/types.h"

namespace rampart::store {

// A message to store once and file into one or more mailboxes.
struct Delivery {
  std::shared_ptr<const std::string> bytes;  // the original RFC 5322 message
  mime::Summary summary;
  std::int64_t received_at = 0;              // Unix seconds
  struct Target {
    MailboxId mailbox = 0;
    // Where it goes: a folder id, or when absent the mailbox's folder of `type`.
    std::optional<FolderId> folder;
    FolderType type = FolderType::inbox;
    bool read = false;  // e.g. a copy in Sent Items
  };
  std::vector<Target> targets;
};

// A position in a folder's listing order (newest received first, then the
// larger id first): the key of a keyset scan (MailStore::scanItems).
struct ItemKey {
  std::int64_t received_at = 0;
  ItemId id = 0;
};

// Which of a folder's items a keyset scan or count takes.
struct ItemRange {
  std::int64_t received_since = 0;  // received_at >= this
  std::optional<ItemKey> after;     // strictly after this key in listing order
  ItemId max_item = INT64_MAX;      // id <= this
};

// One page of a keyset scan, with the store's state read in the same snapshot.
struct ItemPage {
  std::vector<Item> items;  // in listing order, summaries included
  Seq folder_seq = 0;       // the folder's last_seq
  // The largest item id the store has handed out (0: none). Ids only grow and
  // are never reused, and an item filed later (delivered, moved in) gets a
  // larger one, so with `folder_seq` this splits the folder exactly: items
  // with id <= max_item were added at or before folder_seq, later ones after.
  ItemId max_item = 0;
};

struct DeliveryReceipt {
  std::int64_t message = 0;
  std::vector<ItemId> items;  // one per target, in order
};

// Unsubscribes when destroyed.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

class MailStore {
 public:
  virtual ~MailStore() = default;

  // --- mailboxes and folders -------------------------------------------------

  // Returns the mailbox of `owner` (a directory user name), creating it with
  // the default folders (Inbox, Drafts, Deleted Items, Sent Items, Outbox) on
  // first use.
  virtual Result<MailboxId> openMailbox(std::string_view owner) = 0;
  // The mailbox of `owner` if it exists, without creating it.
  virtual Result<std::optional<MailboxId>> findMailbox(std::string_view owner) = 0;

  virtual Result<std::vector<Folder>> listFolders(MailboxId mailbox) = 0;
  virtual Result<Folder> getFolder(FolderId folder) = 0;
  virtual Result<Folder> folderOfType(MailboxId mailbox, FolderType type) = 0;
  virtual Result<Folder> createFolder(MailboxId mailbox, std::optional<FolderId> parent,
                                      std::string_view name, FolderType type) = 0;
  // Renames and/or moves a folder; default folders cannot be moved.
  virtual Result<Folder> updateFolder(FolderId folder, std::optional<FolderId> new_parent,
                                      std::string_view new_name) = 0;
  // Deletes a user folder, its subfolders and their items.
  virtual Status deleteFolder(FolderId folder) = 0;
  // The mailbox's folder-hierarchy changes after `since`, oldest first.
  virtual Result<std::vector<FolderChange>> folderChanges(MailboxId mailbox, Seq since) = 0;
  virtual Result<Seq> folderHierarchySeq(MailboxId mailbox) = 0;

  // --- messages ---------------------------------------------------------------

  // Stores the message once and files it into every target, durably, then calls
  // `done` (on a store thread; keep it short). Concurrent deliveries share one
  // commit. A target mailbox that does not exist fails the whole delivery.
  virtual void deliver(Delivery delivery,
                       std::function<void(Result<DeliveryReceipt>)> done) = 0;
  // Blocking convenience over deliver().
  Result<DeliveryReceipt> deliverSync(Delivery delivery);

  virtual Result<Item> getItem(ItemId item) = 0;
  // The items among `ids` that exist, with their summaries, in ascending id
  // order; unknown ids are left out (a batch getItem: EAS Sync's log walk).
  // The base implementation calls getItem per id.
  virtual Result<std::vector<Item>> getItems(const std::vector<ItemId>& ids);
  // The original bytes of an item's message.
  virtual Result<std::string> messageBytes(ItemId item) = 0;
  // Items of a folder, newest received first; `received_since` (Unix seconds)
  // filters like EAS FilterType; at most `limit` items after skipping `offset`.
  virtual Result<std::vector<Item>> listItems(FolderId folder, std::int64_t received_since,
                                              std::size_t offset, std::size_t limit) = 0;
  virtual Result<std::size_t> countItems(FolderId folder, std::int64_t received_since) = 0;
  // A keyset scan: at most `limit` items of `range` in listing order, each
  // with its summary, in one read, and the folder's log position and the
  // largest item id in the same snapshot (EAS Sync's initial fill, newest
  // first). The base implementations fail with Errc::internal.
  virtual Result<ItemPage> scanItems(FolderId folder, const ItemRange& range, std::size_t limit);
  // How many items `range` holds.
  virtual Result<std::size_t> countItemsInRange(FolderId folder, const ItemRange& range);

  virtual Status setRead(ItemId item, bool read) = 0;
  virtual Status setFlag(ItemId item, FlagStatus flag) = 0;
  // Moves an item to another folder of the same mailbox; its id changes (as EAS
  // MoveItems reports a new ServerId). Logs a remove in the source and an add in
  // the destination.
  virtual Result<ItemId> moveItem(ItemId item, FolderId destination) = 0;
  // Removes an item for good; the message bytes go when no item refers to them.
  virtual Status deleteItem(ItemId item) = 0;
  // Removes every item of a folder (EAS EmptyFolderContents).
  virtual Status emptyFolder(FolderId folder) = 0;

  // The folder's change-log entries after `since`, oldest first, at most `limit`.
  virtual Result<std::vector<Change>> changes(FolderId folder, Seq since, std::size_t limit) = 0;

  // --- mailbox settings ------------------------------------------------------------

  // The mailbox's Out of Office settings; all off when never set. The base
  // implementations fail with Errc::internal for a backend without them.
  virtual Result<OofSettings> getOof(MailboxId mailbox);
  // Replaces them. Errc::not_found for an unknown mailbox. Setting the state
  // to disabled also forgets whom the Out of Office has answered (below).
  virtual Status setOof(MailboxId mailbox, const OofSettings& oof);

  // Out of Office answers each sender at most once per period (RFC 3834
  // 3.1.1). Claims the reply from `mailbox`'s owner to `sender` (an address,
  // compared case-insensitively) at `now` (Unix seconds): true when no reply
  // to that sender was claimed in the `period` seconds up to `now`, and the
  // claim is then committed durably before this returns, so a crash or a
  // concurrent claim for the same pair never answers twice; false otherwise.
  // Errc::not_found for an unknown mailbox; Errc::internal in the base
  // implementation.
  virtual Result<bool> claimAutoReply(MailboxId mailbox, std::string_view sender, std::int64_t now,
                                      std::int64_t period);

  // --- change feed --------------------------------------------------------------

  // Calls `notify(folder, seq)` after every committed change to `folder`, on the
  // committing thread; the callback must not block or call back into the store
  // synchronously. Only changes made through this process's store are seen.
  virtual std::unique_ptr<Subscription> subscribe(
      FolderId folder, std::function<void(FolderId, Seq)> notify) = 0;
};

}  // namespace rampart::store
