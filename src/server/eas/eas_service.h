// The EAS endpoint's front door (MS-ASHTTP): path and method checks, Basic
// authentication against the directory, and the HTTP OPTIONS answer that
// tells clients which versions and commands we speak (MS-ASHTTP 2.2.4,
// 3.2.5.2). Commands are dispatched from here as they are implemented;
// OPTIONS lists exactly those.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "directory/credential_cache.h"
#include "directory/directory.h"
#include "http/types.h"
#include "net/asio.h"
#include "codec/wbxml/document.h"
#include "server/eas/command_context.h"
#include "server/eas/device_limiter.h"
#include "server/eas/eas_config.h"
#include "store/device_store.h"
#include "store/mail_store.h"

namespace rampart::server::eas {

inline constexpr std::string_view kEasPath = "/Microsoft-Server-ActiveSync";

class EasService {
 public:
  // `blocking` runs password checks (argon2id) off the I/O threads.
  EasService(std::shared_ptr<directory::Directory> directory, std::shared_ptr<store::MailStore> mail,
             std::shared_ptr<store::DeviceStore> devices, const EasConfig& config,
             net::asio::any_io_executor blocking);

  net::Task<http::Response> handle(http::Request& req);

  // The commands this server implements, in MS-ASProtocolCommands order.
  const std::vector<std::string>& commands() const { return commands_; }

 private:
  net::Task<Result<std::string>> authenticate(const http::Request& req);
  net::Task<http::Response> command(http::Request& req, const std::string& user);

  // What the blocking part of a command produced: a finished answer, or work
  // the service finishes asynchronously (parking, sending).
  struct Outcome {
    enum class Kind { done, retry_with_provision };
    Kind kind = Kind::done;
    std::vector<std::uint8_t> body;  // WBXML (may be empty) when done
  };
  static bool allowsEmptyBody(std::string_view command);
  static Result<Outcome> finished(Result<std::vector<std::uint8_t>> body);
  // Runs a command past the policy gate, on the blocking pool.
  Result<Outcome> runCommand(CommandContext& cmd, const rampart::wbxml::Document* doc);

  std::shared_ptr<directory::Directory> directory_;
  std::shared_ptr<store::MailStore> mail_;
  std::shared_ptr<store::DeviceStore> devices_;
  directory::CredentialCache cache_;
  net::asio::any_io_executor blocking_;
  DeviceLimiter limiter_;
  std::vector<std::string> commands_ = {"FolderSync", "FolderCreate", "FolderUpdate", "FolderDelete",
                                        "Provision"};
};

// Splits "Basic base64(user:password)" (RFC 7617); nullopt when malformed.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> parseBasicAuthorization(std::string_view header);

}  // namespace rampart::server::eas
