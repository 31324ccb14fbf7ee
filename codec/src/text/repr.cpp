// Python 3.11's repr() of str, bytes, bytearray and float, byte for byte.
#include "picklecodec/repr.hpp"
#include "base/hex.hpp"
#include "text/utf8.hpp"

#include <algorithm>
#include <array>
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

namespace {

// U+0080..U+00FF in a str repr: the two UTF-8 bytes of a printable one,
// else \xNN, as repr_str's general path writes them.
struct Latin1Escapes {
  uint32_t text[128];
  uint8_t len[128];
};

const Latin1Escapes& latin1_escapes() {
  static const Latin1Escapes table = [] {
    Latin1Escapes t{};
    for (uint32_t cp = 0x80; cp <= 0xff; ++cp) {
      char buf[4] = {};
      uint8_t n;
      if (py_printable(cp)) {
        buf[0] = static_cast<char>(0xc0 | (cp >> 6));
        buf[1] = static_cast<char>(0x80 | (cp & 0x3f));
        n = 2;
      } else {
        buf[0] = '\\';
        buf[1] = 'x';
        buf[2] = kHexDigits[cp >> 4];
        buf[3] = kHexDigits[cp & 0xf];
        n = 4;
      }
      std::memcpy(&t.text[cp - 0x80], buf, 4);
      t.len[cp - 0x80] = n;
    }
    return t;
  }();
  return table;
}

}  // namespace

std::string repr_str(std::string_view utf8) {
  std::string out;
  append_repr_str(out, utf8);
  return out;
}

void append_repr_str(std::string& out, std::string_view utf8) {
  const char quote = choose_quote(utf8);
  out.reserve(out.size() + utf8.size() + 2);
  out += quote;
  size_t i = 0;
  while (i < utf8.size()) {
    // A run of printable ASCII that needs no escape goes in at once.
    size_t j = i;
    while (j < utf8.size()) {
      const auto c = static_cast<unsigned char>(utf8[j]);
      if (c < 0x20 || c >= 0x7f || c == static_cast<unsigned char>(quote) || c == '\\') break;
      ++j;
    }
    if (j > i) {
      out.append(utf8.data() + i, j - i);
      i = j;
      if (i == utf8.size()) break;
    }
    // A run of U+0080..U+00FF (a latin-1 text's, a protocol-2 bytes'), each
    // by table through a pointer: its two UTF-8 bytes, or \xNN.
    const auto* b = reinterpret_cast<const unsigned char*>(utf8.data());
    size_t k = i;
    while (k + 1 < utf8.size() && (b[k] == 0xc2 || b[k] == 0xc3)) k += 2;
    if (k > i) {
      const Latin1Escapes& t = latin1_escapes();
      const size_t at = out.size();
      out.resize(at + 2 * (k - i) + 3);  // at most 4 characters a code point, 3 spare for the last store
      char* w = out.data() + at;
      for (size_t p = i; p < k; p += 2) {
        const unsigned c = ((b[p] & 0x1fu) << 6 | (b[p + 1] & 0x3fu)) - 0x80;
        std::memcpy(w, &t.text[c], 4);
        w += t.len[c];
      }
      out.resize(static_cast<size_t>(w - out.data()));
      i = k;
      continue;
    }
    uint32_t cp = next_code_point(utf8, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7f) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (cp < 0x7f) {
      out += static_cast<char>(cp);
    } else if (py_printable(cp)) {
      append_utf8(out, cp);
    } else if (cp <= 0xff) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (cp <= 0xffff) {
      out += "\\u";
      append_hex(out, cp, 4);
    } else {
      out += "\\U";
      append_hex(out, cp, 8);
    }
  }
  out += quote;
}

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
