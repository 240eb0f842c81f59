#include "gateway/eas_check.h"

#include <utility>

#include "codec/eas/versions.h"
#include "core/ascii.h"

namespace rampart::gateway {
namespace {

class EasCheckCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eas_check"; }
  std::string message(int status) const override {
    switch (static_cast<EasCheckErrc>(status)) {
      case EasCheckErrc::bad_request:
        return "bad request";
      case EasCheckErrc::method_not_allowed:
        return "method not allowed";
      case EasCheckErrc::length_required:
        return "length required";
      case EasCheckErrc::payload_too_large:
        return "payload too large";
      case EasCheckErrc::uri_too_long:
        return "URI too long";
      case EasCheckErrc::unsupported_media_type:
        return "unsupported media type";
      case EasCheckErrc::not_implemented:
        return "not implemented";
    }
    return "eas check error " + std::to_string(status);
  }
};

tl::unexpected<Error> refuse(EasCheckErrc status, std::string detail) {
  return fail(make_error_code(status), std::move(detail));
}

bool isMessageCommand(std::string_view c) {
  return c == "SendMail" || c == "SmartReply" || c == "SmartForward";
}

// MS-ASCMD 2.2.1.13 / 3.1.5.8 (empty Ping), 2.2.1.21 (empty Sync);
// GetAttachment names its attachment in the query and has no body.
bool allowsEmptyBody(std::string_view c) {
  return c == "Ping" || c == "Sync" || c == "GetAttachment";
}

// The media type of a Content-Type value: up to ';', surrounding spaces and
// tabs (OWS) removed.
std::string_view mediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

bool isWbxml(std::string_view media) {
  return equalsIgnoreCase(media, "application/vnd.ms-sync.wbxml") ||
         equalsIgnoreCase(media, "application/vnd.ms-sync");
}

// "12.1" sorts before "14.0"; versions are all "<digits>.<digit>" here.
bool before14(std::string_view version) {
  auto byte = eas::versionToByte(version);
  return byte && *byte < 140;
}

Result<EasCheck> checkOptions(std::string_view target, std::optional<std::uint64_t> content_length,
                              const EasCheckLimits& limits) {
  if (target.size() > limits.request_line.max_target_size) {
    return refuse(EasCheckErrc::uri_too_long, "request target: too long");
  }
  std::size_t q = target.find('?');
  if (!equalsIgnoreCase(target.substr(0, q), eas::kActiveSyncPath)) {
    return refuse(EasCheckErrc::bad_request, "OPTIONS: path is not the EAS path");
  }
  if (q != std::string_view::npos) {
    if (!limits.allow_options_query) {
      return refuse(EasCheckErrc::bad_request, "OPTIONS: query not allowed");
    }
    for (unsigned char c : target.substr(q + 1)) {
      if (c < 0x21 || c > 0x7e || c == '#') {
        return refuse(EasCheckErrc::bad_request, "OPTIONS: query has a forbidden byte");
      }
    }
  }
  if (content_length && *content_length > 0) {
    return refuse(EasCheckErrc::payload_too_large, "OPTIONS: a body is not allowed");
  }
  EasCheck out;
  out.command = "OPTIONS";
  out.body_limit = 0;
  return out;
}

}  // namespace

const std::error_category& easCheckCategory() noexcept {
  static const EasCheckCategory category;
  return category;
}

int httpStatus(const Error& error) noexcept {
  if (error.code.category() == easCheckCategory()) return error.code.value();
  return 400;
}

std::uint64_t easBodyLimit(std::string_view command, const EasCheckLimits& limits) {
  if (isMessageCommand(command)) return limits.max_message;
  if (command == "Sync") return limits.max_sync;
  if (command == "Ping") return limits.max_ping;
  if (command == "GetAttachment") return 0;
  return limits.max_default;
}

Result<EasCheck> checkEasRequest(std::string_view method, std::string_view target,
                                 std::optional<std::string_view> content_type,
                                 std::optional<std::uint64_t> content_length,
                                 const EasCheckLimits& limits,
                                 std::optional<std::string_view> protocol_version) {
  // RFC 9110 9.1: methods are case-sensitive.
  if (method == "OPTIONS") return checkOptions(target, content_length, limits);
  if (method != "POST") {
    return refuse(EasCheckErrc::method_not_allowed, "method: neither POST nor OPTIONS");
  }

  auto decoded = eas::decodeRequestTarget(target, limits.request_line);
  if (!decoded) {
    const Error& e = decoded.error();
    if (e.is(Errc::limit_exceeded)) return refuse(EasCheckErrc::uri_too_long, e.detail);
    // decodeRequestTarget's detail for a Cmd outside the MS-ASHTTP
    // 2.2.1.1.1.1.2 table (eas_check_test pins this wording).
    if (e.is(Errc::invalid_argument) && e.detail.rfind("Cmd: unknown command", 0) == 0) {
      return refuse(EasCheckErrc::not_implemented, e.detail);
    }
    return refuse(EasCheckErrc::bad_request, e.detail);
  }
  eas::EasRequest& r = *decoded;

  EasCheck out;
  if (r.protocol_version) {
    out.protocol_version = r.protocol_version;  // base64 form: the field wins
  } else if (protocol_version) {
    if (!eas::isSupportedVersion(*protocol_version)) {
      return refuse(EasCheckErrc::bad_request, "MS-ASProtocolVersion: unsupported");
    }
    out.protocol_version = std::string(*protocol_version);
  } else if (limits.require_protocol_version) {
    return refuse(EasCheckErrc::bad_request, "MS-ASProtocolVersion: missing");
  }
  if (out.protocol_version && !eas::commandInVersion(r.command, *out.protocol_version)) {
    return refuse(EasCheckErrc::not_implemented,
                  "Cmd: " + r.command + " does not exist in " + *out.protocol_version);
  }

  out.body_limit = easBodyLimit(r.command, limits);
  if (!content_length && limits.require_content_length) {
    return refuse(EasCheckErrc::length_required, "Content-Length: missing");
  }
  if (content_length && *content_length > out.body_limit) {
    return refuse(EasCheckErrc::payload_too_large,
                  r.command + ": body over " + std::to_string(out.body_limit) + " bytes");
  }
  bool empty_body = content_length && *content_length == 0;
  if (empty_body) {
    if (!allowsEmptyBody(r.command)) {
      return refuse(EasCheckErrc::bad_request, r.command + ": a request body is required");
    }
  } else {
    if (!content_type) {
      return refuse(EasCheckErrc::unsupported_media_type, "Content-Type: missing");
    }
    if (content_type->size() > limits.max_content_type_size) {
      return refuse(EasCheckErrc::unsupported_media_type, "Content-Type: too long");
    }
    std::string_view media = mediaType(*content_type);
    bool ok = false;
    if (isMessageCommand(r.command)) {
      bool rfc822 = equalsIgnoreCase(media, "message/rfc822");
      if (!out.protocol_version) {
        ok = rfc822 || isWbxml(media);
      } else {
        ok = before14(*out.protocol_version) ? rfc822 : isWbxml(media);
      }
    } else {
      ok = isWbxml(media);
    }
    if (!ok) {
      return refuse(EasCheckErrc::unsupported_media_type,
                    "Content-Type: not allowed for " + r.command);
    }
  }

  out.command = r.command;
  out.user = r.user;
  out.device_id = r.device_id;
  out.device_type = r.device_type;
  out.request = std::move(r);
  return out;
}

}  // namespace rampart::gateway
