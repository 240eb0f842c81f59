// The ActiveSync WBXML code pages: which (code page, token) pair stands for
// which XML tag, and in which protocol versions ([MS-ASWBXML] 2.1.2.1).
//
// The tables are taken from the text of [MS-ASWBXML] (code pages 0-25,
// sections 2.1.2.1.1 to 2.1.2.1.26), not from third-party token lists, some of
// which are wrong. Lookups are pure and allocate nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace rampart::wbxml {

// One bit per ActiveSync protocol version named in [MS-ASWBXML]'s "Protocol
// versions" columns ([MS-ASHTTP] 2.2.4.1.2.2 lists the same versions).
enum class ProtocolVersion : std::uint8_t {
  v2_5 = 1u << 0,
  v12_0 = 1u << 1,
  v12_1 = 1u << 2,
  v14_0 = 1u << 3,
  v14_1 = 1u << 4,
  v16_0 = 1u << 5,
  v16_1 = 1u << 6,
};
using VersionMask = std::uint8_t;
inline constexpr VersionMask kAllVersions = 0x7F;  // the tables' "All"

// Code page numbers are one byte (the SWITCH_PAGE operand, [WBXML1.2] 5.8.1);
// ActiveSync defines 0..25 ([MS-ASWBXML] 2.1.2.1).
inline constexpr std::uint8_t kPageCount = 26;
// Tag tokens are the low six bits of a tag byte; 0x00-0x04 are global tokens.
inline constexpr std::uint8_t kFirstTagToken = 0x05;
inline constexpr std::uint8_t kLastTagToken = 0x3F;

struct TagInfo {
  std::uint8_t page;
  std::uint8_t token;
  std::string_view name;  // static storage
  VersionMask versions;

  bool supportedIn(ProtocolVersion v) const noexcept {
    return (versions & static_cast<VersionMask>(v)) != 0;
  }
};

// The XML namespace of a code page ("AirSync", "AirSyncBase", ...), or empty
// for a page ActiveSync does not define. Page 3 (AirNotify) is named but has
// no tags: it is no longer in use ([MS-ASWBXML] 2.1.2.1.4).
std::string_view pageNamespace(std::uint8_t page) noexcept;

// The page of a namespace. Accepts libwbxml's spelling with a trailing colon
// ("AirSync:") too, and "GAL" (the heading of 2.1.2.1.17) for "Gal".
std::optional<std::uint8_t> pageOf(std::string_view ns) noexcept;

// The tag at (page, token), or nullptr if the spec defines none there.
const TagInfo* findTag(std::uint8_t page, std::uint8_t token) noexcept;
// The tag named `name` in `page`, or nullptr.
const TagInfo* findTag(std::uint8_t page, std::string_view name) noexcept;
// The tag named `name` in namespace `ns` (as pageOf() reads it), or nullptr.
const TagInfo* findTag(std::string_view ns, std::string_view name) noexcept;

// Every tag of every page, ordered by (page, token).
std::span<const TagInfo> allTags() noexcept;

}  // namespace rampart::wbxml
