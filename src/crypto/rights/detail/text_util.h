// Private helpers of crypto/rights: the small syntaxes the license texts and
// the protected message use (hex, GUIDs, addresses, Unix times, the rules
// for base64).
// Pure functions over bytes; nothing here allocates more than its input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base64.h"

namespace rampart::crypto::rights::detail {

bool isLowerHex(std::string_view s, std::size_t len);
// 8-4-4-4-12 hex digits; upper case only when `upper_only`.
bool isGuid(std::string_view s, bool upper_only);
// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates) without C0/C1
// control characters or DEL: text that fits on one line.
bool isUtf8Text(std::string_view s);
// A lower-case address as the license texts hold it: local@domain, 3..320
// bytes, no white space, controls, upper-case ASCII or characters that would
// need quoting in a header ("<>()[],;:\\).
bool isAddress(std::string_view s);
// Printable ASCII without spaces (user names).
bool isToken(std::string_view s);
// Decimal Unix seconds, 0 .. 2^63-1, no sign, no leading zeros.
std::optional<std::int64_t> parseUnixTime(std::string_view s);

std::string hexLower(std::string_view bytes);
std::optional<std::string> hexDecode(std::string_view hex);

// Base64 as the license fields hold it (RFC 4648 4, core/base64.h): no
// white space, the padding exact, unused bits zero.
inline constexpr Base64Decode kStrictBase64{
    .skip_whitespace = false, .require_padding = true, .canonical = true};

// A TOML basic string with its quotes.
std::string tomlString(std::string_view s);

}  // namespace rampart::crypto::rights::detail
