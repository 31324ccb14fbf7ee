// Python 3.11's repr() of str, bytes, bytearray and float, byte for byte.
#include "picklecodec/repr.hpp"
#include "base/hex.hpp"
#include "text/utf8.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace pkl {
namespace {

#include "text/unicode_printable.inc"


// Python's str.isprintable() for one code point.
bool py_printable(uint32_t cp) {
  // Fast path: printable ASCII.
  if (cp >= 0x20 && cp < 0x7f) return true;
  int lo = 0, hi = kNonPrintableRangeCount - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (cp < kNonPrintableRanges[mid][0]) {
      hi = mid - 1;
    } else if (cp > kNonPrintableRanges[mid][1]) {
      lo = mid + 1;
    } else {
      return false;
    }
  }
  return true;
}


// Python's quote choice for str and bytes: single quotes unless the text
// holds a single quote and no double quote.
char choose_quote(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  return (has_single && !has_double) ? '"' : '\'';
}

}  // namespace


std::string repr_str(std::string_view utf8) {
  std::string out;
  append_repr_str(out, utf8);
  return out;
}

namespace {

// U+0000..U+00FF in a str repr, for each quote: the character itself (for
// U+0080 and up, its two UTF-8 bytes), or its escape (\\, \', \t, \xNN...),
// read as one word.
struct StrEscapes {
  uint32_t text[256];
  uint8_t len[256];
};

const StrEscapes& str_escapes(char quote) {
  static const auto tables = [] {
    std::array<StrEscapes, 2> t{};
    for (int k = 0; k < 2; ++k) {
      const char q = k ? '"' : '\'';
      for (uint32_t c = 0; c < 0x100; ++c) {
        char buf[4] = {};
        uint8_t n = 2;
        buf[0] = '\\';
        if (c == static_cast<uint32_t>(q) || c == '\\') {
          buf[1] = static_cast<char>(c);
        } else if (c == '\t' || c == '\n' || c == '\r') {
          buf[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (!py_printable(c)) {
          buf[1] = 'x';
          buf[2] = kHexDigits[c >> 4];
          buf[3] = kHexDigits[c & 0xf];
          n = 4;
        } else {
          n = static_cast<uint8_t>(put_utf8(buf, c) - buf);
        }
        std::memcpy(&t[k].text[c], buf, 4);
        t[k].len[c] = n;
      }
    }
    return t;
  }();
  return tables[quote == '"' ? 1 : 0];
}

// A byte's high bit set in the result where the byte of v is not printable
// ASCII or is the quote or a backslash; exact for the lowest such byte (the
// tests below only ever flag wrongly above a true hit).
uint64_t not_plain(uint64_t v, uint64_t quotes) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const uint64_t below_space = (v - 0x20 * kOnes) & ~v & kHigh;
  const uint64_t from_del = (v | (v + kOnes)) & kHigh;  // >= 0x7f
  return below_space | from_del | zero_byte(v ^ quotes) | zero_byte(v ^ ('\\' * kOnes));
}

// A code point past U+00FF (or malformed input's U+FFFD) as repr writes
// it: itself if printable, else its escape. At most 10 characters.
char* put_code_point(char* w, uint32_t cp) {
  if (py_printable(cp)) return put_utf8(w, cp);
  const int digits = cp <= 0xff ? 2 : cp <= 0xffff ? 4 : 8;
  *w++ = '\\';
  *w++ = cp <= 0xff ? 'x' : cp <= 0xffff ? 'u' : 'U';
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) *w++ = kHexDigits[(cp >> shift) & 0xf];
  return w;
}

}  // namespace

// Written through a pointer into room for the worst case, then trimmed: 4
// characters a byte at most (\xNN for one byte; \uXXXX for two or three,
// \UXXXXXXXX for four, U+FFFD's three for a malformed one), the quotes, and
// 3 spare for a table's 4-byte store. Printable ASCII goes 8 bytes at a
// time; everything else one code point at a time, U+0080..U+00FF (a latin-1
// text's, a protocol-2 bytes') by table.
void append_repr_str(std::string& out, std::string_view utf8) {
  const char quote = choose_quote(utf8);
  const StrEscapes& esc = str_escapes(quote);
  const uint64_t quotes = 0x0101010101010101ull * static_cast<unsigned char>(quote);
  const auto* b = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  const size_t at = out.size();
  out.resize(at + 4 * n + 5);
  char* w = out.data() + at;
  *w++ = quote;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t v;
      std::memcpy(&v, b + i, 8);
      const uint64_t miss = not_plain(v, quotes);
      // All 8 stored (there is room: 8 <= 4 * (n - i)), the plain ones kept.
      std::memcpy(w, b + i, 8);
      size_t plain = 8;
      if (miss != 0) {
        // The lowest flag is the first byte in memory on a little-endian
        // machine; elsewhere the word is taken a byte at a time.
        plain = std::endian::native == std::endian::little ? static_cast<size_t>(std::countr_zero(miss)) / 8 : 0;
      }
      w += plain;
      i += plain;
      if (plain == 8) continue;
    }
    // Then up to 16 code points one at a time, with no branch on whether
    // each is ASCII or U+0080..U+00FF (they alternate in a protocol-2
    // bytes' latin-1 text).
    for (int k = 0; k < 16 && i < n; ++k) {
      const unsigned c = b[i];
      const unsigned next = i + 1 < n ? b[i + 1] : 0;
      const unsigned two = c >> 7;
      const bool latin1 = ((c | 1) == 0xc3) & ((next & 0xc0) == 0x80);
      if (two & !latin1) {
        w = put_code_point(w, next_code_point(utf8, i));
        continue;
      }
      // By masks: a compiler's branch here is mispredicted at every change.
      const unsigned mask = 0u - two;
      const unsigned cp = (c & ~mask) | ((((c & 1) << 6 | (next & 0x3f)) + 0x80) & mask);
      std::memcpy(w, &esc.text[cp], 4);
      w += esc.len[cp];
      i += 1 + two;
    }
  }
  *w++ = quote;
  out.resize(static_cast<size_t>(w - out.data()));
}

