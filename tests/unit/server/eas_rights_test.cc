// The EAS server's side of rights management (MS-ASRM) over real SQLite
// stores, with messages protected by crypto::rights::protectMessage:
// RightsManagementSupport in Sync and ItemOperations (rm:RightsManagementLicense
// with this user's rights), RemoveRightsManagementProtection, Settings
// RightsManagementInformation, and the SmartForward/SmartReply refusals
// (composemail:Status 172).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/eas/item_requests.h"
#include "codec/eas/request_line.h"
#include "codec/eas/sync_request.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "crypto/cms/smime.h"
#include "crypto/rights/license.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "server/eas/detail/rights_info.h"
#include "server/eas/item_operations_command.h"
#include "server/eas/send_mail_command.h"
#include "server/eas/settings_command.h"
#include "server/eas/sync_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "store/sqlite/sqlite_rights_store.h"
#include "testing/certs.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

namespace rights = crypto::rights;
using detail::MessageRights;
using detail::RightsResolver;

constexpr const char* kDevice = "ApplF17XY0001";
constexpr std::int64_t kNow = 1764000000;  // 2025-11-24
constexpr const char* kConfidentialId = "0F6C2F4E-3B7A-4C55-9E1D-6A1B2C3D4E5F";
constexpr const char* kUnknownId = "11111111-2222-3333-4444-555555555555";

crypto::cms::Identity identity(testing::TempDir& dir, const std::string& name) {
  auto files = testing::makeSelfSigned(dir.path().string(), name);
  auto id =
      crypto::cms::identityFromPem(testing::slurp(files.key_file), testing::slurp(files.cert_file));
  EXPECT_TRUE(id) << id.error().message();
  return id ? std::move(*id) : crypto::cms::Identity{};
}

std::string original(const std::string& subject) {
  return "From: Alice <alice@example.org>\r\n"
         "To: Bob <bob@example.org>\r\n"
         "Subject: " +
         subject +
         "\r\n"
         "Date: Mon, 24 Nov 2025 09:00:00 +0000\r\n"
         "Message-ID: <" +
         subject +
         "@example.org>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "The numbers for Q4.\r\n";
}

wbxml::Document xml(const std::string& text) {
  auto doc = wbxml::parseXml(text);
  EXPECT_TRUE(doc) << doc.error().message() << "\n" << text;
  return doc ? std::move(*doc) : wbxml::Document{};
}

// Every element named `name` under `e`, depth first.
void collect(const wbxml::Element& e, std::string_view name,
             std::vector<const wbxml::Element*>& out) {
  if (e.name == name) out.push_back(&e);
  for (const wbxml::Element& c : e.children) collect(c, name, out);
}
std::vector<const wbxml::Element*> all(const wbxml::Document& doc, std::string_view name) {
  std::vector<const wbxml::Element*> out;
  collect(doc.root, name, out);
  return out;
}
std::string childText(const wbxml::Element& e, std::string_view name) {
  const wbxml::Element* c = e.child(name);
  return c == nullptr ? std::string("<absent>") : c->text;
}

class EasRightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string db = dir_.file("rampart.db");
    auto mail = store::sqlite::openSqliteMailStore(db);
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(db, systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    devices_ = std::move(*devices);
    auto store = store::sqlite::SqliteRightsStore::open(db);
    ASSERT_TRUE(store) << store.error().message();
    rights_ = std::move(*store);
    for (const rights::Template& t : rights::defaultTemplates()) {
      ASSERT_TRUE(rights_->putTemplate(t.id, rights::templateToml(t)));
    }
    for (const char* user : {"alice", "bob", "carol"}) {
      ASSERT_TRUE(devices_->upsertDevice(user, kDevice, {"iPhone", "Apple-iPhone/1", 1000}));
    }
    alice_ = identity(dir_, "alice.example.org");
    server_ = identity(dir_, "rights.example.org");
    ASSERT_TRUE(alice_.cert && server_.cert);
  }

  rights::Template templ(std::string_view id) {
    for (const rights::Template& t : rights::defaultTemplates()) {
      if (t.id == id) return t;
    }
    rights::Template t = rights::defaultTemplates().front();
    t.id = std::string(id);
    t.name = "Unknown To The Server";
    t.rights = rights::kView | rights::kForward;
    return t;
  }

  std::string protect(const std::string& message, std::string_view template_id,
                      std::int64_t content_lifetime = 0,
                      std::vector<std::string> recipients = {"bob@example.org"}) {
    rights::Template t = templ(template_id);
    t.content_lifetime = content_lifetime;
    rights::ProtectRequest req;
    req.message = message;
    req.templ = &t;
    req.recipients = std::move(recipients);
    req.now = kNow;
    auto out = rights::protectMessage(req, alice_, server_.cert.get());
    EXPECT_TRUE(out) << out.error().message();
    return out ? *out : std::string();
  }

  // Delivers `bytes` to `user`'s Inbox; returns its "<folder>:<item>" ServerId.
  std::string deliver(const std::string& user, const std::string& bytes) {
    auto mailbox = mail_->openMailbox(user);
    EXPECT_TRUE(mailbox);
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.summary = mime::summarize(bytes);
    d.received_at = kNow - 60;
    d.targets.push_back({*mailbox, std::nullopt, store::FolderType::inbox, false});
    auto receipt = mail_->deliverSync(std::move(d));
    EXPECT_TRUE(receipt) << receipt.error().message();
    auto inbox = mail_->folderOfType(*mailbox, store::FolderType::inbox);
    EXPECT_TRUE(inbox);
    if (!receipt || !inbox) return "";
    return std::to_string(inbox->id) + ":" + std::to_string(receipt->items.at(0));
  }
  std::string inboxId(const std::string& user) {
    auto mailbox = mail_->openMailbox(user);
    auto inbox = mail_->folderOfType(*mailbox, store::FolderType::inbox);
    return std::to_string(inbox->id);
  }

  CommandContext context(const std::string& user, std::string version = "16.1") {
    CommandContext ctx{*mail_, *devices_, user, kDevice, std::move(version), kNow};
    ctx.address = user + "@example.org";
    ctx.display_name = user;
    ctx.request = &line_;
    ctx.rights = with_store_ ? rights_.get() : nullptr;
    return ctx;
  }

  // Sync of `user`'s Inbox from key 0 with `options`; the second answer.
  wbxml::Document syncInbox(const std::string& user, const std::string& options,
                            std::string version = "16.1") {
    auto request = [&](const std::string& key) {
      return xml(R"(<Sync xmlns="AirSync:" xmlns:B="AirSyncBase:" xmlns:rm="RightsManagement:">)"
                 "<Collections><Collection><SyncKey>" +
                 key + "</SyncKey><CollectionId>" + inboxId(user) + "</CollectionId>" + options +
                 "</Collection></Collections></Sync>");
    };
    auto ctx = context(user, version);
    auto first_doc = request("0");
    auto first = runSync(ctx, &first_doc);
    EXPECT_TRUE(first) << first.error().message();
    if (!first) return {};
    auto decoded = wbxml::decode(first->body);
    EXPECT_TRUE(decoded);
    auto keys = all(*decoded, "SyncKey");
    EXPECT_EQ(keys.size(), 1u);
    if (keys.empty()) return {};
    auto second_doc = request(keys[0]->text);
    auto second = runSync(ctx, &second_doc);
    EXPECT_TRUE(second) << second.error().message();
    if (!second) return {};
    auto doc = wbxml::decode(second->body);
    EXPECT_TRUE(doc);
    return doc ? std::move(*doc) : wbxml::Document{};
  }

  wbxml::Document itemOperations(const std::string& user, const std::string& fetch_inner) {
    auto doc =
        xml(R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:" )"
            R"(xmlns:rm="RightsManagement:"><Fetch><Store>Mailbox</Store>)" +
            fetch_inner + "</Fetch></ItemOperations>");
    auto ctx = context(user);
    auto out = runItemOperations(ctx, doc);
    EXPECT_TRUE(out) << out.error().message();
    if (!out) return {};
    auto decoded = wbxml::decode(out->body);
    EXPECT_TRUE(decoded);
    return decoded ? std::move(*decoded) : wbxml::Document{};
  }

  // <SmartForward|SmartReply> naming `server_id` in `user`'s Inbox.
  ComposeOutcome smart(const std::string& user, const std::string& command,
                       const std::string& server_id, bool replace_mime = false,
                       const std::string& to = "carol@example.org") {
    std::string inner = "<ClientId>c-" + std::to_string(++client_) + "</ClientId>";
    if (replace_mime) inner += "<ReplaceMime/>";
    inner += "<Source><ItemId>" + server_id + "</ItemId></Source>";
    auto doc = xml("<" + command + " xmlns=\"ComposeMail:\">" + inner + "</" + command + ">");
    std::string mime = "From: " + user + "@example.org\r\nTo: " + to + "\r\nSubject: " + command +
                       "\r\n\r\nSee below.\r\n";
    wbxml::Element m;
    m.page = 21;
    m.token = 0x10;
    m.name = "Mime";
    m.opaque.assign(mime.begin(), mime.end());
    doc.root.children.push_back(std::move(m));
    auto ctx = context(user);
    auto out = composeOutgoing(ctx, command, &doc, {});
    EXPECT_TRUE(out) << out.error().message();
    return out ? std::move(*out) : ComposeOutcome{};
  }

  testing::TempDir dir_{"rampart-eas-rights"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  std::shared_ptr<store::sqlite::SqliteRightsStore> rights_;
  rampart::eas::EasRequest line_;
  crypto::cms::Identity alice_;
  crypto::cms::Identity server_;
  bool with_store_ = true;
  int client_ = 0;
};

