// The EAS server's side of rights management (MS-ASRM, docs/rights.md): what
// the user of one request may do with one rights-protected message, read from
// the publishing license the sender's client attached
// (crypto::rights::splitProtectedMessage / readPublishingLicense), and the
// rm:RightsManagementLicense element that carries it to the device.
//
// The server never holds a content key: it reads only the license's clear
// fields (owner, recipients, template) to fill in MS-ASRM elements and to
// refuse SmartForward/SmartReply the template does not allow. The rights
// follow the rights server's rules (docs/rights.md):
//   - the owner (the license's owner is one of the user's addresses) has all;
//   - a recipient has the rights of the server's current template
//     (store::RightsStore, by the license's template id), or the license's
//     own copy of them when the server does not know the template;
//   - anyone else has none (the rights server gives them no use license).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/writer.h"
#include "core/error.h"
#include "crypto/rights/license.h"
#include "directory/directory.h"
#include "store/mail_store.h"
#include "store/rights_store.h"
#include "store/types.h"

namespace rampart::server::eas {
struct CommandContext;
}

namespace rampart::server::eas::detail {

// MS-ASRM 2.2.2.1: ContentExpiryDate of a license without an expiry.
inline constexpr std::string_view kNoContentExpiry = "9999-12-30T23:59:59.999Z";

// MS-ASCMD 2.2.2 common status 172 (IRM_OperationNotPermitted): MS-ASRM
// "Enforcing Rights Policy Template Settings" and "Handling SmartForward and
// SmartReply Requests" answer it for an action the template prohibits (a
// SmartForward when ForwardAllowed is false, ...).
inline constexpr int kIrmOperationNotPermitted = 172;

// What one user may do with one protected message.
struct MessageRights {
  std::string license_id;
  std::string template_id;              // upper-case GUID, as in the license
  std::string template_name;            // the server's, else the license's
  std::string template_description;     // the server's, else the name
  std::string owner;                    // the license's owner address (ContentOwner)
  std::vector<std::string> recipients;  // the license's recipients, lower case
  bool is_owner = false;
  bool is_recipient = false;
  bool template_known = false;      // the server's template was used
  std::uint32_t rights = 0;         // crypto::rights::Right bits this user has
  std::int64_t content_expiry = 0;  // Unix seconds; 0 = never

  bool allows(std::uint32_t right) const { return (rights & right) == right; }
};

// True when the header section of `message` (up to the first empty line)
// holds an X-Rampart-Rights field: the cheap test before anything is parsed.
bool hasRightsHeader(std::string_view message);

// True when the stored item may be rights-protected, from its summary alone:
// a multipart/mixed message with a part of type
// application/vnd.rampart.publishing-license among its attachments (or a
// summary cut short before all of them were listed). Only such items have
// their bytes read.
bool mayBeRightsProtected(const store::Item& item);

// Resolves rights for one request: who asks (every address of the user) and
// where the server's templates are. Templates and item answers are cached
// for the life of the object, so one request parses each license and each
// template at most once. Not thread-safe (one per request).
class RightsResolver {
 public:
  // `addresses`: the user's addresses, any case. `templates` may be null
  // (the service runs without a rights store): the license's own rights
  // count then. With a `directory` that stores certificates (the built-in
  // one, where the CA publishes), a license counts only when it is signed
  // with a certificate the directory publishes for its owner, the rights
  // server's own rule (a license re-signed by anyone else could name any
  // owner and recipients).
  RightsResolver(std::vector<std::string> addresses, store::RightsStore* templates,
                 directory::Directory* directory = nullptr);

  // ctx.address plus the directory's addresses of ctx.user (when ctx.directory
  // is set), and ctx.rights. A directory failure is not fatal (logged; the
  // primary address still counts).
  static RightsResolver forContext(CommandContext& ctx);

  // The rights of this user under `license`. Pure but for the template read
  // (a store error or a template that does not parse counts as unknown: the
  // license's copy is used, and the failure logged).
  MessageRights rightsFor(const crypto::rights::PublishingLicense& license);

  // The rights of this user for the RFC 5322 `message`: none when it is not
  // rights-protected (no X-Rampart-Rights, no license part). A message that
  // claims protection but whose license does not read, or is not signed by
  // its owner, is Errc::invalid_argument; a directory failure is
  // Errc::unavailable (the caller decides: emit nothing, or refuse).
  Result<std::optional<MessageRights>> rightsOfMessage(std::string_view message);

  // rightsOfMessage() for a stored item, reading its bytes only when
  // mayBeRightsProtected(); cached by item id. An unreadable license is logged and
  // answered as "not protected" (emitting nothing is all a Sync can do);
  // Errc::not_found when the item's bytes are gone.
  Result<std::optional<MessageRights>> rightsOfItem(const store::Item& item,
                                                    store::MailStore& mail);

  bool isUserAddress(std::string_view address) const;

 private:
  std::optional<crypto::rights::Template> serverTemplate(const std::string& id);

  Status signedByOwner(const crypto::rights::SignedPublishingLicense& signed_license);

  std::vector<std::string> addresses_;  // lower case
  store::RightsStore* templates_;
  directory::Directory* directory_;
  std::map<std::string, std::optional<crypto::rights::Template>, std::less<>> template_cache_;
  std::map<store::ItemId, std::optional<MessageRights>> item_cache_;
};

// rm:RightsManagementLicense (MS-ASRM 2.2.2.14, 14.1 and later) with its
// fifteen required children, in the order 2.2.2.14 lists them (the schema
// takes any order: xs:all): ContentExpiryDate, ContentOwner, EditAllowed,
// ExportAllowed, ExtractAllowed, ForwardAllowed, ModifyRecipientsAllowed,
// Owner, PrintAllowed, ProgrammaticAccessAllowed, ReplyAllAllowed,
// ReplyAllowed, TemplateDescription, TemplateID, TemplateName.
void writeRightsManagementLicense(wbxml::Writer& w, const MessageRights& rights);

// MS-ASRM 2.2.2.1 / MS-ASDTYPE 2.3: "2026-11-24T21:32:18.000Z", or
// kNoContentExpiry for 0.
std::string contentExpiryText(std::int64_t unix_seconds);

}  // namespace rampart::server::eas::detail
