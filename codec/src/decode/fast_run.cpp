// The decoder's fast loops: scalar_run over runs of numbers and fast_run_*
// over the hot opcodes (decode/fast_run.inc, compiled twice: generic and
// SSSE3). They decode what the handlers (decode/load_*.cpp) decode, through
// the same cores (decode/opcode_args.hpp for arguments and number bits,
// Machine's inline cores for the stack, marks, memo and strs), without a
// call, an allocation or an error: whatever needs one is left to the handler.
// pkl::tuning turns them off; fuzz/fuzz_decode_paths.cpp requires the same
// graph or error either way.
#include <array>
#include <bit>
#include <cstring>

#include "base/tuning.hpp"
#include "decode/machine.hpp"
#include "text/utf8_simd.hpp"

namespace pkl::detail {

namespace {

// scalar_run's output: the node slots and the stack, written at k.
struct ScalarWriter {
  GraphAccess::ScalarOut out;
  NodeId* sp;
  size_t k = 0;
  PKL_HOT void put(Kind kind, uint64_t bits) noexcept {
    GraphAccess::write_scalar(out, k, kind, bits);
    sp[k] = out.first + static_cast<NodeId>(k);
    ++k;
  }
};

// A run of one opcode (a list of floats, or of small ints), which is at p:
// a loop that steps by that opcode's fixed length, so the branch on the
// next opcode is predicted and the next address does not wait for the load
// of this opcode. Up to `room` numbers in all, while 10 bytes can be read.
inline void run_same(const uint8_t*& p, const uint8_t* lim, size_t room, ScalarWriter& w) noexcept {
  const uint8_t c0 = *p;
  const NumArg a = scalar_num_arg(kScalarOps[c0]);
  const size_t len = 1 + a.width;
  while (w.k < room && lim - p >= 10 && *p == c0) {
    w.put(a.kind(), num_bits(a, le8(p + 1)));
    p += len;
  }
}

// A number's bits in a mixed run, without a branch on which opcode it is:
// kScalarOps entry `e`, its argument's words from the byte after the opcode
// (w1) and the byte after that (w2, LONG1's after its count), the shift.
PKL_HOT uint64_t mixed_bits(uint32_t e, uint64_t w1, uint64_t w2, unsigned shl) noexcept {
  const uint64_t w = (e & kLong) ? w2 : w1;
  const uint64_t ints = int_bits(w, shl, (e & kSigned) != 0);
  return (e & kFloat) ? float_bits(w1) : ints;
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#define PKL_SCALAR_SSE2 1

// The bytes next_offsets() covers at once.
constexpr ptrdiff_t kNextBlock = 64;
// next_offsets()'s mark of a position that is not a number scalar_run()
// takes (never a position: they are below kNextBlock + 11).
constexpr uint8_t kNotScalar = 0xff;

__m128i splat(size_t v) noexcept { return _mm_set1_epi8(static_cast<char>(v)); }

// For each position i of [0, kNextBlock) of `blk`, as if an opcode were
// there: next[i], i + the opcode's length when it is one the mixed loop of
// scalar_run() takes (kOpLen of BININT1, BININT2, BININT, BINFLOAT; LONG1
// of a count of 1 to 8: kOpLen + the count), else kNotScalar; shl[i], its
// NumArg's shl (LONG1: long_shl of the count). 16 positions at a time;
// reads kNextBlock + 1 bytes of `blk`.
inline void next_offsets(const uint8_t* blk, uint8_t* next, uint8_t* shl) noexcept {
  const __m128i j = splat(op::BININT), k1 = splat(op::BININT1), k2 = splat(op::BININT2);
  const __m128i g = splat(op::BINFLOAT), l = splat(op::LONG1);
  const __m128i one = _mm_set1_epi8(1);
  const __m128i zero = _mm_setzero_si128();
  __m128i at = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (ptrdiff_t i = 0; i < kNextBlock; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + i));
    const __m128i n = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + i + 1));  // LONG1's count
    const __m128i is_j = _mm_cmpeq_epi8(b, j), is_k1 = _mm_cmpeq_epi8(b, k1), is_k2 = _mm_cmpeq_epi8(b, k2);
    const __m128i is_g = _mm_cmpeq_epi8(b, g);
    // LONG1 of a count of 1 to 8: (count - 1) & 0xf8 is 0.
    const __m128i n_ok = _mm_cmpeq_epi8(_mm_and_si128(_mm_sub_epi8(n, one), splat(0xf8)), zero);
    const __m128i is_l = _mm_and_si128(_mm_cmpeq_epi8(b, l), n_ok);
    __m128i len = _mm_and_si128(is_j, splat(kOpLen<op::BININT>));
    len = _mm_or_si128(len, _mm_and_si128(is_k1, splat(kOpLen<op::BININT1>)));
    len = _mm_or_si128(len, _mm_and_si128(is_k2, splat(kOpLen<op::BININT2>)));
    len = _mm_or_si128(len, _mm_and_si128(is_g, splat(kOpLen<op::BINFLOAT>)));
    len = _mm_or_si128(len, _mm_and_si128(is_l, _mm_add_epi8(n, splat(kOpLen<op::LONG1>))));
    const __m128i valid = _mm_or_si128(_mm_or_si128(is_j, is_k1), _mm_or_si128(_mm_or_si128(is_k2, is_g), is_l));
    // Invalid: all bits set (kNotScalar); valid: at + len.
    _mm_store_si128(reinterpret_cast<__m128i*>(next + i),
                    _mm_or_si128(_mm_add_epi8(at, len), _mm_xor_si128(valid, _mm_set1_epi8(-1))));
    const __m128i n4 = _mm_add_epi8(_mm_add_epi8(n, n), _mm_add_epi8(n, n));  // 4n
    __m128i sh = _mm_and_si128(is_j, splat(kNumArg<op::BININT>.shl));
    sh = _mm_or_si128(sh, _mm_and_si128(is_k1, splat(kNumArg<op::BININT1>.shl)));
    sh = _mm_or_si128(sh, _mm_and_si128(is_k2, splat(kNumArg<op::BININT2>.shl)));
    sh = _mm_or_si128(sh, _mm_and_si128(is_l, _mm_sub_epi8(splat(64), _mm_add_epi8(n4, n4))));  // long_shl
    _mm_store_si128(reinterpret_cast<__m128i*>(shl + i), sh);
    at = _mm_add_epi8(at, _mm_set1_epi8(16));
  }
}

