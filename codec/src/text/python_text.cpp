// Text arguments of the protocol-0 opcodes, parsed as CPython 3.11 does.
//
// References (CPython 3.11): Modules/_pickle.c load_int / load_long /
// load_float / load_string / load_unicode / load_get / load_put;
// Objects/longobject.c PyLong_FromString; Python/pystrtod.c
// PyOS_string_to_double; Objects/bytesobject.c _PyBytes_DecodeEscape;
// Objects/unicodeobject.c (UTF-8 and raw-unicode-escape decoders) and
// Objects/exceptions.c (UnicodeDecodeError's text).
#include "text/python_text.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "picklecodec/repr.hpp"

namespace pkl::detail {

void fail(ErrorCode code, std::string message) { throw Error(code, std::move(message)); }
void fail_truncated() { fail(ErrorCode::Truncated, "pickle data was truncated"); }

namespace {

// Python's Py_ISSPACE (bytes): space, \t, \n, \v, \f, \r.
bool py_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// _PyLong_DigitValue: 0-9, a-z/A-Z as 10-35, everything else 37.
int digit_value(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 37;
}

void append_hex2(std::string& out, unsigned v) {
  static const char hex[] = "0123456789abcdef";
  out += hex[(v >> 4) & 0xf];
  out += hex[v & 0xf];
}

// Python's "%.200R" of a str: its repr cut to 200 code points.
std::string repr_cut(std::string_view utf8, size_t max_cp = 200) {
  std::string r = repr_str(utf8);
  size_t i = 0, count = 0;
  while (i < r.size() && count < max_cp) {
    next_code_point(r, i);
    ++count;
  }
  r.resize(i);
  return r;
}

}  // namespace

// ---- UTF-8 (text/utf8_valid.cpp decides; this reports) ---------------------


std::string decode_error_text(std::string_view codec, std::string_view data, size_t start, size_t end,
                              std::string_view reason) {
  std::string m = "'";
  m += codec;
  m += "' codec can't decode ";
  if (start < data.size() && end == start + 1) {
    m += "byte 0x";
    append_hex2(m, static_cast<uint8_t>(data[start]));
    m += " in position " + std::to_string(start);
  } else {
    m += "bytes in position " + std::to_string(start) + "-" + std::to_string(end - 1);
  }
  m += ": ";
  m += reason;
  return m;
}

void fail_utf8(std::string_view data, const Utf8Fault& fault) {
  fail(ErrorCode::BadArgument, decode_error_text("utf-8", data, fault.start, fault.end, fault.reason));
}

void require_utf8(std::string_view data, bool surrogatepass) {
  if (utf8_valid(data, surrogatepass)) return;
  if (auto f = utf8_check(data, surrogatepass)) fail_utf8(data, *f);
}

size_t first_non_ascii(std::string_view data) noexcept {
  for (size_t i = 0; i < data.size(); ++i)
    if (static_cast<uint8_t>(data[i]) >= 0x80) return i;
  return std::string_view::npos;
}

void require_ascii(std::string_view data) {
  size_t bad = first_non_ascii(data);
  if (bad != std::string_view::npos)
    fail(ErrorCode::BadArgument, decode_error_text("ascii", data, bad, bad + 1, "ordinal not in range(128)"));
}

uint32_t next_code_point(std::string_view s, size_t& i) noexcept {
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[k])); };
  uint32_t c = b(i);
  if (c < 0x80) {
    i += 1;
    return c;
  }
  if (c < 0xE0 && i + 1 < s.size()) {
    uint32_t cp = ((c & 0x1F) << 6) | (b(i + 1) & 0x3F);
    i += 2;
    return cp;
  }
  if (c < 0xF0 && i + 2 < s.size()) {
    uint32_t cp = ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
    i += 3;
    return cp;
  }
  if (i + 3 < s.size()) {
    uint32_t cp = ((c & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) | (b(i + 3) & 0x3F);
    i += 4;
    return cp;
  }
  i = s.size();
  return 0xFFFD;
}

std::string utf8_replace(std::string_view data) {
  std::string out;
  size_t pos = 0;
  while (pos < data.size()) {
    auto f = utf8_check(data.substr(pos), false);
    if (!f) {
      out.append(data.substr(pos));
      break;
    }
    out.append(data.substr(pos, f->start));
    out += "\xEF\xBF\xBD";
    pos += f->end;
  }
  return out;
}

// ---- string opcodes -------------------------------------------------------

