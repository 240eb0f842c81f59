#include "server/eas/settings_command.h"

#include <string>
#include <string_view>
#include <utility>

#include "codec/eas/item_requests.h"
#include "codec/mime/body.h"
#include "codec/wbxml/writer.h"
#include "codec/xml_text.h"
#include "core/log.h"
#include "crypto/rights/license.h"
#include "server/eas/detail/device_information.h"

namespace rampart::server::eas {
namespace {

namespace codec = rampart::eas;

constexpr std::string_view kNs = "Settings";

void text(wbxml::Writer& w, std::string_view name, std::string_view value) {
  w.start(kNs, name);
  w.content(value);
  w.end();
}

void status(wbxml::Writer& w, SettingsStatus s) {
  text(w, "Status", std::to_string(static_cast<int>(s)));
}

bool isHtml(std::string_view body_type) {
  // MS-ASCMD 2.2.3.18.2 BodyType: "Text" or "HTML"; compared without case,
  // as clients differ in spelling.
  if (body_type.size() != 4) return false;
  auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
  return up(body_type[0]) == 'H' && up(body_type[1]) == 'T' && up(body_type[2]) == 'M' &&
         up(body_type[3]) == 'L';
}

std::string escapeHtml(std::string_view in) {
  return "<html><body>" + rampart::codec::htmlFromText(in, "<br>") + "</body></html>";
}

store::OofReply& replyFor(store::OofSettings& oof, codec::OofAudience a) {
  switch (a) {
    case codec::OofAudience::internal:
      return oof.internal;
    case codec::OofAudience::external_known:
      return oof.external_known;
    case codec::OofAudience::external_unknown:
      return oof.external_unknown;
  }
  return oof.internal;
}

// MS-ASCMD 2.2.3.83.2 Get (Oof): OofState, StartTime/EndTime, OofMessage*.
void writeOofGet(wbxml::Writer& w, const store::OofSettings& oof, std::string_view body_type) {
  w.start(kNs, "Get");
  text(w, "OofState", std::to_string(static_cast<int>(oof.state)));
  if (oof.state == store::OofState::time_based) {
    text(w, "StartTime", codec::formatDateTime(oof.start_time));
    text(w, "EndTime", codec::formatDateTime(oof.end_time));
  }
  bool want_html = isHtml(body_type);
  struct Audience {
    std::string_view tag;
    const store::OofReply* reply;
  };
  const Audience audiences[] = {{"AppliesToInternal", &oof.internal},
                                {"AppliesToExternalKnown", &oof.external_known},
                                {"AppliesToExternalUnknown", &oof.external_unknown}};
  for (const Audience& a : audiences) {
    w.start(kNs, "OofMessage");
    w.start(kNs, a.tag);
    w.end();
    text(w, "Enabled", a.reply->enabled ? "1" : "0");
    if (!a.reply->message.empty()) {
      std::string message = a.reply->message;
      if (want_html && !a.reply->html) message = escapeHtml(message);
      if (!want_html && a.reply->html) message = mime::htmlToText(message);
      text(w, "ReplyMessage", message);
      text(w, "BodyType", want_html ? "HTML" : "Text");
    }
    w.end();
  }
  w.end();
}

// Applies an Oof Set to the stored settings; the Status to answer.
SettingsStatus applyOofSet(store::OofSettings& oof, const codec::OofSetRequest& set) {
  if (set.state) oof.state = static_cast<store::OofState>(*set.state);
  if (set.start_time) oof.start_time = *set.start_time;
  if (set.end_time) oof.end_time = *set.end_time;
  for (const auto& m : set.messages) {
    store::OofReply& r = replyFor(oof, m.audience);
    if (m.enabled) r.enabled = *m.enabled;
    if (m.reply_message) {
      r.message = *m.reply_message;
      r.html = m.body_type && isHtml(*m.body_type);
    }
  }
  if (oof.state == store::OofState::time_based && oof.start_time >= oof.end_time) {
    return SettingsStatus::invalid_arguments;
  }
  return SettingsStatus::success;
}

using detail::toStore;

// MS-ASCMD 2.2.3.83.3 Get (UserInformation): EmailAddresses/SMTPAddress
// before 14.1; Accounts/Account (2.2.3.3) with UserDisplayName and
// EmailAddresses/PrimarySmtpAddress from 14.1.
void writeUserInformation(wbxml::Writer& w, const CommandContext& ctx) {
  w.start(kNs, "Get");
  if (ctx.protocol_version >= "14.1") {
    w.start(kNs, "Accounts");
    w.start(kNs, "Account");
    if (!ctx.display_name.empty()) text(w, "UserDisplayName", ctx.display_name);
    w.start(kNs, "EmailAddresses");
    if (!ctx.address.empty()) text(w, "PrimarySmtpAddress", ctx.address);
    w.end();
    w.end();
    w.end();
  } else {
    w.start(kNs, "EmailAddresses");
    if (!ctx.address.empty()) text(w, "SMTPAddress", ctx.address);
    w.end();
  }
  w.end();
}

// MS-ASRM 2.2.2.17 RightsManagementTemplates: at most 20 templates.
constexpr std::size_t kMaxTemplates = 20;

// Text for a WBXML string (STR_I ends at NUL): NUL becomes a space.
std::string wbxmlText(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\0') c = ' ';
  }
  return out;
}

// The templates a device may protect with: the rights store's, parsed,
// without revoked ones, in the store's order, at most kMaxTemplates. A
// template that does not parse is left out (and logged): one bad entry must
// not take the list away.
Result<std::vector<crypto::rights::Template>> offeredTemplates(store::RightsStore& rights) {
  auto logger = log::get("eas");
  auto listed = rights.listTemplates();
  if (!listed) return fail(listed.error());
  std::vector<crypto::rights::Template> out;
  for (const auto& [id, toml] : *listed) {
    auto t = crypto::rights::parseTemplateToml(toml, "rights store template " + id);
    if (!t) {
      logger->warn("Settings: rights template {} does not parse: {}", id, t.error().message());
      continue;
    }
    if (t->revoked || t->id.empty()) continue;
    if (out.size() == kMaxTemplates) {
      logger->warn("Settings: more than {} rights templates; the rest are not offered",
                   kMaxTemplates);
      break;
    }
    out.push_back(std::move(*t));
  }
  return out;
}

// MS-ASRM 2.2.2.16 RightsManagementTemplate: TemplateID, TemplateName,
// TemplateDescription, in that order (the schema's xs:sequence), each a
// non-empty string.
void writeTemplates(wbxml::Writer& w, const std::vector<crypto::rights::Template>& templates) {
  constexpr std::string_view kRm = "RightsManagement";
  w.start(kRm, "RightsManagementTemplates");
  for (const crypto::rights::Template& t : templates) {
    std::string name = wbxmlText(t.name.empty() ? t.id : t.name);
    std::string description = t.description.empty() ? name : wbxmlText(t.description);
    w.start(kRm, "RightsManagementTemplate");
    w.start(kRm, "TemplateID");
    w.content(wbxmlText(t.id));
    w.end();
    w.start(kRm, "TemplateName");
    w.content(name);
    w.end();
    w.start(kRm, "TemplateDescription");
    w.content(description);
    w.end();
    w.end();
  }
  w.end();
}

}  // namespace

