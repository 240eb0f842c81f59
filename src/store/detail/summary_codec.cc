#include "store/detail/summary_codec.h"

#include <cstdint>

namespace rampart::store::detail {
namespace {

// Format: version byte, then fields in declaration order. Integers are LEB128
// varints (zig-zag for the signed date); strings are a varint length and bytes.
// Bump kVersion and keep decoding old versions when a field is added.
constexpr std::uint8_t kVersion = 1;

void putVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putString(std::string& out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool string(std::string& s) {
    std::uint64_t n = 0;
    if (!varint(n) || n > in_.size() - pos_) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool byte(std::uint8_t& b) {
    if (pos_ >= in_.size()) return false;
    b = static_cast<std::uint8_t>(in_[pos_++]);
    return true;
  }
  bool atEnd() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encodeSummary(const mime::Summary& s) {
  std::string out;
  out.reserve(128 + s.subject.size() + s.preview.size());
  out.push_back(static_cast<char>(kVersion));
  for (const std::string* f : {&s.from, &s.to, &s.cc, &s.reply_to, &s.subject, &s.message_id,
                               &s.in_reply_to, &s.thread_topic}) {
    putString(out, *f);
  }
  auto date = static_cast<std::uint64_t>(s.date);
  putVarint(out, (date << 1) ^ static_cast<std::uint64_t>(s.date >> 63));
  putVarint(out, static_cast<std::uint64_t>(s.importance));
  putVarint(out, s.size);
  putString(out, s.content_type);
  putString(out, s.message_class);
  putString(out, s.preview);
  out.push_back(static_cast<char>((s.well_formed ? 1 : 0) | (s.truncated ? 2 : 0)));
  putVarint(out, s.attachments.size());
  for (const mime::Attachment& a : s.attachments) {
    putString(out, a.filename);
    putString(out, a.content_type);
    putString(out, a.content_id);
    putVarint(out, a.size);
    out.push_back(a.is_inline ? 1 : 0);
    putString(out, a.part_path);
  }
  return out;
}

Result<mime::Summary> decodeSummary(std::string_view bytes) {
  auto bad = [] { return fail(Errc::storage_error, "undecodable message summary"); };
  Reader r(bytes);
  mime::Summary s;
  std::uint8_t version = 0;
  if (!r.byte(version) || version != kVersion) return bad();
  for (std::string* f : {&s.from, &s.to, &s.cc, &s.reply_to, &s.subject, &s.message_id,
                         &s.in_reply_to, &s.thread_topic}) {
    if (!r.string(*f)) return bad();
  }
  std::uint64_t zz = 0, importance = 0, count = 0;
  std::uint8_t wf = 0;
  if (!r.varint(zz) || !r.varint(importance) || !r.varint(s.size)) return bad();
  s.date = static_cast<std::int64_t>(zz >> 1) ^ -static_cast<std::int64_t>(zz & 1);
  if (importance > 2) return bad();
  s.importance = static_cast<mime::Importance>(importance);
  if (!r.string(s.content_type) || !r.string(s.message_class) || !r.string(s.preview) ||
      !r.byte(wf) || !r.varint(count)) {
    return bad();
  }
  if (wf > 3) return bad();
  s.well_formed = (wf & 1) != 0;
  s.truncated = (wf & 2) != 0;
  if (count > bytes.size()) return bad();  // each attachment takes several bytes
  s.attachments.resize(count);
  for (mime::Attachment& a : s.attachments) {
    std::uint8_t in = 0;
    if (!r.string(a.filename) || !r.string(a.content_type) || !r.string(a.content_id) ||
        !r.varint(a.size) || !r.byte(in) || !r.string(a.part_path)) {
      return bad();
    }
    a.is_inline = in != 0;
  }
  if (!r.atEnd()) return bad();
  return s;
}

}  // namespace rampart::store::detail
