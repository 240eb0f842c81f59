#include "crypto/identity_assertion.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace rampart::crypto {
namespace {

constexpr std::string_view kVersionPrefix = "v1.";
constexpr std::size_t kFieldCount = 9;
constexpr std::size_t kNonceBytes = 16;
constexpr std::size_t kMacBytes = 32;

const EVP_MD* sha256() {
  // Fetched once: the implicit fetch behind EVP_sha256() costs on every call.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

std::string toHex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isLowerHex(std::string_view s, std::size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// RFC 4648 section 5 alphabet, no padding.
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
    out += kB64Url[v & 63];
  }
  if (in.size() - i == 1) {
    std::uint32_t v = byte(i) << 16;
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kB64Url[(v >> 18) & 63];
    out += kB64Url[(v >> 12) & 63];
    out += kB64Url[(v >> 6) & 63];
  }
  return out;
}

int b64Value(char c, bool url, bool standard) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (url && c == '-') return 62;
  if (url && c == '_') return 63;
  if (standard && c == '+') return 62;
  if (standard && c == '/') return 63;
  return -1;
}

// Strict decoder: no padding, no whitespace, zero unused bits (so each byte
// string has exactly one accepted encoding).
std::optional<std::string> base64Decode(std::string_view in, bool url, bool standard) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64Value(c, url, standard);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

void appendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

std::string sha256Raw(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (sha256() == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, &n, sha256(), nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(digest), n);
}

