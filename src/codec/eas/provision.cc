// Provision command bodies (MS-ASPROV 2.2.2, 3.1.5.1, 3.2.5.1). See provision.h.
#include "codec/eas/provision.h"

#include <charconv>
#include <limits>
#include <string>
#include <utility>

#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/writer.h"

namespace rampart::eas {
namespace {

using wbxml::Element;
using wbxml::ProtocolVersion;

constexpr std::uint8_t kProvisionPage = 14;  // [MS-ASWBXML] 2.1.2.1.15
constexpr std::uint8_t kSettingsPage = 18;   // [MS-ASWBXML] 2.1.2.1.19
constexpr std::string_view kProvisionNs = "Provision";
constexpr std::string_view kSettingsNs = "Settings";

// "Provision:PolicyKey", or "(page 14, token 0x3f)" for a tag no page names.
std::string qualified(const Element& e) {
  std::string_view ns = wbxml::pageNamespace(e.page);
  if (e.name.empty()) {
    return "unknown tag (page " + std::to_string(e.page) + ", token " + std::to_string(e.token) +
           ")";
  }
  return std::string(ns.empty() ? "?" : ns) + ":" + std::string(e.name);
}

bool is(const Element& e, std::uint8_t page, std::string_view name) {
  return e.page == page && e.name == name;
}

tl::unexpected<Error> unexpected(const Element& child, const Element& parent) {
  return fail(Errc::invalid_argument,
              "unexpected element " + qualified(child) + " in " + qualified(parent));
}
tl::unexpected<Error> duplicate(const Element& child) {
  return fail(Errc::invalid_argument, "duplicate element " + qualified(child));
}

// The text of a leaf element: no children, no opaque data, at most max bytes.
Result<std::string> leafText(const Element& e, std::size_t max) {
  if (!e.children.empty()) {
    return fail(Errc::invalid_argument, qualified(e) + " must not have child elements");
  }
  if (!e.opaque.empty())
    return fail(Errc::invalid_argument, qualified(e) + " must not carry opaque data");
  if (e.text.size() > max) {
    return fail(Errc::limit_exceeded,
                qualified(e) + " is longer than " + std::to_string(max) + " bytes");
  }
  return e.text;
}

// A decimal integer in [lo, hi]: optional '-' only when lo < 0, digits only.
Result<std::int64_t> leafInteger(const Element& e, std::int64_t lo, std::int64_t hi) {
  auto text = leafText(e, 20);
  if (!text) return fail(Errc::invalid_argument, qualified(e) + " is not a number");
  const std::string& s = *text;
  std::int64_t value = 0;
  bool ok = !s.empty() && (s[0] != '-' || lo < 0) && s[0] != '+';
  if (ok) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    ok = ec == std::errc() && ptr == s.data() + s.size();
  }
  if (!ok || value < lo || value > hi) {
    return fail(Errc::invalid_argument, qualified(e) + " must be a number from " +
                                            std::to_string(lo) + " to " + std::to_string(hi));
  }
  return value;
}

Result<std::uint8_t> leafByte(const Element& e, std::int64_t lo = 0, std::int64_t hi = 255) {
  auto v = leafInteger(e, lo, hi);
  if (!v) return fail(v.error());
  return static_cast<std::uint8_t>(*v);
}

// MS-ASPROV 2.2.2.42: a string of at most 64 characters that SHOULD be a
// 32-bit unsigned integer; we issue only such keys and accept only them.
Result<std::uint32_t> leafPolicyKey(const Element& e, const ProvisionLimits& limits) {
  auto text = leafText(e, limits.max_policy_key);
  if (!text) return fail(text.error());
  std::uint32_t key = 0;
  const std::string& s = *text;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), key);
  if (s.empty() || s[0] == '+' || s[0] == '-' || ec != std::errc() || ptr != s.data() + s.size()) {
    return fail(Errc::invalid_argument, qualified(e) + " is not a 32-bit unsigned number");
  }
  return key;
}

