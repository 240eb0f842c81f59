// The device client's request builders and response parsers (src/device/protocol.h):
// requests are decoded back with wbxml::decode and rendered with toXml;
// responses are written as XML (the spec's examples' shape) and encoded with
// wbxml::parseXml + wbxml::encode, as a server would send them.
#include <gtest/gtest.h>

#include <string>

#include "codec/wbxml/reader.h"
#include "codec/wbxml/writer.h"
#include "codec/wbxml/xml.h"
#include "device/client.h"
#include "device/protocol.h"
#include "device/transport.h"

namespace rampart::device {
namespace {

std::string xmlOf(const Result<Bytes>& bytes) {
  EXPECT_TRUE(bytes) << bytes.error().message();
  if (!bytes) return {};
  auto doc = wbxml::decode(*bytes);
  EXPECT_TRUE(doc) << doc.error().message();
  return doc ? wbxml::toXml(*doc) : std::string();
}

// A server response: XML -> Document, through WBXML bytes as on the wire.
wbxml::Document response(const std::string& xml) {
  auto parsed = wbxml::parseXml(xml);
  EXPECT_TRUE(parsed) << parsed.error().message();
  auto bytes = wbxml::encode(*parsed);
  EXPECT_TRUE(bytes) << bytes.error().message();
  auto doc = wbxml::decode(*bytes);
  EXPECT_TRUE(doc);
  return *doc;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(DeviceProtocol, FolderSyncRequestAndResponse) {
  std::string xml = xmlOf(buildFolderSync("0"));
  EXPECT_TRUE(contains(xml, "<FolderSync xmlns=\"FolderHierarchy:\">")) << xml;
  EXPECT_TRUE(contains(xml, "<SyncKey>0</SyncKey>")) << xml;

  auto r = parseFolderSync(response(R"(<FolderSync xmlns="FolderHierarchy:"><Status>1</Status>
    <SyncKey>k1</SyncKey><Changes><Count>3</Count>
    <Update><ServerId>7</ServerId><ParentId>0</ParentId><DisplayName>Renamed</DisplayName><Type>12</Type></Update>
    <Delete><ServerId>9</ServerId></Delete>
    <Add><ServerId>a:2</ServerId><ParentId>0</ParentId><DisplayName>Inbox</DisplayName><Type>2</Type></Add>
    </Changes></FolderSync>)"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 1);
  EXPECT_EQ(r->sync_key, "k1");
  ASSERT_EQ(r->adds.size(), 1u);
  EXPECT_EQ(r->adds[0], (Folder{"a:2", "0", "Inbox", 2}));
  ASSERT_EQ(r->updates.size(), 1u);
  EXPECT_EQ(r->updates[0].display_name, "Renamed");
  EXPECT_EQ(r->deletes, std::vector<std::string>{"9"});

  auto bad_key = parseFolderSync(
      response(R"(<FolderSync xmlns="FolderHierarchy:"><Status>9</Status></FolderSync>)"));
  ASSERT_TRUE(bad_key);
  EXPECT_EQ(bad_key->status, 9);

  EXPECT_FALSE(parseFolderSync(
      response(R"(<FolderSync xmlns="FolderHierarchy:"><Status>x</Status></FolderSync>)")));
  EXPECT_FALSE(parseFolderSync(
      response(R"(<FolderSync xmlns="FolderHierarchy:"><Status>1</Status></FolderSync>)")))
      << "success without a SyncKey";
  EXPECT_FALSE(parseFolderSync(response(R"(<Ping xmlns="Ping:"><Status>1</Status></Ping>)")));
}

TEST(DeviceProtocol, SyncRequestShapes) {
  SyncRequest initial;
  initial.collection_id = "5";
  initial.sync_key = "0";
  std::string xml = xmlOf(buildSync(initial));
  EXPECT_TRUE(contains(xml, "<SyncKey>0</SyncKey>")) << xml;
  EXPECT_TRUE(contains(xml, "<CollectionId>5</CollectionId>")) << xml;
  EXPECT_FALSE(contains(xml, "WindowSize")) << "the initial Sync carries only the key: " << xml;

  SyncRequest q;
  q.collection_id = "5";
  q.sync_key = "s2";
  q.changes = {{ClientChange::Kind::mark_read, "5:1", true},
               {ClientChange::Kind::delete_item, "5:2", false}};
  q.fetch = {"5:3"};
  xml = xmlOf(buildSync(q));
  EXPECT_TRUE(contains(xml, "<WindowSize>512</WindowSize>")) << xml;
  EXPECT_TRUE(contains(xml, "<Type>1</Type>")) << xml;
  EXPECT_TRUE(contains(xml, "<TruncationSize>256</TruncationSize>")) << xml;
  EXPECT_TRUE(contains(xml, "<Read xmlns=\"Email:\">1</Read>")) << xml;
  EXPECT_TRUE(contains(xml, "<Delete>")) << xml;
  EXPECT_TRUE(contains(xml, "<Fetch>")) << xml;
  // Order inside Collection: SyncKey, CollectionId, WindowSize, Options, Commands (schema 6.42).
  EXPECT_LT(xml.find("<SyncKey>"), xml.find("<CollectionId>"));
  EXPECT_LT(xml.find("<WindowSize>"), xml.find("<Options>"));
  EXPECT_LT(xml.find("<Options>"), xml.find("<Commands>"));
}

TEST(DeviceProtocol, SyncResponse) {
  auto r = parseSync(
      response(R"(<Sync xmlns="AirSync:" xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:">
    <Collections><Collection><SyncKey>s3</SyncKey><CollectionId>5</CollectionId><Status>1</Status>
    <MoreAvailable/>
    <Commands>
      <Add><ServerId>5:10</ServerId><ApplicationData>
        <email:To>"Alice" &lt;alice@example.test&gt;</email:To>
        <email:From>"Bob" &lt;bob@example.test&gt;</email:From>
        <email:Subject>Lunch?</email:Subject>
        <email:DateReceived>2026-11-24T12:00:00.000Z</email:DateReceived>
        <email:Read>0</email:Read>
        <email:Flag><email:Status>2</email:Status></email:Flag>
        <airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:Truncated>1</airsyncbase:Truncated>
          <airsyncbase:Data>Shall we</airsyncbase:Data></airsyncbase:Body>
      </ApplicationData></Add>
      <Change><ServerId>5:4</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change>
      <Delete><ServerId>5:2</ServerId></Delete>
      <SoftDelete><ServerId>5:1</ServerId></SoftDelete>
    </Commands>
    <Responses>
      <Change><ServerId>5:9</ServerId><Status>8</Status></Change>
      <Fetch><ServerId>5:4</ServerId><Status>1</Status><ApplicationData>
        <airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:Data>full text</airsyncbase:Data></airsyncbase:Body>
      </ApplicationData></Fetch>
    </Responses></Collection></Collections></Sync>)"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 1);
  EXPECT_EQ(r->sync_key, "s3");
  EXPECT_TRUE(r->more_available);
  ASSERT_EQ(r->items.size(), 4u);
  const ServerItem& add = r->items[0];
  EXPECT_EQ(add.kind, ServerItem::Kind::add);
  EXPECT_EQ(add.server_id, "5:10");
  EXPECT_EQ(add.fields.subject, "Lunch?");
  EXPECT_EQ(add.fields.from, "\"Bob\" <bob@example.test>");
  EXPECT_EQ(add.fields.date, "2026-11-24T12:00:00.000Z");
  EXPECT_EQ(add.fields.read, false);
  EXPECT_EQ(add.fields.flagged, true);
  EXPECT_EQ(add.fields.body, "Shall we");
  EXPECT_TRUE(add.fields.body_truncated);
  EXPECT_EQ(r->items[1].kind, ServerItem::Kind::change);
  EXPECT_EQ(r->items[1].fields.read, true);
  EXPECT_FALSE(r->items[1].fields.subject) << "a Change carries only what changed";
  EXPECT_EQ(r->items[2].kind, ServerItem::Kind::remove);
  EXPECT_EQ(r->items[3].kind, ServerItem::Kind::remove);
  ASSERT_EQ(r->fetched.size(), 1u);
  EXPECT_EQ(r->fetched[0].fields.body, "full text");
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0], (std::pair<std::string, int>{"5:9", 8}));
}

TEST(DeviceProtocol, SyncStatusesAndEmptyResponses) {
  auto bad_key = parseSync(response(R"(<Sync xmlns="AirSync:"><Collections><Collection>
    <SyncKey>0</SyncKey><CollectionId>5</CollectionId><Status>3</Status></Collection></Collections></Sync>)"));
  ASSERT_TRUE(bad_key);
  EXPECT_EQ(bad_key->status, 3);

  auto top = parseSync(response(R"(<Sync xmlns="AirSync:"><Status>12</Status></Sync>)"));
  ASSERT_TRUE(top);
  EXPECT_EQ(top->status, 12);
  EXPECT_FALSE(top->empty);

  auto empty = parseSync(response(R"(<Sync xmlns="AirSync:"/>)"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty);

  EXPECT_FALSE(parseSync(response(R"(<Sync xmlns="AirSync:"><Collections><Collection>
    <CollectionId>5</CollectionId><Status>1</Status></Collection></Collections></Sync>)")))
      << "success without a SyncKey";
  EXPECT_FALSE(
      parseSync(response(R"(<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>1</SyncKey>
    <Status>1</Status><Commands><Add><ApplicationData/></Add></Commands></Collection></Collections></Sync>)")))
      << "an Add without a ServerId";
}

TEST(DeviceProtocol, Ping) {
  std::string xml = xmlOf(buildPing(480, {{"5", "Email"}, {"6", "Email"}}));
  EXPECT_TRUE(contains(xml, "<HeartbeatInterval>480</HeartbeatInterval>")) << xml;
  EXPECT_TRUE(contains(xml, "<Id>6</Id>")) << xml;
  EXPECT_TRUE(contains(xml, "<Class>Email</Class>")) << xml;

  auto changed = parsePing(response(R"(<Ping xmlns="Ping:"><Status>2</Status>
    <Folders><Folder>5</Folder><Folder>6</Folder></Folders></Ping>)"));
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 2);
  EXPECT_EQ(changed->changed, (std::vector<std::string>{"5", "6"}));

  auto hb = parsePing(response(
      R"(<Ping xmlns="Ping:"><Status>5</Status><HeartbeatInterval>120</HeartbeatInterval></Ping>)"));
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->heartbeat, 120u);
  auto max = parsePing(
      response(R"(<Ping xmlns="Ping:"><Status>6</Status><MaxFolders>1</MaxFolders></Ping>)"));
  ASSERT_TRUE(max);
  EXPECT_EQ(max->max_folders, 1u);
  EXPECT_FALSE(parsePing(response(R"(<Ping xmlns="Ping:"><Folders/></Ping>)")));
}

TEST(DeviceProtocol, ComposeCommands) {
  ComposeRequest send;
  send.client_id = "C1";
  send.mime = "Subject: hi\r\n\r\nbody\r\n";
  auto bytes = buildCompose(send);
  ASSERT_TRUE(bytes);
  auto doc = wbxml::decode(*bytes);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->root.name, "SendMail");
  const wbxml::Element* mime = doc->root.child("Mime");
  ASSERT_NE(mime, nullptr);
  // MS-ASCMD 2.2.3.109: an opaque BLOB.
  EXPECT_EQ(std::string(mime->opaque.begin(), mime->opaque.end()), send.mime);
  EXPECT_TRUE(mime->text.empty());
  EXPECT_NE(doc->root.child("SaveInSentItems"), nullptr);
  EXPECT_EQ(doc->root.child("Source"), nullptr);

  ComposeRequest reply = send;
  reply.kind = ComposeRequest::Kind::reply;
  reply.folder_id = "5";
  reply.item_id = "5:10";
  std::string xml = xmlOf(buildCompose(reply));
  EXPECT_TRUE(contains(xml, "<SmartReply")) << xml;
  EXPECT_TRUE(contains(xml, "<Source><FolderId>5</FolderId><ItemId>5:10</ItemId></Source>") ||
              (contains(xml, "<FolderId>5</FolderId>") && contains(xml, "<ItemId>5:10</ItemId>")))
      << xml;
  EXPECT_FALSE(contains(xml, "ReplaceMime")) << xml;
  reply.kind = ComposeRequest::Kind::forward;
  EXPECT_TRUE(contains(xmlOf(buildCompose(reply)), "<SmartForward"));
  // A protected reply or forward carries the original itself (MS-ASCMD 2.2.3.142).
  reply.replace_mime = true;
  EXPECT_TRUE(contains(xmlOf(buildCompose(reply)), "<ReplaceMime")) << xmlOf(buildCompose(reply));
  send.replace_mime = true;
  EXPECT_FALSE(contains(xmlOf(buildCompose(send)), "ReplaceMime"));

  ComposeRequest bad = send;
  bad.client_id = std::string(41, 'x');
  EXPECT_FALSE(buildCompose(bad));

  auto status = parseComposeStatus(
      response(R"(<SendMail xmlns="ComposeMail:"><Status>120</Status></SendMail>)"));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 120);
}

TEST(DeviceProtocol, MoveItemsAndItemOperations) {
  std::string xml = xmlOf(buildMoveItems("5:10", "5", "8"));
  EXPECT_TRUE(contains(xml, "<SrcMsgId>5:10</SrcMsgId>")) << xml;
  EXPECT_TRUE(contains(xml, "<SrcFldId>5</SrcFldId>")) << xml;
  EXPECT_TRUE(contains(xml, "<DstFldId>8</DstFldId>")) << xml;
  auto moved =
      parseMoveItems(response(R"(<MoveItems xmlns="Move:"><Response><SrcMsgId>5:10</SrcMsgId>
    <Status>3</Status><DstMsgId>8:1</DstMsgId></Response></MoveItems>)"));
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->status, 3);
  EXPECT_EQ(moved->new_id, "8:1");

  xml = xmlOf(buildItemFetch("5", "5:10"));
  EXPECT_TRUE(contains(xml, "<Store>Mailbox</Store>")) << xml;
  EXPECT_TRUE(contains(xml, "<CollectionId xmlns=\"AirSync:\">5</CollectionId>")) << xml;
  EXPECT_TRUE(contains(xml, "<ServerId xmlns=\"AirSync:\">5:10</ServerId>")) << xml;
  auto fetched =
      parseItemFetch(response(R"(<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"
      xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:"><Status>1</Status><Response><Fetch>
      <Status>1</Status><airsync:CollectionId>5</airsync:CollectionId><airsync:ServerId>5:10</airsync:ServerId>
      <airsync:Class>Email</airsync:Class><Properties><email:Subject>Lunch?</email:Subject>
      <email:Cc>carol@example.test</email:Cc>
      <airsyncbase:Body><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:EstimatedDataSize>9</airsyncbase:EstimatedDataSize>
      <airsyncbase:Data>Shall we?</airsyncbase:Data></airsyncbase:Body></Properties></Fetch></Response></ItemOperations>)"));
  ASSERT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(fetched->fetch_status, 1);
  EXPECT_EQ(fetched->fields.body, "Shall we?");
  EXPECT_EQ(fetched->fields.cc, "carol@example.test");
}

// Issue 6: the whole MIME (Type 4) with RightsManagementSupport, the
// MS-ASRM license the server sends, and ResolveRecipients certificates.
TEST(DeviceProtocol, SecureFetchAndRightsLicense) {
  std::string xml = xmlOf(buildItemFetch("5", "5:11", FetchOptions{true, true}));
  EXPECT_TRUE(contains(xml, "<MIMESupport xmlns=\"AirSync:\">2</MIMESupport>")) << xml;
  EXPECT_TRUE(contains(xml, "<Type>4</Type>")) << xml;
  EXPECT_TRUE(contains(xml, "RightsManagementSupport xmlns=\"RightsManagement:\">1<")) << xml;
  EXPECT_FALSE(contains(xmlOf(buildItemFetch("5", "5:11")), "RightsManagementSupport"));

  auto fetched =
      parseItemFetch(response(R"(<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"
      xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:" xmlns:rm="RightsManagement:"><Status>1</Status>
      <Response><Fetch><Status>1</Status><airsync:CollectionId>5</airsync:CollectionId>
      <airsync:ServerId>5:11</airsync:ServerId><Properties><email:Subject>Minutes</email:Subject>
      <email:MessageClass>IPM.Note</email:MessageClass>
      <airsyncbase:Body><airsyncbase:Type>4</airsyncbase:Type><airsyncbase:Data>MIME-Version: 1.0</airsyncbase:Data></airsyncbase:Body>
      <rm:RightsManagementLicense><rm:ContentExpiryDate>9999-12-30T23:59:59.999Z</rm:ContentExpiryDate>
      <rm:ContentOwner>alice@example.test</rm:ContentOwner><rm:EditAllowed>1</rm:EditAllowed>
      <rm:ExportAllowed>0</rm:ExportAllowed><rm:ExtractAllowed>0</rm:ExtractAllowed>
      <rm:ForwardAllowed>0</rm:ForwardAllowed><rm:ModifyRecipientsAllowed>0</rm:ModifyRecipientsAllowed>
      <rm:Owner>0</rm:Owner><rm:PrintAllowed>0</rm:PrintAllowed><rm:ProgrammaticAccessAllowed>0</rm:ProgrammaticAccessAllowed>
      <rm:ReplyAllAllowed>1</rm:ReplyAllAllowed><rm:ReplyAllowed>1</rm:ReplyAllowed>
      <rm:TemplateDescription>Recipients can read this message, but they can't forward, print, or copy content.</rm:TemplateDescription>
      <rm:TemplateID>CF5CF348-A8D7-40D5-91EF-A600B88A395D</rm:TemplateID><rm:TemplateName>Do Not Forward</rm:TemplateName>
      </rm:RightsManagementLicense></Properties></Fetch></Response></ItemOperations>)"));
  ASSERT_TRUE(fetched) << fetched.error().message();
  EXPECT_EQ(fetched->fields.body_type, 4);
  EXPECT_EQ(fetched->fields.message_class, "IPM.Note");
  ASSERT_TRUE(fetched->fields.rights);
  const RightsLicense& l = *fetched->fields.rights;
  EXPECT_TRUE(l.edit && l.reply && l.reply_all);
  EXPECT_FALSE(l.forward || l.print || l.extract || l.export_ || l.owner || l.programmatic);
  EXPECT_EQ(l.template_id, "CF5CF348-A8D7-40D5-91EF-A600B88A395D");
  EXPECT_EQ(l.template_name, "Do Not Forward");
  EXPECT_EQ(l.content_owner, "alice@example.test");
}

TEST(DeviceProtocol, ResolveRecipients) {
  EXPECT_FALSE(buildResolveRecipients({}));
  std::string xml = xmlOf(buildResolveRecipients({"bob@example.test", "carol@example.test"}));
  EXPECT_TRUE(contains(xml, "<To>bob@example.test</To>") && contains(xml, "<To>carol@example.test</To>")) << xml;
  EXPECT_TRUE(contains(xml, "<CertificateRetrieval>2</CertificateRetrieval>")) << xml;

  // "MIIB" is the start of any DER certificate in base64; the bytes are what count here.
  auto r = parseResolveRecipients(response(R"(<ResolveRecipients xmlns="ResolveRecipients:"><Status>1</Status>
    <Response><To>bob@example.test</To><Status>1</Status><RecipientCount>1</RecipientCount>
    <Recipient><Type>1</Type><DisplayName>Bob</DisplayName><EmailAddress>bob@example.test</EmailAddress>
    <Certificates><Status>1</Status><CertificateCount>1</CertificateCount><Certificate>MIIBAA==</Certificate></Certificates>
    </Recipient></Response>
    <Response><To>nobody@example.test</To><Status>4</Status><RecipientCount>0</RecipientCount></Response>
    </ResolveRecipients>)"));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->responses.size(), 2u);
  EXPECT_EQ(r->responses[0].status, 1);
  ASSERT_EQ(r->responses[0].recipients.size(), 1u);
  EXPECT_EQ(r->responses[0].recipients[0].display_name, "Bob");
  EXPECT_EQ(r->responses[0].recipients[0].certificates_status, 1);
  ASSERT_EQ(r->responses[0].recipients[0].certificates.size(), 1u);
  EXPECT_EQ(r->responses[0].recipients[0].certificates[0], std::string("\x30\x82\x01\x00", 4));
  EXPECT_EQ(r->responses[1].status, 4);
  EXPECT_TRUE(r->responses[1].recipients.empty());
  // A certificate that is not base64 is a protocol error, not a crash.
  EXPECT_FALSE(parseResolveRecipients(response(R"(<ResolveRecipients xmlns="ResolveRecipients:"><Status>1</Status>
    <Response><To>b@x</To><Status>1</Status><Recipient><Certificates><Status>1</Status>
    <Certificate>!!!</Certificate></Certificates></Recipient></Response></ResolveRecipients>)")));
}

TEST(DeviceProtocol, RootStatusFindsProvisioningCodes) {
  EXPECT_EQ(rootStatus(response(
                R"(<FolderSync xmlns="FolderHierarchy:"><Status>142</Status></FolderSync>)")),
            142);
  EXPECT_EQ(rootStatus(response(R"(<Ping xmlns="Ping:"><Status>144</Status></Ping>)")), 144);
  EXPECT_EQ(rootStatus(response(R"(<Sync xmlns="AirSync:"><Collections/></Sync>)")), std::nullopt);
}

TEST(DeviceProtocol, Autodiscover) {
  std::string request = buildAutodiscover("alice@example.test");
  EXPECT_TRUE(contains(request, "<EMailAddress>alice@example.test</EMailAddress>"));
  EXPECT_TRUE(contains(request, "mobilesync/responseschema/2006"));

  auto ok = parseAutodiscover(R"(<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
  <Culture>en:us</Culture><User><DisplayName>Alice</DisplayName><EMailAddress>alice@example.test</EMailAddress></User>
  <Action><Settings>
   <Server><Type>CertEnroll</Type><Url>https://ca.example.test/x</Url></Server>
   <Server><Type>MobileSync</Type><Url>https://mail.example.test/Microsoft-Server-ActiveSync</Url>
     <Name>https://mail.example.test/Microsoft-Server-ActiveSync</Name></Server>
  </Settings></Action></Response></Autodiscover>)");
  EXPECT_EQ(ok.url, "https://mail.example.test/Microsoft-Server-ActiveSync");
  auto redirect = parseAutodiscover(
      "<Autodiscover><Response><Action><Redirect>a@b.test</Redirect></Action></Response></"
      "Autodiscover>");
  EXPECT_FALSE(redirect.url);
  EXPECT_EQ(redirect.redirect, "a@b.test");
  auto error = parseAutodiscover(
      "<Autodiscover><Response><Error><ErrorCode>600</ErrorCode>"
      "<Message>Invalid Request</Message></Error></Response></Autodiscover>");
  EXPECT_EQ(error.error, "Invalid Request");
}

TEST(DeviceProtocol, ComposeMime) {
  Draft d;
  d.from = "alice@example.test";
  d.to = {"bob@example.test", "Carol <carol@example.test>"};
  d.subject = "Hello\r\nBcc: evil@example.test";
  d.body = "line one\nline two";
  d.message_id = "<1@example.test>";
  std::string m = composeMime(d);
  EXPECT_TRUE(contains(m, "To: bob@example.test, Carol <carol@example.test>\r\n")) << m;
  EXPECT_FALSE(contains(m, "\r\nBcc:")) << "a header value cannot start a new header: " << m;
  EXPECT_TRUE(contains(m, "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n")) << m;

  d.subject = "Grüße";
  d.body = "Köln";
  m = composeMime(d);
  EXPECT_TRUE(contains(m, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n")) << m;
  EXPECT_TRUE(contains(m, "Content-Transfer-Encoding: base64\r\n\r\nS8O2bG4NCg==\r\n")) << m;

  EXPECT_EQ(bareAddress("\"Bob\" <bob@example.test>"), "bob@example.test");
  EXPECT_EQ(bareAddress("  bob@example.test "), "bob@example.test");
}

TEST(DeviceTransport, UrlsAndCredentials) {
  auto u = parseUrl("https://127.0.0.1:8443");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->path, "/Microsoft-Server-ActiveSync");
  u = parseUrl("https://mail.example.test/eas/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "/eas");
  u = parseUrl("https://[::1]:9443/Microsoft-Server-ActiveSync");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9443");
  EXPECT_FALSE(parseUrl("ftp://x"));
  EXPECT_FALSE(parseUrl("https://:80"));
  EXPECT_FALSE(parseUrl("https://host:80x"));
  // RFC 7617's example.
  EXPECT_EQ(basicAuth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(DeviceClient, ChoosesTheHighestCommonVersion) {
  EXPECT_EQ(chooseVersion("2.5,12.0,12.1,14.0,14.1,16.0,16.1", "16.1"), "16.1");
  EXPECT_EQ(chooseVersion("2.5,12.0,12.1,14.0,14.1,16.0,16.1", "14.1"), "14.1");
  EXPECT_EQ(chooseVersion("12.1, 14.0", "16.1"), "14.0");
  EXPECT_EQ(chooseVersion("2.5,12.0", "16.1"), std::nullopt) << "neither is one we speak";
  EXPECT_EQ(chooseVersion("", "16.1"), std::nullopt);
}

}  // namespace
}  // namespace rampart::device
