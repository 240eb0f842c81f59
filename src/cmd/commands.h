// The `rampart` binary's subcommands, one file each; main.cc dispatches.
// Each takes the arguments after its own name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace rampart::cmd {

using Args = std::vector<std::string>;

int runUp(const Args& args);          // up.cc: every role on loopback, dev PKI, demo users
int runServer(const Args& args);      // server.cc: the mail server role
int runAdmin(const Args& args);       // admin.cc: user, group, mail
int runAdminMail(const Args& args);   // admin_mail.cc: `rampart admin mail send ...`

// Small helpers shared by the subcommands (args.cc).
// Returns the value after `--name` (or `--name=value`), or `fallback`.
std::string option(const Args& args, const std::string& name, const std::string& fallback = "");
bool flag(const Args& args, const std::string& name);
// Positional arguments (those not starting with "--" and not an option's value).
std::vector<std::string> positionals(const Args& args, const std::vector<std::string>& valued);

}  // namespace rampart::cmd
