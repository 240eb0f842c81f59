// SqliteCaStore: the certificate lifecycle (pending -> approved/rejected ->
// issued -> revoked), filters, serial uniqueness, durable counters, and that an
// answered issuance survives a reopen and a kill -9 right after the answer.
#include <sys/types.h>

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "store/ca_store.h"
#include "store/sqlite/sqlite_ca_store.h"
#include "testing/kill9.h"
#include "testing/temp_dir.h"

namespace rampart::store {
namespace {

using sqlite::SqliteCaStore;

CertRecord request(std::string user, std::string tmpl, std::string csr_hash,
                   CertStatus status = CertStatus::pending) {
  CertRecord r;
  r.status = status;
  r.template_name = std::move(tmpl);
  r.user = user;
  r.requester = user + " (basic)";
  r.subject = "CN=" + user;
  r.csr_sha256 = std::move(csr_hash);
  r.csr_der = std::string("\x30\x03\x02\x01\x00", 5);
  r.requested_at = 1000;
  return r;
}

CertFilter filter(std::optional<CertStatus> status, std::string user = {},
                  std::string tmpl = {}, std::size_t limit = 1000) {
  CertFilter f;
  f.status = status;
  f.user = std::move(user);
  f.template_name = std::move(tmpl);
  f.limit = limit;
  return f;
}

class CaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteCaStore::open(path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = *s;
  }
  std::string path() const { return dir_.file("rampart.db"); }
  void reopen() {
    store_.reset();
    auto s = SqliteCaStore::open(path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = *s;
  }
  std::int64_t add(const CertRecord& r) {
    auto id = store_->addRequest(r);
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : -1;
  }

  testing::TempDir dir_{"rampart-ca-store"};
  std::shared_ptr<SqliteCaStore> store_;
};

TEST(CertStatusNames, RoundTrip) {
  for (auto s : {CertStatus::pending, CertStatus::approved, CertStatus::issued,
                 CertStatus::rejected, CertStatus::revoked}) {
    auto back = parseCertStatus(certStatusName(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(certStatusName(CertStatus::issued), "issued");
  auto bad = parseCertStatus("Issued");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::invalid_argument));
}

TEST_F(CaStoreTest, Templates) {
  auto none = store_->getTemplate("device");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store_->putTemplate("device", "name = \"device\"\n"));
  ASSERT_TRUE(store_->putTemplate("wifi", "name = \"wifi\"\n"));
  ASSERT_TRUE(store_->putTemplate("device", "name = \"device\"\nenabled = false\n"));  // replaces
  auto got = store_->getTemplate("device");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, "name = \"device\"\nenabled = false\n");
  auto all = store_->listTemplates();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "device");
  EXPECT_EQ((*all)[1].first, "wifi");
  ASSERT_TRUE(store_->removeTemplate("wifi"));
  auto again = store_->removeTemplate("wifi");
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(Errc::not_found));
  EXPECT_FALSE(store_->putTemplate("", "x = 1"));
}

