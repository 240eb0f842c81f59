// Outgoing mail as an EAS device hands it over (MS-ASCMD 2.2.1.17 SendMail,
// 2.2.1.19 SmartForward, 2.2.1.20 SmartReply): the device's RFC 5322 message
// made ready to submit. Built with GMime, like summary.h; pure, no I/O.
//
// What compose() does to the device's message:
// - From: kept when it is a single mailbox whose address is the user's own or
//   one of `allowed_from` (aliases; compared case-insensitively); otherwise
//   replaced with "display name <user address>", and a Sender: that is not an
//   allowed address is dropped. A device cannot send as someone else.
// - Date: and Message-ID: are added when missing (RFC 5322 3.6.1, 3.6.4),
//   MIME-Version: when missing.
// - Recipients are the mailboxes of To:, Cc: and Bcc: (RFC 5322 groups are
//   expanded, display names and encoded words do not matter), IDN domains in
//   their ASCII form, duplicates (same local part, domain case-insensitive)
//   dropped.
// - Bcc: (and Resent-Bcc:) never appear in `message`; `sent_copy` keeps them,
//   for the user's own Sent Items.
// - reply (SmartReply): the original's text is appended to the device's first
//   text/plain part as "> " quoted lines under an "On <date>, <from> wrote:"
//   line, and to its first text/html part as an HTML-escaped <blockquote> of
//   that same text (not the original's HTML: its markup and scripts are not
//   copied into a message the user did not write). A message without a text
//   body gets the quote as a text/plain part. In-Reply-To: and References:
//   (RFC 5322 3.6.4) are set from the original unless the device set them.
// - forward (SmartForward): the original is attached whole, as a
//   message/rfc822 part (its attachments, signatures and headers travel
//   intact, which inlining its parts would not give), after the device's body
//   in a multipart/mixed.
// - replace_mime (MS-ASCMD 2.2.3.147): the device's message is complete; the
//   original is not used.
// - A NUL byte: RFC 5322 text (2.3, 3.5) and RFC 2045 8bit data (2.8) never
//   hold one, and GMime writes a header field that holds one cut short, its
//   line end lost with it. The device's message is refused for one (it is
//   the device's fault); the original, which is stored mail the user did not
//   write, is forwarded or quoted with its NUL bytes left out.
// Lines end in CRLF, as SMTP wants them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::mime {

enum class ComposeKind { send, reply, forward };

// Why a message cannot be sent; each is the device's fault (the EAS command
// answers it with a Status, never an error).
enum class ComposeProblem {
  none,
  too_large,            // the message, or what composing made of it, exceeds max_message_size
  invalid_mime,         // not an RFC 5322 message (no header fields, a NUL byte), or the original is not
  no_recipients,        // no address in To, Cc or Bcc
  too_many_recipients,  // more than max_recipients distinct addresses
  bad_recipient,        // a mailbox that is not a usable addr-spec
};

struct ComposeRequest {
  ComposeKind kind = ComposeKind::send;
  std::string_view message;   // the device's RFC 5322 message
  std::string_view original;  // reply/forward: the source item's message
  bool replace_mime = false;  // reply/forward: send `message` as it is
  std::string user_address;   // "alice@example.org"; From: when the device's is not allowed
  std::string user_display_name;
  std::vector<std::string> allowed_from;  // further addresses From: may name (aliases)
  std::int64_t now = 0;                   // Unix seconds, for a missing Date:
  std::string message_id;  // "<id@domain>" (brackets optional), for a missing Message-ID:
};

struct ComposeLimits {
  std::size_t max_message_size = 50u * 1024 * 1024;  // before and after composing
  std::size_t max_recipients = 500;
  std::size_t max_depth = 32;       // MIME nesting searched for text parts
  std::size_t max_references = 20;  // message ids kept in a reply's References:
};

struct Composed {
  ComposeProblem problem = ComposeProblem::none;
  std::string detail;                   // what was wrong, for a log line
  std::string message;                  // to submit: Bcc removed
  std::string sent_copy;                // for Sent Items: Bcc kept
  std::vector<std::string> recipients;  // envelope recipients, in header order
};

// Composes the message to submit. Never throws; a message it cannot send
// comes back with `problem` set and the other fields empty. Thread-safe.
Composed compose(const ComposeRequest& request, const ComposeLimits& limits = {});

// True for an addr-spec we hand to SMTP: local@domain, both non-empty, at most
// 254 octets, no spaces, controls, or the characters <>(),;:\" outside a
// quoted local part.
bool isUsableAddress(std::string_view address);

}  // namespace rampart::mime
