// libFuzzer target for codec::parseProvisioning (codec/provisioning.h): any
// bytes give a document or an error, never a crash, hang or unbounded
// allocation; and a document that parses, written again with
// writeProvisioning, parses back to the same fields (the writer's escaping
// survives the parser's normalisation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/provisioning.h"

using namespace rampart::codec;

namespace {

bool same(const ProvisioningDoc& a, const ProvisioningDoc& b) {
  if (a.organization != b.organization || a.est_url != b.est_url || a.eas_url != b.eas_url ||
      a.root_pems != b.root_pems || a.templates.size() != b.templates.size())
    return false;
  for (std::size_t i = 0; i < a.templates.size(); ++i) {
    const auto& x = a.templates[i];
    const auto& y = b.templates[i];
    if (x.name != y.name || x.kind != y.kind || x.key_type != y.key_type ||
        x.description != y.description)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto doc = parseProvisioning(in);
  if (!doc) return 0;
  if (doc->templates.size() > kMaxProvisioningTemplates ||
      doc->root_pems.size() > kMaxProvisioningRoots)
    std::abort();
  std::string again = writeProvisioning(*doc);
  // Escaping may grow a document near the size bound past it.
  if (again.size() > kMaxProvisioningBytes) return 0;
  auto back = parseProvisioning(again);
  if (!back || !same(*doc, *back)) std::abort();
  return 0;
}
