#include "codec/eas/sync_request.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace rampart::eas {
namespace {

constexpr std::uint8_t kAirSync = 0;
constexpr std::uint8_t kEmail = 2;
constexpr std::uint8_t kAirSyncBase = 17;
constexpr std::uint8_t kRightsManagement = 24;

bool is(const wbxml::Element& e, std::uint8_t page, std::string_view name) {
  return e.page == page && e.name == name;
}

tl::unexpected<Error> bad(std::string_view element, std::string_view what) {
  return fail(Errc::invalid_argument, std::string(element) + ": " + std::string(what));
}
tl::unexpected<Error> tooMany(std::string_view element, std::string_view what) {
  return fail(Errc::limit_exceeded, std::string(element) + ": " + std::string(what));
}

// A decimal uint32 made of digits only (MS-ASDTYPE 2.6 unsignedInt/integer).
Result<std::uint32_t> number(const wbxml::Element& e, std::string_view name) {
  std::string_view t = e.text;
  if (t.empty() || t.size() > 10 || !e.children.empty()) return bad(name, "not a number");
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) return bad(name, "not a number");
  return v;
}

Result<bool> boolean(const wbxml::Element& e, std::string_view name) {
  // MS-ASDTYPE 2.1 boolean: "0" or "1"; an empty element counts as present
  // (GetChanges and DeletesAsMoves are also sent empty by some clients).
  if (e.text.empty() && e.children.empty()) return true;
  auto v = number(e, name);
  if (!v || *v > 1) return bad(name, "not a boolean");
  return *v == 1;
}

Result<std::string> text(const wbxml::Element& e, std::string_view name, std::size_t max) {
  if (!e.children.empty()) return bad(name, "unexpected children");
  if (e.text.size() > max) return tooMany(name, "too long");
  return e.text;
}

Result<SyncOptions> decodeOptions(const wbxml::Element& options) {
  SyncOptions o;
  auto prefs = decodeBodyPreferences(options);
  if (!prefs) return fail(prefs.error());
  o.body_preferences = std::move(*prefs);
  for (const wbxml::Element& c : options.children) {
    if (is(c, kAirSync, "FilterType")) {
      auto v = number(c, "Sync:FilterType");
      if (!v) return fail(v.error());
      if (*v > 8) return bad("Sync:FilterType", "out of range");
      o.filter_type = static_cast<int>(*v);
    } else if (is(c, kAirSync, "MIMESupport")) {
      auto v = number(c, "Sync:MIMESupport");
      if (!v) return fail(v.error());
      if (*v > 2) return bad("Sync:MIMESupport", "out of range");
      o.mime_support = static_cast<int>(*v);
    } else if (is(c, kAirSync, "MIMETruncation")) {
      auto v = number(c, "Sync:MIMETruncation");
      if (!v) return fail(v.error());
      if (*v > 8) return bad("Sync:MIMETruncation", "out of range");
      o.mime_truncation = static_cast<int>(*v);
    } else if (is(c, kAirSync, "Conflict")) {
      auto v = number(c, "Sync:Conflict");
      if (!v) return fail(v.error());
      if (*v > 1) return bad("Sync:Conflict", "out of range");
      o.conflict = static_cast<int>(*v);
    } else if (is(c, kRightsManagement, "RightsManagementSupport")) {
      // MS-ASRM 2.2.2.15: a boolean, 0 or 1.
      auto v = number(c, "RightsManagement:RightsManagementSupport");
      if (!v) return fail(v.error());
      if (*v > 1) return bad("RightsManagement:RightsManagementSupport", "not a boolean");
      o.rights_management_support = *v == 1;
    }
    // Other options (MaxItems, BodyPartPreference, Truncation of 2.5) do not
    // change what this server sends for email.
  }
  return o;
}

