#include "server/eas/item_operations_command.h"

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "codec/eas/item_requests.h"
#include "codec/eas/multipart.h"
#include "codec/mime/part_content.h"
#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "core/base64.h"
#include "core/log.h"
#include "server/eas/detail/email_encoding.h"
#include "server/eas/detail/item_ids.h"
#include "server/eas/detail/rights_info.h"

namespace rampart::server::eas {
namespace {

namespace codec = rampart::eas;
using wbxml::Element;

// Our bound on one attachment's decoded size (what one Fetch carries).
constexpr std::size_t kMaxAttachmentBytes = std::size_t{32} << 20;

// An element by namespace and name; the names below are all in
// [MS-ASWBXML]'s tables, so the lookup does not fail.
Element el(std::string_view ns, std::string_view name) {
  Element e;
  if (const wbxml::TagInfo* t = wbxml::findTag(ns, name)) {
    e.page = t->page;
    e.token = t->token;
    e.name = t->name;
  }
  return e;
}

Element leaf(std::string_view ns, std::string_view name, std::string text) {
  Element e = el(ns, name);
  e.text = std::move(text);
  return e;
}

Element statusElement(ItemOperationsStatus s) {
  return leaf("ItemOperations", "Status", std::to_string(static_cast<int>(s)));
}

// MS-ASCMD 2.2.2 common status 172, IRM_OperationNotPermitted (MS-ASRM
// "Enforcing Rights Policy Template Settings"): a Fetch that asks to remove
// protection the template does not let this user remove. The header's enum
// lists this server's ItemOperations values; the common one is cast here.
const ItemOperationsStatus kIrmOperationNotPermitted =
    static_cast<ItemOperationsStatus>(detail::kIrmOperationNotPermitted);

// The response under construction: the WBXML tree and, when multipart, the
// data parts after part 0.
struct Builder {
  bool multipart = false;
  std::vector<std::string> parts;  // index i here is part i + 1
  // Rights of this request's user, made on first use (one per request, so
  // each license and template is read once).
  std::optional<detail::RightsResolver> rights;

  detail::RightsResolver& resolver(CommandContext& ctx) {
    if (!rights) rights.emplace(detail::RightsResolver::forContext(ctx));
    return *rights;
  }

  // The index of a new part holding `bytes`.
  std::string addPart(std::string bytes) {
    parts.push_back(std::move(bytes));
    return std::to_string(parts.size());
  }
};

// The email properties as the shared encoder writes them, as a tree: written
// under a Properties element, then read back.
Result<Element> emailProperties(CommandContext& ctx, const store::Item& item,
                                const codec::FetchRequest& fetch, Builder& b) {
  std::vector<detail::BodyPreference> prefs;
  if (fetch.options) prefs = detail::parseBodyPreferences(*fetch.options);
  detail::EmailEncodeOptions options;
  options.mime_support = fetch.mime_support.value_or(0);
  // MS-ASRM 3.2.4.3: RightsManagementLicense goes into Properties.
  if (fetch.rights_management_support) options.rights = &b.resolver(ctx);
  wbxml::Writer w;
  w.start("ItemOperations", "Properties");
  if (auto st =
          detail::writeEmailProperties(w, item, ctx.mail, prefs, ctx.protocol_version, options);
      !st) {
    return fail(st.error());
  }
  w.end();
  auto bytes = std::move(w).finish();
  if (!bytes) return fail(bytes.error());
  // What we wrote ourselves: the bounds only need to hold the largest body.
  wbxml::Limits limits;
  limits.max_string = std::size_t{256} << 20;
  limits.max_total = std::size_t{512} << 20;
  auto doc = wbxml::decode(*bytes, limits);
  if (!doc) return fail(doc.error());
  return std::move(doc->root);
}

// Moves the email body's Data into a part (MS-ASCMD 2.2.3.130: Part replaces
// airsyncbase:Body's Data in a multipart response).
void bodyDataToPart(Element& properties, Builder& b) {
  for (Element& body : properties.children) {
    if (body.name != "Body" || wbxml::pageNamespace(body.page) != "AirSyncBase") continue;
    for (Element& data : body.children) {
      if (data.name != "Data" || wbxml::pageNamespace(data.page) != "AirSyncBase") continue;
      std::string index = b.addPart(std::move(data.text));
      data = leaf("ItemOperations", "Part", std::move(index));
    }
  }
}

// The item of the user's mailbox; none when unknown or someone else's.
Result<std::optional<store::Item>> ownItem(CommandContext& ctx, store::MailboxId mailbox,
                                           store::ItemId id) {
  auto item = ctx.mail.getItem(id);
  if (!item) {
    if (item.error().is(Errc::not_found)) return std::optional<store::Item>();
    return fail(item.error());
  }
  if (item->mailbox != mailbox) return std::optional<store::Item>();
  return std::optional<store::Item>(std::move(*item));
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto low = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return low(x) == low(y);
  });
}

