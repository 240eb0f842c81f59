#include "gateway/auth/ldap_authenticator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "slapd_fixture.h"
#include "testing/certs.h"

namespace rampart::gateway {
namespace {

using namespace std::chrono_literals;
using testing::Slapd;

// A user whose uid needs escaping both in a DN (',') and in a filter ('*',
// '(', ')'); a user with no password (cannot bind: "disabled"); two entries
// sharing uid=twin (ambiguous in search-then-bind).
constexpr const char* kLdif = R"(dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: cn=gateway,ou=services,dc=example,dc=org
objectClass: inetOrgPerson
cn: gateway
sn: gateway
userPassword: svc-secret

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: alice-pw

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
userPassword: bob-pw

dn: uid=o'brien\, jr (*),ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: o'brien, jr (*)
cn: OBrien
sn: O
userPassword: obrien-pw

dn: uid=nopass,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: nopass
cn: No Password
sn: N

dn: uid=twin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: twin
cn: Twin
sn: T
userPassword: twin-pw

dn: cn=twin,ou=services,dc=example,dc=org
objectClass: inetOrgPerson
uid: twin
cn: twin
sn: T
userPassword: twin-pw
)";

LdapOptions templateOptions(const Slapd& slapd) {
  LdapOptions o;
  o.uri = slapd.uri();
  o.user_dn_template = "uid={user},ou=people,dc=example,dc=org";
  o.timeout = 1000ms;
  o.pool_size = 2;
  return o;
}

LdapOptions searchOptions(const Slapd& slapd) {
  LdapOptions o;
  o.uri = slapd.uri();
  o.search_base = "dc=example,dc=org";
  o.search_filter = "(&(objectClass=inetOrgPerson)(uid={user}))";
  o.bind_dn = "cn=gateway,ou=services,dc=example,dc=org";
  o.bind_password = "svc-secret";
  o.timeout = 1000ms;
  o.pool_size = 2;
  return o;
}

std::unique_ptr<LdapAuthenticator> make(LdapOptions o) {
  auto a = LdapAuthenticator::create(std::move(o));
  EXPECT_TRUE(a) << (a ? "" : a.error().message());
  return a ? std::move(*a) : nullptr;
}

// Expects an outcome (not an error) equal to `want`.
::testing::AssertionResult is(const Result<LdapOutcome>& got, LdapOutcome want) {
  if (!got) return ::testing::AssertionFailure() << "error: " << got.error().message();
  if (*got != want) return ::testing::AssertionFailure() << "outcome " << static_cast<int>(*got);
  return ::testing::AssertionSuccess();
}

class LdapAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Slapd::available()) GTEST_SKIP() << "slapd is not installed (/usr/sbin/slapd)";
    ASSERT_TRUE(slapd_.init(kLdif)) << slapd_.why();
    ASSERT_TRUE(slapd_.start()) << slapd_.why();
  }
  Slapd slapd_;
};

TEST(LdapEscape, DnValueRfc4514) {
  EXPECT_EQ(escapeDnValue("alice"), "alice");
  EXPECT_EQ(escapeDnValue("o'brien, jr"), "o'brien\\, jr");
  EXPECT_EQ(escapeDnValue("a+b;c<d>e\"f\\g=h"), "a\\+b\\;c\\<d\\>e\\\"f\\\\g\\=h");
  EXPECT_EQ(escapeDnValue(" #lead and trail "), "\\ #lead and trail\\ ");
  EXPECT_EQ(escapeDnValue("#x#"), "\\#x#");
  EXPECT_EQ(escapeDnValue(" "), "\\ ");
  EXPECT_EQ(escapeDnValue(std::string_view("a\0b", 3)), "a\\00b");
  EXPECT_EQ(escapeDnValue("x,ou=admins"), "x\\,ou\\=admins");
  EXPECT_EQ(escapeDnValue("jos\xc3\xa9"), "jos\xc3\xa9");  // UTF-8 passes through
}

