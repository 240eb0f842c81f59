#include "crypto/identity_assertion.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace rampart::crypto {
namespace {

constexpr std::int64_t kNow = 1'790'000'000'000;  // Unix ms

AssertionKey makeKey(unsigned char fill) {
  AssertionKey key;
  key.secret.fill(fill);
  key.id = assertionKeyId(key.secret);
  return key;
}

Identity alice() { return {"alice@example.com", "ApplF17XK0ABCD", "basic+otp", 2}; }

RequestBinding ping() {
  return {
      "POST", "mail.example.com",
      "/Microsoft-Server-ActiveSync?Cmd=Ping&User=alice&DeviceId=ApplF17XK0ABCD&DeviceType=iPhone",
      RequestBinding::sha256Hex("<ping body>")};
}

// Base64url helpers for building tampered assertions in tests.
std::string b64urlDecode(const std::string& in) {
  static const std::string kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    acc = (acc << 6) | static_cast<unsigned>(kAlpha.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

struct Parts {
  std::string payload, mac;
};
Parts split(const std::string& header) {
  auto dot = header.rfind('.');
  return {b64urlDecode(header.substr(3, dot - 3)), header.substr(dot + 1)};
}

TEST(IdentityAssertion, RoundTrip) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  std::string header = signer.sign(alice(), ping(), kNow);
  ASSERT_EQ(header.substr(0, 3), "v1.");
  auto id = verifier.verify(header, ping(), kNow + 10);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, alice());
}

// An assertion made independently from the format documented in the header
// (Python's hmac/hashlib/base64; also the fuzz seed valid_assertion.txt).
TEST(IdentityAssertion, DocumentedFormatInteroperates) {
  AssertionVerifier verifier({makeKey(0x5a)});
  const std::string header =
      "v1."
      "MTY6NjBiZjA3YzQ4OGFhZDE4Zjs1OmFsaWNlOzc6QXBwbERFVjs5OmJhc2ljK290cDsxOjI7MTM6MTc5MDAwMDAwMDAw"
      "MDsxMzoxNzkwMDAwMDYwMDAwOzMyOjAwMTEyMjMzNDQ1NTY2Nzc4ODk"
      "5YWFiYmNjZGRlZWZmOzY0OmZkYmZjOWVmMTFmM2YxZTU3OGExNjE5MzVmOWFmMTE3Nzk0NjY5ZGFlM2Q0OWE0YmNiMjV"
      "jMDY0MWY5ZmNkODc7.m-paM8d5XC6fz4En5zSx7zAmEnWBWs0eRq1RniWgnYE";
  RequestBinding request{"POST", "mail.example.com", "/Microsoft-Server-ActiveSync",
                         RequestBinding::sha256Hex("")};
  auto id = verifier.verify(header, request, kNow);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, (Identity{"alice", "ApplDEV", "basic+otp", 2}));
}

TEST(IdentityAssertion, EmptyDeviceAndOddBytesRoundTrip) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  Identity odd{"we;ird:12:user\r\n", "", "certificate", 1};
  auto id = verifier.verify(signer.sign(odd, ping(), kNow), ping(), kNow);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, odd);
}

TEST(IdentityAssertion, PayloadFormatIsDocumentedLengthPrefixed) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  std::string payload = split(signer.sign(alice(), ping(), kNow)).payload;
  std::string kid = makeKey(1).id;
  std::string expect_prefix = std::to_string(kid.size()) + ":" + kid + ";17:alice@example.com;" +
                              "14:ApplF17XK0ABCD;9:basic+otp;1:2;13:1790000000000;" +
                              "13:1790000060000;32:";
  EXPECT_EQ(payload.substr(0, expect_prefix.size()), expect_prefix);
}

// Every byte of the payload and of the MAC matters: flipping any one is refused.
TEST(IdentityAssertion, EveryTamperedByteRefused) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  std::string header = signer.sign(alice(), ping(), kNow);
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string t = header;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    if (t == header) continue;
    EXPECT_FALSE(verifier.verify(t, ping(), kNow)) << "position " << i;
  }
  // The untampered one still verifies (no tampered attempt consumed its nonce).
  EXPECT_TRUE(verifier.verify(header, ping(), kNow));
}

