// The readable bodies of an RFC 5322 message, decoded to UTF-8: what EAS sends
// as AirSyncBase Body Type 1 (plain text) and Type 2 (HTML) (MS-ASAIRS
// 2.2.2.22.1). Built with GMime, like summary.h; pure, no I/O.
#pragma once

#include <cstddef>
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
// Thread-safe.
Bodies extractBodies(std::string_view message, const BodyLimits& limits = {});

// The text of an HTML document without markup (tags dropped, block ends turned
// into line breaks, common entities decoded). Exposed for callers that derive
// a plain body themselves.
std::string htmlToText(std::string_view html);

}  // namespace rampart::mime
