#include "server/eas/eas_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <array>
#include <span>

#include "codec/eas/request_line.h"
#include "codec/eas/versions.h"
#include "codec/wbxml/reader.h"
#include "server/eas/folder_commands.h"
#include "server/eas/folder_sync_command.h"
#include "server/eas/policy_gate.h"
#include "server/eas/provision_command.h"
#include "core/log.h"
#include "net/blocking.h"

namespace rampart::server::eas {

namespace asio = net::asio;

namespace {

// The versions we answer (MS-ASHTTP 2.2.4.1.2.2); commands are version-checked
// where they are implemented.
constexpr std::array<std::string_view, 5> kVersions = {"12.1", "14.0", "14.1", "16.0", "16.1"};
constexpr std::string_view kServerVersion = "15.20.0.0";  // MS-Server-ActiveSync (informative)

http::Response unauthorized(const http::Request& req) {
  // Non-browser clients need 401 + WWW-Authenticate, never a redirect.
  http::Response res = http::textResponse(req, http::Status::unauthorized, "authentication required\n");
  res.set(http::Field::www_authenticate, "Basic realm=\"ActiveSync\", charset=\"UTF-8\"");
  return res;
}


}  // namespace

std::optional<BasicCredentials> parseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() <= kScheme.size() || header.size() > 4096) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view b64 = header.substr(kScheme.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
  if (b64.empty() || b64.size() % 4 != 0) return std::nullopt;
  for (char c : b64) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') return std::nullopt;
  }
  std::string decoded(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t len = static_cast<std::size_t>(n);
  if (b64.size() >= 1 && b64[b64.size() - 1] == '=') --len;
  if (b64.size() >= 2 && b64[b64.size() - 2] == '=') --len;
  decoded.resize(len);
  auto colon = decoded.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  for (char c : decoded) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  }
  BasicCredentials creds{decoded.substr(0, colon), decoded.substr(colon + 1)};
  // EAS clients often send DOMAIN\user or user@domain; the directory names users plainly.
  if (auto slash = creds.user.find('\\'); slash != std::string::npos) creds.user = creds.user.substr(slash + 1);
  return creds;
}

