#include "codec/eas/request_line.h"

#include <array>
#include <utility>

#include "codec/eas/versions.h"
#include "core/ascii.h"
#include "core/base64.h"

namespace rampart::eas {
namespace {

// MS-ASHTTP 2.2.1.1.1.1.3: command parameter tags of the base64 form.
enum ParamTag : std::uint8_t {
  kTagAttachmentName = 0,
  kTagCollectionId = 1,
  kTagItemId = 3,
  kTagLongId = 4,
  kTagOccurrence = 6,
  kTagOptions = 7,
  kTagUser = 8,
};
// Options bit flags (same section).
constexpr std::uint8_t kOptionSaveInSent = 0x01;
constexpr std::uint8_t kOptionAcceptMultiPart = 0x02;

bool isAlpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isAlnum(unsigned char c) { return isAlpha(c) || isDigit(c); }
bool isVchar(unsigned char c) { return c >= 0x21 && c <= 0x7e; }
bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 2.1 percent-decoding. '+' stays '+': EAS clients percent-encode
// spaces, and '+' is common in user names (alice+eas@example.org).
Result<std::string> percentDecode(std::string_view in, std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) {
      return fail(Errc::parse_error, std::string(what) + ": truncated percent escape");
    }
    int hi = hexValue(in[i + 1]);
    int lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) {
      return fail(Errc::parse_error, std::string(what) + ": bad percent escape");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// RFC 3629 section 4: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80             ? 0
                    : (c & 0xe0) == 0xc0 ? 1
                    : (c & 0xf0) == 0xe0 ? 2
                    : (c & 0xf8) == 0xf0 ? 3
                                         : 4;
    if (n == 4 || c == 0xc0 || c == 0xc1 || c > 0xf4 || n > s.size() - i - 1) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    if (n >= 2) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
          (c == 0xf4 && c1 > 0x8f)) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

Status checkText(std::string_view value, std::string_view what, std::size_t max) {
  if (value.empty()) return fail(Errc::invalid_argument, std::string(what) + ": empty");
  if (value.size() > max) {
    return fail(Errc::invalid_argument,
                std::string(what) + ": longer than " + std::to_string(max) + " bytes");
  }
  for (unsigned char c : value) {
    if (isControl(c)) {
      return fail(Errc::invalid_argument, std::string(what) + ": control character");
    }
  }
  if (!validUtf8(value)) return fail(Errc::invalid_argument, std::string(what) + ": not UTF-8");
  return {};
}

// The checks both forms share, after decoding (so a value percent-encoded in
// the plain form is judged by what it means).
Status validate(const EasRequest& r, bool require_user) {
  if (r.command.empty()) return fail(Errc::invalid_argument, "Cmd: missing");
  if (commandByName(r.command) == nullptr) {
    return fail(Errc::invalid_argument, "Cmd: unknown command '" + r.command.substr(0, 32) + "'");
  }
  // MS-ASHTTP 2.2.1.1.1.2 (device-id = 1*32(ALPHA / DIGIT)) and 2.2.1.1.1.2.3
  // ("MUST NOT contain commas or special characters").
  if (r.device_id.empty()) return fail(Errc::invalid_argument, "DeviceId: missing");
  if (r.device_id.size() > kMaxDeviceIdLength) {
    return fail(Errc::invalid_argument, "DeviceId: longer than 32 characters");
  }
  for (unsigned char c : r.device_id) {
    if (!isAlnum(c)) return fail(Errc::invalid_argument, "DeviceId: not a letter or digit");
  }
  // MS-ASHTTP 2.2.1.1.1.2 (device-type = 1*VCHAR) and 2.2.1.1.1.2.4.
  if (r.device_type.empty()) return fail(Errc::invalid_argument, "DeviceType: missing");
  if (r.device_type.size() > kMaxDeviceTypeLength) {
    return fail(Errc::invalid_argument, "DeviceType: longer than 64 characters");
  }
  for (unsigned char c : r.device_type) {
    if (!isVchar(c)) return fail(Errc::invalid_argument, "DeviceType: not printable ASCII");
  }
  if (r.user.empty()) {
    if (require_user) return fail(Errc::invalid_argument, "User: missing");
  } else if (auto s = checkText(r.user, "User", kMaxUserLength); !s) {
    return s;
  }
  const std::pair<const std::optional<std::string>*, std::string_view> params[] = {
      {&r.attachment_name, "AttachmentName"},
      {&r.collection_id, "CollectionId"},
      {&r.item_id, "ItemId"},
      {&r.long_id, "LongId"},
      {&r.occurrence, "Occurrence"},
  };
  for (const auto& [value, name] : params) {
    if (*value) {
      if (auto s = checkText(**value, name, kMaxParameterLength); !s) return s;
    }
  }
  if (r.protocol_version && !isSupportedVersion(*r.protocol_version)) {
    return fail(Errc::invalid_argument, "protocol version: unsupported");
  }
  return {};
}

// ---- plain text form, MS-ASHTTP 2.2.1.1.1.2 -------------------------------

Result<bool> parseTF(std::string_view value, std::string_view what) {
  if (value == "T") return true;
  if (value == "F") return false;
  return fail(Errc::invalid_argument, std::string(what) + ": neither T nor F");
}

Result<EasRequest> decodePlain(std::string_view query, const RequestLineLimits& limits) {
  EasRequest r;
  // Names seen, for duplicate detection (case-insensitive, like the matching).
  enum Seen : unsigned {
    kCmd = 1u << 0,
    kUser = 1u << 1,
    kDeviceId = 1u << 2,
    kDeviceType = 1u << 3,
    kAttachmentName = 1u << 4,
    kCollectionId = 1u << 5,
    kItemId = 1u << 6,
    kLongId = 1u << 7,
    kOccurrence = 1u << 8,
    kSaveInSent = 1u << 9,
    kAcceptMultiPart = 1u << 10,
    kPolicyKey = 1u << 11,
  };
  unsigned seen = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t amp = query.find('&', pos);
    std::string_view pair = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (pair.empty()) return fail(Errc::parse_error, "query: empty parameter");
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return fail(Errc::parse_error, "query: parameter without '='");
    }
    std::string_view name = pair.substr(0, eq);
    // parameter-name = 1*ALPHA
    if (name.empty()) return fail(Errc::parse_error, "query: empty parameter name");
    for (unsigned char c : name) {
      if (!isAlpha(c)) return fail(Errc::parse_error, "query: parameter name not alphabetic");
    }
    std::string shown(name.substr(0, 32));
    auto value = percentDecode(pair.substr(eq + 1), shown);
    if (!value) return tl::unexpected(value.error());
    // parameter-value = 1*VCHAR
    if (value->empty()) return fail(Errc::invalid_argument, shown + ": empty value");

