// Latin-1 <-> UTF-8, the conversions of protocol-2 bytes: the encoder writes
// bytes as _codecs.encode(<the latin-1 decoding as a str>, 'latin1'), the
// decoder runs that call, and STRING / BINSTRING with encoding='latin1' and
// the disassembler read latin-1 text. Megabytes at a time for a large blob,
// so both directions take 16 bytes a step with SSSE3 where the CPU has it.
// Internal header.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pkl::detail {

// The code point of `utf8` when it is one character below U+0100 (what
// CPython keeps as its one-character singletons), else -1.
inline int one_latin1_char(std::string_view utf8) noexcept {
  if (utf8.size() == 1 && static_cast<unsigned char>(utf8[0]) < 0x80) return static_cast<unsigned char>(utf8[0]);
  if (utf8.size() != 2) return -1;
  const auto b0 = static_cast<unsigned char>(utf8[0]);
  const auto b1 = static_cast<unsigned char>(utf8[1]);
  if ((b0 == 0xc2 || b0 == 0xc3) && (b1 & 0xc0) == 0x80) return static_cast<int>(((b0 & 0x1fu) << 6) | (b1 & 0x3fu));
  return -1;
}

// The UTF-8 of the latin-1 decoding of `bytes` (every byte one code point).
std::string latin1_to_utf8(std::string_view bytes);
// Its size, and the same written to `out`, which has room for that size
// plus kLatin1Slack bytes (scribbled on).
constexpr size_t kLatin1Slack = 16;
size_t latin1_utf8_size(std::string_view bytes) noexcept;
void latin1_to_utf8(std::string_view bytes, char* out) noexcept;

// How many characters `utf8` holds when no byte of it is 0xC4 or above (then
// valid UTF-8 encodes nothing beyond U+00FF); nullopt otherwise. Counts
// without validating: the conversion below checks.
std::optional<size_t> latin1_length(std::string_view utf8) noexcept;
// The latin-1 encoding of `utf8` written to `out` (room for its length plus
// 8 bytes, scribbled on), -> that length; nullopt as below.
std::optional<size_t> utf8_to_latin1(std::string_view utf8, char* out) noexcept;

// The latin-1 encoding of `utf8`, in `scratch` (reused from call to call),
// when it is valid UTF-8 and every character of it is below U+0100;
// nullopt otherwise (the caller's general codec loop decides and reports).
std::optional<std::string_view> utf8_to_latin1(std::string_view utf8, std::string& scratch);

}  // namespace pkl::detail
