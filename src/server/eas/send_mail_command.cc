#include "server/eas/send_mail_command.h"

#include <charconv>
#include <span>
#include <utility>
#include <variant>

#include "codec/mime/compose.h"
#include "codec/wbxml/writer.h"
#include "core/ascii.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/rights/license.h"
#include "server/eas/detail/rights_info.h"

namespace rampart::server::eas {

namespace {

// [MS-ASWBXML] 2.1.2.1.22, code page 21 (ComposeMail).
constexpr std::uint8_t kComposePage = 21;
constexpr std::uint8_t kSendMail = 0x05;
constexpr std::uint8_t kSmartForward = 0x06;
constexpr std::uint8_t kSmartReply = 0x07;
constexpr std::uint8_t kSaveInSentItems = 0x08;
constexpr std::uint8_t kReplaceMime = 0x09;
constexpr std::uint8_t kSource = 0x0B;
constexpr std::uint8_t kFolderId = 0x0C;
constexpr std::uint8_t kItemId = 0x0D;
constexpr std::uint8_t kLongId = 0x0E;
constexpr std::uint8_t kInstanceId = 0x0F;
constexpr std::uint8_t kMime = 0x10;
constexpr std::uint8_t kClientId = 0x11;
constexpr std::uint8_t kStatus = 0x12;

// MS-ASCMD 2.2.2 common status 172 (IRM_OperationNotPermitted), which
// MS-ASRM gives for a SmartForward/SmartReply the rights template prohibits.
// Not one of the header's SendMailStatus names (the lead's interface): cast.
constexpr SendMailStatus kIrmOperationNotPermitted =
    static_cast<SendMailStatus>(detail::kIrmOperationNotPermitted);

// Ids are decimal numbers; anything longer is not one of ours.
constexpr std::size_t kMaxIdText = 64;

std::optional<std::uint8_t> commandToken(std::string_view command) {
  if (command == "SendMail") return kSendMail;
  if (command == "SmartReply") return kSmartReply;
  if (command == "SmartForward") return kSmartForward;
  return std::nullopt;
}

std::optional<std::int64_t> parseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

// What the device names as the original of a SmartReply/SmartForward.
struct SourceRef {
  std::optional<std::string> folder_id;  // FolderId / CollectionId
  std::optional<std::string> item_id;    // ItemId / LongId (ServerId form)
  bool long_id = false;
};

// A ServerId "<folderid>:<itemid>" or a bare item id.
struct ParsedItemId {
  std::optional<store::FolderId> folder;
  store::ItemId item = 0;
};

std::optional<ParsedItemId> parseItemId(std::string_view text) {
  if (text.size() > kMaxIdText) return std::nullopt;
  ParsedItemId out;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    auto folder = parseDecimal(text.substr(0, colon));
    if (!folder) return std::nullopt;
    out.folder = *folder;
    text.remove_prefix(colon + 1);
  }
  auto item = parseDecimal(text);
  if (!item) return std::nullopt;
  out.item = *item;
  return out;
}

// The request, decoded (either form).
struct Request {
  std::string mime;  // the device's message
  bool save_in_sent = false;
  bool replace_mime = false;
  std::optional<std::string> client_id;
  std::optional<SourceRef> source;
};

// Text of a leaf child, or the child's OPAQUE bytes as text.
std::string leafValue(const wbxml::Element& e) {
  if (!e.opaque.empty()) {
    std::string s(reinterpret_cast<const char*>(e.opaque.data()), e.opaque.size());
    return e.text + s;
  }
  return e.text;
}

// The 14.0+ ComposeMail body (MS-ASCMD 2.2.1.17.1, 2.2.1.19.1, 2.2.1.20.1);
// the status that refuses it otherwise.
std::variant<Request, SendMailStatus> decodeWbxml(const wbxml::Element& root, std::uint8_t token,
                                                  const SendMailLimits& limits) {
  using S = SendMailStatus;
  if (root.page != kComposePage || root.token != token) return S::invalid_xml;
  Request r;
  bool have_mime = false;
  bool smart = token != kSendMail;
  for (const wbxml::Element& c : root.children) {
    if (c.page != kComposePage) continue;  // unknown namespaces: a newer client's extras
    switch (c.token) {
      case kClientId: {
        if (r.client_id || !c.children.empty()) return S::invalid_xml;
        std::string id = leafValue(c);
        if (id.empty() || id.size() > limits.max_client_id) return S::invalid_xml;
        r.client_id = std::move(id);
        break;
      }
      case kSaveInSentItems:
        r.save_in_sent = true;
        break;
      case kReplaceMime:
        if (!smart) return S::invalid_xml;
        r.replace_mime = true;
        break;
      case kMime:
        if (have_mime || !c.children.empty()) return S::invalid_xml;
        if (c.opaque.size() + c.text.size() > limits.max_message_size) {
          return S::attachment_too_large;
        }
        r.mime = leafValue(c);
        have_mime = true;
        break;
      case kSource: {
        if (!smart || r.source) return S::invalid_xml;
        SourceRef s;
        for (const wbxml::Element& f : c.children) {
          if (f.page != kComposePage || !f.children.empty()) return S::invalid_xml;
          std::optional<std::string>* slot = nullptr;
          if (f.token == kFolderId) {
            slot = &s.folder_id;
          } else if (f.token == kItemId || f.token == kLongId) {
            if (f.token == kLongId) {
              if (s.item_id && !s.long_id) return S::invalid_combination_of_ids;
              s.long_id = true;
            } else if (s.long_id) {
              return S::invalid_combination_of_ids;
            }
            slot = &s.item_id;
          } else if (f.token == kInstanceId) {
            continue;  // recurring meeting occurrences: mail items have none
          } else {
            return S::invalid_xml;
          }
          if (slot->has_value()) return S::invalid_xml;
          *slot = leafValue(f);
        }
        // MS-ASCMD 2.2.3.173 Source, 2.2.3.98.4 LongId: LongId stands alone,
        // without FolderId/ItemId; 2.2.3.74: FolderId needs ItemId.
        if (s.long_id && s.folder_id) return S::invalid_combination_of_ids;
        if (!s.item_id) return S::invalid_xml;
        r.source = std::move(s);
        break;
      }
      default:
        break;  // AccountId (one account per user), 16.0 Forwardees: ignored
    }
  }
  // ClientId and Mime are required (1...1); Source is for Smart*.
  if (!r.client_id || !have_mime || (smart && !r.source)) return S::invalid_xml;
  return r;
}

// The 12.1 form: the message is the body, the rest on the request line.
std::variant<Request, SendMailStatus> decodeRaw(const rampart::eas::EasRequest& line,
                                                std::string_view raw, bool smart,
                                                const SendMailLimits& limits) {
  using S = SendMailStatus;
  if (raw.empty()) return S::invalid_content;
  if (raw.size() > limits.max_message_size) return S::attachment_too_large;
  Request r;
  r.mime = std::string(raw);
  r.save_in_sent = line.save_in_sent;
  if (smart) {
    SourceRef s;
    if (line.long_id) {
      if (line.item_id || line.collection_id) return S::invalid_combination_of_ids;
      s.item_id = line.long_id;
      s.long_id = true;
    } else {
      s.item_id = line.item_id;
      s.folder_id = line.collection_id;
    }
    if (!s.item_id) return S::invalid_xml;
    r.source = std::move(s);
  }
  return r;
}

// The source item of a SmartReply/SmartForward and, when asked, its bytes.
struct Source {
  store::Item item;
  std::optional<std::string> bytes;
};

// The source item; none when it is not the user's (Status 150). Its bytes are
// read when `with_bytes` is set or when it may be rights-protected
// (detail::mayBeRightsProtected).
Result<std::optional<Source>> readSource(CommandContext& ctx, const SourceRef& src,
                                         bool with_bytes) {
  using Found = std::optional<Source>;
  auto id = parseItemId(*src.item_id);
  if (!id) return Found();
  std::optional<store::FolderId> folder = id->folder;
  if (src.folder_id) {
    auto f = parseDecimal(*src.folder_id);
    if (!f || (folder && *folder != *f)) return Found();
    folder = *f;
  }
  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());
  auto item = ctx.mail.getItem(id->item);
  if (!item) {
    if (item.error().is(Errc::not_found)) return Found();
    return fail(item.error());
  }
  if (item->mailbox != *mailbox || (folder && item->folder != *folder)) return Found();
  Source out{std::move(*item), std::nullopt};
  if (with_bytes || detail::mayBeRightsProtected(out.item)) {
    auto bytes = ctx.mail.messageBytes(out.item.id);
    if (!bytes) {
      if (bytes.error().is(Errc::not_found)) return Found();
      return fail(bytes.error());
    }
    out.bytes = std::move(*bytes);
  }
  return Found(std::move(out));
}

