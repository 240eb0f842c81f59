// A RADIUS client (RFC 2865) over UDP for two-factor pre-authentication: one
// Access-Request per call, answered Accept, Reject or Challenge (the
// SecurID-style "next code" / "new PIN" prompts arrive as Challenges with a
// State to echo back).
//
// Every request carries a Message-Authenticator and every response must carry
// a valid one (Blast-RADIUS, CVE-2024-3596) besides a valid Response
// Authenticator; responses that fail either check, or come from elsewhere or
// for another Identifier, are dropped and the wait goes on (RFC 2865 3:
// silently discarded), so a forger cannot cut a real answer short.
//
// Each call uses its own connected UDP socket (an ephemeral port), so its
// Identifier space is its own. Retransmissions within one server reuse the
// Identifier and Request Authenticator (RFC 2865 2.5); the next server (if
// configured) gets a fresh request with its own secret.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "gateway/auth/radius_packet.h"
#include "net/asio.h"

namespace rampart::gateway::auth {

struct RadiusServer {
  std::string address;  // an IPv4 or IPv6 address literal (no DNS at request time)
  std::uint16_t port = 1812;
  std::string secret;   // the shared secret; never logged
};

struct RadiusClientConfig {
  std::vector<RadiusServer> servers;  // tried in order: failover on timeout
  std::string nas_identifier = "rampart-gateway";
  std::optional<std::string> nas_ip_address;  // IPv4 literal, sent as NAS-IP-Address
  std::chrono::milliseconds timeout{3000};    // per transmission
  unsigned retries = 2;                       // retransmissions per server after the first
};

class RadiusClient {
 public:
  // `random` makes Request Authenticators and Identifiers (default: the
  // kernel's CSPRNG); it must outlive the client. A bad config (no servers,
  // bad address) is reported by authenticate(), not here. `executor` runs the
  // socket and its deadline timer: a single-threaded io_context or a strand.
  // The client may serve many concurrent authenticate() calls.
  RadiusClient(net::asio::any_io_executor executor, RadiusClientConfig config,
               Random& random = systemRandom());

  // Sends an Access-Request for `user` with `password` (a password, a code, or
  // both as the server expects) and, when answering a Challenge, its `state`.
  // Returns the server's verdict; reply_message is the server's text, to be
  // escaped before it is shown. Errors: config_error (no server),
  // invalid_argument (empty user, a value over the RADIUS limits, a server or
  // NAS address that is not an IP literal), timeout (no valid answer from any
  // server: the detail says whether invalid responses were seen, which is
  // what a wrong shared secret looks like, or why sending failed).
  //
  // g++ 12 (docs/decisions/0002): pass named locals, not temporaries.
  net::Task<Result<RadiusReply>> authenticate(std::string user, std::string password,
                                              std::optional<std::string> state);

 private:
  net::Task<Result<RadiusReply>> tryServer(const RadiusServer& server,
                                           const RadiusAccessRequest& request,
                                           std::string& discarded);

  net::asio::any_io_executor executor_;
  RadiusClientConfig config_;
  Random* random_;
};

}  // namespace rampart::gateway::auth
