// The Provision command (MS-ASPROV 3.2.5.1): device information, the two-phase
// policy handshake, and remote wipe. Blocking (device store); the EAS service
// runs it on its blocking pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/eas/provision.h"
#include "codec/eas/request_line.h"
#include "codec/wbxml/document.h"
#include "core/error.h"
#include "store/device_store.h"

namespace rampart::server::eas {

struct ProvisionContext {
  store::DeviceStore& devices;
  std::string user;                // the authenticated user
  rampart::eas::EasRequest request;  // the decoded request line
  std::string protocol_version;    // "14.1", ...
  rampart::eas::PolicySettings policy;
  std::int64_t now = 0;            // Unix seconds
};

// Answers one Provision request; returns the WBXML response body. A malformed
// request is answered in-protocol (Provision Status 2), not as an error.
Result<std::vector<std::uint8_t>> runProvision(ProvisionContext& ctx, const wbxml::Document& body);

}  // namespace rampart::server::eas
