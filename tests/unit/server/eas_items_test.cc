// MoveItems, ItemOperations, Search and Settings (MS-ASCMD 2.2.1.12, .10,
// .16, .18) against real SQLite mail and device stores; the multipart body
// codec (2.2.1.10.1.1) and the request decoders on their own.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec/eas/item_requests.h"
#include "codec/eas/multipart.h"
#include "codec/mime/summary.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "server/eas/item_operations_command.h"
#include "server/eas/ping_command.h"
#include "server/eas/send_mail_command.h"
#include "server/eas/move_items_command.h"
#include "server/eas/search_command.h"
#include "server/eas/settings_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

constexpr const char* kUser = "alice";
constexpr const char* kDevice = "ApplF17XY0001";

std::string plainMessage(const std::string& subject, const std::string& body = "Hello there.") {
  return "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: " + subject +
         "\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + subject +
         "@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
         body + "\r\n";
}

// A message with a text body (1) and a PDF-ish attachment (2).
std::string withAttachment(const std::string& subject, const std::string& content) {
  // base64 of `content` is written by hand for the two contents used below.
  std::string b64 = content == "0123456789" ? "MDEyMzQ1Njc4OQ==" : "";
  return "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: " + subject +
         "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
         "--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
         "--XX\r\nContent-Type: application/pdf; name=report.pdf\r\n"
         "Content-Disposition: attachment; filename=report.pdf\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         b64 + "\r\n--XX--\r\n";
}

wbxml::Document xml(const std::string& text) {
  auto doc = wbxml::parseXml(text);
  EXPECT_TRUE(doc) << doc.error().message() << "\n" << text;
  return doc ? *doc : wbxml::Document{};
}

wbxml::Document decoded(const std::vector<std::uint8_t>& bytes) {
  auto doc = wbxml::decode(bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? *doc : wbxml::Document{};
}

std::string text(const wbxml::Element& e, std::string_view child) {
  const wbxml::Element* c = e.child(child);
  return c ? c->text : std::string();
}

const wbxml::Element* path(const wbxml::Element& e, std::initializer_list<std::string_view> names) {
  const wbxml::Element* at = &e;
  for (auto n : names) {
    at = at->child(n);
    if (!at) return nullptr;
  }
  return at;
}

std::vector<const wbxml::Element*> all(const wbxml::Element& e, std::string_view name) {
  std::vector<const wbxml::Element*> out;
  for (const auto& c : e.children) {
    if (c.name == name) out.push_back(&c);
  }
  return out;
}

class EasItemsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    devices_ = std::move(*devices);
    ASSERT_TRUE(devices_->upsertDevice(kUser, kDevice, {"iPhone", "Apple-iPhone/1", 1000}));
    auto mailbox = mail_->openMailbox(kUser);
    ASSERT_TRUE(mailbox);
    mailbox_ = *mailbox;
    inbox_ = mail_->folderOfType(mailbox_, store::FolderType::inbox)->id;
    deleted_ = mail_->folderOfType(mailbox_, store::FolderType::deleted_items)->id;
  }

  CommandContext context(std::string version = "16.1") {
    CommandContext ctx{*mail_, *devices_, kUser, kDevice, std::move(version)};
    ctx.now = 2'000'000'000;
    ctx.request = &request_;
    ctx.address = "alice@example.org";
    ctx.display_name = "Alice Example";
    return ctx;
  }

  store::ItemId deliver(const std::string& bytes, std::int64_t received_at = 1000,
                        std::optional<store::FolderId> folder = {},
                        std::optional<store::MailboxId> mailbox = {}) {
    store::Delivery d;
    d.bytes = std::make_shared<const std::string>(bytes);
    d.summary = mime::summarize(bytes);
    d.received_at = received_at;
    store::Delivery::Target t;
    t.mailbox = mailbox.value_or(mailbox_);
    t.folder = folder;
    d.targets.push_back(t);
    auto r = mail_->deliverSync(std::move(d));
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->items.at(0) : 0;
  }

  std::string serverId(store::FolderId f, store::ItemId i) {
    return std::to_string(f) + ":" + std::to_string(i);
  }

  wbxml::Document moveItems(const std::string& body) {
    auto ctx = context();
    auto out = runMoveItems(ctx, xml(body));
    EXPECT_TRUE(out) << out.error().message();
    return out ? decoded(*out) : wbxml::Document{};
  }

  ItemOperationsResponse itemOperations(const std::string& body) {
    auto ctx = context();
    auto out = runItemOperations(ctx, xml(body));
    EXPECT_TRUE(out) << out.error().message();
    return out ? std::move(*out) : ItemOperationsResponse{};
  }

  wbxml::Document search(const std::string& body) {
    auto ctx = context();
    auto out = runSearch(ctx, xml(body));
    EXPECT_TRUE(out) << out.error().message();
    return out ? decoded(*out) : wbxml::Document{};
  }

  wbxml::Document settings(const std::string& body, std::string version = "16.1") {
    auto ctx = context(std::move(version));
    auto out = runSettings(ctx, xml(body));
    EXPECT_TRUE(out) << out.error().message();
    return out ? decoded(*out) : wbxml::Document{};
  }

  rampart::testing::TempDir dir_{"rampart-easitems"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  rampart::eas::EasRequest request_;
  store::MailboxId mailbox_ = 0;
  store::FolderId inbox_ = 0;
  store::FolderId deleted_ = 0;
};

