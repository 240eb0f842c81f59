// `rampart server --config FILE`: the mail server role (DESIGN.md 1).
//
// Loads the config (errors with file:line, exit 2), opens the store and
// directory, starts the listeners and runs the io_context on `threads`
// threads. SIGTERM/SIGINT drain: stop accepting, let sessions finish their
// transaction within shutdown_grace, then close what is left.
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "cmd/commands.h"
#include "core/log.h"
#include "net/asio.h"
#include "server/config.h"
#include "server/mail_server.h"

namespace rampart::cmd {

namespace {

namespace asio = net::asio;

void serverUsage() {
  std::fputs("usage: rampart server --config FILE\n", stderr);
}

// Waits for the drain: polls the live session count, aborts the stragglers
// after the grace period, and stops the io_context if even that does not end
// them (a store commit that never returns).
net::Task<void> drain(server::MailServer& mail, asio::io_context& io, std::chrono::milliseconds grace) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto start = std::chrono::steady_clock::now();
  bool aborted = false;
  auto logger = log::get("server");
  while (mail.liveSessions() > 0) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (!aborted && elapsed > grace) {
      logger->warn("{} session(s) still open after {} ms; closing them", mail.liveSessions(), grace.count());
      mail.abort();
      aborted = true;
    }
    if (elapsed > grace + std::chrono::seconds(10)) {
      logger->error("sessions did not end; stopping");
      io.stop();
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  logger->info("drained");
}

}  // namespace

int runServer(const Args& args) {
  if (flag(args, "help")) {
    serverUsage();
    return 0;
  }
  std::string path = option(args, "config");
  if (path.empty()) {
    serverUsage();
    return 2;
  }
  auto config = server::loadServerConfig(path);
  if (!config) {
    std::fprintf(stderr, "rampart server: %s\n", config.error().message().c_str());
    return 2;
  }
  log::init(config->log_level);
  return serveMail(*config, nullptr);
}

int serveMail(const server::ServerConfig& cfg, const std::function<void(server::MailServer&)>& on_started,
              const std::function<void()>& before_stop) {
  const server::ServerConfig* config = &cfg;
  auto logger = log::get("server");

  // Declared before the server: destroyed after it, so that store callbacks
  // still pending at exit post into a live (stopped) io_context.
  asio::io_context io;
  auto mail = server::MailServer::create(*config);
  if (!mail) {
    logger->critical("cannot open {}: {}", server::databasePath(*config), mail.error().message());
    return 1;
  }
  if (auto st = (*mail)->start(io); !st) {
    logger->critical("cannot start: {}", st.error().message());
    return 1;
  }

  // Printed whatever the log level: scripts and tests that configure port 0
  // read the real port from this line.
  auto lmtp = (*mail)->lmtpEndpoint();
  std::fprintf(stderr, "lmtp listening on %s:%u\n", lmtp.address().to_string().c_str(),
               static_cast<unsigned>(lmtp.port()));
  std::fflush(stderr);

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    logger->info("signal {}: stopping", signo);
    if (before_stop) before_stop();
    (*mail)->stop();
    asio::co_spawn(io, drain(**mail, io, config->shutdown_grace), asio::detached);
  });

  int threads = config->threads > 0 ? config->threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  logger->info("rampart server running ({} threads, data in {})", threads, config->data_dir);
  if (on_started) on_started(**mail);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  mail->reset();  // drains the store's writer before the io_context goes
  logger->info("stopped");
  return 0;
}

}  // namespace rampart::cmd
