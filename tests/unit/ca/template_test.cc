// Certificate templates: parsing with line-numbered errors, the per-kind
// checks, the TOML round trip, and the built-in set.
#include <gtest/gtest.h>

#include "ca/template.h"

namespace rampart::ca {
namespace {

using crypto::x509::KeyType;
using namespace std::chrono_literals;

void expectSame(const CertTemplate& a, const CertTemplate& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.key_types, b.key_types);
  EXPECT_EQ(a.lifetime, b.lifetime);
  EXPECT_EQ(a.renewal_window, b.renewal_window);
  EXPECT_EQ(a.key_usage, b.key_usage);
  EXPECT_EQ(a.extended_key_usage, b.extended_key_usage);
  EXPECT_EQ(a.subject_cn, b.subject_cn);
  EXPECT_EQ(a.san, b.san);
  EXPECT_EQ(a.enroll_groups, b.enroll_groups);
  EXPECT_EQ(a.require_approval, b.require_approval);
  EXPECT_EQ(a.publish, b.publish);
  EXPECT_EQ(a.enabled, b.enabled);
}

// The error text of a template that must be refused.
std::string refusal(std::string_view toml) {
  auto t = parseTemplate(toml, "t.toml");
  EXPECT_FALSE(t) << toml;
  return t ? std::string() : t.error().detail;
}

TEST(Template, KindNames) {
  for (auto k : {TemplateKind::tls_client, TemplateKind::smime_signing,
                 TemplateKind::smime_encryption, TemplateKind::wifi, TemplateKind::tls_server}) {
    auto back = parseTemplateKind(templateKindName(k));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, k);
  }
  EXPECT_FALSE(parseTemplateKind("tls-client"));
}

TEST(Template, Names) {
  EXPECT_TRUE(isValidTemplateName("device"));
  EXPECT_TRUE(isValidTemplateName("smime-sign-2"));
  EXPECT_TRUE(isValidTemplateName(std::string(64, 'a')));
  EXPECT_FALSE(isValidTemplateName(std::string(65, 'a')));
  EXPECT_FALSE(isValidTemplateName(""));
  EXPECT_FALSE(isValidTemplateName("Device"));
  EXPECT_FALSE(isValidTemplateName("a_b"));
  EXPECT_FALSE(isValidTemplateName("../x"));
  EXPECT_FALSE(isValidTemplateName("a b"));
}

TEST(Template, FullExampleParses) {
  auto t = parseTemplate(R"(
name = "device"
kind = "tls_client"
key_types = ["ec-p256", "rsa-2048"]
lifetime = "365d"
renewal_window = "30d"
key_usage = ["digitalSignature"]
extended_key_usage = ["clientAuth", "1.3.6.1.4.1.311.20.2.2"]
subject_cn = "address"
san = ["email", "upn"]
enroll_groups = ["staff", "mobile"]
require_approval = true
publish = false
enabled = true
)");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->name, "device");
  EXPECT_EQ(t->kind, TemplateKind::tls_client);
  EXPECT_EQ(t->key_types, (std::vector<KeyType>{KeyType::ec_p256, KeyType::rsa2048}));
  EXPECT_EQ(t->lifetime, std::chrono::seconds(24h * 365));
  EXPECT_EQ(t->renewal_window, std::chrono::seconds(24h * 30));
  EXPECT_EQ(t->extended_key_usage.size(), 2u);
  EXPECT_EQ(t->subject_cn, SubjectCn::address);
  EXPECT_EQ(t->san, (std::vector<std::string>{"email", "upn"}));
  EXPECT_EQ(t->enroll_groups, (std::vector<std::string>{"staff", "mobile"}));
  EXPECT_TRUE(t->require_approval);
}

TEST(Template, MissingKeysTakeTheKindsDefaults) {
  auto t = parseTemplate("name = \"mail\"\nkind = \"smime_encryption\"\n");
  ASSERT_TRUE(t) << t.error().message();
  expectSame(*t, defaultTemplate(TemplateKind::smime_encryption, "mail"));
}

TEST(Template, UnknownKeyNamesItsLine) {
  std::string e = refusal("name = \"device\"\nkind = \"tls_client\"\nlifetim = \"1d\"\n");
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("lifetim"), std::string::npos) << e;
  // A table the format does not have is unknown too.
  e = refusal("name = \"device\"\nkind = \"tls_client\"\n[extra]\nx = 1\n");
  EXPECT_NE(e.find("extra"), std::string::npos) << e;
}

