// The built-in directory: users, addresses, groups, argon2id password hashes
// and the certificates the CA publishes for users, in SQLite tables of its own
// ("directory" migrations), usually in the same database file as the mail store.
//
// Passwords are hashed with argon2id (RFC 9106) and stored as PHC strings
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"); a hash keeps its own cost, so
// raising the cost applies to passwords set from then on. Thread-safe: one
// connection behind a mutex; password hashing runs outside the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "directory/directory.h"
#include "store/sqlite/database.h"

namespace rampart::directory {

struct BuiltinDirectoryOptions {
  // argon2id cost (RFC 9106 section 4, second recommended option). Tests use
  // the minimum (t=1, m=8 KiB) to stay fast.
  std::uint32_t time_cost = 3;
  std::uint32_t memory_kib = 64 * 1024;
  std::uint32_t parallelism = 1;
  // Where salts come from; systemRandom() when null. Must outlive the directory.
  Random* random = nullptr;
  int busy_timeout_ms = 10'000;
};

class BuiltinDirectory final : public Directory, public DirectoryAdmin {
 public:
  // Opens (creating if needed) the directory tables in the SQLite file at
  // `path`. Errc::storage_error when the file cannot be opened or migrated,
  // invalid_argument for an argon2 cost libargon2 refuses.
  static Result<std::unique_ptr<BuiltinDirectory>> open(const std::string& path,
                                                        const BuiltinDirectoryOptions& options = {});

  // Directory
  Result<std::optional<User>> findUser(std::string_view name) override;
  Result<std::optional<User>> findByAddress(std::string_view address) override;
  Result<AuthOutcome> authenticate(std::string_view name, std::string_view password) override;
  Result<std::vector<std::string>> groupsOf(std::string_view name) override;
  // Every certificate published for the user, expired ones too (the caller
  // compares not_after with its clock), newest not_after first.
  Result<std::vector<PublishedCertificate>> certificatesOf(std::string_view name) override;
  bool storesCertificates() const override { return true; }

  // DirectoryAdmin
  Status addUser(const User& user, std::string_view password) override;
  Status setPassword(std::string_view name, std::string_view password) override;
  Status setEnabled(std::string_view name, bool enabled) override;
  Status addAddress(std::string_view name, std::string_view address) override;
  Status removeAddress(std::string_view name, std::string_view address) override;
  Status removeUser(std::string_view name) override;
  Result<std::vector<User>> listUsers() override;
  Status addGroup(std::string_view name) override;
  Status removeGroup(std::string_view name) override;
  Status addMember(std::string_view group, std::string_view user) override;
  Status removeMember(std::string_view group, std::string_view user) override;
  Result<std::vector<Group>> listGroups() override;
  // The serial is kept upper-case hex; invalid_argument for a serial that is
  // not hex, an empty or oversized purpose or certificate (64 KiB at most),
  // not_found for an unknown user. Kept until unpublished or the user is
  // removed (ON DELETE CASCADE).
  Status publishCertificate(std::string_view user, const PublishedCertificate& cert) override;
  // not_found when no certificate has this serial (a caller withdrawing a
  // certificate it may never have published can ignore that).
  Status unpublishCertificate(std::string_view serial) override;

  // Validation shared with other directory front ends (admin CLI, LDAP import).
  // A canonical user or group name: [a-z0-9._-]{1,64}.
  static bool isValidName(std::string_view name);
  // A mailbox "local@domain" of at most 254 bytes with no spaces or control
  // characters (RFC 5321 4.5.3.1.3); returns it lowercased, or nullopt.
  static std::optional<std::string> canonicalAddress(std::string_view address);

 private:
  BuiltinDirectory(store::sqlite::Database db, const BuiltinDirectoryOptions& options,
                   std::string dummy_hash);

  Result<std::string> hashPassword(std::string_view password);
  Result<std::optional<User>> loadUser(std::string_view name);  // mutex_ held
  Result<bool> userExists(std::string_view name);                // mutex_ held

  std::mutex mutex_;  // guards db_
  store::sqlite::Database db_;
  BuiltinDirectoryOptions options_;
  // Verified against for unknown users, so they cost what a wrong password does.
  std::string dummy_hash_;
};

}  // namespace rampart::directory
