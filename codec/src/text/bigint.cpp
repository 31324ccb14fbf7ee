#include "text/bigint.hpp"
#include "base/hex.hpp"
#include "text/python_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace pkl::detail {

namespace {

using u128 = unsigned __int128;
using Limbs = std::vector<uint64_t>;  // magnitude, little-endian base 2^64

constexpr uint64_t kTen19 = 10000000000000000000ULL;

// (hi:lo) / d with hi < d: quotient, remainder in *rem.
inline uint64_t div_wide(uint64_t hi, uint64_t lo, uint64_t d, uint64_t* rem) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  uint64_t q, r;
  __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
  *rem = r;
  return q;
#else
  const u128 n = (static_cast<u128>(hi) << 64) | lo;
  *rem = static_cast<uint64_t>(n % d);
  return static_cast<uint64_t>(n / d);
#endif
}

// Minimal two's complement LE bytes of a sign and magnitude.
std::string magnitude_to_le(bool negative, const Limbs& mag) {
  size_t n = mag.size();
  while (n > 0 && mag[n - 1] == 0) --n;
  if (n == 0) return {};
  std::string out(n * 8 + 1, '\0');
  for (size_t i = 0; i < n; ++i) {
    for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<char>((mag[i] >> (8 * b)) & 0xff);
  }
  if (negative) {
    unsigned carry = 1;
    for (auto& c : out) {
      unsigned v = (~static_cast<unsigned>(static_cast<uint8_t>(c)) & 0xffu) + carry;
      c = static_cast<char>(v & 0xff);
      carry = v >> 8;
    }
  }
  auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  out.resize(minimal_le_length(span));
  return out;
}

// Sign and magnitude of a two's complement LE byte string.
bool le_to_magnitude(std::span<const uint8_t> le, Limbs& mag) {
  const bool negative = !le.empty() && (le.back() & 0x80);
  mag.assign((le.size() + 7) / 8, 0);
  unsigned carry = 1;
  for (size_t i = 0; i < le.size(); ++i) {
    unsigned v = le[i];
    if (negative) {
      v = (~v & 0xffu) + carry;
      carry = v >> 8;
      v &= 0xff;
    }
    mag[i / 8] |= static_cast<uint64_t>(v) << (8 * (i % 8));
  }
  while (!mag.empty() && mag.back() == 0) mag.pop_back();
  return negative;
}


}  // namespace

std::string int64_to_le(int64_t v) {
  uint8_t buf[8];
  const auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<uint8_t>(u >> (8 * i));
  size_t n = minimal_le_length(std::span<const uint8_t>(buf, 8));
  return std::string(reinterpret_cast<const char*>(buf), n);
}

size_t minimal_le_length(std::span<const uint8_t> le) noexcept {
  size_t n = le.size();
  if (n == 0) return 0;
  const bool negative = le[n - 1] & 0x80;
  const uint8_t fill = negative ? 0xff : 0x00;
  // Drop a top byte equal to the sign fill while the next byte keeps the sign.
  while (n > 0 && le[n - 1] == fill) {
    if (n == 1) return negative ? 1 : 0;  // -1 stays "\xff"; 0 becomes ""
    if (((le[n - 2] & 0x80) != 0) != negative) break;
    --n;
  }
  return n;
}

int64_t le_to_int64(std::span<const uint8_t> le) noexcept {
  if (le.empty()) return 0;
  uint64_t u = (le.back() & 0x80) ? ~uint64_t{0} : 0;
  for (size_t i = 0; i < le.size() && i < 8; ++i) {
    u &= ~(uint64_t{0xff} << (8 * i));
    u |= uint64_t{le[i]} << (8 * i);
  }
  return static_cast<int64_t>(u);
}

