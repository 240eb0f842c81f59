// TLS contexts from PEM files, on OpenSSL 3: TLS 1.2 and 1.3 only, forward
// secrecy only, AEAD ciphers only. A ReloadableContext swaps in a new context
// (new certificate and key) without touching connections already established.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/error.h"

namespace rampart::tls {

namespace ssl = boost::asio::ssl;

enum class Profile {
  modern,  // TLS 1.2+ with ECDHE + AES-GCM / ChaCha20-Poly1305; TLS 1.3 suites
  fips,    // FIPS 140-2 approved only: ECDHE + AES-GCM, P-256/P-384 groups
};

struct ServerOptions {
  std::string cert_file;        // PEM: leaf first, then intermediates
  std::string key_file;         // PEM private key
  std::string client_ca_file;   // when set, client certificates are requested and verified
  bool require_client_cert = false;
  Profile profile = Profile::modern;
  // ALPN protocols the server accepts, in its order of preference, e.g.
  // {"h2", "http/1.1"} (RFC 7301; RFC 9113 3.2). Empty: no ALPN. A client
  // offering none of them still connects, without ALPN.
  std::vector<std::string> alpn;
};

struct ClientOptions {
  std::string ca_file;          // trust anchors; empty = the system store
  bool verify_peer = true;      // off only for opportunistic STARTTLS to a relay
  std::string cert_file;        // optional client certificate (mTLS)
  std::string key_file;
  Profile profile = Profile::modern;
};

Result<std::shared_ptr<ssl::context>> makeServerContext(const ServerOptions& options);
Result<std::shared_ptr<ssl::context>> makeClientContext(const ClientOptions& options);

// Holds the current server context; reload() builds a new one from the same
// options and swaps it in only if it loads cleanly. Thread-safe.
class ReloadableContext {
 public:
  static Result<std::shared_ptr<ReloadableContext>> create(ServerOptions options);
  std::shared_ptr<ssl::context> current() const;
  Status reload();

 private:
  explicit ReloadableContext(ServerOptions options, std::shared_ptr<ssl::context> ctx)
      : options_(std::move(options)), current_(std::move(ctx)) {}
  ServerOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<ssl::context> current_;
};

// The most recent OpenSSL error queue entries as text, and clears the queue.
std::string opensslErrors();

}  // namespace rampart::tls
