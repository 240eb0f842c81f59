// `rampart rights`: the rights server role (DESIGN.md 4, docs/rights.md).
//
//   rampart rights serve --config FILE    the link behind the gateway, until SIGTERM/SIGINT
//   rampart rights licensor --config FILE print the licensor certificate (PEM)
//
// `rampart up` runs the same RightsServer in-process. The licensor key lives
// in <data_dir>/rights (0600); nothing here prints it. Templates, revoked
// users and the request log: `rampart admin rights ...`.
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <string>

#include "cmd/commands.h"
#include "core/log.h"
#include "crypto/x509/x509.h"
#include "net/asio.h"
#include "rights/rights_server.h"

namespace rampart::cmd {
namespace {

namespace asio = net::asio;

constexpr const char* kUsage =
    "usage: rampart rights <command> --config FILE\n"
    "  serve        run the rights server's link (the gateway publishes /rights)\n"
    "  licensor     print the licensor certificate senders wrap content keys to\n";

int failWith(const std::string& what, const Error& e) {
  std::fprintf(stderr, "rampart rights %s: %s\n", what.c_str(), e.message().c_str());
  return 1;
}

}  // namespace

int runRights(const Args& args) {
  auto pos = positionals(args, {"config"});
  std::string path = option(args, "config");
  if (pos.size() != 1 || path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto text = crypto::x509::readFile(path, 1 << 20);
  if (!text) return failWith(pos[0], text.error());
  auto config = rights::parseRightsConfig(*text, path);
  if (!config) return failWith(pos[0], config.error());
  asio::io_context io;
  if (pos[0] == "licensor") {
    config->listen.clear();
    auto server = rights::RightsServer::create(std::move(*config), io.get_executor());
    if (!server) return failWith("licensor", server.error());
    std::fputs((*server)->licensorCertificatePem().c_str(), stdout);
    return 0;
  }
  if (pos[0] != "serve") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto server = rights::RightsServer::create(std::move(*config), io.get_executor());
  if (!server) return failWith("serve", server.error());
  (*server)->start();
  auto at = (*server)->endpoint();
  // Printed whatever the log level: scripts that configure port 0 read it.
  std::fprintf(stderr, "rights listening: %s:%u\n", at.address().to_string().c_str(),
               static_cast<unsigned>(at.port()));
  std::fflush(stderr);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log::get("rights")->info("signal {}: stopping", signo);
    (*server)->stop();
    io.stop();
  });
  io.run();
  server->reset();
  return 0;
}

}  // namespace rampart::cmd
