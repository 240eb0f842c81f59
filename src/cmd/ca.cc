// `rampart ca`: the certificate authority role (DESIGN.md 3).
//
//   rampart ca serve --config FILE       EST link + CRL/OCSP until SIGTERM/SIGINT
//   rampart ca init --config FILE        create (or import) the CA keys, print the root
//   rampart ca provisioning --config FILE --url https://HOST[:PORT] [--out FILE]
//                                        the provisioning document devices consume
//
// `rampart up` runs the same CaServer in-process. The keys live in
// [authority] dir (default <data_dir>/ca), 0600; nothing here prints them.
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ca/ca_server.h"
#include "ca/config.h"
#include "ca/template.h"
#include "cmd/commands.h"
#include "codec/provisioning.h"
#include "core/log.h"
#include "crypto/x509/x509.h"
#include "net/asio.h"

namespace rampart::cmd {
namespace {

namespace asio = net::asio;

constexpr const char* kUsage =
    "usage: rampart ca <command> --config FILE\n"
    "  serve                              run the EST link and the CRL/OCSP listener\n"
    "  init                               create (or import) the CA keys and print the root\n"
    "  provisioning --url https://HOST[:PORT] [--out FILE]\n"
    "                                     write the provisioning document for devices\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

int failWith(const std::string& what, const Error& e) {
  std::fprintf(stderr, "rampart ca %s: %s\n", what.c_str(), e.message().c_str());
  return 1;
}

// Opens the CA without listening: keys, store and templates, as serve would.
Result<std::unique_ptr<ca::CaServer>> openOffline(ca::CaConfig config, asio::io_context& io) {
  config.est.listen.clear();
  config.pki.listen.clear();
  return ca::CaServer::create(std::move(config), io.get_executor());
}

int serve(ca::CaConfig config) {
  auto logger = log::get("ca");
  asio::io_context io;
  auto server = ca::CaServer::create(std::move(config), io.get_executor());
  if (!server) return failWith("serve", server.error());
  (*server)->start();
  // Printed whatever the log level: scripts that configure port 0 read it.
  auto est = (*server)->estEndpoint();
  auto pki = (*server)->pkiEndpoint();
  std::fprintf(stderr, "ca listening: est %s:%u pki %s:%u\n", est.address().to_string().c_str(),
               static_cast<unsigned>(est.port()), pki.address().to_string().c_str(),
               static_cast<unsigned>(pki.port()));
  std::fflush(stderr);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    logger->info("signal {}: stopping", signo);
    (*server)->stop();
    io.stop();
  });
  int threads = (*server)->config().threads > 0
                    ? (*server)->config().threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  server->reset();
  return 0;
}

int init(ca::CaConfig config) {
  asio::io_context io;
  auto server = openOffline(std::move(config), io);
  if (!server) return failWith("init", server.error());
  const auto& authority = (*server)->authority();
  std::printf("root     %s\n         SHA-256 %s\n", crypto::x509::subjectText(authority->root()).c_str(),
              crypto::x509::sha256Fingerprint(authority->root()).c_str());
  std::printf("issuing  %s\n", crypto::x509::subjectText(authority->issuing()).c_str());
  std::printf("chain    %s\ncrl      %s\n", authority->chainPemPath().c_str(), authority->crlPath().c_str());
  return 0;
}

int provisioning(ca::CaConfig config, const Args& args) {
  std::string url = option(args, "url");
  if (url.rfind("https://", 0) != 0) {
    std::fputs("rampart ca provisioning: --url https://HOST[:PORT] (the gateway devices reach) is required\n",
               stderr);
    return 2;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string organization = config.authority.organization;
  asio::io_context io;
  auto server = openOffline(std::move(config), io);
  if (!server) return failWith("provisioning", server.error());
  const auto& authority = (*server)->authority();
  codec::ProvisioningDoc doc;
  doc.organization = organization;
  doc.eas_url = url;
  doc.est_url = url + "/.well-known/est";
  auto templates = authority->store().listTemplates();
  if (!templates) return failWith("provisioning", templates.error());
  for (const auto& [name, text] : *templates) {
    auto t = ca::parseTemplate(text, name);
    if (!t || !t->enabled) continue;
    codec::ProvisioningTemplate pt;
    pt.name = t->name;
    pt.kind = std::string(ca::templateKindName(t->kind));
    pt.key_type = std::string(crypto::x509::keyTypeName(t->key_types.front()));
    doc.templates.push_back(std::move(pt));
  }
  doc.root_pems.push_back(crypto::x509::certificatePem(authority->root()));
  std::string xml = codec::writeProvisioning(doc);
  std::string out = option(args, "out");
  if (out.empty()) {
    std::fputs(xml.c_str(), stdout);
    return 0;
  }
  if (auto st = crypto::x509::writeFileAtomic(out, xml, 0644); !st) return failWith("provisioning", st.error());
  std::fprintf(stderr, "wrote %s (root SHA-256 %s: devices must confirm it)\n", out.c_str(),
               crypto::x509::sha256Fingerprint(authority->root()).c_str());
  return 0;
}

}  // namespace

int runCa(const Args& args) {
  auto pos = positionals(args, {"config", "url", "out"});
  if (pos.empty() || flag(args, "help")) return pos.empty() ? usage() : (std::fputs(kUsage, stdout), 0);
  std::string path = option(args, "config");
  if (path.empty()) return usage();
  auto config = ca::loadCaConfig(path);
  if (!config) {
    std::fprintf(stderr, "rampart ca: %s\n", config.error().message().c_str());
    return 2;
  }
  log::init(config->log_level);
  if (pos[0] == "serve") return serve(std::move(*config));
  if (pos[0] == "init") return init(std::move(*config));
  if (pos[0] == "provisioning") return provisioning(std::move(*config), args);
  return usage();
}

}  // namespace rampart::cmd
