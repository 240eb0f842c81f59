#include "directory/builtin_directory.h"

#include <argon2.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace rampart::directory {
namespace {

using store::sqlite::Database;
using store::sqlite::Statement;
using store::sqlite::transaction;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE dir_users(
  name TEXT PRIMARY KEY,
  display_name TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  password_hash TEXT NOT NULL);
CREATE TABLE dir_addresses(
  address TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES dir_users(name) ON DELETE CASCADE,
  position INTEGER NOT NULL);
CREATE INDEX dir_addresses_by_user ON dir_addresses(user, position);
CREATE TABLE dir_groups(
  name TEXT PRIMARY KEY);
CREATE TABLE dir_members(
  grp TEXT NOT NULL REFERENCES dir_groups(name) ON DELETE CASCADE,
  user TEXT NOT NULL REFERENCES dir_users(name) ON DELETE CASCADE,
  PRIMARY KEY(grp, user)) WITHOUT ROWID;
CREATE INDEX dir_members_by_user ON dir_members(user);
)sql";

// Certificates the CA published (DESIGN.md 3), so ResolveRecipients can hand
// out a user's S/MIME encryption certificate. They go with their user.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE dir_user_certificates(
  serial TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES dir_users(name) ON DELETE CASCADE,
  purpose TEXT NOT NULL,
  der BLOB NOT NULL,
  not_after INTEGER NOT NULL);
CREATE INDEX dir_user_certificates_by_user ON dir_user_certificates(user, not_after);
)sql";

// A published certificate's bounds: an X.509 certificate is a few KiB; the
// CA has RSA 4096 at most.
constexpr std::size_t kMaxCertificateBytes = 64 * 1024;
constexpr std::size_t kMaxPurposeBytes = 64;

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
// Long enough for any passphrase; bounds the work one login attempt can cause.
constexpr std::size_t kMaxPasswordBytes = 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Random& randomOf(const BuiltinDirectoryOptions& options) {
  return options.random != nullptr ? *options.random : systemRandom();
}

