// SendMail, SmartReply, SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19):
// request decoding, source lookup and composition over real SQLite stores.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "codec/eas/request_line.h"
#include "codec/mime/body.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "server/eas/send_mail_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";

constexpr const char* kOriginal =
    "From: Bob <bob@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Subject: Lunch?\r\n"
    "Date: Mon, 30 Sep 2024 09:00:00 +0000\r\n"
    "Message-ID: <orig-1@example.com>\r\n"
    "\r\n"
    "Shall we have lunch?\r\n";

constexpr const char* kNew =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.com\r\n"
    "Bcc: boss@example.org\r\n"
    "Subject: RE: Lunch?\r\n"
    "\r\n"
    "Sure.\r\n";

// <Command xmlns="ComposeMail:"> with `inner` and a Mime element holding
// `mime` as OPAQUE data (as devices send it).
wbxml::Document request(std::string_view command, std::string_view inner, std::string_view mime,
                        bool with_mime = true) {
  auto doc = wbxml::parseXml(std::string("<") + std::string(command) + " xmlns=\"ComposeMail:\">" +
                             std::string(inner) + "</" + std::string(command) + ">");
  EXPECT_TRUE(doc) << doc.error().message();
  if (!doc) return {};
  if (with_mime) {
    wbxml::Element m;
    m.page = 21;
    m.token = 0x10;
    m.name = "Mime";
    m.opaque.assign(mime.begin(), mime.end());
    doc->root.children.push_back(std::move(m));
  }
  return *doc;
}

int statusOf(const ComposeOutcome& out, std::string_view command) {
  EXPECT_FALSE(out.mail);
  auto doc = wbxml::decode(out.status_response);
  EXPECT_TRUE(doc) << doc.error().message();
  if (!doc) return -1;
  EXPECT_EQ(doc->root.name, command);
  EXPECT_EQ(doc->root.page, 21);
  const wbxml::Element* s = doc->root.child("Status");
  EXPECT_NE(s, nullptr) << wbxml::toXml(*doc);
  if (s == nullptr) return -1;
  EXPECT_EQ(std::stoi(s->text), out.status);
  return std::stoi(s->text);
}

class SendMailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    devices_ = std::move(*devices);
    auto mailbox = mail_->openMailbox(kUser);
    ASSERT_TRUE(mailbox);
    mailbox_ = *mailbox;
    auto inbox = mail_->folderOfType(mailbox_, store::FolderType::inbox);
    ASSERT_TRUE(inbox);
    inbox_ = inbox->id;
    item_ = deliver(kUser, kOriginal);
  }

  store::ItemId deliver(std::string_view owner, const std::string& bytes) {
    auto mailbox = mail_->openMailbox(owner);
    EXPECT_TRUE(mailbox);
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.summary = mime::summarize(bytes);
    d.received_at = 1000;
    d.targets.push_back({*mailbox, std::nullopt, store::FolderType::inbox, false});
    auto receipt = mail_->deliverSync(std::move(d));
    EXPECT_TRUE(receipt) << receipt.error().message();
    return receipt ? receipt->items.at(0) : 0;
  }

  CommandContext context() {
    CommandContext ctx{*mail_, *devices_, kUser, kDevice, "16.1"};
    ctx.now = 1700000000;
    ctx.address = "alice@example.org";
    ctx.display_name = "Alice";
    ctx.request = &line_;
    return ctx;
  }

  ComposeOutcome run(std::string_view command, const wbxml::Document* body,
                     std::string_view raw = {}) {
    auto ctx = context();
    auto out = composeOutgoing(ctx, command, body, raw);
    EXPECT_TRUE(out) << out.error().message();
    return out ? std::move(*out) : ComposeOutcome{};
  }

  std::string serverId(store::ItemId item) const {
    return std::to_string(inbox_) + ":" + std::to_string(item);
  }

  testing::TempDir dir_{"rampart-sendmail"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  store::MailboxId mailbox_ = 0;
  store::FolderId inbox_ = 0;
  store::ItemId item_ = 0;
  rampart::eas::EasRequest line_;
};

TEST_F(SendMailTest, SendMailComposes) {
  auto body = request("SendMail", "<ClientId>c-1</ClientId><SaveInSentItems/>", kNew);
  auto out = run("SendMail", &body);
  ASSERT_TRUE(out.mail);
  EXPECT_TRUE(out.status_response.empty());
  const OutgoingMail& m = *out.mail;
  EXPECT_EQ(m.sender, "alice@example.org");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"bob@example.com", "boss@example.org"}));
  EXPECT_EQ(m.client_id, "c-1");
  EXPECT_TRUE(m.save_in_sent);
  ASSERT_TRUE(m.bytes);
  ASSERT_TRUE(m.sent_copy);
  EXPECT_EQ(m.bytes->find("boss@"), std::string::npos);
  EXPECT_NE(m.sent_copy->find("boss@"), std::string::npos);
  // A generated Message-ID in the user's domain, and a Date.
  auto s = mime::summarize(*m.bytes);
  EXPECT_NE(s.message_id.find("@example.org>"), std::string::npos) << s.message_id;
  EXPECT_EQ(s.date, 1700000000);
}

