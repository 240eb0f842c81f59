// The device's local state: one SQLite file (default ~/.rampart-device.db)
// holding the account (server URL, user, password, device id, protocol version,
// policy key), the folder hierarchy with each folder's sync key, and the
// e-mail items synced so far, each with a short local id for the CLI.
//
// Certificates and keys live beside it, in <state>.certs/ (device/cert_store.h);
// the account names the files it logs in with.
//
// The password is stored in this file, in plain text: later commands must
// authenticate (EAS Basic, MS-ASHTTP 2.2.1.1.2.1) without asking, as a phone
// does. The file is created with mode 0600 and re-chmodded on every open, like
// ~/.netrc or a mail client's profile; obfuscating the password would add no
// protection against someone who can read the file. It never goes to a log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "device/protocol.h"
#include "store/sqlite/database.h"

namespace rampart::device {

// How the account logs in to EAS: Basic with the password, or the TLS client
// certificate alone (no Authorization header; the gateway's certificate rule).
enum class AuthMode { basic, certificate };
std::string_view authModeName(AuthMode mode);  // "basic" | "certificate"

struct Account {
  std::string url;  // "https://host:port" (the EAS path is added per request)
  std::string user;
  std::string password;  // kept after a switch to certificate login: EST's simpleenroll needs it
  std::string ca_file;   // empty: the system trust store
  AuthMode auth = AuthMode::basic;
  std::string cert_file;  // PEM, leaf first (presented whenever set, in both modes)
  std::string key_file;   // PEM private key, mode 0600
  std::string est_url;    // "https://host:port/.well-known/est"; empty: not known
  std::string device_id;  // 1-32 letters/digits
  std::string device_type;
  std::string version;      // negotiated protocol version, e.g. "16.1"
  std::string max_version;  // what the user asked for at setup
  std::string policy_key;   // final key; empty before Provision
  std::string folder_sync_key = "0";
  std::string email;  // the user's address (From:), if known
};

struct LocalFolder {
  Folder folder;
  std::string sync_key = "0";
};

struct LocalItem {
  std::int64_t id = 0;  // the local number shown by `list`
  std::string folder_id;
  std::string server_id;
  std::string subject;
  std::string from;
  std::string to;
  std::string date;
  bool read = false;
  bool flagged = false;
};

class DeviceState {
 public:
  // Opens (creating, mode 0600) the state file at `path`.
  static Result<DeviceState> open(const std::string& path);

  // Erases the state file and its journal files (the remote wipe).
  static Status erase(const std::string& path);

  Result<std::optional<Account>> account();
  Status saveAccount(const Account& account);

  Result<std::vector<LocalFolder>> folders();
  // Applies a FolderSync result: adds, updates, deletes (and their items).
  Status applyFolderSync(const FolderSyncResult& result);
  // Drops every folder and item (FolderSync Status 9: start over).
  Status resetHierarchy();
  Status setFolderSyncKey(const std::string& folder_id, const std::string& sync_key);

  // Applies Sync Commands to a folder's items; returns the newly added ones.
  Result<std::vector<LocalItem>> applySync(const std::string& folder_id,
                                           const std::vector<ServerItem>& items);
  // Drops a folder's items (Sync Status 3: start over from key 0).
  Status clearItems(const std::string& folder_id);

  Result<std::vector<LocalItem>> items(const std::string& folder_id);
  Result<std::optional<LocalItem>> item(std::int64_t local_id);
  Status setRead(std::int64_t local_id, bool read);
  Status removeItem(std::int64_t local_id);
  // After MoveItems: the item keeps its local id under its new folder and id.
  Status moveItem(std::int64_t local_id, const std::string& folder_id,
                  const std::string& server_id);

 private:
  explicit DeviceState(store::sqlite::Database db) : db_(std::move(db)) {}
  store::sqlite::Database db_;
};

}  // namespace rampart::device
