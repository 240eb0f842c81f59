// The gateway's TLS front: the certificate served is chosen by SNI (exact
// name, then a one-label wildcard, then the first certificate), and reload()
// swaps in new files for new handshakes.
#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "gateway/tls_frontend.h"
#include "testing/certs.h"
#include "testing/temp_dir.h"

namespace rampart::gateway {
namespace {

// Runs a TLS handshake in memory (two SSL objects over a BIO pair) and
// returns the common name of the certificate the server sent.
std::string servedName(SSL_CTX* server_ctx, const char* sni) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(client_ctx);
  SSL* server = SSL_new(server_ctx);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  if (sni != nullptr) SSL_set_tlsext_host_name(client, sni);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  for (int i = 0; i < 20 && (!SSL_is_init_finished(client) || !SSL_is_init_finished(server)); ++i) {
    SSL_do_handshake(client);
    SSL_do_handshake(server);
  }
  std::string name;
  if (X509* peer = SSL_get1_peer_certificate(client)) {
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
    name = buf;
    X509_free(peer);
  }
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(client_ctx);
  return name;
}

TEST(TlsFrontendTest, PicksTheCertificateBySni) {
  rampart::testing::TempDir dir("tls-frontend");
  auto first = rampart::testing::makeSelfSigned(dir.path().string(), "mail.example.test");
  std::filesystem::create_directories(dir.path() / "w");
  auto wild = rampart::testing::makeSelfSigned((dir.path() / "w").string(), "wild.example.test");
  std::vector<CertificateConfig> certs{{{"mail.example.test"}, first.cert_file, first.key_file, ""},
                                       {{"*.apps.example.test"}, wild.cert_file, wild.key_file, ""}};
  auto front = TlsFrontend::create(certs, tls::Profile::modern, "");
  ASSERT_TRUE(front) << front.error().message();
  SSL_CTX* ctx = (*front)->current()->native_handle();
  EXPECT_EQ(servedName(ctx, "mail.example.test"), "mail.example.test");
  EXPECT_EQ(servedName(ctx, "a.apps.example.test"), "wild.example.test");
  EXPECT_EQ(servedName(ctx, "A.APPS.example.test"), "wild.example.test");
  EXPECT_EQ(servedName(ctx, "a.b.apps.example.test"), "mail.example.test");  // one label only: the default
  EXPECT_EQ(servedName(ctx, "other.test"), "mail.example.test");
  EXPECT_EQ(servedName(ctx, nullptr), "mail.example.test");
}

TEST(TlsFrontendTest, ReloadServesTheNewCertificateAndABadFileKeepsTheOld) {
  rampart::testing::TempDir dir("tls-frontend");
  auto old_cert = rampart::testing::makeSelfSigned(dir.path().string(), "old.example.test");
  std::vector<CertificateConfig> certs{{{"old.example.test"}, old_cert.cert_file, old_cert.key_file, ""}};
  auto front = TlsFrontend::create(certs, tls::Profile::modern, "");
  ASSERT_TRUE(front);
  auto held = (*front)->current();  // a connection mid-handshake keeps its context
  rampart::testing::TempDir other("tls-frontend-new");
  auto fresh = rampart::testing::makeSelfSigned(other.path().string(), "new.example.test");
  std::filesystem::copy_file(fresh.cert_file, old_cert.cert_file, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(fresh.key_file, old_cert.key_file, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE((*front)->reload());
  EXPECT_EQ(servedName((*front)->current()->native_handle(), "old.example.test"), "new.example.test");
  EXPECT_EQ(servedName(held->native_handle(), "old.example.test"), "old.example.test");
  std::filesystem::resize_file(old_cert.key_file, 10);  // broken: reload refused, old set kept
  EXPECT_FALSE((*front)->reload());
  EXPECT_EQ(servedName((*front)->current()->native_handle(), "old.example.test"), "new.example.test");
}

}  // namespace
}  // namespace rampart::gateway
