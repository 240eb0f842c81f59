#include "gateway/auth/second_factor_store.h"

#include <limits>
#include <vector>

#include "store/sqlite/database.h"

namespace rampart::gateway::auth {
namespace {

using store::sqlite::Database;
using store::sqlite::Migration;

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
        CREATE TABLE otp_users (
          user TEXT PRIMARY KEY NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('totp', 'hotp')),
          secret TEXT NOT NULL,          -- RFC 4648 base32
          digits INTEGER NOT NULL CHECK (digits IN (6, 8)),
          algorithm TEXT NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
          counter INTEGER NOT NULL DEFAULT 0,   -- HOTP: next expected counter
          last_used_step INTEGER               -- NULL until a code is accepted
        ) STRICT;
        CREATE TABLE remembered_devices (
          user TEXT NOT NULL,
          device_id TEXT NOT NULL,
          until INTEGER NOT NULL,              -- Unix seconds
          PRIMARY KEY (user, device_id)
        ) STRICT;
        CREATE INDEX remembered_devices_until ON remembered_devices (until);
      )sql"},
  };
  return kMigrations;
}

constexpr auto kMaxStep = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - 1);

}  // namespace

Result<std::unique_ptr<SecondFactorStore>> SecondFactorStore::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  if (auto st = db->migrate("gateway_second_factor", migrations()); !st) return fail(st.error());
  return std::unique_ptr<SecondFactorStore>(
      new SecondFactorStore(std::make_unique<Database>(std::move(*db))));
}

SecondFactorStore::SecondFactorStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
SecondFactorStore::~SecondFactorStore() = default;

Result<std::optional<OtpSecret>> SecondFactorStore::secret(const std::string& user) {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "SELECT kind, secret, digits, algorithm, counter, last_used_step FROM otp_users "
      "WHERE user = ?1");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user);
  auto row = stmt->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<OtpSecret>{};
  auto kind = parseOtpKind(stmt->columnText(0));
  auto algorithm = parseOtpAlgorithm(stmt->columnText(3));
  if (!kind || !algorithm) return fail(Errc::storage_error, "corrupt OTP record");
  OtpSecret s;
  s.kind = *kind;
  s.base32 = stmt->columnText(1);
  s.digits = static_cast<unsigned>(stmt->columnInt(2));
  s.algorithm = *algorithm;
  s.counter = static_cast<std::uint64_t>(stmt->columnInt(4));
  if (!stmt->columnIsNull(5)) s.last_used_step = static_cast<std::uint64_t>(stmt->columnInt(5));
  return std::optional<OtpSecret>(std::move(s));
}

Status SecondFactorStore::enroll(const std::string& user, const OtpSecret& secret) {
  if (user.empty()) return fail(Errc::invalid_argument, "empty user name");
  if (auto st = validateSecret(secret); !st) return st;
  if (secret.counter > kMaxStep) return fail(Errc::invalid_argument, "HOTP counter out of range");
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "INSERT INTO otp_users (user, kind, secret, digits, algorithm, counter, last_used_step) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL) "
      "ON CONFLICT (user) DO UPDATE SET kind = excluded.kind, secret = excluded.secret, "
      "digits = excluded.digits, algorithm = excluded.algorithm, counter = excluded.counter, "
      "last_used_step = NULL");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user)
      .bind(2, toString(secret.kind))
      .bind(3, secret.base32)
      .bind(4, static_cast<std::int64_t>(secret.digits))
      .bind(5, toString(secret.algorithm))
      .bind(6, static_cast<std::int64_t>(secret.counter));
  return stmt->run();
}

Result<bool> SecondFactorStore::remove(const std::string& user) {
  std::lock_guard lock(mutex_);
  return store::sqlite::transaction(*db_, [&]() -> Result<bool> {
    auto devices = db_->prepare("DELETE FROM remembered_devices WHERE user = ?1");
    if (!devices) return fail(devices.error());
    devices->bind(1, user);
    if (auto st = devices->run(); !st) return fail(st.error());
    auto users = db_->prepare("DELETE FROM otp_users WHERE user = ?1");
    if (!users) return fail(users.error());
    users->bind(1, user);
    if (auto st = users->run(); !st) return fail(st.error());
    return db_->changes() > 0;
  });
}

