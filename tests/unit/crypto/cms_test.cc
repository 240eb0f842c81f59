// S/MIME (crypto/cms/smime.h) against real peers: the openssl CLI, gpgsm,
// Bouncy Castle and a SoftHSM2 token; each missing peer skips its tests.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <openssl/cms.h>

#include "core/base64.h"
#include "crypto/cms/smime.h"
#include "testing/shell.h"
#include "testing/temp_dir.h"

namespace rampart::crypto::cms {
namespace {

using rampart::testing::haveOpenssl;
using rampart::testing::sh;
using rampart::testing::slurp;
using rampart::testing::spit;

const char kExtensions[] = R"(
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[rsa_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:alice@example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ec_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:bob@example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[carol_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:carol@example.com
)";

const char kMessage[] =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.com\r\n"
    "Subject: quarterly numbers\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "The numbers are in.\r\n"
    "Line two.\r\n";

// Root -> issuing intermediate -> alice (RSA 2048), bob (EC P-256), carol
// (RSA, for wrong-key tests); made once for the whole suite.
class CmsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!haveOpenssl()) return;
    dir_ = new testing::TempDir("rampart-cms");
    spit(dir_->file("ext.cnf"), kExtensions);
    auto run = [](const std::string& cmd) {
      if (!sh(*dir_, cmd)) ADD_FAILURE() << "failed: " << cmd;
    };
    // The system openssl.cnf's v3_ca: CA:TRUE, subject and authority key ids.
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key "
        "-out root.pem "
        "-days 30 -subj '/O=Rampart Test/CN=Test Root'");
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key "
        "-out inter.csr "
        "-subj '/O=Rampart Test/CN=Test Issuing'");
    run("openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 2 -days 20 "
        "-extfile ext.cnf "
        "-extensions ca -out inter.pem");
    auto leaf = [&](const std::string& name, const std::string& keyopt, const std::string& ext,
                    int serial) {
      run("openssl req -new -newkey " + keyopt + " -nodes -keyout " + name + ".key -out " + name +
          ".csr -subj '/O=Rampart Test/CN=" + name + "'");
      run("openssl x509 -req -in " + name + ".csr -CA inter.pem -CAkey inter.key -set_serial " +
          std::to_string(serial) + " -days 10 -extfile ext.cnf -extensions " + ext + " -out " +
          name + ".pem");
      spit(dir_->file(name + "-chain.pem"),
           slurp(dir_->file(name + ".pem")) + slurp(dir_->file("inter.pem")));
    };
    leaf("alice", "rsa:2048", "rsa_leaf", 10);
    leaf("bob", "ec -pkeyopt ec_paramgen_curve:P-256", "ec_leaf", 11);
    leaf("carol", "rsa:2048", "carol_leaf", 12);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
  }

  static std::string file(const std::string& name) { return dir_->file(name); }
  static Identity identity(const std::string& name) {
    auto id = identityFromPem(slurp(file(name + ".key")), slurp(file(name + "-chain.pem")));
    EXPECT_TRUE(id) << id.error().message();
    return id ? std::move(*id) : Identity{};
  }
  static x509::CertPtr cert(const std::string& name) {
    auto c = x509::parseCertificate(slurp(file(name + ".pem")));
    EXPECT_TRUE(c);
    return c ? std::move(*c) : nullptr;
  }
  static x509::VerifyOptions trust() {
    x509::VerifyOptions t;
    t.anchors.push_back(cert("root"));
    t.revocation = x509::RevocationMode::none;
    return t;
  }
  static bool shell(const std::string& cmd) { return sh(*dir_, cmd); }
  // `openssl cms` output as text (stdout and stderr).
  static std::string capture(const std::string& cmd) {
    std::string full = "cd '" + dir_->path().string() + "' && (" + cmd + ") > capture.txt 2>&1";
    if (std::system(full.c_str()) != 0) return "FAILED\n" + slurp(file("capture.txt"));
    return slurp(file("capture.txt"));
  }
  // The body of a message after its header block.
  static std::string body(const std::string& message) {
    auto pos = message.find("\r\n\r\n");
    return pos == std::string::npos ? std::string() : message.substr(pos + 4);
  }

  static testing::TempDir* dir_;
};
testing::TempDir* CmsTest::dir_ = nullptr;

const std::string kEntity =
    "Content-Type: text/plain; charset=utf-8\r\n\r\nThe numbers are in.\r\nLine two.\r\n";

// ------------------------------------------------------------------ our output, openssl reads

TEST_F(CmsTest, ClearSignedRsaIsVerifiedByOpenssl) {
  auto signed_msg = signMessage(kMessage, identity("alice"));
  ASSERT_TRUE(signed_msg) << signed_msg.error().message();
  EXPECT_NE(signed_msg->find(
                "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256"),
            std::string::npos);
  EXPECT_NE(signed_msg->find("Subject: quarterly numbers\r\n"), std::string::npos);
  EXPECT_EQ(classify(*signed_msg), Layer::signed_clear);
  spit(file("clear.eml"), *signed_msg);
  EXPECT_TRUE(
      shell("openssl cms -verify -in clear.eml -CAfile root.pem -purpose smimesign -out clear.out"))
      << capture(
             "openssl cms -verify -in clear.eml -CAfile root.pem -purpose smimesign -out "
             "/dev/null");
  EXPECT_EQ(slurp(file("clear.out")), kEntity);
  // The signer announced what it reads, in preference order.
  std::string printed = capture("openssl cms -cmsout -print -in clear.eml");
  EXPECT_NE(printed.find("aes-256-gcm"), std::string::npos) << printed;
  EXPECT_NE(printed.find("rsaesOaep"), std::string::npos) << printed;
  EXPECT_NE(printed.find("dhSinglePass-stdDH-sha256kdf-scheme"), std::string::npos) << printed;
  EXPECT_NE(printed.find("CN=Test Issuing"), std::string::npos) << "chain included";
}