// The mixed loop where the window allows: the opcodes are found through
// next_offsets(), so the offset of the next opcode is one load from a table
// made 16 bytes at a time, and the chain from one number to the next is
// that load, not the load of the opcode, its table entry and the length's
// select. False at a byte that is not a number this loop takes.
inline bool run_mixed_sse2(const uint8_t*& p, const uint8_t* lim, size_t stop, ScalarWriter& w) noexcept {
  const uint8_t* blk = p;
  alignas(16) uint8_t next[kNextBlock];
  alignas(16) uint8_t shift[kNextBlock];
  next_offsets(blk, next, shift);
  size_t pos = 0;
  while (w.k < stop) {
    if (pos >= kNextBlock) {
      blk += kNextBlock;
      pos -= kNextBlock;
      if (lim - blk < kNextBlock + 16) break;  // the rest by the loop below
      next_offsets(blk, next, shift);
    }
    const uint8_t* q = blk + pos;
    const size_t nx = next[pos];
    if (nx == kNotScalar) {
      p = q;
      return false;
    }
    const uint32_t e = kScalarOps[*q];
    w.put((e & kFloat) ? Kind::Float : Kind::Int, mixed_bits(e, le8(q + 1), le8(q + 2), shift[pos]));
    pos = nx;  // pos + this opcode's length
  }
  p = blk + pos;
  return true;
}
#endif

