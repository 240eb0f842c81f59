#include "server/eas/move_items_command.h"

#include <optional>
#include <string>
#include <string_view>

#include "codec/eas/item_requests.h"
#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "server/eas/detail/item_ids.h"

namespace rampart::server::eas {
namespace {

constexpr std::uint8_t kMovePage = 5;  // [MS-ASWBXML] 2.1.2.1.6

void text(wbxml::Writer& w, std::string_view name, std::string_view value) {
  w.start("Move", name);
  w.content(value);
  w.end();
}

struct Outcome {
  MoveItemsStatus status = MoveItemsStatus::invalid_source;
  std::string dst_msg_id;
};

// The folder `text` names in `mailbox`, or none.
Result<std::optional<store::Folder>> ownFolder(CommandContext& ctx, store::MailboxId mailbox,
                                               std::string_view text) {
  auto id = detail::parseCollectionId(text);
  if (!id) return std::optional<store::Folder>();
  auto f = ctx.mail.getFolder(*id);
  if (!f) {
    if (f.error().is(Errc::not_found)) return std::optional<store::Folder>();
    return fail(f.error());
  }
  if (f->mailbox != mailbox) return std::optional<store::Folder>();
  return std::optional<store::Folder>(std::move(*f));
}

Result<Outcome> moveOne(CommandContext& ctx, store::MailboxId mailbox,
                        const rampart::eas::MoveRequest& m) {
  // Status 1: the source folder or item is unknown, or the item is no longer
  // in that folder (moved away earlier), MS-ASCMD 2.2.3.177.10.
  auto src_folder = ownFolder(ctx, mailbox, m.src_fld_id);
  if (!src_folder) return fail(src_folder.error());
  auto ids = detail::parseItemServerId(m.src_msg_id);
  if (!*src_folder || !ids) return Outcome{MoveItemsStatus::invalid_source, {}};
  auto item = ctx.mail.getItem(ids->item);
  if (!item) {
    if (item.error().is(Errc::not_found)) return Outcome{MoveItemsStatus::invalid_source, {}};
    return fail(item.error());
  }
  if (item->mailbox != mailbox || item->folder != (*src_folder)->id) {
    return Outcome{MoveItemsStatus::invalid_source, {}};
  }
  auto dst_folder = ownFolder(ctx, mailbox, m.dst_fld_id);
  if (!dst_folder) return fail(dst_folder.error());
  if (!*dst_folder) return Outcome{MoveItemsStatus::invalid_destination, {}};
  if ((*dst_folder)->id == (*src_folder)->id) return Outcome{MoveItemsStatus::same_folder, {}};

  auto moved = ctx.mail.moveItem(item->id, (*dst_folder)->id);
  if (!moved) {
    // Deleted or moved by another request since we looked: the client's view
    // is stale, which Status 1 tells it. A folder that went away between the
    // two reads: Status 2. Anything else the store refused: Status 5.
    if (moved.error().is(Errc::not_found)) {
      auto still = ctx.mail.getItem(item->id);
      if (!still && still.error().is(Errc::not_found)) {
        return Outcome{MoveItemsStatus::invalid_source, {}};
      }
      return Outcome{MoveItemsStatus::invalid_destination, {}};
    }
    if (moved.error().is(Errc::invalid_argument)) return Outcome{MoveItemsStatus::failure, {}};
    return fail(moved.error());
  }
  return Outcome{MoveItemsStatus::success, detail::formatItemServerId((*dst_folder)->id, *moved)};
}

}  // namespace

Result<std::vector<std::uint8_t>> runMoveItems(CommandContext& ctx, const wbxml::Document& body) {
  auto logger = log::get("eas");
  auto request = rampart::eas::decodeMoveItemsRequest(body);
  if (!request) {
    logger->info("MoveItems from {}/{}: {}", ctx.user, ctx.device_id, request.error().message());
    wbxml::Writer w;
    w.start(kMovePage, 0x05);  // MoveItems
    text(w, "Status", std::to_string(kMoveItemsInvalidXml));
    w.end();
    return std::move(w).finish();
  }
  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());

  // MS-ASCMD 2.2.1.12 and the schema (6.27): MoveItems { Response { SrcMsgId,
  // Status, DstMsgId? }* }.
  wbxml::Writer w;
  w.start("Move", "MoveItems");
  for (const auto& m : request->moves) {
    auto outcome = moveOne(ctx, *mailbox, m);
    if (!outcome) return fail(outcome.error());
    w.start("Move", "Response");
    text(w, "SrcMsgId", m.src_msg_id);
    text(w, "Status", std::to_string(static_cast<int>(outcome->status)));
    if (outcome->status == MoveItemsStatus::success) text(w, "DstMsgId", outcome->dst_msg_id);
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
