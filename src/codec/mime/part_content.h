// The content of one MIME part of a message, named by its part path as
// summary.h numbers them (Attachment::part_path: "1", "2.1", ...): what EAS
// ItemOperations Fetch sends for an attachment's FileReference (MS-ASCMD
// 2.2.1.10, MS-ASAIRS 2.2.2.24.2). Built with GMime; pure, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::mime {

struct PartContent {
  std::string content_type;  // "application/pdf"
  std::string bytes;         // transfer-decoded (an attached message: as it is written)
};

// The part at `part_path`, or none when the message has no such leaf part.
// Paths follow summarize(): the children of a multipart are numbered from 1,
// a single-part message's body is "1", and the signature of a
// multipart/signed is not numbered away (it keeps its index). `max_bytes`
// bounds the decoded content; a larger part yields none.
std::optional<PartContent> partContent(std::string_view message, std::string_view part_path,
                                       std::size_t max_bytes = std::size_t{64} << 20);

}  // namespace rampart::mime
