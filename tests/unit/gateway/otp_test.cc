// Native OTP (RFC 4226, RFC 6238 through liboath), the second-factor store and
// the verifier that joins them: vectors, drift window, replay refusal,
// durability across reopen, remembered devices.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/clock.h"
#include "gateway/auth/otp.h"
#include "gateway/auth/second_factor_store.h"
#include "testing/temp_dir.h"

namespace rampart::gateway::auth {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

system_clock::time_point at(std::int64_t unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}

OtpSecret secretFromAscii(std::string_view key, OtpKind kind, unsigned digits,
                          OtpAlgorithm algorithm = OtpAlgorithm::sha1) {
  OtpSecret s;
  s.kind = kind;
  s.digits = digits;
  s.algorithm = algorithm;
  s.base32 = encodeBase32(key);
  return s;
}

// RFC 4226 Appendix D: secret "12345678901234567890", counters 0..9.
TEST(Otp, Rfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  auto s = secretFromAscii("12345678901234567890", OtpKind::hotp, 6);
  for (std::uint64_t c = 0; c < 10; ++c) {
    auto code = generateOtp(s, c);
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, expected[c]) << "counter " << c;
  }
}

// RFC 6238 Appendix B: 8 digits, X = 30, T0 = 0, one seed per hash.
TEST(Otp, Rfc6238AppendixB) {
  struct Vector {
    std::int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  auto s1 = secretFromAscii("12345678901234567890", OtpKind::totp, 8);
  auto s256 = secretFromAscii("12345678901234567890123456789012", OtpKind::totp, 8,
                              OtpAlgorithm::sha256);
  auto s512 = secretFromAscii(
      "1234567890123456789012345678901234567890123456789012345678901234", OtpKind::totp, 8,
      OtpAlgorithm::sha512);
  const OtpWindow no_drift{0, 0};
  for (const auto& v : vectors) {
    const auto step = static_cast<std::uint64_t>(v.time / kTotpStepSeconds);
    EXPECT_EQ(*generateOtp(s1, step), v.sha1) << v.time;
    EXPECT_EQ(*generateOtp(s256, step), v.sha256) << v.time;
    EXPECT_EQ(*generateOtp(s512, step), v.sha512) << v.time;
    // system_clock counts nanoseconds in 64 bits: it ends in 2262, before the
    // last vector's year 2603.
    if (v.time > 9'000'000'000) continue;
    EXPECT_EQ(totpStep(at(v.time)), step);
    auto m = verifyOtp(s512, v.sha512, at(v.time), no_drift);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, step);
  }
  EXPECT_EQ(totpStep(at(59)), 1u);
  EXPECT_EQ(totpStep(at(1111111109)), 0x23523ECu);  // RFC 6238 B table: T = 00..023523EC
}

TEST(Otp, Base32AsInOtpauthUris) {
  auto key = decodeBase32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, "12345678901234567890");
  EXPECT_EQ(encodeBase32("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_FALSE(decodeBase32("not*base32"));
  EXPECT_FALSE(decodeBase32(""));
}

TEST(Otp, TotpDriftWindow) {
  auto s = secretFromAscii("12345678901234567890", OtpKind::totp, 6);
  const auto now = at(1111111111);
  const auto step = totpStep(now);
  const OtpWindow window{1, 10};
  for (std::int64_t d : {-1, 0, 1}) {
    auto code = generateOtp(s, step + d);
    auto m = verifyOtp(s, *code, now, window);
    ASSERT_TRUE(m);
    ASSERT_TRUE(*m) << d;
    EXPECT_EQ(**m, step + d);
  }
  for (std::int64_t d : {-2, 2}) {
    auto m = verifyOtp(s, *generateOtp(s, step + d), now, window);
    ASSERT_TRUE(m);
    EXPECT_FALSE(*m) << d;
  }
  // Wider window.
  auto m = verifyOtp(s, *generateOtp(s, step - 3), now, OtpWindow{3, 0});
  ASSERT_TRUE(m && *m);
  EXPECT_EQ(**m, step - 3);
  // Malformed codes are no match, not errors.
  for (std::string bad : {"", "12345", "1234567", "12345a", "-12345"}) {
    auto r = verifyOtp(s, bad, now, window);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r) << bad;
  }
}

TEST(Otp, HotpLookAhead) {
  auto s = secretFromAscii("12345678901234567890", OtpKind::hotp, 6);
  s.counter = 2;
  const OtpWindow window{1, 10};
  auto m = verifyOtp(s, "359152", at(0), window);  // counter 2
  ASSERT_TRUE(m && *m);
  EXPECT_EQ(**m, 2u);
  m = verifyOtp(s, "520489", at(0), window);  // counter 9, 7 ahead
  ASSERT_TRUE(m && *m);
  EXPECT_EQ(**m, 9u);
  m = verifyOtp(s, "287082", at(0), window);  // counter 1: behind
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
  m = verifyOtp(s, "520489", at(0), OtpWindow{1, 3});  // beyond the look-ahead
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
}

TEST(Otp, UnusableSecretsRefused) {
  auto s = secretFromAscii("12345678901234567890", OtpKind::totp, 7);
  EXPECT_FALSE(validateSecret(s));
  s = secretFromAscii("12345678901234567890", OtpKind::hotp, 6, OtpAlgorithm::sha256);
  EXPECT_FALSE(validateSecret(s));
  s.base32 = "!!";
  EXPECT_FALSE(verifyOtp(s, "123456", at(0), {}));
}

class FixedRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>('1' + i % 9);
  }
};