// --- multipart codec -------------------------------------------------------------

TEST(MultipartTest, LaysOutCountMetadataAndParts) {
  std::vector<std::uint8_t> a{1, 2, 3};
  std::vector<std::uint8_t> b{};
  std::vector<std::uint8_t> c{9};
  std::vector<std::span<const std::uint8_t>> parts{a, b, c};
  auto body = rampart::eas::encodeMultipart(parts);
  ASSERT_TRUE(body);
  // 4 (count) + 3 * 8 (offset, length) = 28 bytes of header, little-endian.
  std::vector<std::uint8_t> expected{3, 0, 0, 0, 28, 0, 0, 0, 3, 0, 0, 0, 31, 0, 0, 0,
                                     0, 0, 0, 0, 31, 0, 0, 0, 1, 0, 0, 0, 1,  2, 3, 9};
  EXPECT_EQ(*body, expected);
  auto back = rampart::eas::decodeMultipart(*body);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ(std::vector<std::uint8_t>((*back)[0].begin(), (*back)[0].end()), a);
  EXPECT_TRUE((*back)[1].empty());
  EXPECT_EQ(std::vector<std::uint8_t>((*back)[2].begin(), (*back)[2].end()), c);
}

TEST(MultipartTest, RejectsPartsOutsideTheBody) {
  EXPECT_FALSE(rampart::eas::encodeMultipart({}));
  std::vector<std::uint8_t> truncated{1, 0, 0, 0, 12, 0, 0};
  EXPECT_FALSE(rampart::eas::decodeMultipart(truncated));
  std::vector<std::uint8_t> outside{1, 0, 0, 0, 12, 0, 0, 0, 5, 0, 0, 0, 1, 2};
  EXPECT_FALSE(rampart::eas::decodeMultipart(outside));
  std::vector<std::uint8_t> negative{0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(rampart::eas::decodeMultipart(negative));
}

// --- decoders ----------------------------------------------------------------------

TEST(ItemRequestsTest, DateTimesAndRanges) {
  using namespace rampart::eas;
  EXPECT_EQ(parseDateTime("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(parseDateTime("2026-11-24T21:32:18.000Z"), 1795555938);
  EXPECT_EQ(parseDateTime("2026-11-24T21:32:18Z"), 1795555938);
  EXPECT_EQ(formatDateTime(1795555938), "2026-11-24T21:32:18.000Z");
  EXPECT_FALSE(parseDateTime("2026-13-24T21:32:18.000Z"));
  EXPECT_FALSE(parseDateTime("2026-11-24 21:32:18"));
  EXPECT_FALSE(parseDateTime("2026-11-24T21:32:18.Z"));
  EXPECT_EQ(parseRange("0-99"), (Range{0, 99}));
  EXPECT_FALSE(parseRange("5-1"));
  EXPECT_FALSE(parseRange("-1"));
  EXPECT_FALSE(parseRange("1-"));
  EXPECT_FALSE(parseRange("a-b"));
}

TEST(ItemRequestsTest, SearchQueryFlattensAnd) {
  auto doc = xml(
      R"(<Search xmlns="Search:" xmlns:A="AirSync:" xmlns:E="Email:"><Store><Name>Mailbox</Name>)"
      R"(<Query><And><A:Class>Email</A:Class><A:CollectionId>7</A:CollectionId>)"
      R"(<FreeText>budget</FreeText><GreaterThan><E:DateReceived/>)"
      R"(<Value>2026-01-01T00:00:00.000Z</Value></GreaterThan></And></Query>)"
      R"(<Options><Range>0-9</Range><DeepTraversal/><RebuildResults/></Options></Store></Search>)");
  auto r = rampart::eas::decodeSearchRequest(doc);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->store_name, "Mailbox");
  EXPECT_EQ(r->query.classes, std::vector<std::string>{"Email"});
  EXPECT_EQ(r->query.collection_ids, std::vector<std::string>{"7"});
  EXPECT_EQ(r->query.free_text, std::vector<std::string>{"budget"});
  EXPECT_EQ(r->query.received_after, 1767225600);
  EXPECT_TRUE(r->deep_traversal);
  EXPECT_TRUE(r->rebuild_results);
  EXPECT_EQ(r->range, (rampart::eas::Range{0, 9}));
  EXPECT_FALSE(r->query.unsupported);
}

TEST(ItemRequestsTest, MalformedRequestsFail) {
  EXPECT_FALSE(rampart::eas::decodeMoveItemsRequest(xml(R"(<MoveItems xmlns="Move:"/>)")));
  EXPECT_FALSE(rampart::eas::decodeMoveItemsRequest(xml(
      R"(<MoveItems xmlns="Move:"><Move><SrcMsgId>1:2</SrcMsgId><SrcFldId>1</SrcFldId></Move></MoveItems>)")));
  EXPECT_FALSE(rampart::eas::decodeItemOperationsRequest(xml(
      R"(<ItemOperations xmlns="ItemOperations:"><Fetch><Store>Mailbox</Store></Fetch></ItemOperations>)")));
  EXPECT_FALSE(rampart::eas::decodeSettingsRequest(
      xml(R"(<Settings xmlns="Settings:"><Oof><Get/><Set/></Oof></Settings>)")));
  // A long id is over the 64-character bound.
  EXPECT_FALSE(rampart::eas::decodeMoveItemsRequest(
      xml("<MoveItems xmlns=\"Move:\"><Move><SrcMsgId>" + std::string(65, '1') +
          "</SrcMsgId><SrcFldId>1</SrcFldId><DstFldId>2</DstFldId></Move></MoveItems>")));
}

// --- MoveItems ---------------------------------------------------------------------

TEST_F(EasItemsTest, MoveItemsMovesAndReportsTheNewId) {
  store::ItemId item = deliver(plainMessage("move me"));
  auto doc = moveItems("<MoveItems xmlns=\"Move:\"><Move><SrcMsgId>" + serverId(inbox_, item) +
                       "</SrcMsgId><SrcFldId>" + std::to_string(inbox_) + "</SrcFldId><DstFldId>" +
                       std::to_string(deleted_) + "</DstFldId></Move></MoveItems>");
  auto responses = all(doc.root, "Response");
  ASSERT_EQ(responses.size(), 1u) << wbxml::toXml(doc);
  EXPECT_EQ(text(*responses[0], "SrcMsgId"), serverId(inbox_, item));
  EXPECT_EQ(text(*responses[0], "Status"), "3");
  std::string dst = text(*responses[0], "DstMsgId");
  ASSERT_EQ(dst.rfind(std::to_string(deleted_) + ":", 0), 0u) << dst;
  store::ItemId moved = std::stoll(dst.substr(dst.find(':') + 1));
  auto now = mail_->getItem(moved);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->folder, deleted_);
  EXPECT_FALSE(mail_->getItem(item));
  // Children in the schema's order.
  ASSERT_EQ(responses[0]->children.size(), 3u);
  EXPECT_EQ(responses[0]->children[0].name, "SrcMsgId");
  EXPECT_EQ(responses[0]->children[1].name, "Status");
  EXPECT_EQ(responses[0]->children[2].name, "DstMsgId");
}

TEST_F(EasItemsTest, MoveItemsStatusPerItem) {
  store::ItemId item = deliver(plainMessage("a"));
  auto other = mail_->openMailbox("mallory");
  ASSERT_TRUE(other);
  auto other_inbox = mail_->folderOfType(*other, store::FolderType::inbox);
  store::ItemId foreign = deliver(plainMessage("theirs"), 1000, {}, *other);
  std::string in = std::to_string(inbox_);
  std::string del = std::to_string(deleted_);
  auto move = [](const std::string& src, const std::string& sf, const std::string& df) {
    return "<Move><SrcMsgId>" + src + "</SrcMsgId><SrcFldId>" + sf + "</SrcFldId><DstFldId>" + df +
           "</DstFldId></Move>";
  };
  auto doc = moveItems("<MoveItems xmlns=\"Move:\">" +
                       move(serverId(inbox_, item), in, in) +        // same folder: 4
                       move(serverId(inbox_, item), in, "999999") +  // no destination: 2
                       move(serverId(inbox_, 999999), in, del) +     // no item: 1
                       move(serverId(deleted_, item), del, in) +     // not in that folder: 1
                       move(serverId(other_inbox->id, foreign), std::to_string(other_inbox->id),
                            del) +  // someone else's: 1
                       move(serverId(inbox_, item), in, std::to_string(other_inbox->id)) +  // 2
                       move("garbage", in, del) +
                       "</MoveItems>");  // 1
  auto responses = all(doc.root, "Response");
  ASSERT_EQ(responses.size(), 7u) << wbxml::toXml(doc);
  std::vector<std::string> statuses;
  for (auto* r : responses) {
    statuses.push_back(text(*r, "Status"));
    EXPECT_FALSE(r->child("DstMsgId"));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"4", "2", "1", "1", "1", "2", "1"}));
  EXPECT_TRUE(mail_->getItem(item));  // nothing moved
  EXPECT_TRUE(mail_->getItem(foreign));
}

