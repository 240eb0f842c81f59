// `rampart admin rights`: the rights server's templates, the users whose
// licensing is revoked, and the log of use-license requests (docs/rights.md).
//
//   rampart admin [--config FILE | --data-dir DIR] rights template list
//   rampart admin ... rights template show ID|NAME
//   rampart admin ... rights template set --file FILE    (a whole template, TOML; id inside)
//   rampart admin ... rights template revoke ID|NAME     (no new use licenses)
//   rampart admin ... rights template restore ID|NAME
//   rampart admin ... rights template remove ID|NAME
//   rampart admin ... rights user revoke USER | user restore USER | user list
//   rampart admin ... rights log [--license ID] [--limit N]
//
// The commands work on the rights tables in the server database; a running
// rights server reads them on every request, so a revocation stops the next
// use license.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/ascii.h"
#include "core/clock.h"
#include "crypto/rights/license.h"
#include "crypto/x509/x509.h"
#include "store/sqlite/sqlite_rights_store.h"

namespace rampart::cmd {
namespace {

namespace rights = crypto::rights;

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] rights <command>\n"
    "  template list                       the rights templates\n"
    "  template show ID|NAME               one template as TOML\n"
    "  template set --file FILE            add or replace a template (TOML, checked first)\n"
    "  template revoke|restore ID|NAME     stop / resume new use licenses under it\n"
    "  template remove ID|NAME\n"
    "  user revoke|restore USER            stop / resume new use licenses for a user\n"
    "  user list                           the revoked users\n"
    "  log [--license ID] [--limit N]      use-license requests, newest first\n";

const std::vector<std::string> kValued = {"config", "data-dir", "file", "license", "limit"};

int failWith(const std::string& what, const Error& e) {
  std::fprintf(stderr, "rampart admin rights %s: %s\n", what.c_str(), e.message().c_str());
  return 1;
}

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

std::string stamp(std::int64_t t) { return utcText(t, "%Y-%m-%d %H:%M:%S"); }

// A template by id or (case-insensitive) name.
Result<rights::Template> findTemplate(store::RightsStore& st, const std::string& key) {
  auto all = st.listTemplates();
  if (!all) return fail(all.error());
  for (const auto& [id, toml] : *all) {
    auto t = rights::parseTemplateToml(toml, "template " + id);
    if (!t) return fail(t.error());
    if (equalsIgnoreCase(t->id, key) || equalsIgnoreCase(t->name, key)) return std::move(*t);
  }
  return fail(Errc::not_found, "no rights template '" + key + "'");
}

int runTemplate(const Args& args, store::RightsStore& st, const std::vector<std::string>& pos) {
  if (pos.size() < 3) return usage();
  const std::string& verb = pos[2];
  if (verb == "list") {
    auto all = st.listTemplates();
    if (!all) return failWith("template", all.error());
    std::printf("%-36s  %-24s %-8s %s\n", "ID", "NAME", "STATE", "RIGHTS");
    for (const auto& [id, toml] : *all) {
      auto t = rights::parseTemplateToml(toml, "template " + id);
      if (!t) return failWith("template", t.error());
      std::printf("%-36s  %-24s %-8s %s\n", t->id.c_str(), t->name.c_str(), t->revoked ? "revoked" : "active",
                  rights::rightsText(t->rights).c_str());
    }
    return 0;
  }
  if (verb == "set") {
    std::string file = option(args, "file");
    if (file.empty() || pos.size() != 3) return usage();
    auto text = crypto::x509::readFile(file, 1 << 20);
    if (!text) return failWith("template", text.error());
    auto t = rights::parseTemplateToml(*text, file);
    if (!t) return failWith("template", t.error());
    if (auto s = st.putTemplate(t->id, rights::templateToml(*t)); !s) return failWith("template", s.error());
    std::printf("template %s (%s) saved\n", t->id.c_str(), t->name.c_str());
    return 0;
  }
  if (pos.size() != 4) return usage();
  auto t = findTemplate(st, pos[3]);
  if (!t) return failWith("template", t.error());
  if (verb == "show") {
    std::fputs(rights::templateToml(*t).c_str(), stdout);
    return 0;
  }
  if (verb == "revoke" || verb == "restore") {
    t->revoked = verb == "revoke";
    if (auto s = st.putTemplate(t->id, rights::templateToml(*t)); !s) return failWith("template", s.error());
    std::printf("template %s (%s) %s\n", t->id.c_str(), t->name.c_str(),
                t->revoked ? "revoked: no new use licenses" : "restored");
    return 0;
  }
  if (verb == "remove") {
    if (auto s = st.removeTemplate(t->id); !s) return failWith("template", s.error());
    std::printf("template %s (%s) removed\n", t->id.c_str(), t->name.c_str());
    return 0;
  }
  return usage();
}

int runUser(store::RightsStore& st, const std::vector<std::string>& pos) {
  if (pos.size() < 3) return usage();
  const std::string& verb = pos[2];
  if (verb == "list" && pos.size() == 3) {
    auto users = st.revokedUsers();
    if (!users) return failWith("user", users.error());
    for (const auto& u : *users) std::printf("%s\n", u.c_str());
    return 0;
  }
  if (pos.size() != 4) return usage();
  if (verb == "revoke") {
    if (auto s = st.revokeUser(pos[3], static_cast<std::int64_t>(std::time(nullptr)), administrator()); !s)
      return failWith("user", s.error());
    std::printf("%s: no new use licenses\n", pos[3].c_str());
    return 0;
  }
  if (verb == "restore") {
    if (auto s = st.restoreUser(pos[3]); !s) return failWith("user", s.error());
    std::printf("%s: use licenses again\n", pos[3].c_str());
    return 0;
  }
  return usage();
}

int runLog(const Args& args, store::RightsStore& st) {
  std::size_t limit = 50;
  std::string text = option(args, "limit");
  if (!text.empty()) {
    char* end = nullptr;
    unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v == 0 || v > 100000) return usage();
    limit = v;
  }
  auto entries = st.logEntries(option(args, "license"), limit);
  if (!entries) return failWith("log", entries.error());
  std::printf("%-19s  %-12s %-8s %-32s %s\n", "TIME (UTC)", "USER", "ANSWER", "LICENSE", "RIGHTS / REASON");
  for (const auto& e : *entries) {
    std::printf("%-19s  %-12s %-8s %-32s %s\n", stamp(e.at).c_str(), e.user.c_str(),
                e.granted ? "granted" : "refused", e.license_id.c_str(),
                e.granted ? rights::rightsText(e.rights).c_str() : e.reason.c_str());
  }
  return 0;
}

}  // namespace

int runAdminRights(const Args& args) {
  auto pos = positionals(args, kValued);
  if (pos.size() < 2 || pos[0] != "rights") return usage();
  auto paths = resolvePaths(args);
  if (!paths) return failWith(pos[1], paths.error());
  auto st = store::sqlite::SqliteRightsStore::open(paths->database);
  if (!st) return failWith(pos[1], st.error());
  if (pos[1] == "template") return runTemplate(args, **st, pos);
  if (pos[1] == "user") return runUser(**st, pos);
  if (pos[1] == "log") return runLog(args, **st);
  return usage();
}

}  // namespace rampart::cmd
