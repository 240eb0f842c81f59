// libFuzzer target for crypto::AssertionVerifier::verify() (identity_assertion.h):
// any bytes as a header value give an identity or an error, never a crash or
// hang; and an identity built from the fuzz input, signed, must verify to
// itself exactly once (a second verify is a replay).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/identity_assertion.h"

namespace {

using namespace rampart::crypto;

constexpr std::int64_t kNow = 1'790'000'000'000;

AssertionKey fixedKey() {
  AssertionKey key;
  key.secret.fill(0x5a);
  key.id = assertionKeyId(key.secret);
  return key;
}

// Takes a length byte then that many bytes (bounded by what is left).
std::string take(std::string_view& in) {
  if (in.empty()) return {};
  std::size_t n = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  n = std::min(n, in.size());
  std::string out(in.substr(0, n));
  in.remove_prefix(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static AssertionSigner signer(fixedKey(), std::chrono::seconds(60));
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RequestBinding request{"POST", "mail.example.com", "/Microsoft-Server-ActiveSync",
                         RequestBinding::sha256Hex("")};

  // 1. Arbitrary bytes as the header value; also the same bytes behind "v1."
  // so the payload parser is reached more often. A fresh verifier each run
  // keeps runs independent.
  {
    AssertionVerifier verifier({fixedKey()}, 16);
    (void)verifier.verify(in, request, kNow);
    (void)verifier.verify("v1." + std::string(in), request, kNow);
  }

  // 2. Round trip of a fuzzed identity and request.
  std::string_view rest = in;
  Identity identity;
  identity.user = take(rest);
  identity.device_id = take(rest);
  identity.method = take(rest);
  identity.strength = rest.empty() ? 1 : 1 + static_cast<unsigned char>(rest[0]) % 2;
  if (!rest.empty()) rest.remove_prefix(1);
  request.target = take(rest);
  request.body_sha256 = RequestBinding::sha256Hex(rest);
  std::string header = signer.sign(identity, request, kNow);
  if (header.empty()) std::abort();
  AssertionVerifier verifier({fixedKey()}, 16);
  auto got = verifier.verify(header, request, kNow + 1);
  if (!got || !(*got == identity)) std::abort();
  if (verifier.verify(header, request, kNow + 1)) std::abort();  // replay
  return 0;
}
