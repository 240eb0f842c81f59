// The RADIUS client against a real FreeRADIUS (started here on a free loopback
// port, with its config in a temp dir) and against a scripted peer for the
// cases FreeRADIUS will not produce: forged, unsigned and lost responses.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "gateway/auth/radius_client.h"
#include "net/asio.h"
#include "testing/temp_dir.h"

namespace rampart::gateway::auth {
namespace {

namespace asio = net::asio;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

constexpr const char* kFreeRadius = "/usr/sbin/freeradius";
constexpr const char* kSecret = "rampart-radius-test-secret";

template <class T>
T runTask(asio::io_context& ctx, net::Task<T> task) {
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) out.emplace(std::move(value));
    ctx.stop();
  });
  ctx.restart();
  ctx.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

std::uint16_t freeUdpPort() {
  asio::io_context io;
  udp::socket s(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return s.local_endpoint().port();
}

// A FreeRADIUS 3.2 config: one client (127.0.0.1) that must sign its requests,
// alice with a password (users file), and carol who is challenged for a code
// after her PIN (unlang), with every reply signed. FreeRADIUS 3.2.1 predates
// its Blast-RADIUS release (3.2.5), which signs every reply on its own: here
// the config adds Message-Authenticator to each reply, which it then computes.
std::string radiusdConf(const std::string& dir, std::uint16_t port) {
  std::ostringstream c;
  c << "prefix = /usr\nexec_prefix = /usr\nsysconfdir = /etc\n"
    << "localstatedir = " << dir << "\nsbindir = /usr/sbin\nlogdir = " << dir
    << "\nraddbdir = " << dir << "\nradacctdir = " << dir << "\nname = freeradius\n"
    << "confdir = " << dir << "\nrun_dir = " << dir << "\ndb_dir = " << dir
    << "\nlibdir = /usr/lib/freeradius\npidfile = " << dir << "/radiusd.pid\n"
    << R"(max_request_time = 5
cleanup_delay = 0
max_requests = 64
hostname_lookups = no
log {
  destination = stdout
  auth = no
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
thread pool {
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}
client localhost {
  ipaddr = 127.0.0.1
  secret = )" << kSecret << R"(
  require_message_authenticator = yes
  nas_type = other
}
modules {
  files {
    filename = )" << dir << R"(/users
  }
  pap {
  }
  always reject {
    rcode = reject
  }
  always handled {
    rcode = handled
  }
  always ok {
    rcode = ok
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = )" << port << R"(
  }
  authorize {
    update reply {
      Message-Authenticator := 0x00
    }
    if (&User-Name == "carol") {
      if (!&State) {
        if (&User-Password == "pin1234") {
          update reply {
            Reply-Message := "Enter next code"
            State := 0x6e6578742d636f6465
          }
          update control {
            Response-Packet-Type := Access-Challenge
          }
          handled
        }
        reject
      }
      if (&State == 0x6e6578742d636f6465 && &User-Password == "654321") {
        update control {
          Auth-Type := Accept
        }
        ok
      }
      else {
        reject
      }
    }
    else {
      files
      pap
    }
  }
  post-auth {
    Post-Auth-Type REJECT {
      update reply {
        Message-Authenticator := 0x00
      }
    }
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
}
)";
  return c.str();
}

class FreeRadiusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kFreeRadius, X_OK) != 0) GTEST_SKIP() << "freeradius is not installed";
    port_ = freeUdpPort();
    const std::string dir = dir_.path().string();
    std::ofstream(dir + "/radiusd.conf") << radiusdConf(dir, port_);
    std::ofstream(dir + "/users") << "alice Cleartext-Password := \"correct horse\"\n"
                                  << "      Reply-Message := \"Welcome alice\"\n";
    log_ = dir + "/radiusd.log";
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* out = freopen(log_.c_str(), "w", stdout);
      if (out == nullptr) _exit(127);
      dup2(fileno(stdout), STDERR_FILENO);
      execl(kFreeRadius, kFreeRadius, "-f", "-X", "-d", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when it says so (typically well under a second).
    for (int i = 0; i < 100; ++i) {
      std::ifstream in(log_);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("Ready to process requests") != std::string::npos) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "freeradius exited:\n" << text;
      }
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "freeradius did not start";
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  RadiusClientConfig config(std::string secret = kSecret) {
    RadiusClientConfig c;
    c.servers.push_back({"127.0.0.1", port_, std::move(secret)});
    c.nas_identifier = "rampart-test";
    c.nas_ip_address = "127.0.0.1";
    c.timeout = 2s;
    c.retries = 1;
    return c;
  }

  Result<RadiusReply> ask(RadiusClient& client, std::string user, std::string password,
                          std::optional<std::string> state = std::nullopt) {
    return runTask(io_, client.authenticate(user, password, state));
  }

  testing::TempDir dir_{"rampart-radius"};
  std::string log_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  asio::io_context io_;
};

TEST_F(FreeRadiusTest, AcceptAndReject) {
  RadiusClient client(io_.get_executor(), config());
  auto ok = ask(client, "alice", "correct horse");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->kind, RadiusReply::accept);
  EXPECT_EQ(ok->reply_message, "Welcome alice");

  auto no = ask(client, "alice", "wrong horse");
  ASSERT_TRUE(no) << no.error().message();
  EXPECT_EQ(no->kind, RadiusReply::reject);

  auto nobody = ask(client, "mallory", "correct horse");
  ASSERT_TRUE(nobody) << nobody.error().message();
  EXPECT_EQ(nobody->kind, RadiusReply::reject);
}