// A mixed run (a list of ints of all sizes), up to `stop` numbers in all:
// without a branch on the opcode (one would be mispredicted about every
// other number); the length and value come from tables and selects. False
// at a byte that is not a number this loop takes or at the window's end.
inline bool run_mixed(const uint8_t*& p, const uint8_t* lim, size_t stop, ScalarWriter& w) noexcept {
#ifdef PKL_SCALAR_SSE2
  // (Not for a run that ends here: a record's two floats, say.)
  if (lim - p >= kNextBlock + 16 && kScalarOps[*p] != 0 && !run_mixed_sse2(p, lim, stop, w)) return false;
#endif
  while (w.k < stop && lim - p >= 10) {
    const uint32_t e = kScalarOps[*p];
    const unsigned n = p[1];  // LONG1's count
    const bool lng = (e & kLong) != 0;
    if ((e == 0) | (lng & (n - 1u > 7u))) return false;  // not a number this loop takes
    const uint64_t bits = mixed_bits(e, le8(p + 1), le8(p + 2), lng ? long_shl(n) : (e >> 8) & 0xff);
    p += lng ? kOpLen<op::LONG1> + n : (e & 0xff);
    w.put((e & kFloat) ? Kind::Float : Kind::Int, bits);
  }
  return w.k >= stop;  // else the window's end
}

}  // namespace

size_t Machine::scalar_run() {
  // Numbers come in runs (a list of ints or floats is one opcode after the
  // other): decoded here with the cursor, the node slots and the stack in
  // registers, and without a branch on which opcode it is (in a list of
  // mixed ints the opcode changes at random: a mispredicted branch per
  // number cost more than the rest of its decoding). Takes BININT1, BININT2,
  // BININT, BINFLOAT and LONG1 of 1 to 8 bytes (sign-extended, as
  // load_counted_long does). Stops before any other opcode, before an
  // opcode whose argument might be cut by the window's end, and when the
  // node vector, the stack or the budget has no room left; the general loop
  // goes on from there. Two loops, run_same and run_mixed, each handing
  // over to the other when the opcodes change their pattern.
  const uint8_t* p = in_.cursor();  // the next opcode
  const uint8_t* const lim = in_.limit();
  size_t room = GraphAccess::scalar_room(g_);
  const size_t stack_room = stack_.capacity() - stack_.size();
  if (stack_room < room) room = stack_room;
  ScalarWriter w{GraphAccess::scalar_slots(g_), stack_.end()};
  for (;;) {
    if (w.k >= room || lim - p < 10) break;
    const uint32_t e0 = kScalarOps[*p];
    if (e0 == 0) break;
    if (!(e0 & kLong)) {
      const size_t k0 = w.k;
      run_same(p, lim, room, w);
      if (w.k - k0 >= 8) continue;  // a run of one opcode: look again after it
    }
    // Mixed opcodes: the next 64 numbers (at most).
    if (!run_mixed(p, lim, room - w.k < 64 ? room : w.k + 64, w)) break;
  }
  GraphAccess::commit_scalars(g_, w.k);
  stack_.commit(w.k);
  in_.set_cursor(p);
  return w.k;
}

#define PKL_FAST_RUN_NAME fast_run_generic
#define PKL_FAST_RUN_SSSE3 0
#include "decode/fast_run.inc"
#undef PKL_FAST_RUN_NAME
#undef PKL_FAST_RUN_SSSE3

#ifdef PKL_TEXT_SIMD
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("ssse3"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("ssse3")
#endif
#define PKL_FAST_RUN_NAME fast_run_ssse3
#define PKL_FAST_RUN_SSSE3 1
#include "decode/fast_run.inc"
#undef PKL_FAST_RUN_NAME
#undef PKL_FAST_RUN_SSSE3
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

}  // namespace pkl::detail
