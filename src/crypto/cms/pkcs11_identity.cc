// A PKCS#11 token's key and certificate through OpenSSL's "pkcs11" ENGINE
// (libp11's engine, Debian libengine-pkcs11-openssl). OpenSSL 3.0 deprecates
// the ENGINE API; this file is the only one that uses it (the provider-based
// replacement is not packaged for Debian 12).
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <map>
#include <mutex>
#include <string>

#include "crypto/cms/smime.h"

namespace rampart::crypto::cms {

namespace {

// One initialised engine per module, kept for the life of the process: keys
// loaded through it call back into it for every signature or decryption.
std::mutex g_engines_mutex;
std::map<std::string, ENGINE*>& engines() {
  static auto* map = new std::map<std::string, ENGINE*>();
  return *map;
}

Result<ENGINE*> engineFor(const std::string& module_path) {
  auto& map = engines();
  if (auto it = map.find(module_path); it != map.end()) return it->second;
  ENGINE_load_builtin_engines();
  // Loads pkcs11.so from OpenSSL's engines directory through the dynamic engine.
  ENGINE* e = ENGINE_by_id("pkcs11");
  if (e == nullptr) {
    return fail(
        Errc::unavailable,
        "OpenSSL engine 'pkcs11' not found (libengine-pkcs11-openssl): " + x509::opensslErrors());
  }
  if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module_path.c_str(), 0) != 1) {
    ENGINE_free(e);
    return fail(Errc::config_error, "pkcs11 engine refused MODULE_PATH: " + x509::opensslErrors());
  }
  if (ENGINE_init(e) != 1) {
    ENGINE_free(e);
    return fail(Errc::unavailable,
                "pkcs11 engine init (module " + module_path + "): " + x509::opensslErrors());
  }
  map.emplace(module_path, e);
  return e;
}

// The RFC 7512 URI with its type attribute replaced by `type`.
std::string withType(std::string_view uri, std::string_view type) {
  std::string out(uri);
  std::size_t pos = out.find("type=");
  if (pos != std::string::npos) {
    std::size_t end = out.find_first_of(";?", pos);
    out.replace(pos, (end == std::string::npos ? out.size() : end) - pos,
                "type=" + std::string(type));
  } else {
    out += (out.find('?') == std::string::npos && out.back() != ':' ? ";" : "") +
           std::string("type=") + std::string(type);
  }
  return out;
}

}  // namespace

Result<Identity> identityFromPkcs11(std::string_view uri, std::string_view pin,
                                    std::string_view module_path) {
  if (uri.substr(0, 7) != "pkcs11:" || uri.size() > 4096) {
    return fail(Errc::invalid_argument, "not a PKCS#11 URI (RFC 7512: pkcs11:...)");
  }
  if (pin.size() > 256 || pin.find('\0') != std::string_view::npos || module_path.empty() ||
      module_path.find('\0') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "unusable PIN or module path");
  }
  std::lock_guard lock(g_engines_mutex);
  auto engine = engineFor(std::string(module_path));
  if (!engine) return fail(engine.error());
  ENGINE* e = *engine;
  std::string pin_copy(pin);
  int pin_ok = ENGINE_ctrl_cmd_string(e, "PIN", pin_copy.c_str(), 0);
  OPENSSL_cleanse(pin_copy.data(), pin_copy.size());
  if (pin_ok != 1)
    return fail(Errc::internal, "pkcs11 engine refused the PIN setting: " + x509::opensslErrors());

  std::string key_uri = withType(uri, "private");
  Identity id;
  id.key.reset(ENGINE_load_private_key(e, key_uri.c_str(), nullptr, nullptr));
  if (!id.key) {
    return fail(Errc::not_found,
                "no private key on the token for " + key_uri + ": " + x509::opensslErrors());
  }
  // libp11's LOAD_CERT_CTRL: a certificate object named by URI.
  struct {
    const char* uri;
    X509* cert;
  } params{nullptr, nullptr};
  std::string cert_uri = withType(uri, "cert");
  params.uri = cert_uri.c_str();
  if (ENGINE_ctrl_cmd(e, "LOAD_CERT_CTRL", 0, &params, nullptr, 1) != 1 || params.cert == nullptr) {
    return fail(Errc::not_found,
                "no certificate on the token for " + cert_uri + ": " + x509::opensslErrors());
  }
  id.cert.reset(params.cert);
  ERR_clear_error();
  return id;
}

}  // namespace rampart::crypto::cms
