// MS-ASCMD 2.2.1.10.1.1 multipart ItemOperations bodies. See multipart.h.
#include "codec/eas/multipart.h"

#include <cstring>
#include <limits>
#include <string>

namespace rampart::eas {
namespace {

constexpr std::size_t kIntSize = 4;
constexpr std::uint64_t kMaxInt32 =
    static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());

void putInt32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 24));
}

std::int64_t getInt32(std::span<const std::uint8_t> in, std::size_t at) {
  std::uint32_t v =
      static_cast<std::uint32_t>(in[at]) | static_cast<std::uint32_t>(in[at + 1]) << 8 |
      static_cast<std::uint32_t>(in[at + 2]) << 16 | static_cast<std::uint32_t>(in[at + 3]) << 24;
  return static_cast<std::int32_t>(v);
}

}  // namespace

Result<std::vector<std::uint8_t>> encodeMultipart(
    std::span<const std::span<const std::uint8_t>> parts) {
  if (parts.empty()) return fail(Errc::invalid_argument, "a multipart response needs a part");
  std::uint64_t header = kIntSize + std::uint64_t{parts.size()} * 2 * kIntSize;
  std::uint64_t total = header;
  for (const auto& p : parts) total += p.size();
  if (total > kMaxInt32) {
    return fail(Errc::limit_exceeded,
                "multipart response of " + std::to_string(total) + " bytes exceeds 2 GiB");
  }
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(total));
  putInt32(out, static_cast<std::uint32_t>(parts.size()));
  std::uint64_t offset = header;
  for (const auto& p : parts) {
    putInt32(out, static_cast<std::uint32_t>(offset));
    putInt32(out, static_cast<std::uint32_t>(p.size()));
    offset += p.size();
  }
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Result<std::vector<std::span<const std::uint8_t>>> decodeMultipart(
    std::span<const std::uint8_t> body, std::size_t max_parts) {
  if (body.size() < kIntSize)
    return fail(Errc::parse_error, "multipart body shorter than its count");
  std::int64_t count = getInt32(body, 0);
  if (count < 0) return fail(Errc::parse_error, "negative multipart part count");
  if (static_cast<std::uint64_t>(count) > max_parts) {
    return fail(Errc::limit_exceeded, "multipart body of " + std::to_string(count) + " parts");
  }
  std::uint64_t header = kIntSize + static_cast<std::uint64_t>(count) * 2 * kIntSize;
  if (header > body.size()) return fail(Errc::parse_error, "multipart metadata truncated");
  std::vector<std::span<const std::uint8_t>> parts;
  parts.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    std::size_t at = kIntSize + static_cast<std::size_t>(i) * 2 * kIntSize;
    std::int64_t offset = getInt32(body, at);
    std::int64_t length = getInt32(body, at + kIntSize);
    if (offset < 0 || length < 0)
      return fail(Errc::parse_error, "negative multipart offset or length");
    if (static_cast<std::uint64_t>(offset) + static_cast<std::uint64_t>(length) > body.size()) {
      return fail(Errc::parse_error, "multipart part " + std::to_string(i) + " outside the body");
    }
    parts.push_back(
        body.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length)));
  }
  return parts;
}

}  // namespace rampart::eas
