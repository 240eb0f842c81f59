// The RADIUS codec (RFC 2865, RFC 3579 3.2): round trips, password hiding,
// and every way a response can be refused.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <fstream>
#include <iterator>

#include "gateway/auth/radius_packet.h"

namespace rampart::gateway::auth {
namespace {

constexpr std::string_view kSecret = "s3cr3t-shared";

RadiusAuthenticator requestAuth() {
  RadiusAuthenticator a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::uint8_t>(0xa0 + i);
  return a;
}

RadiusAccessRequest sampleRequest() {
  RadiusAccessRequest r;
  r.identifier = 42;
  r.authenticator = requestAuth();
  r.user_name = "alice";
  r.password = "correct horse battery staple";
  r.nas_identifier = "rampart-gateway";
  r.nas_ip_address = std::array<std::uint8_t, 4>{127, 0, 0, 1};
  r.state = std::string("\x01\x02state", 7);
  return r;
}

// RFC 2865 5.2 written out independently: c(i) = p(i) xor MD5(S + c(i-1)).
std::string referenceHide(std::string password, std::string_view secret,
                          const RadiusAuthenticator& ra) {
  password.resize(password.empty() ? 16 : (password.size() + 15) / 16 * 16, '\0');
  std::string prev(reinterpret_cast<const char*>(ra.data()), 16);
  for (std::size_t i = 0; i < password.size(); i += 16) {
    std::string input = std::string(secret) + prev;
    unsigned char md[16];
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr);
    for (int j = 0; j < 16; ++j) password[i + j] = static_cast<char>(password[i + j] ^ md[j]);
    prev = password.substr(i, 16);
  }
  return password;
}

TEST(RadiusPacket, ParseSerializeRoundTrip) {
  RadiusPacket p;
  p.code = 2;
  p.identifier = 7;
  p.authenticator = requestAuth();
  p.attributes = {{radius_attr::reply_message, "hello"}, {radius_attr::state, "xyz"},
                  {26, std::string(253, 'v')}, {99, ""}};
  auto bytes = serializeRadiusPacket(p);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 20u + 7 + 5 + 255 + 2);
  auto back = parseRadiusPacket(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->code, 2);
  EXPECT_EQ(back->identifier, 7);
  EXPECT_EQ(back->authenticator, p.authenticator);
  ASSERT_EQ(back->attributes.size(), 4u);
  EXPECT_EQ(back->attributes[2].value, std::string(253, 'v'));
  // Octets past Length are padding (RFC 2865 3).
  bytes->push_back(0xff);
  EXPECT_TRUE(parseRadiusPacket(*bytes));
  p.attributes.push_back({1, std::string(254, 'x')});
  EXPECT_FALSE(serializeRadiusPacket(p));
}

TEST(RadiusPacket, PasswordHidingRoundTrip) {
  const auto ra = requestAuth();
  for (std::string pw : {std::string(), std::string("a"), std::string(16, 'b'),
                         std::string(17, 'c'), std::string("correct horse battery staple"),
                         std::string(128, 'd')}) {
    auto hidden = hideRadiusPassword(pw, kSecret, ra);
    ASSERT_TRUE(hidden);
    EXPECT_EQ(*hidden, referenceHide(pw, kSecret, ra)) << pw.size();
    EXPECT_EQ(hidden->size() % 16, 0u);
    auto revealed = revealRadiusPassword(*hidden, kSecret, ra);
    ASSERT_TRUE(revealed);
    EXPECT_EQ(*revealed, pw);
  }
  EXPECT_FALSE(hideRadiusPassword(std::string(129, 'x'), kSecret, ra));
  EXPECT_FALSE(revealRadiusPassword(std::string(15, 'x'), kSecret, ra));
  EXPECT_FALSE(revealRadiusPassword(std::string(144, 'x'), kSecret, ra));
}

