// What the rights server keeps (docs/rights.md, issue 6): its templates (as
// TOML text, parsed by crypto::rights::parseTemplateToml), the users whose
// licensing is revoked, and a log of every use-license request, granted or
// refused. The EAS server reads the templates too (Settings
// RightsManagementInformation, MS-ASCMD 2.2.3.150). Every write is committed
// before it returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::store {

struct RightsLogEntry {
  std::int64_t id = 0;
  std::int64_t at = 0;          // Unix seconds
  std::string user;             // who asked (the gateway's asserted identity)
  std::string license_id;       // the publishing license's id
  std::string template_id;
  std::string owner;
  bool granted = false;
  std::uint32_t rights = 0;     // granted rights (0 when refused)
  std::string reason;           // why refused, empty when granted
};

class RightsStore {
 public:
  virtual ~RightsStore() = default;

  // Templates by id (GUID, upper case) -> TOML text.
  virtual Status putTemplate(std::string_view id, std::string_view toml) = 0;
  virtual Result<std::optional<std::string>> getTemplate(std::string_view id) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> listTemplates() = 0;
  virtual Status removeTemplate(std::string_view id) = 0;  // not_found

  // Users (directory user names) who get no new use licenses.
  virtual Status revokeUser(std::string_view user, std::int64_t at, std::string_view by) = 0;
  virtual Status restoreUser(std::string_view user) = 0;  // not_found
  virtual Result<bool> userRevoked(std::string_view user) = 0;
  virtual Result<std::vector<std::string>> revokedUsers() = 0;

  virtual Result<std::int64_t> log(const RightsLogEntry& entry) = 0;
  // Newest first; `license_id` empty = all.
  virtual Result<std::vector<RightsLogEntry>> logEntries(std::string_view license_id,
                                                        std::size_t limit) = 0;
};

}  // namespace rampart::store