Result<Element> fetchEmail(CommandContext& ctx, store::MailboxId mailbox,
                           const codec::FetchRequest& f, Builder& b) {
  Element out = el("ItemOperations", "Fetch");
  // The ids as sent come back with the result (MS-ASCMD 2.2.1.10 response).
  std::vector<Element> ids;
  std::optional<detail::ItemServerId> target;
  if (f.long_id) {
    ids.push_back(leaf("Search", "LongId", *f.long_id));
    target = detail::parseItemServerId(*f.long_id);
  } else {
    ids.push_back(leaf("AirSync", "CollectionId", *f.collection_id));
    ids.push_back(leaf("AirSync", "ServerId", *f.server_id));
    target = detail::parseItemServerId(*f.server_id);
    auto folder = detail::parseCollectionId(*f.collection_id);
    if (target && (!folder || *folder != target->folder)) target.reset();
  }
  std::optional<store::Item> item;
  if (target) {
    auto found = ownItem(ctx, mailbox, target->item);
    if (!found) return fail(found.error());
    if (*found && (*found)->folder == target->folder) item = std::move(*found);
  }
  if (!item) {
    out.children.push_back(statusElement(ItemOperationsStatus::not_found));
    for (auto& e : ids) out.children.push_back(std::move(e));
    return out;
  }
  if (f.remove_rights_management_protection) {
    // MS-ASRM 2.2.2.11: protection can only be removed when ExportAllowed is
    // TRUE for this user (the owner has every right). This server holds no
    // content key, so it cannot strip the protection itself: an allowed
    // request is answered with the message as stored (the device, which gets
    // the content key from the rights server, unprotects it); a refused one
    // with Status 172 and no Properties.
    auto rights = b.resolver(ctx).rightsOfItem(*item, ctx.mail);
    if (!rights && !rights.error().is(Errc::not_found)) return fail(rights.error());
    if (rights && *rights && !(*rights)->allows(crypto::rights::kExport)) {
      log::get("eas")->info("ItemOperations from {}/{}: removing the protection of item {} refused",
                            ctx.user, ctx.device_id, item->id);
      out.children.push_back(statusElement(kIrmOperationNotPermitted));
      for (auto& e : ids) out.children.push_back(std::move(e));
      return out;
    }
  }
  auto properties = emailProperties(ctx, *item, f, b);
  if (!properties) {
    // The message went away between the two reads.
    if (properties.error().is(Errc::not_found)) {
      out.children.push_back(statusElement(ItemOperationsStatus::not_found));
      for (auto& e : ids) out.children.push_back(std::move(e));
      return out;
    }
    return fail(properties.error());
  }
  if (b.multipart) bodyDataToPart(*properties, b);
  out.children.push_back(statusElement(ItemOperationsStatus::success));
  for (auto& e : ids) out.children.push_back(std::move(e));
  out.children.push_back(leaf("AirSync", "Class", "Email"));
  out.children.push_back(std::move(*properties));
  return out;
}