Result<std::string> hashWith(const BuiltinDirectoryOptions& options, std::string_view password) {
  std::array<std::uint8_t, kSaltBytes> salt{};
  randomOf(options).fill(salt);
  std::size_t len = argon2_encodedlen(options.time_cost, options.memory_kib, options.parallelism,
                                      kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(options.time_cost, options.memory_kib, options.parallelism,
                                 password.data(), password.size(), salt.data(), salt.size(),
                                 kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    Errc code = rc == ARGON2_MEMORY_ALLOCATION_ERROR ? Errc::internal : Errc::invalid_argument;
    return fail(code, std::string("argon2id: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

// Constant-time in the password (libargon2 compares with a constant-time loop).
bool verify(const std::string& encoded, std::string_view password) {
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Status validPassword(std::string_view password) {
  if (password.empty()) return fail(Errc::invalid_argument, "empty password");
  if (password.size() > kMaxPasswordBytes) return fail(Errc::invalid_argument, "password too long");
  return {};
}

Status validName(std::string_view name) {
  if (!BuiltinDirectory::isValidName(name)) {
    return fail(Errc::invalid_argument, "names are 1..64 of [a-z0-9._-]");
  }
  return {};
}

Result<bool> exists(Database& db, std::string_view sql, std::string_view key) {
  auto q = db.prepare(sql);
  if (!q) return fail(q.error());
  q->bind(1, key);
  return q->step();
}

// Runs a statement that must touch exactly one row: not_found otherwise.
Status changeOne(Database& db, std::string_view sql, std::string_view a,
                 std::optional<std::string_view> b, std::string_view what) {
  auto q = db.prepare(sql);
  if (!q) return fail(q.error());
  q->bind(1, a);
  if (b) q->bind(2, *b);
  if (auto st = q->run(); !st) return st;
  if (db.changes() == 0) return fail(Errc::not_found, std::string(what));
  return {};
}

}  // namespace

bool BuiltinDirectory::isValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::optional<std::string> BuiltinDirectory::canonicalAddress(std::string_view address) {
  if (address.size() > 254) return std::nullopt;
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return std::nullopt;
  }
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 == address.size()) {
    return std::nullopt;
  }
  std::string_view domain = address.substr(at + 1);
  if (domain.find('@') != std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  if (address.substr(0, at).find('@') != std::string_view::npos) return std::nullopt;
  return lower(address);
}

namespace {

// Serials are upper-case hex as the CA store keeps them; "1a" and "1A" are one
// certificate.
std::optional<std::string> canonicalSerial(std::string_view serial) {
  if (serial.empty() || serial.size() > 64) return std::nullopt;
  std::string out(serial);
  for (char& c : out) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return std::nullopt;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<BuiltinDirectory>> BuiltinDirectory::open(
    const std::string& path, const BuiltinDirectoryOptions& options) {
  auto db = Database::open(path, store::sqlite::OpenOptions{false, options.busy_timeout_ms});
  if (!db) return fail(db.error());
  if (auto st = db->migrate("directory", {{1, kSchemaV1}, {2, kSchemaV2}}); !st) {
    return fail(st.error());
  }
  // A hash of a random password with the current cost: an unknown user's
  // login verifies against it and fails in the time a wrong password takes.
  std::array<std::uint8_t, 32> secret{};
  systemRandom().fill(secret);
  auto dummy = hashWith(options, std::string_view(reinterpret_cast<const char*>(secret.data()),
                                                  secret.size()));
  if (!dummy) return fail(dummy.error());
  return std::unique_ptr<BuiltinDirectory>(
      new BuiltinDirectory(std::move(*db), options, std::move(*dummy)));
}

BuiltinDirectory::BuiltinDirectory(Database db, const BuiltinDirectoryOptions& options,
                                   std::string dummy_hash)
    : db_(std::move(db)), options_(options), dummy_hash_(std::move(dummy_hash)) {}

Result<std::string> BuiltinDirectory::hashPassword(std::string_view password) {
  return hashWith(options_, password);
}

Result<bool> BuiltinDirectory::userExists(std::string_view name) {
  return exists(db_, "SELECT 1 FROM dir_users WHERE name = ?1", name);
}

Result<std::optional<User>> BuiltinDirectory::loadUser(std::string_view name) {
  auto q = db_.prepare("SELECT name, display_name, enabled FROM dir_users WHERE name = ?1");
  if (!q) return fail(q.error());
  q->bind(1, name);
  auto row = q->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<User>();
  User u;
  u.name = q->columnText(0);
  u.display_name = q->columnText(1);
  u.enabled = q->columnInt(2) != 0;
  auto a = db_.prepare("SELECT address FROM dir_addresses WHERE user = ?1 ORDER BY position");
  if (!a) return fail(a.error());
  a->bind(1, u.name);
  while (true) {
    auto r = a->step();
    if (!r) return fail(r.error());
    if (!*r) break;
    u.addresses.push_back(a->columnText(0));
  }
  return std::optional<User>(std::move(u));
}

Result<std::optional<User>> BuiltinDirectory::findUser(std::string_view name) {
  std::string key = lower(name);
  if (!isValidName(key)) return std::optional<User>();
  std::lock_guard lock(mutex_);
  return loadUser(key);
}

Result<std::optional<User>> BuiltinDirectory::findByAddress(std::string_view address) {
  auto canonical = canonicalAddress(address);
  if (!canonical) return std::optional<User>();
  std::lock_guard lock(mutex_);
  auto q = db_.prepare("SELECT user FROM dir_addresses WHERE address = ?1");
  if (!q) return fail(q.error());
  q->bind(1, *canonical);
  auto row = q->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<User>();
  std::string name = q->columnText(0);
  q->reset();
  return loadUser(name);
}

Result<AuthOutcome> BuiltinDirectory::authenticate(std::string_view name,
                                                   std::string_view password) {
  std::string key = lower(name);
  std::optional<std::string> hash;
  bool enabled = false;
  if (isValidName(key)) {
    std::lock_guard lock(mutex_);
    auto q = db_.prepare("SELECT password_hash, enabled FROM dir_users WHERE name = ?1");
    if (!q) return fail(q.error());
    q->bind(1, key);
    auto row = q->step();
    if (!row) return fail(row.error());
    if (*row) {
      hash = q->columnText(0);
      enabled = q->columnInt(1) != 0;
    }
  }
  // Every path runs exactly one argon2id verification, so neither the answer
  // nor the time tells an unknown user from a wrong password.
  bool match = verify(hash ? *hash : dummy_hash_, password);
  if (!hash || !match || password.empty()) return AuthOutcome::bad_credentials;
  // Only someone who knows the password learns that the account is disabled.
  return enabled ? AuthOutcome::ok : AuthOutcome::disabled;
}

Result<std::vector<std::string>> BuiltinDirectory::groupsOf(std::string_view name) {
  std::string key = lower(name);
  std::lock_guard lock(mutex_);
  auto q = db_.prepare("SELECT grp FROM dir_members WHERE user = ?1 ORDER BY grp");
  if (!q) return fail(q.error());
  q->bind(1, key);
  std::vector<std::string> out;
  while (true) {
    auto row = q->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(q->columnText(0));
  }
  return out;
}

Status BuiltinDirectory::addUser(const User& user, std::string_view password) {
  if (auto st = validName(user.name); !st) return st;
  if (auto st = validPassword(password); !st) return st;
  std::vector<std::string> addresses;
  for (const std::string& a : user.addresses) {
    auto canonical = canonicalAddress(a);
    if (!canonical) return fail(Errc::invalid_argument, "malformed address");
    if (std::find(addresses.begin(), addresses.end(), *canonical) != addresses.end()) {
      return fail(Errc::invalid_argument, "address listed twice");
    }
    addresses.push_back(std::move(*canonical));
  }
  auto hash = hashPassword(password);
  if (!hash) return fail(hash.error());
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto taken = userExists(user.name);
    if (!taken) return fail(taken.error());
    if (*taken) return fail(Errc::already_exists, "user name taken");
    auto q = db_.prepare(
        "INSERT INTO dir_users(name, display_name, enabled, password_hash) VALUES(?1, ?2, ?3, ?4)");
    if (!q) return fail(q.error());
    q->bind(1, user.name).bind(2, user.display_name)
        .bind(3, std::int64_t{user.enabled ? 1 : 0}).bind(4, *hash);
    if (auto st = q->run(); !st) return st;
    auto a = db_.prepare("INSERT INTO dir_addresses(address, user, position) VALUES(?1, ?2, ?3)");
    if (!a) return fail(a.error());
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      auto used = exists(db_, "SELECT 1 FROM dir_addresses WHERE address = ?1", addresses[i]);
      if (!used) return fail(used.error());
      if (*used) return fail(Errc::already_exists, "address taken");
      a->reset();
      a->bind(1, addresses[i]).bind(2, user.name).bind(3, static_cast<std::int64_t>(i));
      if (auto st = a->run(); !st) return st;
    }
    return {};
  });
}

Status BuiltinDirectory::setPassword(std::string_view name, std::string_view password) {
  if (auto st = validPassword(password); !st) return st;
  auto hash = hashPassword(password);
  if (!hash) return fail(hash.error());
  std::lock_guard lock(mutex_);
  return changeOne(db_, "UPDATE dir_users SET password_hash = ?2 WHERE name = ?1", lower(name),
                   std::string_view(*hash), "user");
}

Status BuiltinDirectory::setEnabled(std::string_view name, bool enabled) {
  std::lock_guard lock(mutex_);
  auto q = db_.prepare("UPDATE dir_users SET enabled = ?2 WHERE name = ?1");
  if (!q) return fail(q.error());
  q->bind(1, lower(name)).bind(2, std::int64_t{enabled ? 1 : 0});
  if (auto st = q->run(); !st) return st;
  if (db_.changes() == 0) return fail(Errc::not_found, "user");
  return {};
}

Status BuiltinDirectory::addAddress(std::string_view name, std::string_view address) {
  auto canonical = canonicalAddress(address);
  if (!canonical) return fail(Errc::invalid_argument, "malformed address");
  std::string key = lower(name);
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto known = userExists(key);
    if (!known) return fail(known.error());
    if (!*known) return fail(Errc::not_found, "user");
    auto used = exists(db_, "SELECT 1 FROM dir_addresses WHERE address = ?1", *canonical);
    if (!used) return fail(used.error());
    if (*used) return fail(Errc::already_exists, "address taken");
    auto q = db_.prepare(
        "INSERT INTO dir_addresses(address, user, position)"
        " SELECT ?1, ?2, ifnull(max(position) + 1, 0) FROM dir_addresses WHERE user = ?2");
    if (!q) return fail(q.error());
    q->bind(1, *canonical).bind(2, key);
    return q->run();
  });
}

Status BuiltinDirectory::removeAddress(std::string_view name, std::string_view address) {
  auto canonical = canonicalAddress(address);
  if (!canonical) return fail(Errc::not_found, "address");
  std::lock_guard lock(mutex_);
  return changeOne(db_, "DELETE FROM dir_addresses WHERE address = ?2 AND user = ?1", lower(name),
                   std::string_view(*canonical), "address of that user");
}

Status BuiltinDirectory::removeUser(std::string_view name) {
  std::lock_guard lock(mutex_);
  // Addresses and memberships go by ON DELETE CASCADE.
  return changeOne(db_, "DELETE FROM dir_users WHERE name = ?1", lower(name), std::nullopt, "user");
}

Result<std::vector<User>> BuiltinDirectory::listUsers() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  {
    auto q = db_.prepare("SELECT name FROM dir_users ORDER BY name");
    if (!q) return fail(q.error());
    while (true) {
      auto row = q->step();
      if (!row) return fail(row.error());
      if (!*row) break;
      names.push_back(q->columnText(0));
    }
  }
  std::vector<User> out;
  for (const std::string& n : names) {
    auto u = loadUser(n);
    if (!u) return fail(u.error());
    if (*u) out.push_back(std::move(**u));
  }
  return out;
}