namespace detail {
bool repr_str_is_plain(std::string_view s) noexcept {
  constexpr uint64_t kQuotes = 0x0101010101010101ull * '\'';
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, b + i, 8);
    if (not_plain(v, kQuotes)) return false;
  }
  uint64_t v = 0x2020202020202020ull;  // the tail, padded with blanks
  if (i < s.size()) std::memcpy(&v, b + i, s.size() - i);
  return not_plain(v, kQuotes) == 0;
}
}  // namespace detail

namespace {

// Each byte's text in a bytes repr (up to 4 characters, read as one word)
// and its length, for each quote and for bytes / bytearray: a large bytes
// is written a table lookup and a 4-byte store a byte, not a branch each.
struct ByteEscapes {
  uint32_t text[256];
  uint8_t len[256];
};

const ByteEscapes& byte_escapes(char quote, bool bytearray) {
  static const auto tables = [] {
    std::array<ByteEscapes, 4> t{};
    for (int k = 0; k < 4; ++k) {
      const char q = (k & 1) ? '"' : '\'';
      const bool ba = (k & 2) != 0;
      for (int c = 0; c < 256; ++c) {
        char buf[4] = {};
        uint8_t n;
        if (c == static_cast<uint8_t>(q) || c == '\\' || (ba && c == '\'')) {
          buf[0] = '\\';
          buf[1] = static_cast<char>(c);
          n = 2;
        } else if (c == '\t' || c == '\n' || c == '\r') {
          buf[0] = '\\';
          buf[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
          n = 2;
        } else if (c < 0x20 || c >= 0x7f) {
          buf[0] = '\\';
          buf[1] = 'x';
          buf[2] = kHexDigits[c >> 4];
          buf[3] = kHexDigits[c & 0xf];
          n = 4;
        } else {
          buf[0] = static_cast<char>(c);
          n = 1;
        }
        std::memcpy(&t[k].text[c], buf, 4);
        t[k].len[c] = n;
      }
    }
    return t;
  }();
  return tables[(quote == '"' ? 1 : 0) | (bytearray ? 2 : 0)];
}

}  // namespace

std::string repr_bytes(std::string_view data, bool bytearray) {
  // Both pick the quote as str does; bytes escapes the chosen quote only,
  // bytearray always escapes a single quote (CPython's bytearray_repr):
  // repr(bytearray(b"'")) is bytearray(b"\'").
  const char quote = choose_quote(data);
  const ByteEscapes& esc = byte_escapes(quote, bytearray);
  // Written through a pointer into room for the worst case (4 characters a
  // byte, and the last store's 3 spare), then trimmed: a large bytes is
  // mostly \xNN escapes.
  std::string out;
  out.resize(data.size() * 4 + 16);
  char* w = out.data();
  auto put = [&w](std::string_view s) {
    std::memcpy(w, s.data(), s.size());
    w += s.size();
  };
  if (bytearray) put("bytearray(");
  *w++ = 'b';
  *w++ = quote;
  for (char ch : data) {
    const auto c = static_cast<uint8_t>(ch);
    std::memcpy(w, &esc.text[c], 4);
    w += esc.len[c];
  }
  *w++ = quote;
  if (bytearray) *w++ = ')';
  out.resize(static_cast<size_t>(w - out.data()));
  return out;
}

// float.__repr__: the shortest digits that round-trip (what to_chars gives,
// ties to the closest), laid out as CPython's format_float_short with
// Py_DTSF_ADD_DOT_0: positional when -4 < exponent10 <= 16, else d.ddde+XX.
std::string repr_float(double v) {
  std::string out;
  append_repr_float(out, v);
  return out;
}

void append_repr_float(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t pos = 0;
  if (!sci.empty() && sci[0] == '-') {
    out += '-';
    pos = 1;
  }
  // sci is now "D[.DDDD]e[+-]XX".
  size_t e = sci.find('e');
  char dig[32];
  size_t nd = 0;
  for (size_t k = pos; k < e; ++k)
    if (sci[k] != '.') dig[nd++] = sci[k];
  const std::string_view digits(dig, nd);
  int exp10 = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp10);
  // Python's decpt: value = 0.DIGITS * 10^decpt.
  int decpt = exp10 + 1;
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(static_cast<size_t>(-decpt), '0');
      out += digits;
    } else if (decpt >= n) {
      out += digits;
      out.append(static_cast<size_t>(decpt - n), '0');
      out += ".0";
    } else {
      out.append(digits, 0, static_cast<size_t>(decpt));
      out += '.';
      out.append(digits, static_cast<size_t>(decpt), std::string::npos);
    }
  } else {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    int x = decpt - 1;
    out += x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax < 10) out += '0';
    out += std::to_string(ax);
  }
}

}  // namespace pkl
