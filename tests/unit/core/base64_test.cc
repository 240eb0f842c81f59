#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace rampart {
namespace {

// RFC 4648 section 10.
const std::pair<const char*, const char*> kVectors[] = {
    {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

constexpr Base64Decode kStrict{.skip_whitespace = false, .require_padding = true, .canonical = true};

TEST(Base64Test, Rfc4648Vectors) {
  for (auto [plain, encoded] : kVectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto back = base64Decode(encoded);
    ASSERT_TRUE(back) << encoded << ": " << back.error().message();
    EXPECT_EQ(*back, plain);
    auto strict = base64Decode(encoded, kStrict);
    ASSERT_TRUE(strict) << encoded;
    EXPECT_EQ(*strict, plain);
  }
}

TEST(Base64Test, AllByteValuesRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    std::string s = all.substr(0, n);
    auto back = base64Decode(base64Encode(s), kStrict);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
    auto lines = base64Decode(base64Encode(s, 76));
    ASSERT_TRUE(lines);
    EXPECT_EQ(*lines, s);
  }
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, LinesEndEveryLineIncludingTheLast) {
  EXPECT_EQ(base64Encode("", 76), "");
  EXPECT_EQ(base64Encode("f", 64), "Zg==\r\n");
  EXPECT_EQ(base64Encode("foobar", 4, "\n"), "Zm9v\nYmFy\n");
  std::string text = base64Encode(std::string(100, 'a'), 76);
  // 136 characters: a full line of 76, then 60.
  ASSERT_EQ(text.size(), 136u + 4u);
  EXPECT_EQ(text.substr(76, 2), "\r\n");
  EXPECT_EQ(text.substr(text.size() - 2), "\r\n");
  EXPECT_EQ(text.find('\r', 78), text.size() - 2);
}

TEST(Base64Test, WhitespaceSkippedOnlyWhenAllowed) {
  EXPECT_EQ(base64Decode(" Zm9v\r\n YmFy\t").value(), "foobar");
  EXPECT_EQ(base64Decode("Zm\r\n9v").value(), "foo");
  EXPECT_EQ(base64Decode("Zg =\r\n=").value(), "f");
  auto no = base64Decode("Zm9v YmFy", {.skip_whitespace = false});
  ASSERT_FALSE(no);
  EXPECT_TRUE(no.error().is(Errc::parse_error));
  EXPECT_FALSE(base64Decode("Zm9v\n", {.skip_whitespace = false}));
  // Other controls are never whitespace.
  EXPECT_FALSE(base64Decode("Zm9v\vYmFy"));
  EXPECT_FALSE(base64Decode(std::string("Zm9v\0YmFy", 9)));
}

TEST(Base64Test, Padding) {
  // Optional by default, but when present it must complete the quantum.
  EXPECT_EQ(base64Decode("Zg").value(), "f");
  EXPECT_EQ(base64Decode("Zm8").value(), "fo");
  EXPECT_FALSE(base64Decode("Zg="));
  EXPECT_FALSE(base64Decode("Zm8=="));
  EXPECT_FALSE(base64Decode("Zm9v="));
  EXPECT_FALSE(base64Decode("Zg==="));
  EXPECT_FALSE(base64Decode("Z==="));
  EXPECT_FALSE(base64Decode("="));
  EXPECT_FALSE(base64Decode("Zg==Zg=="));  // data after padding
  EXPECT_FALSE(base64Decode("Zg=a"));
  // A lone last character is half a byte.
  EXPECT_FALSE(base64Decode("Z"));
  EXPECT_FALSE(base64Decode("Zm9vY"));
  // Required.
  EXPECT_FALSE(base64Decode("Zg", {.require_padding = true}));
  EXPECT_FALSE(base64Decode("Zm8", {.require_padding = true}));
  EXPECT_EQ(base64Decode("Zm8=", {.require_padding = true}).value(), "fo");
  EXPECT_EQ(base64Decode("", {.require_padding = true}).value(), "");
}

TEST(Base64Test, PartialEndIsLenient) {
  constexpr Base64Decode kLoose{.partial_end = true};
  EXPECT_EQ(base64Decode("Zg=", kLoose).value(), "f");
  EXPECT_EQ(base64Decode("Zg", kLoose).value(), "f");
  EXPECT_EQ(base64Decode("Zm9vY", kLoose).value(), "foo");  // the lone character is dropped
  EXPECT_EQ(base64Decode("Zm9v=", kLoose).value(), "foo");
  EXPECT_FALSE(base64Decode("Zg===", kLoose));
  EXPECT_FALSE(base64Decode("Zg==Zg", kLoose));
  EXPECT_FALSE(base64Decode("Zm9v!", kLoose));
}

TEST(Base64Test, CanonicalRefusesNonZeroUnusedBits) {
  // "Zh==" decodes to "f" too, but 'h' carries bits that "Zg==" leaves zero.
  EXPECT_EQ(base64Decode("Zh==").value(), "f");
  EXPECT_FALSE(base64Decode("Zh==", {.canonical = true}));
  EXPECT_FALSE(base64Decode("Zm9=", {.canonical = true}));
  EXPECT_FALSE(base64Decode("Zh", {.canonical = true}));
  EXPECT_EQ(base64Decode("Zm8", {.canonical = true}).value(), "fo");
}

TEST(Base64Test, BadCharacters) {
  for (const char* bad : {"Zm9v-", "Zm9v_", "Zm9v.", "Zm\xc3\xa9v", "!!!!", "Zm9v%3D"}) {
    auto r = base64Decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(Errc::parse_error)) << bad;
  }
}

TEST(Base64Test, OutputLimit) {
  EXPECT_EQ(base64Decode("Zm9vYmFy", {.max_out = 6}).value(), "foobar");
  auto over = base64Decode("Zm9vYmFy", {.max_out = 5});
  ASSERT_FALSE(over);
  EXPECT_TRUE(over.error().is(Errc::limit_exceeded));
  EXPECT_EQ(base64Decode("", {.max_out = 0}).value(), "");
  EXPECT_FALSE(base64Decode("Zg==", {.max_out = 0}));
  // The limit holds however much text there is.
  std::string big = base64Encode(std::string(1 << 16, 'x'));
  auto r = base64Decode(big, {.max_out = 1000});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::limit_exceeded));
}

}  // namespace
}  // namespace rampart