Status BuiltinDirectory::addGroup(std::string_view name) {
  if (auto st = validName(name); !st) return st;
  std::lock_guard lock(mutex_);
  auto q = db_.prepare("INSERT INTO dir_groups(name) VALUES(?1)");
  if (!q) return fail(q.error());
  q->bind(1, name);
  auto st = q->run();
  if (!st && st.error().is(Errc::already_exists)) return fail(Errc::already_exists, "group");
  return st;
}

Status BuiltinDirectory::removeGroup(std::string_view name) {
  std::lock_guard lock(mutex_);
  return changeOne(db_, "DELETE FROM dir_groups WHERE name = ?1", lower(name), std::nullopt,
                   "group");
}

Status BuiltinDirectory::addMember(std::string_view group, std::string_view user) {
  std::string g = lower(group), u = lower(user);
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto has_group = exists(db_, "SELECT 1 FROM dir_groups WHERE name = ?1", g);
    if (!has_group) return fail(has_group.error());
    if (!*has_group) return fail(Errc::not_found, "group");
    auto has_user = userExists(u);
    if (!has_user) return fail(has_user.error());
    if (!*has_user) return fail(Errc::not_found, "user");
    auto q = db_.prepare("INSERT INTO dir_members(grp, user) VALUES(?1, ?2)");
    if (!q) return fail(q.error());
    q->bind(1, g).bind(2, u);
    auto st = q->run();
    if (!st && st.error().is(Errc::already_exists)) return fail(Errc::already_exists, "member");
    return st;
  });
}