TEST_F(CmsTest, OpaquePssSha384AndEcdsaAreVerifiedByOpenssl) {
  SignOptions pss;
  pss.form = SignedForm::opaque;
  pss.rsa = RsaSignature::pss;
  pss.digest = Digest::sha384;
  auto a = signMessage(kMessage, identity("alice"), pss);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(classify(*a), Layer::signed_opaque);
  spit(file("pss.eml"), *a);
  EXPECT_TRUE(shell("openssl cms -verify -in pss.eml -CAfile root.pem -out pss.out"));
  EXPECT_EQ(slurp(file("pss.out")), kEntity);
  std::string printed = capture("openssl cms -cmsout -print -in pss.eml");
  EXPECT_NE(printed.find("rsassaPss"), std::string::npos) << printed;
  EXPECT_NE(printed.find("sha384"), std::string::npos) << printed;

  SignOptions ec;
  ec.digest = Digest::sha512;
  auto b = signMessage(kMessage, identity("bob"), ec);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_NE(b->find("micalg=sha-512"), std::string::npos);
  spit(file("ec.eml"), *b);
  EXPECT_TRUE(shell("openssl cms -verify -in ec.eml -CAfile root.pem -out ec.out"));
  EXPECT_EQ(slurp(file("ec.out")), kEntity);
}

TEST_F(CmsTest, DefaultEncryptionIsAesCbcWithPkcs1AndOpensslDecrypts) {
  Recipient r{cert("alice"), {}};
  EncryptReport report;
  auto enc = encryptMessage(kMessage, std::span<const Recipient>(&r, 1), {}, &report);
  ASSERT_TRUE(enc) << enc.error().message();
  EXPECT_EQ(report.cipher, ContentCipher::aes256_cbc);
  ASSERT_EQ(report.key_management.size(), 1u);
  EXPECT_EQ(report.key_management[0], "rsa-pkcs1");
  EXPECT_NE(enc->find("application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\""),
            std::string::npos);
  EXPECT_EQ(classify(*enc), Layer::enveloped);
  spit(file("cbc.eml"), *enc);
  EXPECT_TRUE(
      shell("openssl cms -decrypt -in cbc.eml -recip alice.pem -inkey alice.key -out cbc.out"));
  EXPECT_EQ(slurp(file("cbc.out")), kEntity);
  std::string printed = capture("openssl cms -cmsout -print -in cbc.eml");
  EXPECT_NE(printed.find("aes-256-cbc"), std::string::npos) << printed;
  EXPECT_NE(printed.find("rsaEncryption"), std::string::npos) << printed;
}

