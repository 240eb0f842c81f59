// The CA store's status names: see ca_store.h. These are the strings kept in
// the database and shown by `rampart admin cert list`, so they never change.
#include "store/ca_store.h"

#include <array>
#include <utility>

namespace rampart::store {
namespace {

constexpr std::array<std::pair<CertStatus, std::string_view>, 5> kNames{{
    {CertStatus::pending, "pending"},
    {CertStatus::approved, "approved"},
    {CertStatus::issued, "issued"},
    {CertStatus::rejected, "rejected"},
    {CertStatus::revoked, "revoked"},
}};

}  // namespace

std::string_view certStatusName(CertStatus status) {
  for (const auto& [s, name] : kNames) {
    if (s == status) return name;
  }
  return "unknown";
}

Result<CertStatus> parseCertStatus(std::string_view name) {
  for (const auto& [s, n] : kNames) {
    if (n == name) return s;
  }
  return fail(Errc::invalid_argument, "unknown certificate status '" + std::string(name) +
                                          "' (pending, approved, issued, rejected, revoked)");
}

}  // namespace rampart::store