Result<bool> leafBool(const Element& e) {
  auto v = leafInteger(e, 0, 1);
  if (!v) return fail(v.error());
  return *v == 1;
}

// ---------------------------------------------------------------- versions

std::optional<ProtocolVersion> protocolVersion(std::string_view v) {
  if (v == "12.1") return ProtocolVersion::v12_1;
  if (v == "14.0") return ProtocolVersion::v14_0;
  if (v == "14.1") return ProtocolVersion::v14_1;
  if (v == "16.0") return ProtocolVersion::v16_0;
  if (v == "16.1") return ProtocolVersion::v16_1;
  return std::nullopt;
}

bool atLeast(ProtocolVersion v, ProtocolVersion min) {
  return static_cast<std::uint8_t>(v) >= static_cast<std::uint8_t>(min);
}

bool tagIn(std::uint8_t page, std::string_view name, ProtocolVersion v) {
  const wbxml::TagInfo* t = wbxml::findTag(page, name);
  return t != nullptr && t->supportedIn(v);
}

// ---------------------------------------------------------------- EASProvisionDoc table

struct BoolSetting {
  std::string_view name;
  bool PolicySettings::*member;
};
struct IntSetting {
  std::string_view name;
  std::optional<std::int64_t> PolicySettings::*member;
  std::int64_t lo;
  std::int64_t hi;
};

constexpr std::int64_t kU32 = std::numeric_limits<std::uint32_t>::max();

constexpr BoolSetting kBools[] = {
    {"DevicePasswordEnabled", &PolicySettings::device_password_enabled},
    {"AlphanumericDevicePasswordRequired", &PolicySettings::alphanumeric_device_password_required},
    {"RequireStorageCardEncryption", &PolicySettings::require_storage_card_encryption},
    {"PasswordRecoveryEnabled", &PolicySettings::password_recovery_enabled},
    {"AttachmentsEnabled", &PolicySettings::attachments_enabled},
    {"AllowSimpleDevicePassword", &PolicySettings::allow_simple_device_password},
    {"AllowStorageCard", &PolicySettings::allow_storage_card},
    {"AllowCamera", &PolicySettings::allow_camera},
    {"RequireDeviceEncryption", &PolicySettings::require_device_encryption},
    {"AllowUnsignedApplications", &PolicySettings::allow_unsigned_applications},
    {"AllowUnsignedInstallationPackages", &PolicySettings::allow_unsigned_installation_packages},
    {"AllowWiFi", &PolicySettings::allow_wifi},
    {"AllowTextMessaging", &PolicySettings::allow_text_messaging},
    {"AllowPOPIMAPEmail", &PolicySettings::allow_pop_imap_email},
    {"AllowIrDA", &PolicySettings::allow_irda},
    {"RequireManualSyncWhenRoaming", &PolicySettings::require_manual_sync_when_roaming},
    {"AllowDesktopSync", &PolicySettings::allow_desktop_sync},
    {"AllowHTMLEmail", &PolicySettings::allow_html_email},
    {"RequireSignedSMIMEMessages", &PolicySettings::require_signed_smime_messages},
    {"RequireEncryptedSMIMEMessages", &PolicySettings::require_encrypted_smime_messages},
    {"AllowSMIMESoftCerts", &PolicySettings::allow_smime_soft_certs},
    {"AllowBrowser", &PolicySettings::allow_browser},
    {"AllowConsumerEmail", &PolicySettings::allow_consumer_email},
    {"AllowRemoteDesktop", &PolicySettings::allow_remote_desktop},
    {"AllowInternetSharing", &PolicySettings::allow_internet_sharing},
};

