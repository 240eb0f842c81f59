// rights_bench: use licenses issued per second by the rights server
// (bench/rights_bench.sh sets the figures beside `openssl cms -sign`).
//
//   rights_bench --dir D [--mode issue|http] [--threads N] [--duration S]
//                [--warmup S] [--log-level info]
//
// Starts a RightsServer over D/data (made on the first run: users alice and
// bob in the built-in directory, alice's S/MIME signing certificate and bob's
// encryption certificate published, the link PKI, the assertion key), makes a
// publishing license from alice to bob, checks once that bob's license opens
// (signature by the licensor, content key unwrapped with bob's key), writes
// the use license's body to D/use-license.txt (what `openssl cms -sign` signs
// in the script), then measures:
//
//   issue: N threads call RightsServer::issue("bob", license) back to back:
//          the whole decision, ECDH unwrap and re-wrap, the ECDSA-signed use
//          license and the committed log row, without HTTP.
//   http:  N threads, each one keep-alive mTLS connection to the server's
//          link, POST /rights/license with a fresh identity assertion per
//          request, as the gateway forwards it (closed loop).
//
// Prints one line: RESULT mode=... licenses=... seconds=... rate=...
// p50_us=... p99_us=... errors=... cpu_us_per_license=... (CPU of the whole
// process, the client threads included in http mode).
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "crypto/rights/license.h"
#include "crypto/x509/x509.h"
#include "directory/builtin_directory.h"
#include "rights/rights_server.h"
#include "tls/dev_pki.h"

namespace {

using namespace rampart;
namespace x509 = crypto::x509;
namespace lic = crypto::rights;
namespace asio = net::asio;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "rights_bench: %s\n", what.c_str());
  std::exit(2);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

void must(Status st, const char* what) {
  if (!st) die(std::string(what) + ": " + st.error().message());
}

struct Options {
  std::string dir;
  std::string mode = "issue";
  int threads = 4;
  double duration = 5;
  double warmup = 1;
  std::string log_level = "info";
};

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--dir")
      o.dir = v;
    else if (k == "--mode")
      o.mode = v;
    else if (k == "--threads")
      o.threads = std::max(1, std::atoi(v.c_str()));
    else if (k == "--duration")
      o.duration = std::atof(v.c_str());
    else if (k == "--warmup")
      o.warmup = std::atof(v.c_str());
    else if (k == "--log-level")
      o.log_level = v;
    else
      die("unknown option " + k);
  }
  if (o.dir.empty()) die("--dir is required");
  if (o.mode != "issue" && o.mode != "http") die("--mode is issue or http");
  return o;
}

