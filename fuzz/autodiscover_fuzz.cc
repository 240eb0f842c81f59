// libFuzzer target for the Autodiscover request reader (server/eas/autodiscover.h):
// any bytes give a parsed request or an error, and autodiscoverResponse()
// always answers with a document (settings or ErrorCode 600/601). A request
// that parses yields a response that names the settings' server.
// Seed corpus: fuzz/corpus/autodiscover/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/eas/autodiscover.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rampart::server::eas;
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  AutodiscoverSettings s;
  s.server_url = "https://mail.example.org/Microsoft-Server-ActiveSync";
  s.email = "alice@example.org";
  s.display_name = "Alice";
  auto parsed = parseAutodiscoverRequest(xml);
  auto out = autodiscoverResponse(xml, s);
  if (!out) std::abort();
  bool settings = out->find("<Type>MobileSync</Type>") != std::string::npos;
  bool error = out->find("<ErrorCode>60") != std::string::npos;
  if (settings == error) std::abort();
  if (settings && (!parsed || parsed->acceptable_response_schema != kMobileSyncResponseSchema)) {
    std::abort();
  }
  return 0;
}
