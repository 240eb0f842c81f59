#include "core/error.h"

namespace rampart {
namespace {

class CoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rampart"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::parse_error: return "parse error";
      case Errc::limit_exceeded: return "limit exceeded";
      case Errc::not_found: return "not found";
      case Errc::already_exists: return "already exists";
      case Errc::permission_denied: return "permission denied";
      case Errc::unauthenticated: return "unauthenticated";
      case Errc::io_error: return "I/O error";
      case Errc::storage_error: return "storage error";
      case Errc::timeout: return "timed out";
      case Errc::unavailable: return "temporarily unavailable";
      case Errc::protocol_error: return "protocol error";
      case Errc::config_error: return "configuration error";
      case Errc::internal: return "internal error";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& coreCategory() noexcept {
  static const CoreCategory category;
  return category;
}

std::string Error::message() const {
  if (detail.empty()) return code.message();
  return detail + ": " + code.message();
}

}  // namespace rampart
