// EAS protocol versions and commands: what a version byte or header means, which
// commands each version has, and the OPTIONS answer built from them.
//
// Sources: MS-ASHTTP 2.2.1.1.1.1 (version byte, e.g. 141 = "14.1"),
// 2.2.1.1.1.1.2 (command codes), 2.2.1.1.2.6 (MS-ASProtocolVersion header),
// 2.2.4.1.2.1 / 2.2.4.1.2.2 (MS-ASProtocolCommands / MS-ASProtocolVersions,
// comma-delimited lists), 3.2.5.2 (the OPTIONS response MUST carry both);
// MS-ASCMD 2.2.1.x (per-command protocol version tables).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rampart::eas {

// The versions Rampart speaks, oldest first. 2.5 and 12.0 are not supported
// (and cannot use the base64 query form, MS-ASHTTP 2.2.1.1.1.1).
inline constexpr std::string_view kSupportedVersions[] = {"12.1", "14.0", "14.1", "16.0", "16.1"};

// "14.1" -> 141, for any "<major>.<minor>" with major*10+minor <= 255 and a
// one-digit minor; nullopt for anything else ("14", "14.10", "x"). Says nothing
// about support: see isSupportedVersion().
std::optional<std::uint8_t> versionToByte(std::string_view version);
// 141 -> "14.1", 25 -> "2.5".
std::string versionFromByte(std::uint8_t byte);
bool isSupportedVersion(std::string_view version);

// One row of the MS-ASHTTP 2.2.1.1.1.1.2 command code table.
struct CommandInfo {
  std::string_view name;           // as in the plain query's Cmd= and MS-ASProtocolCommands
  std::uint8_t code;               // the base64 form's command code byte
  std::string_view first_version;  // oldest version that has it (MS-ASCMD 2.2.1.x)
  std::string_view last_version;   // newest version that has it
};

// Every command of the code table, in code order (Sync 0 ... Find 23).
std::span<const CommandInfo> allCommands();
const CommandInfo* commandByName(std::string_view name);  // exact, case-sensitive
const CommandInfo* commandByCode(std::uint8_t code);
// True when `command` exists in protocol `version` (both must be known).
bool commandInVersion(std::string_view command, std::string_view version);

// Header values for the HTTP OPTIONS response (MS-ASHTTP 2.2.4.1.2).
struct OptionsHeaders {
  std::string protocol_versions;  // MS-ASProtocolVersions: "12.1,14.0,14.1,16.0,16.1"
  std::string protocol_commands;  // MS-ASProtocolCommands: "Sync,FolderSync,..."
};
// Lists `versions` (default: kSupportedVersions) and those of `implemented`
// commands that exist in at least one of them, in code-table order, each once.
// Unknown names are skipped, so the header never names something we cannot
// decode.
OptionsHeaders optionsHeaders(std::span<const std::string_view> implemented,
                              std::span<const std::string_view> versions = kSupportedVersions);

}  // namespace rampart::eas