TEST_F(CmsTest, UpgradedEncryptionIsGcmOaepAndEcdhSha256AndOpensslDecrypts) {
  Capabilities modern;
  modern.known = true;
  modern.aes_gcm = modern.rsa_oaep = modern.ecdh_sha256 = true;
  std::vector<Recipient> rs;
  rs.push_back({cert("alice"), modern});
  rs.push_back({cert("bob"), modern});
  EncryptReport report;
  auto enc = encryptMessage(kMessage, rs, {}, &report);
  ASSERT_TRUE(enc) << enc.error().message();
  EXPECT_EQ(report.cipher, ContentCipher::aes256_gcm);
  ASSERT_EQ(report.key_management.size(), 2u);
  EXPECT_EQ(report.key_management[0], "rsa-oaep");
  EXPECT_EQ(report.key_management[1], "ecdh-sha256");
  EXPECT_NE(enc->find("smime-type=authEnveloped-data"), std::string::npos);
  EXPECT_EQ(classify(*enc), Layer::auth_enveloped);
  spit(file("gcm.eml"), *enc);
  std::string printed = capture("openssl cms -cmsout -print -in gcm.eml");
  EXPECT_NE(printed.find("id-smime-ct-authEnvelopedData"), std::string::npos) << printed;
  EXPECT_NE(printed.find("aes-256-gcm"), std::string::npos) << printed;
  EXPECT_NE(printed.find("rsaesOaep"), std::string::npos) << printed;
  EXPECT_NE(printed.find("dhSinglePass-stdDH-sha256kdf-scheme"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("sha1kdf"), std::string::npos) << printed;
  EXPECT_TRUE(
      shell("openssl cms -decrypt -in gcm.eml -recip alice.pem -inkey alice.key -out gcm-a.out"));
  EXPECT_EQ(slurp(file("gcm-a.out")), kEntity);
  EXPECT_TRUE(
      shell("openssl cms -decrypt -in gcm.eml -recip bob.pem -inkey bob.key -out gcm-b.out"));
  EXPECT_EQ(slurp(file("gcm-b.out")), kEntity);

  // One recipient without announced capabilities keeps the message on CBC.
  rs.push_back({cert("carol"), {}});
  auto mixed = encryptMessage(kMessage, rs, {}, &report);
  ASSERT_TRUE(mixed);
  EXPECT_EQ(report.cipher, ContentCipher::aes256_cbc);
  EXPECT_EQ(report.key_management[2], "rsa-pkcs1");
}

// ------------------------------------------------------------------ openssl output, we read

TEST_F(CmsTest, OpensslSignedClearAndOpaqueOpenWithGoodSignature) {
  spit(file("entity.txt"), kEntity);
  for (std::string form : {"", " -nodetach"}) {
    ASSERT_TRUE(shell(
        "openssl cms -sign -in entity.txt -binary -signer alice.pem -inkey alice.key -certfile "
        "inter.pem -from alice@example.com -to bob@example.com -subject hi" +
        form + " -out signed.eml"));
    std::string msg = slurp(file("signed.eml"));
    EXPECT_EQ(classify(msg), form.empty() ? Layer::signed_clear : Layer::signed_opaque);
    auto opened = openMessage(msg, nullptr, trust());
    ASSERT_TRUE(opened) << opened.error().message();
    ASSERT_TRUE(opened->signature);
    const Signature& sig = *opened->signature;
    EXPECT_TRUE(sig.valid) << sig.detail;
    EXPECT_TRUE(sig.chain.ok()) << x509::chainStatusName(sig.chain.status) << ": "
                                << sig.chain.detail;
    EXPECT_TRUE(sig.from_matches);
    EXPECT_TRUE(sig.good());
    EXPECT_EQ(sig.digest, "sha256");
    EXPECT_GT(sig.signing_time, std::time(nullptr) - 600);
    EXPECT_TRUE(sig.capabilities.known);  // OpenSSL's own list: AES-CBC, no GCM
    EXPECT_TRUE(sig.capabilities.aes_cbc);
    EXPECT_NE(sig.signer_subject.find("CN=alice"), std::string::npos) << sig.signer_subject;
    EXPECT_NE(opened->message.find("The numbers are in.\r\n"), std::string::npos)
        << opened->message;
    EXPECT_NE(opened->message.find("Subject: hi\r\n"), std::string::npos);
    EXPECT_EQ(classify(opened->message), Layer::none);
  }
}

// RFC 5652 5.1 allows several SignerInfos; RFC 4853: the content is validly
// signed by a signer when that signer's signature verifies, whatever the
// others say. openssl cms signs with carol then alice; the test breaks one
// signature at a time in the DER.
TEST_F(CmsTest, SeveralSignersAreJudgedEachOnTheirOwn) {
  spit(file("entity.txt"), kEntity);
  ASSERT_TRUE(shell(
      "openssl cms -sign -in entity.txt -binary -nodetach -outform DER -signer carol.pem -inkey "
      "carol.key -signer alice.pem -inkey alice.key -certfile inter.pem -out two.der"));
  const std::string der = slurp(file("two.der"));
  // The opaque message with the SignerInfos of `broken` given a wrong
  // signature (the SET OF SignerInfo is in DER order, not signing order).
  auto message = [&der](std::initializer_list<const char*> broken) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size()));
    EXPECT_NE(cms, nullptr);
    if (cms == nullptr) return std::string();
    for (const char* name : broken) {
      x509::CertPtr who = cert(name);
      CMS_SignerInfo* si = nullptr;
      for (int i = 0; i < 2; ++i) {
        CMS_SignerInfo* at = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), i);
        if (CMS_SignerInfo_cert_cmp(at, who.get()) == 0) si = at;
      }
      EXPECT_NE(si, nullptr) << name;
      if (si == nullptr) continue;
      ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si);
      std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                        static_cast<std::size_t>(ASN1_STRING_length(sig)));
      bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
      ASN1_STRING_set(sig, bytes.data(), static_cast<int>(bytes.size()));
    }
    unsigned char* out = nullptr;
    int len = i2d_CMS_ContentInfo(cms, &out);
    std::string encoded(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
    OPENSSL_free(out);
    CMS_ContentInfo_free(cms);
    return "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nMIME-Version: 1.0\r\n"
           "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n" +
           base64Encode(encoded, 76);
  };
  struct Case {
    std::initializer_list<const char*> broken;
    bool valid;
    bool good;
    const char* signer;
  };
  // alice is the sender; carol's signature is good but not the From's.
  for (const Case& c : {Case{{}, true, true, "CN=alice"}, Case{{"carol"}, true, true, "CN=alice"},
                        Case{{"alice"}, true, false, "CN=carol"},
                        Case{{"alice", "carol"}, false, false, "CN="}}) {
    SCOPED_TRACE(std::to_string(c.broken.size()) + " broken, first " +
                 (c.broken.size() == 0 ? "-" : *c.broken.begin()));
    auto opened = openMessage(message(c.broken), nullptr, trust());
    ASSERT_TRUE(opened) << opened.error().message();
    ASSERT_TRUE(opened->signature);
    const Signature& sig = *opened->signature;
    EXPECT_EQ(sig.signers, 2);
    EXPECT_EQ(sig.valid, c.valid) << sig.detail;
    EXPECT_EQ(sig.valid, sig.detail.empty()) << sig.detail;
    EXPECT_EQ(sig.good(), c.good);
    EXPECT_NE(sig.signer_subject.find(c.signer), std::string::npos) << sig.signer_subject;
    // A bad signature's content is still shown (marked invalid).
    EXPECT_NE(opened->message.find("The numbers are in.\r\n"), std::string::npos) << opened->message;
  }
}

