// The disassembler: pickletools.dis, byte for byte (CPython 3.11's
// Lib/pickletools.py), without Python. Each argument reader mirrors the
// pickletools reader of the same name, including the exceptions it raises
// (and the exact words of the int(), float(), codecs and UnicodeDecodeError
// messages behind them).
#include "picklecodec/dis.hpp"
#include "text/bigint.hpp"
#include "text/latin1.hpp"
#include "text/utf8_valid.hpp"
#include "text/utf8.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/repr.hpp"
#include "base/foreign.hpp"

namespace pkl {
namespace {

// ---- pickletools' stack objects and stack effects -------------------------
// Both come from the generated opcode table (opcodes.hpp), the one source of
// truth; the stack holds StackObj values as bytes.

constexpr uint8_t kMark = static_cast<uint8_t>(StackObj::Mark);
constexpr uint8_t kAny = static_cast<uint8_t>(StackObj::Any);

const char* so_name(uint8_t so) { return kStackObjNames[so]; }

struct Effect {
  bool known = false;
  uint8_t nbefore = 0;
  std::array<uint8_t, 3> before{};
  uint8_t nafter = 0;
  std::array<uint8_t, 2> after{};
};

Effect effect_of(uint8_t code) {
  Effect e;
  const OpcodeInfo* info = opcode_info(code);
  if (!info) return e;
  e.known = true;
  e.nbefore = info->n_before;
  e.nafter = info->n_after;
  for (size_t i = 0; i < e.before.size(); ++i) e.before[i] = static_cast<uint8_t>(info->before[i]);
  for (size_t i = 0; i < e.after.size(); ++i) e.after[i] = static_cast<uint8_t>(info->after[i]);
  return e;
}

// ---- small helpers ---------------------------------------------------------

bool py_isspace(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex2(uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string{'0', 'x', kHex[b >> 4], kHex[b & 15]};
}

// Python's "%.200R": the repr cut to 200 characters (all ASCII here).
std::string repr200(std::string_view bytes) {
  std::string r = repr_bytes(bytes.substr(0, std::min<size_t>(bytes.size(), 200)));
  if (r.size() > 200) r.resize(200);
  return r;
}

constexpr uint64_t kMaxStrDigits = detail::kIntMaxStrDigits;

std::string exceeds_to_int(size_t digits) {
  return "Exceeds the limit (" + std::to_string(kMaxStrDigits) +
         " digits) for integer string conversion: value has " + std::to_string(digits) +
         " digits; use sys.set_int_max_str_digits() to increase the limit";
}
const std::string& exceeds_to_str() {
  static const std::string msg = "Exceeds the limit (" + std::to_string(kMaxStrDigits) +
                                 " digits) for integer string conversion; use "
                                 "sys.set_int_max_str_digits() to increase the limit";
  return msg;
}

// The fault being reported: code and message; the caller adds the position.
struct Fault {
  ErrorCode code;
  std::string message;
};

// int(b) for bytes b, base 10, as CPython 3.11 (_PyLong_FromBytes +
// PyLong_FromString): returns the canonical decimal text, or a Fault.
std::optional<Fault> py_int(std::string_view s, std::string& out) {
  auto invalid = [&]() {
    return Fault{ErrorCode::BadArgument,
                 "invalid literal for int() with base 10: " + repr200(s)};
  };
  // PyLong_FromString reads a C string: it stops at a NUL byte.
  size_t n = s.size();
  size_t i = 0;
  while (i < n && py_isspace(static_cast<uint8_t>(s[i]))) ++i;
  bool negative = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (i < n && s[i] == '_') return invalid();
  size_t digits = 0;
  char prev = 0;
  std::string text;
  while (i < n && (is_digit(static_cast<uint8_t>(s[i])) || s[i] == '_')) {
    if (s[i] == '_') {
      if (prev == '_') return invalid();
    } else {
      ++digits;
      if (!(text.empty() && s[i] == '0')) text += s[i];
    }
    prev = s[i];
    ++i;
  }
  if (prev == '_') return invalid();
  if (digits > kMaxStrDigits)
    return Fault{ErrorCode::BadArgument, exceeds_to_int(digits)};
  if (digits == 0) return invalid();
  while (i < n && py_isspace(static_cast<uint8_t>(s[i]))) ++i;
  if (i != n) return invalid();
  if (text.empty()) {
    out = "0";
  } else {
    out = negative ? "-" + text : text;
  }
  return std::nullopt;
}

// float(b) for bytes b, as CPython 3.11's PyFloat_FromString: returns the
// value, or a Fault.
std::optional<Fault> py_float(std::string_view orig, double& value) {
  auto invalid = [&]() {
    return Fault{ErrorCode::BadArgument, "could not convert string to float: " + repr_bytes(orig)};
  };
  size_t b = 0, e = orig.size();
  while (b < e && py_isspace(static_cast<uint8_t>(orig[b]))) ++b;
  while (e > b + 1 && py_isspace(static_cast<uint8_t>(orig[e - 1]))) --e;
  std::string s(orig.substr(b, e - b));
  if (s.find('_') != std::string::npos) {
    // _Py_string_to_number_with_underscores: '_' only between two digits.
    std::string dup;
    char prev = 0;
    for (char c : s) {
      if (c == '_') {
        if (!is_digit(static_cast<uint8_t>(prev))) return invalid();
      } else {
        if (prev == '_' && !is_digit(static_cast<uint8_t>(c))) return invalid();
        dup += c;
      }
      prev = c;
    }
    if (prev == '_') return invalid();
    s = std::move(dup);
  }
  // _PyOS_ascii_strtod: [sign] (inf | infinity | nan | decimal), all consumed.
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  std::string rest = s.substr(i);
  std::string lower;
  for (char c : rest) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "inf" || lower == "infinity") {
    value = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return std::nullopt;
  }
  if (lower == "nan") {
    value = negative ? -std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
  }
  // digits [. digits] [e [sign] digits], at least one mantissa digit.
  size_t k = 0, m = rest.size();
  size_t int_digits = 0, frac_digits = 0;
  while (k < m && is_digit(static_cast<uint8_t>(rest[k]))) ++k, ++int_digits;
  if (k < m && rest[k] == '.') {
    ++k;
    while (k < m && is_digit(static_cast<uint8_t>(rest[k]))) ++k, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return invalid();
  size_t mantissa_end = k;
  if (k < m && (rest[k] == 'e' || rest[k] == 'E')) {
    size_t q = k + 1;
    if (q < m && (rest[q] == '+' || rest[q] == '-')) ++q;
    size_t exp_digits = 0;
    while (q < m && is_digit(static_cast<uint8_t>(rest[q]))) ++q, ++exp_digits;
    if (exp_digits == 0) return invalid();
    k = q;
  }
  if (k != m) return invalid();
  double v = 0;
  auto res = std::from_chars(rest.data(), rest.data() + m, v, std::chars_format::general);
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow gives infinity, underflow zero (as dtoa). Decide by the
    // decimal magnitude: position of the first nonzero digit + exponent.
    long long first_nonzero = std::numeric_limits<long long>::min();
    long long pos = static_cast<long long>(int_digits);  // digits before the point
    long long idx = 0;
    for (size_t t = 0; t < mantissa_end; ++t) {
      if (rest[t] == '.') continue;
      if (rest[t] != '0') {
        first_nonzero = pos - idx;  // value ~ 10^(first_nonzero-1)
        break;
      }
      ++idx;
    }
    long long exp = 0;
    if (mantissa_end < m) {
      size_t q = mantissa_end + 1;
      bool eneg = false;
      if (rest[q] == '+' || rest[q] == '-') eneg = rest[q++] == '-';
      for (; q < m; ++q) {
        if (exp < 100'000'000'000LL) exp = exp * 10 + (rest[q] - '0');
      }
      if (eneg) exp = -exp;
    }
    bool overflow = first_nonzero != std::numeric_limits<long long>::min() && first_nonzero + exp > 0;
    v = overflow ? std::numeric_limits<double>::infinity() : 0.0;
  } else if (res.ec != std::errc() || res.ptr != rest.data() + m) {
    return invalid();
  }
  value = negative ? -v : v;
  return std::nullopt;
}

// codecs.escape_decode (CPython 3.11 _PyBytes_DecodeEscape, strict).
std::optional<Fault> escape_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    char c = s[i];
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= n) return Fault{ErrorCode::BadArgument, "Trailing \\ in string"};
    char c2 = s[i + 1];
    switch (c2) {
      case '\n': i += 2; break;
      case '\\': out += '\\'; i += 2; break;
      case '\'': out += '\''; i += 2; break;
      case '"': out += '"'; i += 2; break;
      case 'b': out += '\b'; i += 2; break;
      case 'f': out += '\f'; i += 2; break;
      case 't': out += '\t'; i += 2; break;
      case 'n': out += '\n'; i += 2; break;
      case 'r': out += '\r'; i += 2; break;
      case 'v': out += '\v'; i += 2; break;
      case 'a': out += '\a'; i += 2; break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        unsigned v = static_cast<unsigned>(c2 - '0');
        size_t j = i + 2;
        if (j < n && s[j] >= '0' && s[j] <= '7') {
          v = (v << 3) + static_cast<unsigned>(s[j++] - '0');
          if (j < n && s[j] >= '0' && s[j] <= '7') v = (v << 3) + static_cast<unsigned>(s[j++] - '0');
        }
        out += static_cast<char>(v & 0xff);
        i = j;
        break;
      }
      case 'x': {
        int d1 = i + 2 < n ? hex_value(static_cast<uint8_t>(s[i + 2])) : -1;
        int d2 = i + 3 < n ? hex_value(static_cast<uint8_t>(s[i + 3])) : -1;
        if (d1 < 0 || d2 < 0)
          return Fault{ErrorCode::BadArgument, "invalid \\x escape at position " + std::to_string(i)};
        out += static_cast<char>((d1 << 4) | d2);
        i += 4;
        break;
      }
      default:
        out += '\\';
        i += 1;  // the next character is copied as an ordinary one
        break;
    }
  }
  return std::nullopt;
}

