// Fuzzes the gateway's strict HTTP/1.1 request parser (http/request_parser.h)
// as a connection drives it: pipelined requests, fed whole and in random
// splits, must give the same events (no dependence on how bytes arrive);
// consumed never exceeds what was offered; every accepted request obeys the
// limits; and serializeRequest() of an accepted request parses back to the
// same request (and serialises to the same bytes again).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"

namespace {

using rampart::equalsIgnoreCase;
using rampart::http::HeaderField;
using rampart::http::isOriginForm;
using rampart::http::ParsedRequest;
using rampart::http::ParserLimits;
using rampart::http::ParseStatus;
using rampart::http::RequestParser;
using rampart::http::serializeRequest;

[[noreturn]] void bug() { __builtin_trap(); }
void check(bool ok) {
  if (!ok) bug();
}

ParserLimits smallLimits(std::uint8_t flags) {
  ParserLimits l;
  l.max_request_line = 200;
  l.max_header_line = 200;
  l.max_header_bytes = 1024;
  l.max_headers = 12;
  l.max_body = 4096;
  l.max_chunk_ext = 24;
  l.allow_absolute_form = flags & 1;
  return l;
}

void checkLimits(const ParsedRequest& r, const ParserLimits& l) {
  check(r.method.size() + r.target.size() + 10 <= l.max_request_line);
  check(r.headers.size() <= l.max_headers);
  for (const auto& h : r.headers) check(h.name.size() + 1 + h.value.size() <= l.max_header_line);
  check(r.body.size() <= l.max_body);
  check(r.minor_version == 0 || r.minor_version == 1);
  if (r.content_length) check(!r.chunked_in && *r.content_length == r.body.size());
}

bool dropped(const ParsedRequest& r, std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "content-length", "transfer-encoding", "connection",
      "keep-alive",     "proxy-connection",  "te",
      "trailer",        "upgrade",           "proxy-authorization",
      "expect"};
  for (auto d : kDropped)
    if (equalsIgnoreCase(name, d)) return true;
  if (equalsIgnoreCase(name, "host")) return false;
  return std::any_of(r.connection_options.begin(), r.connection_options.end(),
                     [&](const std::string& o) { return equalsIgnoreCase(name, o); });
}

// serializeRequest() output must parse back to the request it came from.
void roundTrip(const ParsedRequest& r) {
  std::string target = isOriginForm(r.target) || r.target == "*" ? r.target : "/";
  std::vector<HeaderField> extra;
  if (r.count("host") == 0) extra.push_back({"Host", "backend.example"});
  auto wire = serializeRequest(r, target, extra);
  check(wire.has_value());

  ParserLimits big;
  big.max_request_line = 1 << 16;
  big.max_header_line = 1 << 16;
  big.max_header_bytes = 1 << 20;
  big.max_headers = 1000;
  big.max_body = 1 << 20;
  RequestParser again(big);
  auto first = again.feed(*wire);
  check(first.has_value());
  std::size_t used = first->first;
  if (first->second == ParseStatus::headers_done) {
    auto rest = again.feed(std::string_view(*wire).substr(used));
    check(rest.has_value() && rest->second == ParseStatus::done);
    used += rest->first;
  }
  check(used == wire->size());
  const ParsedRequest& b = again.request();
  check(b.method == r.method && b.target == target && b.minor_version == 1 && b.body == r.body);
  check(!b.chunked_in && !b.expect_continue && b.connection_options.empty());
  check(b.content_length.has_value() == (!r.body.empty() || r.content_length || r.chunked_in));
  std::vector<HeaderField> want;
  for (const auto& h : r.headers)
    if (!dropped(r, h.name)) want.push_back(h);
  want.insert(want.end(), extra.begin(), extra.end());
  std::size_t n = b.headers.size() - (b.content_length ? 1 : 0);
  check(n == want.size());
  for (std::size_t i = 0; i < n; ++i)
    check(b.headers[i].name == want[i].name && b.headers[i].value == want[i].value);
  auto wire2 = serializeRequest(b, target, {});
  check(wire2.has_value() && *wire2 == *wire);
}

std::string summary(const ParsedRequest& r) {
  std::string s = r.method + ' ' + r.target + ' ' + std::to_string(r.minor_version) + '|';
  for (const auto& h : r.headers) s += h.name + ':' + h.value + '|';
  s += std::to_string(r.keep_alive) + std::to_string(r.chunked_in) +
       std::to_string(r.expect_continue) + '|';
  s += r.content_length ? std::to_string(*r.content_length) : "-";
  return s + '|' + r.body;
}

// Feeds `input` in pieces whose sizes come from `sizes` (cycled); returns one
// event per request or error.
std::vector<std::string> run(std::string_view input, const ParserLimits& limits,
                             std::string_view sizes, bool round_trip) {
  std::vector<std::string> events;
  RequestParser parser(limits);
  std::string buffer;
  std::size_t next = 0;
  for (std::size_t i = 0;; ++i) {
    while (true) {
      std::size_t before = buffer.size();
      auto r = parser.feed(buffer);
      if (!r) {
        int status = parser.errorStatus();
        check(status == 400 || status == 413 || status == 414 || status == 417 || status == 431 ||
              status == 501 || status == 505);
        events.push_back("E" + std::to_string(status));
        return events;
      }
      check(r->first <= before);
      buffer.erase(0, r->first);
      if (r->second == ParseStatus::need_more) {
        check(buffer.empty());
        break;
      }
      if (r->second == ParseStatus::headers_done) {
        check(parser.request().chunked_in || parser.request().content_length.value_or(0) > 0);
        continue;
      }
      ParsedRequest req = parser.release();
      checkLimits(req, limits);
      if (round_trip) roundTrip(req);
      events.push_back(summary(req));
      parser.reset();
    }
    if (next >= input.size()) return events;
    std::size_t n =
        sizes.empty() ? input.size() : 1 + static_cast<std::uint8_t>(sizes[i % sizes.size()]) % 32;
    n = std::min(n, input.size() - next);
    buffer.append(input.substr(next, n));
    next += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::uint8_t flags = data[0];
  std::size_t split_bytes = 1 + data[1] % 8;
  if (size < 2 + split_bytes) return 0;
  std::string_view sizes(reinterpret_cast<const char*>(data) + 2, split_bytes);
  std::string_view input(reinterpret_cast<const char*>(data) + 2 + split_bytes,
                         size - 2 - split_bytes);
  ParserLimits limits = (flags & 2) ? ParserLimits{} : smallLimits(flags);
  limits.allow_absolute_form = flags & 1;
  auto whole = run(input, limits, {}, true);
  auto pieces = run(input, limits, sizes, false);
  if (whole != pieces) bug();
  return 0;
}
