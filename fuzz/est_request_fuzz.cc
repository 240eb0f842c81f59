// libFuzzer target for the CA's EST service (RFC 7030, ca::EstService) as the
// gateway link delivers requests: authentic identity assertions, hostile
// everything else.
//
// Input: the first line is the request target (empty: the default
// "/.well-known/est/simpleenroll"); the rest is the body. The method is GET
// for targets naming cacerts or csrattrs, POST otherwise, with Content-Type
// application/pkcs10. Every request carries a valid assertion for alice,
// bound to it; targets naming simplereenroll come as a certificate login with
// alice's certificate in Rampart-Client-Cert, so the re-enrollment checks are
// reached too.
//
// Any answer is fine except a crash, a leak, a hang, a 5xx (the CA's own
// failure: bad input must be a 4xx) or a 200 to an enrollment whose body is
// not a certs-only structure. Seeds: fuzz/corpus/est_request/.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ca/authority.h"
#include "ca/est_service.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/pkcs7.h"
#include "directory/builtin_directory.h"
#include "fuzz_input.h"
#include "store/sqlite/sqlite_ca_store.h"

namespace {

using namespace rampart;
namespace x509 = crypto::x509;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "est_request_fuzz: %s\n", what.c_str());
  std::abort();
}

constexpr std::string_view kHost = "ca.example.org";

struct Fixture {
  std::string dir;
  std::shared_ptr<ca::Authority> authority;
  std::unique_ptr<ca::EstService> service;
  std::unique_ptr<crypto::AssertionSigner> signer;
  std::string alice_cert_b64;

  Fixture() {
    log::init("off");  // every refused request is logged
    std::string tmpl = (std::filesystem::temp_directory_path() / "rampart-est-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp");
    dir = tmpl;
    const std::string db = dir + "/rampart.db";
    auto store = store::sqlite::SqliteCaStore::open(db);
    if (!store) die(store.error().message());
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto users = directory::BuiltinDirectory::open(db, options);
    if (!users) die(users.error().message());
    std::shared_ptr<directory::BuiltinDirectory> shared(std::move(*users));
    if (!shared->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw")) die("addUser");
    ca::AuthorityConfig config;
    config.dir = dir + "/ca";
    auto opened = ca::Authority::open(config, *store, shared, shared);
    if (!opened) die(opened.error().message());
    authority = *opened;

    auto key = x509::generateKey(x509::KeyType::ec_p256);
    if (!key) die("key");
    auto der = x509::makeCsr(key->get(), "alice");
    if (!der) die("csr");
    auto csr = x509::parseCsr(*der);
    if (!csr) die(csr.error().message());
    auto issued = authority->enroll({"device", "alice", "fuzz", nullptr}, *csr);
    if (!issued || issued->kind != ca::EnrollResult::Kind::issued) die("enroll");
    alice_cert_b64 = x509::base64Lines(x509::certificateDer(issued->cert.get()));

    crypto::AssertionKey assertion_key;
    assertion_key.secret.fill(0x5a);
    assertion_key.id = crypto::assertionKeyId(assertion_key.secret);
    signer = std::make_unique<crypto::AssertionSigner>(assertion_key);
    service = std::make_unique<ca::EstService>(
        authority, std::make_unique<crypto::AssertionVerifier>(std::vector<crypto::AssertionKey>{assertion_key}),
        ca::EstOptions{});
  }
  ~Fixture() {
    service.reset();
    authority.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view target = fuzz::nextLine(in);
  if (target.empty()) target = "/.well-known/est/simpleenroll";
  const bool get = target.find("cacerts") != std::string_view::npos || target.find("csrattrs") != std::string_view::npos;
  const bool reenroll = target.find("simplereenroll") != std::string_view::npos;

  http::Request req{get ? http::Verb::get : http::Verb::post, std::string(target), 11};
  req.set(http::Field::host, kHost);
  if (!get) req.set(http::Field::content_type, "application/pkcs10");
  if (reenroll) req.set(ca::kClientCertHeader, fixture.alice_cert_b64);
  req.body() = std::string(in);
  req.prepare_payload();
  crypto::RequestBinding binding{std::string(req.method_string()), std::string(kHost), std::string(req.target()),
                                 crypto::RequestBinding::sha256Hex(req.body())};
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  req.set(ca::kIdentityHeader, fixture.signer->sign({"alice", "", reenroll ? "certificate" : "basic", 1}, binding, now_ms));

  http::Response res = fixture.service->serve(req);
  if (res.result_int() >= 500) {
    std::fprintf(stderr, "EST answered %d: %s\n", res.result_int(), res.body().c_str());
    std::abort();
  }
  if (res.result_int() == 200 && !get) {
    auto der = x509::base64DecodeLenient(res.body(), 1 << 20);
    if (!der || !x509::parseCertsOnly(*der)) {
      std::fprintf(stderr, "a 200 enrollment answer is not certs-only\n");
      std::abort();
    }
  }
  return 0;
}
