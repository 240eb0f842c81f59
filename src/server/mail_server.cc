#include "server/mail_server.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "directory/builtin_directory.h"
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
  return server;
}

MailServer::~MailServer() = default;

Status MailServer::start(net::asio::io_context& io) {
  auto lmtp = lmtp::LmtpServer::create(io.get_executor(), config_.lmtp, effectiveHostname(config_), delivery_);
  if (!lmtp) return fail(lmtp.error());
  lmtp_ = std::move(*lmtp);
  lmtp_->start();
  return {};
}

void MailServer::stop() {
  if (lmtp_) lmtp_->stop();
}

void MailServer::abort() {
  if (lmtp_) lmtp_->abort();
}

std::size_t MailServer::liveSessions() const { return lmtp_ ? lmtp_->liveSessions() : 0; }

net::tcp::endpoint MailServer::lmtpEndpoint() const { return lmtp_ ? lmtp_->endpoint() : net::tcp::endpoint(); }

}  // namespace rampart::server
