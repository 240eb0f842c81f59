#include "device/client.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <span>
#include <thread>

#include "codec/eas/provision.h"
#include "codec/eas/request_line.h"
#include "codec/eas/versions.h"
#include "codec/wbxml/reader.h"
#include "core/clock.h"
#include "device/cert_store.h"
#include "codec/mime/body.h"

namespace rampart::device {

namespace {

constexpr std::string_view kWiped = "the server ordered a remote wipe; the local state was erased";
constexpr int kMaxRetries = 3;          // 449/142 re-provisions and 503/111 waits per call
constexpr int kMaxRetryAfter = 300;     // seconds: our bound on a server's Retry-After
constexpr int kMaxSyncRounds = 10'000;  // MoreAvailable rounds per folder sync

std::string randomHex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  systemRandom().fill(raw);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (std::uint8_t b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string rfc5322Date() { return utcText(std::time(nullptr), "%a, %d %b %Y %H:%M:%S +0000"); }

int retryAfterSeconds(const std::optional<std::string>& value) {
  int seconds = 5;
  if (value) {
    int v = 0;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
    if (ec == std::errc() && end == value->data() + value->size()) seconds = v;
  }
  return std::clamp(seconds, 1, kMaxRetryAfter);
}

Result<wbxml::Document> decodeBody(const std::string& body) {
  auto doc =
      wbxml::decode(std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  if (!doc) return fail(Errc::protocol_error, "the server's WBXML: " + doc.error().message());
  return doc;
}

std::string statusError(std::string_view cmd, int status) {
  std::string text = std::string(cmd) + " failed with Status " + std::to_string(status);
  // MS-ASCMD 2.2.2 common status 172 (IRM_OperationNotPermitted).
  if (status == 172) text += " (the message's rights do not allow this)";
  return text;
}

bool versionAtLeast(std::string_view version, std::string_view floor) {
  auto a = eas::versionToByte(version);
  auto b = eas::versionToByte(floor);
  return a && b && *a >= *b;
}

std::string osName() {
  struct utsname u {};
  if (::uname(&u) != 0) return "Linux";
  return std::string(u.sysname) + " " + u.release;
}

}  // namespace

bool isWiped(const Error& error) {
  return error.is(Errc::permission_denied) && error.detail == kWiped;
}

std::optional<std::string> chooseVersion(std::string_view server_versions,
                                         std::string_view max_version) {
  auto max = eas::versionToByte(max_version);
  if (!max) return std::nullopt;
  std::optional<std::string> best;
  std::uint8_t best_byte = 0;
  std::size_t pos = 0;
  while (pos <= server_versions.size()) {
    std::size_t comma = server_versions.find(',', pos);
    if (comma == std::string_view::npos) comma = server_versions.size();
    std::string_view v = server_versions.substr(pos, comma - pos);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    auto byte = eas::versionToByte(v);
    if (byte && eas::isSupportedVersion(v) && *byte <= *max && *byte > best_byte) {
      best_byte = *byte;
      best = std::string(v);
    }
    pos = comma + 1;
  }
  return best;
}

// ---- opening and setup ----

Result<Client> Client::open(const std::string& state_path, Notify notify) {
  auto state = DeviceState::open(state_path);
  if (!state) return fail(state.error());
  auto account = state->account();
  if (!account) return fail(account.error());
  if (!*account || (*account)->url.empty()) {
    return fail(Errc::not_found,
                "no account in " + state_path + ": run `rampart device setup` first");
  }
  auto transport = Transport::create(**account);
  if (!transport) return fail(transport.error());
  return Client(state_path, std::move(*state), std::move(**account), std::move(*transport),
                std::move(notify));
}

Result<SetupReport> Client::setup(const std::string& state_path, const SetupOptions& o,
                                  Notify notify) {
  if (o.user.empty()) return fail(Errc::invalid_argument, "a user name is needed (--user)");
  if (o.password.empty() && !o.use_certificate)
    return fail(Errc::invalid_argument, "a password is needed");
  if (o.use_certificate && (o.cert_file.empty() || o.key_file.empty()))
    return fail(Errc::invalid_argument, "certificate login needs a certificate (enroll first)");
  Account a;
  a.url = o.url;
  a.user = o.user;
  a.password = o.password;
  a.ca_file = o.ca_file;
  a.cert_file = o.cert_file;
  a.key_file = o.key_file;
  a.auth = o.use_certificate ? AuthMode::certificate : AuthMode::basic;
  a.est_url = o.est_url;
  a.device_id = o.device_id.empty() ? randomHex(16) : o.device_id;
  a.device_type = o.device_type;
  a.max_version = o.max_version;
  a.email = !o.email.empty() ? o.email : !o.autodiscover_email.empty() ? o.autodiscover_email : "";
  if (a.device_id.size() > eas::kMaxDeviceIdLength ||
      !std::all_of(a.device_id.begin(), a.device_id.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
    return fail(Errc::invalid_argument,
                "the device id must be 1-32 letters and digits (MS-ASHTTP 2.2.1.1.1.2.3)");
  }
  if (!eas::versionToByte(a.max_version))
    return fail(Errc::invalid_argument, "bad --version " + a.max_version);
  auto transport = Transport::create(a);
  if (!transport) return fail(transport.error());

  SetupReport report;
  // Autodiscover (MS-ASCMD 2.2.1.1): informative here; the URL given is used.
  if (!o.autodiscover_email.empty()) {
    auto reply = transport->autodiscover(a, buildAutodiscover(o.autodiscover_email));
    if (!reply) {
      report.autodiscover_note = reply.error().message();
    } else if (reply->status == 401) {
      return fail(Errc::unauthenticated, "authentication failed");
    } else if (reply->status != 200) {
      report.autodiscover_note = "HTTP " + std::to_string(reply->status);
    } else {
      AutodiscoverResult r = parseAutodiscover(reply->body);
      if (r.url)
        report.autodiscover_url = r.url;
      else if (r.redirect)
        report.autodiscover_note = "redirected to " + *r.redirect + " (not followed)";
      else
        report.autodiscover_note = r.error.value_or("no MobileSync server in the answer");
    }
  }

  // OPTIONS (MS-ASHTTP 2.2.3, 3.1.5.1): the versions the server speaks.
  auto options = transport->options(a);
  if (!options) return fail(options.error());
  if (options->status == 401) return fail(Errc::unauthenticated, "authentication failed");
  if (options->status == 403) return fail(Errc::permission_denied, "access denied by the server");
  if (options->status != 200) {
    return fail(Errc::protocol_error, "OPTIONS answered HTTP " + std::to_string(options->status));
  }
  if (!options->versions)
    return fail(Errc::protocol_error, "OPTIONS: no MS-ASProtocolVersions header");
  auto version = chooseVersion(*options->versions, a.max_version);
  if (!version) {
    return fail(Errc::protocol_error,
                "no common protocol version (server: " + *options->versions + ")");
  }
  a.version = *version;
  report.version = *version;

  // A new account replaces whatever the state file held.
  if (auto st = DeviceState::erase(state_path); !st) return fail(st.error());
  auto state = DeviceState::open(state_path);
  if (!state) return fail(state.error());
  if (auto st = state->saveAccount(a); !st) return fail(st.error());
  Client client(state_path, std::move(*state), std::move(a), std::move(*transport),
                std::move(notify));
  if (auto st = client.provision(); !st) return fail(st.error());
  if (auto st = client.folderSync(); !st) return fail(st.error());
  auto folders = client.state_.folders();
  if (!folders) return fail(folders.error());
  report.folders = folders->size();
  return report;
}

Status Client::saveAccount(const Account& account) {
  auto transport = Transport::create(account);
  if (!transport) return fail(transport.error());
  if (auto st = state_.saveAccount(account); !st) return st;
  account_ = account;
  transport_ = std::move(*transport);
  return {};
}

Status Client::useCertificate(const std::string& cert_file, const std::string& key_file) {
  Account next = account_;
  next.cert_file = cert_file;
  next.key_file = key_file;
  next.auth = AuthMode::certificate;
  auto transport = Transport::create(next);
  if (!transport) return fail(transport.error());
  // The gateway must accept the certificate alone before we depend on it.
  auto reply = transport->options(next);
  if (!reply) return fail(reply.error());
  if (reply->status == 401 || reply->status == 403) {
    return fail(Errc::unauthenticated,
                "the server did not accept the certificate for login (HTTP " +
                    std::to_string(reply->status) + "); the account still uses its password");
  }
  if (reply->status != 200) {
    return fail(Errc::protocol_error,
                "OPTIONS with the certificate answered HTTP " + std::to_string(reply->status));
  }
  return saveAccount(next);
}

Status Client::setClientCertificate(const std::string& cert_file, const std::string& key_file) {
  Account next = account_;
  next.cert_file = cert_file;
  next.key_file = key_file;
  return saveAccount(next);
}

std::string Client::deniedDetail() const {
  if (account_.auth == AuthMode::certificate) {
    return "access denied by the server (device blocked, or the certificate revoked or expired? "
           "`rampart device cert list`, then `cert enroll` or `cert renew`)";
  }
  return "access denied by the server (device blocked?)";
}

// ---- the command exchange ----

Result<std::optional<wbxml::Document>> Client::call(std::string_view cmd, const Bytes& body,
                                                    std::chrono::seconds timeout) {
  int provisions = 0;
  int waits = 0;
  for (;;) {
    auto reply = transport_.command(account_, cmd, body, timeout);
    if (!reply) return fail(reply.error());
    last_http_ = reply->status;
    switch (reply->status) {
      case 200:
        break;
      case 401:
        return fail(Errc::unauthenticated, "authentication failed");
      case 403:
        return fail(Errc::permission_denied, deniedDetail());
      case 449:  // MS-ASHTTP 3.2.5.1: provision again, then retry
        if (++provisions > kMaxRetries)
          return fail(Errc::protocol_error, "the server keeps asking for Provision");
        say(std::string(cmd) + ": the server asks for Provision (HTTP 449)");
        if (auto st = provision(); !st) return fail(st.error());
        continue;
      case 501:
        return fail(Errc::unavailable,
                    "the server does not implement " + std::string(cmd) + " (HTTP 501)");
      case 503: {
        if (++waits > kMaxRetries)
          return fail(Errc::unavailable, "the server is unavailable (HTTP 503)");
        int seconds = retryAfterSeconds(reply->retry_after);
        say(std::string(cmd) + ": server busy (HTTP 503), retrying in " + std::to_string(seconds) +
            " s");
        std::this_thread::sleep_for(std::chrono::seconds(seconds));
        continue;
      }
      default:
        return fail(Errc::protocol_error,
                    std::string(cmd) + ": HTTP " + std::to_string(reply->status));
    }
    if (reply->body.empty()) return std::optional<wbxml::Document>{};
    auto doc = decodeBody(reply->body);
    if (!doc) return fail(doc.error());
    // MS-ASCMD 2.2.2 / MS-ASPROV 3.1.5.1: 142 not provisioned, 143 policy
    // refresh, 144 invalid policy key, 145 external management: provision again.
    if (auto status = rootStatus(*doc); status && *status >= 142 && *status <= 145) {
      if (++provisions > kMaxRetries) return fail(Errc::protocol_error, statusError(cmd, *status));
      say(std::string(cmd) + ": Status " + std::to_string(*status) + ", provisioning again");
      if (auto st = provision(); !st) return fail(st.error());
      continue;
    }
    // MS-ASCMD 2.2.2: 111 ServerErrorRetryLater (Rampart's per-device limits
    // answer it with Retry-After, like HTTP 503).
    if (auto status = rootStatus(*doc); status && *status == 111) {
      if (++waits > kMaxRetries)
        return fail(Errc::unavailable, statusError(cmd, 111) + " (retry later)");
      int seconds = retryAfterSeconds(reply->retry_after);
      say(std::string(cmd) + ": Status 111, retrying in " + std::to_string(seconds) + " s");
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      continue;
    }
    return std::optional<wbxml::Document>{std::move(*doc)};
  }
}

Status Client::provision() {
  // MS-ASPROV 3.1.5.1: phase 1 asks for the policy (and sends DeviceInformation
  // from 14.1, 2.2.2.53), phase 2 acknowledges it with the temporary key and
  // receives the final one. Both go without X-MS-PolicyKey.
  account_.policy_key.clear();
  eas::ProvisionRequest first;
  if (versionAtLeast(account_.version, "14.1")) {
    eas::DeviceInformation info;
    info.model = "Rampart Device";
    info.friendly_name = "rampart device";
    info.os = osName();
    info.os_language = "English";
    info.user_agent = "rampart-device";
    first.device_information = info;
  }
  first.policy = eas::PolicyRequest{std::string(eas::kEasPolicyType), std::nullopt, std::nullopt};
  for (int phase = 1; phase <= 2; ++phase) {
    auto body = eas::encodeProvisionRequest(first, account_.version);
    if (!body) return fail(body.error());
    auto reply = transport_.command(account_, "Provision", *body);
    if (!reply) return fail(reply.error());
    if (reply->status == 401) return fail(Errc::unauthenticated, "authentication failed");
    if (reply->status == 403) return fail(Errc::permission_denied, deniedDetail());
    if (reply->status != 200)
      return fail(Errc::protocol_error, "Provision: HTTP " + std::to_string(reply->status));
    auto doc = decodeBody(reply->body);
    if (!doc) return fail(doc.error());
    auto res = eas::decodeProvisionResponse(*doc);
    if (!res) return fail(Errc::protocol_error, "Provision: " + res.error().message());
    // MS-ASPROV 3.1.5.2: a wipe order comes before anything else.
    if (res->remote_wipe || res->account_only_remote_wipe) return wipe(!res->remote_wipe);
    if (res->status != 1) return fail(Errc::protocol_error, statusError("Provision", res->status));
    if (!res->policy) return fail(Errc::protocol_error, "Provision: no Policy in the response");
    const eas::PolicyResponse& p = *res->policy;
    if (p.status == static_cast<std::uint8_t>(eas::PolicyStatus::no_policy)) {
      // 2.2.2.54.1: no policy for this client; commands go without a key.
      account_.policy_key = p.policy_key ? std::to_string(*p.policy_key) : "";
      break;
    }
    if (p.status != 1)
      return fail(Errc::protocol_error, "Provision: Policy Status " + std::to_string(p.status));
    if (!p.policy_key) return fail(Errc::protocol_error, "Provision: no PolicyKey");
    if (phase == 1) {
      // We accept the whole policy: acknowledge with Status 1 (2.2.2.54.1).
      eas::ProvisionRequest ack;
      ack.policy = eas::PolicyRequest{std::string(eas::kEasPolicyType), *p.policy_key,
                                      static_cast<std::uint8_t>(eas::PolicyAckStatus::success)};
      first = ack;
    } else {
      account_.policy_key = std::to_string(*p.policy_key);
    }
  }
  return state_.saveAccount(account_);
}

Status Client::wipe(bool account_only) {
  // MS-ASPROV 3.1.5.1.2: acknowledge with (AccountOnly)RemoteWipe{Status 1}, then wipe.
  eas::ProvisionRequest ack;
  if (account_only && versionAtLeast(account_.version, "16.1"))
    ack.account_only_remote_wipe_status = 1;
  else
    ack.remote_wipe_status = 1;
  auto body = eas::encodeProvisionRequest(ack, account_.version);
  if (body) {
    auto reply = transport_.command(account_, "Provision", *body);
    if (!reply || reply->status != 200) say("remote wipe: the acknowledgement was not accepted");
  }
  say(account_only ? "the server ordered an account-only remote wipe"
                   : "the server ordered a remote wipe");
  if (auto st = DeviceState::erase(path_); !st) return st;
  // The account's keys and certificates go with it (cert_store.h).
  std::error_code ec;
  std::filesystem::remove_all(certDirFor(path_), ec);
  if (ec) say("remote wipe: cannot remove " + certDirFor(path_) + ": " + ec.message());
  return fail(Errc::permission_denied, std::string(kWiped));
}

// ---- folders ----

Status Client::folderSync() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto body = buildFolderSync(account_.folder_sync_key);
    if (!body) return fail(body.error());
    auto doc = call("FolderSync", *body);
    if (!doc) return fail(doc.error());
    if (!*doc) return fail(Errc::protocol_error, "FolderSync: empty response");
    auto r = parseFolderSync(**doc);
    if (!r) return fail(r.error());
    if (r->status == 9 && attempt == 0) {
      // MS-ASCMD 2.2.3.177.4: the key is no longer valid; start over from 0.
      say("FolderSync: the server forgot our hierarchy key, starting over");
      if (auto st = state_.resetHierarchy(); !st) return st;
      account_.folder_sync_key = "0";
      continue;
    }
    if (r->status != 1) return fail(Errc::protocol_error, statusError("FolderSync", r->status));
    if (auto st = state_.applyFolderSync(*r); !st) return st;
    account_.folder_sync_key = r->sync_key;
    return state_.saveAccount(account_);
  }
  return fail(Errc::protocol_error, "FolderSync: the server refuses key 0");
}

Result<LocalFolder> Client::folderByName(const std::string& name) {
  auto folders = state_.folders();
  if (!folders) return fail(folders.error());
  const std::string wanted = lower(name.empty() ? "Inbox" : name);
  for (int pass = 0; pass < 2; ++pass) {
    for (const LocalFolder& f : *folders) {
      if (lower(f.folder.display_name) == wanted || f.folder.server_id == name) return f;
      // "Inbox" also finds the default Inbox (Type 2) whatever its name.
      if (wanted == "inbox" && f.folder.type == 2) return f;
    }
    if (pass == 0) {  // maybe created since the last FolderSync
      if (auto st = folderSync(); !st) return fail(st.error());
      folders = state_.folders();
      if (!folders) return fail(folders.error());
    }
  }
  return fail(Errc::not_found, "no folder named '" + name + "'");
}

// ---- Sync ----

Result<SyncReport> Client::syncFolder(const LocalFolder& folder, std::vector<ClientChange> changes,
                                      std::vector<std::string> fetch,
                                      std::vector<ServerItem>* fetched) {
  SyncReport report;
  report.folder_name = folder.folder.display_name;
  std::string key = folder.sync_key;
  bool restarted = false;
  bool refreshed = false;
  for (int round = 0; round < kMaxSyncRounds; ++round) {
    SyncRequest q;
    q.collection_id = folder.folder.server_id;
    q.sync_key = key;
    if (key != "0") {
      q.changes = std::move(changes);
      q.fetch = std::move(fetch);
      changes.clear();
      fetch.clear();
    }
    auto body = buildSync(q);
    if (!body) return fail(body.error());
    auto doc = call("Sync", *body);
    if (!doc) return fail(doc.error());
    if (!*doc) break;  // MS-ASCMD 2.2.1.21: an empty response, nothing changed
    auto r = parseSync(**doc);
    if (!r) return fail(r.error());
    if (r->empty) break;
    if (r->status == 3 && !restarted) {
      // MS-ASCMD 2.2.3.177.17 Status 3: invalid key; start the folder over.
      say("Sync: the server forgot our key for " + folder.folder.display_name + ", starting over");
      if (auto st = state_.clearItems(folder.folder.server_id); !st) return fail(st.error());
      key = "0";
      restarted = true;
      continue;
    }
    if (r->status == 12 && !refreshed) {
      // Status 12: the folder hierarchy changed; FolderSync, then again.
      refreshed = true;
      if (auto st = folderSync(); !st) return fail(st.error());
      continue;
    }
    if (r->status != 1) return fail(Errc::protocol_error, statusError("Sync", r->status));
    for (const ServerItem& item : r->items) {
      if (item.kind == ServerItem::Kind::change) ++report.changed;
      if (item.kind == ServerItem::Kind::remove) ++report.removed;
    }
    auto added = state_.applySync(folder.folder.server_id, r->items);
    if (!added) return fail(added.error());
    for (auto& a : *added) report.added.push_back(std::move(a));
    if (fetched) {
      for (auto& f : r->fetched) fetched->push_back(std::move(f));
    }
    for (const auto& [id, status] : r->failed) {
      say("Sync: the server refused the change to " + id + " (Status " + std::to_string(status) +
          ")");
    }
    bool first = key == "0";
    key = r->sync_key;
    if (auto st = state_.setFolderSyncKey(folder.folder.server_id, key); !st)
      return fail(st.error());
    // After the initial key, go on for the items; then while MoreAvailable
    // or while changes still wait to be sent.
    if (!first && !r->more_available && changes.empty() && fetch.empty()) break;
  }
  return report;
}

Result<SyncReport> Client::sync(const std::string& name) {
  auto folder = folderByName(name);
  if (!folder) return fail(folder.error());
  return syncFolder(*folder, {});
}

Result<std::vector<LocalItem>> Client::list(const std::string& name) {
  auto folder = folderByName(name);
  if (!folder) return fail(folder.error());
  return state_.items(folder->folder.server_id);
}

Result<LocalItem> Client::itemById(std::int64_t local_id) {
  auto item = state_.item(local_id);
  if (!item) return fail(item.error());
  if (!*item)
    return fail(Errc::not_found,
                "no message " + std::to_string(local_id) + " (see `rampart device list`)");
  return **item;
}

// ---- read ----

Result<Message> Client::read(std::int64_t local_id) {
  auto item = itemById(local_id);
  if (!item) return fail(item.error());
  auto folders = state_.folders();
  if (!folders) return fail(folders.error());
  auto folder = std::find_if(folders->begin(), folders->end(), [&](const LocalFolder& f) {
    return f.folder.server_id == item->folder_id;
  });
  if (folder == folders->end())
    return fail(Errc::not_found, "the message's folder is gone; run sync");
  Message m;
  m.item = *item;
  m.folder_name = folder->folder.display_name;
  m.to = item->to;

  // A device with an S/MIME certificate fetches every message whole (Type 4)
  // and opens it itself: S/MIME and rights protection live inside the MIME.
  MessageSecurity sec = security();
  if (sec.hasIdentity()) {
    auto opened = readSecure(sec, *item, std::move(m));
    if (!opened) return fail(opened.error());
    m = std::move(*opened);
    return markRead(local_id, *folder, *item, std::move(m));
  }

  // ItemOperations Fetch (MS-ASCMD 2.2.1.10), else Sync's Fetch (2.2.3.68).
  std::optional<EmailFields> fields;
  auto body = buildItemFetch(item->folder_id, item->server_id,
                             FetchOptions{false, versionAtLeast(account_.version, "14.1")});
  if (!body) return fail(body.error());
  auto doc = call("ItemOperations", *body);
  if (doc && *doc) {
    auto r = parseItemFetch(**doc);
    if (!r) return fail(r.error());
    if (r->status == 1 && r->fetch_status == 1)
      fields = r->fields;
    else if (r->status == 1 && r->fetch_status == 6) {
      return fail(Errc::not_found, "the server no longer has message " + std::to_string(local_id));
    }
  } else if (!doc && !(doc.error().is(Errc::unavailable) && last_http_ == 501)) {
    return fail(doc.error());
  }
  if (!fields) {
    std::vector<ServerItem> fetched;
    auto r = syncFolder(*folder, {}, {item->server_id}, &fetched);
    if (!r) return fail(r.error());
    for (const ServerItem& f : fetched) {
      if (f.server_id == item->server_id) fields = f.fields;
    }
    if (!fields)
      return fail(Errc::not_found, "the server did not return message " + std::to_string(local_id));
  }
  if (fields->to) m.to = *fields->to;
  if (fields->cc) m.cc = *fields->cc;
  if (fields->subject) m.item.subject = *fields->subject;
  if (fields->from) m.item.from = *fields->from;
  m.body = fields->body.value_or("");
  m.truncated = fields->body_truncated;
  // Signed mail can be checked without a certificate of one's own; for
  // encrypted or protected mail openMessage says what is missing.
  bool smime = fields->message_class && fields->message_class->rfind("IPM.Note.SMIME", 0) == 0;
  if (smime || fields->rights) {
    auto opened = readSecure(sec, *item, std::move(m));
    if (!opened) return fail(opened.error());
    m = std::move(*opened);
  }
  return markRead(local_id, *folder, *item, std::move(m));
}

Result<Message> Client::markRead(std::int64_t local_id, const LocalFolder& folder,
                                 const LocalItem& item_in, Message m) {
  const LocalItem* item = &item_in;
  if (!item->read) {
    // MS-ASCMD 2.2.3.24.2: Sync Change with email:Read 1, from the folder's
    // current key (a Sync Fetch above may have moved it on).
    LocalFolder current = folder;
    auto refreshed = state_.folders();
    if (!refreshed) return fail(refreshed.error());
    for (const auto& f : *refreshed) {
      if (f.folder.server_id == current.folder.server_id) current = f;
    }
    ClientChange c{ClientChange::Kind::mark_read, item->server_id, true};
    auto r = syncFolder(current, {c});
    if (!r) return fail(r.error());
    if (auto st = state_.setRead(local_id, true); !st) return fail(st.error());
    m.item.read = true;
  }
  return m;
}

// ---- S/MIME and rights (issue 6) ----

MessageSecurity Client::security() {
  RightsHttp http;
  http.get = [this](std::string_view path) -> Result<std::string> {
    auto reply = transport_.request(account_, path, {}, {});
    if (!reply) return fail(reply.error());
    if (reply->status == 401) return fail(Errc::unauthenticated, "authentication failed");
    if (reply->status != 200) {
      return fail(reply->status == 404 ? Errc::unavailable : Errc::protocol_error,
                  std::string(path) + ": HTTP " + std::to_string(reply->status) +
                      (reply->status == 404 ? " (no rights server behind this gateway?)" : ""));
    }
    return std::move(reply->body);
  };
  http.post = [this](std::string_view path, std::string_view body,
                     std::string_view content_type) -> Result<std::pair<int, std::string>> {
    auto reply = transport_.request(account_, path, body, content_type);
    if (!reply) return fail(reply.error());
    if (reply->status == 401) return fail(Errc::unauthenticated, "authentication failed");
    return std::pair<int, std::string>{reply->status, std::move(reply->body)};
  };
  auto store = CertStore::open(certDirFor(path_));
  // The certificate directory is made with the state file; failing to open
  // it leaves a MessageSecurity that has no identity (plain reads still work).
  return MessageSecurity(store ? std::move(*store) : CertStore::unopened(certDirFor(path_)),
                         std::move(http));
}

Result<Message> Client::readSecure(MessageSecurity& sec, const LocalItem& item, Message m) {
  auto body = buildItemFetch(item.folder_id, item.server_id,
                             FetchOptions{true, versionAtLeast(account_.version, "14.1")});
  if (!body) return fail(body.error());
  auto doc = call("ItemOperations", *body);
  if (!doc) return fail(doc.error());
  if (!*doc) return fail(Errc::protocol_error, "ItemOperations: empty response");
  auto r = parseItemFetch(**doc);
  if (!r) return fail(r.error());
  if (r->status != 1 || r->fetch_status != 1) {
    return fail(r->fetch_status == 6 ? Errc::not_found : Errc::protocol_error,
                "ItemOperations Fetch: Status " + std::to_string(r->status) + "/" +
                    std::to_string(r->fetch_status));
  }
  if (r->fields.body_type != 4 || !r->fields.body)
    return fail(Errc::protocol_error, "the server did not send the message's MIME (Type 4)");
  if (r->fields.body_truncated)
    return fail(Errc::limit_exceeded, "the server truncated the message's MIME");
  if (r->fields.subject) m.item.subject = *r->fields.subject;
  if (r->fields.from) m.item.from = *r->fields.from;
  if (r->fields.to) m.to = *r->fields.to;
  if (r->fields.cc) m.cc = *r->fields.cc;
  auto opened = sec.open(*r->fields.body, m.security);
  if (!opened) return fail(opened.error());
  mime::Bodies bodies = mime::extractBodies(*opened);
  m.body = !bodies.plain.empty() ? bodies.plain : mime::htmlToText(bodies.html);
  m.truncated = false;
  return m;
}

Result<std::vector<std::string>> Client::recipientCertificates(const std::vector<std::string>& to) {
  auto body = buildResolveRecipients(to);
  if (!body) return fail(body.error());
  auto doc = call("ResolveRecipients", *body);
  if (!doc) return fail(doc.error());
  if (!*doc) return fail(Errc::protocol_error, "ResolveRecipients: empty response");
  auto r = parseResolveRecipients(**doc);
  if (!r) return fail(r.error());
  if (r->status != 1)
    return fail(Errc::protocol_error, "ResolveRecipients: Status " + std::to_string(r->status));
  std::vector<std::string> certs;
  for (const std::string& address : to) {
    const ResolvedTo* found = nullptr;
    for (const auto& t : r->responses) {
      if (lower(t.to) == lower(address)) found = &t;
    }
    const ResolvedRecipient* rec = nullptr;
    if (found && found->status == 1) {
      for (const auto& one : found->recipients) {
        if (!one.certificates.empty()) rec = &one;
      }
    }
    if (!rec) {
      return fail(Errc::not_found, address + " has no S/MIME encryption certificate (ResolveRecipients " +
                                       (found ? "Status " + std::to_string(found->status) : "no answer") +
                                       "); send without --encrypt");
    }
    certs.push_back(rec->certificates.front());
  }
  return certs;
}

Result<std::vector<crypto::rights::Template>> Client::rightsTemplates() {
  return security().templates();
}

// ---- send, reply, forward ----

std::string Client::fromAddress() const {
  if (!account_.email.empty()) return account_.email;
  return account_.user;
}

Status Client::compose(ComposeRequest::Kind kind, const Draft& draft, const LocalItem* source,
                       const SecurityOptions& sec, bool replace_mime) {
  if (!versionAtLeast(account_.version, "14.0")) {
    return fail(Errc::unavailable, "sending needs protocol 14.0 or later (this account uses " +
                                       account_.version + ")");
  }
  ComposeRequest q;
  q.kind = kind;
  q.client_id = randomHex(16);
  if (source) {
    q.folder_id = source->folder_id;
    q.item_id = source->server_id;
  }
  q.mime = composeMime(draft);
  q.replace_mime = replace_mime;
  if (sec.sign || sec.encrypt || !sec.protect.empty()) {
    std::vector<std::string> recipients = draft.to;
    recipients.insert(recipients.end(), draft.cc.begin(), draft.cc.end());
    for (auto& r : recipients) r = bareAddress(r);
    std::vector<std::string> certs;
    if (sec.encrypt) {
      auto found = recipientCertificates(recipients);
      if (!found) return fail(found.error());
      certs = std::move(*found);
    }
    auto secured = security().secure(std::move(q.mime), sec, recipients, certs,
                                     static_cast<std::int64_t>(std::time(nullptr)));
    if (!secured) return fail(secured.error());
    q.mime = std::move(*secured);
  }
  auto body = buildCompose(q);
  if (!body) return fail(body.error());
  const char* cmd = kind == ComposeRequest::Kind::send    ? "SendMail"
                    : kind == ComposeRequest::Kind::reply ? "SmartReply"
                                                          : "SmartForward";
  auto doc = call(cmd, *body);
  if (!doc) return fail(doc.error());
  if (!*doc) return {};  // MS-ASCMD 2.2.1.17.2: success is an empty body
  auto status = parseComposeStatus(**doc);
  if (!status) return fail(status.error());
  if (*status != 1) return fail(Errc::protocol_error, statusError(cmd, *status));
  return {};
}

namespace {

Draft draftFor(std::string from) {
  Draft d;
  d.from = std::move(from);
  d.date = rfc5322Date();
  std::string domain = d.from.find('@') != std::string::npos ? d.from.substr(d.from.find('@') + 1)
                                                             : "rampart.invalid";
  d.message_id = "<" + randomHex(12) + "@" + domain + ">";
  return d;
}

std::string prefixed(std::string_view prefix, const std::string& subject) {
  if (lower(subject).rfind(lower(prefix), 0) == 0) return subject;
  return std::string(prefix) + subject;
}

}  // namespace

Status Client::send(const Outgoing& message) {
  if (message.to.empty()) return fail(Errc::invalid_argument, "no recipient (--to)");
  Draft d = draftFor(fromAddress());
  d.to = message.to;
  d.cc = message.cc;
  d.subject = message.subject;
  d.body = message.body;
  return compose(ComposeRequest::Kind::send, d, nullptr, message.security);
}

namespace {

// "> " before every line of the original, after a blank line.
std::string quoted(const std::string& body, const std::string& from) {
  std::string out = "\r\n\r\n" + from + " wrote:\r\n";
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('\n', start);
    std::string line = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out += "> " + line + "\r\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

// The original's rights, when it is protected and this device can open it.
// A device without an S/MIME identity cannot, and leaves the decision to the
// server (which refuses SmartForward of a Do-Not-Forward message itself).
Status Client::relay(ComposeRequest::Kind kind, const LocalItem& item, Draft d,
                     const RelayOptions& options) {
  bool forward = kind == ComposeRequest::Kind::forward;
  MessageSecurity sec = security();
  if (!options.ignore_rights && sec.hasIdentity()) {
    auto original = readSecure(sec, item, Message{});
    if (!original) return fail(original.error());
    if (original->security.rights) {
      const auto& lic = *original->security.rights;
      std::uint32_t need = forward ? crypto::rights::kForward : crypto::rights::kReply;
      if ((lic.rights & need) == 0) {
        return fail(Errc::permission_denied,
                    std::string(forward ? "forwarding" : "replying to") + " this message is not allowed: its rights (" +
                        lic.template_name + ": " + crypto::rights::rightsText(lic.rights) + ") are set by " +
                        lic.owner);
      }
      // The reply or forward carries the original inside, protected with the
      // same template; the server must not append the original itself.
      d.body += quoted(original->body, item.from);
      SecurityOptions protect = options.security;
      protect.protect = lic.template_id;
      return compose(kind, d, &item, protect, true);
    }
  }
  return compose(kind, d, &item, options.security);
}

Status Client::reply(std::int64_t local_id, const std::string& body, const RelayOptions& options) {
  auto item = itemById(local_id);
  if (!item) return fail(item.error());
  if (item->from.empty())
    return fail(Errc::invalid_argument, "message " + std::to_string(local_id) + " has no sender");
  Draft d = draftFor(fromAddress());
  d.to = {item->from};
  d.subject = prefixed("Re: ", item->subject);
  d.body = body;
  // MS-ASCMD 2.2.1.20: the server appends the original (no ReplaceMime).
  return relay(ComposeRequest::Kind::reply, *item, std::move(d), options);
}

Status Client::forward(std::int64_t local_id, const std::vector<std::string>& to,
                       const std::string& body, const RelayOptions& options) {
  if (to.empty()) return fail(Errc::invalid_argument, "no recipient (--to)");
  auto item = itemById(local_id);
  if (!item) return fail(item.error());
  Draft d = draftFor(fromAddress());
  d.to = to;
  d.subject = prefixed("Fw: ", item->subject);
  d.body = body;
  return relay(ComposeRequest::Kind::forward, *item, std::move(d), options);
}

// ---- move, delete ----

Status Client::move(std::int64_t local_id, const std::string& to_folder) {
  auto item = itemById(local_id);
  if (!item) return fail(item.error());
  auto dst = folderByName(to_folder);
  if (!dst) return fail(dst.error());
  if (dst->folder.server_id == item->folder_id)
    return fail(Errc::invalid_argument, "the message is already there");
  auto body = buildMoveItems(item->server_id, item->folder_id, dst->folder.server_id);
  if (!body) return fail(body.error());
  auto doc = call("MoveItems", *body);
  if (!doc) return fail(doc.error());
  if (!*doc) return fail(Errc::protocol_error, "MoveItems: empty response");
  auto r = parseMoveItems(**doc);
  if (!r) return fail(r.error());
  // MS-ASCMD 2.2.3.177.9: 3 is success; 1 the source is gone, 2 bad destination.
  if (r->status != 3) {
    std::string why = r->status == 1   ? " (the message or its folder no longer exists; run sync)"
                      : r->status == 2 ? " (bad destination folder)"
                      : r->status == 4 ? " (same folder)"
                                       : "";
    return fail(Errc::protocol_error, statusError("MoveItems", r->status) + why);
  }
  std::string new_id = r->new_id.empty() ? item->server_id : r->new_id;
  return state_.moveItem(local_id, dst->folder.server_id, new_id);
}

Status Client::remove(std::int64_t local_id) {
  auto item = itemById(local_id);
  if (!item) return fail(item.error());
  auto folders = state_.folders();
  if (!folders) return fail(folders.error());
  auto folder = std::find_if(folders->begin(), folders->end(), [&](const LocalFolder& f) {
    return f.folder.server_id == item->folder_id;
  });
  if (folder == folders->end())
    return fail(Errc::not_found, "the message's folder is gone; run sync");
  if (folder->sync_key == "0") return fail(Errc::invalid_argument, "sync the folder first");
  ClientChange c{ClientChange::Kind::delete_item, item->server_id, false};
  auto r = syncFolder(*folder, {c});
  if (!r) return fail(r.error());
  return state_.removeItem(local_id);
}

// ---- watch ----

Status Client::watch(const WatchOptions& o,
                     const std::function<void(const SyncReport&, const LocalItem&)>& on_new) {
  std::vector<std::string> names =
      o.folders.empty() ? std::vector<std::string>{"Inbox"} : o.folders;
  std::vector<LocalFolder> watched;
  for (const std::string& n : names) {
    auto f = folderByName(n);
    if (!f) return fail(f.error());
    // Bring the folder up to date first: what is already there is not new.
    auto r = syncFolder(*f, {});
    if (!r) return fail(r.error());
    watched.push_back(*f);
  }
  std::uint32_t heartbeat = std::clamp<std::uint32_t>(o.heartbeat, 1, 3540);
  std::string names_line;
  for (const LocalFolder& f : watched)
    names_line += (names_line.empty() ? "" : ", ") + f.folder.display_name;
  say("watching " + names_line + " (heartbeat " + std::to_string(heartbeat) + " s)");
  std::size_t seen = 0;
  int failures = 0;
  for (;;) {
    std::vector<PingFolder> pf;
    for (const LocalFolder& f : watched) pf.push_back(PingFolder{f.folder.server_id, "Email"});
    auto body = buildPing(heartbeat, pf);
    if (!body) return fail(body.error());
    auto doc = call("Ping", *body, std::chrono::seconds(heartbeat + 60));
    if (!doc) return fail(doc.error());
    PingResult r;
    if (!*doc) {
      r.status = 1;  // nothing to report
    } else {
      auto parsed = parsePing(**doc);
      if (!parsed) return fail(parsed.error());
      r = std::move(*parsed);
    }
    // MS-ASCMD 2.2.3.177.11.
    switch (r.status) {
      case 1:  // the heartbeat expired without changes
        failures = 0;
        continue;
      case 2: {
        failures = 0;
        for (const std::string& id : r.changed) {
          auto folders = state_.folders();
          if (!folders) return fail(folders.error());
          auto it = std::find_if(folders->begin(), folders->end(),
                                 [&](const LocalFolder& f) { return f.folder.server_id == id; });
          if (it == folders->end()) continue;
          auto report = syncFolder(*it, {});
          if (!report) return fail(report.error());
          for (const LocalItem& item : report->added) {
            on_new(*report, item);
            if (o.count && ++seen >= *o.count) return {};
          }
        }
        continue;
      }
      case 3:  // the server wants the full parameters: we always send them
        if (++failures > kMaxRetries) return fail(Errc::protocol_error, statusError("Ping", 3));
        continue;
      case 5:  // heartbeat out of range: the server says which to use
        if (!r.heartbeat || *r.heartbeat == heartbeat || ++failures > kMaxRetries) {
          return fail(Errc::protocol_error,
                      "Ping: the server refuses heartbeat " + std::to_string(heartbeat));
        }
        say("Ping: heartbeat " + std::to_string(heartbeat) + " s refused, using " +
            std::to_string(*r.heartbeat) + " s");
        heartbeat = std::clamp<std::uint32_t>(*r.heartbeat, 1, 3540);
        continue;
      case 6:  // too many folders
        if (!r.max_folders || *r.max_folders == 0 || watched.size() <= *r.max_folders ||
            ++failures > kMaxRetries) {
          return fail(Errc::protocol_error, "Ping: too many folders (Status 6)");
        }
        say("Ping: the server allows " + std::to_string(*r.max_folders) + " folders");
        watched.resize(*r.max_folders);
        continue;
      case 7:  // the hierarchy changed
        if (++failures > kMaxRetries) return fail(Errc::protocol_error, statusError("Ping", 7));
        if (auto st = folderSync(); !st) return st;
        continue;
      case 8: {  // server error: back off, then try again
        if (++failures > kMaxRetries) return fail(Errc::protocol_error, statusError("Ping", 8));
        say("Ping: server error, retrying in 5 s");
        std::this_thread::sleep_for(std::chrono::seconds(5));
        continue;
      }
      default:
        return fail(Errc::protocol_error, statusError("Ping", r.status));
    }
  }
}

}  // namespace rampart::device