// The rights of the user over a SmartReply/SmartForward's original: none in
// `out` when it is not rights-protected. False when it claims protection but
// its license does not read (the request is refused: this server cannot show
// the action is allowed).
bool sourceRights(CommandContext& ctx, std::string_view command, const Source& source,
                  detail::RightsResolver& resolver, std::optional<detail::MessageRights>& out) {
  out.reset();
  if (!source.bytes || !detail::mayBeRightsProtected(source.item)) return true;
  auto rights = resolver.rightsOfMessage(*source.bytes);
  if (!rights) {
    log::get("eas")->info("{} from {}/{}: item {}: {}; refused", command, ctx.user, ctx.device_id,
                          source.item.id, rights.error().message());
    return false;
  }
  out = std::move(*rights);
  return true;
}

// MS-ASRM "Handling SmartForward and SmartReply Requests" and "Enforcing
// Rights Policy Template Settings": an action on a protected original that
// the template does not grant this user is refused with composemail:Status
// 172 (MS-ASCMD 2.2.2 IRM_OperationNotPermitted) and nothing is sent. The
// owner may do anything. SmartForward needs ForwardAllowed; SmartReply needs
// ReplyAllowed, ReplyAllAllowed when it goes to anyone but the owner, and
// ModifyRecipientsAllowed when it goes to anyone the original did not (the
// license names the owner and every recipient). `recipients` are the new
// message's, empty before composing (then only the first checks apply).
// Returns what is missing, or nullptr when allowed.
const char* missingRight(const detail::MessageRights& r, const detail::RightsResolver& resolver,
                         bool forward, const std::vector<std::string>& recipients) {
  using namespace crypto::rights;
  if (r.is_owner) return nullptr;
  if (forward) return r.allows(kForward) ? nullptr : "forward";
  if (!r.allows(kReply)) return "reply";
  for (const std::string& to : recipients) {
    if (equalsIgnoreCase(to, r.owner) || resolver.isUserAddress(to)) continue;
    bool on_original = false;
    for (const std::string& o : r.recipients) on_original = on_original || equalsIgnoreCase(o, to);
    if (!on_original && !r.allows(kModifyRecipients)) return "modify-recipients";
    if (!r.allows(kReplyAll)) return "reply-all";
  }
  return nullptr;
}