// --- pieces ---------------------------------------------------------------------

TEST(RightsInfo, HeaderCheckLooksOnlyAtTheHeaderSection) {
  EXPECT_TRUE(detail::hasRightsHeader("From: a@b\r\nX-Rampart-Rights: 00; template=X\r\n\r\nbody"));
  EXPECT_TRUE(detail::hasRightsHeader("x-rampart-rights: 00\n\nbody"));
  EXPECT_FALSE(detail::hasRightsHeader("From: a@b\r\n\r\nX-Rampart-Rights: in the body\r\n"));
  EXPECT_FALSE(detail::hasRightsHeader("From: a@b\r\nX-Rampart-Rightsx: 1\r\n\r\n"));
  EXPECT_FALSE(detail::hasRightsHeader(""));
}

TEST(RightsInfo, ContentExpiryText) {
  EXPECT_EQ(detail::contentExpiryText(0), "9999-12-30T23:59:59.999Z");  // MS-ASRM 2.2.2.1
  EXPECT_EQ(detail::contentExpiryText(1764000000), "2025-11-24T16:00:00.000Z");
}

TEST_F(EasRightsTest, RightsForOwnerRecipientAndOthers) {
  rights::PublishingLicense pl;
  pl.id = "0123456789abcdef0123456789abcdef";
  pl.template_id = std::string(rights::kDoNotForwardId);
  pl.template_name = "Do Not Forward (sender's copy)";
  pl.rights = rights::kAll;  // what the sender's copy claims: the server's template decides
  pl.owner = "alice@example.org";
  pl.recipients = {"bob@example.org"};

  RightsResolver owner({"Alice@Example.org"}, rights_.get());
  MessageRights o = owner.rightsFor(pl);
  EXPECT_TRUE(o.is_owner);
  EXPECT_EQ(o.rights, rights::kAll);

  RightsResolver bob({"bob@example.org"}, rights_.get());
  MessageRights b = bob.rightsFor(pl);
  EXPECT_FALSE(b.is_owner);
  EXPECT_TRUE(b.is_recipient);
  EXPECT_TRUE(b.template_known);
  EXPECT_EQ(b.rights, rights::kView | rights::kEdit | rights::kReply | rights::kReplyAll);
  EXPECT_FALSE(b.allows(rights::kForward));
  EXPECT_EQ(b.template_name, "Do Not Forward");  // the server's name
  EXPECT_FALSE(b.template_description.empty());

  // An alias counts as the user.
  RightsResolver bob_alias({"robert@example.org", "BOB@example.org"}, rights_.get());
  EXPECT_TRUE(bob_alias.rightsFor(pl).is_recipient);

  RightsResolver carol({"carol@example.org"}, rights_.get());
  MessageRights c = carol.rightsFor(pl);
  EXPECT_FALSE(c.is_owner || c.is_recipient);
  EXPECT_EQ(c.rights, 0u);

  // Unknown to the server (or no store at all): the license's own copy.
  pl.template_id = kUnknownId;
  pl.rights = rights::kView | rights::kForward;
  MessageRights u = RightsResolver({"bob@example.org"}, rights_.get()).rightsFor(pl);
  EXPECT_FALSE(u.template_known);
  EXPECT_EQ(u.rights, rights::kView | rights::kForward);
  EXPECT_EQ(u.template_name, "Do Not Forward (sender's copy)");
  EXPECT_EQ(u.template_description, u.template_name);  // non-empty (MS-ASRM 2.2.2.18)
  MessageRights n = RightsResolver({"bob@example.org"}, nullptr).rightsFor(pl);
  EXPECT_EQ(n.rights, rights::kView | rights::kForward);

  // The server's template changes: its current rights count.
  rights::Template dnf = rights::defaultTemplates().front();
  dnf.rights |= rights::kForward;
  ASSERT_TRUE(rights_->putTemplate(dnf.id, rights::templateToml(dnf)));
  pl.template_id = dnf.id;
  EXPECT_TRUE(
      RightsResolver({"bob@example.org"}, rights_.get()).rightsFor(pl).allows(rights::kForward));
}

