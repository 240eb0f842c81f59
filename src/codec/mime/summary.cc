#include "codec/mime/summary.h"

namespace rampart::mime {

Summary summarize(std::string_view message, const SummaryLimits& /*limits*/) {
  Summary s;
  s.size = message.size();
  s.message_class = "IPM.Note";
  return s;
}

}  // namespace rampart::mime
