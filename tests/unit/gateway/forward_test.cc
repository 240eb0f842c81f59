// What the gateway forwards to a backend: the client's headers it drops, and
// the client certificate header it adds for delegated rules (issue 5).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "gateway/upstream.h"
#include "testing/certs.h"
#include "testing/temp_dir.h"

namespace rampart::gateway {
namespace {

TEST(ForwardHeaders, ClientRampartHeadersNeverReachTheBackend) {
  const std::vector<std::string> none;
  // A client must not be able to hand the backend a certificate (or an
  // identity) of its choosing: every spelling is dropped.
  for (const char* name : {"Rampart-Client-Cert", "rampart-client-cert", "RAMPART-CLIENT-CERT",
                           "Rampart-Identity", "rampart-anything"}) {
    EXPECT_TRUE(dropOnForward(name, none)) << name;
  }
  EXPECT_EQ(kClientCertHeader, "Rampart-Client-Cert");
  for (const char* name : {"Authorization", "Connection", "Transfer-Encoding", "X-Forwarded-For", "Via",
                           "Forwarded", "Proxy-Authorization"}) {
    EXPECT_TRUE(dropOnForward(name, none)) << name;
  }
  EXPECT_TRUE(dropOnForward("X-Custom-Hop", {"x-custom-hop"}));
  for (const char* name : {"Content-Type", "User-Agent", "MS-ASProtocolVersion", "Rampart"}) {
    EXPECT_FALSE(dropOnForward(name, none)) << name;
  }
}

TEST(ForwardHeaders, ClientCertHeaderIsOneLineBase64OfTheLeafDer) {
  testing::TempDir dir{"rampart-forward"};
  auto files = testing::makeSelfSigned(dir.path().string(), "device.example");
  FILE* f = std::fopen(files.cert_file.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* leaf = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(leaf, nullptr);

  auto value = clientCertHeaderValue(leaf);
  ASSERT_TRUE(value) << value.error().message();
  EXPECT_EQ(value->find_first_of("\r\n "), std::string::npos);
  EXPECT_EQ(value->size() % 4, 0u);  // padded (RFC 4648 section 4)
  for (char c : *value) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=') << c;
  }
  // Decodes to exactly the certificate's DER.
  std::string decoded(value->size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(value->data()), static_cast<int>(value->size()));
  ASSERT_GT(n, 0);
  std::size_t pad = 0;
  for (auto it = value->rbegin(); it != value->rend() && *it == '='; ++it) ++pad;
  decoded.resize(static_cast<std::size_t>(n) - pad);
  const auto* p = reinterpret_cast<const unsigned char*>(decoded.data());
  X509* back = d2i_X509(nullptr, &p, static_cast<long>(decoded.size()));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(X509_cmp(back, leaf), 0);
  X509_free(back);
  X509_free(leaf);

  EXPECT_FALSE(clientCertHeaderValue(nullptr));
}

TEST(ForwardHeaders, SerializedRequestCarriesTheHeaderOnce) {
  ForwardRequest req;
  req.method = "POST";
  req.target = "/.well-known/est/simplereenroll";
  req.headers = {{"Host", "ca.internal"}, {std::string(kClientCertHeader), "QUJD"}};
  req.body = "x";
  std::string wire = serializeForward(req);
  EXPECT_NE(wire.find("\r\nRampart-Client-Cert: QUJD\r\n"), std::string::npos) << wire;
}

}  // namespace
}  // namespace rampart::gateway
