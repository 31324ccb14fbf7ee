// The binary opcodes' arguments, decoded once for the handlers
// (decode/load_*.cpp) and the fast loops (decode/fast_run.cpp): their widths
// come from the generated table (picklecodec/opcodes.hpp, pickletools'
// layouts), their values are read as CPython's calc_binint and calc_binsize
// read them (Modules/_pickle.c), and a number opcode's node bits are made by
// one function, num_bits(). All constexpr or inline: the fast loops pay
// nothing for taking them from here. Internal header.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "picklecodec/opcodes.hpp"
#include "picklecodec/value.hpp"

#define PKL_HOT __attribute__((always_inline)) inline

namespace pkl::detail {

// PY_SSIZE_T_MAX: the largest count calc_binsize accepts.
inline constexpr uint64_t kSsizeMax = uint64_t{INT64_MAX};

// The bytes of an opcode's fixed argument, or of the count in front of a
// counted one (pickletools' markers: -2 one byte, -3/-4 four, -5 eight);
// 0 for an opcode without one or with a text line.
constexpr size_t arg_width(uint8_t code) {
  const OpcodeInfo* info = opcode_info(code);
  switch (info->arg_bytes) {
    case -2: return 1;
    case -3:
    case -4: return 4;
    case -5: return 8;
    default: return info->arg_bytes > 0 ? static_cast<size_t>(info->arg_bytes) : 0;
  }
}
// The same as a constant, and the length of the opcode with it.
template <uint8_t Op>
inline constexpr size_t kWidth = arg_width(Op);
template <uint8_t Op>
inline constexpr size_t kOpLen = 1 + arg_width(Op);

// The little-endian unsigned number of n <= 8 bytes: calc_binsize's value
// (a count or a memo index), and calc_binint's below four bytes.
PKL_HOT uint64_t le(const uint8_t* p, size_t n) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}
// Eight bytes little-endian in one load (the fast loops' argument word).
PKL_HOT uint64_t le8(const uint8_t* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native != std::endian::little) w = __builtin_bswap64(w);
  return w;
}
// le() of a width known at compile time (eight bytes in one load).
template <size_t W>
PKL_HOT uint64_t le_fixed(const uint8_t* p) noexcept {
  if constexpr (W == 8) {
    return le8(p);
  } else {
    return le(p, W);
  }
}
// CPython's calc_binint: four bytes are a signed int, fewer unsigned
// (BININT*, EXT*, LONG1/LONG4's count).
PKL_HOT int64_t calc_binint(const uint8_t* p, size_t n) noexcept {
  const uint64_t v = le(p, n);
  return n == 4 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))) : static_cast<int64_t>(v);
}

// How a number opcode's argument becomes a node (BININT1, BININT2, BININT,
// BINFLOAT, LONG1), from its ArgType in the table: `width` bytes, kept by a
// left shift of `shl` in a 64-bit word, sign-extended or not, or a float.
// LONG1's shl comes from its count (long_shl).
struct NumArg {
  uint8_t width;
  uint8_t shl;
  bool is_signed;
  bool is_float;
  constexpr Kind kind() const noexcept { return is_float ? Kind::Float : Kind::Int; }
};
constexpr NumArg num_arg(uint8_t code) {
  const ArgType t = opcode_info(code)->arg;
  const bool is_float = t == ArgType::Float8, is_long = t == ArgType::Long1 || t == ArgType::Long4;
  const auto w = static_cast<uint8_t>(arg_width(code));
  return {w, static_cast<uint8_t>(is_float || is_long ? 0 : 64 - 8 * w), t == ArgType::Int4 || is_long, is_float};
}
template <uint8_t Op>
inline constexpr NumArg kNumArg = num_arg(Op);
// The shift of a LONG1 or LONG4 of n (1 to 8) bytes.
constexpr unsigned long_shl(uint64_t n) noexcept { return static_cast<unsigned>(64 - 8 * n); }

// The low 64 - shl bits of `word`, sign-extended when is_signed, without a
// branch: an int opcode's value (BININT*, a LONG1/LONG4 of at most 8 bytes).
PKL_HOT uint64_t int_bits(uint64_t word, unsigned shl, bool is_signed) noexcept {
  const uint64_t x = word << shl;
  const uint64_t sx = static_cast<uint64_t>(static_cast<int64_t>(x) >> shl);
  const uint64_t ux = x >> shl;
  return is_signed ? sx : ux;
}
// BINFLOAT's double: its eight bytes big-endian (`word`: them read little-endian).
PKL_HOT uint64_t float_bits(uint64_t word) noexcept { return __builtin_bswap64(word); }
// A number opcode's node bits from its argument read little-endian.
PKL_HOT uint64_t num_bits(NumArg a, uint64_t word) noexcept {
  return a.is_float ? float_bits(word) : int_bits(word, a.shl, a.is_signed);
}

// The number opcodes the fast loops take in runs (scalar_run), with what
// they need to know of each: its length with the opcode (bits 0-7), its
// NumArg's shl (8-15), signed (16), float (17), or LONG1's (18: length and
// shift from its count byte); 0 for every other opcode.
inline constexpr uint32_t kSigned = 1u << 16, kFloat = 1u << 17, kLong = 1u << 18;
constexpr uint32_t scalar_entry(uint8_t code) {
  const NumArg a = num_arg(code);
  if (opcode_info(code)->arg == ArgType::Long1) return kSigned | kLong;
  return (1u + a.width) | (static_cast<uint32_t>(a.shl) << 8) | (a.is_signed ? kSigned : 0) | (a.is_float ? kFloat : 0);
}
inline constexpr std::array<uint32_t, 256> kScalarOps = [] {
  std::array<uint32_t, 256> t{};
  for (const uint8_t c : {op::BININT1, op::BININT2, op::BININT, op::BINFLOAT, op::LONG1}) t[c] = scalar_entry(c);
  return t;
}();
// The NumArg of a kScalarOps entry other than LONG1's.
PKL_HOT NumArg scalar_num_arg(uint32_t e) noexcept {
  return {static_cast<uint8_t>((e & 0xff) - 1), static_cast<uint8_t>((e >> 8) & 0xff), (e & kSigned) != 0,
          (e & kFloat) != 0};
}

static_assert(kWidth<op::BININT> == 4 && kWidth<op::BININT1> == 1 && kWidth<op::BININT2> == 2 &&
              kWidth<op::BINFLOAT> == 8 && kWidth<op::LONG1> == 1 && kWidth<op::LONG4> == 4 &&
              kWidth<op::SHORT_BINUNICODE> == 1 && kWidth<op::BINUNICODE> == 4 && kWidth<op::BINUNICODE8> == 8 &&
              kWidth<op::BINBYTES8> == 8 && kWidth<op::BYTEARRAY8> == 8 && kWidth<op::FRAME> == 8 &&
              kWidth<op::LONG_BINGET> == 4 && kWidth<op::EXT2> == 2);
static_assert(kNumArg<op::BININT>.is_signed && !kNumArg<op::BININT2>.is_signed && kNumArg<op::BININT1>.shl == 56 &&
              kNumArg<op::BINFLOAT>.is_float && kNumArg<op::LONG1>.is_signed);

}  // namespace pkl::detail
