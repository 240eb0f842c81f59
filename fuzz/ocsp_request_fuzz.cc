// libFuzzer target for ca::Authority::ocspRespond() (RFC 6960 4.1 requests):
// any bytes get a DER OCSPResponse back, never a crash, hang or leak. Two
// shapes per input: the bytes as a whole request, and the bytes as the serial
// of a well-formed request for the issuing CA (so the store lookup, the
// signing and the cache are reached, not only the DER parser).
#include <openssl/ocsp.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ca/authority.h"
#include "crypto/x509/csr.h"
#include "directory/builtin_directory.h"
#include "store/sqlite/sqlite_ca_store.h"

namespace {

using namespace rampart;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ocsp_request_fuzz setup: %s\n", what.c_str());
  std::abort();
}

struct Fixture {
  std::string dir;
  std::shared_ptr<ca::Authority> authority;

  Fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rampart-ocsp-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp");
    dir = tmpl;
    auto store = store::sqlite::SqliteCaStore::open(dir + "/ca.db");
    if (!store) die(store.error().message());
    directory::BuiltinDirectoryOptions options;
    options.time_cost = 1;
    options.memory_kib = 8;
    auto users = directory::BuiltinDirectory::open(dir + "/directory.db", options);
    if (!users) die(users.error().message());
    std::shared_ptr<directory::BuiltinDirectory> shared(std::move(*users));
    if (!shared->addUser({"alice", "Alice", true, {"alice@example.org"}}, "pw")) die("addUser");
    ca::AuthorityConfig config;
    config.dir = dir + "/ca";
    auto opened = ca::Authority::open(config, *store, shared, nullptr);
    if (!opened) die(opened.error().message());
    authority = *opened;
    // One issued and one revoked certificate, so lookups find both states.
    for (int i = 0; i < 2; ++i) {
      auto key = crypto::x509::generateKey(crypto::x509::KeyType::ec_p256);
      auto der = crypto::x509::makeCsr(key->get(), "alice");
      auto csr = crypto::x509::parseCsr(*der);
      if (!csr) die(csr.error().message());
      auto issued = authority->enroll({"device", "alice", "fuzz", nullptr}, *csr);
      if (!issued || issued->kind != ca::EnrollResult::Kind::issued) die("enroll");
      if (i == 1 && !authority->revoke(issued->serial, 1, "fuzz")) die("revoke");
    }
  }
  ~Fixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void checkAnswer(const std::string& answer) {
  const auto* p = reinterpret_cast<const unsigned char*>(answer.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer.size()));
  if (response == nullptr || p != reinterpret_cast<const unsigned char*>(answer.data()) + answer.size()) {
    std::fprintf(stderr, "ocspRespond gave something that is not an OCSPResponse\n");
    std::abort();
  }
  OCSP_RESPONSE_free(response);
}

// A request for `serial_bytes` under the issuing CA (SHA-1 CertID, as most
// clients send), with a nonce when the first byte is odd.
std::string requestFor(X509* issuer, std::string_view serial_bytes) {
  std::string out;
  bool nonce = !serial_bytes.empty() && (static_cast<unsigned char>(serial_bytes[0]) & 1) != 0;
  if (serial_bytes.size() > 40) serial_bytes = serial_bytes.substr(0, 40);
  ASN1_INTEGER* serial = ASN1_INTEGER_new();
  OCSP_REQUEST* req = OCSP_REQUEST_new();
  if (serial != nullptr && req != nullptr &&
      ASN1_STRING_set(serial, serial_bytes.data(), static_cast<int>(serial_bytes.size())) == 1) {
    OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer),
                                       serial);
    if (id != nullptr && OCSP_request_add0_id(req, id) != nullptr) {
      if (nonce) OCSP_request_add1_nonce(req, nullptr, 16);
      unsigned char* der = nullptr;
      int len = i2d_OCSP_REQUEST(req, &der);
      if (len > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
      OPENSSL_free(der);
    } else {
      OCSP_CERTID_free(id);
    }
  }
  OCSP_REQUEST_free(req);
  ASN1_INTEGER_free(serial);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  checkAnswer(fixture.authority->ocspRespond(in));
  if (size <= 64) {
    std::string req = requestFor(fixture.authority->issuing(), in);
    if (!req.empty()) checkAnswer(fixture.authority->ocspRespond(req));
  }
  return 0;
}