TEST_F(EasItemsTest, MoveItemsMalformedIsInvalidXml) {
  auto doc =
      moveItems(R"(<MoveItems xmlns="Move:"><Move><SrcMsgId>1:1</SrcMsgId></Move></MoveItems>)");
  EXPECT_EQ(text(doc.root, "Status"), "103") << wbxml::toXml(doc);
  EXPECT_TRUE(all(doc.root, "Response").empty());
}

// --- ItemOperations ------------------------------------------------------------------

TEST_F(EasItemsTest, FetchEmailByServerIdAndLongId) {
  store::ItemId item = deliver(plainMessage("fetch me", "The body text."));
  std::string fetch_by_id = "<Fetch><Store>Mailbox</Store><A:CollectionId>" +
                            std::to_string(inbox_) + "</A:CollectionId><A:ServerId>" +
                            serverId(inbox_, item) +
                            "</A:ServerId><Options><B:BodyPreference><B:Type>1</B:Type></"
                            "B:BodyPreference></Options></Fetch>";
  std::string fetch_by_long =
      "<Fetch><Store>Mailbox</Store><S:LongId>" + serverId(inbox_, item) + "</S:LongId></Fetch>";
  std::string missing = "<Fetch><Store>Mailbox</Store><A:CollectionId>" + std::to_string(inbox_) +
                        "</A:CollectionId><A:ServerId>" + serverId(inbox_, 999999) +
                        "</A:ServerId></Fetch>";
  auto out = itemOperations(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:" xmlns:S="Search:">)" +
      fetch_by_id + fetch_by_long + missing + "</ItemOperations>");
  EXPECT_FALSE(out.multipart);
  auto doc = decoded(out.body);
  std::string x = wbxml::toXml(doc);
  EXPECT_EQ(text(doc.root, "Status"), "1") << x;
  const auto* response = doc.root.child("Response");
  ASSERT_TRUE(response) << x;
  auto fetches = all(*response, "Fetch");
  ASSERT_EQ(fetches.size(), 3u) << x;

  EXPECT_EQ(text(*fetches[0], "Status"), "1") << x;
  EXPECT_EQ(text(*fetches[0], "ServerId"), serverId(inbox_, item));
  EXPECT_EQ(text(*fetches[0], "CollectionId"), std::to_string(inbox_));
  EXPECT_EQ(text(*fetches[0], "Class"), "Email");
  const auto* props = fetches[0]->child("Properties");
  ASSERT_TRUE(props) << x;
  EXPECT_EQ(text(*props, "Subject"), "fetch me");
  const auto* data = path(*props, {"Body", "Data"});
  ASSERT_TRUE(data) << x;
  EXPECT_NE(data->text.find("The body text."), std::string::npos) << x;

  EXPECT_EQ(text(*fetches[1], "Status"), "1") << x;
  EXPECT_EQ(text(*fetches[1], "LongId"), serverId(inbox_, item));
  EXPECT_TRUE(fetches[1]->child("Properties"));

  EXPECT_EQ(text(*fetches[2], "Status"), "6") << x;
  EXPECT_FALSE(fetches[2]->child("Properties"));
}

