// LMTP sessions end to end on a loopback socket: a real LmtpServer, the real
// SQLite store in a temporary directory, an in-memory directory.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <thread>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "net/asio.h"
#include "server/delivery.h"
#include "server/lmtp/lmtp_server.h"
#include "store/sqlite/sqlite_mail_store.h"

namespace rampart::server::lmtp {
namespace {

namespace asio = net::asio;
using net::tcp;

class MemoryDirectory final : public directory::Directory {
 public:
  void add(std::string name, std::string address, bool enabled = true) {
    directory::User u;
    u.name = std::move(name);
    u.enabled = enabled;
    u.addresses.push_back(address);
    by_address_[address] = u;
  }
  Result<std::optional<directory::User>> findUser(std::string_view) override { return std::nullopt; }
  Result<std::optional<directory::User>> findByAddress(std::string_view address) override {
    std::string lower(address);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = by_address_.find(lower);
    if (it == by_address_.end()) return std::nullopt;
    return it->second;
  }
  Result<directory::AuthOutcome> authenticate(std::string_view, std::string_view) override {
    return directory::AuthOutcome::bad_credentials;
  }
  Result<std::vector<std::string>> groupsOf(std::string_view) override { return std::vector<std::string>{}; }

 private:
  std::map<std::string, directory::User> by_address_;
};

// Forwards to a real store; deliver() can be told to fail.
class SwitchableStore final : public store::MailStore {
 public:
  explicit SwitchableStore(std::unique_ptr<store::MailStore> inner) : inner_(std::move(inner)) {}
  ~SwitchableStore() override {
    for (auto& t : pending_) t.join();
  }
  std::atomic<bool> fail_deliveries{false};
  std::atomic<int> delay_ms{0};
  std::atomic<int> deliveries{0};

  Result<store::MailboxId> openMailbox(std::string_view o) override { return inner_->openMailbox(o); }
  Result<std::optional<store::MailboxId>> findMailbox(std::string_view o) override {
    return inner_->findMailbox(o);
  }
  Result<std::vector<store::Folder>> listFolders(store::MailboxId m) override { return inner_->listFolders(m); }
  Result<store::Folder> getFolder(store::FolderId f) override { return inner_->getFolder(f); }
  Result<store::Folder> folderOfType(store::MailboxId m, store::FolderType t) override {
    return inner_->folderOfType(m, t);
  }
  Result<store::Folder> createFolder(store::MailboxId m, std::optional<store::FolderId> p, std::string_view n,
                                     store::FolderType t) override {
    return inner_->createFolder(m, p, n, t);
  }
  Result<store::Folder> updateFolder(store::FolderId f, std::optional<store::FolderId> p,
                                     std::string_view n) override {
    return inner_->updateFolder(f, p, n);
  }
  Status deleteFolder(store::FolderId f) override { return inner_->deleteFolder(f); }
  Result<std::vector<store::FolderChange>> folderChanges(store::MailboxId m, store::Seq s) override {
    return inner_->folderChanges(m, s);
  }
  Result<store::Seq> folderHierarchySeq(store::MailboxId m) override { return inner_->folderHierarchySeq(m); }
  void deliver(store::Delivery d, std::function<void(Result<store::DeliveryReceipt>)> done) override {
    ++deliveries;
    if (fail_deliveries) {
      std::thread([done = std::move(done)] { done(fail(Errc::storage_error, "disk on fire")); }).detach();
      return;
    }
    if (auto delay = delay_ms.load(); delay > 0) {
      // A slow disk: the commit starts later, on another thread.
      auto* inner = inner_.get();
      pending_.emplace_back([inner, delay, d = std::move(d), done = std::move(done)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        inner->deliver(std::move(d), std::move(done));
      });
      return;
    }
    inner_->deliver(std::move(d), std::move(done));
  }
  Result<store::Item> getItem(store::ItemId i) override { return inner_->getItem(i); }
  Result<std::string> messageBytes(store::ItemId i) override { return inner_->messageBytes(i); }
  Result<std::vector<store::Item>> listItems(store::FolderId f, std::int64_t s, std::size_t o,
                                             std::size_t l) override {
    return inner_->listItems(f, s, o, l);
  }
  Result<std::size_t> countItems(store::FolderId f, std::int64_t s) override { return inner_->countItems(f, s); }
  Status setRead(store::ItemId i, bool r) override { return inner_->setRead(i, r); }
  Status setFlag(store::ItemId i, store::FlagStatus f) override { return inner_->setFlag(i, f); }
  Result<store::ItemId> moveItem(store::ItemId i, store::FolderId d) override { return inner_->moveItem(i, d); }
  Status deleteItem(store::ItemId i) override { return inner_->deleteItem(i); }
  Status emptyFolder(store::FolderId f) override { return inner_->emptyFolder(f); }
  Result<std::vector<store::Change>> changes(store::FolderId f, store::Seq s, std::size_t l) override {
    return inner_->changes(f, s, l);
  }
  std::unique_ptr<store::Subscription> subscribe(store::FolderId f,
                                                 std::function<void(store::FolderId, store::Seq)> n) override {
    return inner_->subscribe(f, std::move(n));
  }

