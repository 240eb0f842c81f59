// `rampart device`: the phone's side of Exchange ActiveSync, as a CLI over
// src/device (the Client does the protocol; this file parses arguments and
// prints).
//
//   rampart device setup --url https://HOST:PORT --user U (--password-file F | --password-env VAR)
//                        [--ca FILE] [--device-id ID] [--device-type T] [--version 16.1]
//                        [--autodiscover EMAIL] [--email ADDR]
//   rampart device folders | sync [--folder NAME] | list [--folder NAME] | read ID
//   rampart device send --to A [--cc A] --subject S (--body TEXT | --body-file F)
//   rampart device reply ID (--body TEXT | --body-file F)
//   rampart device forward ID --to A (--body TEXT | --body-file F)
//   rampart device move ID --to-folder NAME | delete ID
//   rampart device watch [--folder NAME] [--heartbeat S] [--count N]
//
// Every command takes --state FILE (default ~/.rampart-device.db). The
// password is never taken on the command line (other users see it in ps); it
// is kept in the state file, mode 0600 (src/device/state.h says why).
// Exit codes: 0 done, 1 failed, 2 usage, 3 the server ordered a remote wipe.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "cmd/commands.h"
#include "device/client.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart device <command> [--state FILE]\n"
    "  setup --url https://HOST:PORT --user U (--password-file F | --password-env VAR)\n"
    "        [--ca FILE] [--device-id ID] [--device-type T] [--version 16.1]\n"
    "        [--autodiscover EMAIL] [--email ADDR]\n"
    "                                  set up the account: Autodiscover, OPTIONS, Provision, "
    "FolderSync\n"
    "  folders                         FolderSync, then the folder hierarchy\n"
    "  sync [--folder NAME]            Sync a folder (default Inbox)\n"
    "  list [--folder NAME]            the messages synced so far, with their local IDs\n"
    "  read ID                         print a message and mark it read\n"
    "  send --to A [--cc A] --subject S (--body TEXT | --body-file F)\n"
    "  reply ID (--body TEXT | --body-file F)\n"
    "  forward ID --to A (--body TEXT | --body-file F)\n"
    "  move ID --to-folder NAME        MoveItems\n"
    "  delete ID                       delete (the server moves it to Deleted Items)\n"
    "  watch [--folder NAME] [--heartbeat S] [--count N]\n"
    "                                  Ping; print \"new: FOLDER FROM SUBJECT\" per new message\n";

const std::vector<std::string> kValued = {
    "state",       "url",     "user",         "password-file", "password-env", "ca",   "device-id",
    "device-type", "version", "autodiscover", "email",         "folder",       "to",   "cc",
    "subject",     "body",    "body-file",    "to-folder",     "heartbeat",    "count"};

int failWith(const Error& e) {
  std::fprintf(stderr, "rampart device: %s\n",
               e.detail.empty() ? e.message().c_str() : e.detail.c_str());
  return device::isWiped(e) ? 3 : 1;
}

int usageError(const std::string& why) {
  std::fprintf(stderr, "rampart device: %s\n%s", why.c_str(), kUsage);
  return 2;
}

std::string statePath(const Args& args) {
  std::string path = option(args, "state");
  if (!path.empty()) return path;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.rampart-device.db";
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::io_error, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every value of a repeatable option (--to a --to b), commas splitting too.
std::vector<std::string> values(const Args& args, const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "--" + name) continue;
    std::string v = args[i + 1];
    std::size_t pos = 0;
    while (pos <= v.size()) {
      std::size_t comma = v.find(',', pos);
      if (comma == std::string::npos) comma = v.size();
      std::string one = v.substr(pos, comma - pos);
      while (!one.empty() && one.front() == ' ') one.erase(0, 1);
      while (!one.empty() && one.back() == ' ') one.pop_back();
      if (!one.empty()) out.push_back(one);
      pos = comma + 1;
    }
  }
  return out;
}

