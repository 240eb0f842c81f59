#include "gateway/auth/radius_packet.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace rampart::gateway::auth {
namespace {

constexpr std::size_t kMaxAttributeValue = 253;
constexpr std::size_t kAuthenticatorOffset = 4;

std::string_view asChars(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// MD5 over the concatenation of `parts` (RFC 2865 3 and 5.2 use MD5 as is).
Result<std::array<std::uint8_t, 16>> md5(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<std::uint8_t, 16> out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    return fail(Errc::internal, "MD5 unavailable");
  }
  for (auto part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      return fail(Errc::internal, "MD5 failed");
    }
  }
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    return fail(Errc::internal, "MD5 failed");
  }
  return out;
}

// HMAC-MD5 (RFC 3579 3.2) through EVP_MAC.
Result<std::array<std::uint8_t, 16>> hmacMd5(std::string_view key, std::string_view data) {
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                         EVP_MAC_free);
  if (!mac) return fail(Errc::internal, "HMAC unavailable");
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                 EVP_MAC_CTX_free);
  char digest_name[] = "MD5";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  std::array<std::uint8_t, 16> out{};
  std::size_t len = 0;
  // An empty key is legal for HMAC but EVP_MAC_init wants a non-null pointer.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return fail(Errc::internal, "HMAC-MD5 failed");
  }
  return out;
}

void putLength(std::vector<std::uint8_t>& bytes) {
  bytes[2] = static_cast<std::uint8_t>(bytes.size() >> 8);
  bytes[3] = static_cast<std::uint8_t>(bytes.size() & 0xff);
}

Status appendAttribute(std::vector<std::uint8_t>& out, std::uint8_t type, std::string_view value) {
  if (value.size() > kMaxAttributeValue) {
    return fail(Errc::invalid_argument, "RADIUS attribute value over 253 octets");
  }
  out.push_back(type);
  out.push_back(static_cast<std::uint8_t>(value.size() + 2));
  out.insert(out.end(), value.begin(), value.end());
  return {};
}

// Where each attribute's value starts in `bytes`, for in-place signing and
// checking; bytes must already have passed parseRadiusPacket.
std::vector<std::size_t> messageAuthenticatorOffsets(std::span<const std::uint8_t> bytes,
                                                     std::size_t length) {
  std::vector<std::size_t> offsets;
  std::size_t pos = kRadiusHeaderSize;
  while (pos + 2 <= length) {
    const std::size_t len = bytes[pos + 1];
    if (len < 2 || pos + len > length) break;
    if (bytes[pos] == radius_attr::message_authenticator) offsets.push_back(pos);
    pos += len;
  }
  return offsets;
}

// RFC 3579 3.2: HMAC-MD5 over the packet with the Message-Authenticator value
// zeroed and `authenticator` in the Authenticator field.
Result<std::array<std::uint8_t, 16>> computeMessageAuthenticator(
    std::vector<std::uint8_t> packet, std::size_t ma_offset,
    const RadiusAuthenticator& authenticator, std::string_view secret) {
  std::copy(authenticator.begin(), authenticator.end(), packet.begin() + kAuthenticatorOffset);
  std::fill(packet.begin() + static_cast<std::ptrdiff_t>(ma_offset + 2),
            packet.begin() + static_cast<std::ptrdiff_t>(ma_offset + 18), 0);
  return hmacMd5(secret, asChars(packet));
}

// Checks exactly one Message-Authenticator of 16 octets whose value is valid.
Status checkMessageAuthenticator(std::span<const std::uint8_t> packet,
                                 const RadiusAuthenticator& authenticator,
                                 std::string_view secret) {
  auto offsets = messageAuthenticatorOffsets(packet, packet.size());
  if (offsets.empty()) {
    return fail(Errc::unauthenticated, "RADIUS packet without Message-Authenticator");
  }
  if (offsets.size() != 1) {
    return fail(Errc::unauthenticated, "RADIUS packet with several Message-Authenticators");
  }
  const std::size_t at = offsets.front();
  if (packet[at + 1] != 18) {
    return fail(Errc::unauthenticated, "RADIUS Message-Authenticator of the wrong length");
  }
  auto expected = computeMessageAuthenticator(
      std::vector<std::uint8_t>(packet.begin(), packet.end()), at, authenticator, secret);
  if (!expected) return fail(expected.error());
  if (CRYPTO_memcmp(expected->data(), packet.data() + at + 2, 16) != 0) {
    return fail(Errc::unauthenticated, "RADIUS Message-Authenticator is not valid");
  }
  return {};
}

}  // namespace