 private:
  std::unique_ptr<store::MailStore> inner_;
  std::vector<std::thread> pending_;  // only touched by one session at a time in these tests
};

class LmtpSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rampart-lmtp-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto inner = store::sqlite::openSqliteMailStore(dir_ + "/store.db");
    ASSERT_TRUE(inner) << inner.error().message();
    store_ = std::make_shared<SwitchableStore>(std::move(*inner));
    directory_ = std::make_shared<MemoryDirectory>();
    directory_->add("alice", "alice@example.org");
    directory_->add("bob", "bob@example.org");
    directory_->add("carol", "carol@example.org", /*enabled=*/false);
    directory_->add("alice", "postmaster@example.org");
    delivery_ = std::make_shared<LocalDelivery>(store_, directory_, std::vector<std::string>{"example.org"});
  }

  void start(LmtpConfig config = {}) {
    config.listen = "127.0.0.1:0";
    auto server = LmtpServer::create(io_.get_executor(), config, "lmtp.test", delivery_);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    for (int i = 0; i < 200 && server_ && server_->liveSessions() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
    // The store (held by delivery_ too) must be gone, its writer joined, before
    // io_ is destroyed: a commit callback may still be posting to a session strand.
    delivery_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A blocking client on its own io_context.
  struct Client {
    asio::io_context io;
    tcp::socket socket{io};
    asio::streambuf buf;

    explicit Client(tcp::endpoint ep) { socket.connect(ep); }
    void send(const std::string& text) { asio::write(socket, asio::buffer(text)); }
    // One reply line without CRLF ("" on EOF).
    std::string line() {
      boost::system::error_code ec;
      asio::read_until(socket, buf, "\r\n", ec);
      if (ec) return "";
      std::istream is(&buf);
      std::string l;
      std::getline(is, l);
      if (!l.empty() && l.back() == '\r') l.pop_back();
      return l;
    }
    // Reads a possibly multi-line reply; returns its last line.
    std::string reply() {
      std::string l;
      do l = line();
      while (l.size() > 3 && l[3] == '-');
      return l;
    }
  };

  std::size_t inboxCount(const std::string& user) {
    auto mb = store_->findMailbox(user);
    if (!mb || !*mb) return 0;
    auto inbox = store_->folderOfType(**mb, store::FolderType::inbox);
    if (!inbox) return 0;
    auto n = store_->countItems(inbox->id, 0);
    return n ? *n : 0;
  }

  std::string dir_;
  std::shared_ptr<SwitchableStore> store_;
  std::shared_ptr<MemoryDirectory> directory_;
  std::shared_ptr<LocalDelivery> delivery_;
  asio::io_context io_;
  std::vector<std::thread> threads_;
  std::unique_ptr<LmtpServer> server_;
};

TEST_F(LmtpSessionTest, DeliversToEveryAcceptedRecipientOnce) {
  start();
  Client c(server_->endpoint());
  EXPECT_EQ(c.reply().substr(0, 4), "220 ");
  c.send("LHLO client.test\r\n");
  std::vector<std::string> lhlo;
  std::string l;
  do lhlo.push_back(l = c.line());
  while (l.size() > 3 && l[3] == '-');
  EXPECT_EQ(lhlo.size(), 5u);
  EXPECT_EQ(lhlo[1], "250-PIPELINING");
  EXPECT_EQ(lhlo[2], "250-SIZE 36700160");
  EXPECT_EQ(lhlo[4], "250 ENHANCEDSTATUSCODES");
  c.send("MAIL FROM:<sender@remote.test> BODY=8BITMIME\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.0 Sender OK");
  c.send("RCPT TO:<alice@example.org>\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Recipient OK");
  c.send("RCPT TO:<nobody@example.org>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "550 5.1.1 ");
  c.send("RCPT TO:<carol@example.org>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "550 5.2.1 ");
  c.send("RCPT TO:<x@elsewhere.test>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "550 5.1.2 ");
  c.send("RCPT TO:<BOB@example.org>\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Recipient OK");
  c.send("DATA\r\n");
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: =?UTF-8?B?w6lsw6h2ZQ==?=\r\nFrom: s@remote.test\r\n\r\n..dot\r\nh\xc3\xa9llo\r\n.\r\n");
  auto r1 = c.reply();
  auto r2 = c.reply();
  EXPECT_EQ(r1.substr(0, 10), "250 2.0.0 ");
  EXPECT_NE(r1.find("<alice@example.org>"), std::string::npos);
  EXPECT_NE(r2.find("<BOB@example.org>"), std::string::npos);
  c.send("QUIT\r\n");
  EXPECT_EQ(c.reply().substr(0, 4), "221 ");
  EXPECT_EQ(c.line(), "");  // closed

  EXPECT_EQ(store_->deliveries.load(), 1);
  ASSERT_EQ(inboxCount("alice"), 1u);
  ASSERT_EQ(inboxCount("bob"), 1u);
  auto mb = store_->findMailbox("alice");
  auto inbox = store_->folderOfType(**mb, store::FolderType::inbox);
  auto items = store_->listItems(inbox->id, 0, 0, 10);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].summary.subject, "\xc3\xa9l\xc3\xa8ve");
  auto bytes = store_->messageBytes((*items)[0].id);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->rfind("Received: from client.test (127.0.0.1)\r\n\tby lmtp.test", 0), 0u);
  EXPECT_NE(bytes->find("\r\n\r\n.dot\r\nh\xc3\xa9llo\r\n"), std::string::npos);
}

TEST_F(LmtpSessionTest, PipelinedCommandsGetRepliesInOrder) {
  start();
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<no@example.org>\r\n"
         "RCPT TO:<bob@example.org>\r\nDATA\r\n");
  EXPECT_EQ(c.reply(), "250 ENHANCEDSTATUSCODES");
  EXPECT_EQ(c.reply().substr(0, 4), "250 ");
  EXPECT_EQ(c.reply().substr(0, 4), "250 ");
  EXPECT_EQ(c.reply().substr(0, 4), "550 ");
  EXPECT_EQ(c.reply().substr(0, 4), "250 ");
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: p\r\n\r\nx\r\n.\r\nRSET\r\nNOOP\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply(), "250 2.0.0 OK");
  EXPECT_EQ(c.reply(), "250 2.0.0 OK");
  EXPECT_EQ(inboxCount("alice"), 1u);
}