std::string escape_decode(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  const size_t n = body.size();
  size_t i = 0;
  while (i < n) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    const size_t backslash = i;
    ++i;
    if (i == n) fail(ErrorCode::BadArgument, "Trailing \\ in string");
    char e = body[i++];
    switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'v': out += '\v'; break;
      case 'a': out += '\a'; break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        unsigned v = static_cast<unsigned>(e - '0');
        if (i < n && body[i] >= '0' && body[i] <= '7') {
          v = (v << 3) + static_cast<unsigned>(body[i++] - '0');
          if (i < n && body[i] >= '0' && body[i] <= '7') v = (v << 3) + static_cast<unsigned>(body[i++] - '0');
        }
        out += static_cast<char>(v & 0xff);  // values above 0o377 wrap, as C's char does
        break;
      }
      case 'x':
        if (i + 1 < n) {
          int d1 = digit_value(body[i]), d2 = digit_value(body[i + 1]);
          if (d1 < 16 && d2 < 16) {
            out += static_cast<char>((d1 << 4) + d2);
            i += 2;
            break;
          }
        }
        fail(ErrorCode::BadArgument, "invalid \\x escape at position " + std::to_string(backslash));
      default:
        // An unknown escape stays as written; the char after '\' is read again.
        out += '\\';
        --i;
        break;
    }
  }
  return out;
}

std::string raw_unicode_escape_decode(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 4);
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    auto c = static_cast<uint8_t>(data[i++]);
    if (c != '\\' || i >= n) {
      append_utf8(out, c);
      continue;
    }
    c = static_cast<uint8_t>(data[i++]);
    int count;
    const char* message;
    if (c == 'u') {
      count = 4;
      message = "truncated \\uXXXX escape";
    } else if (c == 'U') {
      count = 8;
      message = "truncated \\UXXXXXXXX escape";
    } else {
      out += '\\';
      append_utf8(out, c);
      continue;
    }
    const size_t start = i - 2;
    uint32_t ch = 0;
    for (; count && i < n; ++i, --count) {
      int d = digit_value(data[i]);
      if (d >= 16) break;
      ch = (ch << 4) + static_cast<uint32_t>(d);
    }
    if (!count) {
      if (ch <= 0x10FFFF) {
        append_utf8(out, ch);
        continue;
      }
      message = "\\Uxxxxxxxx out of range";
    }
    fail(ErrorCode::BadArgument, decode_error_text("rawunicodeescape", data, start, i, message));
  }
  return out;
}

// ---- numbers ---------------------------------------------------------------