// A payload re-encoded with a changed field but the old MAC is refused as bad MAC,
// for each field.
TEST(IdentityAssertion, EveryFieldTamperedRefused) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  std::string header = signer.sign(alice(), ping(), kNow);
  Parts parts = split(header);
  // Swap one field value for another of the same length, so the form stays valid.
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"alice@example.com", "mallo@example.com"},
      {"ApplF17XK0ABCD", "ApplF17XK0ZZZZ"},
      {"basic+otp", "basic+xyz"},
      {"1:2;", "1:1;"},
      {"1790000000000", "1790000000001"},
      {"1790000060000", "1790000099999"},
  };
  // base64url encoder for the re-encoding.
  auto enc = [](const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
      acc = (acc << 8) | c;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += a[(acc >> bits) & 63];
      }
    }
    if (bits > 0) out += a[(acc << (6 - bits)) & 63];
    return out;
  };
  ASSERT_EQ("v1." + enc(parts.payload) + "." + parts.mac, header);
  for (const auto& [from, to] : edits) {
    std::string p = parts.payload;
    auto pos = p.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    p.replace(pos, from.size(), to);
    auto r = verifier.verify("v1." + enc(p) + "." + parts.mac, ping(), kNow);
    ASSERT_FALSE(r) << from;
    EXPECT_EQ(r.error().detail, "identity assertion: bad MAC") << from;
  }
  // Nonce and binding (hex fields near the end).
  for (std::size_t from_end : {10u, 40u, 80u}) {
    std::string p = parts.payload;
    char& c = p[p.size() - from_end];
    c = c == 'a' ? 'b' : 'a';
    auto r = verifier.verify("v1." + enc(p) + "." + parts.mac, ping(), kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "identity assertion: bad MAC");
  }
}

TEST(IdentityAssertion, MalformedRefused) {
  AssertionVerifier verifier({makeKey(1)});
  for (const std::string& bad : std::vector<std::string>{
           "", "v1.", "v1..", "v2.AAAA.AAAA", "v1.AAAA", "v1.!!!!.AAAA", "v1.AAAA.A",
           "v1.MTox.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", std::string(5000, 'v')}) {
    auto r = verifier.verify(bad, ping(), kNow);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::parse_error)) << bad << ": " << r.error().message();
  }
  // Padding is refused (one encoding per value).
  AssertionSigner signer(makeKey(1));
  std::string header = signer.sign(alice(), ping(), kNow);
  EXPECT_FALSE(verifier.verify(header + "=", ping(), kNow));
}

TEST(IdentityAssertion, UnknownKeyRefused) {
  AssertionSigner signer(makeKey(2));
  AssertionVerifier verifier({makeKey(1)});
  auto r = verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unauthenticated));
  EXPECT_EQ(r.error().detail, "identity assertion: unknown key id");
}

TEST(IdentityAssertion, SameKeyIdWrongSecretIsBadMac) {
  AssertionKey forged = makeKey(2);
  forged.id = makeKey(1).id;  // an attacker can copy the public key id
  AssertionSigner signer(forged);
  AssertionVerifier verifier({makeKey(1)});
  auto r = verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "identity assertion: bad MAC");
}

