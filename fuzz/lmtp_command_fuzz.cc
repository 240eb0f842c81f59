// Fuzzes the LMTP command parser and DATA reader as the session drives them:
// commands until DATA, then message data until the terminator, then commands
// again. The input is fed twice, whole and in chunks of a size taken from the
// first byte, and both runs must give the same events (the parser and reader
// keep no hidden dependence on how bytes arrive). Bounded memory is checked too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/lmtp/command_parser.h"
#include "server/lmtp/data_reader.h"

namespace {

using rampart::server::lmtp::CommandParser;
using rampart::server::lmtp::DataReader;
using rampart::server::lmtp::ParseResult;
using rampart::server::lmtp::Verb;

constexpr std::uint64_t kMaxMessage = 4096;

std::vector<std::string> run(std::string_view input, std::size_t chunk) {
  std::vector<std::string> events;
  CommandParser parser;
  std::string buffer;
  std::unique_ptr<DataReader> data;
  auto drain = [&] {
    while (true) {
      if (data) {
        auto step = data->feed(buffer);
        buffer.erase(0, step.consumed);
        if (!step.done) return;
        events.push_back("M" + std::to_string(data->size()) + (data->overflowed() ? "!" : "") + data->message());
        if (data->message().size() > kMaxMessage) __builtin_trap();
        data.reset();
        continue;
      }
      auto r = parser.parse(buffer);
      if (r.consumed > buffer.size()) __builtin_trap();
      buffer.erase(0, r.consumed);
      // An overlong line is never buffered beyond the line limit.
      if (r.kind == ParseResult::Kind::need_more) {
        if (buffer.size() >= 512) __builtin_trap();
        return;
      }
      if (r.kind == ParseResult::Kind::error) {
        events.push_back("E" + r.error.wire());
        continue;
      }
      const auto& c = r.command;
      events.push_back("C" + std::to_string(static_cast<int>(c.verb)) + "|" + c.domain + "|" + c.path + "|" +
                       (c.size ? std::to_string(*c.size) : "-") + "|" +
                       std::to_string(static_cast<int>(c.body)) + "|" + c.argument);
      if (c.verb == Verb::data) data = std::make_unique<DataReader>(kMaxMessage);
    }
  };
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    buffer.append(input.substr(i, chunk));
    drain();
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = run(input, input.size() + 1);
  auto pieces = run(input, chunk);
  if (whole != pieces) __builtin_trap();
  return 0;
}