Result<RadiusPacket> parseRadiusPacket(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kRadiusHeaderSize) return fail(Errc::parse_error, "RADIUS packet too short");
  const std::size_t length = (std::size_t{bytes[2]} << 8) | bytes[3];
  if (length < kRadiusHeaderSize || length > kRadiusMaxPacketSize) {
    return fail(Errc::parse_error, "RADIUS Length outside 20..4096");
  }
  if (length > bytes.size()) {
    return fail(Errc::parse_error, "RADIUS Length beyond the datagram");
  }
  RadiusPacket packet;
  packet.code = bytes[0];
  packet.identifier = bytes[1];
  std::copy_n(bytes.begin() + kAuthenticatorOffset, 16, packet.authenticator.begin());
  std::size_t pos = kRadiusHeaderSize;
  while (pos < length) {
    if (pos + 2 > length) return fail(Errc::parse_error, "RADIUS attribute header overruns");
    const std::size_t len = bytes[pos + 1];
    if (len < 2) return fail(Errc::parse_error, "RADIUS attribute length under 2");
    if (pos + len > length) return fail(Errc::parse_error, "RADIUS attribute overruns the packet");
    packet.attributes.push_back(
        {bytes[pos], std::string(asChars(bytes.subspan(pos + 2, len - 2)))});
    pos += len;
  }
  return packet;
}

Result<std::vector<std::uint8_t>> serializeRadiusPacket(const RadiusPacket& packet) {
  std::vector<std::uint8_t> out(kRadiusHeaderSize);
  out[0] = packet.code;
  out[1] = packet.identifier;
  std::copy(packet.authenticator.begin(), packet.authenticator.end(),
            out.begin() + kAuthenticatorOffset);
  for (const auto& a : packet.attributes) {
    if (auto st = appendAttribute(out, a.type, a.value); !st) return fail(st.error());
    if (out.size() > kRadiusMaxPacketSize) {
      return fail(Errc::invalid_argument, "RADIUS packet over 4096 octets");
    }
  }
  putLength(out);
  return out;
}

Result<std::string> hideRadiusPassword(std::string_view password, std::string_view secret,
                                       const RadiusAuthenticator& request_authenticator) {
  if (password.size() > kRadiusMaxPasswordSize) {
    return fail(Errc::invalid_argument, "RADIUS password over 128 octets");
  }
  // RFC 2865 5.2: pad with NULs to a multiple of 16 (at least one block);
  // b1 = MD5(S + RA), c1 = p1 xor b1; bi = MD5(S + c(i-1)), ci = pi xor bi.
  std::string out(password);
  const std::size_t padded = password.empty() ? 16 : (password.size() + 15) / 16 * 16;
  out.resize(padded, '\0');
  std::string_view chain(reinterpret_cast<const char*>(request_authenticator.data()), 16);
  for (std::size_t i = 0; i < padded; i += 16) {
    auto b = md5({secret, chain});
    if (!b) return fail(b.error());
    for (std::size_t j = 0; j < 16; ++j) out[i + j] = static_cast<char>(out[i + j] ^ (*b)[j]);
    chain = std::string_view(out).substr(i, 16);
  }
  return out;
}