TEST_F(CmsTest, OpensslEncryptedGcmOaepAndEcdhOpen) {
  spit(file("entity.txt"), kEntity);
  ASSERT_TRUE(
      shell("openssl cms -encrypt -in entity.txt -binary -aes-256-gcm -recip alice.pem -keyopt "
            "rsa_padding_mode:oaep -subject x -out oaep.eml"));
  auto opened = openMessage(slurp(file("oaep.eml")), nullptr, trust());
  EXPECT_FALSE(opened);
  EXPECT_TRUE(opened.error().is(Errc::permission_denied));
  Identity alice = identity("alice");
  opened = openMessage(slurp(file("oaep.eml")), &alice, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->encrypted);
  EXPECT_EQ(opened->cipher, "aes-256-gcm");
  EXPECT_FALSE(opened->signature);
  EXPECT_NE(opened->message.find("Line two.\r\n"), std::string::npos);

  // The CLI's ECDH uses the SHA-1 KDF: accepted on receipt.
  ASSERT_TRUE(shell(
      "openssl cms -encrypt -in entity.txt -binary -aes-128-cbc -recip bob.pem -out ecdh.eml"));
  Identity bob = identity("bob");
  opened = openMessage(slurp(file("ecdh.eml")), &bob, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->cipher, "aes-128-cbc");
}

// ------------------------------------------------------------------ round trips, layers

TEST_F(CmsTest, SignedThenEncryptedRoundTripKeepsHeadersAndSignature) {
  Identity alice = identity("alice");
  Identity bob = identity("bob");
  auto signed_msg = signMessage(kMessage, alice);
  ASSERT_TRUE(signed_msg);
  Capabilities caps;
  caps.known = caps.aes_gcm = true;
  std::vector<Recipient> rs;
  rs.push_back({cert("bob"), caps});
  rs.push_back({cert("alice"), caps});
  auto enc = encryptMessage(*signed_msg, rs);
  ASSERT_TRUE(enc) << enc.error().message();
  // Triple wrap: sign the encrypted message again (RFC 2634 1.1).
  auto triple = signMessage(*enc, bob, {.form = SignedForm::opaque});
  ASSERT_TRUE(triple);
  for (const std::string* msg : {&*enc, &*triple}) {
    for (Identity* me : {&alice, &bob}) {
      auto opened = openMessage(*msg, me, trust());
      ASSERT_TRUE(opened) << opened.error().message();
      EXPECT_TRUE(opened->encrypted);
      EXPECT_EQ(opened->cipher, "aes-256-gcm");
      ASSERT_TRUE(opened->signature);
      EXPECT_TRUE(opened->signature->valid) << opened->signature->detail;
      EXPECT_EQ(opened->message,
                std::string(kMessage).insert(std::string(kMessage).find("Content-Type"),
                                             "MIME-Version: 1.0\r\n"));
    }
  }
  // The outermost signature is reported: bob's over the triple wrap, whose
  // From (alice) is not bob's address.
  auto opened = openMessage(*triple, &alice, trust());
  ASSERT_TRUE(opened);
  EXPECT_NE(opened->signature->signer_subject.find("CN=bob"), std::string::npos);
  EXPECT_FALSE(opened->signature->from_matches);
  EXPECT_FALSE(opened->signature->good());
}

TEST_F(CmsTest, MoreThanFourLayersIsRefused) {
  Identity alice = identity("alice");
  std::string msg = kMessage;
  for (int i = 0; i < 5; ++i) {
    auto s = signMessage(msg, alice, {.form = SignedForm::opaque});
    ASSERT_TRUE(s);
    msg = *s;
  }
  auto opened = openMessage(msg, nullptr, trust());
  ASSERT_FALSE(opened);
  EXPECT_TRUE(opened.error().is(Errc::limit_exceeded)) << opened.error().message();
}

TEST_F(CmsTest, SignerCapabilitiesAreReadBackAndTextRoundTrips) {
  auto s = signMessage(kMessage, identity("bob"));
  ASSERT_TRUE(s);
  auto opened = openMessage(*s, nullptr, trust());
  ASSERT_TRUE(opened);
  const Capabilities& caps = opened->signature->capabilities;
  EXPECT_TRUE(caps.known && caps.aes_cbc && caps.aes_gcm && caps.rsa_oaep && caps.ecdh_sha256);
  EXPECT_EQ(capabilitiesText(caps), "aes-cbc,aes-gcm,rsa-oaep,ecdh-sha256");
  auto back = parseCapabilitiesText(capabilitiesText(caps));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->known && back->aes_gcm && back->ecdh_sha256);
  EXPECT_EQ(capabilitiesText(Capabilities{}), "default");
  EXPECT_FALSE(parseCapabilitiesText("default")->known);
  EXPECT_FALSE(parseCapabilitiesText("aes-gcm,des"));
  EXPECT_FALSE(parseCapabilitiesText("aes-gcm,aes-gcm"));
  auto none = signMessage(kMessage, identity("bob"), {.capabilities = false});
  ASSERT_TRUE(none);
  EXPECT_FALSE(openMessage(*none, nullptr, trust())->signature->capabilities.known);
}

TEST_F(CmsTest, ForcedCipherAndPaddingAndBareLfInputAreHonoured) {
  Capabilities modern;
  modern.known = modern.aes_gcm = modern.rsa_oaep = true;
  Recipient r{cert("alice"), modern};
  Identity alice = identity("alice");
  for (ContentCipher c :
       {ContentCipher::aes128_cbc, ContentCipher::aes128_gcm, ContentCipher::aes256_cbc}) {
    EncryptOptions options;
    options.cipher = c;
    options.rsa_oaep = false;
    EncryptReport report;
    auto enc = encryptMessage(kMessage, std::span<const Recipient>(&r, 1), options, &report);
    ASSERT_TRUE(enc);
    EXPECT_EQ(report.cipher, c);
    EXPECT_EQ(report.key_management[0], "rsa-pkcs1");
    auto opened = openMessage(*enc, &alice, trust());
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(opened->cipher, contentCipherName(c));
  }
  // A message with bare LF line ends is signed in canonical CRLF form.
  std::string lf = kMessage;
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  auto s = signMessage(lf, alice);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("\n", 0), s->find("\r\n") + 1);
  spit(file("lf.eml"), *s);
  EXPECT_TRUE(shell("openssl cms -verify -in lf.eml -CAfile root.pem -out lf.out"));
  EXPECT_EQ(slurp(file("lf.out")), kEntity);
  // A message without Content-Type gets the RFC 2045 default spelled out.
  auto plain =
      signMessage("From: alice@example.com\r\n\r\nhi\r\n", alice, {.form = SignedForm::opaque});
  ASSERT_TRUE(plain);
  auto opened = openMessage(*plain, nullptr, trust());
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->signature->good());
  EXPECT_NE(opened->message.find("Content-Type: text/plain; charset=us-ascii\r\n\r\nhi\r\n"),
            std::string::npos);
}

