// `rampart gateway`: the edge gateway role (DESIGN.md 2).
//
//   rampart gateway run --config FILE       serve; SIGHUP reloads, SIGTERM/SIGINT drain
//   rampart gateway check --config FILE     load and check the file, print the rules
//   rampart gateway publish SERVICE --config FILE --backend HOST:PORT [options]
//                                           print (or --append) a rule for eas,
//                                           autodiscover, est or web
//   rampart gateway otp add USER --config FILE [--hotp] [--digits 6|8]
//                                           enrol a one-time-code generator
//   rampart gateway otp remove USER --config FILE
//   rampart gateway key new FILE            a new delegation key (mode 0600)
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cmd/commands.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "gateway/auth/otp.h"
#include "gateway/auth/second_factor_store.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/publish.h"

namespace rampart::cmd {

namespace {

constexpr const char* kUsage =
    "usage: rampart gateway run --config FILE\n"
    "       rampart gateway check --config FILE\n"
    "       rampart gateway publish eas|autodiscover|est|web --config FILE --backend HOST:PORT\n"
    "              [--host NAME] [--path /PREFIX] [--auth basic|certificate|certificate+basic|basic+otp|basic+radius|none]\n"
    "              [--name NAME] [--plain-backend] [--backend-ca FILE] [--backend-name NAME]\n"
    "              [--client-cert FILE --client-key FILE] [--delegate] [--append]\n"
    "       rampart gateway otp add|remove USER --config FILE [--hotp] [--digits 6|8]\n"
    "       rampart gateway key new FILE\n";

int loadError(const Error& e) {
  std::fprintf(stderr, "rampart gateway: %s\n", e.message().c_str());
  return 2;
}

// Blocks SIGHUP/SIGTERM/SIGINT in every thread and waits for them here, so the
// gateway's I/O threads never run a handler.
int runGateway(const std::string& path) {
  auto config = gateway::loadGatewayConfig(path);
  if (!config) return loadError(config.error());
  log::init(config->log_level);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto gw = gateway::Gateway::create(std::move(*config));
  if (!gw) {
    std::fprintf(stderr, "rampart gateway: %s\n", gw.error().message().c_str());
    return 1;
  }
  (*gw)->start();
  auto at = (*gw)->localEndpoint();
  // Printed whatever the log level: tests that configure port 0 read it.
  std::fprintf(stderr, "gateway listening on %s:%u\n", at.address().to_string().c_str(),
               static_cast<unsigned>(at.port()));
  if (auto admin = (*gw)->adminEndpoint(); admin.port() != 0) {
    std::fprintf(stderr, "gateway admin on %s:%u\n", admin.address().to_string().c_str(),
                 static_cast<unsigned>(admin.port()));
  }
  std::fflush(stderr);
  auto logger = log::get("gateway");
  for (;;) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (signo == SIGHUP) {
      auto fresh = gateway::loadGatewayConfig(path);
      if (!fresh) {
        logger->error("reload refused, keeping the running config: {}", fresh.error().message());
        continue;
      }
      if (auto st = (*gw)->reload(std::move(*fresh)); !st) {
        logger->error("reload failed, keeping the running config: {}", st.error().message());
      }
      continue;
    }
    logger->info("signal {}: draining", signo);
    (*gw)->stop();
    return 0;
  }
}

int publish(const Args& args, const std::vector<std::string>& pos) {
  if (pos.size() < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string path = option(args, "config");
  gateway::GatewayConfig config;
  if (!path.empty()) {
    // The rules must join a valid file; a file that has none yet is fine.
    std::ifstream in(path);
    if (in) {
      auto loaded = gateway::loadGatewayConfig(path);
      if (loaded) {
        config = std::move(*loaded);
      } else if (loaded.error().detail.find("nothing is published") == std::string::npos) {
        return loadError(loaded.error());
      }
    }
  }
  gateway::PublishRequest req;
  auto service = gateway::parseService(pos[1]);
  if (!service) return loadError(service.error());
  req.service = *service;
  req.name = option(args, "name");
  req.host = option(args, "host", "*");
  req.path = option(args, "path");
  req.backend = option(args, "backend");
  req.auth = option(args, "auth");
  req.backend_tls = !flag(args, "plain-backend");
  req.backend_ca_file = option(args, "backend-ca");
  req.backend_server_name = option(args, "backend-name");
  req.client_cert_file = option(args, "client-cert");
  req.client_key_file = option(args, "client-key");
  req.delegate = flag(args, "delegate");
  auto toml = gateway::publishRules(req, config);
  if (!toml) {
    std::fprintf(stderr, "rampart gateway publish: refused:\n%s\n", toml.error().detail.c_str());
    return 1;
  }
  if (!flag(args, "append")) {
    std::fputs(toml->c_str(), stdout);
    return 0;
  }
  if (path.empty()) {
    std::fputs("rampart gateway publish: --append needs --config FILE\n", stderr);
    return 2;
  }
  std::ofstream out(path, std::ios::app);
  out << "\n" << *toml;
  out.close();
  if (!out) {
    std::fprintf(stderr, "rampart gateway publish: cannot write %s\n", path.c_str());
    return 1;
  }
  std::fprintf(stderr, "appended to %s; `kill -HUP` the gateway to apply\n", path.c_str());
  return 0;
}

int otp(const Args& args, const std::vector<std::string>& pos) {
  if (pos.size() < 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string path = option(args, "config");
  std::string data_dir = option(args, "data-dir");
  if (data_dir.empty()) {
    auto config = gateway::loadGatewayConfig(path);
    if (!config) return loadError(config.error());
    data_dir = config->data_dir;
  }
  auto store = gateway::auth::SecondFactorStore::open(data_dir + "/second-factor.db");
  if (!store) return loadError(store.error());
  const std::string& user = pos[2];
  if (pos[1] == "remove") {
    auto removed = (*store)->remove(user);
    if (!removed) return loadError(removed.error());
    std::fprintf(stderr, "%s\n", *removed ? "removed" : "no generator for that user");
    return *removed ? 0 : 1;
  }
  if (pos[1] != "add") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  int digits = std::atoi(option(args, "digits", "6").c_str());
  if (digits != 6 && digits != 8) {
    std::fputs("rampart gateway otp: --digits must be 6 or 8\n", stderr);
    return 2;
  }
  auto secret = gateway::auth::generateSecret(
      systemRandom(), flag(args, "hotp") ? gateway::auth::OtpKind::hotp : gateway::auth::OtpKind::totp,
      static_cast<unsigned>(digits));
  if (auto st = (*store)->enroll(user, secret); !st) return loadError(st.error());
  // The secret goes to the user's authenticator app, once; it is not logged.
  std::printf("%s\n", gateway::auth::otpauthUri(secret, "Rampart", user).c_str());
  return 0;
}

}  // namespace

int runGatewayCommand(const Args& args) {
  auto pos = positionals(args, {"config", "backend", "host", "path", "auth", "name", "backend-ca",
                                "backend-name", "client-cert", "client-key", "digits", "data-dir"});
  if (pos.empty() || flag(args, "help")) {
    std::fputs(kUsage, pos.empty() ? stderr : stdout);
    return pos.empty() ? 2 : 0;
  }
  if (pos[0] == "run") {
    std::string path = option(args, "config");
    if (path.empty()) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    return runGateway(path);
  }
  if (pos[0] == "check") {
    auto config = gateway::loadGatewayConfig(option(args, "config"));
    if (!config) return loadError(config.error());
    for (const auto& rule : config->rules) {
      std::printf("%s: %s%s -> %s (%s, auth %s)\n", rule.name.c_str(), rule.host.c_str(), rule.path.c_str(),
                  rule.backend.c_str(), rule.backend_tls ? (rule.backend_h2 ? "h2 over mTLS" : "TLS") : "plain",
                  std::string(gateway::authMethodName(rule.auth)).c_str());
    }
    return 0;
  }
  if (pos[0] == "publish") return publish(args, pos);
  if (pos[0] == "otp") return otp(args, pos);
  if (pos[0] == "key" && pos.size() == 3 && pos[1] == "new") {
    if (auto st = crypto::writeNewAssertionKey(pos[2]); !st) return loadError(st.error());
    std::fprintf(stderr, "wrote %s (give the same file to the mail server's [eas] delegation_key_file)\n",
                 pos[2].c_str());
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace rampart::cmd
