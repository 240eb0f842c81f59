// WBXML global tokens and tag bits, [WBXML1.2] 7.1 and 5.8.2 ([MS-ASWBXML]
// 1.7 lists the ones EAS uses). Shared by the reader and the writer.
#pragma once

#include <cstdint>

namespace rampart::wbxml::detail {

constexpr std::uint8_t kSwitchPage = 0x00;
constexpr std::uint8_t kEnd = 0x01;
constexpr std::uint8_t kEntity = 0x02;
constexpr std::uint8_t kStrI = 0x03;
constexpr std::uint8_t kLiteral = 0x04;
constexpr std::uint8_t kPi = 0x43;
constexpr std::uint8_t kStrT = 0x83;
constexpr std::uint8_t kOpaque = 0xC3;
constexpr std::uint8_t kContentBit = 0x40;
constexpr std::uint8_t kAttributeBit = 0x80;
constexpr std::uint8_t kTokenMask = 0x3F;

}  // namespace rampart::wbxml::detail