TEST(Template, BadValuesNameTheirLine) {
  std::string e = refusal("name = \"device\"\nkind = \"tls_client\"\nkey_types = [\"rsa-1024\"]\n");
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  e = refusal("name = \"device\"\nkind = \"tls_client\"\n\nenabled = \"yes\"\n");
  EXPECT_NE(e.find("t.toml:4"), std::string::npos) << e;
  e = refusal("name = \"Device\"\nkind = \"tls_client\"\n");
  EXPECT_NE(e.find("t.toml:1"), std::string::npos) << e;
  e = refusal("name = \"device\"\nkind = \"tls_clients\"\n");
  EXPECT_NE(e.find("t.toml:2"), std::string::npos) << e;
  e = refusal("name = \"device\"\nkind = \"tls_client\"\nsubject_cn = \"uid\"\n");
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  refusal("name = \"device\"\nkind = \"tls_client\"\nlifetime = \"forever\"\n");
  refusal("kind = \"tls_client\"\n");
  refusal("name = \"device\"\n");
  refusal("name = \"device\"\nkind = \"tls_client\"\nkey_types = []\n");
  refusal("name = \"device\"\nkind = \"tls_client\"\nkey_types = [\"ec-p256\", \"ec-p256\"]\n");
  refusal("name = \"device\"\nkind = \"tls_client\"\nenroll_groups = [\"\"]\n");
  refusal("this is not toml");
}

TEST(Template, Lifetimes) {
  const std::string head = "name = \"device\"\nkind = \"tls_client\"\n";
  EXPECT_TRUE(parseTemplate(head + "lifetime = \"1h\"\nrenewal_window = \"30m\"\n"));
  EXPECT_TRUE(parseTemplate(head + "lifetime = \"3650d\"\n"));
  std::string e = refusal(head + "lifetime = \"3660d\"\n");
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  refusal(head + "lifetime = \"59m\"\nrenewal_window = \"1m\"\n");
  // The renewal window may not be longer than the lifetime; as long = renew at any time.
  e = refusal(head + "lifetime = \"30d\"\nrenewal_window = \"31d\"\n");
  EXPECT_NE(e.find("t.toml:4"), std::string::npos) << e;
  EXPECT_TRUE(parseTemplate(head + "lifetime = \"30d\"\nrenewal_window = \"30d\"\n"));
  refusal(head + "lifetime = \"10d\"\n");  // the default 30d window is too long
}

TEST(Template, KeyUsages) {
  const std::string head = "name = \"device\"\nkind = \"tls_client\"\n";
  EXPECT_TRUE(parseTemplate(head + "key_usage = [\"digitalSignature\", \"keyEncipherment\"]\n"));
  EXPECT_TRUE(parseTemplate(head + "key_usage = [\"keyAgreement\", \"encipherOnly\"]\n"));
  refusal(head + "key_usage = [\"digitalsignature\"]\n");
  refusal(head + "key_usage = [\"keyCertSign\"]\n");
  refusal(head + "key_usage = [\"digitalSignature\", \"cRLSign\"]\n");
  refusal(head + "key_usage = [\"decipherOnly\", \"digitalSignature\"]\n");
  refusal(head + "key_usage = []\n");
}

TEST(Template, ExtendedKeyUsages) {
  const std::string head = "name = \"device\"\nkind = \"tls_client\"\n";
  EXPECT_TRUE(parseTemplate(head + "extended_key_usage = [\"clientAuth\", \"codeSigning\", \"timeStamping\"]\n"));
  EXPECT_TRUE(parseTemplate(head + "extended_key_usage = [\"clientAuth\", \"1.3.6.1.5.5.7.3.17\"]\n"));
  refusal(head + "extended_key_usage = [\"clientAuth\", \"1.3.6.x\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"3.1\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"1\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"1.03\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"1..2\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"anyPurpose\"]\n");
  // Only the CA's responder may sign OCSP answers, by name or by OID.
  refusal(head + "extended_key_usage = [\"clientAuth\", \"OCSPSigning\"]\n");
  refusal(head + "extended_key_usage = [\"clientAuth\", \"1.3.6.1.5.5.7.3.9\"]\n");
}

