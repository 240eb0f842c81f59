// SQLite CaStore: see sqlite_ca_store.h.
#include "store/sqlite/sqlite_ca_store.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace rampart::store::sqlite {
namespace {

// One row per certificate request, from pending to issued to revoked. The
// serial is NULL until issued; the UNIQUE index makes a second certificate
// with a used serial fail inside the issuing transaction itself, so two
// issuers racing on the same serial cannot both succeed. The counters live in
// their own small table so that a CRL number handed out is never handed out
// again, even after the rows it covered are gone.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE ca_templates(
  name TEXT PRIMARY KEY,
  toml TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE ca_certs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  status TEXT NOT NULL,
  serial TEXT,
  template TEXT NOT NULL,
  user TEXT NOT NULL,
  requester TEXT NOT NULL,
  subject TEXT NOT NULL,
  csr_sha256 TEXT NOT NULL,
  csr_der BLOB NOT NULL,
  cert_der BLOB NOT NULL,
  renewed_serial TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  issued_at INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  not_after INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER NOT NULL DEFAULT 0,
  revocation_reason INTEGER NOT NULL DEFAULT 0,
  decided_by TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX ca_certs_serial ON ca_certs(serial);
CREATE INDEX ca_certs_csr ON ca_certs(user, template, csr_sha256);
CREATE INDEX ca_certs_status ON ca_certs(status, not_after);
CREATE TABLE ca_counters(
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO ca_counters(name, value) VALUES('revocation_generation', 0), ('crl_number', 0);
)sql";

constexpr std::string_view kColumns =
    "id, status, serial, template, user, requester, subject, csr_sha256, csr_der, cert_der,"
    " renewed_serial, requested_at, issued_at, not_before, not_after, revoked_at,"
    " revocation_reason, decided_by";

constexpr std::size_t kMaxListLimit = 100'000;

Result<CertRecord> recordFromRow(const Statement& s) {
  CertRecord r;
  r.id = s.columnInt(0);
  auto status = parseCertStatus(s.columnText(1));
  if (!status) return fail(Errc::storage_error, "ca_certs row " + std::to_string(r.id) + ": " +
                                                    status.error().detail);
  r.status = *status;
  r.serial = s.columnIsNull(2) ? std::string() : s.columnText(2);
  r.template_name = s.columnText(3);
  r.user = s.columnText(4);
  r.requester = s.columnText(5);
  r.subject = s.columnText(6);
  r.csr_sha256 = s.columnText(7);
  r.csr_der = std::string(s.columnBlob(8));
  r.cert_der = std::string(s.columnBlob(9));
  r.renewed_serial = s.columnText(10);
  r.requested_at = s.columnInt(11);
  r.issued_at = s.columnInt(12);
  r.not_before = s.columnInt(13);
  r.not_after = s.columnInt(14);
  r.revoked_at = s.columnInt(15);
  r.revocation_reason = static_cast<int>(s.columnInt(16));
  r.decided_by = s.columnText(17);
  return r;
}

// Serials are kept upper-case hex (ca_store.h), so "1a2b" and "1A2B" are the
// same certificate; anything but hex digits is refused.
Result<std::string> normalSerial(std::string_view serial) {
  if (serial.empty() || serial.size() > 64) {
    return fail(Errc::invalid_argument, "a serial is 1 to 64 hex digits");
  }
  std::string out(serial);
  for (char& c : out) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return fail(Errc::invalid_argument, "serial '" + std::string(serial) + "' is not hex");
    }
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// A string_view{} has no data pointer, and SQLite binds a null pointer as
// NULL, not as the empty text the NOT NULL columns want.
std::string_view text(std::string_view v) { return v.data() != nullptr ? v : std::string_view(""); }

// RFC 5280 5.3.1 CRLReason: 0..10, 7 is unused.
bool validReason(int reason) { return reason >= 0 && reason <= 10 && reason != 7; }

}  // namespace

Result<std::shared_ptr<SqliteCaStore>> SqliteCaStore::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return fail(db.error());
  if (auto st = db->migrate("ca", {{1, kSchemaV1}}); !st) return fail(st.error());
  return std::shared_ptr<SqliteCaStore>(new SqliteCaStore(std::move(*db)));
}

