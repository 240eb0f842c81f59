#include "server/eas/policy_gate.h"

#include <array>
#include <string>
#include <utility>

#include "codec/wbxml/writer.h"

namespace rampart::server::eas {
namespace {

// Command → (namespace, root element) from MS-ASCMD 2.2.1 and MS-ASWBXML.
constexpr std::array<std::pair<std::string_view, std::pair<std::string_view, std::string_view>>, 16> kRoots{{
    {"Sync", {"AirSync", "Sync"}},
    {"FolderSync", {"FolderHierarchy", "FolderSync"}},
    {"FolderCreate", {"FolderHierarchy", "FolderCreate"}},
    {"FolderUpdate", {"FolderHierarchy", "FolderUpdate"}},
    {"FolderDelete", {"FolderHierarchy", "FolderDelete"}},
    {"GetItemEstimate", {"GetItemEstimate", "GetItemEstimate"}},
    {"MoveItems", {"Move", "MoveItems"}},
    {"Ping", {"Ping", "Ping"}},
    {"ItemOperations", {"ItemOperations", "ItemOperations"}},
    {"Settings", {"Settings", "Settings"}},
    {"Search", {"Search", "Search"}},
    {"SendMail", {"ComposeMail", "SendMail"}},
    {"SmartReply", {"ComposeMail", "SmartReply"}},
    {"SmartForward", {"ComposeMail", "SmartForward"}},
    {"ResolveRecipients", {"ResolveRecipients", "ResolveRecipients"}},
    {"ValidateCert", {"ValidateCert", "ValidateCert"}},
}};

}  // namespace

std::optional<int> policyGate(const store::Device& device, std::optional<std::uint32_t> sent_key) {
  // A pending wipe is carried out through Provision: send the device there.
  if (device.wipe == store::WipeState::pending || device.wipe == store::WipeState::pending_account_only) {
    return kStatusDeviceNotProvisioned;
  }
  if (device.policy_key == 0) return kStatusDeviceNotProvisioned;
  if (!sent_key || *sent_key == 0) return kStatusDeviceNotProvisioned;
  if (*sent_key != device.policy_key) return kStatusInvalidPolicyKey;
  return std::nullopt;
}

Result<std::vector<std::uint8_t>> statusOnlyResponse(std::string_view command, int status) {
  for (const auto& [name, root] : kRoots) {
    if (name != command) continue;
    wbxml::Writer w;
    w.start(root.first, root.second);
    w.start(root.first, "Status");
    w.content(std::to_string(status));
    w.end();
    w.end();
    return std::move(w).finish();
  }
  return fail(Errc::invalid_argument, "no WBXML root for command " + std::string(command));
}

}  // namespace rampart::server::eas
