// The decoded form of an ActiveSync WBXML body: a tree of elements, each
// identified by (code page, token) as [MS-ASWBXML] 2.1.2.1 assigns them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::wbxml {

struct Element {
  std::uint8_t page = 0;
  std::uint8_t token = 0;
  // The tag name from the code page tables (static storage), or empty for a
  // (page, token) the spec does not define: such elements are kept, not
  // rejected, so a newer client's extra tags do not break a whole request.
  std::string_view name;
  std::vector<Element> children;
  std::string text;                  // the element's STR_I strings, concatenated
  std::vector<std::uint8_t> opaque;  // its OPAQUE data, concatenated

  // Structural equality: page, token, text, opaque and children (the name
  // follows from page and token).
  friend bool operator==(const Element& a, const Element& b) {
    return a.page == b.page && a.token == b.token && a.text == b.text &&
           a.opaque == b.opaque && a.children == b.children;
  }

  // The first child with this name, or nullptr.
  const Element* child(std::string_view child_name) const noexcept {
    for (const Element& c : children) {
      if (c.name == child_name) return &c;
    }
    return nullptr;
  }
};

struct Document {
  Element root;
};

}  // namespace rampart::wbxml
