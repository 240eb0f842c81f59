// FolderCreate, FolderUpdate and FolderDelete (MS-ASCMD 2.2.1.3, 2.2.1.6,
// 2.2.1.4): the client changes the folder hierarchy itself. Blocking (mail and
// device stores); the EAS service runs them on its blocking pool.
//
// Each request carries the hierarchy SyncKey, which must be the current key of
// the FolderSync chain (kHierarchyCollection); the previous key, an unknown
// one or "0" is answered with Status 9 and nothing is changed. On success the
// change is made in ctx.user's mailbox (folders of other mailboxes are not
// found), and a new hierarchy state is committed: the client's snapshot with
// its own change applied, so the next FolderSync does not send that change
// back, while changes made elsewhere since the client's last FolderSync still
// come with it. The snapshot keeps the hierarchy seq of the state it replaces,
// so that next FolderSync lists the folders and diffs rather than trusting
// the seq. The response carries the new key (and FolderCreate the new
// folder's ServerId).
//
// Only user folders (Type 1 generic, 12 mail) can be created, renamed, moved
// or deleted; the default folders answer the spec's "special folder" status.
//
// A malformed request is answered in-protocol with Status 10, a lost race
// with another request of the same device on the hierarchy key with Status 6
// (the change itself is made; the client's next FolderSync reports it); none
// of these is an error. Errors are storage failures of the mail or device
// store (the service answers them with HTTP 500) and encoding errors.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"
#include "server/eas/folder_sync_command.h"

namespace rampart::server::eas {

// MS-ASCMD 2.2.3.177.3 Status (FolderCreate): 1 success, 2 a folder of that
// name exists under the parent, 5 parent not found, 6 server error, 9 sync key
// mismatch, 10 malformed request.
Result<std::vector<std::uint8_t>> runFolderCreate(FolderSyncContext& ctx,
                                                  const wbxml::Document& body);

// MS-ASCMD 2.2.3.177.6 Status (FolderUpdate): 1 success, 2 a folder of that
// name exists or the folder is a special (default) folder, 4 folder not found,
// 5 parent not found, 6 server error, 9 sync key mismatch, 10 malformed
// request (also a move under the folder itself or one of its subfolders).
Result<std::vector<std::uint8_t>> runFolderUpdate(FolderSyncContext& ctx,
                                                  const wbxml::Document& body);

// MS-ASCMD 2.2.3.177.4 Status (FolderDelete): 1 success, 3 special (default)
// folder, 4 folder not found, 6 server error, 9 sync key mismatch, 10
// malformed request. Subfolders go with the folder.
Result<std::vector<std::uint8_t>> runFolderDelete(FolderSyncContext& ctx,
                                                  const wbxml::Document& body);

}  // namespace rampart::server::eas