TEST(LdapEscape, FilterValueRfc4515) {
  EXPECT_EQ(escapeFilterValue("alice"), "alice");
  EXPECT_EQ(escapeFilterValue("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(escapeFilterValue("a\\b"), "a\\5cb");
  EXPECT_EQ(escapeFilterValue(std::string_view("a\0b", 3)), "a\\00b");
  EXPECT_EQ(escapeFilterValue("o'brien, jr (*)"), "o'brien, jr \\28\\2a\\29");
}

TEST(LdapCreate, RejectsUnsafeOrIncompleteOptions) {
  LdapOptions base;
  base.uri = "ldap://127.0.0.1:389";
  base.user_dn_template = "uid={user},dc=example,dc=org";
  ASSERT_TRUE(LdapAuthenticator::create(base));

  auto bad = [&](auto change) {
    LdapOptions o = base;
    change(o);
    auto r = LdapAuthenticator::create(o);
    return !r && r.error().is(Errc::config_error);
  };
  EXPECT_TRUE(bad([](LdapOptions& o) { o.uri = "http://127.0.0.1"; }));
  EXPECT_TRUE(bad([](LdapOptions& o) { o.uri = ""; }));
  // Cleartext passwords over a network are refused; StartTLS or ldaps is fine.
  EXPECT_TRUE(bad([](LdapOptions& o) { o.uri = "ldap://ldap.example.org"; }));
  EXPECT_FALSE(bad([](LdapOptions& o) {
    o.uri = "ldap://ldap.example.org";
    o.start_tls = true;
  }));
  EXPECT_FALSE(bad([](LdapOptions& o) { o.uri = "ldaps://ldap.example.org"; }));
  EXPECT_TRUE(bad([](LdapOptions& o) {
    o.uri = "ldaps://ldap.example.org";
    o.start_tls = true;
  }));
  EXPECT_TRUE(bad([](LdapOptions& o) { o.user_dn_template = "uid=alice,dc=example,dc=org"; }));
  EXPECT_TRUE(bad([](LdapOptions& o) { o.user_dn_template.clear(); }));
  EXPECT_TRUE(bad([](LdapOptions& o) {  // both ways at once
    o.search_base = "dc=example,dc=org";
    o.search_filter = "(uid={user})";
  }));
  EXPECT_TRUE(bad([](LdapOptions& o) {  // service DN with an empty password
    o.user_dn_template.clear();
    o.search_base = "dc=example,dc=org";
    o.search_filter = "(uid={user})";
    o.bind_dn = "cn=gateway,dc=example,dc=org";
  }));
  EXPECT_TRUE(bad([](LdapOptions& o) { o.pool_size = 0; }));
  EXPECT_TRUE(bad([](LdapOptions& o) { o.timeout = 0ms; }));
}

TEST(LdapCreate, EmptyPasswordIsRefusedWithoutContactingTheServer) {
  // Nothing listens on port 1: any contact would be an error, not an outcome.
  LdapOptions o;
  o.uri = "ldap://127.0.0.1:1";
  o.user_dn_template = "uid={user},dc=example,dc=org";
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", ""), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("", "x"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate(std::string(300, 'a'), "x"), LdapOutcome::bad_credentials));
  // ... while a real attempt reports the server as unavailable.
  auto r = a->authenticate("alice", "alice-pw");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
}

TEST_F(LdapAuthenticatorTest, DnTemplate) {
  auto a = make(templateOptions(slapd_));
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("alice", "wrong"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw "), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("bob", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("nobody", "x"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("nopass", "x"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("o'brien, jr (*)", "obrien-pw"), LdapOutcome::ok));
  // The empty password would be an unauthenticated bind that slapd accepts.
  EXPECT_TRUE(is(a->authenticate("alice", ""), LdapOutcome::bad_credentials));
  // DN injection: the value cannot leave its RDN.
  EXPECT_TRUE(is(a->authenticate("alice,ou=people,dc=example,dc=org", "alice-pw"),
                 LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate(std::string_view("alice\0", 6), "alice-pw"),
                 LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
}

TEST_F(LdapAuthenticatorTest, SearchThenBind) {
  auto a = make(searchOptions(slapd_));
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("alice", "wrong"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("nobody", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("nopass", "x"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("o'brien, jr (*)", "obrien-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("o'brien, jr (*)", "wrong"), LdapOutcome::bad_credentials));
  // Two entries match: nobody gets in, even with the right password.
  EXPECT_TRUE(is(a->authenticate("twin", "twin-pw"), LdapOutcome::bad_credentials));
  // The service account keeps working after user binds on the same connection.
  EXPECT_TRUE(is(a->authenticate("bob", "bob-pw"), LdapOutcome::ok));
}

TEST_F(LdapAuthenticatorTest, FilterInjectionMatchesNobody) {
  auto a = make(searchOptions(slapd_));
  ASSERT_TRUE(a);
  // Unescaped, "ali*" would find alice and "*)(uid=*" / "*" would match everyone.
  EXPECT_TRUE(is(a->authenticate("ali*", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("*)(uid=*", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("*", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("alice)(|(uid=*", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("alice\\", "alice-pw"), LdapOutcome::bad_credentials));
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
}

TEST_F(LdapAuthenticatorTest, WrongServiceAccountIsUnavailableNotBadCredentials) {
  auto o = searchOptions(slapd_);
  o.bind_password = "not-the-service-password";
  auto a = make(o);
  ASSERT_TRUE(a);
  auto r = a->authenticate("alice", "alice-pw");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
}

TEST_F(LdapAuthenticatorTest, ServerKilledIsUnavailableAndRestartRecovers) {
  auto o = templateOptions(slapd_);
  o.pool_size = 1;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));

  slapd_.kill();
  auto start = std::chrono::steady_clock::now();
  auto r = a->authenticate("alice", "alice-pw");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
  EXPECT_LT(took, o.timeout + 500ms);

  ASSERT_TRUE(slapd_.start()) << slapd_.why();
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
}

TEST_F(LdapAuthenticatorTest, PooledConnectionLostToARestartIsReopened) {
  auto o = searchOptions(slapd_);
  o.pool_size = 1;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  // The pooled connection dies with the server; the next call must not fail.
  slapd_.kill();
  ASSERT_TRUE(slapd_.start()) << slapd_.why();
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("bob", "wrong"), LdapOutcome::bad_credentials));
}

TEST_F(LdapAuthenticatorTest, AllPooledConnectionsLostToARestartAreReopened) {
  auto o = searchOptions(slapd_);
  o.pool_size = 4;
  auto a = make(o);
  ASSERT_TRUE(a);
  // Open several connections at once, so that more than one sits in the pool.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(is(a->authenticate("bob", "bob-pw"), LdapOutcome::ok));
    });
  }
  for (auto& th : threads) th.join();
  slapd_.kill();
  ASSERT_TRUE(slapd_.start()) << slapd_.why();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok)) << i;
  }
}

TEST_F(LdapAuthenticatorTest, HungServerTimesOut) {
  auto o = templateOptions(slapd_);
  o.timeout = 400ms;
  o.pool_size = 1;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));

  slapd_.pause();  // accepts TCP (kernel backlog) but never answers
  auto start = std::chrono::steady_clock::now();
  auto r = a->authenticate("alice", "alice-pw");
  auto took = std::chrono::steady_clock::now() - start;
  slapd_.resume();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::timeout)) << r.error().message();
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 1500ms);
  // The stuck connection was dropped; a fresh one works.
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
}

