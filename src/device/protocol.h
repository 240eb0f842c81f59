// The device client's EAS bodies: request builders and response parsers for
// the commands a phone sends (MS-ASCMD 2.2.1.x). Pure: structs in, WBXML bytes
// out; decoded wbxml::Documents in, structs or an Error out. No I/O, no state.
//
// Parsers are lenient about what they do not need (unknown elements, other
// classes' ApplicationData) and strict about what they do: a missing required
// element or a status that is not a number is Errc::protocol_error, naming the
// element. Every string kept from a response is bounded (kMaxField).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::device {

using Bytes = std::vector<std::uint8_t>;

// Our bound on a single text field kept from a server response (subjects,
// addresses, ids); longer values are cut, not refused.
inline constexpr std::size_t kMaxField = 4096;
// Our bound on a message body printed by `read`.
inline constexpr std::size_t kMaxBody = 4u << 20;

// ---- FolderSync (MS-ASCMD 2.2.1.5) ----

struct Folder {
  std::string server_id;
  std::string parent_id;
  std::string display_name;
  int type =
      0;  // MS-ASCMD 2.2.3.186.3: 2 Inbox, 3 Drafts, 4 Deleted, 5 Sent, 6 Outbox, 12 user mail

  bool operator==(const Folder&) const = default;
};

struct FolderSyncResult {
  int status = 0;        // 1 success, 9 bad sync key (start over from 0), ...
  std::string sync_key;  // absent on error
  std::vector<Folder> adds;
  std::vector<Folder> updates;
  std::vector<std::string> deletes;
};

Result<Bytes> buildFolderSync(std::string_view sync_key);
Result<FolderSyncResult> parseFolderSync(const wbxml::Document& doc);

// ---- Sync (MS-ASCMD 2.2.1.21) for Email collections ----

// One e-mail as Sync and ItemOperations report it (MS-ASEMAIL 2.2.2).
// MS-ASRM 2.2.2.13 RightsManagementLicense: what this user may do with a
// rights-protected message, as the server says (the rights server's use
// license is what the client actually enforces; this is the EAS view).
struct RightsLicense {
  bool edit = false, reply = false, reply_all = false, forward = false;
  bool modify_recipients = false, extract = false, print = false, export_ = false;
  bool programmatic = false, owner = false;
  std::string content_owner, content_expiry, template_id, template_name, template_description;
};

struct EmailFields {
  std::optional<std::string> subject;
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> cc;
  std::optional<std::string> date;  // email:DateReceived, ISO 8601 UTC
  std::optional<bool> read;
  std::optional<bool> flagged;      // email:Flag{email:Status 2} (MS-ASEMAIL 2.2.2.30)
  std::optional<std::string> body;  // airsyncbase:Body/Data
  bool body_truncated = false;
  int body_type = 0;                // airsyncbase:Body/Type (4: the whole MIME message)
  std::optional<std::string> message_class;  // email:MessageClass (IPM.Note.SMIME, ...)
  std::optional<RightsLicense> rights;        // rm:RightsManagementLicense
};

// A change the client sends inside Collection/Commands.
struct ClientChange {
  enum class Kind { mark_read, delete_item };
  Kind kind = Kind::mark_read;
  std::string server_id;
  bool read = true;  // mark_read only
};

struct SyncRequest {
  std::string collection_id;
  std::string sync_key;  // "0" for the initial sync
  std::uint32_t window_size = 512;
  bool with_options = true;  // BodyPreference plain text, truncated (not on SyncKey 0)
  std::uint32_t truncation = 256;
  std::vector<ClientChange> changes;
  std::vector<std::string> fetch;  // Commands/Fetch ServerIds (full body)
};

struct ServerItem {
  enum class Kind { add, change, remove };
  Kind kind = Kind::add;
  std::string server_id;
  EmailFields fields;
};

struct SyncResult {
  int status = 0;      // the collection's Status, or the top-level one when there is no collection
  bool empty = false;  // empty body: nothing changed (MS-ASCMD 3.2.5.1.1 / 2.2.1.21)
  std::string sync_key;
  bool more_available = false;
  std::vector<ServerItem> items;    // Commands: Add, Change, Delete, SoftDelete
  std::vector<ServerItem> fetched;  // Responses/Fetch with Status 1
  // Responses/Change and Responses/Delete statuses that were not 1, by ServerId.
  std::vector<std::pair<std::string, int>> failed;
};

Result<Bytes> buildSync(const SyncRequest& request);
Result<SyncResult> parseSync(const wbxml::Document& doc);

// ---- Ping (MS-ASCMD 2.2.1.13) ----

struct PingFolder {
  std::string id;
  std::string folder_class = "Email";
};

