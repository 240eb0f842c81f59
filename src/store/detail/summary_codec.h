// A compact, versioned binary encoding of mime::Summary, so a backend can keep
// the whole summary (attachments included) in one column next to the message.
// Backend-neutral: the PostgreSQL backend can store the same bytes in a bytea.
#pragma once

#include <string>
#include <string_view>

#include "codec/mime/summary.h"
#include "core/error.h"

namespace rampart::store::detail {

std::string encodeSummary(const mime::Summary& summary);
// Errc::storage_error when the bytes are not an encoding this build understands.
Result<mime::Summary> decodeSummary(std::string_view bytes);

}  // namespace rampart::store::detail
