// Lower-case hex digits, written once for every layer (repr's
// \x escapes, UnicodeDecodeError's "byte 0xff", big ints in hex, JSON's
// \u escapes and hex blobs). Internal header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pkl {

inline constexpr char kHexDigits[] = "0123456789abcdef";

// The low `digits` hex digits of v, most significant first.
inline void append_hex(std::string& out, uint64_t v, int digits) {
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHexDigits[(v >> shift) & 0xf];
}

// Two hex digits per byte.
inline void append_hex_bytes(std::string& out, std::string_view data) {
  for (char c : data) append_hex(out, static_cast<uint8_t>(c), 2);
}
inline std::string hex_string(std::string_view data) {
  std::string out;
  out.reserve(2 * data.size());
  append_hex_bytes(out, data);
  return out;
}

}  // namespace pkl
