// What the certificate authority keeps (DESIGN.md 3, issue 5): templates as
// TOML text, and one record per certificate request, from pending to issued
// to revoked. Every write is a committed transaction before it returns, so an
// issuance or revocation that was answered survives a kill -9 right after.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::store {

enum class CertStatus { pending, approved, issued, rejected, revoked };
std::string_view certStatusName(CertStatus status);
Result<CertStatus> parseCertStatus(std::string_view name);

struct CertRecord {
  std::int64_t id = 0;           // assigned by the store
  CertStatus status = CertStatus::pending;
  std::string serial;            // upper-case hex; empty until issued
  std::string template_name;
  std::string user;              // directory user the certificate is for
  std::string requester;         // who asked, e.g. "alice (basic)", "alice (certificate 1A2B)"
  std::string subject;           // RFC 2253 text
  std::string csr_sha256;        // lowercase hex of the request's DER: finds a retry
  std::string csr_der;           // kept while pending/approved
  std::string cert_der;          // once issued
  std::string renewed_serial;    // simplereenroll: the certificate it replaces
  std::int64_t requested_at = 0; // Unix seconds
  std::int64_t issued_at = 0;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::int64_t revoked_at = 0;
  int revocation_reason = 0;     // RFC 5280 5.3.1 CRLReason
  std::string decided_by;        // administrator who approved, rejected or revoked
};

struct CertFilter {
  std::optional<CertStatus> status;
  std::string user;           // empty: any
  std::string template_name;  // empty: any
  std::size_t limit = 1000;
};

struct RevokedEntry {
  std::string serial;
  std::int64_t revoked_at = 0;
  int reason = 0;
};

class CaStore {
 public:
  virtual ~CaStore() = default;

  // Templates: name -> TOML text (parsed by ca::parseTemplate, not here).
  virtual Status putTemplate(std::string_view name, std::string_view toml) = 0;
  virtual Result<std::optional<std::string>> getTemplate(std::string_view name) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> listTemplates() = 0;
  virtual Status removeTemplate(std::string_view name) = 0;  // not_found

  // A new pending (or directly to-be-issued) request; returns its id.
  virtual Result<std::int64_t> addRequest(const CertRecord& record) = 0;
  // The newest request with this CSR hash for this user and template.
  virtual Result<std::optional<CertRecord>> findByCsr(std::string_view user, std::string_view template_name,
                                                      std::string_view csr_sha256) = 0;
  virtual Result<std::optional<CertRecord>> findById(std::int64_t id) = 0;
  virtual Result<std::optional<CertRecord>> findBySerial(std::string_view serial) = 0;
  // pending -> approved | rejected; not_found / invalid_argument otherwise.
  virtual Status decide(std::int64_t id, bool approve, std::string_view by) = 0;
  // pending|approved -> issued with serial, certificate and times. A serial
  // already used is already_exists (the caller draws another).
  virtual Status markIssued(std::int64_t id, std::string_view serial, std::string_view cert_der,
                            std::string_view subject, std::int64_t issued_at, std::int64_t not_before,
                            std::int64_t not_after) = 0;
  // A certificate issued at once (no approval step): the record goes in
  // already issued (record.status == issued, serial, cert_der, subject and
  // times filled, csr_der not kept) in ONE committed transaction; returns its
  // id. A serial already used is already_exists and nothing is written (the
  // caller draws another). Same as addRequest + markIssued, one fsync less.
  virtual Result<std::int64_t> addIssued(const CertRecord& record) = 0;
  // issued -> revoked; not_found for an unknown serial, already_exists if revoked.
  virtual Status revoke(std::string_view serial, int reason, std::int64_t at, std::string_view by) = 0;
  virtual Result<std::vector<CertRecord>> list(const CertFilter& filter) = 0;
  // Every revoked certificate not yet expired at `now` (for the CRL).
  virtual Result<std::vector<RevokedEntry>> revokedSince(std::int64_t now) = 0;
  // Counts every revocation ever made; changes when the CRL must be re-issued.
  virtual Result<std::int64_t> revocationGeneration() = 0;
  // Monotonic CRL number (RFC 5280 5.2.3), durable.
  virtual Result<std::int64_t> nextCrlNumber() = 0;
};

}  // namespace rampart::store