struct PingResult {
  int status = 0;  // 1 expired, 2 changes, 3 missing parameters, 4 syntax, 5 bad
                   // heartbeat, 6 too many folders, 7 hierarchy changed, 8 server error
  std::vector<std::string> changed;          // Folders/Folder (status 2)
  std::optional<std::uint32_t> heartbeat;    // status 5: the limit to use
  std::optional<std::uint32_t> max_folders;  // status 6
};

Result<Bytes> buildPing(std::uint32_t heartbeat_seconds, const std::vector<PingFolder>& folders);
Result<PingResult> parsePing(const wbxml::Document& doc);

// ---- SendMail, SmartReply, SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19), 14.0+ ----

struct ComposeRequest {
  enum class Kind { send, reply, forward };
  Kind kind = Kind::send;
  std::string client_id;  // 1-40 characters, unique per message
  std::string folder_id;  // Source/FolderId (reply, forward)
  std::string item_id;    // Source/ItemId (reply, forward)
  bool save_in_sent = true;
  bool replace_mime = false;  // SmartReply/SmartForward: do not append the original (2.2.3.142)
  std::string mime;  // the RFC 5322 message
};

Result<Bytes> buildCompose(const ComposeRequest& request);
// An empty body is success (0 returned as 1); otherwise the root's Status.
Result<int> parseComposeStatus(const wbxml::Document& doc);

// ---- MoveItems (MS-ASCMD 2.2.1.12) ----

struct MoveResult {
  int status = 0;  // 3 success (MS-ASCMD 2.2.3.177.9)
  std::string src_id;
  std::string new_id;  // DstMsgId
};

Result<Bytes> buildMoveItems(std::string_view server_id, std::string_view src_folder,
                             std::string_view dst_folder);
Result<MoveResult> parseMoveItems(const wbxml::Document& doc);

// ---- ItemOperations Fetch (MS-ASCMD 2.2.1.10) ----

struct FetchResult {
  int status = 0;        // ItemOperations Status
  int fetch_status = 0;  // Response/Fetch Status
  EmailFields fields;
};

struct FetchOptions {
  bool mime = false;    // BodyPreference Type 4: the whole message (S/MIME, rights)
  bool rights = false;  // rm:RightsManagementSupport (MS-ASRM 2.2.2.14)
};
Result<Bytes> buildItemFetch(std::string_view collection_id, std::string_view server_id,
                             const FetchOptions& options = {});
Result<FetchResult> parseItemFetch(const wbxml::Document& doc);

// ---- ResolveRecipients (MS-ASCMD 2.2.1.15) ----

struct ResolvedRecipient {
  std::string email;
  std::string display_name;
  int type = 0;  // 1 GAL, 2 contact
  int certificates_status = 0;  // Certificates/Status (1 found, 7 none valid, 8 limit)
  std::vector<std::string> certificates;  // DER
};
struct ResolvedTo {
  std::string to;   // as asked
  int status = 0;   // Response/Status: 1 resolved, 2 ambiguous, 3 ambiguous (partial), 4 not found
  std::vector<ResolvedRecipient> recipients;
};
struct ResolveResult {
  int status = 0;   // top-level Status
  std::vector<ResolvedTo> responses;
};
// CertificateRetrieval 2 (full certificates).
Result<Bytes> buildResolveRecipients(const std::vector<std::string>& to);
Result<ResolveResult> parseResolveRecipients(const wbxml::Document& doc);

// The top-level Status of any command response (the root's own Status child),
// for the 1xx codes of MS-ASCMD 2.2.2 (e.g. 142/144: provision again).
std::optional<int> rootStatus(const wbxml::Document& doc);

// ---- Autodiscover (MS-ASCMD 2.2.1.1, mobilesync schemas) ----

std::string buildAutodiscover(std::string_view email);
struct AutodiscoverResult {
  std::optional<std::string> url;       // Settings/Server{Type MobileSync}/Url
  std::optional<std::string> redirect;  // Action/Redirect: another e-mail address
  std::optional<std::string> error;     // Error/Message or ErrorCode
};
AutodiscoverResult parseAutodiscover(std::string_view xml);

// ---- Messages ----

struct Draft {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;
  std::string body;
  std::string in_reply_to;  // a Message-ID, optional
  std::string date;         // RFC 5322 date
  std::string message_id;   // "<...>"
};

// An RFC 5322 text/plain UTF-8 message (RFC 2047 encoded subject when not
// ASCII, CRLF line ends, header values stripped of CR/LF).
std::string composeMime(const Draft& draft);

// Strips an address to its angle-bracket part, or returns it trimmed.
std::string bareAddress(std::string_view address);

}  // namespace rampart::device
