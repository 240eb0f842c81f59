// The Ping command (MS-ASCMD 2.2.1.13, 3.1.5.8). See ping_command.h.
#include "server/eas/ping_command.h"

#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "codec/eas/ping_request.h"
#include "codec/wbxml/writer.h"
#include "core/log.h"

namespace rampart::server::eas {

namespace {

constexpr std::string_view kNs = "Ping";  // code page 13, [MS-ASWBXML] 2.1.2.1.14

// Ping{Status, Folders?, MaxFolders?, HeartbeatInterval?}: the order of the
// response schema (MS-ASCMD 6.29).
Result<std::vector<std::uint8_t>> encode(PingStatus status,
                                         const std::vector<store::FolderId>& folders,
                                         std::optional<std::size_t> max_folders,
                                         std::optional<int> heartbeat) {
  wbxml::Writer w;
  w.start(kNs, "Ping");
  w.start(kNs, "Status");
  w.content(std::to_string(static_cast<int>(status)));
  w.end();
  if (!folders.empty()) {
    w.start(kNs, "Folders");
    for (store::FolderId id : folders) {
      w.start(kNs, "Folder");
      w.content(std::to_string(id));
      w.end();
    }
    w.end();
  }
  if (max_folders) {
    w.start(kNs, "MaxFolders");
    w.content(std::to_string(*max_folders));
    w.end();
  }
  if (heartbeat) {
    w.start(kNs, "HeartbeatInterval");
    w.content(std::to_string(*heartbeat));
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

Result<PingPlan> answer(PingStatus status, const std::vector<store::FolderId>& folders = {},
                        std::optional<std::size_t> max_folders = std::nullopt,
                        std::optional<int> heartbeat = std::nullopt) {
  auto bytes = encode(status, folders, max_folders, heartbeat);
  if (!bytes) return fail(bytes.error());
  PingPlan plan;
  plan.response = std::move(*bytes);
  plan.status = status;
  return plan;
}

Result<PingPlan> serverError(const CommandContext& ctx, std::string_view what, const Error& e) {
  log::get("eas")->warn("ping: {} for {}/{}: {}", what, ctx.user, ctx.device_id, e.message());
  return answer(PingStatus::server_error);
}

// The Ping class a folder of this type is monitored as (2.2.3.27.4).
std::string_view classOf(store::FolderType type) {
  switch (type) {
    case store::FolderType::calendar:
      return "Calendar";
    case store::FolderType::contacts:
      return "Contacts";
    case store::FolderType::tasks:
      return "Tasks";
    case store::FolderType::notes:
      return "Notes";
    default:
      return "Email";
  }
}

// A FolderId in plain decimal (no sign, no leading zero), else none.
std::optional<store::FolderId> parseFolderId(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  store::FolderId id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

}  // namespace

Result<PingPlan> preparePing(CommandContext& ctx, const wbxml::Document* body,
                             const PingLimits& limits, const HasPending& has_pending) {
  // The request's parts, if any.
  rampart::eas::PingRequest request;
  if (body != nullptr) {
    rampart::eas::PingRequestLimits codec_limits;
    codec_limits.max_folders = limits.max_folders;
    auto decoded = rampart::eas::decodePingRequest(*body, codec_limits);
    if (!decoded) {
      log::get("eas")->debug("ping: {} from {}/{}", decoded.error().message(), ctx.user,
                             ctx.device_id);
      if (decoded.error().is(Errc::limit_exceeded)) {
        return answer(PingStatus::too_many_folders, {}, limits.max_folders);
      }
      return answer(PingStatus::syntax_error);
    }
    request = std::move(*decoded);
    // 2.2.1.13: a Ping element MUST hold HeartbeatInterval or Folders or both.
    if (!request.heartbeat_interval && !request.folders) {
      return answer(PingStatus::missing_parameters);
    }
  }

  // Merge with the cache (3.1.5.8: the server caches both and reuses them).
  std::optional<store::PingCache> cached;
  if (!request.heartbeat_interval || !request.folders) {
    auto last = ctx.devices.lastPing(ctx.user, ctx.device_id);
    if (!last) return serverError(ctx, "reading the cached Ping", last.error());
    cached = std::move(*last);
  }
  store::PingCache merged;
  if (request.heartbeat_interval) {
    merged.heartbeat_seconds = *request.heartbeat_interval;
  } else if (cached && cached->heartbeat_seconds > 0) {
    merged.heartbeat_seconds = cached->heartbeat_seconds;
  } else {
    return answer(PingStatus::missing_parameters);
  }
  if (request.folders) {
    for (auto& f : *request.folders) {
      merged.folders.emplace_back(std::move(f.id), std::move(f.folder_class));
    }
  } else if (cached && !cached->folders.empty()) {
    merged.folders = cached->folders;
  } else {
    return answer(PingStatus::missing_parameters);
  }

  // Status 5 carries the bound the client crossed (2.2.3.177.11).
  if (merged.heartbeat_seconds < limits.min_heartbeat) {
    return answer(PingStatus::heartbeat_out_of_range, {}, std::nullopt, limits.min_heartbeat);
  }
  if (merged.heartbeat_seconds > limits.max_heartbeat) {
    return answer(PingStatus::heartbeat_out_of_range, {}, std::nullopt, limits.max_heartbeat);
  }
  // A cached list longer than today's bound.
  if (merged.folders.size() > limits.max_folders) {
    return answer(PingStatus::too_many_folders, {}, limits.max_folders);
  }

  // Resolve the folders in the user's mailbox; anything unknown is Status 7.
  auto mailbox = ctx.mail.findMailbox(ctx.user);
  if (!mailbox) return serverError(ctx, "finding the mailbox", mailbox.error());
  if (!*mailbox) return answer(PingStatus::hierarchy_changed);
  PingPlan plan;
  plan.folders.reserve(merged.folders.size());
  for (const auto& [id_text, folder_class] : merged.folders) {
    std::optional<store::FolderId> id = parseFolderId(id_text);
    if (!id) return answer(PingStatus::hierarchy_changed);
    auto folder = ctx.mail.getFolder(*id);
    if (!folder) {
      if (folder.error().is(Errc::not_found)) return answer(PingStatus::hierarchy_changed);
      return serverError(ctx, "reading a folder", folder.error());
    }
    if (folder->mailbox != **mailbox || classOf(folder->type) != folder_class) {
      return answer(PingStatus::hierarchy_changed);
    }
    plan.folders.push_back(WatchedFolder{folder->id, folder->last_seq});
  }

  if ((request.heartbeat_interval || request.folders) && (!cached || !(*cached == merged))) {
    if (Status saved = ctx.devices.saveLastPing(ctx.user, ctx.device_id, merged); !saved) {
      return serverError(ctx, "caching the Ping", saved.error());
    }
  }

  std::vector<store::FolderId> changed;
  for (const WatchedFolder& f : plan.folders) {
    auto pending = has_pending(f.id);
    if (!pending) {
      // Deleted since it was resolved: the hierarchy moved on.
      if (pending.error().is(Errc::not_found)) return answer(PingStatus::hierarchy_changed);
      return serverError(ctx, "checking for changes", pending.error());
    }
    if (*pending) changed.push_back(f.id);
  }
  if (!changed.empty()) return answer(PingStatus::changes, changed);

  plan.heartbeat = std::chrono::seconds(merged.heartbeat_seconds);
  return plan;
}

Result<std::vector<std::uint8_t>> pingResponse(int status,
                                               const std::vector<store::FolderId>& folders) {
  return encode(static_cast<PingStatus>(status), folders, std::nullopt, std::nullopt);
}

Result<std::vector<std::uint8_t>> pingWakeResponse(const WakeResult& result) {
  if (result.reason == WakeReason::changed && !result.changed.empty()) {
    return encode(PingStatus::changes, result.changed, std::nullopt, std::nullopt);
  }
  return encode(PingStatus::expired, {}, std::nullopt, std::nullopt);
}

}  // namespace rampart::server::eas
