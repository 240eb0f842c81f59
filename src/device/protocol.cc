#include "device/protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <span>

#include "codec/wbxml/code_pages.h"
#include "codec/wbxml/writer.h"
#include "codec/xml_text.h"
#include "core/base64.h"

namespace rampart::device {

namespace {

using wbxml::Element;
using wbxml::Writer;

// ---- reading ----

// The first child named `name` in namespace `ns`; names repeat across code
// pages (Status is in nine of them), so the page is compared too.
const Element* find(const Element& parent, std::string_view ns, std::string_view name) {
  auto page = wbxml::pageOf(ns);
  if (!page) return nullptr;
  for (const Element& c : parent.children) {
    if (c.page == *page && c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const Element*> findAll(const Element& parent, std::string_view ns,
                                    std::string_view name) {
  std::vector<const Element*> out;
  auto page = wbxml::pageOf(ns);
  if (!page) return out;
  for (const Element& c : parent.children) {
    if (c.page == *page && c.name == name) out.push_back(&c);
  }
  return out;
}

bool isRoot(const wbxml::Document& doc, std::string_view ns, std::string_view name) {
  auto page = wbxml::pageOf(ns);
  return page && doc.root.page == *page && doc.root.name == name;
}

std::string bounded(std::string_view s, std::size_t limit = kMaxField) {
  return std::string(s.substr(0, std::min(s.size(), limit)));
}

// The element's text, or its opaque bytes when it has no text (servers may
// send either for strings).
std::string textOf(const Element& e, std::size_t limit = kMaxField) {
  if (!e.text.empty() || e.opaque.empty()) return bounded(e.text, limit);
  std::string_view raw(reinterpret_cast<const char*>(e.opaque.data()), e.opaque.size());
  return bounded(raw, limit);
}

std::optional<std::string> optText(const Element& parent, std::string_view ns,
                                   std::string_view name, std::size_t limit = kMaxField) {
  const Element* e = find(parent, ns, name);
  if (!e) return std::nullopt;
  return textOf(*e, limit);
}

Result<int> number(const Element& e, std::string_view what) {
  int v = 0;
  const std::string& t = e.text;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return fail(Errc::protocol_error, std::string(what) + ": not a number");
  }
  return v;
}

Result<int> requiredNumber(const Element& parent, std::string_view ns, std::string_view name) {
  const Element* e = find(parent, ns, name);
  if (!e) return fail(Errc::protocol_error, std::string(ns) + ":" + std::string(name) + " missing");
  return number(*e, std::string(ns) + ":" + std::string(name));
}

Result<std::optional<int>> optionalNumber(const Element& parent, std::string_view ns,
                                          std::string_view name) {
  const Element* e = find(parent, ns, name);
  if (!e) return std::optional<int>{};
  auto v = number(*e, std::string(ns) + ":" + std::string(name));
  if (!v) return fail(v.error());
  return std::optional<int>{*v};
}

Status wrongRoot(std::string_view expected) {
  return fail(Errc::protocol_error, "response is not " + std::string(expected));
}

// MS-ASEMAIL 2.2.2 fields and MS-ASAIRS 2.2.2.9 Body from an ApplicationData
// (Sync) or Properties (ItemOperations) element.
EmailFields emailFields(const Element& data) {
  EmailFields f;
  f.subject = optText(data, "Email", "Subject");
  f.from = optText(data, "Email", "From");
  f.to = optText(data, "Email", "To");
  f.cc = optText(data, "Email", "Cc");
  f.date = optText(data, "Email", "DateReceived");
  if (const Element* r = find(data, "Email", "Read")) f.read = r->text == "1";
  if (const Element* flag = find(data, "Email", "Flag")) {
    // An empty Flag clears it; Status 2 is "active", 1 "complete" (MS-ASEMAIL 2.2.2.35).
    const Element* st = find(*flag, "Email", "Status");
    f.flagged = st != nullptr && st->text == "2";
  }
  if (const Element* body = find(data, "AirSyncBase", "Body")) {
    f.body = optText(*body, "AirSyncBase", "Data", kMaxBody);
    if (const Element* t = find(*body, "AirSyncBase", "Truncated"))
      f.body_truncated = t->text == "1";
    if (const Element* t = find(*body, "AirSyncBase", "Type")) {
      if (auto v = number(*t, "AirSyncBase:Type")) f.body_type = *v;
    }
  }
  f.message_class = optText(data, "Email", "MessageClass");
  if (const Element* rm = find(data, "RightsManagement", "RightsManagementLicense")) {
    // MS-ASRM 2.2.2.13: booleans are "1"/"0".
    auto flag = [&](std::string_view name) {
      const Element* e = find(*rm, "RightsManagement", name);
      return e != nullptr && e->text == "1";
    };
    RightsLicense l;
    l.edit = flag("EditAllowed");
    l.reply = flag("ReplyAllowed");
    l.reply_all = flag("ReplyAllAllowed");
    l.forward = flag("ForwardAllowed");
    l.modify_recipients = flag("ModifyRecipientsAllowed");
    l.extract = flag("ExtractAllowed");
    l.print = flag("PrintAllowed");
    l.export_ = flag("ExportAllowed");
    l.programmatic = flag("ProgrammaticAccessAllowed");
    l.owner = flag("Owner");
    l.content_owner = optText(*rm, "RightsManagement", "ContentOwner").value_or("");
    l.content_expiry = optText(*rm, "RightsManagement", "ContentExpiryDate").value_or("");
    l.template_id = optText(*rm, "RightsManagement", "TemplateID").value_or("");
    l.template_name = optText(*rm, "RightsManagement", "TemplateName").value_or("");
    l.template_description = optText(*rm, "RightsManagement", "TemplateDescription").value_or("");
    f.rights = std::move(l);
  }
  return f;
}

// ---- writing ----

void leaf(Writer& w, std::string_view ns, std::string_view name, std::string_view text) {
  w.start(ns, name);
  if (!text.empty()) w.content(text);
  w.end();
}

void bodyPreference(Writer& w, std::optional<std::uint32_t> truncation) {
  // MS-ASAIRS 2.2.2.7: Type 1 is plain text.
  w.start("AirSyncBase", "BodyPreference");
  leaf(w, "AirSyncBase", "Type", "1");
  if (truncation) leaf(w, "AirSyncBase", "TruncationSize", std::to_string(*truncation));
  w.end();
}

}  // namespace

std::optional<int> rootStatus(const wbxml::Document& doc) {
  for (const Element& c : doc.root.children) {
    if (c.page == doc.root.page && c.name == "Status") {
      auto v = number(c, "Status");
      if (v) return *v;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// ---- FolderSync ----

Result<Bytes> buildFolderSync(std::string_view sync_key) {
  // MS-ASCMD 2.2.1.5.1: FolderSync{SyncKey}.
  Writer w;
  w.start("FolderHierarchy", "FolderSync");
  leaf(w, "FolderHierarchy", "SyncKey", sync_key);
  w.end();
  return std::move(w).finish();
}

Result<FolderSyncResult> parseFolderSync(const wbxml::Document& doc) {
  if (!isRoot(doc, "FolderHierarchy", "FolderSync")) return fail(wrongRoot("FolderSync").error());
  FolderSyncResult r;
  auto status = requiredNumber(doc.root, "FolderHierarchy", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  if (auto key = optText(doc.root, "FolderHierarchy", "SyncKey")) r.sync_key = *key;
  if (r.status != 1) return r;
  if (r.sync_key.empty()) return fail(Errc::protocol_error, "FolderHierarchy:SyncKey missing");
  const Element* changes = find(doc.root, "FolderHierarchy", "Changes");
  if (!changes) return r;
  auto folder = [](const Element& e) -> Result<Folder> {
    Folder f;
    auto id = optText(e, "FolderHierarchy", "ServerId");
    if (!id || id->empty()) return fail(Errc::protocol_error, "FolderHierarchy:ServerId missing");
    f.server_id = *id;
    f.parent_id = optText(e, "FolderHierarchy", "ParentId").value_or("0");
    f.display_name = optText(e, "FolderHierarchy", "DisplayName").value_or("");
    auto type = optionalNumber(e, "FolderHierarchy", "Type");
    if (!type) return fail(type.error());
    f.type = type->value_or(0);
    return f;
  };
  for (const Element& c : changes->children) {
    if (c.name == "Add" || c.name == "Update") {
      auto f = folder(c);
      if (!f) return fail(f.error());
      (c.name == "Add" ? r.adds : r.updates).push_back(std::move(*f));
    } else if (c.name == "Delete") {
      auto id = optText(c, "FolderHierarchy", "ServerId");
      if (!id) return fail(Errc::protocol_error, "FolderHierarchy:ServerId missing");
      r.deletes.push_back(*id);
    }
  }
  return r;
}

// ---- Sync ----

Result<Bytes> buildSync(const SyncRequest& q) {
  // MS-ASCMD 2.2.1.21.1 and the 6.42 request schema: Collection{SyncKey,
  // CollectionId, GetChanges?, WindowSize?, Options?, Commands?}. With SyncKey 0
  // only SyncKey and CollectionId (3.1.5.3: the first Sync returns just a key).
  Writer w;
  w.start("AirSync", "Sync");
  w.start("AirSync", "Collections");
  w.start("AirSync", "Collection");
  leaf(w, "AirSync", "SyncKey", q.sync_key);
  leaf(w, "AirSync", "CollectionId", q.collection_id);
  if (q.sync_key != "0") {
    leaf(w, "AirSync", "WindowSize", std::to_string(q.window_size));
    if (q.with_options) {
      w.start("AirSync", "Options");
      leaf(w, "AirSync", "MIMESupport", "0");
      bodyPreference(w, q.truncation);
      w.end();
    }
    if (!q.changes.empty() || !q.fetch.empty()) {
      w.start("AirSync", "Commands");
      for (const ClientChange& c : q.changes) {
        if (c.kind == ClientChange::Kind::mark_read) {
          w.start("AirSync", "Change");
          leaf(w, "AirSync", "ServerId", c.server_id);
          w.start("AirSync", "ApplicationData");
          leaf(w, "Email", "Read", c.read ? "1" : "0");
          w.end();
          w.end();
        } else {
          w.start("AirSync", "Delete");
          leaf(w, "AirSync", "ServerId", c.server_id);
          w.end();
        }
      }
      for (const std::string& id : q.fetch) {
        w.start("AirSync", "Fetch");
        leaf(w, "AirSync", "ServerId", id);
        w.end();
      }
      w.end();
    }
  }
  w.end();
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<SyncResult> parseSync(const wbxml::Document& doc) {
  if (!isRoot(doc, "AirSync", "Sync")) return fail(wrongRoot("Sync").error());
  SyncResult r;
  if (auto top = optionalNumber(doc.root, "AirSync", "Status"); !top) {
    return fail(top.error());
  } else if (*top) {
    r.status = **top;  // a request-wide error (MS-ASCMD 2.2.3.177.16): no collections follow
  }
  const Element* collections = find(doc.root, "AirSync", "Collections");
  if (!collections) {
    if (r.status == 0) r.empty = true;
    return r;
  }
  const Element* c = find(*collections, "AirSync", "Collection");
  if (!c) return r;
  auto status = requiredNumber(*c, "AirSync", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  r.sync_key = optText(*c, "AirSync", "SyncKey").value_or("");
  if (r.status == 1 && r.sync_key.empty())
    return fail(Errc::protocol_error, "AirSync:SyncKey missing");
  r.more_available = find(*c, "AirSync", "MoreAvailable") != nullptr;
  if (const Element* commands = find(*c, "AirSync", "Commands")) {
    for (const Element& e : commands->children) {
      ServerItem item;
      if (e.name == "Add")
        item.kind = ServerItem::Kind::add;
      else if (e.name == "Change")
        item.kind = ServerItem::Kind::change;
      else if (e.name == "Delete" || e.name == "SoftDelete")
        item.kind = ServerItem::Kind::remove;
      else
        continue;
      auto id = optText(e, "AirSync", "ServerId");
      if (!id || id->empty()) return fail(Errc::protocol_error, "AirSync:ServerId missing");
      item.server_id = *id;
      if (const Element* data = find(e, "AirSync", "ApplicationData"))
        item.fields = emailFields(*data);
      r.items.push_back(std::move(item));
    }
  }
  if (const Element* responses = find(*c, "AirSync", "Responses")) {
    for (const Element& e : responses->children) {
      auto id = optText(e, "AirSync", "ServerId").value_or("");
      auto st = optionalNumber(e, "AirSync", "Status");
      if (!st) return fail(st.error());
      int item_status = st->value_or(1);
      if (e.name == "Fetch" && item_status == 1) {
        ServerItem item;
        item.server_id = id;
        if (const Element* data = find(e, "AirSync", "ApplicationData"))
          item.fields = emailFields(*data);
        r.fetched.push_back(std::move(item));
      } else if (item_status != 1) {
        r.failed.emplace_back(id, item_status);
      }
    }
  }
  return r;
}

// ---- Ping ----

Result<Bytes> buildPing(std::uint32_t heartbeat_seconds, const std::vector<PingFolder>& folders) {
  // MS-ASCMD 2.2.1.13.1: Ping{HeartbeatInterval, Folders{Folder{Id, Class}}}.
  Writer w;
  w.start("Ping", "Ping");
  leaf(w, "Ping", "HeartbeatInterval", std::to_string(heartbeat_seconds));
  w.start("Ping", "Folders");
  for (const PingFolder& f : folders) {
    w.start("Ping", "Folder");
    leaf(w, "Ping", "Id", f.id);
    leaf(w, "Ping", "Class", f.folder_class);
    w.end();
  }
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<PingResult> parsePing(const wbxml::Document& doc) {
  if (!isRoot(doc, "Ping", "Ping")) return fail(wrongRoot("Ping").error());
  PingResult r;
  auto status = requiredNumber(doc.root, "Ping", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  if (const Element* folders = find(doc.root, "Ping", "Folders")) {
    for (const Element* f : findAll(*folders, "Ping", "Folder")) r.changed.push_back(textOf(*f));
  }
  auto hb = optionalNumber(doc.root, "Ping", "HeartbeatInterval");
  if (!hb) return fail(hb.error());
  if (*hb && **hb > 0) r.heartbeat = static_cast<std::uint32_t>(**hb);
  auto mf = optionalNumber(doc.root, "Ping", "MaxFolders");
  if (!mf) return fail(mf.error());
  if (*mf && **mf > 0) r.max_folders = static_cast<std::uint32_t>(**mf);
  return r;
}

// ---- SendMail / SmartReply / SmartForward ----

Result<Bytes> buildCompose(const ComposeRequest& q) {
  // MS-ASCMD 2.2.1.17.1 / 2.2.1.20.1 / 2.2.1.19.1 (schemas 6.36, 6.40, 6.38):
  // ClientId, Source{FolderId, ItemId} (smart commands), SaveInSentItems, Mime.
  // Mime travels as an opaque BLOB (2.2.3.109).
  if (q.client_id.empty() || q.client_id.size() > 40) {
    return fail(Errc::invalid_argument, "ClientId must be 1-40 characters");
  }
  const char* root = q.kind == ComposeRequest::Kind::send    ? "SendMail"
                     : q.kind == ComposeRequest::Kind::reply ? "SmartReply"
                                                             : "SmartForward";
  Writer w;
  w.start("ComposeMail", root);
  leaf(w, "ComposeMail", "ClientId", q.client_id);
  if (q.kind != ComposeRequest::Kind::send) {
    w.start("ComposeMail", "Source");
    leaf(w, "ComposeMail", "FolderId", q.folder_id);
    leaf(w, "ComposeMail", "ItemId", q.item_id);
    w.end();
  }
  if (q.save_in_sent) {
    w.start("ComposeMail", "SaveInSentItems");
    w.end();
  }
  if (q.replace_mime && q.kind != ComposeRequest::Kind::send) {
    // 2.2.3.142 ReplaceMime: the message is complete; the server must not
    // append the original (a protected reply carries it inside itself).
    w.start("ComposeMail", "ReplaceMime");
    w.end();
  }
  w.start("ComposeMail", "Mime");
  w.opaque(std::span(reinterpret_cast<const std::uint8_t*>(q.mime.data()), q.mime.size()));
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<int> parseComposeStatus(const wbxml::Document& doc) {
  auto page = wbxml::pageOf("ComposeMail");
  if (!page || doc.root.page != *page) return fail(wrongRoot("a ComposeMail response").error());
  auto status = requiredNumber(doc.root, "ComposeMail", "Status");
  if (!status) return fail(status.error());
  return *status;
}

// ---- MoveItems ----

Result<Bytes> buildMoveItems(std::string_view server_id, std::string_view src_folder,
                             std::string_view dst_folder) {
  // MS-ASCMD 2.2.1.12.1: MoveItems{Move{SrcMsgId, SrcFldId, DstFldId}}.
  Writer w;
  w.start("Move", "MoveItems");
  w.start("Move", "Move");
  leaf(w, "Move", "SrcMsgId", server_id);
  leaf(w, "Move", "SrcFldId", src_folder);
  leaf(w, "Move", "DstFldId", dst_folder);
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<MoveResult> parseMoveItems(const wbxml::Document& doc) {
  if (!isRoot(doc, "Move", "MoveItems")) return fail(wrongRoot("MoveItems").error());
  MoveResult r;
  const Element* response = find(doc.root, "Move", "Response");
  if (!response) {
    // A request-wide status (e.g. 142) sits on the root.
    if (auto st = rootStatus(doc)) {
      r.status = *st;
      return r;
    }
    return fail(Errc::protocol_error, "Move:Response missing");
  }
  auto status = requiredNumber(*response, "Move", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  r.src_id = optText(*response, "Move", "SrcMsgId").value_or("");
  r.new_id = optText(*response, "Move", "DstMsgId").value_or("");
  return r;
}

// ---- ItemOperations ----

Result<Bytes> buildItemFetch(std::string_view collection_id, std::string_view server_id,
                             const FetchOptions& options) {
  // MS-ASCMD 2.2.1.10.1: ItemOperations{Fetch{Store Mailbox, airsync:CollectionId,
  // airsync:ServerId, Options{airsyncbase:BodyPreference{Type 1}}}}. With
  // `mime`: airsync:MIMESupport 2 and BodyPreference Type 4 (MS-ASAIRS 2.2.2.7),
  // the message as it was delivered, which S/MIME and rights management need.
  Writer w;
  w.start("ItemOperations", "ItemOperations");
  w.start("ItemOperations", "Fetch");
  leaf(w, "ItemOperations", "Store", "Mailbox");
  leaf(w, "AirSync", "CollectionId", collection_id);
  leaf(w, "AirSync", "ServerId", server_id);
  w.start("ItemOperations", "Options");
  if (options.mime) {
    leaf(w, "AirSync", "MIMESupport", "2");
    w.start("AirSyncBase", "BodyPreference");
    leaf(w, "AirSyncBase", "Type", "4");
    w.end();
  } else {
    bodyPreference(w, std::nullopt);
  }
  // MS-ASRM 2.2.2.14: the client can honour a RightsManagementLicense.
  if (options.rights) leaf(w, "RightsManagement", "RightsManagementSupport", "1");
  w.end();
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<FetchResult> parseItemFetch(const wbxml::Document& doc) {
  if (!isRoot(doc, "ItemOperations", "ItemOperations"))
    return fail(wrongRoot("ItemOperations").error());
  FetchResult r;
  auto status = requiredNumber(doc.root, "ItemOperations", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  if (r.status != 1) return r;
  const Element* response = find(doc.root, "ItemOperations", "Response");
  const Element* fetch = response ? find(*response, "ItemOperations", "Fetch") : nullptr;
  if (!fetch) return fail(Errc::protocol_error, "ItemOperations:Fetch missing");
  auto fs = requiredNumber(*fetch, "ItemOperations", "Status");
  if (!fs) return fail(fs.error());
  r.fetch_status = *fs;
  if (const Element* props = find(*fetch, "ItemOperations", "Properties"))
    r.fields = emailFields(*props);
  return r;
}

// ---- ResolveRecipients ----

Result<Bytes> buildResolveRecipients(const std::vector<std::string>& to) {
  // MS-ASCMD 2.2.1.15.1: ResolveRecipients{To+, Options{CertificateRetrieval 2
  // (full certificates, 2.2.3.26), MaxCertificates}}.
  if (to.empty() || to.size() > 100)
    return fail(Errc::invalid_argument, "ResolveRecipients takes 1 to 100 addresses");
  Writer w;
  w.start("ResolveRecipients", "ResolveRecipients");
  for (const std::string& t : to) leaf(w, "ResolveRecipients", "To", t);
  w.start("ResolveRecipients", "Options");
  leaf(w, "ResolveRecipients", "CertificateRetrieval", "2");
  leaf(w, "ResolveRecipients", "MaxCertificates", "10");
  leaf(w, "ResolveRecipients", "MaxAmbiguousRecipients", "5");
  w.end();
  w.end();
  return std::move(w).finish();
}

Result<ResolveResult> parseResolveRecipients(const wbxml::Document& doc) {
  if (!isRoot(doc, "ResolveRecipients", "ResolveRecipients"))
    return fail(wrongRoot("ResolveRecipients").error());
  ResolveResult r;
  auto status = requiredNumber(doc.root, "ResolveRecipients", "Status");
  if (!status) return fail(status.error());
  r.status = *status;
  for (const Element* resp : findAll(doc.root, "ResolveRecipients", "Response")) {
    if (r.responses.size() >= 100) break;
    ResolvedTo t;
    t.to = optText(*resp, "ResolveRecipients", "To").value_or("");
    auto st = requiredNumber(*resp, "ResolveRecipients", "Status");
    if (!st) return fail(st.error());
    t.status = *st;
    for (const Element* rec : findAll(*resp, "ResolveRecipients", "Recipient")) {
      if (t.recipients.size() >= 100) break;
      ResolvedRecipient one;
      one.email = optText(*rec, "ResolveRecipients", "EmailAddress").value_or("");
      one.display_name = optText(*rec, "ResolveRecipients", "DisplayName").value_or("");
      if (auto ty = optionalNumber(*rec, "ResolveRecipients", "Type"); ty && *ty) one.type = **ty;
      if (const Element* certs = find(*rec, "ResolveRecipients", "Certificates")) {
        if (auto cs = optionalNumber(*certs, "ResolveRecipients", "Status"); cs && *cs)
          one.certificates_status = **cs;
        for (const Element* c : findAll(*certs, "ResolveRecipients", "Certificate")) {
          if (one.certificates.size() >= 16) break;
          Base64Decode rules;
          rules.max_out = 48 * 1024;
          auto der = base64Decode(textOf(*c, 64 * 1024), rules);
          if (!der) return fail(Errc::protocol_error, "ResolveRecipients: a Certificate is not base64");
          one.certificates.push_back(std::move(*der));
        }
      }
      t.recipients.push_back(std::move(one));
    }
    r.responses.push_back(std::move(t));
  }
  return r;
}

// ---- Autodiscover ----

std::string buildAutodiscover(std::string_view email) {
  // MS-ASCMD 2.2.1.1.1 (request schema 6.1.1): the mobilesync request schema.
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
         "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
         "requestschema/2006\">\r\n"
         "<Request>\r\n"
         "<EMailAddress>" +
         codec::xmlEscaped(email) +
         "</EMailAddress>\r\n"
         "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
         "responseschema/2006</AcceptableResponseSchema>\r\n"
         "</Request>\r\n"
         "</Autodiscover>\r\n";
}

namespace {

// The text of the first <name>...</name> (any prefix) inside `xml`, or nullopt.
std::optional<std::string> xmlField(std::string_view xml, std::string_view name,
                                    std::size_t* end_out = nullptr) {
  std::size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    std::size_t close = xml.find('>', pos);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view tag = xml.substr(pos + 1, close - pos - 1);
    if (auto colon = tag.find(':'); colon != std::string_view::npos && tag.find(' ') > colon) {
      tag = tag.substr(colon + 1);
    }
    std::string_view tname = tag.substr(0, tag.find_first_of(" \t\r\n/"));
    if (tname == name && !tag.ends_with("/")) {
      std::size_t text_end = xml.find("</", close + 1);
      if (text_end == std::string_view::npos) return std::nullopt;
      if (end_out) *end_out = text_end;
      std::string_view text = xml.substr(close + 1, text_end - close - 1);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
      std::string out;
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.substr(i).starts_with("&amp;")) {
          out += '&';
          i += 4;
        } else if (text.substr(i).starts_with("&lt;")) {
          out += '<';
          i += 3;
        } else if (text.substr(i).starts_with("&gt;")) {
          out += '>';
          i += 3;
        } else
          out += text[i];
      }
      return bounded(out);
    }
    pos = close + 1;
  }
  return std::nullopt;
}

}  // namespace

AutodiscoverResult parseAutodiscover(std::string_view xml) {
  // Response schema (MS-ASCMD 2.2.1.1.2): Response{Action{Settings{Server{Type,
  // Url, Name}}} | Action{Redirect} | Action{Error} | Error}.
  AutodiscoverResult r;
  std::size_t pos = 0;
  while ((pos = xml.find("Server>", pos)) != std::string_view::npos) {
    std::size_t end = xml.find("Server>", pos + 7);
    std::string_view server = xml.substr(pos, end == std::string_view::npos ? xml.npos : end - pos);
    auto type = xmlField(server, "Type");
    if (type && *type == "MobileSync") {
      r.url = xmlField(server, "Url");
      if (r.url) break;
    }
    pos = end == std::string_view::npos ? xml.size() : end + 7;
  }
  if (!r.url) r.redirect = xmlField(xml, "Redirect");
  if (!r.url && !r.redirect) {
    r.error = xmlField(xml, "Message");
    if (!r.error) {
      if (auto code = xmlField(xml, "ErrorCode")) r.error = "error code " + *code;
    }
  }
  return r;
}

// ---- Messages ----

namespace {

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string oneLine(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

// RFC 2047 encoded words for a non-ASCII header value, split on UTF-8
// character boundaries so that each word stays under 75 characters.
std::string encodeWords(std::string_view value) {
  if (isAscii(value)) return std::string(value);
  std::string out;
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = std::min(value.size(), start + 45);
    while (end < value.size() && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64Encode(value.substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += oneLine(s);
  }
  return out;
}

}  // namespace

std::string composeMime(const Draft& d) {
  std::string m;
  m += "From: " + oneLine(d.from) + "\r\n";
  m += "To: " + join(d.to) + "\r\n";
  if (!d.cc.empty()) m += "Cc: " + join(d.cc) + "\r\n";
  m += "Subject: " + encodeWords(oneLine(d.subject)) + "\r\n";
  if (!d.date.empty()) m += "Date: " + oneLine(d.date) + "\r\n";
  if (!d.message_id.empty()) m += "Message-ID: " + oneLine(d.message_id) + "\r\n";
  if (!d.in_reply_to.empty()) {
    m += "In-Reply-To: " + oneLine(d.in_reply_to) + "\r\n";
    m += "References: " + oneLine(d.in_reply_to) + "\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  // Line ends become CRLF; the body ends with one.
  std::string body;
  for (std::size_t i = 0; i < d.body.size(); ++i) {
    char c = d.body[i];
    if (c == '\r') continue;
    if (c == '\n')
      body += "\r\n";
    else
      body += c;
  }
  if (body.empty() || !body.ends_with("\r\n")) body += "\r\n";
  bool long_line = false;
  std::size_t line = 0;
  for (char c : body) {
    line = c == '\n' ? 0 : line + 1;
    if (line > 998) long_line = true;
  }
  if (isAscii(body) && !long_line) {
    m += "Content-Transfer-Encoding: 7bit\r\n\r\n" + body;
  } else {
    m += "Content-Transfer-Encoding: base64\r\n\r\n";
    m += base64Encode(body, 76);  // RFC 2045 6.8: lines of 76
  }
  return m;
}

std::string bareAddress(std::string_view address) {
  auto lt = address.rfind('<');
  auto gt = address.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(address.substr(lt + 1, gt - lt - 1));
  }
  while (!address.empty() && std::isspace(static_cast<unsigned char>(address.front())))
    address.remove_prefix(1);
  while (!address.empty() && std::isspace(static_cast<unsigned char>(address.back())))
    address.remove_suffix(1);
  if (address.size() >= 2 && address.front() == '"' && address.back() == '"') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

}  // namespace rampart::device
