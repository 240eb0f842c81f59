// Helpers for the SMTP tests: a scripted SMTP server on a loopback socket, a
// fake LocalRecipients, a temporary directory, and running a coroutine to its end.
#pragma once

#include <stdlib.h>

#include <filesystem>

#include "testing/temp_dir.h"
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/write.hpp>

#include "net/asio.h"
#include "server/smtp/local_recipients.h"

namespace rampart::server::smtp::testing {

using namespace rampart::net;

// The shared temporary directory (tests/testing/temp_dir.h).
class TempDir : public rampart::testing::TempDir {
 public:
  TempDir() : rampart::testing::TempDir("rampart-smtp") {}
};

// Runs `task` on `ctx` until it completes (other coroutines on ctx, like a
// fake server, run beside it) and returns its value.
template <class T>
T runTask(asio::io_context& ctx, Task<T> task) {
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

// A scripted SMTP server: answers each command line through `respond`, which
// returns the full reply text (with CRLFs), or "" to close the connection.
// DATA content is collected; its end is presented to `respond` as ".".
class FakeSmtpServer {
 public:
  using Respond = std::function<std::string(const std::string& line)>;

  explicit FakeSmtpServer(asio::io_context& ctx)
      : acceptor_(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    respond = [this](const std::string& line) { return defaultReply(line); };
    asio::co_spawn(ctx, acceptLoop(), asio::detached);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void close() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  // The default dialogue: EHLO with SIZE and 8BITMIME, recipients by `rcpt_replies`
  // (250 for anyone not listed), DATA accepted.
  std::string defaultReply(const std::string& line) {
    std::string verb = line.substr(0, 4);
    for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (verb == "EHLO") return ehlo_reply;
    if (verb == "HELO") return "250 fake\r\n";
    if (verb == "MAIL") return "250 2.1.0 Ok\r\n";
    if (verb == "RCPT") {
      auto lt = line.find('<'), gt = line.find('>');
      std::string addr = line.substr(lt + 1, gt - lt - 1);
      auto it = rcpt_replies.find(addr);
      return it != rcpt_replies.end() ? it->second : "250 2.1.5 Ok\r\n";
    }
    if (verb == "DATA") return "354 End data with <CR><LF>.<CR><LF>\r\n";
    if (line == ".") return data_reply;
    if (verb == "QUIT") return "221 2.0.0 Bye\r\n";
    if (verb == "RSET") return "250 Ok\r\n";
    return "502 5.5.2 Error: command not recognized\r\n";
  }

  Respond respond;
  std::string greeting = "220 fake.test ESMTP\r\n";
  bool silent = false;  // never greet: for deadline tests
  std::string ehlo_reply = "250-fake.test\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250 PIPELINING\r\n";
  std::map<std::string, std::string> rcpt_replies;
  std::string data_reply = "250 2.0.0 Ok: queued as ABC\r\n";

  std::vector<std::string> commands;  // every command line received
  std::vector<std::string> messages;  // DATA contents, still dot-stuffed, CRLF line ends
  int connections = 0;

 private:
  Task<void> acceptLoop() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(
          asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(acceptor_.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  Task<void> session(tcp::socket socket) {
    boost::system::error_code ec;
    std::string buffer;
    if (!silent) {
      co_await asio::async_write(socket, asio::buffer(greeting),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    bool in_data = false;
    std::string data;
    while (!ec) {
      std::size_t crlf;
      while ((crlf = buffer.find("\r\n")) != std::string::npos) {
        std::string line = buffer.substr(0, crlf);
        buffer.erase(0, crlf + 2);
        std::string reply;
        if (in_data) {
          if (line != ".") {
            data += line + "\r\n";
            continue;
          }
          messages.push_back(data);
          data.clear();
          in_data = false;
          reply = respond(".");
        } else {
          commands.push_back(line);
          reply = respond(line);
          if (reply.rfind("354", 0) == 0) in_data = true;
        }
        if (reply.empty()) co_return;
        co_await asio::async_write(socket, asio::buffer(reply),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec || reply.rfind("221", 0) == 0) co_return;
      }
      char chunk[4096];
      std::size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                      asio::redirect_error(asio::use_awaitable, ec));
      buffer.append(chunk, n);
    }
  }

  tcp::acceptor acceptor_;
};

// Local recipients from a fixed list; deliveries recorded, completed at once.
class FakeLocal final : public LocalRecipients {
 public:
  struct Delivered {
    std::string sender;
    std::vector<std::string> recipients;
    std::string bytes;
  };

  Result<Locality> locate(std::string_view address) override {
    for (const auto& a : addresses) {
      if (a == address) return Locality::local;
    }
    if (address.ends_with("@a.test")) return Locality::unknown_local;
    return Locality::remote;
  }
  void deliverLocal(std::string sender, std::vector<std::string> recipients,
                    std::shared_ptr<const std::string> bytes,
                    std::function<void(Status)> done) override {
    if (fail_deliveries) {
      done(fail(Errc::storage_error, "disk full"));
      return;
    }
    {
      std::lock_guard lock(mutex);
      delivered.push_back({std::move(sender), std::move(recipients), *bytes});
    }
    done(Status{});
  }

  std::vector<std::string> addresses;
  bool fail_deliveries = false;
  std::mutex mutex;
  std::vector<Delivered> delivered;
};

}  // namespace rampart::server::smtp::testing
