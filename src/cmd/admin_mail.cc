// `rampart admin mail`: put a message into the outbound queue, and look at it.
//
//   rampart admin [--config FILE | --data-dir DIR] mail send --from ADDR --to ADDR
//                 [--to ADDR...] < message.eml
//   rampart admin ... mail queue
//
// `send` queues the message for every recipient, local or not, in one durable
// write, and prints the queue id. The running server's relay worker picks the
// entry up (it polls the queue every [relay] poll_interval) and delivers local
// recipients straight into their Inboxes and the rest through the relay. So
// this command never writes the mailbox store beside the server's own writer,
// never needs the directory, and a message sent while the server is down
// waits in the queue instead of failing.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/sqlite/sqlite_outbound_queue.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] mail <command>\n"
    "  send --from ADDR --to ADDR [--to ADDR...] [--max-size BYTES] < message.eml\n"
    "       queue the message (local recipients too); prints the queue id\n"
    "  queue        list the outbound queue\n";

const std::vector<std::string> kValued = {"config", "data-dir", "from", "to", "max-size"};

std::vector<std::string> allValues(const Args& args, const std::string& name) {
  std::vector<std::string> out;
  const std::string dashed = "--" + name;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == dashed && i + 1 < args.size()) out.push_back(args[++i]);
    else if (args[i].rfind(dashed + "=", 0) == 0) out.push_back(args[i].substr(dashed.size() + 1));
  }
  return out;
}

// An RFC 5321 mailbox as it may appear between < and > on the wire: no
// brackets, spaces or control characters, with an @ that is neither first nor last.
bool plausibleAddress(const std::string& a) {
  auto at = a.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size() || a.size() > 254) return false;
  for (unsigned char c : a) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  }
  return true;
}

std::string utcTime(store::TimePoint t) { return utcText(unixSeconds(t), "%Y-%m-%dT%H:%M:%SZ"); }

int send(store::OutboundQueue& queue, const Args& args) {
  std::string from = option(args, "from");
  auto to = allValues(args, "to");
  // An empty --from is not a bounce we make up: bounces come from the relay worker.
  if (!plausibleAddress(from)) {
    std::fprintf(stderr, "rampart admin mail send: --from needs an address like alice@example.org\n");
    return 2;
  }
  if (to.empty()) {
    std::fprintf(stderr, "rampart admin mail send: give at least one --to ADDR\n");
    return 2;
  }
  for (const auto& t : to) {
    if (!plausibleAddress(t)) {
      std::fprintf(stderr, "rampart admin mail send: bad recipient address '%s'\n", t.c_str());
      return 2;
    }
  }
  std::uint64_t max_size = 35ull * 1024 * 1024;
  if (std::string m = option(args, "max-size"); !m.empty()) {
    auto parsed = parseByteSize(m);
    if (!parsed) {
      std::fprintf(stderr, "rampart admin mail send: --max-size: %s\n", parsed.error().message().c_str());
      return 2;
    }
    max_size = *parsed;
  }
  if (::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "rampart admin mail send: reading the message from standard input (end with Ctrl-D)\n");
  }
  std::string bytes;
  char chunk[65536];
  while (std::cin.read(chunk, sizeof chunk) || std::cin.gcount() > 0) {
    bytes.append(chunk, static_cast<std::size_t>(std::cin.gcount()));
    if (bytes.size() > max_size) {
      std::fprintf(stderr, "rampart admin mail send: message larger than %llu bytes\n",
                   static_cast<unsigned long long>(max_size));
      return 1;
    }
  }
  if (bytes.empty()) {
    std::fprintf(stderr, "rampart admin mail send: empty message on standard input\n");
    return 2;
  }
  auto id = queue.enqueue(from, to, bytes, systemClock().now());
  if (!id) {
    std::fprintf(stderr, "rampart admin mail send: %s\n", id.error().message().c_str());
    return 1;
  }
  std::printf("queued %lld\n", static_cast<long long>(*id));
  return 0;
}

int list(store::OutboundQueue& queue) {
  auto entries = queue.list();
  if (!entries) {
    std::fprintf(stderr, "rampart admin mail queue: %s\n", entries.error().message().c_str());
    return 1;
  }
  std::printf("%-8s %-20s %-20s %-8s %-10s %-30s %s\n", "ID", "QUEUED", "NEXT ATTEMPT", "TRIES",
              "SIZE", "FROM", "TO / LAST ERROR");
  for (const auto& e : *entries) {
    std::string rcpts;
    for (const auto& r : e.recipients) rcpts += (rcpts.empty() ? "" : ",") + r;
    std::printf("%-8lld %-20s %-20s %-8d %-10llu %-30s %s\n", static_cast<long long>(e.id),
                utcTime(e.created_at).c_str(), utcTime(e.next_attempt).c_str(), e.attempts,
                static_cast<unsigned long long>(e.size),
                e.sender.empty() ? "<>" : e.sender.c_str(), rcpts.c_str());
    if (!e.last_error.empty()) std::printf("%-8s %s\n", "", e.last_error.c_str());
  }
  std::printf("%zu entr%s\n", entries->size(), entries->size() == 1 ? "y" : "ies");
  return 0;
}

}  // namespace

int runAdminMail(const Args& args) {
  auto pos = positionals(args, kValued);
  // pos[0] is "mail" (rampart admin dispatches on it).
  std::string what = pos.size() >= 2 ? pos[1] : "";
  if (what.empty() || what == "help") {
    std::fputs(kUsage, what.empty() ? stderr : stdout);
    return what.empty() ? 2 : 0;
  }
  if (what != "send" && what != "queue" && what != "list") {
    std::fprintf(stderr, "rampart admin mail: unknown command '%s'\n%s", what.c_str(), kUsage);
    return 2;
  }
  auto paths = resolvePaths(args);
  if (!paths) {
    std::fprintf(stderr, "rampart admin mail: %s\n", paths.error().message().c_str());
    return 1;
  }
  auto queue = store::sqlite::SqliteOutboundQueue::open(paths->database);
  if (!queue) {
    std::fprintf(stderr, "rampart admin mail: %s\n", queue.error().message().c_str());
    return 1;
  }
  return what == "send" ? send(**queue, args) : list(**queue);
}

}  // namespace rampart::cmd
