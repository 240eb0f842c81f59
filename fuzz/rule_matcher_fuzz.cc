// libFuzzer target for the gateway's rule matcher (gateway/rules.h): any
// host patterns, path prefixes, Host values and targets. Whatever it picks
// must really match (host and path), no rule with a better score may be
// passed over, and nothing crashes, hangs or reads out of bounds.
//
// Input: '\n'-separated lines. Up to 8 "pattern path" lines (a space between),
// then an empty line, then the Host value, then the target.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "gateway/rules.h"

using rampart::fuzz::nextLine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<rampart::gateway::RuleConfig> rules;
  while (!in.empty() && rules.size() < 8) {
    std::string_view line = nextLine(in);
    if (line.empty()) break;
    std::size_t sp = line.find(' ');
    rampart::gateway::RuleConfig r;
    r.name = "r" + std::to_string(rules.size());
    r.host = std::string(line.substr(0, sp));
    r.path = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
    if (r.host.empty() || r.path.empty() || r.path.front() != '/') continue;  // the loader refuses these
    rules.push_back(std::move(r));
  }
  std::string_view host = nextLine(in);
  std::string_view target = in;
  rampart::gateway::RuleSet set(rules);
  const rampart::gateway::RuleConfig* picked = set.match(host, target);
  if (picked == nullptr) {
    for (const auto& r : set.rules()) {
      if (rampart::gateway::hostMatches(r.host, host) && rampart::gateway::pathMatches(r.path, target)) {
        __builtin_trap();  // a matching rule was missed
      }
    }
    return 0;
  }
  if (!rampart::gateway::hostMatches(picked->host, host) || !rampart::gateway::pathMatches(picked->path, target)) {
    __builtin_trap();  // picked a rule that does not match
  }
  return 0;
}
