#include "server/eas/detail/hierarchy_state.h"

#include <charconv>
#include <utility>

namespace rampart::server::eas::detail {

namespace {

constexpr std::string_view kBlobMagic = "fs1";

// Reads one decimal number followed by `sep`; advances `in`.
template <typename T>
bool readNumber(std::string_view& in, T& value, char sep) {
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), value);
  if (ec != std::errc() || end == in.data() + in.size() || *end != sep) return false;
  in.remove_prefix(static_cast<std::size_t>(end - in.data()) + 1);
  return true;
}

}  // namespace

// "fs1 <seq> <count>\n" then per folder "<id> <parent> <type> <name length> <name>\n".
std::string encodeSnapshot(const Snapshot& s) {
  std::string out;
  out += kBlobMagic;
  out += ' ' + std::to_string(s.seq) + ' ' + std::to_string(s.folders.size()) + '\n';
  for (const auto& [id, f] : s.folders) {
    out += std::to_string(id) + ' ' + std::to_string(f.parent) + ' ' + std::to_string(f.type) +
           ' ' + std::to_string(f.name.size()) + ' ' + f.name + '\n';
  }
  return out;
}

std::optional<Snapshot> decodeSnapshot(std::string_view in) {
  if (!in.starts_with(kBlobMagic)) return std::nullopt;
  in.remove_prefix(kBlobMagic.size());
  if (in.empty() || in.front() != ' ') return std::nullopt;
  in.remove_prefix(1);
  Snapshot s;
  std::size_t count = 0;
  if (!readNumber(in, s.seq, ' ') || !readNumber(in, count, '\n')) return std::nullopt;
  for (std::size_t i = 0; i < count; ++i) {
    store::FolderId id = 0;
    FolderEntry f;
    std::size_t len = 0;
    if (!readNumber(in, id, ' ') || !readNumber(in, f.parent, ' ') ||
        !readNumber(in, f.type, ' ') || !readNumber(in, len, ' ')) {
      return std::nullopt;
    }
    if (in.size() < len + 1 || in[len] != '\n') return std::nullopt;
    f.name.assign(in.substr(0, len));
    in.remove_prefix(len + 1);
    s.folders.emplace(id, std::move(f));
  }
  if (!in.empty() || s.folders.size() != count) return std::nullopt;
  return s;
}

Result<Snapshot> readHierarchy(store::MailStore& mail, store::MailboxId mailbox) {
  // The seq first: a change that lands between the two reads is in the listing
  // and after the seq, so the next sync looks again (and finds no difference).
  auto seq = mail.folderHierarchySeq(mailbox);
  if (!seq) return fail(seq.error());
  auto folders = mail.listFolders(mailbox);
  if (!folders) return fail(folders.error());
  Snapshot s;
  s.seq = *seq;
  for (store::Folder& f : *folders) {
    s.folders.emplace(
        f.id, FolderEntry{f.parent.value_or(0), static_cast<int>(f.type), std::move(f.name)});
  }
  return s;
}

void writeElement(wbxml::Writer& w, std::uint8_t token, std::string_view text) {
  w.start(kHierarchyPage, token);
  w.content(text);
  w.end();
}

std::optional<std::string> singleText(const wbxml::Element& parent, std::uint8_t token) {
  const wbxml::Element* found = nullptr;
  for (const wbxml::Element& c : parent.children) {
    if (c.page == kHierarchyPage && c.token == token) {
      if (found) return std::nullopt;
      found = &c;
    }
  }
  if (!found || !found->children.empty() || !found->opaque.empty()) return std::nullopt;
  return found->text;
}

}  // namespace rampart::server::eas::detail
