#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <string>

#include "crypto/rights/detail/text_util.h"
#include "crypto/rights/license.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::crypto::rights {
namespace {

using rampart::testing::haveOpenssl;
using rampart::testing::sh;
using rampart::testing::slurp;
using rampart::testing::spit;

// A self-signed certificate for `email` with a fresh key of `type`.
cms::Identity makeIdentity(const std::string& cn, const std::string& email,
                           x509::KeyType type = x509::KeyType::ec_p256) {
  cms::Identity id;
  auto key = x509::generateKey(type);
  EXPECT_TRUE(key);
  if (!key) return id;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1000 + static_cast<long>(cn.size()));
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key->get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::string san = "email:" + email;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert, key->get(), EVP_sha256());
  id.cert.reset(cert);
  id.key = std::move(*key);
  return id;
}

Template doNotForward() {
  for (auto& t : defaultTemplates()) {
    if (t.id == kDoNotForwardId) return t;
  }
  return {};
}

PublishingLicense samplePl() {
  PublishingLicense pl;
  pl.id = "00112233445566778899aabbccddeeff";
  pl.template_id = std::string(kDoNotForwardId);
  pl.template_name = "Do Not Forward";
  pl.rights = kView | kEdit | kReply | kReplyAll;
  pl.owner = "alice@example.com";
  pl.recipients = {"bob@example.com", "carol@example.com"};
  pl.issued = 1700000000;
  pl.content_expiry = 0;
  pl.wrapped_key = std::string("\x30\x82\x01\x00wrapped", 11);
  return pl;
}

UseLicense sampleUl() {
  UseLicense ul;
  ul.license_id = "00112233445566778899aabbccddeeff";
  ul.user = "bob";
  ul.address = "bob@example.com";
  ul.template_id = std::string(kDoNotForwardId);
  ul.template_name = "Do Not Forward";
  ul.owner = "alice@example.com";
  ul.rights = kView | kReply;
  ul.issued = 1700000100;
  ul.expires = 1700604900;
  ul.content_expiry = 0;
  ul.wrapped_key = "key bytes";
  return ul;
}

const char* kMessage =
    "From: Alice <Alice@Example.com>\r\n"
    "To: bob@example.com\r\n"
    "Cc: Carol <carol@example.com>\r\n"
    "Subject: plans\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain;\r\n"
    " charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "The secret plan.\r\n";

// --- Rights and templates -------------------------------------------------

TEST(RightsText, RoundTripsAndRefusesUnknown) {
  EXPECT_EQ(rightsText(kView | kEdit | kReply | kReplyAll), "view,edit,reply,reply-all");
  EXPECT_EQ(
      rightsText(kAll),
      "view,edit,reply,reply-all,forward,print,extract,export,programmatic,modify-recipients");
  auto all = parseRightsText(rightsText(kAll));
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, static_cast<std::uint32_t>(kAll));
  EXPECT_EQ(parseRightsText("view, print").value_or(0), kView | kPrint);
  EXPECT_EQ(parseRightsText("").value_or(99), 0u);
  auto bad = parseRightsText("view,fly");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
  EXPECT_NE(bad.error().detail.find("fly"), std::string::npos);
  EXPECT_FALSE(parseRightsText("view,view"));
}

TEST(Templates, DoNotForwardIsViewEditReplyReplyAll) {
  Template dnf = doNotForward();
  ASSERT_EQ(dnf.id, kDoNotForwardId);
  EXPECT_EQ(dnf.name, "Do Not Forward");
  EXPECT_EQ(dnf.rights, kView | kEdit | kReply | kReplyAll);
  EXPECT_EQ(
      dnf.rights & (kForward | kPrint | kExtract | kExport | kProgrammatic | kModifyRecipients),
      0u);
  EXPECT_FALSE(dnf.revoked);
  EXPECT_EQ(dnf.content_lifetime, 0);
  for (const auto& t : defaultTemplates()) {
    EXPECT_TRUE(detail::isGuid(t.id, true)) << t.id;
    auto back = parseTemplateToml(templateToml(t), "default.toml");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->id, t.id);
    EXPECT_EQ(back->name, t.name);
    EXPECT_EQ(back->description, t.description);
    EXPECT_EQ(back->rights, t.rights);
    EXPECT_EQ(back->license_lifetime, t.license_lifetime);
  }
}