void logRefusal(CommandContext& ctx, std::string_view command, const Source& source,
                const detail::MessageRights& r, const char* missing) {
  log::get("eas")->info(
      "{} from {}/{}: item {} is protected by template {} ({}), which does not give {} the "
      "{} right; refused",
      command, ctx.user, ctx.device_id, source.item.id, r.template_id, r.template_name, ctx.user,
      missing);
}

// "<32 hex digits@domain of the user>" for a message without a Message-ID.
std::string newMessageId(std::string_view address) {
  std::uint8_t raw[16];
  systemRandom().fill(std::span<std::uint8_t>(raw));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "<";
  for (std::uint8_t b : raw) {
    id += kHex[b >> 4];
    id += kHex[b & 0x0F];
  }
  auto at = address.rfind('@');
  id += '@';
  id += at == std::string_view::npos ? std::string_view("rampart.invalid") : address.substr(at + 1);
  id += '>';
  return id;
}

SendMailStatus statusOf(mime::ComposeProblem p) {
  using P = mime::ComposeProblem;
  using S = SendMailStatus;
  switch (p) {
    case P::too_large:
      return S::attachment_too_large;
    case P::invalid_mime:
      return S::invalid_mime;
    case P::no_recipients:
      return S::message_has_no_recipient;
    case P::too_many_recipients:
      return S::send_quota_exceeded;
    case P::bad_recipient:
      return S::message_recipient_unresolved;
    case P::none:
      break;
  }
  return S::server_error;
}

