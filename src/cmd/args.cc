#include <algorithm>
#include <filesystem>

#include "cmd/commands.h"

namespace rampart::cmd {

std::string self() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("rampart") : path.string();
}

std::string option(const Args& args, const std::string& name, const std::string& fallback) {
  const std::string dashed = "--" + name;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == dashed && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(dashed + "=", 0) == 0) return args[i].substr(dashed.size() + 1);
  }
  return fallback;
}

bool flag(const Args& args, const std::string& name) {
  return std::find(args.begin(), args.end(), "--" + name) != args.end();
}

std::vector<std::string> positionals(const Args& args, const std::vector<std::string>& valued) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0) {
      bool takes_value = a.find('=') == std::string::npos &&
                         std::find(valued.begin(), valued.end(), a.substr(2)) != valued.end();
      if (takes_value) ++i;
      continue;
    }
    out.push_back(a);
  }
  return out;
}

}  // namespace rampart::cmd