Result<bool> SecondFactorStore::consume(const std::string& user, std::uint64_t step) {
  if (step > kMaxStep) return false;
  std::lock_guard lock(mutex_);
  // One statement, so the check and the update are atomic even across
  // processes sharing the file (RFC 6238 5.2: a code is accepted once).
  auto stmt = db_->prepare(
      "UPDATE otp_users SET last_used_step = ?2, "
      "counter = CASE WHEN kind = 'hotp' THEN ?2 + 1 ELSE counter END "
      "WHERE user = ?1 AND (last_used_step IS NULL OR last_used_step < ?2) "
      "AND (kind = 'totp' OR ?2 >= counter)");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user).bind(2, static_cast<std::int64_t>(step));
  if (auto st = stmt->run(); !st) return fail(st.error());
  return db_->changes() == 1;
}

Status SecondFactorStore::remember(const std::string& user, const std::string& device_id,
                                   std::chrono::system_clock::time_point until) {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "INSERT INTO remembered_devices (user, device_id, until) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user, device_id) DO UPDATE SET until = excluded.until");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user).bind(2, device_id).bind(3, unixSeconds(until));
  return stmt->run();
}

Result<bool> SecondFactorStore::isRemembered(const std::string& user,
                                             const std::string& device_id,
                                             std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "SELECT 1 FROM remembered_devices WHERE user = ?1 AND device_id = ?2 AND until > ?3");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user).bind(2, device_id).bind(3, unixSeconds(now));
  return stmt->step();
}

Status SecondFactorStore::forget(const std::string& user, const std::string& device_id) {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare("DELETE FROM remembered_devices WHERE user = ?1 AND device_id = ?2");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, user).bind(2, device_id);
  return stmt->run();
}

Result<std::int64_t> SecondFactorStore::purgeExpired(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare("DELETE FROM remembered_devices WHERE until <= ?1");
  if (!stmt) return fail(stmt.error());
  stmt->bind(1, unixSeconds(now));
  if (auto st = stmt->run(); !st) return fail(st.error());
  return static_cast<std::int64_t>(db_->changes());
}

std::string_view toString(OtpOutcome outcome) {
  switch (outcome) {
    case OtpOutcome::ok: return "ok";
    case OtpOutcome::bad_code: return "bad_code";
    case OtpOutcome::replayed: return "replayed";
    case OtpOutcome::not_enrolled: return "not_enrolled";
  }
  return "unknown";
}

Result<OtpOutcome> TwoFactorVerifier::verify(const std::string& user, std::string_view code,
                                             std::chrono::system_clock::time_point now) {
  auto stored = store_->secret(user);
  if (!stored) return fail(stored.error());
  if (!*stored) {
    // The same work as for an enrolled user, against a fixed key, so that the
    // time taken does not say whether the user is enrolled.
    OtpSecret dummy;
    dummy.base32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    (void)verifyOtp(dummy, code, now, window_);
    return OtpOutcome::not_enrolled;
  }
  const OtpSecret& secret = **stored;
  const std::uint64_t fresh_from = secret.last_used_step ? *secret.last_used_step + 1 : 0;
  auto matched = verifyOtp(secret, code, now, window_, fresh_from);
  if (!matched) return fail(matched.error());
  if (!*matched) return OtpOutcome::bad_code;
  if (**matched < fresh_from) return OtpOutcome::replayed;
  // consume() re-checks atomically: a concurrent use of the same code loses.
  auto accepted = store_->consume(user, **matched);
  if (!accepted) return fail(accepted.error());
  return *accepted ? OtpOutcome::ok : OtpOutcome::replayed;
}

}  // namespace rampart::gateway::auth
