// Client addresses as table keys, and CIDR ranges for exception lists.
//
// The DoS guards count per client. An IPv4 client is one address; an IPv6
// client usually holds a whole /64 (RFC 4291 2.5.4 interface identifiers, RFC
// 8981 temporary addresses rotate inside it), so counting per /128 would let one
// host use 2^64 "clients". IpKey therefore aggregates IPv6 addresses to a
// configurable prefix (default /64). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d,
// RFC 4291 2.5.5.2, what a dual-stack listener reports for IPv4 peers) are
// treated as the IPv4 address they carry. Pure: no I/O.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace rampart::gateway::guard {

// A client's identity for counting: family + the address masked to the
// aggregation prefix. Trivially copyable, hashable.
struct IpKey {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  bool v6 = false;

  bool operator==(const IpKey&) const = default;
};

struct IpKeyHash {
  std::size_t operator()(const IpKey& k) const noexcept;
};

// `v6_prefix` is clamped to 0..128; 64 by default.
IpKey makeIpKey(const boost::asio::ip::address& address, unsigned v6_prefix = 64);

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits
// below the prefix must be zero ("10.0.0.1/8" is refused: it usually means a
// typo). IPv4-mapped IPv6 ranges are refused too: write the IPv4 range.
class Cidr {
 public:
  // Errors: Errc::parse_error (not an address, bad or out-of-range prefix,
  // host bits set), naming the text (bounded to 64 characters).
  static Result<Cidr> parse(std::string_view text);

  // Whether `address` (IPv4-mapped IPv6 compared as IPv4) lies in the range.
  bool contains(const boost::asio::ip::address& address) const;
  unsigned prefixLength() const { return prefix_; }
  bool isV6() const { return v6_; }
  std::string toString() const;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
  bool v6_ = false;
};

// The address with IPv4-mapped IPv6 unwrapped to IPv4; others unchanged.
boost::asio::ip::address canonicalAddress(const boost::asio::ip::address& address);

}  // namespace rampart::gateway::guard
