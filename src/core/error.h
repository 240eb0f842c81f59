// Result/Error: how every expected failure in Rampart is reported.
//
// Expected failures (bad input, network, storage, TLS, config) come back as
// Result<T>, never as exceptions. Error carries an std::error_code (so callers
// can branch on the condition) and a human-readable detail for logs and
// protocol replies. Details must never contain secrets.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace rampart {

// Conditions shared by every layer. Protocol-specific codes (LMTP replies, EAS
// statuses) are mapped from these at the edge that speaks the protocol.
enum class Errc {
  ok = 0,
  invalid_argument,   // caller passed something malformed
  parse_error,        // bytes or text could not be parsed
  limit_exceeded,     // a configured bound (size, depth, count) was hit
  not_found,
  already_exists,
  permission_denied,
  unauthenticated,
  io_error,
  storage_error,
  timeout,
  unavailable,        // temporary: try again later
  protocol_error,     // the peer broke the protocol
  config_error,
  internal,
};

const std::error_category& coreCategory() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), coreCategory()};
}

struct Error {
  std::error_code code;
  std::string detail;

  // "detail: condition" or just the condition when there is no detail.
  std::string message() const;
  bool is(Errc e) const noexcept { return code == make_error_code(e); }
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(std::error_code code, std::string detail = {}) {
  return tl::unexpected<Error>(Error{code, std::move(detail)});
}
inline tl::unexpected<Error> fail(Errc code, std::string detail = {}) {
  return fail(make_error_code(code), std::move(detail));
}
inline tl::unexpected<Error> fail(Error e) { return tl::unexpected<Error>(std::move(e)); }

}  // namespace rampart

template <>
struct std::is_error_code_enum<rampart::Errc> : std::true_type {};