TEST(Otp, GeneratedSecretAndUri) {
  FixedRandom random;
  auto s = generateSecret(random, OtpKind::totp, 6, OtpAlgorithm::sha256);
  EXPECT_EQ(decodeBase32(s.base32)->size(), 32u);
  EXPECT_TRUE(validateSecret(s));
  auto real = generateSecret(systemRandom());
  EXPECT_EQ(decodeBase32(real.base32)->size(), 20u);
  EXPECT_NE(real.base32, generateSecret(systemRandom()).base32);

  OtpSecret t = secretFromAscii("12345678901234567890", OtpKind::totp, 6);
  EXPECT_EQ(otpauthUri(t, "Rampart Mail", "alice@example.org"),
            "otpauth://totp/Rampart%20Mail:alice%40example.org?"
            "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rampart%20Mail&algorithm=SHA1"
            "&digits=6&period=30");
  t.kind = OtpKind::hotp;
  t.counter = 7;
  EXPECT_EQ(otpauthUri(t, "", "bob"),
            "otpauth://hotp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1"
            "&digits=6&counter=7");
}

class SecondFactorTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    store_.reset();
    auto s = SecondFactorStore::open(dir_.file("gateway.db"));
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }
  testing::TempDir dir_{"rampart-otp"};
  std::unique_ptr<SecondFactorStore> store_;
};

TEST_F(SecondFactorTest, EnrollAndReadBack) {
  auto none = store_->secret("alice");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto s = secretFromAscii("12345678901234567890", OtpKind::totp, 8, OtpAlgorithm::sha1);
  ASSERT_TRUE(store_->enroll("alice", s));
  auto got = store_->secret("alice");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->base32, s.base32);
  EXPECT_EQ((*got)->digits, 8u);
  EXPECT_EQ((*got)->kind, OtpKind::totp);
  EXPECT_FALSE((*got)->last_used_step);
  s.digits = 5;
  EXPECT_FALSE(store_->enroll("bob", s));
  EXPECT_FALSE(store_->enroll("", secretFromAscii("12345678901234567890", OtpKind::totp, 6)));
  EXPECT_TRUE(*store_->remove("alice"));
  EXPECT_FALSE(*store_->secret("alice"));
}

TEST_F(SecondFactorTest, ConsumeRefusesReplayAndSurvivesReopen) {
  ASSERT_TRUE(store_->enroll("alice", secretFromAscii("12345678901234567890", OtpKind::totp, 6)));
  EXPECT_TRUE(*store_->consume("alice", 100));
  EXPECT_FALSE(*store_->consume("alice", 100));  // same step again
  EXPECT_FALSE(*store_->consume("alice", 99));   // older step
  EXPECT_FALSE(*store_->consume("nobody", 100));
  reopen();  // acknowledged state is on disk
  EXPECT_FALSE(*store_->consume("alice", 100));
  EXPECT_EQ(*(*store_->secret("alice"))->last_used_step, 100u);
  EXPECT_TRUE(*store_->consume("alice", 101));
}

