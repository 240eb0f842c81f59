// The gateway's side of a bridged link to one backend: HTTP/1.1 over TCP or
// TLS (mTLS with the gateway's own certificate, the backend verified by name),
// idle connections kept for reuse. One Upstream per rule per I/O thread, so
// the pool needs no lock. (Parked EAS Pings go over HTTP/2 instead when the
// rule says backend_h2: many streams on a few connections, h2_upstream.h.)
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/x509.h>

#include "core/error.h"
#include "gateway/config.h"
#include "http/types.h"
#include "net/asio.h"
#include "tls/context.h"

namespace rampart::gateway {

// A request as the gateway forwards it: the client's request re-built from
// parsed parts (hop-by-hop headers, credentials and spoofed gateway headers
// already removed, the gateway's own added). Never the client's bytes.
struct ForwardRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // Host included
  std::string body;
};

// HTTP/1.1 wire form with Content-Length framing (RFC 9112 3, 6.2).
std::string serializeForward(const ForwardRequest& req);

// Whether a client's request header is left out of the forwarded request:
// hop-by-hop (RFC 9110 7.6.1) and those named in its Connection header,
// framing (re-done by the gateway), credentials (replaced by the identity
// assertion), Forwarded/Via/X-Forwarded-*, and every Rampart-* header (only
// the gateway sets Rampart-Identity and Rampart-Client-Cert).
bool dropOnForward(std::string_view name, const std::vector<std::string>& connection_options);

// The header a delegated backend gets when the client authenticated with its
// TLS client certificate: the leaf's DER in base64 (RFC 4648 section 4, with
// padding, no line breaks).
inline constexpr std::string_view kClientCertHeader = "Rampart-Client-Cert";
// Its value for `leaf`; invalid_argument without a leaf, limit_exceeded over
// 16 KiB of DER (a header that size would pass no backend's limits).
Result<std::string> clientCertHeaderValue(X509* leaf);

// What a proxied request needs besides its bytes.
struct UpstreamCall {
  bool head = false;                 // HEAD: the response has no body
  std::chrono::milliseconds timeout; // for the whole answer (long-poll rules: long)
  std::uint64_t body_limit = 64ull * 1024 * 1024;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // Sends one request and returns the backend's response. `req` is consumed
  // (moved from) before the first suspension, so a parked request holds one
  // copy of itself, the upstream's. Errors:
  // Errc::unavailable (connect or TLS failed: answer 502), Errc::timeout
  // (answer 504), Errc::protocol_error (a malformed response: 502).
  virtual net::Task<Result<http::Response>> send(ForwardRequest& req, const UpstreamCall& call) = 0;
  // Closes idle connections (on stop and reload).
  virtual void closeIdle() = 0;
};

// The client TLS context for a rule's backend, or null for plain TCP.
Result<std::shared_ptr<tls::ssl::context>> makeBackendContext(const RuleConfig& rule, tls::Profile profile);

// The upstream a rule asks for: HTTP/2 when backend_h2, else HTTP/1.1.
std::unique_ptr<Upstream> makeUpstream(net::asio::any_io_executor executor, const RuleConfig& rule,
                                       std::shared_ptr<tls::ssl::context> tls);

// HTTP/2 (h2_upstream.cc); null when the rule has no TLS to the backend.
std::unique_ptr<Upstream> makeH2Upstream(net::asio::any_io_executor executor, const RuleConfig& rule,
                                         std::shared_ptr<tls::ssl::context> tls);

std::unique_ptr<Upstream> makeHttp1Upstream(net::asio::any_io_executor executor,
                                            const RuleConfig& rule,
                                            std::shared_ptr<tls::ssl::context> tls);

}  // namespace rampart::gateway
