// The gateway's config loader, rule matcher and publish wizard.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gateway/config.h"
#include "gateway/publish.h"
#include "gateway/rules.h"

namespace rampart::gateway {
namespace {

constexpr std::string_view kBase = R"(
data_dir = "/tmp/gw"
[[certificate]]
names = ["mail.example.org"]
cert_file = "a.crt"
key_file = "a.key"
[auth]
directory_data_dir = "/tmp/mail"
)";

Result<GatewayConfig> parse(std::string_view rules) {
  return parseGatewayConfig(std::string(kBase) + std::string(rules), "test.toml");
}

TEST(GatewayConfigTest, ExampleFileLoads) {
  auto cfg = loadGatewayConfig(std::string(RAMPART_SOURCE_DIR) + "/config/gateway.toml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->rules.size(), 1u);
  EXPECT_EQ(cfg->rules[0].service, Service::eas);
  EXPECT_EQ(cfg->listener.first_request_timeout, std::chrono::seconds(120));
  EXPECT_EQ(cfg->limits.per_ip_connections, 160);
}

TEST(GatewayConfigTest, UnknownKeyInARuleNamesItsLine) {
  auto cfg = parse("[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:1\"\nbackend_tls = false\nauth = \"none\"\nbogus = 1\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().detail.find("test.toml:"), std::string::npos);
  EXPECT_NE(cfg.error().detail.find("rule[0].bogus"), std::string::npos);
}

TEST(GatewayConfigTest, UnsafeRulesAreRefused) {
  auto remote_plain = parse("[[rule]]\nname = \"x\"\nbackend = \"10.0.0.1:80\"\nbackend_tls = false\n");
  ASSERT_FALSE(remote_plain);
  EXPECT_NE(remote_plain.error().detail.find("plain HTTP"), std::string::npos);
  // A name that starts like a loopback address is still a remote host.
  EXPECT_FALSE(parse("[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1.evil.example:80\"\nbackend_tls = false\n"));
  EXPECT_TRUE(parse("[[rule]]\nname = \"x\"\nbackend = \"[::1]:80\"\nbackend_tls = false\n"));
  auto poll_anon = parse("[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:80\"\nbackend_tls = false\n"
                         "auth = \"none\"\nlong_poll_timeout = \"30m\"\n");
  ASSERT_FALSE(poll_anon);
  EXPECT_NE(poll_anon.error().detail.find("long_poll_timeout"), std::string::npos);
  auto eas_anon = parse("[[rule]]\nname = \"x\"\nservice = \"eas\"\nbackend = \"127.0.0.1:80\"\nauth = \"none\"\n");
  ASSERT_FALSE(eas_anon);
  auto delegate_no_key = parse("[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:80\"\ndelegate = true\n");
  ASSERT_FALSE(delegate_no_key);
  EXPECT_NE(delegate_no_key.error().detail.find("[delegation] key_file"), std::string::npos);
  auto nothing = parse("");
  ASSERT_FALSE(nothing);
  EXPECT_NE(nothing.error().detail.find("nothing is published"), std::string::npos);
}

TEST(GatewayConfigTest, CleartextLdapOnlyToLoopback) {
  auto with = [](std::string uri, bool start_tls) {
    return parseGatewayConfig(
        "data_dir = \"/tmp/gw\"\n[[certificate]]\ncert_file = \"a\"\nkey_file = \"b\"\n"
        "[auth]\ndirectory = \"ldap\"\n[auth.ldap]\nuri = \"" + uri + "\"\n" +
            "user_dn_template = \"uid={user},dc=x\"\nstart_tls = " + (start_tls ? "true" : "false") +
            "\n[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:1\"\n",
        "ldap.toml");
  };
  for (const char* ok : {"ldap://127.0.0.1:389", "ldap://localhost", "ldap://[::1]:389/dc=x", "ldaps://ldap.example.org"}) {
    auto cfg = with(ok, false);
    EXPECT_TRUE(cfg) << ok << ": " << cfg.error().message();
  }
  auto remote = with("ldap://ldap.example.org", false);
  ASSERT_FALSE(remote);
  EXPECT_NE(remote.error().detail.find("ldaps:// or start_tls"), std::string::npos);
  EXPECT_FALSE(with("ldap://127.0.0.1.evil.example", false));
  EXPECT_TRUE(with("ldap://ldap.example.org", true));
}

TEST(GatewayConfigTest, TwoRulesWithOneNameAreRefused) {
  auto cfg = parse("[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:1\"\n[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:2\"\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().detail.find("used twice"), std::string::npos);
}

RuleConfig rule(std::string name, std::string host, std::string path) {
  RuleConfig r;
  r.name = std::move(name);
  r.host = std::move(host);
  r.path = std::move(path);
  return r;
}

TEST(RuleSetTest, ExactHostBeatsWildcardBeatsAnyAndLongestPathWins) {
  RuleSet set({rule("any", "*", "/"), rule("wild", "*.example.org", "/"),
               rule("exact", "mail.example.org", "/"),
               rule("eas", "mail.example.org", "/Microsoft-Server-ActiveSync")});
  EXPECT_EQ(set.match("mail.example.org", "/x")->name, "exact");
  EXPECT_EQ(set.match("MAIL.example.org:443", "/x")->name, "exact");
  EXPECT_EQ(set.match("mail.example.org.", "/x")->name, "exact");
  EXPECT_EQ(set.match("web.example.org", "/x")->name, "wild");
  EXPECT_EQ(set.match("a.b.example.org", "/x")->name, "any");  // one label only
  EXPECT_EQ(set.match("example.org", "/x")->name, "any");
  EXPECT_EQ(set.match("mail.example.org", "/Microsoft-Server-ActiveSync?Cmd=Sync")->name, "eas");
  EXPECT_EQ(set.match("mail.example.org", "/microsoft-server-activesync")->name, "eas");
  EXPECT_EQ(set.match("mail.example.org", "/Microsoft-Server-ActiveSyncX")->name, "exact");
}

TEST(RuleSetTest, NothingMatchesOutsidePublishedPaths) {
  RuleSet set({rule("eas", "*", "/Microsoft-Server-ActiveSync")});
  EXPECT_EQ(set.match("h", "/"), nullptr);
  EXPECT_EQ(set.match("h", "/Microsoft-Server-ActiveSyncX"), nullptr);
  EXPECT_EQ(set.match("h", "*"), nullptr);
  EXPECT_EQ(set.match("", ""), nullptr);
  EXPECT_NE(set.match("[::1]:443", "/Microsoft-Server-ActiveSync/"), nullptr);
}

TEST(PublishTest, EasRuleIsCorrectAndLoadsBack) {
  auto base = parse("[[rule]]\nname = \"web\"\nbackend = \"127.0.0.1:1\"\n"
                    "[delegation]\nkey_file = \"d.key\"\n");
  ASSERT_TRUE(base) << base.error().message();
  PublishRequest req;
  req.service = Service::eas;
  req.backend = "10.0.0.5:9443";
  req.backend_ca_file = "ca.crt";
  auto toml = publishRules(req, *base);
  ASSERT_TRUE(toml) << toml.error().message();
  EXPECT_NE(toml->find("path = \"/Microsoft-Server-ActiveSync\""), std::string::npos);
  EXPECT_NE(toml->find("long_poll_timeout = \"3600s\""), std::string::npos);
  EXPECT_NE(toml->find("delegate = true"), std::string::npos);
  auto again = parse("[[rule]]\nname = \"web\"\nbackend = \"127.0.0.1:1\"\n[delegation]\nkey_file = \"d.key\"\n\n" + *toml);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_EQ(again->rules.size(), 2u);
  EXPECT_EQ(again->rules[1].methods, (std::vector<std::string>{"OPTIONS", "POST"}));
}

TEST(PublishTest, UnsafeCombinationsAreRefused) {
  GatewayConfig empty;
  PublishRequest req;
  req.service = Service::eas;
  req.backend = "10.0.0.5:80";
  req.backend_tls = false;
  auto plain = publishRules(req, empty);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().detail.find("plain HTTP"), std::string::npos);
  req.backend_tls = true;
  req.auth = "none";
  auto anon = publishRules(req, empty);
  ASSERT_FALSE(anon);
  EXPECT_NE(anon.error().detail.find("pre-authenticated"), std::string::npos);
  PublishRequest web;
  web.service = Service::web;
  web.backend = "127.0.0.1:8080";
  web.backend_tls = false;
  auto no_path = publishRules(web, empty);
  ASSERT_FALSE(no_path);
}

TEST(PublishTest, EstPublishesAnUnauthenticatedCacertsRuleBesideEnrollment) {
  GatewayConfig config;
  config.auth.client_cert.ca_file = "device-ca.crt";
  config.delegation.key_file = "d.key";
  PublishRequest req;
  req.service = Service::est;
  req.backend = "10.0.0.7:8443";
  auto rules = makeRules(req, config);
  ASSERT_TRUE(rules) << rules.error().message();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].path, "/.well-known/est/cacerts");
  EXPECT_EQ((*rules)[0].auth, AuthMethod::none);
  EXPECT_FALSE((*rules)[0].delegate);
  // Enrollment: the password the first time, the certificate for renewal,
  // and the CA gets the identity (and the certificate) delegated.
  EXPECT_EQ((*rules)[1].path, "/.well-known/est");
  EXPECT_EQ((*rules)[1].auth, AuthMethod::certificate_or_basic);
  EXPECT_TRUE((*rules)[1].delegate);
  // The TOML loads back.
  auto toml = publishRules(req, config);
  ASSERT_TRUE(toml) << toml.error().message();
  EXPECT_NE(toml->find("auth = \"certificate_or_basic\""), std::string::npos) << *toml;
  auto again = parse("[auth.client_cert]\nca_file = \"device-ca.crt\"\n[delegation]\nkey_file = \"d.key\"\n\n" + *toml);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_EQ(again->rules.size(), 2u);
  EXPECT_EQ(again->rules[1].auth, AuthMethod::certificate_or_basic);
  EXPECT_TRUE(again->rules[1].delegate);
  // An explicit choice still wins.
  req.auth = "basic";
  auto basic = makeRules(req, config);
  ASSERT_TRUE(basic) << basic.error().message();
  EXPECT_EQ((*basic)[1].auth, AuthMethod::basic);
}

TEST(PublishTest, EstNeedsClientCertificatesAndADelegationKey) {
  GatewayConfig empty;
  PublishRequest req;
  req.service = Service::est;
  req.backend = "10.0.0.7:8443";
  auto rules = makeRules(req, empty);
  ASSERT_FALSE(rules);
  EXPECT_NE(rules.error().detail.find("[auth.client_cert] ca_file"), std::string::npos) << rules.error().detail;
  EXPECT_NE(rules.error().detail.find("[delegation] key_file"), std::string::npos) << rules.error().detail;
}

TEST(GatewayConfigTest, CertificateOrBasicIsAMethodOfItsOwn) {
  auto method = parseAuthMethod("certificate_or_basic");
  ASSERT_TRUE(method);
  EXPECT_EQ(*method, AuthMethod::certificate_or_basic);
  EXPECT_EQ(authMethodName(AuthMethod::certificate_or_basic), "certificate_or_basic");
  EXPECT_TRUE(usesPassword(AuthMethod::certificate_or_basic));
  EXPECT_TRUE(usesCertificate(AuthMethod::certificate_or_basic));
  EXPECT_FALSE(usesSecondFactor(AuthMethod::certificate_or_basic));
  EXPECT_FALSE(usesCertificate(AuthMethod::basic));
  EXPECT_FALSE(parseAuthMethod("certificate-or-basic"));
  // Like `certificate`, it needs the client CA.
  auto no_ca = parse("[[rule]]\nname = \"est\"\nbackend = \"127.0.0.1:80\"\nauth = \"certificate_or_basic\"\n");
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().detail.find("certificate_or_basic needs [auth.client_cert] ca_file"), std::string::npos)
      << no_ca.error().detail;
  auto ok = parse("[auth.client_cert]\nca_file = \"ca.crt\"\n"
                  "[[rule]]\nname = \"est\"\nbackend = \"127.0.0.1:80\"\nauth = \"certificate_or_basic\"\n");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->rules[0].auth, AuthMethod::certificate_or_basic);
}

