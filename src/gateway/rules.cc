#include "gateway/rules.h"

#include "core/ascii.h"

namespace rampart::gateway {

namespace {

// 0: no match, 1: "*", 2: wildcard label, 3: exact.
int hostScore(std::string_view pattern, std::string_view name) {
  if (pattern == "*") return 1;
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);  // ".example.org"
    if (name.size() <= suffix.size()) return 0;
    std::string_view label = name.substr(0, name.size() - suffix.size());
    if (label.find('.') != std::string_view::npos) return 0;
    return equalsIgnoreCase(name.substr(label.size()), suffix) ? 2 : 0;
  }
  return equalsIgnoreCase(pattern, name) ? 3 : 0;
}

}  // namespace

std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? std::string_view{} : host.substr(1, close - 1);
  }
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool hostMatches(std::string_view pattern, std::string_view name) {
  return hostScore(pattern, hostWithoutPort(name)) > 0;
}

bool pathMatches(std::string_view prefix, std::string_view target) {
  if (prefix == "/") return !target.empty() && target.front() == '/';
  if (target.size() < prefix.size() || !equalsIgnoreCase(target.substr(0, prefix.size()), prefix)) {
    return false;
  }
  if (target.size() == prefix.size() || prefix.back() == '/') return true;
  char next = target[prefix.size()];
  return next == '/' || next == '?';
}

RuleSet::RuleSet(std::vector<RuleConfig> rules) : rules_(std::move(rules)) {}

const RuleConfig* RuleSet::match(std::string_view host, std::string_view target) const {
  std::string_view name = hostWithoutPort(host);
  const RuleConfig* best = nullptr;
  int best_host = 0;
  std::size_t best_path = 0;
  for (const RuleConfig& rule : rules_) {
    int score = hostScore(rule.host, name);
    if (score == 0 || !pathMatches(rule.path, target)) continue;
    if (score > best_host || (score == best_host && rule.path.size() > best_path)) {
      best = &rule;
      best_host = score;
      best_path = rule.path.size();
    }
  }
  return best;
}

}  // namespace rampart::gateway