TEST_F(CmsTest, RevokedSignerIsAVerdict) {
  auto clear = signMessage(kMessage, identity("alice"));
  ASSERT_TRUE(clear);
  // The issuing CA revokes alice and publishes a CRL (openssl ca's own files).
  spit(file("ca.cnf"),
       "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = "
       "sha256\n"
       "default_crl_days = 7\n");
  spit(file("index.txt"), "");
  spit(file("crlnumber"), "01\n");
  ASSERT_TRUE(shell(
      "(openssl ca -config ca.cnf -keyfile inter.key -cert inter.pem -revoke alice.pem "
      "-crl_reason keyCompromise && "
      "openssl ca -config ca.cnf -keyfile inter.key -cert inter.pem -gencrl -out inter.crl)"));
  auto crl = x509::parseCrl(slurp(file("inter.crl")));
  ASSERT_TRUE(crl) << crl.error().message();
  auto t = trust();
  t.revocation = x509::RevocationMode::soft;
  t.crls.push_back(std::move(*crl));
  auto opened = openMessage(*clear, nullptr, t);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->signature->valid);
  EXPECT_EQ(opened->signature->chain.status, x509::ChainStatus::revoked)
      << opened->signature->chain.detail;
  EXPECT_FALSE(opened->signature->good());
}

TEST_F(CmsTest, EightBitBodyIsBase64EncodedBeforeClearSigning) {
  const std::string utf8 =
      "From: alice@example.com\r\nContent-Type: text/plain; "
      "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
      "\r\nGr\xc3\xbc\xc3\x9f"
      "e aus K\xc3\xb6ln\r\n";
  auto s = signMessage(utf8, identity("alice"));
  ASSERT_TRUE(s);
  for (char c : *s)
    ASSERT_LT(static_cast<unsigned char>(c), 0x80u) << "8-bit byte in a clear-signed message";
  EXPECT_EQ(s->find("8bit"), std::string::npos);
  spit(file("8bit.eml"), *s);
  EXPECT_TRUE(shell("openssl cms -verify -in 8bit.eml -CAfile root.pem -out 8bit.out"));
  EXPECT_NE(slurp(file("8bit.out"))
                .find("Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSBhdXMgS8O2bG4NCg=="),
            std::string::npos)
      << slurp(file("8bit.out"));
  auto opened = openMessage(*s, nullptr, trust());
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->signature->good());
}

// ------------------------------------------------------------------ hostile and broken input

TEST_F(CmsTest, TamperedWrongKeyTruncatedAndExpiredGiveCleanVerdicts) {
  Identity alice = identity("alice");
  auto clear = signMessage(kMessage, alice);
  ASSERT_TRUE(clear);
  std::string tampered = *clear;
  tampered.replace(tampered.find("numbers are in"), 7, "NUMBERS");
  auto opened = openMessage(tampered, nullptr, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_FALSE(opened->signature->valid);
  EXPECT_FALSE(opened->signature->detail.empty());
  EXPECT_FALSE(opened->signature->good());

  // Expired signer: judged ten years on.
  auto later = trust();
  later.at = std::time(nullptr) + 10LL * 365 * 86400;
  opened = openMessage(*clear, nullptr, later);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->signature->valid);
  EXPECT_EQ(opened->signature->chain.status, x509::ChainStatus::expired)
      << opened->signature->chain.detail;
  EXPECT_FALSE(opened->signature->good());

  // Untrusted: another root.
  x509::VerifyOptions other;
  other.anchors.push_back(cert("carol"));
  opened = openMessage(*clear, nullptr, other);
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->signature->chain.ok());

  // Wrong key.
  Recipient r{cert("alice"), {}};
  auto enc = encryptMessage(kMessage, std::span<const Recipient>(&r, 1));
  ASSERT_TRUE(enc);
  Identity carol = identity("carol");
  opened = openMessage(*enc, &carol, trust());
  ASSERT_FALSE(opened);
  EXPECT_TRUE(opened.error().is(Errc::permission_denied)) << opened.error().message();

  // Truncated DER, garbage base64, a multipart/signed without its parts.
  std::string head = enc->substr(0, enc->find("\r\n\r\n") + 4);
  std::string b64 = body(*enc);
  opened = openMessage(head + b64.substr(0, b64.size() / 2) + "\r\n", &alice, trust());
  ASSERT_FALSE(opened);
  EXPECT_TRUE(opened.error().is(Errc::parse_error)) << opened.error().message();
  opened = openMessage(head + "!!!!\r\n", &alice, trust());
  ASSERT_FALSE(opened);
  opened = openMessage(
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
      "boundary=x\r\n\r\n--x\r\n",
      nullptr, trust());
  ASSERT_FALSE(opened);
  EXPECT_TRUE(opened.error().is(Errc::parse_error));

  // Tampered GCM ciphertext: the tag refuses it.
  Capabilities caps;
  caps.known = caps.aes_gcm = true;
  Recipient g{cert("alice"), caps};
  auto gcm = encryptMessage(kMessage, std::span<const Recipient>(&g, 1));
  ASSERT_TRUE(gcm);
  auto der = slurp(file("none"));  // unused
  (void)der;
  std::string gb = body(*gcm);
  // Flip a character well inside the ciphertext (near the end of the base64).
  std::size_t pos = gb.size() - 60;
  gb[pos] = gb[pos] == 'A' ? 'B' : 'A';
  opened = openMessage(gcm->substr(0, gcm->find("\r\n\r\n") + 4) + gb, &alice, trust());
  EXPECT_FALSE(opened);

  // A plain message opens as itself.
  opened = openMessage(kMessage, nullptr, trust());
  ASSERT_TRUE(opened);
  EXPECT_FALSE(opened->encrypted);
  EXPECT_FALSE(opened->signature);
}