constexpr IntSetting kInts[] = {
    {"MinDevicePasswordLength", &PolicySettings::min_device_password_length, 0, kU32},
    {"MaxInactivityTimeDeviceLock", &PolicySettings::max_inactivity_time_device_lock, 0, kU32},
    {"MaxDevicePasswordFailedAttempts", &PolicySettings::max_device_password_failed_attempts, 0,
     kU32},
    {"MaxAttachmentSize", &PolicySettings::max_attachment_size, 0, kU32},
    {"DevicePasswordExpiration", &PolicySettings::device_password_expiration, 0, kU32},
    {"DevicePasswordHistory", &PolicySettings::device_password_history, 0, kU32},
    {"MinDevicePasswordComplexCharacters", &PolicySettings::min_device_password_complex_characters,
     0, kU32},
    {"AllowBluetooth", &PolicySettings::allow_bluetooth, 0, 2},
    {"MaxCalendarAgeFilter", &PolicySettings::max_calendar_age_filter, 0, kU32},
    {"MaxEmailAgeFilter", &PolicySettings::max_email_age_filter, 0, kU32},
    {"MaxEmailBodyTruncationSize", &PolicySettings::max_email_body_truncation_size, -1, kU32},
    {"MaxEmailHTMLBodyTruncationSize", &PolicySettings::max_email_html_body_truncation_size, -1,
     kU32},
    {"RequireSignedSMIMEAlgorithm", &PolicySettings::require_signed_smime_algorithm, 0, kU32},
    {"RequireEncryptionSMIMEAlgorithm", &PolicySettings::require_encryption_smime_algorithm, 0,
     kU32},
    {"AllowSMIMEEncryptionAlgorithmNegotiation",
     &PolicySettings::allow_smime_encryption_algorithm_negotiation, 0, kU32},
};

