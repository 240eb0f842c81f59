// The `rampart` binary's subcommands, one file each; main.cc dispatches.
// Each takes the arguments after its own name and returns the exit code.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace rampart::server {
class MailServer;
struct ServerConfig;
}  // namespace rampart::server

namespace rampart::cmd {

using Args = std::vector<std::string>;

int runUp(const Args& args);          // up.cc: every role on loopback, dev PKI, demo users
int runServer(const Args& args);      // server.cc: the mail server role
// Runs the mail server until SIGTERM/SIGINT, then drains (server.cc); calls
// `on_started` once it listens. Shared by `rampart server` and `rampart up`.
// `before_stop` runs first when a stop signal arrives (rampart up stops the
// gateway in front, so its keep-alive links do not hold the drain).
int serveMail(const server::ServerConfig& config,
              const std::function<void(server::MailServer&)>& on_started,
              const std::function<void()>& before_stop = nullptr);
int runAdmin(const Args& args);       // admin.cc: user, group, mail
int runAdminMail(const Args& args);   // admin_mail.cc: `rampart admin mail send ...`
int runAdminMailbox(const Args& args);  // admin_mailbox.cc: `rampart admin mailbox ...`
int runAdminDevice(const Args& args);   // admin_device.cc: `rampart admin device ...`
int runAdminCa(const Args& args);       // admin_ca.cc: `rampart admin template|cert ...`
int runAdminRights(const Args& args);
int runRights(const Args& args);        // rights.cc: `rampart rights serve|licensor`   // admin_rights.cc: `rampart admin rights ...`
int runCa(const Args& args);            // ca.cc: the certificate authority, `rampart ca ...`
int runDevice(const Args& args);        // device.cc: the EAS device client, `rampart device ...`
int runGatewayCommand(const Args& args);  // gateway.cc: the edge gateway, `rampart gateway ...`

// Small helpers shared by the subcommands (args.cc).
// The path of the running binary, for commands printed to the user.
std::string self();
// Returns the value after `--name` (or `--name=value`), or `fallback`.
std::string option(const Args& args, const std::string& name, const std::string& fallback = "");
bool flag(const Args& args, const std::string& name);
// Positional arguments (those not starting with "--" and not an option's value).
std::vector<std::string> positionals(const Args& args, const std::vector<std::string>& valued);

}  // namespace rampart::cmd
