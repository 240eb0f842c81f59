// `rampart up`: every server role on loopback, the embedded default a newcomer
// runs first (DESIGN.md): the edge gateway on the public EAS port in front of
// the mail server (LMTP in, SMTP out, EAS on its mTLS gateway link), the
// SQLite store and built-in directory under one data directory, a development
// PKI, and the delegation key the two share.
//
//   rampart up [--data-dir DIR] [--lmtp-port PORT] [--admin-port PORT] [--eas-port PORT]
//              [--link-port PORT] [--gateway-admin-port PORT] [--est-link-port PORT]
//              [--pki-port PORT] [--domain DOMAIN]
//
// EAS is published by the edge gateway on --eas-port (the only HTTPS port a
// device talks to); the mail server answers the gateway alone, on
// --link-port, over mTLS with a signed identity assertion per request.
//
// On first start it writes DIR/server.toml (edit it and run again), creates
// the demo users alice and bob with random passwords (DIR/demo-users.txt,
// mode 0600), then runs until Ctrl-C and prints what to try next.
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cmd/commands.h"
#include "ca/ca_server.h"
#include "ca/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "net/asio.h"
#include "rights/rights_server.h"
#include "server/config.h"
#include "server/mail_server.h"
#include "tls/dev_pki.h"

namespace rampart::cmd {
namespace {

namespace fs = std::filesystem;

std::string randomPassword() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::uint8_t bytes[16];
  systemRandom().fill(bytes);
  std::string out;
  for (std::uint8_t b : bytes) out += kAlphabet[b % (sizeof kAlphabet - 1)];
  return out;
}

Status writeFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail(Errc::io_error, "cannot write " + path);
  ::chmod(path.c_str(), mode);
  return {};
}