TEST_F(SendMailTest, MimeAsStringAndNoSaveInSent) {
  auto body = request("SendMail",
                      std::string("<ClientId>c-2</ClientId><Mime>") +
                          "To: bob@example.com&#13;\n&#13;\nhi&#13;\n</Mime>",
                      "", false);
  auto out = run("SendMail", &body);
  ASSERT_TRUE(out.mail);
  EXPECT_FALSE(out.mail->save_in_sent);
  EXPECT_FALSE(out.mail->sent_copy);
  EXPECT_EQ(out.mail->recipients, std::vector<std::string>{"bob@example.com"});
}

TEST_F(SendMailTest, MalformedRequestsAre103) {
  // No ClientId.
  auto body = request("SendMail", "", kNew);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
  // No Mime.
  body = request("SendMail", "<ClientId>c</ClientId>", kNew, false);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
  // Two ClientIds.
  body = request("SendMail", "<ClientId>a</ClientId><ClientId>b</ClientId>", kNew);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
  // Root of another command.
  body = request("SmartReply", "<ClientId>c</ClientId>", kNew);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
  // Source on SendMail.
  body = request("SendMail", "<ClientId>c</ClientId><Source><ItemId>1</ItemId></Source>", kNew);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
  // SmartReply without Source.
  body = request("SmartReply", "<ClientId>c</ClientId>", kNew);
  EXPECT_EQ(statusOf(run("SmartReply", &body), "SmartReply"), 103);
  // ClientId too long.
  body = request("SendMail", "<ClientId>" + std::string(200, 'x') + "</ClientId>", kNew);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 103);
}

TEST_F(SendMailTest, ComposeProblemsMapToStatuses) {
  auto body = request("SendMail", "<ClientId>c</ClientId>", "no headers here");
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 107);
  body = request("SendMail", "<ClientId>c</ClientId>", "Subject: x\r\n\r\nbody");
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 119);
  body = request("SendMail", "<ClientId>c</ClientId>", "To: a@b_c.d\r\n\r\nbody");
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 116);

  std::string many = "To: ";
  for (int i = 0; i < 501; ++i) many += "u" + std::to_string(i) + "@example.com,";
  many += "\r\n\r\nx";
  body = request("SendMail", "<ClientId>c</ClientId>", many);
  EXPECT_EQ(statusOf(run("SendMail", &body), "SendMail"), 115);

  auto ctx = context();
  SendMailLimits limits;
  limits.max_message_size = 16;
  body = request("SendMail", "<ClientId>c</ClientId>", kNew);
  auto out = composeOutgoing(ctx, "SendMail", &body, {}, limits);
  ASSERT_TRUE(out);
  EXPECT_EQ(statusOf(*out, "SendMail"), 122);
}

TEST_F(SendMailTest, SmartReplyQuotesTheSource) {
  auto body =
      request("SmartReply",
              "<ClientId>r-1</ClientId><Source><FolderId>" + std::to_string(inbox_) +
                  "</FolderId><ItemId>" + serverId(item_) + "</ItemId></Source><SaveInSentItems/>",
              kNew);
  auto out = run("SmartReply", &body);
  ASSERT_TRUE(out.mail) << out.status;
  auto plain = mime::extractBodies(*out.mail->bytes).plain;
  EXPECT_NE(plain.find("Sure."), std::string::npos) << plain;
  EXPECT_NE(plain.find("> Shall we have lunch?"), std::string::npos) << plain;
  EXPECT_EQ(mime::summarize(*out.mail->bytes).in_reply_to, "<orig-1@example.com>");
}

TEST_F(SendMailTest, SmartForwardAttachesTheSourceAndReplaceMimeDoesNot) {
  // Bare item id, no FolderId: an Inbox item (MS-ASCMD 2.2.3.93).
  auto body = request(
      "SmartForward",
      "<ClientId>f-1</ClientId><Source><ItemId>" + std::to_string(item_) + "</ItemId></Source>",
      kNew);
  auto out = run("SmartForward", &body);
  ASSERT_TRUE(out.mail) << out.status;
  auto s = mime::summarize(*out.mail->bytes);
  ASSERT_EQ(s.attachments.size(), 1u);
  EXPECT_EQ(s.attachments[0].content_type, "message/rfc822");

  body = request("SmartForward",
                 "<ClientId>f-2</ClientId><Source><ItemId>" + serverId(item_) +
                     "</ItemId></Source><ReplaceMime/>",
                 kNew);
  out = run("SmartForward", &body);
  ASSERT_TRUE(out.mail) << out.status;
  EXPECT_TRUE(mime::summarize(*out.mail->bytes).attachments.empty());
}