TEST_F(LmtpSessionTest, SequenceErrors) {
  start();
  Client c(server_->endpoint());
  c.reply();
  c.send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "503 5.5.1 ");
  c.send("LHLO c.test\r\n");
  c.reply();
  c.send("RCPT TO:<alice@example.org>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "503 5.5.1 ");
  c.send("DATA\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "503 5.5.1 ");
  c.send("MAIL FROM:<a@b.test>\r\n");
  c.reply();
  c.send("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "503 5.5.1 ");
  c.send("RCPT TO:<nobody@example.org>\r\nDATA\r\n");
  c.reply();
  EXPECT_EQ(c.reply(), "503 5.5.1 No valid recipients");
  c.send("VRFY alice\r\nEHLO x.test\r\nNOOP\n");
  EXPECT_EQ(c.reply().substr(0, 4), "252 ");
  EXPECT_EQ(c.reply().substr(0, 4), "500 ");
  EXPECT_EQ(c.reply().substr(0, 10), "500 5.5.2 ");
}

TEST_F(LmtpSessionTest, SizeLimits) {
  LmtpConfig config;
  config.max_message_size.bytes = 1000;
  start(config);
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\n");
  c.reply();
  c.send("MAIL FROM:<a@b.test> SIZE=1001\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "552 5.3.4 ");
  c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
  c.reply();
  c.reply();
  c.reply();
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "0123456789012345678901234567890123456789\r\n";
  c.send(big + ".\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "552 5.3.4 ");
  EXPECT_EQ(c.reply().substr(0, 10), "552 5.3.4 ");
  c.send("NOOP\r\n");
  EXPECT_EQ(c.reply(), "250 2.0.0 OK");
  EXPECT_EQ(store_->deliveries.load(), 0);
}

TEST_F(LmtpSessionTest, TooManyRecipients) {
  LmtpConfig config;
  config.max_recipients = 2;
  start(config);
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.org>\r\n"
         "RCPT TO:<bob@example.org>\r\nRCPT TO:<postmaster@example.org>\r\n");
  c.reply();
  c.reply();
  c.reply();
  c.reply();
  EXPECT_EQ(c.reply().substr(0, 10), "452 4.5.3 ");
}

TEST_F(LmtpSessionTest, StoreFailureIs451PerRecipient) {
  start();
  store_->fail_deliveries = true;
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
         "DATA\r\n");
  for (int i = 0; i < 4; ++i) c.reply();
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(c.reply().substr(0, 10), "451 4.3.0 ");
  EXPECT_EQ(c.reply().substr(0, 10), "451 4.3.0 ");
  EXPECT_EQ(inboxCount("alice"), 0u);
}

TEST_F(LmtpSessionTest, StopDuringACommitStillAcknowledgesIt) {
  start();
  store_->delay_ms = 300;
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
         "DATA\r\n");
  for (int i = 0; i < 4; ++i) c.reply();
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->stop();  // the commit is under way: it finishes and is acknowledged
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply().substr(0, 10), "250 2.0.0 ");
  EXPECT_EQ(c.reply().substr(0, 10), "421 4.3.2 ");
  EXPECT_EQ(c.line(), "");
  EXPECT_EQ(inboxCount("alice"), 1u);
}

