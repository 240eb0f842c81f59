// The readable bodies of an RFC 5322 message, decoded to UTF-8: what EAS sends
// as AirSyncBase Body Type 1 (plain text) and Type 2 (HTML) (MS-ASAIRS
// 2.2.2.22.1). Built with GMime, like summary.h; pure, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::mime {

struct Bodies {
  // The first text/plain body part (not an attachment), transfer-decoded and
  // converted from its charset to UTF-8. When the message has HTML only, the
  // text of that HTML with tags, scripts, styles and comments removed.
  std::string plain;
  // The first text/html body part, decoded to UTF-8; empty when there is none.
  std::string html;
  // Which one the message itself carries (MS-ASAIRS 2.2.2.32 NativeBodyType):
  // true when it has an HTML part (a multipart/alternative is HTML-native).
  bool html_native = false;
};

struct BodyLimits {
  std::size_t max_depth = 32;  // MIME nesting, as SummaryLimits
};

// Extracts the bodies. Never fails: a message that does not parse yields what
// could be read (possibly nothing). Invalid UTF-8 is repaired (U+FFFD).
// Thread-safe. Messages of the shape plainBodyFast() handles skip GMime.
Bodies extractBodies(std::string_view message, const BodyLimits& limits = {});

// extractBodies() always through GMime: the reference the fast path is
// compared with (tests, fuzz/mime_body_fuzz.cc).
Bodies extractBodiesGmime(std::string_view message, const BodyLimits& limits = {});

// The fast path for the commonest message: a single text/plain part (no
// multipart, no Content-Disposition), charset us-ascii or utf-8 or none,
// Content-Transfer-Encoding 7bit, 8bit, binary or none, with headers that a
// plain scan splits unambiguously and a body that is already valid UTF-8
// (ASCII for us-ascii). Returns Bodies::plain as extractBodies() would give
// it, as a view into `message` (the body up to its first NUL, as GMime's
// NUL-terminated text is); nullopt for anything else (then use GMime).
std::optional<std::string_view> plainBodyFast(std::string_view message);

// The first bytes of Bodies::plain, for callers that send only a prefix
// (EAS TruncationSize) but must know the whole size (MS-ASAIRS 2.2.2.23.1
// EstimatedDataSize). Uses plainBodyFast() when it can, else extractBodies().
struct PlainPrefix {
  std::string prefix;          // the first min(total_size, max_bytes) bytes
  std::size_t total_size = 0;  // Bodies::plain.size()
  bool complete = false;       // prefix is the whole of Bodies::plain
};
PlainPrefix extractPlainPrefix(std::string_view message, std::size_t max_bytes,
                               const BodyLimits& limits = {});

// The text of an HTML document without markup (tags dropped, block ends turned
// into line breaks, common entities decoded). Exposed for callers that derive
// a plain body themselves. Stops once the text holds `max_bytes` (a preview
// needs only the start of a long document).
std::string htmlToText(std::string_view html, std::size_t max_bytes = SIZE_MAX);

}  // namespace rampart::mime