Result<std::string> revealRadiusPassword(std::string_view hidden, std::string_view secret,
                                         const RadiusAuthenticator& request_authenticator) {
  if (hidden.size() < 16 || hidden.size() > kRadiusMaxPasswordSize || hidden.size() % 16 != 0) {
    return fail(Errc::parse_error, "RADIUS User-Password not 16..128 octets in 16-octet blocks");
  }
  std::string out(hidden.size(), '\0');
  std::string_view chain(reinterpret_cast<const char*>(request_authenticator.data()), 16);
  for (std::size_t i = 0; i < hidden.size(); i += 16) {
    auto b = md5({secret, chain});
    if (!b) return fail(b.error());
    for (std::size_t j = 0; j < 16; ++j) out[i + j] = static_cast<char>(hidden[i + j] ^ (*b)[j]);
    chain = hidden.substr(i, 16);
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

Result<std::vector<std::uint8_t>> encodeRadiusAccessRequest(const RadiusAccessRequest& request,
                                                            std::string_view secret) {
  if (request.user_name.empty()) return fail(Errc::invalid_argument, "RADIUS: empty User-Name");
  if (request.nas_identifier.empty() && !request.nas_ip_address) {
    // RFC 2865 4.1: one of NAS-IP-Address or NAS-Identifier MUST be present.
    return fail(Errc::invalid_argument, "RADIUS: no NAS-Identifier nor NAS-IP-Address");
  }
  std::vector<std::uint8_t> out(kRadiusHeaderSize);
  out[0] = static_cast<std::uint8_t>(RadiusCode::access_request);
  out[1] = request.identifier;
  std::copy(request.authenticator.begin(), request.authenticator.end(),
            out.begin() + kAuthenticatorOffset);
  // First, as the Blast-RADIUS advisories ask: a forged prefix cannot hide it.
  const std::size_t ma_offset = out.size();
  if (auto st = appendAttribute(out, radius_attr::message_authenticator, std::string(16, '\0'));
      !st) {
    return fail(st.error());
  }
  if (auto st = appendAttribute(out, radius_attr::user_name, request.user_name); !st) {
    return fail(st.error());
  }
  auto hidden = hideRadiusPassword(request.password, secret, request.authenticator);
  if (!hidden) return fail(hidden.error());
  auto st = appendAttribute(out, radius_attr::user_password, *hidden);
  OPENSSL_cleanse(hidden->data(), hidden->size());
  if (!st) return fail(st.error());
  if (request.nas_ip_address) {
    const auto& ip = *request.nas_ip_address;
    st = appendAttribute(out, radius_attr::nas_ip_address,
                         std::string_view(reinterpret_cast<const char*>(ip.data()), ip.size()));
    if (!st) return fail(st.error());
  }
  if (!request.nas_identifier.empty()) {
    st = appendAttribute(out, radius_attr::nas_identifier, request.nas_identifier);
    if (!st) return fail(st.error());
  }
  if (request.state) {
    if (request.state->empty()) return fail(Errc::invalid_argument, "RADIUS: empty State");
    st = appendAttribute(out, radius_attr::state, *request.state);
    if (!st) return fail(st.error());
  }
  if (out.size() > kRadiusMaxPacketSize) {
    return fail(Errc::invalid_argument, "RADIUS packet over 4096 octets");
  }
  putLength(out);
  // RFC 3579 3.2: in an Access-Request the Authenticator field is the Request
  // Authenticator itself.
  auto mac = computeMessageAuthenticator(out, ma_offset, request.authenticator, secret);
  if (!mac) return fail(mac.error());
  std::copy(mac->begin(), mac->end(), out.begin() + static_cast<std::ptrdiff_t>(ma_offset + 2));
  return out;
}

Result<RadiusReply> decodeRadiusResponse(std::span<const std::uint8_t> bytes,
                                         std::uint8_t identifier,
                                         const RadiusAuthenticator& request_authenticator,
                                         std::string_view secret) {
  auto packet = parseRadiusPacket(bytes);
  if (!packet) return fail(packet.error());
  const std::size_t length = (std::size_t{bytes[2]} << 8) | bytes[3];
  const auto signed_bytes = bytes.first(length);

  RadiusReply reply;
  switch (static_cast<RadiusCode>(packet->code)) {
    case RadiusCode::access_accept: reply.kind = RadiusReply::accept; break;
    case RadiusCode::access_reject: reply.kind = RadiusReply::reject; break;
    case RadiusCode::access_challenge: reply.kind = RadiusReply::challenge; break;
    default: return fail(Errc::protocol_error, "RADIUS response code is not Accept/Reject/Challenge");
  }
  if (packet->identifier != identifier) {
    return fail(Errc::protocol_error, "RADIUS response for another Identifier");
  }
  // RFC 2865 3: ResponseAuth = MD5(Code+ID+Length+RequestAuth+Attributes+Secret).
  auto expected = md5({asChars(signed_bytes.first(kAuthenticatorOffset)),
                       std::string_view(reinterpret_cast<const char*>(request_authenticator.data()),
                                        request_authenticator.size()),
                       asChars(signed_bytes.subspan(kRadiusHeaderSize)), secret});
  if (!expected) return fail(expected.error());
  if (CRYPTO_memcmp(expected->data(), packet->authenticator.data(), 16) != 0) {
    return fail(Errc::unauthenticated, "RADIUS Response Authenticator is not valid");
  }
  // RFC 3579 3.2, made mandatory against Blast-RADIUS (CVE-2024-3596).
  if (auto st = checkMessageAuthenticator(signed_bytes, request_authenticator, secret); !st) {
    return fail(st.error());
  }
  for (const auto& a : packet->attributes) {
    if (a.type == radius_attr::state) {
      reply.state = a.value;
    } else if (a.type == radius_attr::reply_message) {
      if (!reply.reply_message.empty()) reply.reply_message += '\n';
      reply.reply_message += a.value;
    }
  }
  return reply;
}

Result<std::vector<std::uint8_t>> encodeRadiusResponse(
    RadiusCode code, std::uint8_t identifier, const RadiusAuthenticator& request_authenticator,
    const std::vector<RadiusAttribute>& attributes, std::string_view secret,
    bool with_message_authenticator) {
  RadiusPacket packet;
  packet.code = static_cast<std::uint8_t>(code);
  packet.identifier = identifier;
  packet.authenticator = request_authenticator;
  if (with_message_authenticator) {
    packet.attributes.push_back({radius_attr::message_authenticator, std::string(16, '\0')});
  }
  packet.attributes.insert(packet.attributes.end(), attributes.begin(), attributes.end());
  auto bytes = serializeRadiusPacket(packet);
  if (!bytes) return fail(bytes.error());
  if (with_message_authenticator) {
    auto mac = computeMessageAuthenticator(*bytes, kRadiusHeaderSize, request_authenticator,
                                           secret);
    if (!mac) return fail(mac.error());
    std::copy(mac->begin(), mac->end(), bytes->begin() + kRadiusHeaderSize + 2);
  }
  auto response = md5({asChars(*bytes), secret});  // request auth is in place
  if (!response) return fail(response.error());
  std::copy(response->begin(), response->end(), bytes->begin() + kAuthenticatorOffset);
  return bytes;
}

Result<RadiusAccessRequest> decodeRadiusAccessRequest(std::span<const std::uint8_t> bytes,
                                                      std::string_view secret) {
  auto packet = parseRadiusPacket(bytes);
  if (!packet) return fail(packet.error());
  if (packet->code != static_cast<std::uint8_t>(RadiusCode::access_request)) {
    return fail(Errc::protocol_error, "not an Access-Request");
  }
  const std::size_t length = (std::size_t{bytes[2]} << 8) | bytes[3];
  if (auto st = checkMessageAuthenticator(bytes.first(length), packet->authenticator, secret);
      !st) {
    return fail(st.error());
  }
  RadiusAccessRequest request;
  request.identifier = packet->identifier;
  request.authenticator = packet->authenticator;
  for (const auto& a : packet->attributes) {
    switch (a.type) {
      case radius_attr::user_name: request.user_name = a.value; break;
      case radius_attr::user_password: {
        auto password = revealRadiusPassword(a.value, secret, packet->authenticator);
        if (!password) return fail(password.error());
        request.password = std::move(*password);
        break;
      }
      case radius_attr::nas_identifier: request.nas_identifier = a.value; break;
      case radius_attr::nas_ip_address:
        if (a.value.size() != 4) return fail(Errc::parse_error, "NAS-IP-Address not 4 octets");
        request.nas_ip_address.emplace();
        std::copy_n(a.value.begin(), 4, request.nas_ip_address->begin());
        break;
      case radius_attr::state: request.state = a.value; break;
      default: break;
    }
  }
  return request;
}

}  // namespace rampart::gateway::auth