Result<std::string> bodyOf(const Args& args) {
  std::string file = option(args, "body-file");
  if (!file.empty()) return readFile(file);
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--body") return args[i + 1];
  }
  return fail(Errc::invalid_argument, "a body is needed (--body TEXT or --body-file F)");
}

Result<std::int64_t> localId(const std::vector<std::string>& pos) {
  if (pos.size() < 2)
    return fail(Errc::invalid_argument, "which message? (an ID from `rampart device list`)");
  try {
    std::size_t used = 0;
    long long v = std::stoll(pos[1], &used);
    if (used == pos[1].size() && v > 0) return static_cast<std::int64_t>(v);
  } catch (...) {
  }
  return fail(Errc::invalid_argument, "not a message ID: " + pos[1]);
}

void notify(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

// "2026-11-24T21:00:00.000Z" -> "2026-11-24 21:00".
std::string shortDate(const std::string& iso) {
  if (iso.size() < 16) return iso;
  std::string out = iso.substr(0, 16);
  out[10] = ' ';
  return out;
}

int setup(const Args& args) {
  device::SetupOptions o;
  o.url = option(args, "url");
  o.user = option(args, "user");
  if (o.url.empty() || o.user.empty()) return usageError("setup needs --url and --user");
  if (flag(args, "password") || !option(args, "password").empty()) {
    return usageError("no --password: use --password-file F or --password-env VAR");
  }
  std::string file = option(args, "password-file");
  std::string env = option(args, "password-env");
  if (!file.empty()) {
    auto text = readFile(file);
    if (!text) return failWith(text.error());
    o.password = text->substr(0, text->find_first_of("\r\n"));
  } else if (!env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (!value) return usageError("the environment variable " + env + " is not set");
    o.password = value;
  } else {
    return usageError("setup needs --password-file F or --password-env VAR");
  }
  o.ca_file = option(args, "ca");
  o.device_id = option(args, "device-id");
  o.device_type = option(args, "device-type", o.device_type);
  o.max_version = option(args, "version", o.max_version);
  o.autodiscover_email = option(args, "autodiscover");
  o.email = option(args, "email");
  std::string path = statePath(args);
  auto report = device::Client::setup(path, o, notify);
  if (!report) return failWith(report.error());
  if (!o.autodiscover_email.empty()) {
    if (report->autodiscover_url) {
      std::printf("autodiscover: %s\n", report->autodiscover_url->c_str());
    } else {
      std::printf("autodiscover: skipped (%s)\n", report->autodiscover_note.c_str());
    }
  }
  std::printf("account %s on %s: protocol %s, provisioned, %zu folders\n", o.user.c_str(),
              o.url.c_str(), report->version.c_str(), report->folders);
  std::printf("state: %s (mode 0600; it holds the password)\n", path.c_str());
  return 0;
}

}  // namespace

