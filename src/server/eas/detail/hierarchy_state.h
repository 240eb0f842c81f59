// The sync state behind a FolderSync key (MS-ASCMD 2.2.1.5): the hierarchy as
// the client holds it. Shared by FolderSync, which diffs it against the
// mailbox, and FolderCreate/FolderUpdate/FolderDelete (MS-ASCMD 2.2.1.3,
// 2.2.1.6, 2.2.1.4), which commit it with the client's own change applied.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "codec/wbxml/writer.h"
#include "core/error.h"
#include "store/mail_store.h"

namespace rampart::server::eas::detail {

// [MS-ASWBXML] 2.1.2.1.8, code page 7 (FolderHierarchy).
inline constexpr std::uint8_t kHierarchyPage = 7;
inline constexpr std::uint8_t kDisplayName = 0x07;
inline constexpr std::uint8_t kServerId = 0x08;
inline constexpr std::uint8_t kParentId = 0x09;
inline constexpr std::uint8_t kType = 0x0A;
inline constexpr std::uint8_t kStatus = 0x0C;
inline constexpr std::uint8_t kChanges = 0x0E;
inline constexpr std::uint8_t kAdd = 0x0F;
inline constexpr std::uint8_t kDelete = 0x10;
inline constexpr std::uint8_t kUpdate = 0x11;
inline constexpr std::uint8_t kSyncKey = 0x12;
inline constexpr std::uint8_t kFolderCreate = 0x13;
inline constexpr std::uint8_t kFolderDelete = 0x14;
inline constexpr std::uint8_t kFolderUpdate = 0x15;
inline constexpr std::uint8_t kFolderSync = 0x16;
inline constexpr std::uint8_t kCount = 0x17;

// MS-ASCMD 2.2.3.181: a hierarchy key is a string of up to 64 characters.
inline constexpr std::size_t kMaxSyncKey = 64;

// What the client holds of one folder.
struct FolderEntry {
  store::FolderId parent = 0;  // 0: top level (ParentId "0", MS-ASCMD 2.2.3.129.2)
  int type = 0;
  std::string name;

  bool operator==(const FolderEntry&) const = default;
};

// The state behind a key: the hierarchy as sent, and the mailbox's hierarchy
// seq it was read at (an unchanged seq means nothing to diff).
struct Snapshot {
  store::Seq seq = 0;
  std::map<store::FolderId, FolderEntry> folders;
};

// The blob stored behind a key ("fs1 ..."; see hierarchy_state.cc).
std::string encodeSnapshot(const Snapshot& s);

// None for a blob this server did not write, or a corrupt one.
std::optional<Snapshot> decodeSnapshot(std::string_view in);

// The mailbox's current hierarchy, seq read first.
Result<Snapshot> readHierarchy(store::MailStore& mail, store::MailboxId mailbox);

// <token>text</token> in the FolderHierarchy page.
void writeElement(wbxml::Writer& w, std::uint8_t token, std::string_view text);

// The text of the only child (page 7, `token`) of `parent` that has no
// children, or none when it is absent, repeated or not a plain string.
std::optional<std::string> singleText(const wbxml::Element& parent, std::uint8_t token);

}  // namespace rampart::server::eas::detail