TEST_F(CmsTest, Pkcs12IdentitySignsAndDecrypts) {
  ASSERT_TRUE(
      shell("openssl pkcs12 -export -inkey alice.key -in alice.pem -certfile inter.pem -passout "
            "pass:secret -out alice.p12"));
  auto id = identityFromPkcs12(slurp(file("alice.p12")), "secret");
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(id->chain.size(), 1u);
  auto s = signMessage(kMessage, *id);
  ASSERT_TRUE(s);
  auto opened = openMessage(*s, nullptr, trust());
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->signature->good())
      << opened->signature->detail << " / " << opened->signature->chain.detail;
  EXPECT_FALSE(identityFromPkcs12(slurp(file("alice.p12")), "wrong"));
  EXPECT_FALSE(identityFromPem(slurp(file("alice.key")), slurp(file("bob.pem"))));
}

// ------------------------------------------------------------------ SoftHSM2 token

TEST_F(CmsTest, Pkcs11TokenKeySignsAndDecrypts) {
  const std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  if (std::system(
          "command -v softhsm2-util >/dev/null 2>&1 && command -v pkcs11-tool >/dev/null 2>&1") !=
          0 ||
      std::system(("test -r " + module).c_str()) != 0) {
    GTEST_SKIP() << "softhsm2 / opensc (pkcs11-tool) not installed";
  }
  if (std::system("test -r /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so") != 0) {
    GTEST_SKIP() << "libengine-pkcs11-openssl not installed";
  }
  // The token lives in the test's directory, never in the system's token store.
  std::filesystem::create_directories(file("tokens"));
  spit(file("softhsm2.conf"), "directories.tokendir = " + file("tokens") +
                                  "\nobjectstore.backend = file\nlog.level = ERROR\n");
  const std::string env = "SOFTHSM2_CONF=" + file("softhsm2.conf") + " ";
  ASSERT_TRUE(
      shell(env + "softhsm2-util --init-token --free --label rampart --pin 1234 --so-pin 5678"));
  ASSERT_FALSE(std::filesystem::is_empty(file("tokens")));
  ASSERT_TRUE(
      shell("openssl pkcs8 -topk8 -nocrypt -in alice.key -outform DER -out alice.p8 && "
            "openssl x509 -in alice.pem -outform DER -out alice.der"));
  const std::string tool =
      env + "pkcs11-tool --module " + module + " --token-label rampart --login --pin 1234 ";
  ASSERT_TRUE(shell(tool + "--write-object alice.p8 --type privkey --id 01 --label alice"));
  ASSERT_TRUE(shell(tool + "--write-object alice.der --type cert --id 01 --label alice"));
  setenv("SOFTHSM2_CONF", file("softhsm2.conf").c_str(), 1);

  auto bad = identityFromPkcs11("pkcs11:token=rampart;object=nobody;type=private", "1234", module);
  EXPECT_FALSE(bad);
  EXPECT_FALSE(identityFromPkcs11("file:///etc/passwd", "1234", module));
  auto id = identityFromPkcs11("pkcs11:token=rampart;object=alice;type=private", "1234", module);
  ASSERT_TRUE(id) << id.error().message();
  ASSERT_TRUE(id->cert);
  EXPECT_NE(x509::subjectText(id->cert.get()).find("CN=alice"), std::string::npos);
  id->chain.push_back(cert("inter"));

  // Signing through the token, both RSA signature schemes; openssl verifies.
  for (RsaSignature scheme : {RsaSignature::pkcs1v15, RsaSignature::pss}) {
    auto s = signMessage(kMessage, *id, {.rsa = scheme});
    ASSERT_TRUE(s) << s.error().message();
    spit(file("p11.eml"), *s);
    EXPECT_TRUE(shell("openssl cms -verify -in p11.eml -CAfile root.pem -out p11.out"));
    EXPECT_EQ(slurp(file("p11.out")), kEntity);
  }
  // Decrypting with the token key, PKCS#1 v1.5 and OAEP.
  for (bool oaep : {false, true}) {
    Recipient r{cert("alice"), {}};
    EncryptOptions options;
    options.rsa_oaep = oaep;
    auto enc = encryptMessage(kMessage, std::span<const Recipient>(&r, 1), options);
    ASSERT_TRUE(enc);
    auto opened = openMessage(*enc, &*id, trust());
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_NE(opened->message.find("Line two.\r\n"), std::string::npos);
  }
}

// ------------------------------------------------------------------ Bouncy Castle

