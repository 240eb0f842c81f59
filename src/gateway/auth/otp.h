// One-time codes verified natively with liboath: TOTP (RFC 6238) and HOTP
// (RFC 4226), with a drift window, returning the time step or counter that
// matched so that the caller can refuse its reuse (RFC 6238 5.2, RFC 4226 7.2).
//
// Pure computation: no storage and no clock of its own (the time is passed in,
// or taken from an injected Clock by OtpVerifier). Codes are compared in
// constant time, and every candidate of the window is computed whether or not
// an earlier one matched.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"

namespace rampart::gateway::auth {

enum class OtpKind { totp, hotp };
// HMAC functions; HOTP is HMAC-SHA1 only (RFC 4226 5.2, and all liboath offers).
enum class OtpAlgorithm { sha1, sha256, sha512 };

// RFC 6238 4.1: X = 30 s, T0 = 0.
inline constexpr std::int64_t kTotpStepSeconds = 30;

// A user's code generator, as enrolled (and as the store keeps it).
struct OtpSecret {
  OtpKind kind = OtpKind::totp;
  std::string base32;  // the shared key, RFC 4648 base32 as in otpauth URIs
  unsigned digits = 6;  // 6 or 8
  OtpAlgorithm algorithm = OtpAlgorithm::sha1;
  // HOTP: the next counter expected (RFC 4226 7.2). Unused for TOTP.
  std::uint64_t counter = 0;
  // The last time step (TOTP) or counter (HOTP) accepted, if any. Maintained by
  // the store; ignored by enrollment.
  std::optional<std::uint64_t> last_used_step;
};

// How far from the expected value a code may be (RFC 6238 5.2, RFC 4226 7.4).
struct OtpWindow {
  unsigned totp_steps = 1;   // steps accepted each side of now
  unsigned hotp_ahead = 10;  // counters accepted after the expected one
};

std::string_view toString(OtpKind kind);
std::string_view toString(OtpAlgorithm algorithm);  // "SHA1", "SHA256", "SHA512"
Result<OtpKind> parseOtpKind(std::string_view text);  // "totp" | "hotp"
Result<OtpAlgorithm> parseOtpAlgorithm(std::string_view text);  // case-insensitive

// RFC 4648 base32 (case and spaces tolerated, padding optional) to key bytes,
// through liboath. invalid_argument when it is not base32 or decodes to nothing.
Result<std::string> decodeBase32(std::string_view text);
std::string encodeBase32(std::string_view bytes);  // upper case, no padding

// invalid_argument when the secret cannot be used: bad base32, digits other
// than 6 or 8, HOTP with another hash than SHA1.
Status validateSecret(const OtpSecret& secret);

// The TOTP time step of `now` (RFC 6238 4.2: floor((now - T0) / X)).
std::uint64_t totpStep(std::chrono::system_clock::time_point now);

// The code for one time step (TOTP) or counter (HOTP). For tests and tooling.
Result<std::string> generateOtp(const OtpSecret& secret, std::uint64_t step_or_counter);

// Checks `code` against the window: TOTP steps now-w..now+w, HOTP counters
// secret.counter..secret.counter+ahead. Returns the matched step/counter, or
// nullopt for no match (a malformed code is simply no match). When several
// candidates match, one >= `prefer_from` wins (the earliest such), so that an
// unused step is not hidden behind a used one that has the same code.
// Errors: invalid_argument for an unusable secret, internal if liboath fails.
Result<std::optional<std::uint64_t>> verifyOtp(const OtpSecret& secret, std::string_view code,
                                               std::chrono::system_clock::time_point now,
                                               const OtpWindow& window,
                                               std::uint64_t prefer_from = 0);

// verifyOtp with the time taken from an injected clock.
class OtpVerifier {
 public:
  explicit OtpVerifier(const Clock& clock, OtpWindow window = {})
      : clock_(&clock), window_(window) {}
  Result<std::optional<std::uint64_t>> verify(const OtpSecret& secret, std::string_view code,
                                              std::uint64_t prefer_from = 0) const {
    return verifyOtp(secret, code, clock_->now(), window_, prefer_from);
  }
  const OtpWindow& window() const { return window_; }

 private:
  const Clock* clock_;
  OtpWindow window_;
};

// A fresh random key for enrollment: 20 bytes for SHA1, 32 for SHA256, 64 for
// SHA512 (RFC 4226 4 R6 asks for at least 128 bits; RFC 6238 B uses these sizes).
OtpSecret generateSecret(Random& random, OtpKind kind = OtpKind::totp, unsigned digits = 6,
                         OtpAlgorithm algorithm = OtpAlgorithm::sha1);

// The otpauth:// URI that authenticator apps import (Key Uri Format):
// otpauth://totp/ISSUER:ACCOUNT?secret=..&issuer=..&algorithm=..&digits=..&period=30
// (hotp: &counter=N instead of period). Label and issuer are percent-encoded.
std::string otpauthUri(const OtpSecret& secret, std::string_view issuer,
                       std::string_view account);

}  // namespace rampart::gateway::auth
