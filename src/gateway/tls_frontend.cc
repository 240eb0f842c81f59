#include "gateway/tls_frontend.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include "gateway/rules.h"

namespace rampart::gateway {

struct TlsFrontend::Set {
  struct Entry {
    std::vector<std::string> names;
    std::shared_ptr<tls::ssl::context> ctx;
    std::string staple;  // DER OCSP response, empty = none
  };
  std::vector<Entry> entries;  // entries[0] is the default

  const Entry* find(std::string_view name) const {
    const Entry* wildcard = nullptr;
    for (const Entry& e : entries) {
      for (const std::string& pattern : e.names) {
        if (pattern.rfind("*.", 0) == 0) {
          if (!wildcard && hostMatches(pattern, name)) wildcard = &e;
        } else if (pattern != "*" && hostMatches(pattern, name)) {
          return &e;
        }
      }
    }
    return wildcard;
  }
};

namespace {

// Index of the Set pointer in each SSL_CTX's ex_data, so the callbacks can
// find the other contexts and staples without globals.
int setIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const TlsFrontend::Set::Entry* entryOf(SSL* ssl) {
  auto* set = static_cast<TlsFrontend::Set*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), setIndex()));
  if (set == nullptr) return nullptr;
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  for (const auto& e : set->entries) {
    if (e.ctx->native_handle() == ctx) return &e;
  }
  return nullptr;
}

// RFC 6066 3: pick the certificate for the name the client asked for. An
// unknown name gets the default certificate (the Host check later answers
// 421 if the request is not for a name we serve).
int onServerName(SSL* ssl, int*, void* arg) {
  auto* set = static_cast<TlsFrontend::Set*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  const auto* entry = set->find(name);
  if (entry != nullptr && entry->ctx->native_handle() != SSL_get_SSL_CTX(ssl)) {
    SSL_set_SSL_CTX(ssl, entry->ctx->native_handle());
  }
  return SSL_TLSEXT_ERR_OK;
}

// RFC 6066 8: staple the OCSP response when the client asked for one.
int onStatusRequest(SSL* ssl, void*) {
  const auto* entry = entryOf(ssl);
  if (entry == nullptr || entry->staple.empty()) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(entry->staple.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, entry->staple.data(), entry->staple.size());
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(entry->staple.size()));
  return SSL_TLSEXT_ERR_OK;
}

// Client certificates are checked by the certificate filter against its own
// store with CRLs (auth/client_cert.h); here any chain is let through so that
// a rule that does not need a certificate still works, and a rule that does
// answers 403 with a reason instead of a failed handshake.
int acceptAnyChain(int, X509_STORE_CTX*) { return 1; }

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::config_error, path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::shared_ptr<TlsFrontend::Set>> load(const std::vector<CertificateConfig>& certs,
                                               tls::Profile profile,
                                               const std::string& client_ca_file) {
  auto set = std::make_shared<TlsFrontend::Set>();
  for (const CertificateConfig& c : certs) {
    tls::ServerOptions o;
    o.cert_file = c.cert_file;
    o.key_file = c.key_file;
    o.profile = profile;
    auto ctx = tls::makeServerContext(o);
    if (!ctx) return fail(ctx.error());
    SSL_CTX* raw = (*ctx)->native_handle();
    if (!client_ca_file.empty()) {
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str());
      if (names == nullptr) {
        return fail(Errc::config_error, "client CA " + client_ca_file + ": " + tls::opensslErrors());
      }
      SSL_CTX_set_client_CA_list(raw, names);
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, acceptAnyChain);
    }
    TlsFrontend::Set::Entry e{c.names, std::move(*ctx), {}};
    if (!c.ocsp_staple_file.empty()) {
      auto der = readFile(c.ocsp_staple_file);
      if (!der) return fail(der.error());
      e.staple = std::move(*der);
    }
    set->entries.push_back(std::move(e));
  }
  for (auto& e : set->entries) {
    SSL_CTX* raw = e.ctx->native_handle();
    SSL_CTX_set_ex_data(raw, setIndex(), set.get());
    SSL_CTX_set_tlsext_servername_callback(raw, onServerName);
    SSL_CTX_set_tlsext_servername_arg(raw, set.get());
    SSL_CTX_set_tlsext_status_cb(raw, onStatusRequest);
  }
  return set;
}

}  // namespace

Result<std::shared_ptr<TlsFrontend>> TlsFrontend::create(std::vector<CertificateConfig> certs,
                                                         tls::Profile profile,
                                                         std::string client_ca_file) {
  if (certs.empty()) return fail(Errc::config_error, "no certificate");
  std::shared_ptr<TlsFrontend> f(new TlsFrontend());
  f->certs_ = std::move(certs);
  f->profile_ = profile;
  f->client_ca_file_ = std::move(client_ca_file);
  if (auto st = f->reload(); !st) return fail(st.error());
  return f;
}

TlsFrontend::~TlsFrontend() = default;

std::shared_ptr<tls::ssl::context> TlsFrontend::current() const {
  std::lock_guard lock(mutex_);
  // The aliasing constructor keeps the whole Set (every context the SNI
  // callback may switch to, and the staples) alive as long as the default
  // context is in use by a connection being set up.
  return std::shared_ptr<tls::ssl::context>(set_, set_->entries.front().ctx.get());
}

Status TlsFrontend::reload() {
  auto set = load(certs_, profile_, client_ca_file_);
  if (!set) return fail(set.error());
  std::lock_guard lock(mutex_);
  set_ = std::move(*set);
  return {};
}

}  // namespace rampart::gateway