TEST(IdentityAssertion, ExpiredRefused) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  std::string header = signer.sign(alice(), ping(), kNow);
  auto r = verifier.verify(header, ping(), kNow + 60'001);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "identity assertion: expired");
  EXPECT_TRUE(verifier.verify(header, ping(), kNow + 60'000));  // last valid millisecond
}

TEST(IdentityAssertion, IssuedInTheFutureBeyondSkewRefused) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  auto r = verifier.verify(signer.sign(alice(), ping(), kNow + 5'001), ping(), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "identity assertion: issued in the future");
  EXPECT_TRUE(verifier.verify(signer.sign(alice(), ping(), kNow + 5'000), ping(), kNow));
}

TEST(IdentityAssertion, OverlongLifetimeRefused) {
  AssertionSigner signer(makeKey(1), std::chrono::hours(2));
  AssertionVerifier verifier({makeKey(1)});
  auto r = verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "identity assertion: lifetime too long");
}

TEST(IdentityAssertion, BindingCoversMethodAuthorityTargetAndBody) {
  AssertionSigner signer(makeKey(1));
  AssertionVerifier verifier({makeKey(1)});
  std::vector<RequestBinding> others(4, ping());
  others[0].method = "GET";
  others[1].authority = "evil.example.com";
  others[2].target += "&Extra=1";
  others[3].body_sha256 = RequestBinding::sha256Hex("<another body>");
  for (const auto& other : others) {
    auto r = verifier.verify(signer.sign(alice(), ping(), kNow), other, kNow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "identity assertion: request binding mismatch");
  }
  // Field boundaries matter: moving bytes between method and authority changes the binding.
  RequestBinding a{"POS", "Tmail", "/", RequestBinding::sha256Hex("")};
  RequestBinding b{"POST", "mail", "/", RequestBinding::sha256Hex("")};
  EXPECT_FALSE(verifier.verify(signer.sign(alice(), a, kNow), b, kNow));
}

TEST(IdentityAssertion, Sha256HexKnownAnswer) {
  // FIPS 180-2 appendix B.1
  EXPECT_EQ(RequestBinding::sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(IdentityAssertion, ReplayRefusedUntilExpiryThenForgotten) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)});
  std::string header = signer.sign(alice(), ping(), kNow);
  ASSERT_TRUE(verifier.verify(header, ping(), kNow));
  auto r = verifier.verify(header, ping(), kNow + 1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "identity assertion: replayed nonce");
  EXPECT_EQ(verifier.replayEntries(), 1u);
  // Once the assertion has expired, its nonce is dropped (and the token is refused as expired).
  EXPECT_FALSE(verifier.verify(signer.sign(alice(), ping(), kNow + 61'000), ping(), kNow + 1000));
  ASSERT_TRUE(verifier.verify(signer.sign(alice(), ping(), kNow + 61'000), ping(), kNow + 61'000));
  EXPECT_EQ(verifier.replayEntries(), 1u);
}

TEST(IdentityAssertion, FullReplayCacheFailsClosed) {
  AssertionSigner signer(makeKey(1), std::chrono::seconds(60));
  AssertionVerifier verifier({makeKey(1)}, 2);
  ASSERT_TRUE(verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow));
  ASSERT_TRUE(verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow));
  auto r = verifier.verify(signer.sign(alice(), ping(), kNow), ping(), kNow);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable));
  // After the first two expire there is room again.
  EXPECT_TRUE(verifier.verify(signer.sign(alice(), ping(), kNow + 61'000), ping(), kNow + 61'000));
}

TEST(IdentityAssertion, KeyRotationAcceptsBothKeys) {
  AssertionSigner old_signer(makeKey(1));
  AssertionSigner new_signer(makeKey(2));
  AssertionVerifier verifier({makeKey(2), makeKey(1)});
  EXPECT_TRUE(verifier.verify(old_signer.sign(alice(), ping(), kNow), ping(), kNow));
  EXPECT_TRUE(verifier.verify(new_signer.sign(alice(), ping(), kNow), ping(), kNow));
  AssertionVerifier after({makeKey(2)});
  EXPECT_FALSE(after.verify(old_signer.sign(alice(), ping(), kNow), ping(), kNow));
  EXPECT_EQ(new_signer.keyId(), makeKey(2).id);
}

TEST(IdentityAssertion, ConcurrentVerifyAcceptsEachNonceOnce) {
  AssertionSigner signer(makeKey(1));
  AssertionVerifier verifier({makeKey(1)});
  std::vector<std::string> headers;
  for (int i = 0; i < 50; ++i) headers.push_back(signer.sign(alice(), ping(), kNow));
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const auto& h : headers) {
        if (verifier.verify(h, ping(), kNow)) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 50);
}

// The MAC comparison is CRYPTO_memcmp; the source is the record of that.
TEST(IdentityAssertion, MacComparedInConstantTime) {
  std::ifstream in(std::string(RAMPART_SOURCE_DIR) + "/src/crypto/identity_assertion.cc");
  std::string src((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(src.empty());
  EXPECT_NE(src.find("CRYPTO_memcmp(expected.data(), mac->data(), kMacBytes)"), std::string::npos);
  EXPECT_EQ(src.find("memcmp(expected"), src.find("CRYPTO_memcmp(expected") + 7);
  EXPECT_EQ(src.find("expected == "), std::string::npos);
}

TEST(AssertionKeyFile, WriteThenLoad) {
  testing::TempDir dir;
  std::string path = dir.file("assertion.key");
  ASSERT_TRUE(writeNewAssertionKey(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = loadAssertionKey(path);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->id.size(), 16u);
  EXPECT_EQ(key->id, assertionKeyId(key->secret));
  auto again = writeNewAssertionKey(path);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::already_exists));
  // Two fresh keys differ.
  ASSERT_TRUE(writeNewAssertionKey(dir.file("second.key")));
  EXPECT_NE(loadAssertionKey(dir.file("second.key"))->secret, key->secret);
}

TEST(AssertionKeyFile, RefusesGroupOrWorldReadable) {
  testing::TempDir dir;
  std::string path = dir.file("assertion.key");
  ASSERT_TRUE(writeNewAssertionKey(path));
  ::chmod(path.c_str(), 0640);
  auto r = loadAssertionKey(path);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::permission_denied));
  ::chmod(path.c_str(), 0604);
  EXPECT_FALSE(loadAssertionKey(path));
}

TEST(AssertionKeyFile, AcceptsHexAndBase64RefusesOtherSizes) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::string path = dir.file(name);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    return path;
  };
  auto hex = loadAssertionKey(write("hex", std::string(64, '0') + "\n"));
  ASSERT_TRUE(hex) << hex.error().message();
  EXPECT_EQ(hex->secret, makeKey(0).secret);
  // 32 bytes of 0x01 in base64 (standard alphabet, with padding).
  auto b64 = loadAssertionKey(write("b64", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"));
  ASSERT_TRUE(b64) << b64.error().message();
  EXPECT_EQ(b64->secret, makeKey(1).secret);
  EXPECT_EQ(b64->id, makeKey(1).id);
  auto short_key = loadAssertionKey(write("short", "AQEBAQ=="));
  ASSERT_FALSE(short_key);
  EXPECT_TRUE(short_key.error().is(Errc::config_error));
  EXPECT_EQ(short_key.error().detail.find("AQEB"), std::string::npos);  // never echoes the key
  EXPECT_TRUE(loadAssertionKey(dir.file("missing")).error().is(Errc::not_found));
}

}  // namespace
}  // namespace rampart::crypto
