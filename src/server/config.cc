#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "net/listener.h"

namespace rampart::server {

namespace {

bool isPositive(std::chrono::milliseconds d) { return d > std::chrono::milliseconds(0); }

Result<ServerConfig> readServerConfig(Result<ConfigFile> file) {
  if (!file) return fail(file.error());
  ServerConfig cfg;
  ConfigSection root = file->root();
  root.read("data_dir", cfg.data_dir);
  root.read("hostname", cfg.hostname);
  root.read("local_domains", cfg.local_domains);
  root.read("log_level", cfg.log_level);
  root.read("threads", cfg.threads, 0, 256);
  root.read("shutdown_grace", cfg.shutdown_grace);

  if (cfg.data_dir.empty()) root.error("data_dir", "must not be empty");
  for (std::string& d : cfg.local_domains) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (d.empty() || d.find('@') != std::string::npos) {
      root.error("local_domains", "'" + d + "' is not a domain name");
    }
  }
  static constexpr std::array<std::string_view, 7> kLevels{"trace", "debug", "info", "warn",
                                                           "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), cfg.log_level) == kLevels.end()) {
    root.error("log_level", "must be one of trace, debug, info, warn, error, critical, off");
  }

  ConfigSection lmtp = root.section("lmtp");
  readLmtpConfig(lmtp, cfg.lmtp);

  ConfigSection admin = root.section("admin");
  admin.read("listen", cfg.admin.listen);

  ConfigSection eas_section = root.section("eas");
  eas::readEasConfig(eas_section, cfg.eas);

  ConfigSection relay = root.section("relay");
  smtp::readRelayConfig(relay, cfg.relay);

  if (auto st = file->finish(); !st) return fail(st.error());
  return cfg;
}

}  // namespace

void readLmtpConfig(ConfigSection& section, LmtpConfig& out) {
  section.read("listen", out.listen);
  section.read("max_message_size", out.max_message_size);
  section.read("max_recipients", out.max_recipients, 1, 100000);
  section.read("max_connections", out.max_connections, 1, 1000000);
  section.read("command_timeout", out.command_timeout);
  section.read("data_timeout", out.data_timeout);
  section.read("data_total_timeout", out.data_total_timeout);
  if (!net::parseEndpoint(out.listen)) section.error("listen", "expected host:port, e.g. 127.0.0.1:2424");
  if (out.max_message_size.bytes == 0) section.error("max_message_size", "must be greater than zero");
  if (!isPositive(out.command_timeout)) section.error("command_timeout", "must be greater than zero");
  if (!isPositive(out.data_timeout)) section.error("data_timeout", "must be greater than zero");
  if (!isPositive(out.data_total_timeout)) section.error("data_total_timeout", "must be greater than zero");
}

Result<ServerConfig> loadServerConfig(const std::string& path) {
  return readServerConfig(ConfigFile::load(path));
}

Result<ServerConfig> parseServerConfig(std::string_view text, const std::string& source_name) {
  return readServerConfig(ConfigFile::parse(text, source_name));
}

std::string effectiveHostname(const ServerConfig& config) {
  if (!config.hostname.empty()) return config.hostname;
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) == 0 && buf[0] != '\0') return std::string(buf.data());
  return "localhost";
}

}  // namespace rampart::server
