// The policy-key gate in front of every EAS command but Provision (MS-ASPROV
// 3.2.5.1, MS-ASCMD 2.2.2): a device that has not finished Provision, sends no
// or the wrong policy key, or has a wipe pending is told to provision, with the
// command's own root element and Status 142 (not provisioned) or 144 (invalid
// policy key). The client then runs Provision, where a pending wipe is served.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/device_store.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.2 (common status codes).
inline constexpr int kStatusServerErrorRetryLater = 111;
inline constexpr int kStatusDeviceNotProvisioned = 142;
inline constexpr int kStatusPolicyRefresh = 143;
inline constexpr int kStatusInvalidPolicyKey = 144;

// The status to answer instead of running the command, or nullopt to let it run.
std::optional<int> policyGate(const store::Device& device, std::optional<std::uint32_t> sent_key);

// <Command xmlns="Namespace:"><Status>status</Status></Command> for a known
// command name; Errc::invalid_argument for a command without a WBXML root.
Result<std::vector<std::uint8_t>> statusOnlyResponse(std::string_view command, int status);

}  // namespace rampart::server::eas