TEST_F(EasRightsTest, RightsOfAProtectedMessage) {
  std::string protectedMessage = protect(original("q4"), rights::kDoNotForwardId, 3600);
  ASSERT_FALSE(protectedMessage.empty());
  RightsResolver bob({"bob@example.org"}, rights_.get());
  auto r = bob.rightsOfMessage(protectedMessage);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(*r);
  EXPECT_EQ((*r)->owner, "alice@example.org");
  EXPECT_EQ((*r)->template_id, rights::kDoNotForwardId);
  EXPECT_EQ((*r)->content_expiry, kNow + 3600);
  EXPECT_FALSE((*r)->allows(rights::kForward));

  auto plain = bob.rightsOfMessage(original("plain"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(*plain);

  // Claims protection, but the license part is not one.
  std::string broken = protectedMessage;
  auto at = broken.find("application/vnd.rampart.publishing-license");
  ASSERT_NE(at, std::string::npos);
  auto body = broken.find("\r\n\r\n", at);
  ASSERT_NE(body, std::string::npos);
  broken.replace(body + 4, 40, std::string(40, 'A'));
  auto bad = bob.rightsOfMessage(broken);
  EXPECT_FALSE(bad);
}

// With a directory, the EAS server holds a license to the rights server's
// rule: signed with a certificate the directory publishes for its owner.
// Otherwise anyone could attach a license naming alice as owner and
// themselves as a recipient of any template.
TEST_F(EasRightsTest, ALicenseCountsOnlySignedByItsOwner) {
  directory::BuiltinDirectoryOptions cheap;
  cheap.time_cost = 1;
  cheap.memory_kib = 8;
  auto dir = directory::BuiltinDirectory::open(dir_.file("directory.db"), cheap);
  ASSERT_TRUE(dir) << dir.error().message();
  ASSERT_TRUE((*dir)->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw"));
  ASSERT_TRUE((*dir)->addUser({"bob", "Bob", true, {"bob@example.org"}}, "pw"));
  std::string protectedMessage = protect(original("signed"), rights::kDoNotForwardId);
  RightsResolver bob({"bob@example.org"}, rights_.get(), dir->get());

  // Not yet published: alice's certificate is not hers as far as anyone knows.
  auto unknown = bob.rightsOfMessage(protectedMessage);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(Errc::invalid_argument));
  EXPECT_NE(unknown.error().detail.find("not signed with a certificate of its owner"), std::string::npos)
      << unknown.error().detail;

  ASSERT_TRUE((*dir)->publishCertificate(
      "alice", {"A11CE", "smime_signing", crypto::x509::certificateDer(alice_.cert.get()), kNow + 86400}));
  auto good = bob.rightsOfMessage(protectedMessage);
  ASSERT_TRUE(good) << good.error().message();
  ASSERT_TRUE(*good);
  EXPECT_TRUE((*good)->is_recipient);

  // The same license re-signed by someone else (server_'s key): refused.
  rights::Template t = templ(rights::kDoNotForwardId);
  rights::ProtectRequest req;
  std::string message = original("forged");
  req.message = message;
  req.templ = &t;
  req.recipients = {"bob@example.org"};
  req.now = kNow;
  crypto::cms::Identity mallory = identity(dir_, "mallory.example.org");
  auto forged = rights::protectMessage(req, mallory, server_.cert.get());
  ASSERT_TRUE(forged) << forged.error().message();
  ASSERT_NE(forged->find("alice@example.org"), std::string::npos);  // owner is still alice (From)
  auto refused = bob.rightsOfMessage(*forged);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(Errc::invalid_argument));

  // An owner who is not a user here: no license of this server.
  std::string external = original("external");
  external.replace(external.find("alice@example.org"), 17, "zed@elsewhere.example");
  req.message = external;
  auto outsider = rights::protectMessage(req, mallory, server_.cert.get());
  ASSERT_TRUE(outsider) << outsider.error().message();
  EXPECT_FALSE(bob.rightsOfMessage(*outsider));
}

TEST_F(EasRightsTest, OnlyMessagesWithALicensePartAreRead) {
  std::string with_pdf =
      "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: pdf\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
      "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
      "filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
  auto item = [&](const std::string& server_id) {
    auto got = mail_->getItem(std::stoll(server_id.substr(server_id.find(':') + 1)));
    EXPECT_TRUE(got);
    return got ? *got : store::Item{};
  };
  EXPECT_FALSE(detail::mayBeRightsProtected(item(deliver("bob", with_pdf))));
  EXPECT_FALSE(detail::mayBeRightsProtected(item(deliver("bob", original("plain")))));
  EXPECT_TRUE(detail::mayBeRightsProtected(
      item(deliver("bob", protect(original("dnf"), rights::kDoNotForwardId)))));
}

// --- Sync -----------------------------------------------------------------------

TEST_F(EasRightsTest, SyncCarriesTheLicenseOnlyWhenAsked) {
  deliver("bob", protect(original("dnf"), rights::kDoNotForwardId));
  deliver("bob", original("plain"));

  auto without = syncInbox(
      "bob", "<Options><B:BodyPreference><B:Type>1</B:Type></B:BodyPreference></Options>");
  EXPECT_EQ(all(without, "ApplicationData").size(), 2u) << wbxml::toXml(without);
  EXPECT_TRUE(all(without, "RightsManagementLicense").empty()) << wbxml::toXml(without);

  // A fresh device state: the option on.
  ASSERT_TRUE(devices_->reset("bob", kDevice, inboxId("bob")));
  auto with = syncInbox("bob",
                        "<Options><B:BodyPreference><B:Type>1</B:Type></B:BodyPreference>"
                        "<rm:RightsManagementSupport>1</rm:RightsManagementSupport></Options>");
  EXPECT_EQ(all(with, "ApplicationData").size(), 2u) << wbxml::toXml(with);
  auto licenses = all(with, "RightsManagementLicense");
  ASSERT_EQ(licenses.size(), 1u) << wbxml::toXml(with);  // the plain message has none
  const wbxml::Element& l = *licenses[0];
  EXPECT_EQ(l.children.size(), 15u);
  EXPECT_EQ(childText(l, "ContentExpiryDate"), "9999-12-30T23:59:59.999Z");
  EXPECT_EQ(childText(l, "ContentOwner"), "alice@example.org");
  EXPECT_EQ(childText(l, "Owner"), "0");
  EXPECT_EQ(childText(l, "EditAllowed"), "1");
  EXPECT_EQ(childText(l, "ReplyAllowed"), "1");
  EXPECT_EQ(childText(l, "ReplyAllAllowed"), "1");
  EXPECT_EQ(childText(l, "ForwardAllowed"), "0");
  EXPECT_EQ(childText(l, "PrintAllowed"), "0");
  EXPECT_EQ(childText(l, "ExtractAllowed"), "0");
  EXPECT_EQ(childText(l, "ExportAllowed"), "0");
  EXPECT_EQ(childText(l, "ModifyRecipientsAllowed"), "0");
  EXPECT_EQ(childText(l, "ProgrammaticAccessAllowed"), "0");
  EXPECT_EQ(childText(l, "TemplateID"), rights::kDoNotForwardId);
  EXPECT_EQ(childText(l, "TemplateName"), "Do Not Forward");
  EXPECT_NE(childText(l, "TemplateDescription"), "<absent>");
}

TEST_F(EasRightsTest, SyncGivesTheOwnerEveryRight) {
  deliver("alice", protect(original("mine"), rights::kDoNotForwardId));
  auto doc = syncInbox(
      "alice", "<Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport></Options>");
  auto licenses = all(doc, "RightsManagementLicense");
  ASSERT_EQ(licenses.size(), 1u) << wbxml::toXml(doc);
  EXPECT_EQ(childText(*licenses[0], "Owner"), "1");
  EXPECT_EQ(childText(*licenses[0], "ForwardAllowed"), "1");
  EXPECT_EQ(childText(*licenses[0], "ExportAllowed"), "1");
}

TEST_F(EasRightsTest, SyncBefore141HasNoRightsElements) {
  deliver("bob", protect(original("old"), rights::kDoNotForwardId));
  auto doc = syncInbox(
      "bob", "<Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport></Options>",
      "14.0");
  EXPECT_EQ(all(doc, "ApplicationData").size(), 1u) << wbxml::toXml(doc);
  EXPECT_TRUE(all(doc, "RightsManagementLicense").empty());
}

TEST(SyncRequestRights, DecodesRightsManagementSupport) {
  auto on = rampart::eas::decodeSyncRequest(xml(
      R"(<Sync xmlns="AirSync:" xmlns:rm="RightsManagement:"><Collections><Collection><SyncKey>1</SyncKey>)"
      R"(<CollectionId>5</CollectionId><Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport>)"
      R"(</Options></Collection></Collections></Sync>)"));
  ASSERT_TRUE(on) << on.error().message();
  ASSERT_TRUE(on->collections.at(0).options);
  EXPECT_TRUE(on->collections[0].options->rights_management_support);

  auto absent = rampart::eas::decodeSyncRequest(xml(
      R"(<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>1</SyncKey>)"
      R"(<CollectionId>5</CollectionId><Options><FilterType>0</FilterType></Options></Collection></Collections></Sync>)"));
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->collections.at(0).options->rights_management_support);

  auto bad = rampart::eas::decodeSyncRequest(xml(
      R"(<Sync xmlns="AirSync:" xmlns:rm="RightsManagement:"><Collections><Collection><SyncKey>1</SyncKey>)"
      R"(<CollectionId>5</CollectionId><Options><rm:RightsManagementSupport>2</rm:RightsManagementSupport>)"
      R"(</Options></Collection></Collections></Sync>)"));
  EXPECT_FALSE(bad);
}

