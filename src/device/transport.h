// The device's HTTP side of EAS (MS-ASHTTP): one blocking request at a time
// over http::fetch(), with the request line and headers a phone sends.
//
//   POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=u&DeviceId=d&DeviceType=t
//   Authorization: Basic ...                      (MS-ASHTTP 2.2.1.1.2.1)
//                                                 (none in certificate mode: the
//                                                 TLS client certificate logs in)
//   Content-Type: application/vnd.ms-sync.wbxml    (2.2.1.1.2.2)
//   MS-ASProtocolVersion: 16.1                     (2.2.1.1.2.6)
//   X-MS-PolicyKey: <key>                          (2.2.1.1.2.7), once provisioned
//   User-Agent: rampart-device/<version>           (2.2.1.1.2.8)
//
// Blocking on purpose: the CLI does one thing at a time. Each call runs its
// own io_context; nothing is shared between calls.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "device/state.h"
#include "http/types.h"
#include "tls/context.h"

namespace rampart::device {

struct ServerUrl {
  bool tls = true;
  std::string host;
  std::string port;
  std::string path;  // the EAS path, "/Microsoft-Server-ActiveSync" unless the URL names one
};

// "https://host[:port][/path]" or "http://..." (plain HTTP only for tests).
Result<ServerUrl> parseUrl(std::string_view url);

struct Reply {
  int status = 0;  // HTTP status
  std::string body;
  std::string content_type;
  std::optional<std::string> retry_after;  // Retry-After, seconds or an HTTP date
  std::optional<std::string> versions;     // MS-ASProtocolVersions (OPTIONS)
  std::optional<std::string> commands;     // MS-ASProtocolCommands (OPTIONS)
};

// The TLS client context for `url`: trust anchors `ca_file` (empty: the
// system store), the client certificate `cert_file` (PEM, leaf first) with
// `key_file` when both are set; an address literal is checked against the
// certificate's IP entries. Null for http:// URLs.
Result<std::shared_ptr<tls::ssl::context>> clientContext(const ServerUrl& url,
                                                         const std::string& ca_file,
                                                         const std::string& cert_file = {},
                                                         const std::string& key_file = {});

// One blocking request to url.host:url.port (each resolved address in turn
// while connecting fails), over `tls` when set. Shared by EAS and EST.
Result<Reply> sendRequest(const ServerUrl& url, const std::shared_ptr<tls::ssl::context>& tls,
                          http::Request req, std::chrono::seconds timeout,
                          std::uint64_t body_limit = 64 * 1024 * 1024);

class Transport {
 public:
  // Builds the TLS client context (trust anchors: account.ca_file, or the
  // system store; the account's client certificate when it has one) once.
  static Result<Transport> create(const Account& account);

  // HTTP OPTIONS on the EAS path (MS-ASHTTP 2.2.3): the versions and commands.
  Result<Reply> options(const Account& account);
  // POST of a WBXML command body; `policy_key` empty sends no X-MS-PolicyKey.
  // `timeout` bounds each read and write (Ping needs more than the heartbeat).
  Result<Reply> command(const Account& account, std::string_view cmd,
                        const std::vector<std::uint8_t>& body,
                        std::chrono::seconds timeout = std::chrono::seconds(60));
  // POST /autodiscover/autodiscover.xml (MS-ASCMD 2.2.1.1) with a text/xml body.
  Result<Reply> autodiscover(const Account& account, const std::string& xml);
  // Any other path on the same host with the account's credentials: the
  // rights server's /rights/... behind the gateway (issue 6). GET when `body`
  // is empty and `content_type` too.
  Result<Reply> request(const Account& account, std::string_view target, std::string_view body,
                        std::string_view content_type);

 private:
  Transport(ServerUrl url, std::shared_ptr<tls::ssl::context> tls)
      : url_(std::move(url)), tls_(std::move(tls)) {}
  Result<Reply> send(http::Request req, std::chrono::seconds timeout);
  // Authorization: Basic unless the account logs in with its certificate.
  static void authorize(http::Request& req, const Account& account);

  ServerUrl url_;
  std::shared_ptr<tls::ssl::context> tls_;
};

// The value of an Authorization: Basic header for user:password.
std::string basicAuth(std::string_view user, std::string_view password);

}  // namespace rampart::device