Result<Query> SqliteCaStore::query(std::string_view sql) { return statements_.query(db_, sql); }

namespace {
constexpr DocumentTable kTemplates{"ca_templates", "name"};
}  // namespace

Status SqliteCaStore::putTemplate(std::string_view name, std::string_view toml) {
  if (name.empty()) return fail(Errc::invalid_argument, "a template needs a name");
  std::lock_guard lock(mutex_);
  return putDocument(db_, statements_, kTemplates, name, toml);
}

Result<std::optional<std::string>> SqliteCaStore::getTemplate(std::string_view name) {
  std::lock_guard lock(mutex_);
  return getDocument(db_, statements_, kTemplates, name);
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteCaStore::listTemplates() {
  std::lock_guard lock(mutex_);
  return listDocuments(db_, statements_, kTemplates);
}

Status SqliteCaStore::removeTemplate(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto removed = removeDocument(db_, statements_, kTemplates, name);
  if (!removed) return fail(removed.error());
  if (!*removed) return fail(Errc::not_found, "no template '" + std::string(name) + "'");
  return {};
}

Result<std::int64_t> SqliteCaStore::addRequest(const CertRecord& r) {
  if (r.status != CertStatus::pending && r.status != CertStatus::approved) {
    return fail(Errc::invalid_argument, "a new request is pending or approved, not " +
                                            std::string(certStatusName(r.status)));
  }
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Result<std::int64_t> {
    auto q = query(
        "INSERT INTO ca_certs(status, serial, template, user, requester, subject, csr_sha256,"
        " csr_der, cert_der, renewed_serial, requested_at, decided_by)"
        " VALUES(?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, x'', ?8, ?9, ?10)");
    if (!q) return fail(q.error());
    (*q)->bind(1, certStatusName(r.status))
        .bind(2, std::string_view(r.template_name))
        .bind(3, std::string_view(r.user))
        .bind(4, std::string_view(r.requester))
        .bind(5, std::string_view(r.subject))
        .bind(6, std::string_view(r.csr_sha256))
        .bindBlob(7, r.csr_der)
        .bind(8, std::string_view(r.renewed_serial))
        .bind(9, r.requested_at)
        .bind(10, std::string_view(r.decided_by));
    if (auto st = (*q)->run(); !st) return fail(st.error());
    return db_.lastInsertId();
  });
}

Result<std::optional<CertRecord>> SqliteCaStore::readOne(
    std::string_view where_sql, const std::function<void(Statement&)>& bind) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM ca_certs WHERE " +
                    std::string(where_sql);
  auto q = query(sql);
  if (!q) return fail(q.error());
  bind(**q);
  auto row = (*q)->step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<CertRecord>();
  auto r = recordFromRow(**q);
  if (!r) return fail(r.error());
  return std::optional<CertRecord>(std::move(*r));
}

Result<std::optional<CertRecord>> SqliteCaStore::findByCsr(std::string_view user,
                                                           std::string_view template_name,
                                                           std::string_view csr_sha256) {
  std::lock_guard lock(mutex_);
  return readOne("user = ?1 AND template = ?2 AND csr_sha256 = ?3 ORDER BY id DESC LIMIT 1",
                 [&](Statement& s) { s.bind(1, user).bind(2, template_name).bind(3, csr_sha256); });
}

Result<std::optional<CertRecord>> SqliteCaStore::findById(std::int64_t id) {
  std::lock_guard lock(mutex_);
  return readOne("id = ?1", [&](Statement& s) { s.bind(1, id); });
}

Result<std::optional<CertRecord>> SqliteCaStore::findBySerial(std::string_view serial) {
  auto normal = normalSerial(serial);
  if (!normal) return std::optional<CertRecord>();  // no such certificate can exist
  std::lock_guard lock(mutex_);
  return readOne("serial = ?1", [&](Statement& s) { s.bind(1, std::string_view(*normal)); });
}