TEST(RadiusPacket, AccessRequestCarriesEverything) {
  const auto req = sampleRequest();
  auto bytes = encodeRadiusAccessRequest(req, kSecret);
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto parsed = parseRadiusPacket(*bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->code, 1);
  ASSERT_FALSE(parsed->attributes.empty());
  EXPECT_EQ(parsed->attributes.front().type, radius_attr::message_authenticator);  // first
  EXPECT_EQ(parsed->attributes.front().value.size(), 16u);
  // The password never travels in clear.
  std::string wire(bytes->begin(), bytes->end());
  EXPECT_EQ(wire.find(req.password), std::string::npos);

  auto decoded = decodeRadiusAccessRequest(*bytes, kSecret);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->user_name, "alice");
  EXPECT_EQ(decoded->password, req.password);
  EXPECT_EQ(decoded->nas_identifier, "rampart-gateway");
  EXPECT_EQ(decoded->state, req.state);
  EXPECT_EQ(decoded->nas_ip_address, req.nas_ip_address);
  // Another secret: the Message-Authenticator fails.
  auto wrong = decodeRadiusAccessRequest(*bytes, "other");
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(Errc::unauthenticated));

  RadiusAccessRequest bad = req;
  bad.user_name.clear();
  EXPECT_FALSE(encodeRadiusAccessRequest(bad, kSecret));
  bad = req;
  bad.nas_identifier.clear();
  bad.nas_ip_address.reset();
  EXPECT_FALSE(encodeRadiusAccessRequest(bad, kSecret));
  bad = req;
  bad.user_name = std::string(254, 'u');
  EXPECT_FALSE(encodeRadiusAccessRequest(bad, kSecret));
}

TEST(RadiusPacket, ResponsesDecode) {
  const auto ra = requestAuth();
  auto accept = encodeRadiusResponse(RadiusCode::access_accept, 42, ra,
                                     {{radius_attr::reply_message, "Welcome"}}, kSecret);
  ASSERT_TRUE(accept);
  auto r = decodeRadiusResponse(*accept, 42, ra, kSecret);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->kind, RadiusReply::accept);
  EXPECT_EQ(r->reply_message, "Welcome");

  auto challenge = encodeRadiusResponse(
      RadiusCode::access_challenge, 42, ra,
      {{radius_attr::reply_message, "Enter"}, {radius_attr::reply_message, "next code"},
       {radius_attr::state, "S1"}},
      kSecret);
  r = decodeRadiusResponse(*challenge, 42, ra, kSecret);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RadiusReply::challenge);
  EXPECT_EQ(r->state, "S1");
  EXPECT_EQ(r->reply_message, "Enter\nnext code");

  auto reject = encodeRadiusResponse(RadiusCode::access_reject, 42, ra, {}, kSecret);
  r = decodeRadiusResponse(*reject, 42, ra, kSecret);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RadiusReply::reject);
}