TEST_F(CaStoreTest, FullLifecycle) {
  std::int64_t id = add(request("alice", "device", "aa11"));
  auto rec = store_->findById(id);
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->status, CertStatus::pending);
  EXPECT_EQ((*rec)->requester, "alice (basic)");
  EXPECT_EQ((*rec)->csr_der.size(), 5u);
  EXPECT_TRUE((*rec)->serial.empty());

  ASSERT_TRUE(store_->decide(id, true, "admin"));
  rec = store_->findById(id);
  EXPECT_EQ((*rec)->status, CertStatus::approved);
  EXPECT_EQ((*rec)->decided_by, "admin");
  // Only a pending request is decided.
  auto twice = store_->decide(id, false, "admin");
  ASSERT_FALSE(twice);
  EXPECT_TRUE(twice.error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->decide(9999, true, "admin").error().is(Errc::not_found));

  ASSERT_TRUE(store_->markIssued(id, "1a2b", "CERTDER", "CN=alice,O=Example", 2000, 1990, 5000));
  rec = store_->findById(id);
  EXPECT_EQ((*rec)->status, CertStatus::issued);
  EXPECT_EQ((*rec)->serial, "1A2B");  // kept upper-case
  EXPECT_EQ((*rec)->cert_der, "CERTDER");
  EXPECT_EQ((*rec)->subject, "CN=alice,O=Example");
  EXPECT_EQ((*rec)->issued_at, 2000);
  EXPECT_EQ((*rec)->not_before, 1990);
  EXPECT_EQ((*rec)->not_after, 5000);
  EXPECT_TRUE((*rec)->csr_der.empty());  // kept only while pending/approved
  auto by_serial = store_->findBySerial("1A2b");
  ASSERT_TRUE(by_serial && *by_serial);
  EXPECT_EQ((*by_serial)->id, id);
  auto by_csr = store_->findByCsr("alice", "device", "aa11");
  ASSERT_TRUE(by_csr && *by_csr);
  EXPECT_EQ((*by_csr)->id, id);
  // An issued record is not issued again.
  EXPECT_TRUE(store_->markIssued(id, "FF", "X", "CN=a", 1, 1, 2).error().is(Errc::invalid_argument));

  auto gen0 = store_->revocationGeneration();
  ASSERT_TRUE(gen0);
  EXPECT_EQ(*gen0, 0);
  ASSERT_TRUE(store_->revoke("1A2B", 1, 3000, "admin2"));
  rec = store_->findById(id);
  EXPECT_EQ((*rec)->status, CertStatus::revoked);
  EXPECT_EQ((*rec)->revoked_at, 3000);
  EXPECT_EQ((*rec)->revocation_reason, 1);
  EXPECT_EQ((*rec)->decided_by, "admin2");
  EXPECT_EQ(*store_->revocationGeneration(), 1);
  EXPECT_TRUE(store_->revoke("1A2B", 1, 3001, "admin2").error().is(Errc::already_exists));
  EXPECT_TRUE(store_->revoke("DEAD", 0, 3001, "admin2").error().is(Errc::not_found));
  EXPECT_TRUE(store_->revoke("not hex", 0, 3001, "admin2").error().is(Errc::not_found));
  EXPECT_TRUE(store_->revoke("1A2B", 7, 3001, "a").error().is(Errc::invalid_argument));
  EXPECT_EQ(*store_->revocationGeneration(), 1);

  auto revoked = store_->revokedSince(4000);
  ASSERT_TRUE(revoked);
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].serial, "1A2B");
  EXPECT_EQ((*revoked)[0].revoked_at, 3000);
  EXPECT_EQ((*revoked)[0].reason, 1);
  // Expired certificates leave the CRL (RFC 5280 3.3).
  EXPECT_TRUE(store_->revokedSince(5000)->empty());
}

TEST_F(CaStoreTest, RejectAndDirectIssue) {
  std::int64_t rejected = add(request("bob", "device", "bb"));
  ASSERT_TRUE(store_->decide(rejected, false, "admin"));
  auto rec = store_->findById(rejected);
  EXPECT_EQ((*rec)->status, CertStatus::rejected);
  EXPECT_TRUE((*rec)->csr_der.empty());
  EXPECT_TRUE(store_->markIssued(rejected, "01", "X", "CN=b", 1, 1, 2).error().is(Errc::invalid_argument));

  // A request that needs no approval goes straight from pending to issued.
  std::int64_t direct = add(request("bob", "device", "bc"));
  ASSERT_TRUE(store_->markIssued(direct, "02", "X", "CN=bob", 1, 1, 2));
  EXPECT_TRUE(store_->markIssued(424242, "03", "X", "CN=bob", 1, 1, 2).error().is(Errc::not_found));
  EXPECT_TRUE(store_->markIssued(direct, "", "X", "CN=bob", 1, 1, 2).error().is(Errc::invalid_argument));

  // A new record is pending or approved, nothing else.
  EXPECT_FALSE(store_->addRequest(request("bob", "device", "bd", CertStatus::issued)));
  EXPECT_TRUE(store_->addRequest(request("bob", "device", "bd", CertStatus::approved)));
}

