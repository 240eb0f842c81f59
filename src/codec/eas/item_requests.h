// Request bodies of the EAS mailbox commands MoveItems (MS-ASCMD 2.2.1.12),
// ItemOperations (2.2.1.10), Search (2.2.1.16) and Settings (2.2.1.18),
// decoded from their WBXML trees into plain structs. Pure: no I/O, no store;
// what an id names and which Status to answer is the server's business
// (src/server/eas/*_command.cc).
//
// Every decoder fails with Errc::invalid_argument for a body that breaks the
// command's schema (wrong root, a required element missing or repeated, a
// number that is not one) and Errc::limit_exceeded for one past ItemLimits;
// the commands answer both in-protocol. Tags the spec defines but this server
// does not act on (DocumentLibrary credentials, BodyPartPreference, ...) are
// accepted and ignored, as are unknown tags, so a newer client's extras do not
// break a request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec/eas/provision.h"
#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::eas {

// Our bounds where the spec has none (or a larger one).
struct ItemLimits {
  std::size_t max_moves = 512;              // Move elements of one MoveItems
  std::size_t max_operations = 64;          // Fetch/EmptyFolderContents/Move of one ItemOperations
  std::size_t max_id = 64;                  // ServerId, CollectionId, SrcMsgId, ... (MS-ASCMD: 64)
  std::size_t max_reference = 256;          // FileReference, LongId, LinkId, Store names
  std::size_t max_query_terms = 32;         // leaves of a Search query
  std::size_t max_query_depth = 4;          // nested And
  std::size_t max_free_text = 256;          // one FreeText
  std::size_t max_oof_message = 64 * 1024;  // one ReplyMessage
};

// An inclusive byte or result range "m-n" (MS-ASCMD 2.2.3.143.2 and .3).
struct Range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;

  bool operator==(const Range&) const = default;
};
// "m-n" with m <= n, both decimal; none for anything else.
std::optional<Range> parseRange(std::string_view text);
std::string formatRange(const Range& r);

// MS-ASDTYPE 2.3 dateTime, "2009-11-12T13:14:15.000Z" (the fraction and the
// 'Z' optional on input), as Unix seconds; none when malformed or before 1970.
std::optional<std::int64_t> parseDateTime(std::string_view text);
// Unix seconds as "YYYY-MM-DDTHH:MM:SS.000Z".
std::string formatDateTime(std::int64_t unix_seconds);

// --- MoveItems ------------------------------------------------------------------

// One move:Move: which item, from which folder, to which folder (MS-ASCMD
// 2.2.3.117.2). Each is required; each is at most 64 characters.
struct MoveRequest {
  std::string src_msg_id;
  std::string src_fld_id;
  std::string dst_fld_id;

  bool operator==(const MoveRequest&) const = default;
};

struct MoveItemsRequest {
  std::vector<MoveRequest> moves;  // at least one, in request order

  bool operator==(const MoveItemsRequest&) const = default;
};

Result<MoveItemsRequest> decodeMoveItemsRequest(const wbxml::Document& doc,
                                                const ItemLimits& limits = {});

// --- ItemOperations ---------------------------------------------------------------

// itemoperations:Fetch (MS-ASCMD 2.2.3.67.1): one item by CollectionId and
// ServerId, a search result by LongId, an attachment by FileReference, or a
// document library item by LinkId.
struct FetchRequest {
  std::string store;                          // "Mailbox" or "DocumentLibrary", as sent
  std::optional<std::string> collection_id;   // airsync:CollectionId
  std::optional<std::string> server_id;       // airsync:ServerId
  std::optional<std::string> long_id;         // search:LongId
  std::optional<std::string> file_reference;  // airsyncbase:FileReference
  std::optional<std::string> link_id;         // documentlibrary:LinkId
  std::optional<Range> range;                 // Options/Range (bytes of the data)
  std::optional<int> mime_support;            // Options/airsync:MIMESupport, 0..2
  // Options/rm:RightsManagementSupport (MS-ASRM 2.2.2.15, 14.1+), 0 or 1.
  bool rights_management_support = false;
  // rm:RemoveRightsManagementProtection (MS-ASRM 2.2.2.11, an empty element
  // of Fetch): the device asks for the message without its protection.
  bool remove_rights_management_protection = false;
  // The Options element as sent, for airsyncbase:BodyPreference (the server's
  // email encoder reads it); none when absent.
  std::optional<wbxml::Element> options;

  bool operator==(const FetchRequest&) const = default;
};

