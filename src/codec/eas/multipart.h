// The multipart body of an ItemOperations response (MS-ASCMD 2.2.1.10.1,
// 2.2.1.10.1.1): sent when the client asks for it (MS-ASHTTP 2.2.1.1.2.5
// MS-ASAcceptMultiPart: T, or the AcceptMultiPart bit of the base64 query's
// Options, 2.2.1.1.1.1.3) with Content-Type application/vnd.ms-sync.multipart.
//
// Layout (MS-ASCMD 2.2.1.10.1.1 MultiPartResponse, 2.2.1.10.1.1.1
// PartMetaData), every integer 4 bytes little-endian:
//
//   PartsCount | PartsCount x (Offset, Length) | the parts' bytes
//
// Offset counts from the first byte of the structure. Part 0 is the WBXML
// response; its itemoperations:Part elements hold the index of the part that
// carries an item's data in place of the Data element (MS-ASCMD 2.2.3.130).
// Pure: bytes in, bytes out.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::eas {

// The content type of a multipart ItemOperations response.
inline constexpr std::string_view kMultipartContentType = "application/vnd.ms-sync.multipart";

// Lays the parts out in order. Errc::limit_exceeded when the whole does not
// fit the 32-bit signed offsets and lengths (2 GiB); Errc::invalid_argument
// for no parts at all (a response always has its WBXML part).
Result<std::vector<std::uint8_t>> encodeMultipart(
    std::span<const std::span<const std::uint8_t>> parts);

// The parts of a multipart body, as views into `body` (the device client
// reads responses with it). Errc::parse_error for a truncated header, an
// offset or length that points outside the body, or a negative value;
// Errc::limit_exceeded for more than `max_parts` parts.
Result<std::vector<std::span<const std::uint8_t>>> decodeMultipart(
    std::span<const std::uint8_t> body, std::size_t max_parts = 1024);

}  // namespace rampart::eas