TEST_F(CaStoreTest, SerialIsUnique) {
  std::int64_t a = add(request("alice", "device", "01"));
  std::int64_t b = add(request("bob", "device", "02"));
  ASSERT_TRUE(store_->markIssued(a, "ABCDEF", "A", "CN=alice", 1, 1, 100));
  auto clash = store_->markIssued(b, "abcdef", "B", "CN=bob", 1, 1, 100);
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().is(Errc::already_exists)) << clash.error().message();
  // The failed transaction left b untouched, and another serial works.
  auto rec = store_->findById(b);
  EXPECT_EQ((*rec)->status, CertStatus::pending);
  EXPECT_EQ((*rec)->csr_der.size(), 5u);
  ASSERT_TRUE(store_->markIssued(b, "ABCDF0", "B", "CN=bob", 1, 1, 100));
  EXPECT_EQ((*store_->findBySerial("ABCDEF"))->user, "alice");
}

TEST_F(CaStoreTest, FindByCsrTakesNewest) {
  std::int64_t first = add(request("alice", "device", "cafe"));
  ASSERT_TRUE(store_->decide(first, false, "admin"));
  std::int64_t second = add(request("alice", "device", "cafe"));
  auto found = store_->findByCsr("alice", "device", "cafe");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, second);
  EXPECT_FALSE(*store_->findByCsr("bob", "device", "cafe"));
  EXPECT_FALSE(*store_->findByCsr("alice", "wifi", "cafe"));
  EXPECT_FALSE(*store_->findById(second + 100));
  EXPECT_FALSE(*store_->findBySerial("00"));
}

TEST_F(CaStoreTest, ListFilters) {
  std::int64_t a1 = add(request("alice", "device", "1"));
  std::int64_t a2 = add(request("alice", "wifi", "2"));
  add(request("bob", "device", "3"));
  std::int64_t b2 = add(request("bob", "wifi", "4"));
  ASSERT_TRUE(store_->markIssued(a1, "A1", "X", "CN=alice", 1, 1, 100));
  ASSERT_TRUE(store_->markIssued(b2, "B2", "X", "CN=bob", 1, 1, 100));
  ASSERT_TRUE(store_->revoke("B2", 4, 50, "admin"));
  ASSERT_TRUE(store_->decide(a2, false, "admin"));

  auto ids = [&](const CertFilter& f) {
    std::vector<std::int64_t> out;
    auto l = store_->list(f);
    EXPECT_TRUE(l);
    if (l) {
      for (const auto& r : *l) out.push_back(r.id);
    }
    return out;
  };
  EXPECT_EQ(ids({}).size(), 4u);
  EXPECT_EQ(ids(filter(std::nullopt, "alice")), (std::vector<std::int64_t>{a1, a2}));
  EXPECT_EQ(ids(filter(std::nullopt, "", "wifi")), (std::vector<std::int64_t>{a2, b2}));
  EXPECT_EQ(ids(filter(CertStatus::issued)), (std::vector<std::int64_t>{a1}));
  EXPECT_EQ(ids(filter(CertStatus::revoked, "bob", "wifi")),
            (std::vector<std::int64_t>{b2}));
  EXPECT_TRUE(ids(filter(CertStatus::revoked, "alice")).empty());
  EXPECT_EQ(ids(filter(std::nullopt, "", "", 2)).size(), 2u);
}

TEST_F(CaStoreTest, CrlNumbersAreMonotonicAndDurable) {
  auto n1 = store_->nextCrlNumber();
  auto n2 = store_->nextCrlNumber();
  ASSERT_TRUE(n1 && n2);
  EXPECT_EQ(*n1, 1);
  EXPECT_EQ(*n2, 2);
  reopen();
  EXPECT_EQ(*store_->nextCrlNumber(), 3);
}