// --- ItemOperations ---------------------------------------------------------------

TEST_F(EasRightsTest, FetchCarriesTheLicenseWhenAsked) {
  std::string id = deliver("bob", protect(original("fetch"), rights::kDoNotForwardId));
  std::string ids =
      "<A:CollectionId>" + inboxId("bob") + "</A:CollectionId><A:ServerId>" + id + "</A:ServerId>";

  auto plain = itemOperations("bob", ids);
  EXPECT_TRUE(all(plain, "RightsManagementLicense").empty()) << wbxml::toXml(plain);

  auto with = itemOperations(
      "bob", ids + "<Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport></Options>");
  auto licenses = all(with, "RightsManagementLicense");
  ASSERT_EQ(licenses.size(), 1u) << wbxml::toXml(with);
  EXPECT_EQ(childText(*licenses[0], "ForwardAllowed"), "0");
  EXPECT_EQ(childText(*licenses[0], "TemplateID"), rights::kDoNotForwardId);
  auto fetches = all(with, "Fetch");
  ASSERT_EQ(fetches.size(), 1u);
  EXPECT_EQ(childText(*fetches[0], "Status"), "1");
}

TEST_F(EasRightsTest, RemovingProtectionNeedsTheExportRight) {
  std::string bobs = deliver("bob", protect(original("export"), rights::kDoNotForwardId));
  auto refused =
      itemOperations("bob", "<A:CollectionId>" + inboxId("bob") + "</A:CollectionId><A:ServerId>" +
                                bobs + "</A:ServerId><rm:RemoveRightsManagementProtection/>");
  auto fetches = all(refused, "Fetch");
  ASSERT_EQ(fetches.size(), 1u) << wbxml::toXml(refused);
  EXPECT_EQ(childText(*fetches[0], "Status"), "172");  // MS-ASCMD 2.2.2 IRM_OperationNotPermitted
  EXPECT_EQ(fetches[0]->child("Properties"), nullptr);

  std::string alices = deliver("alice", protect(original("export-own"), rights::kDoNotForwardId));
  auto allowed = itemOperations("alice", "<A:CollectionId>" + inboxId("alice") +
                                             "</A:CollectionId><A:ServerId>" + alices +
                                             "</A:ServerId><rm:RemoveRightsManagementProtection/>");
  fetches = all(allowed, "Fetch");
  ASSERT_EQ(fetches.size(), 1u) << wbxml::toXml(allowed);
  EXPECT_EQ(childText(*fetches[0], "Status"), "1");
  EXPECT_NE(fetches[0]->child("Properties"), nullptr);

  // Not protected at all: nothing to refuse.
  std::string plain = deliver("bob", original("plain-export"));
  auto ok =
      itemOperations("bob", "<A:CollectionId>" + inboxId("bob") + "</A:CollectionId><A:ServerId>" +
                                plain + "</A:ServerId><rm:RemoveRightsManagementProtection/>");
  fetches = all(ok, "Fetch");
  ASSERT_EQ(fetches.size(), 1u);
  EXPECT_EQ(childText(*fetches[0], "Status"), "1");
}

