// The FolderSync command (MS-ASCMD 2.2.1.5): the client's copy of the folder
// hierarchy, brought up to date with Add/Update/Delete against a sync key.
// Blocking (mail and device stores); the EAS service runs it on its blocking pool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "server/eas/command_context.h"
#include "core/error.h"
#include "store/device_store.h"
#include "store/mail_store.h"

namespace rampart::server::eas {

// The device store collection that holds the FolderSync key chain.
inline constexpr std::string_view kHierarchyCollection = "hierarchy";

// MS-ASCMD 2.2.3.177.5 Status (FolderSync), the values this server answers.
enum class FolderSyncStatus : std::uint8_t {
  success = 1,
  server_error = 6,      // transient; the client retries
  invalid_sync_key = 9,  // unknown key or corrupt state: the client starts over at key 0
  bad_request = 10,      // incorrectly formatted request
};

using FolderSyncContext = CommandContext;

// Answers one FolderSync request; returns the WBXML response body.
//
// A malformed request is answered in-protocol (Status 10), an unknown sync key
// with Status 9, a lost race with another request of the same device with
// Status 6; none of these is an error. Errors are storage failures of the mail
// or device store (the service answers them with HTTP 500) and encoding errors.
//
// Sync state: the blob behind each key is the hierarchy as the client holds it
// (every folder's id, parent, type and name) and the mailbox's hierarchy seq
// it was taken at. Changes are the diff between that snapshot and the current
// listing, so several changes to one folder collapse into one Update, and a
// folder created and deleted between two syncs sends nothing. An unchanged
// hierarchy seq short-cuts to "no changes" without listing folders.
//
// Keys: "0" resets the chain and sends every folder as Add. The current key
// with no changes is answered with the same key and Count 0, and nothing is
// committed (as Exchange does). The current key with changes commits the new
// snapshot under a new key. The previous key (the client lost our last
// response) is answered from the two stored states alone: the diff from the
// previous snapshot to the current one, with the current key, which is the
// response that was lost. Nothing is committed, so however often the key is
// resent the answer is the same; changes made since come with the next sync.
Result<std::vector<std::uint8_t>> runFolderSync(FolderSyncContext& ctx,
                                                const wbxml::Document& body);

}  // namespace rampart::server::eas
