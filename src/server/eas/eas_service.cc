#include "server/eas/eas_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <array>
#include <span>

#include "codec/eas/request_line.h"
#include "codec/eas/versions.h"
#include "codec/wbxml/reader.h"
#include "core/ascii.h"
#include "http/basic_auth.h"
#include "server/eas/folder_commands.h"
#include "server/eas/ping_command.h"
#include "server/eas/send_mail_command.h"
#include "server/eas/autodiscover.h"
#include "server/eas/sync_command.h"
#include "server/eas/settings_command.h"
#include "server/eas/search_command.h"
#include "server/eas/resolve_recipients_command.h"
#include "server/eas/move_items_command.h"
#include "server/eas/item_operations_command.h"
#include "server/eas/get_item_estimate_command.h"
#include "server/eas/folder_sync_command.h"
#include "server/eas/policy_gate.h"
#include "server/eas/provision_command.h"
#include "codec/mime/summary.h"
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

EasService::EasService(std::shared_ptr<directory::Directory> directory,
                       std::shared_ptr<store::MailStore> mail,
                       std::shared_ptr<store::DeviceStore> devices, const EasConfig& config,
                       asio::any_io_executor blocking, smtp::Outbound* outbound)
    : directory_(std::move(directory)),
      mail_(std::move(mail)),
      devices_(std::move(devices)),
      cache_(*directory_, systemClock(), systemRandom(),
             directory::CredentialCacheOptions{config.credential_cache_ttl, 100'000}),
      blocking_(std::move(blocking)),
      limiter_(config.device_limits, systemClock()),
      hub_(*mail_, blocking_),
      outbound_(outbound) {
  auto setup = makeValidateCertSetup(config.smime_trust_file, config.revocation, config.revocation_timeout);
  if (!setup) {
    log::get("eas")->error("ValidateCert trusts nothing: {}", setup.error().message());
    setup = std::make_shared<const ValidateCertSetup>();
  }
  cert_setup_ = std::move(*setup);
}

void EasService::stop() { hub_.stop(); }

net::Task<Result<std::string>> EasService::authenticate(const http::Request& req) {
  auto it = req.find(http::Field::authorization);
  if (it == req.end()) co_return fail(Errc::unauthenticated, "no credentials");
  // Held by shared_ptr so the pool's lambdas copy a pointer, not the strings.
  std::shared_ptr<http::BasicCredentials> creds;
  if (auto parsed = http::parseBasicAuthorization(it->value())) {
    creds = std::make_shared<http::BasicCredentials>(std::move(*parsed));
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

Result<std::string> EasService::authenticateDelegated(const http::Request& req) {
  if (!verifier_) return fail(Errc::permission_denied, "delegation is not configured");
  auto header = req.find("Rampart-Identity");
  if (header == req.end()) return fail(Errc::permission_denied, "no identity assertion");
  auto host = req.find(http::Field::host);
  crypto::RequestBinding binding{std::string(req.method_string()),
                                 host == req.end() ? std::string() : std::string(host->value()),
                                 std::string(req.target()), crypto::RequestBinding::sha256Hex(req.body())};
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto identity = verifier_->verify(header->value(), binding, now_ms);
  if (!identity) return fail(Errc::permission_denied, identity.error().detail);
  return identity->user;
}

net::Task<http::Response> EasService::handle(http::Request& req) { co_return co_await serve(req, false); }

net::Task<http::Response> EasService::handleDelegated(http::Request& req) { co_return co_await serve(req, true); }

net::Task<http::Response> EasService::serve(http::Request& req, bool delegated) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  const bool is_autodiscover = equalsIgnoreCase(path, kAutodiscoverPath);
  if (path != kEasPath && !is_autodiscover) {
    co_return http::textResponse(req, http::Status::not_found, "not found\n");
  }
  if (req.method() != http::Verb::options && req.method() != http::Verb::post) {
    http::Response res = http::textResponse(req, http::Status::method_not_allowed, "method not allowed\n");
    res.set(http::Field::allow, "OPTIONS,POST");
    co_return res;
  }
  Result<std::string> user = fail(Errc::internal, "");
  if (delegated) {
    user = authenticateDelegated(req);
    if (!user) {
      log::get("eas")->warn("delegated request refused: {}", user.error().detail);
      co_return http::textResponse(req, http::Status::forbidden, "identity assertion refused\n");
    }
  } else {
    user = co_await authenticate(req);
  }
  if (!user) {
    if (user.error().is(Errc::unauthenticated)) {
      log::get("eas")->info("authentication failed: {}", user.error().detail);
      co_return unauthorized(req);
    }
    log::get("eas")->error("authentication error: {}", user.error().message());
    co_return http::textResponse(req, http::Status::service_unavailable, "try again later\n");
  }
  if (is_autodiscover) {
    if (req.method() != http::Verb::post) {
      http::Response res = http::textResponse(req, http::Status::method_not_allowed, "method not allowed\n");
      res.set(http::Field::allow, "POST");
      co_return res;
    }
    co_return co_await autodiscover(req, *user);
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

net::Task<EasService::Prepared> EasService::prepare(http::Request& req, const std::string& user) {
  // MS-ASHTTP 2.2.1.1.1: the request line, in either query form.
  auto parsed = rampart::eas::decodeRequestTarget(req.target());
  if (!parsed) co_return Prepared::answer(http::textResponse(req, http::Status::bad_request, parsed.error().message() + "\n"));
  auto request = std::make_shared<rampart::eas::EasRequest>(std::move(*parsed));
  // The plain query form asks for a multipart ItemOperations answer by header
  // (MS-ASCMD 2.2.1.10.1: MS-ASAcceptMultiPart: T).
  if (equalsIgnoreCase(req["MS-ASAcceptMultiPart"], "T")) request->accept_multipart = true;
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
    if (!same) co_return Prepared::answer(http::textResponse(req, http::Status::forbidden, "User does not match the credentials\n"));
  }
  if (std::find(commands_.begin(), commands_.end(), request->command) == commands_.end()) {
    co_return Prepared::answer(http::textResponse(req, http::Status::not_implemented,
                                 "command " + request->command + " not implemented\n"));
  }
  // MS-ASHTTP 2.2.1.1.2.6: the version comes from the base64 query or the header.
  std::string version = request->protocol_version.value_or(std::string(req["MS-ASProtocolVersion"]));
  if (std::find(kVersions.begin(), kVersions.end(), version) == kVersions.end()) {
    co_return Prepared::answer(http::textResponse(req, http::Status::bad_request, "unsupported MS-ASProtocolVersion\n"));
  }
  // A runaway device is slowed down before it costs any storage work.
  DeviceLimiter::Admission admission = limiter_.admit(user, request->device_id);
  if (!admission.slot) {
    log::get("eas")->info("{} from {}/{}: over the device limits, retry after {}s", request->command, user,
                          request->device_id, admission.retry_after.count());
    co_return Prepared::answer(retryLater(req, request->command, admission.retry_after));
  }
  // The request body is WBXML (MS-ASHTTP 2.2.1.1.2.2), decoded within the
  // codec's limits. Some requests have none: an empty Sync or Ping reuses the
  // cached one (MS-ASCMD 2.2.1.21, 2.2.1.13).
  const std::string& raw = req.body();
  std::shared_ptr<rampart::wbxml::Document> doc;
  // 12.1 sends the message itself for SendMail/SmartReply/SmartForward
  // (MS-ASCMD 2.2.1.17: Content-Type message/rfc822).
  const bool raw_mime = !raw.empty() && equalsIgnoreCase(std::string_view(req[http::Field::content_type]).substr(0, 14),
                                                "message/rfc822");
  if (raw_mime) {
    // composeOutgoing reads it from the context.
  } else if (!raw.empty()) {
    auto body = rampart::wbxml::decode(std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
    if (!body) co_return Prepared::answer(http::textResponse(req, http::Status::bad_request, "WBXML: " + body.error().message() + "\n"));
    doc = std::make_shared<rampart::wbxml::Document>(std::move(*body));
  } else if (!allowsEmptyBody(request->command)) {
    co_return Prepared::answer(http::textResponse(req, http::Status::bad_request, "request body required\n"));
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
  auto cmd = std::make_shared<CommandContext>(CommandContext{*mail_, *devices_, user, request->device_id, version,
                                                             ctx->now, &ctx->request});
  if (raw_mime) cmd->raw_body = &raw;
  cmd->directory = directory_.get();
  cmd->rights = rights_.get();
  auto work = [this, ctx, cmd, doc, user_agent, sent_key]() -> Result<Outcome> {
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
      if (ctx->protocol_version == "12.1") return Outcome{Outcome::Kind::retry_with_provision};
      return finished(statusOnlyResponse(ctx->request.command, *status));
    }
    return runCommand(*cmd, doc.get());
  };
  Result<Outcome> out = co_await net::runBlocking<Result<Outcome>>(blocking_, work);
  if (!out && out.error().is(Errc::permission_denied)) {
    log::get("eas")->info("{} from {}/{}: device blocked", request->command, user, request->device_id);
    co_return Prepared::answer(http::textResponse(req, http::Status::forbidden, "device blocked\n"));
  }
  if (!out && out.error().is(Errc::invalid_argument)) {
    co_return Prepared::answer(http::textResponse(req, http::Status::bad_request, out.error().detail + "\n"));
  }
  if (!out) {
    log::get("eas")->error("{} for {}/{}: {}", request->command, user, request->device_id, out.error().message());
    co_return Prepared::answer(http::textResponse(req, http::Status::internal_server_error, "server error\n"));
  }
  Prepared p;
  p.kind = out->kind;
  p.device_id = request->device_id;
  switch (out->kind) {
    case Outcome::Kind::retry_with_provision: {
      // MS-ASHTTP 2.2.2: 449 Retry after sending a PROVISION command.
      http::Response res = http::textResponse(req, static_cast<http::Status>(449), "provision first\n");
      res.reason("Retry after sending a PROVISION command");
      co_return Prepared::answer(std::move(res));
    }
    case Outcome::Kind::ping:
      p.watch = std::move(out->ping.folders);
      p.wait = out->ping.heartbeat;
      co_return std::move(p);
    case Outcome::Kind::sync_wait:
      p.watch = std::move(out->watch);
      p.wait = out->wait;
      p.cmd = cmd;
      p.doc = doc;
      p.request_line = ctx;  // cmd->request points into it
      co_return std::move(p);
    case Outcome::Kind::send:
      p.cmd = cmd;
      p.request_line = ctx;  // cmd->request points into it
      p.mail = std::move(out->mail);
      p.slot = std::move(admission.slot);  // sending counts against the device until done
      co_return std::move(p);
    case Outcome::Kind::done:
      break;
  }
  if (out->multipart) {
    http::Response res{http::Status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::Field::content_type, "application/vnd.ms-sync.multipart");
    res.body().assign(out->body.begin(), out->body.end());
    res.prepare_payload();
    co_return Prepared::answer(std::move(res));
  }
  co_return Prepared::answer(wbxmlResponse(req, out->body));
}

net::Task<http::Response> EasService::command(http::Request& req, const std::string& user) {
  // prepare() has returned: its frame, the request's decoded form and every
  // context are gone, so a parked request keeps only what it waits with.
  Prepared p = co_await prepare(req, user);
  if (p.response) co_return std::move(*p.response);
  if (p.kind == Outcome::Kind::send) co_return co_await send(req, p.cmd, *p.mail);
  // Parking (Ping, or Sync with Wait): drop what the request line and headers
  // held; only the version and keep-alive are needed to answer.
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  if (p.kind == Outcome::Kind::ping) {
    req = http::Request{};
    req.version(version);
    req.keep_alive(keep_alive);
  }
  // Direct Push: parked on a timer and the store's change feed, no thread.
  WakeResult woke = co_await hub_.wait(user, p.device_id, p.watch, p.wait);
  if (p.kind == Outcome::Kind::ping) {
    auto body = pingWakeResponse(woke);
    if (!body) co_return http::textResponse(req, http::Status::internal_server_error, "server error\n");
    co_return wbxmlResponse(req, *body);
  }
  // Sync with Wait/HeartbeatInterval and nothing to send yet (MS-ASCMD
  // 2.2.3.198): woken, the same request runs once more.
  if (woke.reason == WakeReason::superseded || woke.reason == WakeReason::stopping) {
    co_return wbxmlResponse(req, {});  // an empty Sync answer: nothing changed
  }
  co_return co_await finishSync(req, p.cmd, p.doc);
}

net::Task<http::Response> EasService::finishSync(http::Request& req, std::shared_ptr<CommandContext> cmd,
                                                 std::shared_ptr<rampart::wbxml::Document> doc) {
  auto again = [this, cmd, doc]() -> Result<SyncOutcome> {
    cmd->now = unixSeconds(systemClock().now());
    return runSync(*cmd, doc.get());
  };
  Result<SyncOutcome> synced = co_await net::runBlocking<Result<SyncOutcome>>(blocking_, again);
  if (!synced) {
    log::get("eas")->error("Sync for {}/{}: {}", cmd->user, cmd->device_id, synced.error().message());
    co_return http::textResponse(req, http::Status::internal_server_error, "server error\n");
  }
  co_return wbxmlResponse(req, synced->body);
}

net::Task<http::Response> EasService::send(http::Request& req, std::shared_ptr<CommandContext> cmd,
                                           OutgoingMail mail) {
  const std::string command = cmd->request->command;
  auto answer = [&](SendMailStatus status) -> http::Response {
    auto body = sendStatusResponse(command, static_cast<int>(status));
    if (!body) return http::textResponse(req, http::Status::internal_server_error, "server error\n");
    return wbxmlResponse(req, *body);
  };
  if (!outbound_) co_return answer(SendMailStatus::mail_submission_failed);
  std::string sender = mail.sender;
  std::vector<std::string> recipients = mail.recipients;
  std::shared_ptr<const std::string> bytes = mail.bytes;
  Result<smtp::SubmitResult> sent = co_await outbound_->submit(sender, recipients, bytes);
  if (!sent) {
    log::get("eas")->info("{} from {}/{}: submission failed: {}", command, cmd->user, cmd->device_id,
                          sent.error().message());
    // Refused recipients (no relay for remote ones) are the device's to fix.
    if (sent.error().is(Errc::permission_denied)) co_return answer(SendMailStatus::message_recipient_unresolved);
    co_return answer(SendMailStatus::mail_submission_failed);
  }
  if (mail.save_in_sent && mail.sent_copy) {
    // SaveInSentItems (MS-ASCMD 2.2.3.157): the copy goes to Sent Items, read.
    std::shared_ptr<const std::string> copy = mail.sent_copy;
    auto file = [this, cmd, copy]() -> Status {
      auto mailbox = mail_->openMailbox(cmd->user);
      if (!mailbox) return fail(mailbox.error());
      store::Delivery d;
      d.bytes = copy;
      d.summary = mime::summarize(*copy);
      d.received_at = unixSeconds(systemClock().now());
      d.targets.push_back({*mailbox, std::nullopt, store::FolderType::sent_items, true});
      auto receipt = mail_->deliverSync(std::move(d));
      if (!receipt) return fail(receipt.error());
      return {};
    };
    Status filed = co_await net::runBlocking<Status>(blocking_, file);
    // The mail has gone out: a failed copy is logged, not reported as a failed send.
    if (!filed) log::get("eas")->error("{} for {}/{}: Sent Items copy: {}", command, cmd->user, cmd->device_id,
                                       filed.error().message());
  }
  // Success is an empty 200 (MS-ASCMD 2.2.1.17).
  co_return wbxmlResponse(req, {});
}

net::Task<http::Response> EasService::autodiscover(http::Request& req, const std::string& user) {
  auto name = std::make_shared<std::string>(user);
  auto lookup = [this, name] { return directory_->findUser(*name); };
  Result<std::optional<directory::User>> found =
      co_await net::runBlocking<Result<std::optional<directory::User>>>(blocking_, lookup);
  if (!found || !*found || (*found)->addresses.empty()) {
    co_return http::textResponse(req, http::Status::service_unavailable, "try again later\n");
  }
  AutodiscoverSettings settings;
  // The URL the client reached us at: behind the gateway the Host is the public name.
  std::string host(req[http::Field::host]);
  if (host.empty() || host.find_first_of("/\\ \"<>") != std::string::npos) host = "localhost";
  settings.server_url = "https://" + host + std::string(kEasPath);
  settings.display_name = (*found)->display_name.empty() ? (*found)->name : (*found)->display_name;
  settings.email = (*found)->addresses.front();
  settings.now = unixSeconds(systemClock().now());
  auto xml = autodiscoverResponse(req.body(), settings);
  std::string text = xml ? *xml : autodiscoverError(kAutodiscoverInvalidRequest, settings.now);
  http::Response res{http::Status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::Field::content_type, "text/xml; charset=utf-8");
  res.body() = std::move(text);
  res.prepare_payload();
  co_return res;
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
  if (command == "Sync") {
    auto synced = runSync(cmd, doc);
    if (!synced) return fail(synced.error());
    if (synced->changes || !synced->wait_seconds || !synced->body.empty()) {
      return Outcome{Outcome::Kind::done, std::move(synced->body)};
    }
    // Nothing to send and the client asked to wait. Note where each folder's
    // log stands before the final pending check, so a change landing between
    // here and the subscription still wakes the wait (push_hub.h).
    Outcome wait{Outcome::Kind::sync_wait};
    wait.wait = std::chrono::seconds(*synced->wait_seconds);
    for (store::FolderId id : synced->watched) {
      auto folder = mail_->getFolder(id);
      if (!folder) return fail(folder.error());
      auto pending = hasPendingChanges(cmd, id);
      if (!pending) return fail(pending.error());
      if (*pending) {
        auto again = runSync(cmd, doc);
        if (!again) return fail(again.error());
        return Outcome{Outcome::Kind::done, std::move(again->body)};
      }
      wait.watch.push_back({id, folder->last_seq});
    }
    return wait;
  }
  if (command == "Ping") {
    HasPending pending = [&cmd](store::FolderId folder) { return hasPendingChanges(cmd, folder); };
    auto plan = preparePing(cmd, doc, PingLimits{}, pending);
    if (!plan) return fail(plan.error());
    if (!plan->parks()) return Outcome{Outcome::Kind::done, std::move(*plan->response)};
    Outcome park{Outcome::Kind::ping};
    park.ping = std::move(*plan);
    return park;
  }
  if (command == "SendMail" || command == "SmartReply" || command == "SmartForward") {
    if (auto st = fillUser(cmd); !st) return fail(st.error());
    std::string_view raw = cmd.raw_body ? std::string_view(*cmd.raw_body) : std::string_view();
    auto composed = composeOutgoing(cmd, command, doc, raw);
    if (!composed) return fail(composed.error());
    if (!composed->mail) return Outcome{Outcome::Kind::done, std::move(composed->status_response)};
    Outcome send{Outcome::Kind::send};
    send.mail = std::move(composed->mail);
    return send;
  }
  if (!doc) return fail(Errc::invalid_argument, command + " needs a body");
  if (command == "FolderSync") return finished(runFolderSync(cmd, *doc));
  if (command == "FolderCreate") return finished(runFolderCreate(cmd, *doc));
  if (command == "FolderUpdate") return finished(runFolderUpdate(cmd, *doc));
  if (command == "FolderDelete") return finished(runFolderDelete(cmd, *doc));
  if (command == "GetItemEstimate") return finished(runGetItemEstimate(cmd, *doc));
  if (command == "MoveItems") return finished(runMoveItems(cmd, *doc));
  if (command == "Search") return finished(runSearch(cmd, *doc));
  if (command == "ResolveRecipients") return finished(runResolveRecipients(cmd, *doc));
  if (command == "ValidateCert") return finished(runValidateCert(cmd, *doc, *cert_setup_));
  if (command == "Settings") {
    if (auto st = fillUser(cmd); !st) return fail(st.error());
    return finished(runSettings(cmd, *doc));
  }
  if (command == "ItemOperations") {
    auto ops = runItemOperations(cmd, *doc);
    if (!ops) return fail(ops.error());
    Outcome done{Outcome::Kind::done, std::move(ops->body)};
    done.multipart = ops->multipart;
    return done;
  }
  return fail(Errc::internal, "no handler for " + command);
}

Status EasService::fillUser(CommandContext& cmd) {
  auto found = directory_->findUser(cmd.user);
  if (!found) return fail(found.error());
  if (!*found) return fail(Errc::not_found, "user " + cmd.user + " left the directory");
  cmd.address = (*found)->addresses.empty() ? cmd.user : (*found)->addresses.front();
  cmd.display_name = (*found)->display_name;
  return {};
}

}  // namespace rampart::server::eas