// bytes.decode("ascii") (strict): the first byte >= 0x80 is the error.
std::optional<Fault> ascii_check(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c >= 0x80)
      return Fault{ErrorCode::BadArgument, "'ascii' codec can't decode byte " + hex2(c) +
                                               " in position " + std::to_string(i) +
                                               ": ordinal not in range(128)"};
  }
  return std::nullopt;
}

std::string decode_error(const char* codec, std::string_view data, size_t start, size_t end,
                         const char* reason) {
  if (end == start + 1 && start < data.size())
    return std::string("'") + codec + "' codec can't decode byte " +
           hex2(static_cast<uint8_t>(data[start])) + " in position " + std::to_string(start) + ": " +
           reason;
  return std::string("'") + codec + "' codec can't decode bytes in position " +
         std::to_string(start) + "-" + std::to_string(end - 1) + ": " + reason;
}

// str(data, 'utf-8', 'surrogatepass'): checks it decodes (text/utf8_valid.hpp);
// the text is then `data` itself (surrogatepass UTF-8 is what repr_str takes).
std::optional<Fault> utf8_surrogatepass_check(std::string_view s) {
  if (auto f = text::utf8_check(s, true))
    return Fault{ErrorCode::BadArgument, decode_error("utf-8", s, f->start, f->end, f->reason)};
  return std::nullopt;
}