Status SqliteCaStore::decide(std::int64_t id, bool approve, std::string_view by) {
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto current = readOne("id = ?1", [&](Statement& s) { s.bind(1, id); });
    if (!current) return fail(current.error());
    if (!*current) return fail(Errc::not_found, "no request " + std::to_string(id));
    if ((*current)->status != CertStatus::pending) {
      return fail(Errc::invalid_argument, "request " + std::to_string(id) + " is " +
                                              std::string(certStatusName((*current)->status)) +
                                              ", not pending");
    }
    // A rejected request's CSR is of no further use (ca_store.h keeps it only
    // while pending or approved).
    auto q = query(
        "UPDATE ca_certs SET status = ?2, decided_by = ?3,"
        " csr_der = CASE WHEN ?2 = 'rejected' THEN x'' ELSE csr_der END WHERE id = ?1");
    if (!q) return fail(q.error());
    (*q)->bind(1, id)
        .bind(2, certStatusName(approve ? CertStatus::approved : CertStatus::rejected))
        .bind(3, text(by));
    return (*q)->run();
  });
}

Status SqliteCaStore::markIssued(std::int64_t id, std::string_view serial,
                                 std::string_view cert_der, std::string_view subject,
                                 std::int64_t issued_at, std::int64_t not_before,
                                 std::int64_t not_after) {
  auto normal = normalSerial(serial);
  if (!normal) return fail(normal.error());
  if (cert_der.empty()) return fail(Errc::invalid_argument, "an issued record needs its certificate");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto current = readOne("id = ?1", [&](Statement& s) { s.bind(1, id); });
    if (!current) return fail(current.error());
    if (!*current) return fail(Errc::not_found, "no request " + std::to_string(id));
    CertStatus status = (*current)->status;
    if (status != CertStatus::pending && status != CertStatus::approved) {
      return fail(Errc::invalid_argument, "request " + std::to_string(id) + " is " +
                                              std::string(certStatusName(status)));
    }
    auto q = query(
        "UPDATE ca_certs SET status = 'issued', serial = ?2, cert_der = ?3, subject = ?4,"
        " issued_at = ?5, not_before = ?6, not_after = ?7, csr_der = x'' WHERE id = ?1");
    if (!q) return fail(q.error());
    (*q)->bind(1, id)
        .bind(2, std::string_view(*normal))
        .bindBlob(3, cert_der)
        .bind(4, text(subject))
        .bind(5, issued_at)
        .bind(6, not_before)
        .bind(7, not_after);
    if (auto st = (*q)->run(); !st) {
      if (st.error().is(Errc::already_exists)) {
        return fail(Errc::already_exists, "serial " + *normal + " is already used");
      }
      return st;
    }
    return {};
  });
}

Result<std::int64_t> SqliteCaStore::addIssued(const CertRecord& r) {
  if (r.status != CertStatus::issued) {
    return fail(Errc::invalid_argument, "addIssued records an issued certificate, not " +
                                            std::string(certStatusName(r.status)));
  }
  auto normal = normalSerial(r.serial);
  if (!normal) return fail(normal.error());
  if (r.cert_der.empty())
    return fail(Errc::invalid_argument, "an issued record needs its certificate");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Result<std::int64_t> {
    // As markIssued leaves it: csr_der is not kept once issued.
    auto q = query(
        "INSERT INTO ca_certs(status, serial, template, user, requester, subject, csr_sha256,"
        " csr_der, cert_der, renewed_serial, requested_at, issued_at, not_before, not_after,"
        " decided_by)"
        " VALUES('issued', ?1, ?2, ?3, ?4, ?5, ?6, x'', ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!q) return fail(q.error());
    (*q)->bind(1, std::string_view(*normal))
        .bind(2, std::string_view(r.template_name))
        .bind(3, std::string_view(r.user))
        .bind(4, std::string_view(r.requester))
        .bind(5, text(r.subject))
        .bind(6, std::string_view(r.csr_sha256))
        .bindBlob(7, r.cert_der)
        .bind(8, std::string_view(r.renewed_serial))
        .bind(9, r.requested_at)
        .bind(10, r.issued_at)
        .bind(11, r.not_before)
        .bind(12, r.not_after)
        .bind(13, std::string_view(r.decided_by));
    if (auto st = (*q)->run(); !st) {
      if (st.error().is(Errc::already_exists)) {
        return fail(Errc::already_exists, "serial " + *normal + " is already used");
      }
      return fail(st.error());
    }
    return db_.lastInsertId();
  });
}

