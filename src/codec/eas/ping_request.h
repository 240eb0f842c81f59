// The Ping command's request body (MS-ASCMD 2.2.1.13) as a struct, decoded
// from an ActiveSync WBXML document (code page 13, Ping). Pure: no I/O, no
// store, no cache; merging with the cached Ping is the server's business.
//
// Shape (MS-ASCMD 6.29, 2.2.1.13):
//   Ping{ HeartbeatInterval?, Folders{ Folder{ Id, Class }+ }? }
// A body of Ping{} decodes to a request with neither part; whether that is
// allowed is for the server to say (2.2.1.13: one of them MUST be present).
//
// Errors, each naming the element:
//   - Errc::limit_exceeded: more Folder elements than `max_folders` (the
//     server answers Status 6 with MaxFolders, 2.2.3.177.11); only this.
//   - Errc::invalid_argument: everything else that is wrong (the server
//     answers Status 4): wrong root, unknown or misplaced element, a duplicate
//     HeartbeatInterval/Folders/Id/Class, a Folder without Id or Class, an
//     empty Folders (Folder is 1...N, 2.2.3.71.2), a HeartbeatInterval that is
//     not a decimal number, an Id longer than 64 characters (2.2.3.90), the
//     same Id twice (2.2.3.90: Status 4), a Class other than Email, Calendar,
//     Contacts, Tasks, Notes (2.2.3.27.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::eas {

struct PingRequestLimits {
  // Folder elements accepted; one more is Errc::limit_exceeded. The server
  // passes its MaxFolders here, so the decoder never holds more than that.
  std::size_t max_folders = 300;
  std::size_t max_id = 64;  // MS-ASCMD 2.2.3.90: "up to 64 characters"
};

struct PingFolder {
  std::string id;            // the folder's server id as the client sent it
  std::string folder_class;  // Email, Calendar, Contacts, Tasks or Notes

  bool operator==(const PingFolder&) const = default;
};

struct PingRequest {
  // Seconds, as sent. Any non-negative decimal up to 2^31-1 decodes; the
  // allowed range is the server's (Status 5).
  std::optional<std::int64_t> heartbeat_interval;
  // Absent when the request has no Folders element; never empty when present.
  std::optional<std::vector<PingFolder>> folders;

  bool operator==(const PingRequest&) const = default;
};

// Reads a Ping request body (already decoded from WBXML). See the errors above.
Result<PingRequest> decodePingRequest(const wbxml::Document& doc,
                                      const PingRequestLimits& limits = {});

// Writes a request in the form decodePingRequest() reads (the device client
// and tests use it). Errc::invalid_argument for an empty folder list.
Result<std::vector<std::uint8_t>> encodePingRequest(const PingRequest& request);

}  // namespace rampart::eas