std::string bindingHex(const RequestBinding& r) {
  std::string buf;
  buf.reserve(r.method.size() + r.authority.size() + r.target.size() + r.body_sha256.size() + 24);
  appendField(buf, r.method);
  appendField(buf, r.authority);
  appendField(buf, r.target);
  appendField(buf, r.body_sha256);
  std::string raw = sha256Raw(buf);
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

// Splits the payload into exactly kFieldCount length-prefixed fields.
std::optional<std::array<std::string_view, kFieldCount>> splitFields(std::string_view p) {
  std::array<std::string_view, kFieldCount> fields;
  for (auto& field : fields) {
    std::size_t colon = p.find(':');
    // At most 3 digits: every field is bounded by kMaxAssertionField (512).
    if (colon == std::string_view::npos || colon == 0 || colon > 3) return std::nullopt;
    std::string_view digits = p.substr(0, colon);
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    std::size_t len = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
    if (len > kMaxAssertionField) return std::nullopt;
    p.remove_prefix(colon + 1);
    if (p.size() < len + 1 || p[len] != ';') return std::nullopt;
    field = p.substr(0, len);
    p.remove_prefix(len + 1);
  }
  if (!p.empty()) return std::nullopt;
  return fields;
}

// A canonical decimal integer: optional '-', no leading zeros, no '+'.
std::optional<std::int64_t> parseInt(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::string_view digits = s[0] == '-' ? s.substr(1) : s;
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  if (s[0] == '-' && digits == "0") return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// HMAC-SHA256 (RFC 2104) with the keyed inner and outer hash states computed
// once, as RFC 2104 section 4 suggests: each MAC then costs two state copies
// and the hashing of the message, about half of EVP_MAC with a duplicated
// context. The result is checked against an independent HMAC in the tests.
class KeyedMac {
 public:
  explicit KeyedMac(const std::array<unsigned char, 32>& secret) {
    constexpr std::size_t kBlock = 64;  // SHA-256 block size
    unsigned char ipad[kBlock], opad[kBlock];
    for (std::size_t i = 0; i < kBlock; ++i) {
      unsigned char k = i < secret.size() ? secret[i] : 0;
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    inner_.reset(EVP_MD_CTX_new());
    outer_.reset(EVP_MD_CTX_new());
    bool ok = inner_ && outer_ && sha256() != nullptr &&
              EVP_DigestInit_ex(inner_.get(), sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(inner_.get(), ipad, kBlock) == 1 &&
              EVP_DigestInit_ex(outer_.get(), sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(outer_.get(), opad, kBlock) == 1;
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    if (!ok) {
      inner_.reset();
      outer_.reset();
    }
  }

  // Empty on failure. Thread-safe: the keyed states are only read.
  std::string compute(std::string_view data) const {
    if (!inner_) return {};
    thread_local MdCtxPtr work(EVP_MD_CTX_new());
    if (!work) return {};
    unsigned char inner_digest[EVP_MAX_MD_SIZE], out[EVP_MAX_MD_SIZE];
    unsigned int n = 0, m = 0;
    bool ok = EVP_MD_CTX_copy_ex(work.get(), inner_.get()) == 1 &&
              EVP_DigestUpdate(work.get(), data.data(), data.size()) == 1 &&
              EVP_DigestFinal_ex(work.get(), inner_digest, &n) == 1 &&
              EVP_MD_CTX_copy_ex(work.get(), outer_.get()) == 1 &&
              EVP_DigestUpdate(work.get(), inner_digest, n) == 1 &&
              EVP_DigestFinal_ex(work.get(), out, &m) == 1 && m == kMacBytes;
    if (!ok) return {};
    return std::string(reinterpret_cast<char*>(out), m);
  }

 private:
  MdCtxPtr inner_, outer_;
};

// 128-bit nonces drawn from RAND_bytes in batches: one RAND_bytes call costs
// about as much as the whole MAC, and a nonce only needs to be unique and
// unguessable, which batching keeps.
bool randomNonce(unsigned char (&nonce)[kNonceBytes]) {
  constexpr std::size_t kBatch = 64 * kNonceBytes;
  struct Pool {
    unsigned char bytes[kBatch];
    std::size_t used = kBatch;
    ~Pool() { OPENSSL_cleanse(bytes, sizeof bytes); }
  };
  thread_local Pool pool;
  if (pool.used == kBatch) {
    if (RAND_bytes(pool.bytes, static_cast<int>(kBatch)) != 1) return false;
    pool.used = 0;
  }
  std::memcpy(nonce, pool.bytes + pool.used, kNonceBytes);
  OPENSSL_cleanse(pool.bytes + pool.used, kNonceBytes);  // each nonce is handed out once
  pool.used += kNonceBytes;
  return true;
}

}  // namespace

std::string RequestBinding::sha256Hex(std::string_view data) {
  std::string raw = sha256Raw(data);
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string assertionKeyId(const std::array<unsigned char, 32>& secret) {
  std::string raw =
      sha256Raw(std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size()).substr(0, 16);
}

Result<AssertionKey> loadAssertionKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return fail(errno == ENOENT ? Errc::not_found : Errc::io_error,
                "assertion key " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(Errc::config_error, "assertion key " + path + ": not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(Errc::permission_denied,
                "assertion key " + path + ": readable by group or others (chmod 600)");
  }
  std::string text;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      OPENSSL_cleanse(buf, sizeof buf);
      return fail(Errc::io_error, "assertion key " + path + ": read failed");
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 1024) break;  // a key file is ~65 bytes
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);

  auto cleanup = [&] { OPENSSL_cleanse(text.data(), text.size()); };
  std::string_view t = text;
  while (!t.empty() && std::strchr(" \t\r\n", t.front()) != nullptr) t.remove_prefix(1);
  while (!t.empty() && std::strchr(" \t\r\n", t.back()) != nullptr) t.remove_suffix(1);

  AssertionKey key;
  bool ok = false;
  if (t.size() == 64) {
    ok = true;
    for (std::size_t i = 0; i < 32 && ok; ++i) {
      int hi = hexValue(t[2 * i]), lo = hexValue(t[2 * i + 1]);
      if (hi < 0 || lo < 0)
        ok = false;
      else
        key.secret[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
  }
  if (!ok) {
    std::string_view b = t;
    while (!b.empty() && b.back() == '=') b.remove_suffix(1);
    auto decoded = base64Decode(b, true, true);
    if (decoded && decoded->size() == 32) {
      std::memcpy(key.secret.data(), decoded->data(), 32);
      ok = true;
    }
    if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
  }
  cleanup();
  if (!ok) {
    return fail(Errc::config_error,
                "assertion key " + path + ": expected 32 bytes as 64 hex digits or base64");
  }
  key.id = assertionKeyId(key.secret);
  return key;
}

Status writeNewAssertionKey(const std::string& path) {
  std::array<unsigned char, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return fail(Errc::internal, "RAND_bytes failed");
  }
  std::string text = toHex(secret.data(), secret.size()) + "\n";
  OPENSSL_cleanse(secret.data(), secret.size());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    OPENSSL_cleanse(text.data(), text.size());
    return fail(err == EEXIST ? Errc::already_exists : Errc::io_error,
                "assertion key " + path + ": " + std::strerror(err));
  }
  // The umask cannot widen 0600, but make the mode explicit anyway.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t off = 0;
  while (ok && off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      off += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    ::unlink(path.c_str());
    return fail(Errc::io_error, "assertion key " + path + ": write failed");
  }
  return {};
}

// ---- signer ----

struct AssertionSigner::Mac : KeyedMac {
  using KeyedMac::KeyedMac;
};

AssertionSigner::AssertionSigner(AssertionKey key, std::chrono::milliseconds ttl)
    : key_id_(std::move(key.id)), ttl_(ttl), mac_(std::make_unique<Mac>(key.secret)) {
  OPENSSL_cleanse(key.secret.data(), key.secret.size());
}
AssertionSigner::~AssertionSigner() = default;
AssertionSigner::AssertionSigner(AssertionSigner&&) noexcept = default;
AssertionSigner& AssertionSigner::operator=(AssertionSigner&&) noexcept = default;

std::string AssertionSigner::sign(const Identity& identity, const RequestBinding& request,
                                  std::int64_t now_ms) const {
  unsigned char nonce[kNonceBytes];
  if (!randomNonce(nonce)) return {};
  std::string payload;
  payload.reserve(identity.user.size() + identity.device_id.size() + identity.method.size() +
                  key_id_.size() + 160);
  appendField(payload, key_id_);
  appendField(payload, identity.user);
  appendField(payload, identity.device_id);
  appendField(payload, identity.method);
  appendField(payload, std::to_string(identity.strength));
  appendField(payload, std::to_string(now_ms));
  appendField(payload, std::to_string(now_ms + ttl_.count()));
  appendField(payload, toHex(nonce, sizeof nonce));
  appendField(payload, bindingHex(request));

  std::string out(kVersionPrefix);
  out += base64UrlEncode(payload);
  std::string mac = mac_->compute(out);
  if (mac.empty()) return {};
  out += '.';
  out += base64UrlEncode(mac);
  return out;
}

// ---- verifier ----

struct AssertionVerifier::Mac : KeyedMac {
  using KeyedMac::KeyedMac;
};

AssertionVerifier::AssertionVerifier(std::vector<AssertionKey> keys, std::size_t max_replay_entries)
    : max_replay_entries_(max_replay_entries) {
  for (auto& key : keys) {
    keys_.emplace_back(key.id, std::make_unique<Mac>(key.secret));
    OPENSSL_cleanse(key.secret.data(), key.secret.size());
  }
}
AssertionVerifier::~AssertionVerifier() = default;

Result<std::unique_ptr<AssertionVerifier>> loadAssertionVerifier(const std::string& path,
                                                                 std::string_view setting) {
  auto key = loadAssertionKey(path);
  if (!key) return fail(Errc::config_error, std::string(setting) + ": " + key.error().detail);
  std::vector<AssertionKey> keys;
  keys.push_back(std::move(*key));
  return std::make_unique<AssertionVerifier>(std::move(keys));
}

std::size_t AssertionVerifier::replayEntries() const {
  std::lock_guard lock(mutex_);
  return seen_.size();
}

Result<Identity> AssertionVerifier::verify(std::string_view header_value,
                                           const RequestBinding& request, std::int64_t now_ms) {
  // Form: v1.<payload>.<mac>
  if (header_value.size() > kMaxAssertionHeader) {
    return fail(Errc::parse_error, "identity assertion too long");
  }
  if (header_value.substr(0, kVersionPrefix.size()) != kVersionPrefix) {
    return fail(Errc::parse_error, "identity assertion: unknown version");
  }
  std::size_t dot = header_value.rfind('.');
  if (dot < kVersionPrefix.size()) return fail(Errc::parse_error, "identity assertion: no MAC");
  std::string_view signed_part = header_value.substr(0, dot);
  std::string_view payload_b64 = signed_part.substr(kVersionPrefix.size());
  std::string_view mac_b64 = header_value.substr(dot + 1);
  auto payload = base64Decode(payload_b64, true, false);
  auto mac = base64Decode(mac_b64, true, false);
  if (!payload || !mac || mac->size() != kMacBytes) {
    return fail(Errc::parse_error, "identity assertion: bad base64url");
  }
  auto fields = splitFields(*payload);
  if (!fields) return fail(Errc::parse_error, "identity assertion: bad payload");
  const auto& f = *fields;

  // Key and MAC before believing anything in the payload.
  const Mac* key = nullptr;
  for (const auto& [id, m] : keys_) {
    if (id == f[0]) key = m.get();
  }
  if (key == nullptr) return fail(Errc::unauthenticated, "identity assertion: unknown key id");
  std::string expected = key->compute(signed_part);
  if (expected.size() != kMacBytes) {
    return fail(Errc::internal, "identity assertion: HMAC failed");
  }
  if (CRYPTO_memcmp(expected.data(), mac->data(), kMacBytes) != 0) {
    return fail(Errc::unauthenticated, "identity assertion: bad MAC");
  }

  auto strength = parseInt(f[4]);
  auto issued = parseInt(f[5]);
  auto expires = parseInt(f[6]);
  if (!strength || *strength < 1 || *strength > 9 || !issued || !expires ||
      !isLowerHex(f[7], 2 * kNonceBytes) || !isLowerHex(f[8], 64)) {
    return fail(Errc::parse_error, "identity assertion: bad claim");
  }
  if (*expires <= *issued || *expires - *issued > kMaxAssertionLifetime.count()) {
    return fail(Errc::unauthenticated, "identity assertion: lifetime too long");
  }
  if (now_ms > *expires) return fail(Errc::unauthenticated, "identity assertion: expired");
  if (*issued > now_ms + kAssertionClockSkew.count()) {
    return fail(Errc::unauthenticated, "identity assertion: issued in the future");
  }
  std::string binding = bindingHex(request);
  if (binding.size() != f[8].size() ||
      CRYPTO_memcmp(binding.data(), f[8].data(), binding.size()) != 0) {
    return fail(Errc::unauthenticated, "identity assertion: request binding mismatch");
  }

  {
    std::lock_guard lock(mutex_);
    // Forget nonces whose assertions can no longer be accepted.
    auto end = by_expiry_.lower_bound(now_ms);
    for (auto it = by_expiry_.begin(); it != end; ++it) seen_.erase(it->second);
    by_expiry_.erase(by_expiry_.begin(), end);
    std::string nonce(f[7]);
    if (seen_.count(nonce) != 0) {
      return fail(Errc::unauthenticated, "identity assertion: replayed nonce");
    }
    if (seen_.size() >= max_replay_entries_) {
      return fail(Errc::unavailable, "identity assertion: replay cache full");
    }
    seen_.emplace(nonce, *expires);
    by_expiry_.emplace(*expires, std::move(nonce));
  }

  Identity identity;
  identity.user = std::string(f[1]);
  identity.device_id = std::string(f[2]);
  identity.method = std::string(f[3]);
  identity.strength = static_cast<int>(*strength);
  return identity;
}

}  // namespace rampart::crypto