TEST_F(EasItemsTest, FetchEmailAsMime) {
  store::ItemId item = deliver(plainMessage("as mime", "Raw body."));
  auto out = itemOperations(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:"><Fetch><Store>Mailbox</Store><A:CollectionId>)" +
      std::to_string(inbox_) + "</A:CollectionId><A:ServerId>" + serverId(inbox_, item) +
      "</A:ServerId><Options><A:MIMESupport>2</A:MIMESupport><B:BodyPreference><B:Type>4</B:Type>"
      "</B:BodyPreference></Options></Fetch></ItemOperations>");
  auto doc = decoded(out.body);
  const auto* body = path(doc.root, {"Response", "Fetch", "Properties", "Body"});
  ASSERT_TRUE(body) << wbxml::toXml(doc);
  EXPECT_EQ(text(*body, "Type"), "4") << wbxml::toXml(doc);
  EXPECT_NE(text(*body, "Data").find("Subject: as mime"), std::string::npos) << wbxml::toXml(doc);
}

TEST_F(EasItemsTest, FetchAttachmentInlineRangeAndMultipart) {
  store::ItemId item = deliver(withAttachment("with file", "0123456789"));
  auto summary = mail_->getItem(item);
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->summary.attachments.size(), 1u);
  std::string ref = std::to_string(item) + ":" + summary->summary.attachments[0].part_path;
  auto request = [&](const std::string& options) {
    return R"(<ItemOperations xmlns="ItemOperations:" xmlns:B="AirSyncBase:"><Fetch><Store>Mailbox</Store><B:FileReference>)" +
           ref + "</B:FileReference>" + options + "</Fetch></ItemOperations>";
  };

  auto inline_out = itemOperations(request(""));
  auto doc = decoded(inline_out.body);
  std::string x = wbxml::toXml(doc);
  const auto* fetch = path(doc.root, {"Response", "Fetch"});
  ASSERT_TRUE(fetch) << x;
  EXPECT_EQ(text(*fetch, "Status"), "1") << x;
  EXPECT_EQ(text(*fetch, "FileReference"), ref);
  const auto* props = fetch->child("Properties");
  ASSERT_TRUE(props) << x;
  EXPECT_EQ(text(*props, "ContentType"), "application/pdf");
  EXPECT_EQ(text(*props, "Total"), "10");
  EXPECT_EQ(text(*props, "Data"), "MDEyMzQ1Njc4OQ==");

  auto ranged = decoded(itemOperations(request("<Options><Range>2-4</Range></Options>")).body);
  props = path(ranged.root, {"Response", "Fetch", "Properties"});
  ASSERT_TRUE(props) << wbxml::toXml(ranged);
  EXPECT_EQ(text(*props, "Range"), "2-4");
  EXPECT_EQ(text(*props, "Data"), "MjM0");  // "234"

  auto past = decoded(itemOperations(request("<Options><Range>10-20</Range></Options>")).body);
  EXPECT_EQ(text(*path(past.root, {"Response", "Fetch"}), "Status"), "8") << wbxml::toXml(past);

  auto bad = decoded(
      itemOperations(
          R"(<ItemOperations xmlns="ItemOperations:" xmlns:B="AirSyncBase:"><Fetch><Store>Mailbox</Store><B:FileReference>)" +
          std::to_string(item) + ":9</B:FileReference></Fetch></ItemOperations>")
          .body);
  EXPECT_EQ(text(*path(bad.root, {"Response", "Fetch"}), "Status"), "15") << wbxml::toXml(bad);

  request_.accept_multipart = true;
  auto multi = itemOperations(request(""));
  ASSERT_TRUE(multi.multipart);
  auto parts = rampart::eas::decodeMultipart(multi.body);
  ASSERT_TRUE(parts) << parts.error().message();
  ASSERT_EQ(parts->size(), 2u);
  auto mdoc = decoded(std::vector<std::uint8_t>((*parts)[0].begin(), (*parts)[0].end()));
  props = path(mdoc.root, {"Response", "Fetch", "Properties"});
  ASSERT_TRUE(props) << wbxml::toXml(mdoc);
  EXPECT_EQ(text(*props, "Part"), "1") << wbxml::toXml(mdoc);
  EXPECT_FALSE(props->child("Data"));
  EXPECT_EQ(std::string((*parts)[1].begin(), (*parts)[1].end()), "0123456789");
}

