// ResolveRecipients (MS-ASCMD 2.2.1.15) over the real built-in directory and
// SQLite stores: resolution by address, alias, user name and name prefix,
// ambiguity (Status 2 and 3), unknown and disabled recipients, certificates
// (full and mini, expired and wrong-purpose ones left out, MaxCertificates),
// Availability and Picture answers, malformed requests; and the request
// decoder on its own.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "codec/eas/cert_requests.h"
#include "codec/wbxml/reader.h"
#include "codec/wbxml/xml.h"
#include "core/clock.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "server/eas/resolve_recipients_command.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/certs.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

namespace x509 = crypto::x509;

wbxml::Document xml(const std::string& text) {
  auto doc = wbxml::parseXml(text);
  EXPECT_TRUE(doc) << doc.error().message() << "\n" << text;
  return doc ? *doc : wbxml::Document{};
}

std::string text(const wbxml::Element& e, std::string_view child) {
  const wbxml::Element* c = e.child(child);
  return c ? c->text : std::string("<none>");
}

std::vector<const wbxml::Element*> all(const wbxml::Element& e, std::string_view name) {
  std::vector<const wbxml::Element*> out;
  for (const auto& c : e.children) {
    if (c.name == name) out.push_back(&c);
  }
  return out;
}

std::string base64(const std::string& der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

class ResolveRecipientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mail = store::sqlite::openSqliteMailStore(dir_.file("rampart.db"));
    ASSERT_TRUE(mail) << mail.error().message();
    mail_ = std::move(*mail);
    auto devices = store::sqlite::openSqliteDeviceStore(dir_.file("rampart.db"), systemRandom());
    ASSERT_TRUE(devices);
    devices_ = std::move(*devices);
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto d = directory::BuiltinDirectory::open(dir_.file("directory.db"), options);
    ASSERT_TRUE(d) << d.error().message();
    directory_ = std::move(*d);
    ASSERT_TRUE(directory_->addUser({"alice", "Alice Example", true, {"alice@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->addUser(
        {"bob", "Bob Builder", true, {"bob@example.org", "robert@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->addUser({"bobby", "Bobby Tables", true, {"bobby@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->addUser({"carol", "Carol Off", true, {"carol@example.org"}}, "pw"));
    ASSERT_TRUE(directory_->setEnabled("carol", false));
    ASSERT_TRUE(directory_->addUser({"dave", "Dave Bobson", true, {"dave@example.org"}}, "pw"));
    now_ = unixSeconds(systemClock().now());
    // bob: two encryption certificates and a signing one; dave: an expired one.
    bob_new_ = cert("bob-new");
    bob_old_ = cert("bob-old");
    publish("bob", "0B0B01", "smime_encryption", bob_old_, now_ + 1000);
    publish("bob", "0B0B02", "smime_encryption", bob_new_, now_ + 2000);
    publish("bob", "0B0B03", "smime_signing", cert("bob-sign"), now_ + 2000);
    publish("dave", "0D0D01", "smime_encryption", cert("dave"), now_ - 10);
  }

  std::string cert(const std::string& name) {
    auto files = testing::makeSelfSigned(dir_.path().string(), name + ".example.org");
    auto c = x509::parseCertificate(testing::slurp(files.cert_file));
    EXPECT_TRUE(c);
    return x509::certificateDer(c->get());
  }

  void publish(const std::string& user, const std::string& serial, const std::string& purpose,
               const std::string& der, std::int64_t not_after) {
    ASSERT_TRUE(directory_->publishCertificate(user, {serial, purpose, der, not_after}));
  }

  wbxml::Element run(const std::string& body, std::string version = "16.1") {
    CommandContext ctx{*mail_, *devices_, "alice", "dev1", std::move(version)};
    ctx.now = now_;
    ctx.directory = directory_.get();
    auto out = runResolveRecipients(ctx, xml(body));
    EXPECT_TRUE(out) << out.error().message();
    if (!out) return {};
    auto doc = wbxml::decode(*out);
    EXPECT_TRUE(doc) << doc.error().message();
    return doc ? doc->root : wbxml::Element{};
  }

  static std::string request(const std::vector<std::string>& to, const std::string& options = "") {
    std::string body = R"(<ResolveRecipients xmlns="ResolveRecipients:">)";
    for (const auto& t : to) body += "<To>" + t + "</To>";
    if (!options.empty()) body += "<Options>" + options + "</Options>";
    return body + "</ResolveRecipients>";
  }

  testing::TempDir dir_{"rampart-resolve"};
  std::unique_ptr<store::MailStore> mail_;
  std::unique_ptr<store::DeviceStore> devices_;
  std::unique_ptr<directory::BuiltinDirectory> directory_;
  std::int64_t now_ = 0;
  std::string bob_new_, bob_old_;
};

TEST_F(ResolveRecipientsTest, ResolvesAddressesAliasesNamesAndUnknowns) {
  auto root = run(request({"bob@example.org", "Robert &lt;ROBERT@example.org&gt;", "alice",
                           "nobody@example.org", "carol@example.org", "zed"}));
  EXPECT_EQ(root.name, "ResolveRecipients");
  EXPECT_EQ(text(root, "Status"), "1");
  auto responses = all(root, "Response");
  ASSERT_EQ(responses.size(), 6u);
  const auto& bob = *responses[0];
  EXPECT_EQ(text(bob, "To"), "bob@example.org");
  EXPECT_EQ(text(bob, "Status"), "1");
  EXPECT_EQ(text(bob, "RecipientCount"), "1");
  const wbxml::Element* r = bob.child("Recipient");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(text(*r, "Type"), "1");
  EXPECT_EQ(text(*r, "DisplayName"), "Bob Builder");
  EXPECT_EQ(text(*r, "EmailAddress"), "bob@example.org");
  EXPECT_EQ(r->child("Certificates"), nullptr);  // CertificateRetrieval defaults to 1
  // The alias, in angle brackets, any case: bob, with the alias he was addressed by.
  ASSERT_NE(responses[1]->child("Recipient"), nullptr);
  EXPECT_EQ(text(*responses[1]->child("Recipient"), "EmailAddress"), "robert@example.org");
  EXPECT_EQ(text(*responses[1]->child("Recipient"), "DisplayName"), "Bob Builder");
  EXPECT_EQ(text(*responses[2]->child("Recipient"), "EmailAddress"), "alice@example.org");
  for (int i : {3, 4, 5}) {  // unknown, disabled, no match
    EXPECT_EQ(text(*responses[i], "Status"), "4") << text(*responses[i], "To");
    EXPECT_EQ(text(*responses[i], "RecipientCount"), "0");
    EXPECT_EQ(responses[i]->child("Recipient"), nullptr);
  }
}

TEST_F(ResolveRecipientsTest, AmbiguousNamesGetSuggestionsWithoutCertificates) {
  // "bob" is a user name: exact. "Bo" matches bob, bobby and Dave Bobson.
  auto root = run(request({"Bo"}, "<CertificateRetrieval>2</CertificateRetrieval>"));
  auto responses = all(root, "Response");
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(text(*responses[0], "Status"), "2");
  EXPECT_EQ(text(*responses[0], "RecipientCount"), "3");
  auto recipients = all(*responses[0], "Recipient");
  ASSERT_EQ(recipients.size(), 3u);
  EXPECT_EQ(text(*recipients[0], "EmailAddress"), "bob@example.org");
  EXPECT_EQ(text(*recipients[1], "EmailAddress"), "bobby@example.org");
  EXPECT_EQ(text(*recipients[2], "EmailAddress"), "dave@example.org");
  for (auto* rec : recipients) EXPECT_EQ(rec->child("Certificates"), nullptr);
  // Cut at MaxAmbiguousRecipients: Status 3, RecipientCount the total.
  root = run(request({"bo"}, "<MaxAmbiguousRecipients>2</MaxAmbiguousRecipients>"));
  const wbxml::Element* resp = root.child("Response");
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(text(*resp, "Status"), "3");
  EXPECT_EQ(text(*resp, "RecipientCount"), "3");
  EXPECT_EQ(all(*resp, "Recipient").size(), 2u);
  // An exact user name wins over prefixes.
  root = run(request({"bob"}));
  EXPECT_EQ(text(*root.child("Response"), "Status"), "1");
}

TEST_F(ResolveRecipientsTest, FullAndMiniCertificates) {
  auto root = run(request({"bob@example.org", "dave@example.org", "alice@example.org"},
                          "<CertificateRetrieval>2</CertificateRetrieval>"));
  auto responses = all(root, "Response");
  ASSERT_EQ(responses.size(), 3u);
  const wbxml::Element* certs = responses[0]->child("Recipient")->child("Certificates");
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(text(*certs, "Status"), "1");
  EXPECT_EQ(text(*certs, "CertificateCount"), "2");
  EXPECT_EQ(text(*certs, "RecipientCount"), "1");
  auto list = all(*certs, "Certificate");
  ASSERT_EQ(list.size(), 2u);
  // The directory gives them newest first; the signing one is left out.
  EXPECT_EQ(list[0]->text, base64(bob_new_));
  EXPECT_EQ(list[1]->text, base64(bob_old_));
  // dave's only encryption certificate has expired; alice has none.
  for (int i : {1, 2}) {
    const wbxml::Element* none = responses[i]->child("Recipient")->child("Certificates");
    ASSERT_NE(none, nullptr);
    EXPECT_EQ(text(*none, "Status"), "7");
    EXPECT_EQ(text(*none, "CertificateCount"), "0");
    EXPECT_EQ(none->child("Certificate"), nullptr);
  }
  // Mini: the newest certificate alone.
  root = run(request({"bob@example.org"}, "<CertificateRetrieval>3</CertificateRetrieval>"));
  certs = root.child("Response")->child("Recipient")->child("Certificates");
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(text(*certs, "Status"), "1");
  EXPECT_EQ(text(*certs, "MiniCertificate"), base64(bob_new_));
  EXPECT_EQ(certs->child("Certificate"), nullptr);
}

TEST_F(ResolveRecipientsTest, MaxCertificatesNeverSplitsARecipient) {
  auto root = run(request(
      {"bob@example.org"},
      "<CertificateRetrieval>2</CertificateRetrieval><MaxCertificates>1</MaxCertificates>"));
  const wbxml::Element* certs = root.child("Response")->child("Recipient")->child("Certificates");
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(text(*certs, "Status"), "8");
  EXPECT_EQ(text(*certs, "CertificateCount"), "2");  // the ones not returned
  EXPECT_EQ(certs->child("Certificate"), nullptr);
}

TEST_F(ResolveRecipientsTest, AvailabilityAndPictureAreAnsweredAsUnavailable) {
  const std::string options =
      "<Availability><StartTime>2026-11-25T08:00:00.000Z</"
      "StartTime><EndTime>2026-11-25T18:00:00.000Z</EndTime>"
      "</Availability><Picture><MaxSize>1024</MaxSize></Picture>";
  auto root = run(request({"bob@example.org"}, options));
  const wbxml::Element* r = root.child("Response")->child("Recipient");
  ASSERT_NE(r, nullptr);
  ASSERT_NE(r->child("Availability"), nullptr);
  EXPECT_EQ(text(*r->child("Availability"), "Status"), "163");
  EXPECT_EQ(r->child("Availability")->child("MergedFreeBusy"), nullptr);
  ASSERT_NE(r->child("Picture"), nullptr);
  EXPECT_EQ(text(*r->child("Picture"), "Status"), "173");
  // 14.0 has Availability but no Picture; 12.1 neither.
  auto v14 = run(request({"bob@example.org"}, options), "14.0");
  r = v14.child("Response")->child("Recipient");
  EXPECT_NE(r->child("Availability"), nullptr);
  EXPECT_EQ(r->child("Picture"), nullptr);
  auto v12 = run(request({"bob@example.org"}, options), "12.1");
  r = v12.child("Response")->child("Recipient");
  EXPECT_EQ(r->child("Availability"), nullptr);
}

TEST_F(ResolveRecipientsTest, ProtocolErrors) {
  std::vector<std::string> many(101, "bob@example.org");
  for (const std::string& body :
       {request(many), request({}),
        request({"bob@example.org"}, "<CertificateRetrieval>4</CertificateRetrieval>"),
        request({"bob@example.org"},
                "<Availability><EndTime>2026-11-25T18:00:00.000Z</EndTime></Availability>"),
        request({"bob@example.org"}, "<MaxCertificates>10000</MaxCertificates>"),
        request({std::string(257, 'a')}),
        std::string(R"(<Settings xmlns="Settings:"><Oof><Get/></Oof></Settings>)")}) {
    auto root = run(body);
    EXPECT_EQ(text(root, "Status"), "5") << body.substr(0, 200);
    EXPECT_EQ(root.child("Response"), nullptr);
  }
  std::vector<std::string> hundred(100, "bob@example.org");
  EXPECT_EQ(all(run(request(hundred)), "Response").size(), 100u);
}

TEST(CertRequestsTest, DecodesResolveRecipients) {
  auto doc = wbxml::parseXml(
      R"(<ResolveRecipients xmlns="ResolveRecipients:"><To>a@x</To><To>b</To><Options>)"
      R"(<CertificateRetrieval>3</CertificateRetrieval><MaxCertificates>50</MaxCertificates>)"
      R"(<MaxAmbiguousRecipients>5</MaxAmbiguousRecipients><Availability><StartTime>2026-11-25T08:00:00.000Z</StartTime>)"
      R"(</Availability><Picture><MaxPictures>3</MaxPictures></Picture></Options></ResolveRecipients>)");
  ASSERT_TRUE(doc) << doc.error().message();
  auto r = rampart::eas::decodeResolveRecipientsRequest(*doc);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->to, (std::vector<std::string>{"a@x", "b"}));
  EXPECT_EQ(r->certificate_retrieval, rampart::eas::CertificateRetrieval::mini);
  EXPECT_EQ(r->max_certificates, 50u);
  EXPECT_EQ(r->max_ambiguous_recipients, 5u);
  ASSERT_TRUE(r->availability);
  EXPECT_FALSE(r->availability->end);
  ASSERT_TRUE(r->picture);
  EXPECT_EQ(r->picture->max_pictures, 3u);
  EXPECT_FALSE(r->picture->max_size);
  std::vector<std::string> many(101, "<To>x</To>");
  std::string body = R"(<ResolveRecipients xmlns="ResolveRecipients:">)";
  for (const auto& t : many) body += t;
  auto big =
      rampart::eas::decodeResolveRecipientsRequest(*wbxml::parseXml(body + "</ResolveRecipients>"));
  ASSERT_FALSE(big);
  EXPECT_TRUE(big.error().is(Errc::limit_exceeded));
}

TEST(CertRequestsTest, Base64IsStrict) {
  using rampart::eas::decodeBase64;
  EXPECT_EQ(decodeBase64("TWFu", 10), "Man");
  EXPECT_EQ(decodeBase64("TWE=", 10), "Ma");
  EXPECT_EQ(decodeBase64("TQ==", 10), "M");
  EXPECT_EQ(decodeBase64("TW\r\nFu TQ==", 10), "ManM");
  EXPECT_EQ(decodeBase64("", 10), "");
  for (const char* bad : {"TWF", "TQ=", "T===", "TQ==TWFu", "TW=u", "TWF*", "=TWF"}) {
    EXPECT_FALSE(decodeBase64(bad, 10)) << bad;
  }
  EXPECT_FALSE(decodeBase64("TWFuTWFu", 5));
  EXPECT_EQ(decodeBase64("TWFuTWFu", 6), "ManMan");
}

}  // namespace
}  // namespace rampart::server::eas
