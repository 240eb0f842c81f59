// `rampart device`: the phone's side of Exchange ActiveSync, as a CLI over
// src/device (the Client does the protocol; this file parses arguments and
// prints).
//
//   rampart device setup --url https://HOST:PORT --user U (--password-file F | --password-env VAR)
//                        [--ca FILE] [--device-id ID] [--device-type T] [--version 16.1]
//                        [--autodiscover EMAIL] [--email ADDR] [--cert [--template T]]
//   rampart device setup --provisioning FILE --user U (--password-file F | --password-env VAR)
//                        [--url URL] [--ca FILE] [--trust-fingerprint FP]... [--cert [--wait]]
//   rampart device cert enroll [--template device] [--est-url URL] [--trust-fingerprint FP]
//                        [--wait] [--use-for-eas] [--key-type ec-p256]
//                        [--user U (--password-file F | --password-env V)] [--ca FILE]
//   rampart device cert renew [--template device] [--wait] | cert list
//   rampart device cert trust (--fingerprint FP | --file ROOT.pem)
//   rampart device cert export --out F --password-env V [--template device] [--profile
//   modern|compat] rampart device cert import --in F --password-env V [--template device]
//   [--use-for-eas] rampart device folders | sync [--folder NAME] | list [--folder NAME] | read ID
//   rampart device send --to A [--cc A] --subject S (--body TEXT | --body-file F)
//   rampart device reply ID (--body TEXT | --body-file F)
//   rampart device forward ID --to A (--body TEXT | --body-file F)
//   rampart device move ID --to-folder NAME | delete ID
//   rampart device watch [--folder NAME] [--heartbeat S] [--count N]
//
// Every command takes --state FILE (default ~/.rampart-device.db). The
// password is never taken on the command line (other users see it in ps); it
// is kept in the state file, mode 0600 (src/device/state.h says why).
// Certificates (issue 5) live beside the state file in FILE.certs/ (0700);
// see src/device/cert_store.h.
// Exit codes: 0 done, 1 failed, 2 usage, 3 the server ordered a remote wipe,
// 4 the CA holds the certificate request (pending approval: run it again later).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cmd/commands.h"
#include "codec/provisioning.h"
#include "core/clock.h"
#include "crypto/x509/x509.h"
#include "device/cert_store.h"
#include "device/client.h"
#include "device/est_client.h"