TEST_F(EasItemsTest, FetchEmailMultipartPutsBodyDataInAPart) {
  store::ItemId item = deliver(plainMessage("multi", "Body in a part."));
  request_.accept_multipart = true;
  auto out = itemOperations(
      R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:"><Fetch><Store>Mailbox</Store><A:CollectionId>)" +
      std::to_string(inbox_) + "</A:CollectionId><A:ServerId>" + serverId(inbox_, item) +
      "</A:ServerId><Options><B:BodyPreference><B:Type>1</B:Type></B:BodyPreference></Options></"
      "Fetch></ItemOperations>");
  ASSERT_TRUE(out.multipart);
  auto parts = rampart::eas::decodeMultipart(out.body);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  auto doc = decoded(std::vector<std::uint8_t>((*parts)[0].begin(), (*parts)[0].end()));
  const auto* body = path(doc.root, {"Response", "Fetch", "Properties", "Body"});
  ASSERT_TRUE(body) << wbxml::toXml(doc);
  EXPECT_FALSE(body->child("Data"));
  EXPECT_EQ(text(*body, "Part"), "1") << wbxml::toXml(doc);
  EXPECT_NE(std::string((*parts)[1].begin(), (*parts)[1].end()).find("Body in a part."),
            std::string::npos);
}

TEST_F(EasItemsTest, EmptyFolderContentsWithSubfolders) {
  deliver(plainMessage("one"), 1000, deleted_);
  deliver(plainMessage("two"), 1001, deleted_);
  auto sub = mail_->createFolder(mailbox_, deleted_, "old", store::FolderType::user_mail);
  ASSERT_TRUE(sub);
  store::ItemId keep = deliver(plainMessage("keep"));
  auto request = [&](const std::string& options) {
    return R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:"><EmptyFolderContents><A:CollectionId>)" +
           std::to_string(deleted_) + "</A:CollectionId>" + options +
           "</EmptyFolderContents></ItemOperations>";
  };
  auto doc = decoded(itemOperations(request("")).body);
  const auto* e = path(doc.root, {"Response", "EmptyFolderContents"});
  ASSERT_TRUE(e) << wbxml::toXml(doc);
  EXPECT_EQ(text(*e, "Status"), "1");
  EXPECT_EQ(text(*e, "CollectionId"), std::to_string(deleted_));
  EXPECT_EQ(*mail_->countItems(deleted_, 0), 0u);
  EXPECT_TRUE(mail_->getFolder(sub->id));  // kept without DeleteSubFolders
  EXPECT_TRUE(mail_->getItem(keep));

  doc = decoded(itemOperations(request("<Options><DeleteSubFolders/></Options>")).body);
  EXPECT_EQ(text(*path(doc.root, {"Response", "EmptyFolderContents"}), "Status"), "1");
  EXPECT_FALSE(mail_->getFolder(sub->id));

  auto unknown = decoded(
      itemOperations(
          R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:"><EmptyFolderContents><A:CollectionId>999999</A:CollectionId></EmptyFolderContents></ItemOperations>)")
          .body);
  EXPECT_EQ(text(*path(unknown.root, {"Response", "EmptyFolderContents"}), "Status"), "6");
}

TEST_F(EasItemsTest, ItemOperationsProtocolErrorAndOtherStores) {
  auto doc = decoded(itemOperations(R"(<ItemOperations xmlns="ItemOperations:"/>)").body);
  EXPECT_EQ(text(doc.root, "Status"), "2") << wbxml::toXml(doc);
  EXPECT_FALSE(doc.root.child("Response"));
  doc = decoded(
      itemOperations(
          R"(<ItemOperations xmlns="ItemOperations:" xmlns:D="DocumentLibrary:"><Fetch><Store>DocumentLibrary</Store><D:LinkId>\\server\share\a.doc</D:LinkId></Fetch></ItemOperations>)")
          .body);
  EXPECT_EQ(text(*path(doc.root, {"Response", "Fetch"}), "Status"), "9") << wbxml::toXml(doc);
}

// --- Search --------------------------------------------------------------------------

