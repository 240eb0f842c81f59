// `rampart admin`: the built-in directory's users and groups, and mail tools.
//
//   rampart admin [--config FILE | --data-dir DIR] user add NAME --address ADDR
//                 [--address ADDR...] [--display-name TEXT] [--password-stdin]
//   rampart admin ... user passwd NAME [--password-stdin]
//   rampart admin ... user disable|enable|remove NAME
//   rampart admin ... user alias add|remove NAME ADDR
//   rampart admin ... user list
//   rampart admin ... group add|remove NAME
//   rampart admin ... group member add|remove GROUP USER
//   rampart admin ... group list
//   rampart admin ... mail ...            (admin_mail.cc)
//   rampart admin ... mailbox ...         (admin_mailbox.cc)
//   rampart admin ... device ...          (admin_device.cc)
//   rampart admin ... template|cert ...   (admin_ca.cc)
//   rampart admin ... rights ...          (admin_rights.cc)
//
// Passwords are never taken from the command line (other users could read
// them in the process list): from standard input with --password-stdin, or
// typed at a terminal prompt without echo.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "directory/builtin_directory.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] <command>\n"
    "  user add NAME --address ADDR [--address ADDR...] [--display-name TEXT] [--password-stdin]\n"
    "  user passwd NAME [--password-stdin]\n"
    "  user disable|enable|remove NAME\n"
    "  user alias add|remove NAME ADDR\n"
    "  user list\n"
    "  group add|remove NAME\n"
    "  group member add|remove GROUP USER\n"
    "  group list\n"
    "  mail send|queue ...        (rampart admin mail help)\n"
    "  mailbox folders|list|show  (rampart admin mailbox)\n"
    "  device list|wipe|block|allow  (rampart admin device)\n"
    "  template list|show|add|set|remove  (rampart admin template)\n"
    "  cert list|approve|reject|revoke    (rampart admin cert)\n"
    "  rights template|user|log         (rampart admin rights)\n";

const std::vector<std::string> kValued = {"config", "data-dir", "address", "display-name"};

Result<std::string> readPassword(const Args& args) {
  std::string password;
  if (flag(args, "password-stdin")) {
    if (!std::getline(std::cin, password)) return fail(Errc::invalid_argument, "no password on standard input");
  } else if (::isatty(STDIN_FILENO)) {
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    std::fputs("password: ", stderr);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputs("\n", stderr);
  } else {
    return fail(Errc::invalid_argument, "give the password on standard input with --password-stdin");
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return fail(Errc::invalid_argument, "empty password");
  return password;
}

std::vector<std::string> allValues(const Args& args, const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--" + name) out.push_back(args[i + 1]);
  }
  return out;
}

int report(const Status& st, const std::string& done) {
  if (!st) {
    std::fprintf(stderr, "rampart admin: %s\n", st.error().message().c_str());
    return 1;
  }
  if (!done.empty()) std::printf("%s\n", done.c_str());
  return 0;
}

int userCommand(directory::BuiltinDirectory& dir, const Args& args, const std::vector<std::string>& pos) {
  if (pos.size() < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& verb = pos[1];
  if (verb == "list") {
    auto users = dir.listUsers();
    if (!users) return report(fail(users.error()), "");
    for (const auto& u : *users) {
      std::string addrs;
      for (const auto& a : u.addresses) addrs += (addrs.empty() ? "" : ",") + a;
      std::printf("%-20s %-8s %-30s %s\n", u.name.c_str(), u.enabled ? "enabled" : "disabled",
                  addrs.c_str(), u.display_name.c_str());
    }
    return 0;
  }
  if (pos.size() < 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& name = pos[2];
  if (verb == "add") {
    directory::User user;
    user.name = name;
    user.display_name = option(args, "display-name", name);
    user.addresses = allValues(args, "address");
    if (user.addresses.empty()) return report(fail(Errc::invalid_argument, "user add needs --address"), "");
    auto password = readPassword(args);
    if (!password) return report(fail(password.error()), "");
    return report(dir.addUser(user, *password), "added user " + name);
  }
  if (verb == "passwd") {
    auto password = readPassword(args);
    if (!password) return report(fail(password.error()), "");
    return report(dir.setPassword(name, *password), "password changed for " + name);
  }
  if (verb == "disable") return report(dir.setEnabled(name, false), "disabled " + name);
  if (verb == "enable") return report(dir.setEnabled(name, true), "enabled " + name);
  if (verb == "remove") return report(dir.removeUser(name), "removed user " + name);
  if (verb == "alias" && pos.size() >= 5) {
    // pos: user alias add|remove NAME ADDR
    const std::string& op = pos[2];
    const std::string& user = pos[3];
    const std::string& address = pos[4];
    if (op == "add") return report(dir.addAddress(user, address), "added " + address + " to " + user);
    if (op == "remove") return report(dir.removeAddress(user, address), "removed " + address + " from " + user);
  }
  std::fputs(kUsage, stderr);
  return 2;
}

int groupCommand(directory::BuiltinDirectory& dir, const std::vector<std::string>& pos) {
  if (pos.size() >= 2 && pos[1] == "list") {
    auto groups = dir.listGroups();
    if (!groups) return report(fail(groups.error()), "");
    for (const auto& g : *groups) {
      std::string members;
      for (const auto& m : g.members) members += (members.empty() ? "" : ",") + m;
      std::printf("%-20s %s\n", g.name.c_str(), members.c_str());
    }
    return 0;
  }
  if (pos.size() >= 3 && pos[1] == "add") return report(dir.addGroup(pos[2]), "added group " + pos[2]);
  if (pos.size() >= 3 && pos[1] == "remove") return report(dir.removeGroup(pos[2]), "removed group " + pos[2]);
  if (pos.size() >= 5 && pos[1] == "member") {
    if (pos[2] == "add") return report(dir.addMember(pos[3], pos[4]), "added " + pos[4] + " to " + pos[3]);
    if (pos[2] == "remove") return report(dir.removeMember(pos[3], pos[4]), "removed " + pos[4] + " from " + pos[3]);
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int runAdmin(const Args& args) {
  auto pos = positionals(args, kValued);
  if (pos.empty() || pos[0] == "help") {
    std::fputs(kUsage, pos.empty() ? stderr : stdout);
    return pos.empty() ? 2 : 0;
  }
  if (pos[0] == "mail") return runAdminMail(args);
  if (pos[0] == "mailbox") return runAdminMailbox(args);
  if (pos[0] == "device") return runAdminDevice(args);
  if (pos[0] == "template" || pos[0] == "cert") return runAdminCa(args);
  if (pos[0] == "rights") return runAdminRights(args);
  if (pos[0] != "user" && pos[0] != "group") {
    std::fprintf(stderr, "rampart admin: unknown command '%s'\n%s", pos[0].c_str(), kUsage);
    return 2;
  }
  auto paths = resolvePaths(args);
  if (!paths) return report(fail(paths.error()), "");
  auto dir = directory::BuiltinDirectory::open(paths->database, {});
  if (!dir) return report(fail(dir.error()), "");
  return pos[0] == "user" ? userCommand(**dir, args, pos) : groupCommand(**dir, pos);
}

}  // namespace rampart::cmd