// A self-signed certificate with an e-mail SAN, as the CA's S/MIME templates
// would give (the rights server compares the signer with what the directory
// has, and CMS does not judge the recipient's certificate).
x509::CertPtr makeCert(EVP_PKEY* key, const std::string& email, const char* key_usage) {
  x509::CertPtr cert(X509_new());
  unsigned char serial[12];
  RAND_bytes(serial, sizeof serial);
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(email.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  for (std::string ext : {std::string("critical,") + key_usage, "email:" + email}) {
    const int nid = ext.starts_with("email:") ? NID_subject_alt_name : NID_key_usage;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, ext.c_str());
    if (e == nullptr) die("extension " + ext);
    X509_add_ext(cert.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) die("sign certificate");
  return cert;
}

// alice's signing identity or bob's encryption one: made and published once,
// then read back from D/<name>.key and .pem.
crypto::cms::Identity identity(const std::string& dir, directory::BuiltinDirectory& directory,
                               const std::string& user, const std::string& purpose,
                               const char* key_usage) {
  const std::string base = dir + "/" + user + "-" + purpose;
  crypto::cms::Identity id;
  if (std::filesystem::exists(base + ".key")) {
    id.key = must(x509::parsePrivateKeyPem(must(x509::readFile(base + ".key"), "read key")),
                  "parse key");
    id.cert = must(x509::parseCertificate(must(x509::readFile(base + ".pem"), "read cert")),
                   "parse cert");
    return id;
  }
  id.key = must(x509::generateKey(x509::KeyType::ec_p256), "key");
  id.cert = makeCert(id.key.get(), user + "@example.test", key_usage);
  must(x509::writeFileAtomic(base + ".key", must(x509::privateKeyPem(id.key.get()), "pem"), 0600),
       "write key");
  must(x509::writeFileAtomic(base + ".pem", x509::certificatePem(id.cert.get()), 0644),
       "write cert");
  directory::PublishedCertificate published{x509::serialHex(id.cert.get()), purpose,
                                            x509::certificateDer(id.cert.get()),
                                            x509::notAfter(id.cert.get())};
  must(directory.publishCertificate(user, published), "publish");
  return id;
}

std::int64_t cpuMicros() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000 + t.tv_usec;
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One measured window: threads run `step` (true = a license) until told to
// stop; only steps that finish inside the window count.
struct Window {
  std::atomic<int> phase{0};  // 0 warmup, 1 measuring, 2 stop
  std::atomic<std::int64_t> errors{0};
  std::vector<std::vector<std::int64_t>> latencies;
};

template <class Step>
void runThreads(const Options& o, Window& w, const Step& step) {
  w.latencies.resize(static_cast<std::size_t>(o.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] { step(t, w.latencies[static_cast<std::size_t>(t)]); });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const auto cpu0 = cpuMicros();
  const auto t0 = SteadyClock::now();
  w.phase = 1;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  w.phase = 2;
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const auto cpu = cpuMicros() - cpu0;
  for (auto& th : threads) th.join();
  std::vector<std::int64_t> all;
  for (auto& l : w.latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&all](double p) {
    return all.empty()
               ? 0
               : all[std::min(all.size() - 1,
                              static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  const double n = static_cast<double>(all.size());
  std::printf(
      "RESULT mode=%s licenses=%zu seconds=%.2f rate=%.1f p50_us=%lld p99_us=%lld errors=%lld "
      "cpu_us_per_license=%.1f threads=%d\n",
      o.mode.c_str(), all.size(), seconds, n / seconds, static_cast<long long>(pct(0.5)),
      static_cast<long long>(pct(0.99)), static_cast<long long>(w.errors.load()),
      n > 0 ? static_cast<double>(cpu) / n : 0.0, o.threads);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parseOptions(argc, argv);
  log::init(o.log_level);
  const std::string data = o.dir + "/data";
  std::filesystem::create_directories(data);
  directory::BuiltinDirectoryOptions fast;
  fast.time_cost = 1;
  fast.memory_kib = 8;

  auto dir = must(directory::BuiltinDirectory::open(data + "/rampart.db", fast), "directory");
  for (const char* name : {"alice", "bob"}) {
    if (!must(dir->findUser(name), "find user")) {
      directory::User u;
      u.name = name;
      u.addresses = {std::string(name) + "@example.test"};
      must(dir->addUser(u, "bench-password"), "add user");
    }
  }
  auto alice = identity(o.dir, *dir, "alice", "smime_signing", "digitalSignature,nonRepudiation");
  auto bob = identity(o.dir, *dir, "bob", "smime_encryption", "keyAgreement");
  dir.reset();

  std::filesystem::create_directories(o.dir + "/tls");
  auto pki = must(tls::ensureDevPki(o.dir + "/tls", {"127.0.0.1"}), "link PKI");
  auto gateway = must(tls::ensureDevClientCert(pki, "gateway"), "gateway certificate");
  const std::string assertion_key_file = o.dir + "/delegation.key";
  if (!std::filesystem::exists(assertion_key_file))
    must(crypto::writeNewAssertionKey(assertion_key_file), "assertion key");

  rights::RightsConfig config;
  config.data_dir = data;
  config.listen = "127.0.0.1:0";
  config.tls_cert_file = pki.server_cert;
  config.tls_key_file = pki.server_key;
  config.gateway_ca_file = pki.ca_cert;
  config.assertion_key_file = assertion_key_file;
  asio::io_context io;
  auto server =
      must(rights::RightsServer::create(config, io.get_executor(), fast), "rights server");
  server->start();
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });

  // The publishing license, as alice's client makes it.
  auto licensor =
      must(x509::parseCertificate(server->licensorCertificatePem()), "licensor certificate");
  lic::PublishingLicense pl;
  unsigned char id_bytes[16];
  RAND_bytes(id_bytes, sizeof id_bytes);
  for (unsigned char b : id_bytes) {
    static const char* kHex = "0123456789abcdef";
    pl.id.push_back(kHex[b >> 4]);
    pl.id.push_back(kHex[b & 15]);
  }
  auto templates = lic::defaultTemplates();
  pl.template_id = templates.front().id;
  pl.template_name = templates.front().name;
  pl.rights = templates.front().rights;
  pl.owner = "alice@example.test";
  pl.recipients = {"bob@example.test"};
  pl.issued = nowMs() / 1000;
  const std::string content_key = lic::newContentKey();
  pl.wrapped_key = must(lic::wrapContentKey(content_key, licensor.get()), "wrap");
  const std::string signed_pl =
      must(lic::signPublishingLicense(pl, alice), "sign publishing license");

  // Once, checked as bob's client would.
  auto first = server->issue("bob", signed_pl);
  if (first.http_status != 200)
    die("issue: " + std::to_string(first.http_status) + " " + first.body);
  auto ul = must(lic::readUseLicense(first.body, licensor.get()), "read use license");
  if (must(lic::unwrapContentKey(ul.wrapped_key, bob), "unwrap") != content_key)
    die("wrong content key");
  must(x509::writeFileAtomic(o.dir + "/use-license.txt", lic::useLicenseText(ul), 0644),
       "write body");

  Window w;
  if (o.mode == "issue") {
    auto step = [&](int, std::vector<std::int64_t>& lat) {
      while (w.phase != 2) {
        const auto t0 = SteadyClock::now();
        auto r = server->issue("bob", signed_pl);
        if (r.http_status != 200)
          ++w.errors;
        else if (w.phase == 1) {
          lat.push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0)
                  .count());
        }
      }
    };
    runThreads(o, w, step);
  } else {
    namespace beast = boost::beast;
    namespace bhttp = beast::http;
    auto key = must(crypto::loadAssertionKey(assertion_key_file), "assertion key");
    crypto::AssertionSigner signer(std::move(key), std::chrono::seconds(60));
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(pki.ca_cert);
    ctx.use_certificate_chain_file(gateway.cert);
    ctx.use_private_key_file(gateway.key, asio::ssl::context::pem);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    const auto endpoint = server->endpoint();
    const std::string host = "rights.bench";
    const std::string body_hash = crypto::RequestBinding::sha256Hex(signed_pl);
    auto step = [&](int, std::vector<std::int64_t>& lat) {
      asio::io_context client_io;
      beast::ssl_stream<beast::tcp_stream> stream(client_io, ctx);
      beast::error_code ec;
      beast::get_lowest_layer(stream).connect(endpoint, ec);
      if (!ec) stream.handshake(asio::ssl::stream_base::client, ec);
      if (ec) {
        ++w.errors;
        std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
        return;
      }
      beast::flat_buffer buffer;
      while (w.phase != 2) {
        const auto t0 = SteadyClock::now();
        bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/rights/license", 11};
        req.set(bhttp::field::host, host);
        req.set(bhttp::field::content_type, "application/vnd.rampart.publishing-license");
        req.body() = signed_pl;
        req.prepare_payload();
        crypto::RequestBinding binding{"POST", host, "/rights/license", body_hash};
        req.set("Rampart-Identity", signer.sign({"bob", "", "certificate", 1}, binding, nowMs()));
        bhttp::write(stream, req, ec);
        bhttp::response<bhttp::string_body> res;
        if (!ec) bhttp::read(stream, buffer, res, ec);
        if (ec) {
          ++w.errors;
          std::fprintf(stderr, "request: %s\n", ec.message().c_str());
          return;
        }
        if (res.result_int() != 200)
          ++w.errors;
        else if (w.phase == 1) {
          lat.push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0)
                  .count());
        }
      }
      stream.shutdown(ec);
    };
    runThreads(o, w, step);
  }

  server->stop();
  work.reset();
  io.stop();
  io_thread.join();
  server.reset();
  return w.errors > 0 ? 1 : 0;
}
