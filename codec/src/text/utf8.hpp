// Writing and reading one code point as UTF-8. Surrogates (U+D800..U+DFFF)
// are written as their 3-byte form, as Python's "surrogatepass" does:
// pkl::Graph keeps lone surrogates of a Python str that way. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pkl {

// Writes cp's 1 to 4 bytes at w; returns the end.
inline char* put_utf8(char* w, uint32_t cp) noexcept {
  auto cont = [](uint32_t bits) { return static_cast<char>(0x80 | (bits & 0x3f)); };
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
    return w;
  }
  if (cp < 0x800) {
    *w++ = static_cast<char>(0xc0 | (cp >> 6));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xe0 | (cp >> 12));
    *w++ = cont(cp >> 6);
  } else {
    *w++ = static_cast<char>(0xf0 | (cp >> 18));
    *w++ = cont(cp >> 12);
    *w++ = cont(cp >> 6);
  }
  *w++ = cont(cp);
  return w;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  char buf[4];
  out.append(buf, static_cast<size_t>(put_utf8(buf, cp) - buf));
}

inline std::string utf8_of(uint32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

// Decodes one code point of surrogatepass UTF-8 at s[i], advancing i. A
// malformed sequence (which callers promise not to pass: a Graph's strs are
// well formed) decodes as U+FFFD, one byte at a time, so the function is total.
inline uint32_t next_code_point(std::string_view s, size_t& i) noexcept {
  const auto b0 = static_cast<uint8_t>(s[i]);
  auto cont = [&](size_t k) -> int {
    if (i + k >= s.size()) return -1;
    auto b = static_cast<uint8_t>(s[i + k]);
    return (b & 0xc0) == 0x80 ? (b & 0x3f) : -1;
  };
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    int c1 = cont(1);
    if (c1 >= 0) {
      i += 2;
      return (uint32_t{b0 & 0x1fu} << 6) | static_cast<uint32_t>(c1);
    }
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    int c1 = cont(1), c2 = cont(2);
    if (c1 >= 0 && c2 >= 0) {
      uint32_t cp = (uint32_t{b0 & 0x0fu} << 12) | (static_cast<uint32_t>(c1) << 6) | static_cast<uint32_t>(c2);
      if (cp >= 0x800) {
        i += 3;
        return cp;
      }
    }
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    int c1 = cont(1), c2 = cont(2), c3 = cont(3);
    if (c1 >= 0 && c2 >= 0 && c3 >= 0) {
      uint32_t cp = (uint32_t{b0 & 0x07u} << 18) | (static_cast<uint32_t>(c1) << 12) |
                    (static_cast<uint32_t>(c2) << 6) | static_cast<uint32_t>(c3);
      if (cp >= 0x10000 && cp <= 0x10ffff) {
        i += 4;
        return cp;
      }
    }
  }
  i += 1;
  return 0xfffd;
}

}  // namespace pkl