TEST(Template, PerKindRequirements) {
  // tls_client and wifi need clientAuth.
  std::string e = refusal("name = \"d\"\nkind = \"tls_client\"\nextended_key_usage = [\"serverAuth\"]\n");
  EXPECT_NE(e.find("clientAuth"), std::string::npos) << e;
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  refusal("name = \"w\"\nkind = \"wifi\"\nextended_key_usage = [\"emailProtection\"]\n");
  // S/MIME needs emailProtection and the email SAN.
  refusal("name = \"s\"\nkind = \"smime_signing\"\nextended_key_usage = [\"clientAuth\"]\n");
  e = refusal("name = \"s\"\nkind = \"smime_signing\"\nsan = [\"upn\"]\n");
  EXPECT_NE(e.find("email"), std::string::npos) << e;
  refusal("name = \"s\"\nkind = \"smime_encryption\"\nsan = []\n");
  refusal("name = \"s\"\nkind = \"smime_signing\"\nkey_usage = [\"nonRepudiation\"]\n");
  // S/MIME encryption: keyEncipherment for RSA, keyAgreement for EC.
  EXPECT_TRUE(parseTemplate("name = \"s\"\nkind = \"smime_encryption\"\nkey_types = [\"rsa-3072\"]\n"
                            "key_usage = [\"keyEncipherment\"]\n"));
  EXPECT_TRUE(parseTemplate("name = \"s\"\nkind = \"smime_encryption\"\nkey_types = [\"ec-p384\"]\n"
                            "key_usage = [\"keyAgreement\"]\n"));
  refusal("name = \"s\"\nkind = \"smime_encryption\"\nkey_types = [\"rsa-2048\"]\n"
          "key_usage = [\"keyAgreement\"]\n");
  refusal("name = \"s\"\nkind = \"smime_encryption\"\nkey_types = [\"ec-p256\"]\n"
          "key_usage = [\"keyEncipherment\"]\n");
  refusal("name = \"s\"\nkind = \"smime_encryption\"\nkey_types = [\"ec-p256\", \"rsa-2048\"]\n"
          "key_usage = [\"keyEncipherment\"]\n");
  // tls_server needs serverAuth and a DNS SAN.
  refusal("name = \"srv\"\nkind = \"tls_server\"\nextended_key_usage = [\"clientAuth\"]\n");
  refusal("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"email\"]\n");
  EXPECT_TRUE(parseTemplate("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"dns:mail.example.org\"]\n"));
  EXPECT_TRUE(parseTemplate("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"dns:*.example.org\"]\n"));
  refusal("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"dns:bad_name.example\"]\n");
  refusal("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"dns:\"]\n");
  refusal("name = \"srv\"\nkind = \"tls_server\"\nsan = [\"dns:-a.example\"]\n");
  // requested_dns only where a server asks for its own name.
  refusal("name = \"d\"\nkind = \"tls_client\"\nsan = [\"email\", \"requested_dns\"]\n");
  refusal("name = \"d\"\nkind = \"tls_client\"\nsan = [\"ip:10.0.0.1\"]\n");
  refusal("name = \"d\"\nkind = \"tls_client\"\nsan = [\"email\", \"email\"]\n");
}

TEST(Template, AllErrorsAtOnce) {
  std::string e = refusal("name = \"d\"\nkind = \"tls_client\"\nkey_usage = [\"nope\"]\n"
                          "extended_key_usage = [\"serverAuth\"]\nbogus = 1\n");
  EXPECT_NE(e.find("t.toml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("t.toml:4"), std::string::npos) << e;
  EXPECT_NE(e.find("t.toml:5"), std::string::npos) << e;
}

TEST(Template, BuiltinsAreValidAndRoundTrip) {
  auto all = builtinTemplates();
  ASSERT_EQ(all.size(), 5u);
  std::vector<std::string> names;
  for (const auto& t : all) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"device", "smime-sign", "smime-encrypt", "wifi", "server"}));
  EXPECT_EQ(all[0].kind, TemplateKind::tls_client);
  EXPECT_EQ(all[1].kind, TemplateKind::smime_signing);
  EXPECT_EQ(all[2].kind, TemplateKind::smime_encryption);
  EXPECT_EQ(all[3].kind, TemplateKind::wifi);
  EXPECT_EQ(all[4].kind, TemplateKind::tls_server);
  EXPECT_TRUE(all[2].publish);  // encryption certificates reach ResolveRecipients
  for (const auto& t : all) {
    std::string text = templateToToml(t);
    auto back = parseTemplate(text, t.name);
    ASSERT_TRUE(back) << t.name << ": " << back.error().message() << "\n" << text;
    expectSame(*back, t);
  }
}

TEST(Template, RoundTripOfEveryField) {
  CertTemplate t = defaultTemplate(TemplateKind::tls_server, "web-1");
  t.key_types = {KeyType::ec_p384, KeyType::rsa4096, KeyType::rsa3072};
  t.lifetime = 90min;
  t.renewal_window = 61s;
  t.key_usage = {"digitalSignature", "keyEncipherment"};
  t.extended_key_usage = {"serverAuth", "clientAuth", "1.2.840.113635.100.4.1"};
  t.subject_cn = SubjectCn::display_name;
  t.san = {"dns:mail.example.org", "requested_dns"};
  t.enroll_groups = {"ops \"core\"", "back\\slash", "tab\there"};
  t.require_approval = false;
  t.publish = true;
  t.enabled = false;
  std::string text = templateToToml(t);
  auto back = parseTemplate(text);
  ASSERT_TRUE(back) << back.error().message() << "\n" << text;
  expectSame(*back, t);
  // And the text of the text is the same text.
  EXPECT_EQ(templateToToml(*back), text);
}

}  // namespace
}  // namespace rampart::ca