TEST(RadiusPacket, ResponsesRefused) {
  const auto ra = requestAuth();
  auto good = *encodeRadiusResponse(RadiusCode::access_accept, 42, ra,
                                    {{radius_attr::reply_message, "Welcome"}}, kSecret);
  auto expectRefused = [&](const std::vector<std::uint8_t>& bytes, Errc why, const char* what) {
    auto r = decodeRadiusResponse(bytes, 42, ra, kSecret);
    ASSERT_FALSE(r) << what;
    EXPECT_TRUE(r.error().is(why)) << what << ": " << r.error().message();
  };
  ASSERT_TRUE(decodeRadiusResponse(good, 42, ra, kSecret));

  // Another Identifier, another secret, another request authenticator.
  {
    auto r = decodeRadiusResponse(good, 43, ra, kSecret);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::protocol_error));
    r = decodeRadiusResponse(good, 42, ra, "wrong-secret");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::unauthenticated));
    auto other = ra;
    other[0] ^= 1;
    r = decodeRadiusResponse(good, 42, other, kSecret);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(Errc::unauthenticated));
  }

  // A flipped bit anywhere after the header breaks the Response Authenticator.
  auto flipped = good;
  flipped.back() ^= 0x01;
  expectRefused(flipped, Errc::unauthenticated, "flipped attribute");
  flipped = good;
  flipped[5] ^= 0x01;
  expectRefused(flipped, Errc::unauthenticated, "bad response authenticator");

  // Blast-RADIUS: a response with a valid Response Authenticator but no
  // Message-Authenticator is refused.
  auto bare = *encodeRadiusResponse(RadiusCode::access_accept, 42, ra,
                                    {{radius_attr::reply_message, "Welcome"}}, kSecret, false);
  expectRefused(bare, Errc::unauthenticated, "no Message-Authenticator");

  // A Message-Authenticator that does not verify, with the Response
  // Authenticator recomputed over it (what a forger who knows MD5 collisions
  // but not the secret would aim for): refused.
  {
    RadiusPacket p = *parseRadiusPacket(good);
    p.authenticator = ra;
    p.attributes.front().value[0] ^= 0x01;
    auto bytes = *serializeRadiusPacket(p);
    unsigned char md[16];
    unsigned int len = 0;
    std::string input(bytes.begin(), bytes.end());
    input += kSecret;
    EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr);
    std::copy(md, md + 16, bytes.begin() + 4);
    expectRefused(bytes, Errc::unauthenticated, "bad Message-Authenticator");
    // Two Message-Authenticators.
    p = *parseRadiusPacket(good);
    p.authenticator = ra;
    p.attributes.push_back(p.attributes.front());
    bytes = *serializeRadiusPacket(p);
    input.assign(bytes.begin(), bytes.end());
    input += kSecret;
    EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr);
    std::copy(md, md + 16, bytes.begin() + 4);
    expectRefused(bytes, Errc::unauthenticated, "two Message-Authenticators");
  }

  // Not a response code.
  auto request = *encodeRadiusAccessRequest(sampleRequest(), kSecret);
  expectRefused(request, Errc::protocol_error, "Access-Request as a response");

  // Lengths: short datagram, Length under 20, Length beyond the datagram,
  // Length over 4096.
  expectRefused(std::vector<std::uint8_t>(good.begin(), good.begin() + 19), Errc::parse_error,
                "19 octets");
  auto bad_len = good;
  bad_len[2] = 0;
  bad_len[3] = 19;
  expectRefused(bad_len, Errc::parse_error, "Length 19");
  bad_len[3] = static_cast<std::uint8_t>(good.size() + 1);
  expectRefused(bad_len, Errc::parse_error, "Length past the datagram");
  std::vector<std::uint8_t> huge(5000, 0);
  std::copy(good.begin(), good.end(), huge.begin());
  huge[2] = 0x13;
  huge[3] = 0x89;  // 5001
  expectRefused(huge, Errc::parse_error, "Length over 4096");

  // Attribute overruns: length past the packet, length 0 and 1, a lone type
  // octet at the end.
  auto overrun = good;
  overrun[good.size() - 9 + 1] = 60;  // Reply-Message "Welcome" (9 octets) claims 60
  expectRefused(overrun, Errc::parse_error, "attribute past Length");
  overrun = good;
  overrun[good.size() - 9 + 1] = 0;
  expectRefused(overrun, Errc::parse_error, "attribute length 0");
  overrun[good.size() - 9 + 1] = 1;
  expectRefused(overrun, Errc::parse_error, "attribute length 1");
  auto lone = good;
  lone.push_back(18);
  lone[3] = static_cast<std::uint8_t>(lone.size());
  expectRefused(lone, Errc::parse_error, "lone type octet");
}

// The fuzz seeds (fuzz/corpus/radius_packet/, signed with the fuzzer's secret
// and a request authenticator of 0..15) are what their names say, so the
// fuzzer starts from both sides of every check.
TEST(RadiusPacket, FuzzSeedsAreWhatTheySay) {
  RadiusAuthenticator ra{};
  for (std::size_t i = 0; i < ra.size(); ++i) ra[i] = static_cast<std::uint8_t>(i);
  auto seed = [](const char* name) {
    std::ifstream in(std::string(RAMPART_SOURCE_DIR) + "/fuzz/corpus/radius_packet/" + name,
                     std::ios::binary);
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
  };
  auto accept = decodeRadiusResponse(seed("accept"), 7, ra, "fuzz-secret");
  ASSERT_TRUE(accept) << accept.error().message();
  EXPECT_EQ(accept->kind, RadiusReply::accept);
  auto challenge = decodeRadiusResponse(seed("challenge"), 9, ra, "fuzz-secret");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->state, "next-code");
  EXPECT_TRUE(decodeRadiusResponse(seed("reject"), 8, ra, "fuzz-secret"));
  EXPECT_FALSE(decodeRadiusResponse(seed("accept_unsigned"), 7, ra, "fuzz-secret"));
  EXPECT_FALSE(parseRadiusPacket(seed("attr_overrun")));
  EXPECT_FALSE(parseRadiusPacket(seed("short")));
  auto request = decodeRadiusAccessRequest(seed("access_request_state"), "fuzz-secret");
  ASSERT_TRUE(request) << request.error().message();
  EXPECT_EQ(request->password, "654321");
  EXPECT_EQ(request->state, "next-code");
  EXPECT_EQ(decodeRadiusAccessRequest(seed("access_request"), "fuzz-secret")->password,
            "correct horse");
}

}  // namespace
}  // namespace rampart::gateway::auth
