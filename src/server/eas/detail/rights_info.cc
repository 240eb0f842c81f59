#include "server/eas/detail/rights_info.h"

#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/x509/x509.h"
#include "server/eas/command_context.h"

namespace rampart::server::eas::detail {
namespace {

namespace rights = crypto::rights;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

// Text for a WBXML string (STR_I ends at NUL): NUL becomes a space. The
// values come from a TOML template or a license a sender signed.
std::string wbxmlText(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\0', ' ');
  return out;
}

void leaf(wbxml::Writer& w, std::string_view name, std::string_view text) {
  w.start("RightsManagement", name);
  w.content(text);
  w.end();
}

void flag(wbxml::Writer& w, std::string_view name, const MessageRights& r, std::uint32_t right) {
  leaf(w, name, r.allows(right) ? "1" : "0");
}

}  // namespace

bool hasRightsHeader(std::string_view message) {
  constexpr std::string_view kName = "x-rampart-rights:";
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t eol = message.find('\n', at);
    std::string_view line =
        message.substr(at, eol == std::string_view::npos ? std::string_view::npos : eol - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return false;  // end of the header section
    if (line.size() >= kName.size() && equalsIgnoreCase(line.substr(0, kName.size()), kName)) {
      return true;
    }
    if (eol == std::string_view::npos) break;
    at = eol + 1;
  }
  return false;
}

bool mayBeRightsProtected(const store::Item& item) {
  // crypto/rights/license.h: a protected message is multipart/mixed with the
  // publishing license as its second part.
  constexpr std::string_view kLicenseType = "application/vnd.rampart.publishing-license";
  const mime::Summary& s = item.summary;
  if (!equalsIgnoreCase(s.content_type, "multipart/mixed")) return false;
  if (s.truncated) return true;
  for (const mime::Attachment& a : s.attachments) {
    if (equalsIgnoreCase(a.content_type, kLicenseType)) return true;
  }
  return false;
}

std::string contentExpiryText(std::int64_t unix_seconds) {
  // 10000-01-01T00:00:00Z and later have no four-digit year.
  constexpr std::int64_t kYear10000 = 253402300800;
  if (unix_seconds <= 0 || unix_seconds >= kYear10000) return std::string(kNoContentExpiry);
  return utcText(unix_seconds, "%Y-%m-%dT%H:%M:%S.000Z");  // MS-ASDTYPE 2.3 dateTime
}

RightsResolver::RightsResolver(std::vector<std::string> addresses, store::RightsStore* templates,
                               directory::Directory* directory)
    : templates_(templates), directory_(directory) {
  for (const std::string& a : addresses) {
    if (!a.empty()) addresses_.push_back(lower(a));
  }
}

RightsResolver RightsResolver::forContext(CommandContext& ctx) {
  std::vector<std::string> addresses;
  if (!ctx.address.empty()) addresses.push_back(ctx.address);
  if (ctx.directory != nullptr) {
    auto user = ctx.directory->findUser(ctx.user);
    if (!user) {
      log::get("eas")->warn("rights: the addresses of {} could not be read: {}", ctx.user,
                            user.error().message());
    } else if (*user) {
      for (const std::string& a : (*user)->addresses) addresses.push_back(a);
    }
  }
  return RightsResolver(std::move(addresses), ctx.rights, ctx.directory);
}

bool RightsResolver::isUserAddress(std::string_view address) const {
  for (const std::string& a : addresses_) {
    if (equalsIgnoreCase(a, address)) return true;
  }
  return false;
}

std::optional<rights::Template> RightsResolver::serverTemplate(const std::string& id) {
  if (templates_ == nullptr || id.empty()) return std::nullopt;
  if (auto it = template_cache_.find(id); it != template_cache_.end()) return it->second;
  std::optional<rights::Template> found;
  auto toml = templates_->getTemplate(id);
  if (!toml) {
    log::get("eas")->warn("rights: template {} could not be read: {}", id, toml.error().message());
  } else if (*toml) {
    auto parsed = rights::parseTemplateToml(**toml, "rights store template " + id);
    if (!parsed) {
      log::get("eas")->warn("rights: stored template {} does not parse: {}", id,
                            parsed.error().message());
    } else if (!equalsIgnoreCase(parsed->id, id)) {
      log::get("eas")->warn("rights: stored template {} names itself {}", id, parsed->id);
    } else {
      found = std::move(*parsed);
    }
  }
  template_cache_.emplace(id, found);
  return found;
}

MessageRights RightsResolver::rightsFor(const rights::PublishingLicense& license) {
  MessageRights r;
  r.license_id = license.id;
  r.template_id = license.template_id;
  r.template_name = license.template_name;
  r.owner = license.owner;
  for (const std::string& to : license.recipients) r.recipients.push_back(lower(to));
  r.content_expiry = license.content_expiry;
  r.is_owner = isUserAddress(license.owner);
  for (const std::string& to : license.recipients) {
    if (isUserAddress(to)) {
      r.is_recipient = true;
      break;
    }
  }
  std::uint32_t template_rights = license.rights;
  if (auto t = serverTemplate(license.template_id)) {
    r.template_known = true;
    template_rights = t->rights;
    if (!t->name.empty()) r.template_name = t->name;
    r.template_description = t->description;
  }
  if (r.is_owner) {
    r.rights = rights::kAll;
  } else if (r.is_recipient) {
    r.rights = template_rights & rights::kAll;
  }
  // MS-ASRM 2.2.2.20/2.2.2.18: TemplateName and TemplateDescription are
  // non-empty strings.
  if (r.template_name.empty()) r.template_name = r.template_id;
  if (r.template_description.empty()) r.template_description = r.template_name;
  return r;
}

Result<std::optional<MessageRights>> RightsResolver::rightsOfMessage(std::string_view message) {
  using Found = std::optional<MessageRights>;
  if (!hasRightsHeader(message)) return Found();
  auto parts = rights::splitProtectedMessage(message);
  if (!parts) {
    if (parts.error().is(Errc::not_found)) return Found();
    return fail(Errc::invalid_argument, "rights-protected message without a usable license part: " +
                                            parts.error().message());
  }
  auto signed_license = rights::readPublishingLicense(parts->signed_license);
  if (!signed_license) {
    return fail(Errc::invalid_argument,
                "publishing license does not read: " + signed_license.error().message());
  }
  if (signed_license->license.owner.empty() || signed_license->license.template_id.empty()) {
    return fail(Errc::invalid_argument, "publishing license without owner or template");
  }
  if (auto st = signedByOwner(*signed_license); !st) return fail(st.error());
  return Found(rightsFor(signed_license->license));
}

Status RightsResolver::signedByOwner(const rights::SignedPublishingLicense& signed_license) {
  if (directory_ == nullptr || !directory_->storesCertificates()) return {};
  if (!signed_license.signer) {
    return fail(Errc::invalid_argument, "publishing license without a signer certificate");
  }
  const std::string& owner = signed_license.license.owner;
  auto user = directory_->findByAddress(owner);
  if (!user) return fail(Errc::unavailable, "directory: " + user.error().message());
  if (!*user) return fail(Errc::invalid_argument, "publishing license owner " + owner + " is not a user here");
  auto certs = directory_->certificatesOf((*user)->name);
  if (!certs) return fail(Errc::unavailable, "directory: " + certs.error().message());
  const std::string der = crypto::x509::certificateDer(signed_license.signer.get());
  for (const auto& c : *certs) {
    if (c.der == der) return {};
  }
  return fail(Errc::invalid_argument, "publishing license not signed with a certificate of its owner " + owner);
}

Result<std::optional<MessageRights>> RightsResolver::rightsOfItem(const store::Item& item,
                                                                  store::MailStore& mail) {
  using Found = std::optional<MessageRights>;
  if (auto it = item_cache_.find(item.id); it != item_cache_.end()) return it->second;
  if (!mayBeRightsProtected(item)) {
    item_cache_.emplace(item.id, std::nullopt);
    return Found();
  }
  auto bytes = mail.messageBytes(item.id);
  if (!bytes) return fail(bytes.error());
  auto found = rightsOfMessage(*bytes);
  if (!found) {
    log::get("eas")->info("rights: item {}: {}", item.id, found.error().message());
    item_cache_.emplace(item.id, std::nullopt);
    return Found();
  }
  item_cache_.emplace(item.id, *found);
  return std::move(*found);
}

void writeRightsManagementLicense(wbxml::Writer& w, const MessageRights& r) {
  w.start("RightsManagement", "RightsManagementLicense");
  leaf(w, "ContentExpiryDate", contentExpiryText(r.content_expiry));
  leaf(w, "ContentOwner", wbxmlText(r.owner));
  flag(w, "EditAllowed", r, rights::kEdit);
  flag(w, "ExportAllowed", r, rights::kExport);
  flag(w, "ExtractAllowed", r, rights::kExtract);
  flag(w, "ForwardAllowed", r, rights::kForward);
  flag(w, "ModifyRecipientsAllowed", r, rights::kModifyRecipients);
  leaf(w, "Owner", r.is_owner ? "1" : "0");
  flag(w, "PrintAllowed", r, rights::kPrint);
  flag(w, "ProgrammaticAccessAllowed", r, rights::kProgrammatic);
  flag(w, "ReplyAllAllowed", r, rights::kReplyAll);
  flag(w, "ReplyAllowed", r, rights::kReply);
  leaf(w, "TemplateDescription", wbxmlText(r.template_description));
  leaf(w, "TemplateID", wbxmlText(r.template_id));
  leaf(w, "TemplateName", wbxmlText(r.template_name));
  w.end();
}

}  // namespace rampart::server::eas::detail
