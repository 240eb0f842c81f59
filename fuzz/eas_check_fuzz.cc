// libFuzzer target for gateway::checkEasRequest() (gateway/eas_check.h): any
// method, target, Content-Type, Content-Length and MS-ASProtocolVersion must
// give a check or an error with one of the documented HTTP statuses, never a
// crash or hang. An accepted request must respect its own body limit.
//
// Input: up to four '\n'-terminated lines, then the target:
//   method \n content-type \n content-length \n protocol-version \n target
// An empty content-type or version line means "header absent"; a
// content-length line that is not a decimal number means "chunked".
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "codec/eas/versions.h"
#include "fuzz_input.h"
#include "gateway/eas_check.h"

using rampart::fuzz::nextLine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart::gateway;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view method = nextLine(in);
  std::string_view type_line = nextLine(in);
  std::string_view length_line = nextLine(in);
  std::string_view version_line = nextLine(in);
  std::string_view target = in;

  std::optional<std::string_view> type;
  if (!type_line.empty()) type = type_line;
  std::optional<std::uint64_t> length;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(length_line.data(), length_line.data() + length_line.size(), n);
  if (ec == std::errc{} && end == length_line.data() + length_line.size()) length = n;
  std::optional<std::string_view> version;
  if (!version_line.empty()) version = version_line;

  EasCheckLimits strict;
  strict.require_content_length = true;
  strict.require_protocol_version = true;
  EasCheckLimits lenient;
  lenient.allow_options_query = true;
  lenient.request_line.require_user_in_plain = false;
  for (const EasCheckLimits& limits : {EasCheckLimits{}, strict, lenient}) {
    auto r = checkEasRequest(method, target, type, length, limits, version);
    if (r) {
      if (length && *length > r->body_limit) std::abort();
      if (r->command == "OPTIONS") {
        if (method != "OPTIONS" || r->body_limit != 0) std::abort();
      } else {
        if (method != "POST") std::abort();
        if (rampart::eas::commandByName(r->command) == nullptr) std::abort();
        if (r->device_id.empty() || r->device_type.empty()) std::abort();
        if (r->body_limit != easBodyLimit(r->command, limits)) std::abort();
      }
    } else {
      switch (httpStatus(r.error())) {
        case 400:
        case 405:
        case 411:
        case 413:
        case 414:
        case 415:
        case 501:
          break;
        default:
          std::abort();
      }
    }
  }
  return 0;
}
