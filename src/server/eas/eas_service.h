// The EAS endpoint's front door (MS-ASHTTP): path and method checks, Basic
// authentication against the directory, and the HTTP OPTIONS answer that
// tells clients which versions and commands we speak (MS-ASHTTP 2.2.4,
// 3.2.5.2). Commands are dispatched from here as they are implemented;
// OPTIONS lists exactly those.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "directory/credential_cache.h"
#include "directory/directory.h"
#include "http/types.h"
#include "net/asio.h"
#include "codec/wbxml/document.h"
#include "crypto/identity_assertion.h"
#include "server/eas/command_context.h"
#include "server/eas/device_limiter.h"
#include "server/eas/eas_config.h"
#include "server/eas/ping_command.h"
#include "server/eas/push_hub.h"
#include "server/eas/send_mail_command.h"
#include "server/eas/validate_cert_command.h"
#include "server/smtp/outbound.h"
#include "store/device_store.h"
#include "store/mail_store.h"

namespace rampart::server::eas {

inline constexpr std::string_view kEasPath = "/Microsoft-Server-ActiveSync";

class EasService {
 public:
  // `blocking` runs password checks (argon2id) off the I/O threads.
  // `outbound` sends what devices send (SendMail, SmartReply, SmartForward);
  // null answers those commands with Status 120 (tests without a relay).
  EasService(std::shared_ptr<directory::Directory> directory, std::shared_ptr<store::MailStore> mail,
             std::shared_ptr<store::DeviceStore> devices, const EasConfig& config,
             net::asio::any_io_executor blocking, smtp::Outbound* outbound = nullptr);

  // Ends every parked Ping and Sync (Status 1 / empty answer) and refuses new
  // waits; the HTTP server's drain then finishes. Thread-safe, idempotent.
  void stop();
  // Pings and Syncs parked now (for /metrics and benchmarks).
  std::size_t parked() const { return hub_.parked(); }

  net::Task<http::Response> handle(http::Request& req);
  // A request that came over the gateway's bridged link: the user is who the
  // gateway's identity assertion (Rampart-Identity) says, verified against
  // this request; Basic credentials are not looked at. A missing, forged,
  // expired, replayed or mis-bound assertion is answered 403.
  net::Task<http::Response> handleDelegated(http::Request& req);
  // Turns delegated requests on (before the gateway listener starts).
  void setAssertionVerifier(std::unique_ptr<crypto::AssertionVerifier> verifier) {
    verifier_ = std::move(verifier);
  }

  // Rights templates for Settings and MS-ASRM (issue 6); before start.
  void setRightsStore(std::shared_ptr<store::RightsStore> rights) { rights_ = std::move(rights); }

  // The commands this server implements, in MS-ASProtocolCommands order.
  const std::vector<std::string>& commands() const { return commands_; }

 private:
  net::Task<Result<std::string>> authenticate(const http::Request& req);
  Result<std::string> authenticateDelegated(const http::Request& req);
  net::Task<http::Response> serve(http::Request& req, bool delegated);
  net::Task<http::Response> command(http::Request& req, const std::string& user);

  // What the blocking part of a command produced: a finished answer, or work
  // the service finishes asynchronously (parking, sending).
  struct Outcome {
    enum class Kind { done, retry_with_provision, ping, sync_wait, send };
    Kind kind = Kind::done;
    std::vector<std::uint8_t> body{};  // WBXML (may be empty) when done
    bool multipart = false;            // body is MS-ASCMD 2.2.1.10.1.1 multipart
    PingPlan ping{};                   // kind == ping: park on these folders
    std::vector<WatchedFolder> watch{};  // kind == sync_wait
    std::chrono::seconds wait{0};
    std::optional<OutgoingMail> mail{};  // kind == send
  };
  // What prepare() leaves for command(): an answer, or what to wait or send with.
  struct Prepared {
    std::optional<http::Response> response{};
    Outcome::Kind kind = Outcome::Kind::done;
    std::string device_id{};
    std::vector<WatchedFolder> watch{};
    std::chrono::milliseconds wait{0};
    std::shared_ptr<CommandContext> cmd{};
    std::shared_ptr<const void> request_line{};  // owns what cmd->request points to
    std::shared_ptr<rampart::wbxml::Document> doc{};
    std::optional<OutgoingMail> mail{};
    std::unique_ptr<DeviceLimiter::Slot> slot{};

    static Prepared answer(http::Response res) {
      Prepared p;
      p.response = std::move(res);
      return p;
    }
  };
  // Everything up to the answer, or up to parking or sending (blocking work on the pool).
  net::Task<Prepared> prepare(http::Request& req, const std::string& user);
  net::Task<http::Response> send(http::Request& req, std::shared_ptr<CommandContext> cmd, OutgoingMail mail);
  // Fills cmd.address and cmd.display_name from the directory (blocking).
  Status fillUser(CommandContext& cmd);
  net::Task<http::Response> autodiscover(http::Request& req, const std::string& user);
  // The blocking part after a parked Sync woke: run it again, once.
  net::Task<http::Response> finishSync(http::Request& req, std::shared_ptr<CommandContext> cmd,
                                       std::shared_ptr<rampart::wbxml::Document> doc);
  static bool allowsEmptyBody(std::string_view command);
  static Result<Outcome> finished(Result<std::vector<std::uint8_t>> body);
  // Runs a command past the policy gate, on the blocking pool.
  Result<Outcome> runCommand(CommandContext& cmd, const rampart::wbxml::Document* doc);

  std::shared_ptr<directory::Directory> directory_;
  std::shared_ptr<store::MailStore> mail_;
  std::shared_ptr<store::DeviceStore> devices_;
  std::shared_ptr<store::RightsStore> rights_;
  directory::CredentialCache cache_;
  net::asio::any_io_executor blocking_;
  DeviceLimiter limiter_;
  PushHub hub_;
  smtp::Outbound* outbound_;
  std::unique_ptr<crypto::AssertionVerifier> verifier_;
  std::shared_ptr<const ValidateCertSetup> cert_setup_;  // trust anchors and fetcher for ValidateCert
  std::vector<std::string> commands_ = {"Sync",         "SendMail",     "SmartForward",   "SmartReply",
                                        "FolderSync",   "FolderCreate", "FolderDelete",   "FolderUpdate",
                                        "MoveItems",    "GetItemEstimate", "Search",      "Settings",
                                        "Ping",         "ItemOperations", "Provision",    "ResolveRecipients",
                                        "ValidateCert"};
};

}  // namespace rampart::server::eas