const BoolSetting* boolSetting(std::string_view name) {
  for (const BoolSetting& s : kBools) {
    if (s.name == name) return &s;
  }
  return nullptr;
}
const IntSetting* intSetting(std::string_view name) {
  for (const IntSetting& s : kInts) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// ---------------------------------------------------------------- writing helpers

void leaf(wbxml::Writer& w, std::string_view ns, std::string_view name, std::string_view text) {
  w.start(ns, name);
  w.content(text);
  w.end();
}
void empty(wbxml::Writer& w, std::string_view ns, std::string_view name) {
  w.start(ns, name);
  w.end();
}

bool hasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

void writeSettings(wbxml::Writer& w, const PolicySettings& s, ProtocolVersion v) {
  w.start(kProvisionNs, "EASProvisionDoc");
  // Walk the code page so the elements go out in token order.
  for (const wbxml::TagInfo& t : wbxml::allTags()) {
    if (t.page != kProvisionPage || !t.supportedIn(v)) continue;
    if (const BoolSetting* b = boolSetting(t.name)) {
      leaf(w, kProvisionNs, t.name, s.*(b->member) ? "1" : "0");
    } else if (const IntSetting* i = intSetting(t.name)) {
      const auto& value = s.*(i->member);
      if (value) {
        leaf(w, kProvisionNs, t.name, std::to_string(*value));
      } else {
        empty(w, kProvisionNs, t.name);
      }
    } else if (t.name == "UnapprovedInROMApplicationList") {
      w.start(kProvisionNs, t.name);
      for (const std::string& app : s.unapproved_in_rom_applications) {
        leaf(w, kProvisionNs, "ApplicationName", app);
      }
      w.end();
    } else if (t.name == "ApprovedApplicationList") {
      w.start(kProvisionNs, t.name);
      for (const std::string& hash : s.approved_application_hashes)
        leaf(w, kProvisionNs, "Hash", hash);
      w.end();
    }
  }
  w.end();
}

Status checkSettings(const PolicySettings& s, const ProvisionLimits& limits) {
  for (const IntSetting& i : kInts) {
    const auto& value = s.*(i.member);
    if (value && (*value < i.lo || *value > i.hi)) {
      return fail(Errc::invalid_argument, "Provision:" + std::string(i.name) + " out of range");
    }
  }
  for (const auto* list : {&s.unapproved_in_rom_applications, &s.approved_application_hashes}) {
    if (list->size() > limits.max_list_entries) {
      return fail(Errc::invalid_argument, "EASProvisionDoc list has too many entries");
    }
    for (const std::string& entry : *list) {
      if (entry.size() > limits.max_list_string || hasNul(entry)) {
        return fail(Errc::invalid_argument, "EASProvisionDoc list entry too long or holds NUL");
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------- reading parts

Result<DeviceInformation> readDeviceInformation(const Element& info,
                                                const ProvisionLimits& limits) {
  // MS-ASPROV 2.2.2.53: DeviceInformation{Set{...}} in a request.
  if (!info.text.empty() || !info.opaque.empty()) {
    return fail(Errc::invalid_argument, qualified(info) + " must not carry text");
  }
  if (info.children.size() != 1 || !is(info.children[0], kSettingsPage, "Set")) {
    if (info.children.empty())
      return fail(Errc::invalid_argument, "Settings:DeviceInformation without Settings:Set");
    for (const Element& c : info.children) {
      if (!is(c, kSettingsPage, "Set")) return unexpected(c, info);
    }
    return duplicate(info.children[1]);
  }
  const Element& set = info.children[0];
  if (!set.text.empty() || !set.opaque.empty()) {
    return fail(Errc::invalid_argument, qualified(set) + " must not carry text");
  }
  DeviceInformation out;
  using StringField = std::optional<std::string> DeviceInformation::*;
  struct Field {
    std::string_view name;
    StringField member;
  };
  static constexpr Field kFields[] = {
      {"Model", &DeviceInformation::model},
      {"IMEI", &DeviceInformation::imei},
      {"FriendlyName", &DeviceInformation::friendly_name},
      {"OS", &DeviceInformation::os},
      {"OSLanguage", &DeviceInformation::os_language},
      {"PhoneNumber", &DeviceInformation::phone_number},
      {"UserAgent", &DeviceInformation::user_agent},
      {"MobileOperator", &DeviceInformation::mobile_operator},
  };
  for (const Element& c : set.children) {
    if (c.page != kSettingsPage) return unexpected(c, set);
    if (c.name == "EnableOutboundSMS") {
      if (out.enable_outbound_sms) return duplicate(c);
      auto v = leafBool(c);
      if (!v) return fail(v.error());
      out.enable_outbound_sms = *v;
      continue;
    }
    const Field* field = nullptr;
    for (const Field& f : kFields) {
      if (c.name == f.name) field = &f;
    }
    if (field == nullptr) return unexpected(c, set);
    if (out.*(field->member)) return duplicate(c);
    auto text = leafText(c, limits.max_device_string);
    if (!text) return fail(text.error());
    out.*(field->member) = std::move(*text);
  }
  return out;
}

// A container: no text or opaque data of its own.
Status checkContainer(const Element& e) {
  if (!e.text.empty() || !e.opaque.empty()) {
    return fail(Errc::invalid_argument, qualified(e) + " must not carry text");
  }
  return {};
}

// RemoteWipe{Status} / AccountOnlyRemoteWipe{Status} in a request (2.2.2.45, 2.2.2.1).
Result<std::uint8_t> readWipeAck(const Element& wipe) {
  if (auto ok = checkContainer(wipe); !ok) return fail(ok.error());
  std::optional<std::uint8_t> status;
  for (const Element& c : wipe.children) {
    if (!is(c, kProvisionPage, "Status")) return unexpected(c, wipe);
    if (status) return duplicate(c);
    auto v = leafByte(c);
    if (!v) return fail(v.error());
    status = *v;
  }
  if (!status) return fail(Errc::invalid_argument, qualified(wipe) + " without Provision:Status");
  return *status;
}

// Policies{Policy{...}}: exactly one Policy (we offer one policy type).
Result<const Element*> onlyPolicy(const Element& policies) {
  if (auto ok = checkContainer(policies); !ok) return fail(ok.error());
  const Element* policy = nullptr;
  for (const Element& c : policies.children) {
    if (!is(c, kProvisionPage, "Policy")) return unexpected(c, policies);
    if (policy != nullptr) return duplicate(c);
    policy = &c;
  }
  if (policy == nullptr)
    return fail(Errc::invalid_argument, "Provision:Policies without Provision:Policy");
  if (auto ok = checkContainer(*policy); !ok) return fail(ok.error());
  return policy;
}

Result<PolicyRequest> readPolicyRequest(const Element& policies, const ProvisionLimits& limits) {
  auto policy = onlyPolicy(policies);
  if (!policy) return fail(policy.error());
  PolicyRequest out;
  bool have_type = false;
  for (const Element& c : (*policy)->children) {
    if (is(c, kProvisionPage, "PolicyType")) {
      if (have_type) return duplicate(c);
      auto text = leafText(c, limits.max_policy_type);
      if (!text) return fail(text.error());
      out.policy_type = std::move(*text);
      have_type = true;
    } else if (is(c, kProvisionPage, "PolicyKey")) {
      if (out.policy_key) return duplicate(c);
      auto key = leafPolicyKey(c, limits);
      if (!key) return fail(key.error());
      out.policy_key = *key;
    } else if (is(c, kProvisionPage, "Status")) {
      if (out.status) return duplicate(c);
      auto v = leafByte(c);
      if (!v) return fail(v.error());
      out.status = *v;
    } else {
      return unexpected(c, **policy);
    }
  }
  // MS-ASCMD 3.1.5.1 / MS-ASPROV 2.2.2.41: PolicyType is required.
  if (!have_type)
    return fail(Errc::invalid_argument, "Provision:Policy without Provision:PolicyType");
  return out;
}

Result<PolicySettings> readSettings(const Element& doc, const ProvisionLimits& limits) {
  if (auto ok = checkContainer(doc); !ok) return fail(ok.error());
  PolicySettings out;
  std::vector<std::uint8_t> seen;
  for (const Element& c : doc.children) {
    if (c.page != kProvisionPage) return unexpected(c, doc);
    for (std::uint8_t t : seen) {
      if (t == c.token) return duplicate(c);
    }
    seen.push_back(c.token);
    if (const BoolSetting* b = boolSetting(c.name)) {
      // An empty element means "not set" (3.2.5.1.1): keep our default.
      if (c.text.empty() && c.children.empty() && c.opaque.empty()) continue;
      auto v = leafBool(c);
      if (!v) return fail(v.error());
      out.*(b->member) = *v;
    } else if (const IntSetting* i = intSetting(c.name)) {
      if (c.text.empty() && c.children.empty() && c.opaque.empty()) {
        out.*(i->member) = std::nullopt;
        continue;
      }
      auto v = leafInteger(c, i->lo, i->hi);
      if (!v) return fail(v.error());
      out.*(i->member) = *v;
    } else if (c.name == "UnapprovedInROMApplicationList" || c.name == "ApprovedApplicationList") {
      if (auto ok = checkContainer(c); !ok) return fail(ok.error());
      bool apps = c.name == "UnapprovedInROMApplicationList";
      std::string_view item = apps ? "ApplicationName" : "Hash";
      auto& list = apps ? out.unapproved_in_rom_applications : out.approved_application_hashes;
      for (const Element& entry : c.children) {
        if (!is(entry, kProvisionPage, item)) return unexpected(entry, c);
        if (list.size() >= limits.max_list_entries) {
          return fail(Errc::limit_exceeded, qualified(c) + " has more than " +
                                                std::to_string(limits.max_list_entries) +
                                                " entries");
        }
        auto text = leafText(entry, limits.max_list_string);
        if (!text) return fail(text.error());
        list.push_back(std::move(*text));
      }
    } else {
      return unexpected(c, doc);
    }
  }
  return out;
}

Result<PolicyResponse> readPolicyResponse(const Element& policies, const ProvisionLimits& limits) {
  auto policy = onlyPolicy(policies);
  if (!policy) return fail(policy.error());
  PolicyResponse out;
  bool have_type = false;
  bool have_status = false;
  for (const Element& c : (*policy)->children) {
    if (is(c, kProvisionPage, "PolicyType")) {
      if (have_type) return duplicate(c);
      auto text = leafText(c, limits.max_policy_type);
      if (!text) return fail(text.error());
      out.policy_type = std::move(*text);
      have_type = true;
    } else if (is(c, kProvisionPage, "Status")) {
      if (have_status) return duplicate(c);
      auto v = leafByte(c);
      if (!v) return fail(v.error());
      out.status = *v;
      have_status = true;
    } else if (is(c, kProvisionPage, "PolicyKey")) {
      if (out.policy_key) return duplicate(c);
      auto key = leafPolicyKey(c, limits);
      if (!key) return fail(key.error());
      out.policy_key = *key;
    } else if (is(c, kProvisionPage, "Data")) {
      if (out.settings) return duplicate(c);
      // 2.2.2.24.1: Data holds exactly one EASProvisionDoc.
      if (auto ok = checkContainer(c); !ok) return fail(ok.error());
      if (c.children.size() != 1 || !is(c.children[0], kProvisionPage, "EASProvisionDoc")) {
        if (c.children.empty())
          return fail(Errc::invalid_argument, "Provision:Data without EASProvisionDoc");
        for (const Element& d : c.children) {
          if (!is(d, kProvisionPage, "EASProvisionDoc")) return unexpected(d, c);
        }
        return duplicate(c.children[1]);
      }
      auto settings = readSettings(c.children[0], limits);
      if (!settings) return fail(settings.error());
      out.settings = std::move(*settings);
    } else {
      return unexpected(c, **policy);
    }
  }
  if (!have_type)
    return fail(Errc::invalid_argument, "Provision:Policy without Provision:PolicyType");
  if (!have_status)
    return fail(Errc::invalid_argument, "Provision:Policy without Provision:Status");
  return out;
}

Status checkRoot(const wbxml::Document& doc) {
  if (!is(doc.root, kProvisionPage, "Provision")) {
    return fail(Errc::invalid_argument,
                "root element is " + qualified(doc.root) + ", not Provision:Provision");
  }
  return checkContainer(doc.root);
}

Status checkPolicyType(std::string_view type, const ProvisionLimits& limits) {
  // Empty is let through: the decoder accepts it too (the server answers 3).
  if (type.size() > limits.max_policy_type || hasNul(type)) {
    return fail(Errc::invalid_argument, "Provision:PolicyType must be at most " +
                                            std::to_string(limits.max_policy_type) +
                                            " bytes without NUL");
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------- request

Result<ProvisionRequest> decodeProvisionRequest(const wbxml::Document& doc,
                                                const ProvisionLimits& limits) {
  if (auto ok = checkRoot(doc); !ok) return fail(ok.error());
  ProvisionRequest out;
  bool have_policies = false;
  for (const Element& c : doc.root.children) {
    if (is(c, kSettingsPage, "DeviceInformation")) {
      if (out.device_information) return duplicate(c);
      auto info = readDeviceInformation(c, limits);
      if (!info) return fail(info.error());
      out.device_information = std::move(*info);
    } else if (is(c, kProvisionPage, "Policies")) {
      if (have_policies) return duplicate(c);
      have_policies = true;
      auto policy = readPolicyRequest(c, limits);
      if (!policy) return fail(policy.error());
      out.policy = std::move(*policy);
    } else if (is(c, kProvisionPage, "RemoteWipe")) {
      if (out.remote_wipe_status) return duplicate(c);
      auto status = readWipeAck(c);
      if (!status) return fail(status.error());
      out.remote_wipe_status = *status;
    } else if (is(c, kProvisionPage, "AccountOnlyRemoteWipe")) {
      if (out.account_only_remote_wipe_status) return duplicate(c);
      auto status = readWipeAck(c);
      if (!status) return fail(status.error());
      out.account_only_remote_wipe_status = *status;
    } else {
      return unexpected(c, doc.root);
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> encodeProvisionRequest(const ProvisionRequest& request,
                                                         std::string_view protocol_version) {
  auto v = protocolVersion(protocol_version);
  if (!v)
    return fail(Errc::invalid_argument,
                "unsupported protocol version " + std::string(protocol_version));
  const ProvisionLimits limits;
  wbxml::Writer w;
  w.start(kProvisionNs, "Provision");
  if (request.device_information) {
    // MS-ASPROV 2.2.2.53: in Provision from 14.1 on.
    if (!atLeast(*v, ProtocolVersion::v14_1)) {
      return fail(Errc::invalid_argument,
                  "settings:DeviceInformation in Provision needs 14.1 or later");
    }
    const DeviceInformation& d = *request.device_information;
    w.start(kSettingsNs, "DeviceInformation");
    w.start(kSettingsNs, "Set");
    auto field = [&](std::string_view name, const std::optional<std::string>& value) -> Status {
      if (!value) return {};
      if (value->size() > limits.max_device_string || hasNul(*value)) {
        return fail(Errc::invalid_argument,
                    "Settings:" + std::string(name) + " too long or holds NUL");
      }
      if (!tagIn(kSettingsPage, name, *v)) {
        return fail(Errc::invalid_argument, "Settings:" + std::string(name) +
                                                " is not in protocol " +
                                                std::string(protocol_version));
      }
      leaf(w, kSettingsNs, name, *value);
      return {};
    };
    for (auto [name, value] : {std::pair{std::string_view("Model"), &d.model},
                               {"IMEI", &d.imei},
                               {"FriendlyName", &d.friendly_name},
                               {"OS", &d.os},
                               {"OSLanguage", &d.os_language},
                               {"PhoneNumber", &d.phone_number},
                               {"UserAgent", &d.user_agent}}) {
      if (auto ok = field(name, *value); !ok) return fail(ok.error());
    }
    if (d.enable_outbound_sms)
      leaf(w, kSettingsNs, "EnableOutboundSMS", *d.enable_outbound_sms ? "1" : "0");
    if (auto ok = field("MobileOperator", d.mobile_operator); !ok) return fail(ok.error());
    w.end();
    w.end();
  }
  if (request.policy) {
    const PolicyRequest& p = *request.policy;
    if (auto ok = checkPolicyType(p.policy_type, limits); !ok) return fail(ok.error());
    w.start(kProvisionNs, "Policies");
    w.start(kProvisionNs, "Policy");
    leaf(w, kProvisionNs, "PolicyType", p.policy_type);
    // 2.2.2.41: in an acknowledgment PolicyKey MUST come before Status.
    if (p.policy_key) leaf(w, kProvisionNs, "PolicyKey", std::to_string(*p.policy_key));
    if (p.status) leaf(w, kProvisionNs, "Status", std::to_string(*p.status));
    w.end();
    w.end();
  }
  if (request.remote_wipe_status) {
    w.start(kProvisionNs, "RemoteWipe");
    leaf(w, kProvisionNs, "Status", std::to_string(*request.remote_wipe_status));
    w.end();
  }
  if (request.account_only_remote_wipe_status) {
    if (!atLeast(*v, ProtocolVersion::v16_1)) {
      return fail(Errc::invalid_argument, "AccountOnlyRemoteWipe needs protocol 16.1");
    }
    w.start(kProvisionNs, "AccountOnlyRemoteWipe");
    leaf(w, kProvisionNs, "Status", std::to_string(*request.account_only_remote_wipe_status));
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

// ---------------------------------------------------------------- response

Result<std::vector<std::uint8_t>> encodeProvisionResponse(const ProvisionResponse& response,
                                                          std::string_view protocol_version) {
  auto v = protocolVersion(protocol_version);
  if (!v)
    return fail(Errc::invalid_argument,
                "unsupported protocol version " + std::string(protocol_version));
  const ProvisionLimits limits;
  if (response.account_only_remote_wipe && !atLeast(*v, ProtocolVersion::v16_1)) {
    return fail(Errc::invalid_argument,
                "AccountOnlyRemoteWipe needs protocol 16.1 (MS-ASPROV 2.2.2.1)");
  }
  wbxml::Writer w;
  w.start(kProvisionNs, "Provision");
  // MS-ASPROV 6.3: settings:DeviceInformation, Status, Policies, RemoteWipe,
  // AccountOnlyRemoteWipe, in that order.
  if (response.device_information_status && atLeast(*v, ProtocolVersion::v14_1)) {
    w.start(kSettingsNs, "DeviceInformation");
    leaf(w, kSettingsNs, "Status", std::to_string(*response.device_information_status));
    w.end();
  }
  leaf(w, kProvisionNs, "Status", std::to_string(response.status));
  if (response.policy) {
    const PolicyResponse& p = *response.policy;
    if (auto ok = checkPolicyType(p.policy_type, limits); !ok) return fail(ok.error());
    w.start(kProvisionNs, "Policies");
    w.start(kProvisionNs, "Policy");
    leaf(w, kProvisionNs, "PolicyType", p.policy_type);
    leaf(w, kProvisionNs, "Status", std::to_string(p.status));
    if (p.policy_key) leaf(w, kProvisionNs, "PolicyKey", std::to_string(*p.policy_key));
    if (p.settings) {
      if (auto ok = checkSettings(*p.settings, limits); !ok) return fail(ok.error());
      w.start(kProvisionNs, "Data");
      writeSettings(w, *p.settings, *v);
      w.end();
    }
    w.end();
    w.end();
  }
  if (response.remote_wipe) empty(w, kProvisionNs, "RemoteWipe");  // 2.2.2.45: no children
  if (response.account_only_remote_wipe) empty(w, kProvisionNs, "AccountOnlyRemoteWipe");
  w.end();
  return std::move(w).finish();
}

Result<ProvisionResponse> decodeProvisionResponse(const wbxml::Document& doc,
                                                  const ProvisionLimits& limits) {
  if (auto ok = checkRoot(doc); !ok) return fail(ok.error());
  ProvisionResponse out;
  bool have_status = false;
  bool have_policies = false;
  for (const Element& c : doc.root.children) {
    if (is(c, kSettingsPage, "DeviceInformation")) {
      if (out.device_information_status) return duplicate(c);
      if (auto ok = checkContainer(c); !ok) return fail(ok.error());
      for (const Element& s : c.children) {
        if (!is(s, kSettingsPage, "Status")) return unexpected(s, c);
        if (out.device_information_status) return duplicate(s);
        auto v = leafByte(s);
        if (!v) return fail(v.error());
        out.device_information_status = *v;
      }
      if (!out.device_information_status) {
        return fail(Errc::invalid_argument, "Settings:DeviceInformation without Settings:Status");
      }
    } else if (is(c, kProvisionPage, "Status")) {
      if (have_status) return duplicate(c);
      auto v = leafByte(c);
      if (!v) return fail(v.error());
      out.status = *v;
      have_status = true;
    } else if (is(c, kProvisionPage, "Policies")) {
      if (have_policies) return duplicate(c);
      have_policies = true;
      auto policy = readPolicyResponse(c, limits);
      if (!policy) return fail(policy.error());
      out.policy = std::move(*policy);
    } else if (is(c, kProvisionPage, "RemoteWipe") ||
               is(c, kProvisionPage, "AccountOnlyRemoteWipe")) {
      bool& flag = c.name == "RemoteWipe" ? out.remote_wipe : out.account_only_remote_wipe;
      if (flag) return duplicate(c);
      if (!c.children.empty() || !c.text.empty() || !c.opaque.empty()) {
        return fail(Errc::invalid_argument, qualified(c) + " in a response must be empty");
      }
      flag = true;
    } else {
      return unexpected(c, doc.root);
    }
  }
  // 2.2.2.54.2: Status is required in a response.
  if (!have_status)
    return fail(Errc::invalid_argument, "Provision:Provision without Provision:Status");
  return out;
}

}  // namespace rampart::eas
