// HTTP Basic credentials (RFC 7617), as EAS clients send with every request
// (MS-ASHTTP 2.2.1.1.2.1). Shared by the mail server and the gateway.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rampart::http {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// Splits "Basic base64(user:password)"; nullopt when malformed (bad base64, no
// colon, empty user, control characters, over 4 KiB). "DOMAIN\user" comes
// back as "user": EAS clients often send the Windows form.
std::optional<BasicCredentials> parseBasicAuthorization(std::string_view header);

}  // namespace rampart::http