// str(data, 'raw-unicode-escape') as surrogatepass UTF-8.
std::optional<Fault> raw_unicode_escape(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c != '\\') {
      append_utf8(out, c);
      ++i;
      continue;
    }
    // A run of backslashes: \u and \U count only after an odd number.
    size_t run_start = i;
    while (i < n && s[i] == '\\') {
      out += '\\';
      ++i;
    }
    if (((i - run_start) & 1) == 0 || i >= n || (s[i] != 'u' && s[i] != 'U')) continue;
    out.pop_back();
    size_t start = i - 1;
    int count = s[i] == 'u' ? 4 : 8;
    const char* truncated = s[i] == 'u' ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape";
    ++i;
    uint32_t cp = 0;
    for (; count > 0; --count, ++i) {
      int d = i < n ? hex_value(static_cast<uint8_t>(s[i])) : -1;
      if (d < 0)
        return Fault{ErrorCode::BadArgument, decode_error("rawunicodeescape", s, start, i, truncated)};
      cp = (cp << 4) | static_cast<uint32_t>(d);
    }
    if (cp > 0x10ffff)
      return Fault{ErrorCode::BadArgument,
                   decode_error("rawunicodeescape", s, start, i, "\\Uxxxxxxxx out of range")};
    append_utf8(out, cp);
  }
  return std::nullopt;
}