TEST(GatewayConfigTest, ClientCertRevocationRefreshKeys) {
  constexpr std::string_view kRule = "[[rule]]\nname = \"x\"\nbackend = \"127.0.0.1:80\"\nbackend_tls = false\n";
  auto defaults = parse(std::string(kRule));
  ASSERT_TRUE(defaults) << defaults.error().message();
  EXPECT_EQ(defaults->auth.client_cert.crl_refresh, std::chrono::seconds(60));
  EXPECT_TRUE(defaults->auth.client_cert.crl_urls.empty());
  EXPECT_EQ(defaults->auth.client_cert.crl_check, "chain");
  auto set = parse("[auth.client_cert]\nca_file = \"ca.crt\"\n"
                   "crl_urls = [\"http://127.0.0.1:8080/crl/issuing.crl\", \"http://[::1]/c.crl\"]\n"
                   "crl_refresh = \"15s\"\ncrl_check = \"leaf\"\n" + std::string(kRule));
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->auth.client_cert.crl_urls.size(), 2u);
  EXPECT_EQ(set->auth.client_cert.crl_refresh, std::chrono::seconds(15));
  EXPECT_EQ(set->auth.client_cert.crl_check, "leaf");
  for (std::string_view bad : {"crl_urls = [\"https://ca.example/c.crl\"]\n", "crl_urls = [\"http://\"]\n",
                               "crl_refresh = \"0s\"\n", "crl_refresh = \"25h\"\n", "crl_check = \"some\"\n"}) {
    auto r = parse("[auth.client_cert]\n" + std::string(bad) + std::string(kRule));
    EXPECT_FALSE(r) << bad;
  }
}

}  // namespace
}  // namespace rampart::gateway