TEST(Templates, TomlParsesWithDurationsAndNormalisesGuid) {
  auto t = parseTemplateToml(
      "id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n"
      "name = \"Project \\\"X\\\" – internal\"\n"
      "description = \"read and print\"\n"
      "rights = [\"view\", \"print\"]\n"
      "content_lifetime = \"30d\"\n"
      "license_lifetime = \"1d\"\n",
      "x.toml");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->id, "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE");
  EXPECT_EQ(t->name, "Project \"X\" – internal");
  EXPECT_EQ(t->rights, kView | kPrint);
  EXPECT_EQ(t->content_lifetime, 30 * 24 * 3600);
  EXPECT_EQ(t->license_lifetime, 24 * 3600);
  auto again = parseTemplateToml(templateToml(*t), "again.toml");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->name, t->name);
  EXPECT_EQ(again->content_lifetime, t->content_lifetime);
}

TEST(Templates, TomlErrorsNameTheLine) {
  auto unknown = parseTemplateToml(
      "id = \"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"\n"
      "name = \"n\"\n"
      "rights = [\"view\"]\n"
      "colour = \"red\"\n",
      "t.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().detail.find("t.toml:4"), std::string::npos) << unknown.error().detail;
  EXPECT_NE(unknown.error().detail.find("colour"), std::string::npos);

  auto bad_right = parseTemplateToml(
      "id = \"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"\n"
      "name = \"n\"\n"
      "rights = [\"view\", \"teleport\"]\n",
      "t.toml");
  ASSERT_FALSE(bad_right);
  EXPECT_NE(bad_right.error().detail.find("t.toml:3"), std::string::npos)
      << bad_right.error().detail;
  EXPECT_NE(bad_right.error().detail.find("teleport"), std::string::npos);

  auto bad_id =
      parseTemplateToml("id = \"not-a-guid\"\nname = \"n\"\nrights = [\"view\"]\n", "t.toml");
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().detail.find("t.toml:1"), std::string::npos) << bad_id.error().detail;

  auto no_view = parseTemplateToml(
      "id = \"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"\nname = \"n\"\nrights = [\"print\"]\n",
      "t.toml");
  ASSERT_FALSE(no_view);
  EXPECT_NE(no_view.error().detail.find("view"), std::string::npos);

  auto short_license = parseTemplateToml(
      "id = \"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"\nname = \"n\"\nrights = [\"view\"]\n"
      "license_lifetime = \"5s\"\n",
      "t.toml");
  ASSERT_FALSE(short_license);
  EXPECT_NE(short_license.error().detail.find("t.toml:4"), std::string::npos)
      << short_license.error().detail;

  EXPECT_FALSE(parseTemplateToml("name = \"n\"\nrights = [\"view\"]\n", "t.toml"));  // no id
}

// --- License texts ----------------------------------------------------------

TEST(LicenseText, PublishingRoundTrip) {
  PublishingLicense pl = samplePl();
  pl.owner = "Alice@Example.com";  // written lower case
  std::string text = publishingLicenseText(pl);
  EXPECT_TRUE(text.starts_with(
      "Rampart-Publishing-License: 1\r\nLicense-Id: 00112233445566778899aabbccddeeff\r\n"))
      << text;
  auto back = parsePublishingLicenseText(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->id, pl.id);
  EXPECT_EQ(back->template_id, pl.template_id);
  EXPECT_EQ(back->template_name, pl.template_name);
  EXPECT_EQ(back->rights, pl.rights);
  EXPECT_EQ(back->owner, "alice@example.com");
  EXPECT_EQ(back->recipients, pl.recipients);
  EXPECT_EQ(back->issued, pl.issued);
  EXPECT_EQ(back->content_expiry, 0);
  EXPECT_EQ(back->wrapped_key, pl.wrapped_key);
  EXPECT_EQ(publishingLicenseText(*back), text);

  // LF line ends are read too.
  std::string lf;
  for (char c : text) {
    if (c != '\r') lf += c;
  }
  EXPECT_TRUE(parsePublishingLicenseText(lf));
}

TEST(LicenseText, UseRoundTrip) {
  UseLicense ul = sampleUl();
  std::string text = useLicenseText(ul);
  auto back = parseUseLicenseText(text);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->license_id, ul.license_id);
  EXPECT_EQ(back->user, "bob");
  EXPECT_EQ(back->address, "bob@example.com");
  EXPECT_EQ(back->rights, kView | kReply);
  EXPECT_EQ(back->expires, ul.expires);
  EXPECT_EQ(back->wrapped_key, ul.wrapped_key);
  EXPECT_EQ(useLicenseText(*back), text);
  // A use license is not a publishing license and the reverse.
  EXPECT_FALSE(parsePublishingLicenseText(text));
  EXPECT_FALSE(parseUseLicenseText(publishingLicenseText(samplePl())));
}

