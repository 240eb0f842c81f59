// libFuzzer target for crypto::cms::openMessage (smime.h): any bytes as a
// received message, opened with a fixed identity and trust anchor, give an
// Opened or an Error, never a crash, leak or hang; what opens has no S/MIME
// layer left on top. The seeds in fuzz/corpus/cms_open/ were made with
// `openssl cms` for this identity (signed clear and opaque, enveloped with
// ECDH, authEnveloped with AES-GCM, signed then enveloped).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/cms/smime.h"

using namespace rampart::crypto;

namespace {

// A throwaway P-256 key made for this fuzz target only (it protects nothing):
// self-signed, emailProtection, SAN fuzz@example.com, valid until 2126.
constexpr std::string_view kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjCuwgAMX+gf+G6D+
BeIXSEsPbQ9RX+XKLmQfWLIqRGmhRANCAAQzNB8Vv5PEye5FYzRfLTXZUnpGU07A
ndPMr2YmWbBvyAGOqCMJdbyzYhzlqVKFDyXsitwhDpjKQ/4d/YZkzTsi
-----END PRIVATE KEY-----
)";
constexpr std::string_view kCert = R"(-----BEGIN CERTIFICATE-----
MIIBljCCATygAwIBAgIUN0c1xhaZFzx5xWX+p/DhgPkQP2kwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEZnV6ejAgFw0yNjExMjUwNjMwMTVaGA8yMTI2MTEwMTA2MzAx
NVowDzENMAsGA1UEAwwEZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDM0
HxW/k8TJ7kVjNF8tNdlSekZTTsCd08yvZiZZsG/IAY6oIwl1vLNiHOWpUoUPJeyK
3CEOmMpD/h39hmTNOyKjdDByMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
AgKMMBMGA1UdJQQMMAoGCCsGAQUFBwMEMBsGA1UdEQQUMBKBEGZ1enpAZXhhbXBs
ZS5jb20wHQYDVR0OBBYEFBUcq1zvNY4wpahOkzBFK4T8A4O4MAoGCCqGSM49BAMC
A0gAMEUCIQCRpUGLzdZHk5CGMzeqfnjAlE8oS9UCdepDCJNGOCIVYwIgCaJpcNKE
JC1eYW4v13iXyS5FN2dCxk2BVI+OtsPUc7o=
-----END CERTIFICATE-----
)";

struct Fixture {
  cms::Identity me;
  x509::VerifyOptions trust;
  Fixture() {
    auto id = cms::identityFromPem(kKey, kCert);
    auto anchor = x509::parseCertificate(kCert);
    if (!id || !anchor) std::abort();
    me = std::move(*id);
    trust.anchors.push_back(std::move(*anchor));
    trust.revocation = x509::RevocationMode::none;
    trust.at = 1'900'000'000;  // fixed, so a run does not depend on the day
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture* fixture = new Fixture();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)cms::classify(in);
  if (auto opened = cms::openMessage(in, &fixture->me, fixture->trust)) {
    if (cms::classify(opened->message) != cms::Layer::none) std::abort();
    if (opened->encrypted && opened->cipher.empty()) std::abort();
  }
  // The capabilities text: what parses, written and parsed again, is the same.
  if (auto caps = cms::parseCapabilitiesText(in)) {
    auto again = cms::parseCapabilitiesText(cms::capabilitiesText(*caps));
    if (!again || cms::capabilitiesText(*again) != cms::capabilitiesText(*caps)) std::abort();
  }
  return 0;
}
