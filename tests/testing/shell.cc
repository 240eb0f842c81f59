#include "testing/shell.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rampart::testing {

bool haveOpenssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

bool sh(const TempDir& dir, const std::string& cmd) {
  std::string full = "cd '" + dir.path().string() + "' && " + cmd + " >/dev/null 2>&1";
  return std::system(full.c_str()) == 0;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

}  // namespace rampart::testing