// Replaces line `n` (1-based) of a CRLF text.
std::string withLine(const std::string& text, int n, const std::string& replacement) {
  std::string out;
  int line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\r\n", pos);
    std::string l = text.substr(pos, end - pos);
    out += (line == n ? replacement : l) + "\r\n";
    pos = end + 2;
    ++line;
  }
  return out;
}

TEST(LicenseText, StrictErrorsNameTheLine) {
  std::string text = publishingLicenseText(samplePl());
  struct Case {
    int line;
    std::string replacement;
    std::string expect;
  };
  const Case cases[] = {
      {4, "Foo: bar", "line 4: unknown field 'Foo'"},
      {2, "License-Id: 0011", "line 2: License-Id"},
      {3, "Template-Id: cf5cf348-a8d7-40d5-91ef-a600b88a395d", "line 3: Template-Id"},
      {5, "Rights: view,fly", "line 5: Rights"},
      {5, "Rights: edit,view", "line 5: Rights"},
      {6, "Owner: Alice@example.com", "line 6: Owner"},
      {6, "Owner: alice", "line 6: Owner"},
      {7, "Recipient: carol@example.com", "line 8: recipient listed twice"},
      {9, "Issued: -5", "line 9: Issued"},
      {9, "Issued: 01", "line 9: Issued"},
      {9, "Issued:5", "line 9: expected ': '"},
      {9, "Issued:  5", "line 9: value has surrounding white space"},
      {10, "Content-Expiry: 99999999999999999999", "line 10"},
      {11, "Wrapped-Key: !!!!", "line 11: Wrapped-Key"},
      {11, "", "line 11: empty line"},
      {1, "Rampart-Publishing-License: 2", "line 1: unsupported version '2'"},
      {1, "Rampart-Use-License: 1", "line 1: not a Rampart-Publishing-License"},
      {2, "Owner: bob@example.com", "line 6: field 'Owner' repeated"},
      {4, "Template-Name: bad\x01name", "line 4: Template-Name"},
  };
  for (const auto& c : cases) {
    auto r = parsePublishingLicenseText(withLine(text, c.line, c.replacement));
    ASSERT_FALSE(r) << c.replacement;
    EXPECT_NE(r.error().detail.find(c.expect), std::string::npos)
        << c.replacement << " -> " << r.error().detail;
  }
  // A missing required field.
  std::string no_owner = withLine(text, 6, "Recipient: dave@example.com");
  auto r = parsePublishingLicenseText(no_owner);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("missing field 'Owner'"), std::string::npos) << r.error().detail;
}

TEST(LicenseText, Bounds) {
  PublishingLicense pl = samplePl();
  pl.recipients.clear();
  for (int i = 0; i < 65; ++i) pl.recipients.push_back("r" + std::to_string(i) + "@example.com");
  auto many = parsePublishingLicenseText(publishingLicenseText(pl));
  ASSERT_FALSE(many);
  EXPECT_TRUE(many.error().is(Errc::limit_exceeded)) << many.error().message();
  pl.recipients.resize(64);
  EXPECT_TRUE(parsePublishingLicenseText(publishingLicenseText(pl)));

  pl = samplePl();
  pl.recipients = {std::string(310, 'a') + "@example.com"};
  auto long_addr = parsePublishingLicenseText(publishingLicenseText(pl));
  ASSERT_FALSE(long_addr);
  EXPECT_NE(long_addr.error().detail.find("line 7"), std::string::npos) << long_addr.error().detail;

  auto huge = parsePublishingLicenseText(std::string(70 * 1024, 'x'));
  ASSERT_FALSE(huge);
  EXPECT_TRUE(huge.error().is(Errc::limit_exceeded));
  EXPECT_FALSE(parsePublishingLicenseText(""));
}

// --- Signed licenses -----------------------------------------------------------

