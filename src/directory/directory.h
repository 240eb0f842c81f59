// Users, groups and credentials. The built-in directory keeps them in the
// store's SQLite database; an LDAP directory (OpenLDAP) will implement the same
// interface later. Both pass tests/unit/directory/conformance_test.cc.
//
// Names are canonical user names ("alice"); addresses are RFC 5321 mailboxes
// ("alice@example.org"), matched case-insensitively. Passwords never appear in
// logs or errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::directory {

struct User {
  std::string name;
  std::string display_name;
  bool enabled = true;
  std::vector<std::string> addresses;  // primary address first, then aliases
};

struct Group {
  std::string name;
  std::vector<std::string> members;  // user names
};

enum class AuthOutcome { ok, bad_credentials, disabled };

// A certificate the CA published for a user (DESIGN.md 3), so that
// ResolveRecipients can hand out S/MIME encryption certificates.
struct PublishedCertificate {
  std::string serial;      // upper-case hex, as the CA store has it
  std::string purpose;     // the template kind: "smime_encryption", "smime_signing", "tls_client", ...
  std::string der;         // the certificate
  std::int64_t not_after = 0;  // Unix seconds
};

// Read side: what the servers need at run time.
class Directory {
 public:
  virtual ~Directory() = default;

  virtual Result<std::optional<User>> findUser(std::string_view name) = 0;
  // The user that owns `address` (primary or alias), if any.
  virtual Result<std::optional<User>> findByAddress(std::string_view address) = 0;
  // Checks a password. Unknown users and wrong passwords take the same time and
  // give the same answer (bad_credentials); comparisons are constant-time.
  virtual Result<AuthOutcome> authenticate(std::string_view name, std::string_view password) = 0;
  virtual Result<std::vector<std::string>> groupsOf(std::string_view name) = 0;
  // The certificates published for the user, newest first (none by default:
  // a directory without certificate storage).
  virtual Result<std::vector<PublishedCertificate>> certificatesOf(std::string_view name) {
    (void)name;
    return std::vector<PublishedCertificate>{};
  }
  // Whether certificatesOf() can answer at all (an empty list from a
  // directory without certificate storage says nothing about the user).
  virtual bool storesCertificates() const { return false; }
};

// Write side: `rampart admin user|group ...` on the built-in directory.
class DirectoryAdmin {
 public:
  virtual ~DirectoryAdmin() = default;

  // Errc::already_exists for a taken name or address; invalid_argument for a
  // malformed name, address or an empty password.
  virtual Status addUser(const User& user, std::string_view password) = 0;
  virtual Status setPassword(std::string_view name, std::string_view password) = 0;
  virtual Status setEnabled(std::string_view name, bool enabled) = 0;
  virtual Status addAddress(std::string_view name, std::string_view address) = 0;
  virtual Status removeAddress(std::string_view name, std::string_view address) = 0;
  virtual Status removeUser(std::string_view name) = 0;
  virtual Result<std::vector<User>> listUsers() = 0;

  virtual Status addGroup(std::string_view name) = 0;
  virtual Status removeGroup(std::string_view name) = 0;
  virtual Status addMember(std::string_view group, std::string_view user) = 0;
  virtual Status removeMember(std::string_view group, std::string_view user) = 0;
  virtual Result<std::vector<Group>> listGroups() = 0;

  // Certificates (the CA publishes and withdraws them). not_found for an
  // unknown user; publishing a serial twice replaces it.
  virtual Status publishCertificate(std::string_view user, const PublishedCertificate& cert) {
    (void)user, (void)cert;
    return fail(Errc::unavailable, "this directory does not store certificates");
  }
  virtual Status unpublishCertificate(std::string_view serial) {
    (void)serial;
    return fail(Errc::unavailable, "this directory does not store certificates");
  }
};

}  // namespace rampart::directory
