#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace rampart::tls {
namespace {

// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only.
constexpr const char* kModernTls12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kModernTls13 =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kModernGroups = "X25519:P-256:P-384";
// FIPS 140-2 approved: AES-GCM with ECDHE over NIST curves.
constexpr const char* kFipsTls12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
constexpr const char* kFipsTls13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
constexpr const char* kFipsGroups = "P-256:P-384";

Status applyProfile(SSL_CTX* ctx, Profile profile) {
  bool fips = profile == Profile::fips;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, fips ? kFipsTls12 : kModernTls12) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, fips ? kFipsTls13 : kModernTls13) != 1 ||
      SSL_CTX_set1_groups_list(ctx, fips ? kFipsGroups : kModernGroups) != 1) {
    return fail(Errc::config_error, "TLS profile: " + opensslErrors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  return {};
}

// The server's ALPN list in wire format (RFC 7301 3.1), owned by the SSL_CTX
// through ex_data so that it lives exactly as long as the context.
int alpnIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::string*>(ptr);
      });
  return index;
}

// Picks the first of the server's protocols that the client offers; none in
// common: carry on without ALPN (the client gets HTTP/1.1).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned>(wire->size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

Status applyAlpn(SSL_CTX* ctx, const std::vector<std::string>& protocols) {
  if (protocols.empty()) return {};
  auto wire = std::make_unique<std::string>();
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) return fail(Errc::config_error, "bad ALPN protocol name");
    wire->push_back(static_cast<char>(p.size()));
    *wire += p;
  }
  if (alpnIndex() < 0 || SSL_CTX_set_ex_data(ctx, alpnIndex(), wire.get()) != 1) {
    return fail(Errc::config_error, "ALPN: " + opensslErrors());
  }
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, wire.release());
  return {};
}

}  // namespace

std::string opensslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Result<std::shared_ptr<ssl::context>> makeServerContext(const ServerOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  if (auto st = applyProfile(raw, options.profile); !st) return fail(st.error());
  // Idle connections (EAS Ping parks thousands) hold no record buffers; writes
  // are write_some-style and may be retried from a moved buffer (tls/stream.h).
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(raw, options.cert_file.c_str()) != 1) {
    return fail(Errc::config_error, "certificate " + options.cert_file + ": " + opensslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(Errc::config_error, "private key " + options.key_file + ": " + opensslErrors());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return fail(Errc::config_error,
                "private key " + options.key_file + " does not match " + options.cert_file);
  }
  if (!options.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, options.client_ca_file.c_str(), nullptr) != 1) {
      return fail(Errc::config_error,
                  "client CA " + options.client_ca_file + ": " + opensslErrors());
    }
    int mode = SSL_VERIFY_PEER;
    if (options.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, mode, nullptr);
  }
  if (auto st = applyAlpn(raw, options.alpn); !st) return fail(st.error());
  return ctx;
}

Result<std::shared_ptr<ssl::context>> makeClientContext(const ClientOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  if (auto st = applyProfile(raw, options.profile); !st) return fail(st.error());
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(raw) != 1) {
      return fail(Errc::config_error, "system trust store: " + opensslErrors());
    }
  } else if (SSL_CTX_load_verify_locations(raw, options.ca_file.c_str(), nullptr) != 1) {
    return fail(Errc::config_error, "CA file " + options.ca_file + ": " + opensslErrors());
  }
  SSL_CTX_set_verify(raw, options.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(raw, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(raw) != 1) {
      return fail(Errc::config_error, "client certificate " + options.cert_file + ": " +
                                          opensslErrors());
    }
  }
  return ctx;
}

Result<std::shared_ptr<ReloadableContext>> ReloadableContext::create(ServerOptions options) {
  auto ctx = makeServerContext(options);
  if (!ctx) return fail(ctx.error());
  return std::shared_ptr<ReloadableContext>(
      new ReloadableContext(std::move(options), std::move(*ctx)));
}

std::shared_ptr<ssl::context> ReloadableContext::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Status ReloadableContext::reload() {
  auto ctx = makeServerContext(options_);
  if (!ctx) return fail(ctx.error());
  std::lock_guard lock(mutex_);
  current_ = std::move(*ctx);
  return {};
}

}  // namespace rampart::tls