EasService::EasService(std::shared_ptr<directory::Directory> directory,
                       std::shared_ptr<store::MailStore> mail,
                       std::shared_ptr<store::DeviceStore> devices, const EasConfig& config,
                       asio::any_io_executor blocking)
    : directory_(std::move(directory)),
      mail_(std::move(mail)),
      devices_(std::move(devices)),
      cache_(*directory_, systemClock(), systemRandom(),
             directory::CredentialCacheOptions{config.credential_cache_ttl, 100'000}),
      blocking_(std::move(blocking)),
      limiter_(config.device_limits, systemClock()) {}

net::Task<Result<std::string>> EasService::authenticate(const http::Request& req) {
  auto it = req.find(http::Field::authorization);
  if (it == req.end()) co_return fail(Errc::unauthenticated, "no credentials");
  // Held by shared_ptr so the pool's lambdas copy a pointer, not the strings.
  std::shared_ptr<BasicCredentials> creds;
  if (auto parsed = parseBasicAuthorization(it->value())) {
    creds = std::make_shared<BasicCredentials>(std::move(*parsed));
  }
  if (!creds) co_return fail(Errc::unauthenticated, "malformed Authorization");
  const bool is_address = creds->user.find('@') != std::string::npos;
  if (is_address) {
    // user@domain: resolve the address to the directory's user name.
    auto lookup = [this, creds] { return directory_->findByAddress(creds->user); };
    Result<std::optional<directory::User>> found =
        co_await net::runBlocking<Result<std::optional<directory::User>>>(blocking_, lookup);
    if (!found) co_return fail(found.error());
    if (!*found) co_return fail(Errc::unauthenticated, "bad credentials");
    creds->user = (*found)->name;
  }
  auto check = [this, creds] { return cache_.authenticate(creds->user, creds->password); };
  Result<directory::AuthOutcome> outcome =
      co_await net::runBlocking<Result<directory::AuthOutcome>>(blocking_, check);
  if (!outcome) co_return fail(outcome.error());
  // Disabled and wrong password look the same to the client (no enumeration).
  if (*outcome != directory::AuthOutcome::ok) co_return fail(Errc::unauthenticated, "bad credentials");
  co_return creds->user;
}

net::Task<http::Response> EasService::handle(http::Request& req) {
  std::string_view target = req.target();
  if (target.substr(0, target.find('?')) != kEasPath) {
    co_return http::textResponse(req, http::Status::not_found, "not found\n");
  }
  if (req.method() != http::Verb::options && req.method() != http::Verb::post) {
    http::Response res = http::textResponse(req, http::Status::method_not_allowed, "method not allowed\n");
    res.set(http::Field::allow, "OPTIONS,POST");
    co_return res;
  }
  auto user = co_await authenticate(req);
  if (!user) {
    if (user.error().is(Errc::unauthenticated)) {
      log::get("eas")->info("authentication failed: {}", user.error().detail);
      co_return unauthorized(req);
    }
    log::get("eas")->error("authentication error: {}", user.error().message());
    co_return http::textResponse(req, http::Status::service_unavailable, "try again later\n");
  }
  if (req.method() == http::Verb::options) {
    // MS-ASHTTP 2.2.4 and 3.2.5.2: both headers MUST be present.
    http::Response res{http::Status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::Field::allow, "OPTIONS,POST");
    res.set("Public", "OPTIONS,POST");
    res.set(http::Field::cache_control, "private");
    res.set("MS-Server-ActiveSync", kServerVersion);
    std::vector<std::string_view> implemented(commands_.begin(), commands_.end());
    auto headers = rampart::eas::optionsHeaders(implemented, kVersions);
    res.set("MS-ASProtocolVersions", headers.protocol_versions);
    res.set("MS-ASProtocolCommands", headers.protocol_commands);
    res.prepare_payload();
    co_return res;
  }
  co_return co_await command(req, *user);
}

namespace {

http::Response wbxmlResponse(const http::Request& req, const std::vector<std::uint8_t>& body) {
  http::Response res{http::Status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  // An empty body is a valid answer (e.g. Sync with nothing to say, MS-ASCMD
  // 2.2.1.21): no Content-Type then.
  if (!body.empty()) res.set(http::Field::content_type, "application/vnd.ms-sync.wbxml");
  res.body().assign(body.begin(), body.end());
  res.prepare_payload();
  return res;
}

// MS-ASHTTP 2.2.2 (503 "retry later" with Retry-After), and Status 111
// ServerErrorRetryLater (MS-ASCMD 2.2.2) in the command's own root.
http::Response retryLater(const http::Request& req, const std::string& command, std::chrono::seconds after) {
  http::Response res{http::Status::service_unavailable, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::Field::retry_after, std::to_string(after.count()));
  if (auto body = statusOnlyResponse(command, kStatusServerErrorRetryLater)) {
    res.set(http::Field::content_type, "application/vnd.ms-sync.wbxml");
    res.body().assign(body->begin(), body->end());
  }
  res.prepare_payload();
  return res;
}

}  // namespace

net::Task<http::Response> EasService::command(http::Request& req, const std::string& user) {
  // MS-ASHTTP 2.2.1.1.1: the request line, in either query form.
  auto parsed = rampart::eas::decodeRequestTarget(req.target());
  if (!parsed) co_return http::textResponse(req, http::Status::bad_request, parsed.error().message() + "\n");
  auto request = std::make_shared<rampart::eas::EasRequest>(std::move(*parsed));
  if (!request->user.empty()) {
    // The User parameter must name the authenticated user, or one of its addresses.
    auto named = std::make_shared<std::string>(request->user);
    if (auto slash = named->find('\\'); slash != std::string::npos) *named = named->substr(slash + 1);
    bool same = *named == user;
    if (!same && named->find('@') != std::string::npos) {
      auto lookup = [this, named] { return directory_->findByAddress(*named); };
      Result<std::optional<directory::User>> owner =
          co_await net::runBlocking<Result<std::optional<directory::User>>>(blocking_, lookup);
      same = owner && *owner && (*owner)->name == user;
    }
    if (!same) co_return http::textResponse(req, http::Status::forbidden, "User does not match the credentials\n");
  }
  if (std::find(commands_.begin(), commands_.end(), request->command) == commands_.end()) {
    co_return http::textResponse(req, http::Status::not_implemented,
                                 "command " + request->command + " not implemented\n");
  }
  // MS-ASHTTP 2.2.1.1.2.6: the version comes from the base64 query or the header.
  std::string version = request->protocol_version.value_or(std::string(req["MS-ASProtocolVersion"]));
  if (std::find(kVersions.begin(), kVersions.end(), version) == kVersions.end()) {
    co_return http::textResponse(req, http::Status::bad_request, "unsupported MS-ASProtocolVersion\n");
  }
  // A runaway device is slowed down before it costs any storage work.
  DeviceLimiter::Admission admission = limiter_.admit(user, request->device_id);
  if (!admission.slot) {
    log::get("eas")->info("{} from {}/{}: over the device limits, retry after {}s", request->command, user,
                          request->device_id, admission.retry_after.count());
    co_return retryLater(req, request->command, admission.retry_after);
  }
  // The request body is WBXML (MS-ASHTTP 2.2.1.1.2.2), decoded within the
  // codec's limits. Some requests have none: an empty Sync or Ping reuses the
  // cached one (MS-ASCMD 2.2.1.21, 2.2.1.13).
  const std::string& raw = req.body();
  std::shared_ptr<rampart::wbxml::Document> doc;
  if (!raw.empty()) {
    auto body = rampart::wbxml::decode(std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
    if (!body) co_return http::textResponse(req, http::Status::bad_request, "WBXML: " + body.error().message() + "\n");
    doc = std::make_shared<rampart::wbxml::Document>(std::move(*body));
  } else if (!allowsEmptyBody(request->command)) {
    co_return http::textResponse(req, http::Status::bad_request, "request body required\n");
  }

  auto ctx = std::make_shared<ProvisionContext>(ProvisionContext{
      *devices_, user, *request, version, rampart::eas::PolicySettings{}, unixSeconds(systemClock().now())});
  auto user_agent = std::make_shared<std::string>(req[http::Field::user_agent]);
  // The policy key: base64 query or PolicyKey= parameter, else X-MS-PolicyKey (MS-ASHTTP 2.2.1.1.2.7).
  std::optional<std::uint32_t> sent_key = request->policy_key;
  if (!sent_key && req.find("X-MS-PolicyKey") != req.end()) {
    std::string text(req["X-MS-PolicyKey"]);
    std::uint32_t key = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), key);
    if (ec == std::errc() && end == text.data() + text.size()) sent_key = key;
    else sent_key = 0;  // present but not a key: treated as none
  }
  auto work = [this, ctx, doc, user_agent, sent_key]() -> Result<Outcome> {
    store::DeviceSeen seen{ctx->request.device_type, *user_agent, ctx->now};
    auto device = devices_->upsertDevice(ctx->user, ctx->request.device_id, seen);
    if (!device) return fail(device.error());
    // An administrator blocked this device (`rampart admin device block`).
    if (device->access == store::DeviceAccess::blocked) return fail(Errc::permission_denied, "device blocked");
    if (ctx->request.command == "Provision") {
      if (!doc) return fail(Errc::invalid_argument, "Provision needs a body");
      return finished(runProvision(*ctx, *doc));
    }
    if (auto status = policyGate(*device, sent_key)) {
      // 12.1 clients are sent to Provision by HTTP 449 (MS-ASPROV 3.2.5.1);
      // 14.0 and later by the command's Status (MS-ASCMD 2.2.2).
      if (ctx->protocol_version == "12.1") return Outcome{Outcome::Kind::retry_with_provision, {}};
      return finished(statusOnlyResponse(ctx->request.command, *status));
    }
    CommandContext cmd{*mail_, ctx->devices, ctx->user, ctx->request.device_id, ctx->protocol_version,
                       ctx->now, &ctx->request};
    return runCommand(cmd, doc.get());
  };
  Result<Outcome> out = co_await net::runBlocking<Result<Outcome>>(blocking_, work);
  if (!out && out.error().is(Errc::permission_denied)) {
    log::get("eas")->info("{} from {}/{}: device blocked", request->command, user, request->device_id);
    co_return http::textResponse(req, http::Status::forbidden, "device blocked\n");
  }
  if (!out && out.error().is(Errc::invalid_argument)) {
    co_return http::textResponse(req, http::Status::bad_request, out.error().detail + "\n");
  }
  if (!out) {
    log::get("eas")->error("{} for {}/{}: {}", request->command, user, request->device_id, out.error().message());
    co_return http::textResponse(req, http::Status::internal_server_error, "server error\n");
  }
  if (out->kind == Outcome::Kind::retry_with_provision) {
    // MS-ASHTTP 2.2.2: 449 Retry after sending a PROVISION command.
    http::Response res = http::textResponse(req, static_cast<http::Status>(449), "provision first\n");
    res.reason("Retry after sending a PROVISION command");
    co_return res;
  }
  co_return wbxmlResponse(req, out->body);
}

bool EasService::allowsEmptyBody(std::string_view command) {
  return command == "Sync" || command == "Ping";
}

Result<EasService::Outcome> EasService::finished(Result<std::vector<std::uint8_t>> body) {
  if (!body) return fail(body.error());
  return Outcome{Outcome::Kind::done, std::move(*body)};
}

Result<EasService::Outcome> EasService::runCommand(CommandContext& cmd, const rampart::wbxml::Document* doc) {
  const std::string& command = cmd.request->command;
  if (!doc) return fail(Errc::invalid_argument, command + " needs a body");
  if (command == "FolderSync") return finished(runFolderSync(cmd, *doc));
  if (command == "FolderCreate") return finished(runFolderCreate(cmd, *doc));
  if (command == "FolderUpdate") return finished(runFolderUpdate(cmd, *doc));
  if (command == "FolderDelete") return finished(runFolderDelete(cmd, *doc));
  return fail(Errc::internal, "no handler for " + command);
}

}  // namespace rampart::server::eas
