// The device client: what a phone does with an EAS account, one operation per
// method, over a Transport and the local DeviceState. Used by `rampart device`
// (src/cmd/device.cc) and, later, by the load generator.
//
// Every operation returns a Result; the protocol's own recoveries happen
// inside: HTTP 449 and Status 142-145 re-provision and retry once (MS-ASPROV
// 3.1.5.1, MS-ASCMD 2.2.2), HTTP 503 and Status 111 wait for Retry-After
// (bounded) and retry, Sync Status 3 starts the folder over from SyncKey 0, Sync Status 12
// and Ping Status 7 run FolderSync, FolderSync Status 9 starts the hierarchy
// over. Errors the user must act on come back with a clear detail:
//   Errc::unauthenticated    HTTP 401: "authentication failed"
//   Errc::permission_denied  HTTP 403 (device blocked), or a remote wipe (isWiped())
//   Errc::unavailable        HTTP 501 (command not implemented by the server), 503 for too long
//   Errc::protocol_error     a response that is not what the spec allows, or a failure Status
//   Errc::not_found          an unknown folder name or local item id
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/message_security.h"
#include "device/protocol.h"
#include "device/state.h"
#include "device/transport.h"

namespace rampart::device {

// Lines for the user (progress, notices); the CLI prints them to stderr.
using Notify = std::function<void(const std::string&)>;

struct SetupOptions {
  std::string url;
  std::string user;
  std::string password;
  std::string ca_file;
  std::string device_id;  // empty: a random one
  std::string device_type = "RampartDevice";
  std::string max_version = "16.1";
  std::string autodiscover_email;  // empty: no Autodiscover
  std::string email;               // From: address; defaults to autodiscover_email or user
  // Certificate login (issue 5): the TLS client certificate and key to
  // present; with use_certificate no Authorization header is sent and the
  // password may be empty (it is kept, when given, for EST simpleenroll).
  std::string cert_file;
  std::string key_file;
  bool use_certificate = false;
  std::string est_url;  // remembered for `rampart device cert enroll|renew`
};

struct SetupReport {
  std::string version;
  std::optional<std::string> autodiscover_url;
  std::string autodiscover_note;  // why Autodiscover was skipped, when it was
  std::size_t folders = 0;
};

struct SyncReport {
  std::string folder_name;
  std::vector<LocalItem> added;
  std::size_t changed = 0;
  std::size_t removed = 0;
};

struct Message {
  LocalItem item;
  std::string folder_name;
  std::string to;
  std::string cc;
  std::string body;
  bool truncated = false;
  // Issue 6: what the message carried (S/MIME layers, rights protection);
  // empty for a plain message.
  SecurityReport security;
};

struct Outgoing {
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;
  std::string body;
  SecurityOptions security;  // sign, encrypt, protect with a rights template
};

// How reply and forward treat the rights of a protected original.
struct RelayOptions {
  SecurityOptions security;   // sign / encrypt the reply or forward too
  // Acts like a client that does not honour rights (tests of the server's
  // own refusal); never offered by the CLI's help.
  bool ignore_rights = false;
};

struct WatchOptions {
  std::vector<std::string> folders;  // names; empty: Inbox
  std::uint32_t heartbeat = 480;     // seconds (MS-ASCMD 2.2.3.79.1: 60-3540 on Exchange)
  std::optional<std::size_t> count;  // stop after this many new messages
};

// True for the error a remote wipe ends an operation with: the server ordered
// a wipe, the client acknowledged it and erased its state file.
bool isWiped(const Error& error);

class Client {
 public:
  // Opens an account set up earlier at `state_path`.
  static Result<Client> open(const std::string& state_path, Notify notify = {});

  // Autodiscover (optional), OPTIONS, Provision, FolderSync; replaces any
  // account stored at `state_path`.
  static Result<SetupReport> setup(const std::string& state_path, const SetupOptions& options,
                                   Notify notify = {});

  const Account& account() const { return account_; }
  const std::string& statePath() const { return path_; }