Result<SyncClientCommand> decodeCommand(const wbxml::Element& op) {
  SyncClientCommand cmd;
  std::string_view name = op.name;
  if (name == "Add") {
    cmd.kind = SyncClientCommand::Kind::add;
  } else if (name == "Change") {
    cmd.kind = SyncClientCommand::Kind::change;
  } else if (name == "Delete") {
    cmd.kind = SyncClientCommand::Kind::remove;
  } else if (name == "Fetch") {
    cmd.kind = SyncClientCommand::Kind::fetch;
  } else {
    return bad("Sync:Commands", "unknown operation");
  }
  bool has_server_id = false;
  for (const wbxml::Element& c : op.children) {
    if (is(c, kAirSync, "ServerId")) {
      if (has_server_id) return bad("Sync:ServerId", "duplicate");
      auto v = text(c, "Sync:ServerId", kMaxServerIdLength);
      if (!v) return fail(v.error());
      cmd.server_id = std::move(*v);
      has_server_id = true;
    } else if (is(c, kAirSync, "ClientId")) {
      auto v = text(c, "Sync:ClientId", kMaxServerIdLength);
      if (!v) return fail(v.error());
      cmd.client_id = std::move(*v);
    } else if (is(c, kAirSync, "ApplicationData") && cmd.kind == SyncClientCommand::Kind::change) {
      for (const wbxml::Element& p : c.children) {
        if (is(p, kEmail, "Read")) {
          auto v = boolean(p, "Email:Read");
          if (!v) return fail(v.error());
          cmd.read = *v;
        } else if (is(p, kEmail, "Flag")) {
          SyncFlag flag;  // empty Flag: cleared (MS-ASEMAIL 2.2.2.34)
          for (const wbxml::Element& f : p.children) {
            if (is(f, kEmail, "Status")) {
              auto v = number(f, "Email:Status");
              if (!v) return fail(v.error());
              if (*v > 2) return bad("Email:Status", "out of range");
              flag.status = static_cast<int>(*v);
            }
          }
          cmd.flag = flag;
        }
      }
    }
  }
  if (cmd.kind == SyncClientCommand::Kind::add) {
    if (cmd.client_id.empty()) return bad("Sync:Add", "no ClientId");
  } else if (!has_server_id || cmd.server_id.empty()) {
    return bad("Sync:" + std::string(name), "no ServerId");
  }
  return cmd;
}

Result<SyncCollectionRequest> decodeCollection(const wbxml::Element& col) {
  SyncCollectionRequest r;
  bool has_key = false, has_id = false;
  for (const wbxml::Element& c : col.children) {
    if (c.page != kAirSync) continue;
    if (c.name == "SyncKey") {
      if (has_key) return bad("Sync:SyncKey", "duplicate");
      auto v = text(c, "Sync:SyncKey", kMaxSyncKeyLength);
      if (!v) return fail(v.error());
      r.sync_key = std::move(*v);
      has_key = true;
    } else if (c.name == "CollectionId") {
      if (has_id) return bad("Sync:CollectionId", "duplicate");
      auto v = text(c, "Sync:CollectionId", kMaxServerIdLength);
      if (!v) return fail(v.error());
      r.collection_id = std::move(*v);
      has_id = true;
    } else if (c.name == "GetChanges") {
      auto v = boolean(c, "Sync:GetChanges");
      if (!v) return fail(v.error());
      r.get_changes = *v;
    } else if (c.name == "DeletesAsMoves") {
      auto v = boolean(c, "Sync:DeletesAsMoves");
      if (!v) return fail(v.error());
      r.deletes_as_moves = *v;
    } else if (c.name == "WindowSize") {
      auto v = number(c, "Sync:WindowSize");
      if (!v) return fail(v.error());
      r.window_size = std::clamp<std::uint32_t>(*v, 1, kMaxWindowSize);
    } else if (c.name == "Options") {
      // Several Options are allowed, one per Class (MS-ASCMD 2.2.3.125.6,
      // e.g. SMS next to email in 14.0+); email takes the one without a
      // Class or with Class Email.
      const wbxml::Element* cls = nullptr;
      for (const wbxml::Element& o : c.children) {
        if (is(o, kAirSync, "Class")) cls = &o;
      }
      if (r.options || (cls != nullptr && cls->text != "Email")) continue;
      auto o = decodeOptions(c);
      if (!o) return fail(o.error());
      r.options = std::move(*o);
    } else if (c.name == "Commands") {
      if (!r.commands.empty()) return bad("Sync:Commands", "duplicate");
      if (c.children.size() > kMaxSyncCommands) return tooMany("Sync:Commands", "too many");
      r.commands.reserve(c.children.size());
      for (const wbxml::Element& op : c.children) {
        auto cmd = decodeCommand(op);
        if (!cmd) return fail(cmd.error());
        r.commands.push_back(std::move(*cmd));
      }
    }
  }
  if (!has_key || r.sync_key.empty()) return bad("Sync:Collection", "no SyncKey");
  if (!has_id || r.collection_id.empty()) return bad("Sync:Collection", "no CollectionId");
  return r;
}

}  // namespace