Result<Element> fetchAttachment(CommandContext& ctx, store::MailboxId mailbox,
                                const codec::FetchRequest& f, Builder& b) {
  Element out = el("ItemOperations", "Fetch");
  Element reference = leaf("AirSyncBase", "FileReference", *f.file_reference);
  auto answer = [&](ItemOperationsStatus s) {
    out.children.push_back(statusElement(s));
    out.children.push_back(std::move(reference));
    return out;
  };
  // MS-ASAIRS 2.2.2.24.2: an empty (or unknown) FileReference is Status 15.
  auto ref = detail::parseFileReference(*f.file_reference);
  if (!ref) return answer(ItemOperationsStatus::attachment_invalid);
  auto item = ownItem(ctx, mailbox, ref->item);
  if (!item) return fail(item.error());
  if (!*item) return answer(ItemOperationsStatus::attachment_invalid);
  auto message = ctx.mail.messageBytes(ref->item);
  if (!message) {
    if (message.error().is(Errc::not_found))
      return answer(ItemOperationsStatus::attachment_invalid);
    return fail(message.error());
  }
  auto part = mime::partContent(*message, ref->part_path, kMaxAttachmentBytes);
  if (!part) return answer(ItemOperationsStatus::attachment_invalid);

  std::string_view data = part->bytes;
  std::optional<codec::Range> range = f.range;
  if (range) {
    // MS-ASCMD 2.2.3.143.2: a range past the end is Status 8; one that runs
    // over the end is cut to it.
    if (range->first >= data.size() && !(data.empty() && range->first == 0)) {
      return answer(ItemOperationsStatus::bad_range);
    }
    std::uint64_t last = data.empty() ? 0 : std::min<std::uint64_t>(range->last, data.size() - 1);
    range->last = last;
    data = data.empty() ? data : data.substr(range->first, last - range->first + 1);
  }
  Element properties = el("ItemOperations", "Properties");
  properties.children.push_back(leaf("AirSyncBase", "ContentType", part->content_type));
  if (range)
    properties.children.push_back(leaf("ItemOperations", "Range", codec::formatRange(*range)));
  properties.children.push_back(
      leaf("ItemOperations", "Total", std::to_string(part->bytes.size())));
  if (b.multipart) {
    properties.children.push_back(leaf("ItemOperations", "Part", b.addPart(std::string(data))));
  } else {
    properties.children.push_back(leaf("ItemOperations", "Data", base64Encode(data)));
  }
  out.children.push_back(statusElement(ItemOperationsStatus::success));
  out.children.push_back(std::move(reference));
  out.children.push_back(std::move(properties));
  return out;
}

Result<Element> fetch(CommandContext& ctx, store::MailboxId mailbox, const codec::FetchRequest& f,
                      Builder& b) {
  if (!equalsNoCase(f.store, "Mailbox") || f.link_id) {
    Element out = el("ItemOperations", "Fetch");
    out.children.push_back(statusElement(ItemOperationsStatus::store_not_supported));
    return out;
  }
  if (f.file_reference) return fetchAttachment(ctx, mailbox, f, b);
  return fetchEmail(ctx, mailbox, f, b);
}

