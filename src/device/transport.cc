#include "device/transport.h"

#include <boost/asio/ssl/host_name_verification.hpp>

#include "codec/eas/request_line.h"
#include "core/base64.h"
#include "http/client.h"
#include "net/asio.h"

#ifndef RAMPART_VERSION
#define RAMPART_VERSION "0"
#endif

namespace rampart::device {

namespace {

namespace asio = net::asio;

constexpr std::string_view kUserAgent = "rampart-device/" RAMPART_VERSION;

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<ServerUrl> parseUrl(std::string_view url) {
  ServerUrl out;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    out.tls = false;
    url.remove_prefix(7);
  } else {
    return fail(Errc::invalid_argument, "the URL must start with https://");
  }
  std::string_view authority = url.substr(0, url.find('/'));
  std::string_view path = authority.size() < url.size() ? url.substr(authority.size()) : "";
  if (authority.empty()) return fail(Errc::invalid_argument, "the URL names no host");
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail(Errc::invalid_argument, "bad IPv6 address in the URL");
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) out.port = std::string(authority.substr(1));
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty()) return fail(Errc::invalid_argument, "the URL names no host");
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  if (out.port.find_first_not_of("0123456789") != std::string::npos || out.port.size() > 5) {
    return fail(Errc::invalid_argument, "bad port in the URL");
  }
  while (path.ends_with("/")) path.remove_suffix(1);
  out.path = path.empty() ? std::string(eas::kActiveSyncPath) : std::string(path);
  return out;
}

std::string basicAuth(std::string_view user, std::string_view password) {
  return "Basic " + base64Encode(std::string(user) + ":" + std::string(password));
}

Result<std::shared_ptr<tls::ssl::context>> clientContext(const ServerUrl& url,
                                                         const std::string& ca_file,
                                                         const std::string& cert_file,
                                                         const std::string& key_file) {
  if (!url.tls) return std::shared_ptr<tls::ssl::context>{};
  tls::ClientOptions options;
  options.ca_file = ca_file;
  if (!cert_file.empty() && !key_file.empty()) {
    options.cert_file = cert_file;
    options.key_file = key_file;
  }
  auto made = tls::makeClientContext(options);
  if (!made) return fail(made.error());
  if (isIpLiteral(url.host)) {
    // No SNI for an address (RFC 6066 3), but the certificate must still name it.
    (*made)->set_verify_callback(asio::ssl::host_name_verification(url.host));
  }
  return *made;
}

Result<Reply> sendRequest(const ServerUrl& url, const std::shared_ptr<tls::ssl::context>& tls,
                          http::Request req, std::chrono::seconds timeout,
                          std::uint64_t body_limit) {
  http::ClientOptions options;
  options.io_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  options.body_limit = body_limit;
  options.tls = tls;
  if (tls && !isIpLiteral(url.host)) options.sni = url.host;
  req.set(http::Field::host, url.host + ":" + url.port);
  auto res = http::fetchBlocking(url.host, url.port, std::move(req), options);
  if (!res) return fail(res.error());
  Reply reply;
  reply.status = static_cast<int>(res->result_int());
  reply.body = std::move(res->body());
  reply.content_type = std::string((*res)[http::Field::content_type]);
  if (res->find(http::Field::retry_after) != res->end()) {
    reply.retry_after = std::string((*res)[http::Field::retry_after]);
  }
  if (res->find("MS-ASProtocolVersions") != res->end()) {
    reply.versions = std::string((*res)["MS-ASProtocolVersions"]);
  }
  if (res->find("MS-ASProtocolCommands") != res->end()) {
    reply.commands = std::string((*res)["MS-ASProtocolCommands"]);
  }
  return reply;
}

Result<Transport> Transport::create(const Account& account) {
  auto url = parseUrl(account.url);
  if (!url) return fail(url.error());
  if (account.auth == AuthMode::certificate &&
      (account.cert_file.empty() || account.key_file.empty()))
    return fail(Errc::invalid_argument, "certificate login needs a certificate and key file");
  auto ctx = clientContext(*url, account.ca_file, account.cert_file, account.key_file);
  if (!ctx) return fail(ctx.error());
  return Transport(std::move(*url), std::move(*ctx));
}

Result<Reply> Transport::send(http::Request req, std::chrono::seconds timeout) {
  return sendRequest(url_, tls_, std::move(req), timeout);
}

void Transport::authorize(http::Request& req, const Account& account) {
  // Certificate mode: the TLS client certificate is the credential; no
  // password travels (the gateway's "certificate" rule).
  if (account.auth == AuthMode::certificate) return;
  req.set(http::Field::authorization, basicAuth(account.user, account.password));
}

Result<Reply> Transport::options(const Account& account) {
  http::Request req{http::Verb::options, url_.path, 11};
  authorize(req, account);
  req.set(http::Field::user_agent, kUserAgent);
  return send(std::move(req), std::chrono::seconds(60));
}

Result<Reply> Transport::command(const Account& account, std::string_view cmd,
                                 const std::vector<std::uint8_t>& body,
                                 std::chrono::seconds timeout) {
  // MS-ASHTTP 2.2.1.1.1.2: the plain query; the version and key go in headers.
  eas::EasRequest line;
  line.command = std::string(cmd);
  line.user = account.user;
  line.device_id = account.device_id;
  line.device_type = account.device_type;
  auto query = eas::encodePlainQuery(line);
  if (!query) return fail(query.error());
  http::Request req{http::Verb::post, url_.path + "?" + *query, 11};
  authorize(req, account);
  req.set(http::Field::content_type, "application/vnd.ms-sync.wbxml");
  req.set("MS-ASProtocolVersion", account.version);
  if (!account.policy_key.empty()) req.set("X-MS-PolicyKey", account.policy_key);
  req.set(http::Field::user_agent, kUserAgent);
  req.body().assign(body.begin(), body.end());
  return send(std::move(req), timeout);
}

Result<Reply> Transport::autodiscover(const Account& account, const std::string& xml) {
  http::Request req{http::Verb::post, "/autodiscover/autodiscover.xml", 11};
  authorize(req, account);
  req.set(http::Field::content_type, "text/xml");
  req.set(http::Field::user_agent, kUserAgent);
  req.body() = xml;
  return send(std::move(req), std::chrono::seconds(30));
}

Result<Reply> Transport::request(const Account& account, std::string_view target,
                                 std::string_view body, std::string_view content_type) {
  bool get = body.empty() && content_type.empty();
  http::Request req{get ? http::Verb::get : http::Verb::post, std::string(target), 11};
  authorize(req, account);
  if (!get) req.set(http::Field::content_type, content_type);
  req.set(http::Field::user_agent, kUserAgent);
  req.body() = std::string(body);
  return send(std::move(req), std::chrono::seconds(30));
}

}  // namespace rampart::device
