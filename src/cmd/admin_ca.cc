// `rampart admin template|cert`: the certificate authority's templates
// ("certificate types", DESIGN.md 3) and the certificates it issued.
//
//   rampart admin [--config FILE | --data-dir DIR] template list
//   rampart admin ... template show NAME
//   rampart admin ... template add NAME --kind KIND     (the kind's defaults)
//   rampart admin ... template set NAME --file FILE      (a whole template, TOML)
//   rampart admin ... template remove NAME
//   rampart admin ... cert list [--status S] [--user U] [--template T]
//   rampart admin ... cert approve|reject ID
//   rampart admin ... cert revoke SERIAL [--reason REASON]
//
// The commands work on the CA's tables in the server database; a running CA
// notices a revocation at its next refresh (ca.toml [pki] refresh_interval)
// and re-issues its CRL, and OCSP answers "revoked" from then on. Approving
// lets the device's next retry of the same request be issued (RFC 7030 4.2.3).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ca/template.h"
#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/clock.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "store/sqlite/sqlite_ca_store.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart admin [--config FILE | --data-dir DIR] template|cert <command>\n"
    "  template list                       the certificate types\n"
    "  template show NAME                  one template as TOML\n"
    "  template add NAME --kind KIND       a new template with the kind's defaults\n"
    "                                      (tls_client, smime_signing, smime_encryption, wifi, tls_server)\n"
    "  template set NAME --file FILE       replace a template with FILE (TOML, checked first)\n"
    "  template remove NAME\n"
    "  cert list [--status S] [--user U] [--template T]\n"
    "                                      S: pending approved issued rejected revoked\n"
    "  cert approve|reject ID              decide a pending request\n"
    "  cert revoke SERIAL [--reason R]     R: unspecified keyCompromise affiliationChanged\n"
    "                                      superseded cessationOfOperation privilegeWithdrawn\n";

const std::vector<std::string> kValued = {"config", "data-dir", "kind", "file", "status", "user", "template",
                                          "reason"};

int failWith(const std::string& what, const Error& e) {
  std::fprintf(stderr, "rampart admin %s: %s\n", what.c_str(), e.message().c_str());
  return 1;
}

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

// RFC 5280 5.3.1 CRLReason codes an administrator may give.
int reasonCode(const std::string& name) {
  static const std::pair<const char*, int> kReasons[] = {
      {"unspecified", 0},          {"keyCompromise", 1},        {"affiliationChanged", 3},
      {"superseded", 4},           {"cessationOfOperation", 5}, {"privilegeWithdrawn", 9}};
  for (const auto& [n, code] : kReasons) {
    if (name == n) return code;
  }
  return -1;
}

std::string day(std::int64_t t) { return t == 0 ? "-" : utcText(t, "%Y-%m-%d"); }

int runTemplate(const Args& args, store::CaStore& ca, const std::vector<std::string>& pos) {
  if (pos.size() < 2) return usage();
  const std::string& verb = pos[1];
  if (verb == "list") {
    auto all = ca.listTemplates();
    if (!all) return failWith("template", all.error());
    std::printf("%-20s %-18s %-9s %-8s %s\n", "NAME", "KIND", "LIFETIME", "APPROVAL", "STATE");
    for (const auto& [name, text] : *all) {
      auto t = ca::parseTemplate(text, name);
      if (!t) {
        std::printf("%-20s (unreadable: %s)\n", name.c_str(), t.error().message().c_str());
        continue;
      }
      std::printf("%-20s %-18s %-9s %-8s %s\n", name.c_str(), std::string(ca::templateKindName(t->kind)).c_str(),
                  (std::to_string(t->lifetime.count() / 86400) + "d").c_str(), t->require_approval ? "yes" : "no",
                  t->enabled ? "enabled" : "disabled");
    }
    return 0;
  }
  if (pos.size() < 3) return usage();
  const std::string& name = pos[2];
  if (verb == "show") {
    auto text = ca.getTemplate(name);
    if (!text) return failWith("template", text.error());
    if (!*text) return failWith("template", Error{make_error_code(Errc::not_found), "no template " + name});
    std::fputs((*text)->c_str(), stdout);
    return 0;
  }
  if (verb == "remove") {
    if (auto st = ca.removeTemplate(name); !st) return failWith("template", st.error());
    std::printf("removed template %s\n", name.c_str());
    return 0;
  }
  if (verb == "add" || verb == "set") {
    if (!ca::isValidTemplateName(name)) {
      std::fprintf(stderr, "rampart admin template: '%s' is not a template name ([a-z0-9-], 1-64)\n", name.c_str());
      return 2;
    }
    auto existing = ca.getTemplate(name);
    if (!existing) return failWith("template", existing.error());
    ca::CertTemplate t;
    if (verb == "add") {
      if (*existing) return failWith("template", Error{make_error_code(Errc::already_exists), name + " exists"});
      auto kind = ca::parseTemplateKind(option(args, "kind"));
      if (!kind) return failWith("template", kind.error());
      t = ca::defaultTemplate(*kind, name);
    } else {
      std::string file = option(args, "file");
      if (file.empty()) return usage();
      auto text = crypto::x509::readFile(file, 64 * 1024);
      if (!text) return failWith("template", text.error());
      auto parsed = ca::parseTemplate(*text, file);
      if (!parsed) return failWith("template", parsed.error());
      if (parsed->name != name) {
        std::fprintf(stderr, "rampart admin template: %s names template '%s', not '%s'\n", file.c_str(),
                     parsed->name.c_str(), name.c_str());
        return 1;
      }
      t = std::move(*parsed);
    }
    if (auto st = ca.putTemplate(name, ca::templateToToml(t)); !st) return failWith("template", st.error());
    std::printf("%s template %s (%s)\n", verb == "add" ? "added" : "replaced", name.c_str(),
                std::string(ca::templateKindName(t.kind)).c_str());
    return 0;
  }
  return usage();
}