Result<Element> emptyFolderContents(CommandContext& ctx, store::MailboxId mailbox,
                                    const codec::EmptyFolderContentsRequest& e) {
  Element out = el("ItemOperations", "EmptyFolderContents");
  auto answer = [&](ItemOperationsStatus s) {
    out.children.push_back(statusElement(s));
    out.children.push_back(leaf("AirSync", "CollectionId", e.collection_id));
    return out;
  };
  auto id = detail::parseCollectionId(e.collection_id);
  if (!id) return answer(ItemOperationsStatus::not_found);
  auto folder = ctx.mail.getFolder(*id);
  if (!folder) {
    if (folder.error().is(Errc::not_found)) return answer(ItemOperationsStatus::not_found);
    return fail(folder.error());
  }
  if (folder->mailbox != mailbox) return answer(ItemOperationsStatus::not_found);
  if (auto st = ctx.mail.emptyFolder(folder->id); !st) {
    if (st.error().is(Errc::not_found)) return answer(ItemOperationsStatus::not_found);
    return fail(st.error());
  }
  if (e.delete_subfolders) {
    auto folders = ctx.mail.listFolders(mailbox);
    if (!folders) return fail(folders.error());
    for (const store::Folder& f : *folders) {
      if (f.parent != folder->id) continue;
      // deleteFolder takes the subfolder's own subfolders with it. One that
      // is already gone, or a default folder the store keeps, stays as is.
      if (auto st = ctx.mail.deleteFolder(f.id); !st) {
        if (!st.error().is(Errc::not_found) && !st.error().is(Errc::invalid_argument)) {
          return fail(st.error());
        }
      }
    }
  }
  return answer(ItemOperationsStatus::success);
}

Result<ItemOperationsResponse> finish(Element root, Builder& b) {
  wbxml::Document doc{std::move(root)};
  auto wbxml_bytes = wbxml::encode(doc);
  if (!wbxml_bytes) return fail(wbxml_bytes.error());
  ItemOperationsResponse out;
  if (!b.multipart) {
    out.body = std::move(*wbxml_bytes);
    return out;
  }
  std::vector<std::span<const std::uint8_t>> parts;
  parts.reserve(b.parts.size() + 1);
  parts.emplace_back(*wbxml_bytes);
  for (const std::string& p : b.parts) {
    parts.emplace_back(reinterpret_cast<const std::uint8_t*>(p.data()), p.size());
  }
  auto body = codec::encodeMultipart(parts);
  if (!body) return fail(body.error());
  out.body = std::move(*body);
  out.multipart = true;
  return out;
}

}  // namespace

Result<ItemOperationsResponse> runItemOperations(CommandContext& ctx, const wbxml::Document& body) {
  auto logger = log::get("eas");
  Builder b;
  b.multipart = ctx.request != nullptr && ctx.request->accept_multipart;
  Element root = el("ItemOperations", "ItemOperations");

  auto request = codec::decodeItemOperationsRequest(body);
  if (!request) {
    logger->info("ItemOperations from {}/{}: {}", ctx.user, ctx.device_id,
                 request.error().message());
    root.children.push_back(statusElement(ItemOperationsStatus::protocol_error));
    b.multipart = false;  // nothing to carry in parts
    return finish(std::move(root), b);
  }
  auto mailbox = ctx.mail.openMailbox(ctx.user);
  if (!mailbox) return fail(mailbox.error());

  Element response = el("ItemOperations", "Response");
  for (const codec::ItemOperation& op : request->operations) {
    Result<Element> result = std::visit(
        [&](const auto& o) -> Result<Element> {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, codec::FetchRequest>) {
            return fetch(ctx, *mailbox, o, b);
          } else if constexpr (std::is_same_v<T, codec::EmptyFolderContentsRequest>) {
            return emptyFolderContents(ctx, *mailbox, o);
          } else {
            // Moving a whole conversation (14.0+) needs conversation ids,
            // which this server does not keep.
            Element move = el("ItemOperations", "Move");
            move.children.push_back(statusElement(ItemOperationsStatus::action_not_supported));
            Element conversation = el("ItemOperations", "ConversationId");
            conversation.opaque = o.conversation_id;
            move.children.push_back(std::move(conversation));
            return move;
          }
        },
        op);
    if (!result) return fail(result.error());
    response.children.push_back(std::move(*result));
  }
  root.children.push_back(statusElement(ItemOperationsStatus::success));
  root.children.push_back(std::move(response));
  return finish(std::move(root), b);
}

}  // namespace rampart::server::eas