TEST_F(EasItemsTest, SearchMailboxByFreeTextFolderAndDate) {
  store::ItemId a = deliver(plainMessage("Quarterly budget", "numbers"), 1000);
  store::ItemId b = deliver(plainMessage("budget follow-up", "more"), 2000);
  deliver(plainMessage("lunch", "food"), 3000);
  store::ItemId c = deliver(plainMessage("old budget", "x"), 500, deleted_);
  auto query = [](const std::string& inner, const std::string& options = "") {
    return R"(<Search xmlns="Search:" xmlns:A="AirSync:" xmlns:E="Email:"><Store><Name>Mailbox</Name><Query><And>)" +
           inner + "</And></Query>" + options + "</Store></Search>";
  };
  auto doc = search(query("<A:Class>Email</A:Class><FreeText>BUDGET</FreeText>",
                          "<Options><Range>0-9</Range></Options>"));
  std::string x = wbxml::toXml(doc);
  EXPECT_EQ(text(doc.root, "Status"), "1") << x;
  const auto* found = path(doc.root, {"Response", "Store"});
  ASSERT_TRUE(found) << x;
  EXPECT_EQ(text(*found, "Status"), "1");
  EXPECT_EQ(text(*found, "Total"), "3");
  EXPECT_EQ(text(*found, "Range"), "0-2");
  auto results = all(*found, "Result");
  ASSERT_EQ(results.size(), 3u) << x;
  // Newest first.
  EXPECT_EQ(text(*results[0], "LongId"), serverId(inbox_, b));
  EXPECT_EQ(text(*results[1], "LongId"), serverId(inbox_, a));
  EXPECT_EQ(text(*results[2], "LongId"), serverId(deleted_, c));
  EXPECT_EQ(text(*results[2], "CollectionId"), std::to_string(deleted_));
  EXPECT_EQ(text(*results[0], "Class"), "Email");
  EXPECT_EQ(text(*results[0]->child("Properties"), "Subject"), "budget follow-up");

  // One folder, received after 1500, a range of one.
  doc = search(query("<A:CollectionId>" + std::to_string(inbox_) +
                     "</A:CollectionId><FreeText>budget</FreeText><GreaterThan><E:DateReceived/>"
                     "<Value>1970-01-01T00:25:00.000Z</Value></GreaterThan>"));
  found = path(doc.root, {"Response", "Store"});
  ASSERT_TRUE(found) << wbxml::toXml(doc);
  results = all(*found, "Result");
  ASSERT_EQ(results.size(), 1u) << wbxml::toXml(doc);
  EXPECT_EQ(text(*results[0], "LongId"), serverId(inbox_, b));

  doc = search(query("<FreeText>budget</FreeText>", "<Options><Range>1-1</Range></Options>"));
  found = path(doc.root, {"Response", "Store"});
  EXPECT_EQ(text(*found, "Range"), "1-1");
  EXPECT_EQ(text(*found, "Total"), "3");
  ASSERT_EQ(all(*found, "Result").size(), 1u);

  // No match: an empty Result and Total 0.
  doc = search(query("<FreeText>nothing-like-this</FreeText>"));
  found = path(doc.root, {"Response", "Store"});
  EXPECT_EQ(text(*found, "Total"), "0");
  ASSERT_EQ(all(*found, "Result").size(), 1u);
  EXPECT_TRUE(all(*found, "Result")[0]->children.empty());
}

TEST_F(EasItemsTest, SearchFindsFreeTextInTheBodyPastThePreview) {
  store::ItemId hit = deliver(plainMessage("plain subject", std::string(600, 'x') + " Zebracorn"));
  deliver(plainMessage("other subject", "nothing here"));
  auto doc = search(
      R"(<Search xmlns="Search:"><Store><Name>Mailbox</Name><Query><And><FreeText>zebracorn</FreeText></And></Query></Store></Search>)");
  const auto* found = path(doc.root, {"Response", "Store"});
  ASSERT_TRUE(found) << wbxml::toXml(doc);
  EXPECT_EQ(text(*found, "Total"), "1") << wbxml::toXml(doc);
  auto results = all(*found, "Result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(text(*results[0], "LongId"), serverId(inbox_, hit));
}

TEST_F(EasItemsTest, SearchResultLongIdFetches) {
  store::ItemId a = deliver(plainMessage("findable"));
  auto doc = search(
      R"(<Search xmlns="Search:"><Store><Name>Mailbox</Name><Query><And><FreeText>findable</FreeText></And></Query></Store></Search>)");
  const auto* result = path(doc.root, {"Response", "Store", "Result"});
  ASSERT_TRUE(result) << wbxml::toXml(doc);
  std::string long_id = text(*result, "LongId");
  EXPECT_EQ(long_id, serverId(inbox_, a));
  auto out = decoded(
      itemOperations(
          R"(<ItemOperations xmlns="ItemOperations:" xmlns:S="Search:"><Fetch><Store>Mailbox</Store><S:LongId>)" +
          long_id + "</S:LongId></Fetch></ItemOperations>")
          .body);
  EXPECT_EQ(text(*path(out.root, {"Response", "Fetch"}), "Status"), "1") << wbxml::toXml(out);
}

TEST_F(EasItemsTest, SearchStatusesForOtherStoresAndComplexQueries) {
  auto gal = search(
      R"(<Search xmlns="Search:"><Store><Name>GAL</Name><Query>smith</Query></Store></Search>)");
  EXPECT_EQ(text(gal.root, "Status"), "1");
  EXPECT_EQ(text(*path(gal.root, {"Response", "Store"}), "Status"), "2") << wbxml::toXml(gal);
  auto complex = search(
      R"(<Search xmlns="Search:"><Store><Name>Mailbox</Name><Query><Or><FreeText>a</FreeText><FreeText>b</FreeText></Or></Query></Store></Search>)");
  EXPECT_EQ(text(*path(complex.root, {"Response", "Store"}), "Status"), "8");
  auto malformed = search(R"(<Search xmlns="Search:"><Store><Query>x</Query></Store></Search>)");
  EXPECT_EQ(text(*path(malformed.root, {"Response", "Store"}), "Status"), "2");
}

// --- Settings -------------------------------------------------------------------------

TEST_F(EasItemsTest, OofSetThenGetPersists) {
  auto set = settings(
      R"(<Settings xmlns="Settings:"><Oof><Set><OofState>2</OofState>)"
      R"(<StartTime>2026-12-20T00:00:00.000Z</StartTime><EndTime>2027-01-04T00:00:00.000Z</EndTime>)"
      R"(<OofMessage><AppliesToInternal/><Enabled>1</Enabled><ReplyMessage>Away &amp; back soon</ReplyMessage><BodyType>Text</BodyType></OofMessage>)"
      R"(<OofMessage><AppliesToExternalUnknown/><Enabled>0</Enabled></OofMessage>)"
      R"(</Set></Oof></Settings>)");
  EXPECT_EQ(text(set.root, "Status"), "1") << wbxml::toXml(set);
  EXPECT_EQ(text(*set.root.child("Oof"), "Status"), "1") << wbxml::toXml(set);

  // Through a fresh store: the state is on disk.
  mail_.reset();
  devices_.reset();
  open();
  auto stored = mail_->getOof(mailbox_);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, store::OofState::time_based);
  EXPECT_EQ(stored->internal.message, "Away & back soon");
  EXPECT_TRUE(stored->internal.enabled);
  EXPECT_FALSE(stored->internal.html);

  auto get = settings(
      R"(<Settings xmlns="Settings:"><Oof><Get><BodyType>Text</BodyType></Get></Oof></Settings>)");
  std::string x = wbxml::toXml(get);
  const auto* g = path(get.root, {"Oof", "Get"});
  ASSERT_TRUE(g) << x;
  EXPECT_EQ(text(*get.root.child("Oof"), "Status"), "1");
  EXPECT_EQ(text(*g, "OofState"), "2");
  EXPECT_EQ(text(*g, "StartTime"), "2026-12-20T00:00:00.000Z");
  EXPECT_EQ(text(*g, "EndTime"), "2027-01-04T00:00:00.000Z");
  auto messages = all(*g, "OofMessage");
  ASSERT_EQ(messages.size(), 3u) << x;
  EXPECT_TRUE(messages[0]->child("AppliesToInternal"));
  EXPECT_EQ(text(*messages[0], "Enabled"), "1");
  EXPECT_EQ(text(*messages[0], "ReplyMessage"), "Away & back soon");
  EXPECT_EQ(text(*messages[0], "BodyType"), "Text");
  EXPECT_EQ(text(*messages[2], "Enabled"), "0");

  auto html = settings(
      R"(<Settings xmlns="Settings:"><Oof><Get><BodyType>HTML</BodyType></Get></Oof></Settings>)");
  auto html_messages = all(*path(html.root, {"Oof", "Get"}), "OofMessage");
  EXPECT_EQ(text(*html_messages[0], "ReplyMessage"),
            "<html><body>Away &amp; back soon</body></html>");
}