int runCert(const Args& args, store::CaStore& ca, const DataPaths& paths, const std::vector<std::string>& pos) {
  if (pos.size() < 2) return usage();
  const std::string& verb = pos[1];
  if (verb == "list") {
    store::CertFilter filter;
    if (std::string s = option(args, "status"); !s.empty()) {
      auto status = store::parseCertStatus(s);
      if (!status) return failWith("cert", status.error());
      filter.status = *status;
    }
    filter.user = option(args, "user");
    filter.template_name = option(args, "template");
    auto list = ca.list(filter);
    if (!list) return failWith("cert", list.error());
    std::printf("%-6s %-9s %-34s %-16s %-14s %-10s %-10s %s\n", "ID", "STATUS", "SERIAL", "USER", "TEMPLATE",
                "ISSUED", "EXPIRES", "REQUESTER");
    for (const auto& r : *list) {
      std::printf("%-6lld %-9s %-34s %-16s %-14s %-10s %-10s %s\n", static_cast<long long>(r.id),
                  std::string(store::certStatusName(r.status)).c_str(), r.serial.empty() ? "-" : r.serial.c_str(),
                  r.user.c_str(), r.template_name.c_str(), day(r.issued_at).c_str(), day(r.not_after).c_str(),
                  r.requester.c_str());
    }
    return 0;
  }
  if (pos.size() < 3) return usage();
  if (verb == "approve" || verb == "reject") {
    char* end = nullptr;
    long long id = std::strtoll(pos[2].c_str(), &end, 10);
    if (end == pos[2].c_str() || *end != '\0' || id <= 0) return usage();
    if (auto st = ca.decide(id, verb == "approve", administrator()); !st) return failWith("cert", st.error());
    std::printf("%s request %lld%s\n", verb == "approve" ? "approved" : "rejected", id,
                verb == "approve" ? " (issued when the device retries)" : "");
    return 0;
  }
  if (verb == "revoke") {
    std::string serial = pos[2];
    for (char& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    int reason = reasonCode(option(args, "reason", "unspecified"));
    if (reason < 0) return usage();
    auto rec = ca.findBySerial(serial);
    if (!rec) return failWith("cert", rec.error());
    if (!*rec) return failWith("cert", Error{make_error_code(Errc::not_found), "no certificate " + serial});
    if (auto st = ca.revoke(serial, reason, unixSeconds(systemClock().now()), administrator()); !st) {
      return failWith("cert", st.error());
    }
    // Withdrawn from the directory too, so ResolveRecipients stops handing it out.
    if (auto dir = directory::BuiltinDirectory::open(paths.database); dir) {
      (void)(*dir)->unpublishCertificate(serial);
    }
    std::printf("revoked %s (%s, template %s); the CA re-issues its CRL at its next refresh\n", serial.c_str(),
                (*rec)->user.c_str(), (*rec)->template_name.c_str());
    return 0;
  }
  return usage();
}

}  // namespace

int runAdminCa(const Args& args) {
  auto pos = positionals(args, kValued);
  if (pos.empty()) return usage();
  auto paths = resolvePaths(args);
  if (!paths) return failWith(pos[0], paths.error());
  auto ca = store::sqlite::SqliteCaStore::open(paths->database);
  if (!ca) return failWith(pos[0], ca.error());
  if (pos[0] == "template") return runTemplate(args, **ca, pos);
  return runCert(args, **ca, *paths, pos);
}

}  // namespace rampart::cmd