// A free loopback port for a listener whose number goes into a config before
// it binds: below the kernel's ephemeral range (ip_local_port_range), where a
// listener on port 0 (the other --*-port 0 options, each start) never gets
// its number. A port from that range, probed and released, could be handed
// to such a listener first, on this start or a later one.
Result<unsigned> freeFixedPort(const std::vector<unsigned>& taken) {
  unsigned ephemeral_low = 32768;  // the Linux default
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  if (unsigned low = 0; range >> low && low > 2048) ephemeral_low = low;
  const unsigned first = ephemeral_low > 17408 ? ephemeral_low - 16384 : 1024;
  for (int attempt = 0; attempt < 256; ++attempt) {
    std::uint32_t r = 0;
    systemRandom().fill({reinterpret_cast<std::uint8_t*>(&r), sizeof r});
    const unsigned port = first + r % (ephemeral_low - first);
    if (std::find(taken.begin(), taken.end(), port) != taken.end()) continue;
    net::asio::io_context io;
    net::tcp::acceptor probe(io);
    boost::system::error_code ec;
    const net::tcp::endpoint at(net::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    probe.open(at.protocol(), ec);
    if (!ec) probe.bind(at, ec);
    if (!ec) return port;
  }
  return fail(Errc::unavailable, "no free loopback port below the ephemeral range");
}

std::string defaultConfig(const std::string& data_dir, const std::string& domain, const std::string& lmtp_port,
                          const std::string& admin_port, const std::string& link_port,
                          const tls::DevPkiFiles& pki, const std::string& delegation_key) {
  return "# Written by `rampart up` on first start; edit and run `rampart up` again.\n"
         "# Every key is documented in config/server.toml of the source tree.\n"
         "data_dir = \"" + data_dir + "\"\n"
         "local_domains = [\"" + domain + "\"]\n"
         "log_level = \"info\"\n"
         "\n[lmtp]\n"
         "listen = \"127.0.0.1:" + lmtp_port + "\"\n"
         "\n[admin]\n"
         "listen = \"127.0.0.1:" + admin_port + "\"\n"
         "\n# Exchange ActiveSync: devices reach it only through the gateway (gateway.toml),\n"
         "# over mTLS with the gateway's certificate and its signed identity assertion.\n"
         "[eas]\n"
         "gateway_listen = \"127.0.0.1:" + link_port + "\"\n"
         "gateway_ca_file = \"" + pki.ca_cert + "\"\n"
         "delegation_key_file = \"" + delegation_key + "\"\n"
         "cert_file = \"" + pki.server_cert + "\"\n"
         "key_file = \"" + pki.server_key + "\"\n"
         "# ValidateCert (MS-ASCMD 2.2.1.22): S/MIME certificates chain to the CA below.\n"
         "smime_trust_file = \"" + data_dir + "/ca/chain.pem\"\n";
}

// The certificate authority: EST on its own mTLS link (the gateway publishes
// it, like EAS), CRL and OCSP over plain HTTP on loopback.
std::string caConfig(const std::string& data_dir, const std::string& domain, const std::string& est_link_port,
                     const std::string& pki_port, const tls::DevPkiFiles& pki, const std::string& delegation_key) {
  return "# Written by `rampart up` on first start. Every key: config/ca.toml in the source tree.\n"
         "data_dir = \"" + data_dir + "\"\n"
         "log_level = \"info\"\n"
         "\n[authority]\n"
         "organization = \"" + domain + "\"\n"
         "\n# EST (RFC 7030): only the gateway talks to it, over mTLS with its identity assertion.\n"
         "[est]\n"
         "listen = \"127.0.0.1:" + est_link_port + "\"\n"
         "cert_file = \"" + pki.server_cert + "\"\n"
         "key_file = \"" + pki.server_key + "\"\n"
         "gateway_ca_file = \"" + pki.ca_cert + "\"\n"
         "delegation_key_file = \"" + delegation_key + "\"\n"
         "\n# CRL and OCSP (plain HTTP; the URLs go into every issued certificate).\n"
         "[pki]\n"
         "listen = \"127.0.0.1:" + pki_port + "\"\n";
}

// The rights server (docs/rights.md): like EST, reached only through the
// gateway over mTLS with the identity assertion.
std::string rightsConfig(const std::string& data_dir, const std::string& database,
                         const std::string& rights_link_port, const tls::DevPkiFiles& pki,
                         const std::string& delegation_key) {
  return "# Written by `rampart up` on first start. Every key: config/rights.toml in the source tree.\n"
         "[rights]\n"
         "data_dir = \"" + data_dir + "\"\n"
         "database = \"" + database + "\"\n"
         "listen = \"127.0.0.1:" + rights_link_port + "\"\n"
         "tls_cert_file = \"" + pki.server_cert + "\"\n"
         "tls_key_file = \"" + pki.server_key + "\"\n"
         "gateway_ca_file = \"" + pki.ca_cert + "\"\n"
         "assertion_key_file = \"" + delegation_key + "\"\n";
}

// The gateway in front: the one public port, every EAS and Autodiscover
// request pre-authenticated against the built-in directory, then bridged.
std::string gatewayConfig(const std::string& data_dir, const std::string& eas_port, const std::string& link_port,
                          const std::string& est_link_port, const std::string& rights_link_port,
                          const std::string& gateway_admin_port,
                          const tls::DevPkiFiles& pki, const tls::DevClientCert& client,
                          const std::string& delegation_key) {
  std::string backend = "backend = \"127.0.0.1:" + link_port + "\"\n"
                        "backend_ca_file = \"" + pki.ca_cert + "\"\n"
                        "backend_server_name = \"localhost\"\n"
                        "client_cert_file = \"" + client.cert + "\"\n"
                        "client_key_file = \"" + client.key + "\"\n";
  auto linkTo = [&](const std::string& port) {
    return "backend = \"127.0.0.1:" + port + "\"\n"
           "backend_ca_file = \"" + pki.ca_cert + "\"\n"
           "backend_server_name = \"localhost\"\n"
           "client_cert_file = \"" + client.cert + "\"\n"
           "client_key_file = \"" + client.key + "\"\n";
  };
  std::string est_backend = linkTo(est_link_port);
  return "# Written by `rampart up` on first start. Every key: config/gateway.toml in the source tree.\n"
         "data_dir = \"" + data_dir + "/gateway\"\n"
         "log_level = \"info\"\n"
         "\n[listener]\n"
         "listen = \"127.0.0.1:" + eas_port + "\"\n"
         "\n[[certificate]]\n"
         "names = [\"localhost\", \"127.0.0.1\"]\n"
         "cert_file = \"" + pki.server_cert + "\"\n"
         "key_file = \"" + pki.server_key + "\"\n"
         "\n[auth]\n"
         "directory = \"builtin\"\n"
         "directory_data_dir = \"" + data_dir + "\"\n"
         "\n# Device certificates from the CA (rampart up runs it): the SAN e-mail names the user.\n"
         "# A revocation shows within crl_refresh (CRL re-read, OCSP answers cached no longer).\n"
         "[auth.client_cert]\n"
         "ca_file = \"" + data_dir + "/ca/chain.pem\"\n"
         "crl_files = [\"" + data_dir + "/ca/issuing.crl\"]\n"
         "crl_check = \"leaf\"\n"
         "crl_refresh = \"10s\"\n"
         "ocsp = true\n"
         "mapping = \"san_email\"\n"
         "\n[delegation]\n"
         "key_file = \"" + delegation_key + "\"\n"
         "\n[admin]\n"
         "listen = \"127.0.0.1:" + gateway_admin_port + "\"\n"
         "\n[[rule]]\n"
         "name = \"eas\"\n"
         "service = \"eas\"\n"
         "path = \"/Microsoft-Server-ActiveSync\"\n"
         "methods = [\"OPTIONS\", \"POST\"]\n"
         "auth = \"certificate_or_basic\"\n"
         "realm = \"ActiveSync\"\n" + backend +
         "backend_h2 = true\n"
         "long_poll_timeout = \"3600s\"\n"
         "response_timeout = \"300s\"\n"
         "body_limit = \"35MiB\"\n"
         "delegate = true\n"
         "\n[[rule]]\n"
         "name = \"autodiscover\"\n"
         "service = \"autodiscover\"\n"
         "path = \"/autodiscover\"\n"
         "methods = [\"POST\"]\n"
         "auth = \"basic\"\n"
         "realm = \"Autodiscover\"\n" + backend +
         "body_limit = \"64KiB\"\n"
         "delegate = true\n"
         "\n# EST (RFC 7030 4.1.1): the CA certificates for anyone; enrollment with the\n"
         "# password, re-enrollment with the current certificate.\n"
         "[[rule]]\n"
         "name = \"est-cacerts\"\n"
         "service = \"est\"\n"
         "path = \"/.well-known/est/cacerts\"\n"
         "methods = [\"GET\"]\n"
         "auth = \"none\"\n" + est_backend +
         "body_limit = 0\n"
         "\n[[rule]]\n"
         "name = \"est\"\n"
         "service = \"est\"\n"
         "path = \"/.well-known/est\"\n"
         "methods = [\"GET\", \"POST\"]\n"
         "auth = \"certificate_or_basic\"\n"
         "realm = \"EST\"\n" + est_backend +
         "body_limit = \"64KiB\"\n"
         "delegate = true\n"
         "\n# Rights management (docs/rights.md): templates, the licensor certificate, use licenses.\n"
         "[[rule]]\n"
         "name = \"rights\"\n"
         "service = \"web\"\n"
         "path = \"/rights\"\n"
         "methods = [\"GET\", \"POST\"]\n"
         "auth = \"certificate_or_basic\"\n"
         "realm = \"Rights\"\n" + linkTo(rights_link_port) +
         "body_limit = \"256KiB\"\n"
         "delegate = true\n";
}

// Creates alice and bob on first start; returns the lines for demo-users.txt.
Result<std::string> createDemoUsers(const std::string& database, const std::string& domain) {
  auto dir = directory::BuiltinDirectory::open(database);
  if (!dir) return fail(dir.error());
  std::string lines;
  for (const char* name : {"alice", "bob"}) {
    auto existing = (*dir)->findUser(name);
    if (!existing) return fail(existing.error());
    if (*existing) continue;
    directory::User user;
    user.name = name;
    user.display_name = std::string(1, static_cast<char>(name[0] - 'a' + 'A')) + (name + 1);
    user.addresses = {std::string(name) + "@" + domain};
    std::string password = randomPassword();
    if (auto st = (*dir)->addUser(user, password); !st) return fail(st.error());
    lines += user.name + " " + user.addresses[0] + " " + password + "\n";
  }
  return lines;
}

}  // namespace

