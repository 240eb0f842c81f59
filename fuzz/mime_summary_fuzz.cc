// libFuzzer target for mime::summarize(): any bytes must give a summary
// (never a crash, hang or invalid UTF-8 in the decoded fields).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <glib.h>

#include "codec/mime/summary.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  rampart::mime::SummaryLimits limits;
  limits.max_depth = 16;
  limits.max_attachments = 64;
  rampart::mime::Summary s = rampart::mime::summarize(bytes, limits);
  for (const std::string* f : {&s.subject, &s.from, &s.to, &s.preview}) {
    if (!g_utf8_validate(f->data(), static_cast<gssize>(f->size()), nullptr)) std::abort();
  }
  if (s.size != size || s.attachments.size() > limits.max_attachments) std::abort();
  return 0;
}