Result<std::vector<BodyPreference>> decodeBodyPreferences(const wbxml::Element& options) {
  std::vector<BodyPreference> prefs;
  for (const wbxml::Element& c : options.children) {
    if (!is(c, kAirSyncBase, "BodyPreference")) continue;
    if (prefs.size() == kMaxBodyPreferences) {
      return tooMany("AirSyncBase:BodyPreference", "too many");
    }
    BodyPreference p;
    bool has_type = false;
    for (const wbxml::Element& f : c.children) {
      if (f.page != kAirSyncBase) continue;
      if (f.name == "Type") {
        auto v = number(f, "AirSyncBase:Type");
        if (!v) return fail(v.error());
        if (*v < 1 || *v > 4) return bad("AirSyncBase:Type", "out of range");
        p.type = static_cast<int>(*v);
        has_type = true;
      } else if (f.name == "TruncationSize") {
        auto v = number(f, "AirSyncBase:TruncationSize");
        if (!v) return fail(v.error());
        p.truncation_size = *v;
      } else if (f.name == "AllOrNone") {
        auto v = boolean(f, "AirSyncBase:AllOrNone");
        if (!v) return fail(v.error());
        p.all_or_none = *v;
      } else if (f.name == "Preview") {
        auto v = number(f, "AirSyncBase:Preview");
        if (!v) return fail(v.error());
        if (*v > 255) return bad("AirSyncBase:Preview", "over 255");
        p.preview = *v;
      }
    }
    if (!has_type) return bad("AirSyncBase:BodyPreference", "no Type");
    prefs.push_back(p);
  }
  return prefs;
}

Result<SyncRequest> decodeSyncRequest(const wbxml::Document& doc) {
  const wbxml::Element& root = doc.root;
  if (!is(root, kAirSync, "Sync")) return bad("Sync", "root is not AirSync:Sync");
  SyncRequest r;
  bool has_collections = false;
  for (const wbxml::Element& c : root.children) {
    if (c.page != kAirSync) continue;
    if (c.name == "Collections") {
      if (has_collections) return bad("Sync:Collections", "duplicate");
      has_collections = true;
      std::size_t count = 0;
      for (const wbxml::Element& col : c.children) {
        if (!is(col, kAirSync, "Collection")) continue;
        if (++count > kMaxSyncCollections) return tooMany("Sync:Collections", "too many");
        auto decoded = decodeCollection(col);
        if (!decoded) return fail(decoded.error());
        r.collections.push_back(std::move(*decoded));
      }
    } else if (c.name == "Wait") {
      auto v = number(c, "Sync:Wait");
      if (!v) return fail(v.error());
      r.wait_minutes = *v;
    } else if (c.name == "HeartbeatInterval") {
      auto v = number(c, "Sync:HeartbeatInterval");
      if (!v) return fail(v.error());
      r.heartbeat_seconds = *v;
    } else if (c.name == "WindowSize") {
      auto v = number(c, "Sync:WindowSize");
      if (!v) return fail(v.error());
      r.window_size = std::clamp<std::uint32_t>(*v, 1, kMaxWindowSize);
    } else if (c.name == "Partial") {
      r.partial = true;
    }
  }
  if (r.wait_minutes && r.heartbeat_seconds) {
    return bad("Sync", "both Wait and HeartbeatInterval");  // 2.2.3.198: mutually exclusive
  }
  return r;
}

}  // namespace rampart::eas