TEST_F(CaStoreTest, ReopenKeepsEverything) {
  ASSERT_TRUE(store_->putTemplate("device", "name = \"device\"\n"));
  std::int64_t a = add(request("alice", "device", "1"));
  std::int64_t b = add(request("bob", "device", "2"));
  std::int64_t c = add(request("carol", "device", "3"));
  ASSERT_TRUE(store_->markIssued(a, "0A", "CERT-A", "CN=alice", 10, 9, 1000));
  ASSERT_TRUE(store_->markIssued(b, "0B", "CERT-B", "CN=bob", 10, 9, 1000));
  ASSERT_TRUE(store_->revoke("0B", 3, 20, "admin"));
  ASSERT_TRUE(store_->decide(c, true, "admin"));
  ASSERT_TRUE(store_->nextCrlNumber());
  reopen();
  EXPECT_EQ(**store_->getTemplate("device"), "name = \"device\"\n");
  EXPECT_EQ((*store_->findBySerial("0A"))->cert_der, "CERT-A");
  EXPECT_EQ((*store_->findById(b))->status, CertStatus::revoked);
  EXPECT_EQ((*store_->findById(c))->status, CertStatus::approved);
  EXPECT_EQ(*store_->revocationGeneration(), 1);
  EXPECT_EQ(store_->revokedSince(0)->size(), 1u);
  EXPECT_EQ(*store_->nextCrlNumber(), 2);
  // Ids keep counting after a reopen.
  EXPECT_GT(add(request("dave", "device", "4")), c);
}

TEST_F(CaStoreTest, ConcurrentIssuersNeverShareASerial) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> clashes{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto id = store_->addRequest(request("u" + std::to_string(t), "device", std::to_string(i)));
        if (!id) continue;
        // Every thread tries the same serials: exactly one wins each.
        for (int serial = 1;; ++serial) {
          auto st = store_->markIssued(*id, std::to_string(serial), "X", "CN=u", 1, 1, 2);
          if (st) break;
          if (!st.error().is(Errc::already_exists)) return;
          ++clashes;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = store_->list(filter(CertStatus::issued));
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> serials;
  for (const auto& r : *all) serials.insert(r.serial);
  EXPECT_EQ(serials.size(), all->size());
  EXPECT_GT(clashes.load(), 0);
}

// The child opens its own store, issues, and is killed the instant markIssued
// answers: no destructor, no checkpoint. The parent must find the record.
TEST_F(CaStoreTest, IssuedRecordSurvivesSigkill) {
  store_.reset();  // no open connection across fork()
  ASSERT_EQ(rampart::testing::runThenKill9([&] {
              auto s = SqliteCaStore::open(path());
              if (!s) return 2;
              auto id = (*s)->addRequest(request("alice", "device", "feed"));
              if (!id) return 3;
              if (!(*s)->markIssued(*id, "C0FFEE", "DER", "CN=alice", 1, 1, 99)) return 4;
              if (!(*s)->revoke("C0FFEE", 1, 5, "admin")) return 5;
              return 0;
            }),
            "");

  reopen();
  auto rec = store_->findBySerial("C0FFEE");
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->status, CertStatus::revoked);
  EXPECT_EQ((*rec)->cert_der, "DER");
  EXPECT_EQ(*store_->revocationGeneration(), 1);
}

CertRecord issuedRecord(std::string user, std::string csr_hash, std::string serial) {
  CertRecord r = request(std::move(user), "device", std::move(csr_hash), CertStatus::issued);
  r.serial = std::move(serial);
  r.cert_der = "CERT-" + r.serial;
  r.subject = "CN=" + r.user + ",O=Example";
  r.renewed_serial = "0A";
  r.issued_at = 2000;
  r.not_before = 1990;
  r.not_after = 5000;
  return r;
}

