// The GetItemEstimate command (MS-ASCMD 2.2.1.9): how many changes a Sync of
// each named email collection would send, from the device's sync state of
// that collection (server/eas/detail/sync_state.h). Blocking.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.6 Status (GetItemEstimate).
enum class EstimateStatus : std::uint8_t {
  success = 1,
  invalid_collection = 2,  // unknown CollectionId (or a malformed request)
  not_primed = 3,          // no Sync has been done for it (key 0 / no state)
  invalid_sync_key = 4,
};

// Answers one GetItemEstimate request; returns the WBXML body. A malformed
// request is answered with a Response of Status 2; errors are storage and
// encoding failures. Counting walks at most a bounded part of the change log
// (an estimate may then be low).
Result<std::vector<std::uint8_t>> runGetItemEstimate(CommandContext& ctx,
                                                     const wbxml::Document& body);

}  // namespace rampart::server::eas
