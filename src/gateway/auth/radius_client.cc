#include "gateway/auth/radius_client.h"

#include <utility>

#include <boost/asio/ip/udp.hpp>
#include <openssl/crypto.h>

namespace rampart::gateway::auth {
namespace {

namespace asio = net::asio;
using udp = asio::ip::udp;

Result<std::optional<std::array<std::uint8_t, 4>>> parseNasIp(
    const std::optional<std::string>& text) {
  if (!text) return std::optional<std::array<std::uint8_t, 4>>{};
  boost::system::error_code ec;
  auto v4 = asio::ip::make_address_v4(*text, ec);
  if (ec) return fail(Errc::invalid_argument, "RADIUS nas_ip_address is not an IPv4 address");
  return std::optional<std::array<std::uint8_t, 4>>(v4.to_bytes());
}

}  // namespace

RadiusClient::RadiusClient(net::asio::any_io_executor executor, RadiusClientConfig config,
                           Random& random)
    : executor_(std::move(executor)), config_(std::move(config)), random_(&random) {}

net::Task<Result<RadiusReply>> RadiusClient::authenticate(std::string user, std::string password,
                                                          std::optional<std::string> state) {
  if (config_.servers.empty()) co_return fail(Errc::config_error, "no RADIUS server configured");
  auto nas_ip = parseNasIp(config_.nas_ip_address);
  if (!nas_ip) co_return fail(nas_ip.error());

  std::string discarded;  // why the last invalid response was dropped
  std::string last_error;
  for (const RadiusServer& server : config_.servers) {
    RadiusAccessRequest request;
    std::array<std::uint8_t, 1> id{};
    random_->fill(id);
    random_->fill(request.authenticator);  // RFC 2865 3: unpredictable, unique
    request.identifier = id[0];
    request.user_name = user;
    request.password = password;
    request.nas_identifier = config_.nas_identifier;
    request.nas_ip_address = *nas_ip;
    request.state = state;
    auto reply = co_await tryServer(server, request, discarded);
    OPENSSL_cleanse(request.password.data(), request.password.size());
    if (reply) {
      OPENSSL_cleanse(password.data(), password.size());
      co_return reply;
    }
    // A request the config or the caller made unsendable fails on every server.
    if (reply.error().is(Errc::invalid_argument)) {
      OPENSSL_cleanse(password.data(), password.size());
      co_return reply;
    }
    last_error = reply.error().detail;
  }
  OPENSSL_cleanse(password.data(), password.size());
  std::string detail = "no valid RADIUS answer (" + last_error + ")";
  if (!discarded.empty()) detail += "; last invalid response dropped: " + discarded;
  co_return fail(Errc::timeout, detail);
}

net::Task<Result<RadiusReply>> RadiusClient::tryServer(const RadiusServer& server,
                                                       const RadiusAccessRequest& request,
                                                       std::string& discarded) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(server.address, ec);
  if (ec) co_return fail(Errc::invalid_argument, "RADIUS server address is not an IP address");
  const udp::endpoint endpoint(address, server.port);
  auto bytes = encodeRadiusAccessRequest(request, server.secret);
  if (!bytes) co_return fail(bytes.error());

  // Shared with the timer's handler, which may run after this frame is gone.
  auto socket = std::make_shared<udp::socket>(executor_);
  socket->open(endpoint.protocol(), ec);
  if (!ec) socket->connect(endpoint, ec);  // only datagrams from the server arrive
  if (ec) co_return fail(Errc::io_error, "RADIUS socket: " + ec.message());

  std::vector<std::uint8_t> buffer(kRadiusMaxPacketSize);
  std::string what = "timed out";
  for (unsigned attempt = 0; attempt <= config_.retries; ++attempt) {
    co_await socket->async_send(asio::buffer(*bytes), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      what = "send: " + ec.message();
      continue;
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
    while (true) {
      asio::steady_timer timer(executor_);
      timer.expires_at(deadline);
      std::weak_ptr<udp::socket> weak = socket;
      timer.async_wait([weak](boost::system::error_code e) {
        if (e) return;
        if (auto s = weak.lock()) s->cancel();
      });
      const std::size_t n = co_await socket->async_receive(
          asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      timer.cancel();
      if (ec == asio::error::operation_aborted) {
        // A late cancel from an earlier timer is not this wait's deadline.
        if (std::chrono::steady_clock::now() < deadline) continue;
        break;  // retransmit
      }
      if (ec) {
        // ICMP port unreachable shows as connection_refused on a connected
        // socket: nobody listens there, so retransmit (and fail over) now.
        what = "receive: " + ec.message();
        break;
      }
      auto reply = decodeRadiusResponse(std::span<const std::uint8_t>(buffer.data(), n),
                                        request.identifier, request.authenticator,
                                        server.secret);
      if (reply) co_return reply;
      discarded = reply.error().detail;  // never holds secrets
    }
  }
  co_return fail(Errc::timeout, "RADIUS server " + server.address + ":" +
                                    std::to_string(server.port) + " " + what);
}

}  // namespace rampart::gateway::auth