TEST_F(SendMailTest, SourceNotFoundIs150) {
  auto smart = [&](const std::string& source) {
    auto body =
        request("SmartReply", "<ClientId>c</ClientId><Source>" + source + "</Source>", kNew);
    return statusOf(run("SmartReply", &body), "SmartReply");
  };
  EXPECT_EQ(smart("<ItemId>999999</ItemId>"), 150);
  EXPECT_EQ(smart("<ItemId>abc</ItemId>"), 150);
  EXPECT_EQ(smart("<ItemId>1:2:3</ItemId>"), 150);
  // The item, but the wrong folder.
  auto sent = mail_->folderOfType(mailbox_, store::FolderType::sent_items);
  ASSERT_TRUE(sent);
  EXPECT_EQ(smart("<FolderId>" + std::to_string(sent->id) + "</FolderId><ItemId>" +
                  std::to_string(item_) + "</ItemId>"),
            150);
  EXPECT_EQ(
      smart("<ItemId>" + std::to_string(sent->id) + ":" + std::to_string(item_) + "</ItemId>"),
      150);
  // Another user's item.
  store::ItemId bobs = deliver("bob", kOriginal);
  EXPECT_EQ(smart("<ItemId>" + std::to_string(bobs) + "</ItemId>"), 150);
  // LongId together with ItemId: 105; FolderId alone: 103.
  EXPECT_EQ(smart("<LongId>" + serverId(item_) + "</LongId><ItemId>1</ItemId>"), 105);
  EXPECT_EQ(smart("<FolderId>" + std::to_string(inbox_) + "</FolderId>"), 103);
  // LongId alone works.
  auto body = request(
      "SmartReply",
      "<ClientId>c</ClientId><Source><LongId>" + serverId(item_) + "</LongId></Source>", kNew);
  EXPECT_TRUE(run("SmartReply", &body).mail);
}

TEST_F(SendMailTest, RawBodyForm) {
  line_.save_in_sent = true;
  auto out = run("SendMail", nullptr, kNew);
  ASSERT_TRUE(out.mail);
  EXPECT_TRUE(out.mail->save_in_sent);
  EXPECT_FALSE(out.mail->client_id);

  line_ = {};
  line_.item_id = std::to_string(item_);
  line_.collection_id = std::to_string(inbox_);
  out = run("SmartReply", nullptr, kNew);
  ASSERT_TRUE(out.mail) << out.status;
  EXPECT_FALSE(out.mail->save_in_sent);
  EXPECT_NE(mime::extractBodies(*out.mail->bytes).plain.find("> Shall we"), std::string::npos);

  line_ = {};
  EXPECT_EQ(statusOf(run("SmartForward", nullptr, kNew), "SmartForward"), 103);
  EXPECT_EQ(statusOf(run("SendMail", nullptr, ""), "SendMail"), 101);
}

// The fuzz seeds (byte 0 picks the command, the rest is WBXML) are real
// requests: each gives a mail to send.
TEST_F(SendMailTest, FuzzSeedsCompose) {
  for (const char* name :
       {"sendmail.wbxml", "smartforward_replace.wbxml", "smartforward_longid.wbxml"}) {
    std::ifstream f(std::string(RAMPART_SOURCE_DIR) + "/fuzz/corpus/eas_send_mail/" + name,
                    std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
    ASSERT_GT(bytes.size(), 1u) << name;
    static const char* kCommands[] = {"SendMail", "SmartReply", "SmartForward"};
    auto doc = wbxml::decode(std::span<const std::uint8_t>(bytes).subspan(1));
    ASSERT_TRUE(doc) << name << ": " << doc.error().message();
    auto out = run(kCommands[bytes[0] % 3], &*doc);
    EXPECT_TRUE(out.mail) << name << ": Status " << out.status;
  }
}

TEST_F(SendMailTest, Errors) {
  auto ctx = context();
  EXPECT_FALSE(composeOutgoing(ctx, "Sync", nullptr, kNew));
  ctx.request = nullptr;
  EXPECT_FALSE(composeOutgoing(ctx, "SendMail", nullptr, kNew));
  auto no_address = context();
  no_address.address.clear();
  EXPECT_FALSE(composeOutgoing(no_address, "SendMail", nullptr, kNew));
  EXPECT_FALSE(sendStatusResponse("Ping", 110));
  auto r = sendStatusResponse("SmartForward", 120);
  ASSERT_TRUE(r);
  auto doc = wbxml::decode(*r);
  ASSERT_TRUE(doc);
  EXPECT_EQ(wbxml::toXml(*doc).find("<Status>120</Status>") != std::string::npos, true)
      << wbxml::toXml(*doc);
}

}  // namespace
}  // namespace rampart::server::eas
