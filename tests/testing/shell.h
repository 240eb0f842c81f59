// Running real peers' command-line tools from tests (openssl, ocsptool, ...)
// and reading or writing the files they use, in a test's temporary directory.
#pragma once

#include <string>

#include "testing/temp_dir.h"

namespace rampart::testing {

// Whether the openssl CLI runs here (tests GTEST_SKIP() without it).
bool haveOpenssl();
// Runs `cmd` with /bin/sh in `dir`, its output discarded; true when it exits 0.
bool sh(const TempDir& dir, const std::string& cmd);
// A whole file as bytes ("" when it cannot be read), and the reverse.
std::string slurp(const std::string& path);
void spit(const std::string& path, const std::string& data);

}  // namespace rampart::testing
