// SendMail, SmartReply and SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20,
// 2.2.1.19): the device hands over an RFC 5322 message to send, for Smart*
// naming a stored item to reply to or forward. This is the blocking part: it
// decodes the request, reads the source item, and composes the message to
// submit (mime::compose, codec/mime/compose.h: From limited to the user's
// address, Bcc removed, Date/Message-ID added, the original quoted or
// attached). The EAS service submits the result (smtp::Outbound::submit) and
// files `sent_copy` in Sent Items when `save_in_sent` is set.
//
// Two request forms:
// - 14.0 and later: a WBXML ComposeMail body (MS-ASCMD 2.2.1.17.1):
//   ClientId, AccountId (ignored: one account per user), SaveInSentItems
//   (empty element, present = save), Source{FolderId, ItemId, LongId,
//   InstanceId} for Smart*, ReplaceMime (Smart*), Mime (OPAQUE or string).
// - 12.1 and earlier: the raw message as the body (Content-Type
//   message/rfc822), parameters on the request line (MS-ASHTTP
//   2.2.1.1.1.2.5): SaveInSent=T, ItemId and CollectionId for Smart*.
//
// Ids: an ItemId (or LongId) is a Sync ServerId "<folderid>:<itemid>" or a
// bare decimal store ItemId; FolderId/CollectionId is a decimal store
// FolderId and, when given, must be the item's folder. InstanceId (a
// recurring meeting's occurrence) is ignored: mail items have none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.2 common status values that SendMail, SmartReply and
// SmartForward answer (2.2.3.177.14, 2.2.3.177.16). Success is an empty
// response body (HTTP 200), never a Status element.
enum class SendMailStatus : int {
  invalid_content = 101,  // a body that is neither WBXML nor a message (12.1 form: empty)
  invalid_wbxml = 102,    // the service's answer when the WBXML does not decode
  invalid_xml = 103,      // wrong root, a required element missing or repeated
  invalid_combination_of_ids = 105,  // LongId together with ItemId/FolderId
  invalid_mime = 107,                // Mime is not an RFC 5322 message
  server_error = 110,
  send_quota_exceeded = 115,           // more recipients than the server takes in one message
  message_recipient_unresolved = 116,  // an address that is not a usable addr-spec
  message_previously_sent = 118,       // for the service: a ClientId seen before
  message_has_no_recipient = 119,
  mail_submission_failed = 120,  // for the service: Outbound::submit failed
  attachment_too_large = 122,    // the message exceeds SendMailLimits::max_message_size
  item_not_found = 150,          // Smart*: no such item in the user's mailbox
};

struct SendMailLimits {
  std::size_t max_message_size = 50u * 1024 * 1024;
  std::size_t max_recipients = 500;
  std::size_t max_client_id = 128;  // MS-ASCMD does not bound ClientId; we do
};

struct OutgoingMail {
  std::string sender;                        // envelope sender: ctx.address
  std::vector<std::string> recipients;       // To, Cc, Bcc (deduplicated, bounded)
  std::shared_ptr<const std::string> bytes;  // the message to submit (no Bcc, CRLF)
  // The copy for Sent Items (Bcc kept); set only when save_in_sent.
  std::shared_ptr<const std::string> sent_copy;
  bool save_in_sent = false;
  std::optional<std::string> client_id;  // 14.0+ ClientId, for duplicate detection
};

// Exactly one of `mail` (send it) and `status_response` (answer it, HTTP 200)
// is set. `status` is the Status in that response (0 with `mail`), for a
// service that answers 12.1-form requests with an HTTP error instead.
struct ComposeOutcome {
  std::optional<OutgoingMail> mail;
  std::vector<std::uint8_t> status_response;
  int status = 0;
};

// Decodes and composes one SendMail/SmartReply/SmartForward request.
// `command` is the request line's command name ("SendMail", "SmartReply",
// "SmartForward"). `body` is the decoded WBXML (14.0+ form) or null, in which
// case `raw_body` is the message itself (12.1 form; parameters from
// ctx.request, which may then not be null).
//
// Blocking: reads the source item for Smart*. Everything that is the
// device's fault comes back as a status response (SendMailStatus). Errors:
// invalid_argument for an unknown command name or a missing ctx.request in
// the raw form, internal when ctx.address is empty, and the mail store's
// storage errors (the service answers them with HTTP 500).
Result<ComposeOutcome> composeOutgoing(CommandContext& ctx, std::string_view command,
                                       const wbxml::Document* body, std::string_view raw_body,
                                       const SendMailLimits& limits = {});

// <SendMail|SmartReply|SmartForward xmlns="ComposeMail"><Status>n</Status></...>
// (MS-ASCMD 2.2.3.177.14, 2.2.3.177.16). invalid_argument for another command.
Result<std::vector<std::uint8_t>> sendStatusResponse(std::string_view command, int status);

}  // namespace rampart::server::eas
