#include "tls/dev_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include "tls/context.h"

namespace rampart::tls {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return fail(Errc::internal, "extension " + value + ": " + opensslErrors());
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return fail(Errc::internal, "add extension: " + opensslErrors());
  return {};
}

Result<Cert> makeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                      long days, bool is_ca, const std::vector<std::string>& names,
                      const char* eku = "serverAuth") {
  Cert cert(X509_new());
  if (!cert) return fail(Errc::internal, "X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail(Errc::internal, "RAND_bytes");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Rampart development"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    if (auto st = addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"); !st) return fail(st.error());
    if (auto st = addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign"); !st) return fail(st.error());
  } else {
    std::string san;
    for (const auto& n : names) {
      bool ip = n.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                n.find_first_of(".:") != std::string::npos && n.find_first_of("0123456789") != std::string::npos;
      san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
    }
    if (auto st = addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"); !st) return fail(st.error());
    if (auto st = addExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature"); !st) return fail(st.error());
    if (auto st = addExtension(cert.get(), signer, NID_ext_key_usage, eku); !st) return fail(st.error());
    if (!san.empty()) {
      if (auto st = addExtension(cert.get(), signer, NID_subject_alt_name, san); !st) return fail(st.error());
    }
  }
  if (auto st = addExtension(cert.get(), signer, NID_subject_key_identifier, "hash"); !st) return fail(st.error());
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return fail(Errc::internal, "sign: " + opensslErrors());
  }
  return cert;
}

Status writePem(const std::string& path, mode_t mode, const std::function<int(FILE*)>& write) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "w"));
  if (!f) return fail(Errc::io_error, "cannot write " + path);
  if (write(f.get()) != 1) return fail(Errc::io_error, "PEM write " + path + ": " + opensslErrors());
  ::chmod(path.c_str(), mode);
  return {};
}

}  // namespace

Result<DevPkiFiles> ensureDevPki(const std::string& dir, const std::vector<std::string>& names) {
  DevPkiFiles files{dir + "/dev-ca.crt", dir + "/dev-ca.key", dir + "/server.crt", dir + "/server.key"};
  namespace fs = std::filesystem;
  if (fs::exists(files.ca_cert) && fs::exists(files.ca_key) && fs::exists(files.server_cert) &&
      fs::exists(files.server_key)) {
    return files;
  }
  Pkey ca_key(EVP_EC_gen("P-256"));
  Pkey server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return fail(Errc::internal, "key generation: " + opensslErrors());
  auto ca = makeCert(ca_key.get(), "Rampart development CA", nullptr, ca_key.get(), 3650, true, {});
  if (!ca) return fail(ca.error());
  auto leaf = makeCert(server_key.get(), names.empty() ? "localhost" : names.front(), ca->get(),
                       ca_key.get(), 825, false, names);
  if (!leaf) return fail(leaf.error());

  // Created under umask 077 so a key is never readable by others, even briefly.
  mode_t old = ::umask(077);
  Status st = writePem(files.ca_key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, ca_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (st) st = writePem(files.server_key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, server_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (st) st = writePem(files.ca_cert, 0644, [&](FILE* f) { return PEM_write_X509(f, ca->get()); });
  if (st) st = writePem(files.server_cert, 0644, [&](FILE* f) {
    return PEM_write_X509(f, leaf->get()) == 1 && PEM_write_X509(f, ca->get()) == 1 ? 1 : 0;
  });
  ::umask(old);
  if (!st) return fail(st.error());
  return files;
}

Result<DevClientCert> ensureDevClientCert(const DevPkiFiles& pki, const std::string& name) {
  const std::string dir = pki.ca_cert.substr(0, pki.ca_cert.rfind('/'));
  DevClientCert files{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  namespace fs = std::filesystem;
  if (fs::exists(files.cert) && fs::exists(files.key)) return files;
  std::unique_ptr<FILE, FileClose> ca_file(std::fopen(pki.ca_cert.c_str(), "r"));
  std::unique_ptr<FILE, FileClose> ca_key_file(std::fopen(pki.ca_key.c_str(), "r"));
  if (!ca_file || !ca_key_file) return fail(Errc::io_error, "cannot read the development CA in " + dir);
  Cert ca(PEM_read_X509(ca_file.get(), nullptr, nullptr, nullptr));
  Pkey ca_key(PEM_read_PrivateKey(ca_key_file.get(), nullptr, nullptr, nullptr));
  if (!ca || !ca_key) return fail(Errc::parse_error, "development CA: " + opensslErrors());
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) return fail(Errc::internal, "key generation: " + opensslErrors());
  auto leaf = makeCert(key.get(), name, ca.get(), ca_key.get(), 825, false, {}, "clientAuth");
  if (!leaf) return fail(leaf.error());
  mode_t old = ::umask(077);
  Status st = writePem(files.key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (st) st = writePem(files.cert, 0644, [&](FILE* f) {
    return PEM_write_X509(f, leaf->get()) == 1 && PEM_write_X509(f, ca.get()) == 1 ? 1 : 0;
  });
  ::umask(old);
  if (!st) return fail(st.error());
  return files;
}

}  // namespace rampart::tls
