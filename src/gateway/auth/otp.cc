#include "gateway/auth/otp.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

namespace rampart::gateway::auth {
namespace {

// liboath must be initialised once per process before use (oath_init(3)).
Status ensureOathInit() {
  static const int rc = oath_init();
  if (rc != OATH_OK) return fail(Errc::internal, "liboath initialisation failed");
  return {};
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

bool isAllDigits(std::string_view code) {
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int totpFlags(OtpAlgorithm algorithm) {
  switch (algorithm) {
    case OtpAlgorithm::sha256: return OATH_TOTP_HMAC_SHA256;
    case OtpAlgorithm::sha512: return OATH_TOTP_HMAC_SHA512;
    case OtpAlgorithm::sha1: break;
  }
  return 0;
}

// The code for one step with an already decoded key.
Result<std::string> generateWithKey(const OtpSecret& secret, const std::string& key,
                                    std::uint64_t step) {
  std::array<char, 16> out{};
  int rc = OATH_OK;
  if (secret.kind == OtpKind::hotp) {
    // RFC 4226 5.3: dynamic truncation, no checksum digit.
    rc = oath_hotp_generate(key.data(), key.size(), step, secret.digits, false,
                            OATH_HOTP_DYNAMIC_TRUNCATION, out.data());
  } else {
    // RFC 6238 4.2: T = floor(time / X), so step * X is a time inside step T.
    if (step > static_cast<std::uint64_t>(std::numeric_limits<time_t>::max() / kTotpStepSeconds)) {
      return fail(Errc::invalid_argument, "TOTP step out of range");
    }
    const auto when = static_cast<time_t>(step) * static_cast<time_t>(kTotpStepSeconds);
    rc = oath_totp_generate2(key.data(), key.size(), when, kTotpStepSeconds,
                             OATH_TOTP_DEFAULT_START_TIME, secret.digits,
                             totpFlags(secret.algorithm), out.data());
  }
  if (rc != OATH_OK) return fail(Errc::internal, std::string("liboath: ") + oath_strerror_name(rc));
  return std::string(out.data(), secret.digits);
}

}  // namespace

std::string_view toString(OtpKind kind) { return kind == OtpKind::hotp ? "hotp" : "totp"; }

std::string_view toString(OtpAlgorithm algorithm) {
  switch (algorithm) {
    case OtpAlgorithm::sha256: return "SHA256";
    case OtpAlgorithm::sha512: return "SHA512";
    case OtpAlgorithm::sha1: break;
  }
  return "SHA1";
}

Result<OtpKind> parseOtpKind(std::string_view text) {
  if (text == "totp") return OtpKind::totp;
  if (text == "hotp") return OtpKind::hotp;
  return fail(Errc::invalid_argument, "OTP kind must be totp or hotp");
}

Result<OtpAlgorithm> parseOtpAlgorithm(std::string_view text) {
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper == "SHA1") return OtpAlgorithm::sha1;
  if (upper == "SHA256") return OtpAlgorithm::sha256;
  if (upper == "SHA512") return OtpAlgorithm::sha512;
  return fail(Errc::invalid_argument, "OTP algorithm must be SHA1, SHA256 or SHA512");
}

Result<std::string> decodeBase32(std::string_view text) {
  if (auto st = ensureOathInit(); !st) return fail(st.error());
  // RFC 4648 6 is upper case; otpauth URIs and people also write it in lower
  // case and in groups separated by spaces.
  std::string normal;
  normal.reserve(text.size());
  for (char c : text) {
    if (c == ' ') continue;
    normal.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (normal.empty() || normal.size() > 1024) {
    return fail(Errc::invalid_argument, "OTP secret: empty or over-long base32");
  }
  char* raw = nullptr;
  size_t len = 0;
  const int rc = oath_base32_decode(normal.data(), normal.size(), &raw, &len);
  std::unique_ptr<char, FreeDeleter> owned(raw);
  if (rc != OATH_OK || raw == nullptr || len == 0) {
    return fail(Errc::invalid_argument, "OTP secret is not valid base32");
  }
  std::string key(raw, len);
  OPENSSL_cleanse(raw, len);
  return key;
}

std::string encodeBase32(std::string_view bytes) {
  if (!ensureOathInit()) return {};
  char* raw = nullptr;
  size_t len = 0;
  const int rc = oath_base32_encode(bytes.data(), bytes.size(), &raw, &len);
  std::unique_ptr<char, FreeDeleter> owned(raw);
  if (rc != OATH_OK || raw == nullptr) return {};
  std::string out(raw, len);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

Status validateSecret(const OtpSecret& secret) {
  if (secret.digits != 6 && secret.digits != 8) {
    return fail(Errc::invalid_argument, "OTP digits must be 6 or 8");
  }
  if (secret.kind == OtpKind::hotp && secret.algorithm != OtpAlgorithm::sha1) {
    return fail(Errc::invalid_argument, "HOTP supports only SHA1");
  }
  auto key = decodeBase32(secret.base32);
  if (!key) return fail(key.error());
  OPENSSL_cleanse(key->data(), key->size());
  return {};
}

std::uint64_t totpStep(std::chrono::system_clock::time_point now) {
  const std::int64_t seconds = unixSeconds(now);
  if (seconds < 0) return 0;
  return static_cast<std::uint64_t>(seconds / kTotpStepSeconds);
}

Result<std::string> generateOtp(const OtpSecret& secret, std::uint64_t step_or_counter) {
  if (auto st = validateSecret(secret); !st) return fail(st.error());
  auto key = decodeBase32(secret.base32);
  if (!key) return fail(key.error());
  auto code = generateWithKey(secret, *key, step_or_counter);
  OPENSSL_cleanse(key->data(), key->size());
  return code;
}

Result<std::optional<std::uint64_t>> verifyOtp(const OtpSecret& secret, std::string_view code,
                                               std::chrono::system_clock::time_point now,
                                               const OtpWindow& window,
                                               std::uint64_t prefer_from) {
  if (auto st = validateSecret(secret); !st) return fail(st.error());
  auto key = decodeBase32(secret.base32);
  if (!key) return fail(key.error());

  // The candidates: RFC 6238 5.2 (steps each side of now), RFC 4226 7.4
  // (a look-ahead from the expected counter).
  std::vector<std::uint64_t> candidates;
  if (secret.kind == OtpKind::totp) {
    const std::uint64_t centre = totpStep(now);
    const std::uint64_t w = window.totp_steps;
    const std::uint64_t first = centre >= w ? centre - w : 0;
    for (std::uint64_t s = first; s <= centre + w; ++s) candidates.push_back(s);
  } else {
    for (std::uint64_t c = secret.counter; c <= secret.counter + window.hotp_ahead; ++c) {
      candidates.push_back(c);
    }
  }

  const bool well_formed = code.size() == secret.digits && isAllDigits(code);
  std::optional<std::uint64_t> preferred;
  std::optional<std::uint64_t> any;
  Status failure;
  // Every candidate is computed and compared (CRYPTO_memcmp), match or not.
  for (std::uint64_t step : candidates) {
    auto expected = generateWithKey(secret, *key, step);
    if (!expected) {
      failure = fail(expected.error());
      break;
    }
    const bool match =
        well_formed && CRYPTO_memcmp(expected->data(), code.data(), secret.digits) == 0;
    OPENSSL_cleanse(expected->data(), expected->size());
    if (match) {
      if (!any) any = step;
      if (!preferred && step >= prefer_from) preferred = step;
    }
  }
  OPENSSL_cleanse(key->data(), key->size());
  if (!failure) return fail(failure.error());
  if (preferred) return preferred;
  return any;
}

OtpSecret generateSecret(Random& random, OtpKind kind, unsigned digits, OtpAlgorithm algorithm) {
  std::size_t size = 20;
  if (algorithm == OtpAlgorithm::sha256) size = 32;
  if (algorithm == OtpAlgorithm::sha512) size = 64;
  std::vector<std::uint8_t> bytes(size);
  random.fill(bytes);
  OtpSecret secret;
  secret.kind = kind;
  secret.digits = digits;
  secret.algorithm = algorithm;
  secret.base32 = encodeBase32(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return secret;
}

namespace {
// RFC 3986 2.3: everything but the unreserved characters is percent-encoded.
std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}
}  // namespace

std::string otpauthUri(const OtpSecret& secret, std::string_view issuer,
                       std::string_view account) {
  std::string secret_text;
  for (char c : secret.base32) {
    if (c == ' ' || c == '=') continue;
    secret_text.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  std::string uri = "otpauth://";
  uri += toString(secret.kind);
  uri += '/';
  if (!issuer.empty()) {
    uri += percentEncode(issuer);
    uri += ':';
  }
  uri += percentEncode(account);
  uri += "?secret=" + secret_text;
  if (!issuer.empty()) uri += "&issuer=" + percentEncode(issuer);
  uri += "&algorithm=";
  uri += toString(secret.algorithm);
  uri += "&digits=" + std::to_string(secret.digits);
  if (secret.kind == OtpKind::hotp) {
    uri += "&counter=" + std::to_string(secret.counter);
  } else {
    uri += "&period=" + std::to_string(kTotpStepSeconds);
  }
  return uri;
}

}  // namespace rampart::gateway::auth