TEST(ItemOperationsRequestRights, DecodesTheRightsElements) {
  auto r = rampart::eas::decodeItemOperationsRequest(xml(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:rm="RightsManagement:">)"
      R"(<Fetch><Store>Mailbox</Store><A:CollectionId>5</A:CollectionId><A:ServerId>5:7</A:ServerId>)"
      R"(<rm:RemoveRightsManagementProtection/><Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport>)"
      R"(</Options></Fetch></ItemOperations>)"));
  ASSERT_TRUE(r) << r.error().message();
  const auto& f = std::get<rampart::eas::FetchRequest>(r->operations.at(0));
  EXPECT_TRUE(f.rights_management_support);
  EXPECT_TRUE(f.remove_rights_management_protection);

  EXPECT_FALSE(rampart::eas::decodeItemOperationsRequest(xml(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:rm="RightsManagement:">)"
      R"(<Fetch><Store>Mailbox</Store><A:CollectionId>5</A:CollectionId><A:ServerId>5:7</A:ServerId>)"
      R"(<rm:RemoveRightsManagementProtection>1</rm:RemoveRightsManagementProtection></Fetch></ItemOperations>)")));
  EXPECT_FALSE(rampart::eas::decodeItemOperationsRequest(xml(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:rm="RightsManagement:">)"
      R"(<Fetch><Store>Mailbox</Store><A:CollectionId>5</A:CollectionId><A:ServerId>5:7</A:ServerId>)"
      R"(<Options><rm:RightsManagementSupport>yes</rm:RightsManagementSupport></Options></Fetch></ItemOperations>)")));
}

