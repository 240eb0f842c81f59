// libFuzzer target for the RADIUS codec (gateway/auth/radius_packet.h): any
// bytes give a packet or an error, never a crash; a parsed packet serialises
// back to exactly its own bytes; and no response decodes without a valid
// Message-Authenticator (RFC 3579 3.2, Blast-RADIUS).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "gateway/auth/radius_packet.h"

using namespace rampart::gateway::auth;

namespace {
// The seeds in fuzz/corpus/radius_packet/ are signed with these.
constexpr std::string_view kSecret = "fuzz-secret";
RadiusAuthenticator requestAuthenticator() {
  RadiusAuthenticator a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(i);
  return a;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto packet = parseRadiusPacket(bytes);
  if (packet) {
    const std::size_t length = (std::size_t{data[2]} << 8) | data[3];
    if (length < kRadiusHeaderSize || length > kRadiusMaxPacketSize || length > size) std::abort();
    auto again = serializeRadiusPacket(*packet);
    if (!again || again->size() != length ||
        !std::equal(again->begin(), again->end(), data)) {
      std::abort();
    }
  }
  const std::uint8_t identifier = size > 1 ? data[1] : 0;
  auto reply = decodeRadiusResponse(bytes, identifier, requestAuthenticator(), kSecret);
  if (reply) {
    // Only a signed packet decodes: it parsed, and it holds exactly one
    // 16-octet Message-Authenticator.
    if (!packet) std::abort();
    int signatures = 0;
    for (const auto& a : packet->attributes) {
      if (a.type == radius_attr::message_authenticator) {
        if (a.value.size() != 16) std::abort();
        ++signatures;
      }
    }
    if (signatures != 1) std::abort();
  }
  auto request = decodeRadiusAccessRequest(bytes, kSecret);
  if (request && request->password.size() > kRadiusMaxPasswordSize) std::abort();
  (void)revealRadiusPassword(
      std::string_view(reinterpret_cast<const char*>(data), size), kSecret,
      requestAuthenticator());
  return 0;
}