int runDevice(const Args& args) {
  auto pos = positionals(args, kValued);
  if (pos.empty() || flag(args, "help") || pos[0] == "help") {
    std::fputs(kUsage, pos.empty() ? stderr : stdout);
    return pos.empty() ? 2 : 0;
  }
  const std::string& verb = pos[0];
  if (verb == "setup") return setup(args);

  static const std::vector<std::string> kVerbs = {"folders", "sync",    "list", "read",   "send",
                                                  "reply",   "forward", "move", "delete", "watch"};
  if (std::find(kVerbs.begin(), kVerbs.end(), verb) == kVerbs.end()) {
    return usageError("unknown command '" + verb + "'");
  }
  auto client = device::Client::open(statePath(args), notify);
  if (!client) return failWith(client.error());
  std::string folder = option(args, "folder");

  if (verb == "folders") {
    if (auto st = client->folderSync(); !st) return failWith(st.error());
    auto folders = client->folders();
    if (!folders) return failWith(folders.error());
    for (const auto& f : *folders) {
      std::printf("%-12s type=%-3d %s\n", f.folder.server_id.c_str(), f.folder.type,
                  f.folder.display_name.c_str());
    }
    return 0;
  }
  if (verb == "sync") {
    auto r = client->sync(folder);
    if (!r) return failWith(r.error());
    std::printf("%s: %zu new, %zu changed, %zu deleted\n", r->folder_name.c_str(), r->added.size(),
                r->changed, r->removed);
    return 0;
  }
  if (verb == "list") {
    auto items = client->list(folder);
    if (!items) return failWith(items.error());
    std::printf("%-5s %-2s %-16s  %-32s %s\n", "ID", "", "DATE", "FROM", "SUBJECT");
    for (const auto& i : *items) {
      std::printf("%-5lld %c%c %-16s  %-32s %s\n", static_cast<long long>(i.id), i.read ? ' ' : 'N',
                  i.flagged ? 'F' : ' ', shortDate(i.date).c_str(), i.from.c_str(),
                  i.subject.c_str());
    }
    return 0;
  }
  if (verb == "watch") {
    device::WatchOptions o;
    if (!folder.empty()) o.folders = values(args, "folder");
    try {
      std::string hb = option(args, "heartbeat");
      if (!hb.empty()) o.heartbeat = static_cast<std::uint32_t>(std::stoul(hb));
      std::string count = option(args, "count");
      if (!count.empty()) o.count = std::stoul(count);
    } catch (...) {
      return usageError("--heartbeat and --count take numbers");
    }
    auto st = client->watch(o, [](const device::SyncReport& r, const device::LocalItem& item) {
      std::printf("new: %s %s %s\n", r.folder_name.c_str(), item.from.c_str(),
                  item.subject.c_str());
      std::fflush(stdout);
    });
    if (!st) return failWith(st.error());
    return 0;
  }
  if (verb == "send") {
    device::Outgoing m;
    m.to = values(args, "to");
    m.cc = values(args, "cc");
    m.subject = option(args, "subject");
    if (m.to.empty()) return usageError("send needs --to");
    auto body = bodyOf(args);
    if (!body) return usageError(body.error().detail);
    m.body = *body;
    if (auto st = client->send(m); !st) return failWith(st.error());
    std::printf("sent\n");
    return 0;
  }

  auto id = localId(pos);
  if (!id) return usageError(id.error().detail);
  if (verb == "read") {
    auto m = client->read(*id);
    if (!m) return failWith(m.error());
    std::printf("Folder: %s\nFrom: %s\nTo: %s\n", m->folder_name.c_str(), m->item.from.c_str(),
                m->to.c_str());
    if (!m->cc.empty()) std::printf("Cc: %s\n", m->cc.c_str());
    // The body as lines for a terminal: CRLF to LF, trailing blank lines dropped.
    std::string text;
    for (char c : m->body) {
      if (c != '\r') text += c;
    }
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::printf("Date: %s\nSubject: %s\n\n%s\n", m->item.date.c_str(), m->item.subject.c_str(),
                text.c_str());
    if (m->truncated) std::printf("[truncated by the server]\n");
    return 0;
  }
  if (verb == "reply" || verb == "forward") {
    auto body = bodyOf(args);
    if (!body) return usageError(body.error().detail);
    Status st;
    if (verb == "reply") {
      st = client->reply(*id, *body);
    } else {
      auto to = values(args, "to");
      if (to.empty()) return usageError("forward needs --to");
      st = client->forward(*id, to, *body);
    }
    if (!st) return failWith(st.error());
    std::printf("%s\n", verb == "reply" ? "replied" : "forwarded");
    return 0;
  }
  if (verb == "move") {
    std::string to = option(args, "to-folder");
    if (to.empty()) return usageError("move needs --to-folder NAME");
    if (auto st = client->move(*id, to); !st) return failWith(st.error());
    std::printf("moved %lld to %s\n", static_cast<long long>(*id), to.c_str());
    return 0;
  }
  if (verb == "delete") {
    if (auto st = client->remove(*id); !st) return failWith(st.error());
    std::printf("deleted %lld\n", static_cast<long long>(*id));
    return 0;
  }
  return usageError("unknown command '" + verb + "'");
}

}  // namespace rampart::cmd
