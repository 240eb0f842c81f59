#include "cmd/common.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "server/config.h"

namespace rampart::cmd {

Result<DataPaths> resolvePaths(const Args& args) {
  DataPaths paths;
  std::string config = option(args, "config");
  if (!config.empty()) {
    auto cfg = server::loadServerConfig(config);
    if (!cfg) return fail(cfg.error());
    paths.data_dir = cfg->data_dir;
  } else {
    paths.data_dir = option(args, "data-dir");
  }
  if (paths.data_dir.empty()) return fail(Errc::invalid_argument, "give --config FILE or --data-dir DIR");
  std::error_code ec;
  std::filesystem::create_directories(paths.data_dir, ec);
  if (ec) return fail(Errc::io_error, "create " + paths.data_dir + ": " + ec.message());
  ::chmod(paths.data_dir.c_str(), 0700);
  paths.database = paths.data_dir + "/rampart.db";
  return paths;
}

std::string administrator() {
  const char* who = std::getenv("SUDO_USER");
  if (who == nullptr || *who == '\0') who = std::getenv("USER");
  return who != nullptr && *who != '\0' ? std::string("admin:") + who : std::string("admin");
}

}  // namespace rampart::cmd