Result<ComposeOutcome> refuse(std::string_view command, SendMailStatus status) {
  auto bytes = sendStatusResponse(command, static_cast<int>(status));
  if (!bytes) return fail(bytes.error());
  ComposeOutcome out;
  out.status_response = std::move(*bytes);
  out.status = static_cast<int>(status);
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> sendStatusResponse(std::string_view command, int status) {
  auto token = commandToken(command);
  if (!token)
    return fail(Errc::invalid_argument, "not a ComposeMail command: " + std::string(command));
  wbxml::Writer w;
  w.start(kComposePage, *token);
  w.start(kComposePage, kStatus);
  w.content(std::to_string(status));
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<ComposeOutcome> composeOutgoing(CommandContext& ctx, std::string_view command,
                                       const wbxml::Document* body, std::string_view raw_body,
                                       const SendMailLimits& limits) {
  auto token = commandToken(command);
  if (!token)
    return fail(Errc::invalid_argument, "not a ComposeMail command: " + std::string(command));
  if (ctx.address.empty()) return fail(Errc::internal, "the user has no mail address");
  bool smart = *token != kSendMail;
  auto logger = log::get("eas");

  std::variant<Request, SendMailStatus> decoded;
  if (body != nullptr) {
    decoded = decodeWbxml(body->root, *token, limits);
  } else {
    if (ctx.request == nullptr) return fail(Errc::invalid_argument, "no request line");
    decoded = decodeRaw(*ctx.request, raw_body, smart, limits);
  }
  if (auto* status = std::get_if<SendMailStatus>(&decoded)) {
    logger->info("{} from {}/{}: refused with Status {}", command, ctx.user, ctx.device_id,
                 static_cast<int>(*status));
    return refuse(command, *status);
  }
  Request& req = std::get<Request>(decoded);

  std::string original;
  std::optional<Source> source;
  std::optional<detail::MessageRights> source_rights;
  std::optional<detail::RightsResolver> resolver;
  bool forward = *token == kSmartForward;
  if (smart) {
    // With ReplaceMime the original is not used, but its rights still count
    // (the device's message may carry it).
    auto found = readSource(ctx, *req.source, !req.replace_mime);
    if (!found) return fail(found.error());
    if (!*found) {
      if (!req.replace_mime) {
        logger->info("{} from {}/{}: source item {} not found", command, ctx.user, ctx.device_id,
                     *req.source->item_id);
        return refuse(command, SendMailStatus::item_not_found);
      }
    } else {
      source = std::move(**found);
      resolver.emplace(detail::RightsResolver::forContext(ctx));
      if (!sourceRights(ctx, command, *source, *resolver, source_rights)) {
        return refuse(command, kIrmOperationNotPermitted);
      }
      if (source_rights) {
        if (const char* missing = missingRight(*source_rights, *resolver, forward, {})) {
          logRefusal(ctx, command, *source, *source_rights, missing);
          return refuse(command, kIrmOperationNotPermitted);
        }
      }
      if (!req.replace_mime) original = std::move(*source->bytes);
    }
  }

  mime::ComposeRequest cr;
  cr.kind = *token == kSendMail     ? mime::ComposeKind::send
            : *token == kSmartReply ? mime::ComposeKind::reply
                                    : mime::ComposeKind::forward;
  cr.message = req.mime;
  cr.original = original;
  cr.replace_mime = req.replace_mime;
  cr.user_address = ctx.address;
  cr.user_display_name = ctx.display_name;
  cr.now = ctx.now;
  cr.message_id = newMessageId(ctx.address);
  mime::ComposeLimits cl;
  cl.max_message_size = limits.max_message_size;
  cl.max_recipients = limits.max_recipients;
  mime::Composed composed = mime::compose(cr, cl);
  if (composed.problem != mime::ComposeProblem::none) {
    logger->info("{} from {}/{}: {}", command, ctx.user, ctx.device_id, composed.detail);
    return refuse(command, statusOf(composed.problem));
  }
  if (source_rights) {
    // Who the reply goes to is known only now.
    if (const char* missing =
            missingRight(*source_rights, *resolver, forward, composed.recipients)) {
      logRefusal(ctx, command, *source, *source_rights, missing);
      return refuse(command, kIrmOperationNotPermitted);
    }
  }

  OutgoingMail mail;
  mail.sender = ctx.address;
  mail.recipients = std::move(composed.recipients);
  mail.bytes = std::make_shared<const std::string>(std::move(composed.message));
  mail.save_in_sent = req.save_in_sent;
  if (req.save_in_sent) {
    mail.sent_copy = std::make_shared<const std::string>(std::move(composed.sent_copy));
  }
  mail.client_id = std::move(req.client_id);
  ComposeOutcome out;
  out.mail = std::move(mail);
  return out;
}

}  // namespace rampart::server::eas