// itemoperations:EmptyFolderContents (MS-ASCMD 2.2.3.59).
struct EmptyFolderContentsRequest {
  std::string collection_id;
  bool delete_subfolders = false;  // Options/DeleteSubFolders present

  bool operator==(const EmptyFolderContentsRequest&) const = default;
};

// itemoperations:Move (14.0+, MS-ASCMD 2.2.3.117.1): a whole conversation.
struct ConversationMoveRequest {
  std::vector<std::uint8_t> conversation_id;  // opaque
  std::string dst_fld_id;
  bool move_always = false;

  bool operator==(const ConversationMoveRequest&) const = default;
};

using ItemOperation =
    std::variant<FetchRequest, EmptyFolderContentsRequest, ConversationMoveRequest>;

struct ItemOperationsRequest {
  std::vector<ItemOperation> operations;  // at least one, in request order

  bool operator==(const ItemOperationsRequest&) const = default;
};

Result<ItemOperationsRequest> decodeItemOperationsRequest(const wbxml::Document& doc,
                                                          const ItemLimits& limits = {});

// --- Search ---------------------------------------------------------------------

// A mailbox query (MS-ASCMD 2.2.3.142.2): the conjunction of everything in
// it. Several Class or CollectionId restrictions mean "any of them".
struct MailboxQuery {
  std::vector<std::string> free_text;           // each must occur (case-insensitively)
  std::vector<std::string> classes;             // airsync:Class, "Email", ...
  std::vector<std::string> collection_ids;      // airsync:CollectionId
  std::optional<std::int64_t> received_after;   // GreaterThan email:DateReceived
  std::optional<std::int64_t> received_before;  // LessThan email:DateReceived
  // Or, EqualTo, ConversationId or a comparison on another property: the
  // query is well-formed but more than this server searches (Status 8).
  bool unsupported = false;

  bool operator==(const MailboxQuery&) const = default;
};

struct SearchRequest {
  std::string store_name;      // "Mailbox", "GAL", "DocumentLibrary", as sent
  MailboxQuery query;          // filled for the Mailbox store only
  std::string query_text;      // the Query's own text (the GAL form)
  std::optional<Range> range;  // Options/Range
  bool deep_traversal = false;
  bool rebuild_results = false;
  std::optional<int> mime_support;  // Options/airsync:MIMESupport
  // Options/rm:RightsManagementSupport (MS-ASRM 2.2.2.15; Search answers
  // rm:RightsManagementLicense in search:Properties, MS-ASRM 3.2.4.3).
  bool rights_management_support = false;
  std::optional<wbxml::Element> options;  // as sent, for BodyPreference

  bool operator==(const SearchRequest&) const = default;
};

Result<SearchRequest> decodeSearchRequest(const wbxml::Document& doc,
                                          const ItemLimits& limits = {});

// --- Settings -------------------------------------------------------------------

// OofMessage (MS-ASCMD 2.2.3.123): the reply for one audience.
enum class OofAudience : std::uint8_t { internal, external_known, external_unknown };

struct OofMessageRequest {
  OofAudience audience = OofAudience::internal;
  std::optional<bool> enabled;
  std::optional<std::string> reply_message;
  std::optional<std::string> body_type;  // "Text" or "HTML" (MS-ASCMD 2.2.3.18)

  bool operator==(const OofMessageRequest&) const = default;
};

struct OofSetRequest {
  std::optional<int> state;                // OofState 0 disabled, 1 global, 2 time-based
  std::optional<std::int64_t> start_time;  // Unix seconds
  std::optional<std::int64_t> end_time;
  std::vector<OofMessageRequest> messages;

  bool operator==(const OofSetRequest&) const = default;
};

struct OofRequest {
  // Exactly one of get and set (MS-ASCMD 2.2.3.122).
  bool get = false;
  std::string get_body_type;  // Get/BodyType, "Text" or "HTML"
  std::optional<OofSetRequest> set;

  bool operator==(const OofRequest&) const = default;
};

struct SettingsRequest {
  std::optional<OofRequest> oof;
  std::optional<std::string> device_password;           // DevicePassword/Set/Password
  std::optional<DeviceInformation> device_information;  // DeviceInformation/Set
  bool user_information_get = false;
  bool rights_management_get = false;

  bool operator==(const SettingsRequest&) const = default;
};

Result<SettingsRequest> decodeSettingsRequest(const wbxml::Document& doc,
                                              const ItemLimits& limits = {});

}  // namespace rampart::eas
