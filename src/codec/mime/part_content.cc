// One MIME part's decoded content by part path. See part_content.h.
#include "codec/mime/part_content.h"

#include <gmime/gmime.h>

#include <charconv>
#include <memory>
#include <mutex>

#include "codec/mime/detail/gmime.h"

namespace rampart::mime {
namespace {

using namespace detail;

std::string mimeType(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (ct == nullptr) return "application/octet-stream";
  const char* type = g_mime_content_type_get_media_type(ct);
  const char* sub = g_mime_content_type_get_media_subtype(ct);
  if (type == nullptr || sub == nullptr) return "application/octet-stream";
  std::string out = std::string(type) + "/" + sub;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Writes into a memory stream, failing when it grows past `max`.
std::optional<std::string> drain(GMimeStream* mem, std::size_t max) {
  GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  if (array == nullptr) return std::string();
  if (array->len > max) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

}  // namespace

std::optional<PartContent> partContent(std::string_view message, std::string_view part_path,
                                       std::size_t max_bytes) {
  initGmime();
  if (message.empty()) return std::nullopt;  // GMime makes no stream of an empty buffer
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return std::nullopt;
  GMimeObject* obj = g_mime_message_get_mime_part(msg.get());
  if (obj == nullptr) return std::nullopt;

  // Walk the path: each component picks a child of a multipart; a single
  // part's only component is "1".
  std::string_view rest = part_path;
  bool first = true;
  while (true) {
    auto dot = rest.find('.');
    std::string_view component = rest.substr(0, dot);
    int index = 0;
    auto [ptr, ec] = std::from_chars(component.data(), component.data() + component.size(), index);
    if (component.empty() || ec != std::errc() || ptr != component.data() + component.size() ||
        index < 1) {
      return std::nullopt;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      auto* mp = GMIME_MULTIPART(obj);
      if (index > g_mime_multipart_get_count(mp)) return std::nullopt;
      obj = g_mime_multipart_get_part(mp, index - 1);
    } else if (!(first && index == 1 && dot == std::string_view::npos)) {
      return std::nullopt;
    }
    first = false;
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
    if (obj == nullptr) return std::nullopt;
  }
  if (obj == nullptr || GMIME_IS_MULTIPART(obj)) return std::nullopt;

  PartContent out;
  out.content_type = mimeType(obj);
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (inner == nullptr) return std::nullopt;
    if (g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, mem.get()) < 0) {
      return std::nullopt;
    }
  } else if (GMIME_IS_PART(obj)) {
    GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
    if (content == nullptr) return std::nullopt;
    if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return std::nullopt;
  } else {
    return std::nullopt;
  }
  auto bytes = drain(mem.get(), max_bytes);
  if (!bytes) return std::nullopt;
  out.bytes = std::move(*bytes);
  return out;
}

}  // namespace rampart::mime
