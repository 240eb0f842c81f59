// The email item as EAS sends it: the children of a Sync ApplicationData, an
// ItemOperations Fetch Properties or a Search Result Properties element
// (MS-ASEMAIL 2.2.2, MS-ASAIRS 2.2.2.9 Body, 2.2.2.8 Attachments). Shared by
// Sync, ItemOperations and Search.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/eas/sync_request.h"
#include "codec/wbxml/document.h"
#include "codec/wbxml/writer.h"
#include "core/error.h"
#include "store/mail_store.h"
#include "store/types.h"

namespace rampart::server::eas::detail {

class RightsResolver;

// MS-ASAIRS 2.2.2.7 (Type, TruncationSize, AllOrNone, Preview); decoded by
// codec/eas/sync_request.h.
using BodyPreference = rampart::eas::BodyPreference;

// The AirSyncBase:BodyPreference children of `options` (at most
// rampart::eas::kMaxBodyPreferences); malformed preferences give an empty
// list (callers that answer a protocol error use eas::decodeBodyPreferences).
std::vector<BodyPreference> parseBodyPreferences(const wbxml::Element& options);

// How the encoder picks a body for one item.
struct EmailEncodeOptions {
  // MS-ASCMD 2.2.3.108 MIMESupport: 0 never MIME, 1 MIME for S/MIME messages,
  // 2 MIME whenever a Type 4 preference was sent.
  int mime_support = 0;
  // MS-ASRM 2.2.2.15 RightsManagementSupport: set when the device sent it
  // true. A rights-protected item (detail/rights_info.h) then gets
  // rm:RightsManagementLicense with what this user may do (14.1 and later;
  // MS-ASRM 3.2.4.3). Not owned; null writes no rights elements.
  RightsResolver* rights = nullptr;
};

// Writes the email properties of `item` as children of the open element
// (ApplicationData / Properties), in MS-ASEMAIL's order: To, Cc, From,
// Subject, ReplyTo, DateReceived, DisplayTo, ThreadTopic, Importance, Read,
// airsyncbase:Attachments, airsyncbase:Body, MessageClass, InternetCPID,
// Flag, ContentClass, airsyncbase:NativeBodyType, rm:RightsManagementLicense
// (with options.rights, 14.1 and later). Every tag written exists in
// `protocol_version` (12.1 and later; Preview only from 14.0).
//
// The body (MS-ASAIRS 3.2.5.? BodyPreference handling): the preference whose
// Type is the message's native type (2 when it has HTML, else 1) if the client
// listed it, else the first it listed of 1, 2, 4 (3, RTF, is not offered); Type
// 4 first when MIMESupport asks for MIME. No preference: a Type 1 Body with
// EstimatedDataSize and Truncated 1 but no Data. TruncationSize cuts on a
// UTF-8 boundary; AllOrNone sends no Data when the body is larger. The
// message bytes are read (MailStore::messageBytes) only when Data is sent.
//
// Errors: the store's (the item's bytes are gone: Errc::not_found) and the
// writer's.
Status writeEmailProperties(wbxml::Writer& w, const store::Item& item, store::MailStore& mail,
                            const std::vector<BodyPreference>& prefs,
                            std::string_view protocol_version,
                            const EmailEncodeOptions& options = {});

// The AirSyncBase FileReference of an attachment (MS-ASAIRS 2.2.2.24.1):
// "<item id>:<MIME part path>", e.g. "42:1.2"; ItemOperations Fetch and
// GetAttachment give it back.
std::string fileReference(store::ItemId item, std::string_view part_path);
struct AttachmentRef {
  store::ItemId item = 0;
  std::string part_path;
};
// The inverse of fileReference(); nullopt for anything it did not make.
std::optional<AttachmentRef> parseFileReference(std::string_view ref);

// DateReceived form (MS-ASDTYPE 2.3: "2026-11-24T21:32:18.000Z").
std::string formatUtc(std::int64_t unix_seconds);

// MS-ASEMAIL 2.2.2.29 DisplayTo: the display names of the To recipients,
// separated by semicolons (the address when a recipient has no name).
std::string displayTo(std::string_view to);

// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence.
std::string_view truncateUtf8(std::string_view text, std::size_t max_bytes);

}  // namespace rampart::server::eas::detail
