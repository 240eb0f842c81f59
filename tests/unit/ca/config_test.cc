// The CA role's config: defaults derived from data_dir and [pki], every key of
// the example file read, unknown keys and bad values refused with their line.
#include "ca/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace rampart::ca {
namespace {

TEST(CaConfigTest, DefaultsComeFromDataDirAndPkiListen) {
  auto cfg = parseCaConfig(R"(
data_dir = "/srv/r"
[est]
cert_file = "c.pem"
key_file = "k.pem"
gateway_ca_file = "g.pem"
delegation_key_file = "a.key"
)", "ca.toml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->database, "/srv/r/rampart.db");  // the server's database (server::databasePath)
  EXPECT_EQ(cfg->authority.dir, "/srv/r/ca");
  EXPECT_EQ(cfg->est.listen, "127.0.0.1:9444");
  EXPECT_EQ(cfg->est.default_template, "device");
  EXPECT_EQ(cfg->est.body_limit.bytes, 64u * 1024);
  EXPECT_EQ(cfg->pki.listen, "127.0.0.1:8080");
  EXPECT_EQ(cfg->pki.public_url, "http://127.0.0.1:8080");
  EXPECT_EQ(cfg->authority.crl_url, "http://127.0.0.1:8080/crl/issuing.crl");
  EXPECT_EQ(cfg->authority.ocsp_url, "http://127.0.0.1:8080/ocsp");
  EXPECT_EQ(cfg->pki.refresh_interval, std::chrono::seconds(5));
  EXPECT_EQ(cfg->authority.key_type, crypto::x509::KeyType::ec_p256);
}

TEST(CaConfigTest, ExplicitValuesAreRead) {
  auto cfg = parseCaConfig(R"(
data_dir = "/d"
database = "/db/x.db"
log_level = "debug"
threads = 4
[authority]
dir = "/keys"
organization = "Example"
key_type = "ec-p384"
crl_validity = "12h"
ocsp_validity = "30m"
retry_after = "1m"
[est]
listen = ""
default_template = "wifi"
[pki]
listen = "0.0.0.0:80"
public_url = "http://pki.example.org/"
refresh_interval = "250ms"
)", "ca.toml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->database, "/db/x.db");
  EXPECT_EQ(cfg->threads, 4);
  EXPECT_EQ(cfg->authority.dir, "/keys");
  EXPECT_EQ(cfg->authority.organization, "Example");
  EXPECT_EQ(cfg->authority.key_type, crypto::x509::KeyType::ec_p384);
  EXPECT_EQ(cfg->authority.crl_validity, std::chrono::hours(12));
  EXPECT_EQ(cfg->authority.ocsp_validity, std::chrono::minutes(30));
  EXPECT_EQ(cfg->authority.retry_after, std::chrono::minutes(1));
  EXPECT_TRUE(cfg->est.listen.empty());
  EXPECT_EQ(cfg->est.default_template, "wifi");
  // The trailing slash goes, so that the URLs have one.
  EXPECT_EQ(cfg->authority.crl_url, "http://pki.example.org/crl/issuing.crl");
  EXPECT_EQ(cfg->authority.ocsp_url, "http://pki.example.org/ocsp");
  EXPECT_EQ(cfg->pki.refresh_interval, std::chrono::milliseconds(250));
}

std::string errorOf(std::string_view text) {
  auto cfg = parseCaConfig(text, "ca.toml");
  return cfg ? std::string() : cfg.error().message();
}

TEST(CaConfigTest, UnknownKeysAreErrorsWithTheirLine) {
  auto e = errorOf("data_dir = \"/d\"\n[est]\nlisten = \"\"\n[pki]\nlisen = \"x\"\n");
  EXPECT_NE(e.find("ca.toml:5"), std::string::npos) << e;
  EXPECT_NE(e.find("lisen"), std::string::npos) << e;
}

TEST(CaConfigTest, TheEstLinkNeedsItsFiles) {
  auto e = errorOf("[est]\nlisten = \"127.0.0.1:9444\"\n");
  EXPECT_NE(e.find("cert_file"), std::string::npos) << e;
  EXPECT_NE(e.find("gateway_ca_file"), std::string::npos) << e;
  EXPECT_NE(e.find("delegation_key_file"), std::string::npos) << e;
}

TEST(CaConfigTest, BadValuesAreRefused) {
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[authority]\nkey_type = \"rsa-1024\"\n").find("key_type"),
            std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[pki]\npublic_url = \"https://x\"\n").find("public_url"),
            std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[pki]\nlisten = \"nonsense\"\n").find("listen"), std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[pki]\nrefresh_interval = \"0s\"\n").find("refresh_interval"),
            std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\ndefault_template = \"No Such\"\n").find("default_template"),
            std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\nbody_limit = \"10MiB\"\n").find("body_limit"), std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[authority]\nimport_root_cert = \"r.pem\"\n").find("import_root"),
            std::string::npos);
  EXPECT_NE(errorOf("log_level = \"loud\"\n[est]\nlisten = \"\"\n").find("log_level"), std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[pki]\nlisten = \"\"\n").find("nothing to serve"), std::string::npos);
  EXPECT_NE(errorOf("[est]\nlisten = \"\"\n[authority]\ncrl_url = \"http://x\"\n").find("public_url"),
            std::string::npos);
}

TEST(CaConfigTest, TheExampleFileLoads) {
  auto cfg = loadCaConfig(std::string(RAMPART_SOURCE_DIR) + "/config/ca.toml");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_FALSE(cfg->est.listen.empty());
  EXPECT_FALSE(cfg->authority.ocsp_url.empty());
}

}  // namespace
}  // namespace rampart::ca
