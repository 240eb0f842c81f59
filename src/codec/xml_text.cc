#include "codec/xml_text.h"

namespace rampart::codec {

void appendXmlEscaped(std::string& out, std::string_view value, bool attribute) {
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) break;
        out += c;
    }
  }
}

std::string xmlEscaped(std::string_view value, bool attribute) {
  std::string out;
  out.reserve(value.size());
  appendXmlEscaped(out, value, attribute);
  return out;
}

std::string htmlFromText(std::string_view text, std::string_view line_break) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\r': break;
      case '\n': out += line_break; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace rampart::codec