std::optional<std::string> decimal_to_le(std::string_view text) {
  size_t i = 0, end = text.size();
  while (i < end && py_space(text[i])) ++i;
  while (end > i && py_space(text[end - 1])) --end;
  bool negative = false;
  if (i < end && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  // Collect the digits, checking underscore placement.
  std::string digits;
  digits.reserve(end - i);
  bool prev_digit = false;
  for (size_t j = i; j < end; ++j) {
    char c = text[j];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      prev_digit = true;
    } else if (c == '_' && prev_digit && j + 1 < end && text[j + 1] >= '0' && text[j + 1] <= '9') {
      prev_digit = false;
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;

  // Fast path: up to 18 digits fit in uint64.
  if (digits.size() <= 18) {
    uint64_t v = 0;
    for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
    return int64_to_le(negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v));
  }

  // Schoolbook: mag = mag * 10^19 + chunk, chunks of 19 digits from the left.
  Limbs mag;
  mag.reserve(digits.size() / 19 + 2);
  size_t len = digits.size() % 19;
  if (len == 0) len = 19;
  for (size_t pos = 0; pos < digits.size(); pos += len, len = 19) {
    uint64_t chunk = 0, mul = 1;
    for (size_t k = 0; k < len; ++k) {
      chunk = chunk * 10 + static_cast<uint64_t>(digits[pos + k] - '0');
      mul *= 10;
    }
    uint64_t carry = chunk;
    for (auto& limb : mag) {
      const u128 v = static_cast<u128>(limb) * mul + carry;
      limb = static_cast<uint64_t>(v);
      carry = static_cast<uint64_t>(v >> 64);
    }
    if (carry) mag.push_back(carry);
  }
  return magnitude_to_le(negative, mag);
}

std::string le_to_decimal(std::span<const uint8_t> le) {
  if (le.size() <= 8) {
    int64_t v = le_to_int64(le);
    return std::to_string(v);
  }
  Limbs mag;
  const bool negative = le_to_magnitude(le, mag);
  // Repeated division by 10^19, collecting base-10^19 chunks least significant first.
  std::vector<uint64_t> chunks;
  chunks.reserve(mag.size() * 64 / 63 + 2);
  size_t n = mag.size();
  while (n > 0) {
    uint64_t rem = 0;
    for (size_t i = n; i-- > 0;) mag[i] = div_wide(rem, mag[i], kTen19, &rem);
    chunks.push_back(rem);
    while (n > 0 && mag[n - 1] == 0) --n;
  }
  std::string out;
  out.reserve(chunks.size() * 19 + 1);
  if (negative) out.push_back('-');
  out += std::to_string(chunks.back());
  char buf[19];
  for (size_t i = chunks.size() - 1; i-- > 0;) {
    uint64_t c = chunks[i];
    for (int k = 18; k >= 0; --k) {
      buf[k] = static_cast<char>('0' + c % 10);
      c /= 10;
    }
    out.append(buf, 19);
  }
  return out;
}

std::string le_to_hex(std::span<const uint8_t> le) {
  Limbs mag;
  const bool negative = le_to_magnitude(le, mag);
  size_t n = mag.size();
  while (n > 0 && mag[n - 1] == 0) --n;
  if (n == 0) return "0x0";
  std::string out = negative ? "-0x" : "0x";
  out.reserve(out.size() + n * 16);
  bool leading = true;
  for (size_t i = n; i-- > 0;) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      const unsigned d = static_cast<unsigned>(mag[i] >> shift) & 0xf;
      if (leading && d == 0) continue;
      leading = false;
      out += kHexDigits[d];
    }
  }
  return out;
}

bool le_decimal_exceeds(std::span<const uint8_t> le, uint64_t max_digits) {
  if (max_digits == 0 || le.size() <= 8) return false;  // int64 has at most 19 digits
  // |v| < 2^(8 * size), and 2^(8 * size - 9) <= |v| for the minimal form
  // (give or take the sign byte): its digits lie between those two powers'.
  const double log10_2 = 0.30102999566398120;
  const uint64_t bits = 8 * static_cast<uint64_t>(le.size());
  const auto fewest = static_cast<uint64_t>(static_cast<double>(bits - 9) * log10_2) + 1;
  const auto most = static_cast<uint64_t>(static_cast<double>(bits) * log10_2) + 1;
  if (fewest > max_digits + 1) return true;
  if (most <= max_digits) return false;
  const std::string dec = le_to_decimal(le);
  return dec.size() - (dec[0] == '-' ? 1 : 0) > max_digits;
}

std::string le_to_literal(std::span<const uint8_t> le, uint64_t max_digits) {
  return le_decimal_exceeds(le, max_digits) ? le_to_hex(le) : le_to_decimal(le);
}

std::string integral_double_to_le(double d) {
  if (d == 0.0) return {};
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
    return int64_to_le(static_cast<int64_t>(d));
  }
  const bool negative = d < 0;
  int exp = 0;
  double m = std::frexp(std::fabs(d), &exp);  // |d| = m * 2^exp, 0.5 <= m < 1
  auto mant = static_cast<uint64_t>(std::ldexp(m, 53));  // exact: 53 significant bits
  int shift = exp - 53;                                  // >= 11 here
  Limbs mag(static_cast<size_t>(exp / 64 + 2), 0);
  const size_t word = static_cast<size_t>(shift / 64);
  const int bit = shift % 64;
  const u128 wide = static_cast<u128>(mant) << bit;
  mag[word] = static_cast<uint64_t>(wide);
  if (word + 1 < mag.size()) mag[word + 1] = static_cast<uint64_t>(wide >> 64);
  return magnitude_to_le(negative, mag);
}

}  // namespace pkl::detail