TEST_F(EasItemsTest, OofTimeBasedNeedsAWindow) {
  auto set = settings(
      R"(<Settings xmlns="Settings:"><Oof><Set><OofState>2</OofState></Set></Oof></Settings>)");
  EXPECT_EQ(text(*set.root.child("Oof"), "Status"), "5") << wbxml::toXml(set);
  EXPECT_EQ(mail_->getOof(mailbox_)->state, store::OofState::disabled);
  auto global = settings(
      R"(<Settings xmlns="Settings:"><Oof><Set><OofState>1</OofState></Set></Oof></Settings>)");
  EXPECT_EQ(text(*global.root.child("Oof"), "Status"), "1");
  EXPECT_EQ(mail_->getOof(mailbox_)->state, store::OofState::global);
}

TEST_F(EasItemsTest, SettingsDeviceInformationUserInformationAndPassword) {
  auto doc = settings(
      R"(<Settings xmlns="Settings:"><DeviceInformation><Set><Model>iPhone15,2</Model>)"
      R"(<OS>iOS 17.1</OS><FriendlyName>Alice's phone</FriendlyName></Set></DeviceInformation>)"
      R"(<UserInformation><Get/></UserInformation><DevicePassword><Set><Password>x</Password></Set></DevicePassword></Settings>)");
  std::string x = wbxml::toXml(doc);
  EXPECT_EQ(text(doc.root, "Status"), "1") << x;
  EXPECT_EQ(text(*doc.root.child("DeviceInformation"), "Status"), "1");
  EXPECT_EQ(text(*doc.root.child("DevicePassword"), "Status"), "7");
  // Schema order: DevicePassword before DeviceInformation before UserInformation.
  std::vector<std::string_view> order;
  for (const auto& c : doc.root.children) order.push_back(c.name);
  EXPECT_EQ(order, (std::vector<std::string_view>{"Status", "DevicePassword", "DeviceInformation",
                                                  "UserInformation"}));
  const auto* account = path(doc.root, {"UserInformation", "Get", "Accounts", "Account"});
  ASSERT_TRUE(account) << x;
  EXPECT_EQ(text(*account, "UserDisplayName"), "Alice Example");
  EXPECT_EQ(text(*account->child("EmailAddresses"), "PrimarySmtpAddress"), "alice@example.org");
  auto device = devices_->getDevice(kUser, kDevice);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->info.model, "iPhone15,2");
  EXPECT_EQ(device->info.os, "iOS 17.1");
  EXPECT_EQ(device->info.friendly_name, "Alice's phone");

  auto old = settings(
      R"(<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>)",
      "14.0");
  const auto* addresses = path(old.root, {"UserInformation", "Get", "EmailAddresses"});
  ASSERT_TRUE(addresses) << wbxml::toXml(old);
  EXPECT_EQ(text(*addresses, "SMTPAddress"), "alice@example.org");

  auto bad = settings(R"(<Settings xmlns="Settings:"><Oof/></Settings>)");
  EXPECT_EQ(text(bad.root, "Status"), "2") << wbxml::toXml(bad);
}