Status BuiltinDirectory::removeMember(std::string_view group, std::string_view user) {
  std::lock_guard lock(mutex_);
  return changeOne(db_, "DELETE FROM dir_members WHERE grp = ?1 AND user = ?2", lower(group),
                   std::string_view(lower(user)), "member");
}

Result<std::vector<Group>> BuiltinDirectory::listGroups() {
  std::lock_guard lock(mutex_);
  auto q = db_.prepare(
      "SELECT g.name, m.user FROM dir_groups g LEFT JOIN dir_members m ON m.grp = g.name"
      " ORDER BY g.name, m.user");
  if (!q) return fail(q.error());
  std::vector<Group> out;
  while (true) {
    auto row = q->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    std::string name = q->columnText(0);
    if (out.empty() || out.back().name != name) out.push_back(Group{name, {}});
    if (!q->columnIsNull(1)) out.back().members.push_back(q->columnText(1));
  }
  return out;
}

Result<std::vector<PublishedCertificate>> BuiltinDirectory::certificatesOf(std::string_view name) {
  std::string key = lower(name);
  std::lock_guard lock(mutex_);
  // Newest first: the one that lasts longest, then the one published last.
  auto q = db_.prepare(
      "SELECT serial, purpose, der, not_after FROM dir_user_certificates WHERE user = ?1"
      " ORDER BY not_after DESC, rowid DESC");
  if (!q) return fail(q.error());
  q->bind(1, key);
  std::vector<PublishedCertificate> out;
  while (true) {
    auto row = q->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    PublishedCertificate c;
    c.serial = q->columnText(0);
    c.purpose = q->columnText(1);
    c.der = std::string(q->columnBlob(2));
    c.not_after = q->columnInt(3);
    out.push_back(std::move(c));
  }
  return out;
}

Status BuiltinDirectory::publishCertificate(std::string_view user, const PublishedCertificate& cert) {
  auto serial = canonicalSerial(cert.serial);
  if (!serial) return fail(Errc::invalid_argument, "a serial is 1 to 64 hex digits");
  if (cert.purpose.empty() || cert.purpose.size() > kMaxPurposeBytes) {
    return fail(Errc::invalid_argument, "a certificate purpose is 1 to 64 bytes");
  }
  if (cert.der.empty() || cert.der.size() > kMaxCertificateBytes) {
    return fail(Errc::invalid_argument, "a published certificate is 1 byte to 64 KiB");
  }
  std::string key = lower(user);
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto known = userExists(key);
    if (!known) return fail(known.error());
    if (!*known) return fail(Errc::not_found, "user");
    // Publishing a serial again replaces it (directory.h).
    auto q = db_.prepare(
        "INSERT INTO dir_user_certificates(serial, user, purpose, der, not_after)"
        " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(serial) DO UPDATE SET user = excluded.user,"
        " purpose = excluded.purpose, der = excluded.der, not_after = excluded.not_after");
    if (!q) return fail(q.error());
    q->bind(1, *serial).bind(2, key).bind(3, cert.purpose).bindBlob(4, cert.der)
        .bind(5, cert.not_after);
    return q->run();
  });
}

Status BuiltinDirectory::unpublishCertificate(std::string_view serial) {
  auto canonical = canonicalSerial(serial);
  if (!canonical) return fail(Errc::not_found, "certificate");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    return changeOne(db_, "DELETE FROM dir_user_certificates WHERE serial = ?1", *canonical,
                     std::nullopt, "certificate");
  });
}

}  // namespace rampart::directory
