// The SSSE3 kernel of UTF-8 validation, inline for the decoder's
// fast_run_ssse3 (a short str checked in one block) and text/utf8_valid.cpp.
// The lookup method of Keiser and Lemire, "Validating UTF-8 in less than one
// instruction per byte" (2021), accepting surrogates (surrogatepass) as
// utf8_valid_scalar(data, true) does and rejecting everything else it
// rejects: overlong forms, code points past U+10FFFF, stray or missing
// continuation bytes, a sequence cut by the end. x86-64 only: include it
// under PKL_TEXT_SIMD. Internal header.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define PKL_TEXT_SIMD 1

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace pkl::text {

struct Utf8Tables {
  __m128i t1h, t1l, t2h;
};

// One block: the errors of `in` given the block before it.
__attribute__((target("ssse3"))) inline __m128i utf8_block(const Utf8Tables& t, __m128i in, __m128i prev) noexcept {
  const __m128i low4 = _mm_set1_epi8(0x0f);
  const __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
  const __m128i b1h = _mm_shuffle_epi8(t.t1h, _mm_and_si128(_mm_srli_epi16(prev1, 4), low4));
  const __m128i b1l = _mm_shuffle_epi8(t.t1l, _mm_and_si128(prev1, low4));
  const __m128i b2h = _mm_shuffle_epi8(t.t2h, _mm_and_si128(_mm_srli_epi16(in, 4), low4));
  const __m128i sc = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
  const __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
  const __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
  const __m128i is3 = _mm_subs_epu8(prev2, _mm_set1_epi8(static_cast<char>(0xe0 - 0x80)));
  const __m128i is4 = _mm_subs_epu8(prev3, _mm_set1_epi8(static_cast<char>(0xf0 - 0x80)));
  const __m128i must23 = _mm_and_si128(_mm_or_si128(is3, is4), _mm_set1_epi8(static_cast<char>(0x80)));
  return _mm_xor_si128(must23, sc);
}

// The method's three lookup tables.
__attribute__((target("ssse3"), always_inline)) inline Utf8Tables utf8_tables() noexcept {
  constexpr uint8_t TOO_SHORT = 1 << 0, TOO_LONG = 1 << 1, OVERLONG_3 = 1 << 2, TOO_LARGE = 1 << 3,
                    OVERLONG_2 = 1 << 5, TWO_CONTS = 1 << 7, TOO_LARGE_1000 = 1 << 6,
                    OVERLONG_4 = 1 << 6, CARRY = TOO_SHORT | TOO_LONG | TWO_CONTS;
  // (The method's SURROGATE bit is left out of the tables: surrogates pass.)
  const auto c = [](unsigned v) { return static_cast<char>(v); };
  Utf8Tables t;
  t.t1h = _mm_setr_epi8(c(TOO_LONG), c(TOO_LONG), c(TOO_LONG), c(TOO_LONG), c(TOO_LONG), c(TOO_LONG),
                        c(TOO_LONG), c(TOO_LONG), c(TWO_CONTS), c(TWO_CONTS), c(TWO_CONTS), c(TWO_CONTS),
                        c(TOO_SHORT | OVERLONG_2), c(TOO_SHORT), c(TOO_SHORT | OVERLONG_3),
                        c(TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4));
  const unsigned big = CARRY | TOO_LARGE | TOO_LARGE_1000;
  t.t1l = _mm_setr_epi8(c(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4), c(CARRY | OVERLONG_2), c(CARRY),
                        c(CARRY), c(CARRY | TOO_LARGE), c(big), c(big), c(big), c(big), c(big), c(big), c(big),
                        c(big), c(big), c(big), c(big));
  t.t2h = _mm_setr_epi8(c(TOO_SHORT), c(TOO_SHORT), c(TOO_SHORT), c(TOO_SHORT), c(TOO_SHORT), c(TOO_SHORT),
                        c(TOO_SHORT), c(TOO_SHORT),
                        c(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4),
                        c(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE),
                        c(TOO_LONG | OVERLONG_2 | TWO_CONTS | TOO_LARGE),
                        c(TOO_LONG | OVERLONG_2 | TWO_CONTS | TOO_LARGE), c(TOO_SHORT), c(TOO_SHORT),
                        c(TOO_SHORT), c(TOO_SHORT));
  return t;
}

// utf8_valid_ssse3 of a str of n < 16 bytes followed by at least 16 - n
// readable bytes: one block, masked to the str (for fast_run_ssse3).
__attribute__((target("ssse3"), always_inline)) inline bool utf8_short_ssse3(const uint8_t* s, size_t n) noexcept {
  alignas(16) static constexpr uint8_t kMask[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const __m128i last = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMask + 16 - n)));
  const __m128i err = utf8_block(utf8_tables(), last, _mm_setzero_si128());
  return _mm_movemask_epi8(_mm_cmpeq_epi8(err, _mm_setzero_si128())) == 0xffff;
}
}  // namespace pkl::text

#endif