namespace {

struct ParsedLong {
  bool negative = false;
  int base = 10;
  std::string digits;  // digit characters only, most significant first
};

// PyLong_FromString's syntax and limits (Objects/longobject.c, 3.11).
ParsedLong parse_py_long(std::string_view text, int base, uint32_t max_digits) {
  const size_t n = text.size();
  size_t i = 0;
  auto at = [&](size_t k) -> char { return k < n ? text[k] : '\0'; };
  auto invalid = [&](int shown_base) {
    std::string_view shown = text.substr(0, std::min<size_t>(n, 200));
    if (auto f = utf8_check(shown, false)) fail_utf8(shown, *f);
    fail(ErrorCode::BadArgument,
         "invalid literal for int() with base " + std::to_string(shown_base) + ": " + repr_cut(shown));
  };
  ParsedLong r;
  while (i < n && py_space(text[i])) ++i;
  if (at(i) == '+') {
    ++i;
  } else if (at(i) == '-') {
    ++i;
    r.negative = true;
  }
  bool error_if_nonzero = false;
  if (base == 0) {
    char c1 = at(i + 1);
    if (at(i) != '0') base = 10;
    else if (c1 == 'x' || c1 == 'X') base = 16;
    else if (c1 == 'o' || c1 == 'O') base = 8;
    else if (c1 == 'b' || c1 == 'B') base = 2;
    else {
      error_if_nonzero = true;
      base = 10;
    }
  }
  if (at(i) == '0') {
    char c1 = at(i + 1);
    if ((base == 16 && (c1 == 'x' || c1 == 'X')) || (base == 8 && (c1 == 'o' || c1 == 'O')) ||
        (base == 2 && (c1 == 'b' || c1 == 'B'))) {
      i += 2;
      if (at(i) == '_') ++i;
    }
  }
  if (at(i) == '_') invalid(base);
  const size_t start = i;
  char prev = 0;
  size_t ndigits = 0;
  while (i < n && (digit_value(text[i]) < base || text[i] == '_')) {
    if (text[i] == '_') {
      if (prev == '_') invalid(base);
    } else {
      ++ndigits;
    }
    prev = text[i];
    ++i;
  }
  if (prev == '_') invalid(base);
  const bool binary_base = (base & (base - 1)) == 0;
  if (!binary_base && max_digits > 0 && ndigits > max_digits) {
    fail(ErrorCode::ValueError, "Exceeds the limit (" + std::to_string(max_digits) +
                                    " digits) for integer string conversion: value has " +
                                    std::to_string(ndigits) +
                                    " digits; use sys.set_int_max_str_digits() to increase the limit");
  }
  r.digits.reserve(ndigits);
  for (size_t k = start; k < i; ++k)
    if (text[k] != '_') r.digits += text[k];
  r.base = base;
  if (error_if_nonzero) {
    if (r.digits.find_first_not_of('0') != std::string::npos) invalid(0);
    base = 0;  // CPython reports base 0 from here on
  }
  if (i == start) invalid(base);
  while (i < n && py_space(text[i])) ++i;
  if (i != n) invalid(base);
  return r;
}

NodeId make_long(Graph& g, const ParsedLong& p) {
  size_t first = p.digits.find_first_not_of('0');
  std::string_view d = first == std::string::npos ? std::string_view{} : std::string_view(p.digits).substr(first);
  if (d.empty()) return g.integer(0);
  if (p.base == 10) {
    if (d.size() <= 18) {
      int64_t v = 0;
      for (char c : d) v = v * 10 + (c - '0');
      return g.integer(p.negative ? -v : v);
    }
    std::string text;
    text.reserve(d.size() + 1);
    if (p.negative) text += '-';
    text.append(d);
    return g.integer_decimal(text);
  }
  // Power-of-two base: assemble the magnitude's little-endian bytes.
  const int bits = p.base == 16 ? 4 : p.base == 8 ? 3 : 1;
  std::vector<uint8_t> mag;
  mag.reserve(d.size() * static_cast<size_t>(bits) / 8 + 2);
  uint32_t acc = 0;
  int nacc = 0;
  for (size_t k = d.size(); k-- > 0;) {
    acc |= static_cast<uint32_t>(digit_value(d[k])) << nacc;
    nacc += bits;
    while (nacc >= 8) {
      mag.push_back(static_cast<uint8_t>(acc & 0xff));
      acc >>= 8;
      nacc -= 8;
    }
  }
  if (nacc > 0) mag.push_back(static_cast<uint8_t>(acc & 0xff));
  mag.push_back(0);  // sign byte
  if (p.negative) {
    unsigned carry = 1;
    for (auto& b : mag) {
      unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
  }
  return g.integer_le(mag);
}

}  // namespace

NodeId py_long_from_string(Graph& g, std::string_view text, int base, uint32_t max_digits) {
  return make_long(g, parse_py_long(text, base, max_digits));
}

NodeId parse_int_line(Graph& g, std::string_view line, uint32_t max_digits) {
  require_line(line);
  const std::string_view s = c_string(line);
  // strtol(s, &endptr, 0) as glibc does it in the C locale.
  const size_t n = s.size();
  size_t i = 0;
  auto at = [&](size_t k) -> char { return k < n ? s[k] : '\0'; };
  while (i < n && py_space(s[i])) ++i;
  bool neg = false;
  if (at(i) == '+' || at(i) == '-') neg = s[i++] == '-';
  int base = 10;
  if (at(i) == '0') {
    if (at(i + 1) == 'x' || at(i + 1) == 'X') {
      int d = digit_value(at(i + 2));
      if (d < 16) {
        base = 16;
        i += 2;
      } else {
        base = 8;  // "0x" without a hex digit: strtol reads the "0" alone
      }
    } else {
      base = 8;
    }
  }
  const size_t digits_start = i;
  bool overflow = false;
  uint64_t mag = 0;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  while (i < n) {
    int d = digit_value(s[i]);
    if (d >= base) break;
    if (!overflow) {
      if (mag > (limit - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) overflow = true;
      else mag = mag * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    ++i;
  }
  size_t end = i == digits_start ? 0 : i;  // no digits: endptr is the start
  bool ok = !overflow && (end == n || s[end] == '\n');
  if (ok) {
    int64_t x = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    if (line.size() == 3 && (x == 0 || x == 1)) return g.boolean(x == 1);
    return g.integer(x);
  }
  try {
    return py_long_from_string(g, s, 0, max_digits);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::ResourceLimit) throw;
    fail(e.code() == ErrorCode::ValueError ? ErrorCode::ValueError : ErrorCode::BadArgument,
         "could not convert string to int");
  }
}

NodeId parse_long_line(Graph& g, std::string_view line, uint32_t max_digits) {
  require_line(line);
  std::string_view s = line;
  if (s[s.size() - 2] == 'L') s = s.substr(0, s.size() - 2);
  return py_long_from_string(g, c_string(s), 0, max_digits);
}

double parse_float_line(std::string_view line) {
  require_line(line);
  const std::string_view s = c_string(line);
  const size_t n = s.size();
  auto at = [&](size_t k) -> char { return k < n ? s[k] : '\0'; };
  auto quoted = [&](const char* what) {
    fail(ErrorCode::BadArgument, std::string(what) + ": '" + utf8_replace(s.substr(0, std::min<size_t>(n, 200))) + "'");
  };
  size_t i = 0;
  bool neg = false;
  if (at(i) == '+' || at(i) == '-') neg = s[i++] == '-';
  const size_t num_start = i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  size_t dot = std::string_view::npos;
  if (at(i) == '.') {
    dot = i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  double value;
  size_t end;
  if (int_digits + frac_digits == 0) {
    // _Py_parse_inf_or_nan
    auto match = [&](size_t k, const char* word) {
      size_t len = std::strlen(word);
      if (k + len > n) return false;
      for (size_t j = 0; j < len; ++j)
        if ((s[k + j] | 0x20) != word[j]) return false;
      return true;
    };
    size_t k = num_start;
    if (match(k, "inf")) {
      k += 3;
      if (match(k, "inity")) k += 5;
      value = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    } else if (match(k, "nan")) {
      k += 3;
      value = std::copysign(std::numeric_limits<double>::quiet_NaN(), neg ? -1.0 : 1.0);
    } else {
      quoted("could not convert string to float");
    }
    end = k;
  } else {
    int64_t exp10 = 0;
    if (at(i) == 'e' || at(i) == 'E') {
      size_t j = i + 1;
      bool eneg = false;
      if (at(j) == '+' || at(j) == '-') eneg = s[j++] == '-';
      if (j < n && s[j] >= '0' && s[j] <= '9') {
        while (j < n && s[j] >= '0' && s[j] <= '9') {
          if (exp10 < 100'000'000) exp10 = exp10 * 10 + (s[j] - '0');
          ++j;
        }
        if (eneg) exp10 = -exp10;
        i = j;
      }
    }
    end = i;
    double v = 0;
    auto r = std::from_chars(s.data() + num_start, s.data() + end, v);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow or underflow: the decimal exponent of the first significant digit decides.
      int64_t lead = 0;
      bool found = false;
      for (size_t k = num_start; k < end && !found; ++k) {
        if (s[k] == '.') continue;
        if (s[k] == 'e' || s[k] == 'E') break;
        if (s[k] != '0') {
          found = true;
          size_t intpart_end = dot == std::string_view::npos ? num_start + int_digits : dot;
          lead = k < intpart_end ? static_cast<int64_t>(intpart_end - k) : -static_cast<int64_t>(k - intpart_end - 1);
        }
      }
      if (found && lead + exp10 > 0) quoted("value too large to convert to float");
      v = 0.0;
    } else if (r.ec != std::errc() || r.ptr != s.data() + end) {
      quoted("could not convert string to float");
    }
    value = neg ? -v : v;
  }
  if (end != n && s[end] != '\n') fail(ErrorCode::BadArgument, "could not convert string to float");
  return value;
}

int64_t parse_memo_index(std::string_view line, uint32_t max_digits) {
  ParsedLong p = parse_py_long(c_string(line), 10, max_digits);
  size_t first = p.digits.find_first_not_of('0');
  std::string_view d = first == std::string::npos ? std::string_view{} : std::string_view(p.digits).substr(first);
  uint64_t mag = 0;
  const uint64_t limit = p.negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (char c : d) {
    uint64_t dv = static_cast<uint64_t>(c - '0');
    if (mag > (limit - dv) / 10) fail(ErrorCode::BadArgument, "Python int too large to convert to C ssize_t");
    mag = mag * 10 + dv;
  }
  return p.negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
}

}  // namespace pkl::detail