TEST(SearchRequestRights, DecodesRightsManagementSupport) {
  auto r = rampart::eas::decodeSearchRequest(xml(
      R"(<Search xmlns="Search:" xmlns:rm="RightsManagement:"><Store><Name>Mailbox</Name><Query>)"
      R"(<FreeText>q4</FreeText></Query><Options><rm:RightsManagementSupport>1</rm:RightsManagementSupport>)"
      R"(</Options></Store></Search>)"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->rights_management_support);
}

// --- Settings -------------------------------------------------------------------

TEST_F(EasRightsTest, SettingsListsTheTemplatesButNotRevokedOnes) {
  rights::Template revoked;
  revoked.id = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE";
  revoked.name = "Retired";
  revoked.description = "No longer offered.";
  revoked.revoked = true;
  ASSERT_TRUE(rights_->putTemplate(revoked.id, rights::templateToml(revoked)));
  ASSERT_TRUE(rights_->putTemplate("12345678-1234-1234-1234-123456789ABC", "this is not toml ["));

  auto request = xml(
      R"(<Settings xmlns="Settings:"><RightsManagementInformation><Get/></RightsManagementInformation></Settings>)");
  auto ctx = context("bob");
  auto out = runSettings(ctx, request);
  ASSERT_TRUE(out) << out.error().message();
  auto doc = wbxml::decode(*out);
  ASSERT_TRUE(doc);
  auto templates = all(*doc, "RightsManagementTemplate");
  ASSERT_EQ(templates.size(), 2u) << wbxml::toXml(*doc);
  std::vector<std::string> ids;
  for (const wbxml::Element* t : templates) {
    // MS-ASRM 2.2.2.16: TemplateID, TemplateName, TemplateDescription.
    ASSERT_EQ(t->children.size(), 3u);
    EXPECT_EQ(t->children[0].name, "TemplateID");
    EXPECT_EQ(t->children[1].name, "TemplateName");
    EXPECT_EQ(t->children[2].name, "TemplateDescription");
    EXPECT_FALSE(t->children[2].text.empty());
    ids.push_back(t->children[0].text);
  }
  EXPECT_NE(std::find(ids.begin(), ids.end(), rights::kDoNotForwardId), ids.end());
  EXPECT_NE(std::find(ids.begin(), ids.end(), kConfidentialId), ids.end());
  auto info = all(*doc, "RightsManagementInformation");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(childText(*info[0], "Status"), "1");

  // Without a rights store: an empty list, still Status 1.
  with_store_ = false;
  auto ctx2 = context("bob");
  auto empty = runSettings(ctx2, request);
  ASSERT_TRUE(empty);
  auto doc2 = wbxml::decode(*empty);
  ASSERT_TRUE(doc2);
  EXPECT_EQ(all(*doc2, "RightsManagementTemplates").size(), 1u);
  EXPECT_TRUE(all(*doc2, "RightsManagementTemplate").empty());
}

// --- SmartForward / SmartReply ----------------------------------------------------

int composeStatus(const ComposeOutcome& out) {
  if (out.mail) return 0;
  auto doc = wbxml::decode(out.status_response);
  if (!doc) return -1;
  const wbxml::Element* s = doc->root.child("Status");
  return s == nullptr ? -1 : std::stoi(s->text);
}

TEST_F(EasRightsTest, RecipientCannotForwardDoNotForward) {
  std::string id = deliver("bob", protect(original("no-fwd"), rights::kDoNotForwardId));
  auto out = smart("bob", "SmartForward", id);
  EXPECT_FALSE(out.mail);  // nothing to queue
  EXPECT_EQ(out.status, 172);
  EXPECT_EQ(composeStatus(out), 172);  // MS-ASRM: ForwardAllowed FALSE -> composemail:Status 172

  // ReplaceMime does not get around it.
  auto replaced = smart("bob", "SmartForward", id, true);
  EXPECT_FALSE(replaced.mail);
  EXPECT_EQ(replaced.status, 172);
}

TEST_F(EasRightsTest, OwnerForwardsDoNotForward) {
  std::string id = deliver("alice", protect(original("own-fwd"), rights::kDoNotForwardId));
  auto out = smart("alice", "SmartForward", id);
  ASSERT_TRUE(out.mail) << out.status;
  EXPECT_EQ(out.mail->recipients, std::vector<std::string>{"carol@example.org"});
  // The original travels whole (message/rfc822), still protected.
  EXPECT_NE(out.mail->bytes->find("X-Rampart-Rights:"), std::string::npos);
}

TEST_F(EasRightsTest, RecipientRepliesToDoNotForward) {
  std::string id = deliver("bob", protect(original("reply"), rights::kDoNotForwardId));
  auto out = smart("bob", "SmartReply", id, false, "alice@example.org");
  ASSERT_TRUE(out.mail) << out.status;
  EXPECT_EQ(out.status, 0);
  // ReplaceMime too (the device protects its reply itself).
  auto replaced = smart("bob", "SmartReply", id, true, "Alice <ALICE@example.org>");
  EXPECT_TRUE(replaced.mail) << replaced.status;
}

TEST_F(EasRightsTest, ReplyToSomeoneNewNeedsModifyRecipients) {
  // Do Not Forward grants reply and reply-all, not modify-recipients: a reply
  // that adds carol would forward the content.
  std::string id = deliver("bob", protect(original("sneaky"), rights::kDoNotForwardId));
  auto out = smart("bob", "SmartReply", id, false, "alice@example.org, carol@example.org");
  EXPECT_FALSE(out.mail);
  EXPECT_EQ(out.status, 172);
}

TEST_F(EasRightsTest, ReplyAllNeedsReplyAll) {
  std::vector<std::string> to = {"bob@example.org", "dave@example.org"};
  std::string dnf = deliver("bob", protect(original("all"), rights::kDoNotForwardId, 0, to));
  auto all_ok = smart("bob", "SmartReply", dnf, false, "alice@example.org, dave@example.org");
  EXPECT_TRUE(all_ok.mail) << all_ok.status;

  rights::Template reply_only;
  reply_only.id = "ABCDEF01-2345-6789-ABCD-EF0123456789";
  reply_only.name = "Reply To Sender Only";
  reply_only.description = "Read, and reply to the sender.";
  reply_only.rights = rights::kView | rights::kReply;
  ASSERT_TRUE(rights_->putTemplate(reply_only.id, rights::templateToml(reply_only)));
  std::string id = deliver("bob", protect(original("sender-only"), reply_only.id, 0, to));
  auto sender = smart("bob", "SmartReply", id, false, "alice@example.org");
  EXPECT_TRUE(sender.mail) << sender.status;
  auto everyone = smart("bob", "SmartReply", id, false, "alice@example.org, dave@example.org");
  EXPECT_FALSE(everyone.mail);
  EXPECT_EQ(everyone.status, 172);
}

TEST_F(EasRightsTest, NoReplyRightRefusesSmartReply) {
  std::string id = deliver("bob", protect(original("view-only"), kConfidentialId));
  auto reply = smart("bob", "SmartReply", id);
  EXPECT_FALSE(reply.mail);
  EXPECT_EQ(reply.status, 172);
  auto forward = smart("bob", "SmartForward", id);
  EXPECT_EQ(forward.status, 172);
}

TEST_F(EasRightsTest, UnknownTemplateFallsBackToTheLicenseCopy) {
  // kUnknownId's copy in the license grants view and forward.
  std::string id = deliver("bob", protect(original("unknown"), kUnknownId));
  auto out = smart("bob", "SmartForward", id);
  EXPECT_TRUE(out.mail) << out.status;
  // The server later learns a template of that id without forward: it counts.
  rights::Template t = templ(kUnknownId);
  t.rights = rights::kView;
  ASSERT_TRUE(rights_->putTemplate(t.id, rights::templateToml(t)));
  auto refused = smart("bob", "SmartForward", id);
  EXPECT_EQ(refused.status, 172);
}

TEST_F(EasRightsTest, PlainMessagesForwardAsBefore) {
  std::string id = deliver("bob", original("plain-fwd"));
  auto out = smart("bob", "SmartForward", id);
  EXPECT_TRUE(out.mail) << out.status;
}

}  // namespace
}  // namespace rampart::server::eas
