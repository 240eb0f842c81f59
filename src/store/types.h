// Value types of the mailbox store, shared by every backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/mime/summary.h"

namespace rampart::store {

using MailboxId = std::int64_t;
using FolderId = std::int64_t;
using ItemId = std::int64_t;  // a message as it sits in one folder of one mailbox
using Seq = std::int64_t;     // position in a change log; 0 means "before anything"

// MS-ASCMD 2.2.3.186.3 (Type element of FolderSync).
enum class FolderType : int {
  user_generic = 1,
  inbox = 2,
  drafts = 3,
  deleted_items = 4,
  sent_items = 5,
  outbox = 6,
  tasks = 7,
  calendar = 8,
  contacts = 9,
  notes = 10,
  journal = 11,
  user_mail = 12,
};

struct Folder {
  FolderId id = 0;
  MailboxId mailbox = 0;
  std::optional<FolderId> parent;  // none for top-level folders
  std::string name;
  FolderType type = FolderType::user_mail;
  Seq last_seq = 0;                // newest entry in this folder's change log
};

// MS-ASEMAIL Flag/Status: 0 cleared, 1 complete, 2 active.
enum class FlagStatus : int { cleared = 0, complete = 1, active = 2 };

struct Item {
  ItemId id = 0;
  MailboxId mailbox = 0;
  FolderId folder = 0;
  std::int64_t message = 0;  // the stored-once message these bytes belong to
  std::int64_t received_at = 0;  // Unix seconds
  bool read = false;
  FlagStatus flag = FlagStatus::cleared;
  mime::Summary summary;
};

enum class ChangeKind : int { add = 1, change = 2, remove = 3 };

// One entry of a folder's change log (EAS Sync reads these).
struct Change {
  Seq seq = 0;
  ChangeKind kind = ChangeKind::add;
  ItemId item = 0;
};

// One entry of a mailbox's folder-hierarchy log (EAS FolderSync reads these).
struct FolderChange {
  Seq seq = 0;
  ChangeKind kind = ChangeKind::add;
  FolderId folder = 0;
};

// The mailbox owner's Out of Office state (EAS Settings Oof, MS-ASCMD
// 2.2.3.122). Stored values: do not renumber.
enum class OofState : int { disabled = 0, global = 1, time_based = 2 };

// The auto-reply for one audience (MS-ASCMD 2.2.3.123 OofMessage).
struct OofReply {
  bool enabled = false;
  std::string message;
  bool html = false;  // BodyType HTML, else Text

  bool operator==(const OofReply&) const = default;
};

struct OofSettings {
  OofState state = OofState::disabled;
  std::int64_t start_time = 0;  // Unix seconds; used when time_based
  std::int64_t end_time = 0;
  OofReply internal;          // AppliesToInternal
  OofReply external_known;    // AppliesToExternalKnown
  OofReply external_unknown;  // AppliesToExternalUnknown

  bool operator==(const OofSettings&) const = default;
};

}  // namespace rampart::store
