// `rampart`: one binary, a subcommand per role (DESIGN.md).
#include <cstdio>
#include <string>

#include "cmd/commands.h"

namespace {

void usage() {
  std::fputs(
      "usage: rampart <command> [options]\n"
      "\n"
      "  up        run every role on loopback with a development PKI and demo users\n"
      "  server    run the mail server (LMTP in, SMTP out, mailbox store)\n"
      "  gateway   the edge gateway: run, check, publish, otp, key: rampart gateway help\n"
      "  ca        the certificate authority: serve, init, provisioning: rampart ca help\n"
      "  rights    the rights server: serve, licensor: rampart rights help\n"
      "  admin     manage users, groups, mail, templates, certificates and rights: rampart admin help\n"
      "  device    the EAS device client (setup, sync, read, send, watch): rampart device help\n"
      "  version   print the version\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string command = argv[1];
  rampart::cmd::Args args(argv + 2, argv + argc);
  if (command == "up") return rampart::cmd::runUp(args);
  if (command == "server") return rampart::cmd::runServer(args);
  if (command == "gateway") return rampart::cmd::runGatewayCommand(args);
  if (command == "admin") return rampart::cmd::runAdmin(args);
  if (command == "ca") return rampart::cmd::runCa(args);
  if (command == "rights") return rampart::cmd::runRights(args);
  if (command == "device") return rampart::cmd::runDevice(args);
  if (command == "version" || command == "--version") {
    std::puts("rampart " RAMPART_VERSION);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    usage();
    return 0;
  }
  std::fprintf(stderr, "rampart: unknown command '%s'\n", command.c_str());
  usage();
  return 2;
}
