// The MoveItems command (MS-ASCMD 2.2.1.12): the client moves items between
// folders of the user's mailbox; each gets a new ServerId. Blocking (mail
// store); the EAS service runs it on its blocking pool.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.10 Status (MoveItems), per Response.
enum class MoveItemsStatus : std::uint8_t {
  invalid_source = 1,       // unknown source folder or item, or the item is not in it
  invalid_destination = 2,  // unknown destination folder
  success = 3,
  same_folder = 4,  // source and destination are the same
  failure = 5,      // the move itself failed (e.g. a race with a delete)
};

// MS-ASCMD 2.2.2 common status InvalidXML, answered as MoveItems/Status when
// the request does not follow the schema (no Move, a Move missing one of its
// three ids, more than ItemLimits::max_moves moves).
inline constexpr int kMoveItemsInvalidXml = 103;

// Answers one MoveItems request; returns the WBXML response body: one
// Response (SrcMsgId, Status, DstMsgId on success) per Move, in request order.
// Item ServerIds are "<folder id>:<item id>" and folder ids are store
// FolderIds (detail/item_ids.h); only folders and items of ctx.user's mailbox
// are found. Errors are storage failures (HTTP 500) and encoding errors.
Result<std::vector<std::uint8_t>> runMoveItems(CommandContext& ctx, const wbxml::Document& body);

}  // namespace rampart::server::eas