// addIssued: one transaction gives the same row as addRequest + markIssued.
TEST_F(CaStoreTest, AddIssuedRecordsAnIssuedCertificate) {
  auto id = store_->addIssued(issuedRecord("alice", "aa", "1a2b"));
  ASSERT_TRUE(id) << id.error().message();
  auto rec = store_->findById(*id);
  ASSERT_TRUE(rec && *rec);
  const CertRecord& r = **rec;
  EXPECT_EQ(r.status, CertStatus::issued);
  EXPECT_EQ(r.serial, "1A2B");  // normalised like markIssued
  EXPECT_EQ(r.cert_der, "CERT-1a2b");
  EXPECT_EQ(r.subject, "CN=alice,O=Example");
  EXPECT_EQ(r.template_name, "device");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.requester, "alice (basic)");
  EXPECT_EQ(r.csr_sha256, "aa");
  EXPECT_TRUE(r.csr_der.empty());  // not kept once issued
  EXPECT_EQ(r.renewed_serial, "0A");
  EXPECT_EQ(r.requested_at, 1000);
  EXPECT_EQ(r.issued_at, 2000);
  EXPECT_EQ(r.not_before, 1990);
  EXPECT_EQ(r.not_after, 5000);
  // Found as a retry would find it, and revocable like any issued one.
  auto again = store_->findByCsr("alice", "device", "aa");
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->id, *id);
  EXPECT_EQ((*store_->findBySerial("1a2b"))->id, *id);
  EXPECT_TRUE(store_->revoke("1A2B", 1, 3000, "admin"));
  EXPECT_EQ((*store_->findById(*id))->status, CertStatus::revoked);
}

TEST_F(CaStoreTest, AddIssuedRefusesOtherStatusesAndMissingFields) {
  for (auto s :
       {CertStatus::pending, CertStatus::approved, CertStatus::rejected, CertStatus::revoked}) {
    CertRecord r = issuedRecord("bob", "bb", "01");
    r.status = s;
    auto id = store_->addIssued(r);
    ASSERT_FALSE(id);
    EXPECT_TRUE(id.error().is(Errc::invalid_argument));
  }
  CertRecord no_serial = issuedRecord("bob", "bb", "");
  EXPECT_TRUE(store_->addIssued(no_serial).error().is(Errc::invalid_argument));
  CertRecord bad_serial = issuedRecord("bob", "bb", "XYZ");
  EXPECT_TRUE(store_->addIssued(bad_serial).error().is(Errc::invalid_argument));
  CertRecord no_cert = issuedRecord("bob", "bb", "01");
  no_cert.cert_der.clear();
  EXPECT_TRUE(store_->addIssued(no_cert).error().is(Errc::invalid_argument));
  EXPECT_TRUE(store_->list(filter(std::nullopt))->empty());
}

// A used serial, whether from markIssued or addIssued, is already_exists and
// writes nothing; another serial then works.
TEST_F(CaStoreTest, AddIssuedSerialClashWritesNothing) {
  std::int64_t a = add(request("alice", "device", "01"));
  ASSERT_TRUE(store_->markIssued(a, "ABCDEF", "A", "CN=alice", 1, 1, 100));
  auto clash = store_->addIssued(issuedRecord("bob", "02", "abcdef"));
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().is(Errc::already_exists)) << clash.error().message();
  ASSERT_TRUE(store_->addIssued(issuedRecord("bob", "02", "BEEF")));
  auto clash2 = store_->addIssued(issuedRecord("carol", "03", "BEEF"));
  ASSERT_FALSE(clash2);
  EXPECT_TRUE(clash2.error().is(Errc::already_exists));
  auto all = store_->list(filter(std::nullopt));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  EXPECT_FALSE(*store_->findByCsr("carol", "device", "03"));
}

// As IssuedRecordSurvivesSigkill, for the one-transaction issuance.
TEST_F(CaStoreTest, AddIssuedSurvivesSigkill) {
  store_.reset();  // no open connection across fork()
  ASSERT_EQ(rampart::testing::runThenKill9([&] {
              auto s = SqliteCaStore::open(path());
              if (!s) return 2;
              if (!(*s)->addIssued(issuedRecord("alice", "feed", "C0FFEE"))) return 3;
              return 0;
            }),
            "");

  reopen();
  auto rec = store_->findBySerial("C0FFEE");
  ASSERT_TRUE(rec && *rec);
  EXPECT_EQ((*rec)->status, CertStatus::issued);
  EXPECT_EQ((*rec)->cert_der, "CERT-C0FFEE");
}

}  // namespace
}  // namespace rampart::store