TEST_F(FreeRadiusTest, ChallengeThenAccept) {
  RadiusClient client(io_.get_executor(), config());
  auto first = ask(client, "carol", "pin1234");
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_EQ(first->kind, RadiusReply::challenge);
  EXPECT_EQ(first->reply_message, "Enter next code");
  EXPECT_EQ(first->state, "next-code");

  auto wrong = ask(client, "carol", "000000", first->state);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->kind, RadiusReply::reject);

  auto second = ask(client, "carol", "654321", first->state);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->kind, RadiusReply::accept);

  // The code alone, without the State of the challenge, is not enough.
  auto stateless = ask(client, "carol", "654321");
  ASSERT_TRUE(stateless);
  EXPECT_EQ(stateless->kind, RadiusReply::reject);
}

TEST_F(FreeRadiusTest, WrongSharedSecretIsAnErrorNotAnAccept) {
  auto c = config("not-the-secret");
  c.timeout = 300ms;
  c.retries = 1;
  RadiusClient client(io_.get_executor(), c);
  auto r = ask(client, "alice", "correct horse");
  ASSERT_FALSE(r) << "answered " << r->kind;
  EXPECT_TRUE(r.error().is(Errc::timeout)) << r.error().message();
}

TEST_F(FreeRadiusTest, FailsOverFromADeadServer) {
  auto c = config();
  c.servers.insert(c.servers.begin(), RadiusServer{"127.0.0.1", freeUdpPort(), kSecret});
  c.timeout = 300ms;
  RadiusClient client(io_.get_executor(), c);
  auto r = ask(client, "alice", "correct horse");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->kind, RadiusReply::accept);
}

// A scripted server: for each request, `respond` returns the datagrams to send
// back (possibly none), given the decoded request and how many came before.
using Script = std::function<std::vector<std::vector<std::uint8_t>>(
    const RadiusAccessRequest&, int)>;

net::Task<void> scriptedServer(udp::socket* socket, Script* script, int* requests) {
  std::vector<std::uint8_t> buf(4096);
  while (true) {
    udp::endpoint from;
    boost::system::error_code ec;
    const std::size_t n = co_await socket->async_receive_from(
        asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    auto req = decodeRadiusAccessRequest(std::span<const std::uint8_t>(buf.data(), n), kSecret);
    if (!req) continue;
    auto replies = (*script)(*req, (*requests)++);
    for (auto& r : replies) {
      co_await socket->async_send_to(asio::buffer(r), from,
                                     asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

class ScriptedRadiusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    asio::co_spawn(io_, scriptedServer(&socket_, &script_, &requests_), asio::detached);
  }
  RadiusClientConfig config() {
    RadiusClientConfig c;
    c.servers.push_back({"127.0.0.1", socket_.local_endpoint().port(), kSecret});
    c.timeout = 200ms;
    c.retries = 2;
    return c;
  }
  Result<RadiusReply> ask(RadiusClient& client) {
    std::string user = "alice";
    std::string password = "pw";
    std::optional<std::string> state;
    return runTask(io_, client.authenticate(user, password, state));
  }
  static std::vector<std::uint8_t> sign(RadiusCode code, const RadiusAccessRequest& req,
                                        bool with_ma = true, std::string_view secret = kSecret,
                                        int id_offset = 0) {
    return *encodeRadiusResponse(code, static_cast<std::uint8_t>(req.identifier + id_offset),
                                 req.authenticator, {}, secret, with_ma);
  }

  asio::io_context io_;
  udp::socket socket_{io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  Script script_;
  int requests_ = 0;
};

TEST_F(ScriptedRadiusTest, ForgedResponsesAreDroppedAndTheRealOneWins) {
  script_ = [](const RadiusAccessRequest& req, int) {
    EXPECT_EQ(req.password, "pw");
    EXPECT_EQ(req.nas_identifier, "rampart-gateway");
    return std::vector<std::vector<std::uint8_t>>{
        sign(RadiusCode::access_accept, req, false),                 // unsigned: Blast-RADIUS
        sign(RadiusCode::access_accept, req, true, "guessed"),       // wrong secret
        sign(RadiusCode::access_accept, req, true, kSecret, 1),      // other Identifier
        {1, 2, 3},                                                   // junk
        sign(RadiusCode::access_reject, req)};                       // the real answer
  };
  RadiusClient client(io_.get_executor(), config());
  auto r = ask(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->kind, RadiusReply::reject);
  EXPECT_EQ(requests_, 1);
}

TEST_F(ScriptedRadiusTest, UnsignedAcceptIsNeverAnAccept) {
  script_ = [](const RadiusAccessRequest& req, int) {
    return std::vector<std::vector<std::uint8_t>>{sign(RadiusCode::access_accept, req, false)};
  };
  RadiusClient client(io_.get_executor(), config());
  auto r = ask(client);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::timeout));
  EXPECT_NE(r.error().detail.find("Message-Authenticator"), std::string::npos)
      << r.error().detail;
  EXPECT_EQ(requests_, 3);  // first try and two retransmissions
}

TEST_F(ScriptedRadiusTest, RetransmitsTheSameRequestAfterALoss) {
  std::vector<RadiusAccessRequest> seen;
  script_ = [&](const RadiusAccessRequest& req, int n) {
    seen.push_back(req);
    if (n == 0) return std::vector<std::vector<std::uint8_t>>{};  // lost
    return std::vector<std::vector<std::uint8_t>>{sign(RadiusCode::access_accept, req)};
  };
  RadiusClient client(io_.get_executor(), config());
  auto r = ask(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->kind, RadiusReply::accept);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].identifier, seen[1].identifier);
  EXPECT_EQ(seen[0].authenticator, seen[1].authenticator);
}

}  // namespace
}  // namespace rampart::gateway::auth
