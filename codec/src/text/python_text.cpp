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
#include "text/bigint.hpp"
#include "base/hex.hpp"

namespace pkl::detail {

void fail(ErrorCode code, std::string message) { throw Error(code, std::move(message)); }
void fail_truncated() { fail(ErrorCode::Truncated, "pickle data was truncated"); }

namespace {

// _PyLong_DigitValue: 0-9, a-z/A-Z as 10-35, everything else 37.
int digit_value(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 37;
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
    append_hex(m, static_cast<uint8_t>(data[start]), 2);
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

std::string int_to_str_limit_text(uint64_t max_digits) {
  return "Exceeds the limit (" + std::to_string(max_digits) +
         " digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit";
}

std::string str_to_int_limit_text(uint64_t max_digits, uint64_t digits) {
  return "Exceeds the limit (" + std::to_string(max_digits) + " digits) for integer string conversion: value has " +
         std::to_string(digits) + " digits; use sys.set_int_max_str_digits() to increase the limit";
}

namespace {

// int()'s "invalid literal" error: "%.200R" of the first 200 characters of
// the text as a str (the unpickler's C string, which must be UTF-8) or of
// the first 200 bytes as bytes (pickletools' int(bytes)).
[[noreturn]] void fail_invalid_literal(std::string_view text, int base, Dialect dialect) {
  std::string_view shown = text.substr(0, std::min<size_t>(text.size(), 200));
  std::string shown_repr;
  if (dialect == Dialect::Pickletools) {
    shown_repr = repr_bytes(shown);  // all ASCII: 200 characters are 200 bytes
    if (shown_repr.size() > 200) shown_repr.resize(200);
  } else {
    if (auto f = utf8_check(shown, false)) fail_utf8(shown, *f);
    shown_repr = repr_cut(shown);
  }
  fail(ErrorCode::BadArgument, "invalid literal for int() with base " + std::to_string(base) + ": " + shown_repr);
}

}  // namespace

// PyLong_FromString's syntax and limits (Objects/longobject.c, 3.11).
ParsedLong parse_py_long(std::string_view text, int base, uint32_t max_digits, Dialect dialect) {
  const size_t n = text.size();
  size_t i = 0;
  auto at = [&](size_t k) -> char { return k < n ? text[k] : '\0'; };
  // int(bytes, base) names the base it was given; PyLong_FromString (the
  // unpickler's str) the one it settled on.
  const int given_base = base;
  auto invalid = [&](int shown_base) {
    fail_invalid_literal(text, dialect == Dialect::Pickletools ? given_base : shown_base, dialect);
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
    fail(dialect == Dialect::Pickletools ? ErrorCode::BadArgument : ErrorCode::ValueError,
         str_to_int_limit_text(max_digits, ndigits));
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

namespace {

// The digits without leading zeros ("" for zero).
std::string_view significant(const ParsedLong& p) {
  size_t first = p.digits.find_first_not_of('0');
  return first == std::string::npos ? std::string_view{} : std::string_view(p.digits).substr(first);
}

NodeId make_long(Graph& g, const ParsedLong& p) {
  std::string_view d = significant(p);
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

namespace {

// _PyOS_ascii_strtod on a prefix of `s`: [sign] (inf | infinity | nan |
// digits [. digits] [e [sign] digits]). `end` is where the number stops (0:
// no number); out of range, `overflow` says which way: the value is then
// infinity, and an underflow is zero, as dtoa rounds.
struct Strtod {
  double value = 0;
  size_t end = 0;
  bool overflow = false;
};

// _Py_parse_inf_or_nan after the sign: the length of "inf", "infinity" or "nan", any case.
size_t inf_or_nan(std::string_view s, bool& nan) {
  auto match = [&](size_t k, std::string_view word) {
    if (k + word.size() > s.size()) return false;
    for (size_t j = 0; j < word.size(); ++j)
      if ((s[k + j] | 0x20) != word[j]) return false;
    return true;
  };
  nan = false;
  if (match(0, "inf")) return match(3, "inity") ? 8 : 3;
  nan = match(0, "nan");
  return nan ? 3 : 0;
}

// Out of range: the decimal exponent of the first significant digit decides.
bool decimal_overflows(std::string_view mantissa, size_t int_digits, int64_t exp10) {
  int64_t place = static_cast<int64_t>(int_digits);  // value ~ 10^(place - 1) at each digit
  for (char c : mantissa) {
    if (c == '.') continue;
    if (c != '0') return place + exp10 > 0;
    --place;
  }
  return false;
}

Strtod ascii_strtod(std::string_view s) {
  const size_t n = s.size();
  auto digit = [&](size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  const size_t num_start = i;
  size_t int_digits = 0, frac_digits = 0;
  while (digit(i)) ++i, ++int_digits;
  if (i < n && s[i] == '.') {
    ++i;
    while (digit(i)) ++i, ++frac_digits;
  }
  Strtod r;
  if (int_digits + frac_digits == 0) {
    bool nan = false;
    const size_t len = inf_or_nan(s.substr(num_start), nan);
    if (len == 0) return r;
    r.value = nan ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    r.value = std::copysign(r.value, neg ? -1.0 : 1.0);
    r.end = num_start + len;
    return r;
  }
  const size_t mantissa_end = i;
  int64_t exp10 = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    bool eneg = false;
    if (j < n && (s[j] == '+' || s[j] == '-')) eneg = s[j++] == '-';
    if (digit(j)) {
      for (; digit(j); ++j)
        if (exp10 < 100'000'000'000LL) exp10 = exp10 * 10 + (s[j] - '0');
      if (eneg) exp10 = -exp10;
      i = j;
    }
  }
  r.end = i;
  double v = 0;
  auto res = std::from_chars(s.data() + num_start, s.data() + i, v, std::chars_format::general);
  if (res.ec == std::errc::result_out_of_range) {
    r.overflow = decimal_overflows(s.substr(num_start, mantissa_end - num_start), int_digits, exp10);
    v = r.overflow ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (res.ec != std::errc() || res.ptr != s.data() + i) {
    r.end = 0;  // (cannot happen: the grammar above is from_chars')
    return r;
  }
  r.value = neg ? -v : v;
  return r;
}

}  // namespace

double parse_float_line(std::string_view line) {
  require_line(line);
  const std::string_view s = c_string(line);
  auto quoted = [&](const char* what) {
    fail(ErrorCode::BadArgument,
         std::string(what) + ": '" + utf8_replace(s.substr(0, std::min<size_t>(s.size(), 200))) + "'");
  };
  // PyOS_string_to_double(s, &endptr, PyExc_OverflowError), then load_float's end check.
  const Strtod r = ascii_strtod(s);
  if (r.end == 0) quoted("could not convert string to float");
  if (r.overflow) quoted("value too large to convert to float");
  if (r.end != s.size() && s[r.end] != '\n') fail(ErrorCode::BadArgument, "could not convert string to float");
  return r.value;
}

double py_float_of_bytes(std::string_view orig) {
  // PyFloat_FromString: whitespace stripped, '_' allowed between digits
  // (_Py_string_to_number_with_underscores), then all of it one number.
  auto invalid = [&]() { fail(ErrorCode::BadArgument, "could not convert string to float: " + repr_bytes(orig)); };
  size_t b = 0, e = orig.size();
  while (b < e && py_space(orig[b])) ++b;
  while (e > b && py_space(orig[e - 1])) --e;
  std::string_view s = orig.substr(b, e - b);
  std::string without;
  if (s.find('_') != std::string_view::npos) {
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    char prev = 0;
    for (char c : s) {
      if (c == '_' ? !is_digit(prev) : prev == '_' && !is_digit(c)) invalid();
      if (c != '_') without += c;
      prev = c;
    }
    if (prev == '_') invalid();
    s = without;
  }
  const Strtod r = ascii_strtod(s);
  if (r.end == 0 || r.end != s.size()) invalid();
  return r.value;
}

std::string py_int_of_bytes(std::string_view bytes) {
  const ParsedLong p = parse_py_long(bytes, 10, kIntMaxStrDigits, Dialect::Pickletools);
  const std::string_view d = significant(p);
  if (d.empty()) return "0";
  std::string out;
  out.reserve(d.size() + 1);
  if (p.negative) out += '-';
  out += d;
  return out;
}

int64_t parse_memo_index(std::string_view line, uint32_t max_digits) {
  ParsedLong p = parse_py_long(c_string(line), 10, max_digits);
  std::string_view d = significant(p);
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