  // Switches the account to certificate login with these files (an OPTIONS
  // request checks it first; on failure the account is left as it was).
  Status useCertificate(const std::string& cert_file, const std::string& key_file);
  // Presents a renewed certificate from now on (same files, new contents,
  // or new files): rebuilds the transport and saves the account.
  Status setClientCertificate(const std::string& cert_file, const std::string& key_file);
  // Saves other account fields (est_url); the transport is rebuilt.
  Status saveAccount(const Account& account);
  Result<std::vector<LocalFolder>> folders() { return state_.folders(); }

  // FolderSync from the stored key.
  Status folderSync();
  // Sync of one folder (by display name or ServerId), WindowSize 512, looping
  // on MoreAvailable.
  Result<SyncReport> sync(const std::string& folder);
  Result<std::vector<LocalItem>> list(const std::string& folder);
  // The item's body (ItemOperations Fetch, else Sync Fetch), marked read.
  // S/MIME messages are verified and decrypted, rights-protected ones opened
  // with a use license from the rights server (Message::security says how).
  Result<Message> read(std::int64_t local_id);
  Status send(const Outgoing& message);
  // A protected original: refused unless its use license grants reply /
  // forward; the reply or forward is protected with the same template and
  // sent whole (ReplaceMime).
  Status reply(std::int64_t local_id, const std::string& body, const RelayOptions& options = {});
  Status forward(std::int64_t local_id, const std::vector<std::string>& to,
                 const std::string& body, const RelayOptions& options = {});
  // The rights server's templates (through the gateway).
  Result<std::vector<crypto::rights::Template>> rightsTemplates();
  // MoveItems; the item keeps its local id.
  Status move(std::int64_t local_id, const std::string& to_folder);
  // Sync Delete (the server moves it to Deleted Items, MS-ASCMD 2.2.3.43).
  Status remove(std::int64_t local_id);
  // A Ping loop; `on_new` for each new message. Returns after options.count
  // new messages, or on an error.
  Status watch(const WatchOptions& options,
               const std::function<void(const SyncReport&, const LocalItem&)>& on_new);

 private:
  Client(std::string path, DeviceState state, Account account, Transport transport, Notify notify)
      : path_(std::move(path)),
        state_(std::move(state)),
        account_(std::move(account)),
        transport_(std::move(transport)),
        notify_(std::move(notify)) {}

  // POSTs a command and decodes the answer; nullopt for an empty body.
  // Handles 401/403/449/501/503 and the 142-145 statuses.
  Result<std::optional<wbxml::Document>> call(
      std::string_view cmd, const Bytes& body,
      std::chrono::seconds timeout = std::chrono::seconds(60));
  Status provision();
  // The detail of an HTTP 403, with a hint for certificate login.
  std::string deniedDetail() const;
  Status wipe(bool account_only);
  Result<LocalFolder> folderByName(const std::string& name);
  Result<SyncReport> syncFolder(const LocalFolder& folder, std::vector<ClientChange> changes,
                                std::vector<std::string> fetch = {},
                                std::vector<ServerItem>* fetched = nullptr);
  Result<LocalItem> itemById(std::int64_t local_id);
  Status compose(ComposeRequest::Kind kind, const Draft& draft, const LocalItem* source,
                 const SecurityOptions& security = {}, bool replace_mime = false);
  MessageSecurity security();
  Status relay(ComposeRequest::Kind kind, const LocalItem& item, Draft d, const RelayOptions& options);
  Result<Message> markRead(std::int64_t local_id, const LocalFolder& folder, const LocalItem& item,
                           Message m);
  // The stored message whole (ItemOperations Fetch, Type 4), opened by `sec`.
  Result<Message> readSecure(MessageSecurity& sec, const LocalItem& item, Message m);
  // Encryption certificates of every recipient (ResolveRecipients).
  Result<std::vector<std::string>> recipientCertificates(const std::vector<std::string>& to);
  std::string fromAddress() const;
  void say(const std::string& line) const {
    if (notify_) notify_(line);
  }

  std::string path_;
  DeviceState state_;
  Account account_;
  Transport transport_;
  Notify notify_;
  int last_http_ = 0;
};

// The highest version both sides speak, at most `max_version`, from an
// MS-ASProtocolVersions header ("2.5,12.0,12.1,14.0,14.1,16.0,16.1").
std::optional<std::string> chooseVersion(std::string_view server_versions,
                                         std::string_view max_version);

}  // namespace rampart::device
