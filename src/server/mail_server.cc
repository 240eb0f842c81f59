#include "server/mail_server.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "directory/builtin_directory.h"
#include "server/oof_replier.h"
#include "server/smtp/local_delivery_recipients.h"
#include "store/sqlite/sqlite_outbound_queue.h"
#include "store/sqlite/sqlite_rights_store.h"
#include "store/sqlite/sqlite_device_store.h"
#include "store/sqlite/sqlite_mail_store.h"

namespace rampart::server {

std::string databasePath(const ServerConfig& config) { return config.data_dir + "/rampart.db"; }

Result<std::unique_ptr<MailServer>> MailServer::create(const ServerConfig& config) {
  std::error_code ec;
  if (!std::filesystem::exists(config.data_dir, ec)) {
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return fail(Errc::io_error, "create " + config.data_dir + ": " + ec.message());
    // Mail and password hashes live here: owner only.
    if (::chmod(config.data_dir.c_str(), 0700) != 0) {
      return fail(Errc::io_error, "chmod " + config.data_dir + ": " + std::strerror(errno));
    }
  }
  std::unique_ptr<MailServer> server(new MailServer(config));
  const std::string db = databasePath(config);
  auto store = store::sqlite::openSqliteMailStore(db);
  if (!store) return fail(store.error());
  server->store_ = std::shared_ptr<store::MailStore>(std::move(*store));
  auto directory = directory::BuiltinDirectory::open(db);
  if (!directory) return fail(directory.error());
  server->directory_ = std::shared_ptr<directory::Directory>(std::move(*directory));
  server->delivery_ =
      std::make_shared<LocalDelivery>(server->store_, server->directory_, server->config_.local_domains);
  auto queue = store::sqlite::SqliteOutboundQueue::open(db);
  if (!queue) return fail(queue.error());
  server->queue_ = std::move(*queue);
  server->local_recipients_ = std::make_unique<smtp::LocalDeliveryRecipients>(server->delivery_);
  if (server->config_.relay.helo_name.empty()) {
    server->config_.relay.helo_name = effectiveHostname(server->config_);
  }
  return server;
}

MailServer::~MailServer() {
  if (blocking_) blocking_->join();
}

Status MailServer::start(net::asio::io_context& io) {
  auto lmtp = lmtp::LmtpServer::create(io.get_executor(), config_.lmtp, effectiveHostname(config_), delivery_);
  if (!lmtp) return fail(lmtp.error());
  lmtp_ = std::move(*lmtp);
  lmtp_->start();

  // SMTP out. The worker also runs without a relay host: it still delivers
  // queued mail for local recipients (`rampart admin mail send`).
  std::shared_ptr<net::asio::ssl::context> tls;
  if (!config_.relay.host.empty() && config_.relay.tls != smtp::TlsPolicy::none) {
    auto ctx = smtp::makeRelayTlsContext(config_.relay);
    if (!ctx) return fail(ctx.error());
    tls = std::move(*ctx);
  }
  relay_ = smtp::Relay::create(io.get_executor(), *queue_, config_.relay, systemClock(),
                               systemRandom(), local_recipients_.get(), std::move(tls));
  outbound_ = std::make_unique<smtp::Outbound>(*queue_, *local_recipients_, systemClock(),
                                               !config_.relay.host.empty(),
                                               [relay = relay_] { relay->wake(); });
  // RFC 3834 Out of Office replies after local deliveries (oof_replier.h).
  delivery_->onDelivered(AutoReplier::hook(std::make_shared<AutoReplier>(
      store_, directory_, config_.local_domains, sendThroughOutbound(io.get_executor(), *outbound_))));
  relay_->start();
  if (!config_.admin.listen.empty()) {
    auto http = startAdminHttp(io);
    if (!http) return fail(http.error());
  }
  if (!config_.eas.listen.empty() || !config_.eas.gateway_listen.empty()) {
    auto eas = startEas(io);
    if (!eas) return fail(eas.error());
  }
  if (config_.relay.host.empty()) {
    log::get("smtp")->info("no [relay] host: mail for non-local recipients is refused");
  } else {
    log::get("smtp")->info("relaying to {}:{}", config_.relay.host, config_.relay.port);
  }
  return {};
}

Status MailServer::startAdminHttp(net::asio::io_context& io) {
  auto endpoint = net::parseEndpoint(config_.admin.listen);
  if (!endpoint) return fail(endpoint.error());
  auto router = std::make_shared<http::Router>();
  router->add("/healthz", [this](http::Request& req) -> net::Task<http::Response> {
    // Healthy when the store answers a read; a failing disk shows here first.
    auto probe = store_->findMailbox("");
    if (!probe) co_return http::textResponse(req, http::Status::service_unavailable, "store: " + probe.error().message() + "\n");
    co_return http::textResponse(req, http::Status::ok, "ok\n");
  });
  router->add("/metrics", [this](http::Request& req) -> net::Task<http::Response> {
    std::string body =
        "# HELP rampart_lmtp_sessions LMTP sessions open now.\n"
        "# TYPE rampart_lmtp_sessions gauge\n"
        "rampart_lmtp_sessions " + std::to_string(liveSessions()) + "\n";
    if (auto entries = queue_->list()) {
      body += "# HELP rampart_outbound_queue_messages Messages waiting in the outbound queue.\n"
              "# TYPE rampart_outbound_queue_messages gauge\n"
              "rampart_outbound_queue_messages " + std::to_string(entries->size()) + "\n";
    }
    co_return http::textResponse(req, http::Status::ok, std::move(body), "text/plain; version=0.0.4");
  });
  http::ServerOptions options;
  options.max_connections = 64;
  options.header_timeout = std::chrono::seconds(10);
  auto server = http::Server::bind(io.get_executor(), *endpoint, options,
                                   [router](http::Request& req) { return (*router)(req); });
  if (!server) return fail(server.error());
  admin_http_ = std::move(*server);
  admin_http_->start();
  log::get("server")->info("admin http listening on {}:{}", admin_http_->localEndpoint().address().to_string(),
                           admin_http_->localEndpoint().port());
  return {};
}

Status MailServer::startEas(net::asio::io_context& io) {
  tls::ServerOptions tls_options;
  tls_options.cert_file = config_.eas.cert_file;
  tls_options.key_file = config_.eas.key_file;
  auto tls = tls::ReloadableContext::create(tls_options);
  if (!tls) return fail(tls.error());
  blocking_ = std::make_unique<net::asio::thread_pool>(2);
  auto devices = store::sqlite::openSqliteDeviceStore(databasePath(config_), systemRandom());
  if (!devices) return fail(devices.error());
  eas_ = std::make_shared<eas::EasService>(directory_, store_, std::shared_ptr<store::DeviceStore>(std::move(*devices)),
                                           config_.eas, blocking_->get_executor(), outbound_.get());
  // Rights templates (MS-ASRM: Settings RightsManagementInformation, the
  // rm:RightsManagementLicense rights, SmartForward refusals).
  auto rights = store::sqlite::SqliteRightsStore::open(databasePath(config_));
  if (!rights) return fail(rights.error());
  eas_->setRightsStore(std::move(*rights));
  http::ServerOptions options;
  options.handshake_timeout = config_.eas.handshake_timeout;
  options.header_timeout = config_.eas.header_timeout;
  options.body_progress = config_.eas.body_progress;
  options.write_progress = config_.eas.write_progress;
  options.keepalive_idle = config_.eas.keepalive_idle;
  options.body_limit = config_.eas.max_request_body.bytes;
  options.max_connections = static_cast<std::size_t>(config_.eas.max_connections);
  if (!config_.eas.listen.empty()) {
    // Devices straight to the server, Basic against the directory (no gateway).
    auto endpoint = net::parseEndpoint(config_.eas.listen);
    if (!endpoint) return fail(endpoint.error());
    auto server = http::Server::bind(io.get_executor(), *endpoint, options,
                                     [eas = eas_](http::Request& req) { return eas->handle(req); }, *tls);
    if (!server) return fail(server.error());
    eas_http_ = std::move(*server);
    eas_http_->start();
    auto at = eas_http_->localEndpoint();
    log::get("eas")->info("eas listening on https://{}:{}", at.address().to_string(), at.port());
  }
  if (config_.eas.gateway_listen.empty()) return {};
  // The gateway's bridged link: mTLS (the gateway's certificate) plus a
  // signed identity assertion on every request.
  auto verifier = crypto::loadAssertionVerifier(config_.eas.delegation_key_file, "eas.delegation_key_file");
  if (!verifier) return fail(verifier.error());
  eas_->setAssertionVerifier(std::move(*verifier));
  auto gateway_endpoint = net::parseEndpoint(config_.eas.gateway_listen);
  if (!gateway_endpoint) return fail(gateway_endpoint.error());
  tls::ServerOptions bridged = tls_options;
  bridged.client_ca_file = config_.eas.gateway_ca_file;
  bridged.require_client_cert = true;
  // HTTP/2 when the gateway asks for it (ALPN): its parked Pings are streams
  // on a few connections instead of a connection each (DESIGN.md 6).
  bridged.alpn = {"h2", "http/1.1"};
  auto bridged_tls = tls::ReloadableContext::create(bridged);
  if (!bridged_tls) return fail(bridged_tls.error());
  http::ServerOptions gateway_options = options;
  // Parked Pings from every device behind the gateway share this listener.
  gateway_options.max_connections = 100'000;
  auto gateway_server = http::Server::bind(
      io.get_executor(), *gateway_endpoint, gateway_options,
      [eas = eas_](http::Request& req) { return eas->handleDelegated(req); }, *bridged_tls);
  if (!gateway_server) return fail(gateway_server.error());
  gateway_http_ = std::move(*gateway_server);
  gateway_http_->start();
  auto g = gateway_http_->localEndpoint();
  log::get("eas")->info("eas gateway link listening on https://{}:{} (mTLS + identity assertion)",
                        g.address().to_string(), g.port());
  return {};
}

net::tcp::endpoint MailServer::gatewayLinkEndpoint() const {
  return gateway_http_ ? gateway_http_->localEndpoint() : net::tcp::endpoint();
}

net::tcp::endpoint MailServer::easEndpoint() const {
  return eas_http_ ? eas_http_->localEndpoint() : net::tcp::endpoint();
}

net::tcp::endpoint MailServer::adminEndpoint() const {
  return admin_http_ ? admin_http_->localEndpoint() : net::tcp::endpoint();
}

void MailServer::stop() {
  if (admin_http_) admin_http_->stop();
  if (eas_http_) eas_http_->stop();
  if (gateway_http_) gateway_http_->stop();
  if (eas_) eas_->stop();  // parked Pings answer now, so the drain can finish
  if (lmtp_) lmtp_->stop();
  if (relay_) relay_->stop();
  if (delivery_) delivery_->onDelivered(nullptr);  // no Out of Office replies while draining
}

void MailServer::abort() {
  if (lmtp_) lmtp_->abort();
}

std::size_t MailServer::liveSessions() const { return lmtp_ ? lmtp_->liveSessions() : 0; }

net::tcp::endpoint MailServer::lmtpEndpoint() const { return lmtp_ ? lmtp_->endpoint() : net::tcp::endpoint(); }

}  // namespace rampart::server