TEST_F(LmtpSessionTest, CommandTimeoutClosesTheConnection) {
  LmtpConfig config;
  config.command_timeout = std::chrono::milliseconds(200);
  start(config);
  Client c(server_->endpoint());
  c.reply();
  c.send("NOOP");  // never finished
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.line(), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(LmtpSessionTest, TricklingAnOverlongLineDoesNotResetTheCommandDeadline) {
  LmtpConfig config;
  config.command_timeout = std::chrono::milliseconds(300);
  start(config);
  Client c(server_->endpoint());
  c.reply();
  c.send(std::string(600, 'x'));  // dropped by the parser, nothing buffered
  auto t0 = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  for (int i = 0; i < 30 && !ec; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    asio::write(c.socket, asio::buffer("x", 1), ec);
  }
  EXPECT_EQ(c.line(), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1200));
}

TEST_F(LmtpSessionTest, DataProgressTimeoutStoresNothing) {
  LmtpConfig config;
  config.data_timeout = std::chrono::milliseconds(200);
  start(config);
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
  for (int i = 0; i < 3; ++i) c.reply();
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: half\r\n\r\nand then silence");
  EXPECT_EQ(c.line(), "");
  EXPECT_EQ(store_->deliveries.load(), 0);
}

TEST_F(LmtpSessionTest, ConnectionCapAnswers421) {
  LmtpConfig config;
  config.max_connections = 1;
  start(config);
  Client first(server_->endpoint());
  EXPECT_EQ(first.reply().substr(0, 4), "220 ");
  Client second(server_->endpoint());
  EXPECT_EQ(second.reply().substr(0, 10), "421 4.3.2 ");
  EXPECT_EQ(second.line(), "");
}

TEST_F(LmtpSessionTest, StopSends421ToIdleSessions) {
  start();
  Client c(server_->endpoint());
  c.reply();
  c.send("LHLO c.test\r\n");
  c.reply();
  server_->stop();
  EXPECT_EQ(c.reply().substr(0, 10), "421 4.3.2 ");
  EXPECT_EQ(c.line(), "");
  for (int i = 0; i < 200 && server_->liveSessions() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->liveSessions(), 0u);
}

// LocalDelivery on its own (no socket): resolution rules and one store per message.
TEST_F(LmtpSessionTest, LocalDeliveryResolves) {
  using S = Resolution::Status;
  EXPECT_EQ(delivery_->resolve("alice@EXAMPLE.org")->status, S::local);
  EXPECT_EQ(delivery_->resolve("alice@EXAMPLE.org")->user, "alice");
  EXPECT_EQ(delivery_->resolve("postmaster")->user, "alice");  // bare <Postmaster>
  EXPECT_EQ(delivery_->resolve("nobody@example.org")->status, S::unknown_user);
  EXPECT_EQ(delivery_->resolve("carol@example.org")->status, S::disabled);
  EXPECT_EQ(delivery_->resolve("alice@example.net")->status, S::non_local_domain);
  EXPECT_TRUE(delivery_->isLocalDomain("x@Example.Org"));
  EXPECT_FALSE(delivery_->isLocalDomain("x"));
}

TEST_F(LmtpSessionTest, LocalDeliveryStoresOncePerMailboxAndKeepsMalformedMime) {
  std::string malformed =
      "Subject: broken\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\nno closing boundary\r\n";
  std::promise<Result<store::DeliveryReceipt>> promise;
  delivery_->deliver(std::make_shared<const std::string>(malformed), {"alice", "alice", "bob"},
                     [&](Result<store::DeliveryReceipt> r) { promise.set_value(std::move(r)); });
  auto receipt = promise.get_future().get();
  ASSERT_TRUE(receipt) << receipt.error().message();
  EXPECT_EQ(receipt->items.size(), 2u);
  auto bytes = store_->messageBytes(receipt->items[0]);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, malformed);
  auto item = store_->getItem(receipt->items[0]);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->summary.subject, "broken");
}

}  // namespace
}  // namespace rampart::server::lmtp