// Differential: Debian's libwbxml2 (wbxml2xml) reads every response these
// handlers build, and Ping's and SendMail's, as our own decoder does.
TEST_F(EasItemsTest, Wbxml2xmlReadsOurResponsesAsWeDo) {
  if (std::system("command -v wbxml2xml >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "libwbxml2-utils (wbxml2xml) not installed";
  }
  store::ItemId plain = deliver(plainMessage("report due", "The quarterly report & more."));
  store::ItemId attached = deliver(withAttachment("with file", "0123456789"));
  std::string ref = std::to_string(attached) + ":" + mail_->getItem(attached)->summary.attachments[0].part_path;
  std::vector<std::vector<std::uint8_t>> responses;
  auto keep = [&](Result<std::vector<std::uint8_t>> r) {
    ASSERT_TRUE(r) << r.error().message();
    responses.push_back(std::move(*r));
  };
  auto ctx = context("14.1");
  keep(runMoveItems(ctx, xml("<MoveItems xmlns=\"Move:\"><Move><SrcMsgId>" + serverId(inbox_, plain) +
                             "</SrcMsgId><SrcFldId>" + std::to_string(inbox_) + "</SrcFldId><DstFldId>" +
                             std::to_string(deleted_) + "</DstFldId></Move><Move><SrcMsgId>1:999</SrcMsgId>"
                             "<SrcFldId>1</SrcFldId><DstFldId>77</DstFldId></Move></MoveItems>")));
  for (const std::string& op :
       {"<Fetch><Store>Mailbox</Store><A:CollectionId>" + std::to_string(inbox_) + "</A:CollectionId><A:ServerId>" +
            serverId(inbox_, attached) +
            "</A:ServerId><Options><B:BodyPreference><B:Type>1</B:Type><B:TruncationSize>5</B:TruncationSize>"
            "</B:BodyPreference></Options></Fetch>",
        "<Fetch><Store>Mailbox</Store><B:FileReference>" + ref + "</B:FileReference></Fetch>",
        std::string("<Fetch><Store>Mailbox</Store><B:FileReference>nope</B:FileReference></Fetch>"),
        "<EmptyFolderContents><A:CollectionId>" + std::to_string(deleted_) +
            "</A:CollectionId></EmptyFolderContents>"}) {
    auto out = runItemOperations(ctx, xml(R"(<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:">)" +
                                          op + "</ItemOperations>"));
    ASSERT_TRUE(out) << out.error().message();
    responses.push_back(out->body);
  }
  keep(runSearch(ctx, xml(R"(<Search xmlns="Search:" xmlns:A="AirSync:"><Store><Name>Mailbox</Name><Query><And>)"
                          R"(<A:Class>Email</A:Class><FreeText>file</FreeText></And></Query><Options>)"
                          R"(<Range>0-9</Range></Options></Store></Search>)")));
  keep(runSettings(ctx, xml(R"(<Settings xmlns="Settings:"><Oof><Get><BodyType>Text</BodyType></Get></Oof>)"
                            R"(<UserInformation><Get/></UserInformation><DeviceInformation><Set>)"
                            R"(<Model>Phone</Model></Set></DeviceInformation></Settings>)")));
  HasPending pending = [](store::FolderId) -> Result<bool> { return true; };
  for (const std::string& ping :
       {"<Ping xmlns=\"Ping:\"><HeartbeatInterval>10</HeartbeatInterval><Folders><Folder><Id>" +
            std::to_string(inbox_) + "</Id><Class>Email</Class></Folder></Folders></Ping>",
        "<Ping xmlns=\"Ping:\"><HeartbeatInterval>600</HeartbeatInterval><Folders><Folder><Id>" +
            std::to_string(inbox_) + "</Id><Class>Email</Class></Folder></Folders></Ping>"}) {
    auto doc = xml(ping);
    auto plan = preparePing(ctx, &doc, PingLimits{}, pending);
    ASSERT_TRUE(plan && plan->response) << "Ping answers at once here (status 5, then 2)";
    responses.push_back(*plan->response);
  }
  keep(pingResponse(1, {}));
  keep(sendStatusResponse("SendMail", 119));
  keep(sendStatusResponse("SmartReply", 150));

  int n = 0;
  for (const auto& bytes : responses) {
    std::string in = dir_.file("r" + std::to_string(n) + ".wbxml");
    std::string out = dir_.file("r" + std::to_string(n++) + ".xml");
    {
      std::ofstream f(in, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    std::string cmd = "wbxml2xml -l ACTIVESYNC -o " + out + " " + in + " >" + dir_.file("log") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "response " << n;
    std::ifstream theirs_in(out, std::ios::binary);
    std::string theirs((std::istreambuf_iterator<char>(theirs_in)), std::istreambuf_iterator<char>());
    auto ours = wbxml::decode(bytes);
    ASSERT_TRUE(ours);
    EXPECT_EQ(theirs, wbxml::toXml(*ours)) << "response " << n;
  }
}

}  // namespace
}  // namespace rampart::server::eas