TEST_F(LdapAuthenticatorTest, ConcurrentCallers) {
  auto a = make(searchOptions(slapd_));  // pool of 2 shared by 4 threads
  ASSERT_TRUE(a);
  std::atomic<int> wrong_answers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        bool good = (i + t) % 2 == 0;
        const char* user = t % 2 == 0 ? "alice" : "bob";
        std::string password = std::string(user) + (good ? "-pw" : "-nope");
        auto r = a->authenticate(user, password);
        if (!r || *r != (good ? LdapOutcome::ok : LdapOutcome::bad_credentials)) ++wrong_answers;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong_answers.load(), 0);
}

// A minimal LDAP responder for what slapd cannot be made to do on cue: it
// accepts `connections` connections in turn, answers the first request on
// each with a successful BindResponse (RFC 4511 4.2.2), then resets the
// connection (SO_LINGER 0) and reports that it did.
class ResettingLdapPeer {
 public:
  explicit ResettingLdapPeer(int connections) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 4);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < connections; ++i) reset_.emplace_back();
    thread_ = std::thread([this] { serve(); });
  }
  ~ResettingLdapPeer() {
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  std::string uri() const { return "ldap://127.0.0.1:" + std::to_string(port_); }
  // Waits until connection `i` has been reset.
  bool waitReset(size_t i) {
    return reset_[i].get_future().wait_for(5s) == std::future_status::ready;
  }

 private:
  void serve() {
    for (auto& done : reset_) {
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      unsigned char req[512];
      ssize_t n = recv(fd, req, sizeof req, 0);
      // SEQUENCE { messageID INTEGER, ... }: find the message ID to echo.
      size_t at = 2;
      if (n > 2 && (req[1] & 0x80)) at += req[1] & 0x7f;
      if (n > static_cast<ssize_t>(at + 2) && req[at] == 0x02 &&
          at + 2 + req[at + 1] <= static_cast<size_t>(n)) {
        size_t id_len = req[at + 1];
        std::string resp;
        resp += '\x30';
        resp += static_cast<char>(2 + id_len + 9);
        resp.append(reinterpret_cast<const char*>(req + at), 2 + id_len);
        // [APPLICATION 1] { resultCode success, matchedDN "", diagnostic "" }
        resp.append("\x61\x07\x0a\x01\x00\x04\x00\x04\x00", 9);
        send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
      }
      linger reset{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      close(fd);
      done.set_value();
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::vector<std::promise<void>> reset_;
  std::thread thread_;
};

TEST(LdapPeerReset, WriteToAResetConnectionNeitherKillsNorFails) {
  // libldap writes with write(2): a bind sent on a pooled connection that the
  // server has reset raises SIGPIPE, which would end the process.
  ResettingLdapPeer peer(2);
  LdapOptions o;
  o.uri = peer.uri();
  o.user_dn_template = "uid={user},dc=example,dc=org";
  o.timeout = 1000ms;
  o.pool_size = 1;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "pw"), LdapOutcome::ok));
  ASSERT_TRUE(peer.waitReset(0));
  // The pooled connection is dead: reconnect and retry once.
  EXPECT_TRUE(is(a->authenticate("alice", "pw"), LdapOutcome::ok));
  ASSERT_TRUE(peer.waitReset(1));
}

class LdapStartTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Slapd::available()) GTEST_SKIP() << "slapd is not installed (/usr/sbin/slapd)";
    cert_ = testing::makeSelfSigned(slapd_.dir().path().string(), "127.0.0.1");
    ASSERT_TRUE(slapd_.init(kLdif, cert_.cert_file, cert_.key_file)) << slapd_.why();
    ASSERT_TRUE(slapd_.start()) << slapd_.why();
  }
  Slapd slapd_;
  testing::CertFiles cert_;
};

TEST_F(LdapStartTlsTest, VerifiesTheServerCertificate) {
  auto o = searchOptions(slapd_);
  o.start_tls = true;
  o.ca_file = cert_.cert_file;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("alice", "wrong"), LdapOutcome::bad_credentials));
}

TEST_F(LdapStartTlsTest, WrongCaIsRefusedBeforeAnyPassword) {
  testing::TempDir other("rampart-other-ca");
  auto other_ca = testing::makeSelfSigned(other.path().string(), "127.0.0.1");
  auto o = templateOptions(slapd_);
  o.start_tls = true;
  o.ca_file = other_ca.cert_file;
  auto a = make(o);
  ASSERT_TRUE(a);
  auto r = a->authenticate("alice", "alice-pw");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
  EXPECT_NE(r.error().message().find("StartTLS"), std::string::npos) << r.error().message();
}

TEST_F(LdapStartTlsTest, ChecksTheServerName) {
  // The certificate names 127.0.0.1; "localhost" is another name.
  auto o = templateOptions(slapd_);
  o.uri = "ldap://localhost:" + std::to_string(slapd_.port());
  o.start_tls = true;
  o.ca_file = cert_.cert_file;
  auto a = make(o);
  ASSERT_TRUE(a);
  auto r = a->authenticate("alice", "alice-pw");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
}

TEST_F(LdapStartTlsTest, Ldaps) {
  auto o = templateOptions(slapd_);
  o.uri = slapd_.ldapsUri();
  o.ca_file = cert_.cert_file;
  auto a = make(o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(is(a->authenticate("alice", "alice-pw"), LdapOutcome::ok));
  EXPECT_TRUE(is(a->authenticate("alice", "wrong"), LdapOutcome::bad_credentials));

  testing::TempDir other("rampart-other-ca");
  o.ca_file = testing::makeSelfSigned(other.path().string(), "127.0.0.1").cert_file;
  auto b = make(o);
  ASSERT_TRUE(b);
  auto r = b->authenticate("alice", "alice-pw");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::unavailable)) << r.error().message();
}

}  // namespace
}  // namespace rampart::gateway
