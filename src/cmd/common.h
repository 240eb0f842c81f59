// What several subcommands share: where the data lives, who acts.
#pragma once

#include <string>

#include "cmd/commands.h"
#include "core/error.h"

namespace rampart::cmd {

struct DataPaths {
  std::string data_dir;
  std::string database;  // data_dir/rampart.db: mail store, directory, queue
};

// From --config FILE (the server's data_dir) or --data-dir DIR; creates the
// directory (mode 0700) when missing.
Result<DataPaths> resolvePaths(const Args& args);

// Who an admin command acts as, for the records it writes (who decided,
// who revoked): "admin:<SUDO_USER or USER>", or "admin".
std::string administrator();

}  // namespace rampart::cmd