Result<std::vector<std::uint8_t>> runSettings(CommandContext& ctx, const wbxml::Document& body) {
  auto logger = log::get("eas");
  auto request = codec::decodeSettingsRequest(body);
  if (!request) {
    logger->info("Settings from {}/{}: {}", ctx.user, ctx.device_id, request.error().message());
    wbxml::Writer w;
    w.start(kNs, "Settings");
    status(w, SettingsStatus::protocol_error);
    w.end();
    return std::move(w).finish();
  }

  wbxml::Writer w;
  w.start(kNs, "Settings");
  status(w, SettingsStatus::success);

  if (request->rights_management_get) {
    // MS-ASCMD 2.2.3.150 / MS-ASRM 2.2.2.17: the templates the device may
    // offer its user. Without a rights store the list is empty.
    std::vector<crypto::rights::Template> templates;
    if (ctx.rights != nullptr) {
      auto offered = offeredTemplates(*ctx.rights);
      if (!offered) return fail(offered.error());
      templates = std::move(*offered);
    }
    w.start(kNs, "RightsManagementInformation");
    status(w, SettingsStatus::success);
    w.start(kNs, "Get");
    writeTemplates(w, templates);
    w.end();
    w.end();
  }

  if (request->oof) {
    auto mailbox = ctx.mail.openMailbox(ctx.user);
    if (!mailbox) return fail(mailbox.error());
    auto oof = ctx.mail.getOof(*mailbox);
    if (!oof) return fail(oof.error());
    w.start(kNs, "Oof");
    if (request->oof->get) {
      status(w, SettingsStatus::success);
      writeOofGet(w, *oof, request->oof->get_body_type);
    } else {
      SettingsStatus st = applyOofSet(*oof, *request->oof->set);
      if (st == SettingsStatus::success) {
        if (auto saved = ctx.mail.setOof(*mailbox, *oof); !saved) return fail(saved.error());
      }
      status(w, st);
    }
    w.end();
  }

  if (request->device_password) {
    w.start(kNs, "DevicePassword");
    status(w, SettingsStatus::denied_by_policy);
    w.end();
  }

  if (request->device_information) {
    auto st = ctx.devices.setDeviceInformation(ctx.user, ctx.device_id,
                                               toStore(*request->device_information));
    if (!st) return fail(st.error());
    w.start(kNs, "DeviceInformation");
    status(w, SettingsStatus::success);
    w.end();
  }

  if (request->user_information_get) {
    w.start(kNs, "UserInformation");
    status(w, SettingsStatus::success);
    writeUserInformation(w, ctx);
    w.end();
  }

  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