// Decimal text of a little-endian two's complement integer (pickle's
// decode_long); nullopt when it has more than kMaxStrDigits digits (repr()
// then raises).
std::optional<std::string> long_le_decimal(std::string_view le) {
  size_t n = le.size();
  if (n == 0) return std::string("0");
  bool negative = (static_cast<uint8_t>(le[n - 1]) & 0x80) != 0;
  // Magnitude bytes, little-endian.
  std::vector<uint8_t> mag(n);
  if (negative) {
    unsigned carry = 1;
    for (size_t i = 0; i < n; ++i) {
      unsigned v = (~static_cast<uint8_t>(le[i]) & 0xffu) + carry;
      mag[i] = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  } else {
    for (size_t i = 0; i < n; ++i) mag[i] = static_cast<uint8_t>(le[i]);
  }
  while (!mag.empty() && mag.back() == 0) mag.pop_back();
  if (mag.empty()) return std::string("0");
  // 4300 digits need at most 14285 bits: anything longer is over the limit.
  if (mag.size() > 1800) return std::nullopt;
  // Base 2^32 limbs, most significant first, then repeated division by 10^9.
  std::vector<uint32_t> limbs((mag.size() + 3) / 4, 0);
  for (size_t i = 0; i < mag.size(); ++i) limbs[limbs.size() - 1 - i / 4] |= uint32_t{mag[i]} << (8 * (i % 4));
  std::vector<uint32_t> chunks;  // base 10^9, least significant first
  size_t first = 0;
  while (first < limbs.size()) {
    uint64_t rem = 0;
    for (size_t i = first; i < limbs.size(); ++i) {
      uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 1'000'000'000u);
      rem = cur % 1'000'000'000u;
    }
    chunks.push_back(static_cast<uint32_t>(rem));
    while (first < limbs.size() && limbs[first] == 0) ++first;
  }
  std::string text = std::to_string(chunks.back());
  for (size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    text.append(9 - part.size(), '0');
    text += part;
  }
  if (text.size() > kMaxStrDigits) return std::nullopt;
  return negative ? "-" + text : text;
}

// ---- the walker ---------------------------------------------------------------

struct Arg {
  bool present = false;
  std::string repr;          // repr(arg)
  bool repr_fails = false;   // repr(arg) raises (an int over the digit limit)
  std::string memo_key;      // for PUT/GET family: the int key, canonical
};

class Disassembler {
 public:
  Disassembler(std::span<const uint8_t> data, std::ostream& out, const DisOptions& options)
      : data_(data), out_(out), options_(options) {}

  uint64_t run();

 private:
  [[noreturn]] void fail(ErrorCode code, std::string message, int64_t offset, int opcode) {
    out_.flush();
    throw Error(code, std::move(message), offset, opcode);
  }
  [[noreturn]] void fail_arg(const Fault& f) { fail(f.code, f.message, op_pos_, op_code_); }
  [[noreturn]] void truncated(std::string message) {
    fail(ErrorCode::Truncated, std::move(message), op_pos_, op_code_);
  }

  size_t remaining() const { return data_.size() - pos_; }
  std::string_view take(size_t n) {
    std::string_view v(reinterpret_cast<const char*>(data_.data()) + pos_, n);
    pos_ += n;
    return v;
  }
  // f.read(k) for a fixed-width little-endian integer.
  void read_fixed(size_t k, uint64_t& v, const char* what) {
    if (remaining() < k) {
      pos_ = data_.size();
      truncated(std::string("not enough data in stream to read ") + what);
    }
    v = 0;
    for (size_t i = 0; i < k; ++i) v |= uint64_t{data_[pos_ + i]} << (8 * i);
    pos_ += k;
  }
  // f.readline() that must end with a newline; returns the line without it.
  std::string_view read_line(const char* what) {
    const uint8_t* begin = data_.data() + pos_;
    const void* nl = std::memchr(begin, '\n', remaining());
    if (!nl) {
      pos_ = data_.size();
      truncated(std::string("no newline found when trying to read ") + what);
    }
    size_t len = static_cast<size_t>(static_cast<const uint8_t*>(nl) - begin);
    std::string_view line = take(len);
    pos_ += 1;
    return line;
  }
  // read_stringnl(f, decode=True, stripquotes): the decoded text (ASCII).
  std::string read_stringnl(bool stripquotes) {
    std::string_view data = read_line("stringnl");
    if (stripquotes) {
      bool found = false;
      for (char q : {'"', '\''}) {
        if (!data.empty() && data.front() == q) {
          if (data.back() != q) {
            fail_arg(Fault{ErrorCode::BadArgument, "strinq quote " + repr_bytes(std::string_view(&q, 1)) +
                                                       " not found at both ends of " + repr_bytes(data)});
          }
          data = data.size() >= 2 ? data.substr(1, data.size() - 2) : std::string_view{};
          found = true;
          break;
        }
      }
      if (!found) fail_arg(Fault{ErrorCode::BadArgument, "no string quotes around " + repr_bytes(data)});
    }
    std::string decoded;
    if (auto f = escape_decode(data, decoded)) fail_arg(*f);
    if (auto f = ascii_check(decoded)) fail_arg(*f);
    return decoded;
  }
  // A counted payload: n bytes must remain.
  std::string_view read_counted(uint64_t n, const char* what) {
    if (n > remaining()) {
      size_t have = remaining();
      pos_ = data_.size();
      truncated("expected " + std::to_string(n) + " bytes in a " + what + ", but only " +
                std::to_string(have) + " remain");
    }
    return take(static_cast<size_t>(n));
  }

  Arg read_arg(const OpcodeInfo& info);
  void emit_line(const std::string& line) {
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.put('\n');
  }

  std::span<const uint8_t> data_;
  std::ostream& out_;
  DisOptions options_;
  size_t pos_ = 0;
  int64_t op_pos_ = 0;
  int op_code_ = Error::kNoOpcode;
};

Arg Disassembler::read_arg(const OpcodeInfo& info) {
  Arg a;
  a.present = info.arg != ArgType::None;
  uint64_t v = 0;
  switch (info.arg) {
    case ArgType::None:
      break;
    case ArgType::Uint1:
      read_fixed(1, v, "uint1");
      a.repr = std::to_string(v);
      a.memo_key = a.repr;
      break;
    case ArgType::Uint2:
      read_fixed(2, v, "uint2");
      a.repr = std::to_string(v);
      break;
    case ArgType::Int4:
      read_fixed(4, v, "int4");
      a.repr = std::to_string(static_cast<int32_t>(static_cast<uint32_t>(v)));
      break;
    case ArgType::Uint4:
      read_fixed(4, v, "uint4");
      a.repr = std::to_string(v);
      a.memo_key = a.repr;
      break;
    case ArgType::Uint8:
      read_fixed(8, v, "uint8");
      a.repr = std::to_string(v);
      break;
    case ArgType::Float8: {
      read_fixed(8, v, "float8");
      // Big-endian on the wire: the bytes read little-endian are reversed.
      uint64_t be = 0;
      for (int i = 0; i < 8; ++i) be = (be << 8) | ((v >> (8 * i)) & 0xff);
      double d;
      std::memcpy(&d, &be, sizeof d);
      a.repr = repr_float(d);
      break;
    }
    case ArgType::Stringnl:
      a.repr = repr_str(read_stringnl(true));
      break;
    case ArgType::StringnlNoescape:
      a.repr = repr_str(read_stringnl(false));
      break;
    case ArgType::StringnlNoescapePair: {
      std::string first = read_stringnl(false);
      std::string second = read_stringnl(false);
      a.repr = repr_str(first + " " + second);
      break;
    }
    case ArgType::String1: {
      read_fixed(1, v, "uint1");
      a.repr = repr_str(detail::latin1_to_utf8(read_counted(v, "string1")));
      break;
    }
    case ArgType::String4: {
      read_fixed(4, v, "int4");
      auto n = static_cast<int32_t>(static_cast<uint32_t>(v));
      if (n < 0) fail_arg(Fault{ErrorCode::BadArgument, "string4 byte count < 0: " + std::to_string(n)});
      a.repr = repr_str(detail::latin1_to_utf8(read_counted(static_cast<uint64_t>(n), "string4")));
      break;
    }
    case ArgType::Bytes1:
      read_fixed(1, v, "uint1");
      a.repr = repr_bytes(read_counted(v, "bytes1"));
      break;
    case ArgType::Bytes4:
      read_fixed(4, v, "uint4");
      a.repr = repr_bytes(read_counted(v, "bytes4"));
      break;
    case ArgType::Bytes8:
    case ArgType::Bytearray8: {
      const bool ba = info.arg == ArgType::Bytearray8;
      const char* what = ba ? "bytearray8" : "bytes8";
      read_fixed(8, v, "uint8");
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail_arg(Fault{ErrorCode::BadArgument, std::string(what) + " byte count > sys.maxsize: " + std::to_string(v)});
      a.repr = repr_bytes(read_counted(v, what), ba);
      break;
    }
    case ArgType::Unicodestringnl: {
      std::string_view line = read_line("unicodestringnl");
      std::string text;
      if (auto f = raw_unicode_escape(line, text)) fail_arg(*f);
      a.repr = repr_str(text);
      break;
    }
    case ArgType::Unicodestring1:
    case ArgType::Unicodestring4:
    case ArgType::Unicodestring8: {
      const char* what = "unicodestring1";
      if (info.arg == ArgType::Unicodestring1) {
        read_fixed(1, v, "uint1");
      } else if (info.arg == ArgType::Unicodestring4) {
        what = "unicodestring4";
        read_fixed(4, v, "uint4");
      } else {
        what = "unicodestring8";
        read_fixed(8, v, "uint8");
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail_arg(Fault{ErrorCode::BadArgument, "unicodestring8 byte count > sys.maxsize: " + std::to_string(v)});
      }
      std::string_view text = read_counted(v, what);
      if (auto f = utf8_surrogatepass_check(text)) fail_arg(*f);
      a.repr = repr_str(text);
      break;
    }
    case ArgType::DecimalnlShort: {
      std::string_view s = read_line("stringnl");
      if (s == "00" || s == "01") {
        a.repr = s == "00" ? "False" : "True";
        a.memo_key = s == "00" ? "0" : "1";
        break;
      }
      if (auto f = py_int(s, a.repr)) fail_arg(*f);
      a.memo_key = a.repr;
      break;
    }
    case ArgType::DecimalnlLong: {
      std::string_view s = read_line("stringnl");
      if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
      if (auto f = py_int(s, a.repr)) fail_arg(*f);
      break;
    }
    case ArgType::Floatnl: {
      std::string_view s = read_line("stringnl");
      double d = 0;
      if (auto f = py_float(s, d)) fail_arg(*f);
      a.repr = repr_float(d);
      break;
    }
    case ArgType::Long1:
    case ArgType::Long4: {
      const bool four = info.arg == ArgType::Long4;
      const char* what = four ? "long4" : "long1";
      uint64_t n = 0;
      if (four) {
        read_fixed(4, v, "int4");
        auto sn = static_cast<int32_t>(static_cast<uint32_t>(v));
        if (sn < 0) fail_arg(Fault{ErrorCode::BadArgument, "long4 byte count < 0: " + std::to_string(sn)});
        n = static_cast<uint64_t>(sn);
      } else {
        read_fixed(1, v, "uint1");
        n = v;
      }
      if (n > remaining()) {
        pos_ = data_.size();
        truncated(std::string("not enough data in stream to read ") + what);
      }
      auto text = long_le_decimal(take(static_cast<size_t>(n)));
      if (text) {
        a.repr = std::move(*text);
      } else {
        a.repr_fails = true;
      }
      break;
    }
  }
  return a;
}

uint64_t Disassembler::run() {
  if (options_.start > data_.size()) options_.start = data_.size();
  pos_ = static_cast<size_t>(options_.start);
  const std::string indentchunk(static_cast<size_t>(std::max(0, options_.indentlevel)), ' ');
  std::vector<uint8_t> stack;              // pickletools' crude stack (stack objects)
  std::unordered_map<std::string, uint8_t> memo;  // int key -> stack object
  std::vector<int64_t> markstack;          // positions of the open MARKs
  int maxproto = -1;
  std::string line;
  char prefix[32];

  for (;;) {
    op_pos_ = static_cast<int64_t>(pos_);
    op_code_ = Error::kNoOpcode;
    if (pos_ >= data_.size()) fail(ErrorCode::Truncated, "pickle exhausted before seeing STOP", op_pos_, Error::kNoOpcode);
    const uint8_t code = data_[pos_++];
    op_code_ = code;
    const OpcodeInfo* info = opcode_info(code);
    if (!info) {
      char c = static_cast<char>(code);
      fail(ErrorCode::BadOpcode,
           "at position " + std::to_string(op_pos_) + ", opcode " + repr_bytes(std::string_view(&c, 1)) + " unknown",
           op_pos_, code);
    }
    Arg arg = read_arg(*info);
    const Effect eff = effect_of(code);

    int plen = std::snprintf(prefix, sizeof prefix, "%5lld: ", static_cast<long long>(op_pos_));
    out_.write(prefix, plen);

    line.clear();
    {
      char c = static_cast<char>(code);
      std::string r = repr_str(detail::latin1_to_utf8(std::string_view(&c, 1)));
      std::string codetext = r.substr(1, r.size() - 2);
      line += codetext;
      if (codetext.size() < 4) line.append(4 - codetext.size(), ' ');  // all ASCII
      line += ' ';
    }
    for (size_t i = 0; i < markstack.size(); ++i) line += indentchunk;
    line += info->name;

    maxproto = std::max(maxproto, static_cast<int>(info->proto));
    int numtopop = eff.nbefore;
    int mark_index = -1;
    for (int i = 0; i < eff.nbefore; ++i)
      if (eff.before[static_cast<size_t>(i)] == kMark) {
        mark_index = i;
        break;
      }

    std::string markmsg;
    std::optional<std::pair<ErrorCode, std::string>> errormsg;
    if (mark_index >= 0 || (code == op::POP && !stack.empty() && stack.back() == kMark)) {
      if (!markstack.empty()) {
        int64_t markpos = markstack.back();
        markstack.pop_back();
        markmsg = "(MARK at " + std::to_string(markpos) + ")";
        while (!stack.empty() && stack.back() != kMark) stack.pop_back();
        if (stack.empty()) {
          // pickletools' `stack[-1]` on an emptied list.
          fail(ErrorCode::StackUnderflow, "list index out of range", op_pos_, code);
        }
        stack.pop_back();
        numtopop = mark_index >= 0 ? mark_index : 0;
      } else {
        markmsg = "no MARK exists on stack";
        errormsg = {ErrorCode::NoMark, markmsg};
      }
    }

    if (code == op::PUT || code == op::BINPUT || code == op::LONG_BINPUT || code == op::MEMOIZE) {
      std::string key;
      std::string arg_repr_for_msg;
      if (code == op::MEMOIZE) {
        key = std::to_string(memo.size());
        markmsg = "(as " + key + ")";
        arg_repr_for_msg = "None";
      } else {
        key = arg.memo_key;
        arg_repr_for_msg = arg.repr;
      }
      if (memo.count(key)) {
        errormsg = {ErrorCode::ValueError, "memo key " + arg_repr_for_msg + " already defined"};
      } else if (stack.empty()) {
        errormsg = {ErrorCode::ValueError, "stack is empty -- can't store into memo"};
      } else if (stack.back() == kMark) {
        errormsg = {ErrorCode::ValueError, "can't store markobject in the memo"};
      } else {
        memo.emplace(std::move(key), stack.back());
      }
    }
    uint8_t got = kAny;
    bool is_get = code == op::GET || code == op::BINGET || code == op::LONG_BINGET;
    if (is_get) {
      auto it = memo.find(arg.memo_key);
      if (it != memo.end()) {
        got = it->second;
      } else {
        errormsg = {ErrorCode::MemoMissing, "memo key " + arg.repr + " has never been stored into"};
      }
    }

    if (arg.present || !markmsg.empty()) {
      size_t namelen = std::strlen(info->name);
      if (namelen < 10) line.append(10 - namelen, ' ');
      if (arg.present) {
        if (arg.repr_fails) fail(ErrorCode::ValueError, exceeds_to_str(), op_pos_, code);
        line += ' ';
        line += arg.repr;
      }
      if (!markmsg.empty()) {
        line += ' ';
        line += markmsg;
      }
    }
    emit_line(line);

    if (errormsg) fail(errormsg->first, errormsg->second, op_pos_, code);

    if (stack.size() < static_cast<size_t>(numtopop))
      fail(ErrorCode::StackUnderflow,
           "tries to pop " + std::to_string(numtopop) + " items from stack with only " +
               std::to_string(stack.size()) + " items",
           op_pos_, code);
    stack.resize(stack.size() - static_cast<size_t>(numtopop));
    if (code == op::MARK) markstack.push_back(op_pos_);
    if (is_get) {
      stack.push_back(got);
    } else {
      for (int i = 0; i < eff.nafter; ++i) stack.push_back(eff.after[static_cast<size_t>(i)]);
    }
    if (code == op::STOP) break;
  }

  std::string last = "highest protocol among opcodes = " + std::to_string(maxproto);
  emit_line(last);
  if (!stack.empty()) {
    std::string msg = "stack not empty after STOP: [";
    for (size_t i = 0; i < stack.size(); ++i) {
      if (i) msg += ", ";
      msg += so_name(stack[i]);
    }
    msg += "]";
    fail(ErrorCode::ValueError, std::move(msg), op_pos_, op::STOP);
  }
  out_.flush();
  return pos_;
}

}  // namespace

uint64_t disassemble(std::span<const uint8_t> data, std::ostream& out, const DisOptions& options) {
  Disassembler d(data, out, options);
  return detail::as_error([&] { return d.run(); });
}

namespace detail {
std::string dis_stack_effect(uint8_t code) {
  Effect e = effect_of(code);
  if (!e.known) return {};
  std::string s;
  for (int i = 0; i < e.nbefore; ++i) {
    if (i) s += ',';
    s += so_name(e.before[static_cast<size_t>(i)]);
  }
  s += "->";
  for (int i = 0; i < e.nafter; ++i) {
    if (i) s += ',';
    s += so_name(e.after[static_cast<size_t>(i)]);
  }
  return s;
}
}  // namespace detail

}  // namespace pkl