TEST(SignedLicense, PublishingSignAndRead) {
  auto alice = makeIdentity("alice", "alice@example.com");
  auto der = signPublishingLicense(samplePl(), alice);
  ASSERT_TRUE(der) << der.error().message();
  auto read = readPublishingLicense(*der);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->license.id, samplePl().id);
  EXPECT_EQ(read->license.recipients, samplePl().recipients);
  ASSERT_TRUE(read->signer);
  EXPECT_EQ(X509_cmp(read->signer.get(), alice.cert.get()), 0);
}

TEST(SignedLicense, RsaSignerToo) {
  auto alice = makeIdentity("alice", "alice@example.com", x509::KeyType::rsa2048);
  auto der = signPublishingLicense(samplePl(), alice);
  ASSERT_TRUE(der) << der.error().message();
  EXPECT_TRUE(readPublishingLicense(*der));
}

TEST(SignedLicense, InvalidLicenseIsNotSigned) {
  auto alice = makeIdentity("alice", "alice@example.com");
  PublishingLicense pl = samplePl();
  pl.template_id = "nope";
  auto der = signPublishingLicense(pl, alice);
  ASSERT_FALSE(der);
  EXPECT_TRUE(der.error().is(Errc::invalid_argument));
  cms::Identity empty;
  EXPECT_FALSE(signPublishingLicense(samplePl(), empty));
}

TEST(SignedLicense, TamperedIsRefused) {
  auto alice = makeIdentity("alice", "alice@example.com");
  auto der = signPublishingLicense(samplePl(), alice);
  ASSERT_TRUE(der);
  // Change one recipient inside the signed text.
  std::string tampered = *der;
  std::size_t at = tampered.find("carol@");
  ASSERT_NE(at, std::string::npos);
  tampered[at] = 'k';
  auto r = readPublishingLicense(tampered);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::permission_denied)) << r.error().message();
  // Every single-byte flip is refused or, at worst, reads the same license.
  for (std::size_t i = 0; i < der->size(); i += 7) {
    std::string t = *der;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    auto x = readPublishingLicense(t);
    if (x) {
      EXPECT_EQ(publishingLicenseText(x->license), publishingLicenseText(samplePl())) << i;
    }
  }
  EXPECT_FALSE(readPublishingLicense(""));
  EXPECT_FALSE(readPublishingLicense(*der + "x"));
  EXPECT_FALSE(readPublishingLicense("not der"));
}

TEST(SignedLicense, UseLicenseOnlyFromTheRightsServer) {
  auto server = makeIdentity("rights", "rights@example.com");
  auto other = makeIdentity("mallory", "mallory@example.com");
  auto der = signUseLicense(sampleUl(), server);
  ASSERT_TRUE(der) << der.error().message();
  auto ul = readUseLicense(*der, server.cert.get());
  ASSERT_TRUE(ul) << ul.error().message();
  EXPECT_EQ(ul->user, "bob");
  EXPECT_EQ(ul->rights, kView | kReply);

  auto wrong = readUseLicense(*der, other.cert.get());
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::permission_denied)) << wrong.error().message();
  auto forged = signUseLicense(sampleUl(), other);
  ASSERT_TRUE(forged);
  EXPECT_FALSE(readUseLicense(*forged, server.cert.get()));
  EXPECT_FALSE(readUseLicense(*der, nullptr));
  // A publishing license is no use license.
  auto pl = signPublishingLicense(samplePl(), server);
  ASSERT_TRUE(pl);
  EXPECT_FALSE(readUseLicense(*pl, server.cert.get()));
}

// --- Content keys ---------------------------------------------------------------

TEST(ContentKey, FreshRandomKeys) {
  std::string a = newContentKey();
  std::string b = newContentKey();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(ContentKey, WrapUnwrapEcAndRsa) {
  for (auto type : {x509::KeyType::ec_p256, x509::KeyType::ec_p384, x509::KeyType::rsa2048}) {
    auto bob = makeIdentity("bob", "bob@example.com", type);
    auto carol = makeIdentity("carol", "carol@example.com", type);
    std::string key = newContentKey();
    auto wrapped = wrapContentKey(key, bob.cert.get());
    ASSERT_TRUE(wrapped) << wrapped.error().message();
    auto back = unwrapContentKey(*wrapped, bob);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, key);
    auto wrong = unwrapContentKey(*wrapped, carol);
    ASSERT_FALSE(wrong) << x509::keyTypeName(type);
    std::string t = *wrapped;
    t[t.size() - 5] = static_cast<char>(t[t.size() - 5] ^ 0x40);
    EXPECT_FALSE(unwrapContentKey(t, bob)) << x509::keyTypeName(type);
  }
  auto bob = makeIdentity("bob", "bob@example.com");
  EXPECT_FALSE(wrapContentKey("short", bob.cert.get()));
  EXPECT_FALSE(wrapContentKey(newContentKey(), nullptr));
  EXPECT_FALSE(unwrapContentKey("junk", bob));
}

