// Writing one code point as UTF-8. Surrogates (U+D800..U+DFFF) are written as
// their 3-byte form, as Python's "surrogatepass" does: pkl::Graph keeps lone
// surrogates of a Python str that way. Internal header.
#pragma once

#include <cstdint>
#include <string>

namespace pkl {

inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

inline std::string utf8_of(uint32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

}  // namespace pkl
