// The ItemOperations command (MS-ASCMD 2.2.1.10): Fetch of a whole email (by
// CollectionId + ServerId, or by a Search result's LongId) or of an
// attachment (by AirSyncBase FileReference), and EmptyFolderContents.
// Blocking (mail store); the EAS service runs it on its blocking pool.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.8 Status (ItemOperations), the values this server answers.
enum class ItemOperationsStatus : std::uint8_t {
  success = 1,
  protocol_error = 2,          // the request does not follow the schema
  not_found = 6,               // no such item or folder in the user's mailbox
  bad_range = 8,               // Range starts past the data
  store_not_supported = 9,     // a Store other than Mailbox (DocumentLibrary)
  attachment_invalid = 15,     // FileReference empty, malformed or naming nothing
  action_not_supported = 156,  // ItemOperations Move (a whole conversation)
};

struct ItemOperationsResponse {
  // The WBXML response body, or with `multipart` the MS-ASCMD 2.2.1.10.1.1
  // multipart body whose part 0 is the WBXML (codec/eas/multipart.h).
  std::vector<std::uint8_t> body;
  // The service sends Content-Type application/vnd.ms-sync.multipart (else
  // application/vnd.ms-sync.wbxml).
  bool multipart = false;
};

// Answers one ItemOperations request: Status, then Response with one Fetch,
// EmptyFolderContents or Move per operation, in request order.
//
// Multipart (ctx.request->accept_multipart, from MS-ASAcceptMultiPart: T or
// the base64 query's AcceptMultiPart bit): every fetched item's data leaves
// the WBXML and becomes a part; itemoperations:Part (its index) replaces the
// Data element, in airsyncbase:Body for an email and in Properties for an
// attachment (MS-ASCMD 2.2.3.130). Otherwise Data is inline: the body text as
// the email encoder writes it, an attachment as base64.
//
// Fetch of an email writes the properties of detail/email_encoding.h with the
// request's BodyPreferences and MIMESupport. Fetch of an attachment answers
// ContentType, Total, Range (when asked; the range is clipped to the data and
// a start past its end is Status 8) and the data. EmptyFolderContents removes
// the folder's items, and with DeleteSubFolders its user subfolders too.
//
// A request that does not follow the schema is answered with Status 2 and no
// Response. Errors are storage failures (HTTP 500) and encoding errors.
Result<ItemOperationsResponse> runItemOperations(CommandContext& ctx, const wbxml::Document& body);

}  // namespace rampart::server::eas