TEST_F(SecondFactorTest, VerifierTotp) {
  ManualClock clock(at(1111111111));
  TwoFactorVerifier verifier(*store_, clock);
  auto s = secretFromAscii("12345678901234567890", OtpKind::totp, 6);
  ASSERT_TRUE(store_->enroll("alice", s));
  const auto step = totpStep(clock.now());

  EXPECT_EQ(*verifier.verify("nobody", "123456"), OtpOutcome::not_enrolled);
  EXPECT_EQ(*verifier.verify("alice", "000000"), OtpOutcome::bad_code);
  EXPECT_EQ(*verifier.verify("alice", "12"), OtpOutcome::bad_code);

  const auto now_code = *generateOtp(s, step);
  EXPECT_EQ(*verifier.verify("alice", now_code), OtpOutcome::ok);
  EXPECT_EQ(*verifier.verify("alice", now_code), OtpOutcome::replayed);
  // The previous step is inside the window but older than the one used.
  EXPECT_EQ(*verifier.verify("alice", *generateOtp(s, step - 1)), OtpOutcome::replayed);
  // The next step (clock drift) is fresh.
  EXPECT_EQ(*verifier.verify("alice", *generateOtp(s, step + 1)), OtpOutcome::ok);

  // After a reopen the used step is still refused.
  reopen();
  TwoFactorVerifier again(*store_, clock);
  EXPECT_EQ(*again.verify("alice", *generateOtp(s, step + 1)), OtpOutcome::replayed);
  clock.advance(seconds(60));
  EXPECT_EQ(*again.verify("alice", *generateOtp(s, step + 2)), OtpOutcome::ok);
}

TEST_F(SecondFactorTest, VerifierHotpAdvancesCounter) {
  ManualClock clock(at(0));
  TwoFactorVerifier verifier(*store_, clock, OtpWindow{1, 10});
  ASSERT_TRUE(store_->enroll("bob", secretFromAscii("12345678901234567890", OtpKind::hotp, 6)));
  EXPECT_EQ(*verifier.verify("bob", "969429"), OtpOutcome::ok);  // counter 3, drifted ahead
  EXPECT_EQ((*store_->secret("bob"))->counter, 4u);
  EXPECT_EQ(*verifier.verify("bob", "969429"), OtpOutcome::bad_code);  // now behind the window
  EXPECT_EQ(*verifier.verify("bob", "287082"), OtpOutcome::bad_code);  // counter 1, skipped
  EXPECT_EQ(*verifier.verify("bob", "338314"), OtpOutcome::ok);        // counter 4
  reopen();
  EXPECT_EQ((*store_->secret("bob"))->counter, 5u);
  EXPECT_FALSE(*store_->consume("bob", 4));
}

TEST_F(SecondFactorTest, RememberedDevicesExpire) {
  const auto t0 = at(1'700'000'000);
  ASSERT_TRUE(store_->remember("alice", "DEV1", t0 + std::chrono::hours(24)));
  ASSERT_TRUE(store_->remember("alice", "DEV2", t0 + std::chrono::hours(1)));
  EXPECT_TRUE(*store_->isRemembered("alice", "DEV1", t0));
  EXPECT_FALSE(*store_->isRemembered("alice", "DEV3", t0));
  EXPECT_FALSE(*store_->isRemembered("bob", "DEV1", t0));
  EXPECT_FALSE(*store_->isRemembered("alice", "DEV2", t0 + std::chrono::hours(1)));
  reopen();
  EXPECT_TRUE(*store_->isRemembered("alice", "DEV2", t0 + std::chrono::minutes(59)));
  EXPECT_EQ(*store_->purgeExpired(t0 + std::chrono::hours(2)), 1);
  EXPECT_TRUE(*store_->isRemembered("alice", "DEV1", t0 + std::chrono::hours(2)));
  ASSERT_TRUE(store_->forget("alice", "DEV1"));
  EXPECT_FALSE(*store_->isRemembered("alice", "DEV1", t0));
}

}  // namespace
}  // namespace rampart::gateway::auth
