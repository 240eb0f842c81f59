// smime_bench: S/MIME operations per second through crypto/cms, in process,
// on one message (bench/smime_bench.sh compares them with `openssl cms` on
// the same message and key in the same run).
//
//   smime_bench --op sign|verify|encrypt|decrypt --key KEY.pem --cert CERT.pem
//               --ca ROOT.pem --message FILE [--seconds 3]
//
// sign: clear-signed, SHA-256. encrypt: AES-256-CBC + RSA PKCS#1 v1.5 to the
// certificate (the default every peer reads). verify and decrypt work on the
// output of one sign / encrypt made first. Prints "OP ops/s N cpu_us/op C".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/cms/smime.h"
#include "crypto/x509/x509.h"

namespace {

namespace cms = rampart::crypto::cms;
namespace x509 = rampart::crypto::x509;

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int die(const std::string& what) {
  std::fprintf(stderr, "smime_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string op, key, cert, ca, message;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--op") op = argv[i + 1];
    else if (a == "--key") key = argv[i + 1];
    else if (a == "--cert") cert = argv[i + 1];
    else if (a == "--ca") ca = argv[i + 1];
    else if (a == "--message") message = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else return die("unknown option " + a);
  }
  if (op.empty() || key.empty() || cert.empty() || ca.empty() || message.empty())
    return die("usage: --op sign|verify|encrypt|decrypt --key K --cert C --ca ROOT --message F [--seconds S]");
  auto id = cms::identityFromPem(slurp(key.c_str()), slurp(cert.c_str()));
  if (!id) return die(id.error().message());
  std::string msg = slurp(message.c_str());
  x509::VerifyOptions trust;
  auto root = x509::parseCertificate(slurp(ca.c_str()));
  if (!root) return die(root.error().message());
  trust.anchors.push_back(std::move(*root));
  trust.purpose = x509::Purpose::any;
  trust.revocation = x509::RevocationMode::none;

  std::vector<cms::Recipient> to;
  to.push_back(cms::Recipient{x509::CertPtr(X509_dup(id->cert.get())), {}});
  cms::EncryptOptions enc;
  enc.upgrade = false;

  std::string input = msg;
  if (op == "verify") {
    auto s = cms::signMessage(msg, *id);
    if (!s) return die(s.error().message());
    input = *s;
  } else if (op == "decrypt") {
    auto e = cms::encryptMessage(msg, to, enc);
    if (!e) return die(e.error().message());
    input = *e;
  } else if (op != "sign" && op != "encrypt") {
    return die("unknown --op " + op);
  }

  auto once = [&]() -> bool {
    if (op == "sign") return cms::signMessage(input, *id).has_value();
    if (op == "encrypt") return cms::encryptMessage(input, to, enc).has_value();
    if (op == "verify") {
      auto o = cms::openMessage(input, nullptr, trust);
      return o && o->signature && o->signature->valid;
    }
    auto o = cms::openMessage(input, &*id, trust);
    return o && o->encrypted;
  };
  if (!once()) return die(op + " failed on the first message");
  long n = 0;
  double cpu0 = cpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  auto until = t0 + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (!once()) return die(op + " failed");
    ++n;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpuSeconds() - cpu0;
  std::printf("%s ops/s %.0f cpu_us/op %.1f\n", op.c_str(), static_cast<double>(n) / wall,
              cpu * 1e6 / static_cast<double>(n));
  return 0;
}