// --- The protected message --------------------------------------------------------

class ProtectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = makeIdentity("alice", "alice@example.com");
    server_ = makeIdentity("rights", "rights@example.com", x509::KeyType::rsa2048);
    dnf_ = doNotForward();
  }
  Result<std::string> protect(std::string_view message = kMessage) {
    ProtectRequest req;
    req.message = message;
    req.templ = &dnf_;
    req.recipients = {"bob@example.com", "Carol@Example.com"};
    req.now = 1700000000;
    return protectMessage(req, alice_, server_.cert.get());
  }
  cms::Identity alice_;
  cms::Identity server_;
  Template dnf_;
};

TEST_F(ProtectTest, RoundTripThroughTheServersKey) {
  auto protectedMsg = protect();
  ASSERT_TRUE(protectedMsg) << protectedMsg.error().message();
  // Outer headers readable, the body not.
  EXPECT_NE(protectedMsg->find("Subject: plans\r\n"), std::string::npos);
  EXPECT_NE(protectedMsg->find("X-Rampart-Rights: "), std::string::npos);
  EXPECT_NE(protectedMsg->find("; template=CF5CF348-A8D7-40D5-91EF-A600B88A395D\r\n"),
            std::string::npos);
  EXPECT_EQ(protectedMsg->find("secret plan"), std::string::npos);
  EXPECT_EQ(protectedMsg->find("charset=utf-8"), std::string::npos);

  auto parts = splitProtectedMessage(*protectedMsg);
  ASSERT_TRUE(parts) << parts.error().message();
  auto pl = readPublishingLicense(parts->signed_license);
  ASSERT_TRUE(pl) << pl.error().message();
  EXPECT_EQ(pl->license.owner, "alice@example.com");
  EXPECT_EQ(pl->license.recipients,
            (std::vector<std::string>{"bob@example.com", "carol@example.com"}));
  EXPECT_EQ(pl->license.template_id, kDoNotForwardId);
  EXPECT_EQ(pl->license.rights, kView | kEdit | kReply | kReplyAll);
  EXPECT_EQ(pl->license.issued, 1700000000);
  EXPECT_NE(protectedMsg->find("X-Rampart-Rights: " + pl->license.id), std::string::npos);

  // The rights server unwraps the key; the reader gets it and opens the message.
  auto key = unwrapContentKey(pl->license.wrapped_key, server_);
  ASSERT_TRUE(key) << key.error().message();
  auto original = unprotectMessage(*parts, *key, pl->license.id);
  ASSERT_TRUE(original) << original.error().message();
  EXPECT_EQ(*original,
            "From: Alice <Alice@Example.com>\r\n"
            "To: bob@example.com\r\n"
            "Cc: Carol <carol@example.com>\r\n"
            "Subject: plans\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "Message-ID: <1@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain;\r\n"
            " charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
            "The secret plan.\r\n");

  // Wrong key, wrong license id: refused.
  EXPECT_FALSE(unprotectMessage(*parts, newContentKey(), pl->license.id));
  EXPECT_FALSE(unprotectMessage(*parts, *key, "ffffffffffffffffffffffffffffffff"));
  EXPECT_FALSE(unprotectMessage(*parts, "short", pl->license.id));
}

TEST_F(ProtectTest, TamperedContentOrLicenseIsRefused) {
  auto protectedMsg = protect();
  ASSERT_TRUE(protectedMsg);
  auto parts = splitProtectedMessage(*protectedMsg);
  ASSERT_TRUE(parts);
  auto pl = readPublishingLicense(parts->signed_license);
  ASSERT_TRUE(pl);
  auto key = unwrapContentKey(pl->license.wrapped_key, server_);
  ASSERT_TRUE(key);
  // Flip a byte of the ciphertext, near the end (the GCM tag) and in the middle.
  for (std::size_t at :
       {parts->content.size() - 3, parts->content.size() / 2, parts->content.size() - 40}) {
    ProtectedParts t = *parts;
    t.content[at] = static_cast<char>(t.content[at] ^ 0x01);
    auto r = unprotectMessage(t, *key, pl->license.id);
    EXPECT_FALSE(r) << "flip at " << at;
  }
  ProtectedParts t = *parts;
  t.signed_license[t.signed_license.size() / 2] ^= 0x01;
  EXPECT_FALSE(readPublishingLicense(t.signed_license));
}

