// The parsed summary of an RFC 5322 message: what EAS needs to list a message
// without reading its bytes. Built by summarize() (GMime underneath); stored
// next to the original bytes by the mailbox store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::mime {

// MS-ASEMAIL Importance: 0 low, 1 normal, 2 high.
enum class Importance : int { low = 0, normal = 1, high = 2 };

struct Attachment {
  std::string filename;      // decoded (RFC 2231 / RFC 2047), UTF-8
  std::string content_type;  // "application/pdf"
  std::string content_id;    // without angle brackets, empty when absent
  std::uint64_t size = 0;    // decoded size in bytes
  bool is_inline = false;    // Content-Disposition: inline with a Content-ID
  std::string part_path;     // "1.2": where the part sits in the MIME tree
};

struct Summary {
  // Header fields decoded to UTF-8 (RFC 2047 words and raw 8-bit UTF-8).
  std::string from;        // display form, e.g. "Alice <alice@example.org>"
  std::string to;          // comma-separated display forms
  std::string cc;
  std::string reply_to;
  std::string subject;
  std::string message_id;  // with angle brackets, as in the header
  std::string in_reply_to;
  std::string thread_topic;
  std::int64_t date = 0;   // Unix seconds from Date:, 0 when absent or unparsable
  Importance importance = Importance::normal;
  std::uint64_t size = 0;  // bytes of the original message
  std::string content_type;   // of the top-level part, "multipart/mixed"
  std::string message_class;  // MS-ASEMAIL MessageClass: IPM.Note, IPM.Note.SMIME, ...
  std::vector<Attachment> attachments;
  std::string preview;     // first characters of the text body, whitespace folded
  // False when the message did not parse cleanly; what did parse is still filled in.
  bool well_formed = true;
  // True when a SummaryLimits bound cut the walk short (attachments or parts
  // past it are missing from this summary; the message itself is intact).
  bool truncated = false;
};

struct SummaryLimits {
  std::size_t max_preview_chars = 255;   // MS-ASAIRS Preview is at most 255 characters
  std::size_t max_attachments = 1000;
  std::size_t max_depth = 32;            // MIME nesting
};

// Summarises a message. Never fails on malformed input: it summarises what it
// can and clears well_formed. Pure: no I/O. Thread-safe (GMime is initialised
// once, on first use).
Summary summarize(std::string_view message, const SummaryLimits& limits = {});

}  // namespace rampart::mime
