#include "tls/dev_pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>

#include "testing/temp_dir.h"
#include "tls/context.h"

namespace rampart::tls {
namespace {

X509* readCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* c = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return c;
}

TEST(DevPkiTest, ServerCertificateChainsToTheDevCaAndNamesLoopback) {
  testing::TempDir dir("dev-pki");
  auto files = ensureDevPki(dir.path().string(), {"localhost", "127.0.0.1"});
  ASSERT_TRUE(files) << files.error().message();

  X509* ca = readCert(files->ca_cert);
  X509* leaf = readCert(files->server_cert);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(leaf, nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), "localhost", 0);
  EXPECT_EQ(X509_verify_cert(ctx), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(leaf, "evil.test", 0, 0, nullptr), 1);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);

  struct stat st {};
  ASSERT_EQ(::stat(files->server_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(files->ca_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The files load as a server context, and a second call keeps them.
  ServerOptions so;
  so.cert_file = files->server_cert;
  so.key_file = files->server_key;
  EXPECT_TRUE(makeServerContext(so));
  auto again = ensureDevPki(dir.path().string(), {"localhost"});
  ASSERT_TRUE(again);
  X509* leaf2 = readCert(again->server_cert);
  EXPECT_EQ(X509_check_ip_asc(leaf2, "127.0.0.1", 0), 1) << "existing files must be kept";
  X509_free(leaf2);
}

}  // namespace
}  // namespace rampart::tls