TEST_F(ProtectTest, SplitErrors) {
  auto notFound = splitProtectedMessage(kMessage);
  ASSERT_FALSE(notFound);
  EXPECT_TRUE(notFound.error().is(Errc::not_found));
  auto protectedMsg = protect();
  ASSERT_TRUE(protectedMsg);
  // Truncated: the multipart is not closed.
  auto cut = splitProtectedMessage(protectedMsg->substr(0, protectedMsg->size() - 30));
  ASSERT_FALSE(cut);
  EXPECT_TRUE(cut.error().is(Errc::parse_error)) << cut.error().message();
  // Protecting twice is refused.
  auto twice = protect(*protectedMsg);
  EXPECT_FALSE(twice);
  // LF-only line ends (a store that rewrote them) still split.
  std::string lf;
  for (char c : *protectedMsg) {
    if (c != '\r') lf += c;
  }
  EXPECT_TRUE(splitProtectedMessage(lf));
}

TEST_F(ProtectTest, ContentExpiryFromTheTemplate) {
  dnf_.content_lifetime = 3600;
  auto protectedMsg = protect();
  ASSERT_TRUE(protectedMsg);
  auto parts = splitProtectedMessage(*protectedMsg);
  ASSERT_TRUE(parts);
  auto pl = readPublishingLicense(parts->signed_license);
  ASSERT_TRUE(pl);
  EXPECT_EQ(pl->license.content_expiry, 1700003600);
}

// --- Cross-checks with the openssl CLI ------------------------------------------

class OpensslCrossCheck : public ProtectTest {
 protected:
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
    ProtectTest::SetUp();
  }
  void writeIdentity(const cms::Identity& id, const std::string& name) {
    spit(dir_.file(name + ".pem"), x509::certificatePem(id.cert.get()));
    auto key = x509::privateKeyPem(id.key.get());
    ASSERT_TRUE(key);
    spit(dir_.file(name + ".key"), *key);
  }
  testing::TempDir dir_;
};

TEST_F(OpensslCrossCheck, SignedLicenseVerifiesWithOpensslCms) {
  auto der = signPublishingLicense(samplePl(), alice_);
  ASSERT_TRUE(der);
  spit(dir_.file("pl.der"), *der);
  ASSERT_TRUE(
      sh(dir_, "openssl cms -verify -noverify -inform DER -in pl.der -out pl.txt 2>/dev/null"));
  EXPECT_EQ(slurp(dir_.file("pl.txt")), publishingLicenseText(samplePl()));
  ASSERT_TRUE(sh(dir_, "openssl cms -cmsout -print -inform DER -in pl.der -out printed.txt"));
  std::string printed = slurp(dir_.file("printed.txt"));
  EXPECT_NE(printed.find("sha256"), std::string::npos);

  // And one openssl signed is read back (what another implementation might send).
  writeIdentity(alice_, "alice");
  spit(dir_.file("ul.txt"), useLicenseText(sampleUl()));
  ASSERT_TRUE(
      sh(dir_,
         "openssl cms -sign -binary -nodetach -md sha256 -signer alice.pem -inkey alice.key "
         "-in ul.txt -outform DER -out ul.der"));
  auto ul = readUseLicense(slurp(dir_.file("ul.der")), alice_.cert.get());
  ASSERT_TRUE(ul) << ul.error().message();
  EXPECT_EQ(ul->user, "bob");
}

