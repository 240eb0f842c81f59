#include "codec/eas/versions.h"

#include <algorithm>
#include <array>

namespace rampart::eas {
namespace {

// MS-ASHTTP 2.2.1.1.1.1.2. Codes 5-8 are unassigned. Version ranges from the
// MS-ASCMD 2.2.1.x tables, clipped to what Rampart supports (12.1+):
// GetAttachment was dropped in 16.0 (ItemOperations Fetch replaces it,
// MS-ASCMD 2.2.1.8); Find is new in 16.1 (MS-ASCMD 2.2.1.2). Find's code 23
// follows the 16.1 revision of the table; the copy we checked against ends at
// ValidateCert 22, so re-check it against a current MS-ASHTTP before relying on
// base64-form Find requests from real clients.
constexpr std::array<CommandInfo, 20> kCommands = {{
    {"Sync", 0, "12.1", "16.1"},
    {"SendMail", 1, "12.1", "16.1"},
    {"SmartForward", 2, "12.1", "16.1"},
    {"SmartReply", 3, "12.1", "16.1"},
    {"GetAttachment", 4, "12.1", "14.1"},
    {"FolderSync", 9, "12.1", "16.1"},
    {"FolderCreate", 10, "12.1", "16.1"},
    {"FolderDelete", 11, "12.1", "16.1"},
    {"FolderUpdate", 12, "12.1", "16.1"},
    {"MoveItems", 13, "12.1", "16.1"},
    {"GetItemEstimate", 14, "12.1", "16.1"},
    {"MeetingResponse", 15, "12.1", "16.1"},
    {"Search", 16, "12.1", "16.1"},
    {"Settings", 17, "12.1", "16.1"},
    {"Ping", 18, "12.1", "16.1"},
    {"ItemOperations", 19, "12.1", "16.1"},
    {"Provision", 20, "12.1", "16.1"},
    {"ResolveRecipients", 21, "12.1", "16.1"},
    {"ValidateCert", 22, "12.1", "16.1"},
    {"Find", 23, "16.1", "16.1"},
}};

}  // namespace

std::optional<std::uint8_t> versionToByte(std::string_view version) {
  auto dot = version.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 2 || version.size() != dot + 2) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : version) {
    if (c == '.') continue;
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 255) return std::nullopt;
  return static_cast<std::uint8_t>(value);
}

std::string versionFromByte(std::uint8_t byte) {
  return std::to_string(byte / 10) + "." + std::to_string(byte % 10);
}

bool isSupportedVersion(std::string_view version) {
  return std::find(std::begin(kSupportedVersions), std::end(kSupportedVersions), version) !=
         std::end(kSupportedVersions);
}

std::span<const CommandInfo> allCommands() { return kCommands; }

const CommandInfo* commandByName(std::string_view name) {
  for (const auto& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const CommandInfo* commandByCode(std::uint8_t code) {
  for (const auto& c : kCommands) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

bool commandInVersion(std::string_view command, std::string_view version) {
  const CommandInfo* info = commandByName(command);
  auto v = versionToByte(version);
  if (info == nullptr || !v || !isSupportedVersion(version)) return false;
  return *v >= *versionToByte(info->first_version) && *v <= *versionToByte(info->last_version);
}

OptionsHeaders optionsHeaders(std::span<const std::string_view> implemented,
                              std::span<const std::string_view> versions) {
  OptionsHeaders out;
  for (std::string_view v : versions) {
    if (!out.protocol_versions.empty()) out.protocol_versions += ',';
    out.protocol_versions += v;
  }
  for (const auto& c : kCommands) {
    bool wanted = std::find(implemented.begin(), implemented.end(), c.name) != implemented.end();
    bool offered = std::any_of(versions.begin(), versions.end(),
                               [&](std::string_view v) { return commandInVersion(c.name, v); });
    if (!wanted || !offered) continue;
    if (!out.protocol_commands.empty()) out.protocol_commands += ',';
    out.protocol_commands += c.name;
  }
  return out;
}

}  // namespace rampart::eas