// tests/unit/crypto/cms_bc/CmsPeer.java compiled once into the suite's
// directory; false (and the tests skip) without a JDK or the jars.
bool bouncyCastle(const std::function<bool(const std::string&)>& shell_fn) {
  static int state = -1;
  if (state >= 0) return state == 1;
  const std::string jars =
      "/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar";
  state = std::system(
              "command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1 && test -r "
              "/usr/share/java/bcprov.jar -a -r /usr/share/java/bcpkix.jar -a -r "
              "/usr/share/java/bcutil.jar") == 0 &&
                  shell_fn("mkdir -p bc && javac -nowarn -d bc -cp " + jars +
                           " '" RAMPART_SOURCE_DIR "/tests/unit/crypto/cms_bc/CmsPeer.java'")
              ? 1
              : 0;
  return state == 1;
}

TEST_F(CmsTest, BouncyCastleReadsOurGcmOaepEcdhAndSignature) {
  if (!bouncyCastle(shell))
    GTEST_SKIP() << "javac/java or Bouncy Castle jars (libbcpkix-java) not installed";
  const std::string java =
      "java -cp "
      "bc:/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar "
      "CmsPeer ";
  Capabilities modern;
  modern.known = modern.aes_gcm = modern.rsa_oaep = modern.ecdh_sha256 = true;
  std::vector<Recipient> rs;
  rs.push_back({cert("alice"), modern});
  rs.push_back({cert("bob"), modern});
  EncryptReport report;
  auto enc = encryptMessage(kMessage, rs, {}, &report);
  ASSERT_TRUE(enc);
  ASSERT_EQ(report.key_management, (std::vector<std::string>{"rsa-oaep", "ecdh-sha256"}));
  spit(file("to-bc.eml"), *enc);
  ASSERT_TRUE(shell("openssl cms -cmsout -in to-bc.eml -outform DER -out to-bc.der"));
  ASSERT_TRUE(
      shell("openssl pkcs8 -topk8 -nocrypt -in alice.key -out alice.p8pem && "
            "openssl pkcs8 -topk8 -nocrypt -in bob.key -out bob.p8pem"));
  EXPECT_TRUE(shell(java + "decrypt alice.p8pem alice.pem to-bc.der bc-alice.out"))
      << capture(java + "decrypt alice.p8pem alice.pem to-bc.der bc-alice.out");
  EXPECT_EQ(slurp(file("bc-alice.out")), kEntity);
  EXPECT_TRUE(shell(java + "decrypt bob.p8pem bob.pem to-bc.der bc-bob.out"))
      << capture(java + "decrypt bob.p8pem bob.pem to-bc.der bc-bob.out");
  EXPECT_EQ(slurp(file("bc-bob.out")), kEntity);

  // Our opaque ECDSA and RSA-PSS signatures verify in Bouncy Castle.
  for (const char* who : {"bob", "alice"}) {
    auto s = signMessage(kMessage, identity(who),
                         {.form = SignedForm::opaque, .rsa = RsaSignature::pss});
    ASSERT_TRUE(s);
    spit(file("sig-bc.eml"), *s);
    ASSERT_TRUE(shell("openssl cms -cmsout -in sig-bc.eml -outform DER -out sig-bc.der"));
    EXPECT_TRUE(shell(java + "verify sig-bc.der sig-bc.out"))
        << who << capture(java + "verify sig-bc.der sig-bc.out");
    EXPECT_EQ(slurp(file("sig-bc.out")), kEntity);
  }
}

TEST_F(CmsTest, WeReadBouncyCastleGcmWithOaepAndEcdh) {
  if (!bouncyCastle(shell))
    GTEST_SKIP() << "javac/java or Bouncy Castle jars (libbcpkix-java) not installed";
  const std::string java =
      "java -cp "
      "bc:/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar "
      "CmsPeer ";
  spit(file("entity.txt"), kEntity);
  for (const char* who : {"alice", "bob"}) {
    std::string w = who;
    ASSERT_TRUE(shell(java + "encrypt " + w + ".pem entity.txt from-bc.der"))
        << capture(java + "encrypt " + w + ".pem entity.txt from-bc.der");
    ASSERT_TRUE(shell("openssl base64 -in from-bc.der -out from-bc.b64"));
    std::string msg =
        "From: bc@example.com\r\nContent-Type: application/pkcs7-mime; "
        "smime-type=authEnveloped-data; "
        "name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        slurp(file("from-bc.b64"));
    Identity me = identity(w);
    auto opened = openMessage(msg, &me, trust());
    ASSERT_TRUE(opened) << who << ": " << opened.error().message();
    EXPECT_EQ(opened->cipher, "aes-256-gcm");
    EXPECT_EQ(opened->message, "From: bc@example.com\r\n" + kEntity);
  }
}

// ------------------------------------------------------------------ gpgsm (RSA, AES-CBC)