TEST_F(OpensslCrossCheck, WrappedKeyDecryptsWithOpensslCms) {
  for (auto type : {x509::KeyType::ec_p256, x509::KeyType::rsa2048}) {
    auto bob = makeIdentity("bob", "bob@example.com", type);
    writeIdentity(bob, "bob");
    std::string key = newContentKey();
    auto wrapped = wrapContentKey(key, bob.cert.get());
    ASSERT_TRUE(wrapped);
    spit(dir_.file("wrapped.der"), *wrapped);
    ASSERT_TRUE(
        sh(dir_,
           "openssl cms -decrypt -binary -inform DER -in wrapped.der -recip bob.pem -inkey bob.key "
           "-out key.bin"))
        << x509::keyTypeName(type);
    EXPECT_EQ(slurp(dir_.file("key.bin")), key);
    ASSERT_TRUE(
        sh(dir_, "openssl cms -cmsout -print -inform DER -in wrapped.der -out printed.txt"));
    std::string printed = slurp(dir_.file("printed.txt"));
    EXPECT_NE(printed.find("id-smime-ct-authEnvelopedData"), std::string::npos);
    EXPECT_NE(printed.find("aes-256-gcm"), std::string::npos);
    if (type == x509::KeyType::rsa2048)
      EXPECT_NE(printed.find("rsaesOaep"), std::string::npos) << printed;
    else
      EXPECT_NE(printed.find("dhSinglePass-stdDH-sha256kdf-scheme"), std::string::npos) << printed;

    // The reverse: openssl wraps (AES-CBC EnvelopedData, PKCS#1 v1.5 for RSA), we unwrap.
    spit(dir_.file("key2.bin"), key);
    ASSERT_TRUE(
        sh(dir_,
           "openssl cms -encrypt -binary -aes256 -in key2.bin -outform DER -out w2.der bob.pem"));
    auto back = unwrapContentKey(slurp(dir_.file("w2.der")), bob);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, key);
  }
}

TEST_F(OpensslCrossCheck, ProtectedContentDecryptsWithOpensslCmsSecretKey) {
  auto protectedMsg = protect();
  ASSERT_TRUE(protectedMsg);
  auto parts = splitProtectedMessage(*protectedMsg);
  ASSERT_TRUE(parts);
  auto pl = readPublishingLicense(parts->signed_license);
  ASSERT_TRUE(pl);
  auto key = unwrapContentKey(pl->license.wrapped_key, server_);
  ASSERT_TRUE(key);
  spit(dir_.file("content.der"), parts->content);
  ASSERT_TRUE(sh(dir_, "openssl cms -decrypt -binary -inform DER -in content.der -secretkey " +
                           detail::hexLower(*key) + " -secretkeyid " + pl->license.id +
                           " -out inner.eml"));
  EXPECT_EQ(slurp(dir_.file("inner.eml")),
            "Content-Type: text/plain;\r\n charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "The secret plan.\r\n");
  // The wrong key id: openssl refuses too.
  EXPECT_FALSE(sh(dir_, "openssl cms -decrypt -binary -inform DER -in content.der -secretkey " +
                            detail::hexLower(*key) + " -secretkeyid 00 -out x.eml 2>/dev/null"));
}

// The fuzz seeds were made with the openssl CLI alone (signed with `openssl cms
// -sign`, the content and key with `openssl cms -encrypt -aes-256-gcm`, KEK
// and ECDH recipients): another implementation's structures, read by ours.
// They must stay valid for the fuzzer to start from deep inside.
TEST(FuzzSeeds, OpensslMadeStructuresAreRead) {
  const std::string dir = std::string(RAMPART_SOURCE_DIR) + "/fuzz/corpus/rights_license/";
  auto pl = parsePublishingLicenseText(slurp(dir + "pl.txt"));
  ASSERT_TRUE(pl) << pl.error().message();
  EXPECT_TRUE(parsePublishingLicenseText(slurp(dir + "pl_lf.txt")));
  auto ul = parseUseLicenseText(slurp(dir + "ul.txt"));
  ASSERT_TRUE(ul) << ul.error().message();
  auto signed_pl = readPublishingLicense(slurp(dir + "pl.der"));
  ASSERT_TRUE(signed_pl) << signed_pl.error().message();
  EXPECT_EQ(x509::subjectText(signed_pl->signer.get()), "CN=alice");
  EXPECT_EQ(signed_pl->license.id, pl->id);

  auto parts = splitProtectedMessage(slurp(dir + "protected.eml"));
  ASSERT_TRUE(parts) << parts.error().message();
  EXPECT_EQ(parts->signed_license, slurp(dir + "pl.der"));
  auto key = detail::hexDecode("63861da96a8b8ad0741c106d057a70a4d3fc51cc044777c4adb22c1bd92854f6");
  ASSERT_TRUE(key);
  auto original = unprotectMessage(*parts, *key, pl->id);
  ASSERT_TRUE(original) << original.error().message();
  EXPECT_EQ(*original,
            "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: "
            "plan\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\nThe plan.\r\n");
}

}  // namespace
}  // namespace rampart::crypto::rights
