#include "gateway/guard/ip_key.h"

#include <algorithm>
#include <charconv>

namespace rampart::gateway::guard {
namespace {

namespace ip = boost::asio::ip;

// Clears every bit at or after `prefix` (bits counted from the most
// significant of bytes[0]).
void maskTo(std::array<std::uint8_t, 16>& bytes, unsigned prefix, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (prefix >= first_bit + 8) continue;
    if (prefix <= first_bit) {
      bytes[i] = 0;
    } else {
      unsigned keep = prefix - first_bit;  // 1..7
      bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
    }
  }
}

}  // namespace

std::size_t IpKeyHash::operator()(const IpKey& k) const noexcept {
  // FNV-1a over the bytes and the family: keys are masked addresses, which an
  // attacker chooses, but std::unordered_map's worst case is bounded by the
  // table's size bound; FNV spreads /64 prefixes well enough.
  std::uint64_t h = 1469598103934665603ull;
  for (auto b : k.bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  h ^= k.v6 ? 1u : 0u;
  h *= 1099511628211ull;
  return static_cast<std::size_t>(h);
}

ip::address canonicalAddress(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

IpKey makeIpKey(const ip::address& address, unsigned v6_prefix) {
  IpKey key;
  ip::address a = canonicalAddress(address);
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), key.bytes.begin());
    return key;
  }
  key.v6 = true;
  auto b = a.to_v6().to_bytes();
  std::copy(b.begin(), b.end(), key.bytes.begin());
  maskTo(key.bytes, std::min(v6_prefix, 128u), 16);
  return key;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  std::string shown(text.substr(0, 64));
  auto slash = text.find('/');
  std::string addr_text(text.substr(0, slash));
  boost::system::error_code ec;
  ip::address address = ip::make_address(addr_text, ec);
  if (ec) return fail(Errc::parse_error, "CIDR '" + shown + "': not an IP address");
  if (address.is_v6() && (address.to_v6().is_v4_mapped() || address.to_v6().scope_id() != 0)) {
    return fail(Errc::parse_error,
                "CIDR '" + shown + "': IPv4-mapped or scoped IPv6; write the IPv4 range");
  }
  Cidr c;
  c.v6_ = address.is_v6();
  unsigned max_prefix = c.v6_ ? 128 : 32;
  c.prefix_ = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || p.size() > 3 || err != std::errc{} || end != p.data() + p.size() ||
        value > max_prefix) {
      return fail(Errc::parse_error, "CIDR '" + shown + "': bad prefix length");
    }
    c.prefix_ = value;
  }
  if (c.v6_) {
    auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes_.begin());
  } else {
    auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes_.begin());
  }
  auto masked = c.bytes_;
  maskTo(masked, c.prefix_, c.v6_ ? 16 : 4);
  if (masked != c.bytes_) {
    return fail(Errc::parse_error, "CIDR '" + shown + "': host bits set below the prefix");
  }
  return c;
}

bool Cidr::contains(const ip::address& address) const {
  ip::address a = canonicalAddress(address);
  if (a.is_v6() != v6_) return false;
  std::array<std::uint8_t, 16> bytes{};
  if (v6_) {
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  } else {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  }
  maskTo(bytes, prefix_, v6_ ? 16 : 4);
  return bytes == bytes_;
}

std::string Cidr::toString() const {
  ip::address a;
  if (v6_) {
    a = ip::make_address_v6(bytes_);
  } else {
    a = ip::make_address_v4(ip::address_v4::bytes_type{bytes_[0], bytes_[1], bytes_[2], bytes_[3]});
  }
  return a.to_string() + "/" + std::to_string(prefix_);
}

}  // namespace rampart::gateway::guard
