// libFuzzer target for the rights-management formats (crypto/rights/license.h,
// docs/rights.md): every input goes through both license-text parsers, the
// signed publishing license reader and the protected-message splitter. Any
// bytes give a value or an error, never a crash or leak; a text that parses
// is written again and parses back to the same license.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/rights/license.h"

using namespace rampart::crypto::rights;

namespace {

// The content key of the seed protected.eml (a throwaway test key), so the
// seed and its mutants reach the decryption and its tag check.
const std::string& seedKey() {
  static const std::string key = [] {
    const char* hex = "63861da96a8b8ad0741c106d057a70a4d3fc51cc044777c4adb22c1bd92854f6";
    std::string k;
    for (int i = 0; i < 64; i += 2)
      k += static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16));
    return k;
  }();
  return key;
}
constexpr std::string_view kSeedLicenseId = "e094a9e87e157b6fc75f15d1c2741279";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto pl = parsePublishingLicenseText(in)) {
    std::string text = publishingLicenseText(*pl);
    auto again = parsePublishingLicenseText(text);
    if (!again || publishingLicenseText(*again) != text) std::abort();
    if (pl->recipients.size() > 64 || pl->id.size() != 32) std::abort();
  }
  if (auto ul = parseUseLicenseText(in)) {
    std::string text = useLicenseText(*ul);
    auto again = parseUseLicenseText(text);
    if (!again || useLicenseText(*again) != text) std::abort();
  }
  if (auto signed_pl = readPublishingLicense(in)) {
    if (!signed_pl->signer) std::abort();
  }
  if (auto parts = splitProtectedMessage(in)) {
    if (parts->signed_license.empty() || parts->content.empty()) std::abort();
    (void)readPublishingLicense(parts->signed_license);
    (void)unprotectMessage(*parts, seedKey(), kSeedLicenseId);
  }
  return 0;
}