class GpgsmTest : public CmsTest {
 protected:
  void SetUp() override {
    CmsTest::SetUp();
    if (IsSkipped()) return;
    if (std::system("command -v gpgsm >/dev/null 2>&1 && command -v gpgconf >/dev/null 2>&1") !=
        0) {
      GTEST_SKIP() << "gpgsm not installed";
    }
    home_ = std::make_unique<testing::TempDir>("rampart-gpgsm");
    env_ = "GNUPGHOME='" + home_->path().string() + "' ";
    spit(home_->file("gpgsm.conf"), "disable-crl-checks\n");
    spit(home_->file("gpg-agent.conf"), "allow-loopback-pinentry\n");
    // trustlist.txt: the root's SHA-1 fingerprint, flag S (S/MIME).
    std::string fpr = capture("openssl x509 -in root.pem -noout -fingerprint -sha1 | cut -d= -f2");
    ASSERT_EQ(fpr.find("FAILED"), std::string::npos) << fpr;
    spit(home_->file("trustlist.txt"), fpr.substr(0, fpr.find('\n')) + " S\n");
    // gpgsm 2.2 reads the 3DES/SHA-1 PKCS#12 profile only.
    ASSERT_TRUE(
        shell("openssl pkcs12 -export -inkey alice.key -in alice.pem -certfile inter.pem -passout "
              "pass:secret -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -out "
              "alice-3des.p12"));
    ASSERT_TRUE(shell(env_ + "gpgsm --batch --import root.pem inter.pem"));
    ASSERT_TRUE(shell("echo secret | " + env_ + gpg_ + "--import alice-3des.p12"));
  }
  void TearDown() override {
    if (home_) shell(env_ + "gpgconf --kill gpg-agent");
  }
  // A MIME message around a DER CMS file.
  std::string wrap(const std::string& der_file, const std::string& smime_type) {
    EXPECT_TRUE(shell("openssl base64 -in " + der_file + " -out wrapped.b64"));
    return "From: alice@example.com\r\nSubject: from gpgsm\r\nContent-Type: "
           "application/pkcs7-mime; smime-type=" +
           smime_type + "; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           slurp(file("wrapped.b64"));
  }
  std::unique_ptr<testing::TempDir> home_;
  std::string env_;
  const std::string gpg_ = "gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 ";
};

TEST_F(GpgsmTest, GpgsmVerifiesAndDecryptsOurMessages) {
  Identity alice = identity("alice");
  spit(file("entity.txt"), kEntity);
  // Clear-signed: gpgsm checks the detached signature over the first part.
  auto clear = signMessage(kMessage, alice);
  ASSERT_TRUE(clear);
  spit(file("g-clear.eml"), *clear);
  ASSERT_TRUE(shell("openssl cms -cmsout -in g-clear.eml -outform DER -out g-clear.p7s"));
  EXPECT_TRUE(shell(env_ + "gpgsm --batch --verify g-clear.p7s entity.txt"))
      << capture(env_ + "gpgsm --batch --verify g-clear.p7s entity.txt");
  spit(file("entity-bad.txt"), kEntity + "x");
  EXPECT_FALSE(shell(env_ + "gpgsm --batch --verify g-clear.p7s entity-bad.txt"));
  // Opaque.
  auto opaque = signMessage(kMessage, alice, {.form = SignedForm::opaque});
  ASSERT_TRUE(opaque);
  spit(file("g-opaque.eml"), *opaque);
  ASSERT_TRUE(shell("openssl cms -cmsout -in g-opaque.eml -outform DER -out g-opaque.der"));
  EXPECT_TRUE(shell(env_ + "gpgsm --batch --output g-opaque.out --verify g-opaque.der"));
  EXPECT_EQ(slurp(file("g-opaque.out")), kEntity);
  // Default encryption (AES-256-CBC, RSA PKCS#1 v1.5) is what gpgsm reads.
  Recipient r{cert("alice"), {}};
  auto enc = encryptMessage(kMessage, std::span<const Recipient>(&r, 1));
  ASSERT_TRUE(enc);
  spit(file("g-enc.eml"), *enc);
  ASSERT_TRUE(shell("openssl cms -cmsout -in g-enc.eml -outform DER -out g-enc.der"));
  EXPECT_TRUE(shell("echo secret | " + env_ + gpg_ + "--output g-enc.out --decrypt g-enc.der"))
      << capture("echo secret | " + env_ + gpg_ + "--output g-enc.out --decrypt g-enc.der");
  EXPECT_EQ(slurp(file("g-enc.out")), kEntity);
}

TEST_F(GpgsmTest, WeReadGpgsmSignedAndEncrypted) {
  spit(file("entity.txt"), kEntity);
  ASSERT_TRUE(shell("echo secret | " + env_ + gpg_ +
                    "-u alice@example.com --output g-signed.der --sign entity.txt"));
  auto opened = openMessage(wrap("g-signed.der", "signed-data"), nullptr, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  ASSERT_TRUE(opened->signature);
  EXPECT_TRUE(opened->signature->good())
      << opened->signature->detail << " / " << opened->signature->chain.detail;
  EXPECT_EQ(opened->message, "From: alice@example.com\r\nSubject: from gpgsm\r\n" + kEntity);

  // Detached, placed into multipart/signed by hand.
  ASSERT_TRUE(shell("echo secret | " + env_ + gpg_ +
                    "-u alice@example.com --output g-det.der --detach-sign entity.txt"));
  ASSERT_TRUE(shell("openssl base64 -in g-det.der -out g-det.b64"));
  std::string multipart =
      "From: alice@example.com\r\nContent-Type: multipart/signed; "
      "protocol=\"application/pkcs7-signature\"; "
      "micalg=sha-256; boundary=\"b1\"\r\n\r\n--b1\r\n" +
      kEntity +
      "\r\n--b1\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\n" +
      slurp(file("g-det.b64")) + "\r\n--b1--\r\n";
  opened = openMessage(multipart, nullptr, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->signature->good()) << opened->signature->detail;

  ASSERT_TRUE(
      shell(env_ + "gpgsm --batch -r alice@example.com --output g-encd.der --encrypt entity.txt"));
  Identity alice = identity("alice");
  opened = openMessage(wrap("g-encd.der", "enveloped-data"), &alice, trust());
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->encrypted);
  EXPECT_FALSE(opened->cipher.empty());
  EXPECT_EQ(opened->message, "From: alice@example.com\r\nSubject: from gpgsm\r\n" + kEntity);
}

}  // namespace
}  // namespace rampart::crypto::cms
