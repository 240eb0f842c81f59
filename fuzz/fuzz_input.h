// Helpers for fuzz targets that split their input into fields.
#pragma once

#include <cstddef>
#include <string_view>

namespace rampart::fuzz {

// The text up to the next '\n' (or the end), consumed from `in` with the '\n'.
inline std::string_view nextLine(std::string_view& in) {
  std::size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

}  // namespace rampart::fuzz
