// RADIUS packets (RFC 2865) for the gateway's RADIUS client: a pure codec, no
// I/O. Bytes in, structs or an error out; every length read from the wire is
// checked against the bytes actually present.
//
// Blast-RADIUS (CVE-2024-3596): every packet built here carries a
// Message-Authenticator (RFC 3579 3.2, HMAC-MD5), placed first, and every
// response must carry a valid one, besides a valid Response Authenticator
// (RFC 2865 3). A response that lacks either is rejected, never accepted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::gateway::auth {

// RFC 2865 3: Length is 20..4096 octets.
inline constexpr std::size_t kRadiusHeaderSize = 20;
inline constexpr std::size_t kRadiusMaxPacketSize = 4096;
// RFC 2865 5.2: the hidden password is at most 128 octets.
inline constexpr std::size_t kRadiusMaxPasswordSize = 128;

// RFC 2865 3 (Code) and 4.
enum class RadiusCode : std::uint8_t {
  access_request = 1,
  access_accept = 2,
  access_reject = 3,
  access_challenge = 11,
};

// RFC 2865 5, RFC 3579 3.2: the attribute types this client uses.
namespace radius_attr {
inline constexpr std::uint8_t user_name = 1;
inline constexpr std::uint8_t user_password = 2;
inline constexpr std::uint8_t nas_ip_address = 4;
inline constexpr std::uint8_t reply_message = 18;
inline constexpr std::uint8_t state = 24;
inline constexpr std::uint8_t nas_identifier = 32;
inline constexpr std::uint8_t message_authenticator = 80;
}  // namespace radius_attr

using RadiusAuthenticator = std::array<std::uint8_t, 16>;

struct RadiusAttribute {
  std::uint8_t type = 0;
  std::string value;  // 0..253 octets (RFC 2865 5)
};

// A structurally valid packet; nothing cryptographic checked.
struct RadiusPacket {
  std::uint8_t code = 0;
  std::uint8_t identifier = 0;
  RadiusAuthenticator authenticator{};
  std::vector<RadiusAttribute> attributes;
};

// RFC 2865 3 and 5: header, Length within 20..4096 and not beyond the bytes
// given (octets past Length are padding and ignored), each attribute at least
// 2 octets and inside Length. Errors: parse_error.
Result<RadiusPacket> parseRadiusPacket(std::span<const std::uint8_t> bytes);
// The inverse. Errors: invalid_argument (value over 253 octets, packet over 4096).
Result<std::vector<std::uint8_t>> serializeRadiusPacket(const RadiusPacket& packet);

// RFC 2865 5.2 User-Password hiding with the request authenticator.
// hide: invalid_argument for a password over 128 octets.
// reveal: parse_error unless 16..128 octets in 16-octet blocks; trailing NULs removed.
Result<std::string> hideRadiusPassword(std::string_view password, std::string_view secret,
                                       const RadiusAuthenticator& request_authenticator);
Result<std::string> revealRadiusPassword(std::string_view hidden, std::string_view secret,
                                         const RadiusAuthenticator& request_authenticator);

// What the client sends (RFC 2865 4.1). `authenticator` must be fresh random
// bytes for each new request (RFC 2865 3, Request Authenticator).
struct RadiusAccessRequest {
  std::uint8_t identifier = 0;
  RadiusAuthenticator authenticator{};
  std::string user_name;
  std::string password;
  std::string nas_identifier;  // RFC 2865 4.1: NAS-IP-Address or NAS-Identifier
  std::optional<std::array<std::uint8_t, 4>> nas_ip_address;
  std::optional<std::string> state;  // echoed from an Access-Challenge (5.24)
};

// The Access-Request bytes: Message-Authenticator first, then User-Name,
// User-Password (hidden), NAS-IP-Address, NAS-Identifier, State.
// Errors: invalid_argument (empty user, no NAS identification, over-long values).
Result<std::vector<std::uint8_t>> encodeRadiusAccessRequest(const RadiusAccessRequest& request,
                                                            std::string_view secret);

// The outcome of one exchange.
struct RadiusReply {
  enum Kind { accept, reject, challenge } kind = reject;
  std::string state;          // State (5.24), to echo in the next request
  std::string reply_message;  // Reply-Message(s) (5.18), joined with '\n'
};

// Checks and decodes a response to the request with `identifier` and
// `request_authenticator`: structure, code (Accept, Reject or Challenge),
// identifier, Response Authenticator (RFC 2865 3), and exactly one valid
// Message-Authenticator (RFC 3579 3.2). Errors: parse_error (malformed),
// protocol_error (wrong code or identifier), unauthenticated (missing or bad
// authenticators: a forged response, or a wrong shared secret).
Result<RadiusReply> decodeRadiusResponse(std::span<const std::uint8_t> bytes,
                                         std::uint8_t identifier,
                                         const RadiusAuthenticator& request_authenticator,
                                         std::string_view secret);

// The server's side, for tests and scripted peers: a signed response with a
// Message-Authenticator (unless `with_message_authenticator` is false, to test
// its refusal) and the Response Authenticator.
Result<std::vector<std::uint8_t>> encodeRadiusResponse(
    RadiusCode code, std::uint8_t identifier, const RadiusAuthenticator& request_authenticator,
    const std::vector<RadiusAttribute>& attributes, std::string_view secret,
    bool with_message_authenticator = true);

// The server's side: an Access-Request whose Message-Authenticator is present
// and valid, with its password revealed. Errors: parse_error, protocol_error,
// unauthenticated.
Result<RadiusAccessRequest> decodeRadiusAccessRequest(std::span<const std::uint8_t> bytes,
                                                      std::string_view secret);

}  // namespace rampart::gateway::auth
