// The gateway's own record of second factors: each user's OTP generator, the
// last code step accepted (so that a code is used once, RFC 6238 5.2 and
// RFC 4226 7.2), and the devices remembered after a good second factor (so
// that Direct Push keeps working without a code on every request).
//
// One SQLite file (WAL, synchronous=FULL through store::sqlite::Database): a
// consume() or remember() that returned has reached the disk and survives
// kill -9. Secrets are stored as their base32 text; making the file 0600 is the
// caller's job. Methods are thread-safe (one connection behind a mutex) and
// block on the disk: call them from a blocking pool (net/blocking.h), not on
// an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/error.h"
#include "gateway/auth/otp.h"

namespace rampart::store::sqlite {
class Database;
}

namespace rampart::gateway::auth {

class SecondFactorStore {
 public:
  // Opens or creates the database file and applies the schema.
  // Errors: storage_error.
  static Result<std::unique_ptr<SecondFactorStore>> open(const std::string& path);
  ~SecondFactorStore();

  // The user's generator with its HOTP counter and last used step, or nullopt
  // when the user is not enrolled. Errors: storage_error.
  Result<std::optional<OtpSecret>> secret(const std::string& user);

  // Enrolls or re-enrolls `user` (replacing any previous generator and
  // forgetting its used steps). secret.counter is the first HOTP counter.
  // Errors: invalid_argument (unusable secret or empty user), storage_error.
  Status enroll(const std::string& user, const OtpSecret& secret);

  // Removes the user's generator and remembered devices; true if enrolled.
  Result<bool> remove(const std::string& user);

  // Atomically accepts `step` (TOTP time step or HOTP counter) only if it is
  // greater than the last one accepted for the user; for HOTP the counter then
  // moves to step + 1. false: replayed or older (or the user is not enrolled).
  // Errors: storage_error.
  Result<bool> consume(const std::string& user, std::uint64_t step);

  // Remembers (user, device_id) until `until`, replacing an earlier entry.
  Status remember(const std::string& user, const std::string& device_id,
                  std::chrono::system_clock::time_point until);
  // True when (user, device_id) is remembered past `now`.
  Result<bool> isRemembered(const std::string& user, const std::string& device_id,
                            std::chrono::system_clock::time_point now);
  // Forgets one device (e.g. after a password change or a wipe).
  Status forget(const std::string& user, const std::string& device_id);
  // Deletes remembered devices whose time is over; returns how many.
  Result<std::int64_t> purgeExpired(std::chrono::system_clock::time_point now);

 private:
  explicit SecondFactorStore(std::unique_ptr<store::sqlite::Database> db);
  std::mutex mutex_;
  std::unique_ptr<store::sqlite::Database> db_;
};

enum class OtpOutcome {
  ok,            // a fresh code: its step is now used
  bad_code,      // wrong, malformed or outside the window
  replayed,      // right code, but its step (or a later one) was already used
  not_enrolled,  // the user has no generator
};
std::string_view toString(OtpOutcome outcome);

// Checks a user's code against the store: look-up, window, replay refusal.
// not_enrolled costs the same code computations as a wrong code, so the answer
// time does not tell enrolled users from others.
class TwoFactorVerifier {
 public:
  TwoFactorVerifier(SecondFactorStore& store, const Clock& clock, OtpWindow window = {})
      : store_(&store), clock_(&clock), window_(window) {}

  // Errors: storage_error, or invalid_argument for a stored secret that cannot
  // be used. Blocks on the disk (see SecondFactorStore).
  Result<OtpOutcome> verify(const std::string& user, std::string_view code,
                            std::chrono::system_clock::time_point now);
  Result<OtpOutcome> verify(const std::string& user, std::string_view code) {
    return verify(user, code, clock_->now());
  }

 private:
  SecondFactorStore* store_;
  const Clock* clock_;
  OtpWindow window_;
};

}  // namespace rampart::gateway::auth
