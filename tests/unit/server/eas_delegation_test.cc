// The mail server's side of delegation (DESIGN.md 2): on the gateway link the
// user is the one the gateway's identity assertion names, checked against the
// very request; a missing, forged, mis-bound or replayed assertion is 403 and
// Basic credentials count for nothing there.
#include <gtest/gtest.h>

#include <array>
#include <future>

#include <boost/asio/use_future.hpp>

#include "crypto/identity_assertion.h"
#include "directory/builtin_directory.h"
#include "net/asio.h"
#include "server/eas/eas_service.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"
#include "testing/temp_dir.h"

namespace rampart::server::eas {
namespace {

namespace asio = net::asio;

class EasDelegationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.file("rampart.db");
    auto mail = store::sqlite::openSqliteMailStore(db);
    ASSERT_TRUE(mail) << mail.error().message();
    auto directory = directory::BuiltinDirectory::open(db);
    ASSERT_TRUE(directory) << directory.error().message();
    directory::User alice;
    alice.name = "alice";
    alice.addresses = {"alice@example.test"};
    ASSERT_TRUE((*directory)->addUser(alice, "s3cret"));
    auto devices = store::sqlite::openSqliteDeviceStore(db, systemRandom());
    ASSERT_TRUE(devices) << devices.error().message();
    key_.id = "k1";
    key_.secret.fill(7);
    key_.id = crypto::assertionKeyId(key_.secret);
    service_ = std::make_unique<EasService>(
        std::shared_ptr<directory::Directory>(std::move(*directory)),
        std::shared_ptr<store::MailStore>(std::move(*mail)),
        std::shared_ptr<store::DeviceStore>(std::move(*devices)), EasConfig{}, pool_.get_executor());
    service_->setAssertionVerifier(
        std::make_unique<crypto::AssertionVerifier>(std::vector<crypto::AssertionKey>{key_}));
  }
  void TearDown() override {
    service_.reset();
    pool_.join();
  }

  http::Request options(std::string body = "") {
    http::Request req{http::Verb::options, "/Microsoft-Server-ActiveSync", 11};
    req.set(http::Field::host, "mail.example.test");
    req.body() = std::move(body);
    return req;
  }

  void sign(http::Request& req, const std::string& user, crypto::AssertionKey key) {
    crypto::RequestBinding binding{std::string(req.method_string()), "mail.example.test",
                                   std::string(req.target()), crypto::RequestBinding::sha256Hex(req.body())};
    crypto::AssertionSigner signer(std::move(key));
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    req.set("Rampart-Identity", signer.sign({user, "", "basic", 1}, binding, now));
  }

  int status(http::Request& req) {
    asio::io_context io;
    auto done = asio::co_spawn(io, service_->handleDelegated(req), asio::use_future);
    io.run();
    return done.get().result_int();
  }

  rampart::testing::TempDir dir_{"eas-delegation"};
  asio::thread_pool pool_{1};
  crypto::AssertionKey key_;
  std::unique_ptr<EasService> service_;
};

TEST_F(EasDelegationTest, AValidAssertionIsTheIdentity) {
  http::Request req = options();
  sign(req, "alice", key_);
  EXPECT_EQ(status(req), 200);
}

TEST_F(EasDelegationTest, NoAssertionIsForbiddenEvenWithGoodBasicCredentials) {
  http::Request req = options();
  req.set(http::Field::authorization, "Basic YWxpY2U6czNjcjN0");  // alice:s3cret
  EXPECT_EQ(status(req), 403);
}

TEST_F(EasDelegationTest, AReplayedAssertionIsForbidden) {
  http::Request req = options();
  sign(req, "alice", key_);
  http::Request again = req;
  EXPECT_EQ(status(req), 200);
  EXPECT_EQ(status(again), 403);
}

TEST_F(EasDelegationTest, AnAssertionForAnotherRequestIsForbidden) {
  http::Request req = options();
  sign(req, "alice", key_);
  req.target("/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=A1&DeviceType=T");
  EXPECT_EQ(status(req), 403);
}

TEST_F(EasDelegationTest, AnAssertionSignedWithAnotherKeyIsForbidden) {
  crypto::AssertionKey other;
  other.secret.fill(9);
  other.id = crypto::assertionKeyId(other.secret);
  http::Request req = options();
  sign(req, "alice", other);
  EXPECT_EQ(status(req), 403);
}

}  // namespace
}  // namespace rampart::server::eas