int runUp(const Args& args) {
  if (flag(args, "help")) {
    std::fputs("usage: rampart up [--data-dir DIR] [--lmtp-port PORT] [--admin-port PORT] [--eas-port PORT]\n"
               "                  [--link-port PORT] [--gateway-admin-port PORT] [--est-link-port PORT]\n"
               "                  [--pki-port PORT] [--rights-link-port PORT] [--domain DOMAIN]\n", stdout);
    return 0;
  }
  std::error_code ec;
  std::string data_dir = fs::absolute(option(args, "data-dir", "rampart-data"), ec).string();
  std::string domain = option(args, "domain", "example.test");
  std::string lmtp_port = option(args, "lmtp-port", "2424");
  std::string admin_port = option(args, "admin-port", "8025");
  std::string eas_port = option(args, "eas-port", "8443");
  std::string link_port = option(args, "link-port", "9443");
  std::string est_link_port = option(args, "est-link-port", "9444");
  std::string pki_port = option(args, "pki-port", "8080");
  std::string rights_link_port = option(args, "rights-link-port", "9445");
  // The gateway's config names the mail server's and the CA's ports, and the
  // CA's certificates carry its CRL/OCSP URL, so these must be known before
  // anything starts: take free ones now (kept in the configs from then on),
  // from below the ephemeral range (freeFixedPort).
  std::vector<unsigned> taken;
  for (std::string* port : {&link_port, &est_link_port, &pki_port, &rights_link_port}) {
    if (*port != "0") continue;
    auto free_port = freeFixedPort(taken);
    if (!free_port) {
      std::fprintf(stderr, "rampart up: %s\n", free_port.error().message().c_str());
      return 1;
    }
    taken.push_back(*free_port);
    *port = std::to_string(*free_port);
  }
  std::string gateway_admin_port = option(args, "gateway-admin-port", "8026");
  fs::create_directories(data_dir + "/tls", ec);
  if (ec) {
    std::fprintf(stderr, "rampart up: cannot create %s: %s\n", data_dir.c_str(), ec.message().c_str());
    return 1;
  }
  ::chmod(data_dir.c_str(), 0700);

  // A development PKI: clients verify against dev-ca.crt instead of turning checks off.
  auto pki = tls::ensureDevPki(data_dir + "/tls", {"localhost", "127.0.0.1"});
  if (!pki) {
    std::fprintf(stderr, "rampart up: development PKI: %s\n", pki.error().message().c_str());
    return 1;
  }
  // The gateway's identity towards the mail server: a client certificate and
  // the key its identity assertions are signed with.
  auto gateway_cert = tls::ensureDevClientCert(*pki, "gateway-client");
  if (!gateway_cert) {
    std::fprintf(stderr, "rampart up: gateway certificate: %s\n", gateway_cert.error().message().c_str());
    return 1;
  }
  const std::string delegation_key = data_dir + "/tls/delegation.key";
  if (!fs::exists(delegation_key)) {
    if (auto st = crypto::writeNewAssertionKey(delegation_key); !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  std::string config_path = data_dir + "/server.toml";
  std::string gateway_path = data_dir + "/gateway.toml";
  std::string ca_path = data_dir + "/ca.toml";
  std::string rights_path = data_dir + "/rights.toml";
  if (!fs::exists(config_path)) {
    if (auto st = writeFile(config_path, defaultConfig(data_dir, domain, lmtp_port, admin_port, link_port, *pki,
                                                       delegation_key), 0600); !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  if (!fs::exists(gateway_path)) {
    if (auto st = writeFile(gateway_path, gatewayConfig(data_dir, eas_port, link_port, est_link_port,
                                                        rights_link_port, gateway_admin_port, *pki, *gateway_cert, delegation_key),
                            0600); !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  auto gateway_config = gateway::loadGatewayConfig(gateway_path);
  if (!gateway_config) {
    std::fprintf(stderr, "rampart up: %s\n", gateway_config.error().message().c_str());
    return 2;
  }
  auto config = server::loadServerConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "rampart up: %s\n", config.error().message().c_str());
    return 2;
  }
  log::init(config->log_level);
  if (!config->local_domains.empty()) domain = config->local_domains.front();

  std::string users_file = data_dir + "/demo-users.txt";
  auto created = createDemoUsers(server::databasePath(*config), domain);
  if (!created) {
    std::fprintf(stderr, "rampart up: demo users: %s\n", created.error().message().c_str());
    return 1;
  }
  if (!created->empty()) {
    std::string text = "# name address password (created by rampart up)\n" + *created;
    if (auto st = writeFile(users_file, text, 0600); !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }

  // The CA first: its chain and CRL are what the gateway checks device certificates against.
  if (!fs::exists(ca_path)) {
    if (auto st = writeFile(ca_path, caConfig(data_dir, domain, est_link_port, pki_port, *pki, delegation_key), 0600);
        !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  auto ca_config = ca::loadCaConfig(ca_path);
  if (!ca_config) {
    std::fprintf(stderr, "rampart up: %s\n", ca_config.error().message().c_str());
    return 2;
  }
  net::asio::io_context ca_io;  // declared before the CA server: outlives it
  auto ca_server = ca::CaServer::create(std::move(*ca_config), ca_io.get_executor());
  if (!ca_server) {
    std::fprintf(stderr, "rampart up: certificate authority: %s\n", ca_server.error().message().c_str());
    return 1;
  }
  (*ca_server)->start();
  auto ca_work = net::asio::make_work_guard(ca_io);
  std::thread ca_thread([&] { ca_io.run(); });
  struct CaStopper {
    std::function<void()> fn;
    ~CaStopper() { fn(); }
  } ca_stopper{[&] {
    (*ca_server)->stop();
    ca_work.reset();
    ca_io.stop();
    if (ca_thread.joinable()) ca_thread.join();
    ca_server->reset();
  }};

  // The rights server, on the CA's I/O thread (both are small request/answer
  // services behind the gateway).
  if (!fs::exists(rights_path)) {
    if (auto st = writeFile(rights_path, rightsConfig(data_dir, server::databasePath(*config), rights_link_port,
                                                      *pki, delegation_key), 0600);
        !st) {
      std::fprintf(stderr, "rampart up: %s\n", st.error().message().c_str());
      return 1;
    }
  }
  auto rights_text = crypto::x509::readFile(rights_path, 1 << 20);
  if (!rights_text) {
    std::fprintf(stderr, "rampart up: %s\n", rights_text.error().message().c_str());
    return 2;
  }
  auto rights_config = rights::parseRightsConfig(*rights_text, rights_path);
  if (!rights_config) {
    std::fprintf(stderr, "rampart up: %s\n", rights_config.error().message().c_str());
    return 2;
  }
  auto rights_server = rights::RightsServer::create(std::move(*rights_config), ca_io.get_executor());
  if (!rights_server) {
    std::fprintf(stderr, "rampart up: rights server: %s\n", rights_server.error().message().c_str());
    return 1;
  }
  (*rights_server)->start();
  struct RightsStopper {
    std::function<void()> fn;
    ~RightsStopper() { fn(); }
  } rights_stopper{[&] {
    (*rights_server)->stop();
    rights_server->reset();
  }};

  fs::create_directories(gateway_config->data_dir, ec);
  auto gw = gateway::Gateway::create(std::move(*gateway_config));
  if (!gw) {
    std::fprintf(stderr, "rampart up: gateway: %s\n", gw.error().message().c_str());
    return 1;
  }
  (*gw)->start();
  std::thread gateway_stopper;
  auto stop_gateway = [&] { gateway_stopper = std::thread([&] { (*gw)->stop(); }); };
  int rc = serveMail(*config, [&](server::MailServer& mail) {
    auto lmtp = mail.lmtpEndpoint();
    std::string at = lmtp.address().to_string() + ":" + std::to_string(lmtp.port());
    auto eas = (*gw)->localEndpoint();
    std::string eas_at = "https://localhost:" + std::to_string(eas.port()) + "/Microsoft-Server-ActiveSync";
    auto gw_admin = (*gw)->adminEndpoint();
    std::string gw_admin_at = "http://" + gw_admin.address().to_string() + ":" + std::to_string(gw_admin.port());
    auto link = mail.gatewayLinkEndpoint();
    unsigned pki_at = (*ca_server)->pkiEndpoint().port();
    auto admin = mail.adminEndpoint();
    std::string admin_at = admin.port() == 0 ? std::string("(off)")
                                             : "http://" + admin.address().to_string() + ":" +
                                                   std::to_string(admin.port());
    std::printf(
        "\nRampart is up. Data: %s (config: %s)\n"
        "\n"
        "  LMTP (mail in)  %s\n"
        "  health/metrics  %s/healthz  %s/metrics\n"
        "  EAS (HTTPS)     %s  (the gateway; config %s)\n"
        "  gateway admin   %s/metrics  %s/connections\n"
        "  mail server     https://127.0.0.1:%u (mTLS from the gateway only)\n"
        "  dev CA          %s  (trust it in clients)\n"
        "  EST (enroll)    https://localhost:%u/.well-known/est/  (the gateway; CA data %s/ca)\n"
        "  CRL / OCSP      http://127.0.0.1:%u/crl/issuing.crl  http://127.0.0.1:%u/ocsp\n"
        "  rights          https://localhost:%u/rights/templates  (the gateway; data %s/rights)\n"
        "  demo users      alice@%s, bob@%s  (passwords: %s)\n"
        "\n"
        "Try next, in another terminal:\n"
        "  swaks --protocol LMTP --server %s --from bob@%s --to alice@%s\n"
        "  %s admin --data-dir %s mailbox list alice\n"
        "  %s admin --data-dir %s mailbox show alice 1\n"
        "  %s admin --data-dir %s user list\n"
        "  curl --cacert %s -u alice:PASSWORD -X OPTIONS -i %s\n"
        "\nA phone, from the device client (state in ~/.rampart-device.db):\n"
        "  read -rs RAMPART_PW && export RAMPART_PW   # alice's password from the file above\n"
        "  %s device setup --url https://localhost:%u --user alice --password-env RAMPART_PW --ca %s\n"
        "  %s device sync && %s device list && %s device watch\n"
        "\npyactivesync (docs/interop.md): REQUESTS_CA_BUNDLE=%s, then\n"
        "  Client(server=\"localhost:%u\", username=\"alice\", password=..., device_id=\"PYAS0001\")\n"
        "\nPress Ctrl-C to stop.\n",
        data_dir.c_str(), config_path.c_str(), at.c_str(), admin_at.c_str(), admin_at.c_str(), eas_at.c_str(),
        gateway_path.c_str(), gw_admin_at.c_str(), gw_admin_at.c_str(), static_cast<unsigned>(link.port()),
        pki->ca_cert.c_str(), static_cast<unsigned>(eas.port()), data_dir.c_str(), pki_at, pki_at,
        static_cast<unsigned>(eas.port()), data_dir.c_str(), domain.c_str(), domain.c_str(),
        users_file.c_str(), at.c_str(), domain.c_str(), domain.c_str(),
        self().c_str(), data_dir.c_str(), self().c_str(), data_dir.c_str(), self().c_str(), data_dir.c_str(),
        pki->ca_cert.c_str(), eas_at.c_str(), self().c_str(), static_cast<unsigned>(eas.port()),
        pki->ca_cert.c_str(), self().c_str(), self().c_str(), self().c_str(), pki->ca_cert.c_str(),
        static_cast<unsigned>(eas.port()));
    std::fflush(stdout);
  }, stop_gateway);
  if (gateway_stopper.joinable()) gateway_stopper.join();
  (*gw)->stop();
  return rc;
}

}  // namespace rampart::cmd