namespace rampart::cmd {
namespace {

constexpr const char* kUsage =
    "usage: rampart device <command> [--state FILE]\n"
    "  setup --url https://HOST:PORT --user U (--password-file F | --password-env VAR)\n"
    "        [--ca FILE] [--device-id ID] [--device-type T] [--version 16.1]\n"
    "        [--autodiscover EMAIL] [--email ADDR] [--cert [--template T]]\n"
    "                                  set up the account: Autodiscover, OPTIONS, Provision, "
    "FolderSync\n"
    "                                  (--cert: log in with the stored certificate, no password)\n"
    "  setup --provisioning FILE --user U (--password-file F | --password-env VAR)\n"
    "        [--url URL] [--ca FILE] [--trust-fingerprint FP]... [--cert [--template T] [--wait]]\n"
    "                                  EAS and EST URLs and roots from the document; roots\n"
    "                                  are trusted only when accepted; --cert enrolls first\n"
    "  folders                         FolderSync, then the folder hierarchy\n"
    "  sync [--folder NAME]            Sync a folder (default Inbox)\n"
    "  list [--folder NAME]            the messages synced so far, with their local IDs\n"
    "  read ID                         print a message and mark it read; S/MIME is verified\n"
    "                                  and decrypted, rights-protected mail opened with a use\n"
    "                                  license (who signed, the rights granted are shown)\n"
    "  send --to A [--cc A] --subject S (--body TEXT | --body-file F)\n"
    "       [--sign] [--encrypt] [--protect TEMPLATE]\n"
    "                                  S/MIME sign (smime-sign certificate), encrypt to every\n"
    "                                  recipient (ResolveRecipients), rights-protect with a\n"
    "                                  template (e.g. \"Do Not Forward\")\n"
    "  reply ID (--body TEXT | --body-file F) [--sign] [--encrypt]\n"
    "  forward ID --to A (--body TEXT | --body-file F) [--sign] [--encrypt]\n"
    "                                  a protected original keeps its template; refused where\n"
    "                                  its rights deny reply or forward\n"
    "  rights templates                the rights server's templates\n"
    "  move ID --to-folder NAME        MoveItems\n"
    "  delete ID                       delete (the server moves it to Deleted Items)\n"
    "  watch [--folder NAME] [--heartbeat S] [--count N]\n"
    "                                  Ping; print \"new: FOLDER FROM SUBJECT\" per new message\n"
    "  cert enroll [--template device] [--est-url URL] [--trust-fingerprint FP] [--wait]\n"
    "        [--use-for-eas] [--key-type ec-p256|ec-p384|rsa-2048|rsa-3072|rsa-4096]\n"
    "        [--user U (--password-file F | --password-env V)] [--ca FILE]\n"
    "                                  key pair made here, request sent over EST (Basic)\n"
    "  cert renew [--template device] [--wait] [--key-type T]\n"
    "                                  EST simplereenroll with the current certificate\n"
    "  cert list                       certificates and roots (trusted, waiting for acceptance)\n"
    "  cert trust (--fingerprint FP | --file ROOT.pem)\n"
    "                                  accept a root (compare the fingerprint out of band)\n"
    "  cert export --out F --password-env V [--template device] [--profile modern|compat]\n"
    "  cert import --in F --password-env V [--template device] [--use-for-eas]\n"
    "                                  PKCS#12; compat = 3DES/SHA-1 for old phones\n"
    "  cert token --template smime-sign|smime-encrypt --uri pkcs11:token=T;object=O;type=private\n"
    "       [--module /usr/lib/softhsm/libsofthsm2.so]\n"
    "                                  use the key on a PKCS#11 token (smart card); its PIN\n"
    "                                  comes from RAMPART_PKCS11_PIN at every use\n"
    "exit codes: 0 done, 1 failed, 2 usage, 3 remote wipe, 4 certificate request pending\n";

const std::vector<std::string> kValued = {
    "state",        "url",          "user",      "password-file",
    "password-env", "ca",           "device-id", "device-type",
    "version",      "autodiscover", "email",     "folder",
    "to",           "cc",           "subject",   "body",
    "body-file",    "to-folder",    "heartbeat", "count",
    "provisioning", "template",     "est-url",   "trust-fingerprint",
    "fingerprint",  "file",         "out",       "in",
    "profile",      "key-type",     "protect",   "uri",
    "module"};

device::SecurityOptions securityOptions(const Args& args) {
  device::SecurityOptions o;
  o.sign = flag(args, "sign");
  o.encrypt = flag(args, "encrypt");
  o.protect = option(args, "protect");
  return o;
}

std::string utcTime(std::int64_t t) { return utcText(t, "%Y-%m-%d %H:%M UTC"); }

std::string when(std::int64_t t) { return t == 0 ? "never" : utcTime(t); }

// The security lines of `read`: what a user must see before trusting a message.
void printSecurity(const device::SecurityReport& r) {
  if (r.encrypted) std::printf("Encrypted: yes (%s)\n", r.cipher.c_str());
  if (r.signature) {
    const auto& s = *r.signature;
    std::string verdict = s.good()                 ? "good"
                          : !s.valid               ? "BAD (" + s.detail + ")"
                          : !s.chain.ok()          ? std::string("signature valid, certificate NOT trusted (") +
                                                         std::string(crypto::x509::chainStatusName(s.chain.status)) +
                                                         (s.chain.detail.empty() ? "" : ": " + s.chain.detail) + ")"
                                                   : "signature valid, but the signer is not the sender (From)";
    std::printf("Signature: %s\nSigned-By: %s\n", verdict.c_str(), s.signer_subject.c_str());
    // RFC 4853: with several signers, the best one's verdict is the one above.
    if (s.signers > 1) std::printf("Signers: %d (the best shown)\n", s.signers);
  } else if (r.smime) {
    std::printf("Signature: none\n");
  }
  if (r.rights) {
    const auto& l = *r.rights;
    std::printf("Rights: %s (%s)\nRights-Owner: %s\nRights-License-Expires: %s\n", l.template_name.c_str(),
                crypto::rights::rightsText(l.rights).c_str(), l.owner.c_str(), when(l.expires).c_str());
    if (l.content_expiry != 0) std::printf("Rights-Content-Expires: %s\n", when(l.content_expiry).c_str());
  }
}

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

// The password from --password-file or --password-env; nullopt when neither
// was given (the caller decides whether one is needed).
Result<std::optional<std::string>> passwordOf(const Args& args) {
  if (flag(args, "password") || !option(args, "password").empty()) {
    return fail(Errc::invalid_argument,
                "no --password: use --password-file F or --password-env VAR");
  }
  std::string file = option(args, "password-file");
  std::string env = option(args, "password-env");
  if (!file.empty()) {
    auto text = readFile(file);
    if (!text) return fail(text.error());
    return std::optional<std::string>{text->substr(0, text->find_first_of("\r\n"))};
  }
  if (!env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (!value)
      return fail(Errc::invalid_argument, "the environment variable " + env + " is not set");
    return std::optional<std::string>{std::string(value)};
  }
  return std::optional<std::string>{};
}

// Asks on the terminal whether to trust a root seen for the first time; no
// terminal, no trust.
bool askTrust(const device::RootInfo& root) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return false;
  std::fprintf(stderr,
               "A root certificate not seen before:\n  subject  %s\n  SHA-256  %s\n"
               "Compare the fingerprint with the one your administrator gave you.\n"
               "Trust this root? [yes/NO] ",
               root.subject.c_str(), root.fingerprint.c_str());
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  return line == "yes" || line == "y" || line == "YES";
}

void printUntrusted(const device::RootInfo& root) {
  std::printf(
      "root NOT trusted yet: %s\n  SHA-256 %s\n  accept it with: rampart device cert "
      "trust --fingerprint %s\n",
      root.subject.c_str(), root.fingerprint.c_str(), root.fingerprint.c_str());
}

// The key type for a template: --key-type, else the provisioning document's.
Result<std::optional<crypto::x509::KeyType>> keyTypeFor(const Args& args, device::CertStore& store,
                                                        const std::string& template_name) {
  std::string named = option(args, "key-type");
  if (!named.empty()) {
    auto t = crypto::x509::parseKeyType(named);
    if (!t) return fail(t.error());
    return std::optional<crypto::x509::KeyType>{*t};
  }
  auto xml = store.provisioning();
  if (!xml) return fail(xml.error());
  if (*xml) {
    auto doc = codec::parseProvisioning(**xml);
    if (doc) {
      for (const auto& t : doc->templates) {
        if (t.name != template_name || t.key_type.empty()) continue;
        auto k = crypto::x509::parseKeyType(t.key_type);
        if (k) return std::optional<crypto::x509::KeyType>{*k};
      }
    }
  }
  return std::optional<crypto::x509::KeyType>{};
}

// Runs an enrollment and prints its outcome; 0 issued, 4 pending, 1 failed.
int runEnroll(device::CertStore& store, const device::EnrollRequest& request, device::Notify say) {
  auto r = device::enroll(store, request, askTrust, say);
  if (!r) return failWith(r.error());
  if (r->pending) {
    std::printf(
        "pending, retry after %d s: the CA holds the request for template %s (approval?); "
        "run the same command again (or add --wait)\n",
        r->retry_after, request.template_name.c_str());
    return 4;
  }
  const auto& c = r->cert;
  std::printf(
      "%s certificate for template %s\n  subject  %s\n  issuer   %s\n  serial   %s\n"
      "  expires  %s\n  SHA-256  %s\n  files    %s, %s (0600)\n",
      request.renew ? "renewed" : "issued", c.template_name.c_str(), c.subject.c_str(),
      c.issuer.c_str(), c.serial.c_str(), utcTime(c.not_after).c_str(), c.fingerprint.c_str(),
      c.cert_file.c_str(), c.key_file.c_str());
  return 0;
}

int setup(const Args& args) {
  device::SetupOptions o;
  std::string provisioning = option(args, "provisioning");
  o.url = option(args, "url");
  o.user = option(args, "user");
  if (provisioning.empty() && o.url.empty())
    return usageError("setup needs --url or --provisioning");
  if (o.user.empty()) return usageError("setup needs --user");
  auto password = passwordOf(args);
  if (!password) return usageError(password.error().detail);
  bool use_cert = flag(args, "cert");
  if (*password)
    o.password = **password;
  else if (!use_cert || !provisioning.empty())
    return usageError("setup needs --password-file F or --password-env VAR");
  o.ca_file = option(args, "ca");
  o.device_id = option(args, "device-id");
  o.device_type = option(args, "device-type", o.device_type);
  o.max_version = option(args, "version", o.max_version);
  o.autodiscover_email = option(args, "autodiscover");
  o.email = option(args, "email");
  std::string path = statePath(args);
  std::string template_name = option(args, "template", "device");

  auto store = device::CertStore::open(device::certDirFor(path));
  if (!store) return failWith(store.error());
  if (!provisioning.empty()) {
    auto text = crypto::x509::readFile(provisioning, codec::kMaxProvisioningBytes);
    if (!text) return failWith(text.error());
    auto doc = codec::parseProvisioning(*text);
    if (!doc) return failWith(doc.error());
    if (auto st = store->saveProvisioning(*text); !st) return failWith(st.error());
    if (o.url.empty()) o.url = doc->eas_url;
    if (o.url.empty()) return usageError("the document names no EAS URL: add --url");
    o.est_url = doc->est_url;
    std::vector<std::string> accepted;
    for (const auto& fp : values(args, "trust-fingerprint")) {
      auto n = device::normalizeFingerprint(fp);
      if (!n) return usageError(n.error().detail);
      accepted.push_back(*n);
    }
    if (!doc->organization.empty()) std::printf("organization: %s\n", doc->organization.c_str());
    std::printf("EST: %s\n", doc->est_url.c_str());
    for (const auto& pem : doc->root_pems) {
      auto cert = crypto::x509::parseCertificate(pem);
      if (!cert) return failWith(cert.error());
      if (!device::isSelfSigned(cert->get())) {
        std::printf("skipped a <root> that is not self-signed: %s\n",
                    crypto::x509::subjectText(cert->get()).c_str());
        continue;
      }
      auto trusted = store->isTrusted(cert->get());
      if (!trusted) return failWith(trusted.error());
      device::RootInfo info = device::rootInfo(cert->get());
      if (*trusted) {
        std::printf("root already trusted: %s\n", info.subject.c_str());
        continue;
      }
      bool ok = std::find(accepted.begin(), accepted.end(), info.fingerprint) != accepted.end() ||
                askTrust(info);
      if (ok) {
        auto t = store->trust(cert->get());
        if (!t) return failWith(t.error());
        std::printf("trusted root: %s\n  SHA-256 %s\n", t->subject.c_str(), t->fingerprint.c_str());
      } else {
        auto p = store->addPending(cert->get());
        if (!p) return failWith(p.error());
        printUntrusted(*p);
      }
    }
    if (use_cert) {
      device::EnrollRequest r;
      r.template_name = template_name;
      r.est_url = o.est_url;
      r.ca_file = o.ca_file;
      r.user = o.user;
      r.password = o.password;
      r.trust_fingerprints = accepted;
      r.wait = flag(args, "wait");
      auto key_type = keyTypeFor(args, *store, template_name);
      if (!key_type) return usageError(key_type.error().detail);
      r.key_type = *key_type;
      int rc = runEnroll(*store, r, notify);
      if (rc == 4) {
        use_cert = false;  // set up with the password now; switch once issued
        std::printf(
            "setting up with the password for now; once issued: rampart device cert "
            "enroll --use-for-eas\n");
      } else if (rc != 0) {
        return rc;
      }
    }
  }
  if (use_cert) {
    auto stored = store->load(template_name);
    if (!stored) return failWith(stored.error());
    o.use_certificate = true;
    o.cert_file = store->certPath(template_name);
    o.key_file = store->keyPath(template_name);
  }
  auto report = device::Client::setup(path, o, notify);
  if (!report) return failWith(report.error());
  if (!o.autodiscover_email.empty()) {
    if (report->autodiscover_url) {
      std::printf("autodiscover: %s\n", report->autodiscover_url->c_str());
    } else {
      std::printf("autodiscover: skipped (%s)\n", report->autodiscover_note.c_str());
    }
  }
  std::printf("account %s on %s: protocol %s, provisioned, %zu folders, login: %s\n",
              o.user.c_str(), o.url.c_str(), report->version.c_str(), report->folders,
              o.use_certificate ? "certificate" : "password");
  std::printf("state: %s (mode 0600; it holds the password)\n", path.c_str());
  return 0;
}

// `rampart device cert ...`
int cert(const Args& args, const std::vector<std::string>& pos) {
  if (pos.size() < 2)
    return usageError("cert needs a command: enroll, renew, list, trust, import, export, token");
  const std::string& verb = pos[1];
  std::string path = statePath(args);
  std::string template_name = option(args, "template", "device");
  auto store = device::CertStore::open(device::certDirFor(path));
  if (!store) return failWith(store.error());
  // The account, when there is one: user, password, EST URL, TLS trust.
  std::optional<device::Account> account;
  if (verb == "enroll" || verb == "renew" || flag(args, "use-for-eas")) {
    auto state = device::DeviceState::open(path);
    if (!state) return failWith(state.error());
    auto a = state->account();
    if (!a) return failWith(a.error());
    account = *a;
  }
  auto useForEas = [&]() -> int {
    if (!account || account->url.empty())
      return usageError("--use-for-eas needs an account: run `rampart device setup` first");
    auto client = device::Client::open(path, notify);
    if (!client) return failWith(client.error());
    if (auto st =
            client->useCertificate(store->certPath(template_name), store->keyPath(template_name));
        !st)
      return failWith(st.error());
    std::printf("account %s now logs in with the certificate (no password sent)\n",
                client->account().user.c_str());
    return 0;
  };

  if (verb == "enroll" || verb == "renew") {
    device::EnrollRequest r;
    r.template_name = template_name;
    r.renew = verb == "renew";
    r.wait = flag(args, "wait");
    r.est_url = option(args, "est-url", account ? account->est_url : "");
    r.ca_file = option(args, "ca", account ? account->ca_file : "");
    r.user = option(args, "user", account ? account->user : "");
    auto password = passwordOf(args);
    if (!password) return usageError(password.error().detail);
    r.password = *password ? **password : account ? account->password : "";
    for (const auto& fp : values(args, "trust-fingerprint")) {
      auto n = device::normalizeFingerprint(fp);
      if (!n) return usageError(n.error().detail);
      r.trust_fingerprints.push_back(*n);
    }
    if (r.est_url.empty())
      return usageError("no EST URL: give --est-url or set up from a provisioning document");
    if (!r.renew && (r.user.empty() || r.password.empty()))
      return usageError(
          "enroll needs a user and password (an account, or --user and --password-env)");
    auto key_type = keyTypeFor(args, *store, template_name);
    if (!key_type) return usageError(key_type.error().detail);
    r.key_type = *key_type;
    int rc = runEnroll(*store, r, notify);
    if (rc != 0) return rc;
    // Remember an EST URL given on the command line.
    if (account && !account->url.empty() && account->est_url != r.est_url) {
      auto client = device::Client::open(path, notify);
      if (client) {
        device::Account next = client->account();
        next.est_url = r.est_url;
        if (auto st = client->saveAccount(next); !st) return failWith(st.error());
      }
    }
    if (flag(args, "use-for-eas")) return useForEas();
    return 0;
  }
  if (verb == "list") {
    auto certs = store->list();
    if (!certs) return failWith(certs.error());
    std::printf("%-14s %-28s %-20s %-20s %s\n", "TEMPLATE", "SUBJECT", "SERIAL", "NOT AFTER",
                "SHA-256");
    for (const auto& c : *certs) {
      std::printf("%-14s %-28s %-20s %-20s %s\n", c.template_name.c_str(), c.subject.c_str(),
                  c.serial.c_str(), utcTime(c.not_after).c_str(), c.fingerprint.c_str());
    }
    auto trusted = store->trustedRoots();
    if (!trusted) return failWith(trusted.error());
    for (const auto& r : *trusted)
      std::printf("trusted root: %s\n  SHA-256 %s\n", r.subject.c_str(), r.fingerprint.c_str());
    auto pending = store->pendingRoots();
    if (!pending) return failWith(pending.error());
    for (const auto& r : *pending) printUntrusted(r);
    return 0;
  }
  if (verb == "token") {
    // A key on a PKCS#11 token (smart card) for S/MIME: the PIN comes from
    // the environment at every use and is never stored.
    std::string uri = option(args, "uri");
    std::string module = option(args, "module", "/usr/lib/softhsm/libsofthsm2.so");
    if (uri.empty() || option(args, "template").empty())
      return usageError("cert token needs --template smime-sign|smime-encrypt --uri pkcs11:...");
    const char* pin = std::getenv(std::string(device::MessageSecurity::kPinEnv).c_str());
    if (pin == nullptr)
      return usageError("set " + std::string(device::MessageSecurity::kPinEnv) + " to the token's PIN");
    device::MessageSecurity sec(std::move(*store), {});
    if (auto st = sec.useToken(template_name, uri, module, pin); !st) return failWith(st.error());
    std::printf("%s: the key on the token %s signs and decrypts from now on\n", template_name.c_str(),
                uri.c_str());
    return 0;
  }
  if (verb == "trust") {
    std::string fp = option(args, "fingerprint");
    std::string file = option(args, "file");
    if (fp.empty() == file.empty())
      return usageError("cert trust needs --fingerprint FP or --file ROOT.pem");
    if (!fp.empty()) {
      auto n = device::normalizeFingerprint(fp);
      if (!n) return usageError(n.error().detail);
      auto r = store->trustFingerprint(*n);
      if (!r) return failWith(r.error());
      std::printf("trusted root: %s\n  SHA-256 %s\n", r->subject.c_str(), r->fingerprint.c_str());
      return 0;
    }
    auto text = crypto::x509::readFile(file, 1024 * 1024);
    if (!text) return failWith(text.error());
    auto certs = crypto::x509::parseCertificates(*text);
    if (!certs) {
      // One DER certificate, then.
      auto one = crypto::x509::parseCertificate(*text);
      if (!one) return failWith(certs.error());
      certs = std::vector<crypto::x509::CertPtr>{};
      certs->push_back(std::move(*one));
    }
    for (auto& c : *certs) {
      auto r = store->trust(c.get());
      if (!r) return failWith(r.error());
      std::printf("trusted root: %s\n  SHA-256 %s\n", r->subject.c_str(), r->fingerprint.c_str());
    }
    return 0;
  }
  if (verb == "export" || verb == "import") {
    std::string env = option(args, "password-env");
    if (env.empty())
      return usageError("cert " + verb + " needs --password-env VAR (the PKCS#12 password)");
    const char* pw = std::getenv(env.c_str());
    if (!pw || !*pw) return usageError("the environment variable " + env + " is not set or empty");
    if (verb == "export") {
      std::string out = option(args, "out");
      if (out.empty()) return usageError("cert export needs --out FILE");
      auto profile = crypto::x509::parsePkcs12Profile(option(args, "profile", "modern"));
      if (!profile) return usageError("--profile is modern or compat");
      auto der = store->exportPkcs12(template_name, pw, *profile);
      if (!der) return failWith(der.error());
      if (auto st = crypto::x509::writeFileAtomic(out, *der, 0600); !st)
        return failWith(st.error());
      std::printf("exported template %s to %s (PKCS#12, %s, mode 0600)\n", template_name.c_str(),
                  out.c_str(), option(args, "profile", "modern").c_str());
      return 0;
    }
    std::string in = option(args, "in");
    if (in.empty()) return usageError("cert import needs --in FILE");
    auto der = crypto::x509::readFile(in, 1024 * 1024);
    if (!der) return failWith(der.error());
    auto imported = store->importPkcs12(template_name, *der, pw);
    if (!imported) return failWith(imported.error());
    const auto& c = imported->cert;
    std::printf("imported for template %s\n  subject  %s\n  expires  %s\n  SHA-256  %s\n",
                template_name.c_str(), c.subject.c_str(), utcTime(c.not_after).c_str(),
                c.fingerprint.c_str());
    for (const auto& r : imported->untrusted_roots) printUntrusted(r);
    if (flag(args, "use-for-eas")) return useForEas();
    return 0;
  }
  return usageError("unknown cert command '" + verb + "'");
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
  if (verb == "cert") return cert(args, pos);

  static const std::vector<std::string> kVerbs = {"folders", "sync",    "list", "read",   "send",
                                                  "reply",   "forward", "move", "delete", "watch",
                                                  "rights"};
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
    m.security = securityOptions(args);
    if (auto st = client->send(m); !st) return failWith(st.error());
    std::printf("sent\n");
    return 0;
  }
  if (verb == "rights") {
    if (pos.size() != 2 || pos[1] != "templates") return usageError("usage: rights templates");
    auto templates = client->rightsTemplates();
    if (!templates) return failWith(templates.error());
    for (const auto& t : *templates) {
      std::printf("%s  %-24s %s%s\n", t.id.c_str(), t.name.c_str(),
                  crypto::rights::rightsText(t.rights).c_str(), t.revoked ? "  (revoked)" : "");
    }
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
    std::printf("Date: %s\nSubject: %s\n", m->item.date.c_str(), m->item.subject.c_str());
    printSecurity(m->security);
    std::printf("\n%s\n", text.c_str());
    if (m->truncated) std::printf("[truncated by the server]\n");
    return 0;
  }
  if (verb == "reply" || verb == "forward") {
    auto body = bodyOf(args);
    if (!body) return usageError(body.error().detail);
    Status st;
    device::RelayOptions relay;
    relay.security = securityOptions(args);
    // Acts as a client that ignores rights, so that tests can see the server's
    // own refusal (MS-ASRM); deliberately not in the usage text.
    relay.ignore_rights = flag(args, "ignore-rights");
    if (verb == "reply") {
      st = client->reply(*id, *body, relay);
    } else {
      auto to = values(args, "to");
      if (to.empty()) return usageError("forward needs --to");
      st = client->forward(*id, to, *body, relay);
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
