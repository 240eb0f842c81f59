// The HTTP/2 upstream (RFC 9113) for rules with backend_h2: every request of
// this thread to the backend is a stream on a few shared connections
// (http/h2_client.h), so a parked EAS Ping costs the backend link a stream,
// not a TCP+TLS connection (DESIGN.md 6).
#include "gateway/upstream.h"

#include "http/h2_client.h"
#include "net/listener.h"

namespace rampart::gateway {

namespace {

using net::Task;

class H2Upstream final : public Upstream {
 public:
  H2Upstream(net::asio::any_io_executor executor, const RuleConfig& rule, net::tcp::endpoint endpoint,
             http::H2ClientOptions options)
      : client_(std::move(executor), endpoint, std::move(options)) {
    (void)rule;
  }

  Task<Result<http::Response>> send(ForwardRequest& fwd, const UpstreamCall& call) override {
    http::Request req;
    auto verb = boost::beast::http::string_to_verb(fwd.method);
    if (verb == http::Verb::unknown) req.method_string(fwd.method);
    else req.method(verb);
    req.target(fwd.target);
    req.version(11);
    for (const auto& [name, value] : fwd.headers) req.insert(name, value);
    req.body() = std::move(fwd.body);
    fwd = {};
    req.prepare_payload();
    Result<http::Response> res = co_await client_.request(std::move(req), call.timeout);
    if (!res && res.error().is(Errc::io_error)) co_return fail(Errc::unavailable, res.error().detail);
    co_return res;
  }

  void closeIdle() override {}

 private:
  http::H2Client client_;
};

}  // namespace

std::unique_ptr<Upstream> makeH2Upstream(net::asio::any_io_executor executor, const RuleConfig& rule,
                                         std::shared_ptr<tls::ssl::context> tls) {
  auto endpoint = net::parseEndpoint(rule.backend);
  if (!endpoint || !tls) return nullptr;
  http::H2ClientOptions o;
  o.tls = std::move(tls);
  o.sni = rule.backend_server_name.empty() ? endpointHost(rule.backend) : rule.backend_server_name;
  o.connect_timeout = rule.connect_timeout;
  o.body_limit = std::max<std::uint64_t>(64ull * 1024 * 1024, rule.body_limit.bytes);
  // Streams wait as long as the longest long poll; the pool grows past one
  // connection only when a connection's stream limit is reached.
  o.idle_timeout = std::max(rule.long_poll_timeout, rule.response_timeout) + std::chrono::seconds(60);
  return std::make_unique<H2Upstream>(std::move(executor), rule, *endpoint, std::move(o));
}

}  // namespace rampart::gateway