    struct Field {
      std::string_view name;
      unsigned bit;
    };
    static constexpr Field kFields[] = {
        {"Cmd", kCmd},
        {"User", kUser},
        {"DeviceId", kDeviceId},
        {"DeviceType", kDeviceType},
        {"AttachmentName", kAttachmentName},
        {"CollectionId", kCollectionId},
        {"ItemId", kItemId},
        {"LongId", kLongId},
        {"Occurrence", kOccurrence},
        {"SaveInSent", kSaveInSent},
        {"AcceptMultiPart", kAcceptMultiPart},
        {"PolicyKey", kPolicyKey},
    };
    unsigned bit = 0;
    for (const auto& f : kFields) {
      if (equalsIgnoreCase(f.name, name)) bit = f.bit;
    }
    if (bit == 0) return fail(Errc::invalid_argument, "query: unknown parameter '" + shown + "'");
    if (seen & bit)
      return fail(Errc::invalid_argument, "query: duplicate parameter '" + shown + "'");
    seen |= bit;

    std::string v = std::move(*value);
    switch (bit) {
      case kCmd:
        r.command = std::move(v);
        break;
      case kUser:
        r.user = std::move(v);
        break;
      case kDeviceId:
        r.device_id = std::move(v);
        break;
      case kDeviceType:
        r.device_type = std::move(v);
        break;
      case kAttachmentName:
        r.attachment_name = std::move(v);
        break;
      case kCollectionId:
        r.collection_id = std::move(v);
        break;
      case kItemId:
        r.item_id = std::move(v);
        break;
      case kLongId:
        r.long_id = std::move(v);
        break;
      case kOccurrence:
        r.occurrence = std::move(v);
        break;
      case kSaveInSent:
      case kAcceptMultiPart: {
        auto flag = parseTF(v, shown);
        if (!flag) return tl::unexpected(flag.error());
        (bit == kSaveInSent ? r.save_in_sent : r.accept_multipart) = *flag;
        break;
      }
      case kPolicyKey: {
        // A decimal uint32 (MS-ASPROV 2.2.2.42), as pyactivesync sends it.
        if (v.size() > 10) return fail(Errc::invalid_argument, "PolicyKey: not a 32-bit number");
        std::uint64_t n = 0;
        for (unsigned char c : v) {
          if (!isDigit(c)) return fail(Errc::invalid_argument, "PolicyKey: not a number");
          n = n * 10 + (c - '0');
        }
        if (n > 0xffffffffu) return fail(Errc::invalid_argument, "PolicyKey: not a 32-bit number");
        r.policy_key = static_cast<std::uint32_t>(n);
        break;
      }
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  if (auto s = validate(r, limits.require_user_in_plain); !s) return tl::unexpected(s.error());
  return r;
}

// ---- base64 form, MS-ASHTTP 2.2.1.1.1.1 ------------------------------------

// Reads the binary structure front to back; every read checks what is left.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return pos_ == bytes_.size(); }
  Result<std::uint8_t> byte(std::string_view what) {
    if (pos_ >= bytes_.size()) return fail(Errc::parse_error, std::string(what) + ": truncated");
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  Result<std::string_view> take(std::size_t n, std::string_view what) {
    if (n > bytes_.size() - pos_) {
      return fail(Errc::parse_error, std::string(what) + ": length exceeds the remaining bytes");
    }
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// `auto var = *expr`, or return expr's error. `var` is a declared name, so it
// cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define RAMPART_TRY_ASSIGN(var, expr)                             \
  auto var##_result = (expr);                                     \
  if (!var##_result) return tl::unexpected(var##_result.error()); \
  auto var = *var##_result
// NOLINTEND(bugprone-macro-parentheses)

std::uint32_t readLe32(std::string_view b) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[3])) << 24;
}

std::string hexUpper(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<EasRequest> decodeBinary(std::string_view bytes) {
  EasRequest r;
  r.base64_form = true;
  Reader in(bytes);

  RAMPART_TRY_ASSIGN(version, in.byte("protocol version"));
  std::string version_text = versionFromByte(version);
  // SHOULD be 141, 160 or 161; MAY be 140 or 121: exactly our supported set.
  if (!isSupportedVersion(version_text)) {
    return fail(Errc::invalid_argument,
                "protocol version: unsupported (" + std::to_string(version) + ")");
  }
  r.protocol_version = std::move(version_text);

  RAMPART_TRY_ASSIGN(code, in.byte("command code"));
  const CommandInfo* command = commandByCode(code);
  if (command == nullptr) {
    return fail(Errc::invalid_argument, "command code: unknown (" + std::to_string(code) + ")");
  }
  r.command = std::string(command->name);

  RAMPART_TRY_ASSIGN(locale_lo, in.byte("locale"));
  RAMPART_TRY_ASSIGN(locale_hi, in.byte("locale"));
  r.locale = static_cast<std::uint16_t>(locale_lo | (locale_hi << 8));

  RAMPART_TRY_ASSIGN(device_id_length, in.byte("device ID length"));
  if (device_id_length == 0) return fail(Errc::invalid_argument, "DeviceId: missing");
  RAMPART_TRY_ASSIGN(device_id, in.take(device_id_length, "device ID"));
  // "A string or a GUID": a 16-byte binary GUID becomes its 32 hex digits so
  // the one DeviceId syntax (letters and digits) holds for both forms.
  bool text = true;
  for (unsigned char c : device_id) text = text && isAlnum(c);
  r.device_id = (!text && device_id.size() == 16) ? hexUpper(device_id) : std::string(device_id);

  RAMPART_TRY_ASSIGN(policy_key_length, in.byte("policy key length"));
  if (policy_key_length != 0 && policy_key_length != 4) {
    return fail(Errc::parse_error, "policy key length: neither 0 nor 4");
  }
  if (policy_key_length == 4) {
    RAMPART_TRY_ASSIGN(key, in.take(4, "policy key"));
    r.policy_key = readLe32(key);
  }

  RAMPART_TRY_ASSIGN(device_type_length, in.byte("device type length"));
  if (device_type_length == 0) return fail(Errc::invalid_argument, "DeviceType: missing");
  RAMPART_TRY_ASSIGN(device_type, in.take(device_type_length, "device type"));
  r.device_type = std::string(device_type);

  // Command parameters (2.2.1.1.1.1.1): tag, length, value, to the end.
  unsigned seen = 0;
  while (!in.done()) {
    RAMPART_TRY_ASSIGN(tag, in.byte("parameter tag"));
    RAMPART_TRY_ASSIGN(length, in.byte("parameter length"));
    RAMPART_TRY_ASSIGN(value, in.take(length, "parameter value"));
    if (tag > kTagUser || tag == 2 || tag == 5) {
      return fail(Errc::invalid_argument, "parameter tag: unknown (" + std::to_string(tag) + ")");
    }
    if (seen & (1u << tag)) {
      return fail(Errc::invalid_argument, "parameter tag: duplicate (" + std::to_string(tag) + ")");
    }
    seen |= 1u << tag;
    switch (tag) {
      case kTagAttachmentName:
        r.attachment_name = std::string(value);
        break;
      case kTagCollectionId:
        r.collection_id = std::string(value);
        break;
      case kTagItemId:
        r.item_id = std::string(value);
        break;
      case kTagLongId:
        r.long_id = std::string(value);
        break;
      case kTagOccurrence:
        r.occurrence = std::string(value);
        break;
      case kTagUser:
        if (value.empty()) return fail(Errc::invalid_argument, "User: empty");
        r.user = std::string(value);
        break;
      case kTagOptions: {
        if (value.size() != 1) return fail(Errc::parse_error, "Options: length is not 1");
        auto flags = static_cast<std::uint8_t>(value[0]);
        if (flags & ~(kOptionSaveInSent | kOptionAcceptMultiPart)) {
          return fail(Errc::invalid_argument, "Options: unknown flag bits");
        }
        r.save_in_sent = (flags & kOptionSaveInSent) != 0;
        r.accept_multipart = (flags & kOptionAcceptMultiPart) != 0;
        break;
      }
      default:
        break;
    }
  }
  if (auto s = validate(r, /*require_user=*/false); !s) return tl::unexpected(s.error());
  return r;
}

bool looksPlain(std::string_view query) {
  if (query.find('&') != std::string_view::npos) return true;
  std::size_t eq = query.find('=');
  return eq != std::string_view::npos && query.find_first_not_of('=', eq) != std::string_view::npos;
}

void percentEncodeTo(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    if (isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

#undef RAMPART_TRY_ASSIGN

}  // namespace

Result<EasRequest> decodeQuery(std::string_view query, const RequestLineLimits& limits) {
  if (query.size() > limits.max_target_size) {
    return fail(Errc::limit_exceeded,
                "query: longer than " + std::to_string(limits.max_target_size) + " bytes");
  }
  if (query.empty()) return fail(Errc::invalid_argument, "query: empty");
  if (looksPlain(query)) return decodePlain(query, limits);
  // Clients may percent-encode the base64 value's '+', '/' and '='.
  auto unescaped = percentDecode(query, "base64 query");
  if (!unescaped) return tl::unexpected(unescaped.error());
  // RFC 4648 section 4 alphabet (MS-ASHTTP cites RFC 2045, the same alphabet),
  // no white space. Padding may be left out; a lone trailing character or
  // non-zero pad bits are rejected so that one byte string has one accepted
  // spelling per padding choice.
  auto bytes = base64Decode(*unescaped, {.skip_whitespace = false, .canonical = true});
  if (!bytes) return fail(bytes.error().code, "base64 query: " + bytes.error().detail);
  return decodeBinary(*bytes);
}

Result<EasRequest> decodeRequestTarget(std::string_view target, const RequestLineLimits& limits) {
  if (target.size() > limits.max_target_size) {
    return fail(Errc::limit_exceeded,
                "request target: longer than " + std::to_string(limits.max_target_size) + " bytes");
  }
  // Absolute URI (RFC 2616 3.2.1): drop "scheme://authority".
  if (auto scheme = target.find("://");
      scheme != std::string_view::npos && target.find_first_of("/?") > scheme) {
    std::size_t path = target.find('/', scheme + 3);
    if (path == std::string_view::npos) return fail(Errc::parse_error, "request target: no path");
    target.remove_prefix(path);
  }
  if (target.find('#') != std::string_view::npos) {
    return fail(Errc::parse_error, "request target: fragment");
  }
  std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (!equalsIgnoreCase(path, kActiveSyncPath)) {
    return fail(Errc::parse_error, "request target: path is not " + std::string(kActiveSyncPath));
  }
  if (q == std::string_view::npos) return fail(Errc::invalid_argument, "request target: no query");
  return decodeQuery(target.substr(q + 1), limits);
}

Result<std::string> encodeBase64Query(const EasRequest& r) {
  if (auto s = validate(r, /*require_user=*/false); !s) return tl::unexpected(s.error());
  if (!r.protocol_version) return fail(Errc::invalid_argument, "protocol version: missing");
  std::string bytes;
  bytes += static_cast<char>(*versionToByte(*r.protocol_version));
  bytes += static_cast<char>(commandByName(r.command)->code);
  bytes += static_cast<char>(r.locale & 0xff);
  bytes += static_cast<char>(r.locale >> 8);
  bytes += static_cast<char>(r.device_id.size());
  bytes += r.device_id;
  if (r.policy_key) {
    bytes += '\x04';
    for (int shift = 0; shift < 32; shift += 8) {
      bytes += static_cast<char>((*r.policy_key >> shift) & 0xff);
    }
  } else {
    bytes += '\x00';
  }
  bytes += static_cast<char>(r.device_type.size());
  bytes += r.device_type;
  auto param = [&](std::uint8_t tag, std::string_view value) {
    bytes += static_cast<char>(tag);
    bytes += static_cast<char>(value.size());
    bytes += value;
  };
  if (r.attachment_name) param(kTagAttachmentName, *r.attachment_name);
  if (r.collection_id) param(kTagCollectionId, *r.collection_id);
  if (r.item_id) param(kTagItemId, *r.item_id);
  if (r.long_id) param(kTagLongId, *r.long_id);
  if (r.occurrence) param(kTagOccurrence, *r.occurrence);
  std::uint8_t options =
      (r.save_in_sent ? kOptionSaveInSent : 0) | (r.accept_multipart ? kOptionAcceptMultiPart : 0);
  if (options != 0) param(kTagOptions, std::string_view(reinterpret_cast<char*>(&options), 1));
  if (!r.user.empty()) param(kTagUser, r.user);
  return base64Encode(bytes);
}

Result<std::string> encodePlainQuery(const EasRequest& r) {
  if (auto s = validate(r, /*require_user=*/false); !s) return tl::unexpected(s.error());
  std::string out;
  auto add = [&](std::string_view name, std::string_view value) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    percentEncodeTo(out, value);
  };
  // The ABNF's order: Cmd, User, DeviceId, DeviceType, then the others.
  add("Cmd", r.command);
  if (!r.user.empty()) add("User", r.user);
  add("DeviceId", r.device_id);
  add("DeviceType", r.device_type);
  if (r.attachment_name) add("AttachmentName", *r.attachment_name);
  if (r.collection_id) add("CollectionId", *r.collection_id);
  if (r.item_id) add("ItemId", *r.item_id);
  if (r.long_id) add("LongId", *r.long_id);
  if (r.occurrence) add("Occurrence", *r.occurrence);
  if (r.save_in_sent) add("SaveInSent", "T");
  if (r.accept_multipart) add("AcceptMultiPart", "T");
  return out;
}

}  // namespace rampart::eas