Status SqliteCaStore::revoke(std::string_view serial, int reason, std::int64_t at,
                             std::string_view by) {
  if (!validReason(reason)) {
    return fail(Errc::invalid_argument,
                "revocation reason " + std::to_string(reason) + " is not an RFC 5280 CRLReason");
  }
  auto normal = normalSerial(serial);
  if (!normal) return fail(Errc::not_found, "no certificate with serial '" + std::string(serial) + "'");
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Status {
    auto current = readOne("serial = ?1", [&](Statement& s) { s.bind(1, std::string_view(*normal)); });
    if (!current) return fail(current.error());
    if (!*current) return fail(Errc::not_found, "no certificate with serial " + *normal);
    if ((*current)->status == CertStatus::revoked) {
      return fail(Errc::already_exists, "certificate " + *normal + " is already revoked");
    }
    if ((*current)->status != CertStatus::issued) {
      return fail(Errc::invalid_argument, "certificate " + *normal + " is " +
                                              std::string(certStatusName((*current)->status)));
    }
    auto q = query(
        "UPDATE ca_certs SET status = 'revoked', revoked_at = ?2, revocation_reason = ?3,"
        " decided_by = ?4 WHERE serial = ?1");
    if (!q) return fail(q.error());
    (*q)->bind(1, std::string_view(*normal)).bind(2, at).bind(3, std::int64_t{reason}).bind(4, text(by));
    if (auto st = (*q)->run(); !st) return st;
    auto gen = query("UPDATE ca_counters SET value = value + 1 WHERE name = 'revocation_generation'");
    if (!gen) return fail(gen.error());
    return (*gen)->run();
  });
}

Result<std::vector<CertRecord>> SqliteCaStore::list(const CertFilter& filter) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM ca_certs WHERE 1";
  if (filter.status) sql += " AND status = ?1";
  if (!filter.user.empty()) sql += " AND user = ?2";
  if (!filter.template_name.empty()) sql += " AND template = ?3";
  sql += " ORDER BY id LIMIT ?4";
  std::lock_guard lock(mutex_);
  auto q = query(sql);
  if (!q) return fail(q.error());
  if (filter.status) (*q)->bind(1, certStatusName(*filter.status));
  if (!filter.user.empty()) (*q)->bind(2, std::string_view(filter.user));
  if (!filter.template_name.empty()) (*q)->bind(3, std::string_view(filter.template_name));
  (*q)->bind(4, static_cast<std::int64_t>(std::min(filter.limit, kMaxListLimit)));
  std::vector<CertRecord> out;
  while (true) {
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    auto r = recordFromRow(**q);
    if (!r) return fail(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<RevokedEntry>> SqliteCaStore::revokedSince(std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto q = query(
      "SELECT serial, revoked_at, revocation_reason FROM ca_certs"
      " WHERE status = 'revoked' AND not_after > ?1 ORDER BY serial");
  if (!q) return fail(q.error());
  (*q)->bind(1, now);
  std::vector<RevokedEntry> out;
  while (true) {
    auto row = (*q)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back({(*q)->columnText(0), (*q)->columnInt(1), static_cast<int>((*q)->columnInt(2))});
  }
  return out;
}

Result<std::int64_t> SqliteCaStore::readCounter(std::string_view name) {
  auto q = query("SELECT value FROM ca_counters WHERE name = ?1");
  if (!q) return fail(q.error());
  (*q)->bind(1, name);
  auto row = (*q)->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::storage_error, "ca_counters has no " + std::string(name));
  return (*q)->columnInt(0);
}

Result<std::int64_t> SqliteCaStore::revocationGeneration() {
  std::lock_guard lock(mutex_);
  return readCounter("revocation_generation");
}

Result<std::int64_t> SqliteCaStore::nextCrlNumber() {
  std::lock_guard lock(mutex_);
  return transaction(db_, [&]() -> Result<std::int64_t> {
    auto q = query("UPDATE ca_counters SET value = value + 1 WHERE name = 'crl_number'");
    if (!q) return fail(q.error());
    if (auto st = (*q)->run(); !st) return fail(st.error());
    return readCounter("crl_number");
  });
}

}  // namespace rampart::store::sqlite
