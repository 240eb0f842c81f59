// Finding the publishing rule for a request: by host, then by the longest
// path prefix. Pure and allocation-free per lookup; the fuzz target
// (fuzz/rule_matcher_fuzz.cc) feeds it arbitrary hosts and targets.
//
// Host patterns: an exact name ("mail.example.org"), a wildcard covering one
// label ("*.example.org" matches "a.example.org", not "a.b.example.org" nor
// "example.org", as for certificates, RFC 6125 6.4.3), or "*" for any host.
// Exact beats wildcard beats "*". Names compare case-insensitively, and the
// request's port and a trailing dot are ignored.
//
// Path prefixes match at segment boundaries: "/Microsoft-Server-ActiveSync"
// matches that path and "/Microsoft-Server-ActiveSync?..." or ".../x", never
// "/Microsoft-Server-ActiveSyncX". Compared case-insensitively (IIS, which EAS
// clients were written against, treats paths so; MS-ASHTTP 2.2.1.1.1), on the
// raw target: a target with percent-escapes or dot-segments in its path does
// not match a rule unless the rule's path is "/" (the gateway refuses such
// targets before matching, http/request_parser.h).
#pragma once

#include <string_view>
#include <vector>

#include "gateway/config.h"

namespace rampart::gateway {

class RuleSet {
 public:
  explicit RuleSet(std::vector<RuleConfig> rules);

  // The rule for `host` (the Host header's value, port allowed) and `target`
  // (origin form), or null when nothing is published there.
  const RuleConfig* match(std::string_view host, std::string_view target) const;
  const std::vector<RuleConfig>& rules() const { return rules_; }

 private:
  std::vector<RuleConfig> rules_;
};

// The host part of a Host header value ("Mail.Example.org:443" ->
// "Mail.Example.org", "[::1]:443" -> "::1"), without a trailing dot.
std::string_view hostWithoutPort(std::string_view host);

// Whether `name` matches the host pattern (see above).
bool hostMatches(std::string_view pattern, std::string_view name);

// Whether the path of `target` starts with `prefix` at a segment boundary.
bool pathMatches(std::string_view prefix, std::string_view target);

}  // namespace rampart::gateway
