// Latin-1 <-> UTF-8 (see latin1.hpp). The scalar loops do all the work on
// their own; the SSSE3 kernels take the bulk of a long text first, 16 input
// bytes a step, and leave the tail (and anything unexpected) to them.
#include "text/latin1.hpp"
#include "base/tuning.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PKL_LATIN1_SIMD 1
#endif

namespace pkl::detail {

namespace {

// ---- scalar ---------------------------------------------------------------

// latin-1 -> UTF-8, from s[i] on; o[k] on (room for n + high bytes). Always true.
bool widen_scalar(const uint8_t* s, size_t n, size_t i, char* o, size_t& k) noexcept {
  for (; i < n; ++i) {
    const unsigned c = s[i];
    if (c < 0x80) {
      o[k++] = static_cast<char>(c);
    } else {
      o[k++] = static_cast<char>(0xC0 | (c >> 6));
      o[k++] = static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return true;
}

// UTF-8 below U+0100 -> latin-1, from s[i] on; o[k] on. False at the first
// byte that is neither ASCII nor a C2/C3 lead with its continuation.
bool narrow_scalar(const uint8_t* s, size_t n, size_t i, char* o, size_t& k) noexcept {
  while (i < n) {
    const unsigned c = s[i];
    if (c < 0x80) {
      o[k++] = static_cast<char>(c);
      ++i;
      continue;
    }
    if ((c & 0xFE) != 0xC2 || i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return false;
    o[k++] = static_cast<char>(((c & 0x03) << 6) | (s[i + 1] & 0x3F));
    i += 2;
  }
  return true;
}

#ifdef PKL_LATIN1_SIMD

// pshufb index tables, one row per 8-bit mask (0x80: a zero byte).
struct ShuffleTables {
  // kCompact[m]: the bytes k of an 8-byte group whose bit k of m is set, in order.
  alignas(16) uint8_t compact[256][16];
  // kWiden[m]: for a 16-byte register [first bytes 0-7 | continuation bytes 0-7],
  // byte k, then its continuation 8+k when bit k of m is set.
  alignas(16) uint8_t widen[256][16];
  uint8_t bits[256];  // set bits of m (std::popcount is a libgcc call without -mpopcnt)
};

constexpr ShuffleTables make_tables() {
  ShuffleTables t{};
  for (int m = 0; m < 256; ++m) {
    int c = 0, w = 0;
    for (int k = 0; k < 8; ++k) {
      if (m & (1 << k)) t.compact[m][c++] = static_cast<uint8_t>(k);
      t.widen[m][w++] = static_cast<uint8_t>(k);
      if (m & (1 << k)) t.widen[m][w++] = static_cast<uint8_t>(8 + k);
    }
    t.bits[m] = static_cast<uint8_t>(c);
    for (; c < 16; ++c) t.compact[m][c] = 0x80;
    for (; w < 16; ++w) t.widen[m][w] = 0x80;
  }
  return t;
}

constexpr ShuffleTables kTables = make_tables();


inline __m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i row(const uint8_t (*table)[16], unsigned m) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(table[m]));
}

// Widens s[0, n) 16 bytes a step while 16 remain; writes up to 16 bytes past
// what it reports (o has that slack). -> input bytes done; `k` output bytes.
__attribute__((target("ssse3"))) size_t widen_ssse3(const uint8_t* s, size_t n, char* o, size_t& k) noexcept {
  const __m128i low6 = _mm_set1_epi8(0x3F), cont_tag = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i bit6 = _mm_set1_epi8(0x40), lead_tag = _mm_set1_epi8(static_cast<char>(0xC2));
  size_t i = 0;
  k = 0;
  for (; n - i >= 16; i += 16) {
    const __m128i v = load16(s + i);
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    if (high == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k), v);
      k += 16;
      continue;
    }
    // A byte >= 0x80 becomes C2 or C3 (bit 6 of the byte) and 80 | its low six bits.
    const __m128i is_high = _mm_cmplt_epi8(v, _mm_setzero_si128());
    const __m128i lead = _mm_or_si128(lead_tag, _mm_srli_epi16(_mm_and_si128(v, bit6), 6));
    const __m128i first = _mm_or_si128(_mm_and_si128(is_high, lead), _mm_andnot_si128(is_high, v));
    const __m128i cont = _mm_or_si128(_mm_and_si128(v, low6), cont_tag);
    const unsigned lo = high & 0xFF, hi = high >> 8;
    const __m128i a = _mm_shuffle_epi8(_mm_unpacklo_epi64(first, cont), row(kTables.widen, lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k), a);
    k += 8u + kTables.bits[lo];
    const __m128i b = _mm_shuffle_epi8(_mm_unpackhi_epi64(first, cont), row(kTables.widen, hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k), b);
    k += 8u + kTables.bits[hi];
  }
  return i;
}

__attribute__((target("ssse3"))) size_t count_high_ssse3(const uint8_t* s, size_t n, size_t& i) noexcept {
  size_t high = 0;
  for (i = 0; n - i >= 16; i += 16)
  {
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(load16(s + i)));
    high += kTables.bits[m & 0xFF] + kTables.bits[m >> 8];
  }
  return high;
}

// Narrows s[0, n) 16 bytes a step while 17 remain (a lead's continuation may
// be the 17th); writes up to 8 bytes past what it reports. Stops before the
// first block holding anything but ASCII and C2/C3 pairs. -> input bytes
// done (a whole pair: never between a lead and its continuation); `k` out.
__attribute__((target("ssse3"))) size_t narrow_ssse3(const uint8_t* s, size_t n, char* o, size_t& k) noexcept {
  const __m128i fe = _mm_set1_epi8(static_cast<char>(0xFE)), c2 = _mm_set1_epi8(static_cast<char>(0xC2));
  const __m128i c0 = _mm_set1_epi8(static_cast<char>(0xC0)), x80 = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i three = _mm_set1_epi8(3), low6 = _mm_set1_epi8(0x3F);
  size_t i = 0;
  k = 0;
  unsigned carry = 0;  // the last block ended with a lead: this one starts with its continuation
  while (n - i >= 17) {
    const __m128i v = load16(s + i);
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    if ((high | carry) == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + k), v);
      k += 16;
      i += 16;
      continue;
    }
    const __m128i lead = _mm_cmpeq_epi8(_mm_and_si128(v, fe), c2);
    const __m128i cont = _mm_cmpeq_epi8(_mm_and_si128(v, c0), x80);
    const unsigned lm = static_cast<unsigned>(_mm_movemask_epi8(lead));
    const unsigned cm = static_cast<unsigned>(_mm_movemask_epi8(cont));
    // Every high byte a lead or a continuation, each continuation right
    // after a lead and each lead followed by one (the 17th byte is checked
    // as the next block's first).
    if ((lm | cm) != high || cm != (((lm << 1) | carry) & 0xFFFF)) break;
    const __m128i next = load16(s + i + 1);
    const __m128i pair = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, three), 6), _mm_and_si128(next, low6));
    const __m128i vals = _mm_or_si128(_mm_and_si128(lead, pair), _mm_andnot_si128(lead, v));
    const unsigned keep = ~cm & 0xFFFF, lo = keep & 0xFF, hi = keep >> 8;
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + k), _mm_shuffle_epi8(vals, row(kTables.compact, lo)));
    k += kTables.bits[lo];
    _mm_storel_epi64(reinterpret_cast<__m128i*>(o + k),
                     _mm_shuffle_epi8(_mm_srli_si128(vals, 8), row(kTables.compact, hi)));
    k += kTables.bits[hi];
    carry = lm >> 15;
    i += 16;
  }
  if (carry) {
    // The lead at i - 1 was written with the byte at i, checked only if a
    // block followed: step back so the scalar loop redoes the pair.
    --k;
    --i;
  }
  return i;
}

#endif  // PKL_LATIN1_SIMD

}  // namespace

size_t latin1_utf8_size(std::string_view bytes) noexcept {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t high = 0, i = 0;
#ifdef PKL_LATIN1_SIMD
  if (simd_enabled()) high = count_high_ssse3(s, n, i);
#endif
  for (; i < n; ++i) high += s[i] >> 7;
  return n + high;
}

namespace {

enum class Direction : bool { Widen, Narrow };

// `in` converted into `out`: the SSSE3 kernel of that direction (when
// enabled) takes the bulk, the scalar loop the rest. False where narrowing
// meets a character it cannot take; k: the bytes written.
bool convert(Direction d, std::string_view in, char* out, size_t& k) noexcept {
  const auto* s = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  k = 0;
#ifdef PKL_LATIN1_SIMD
  if (simd_enabled()) i = d == Direction::Widen ? widen_ssse3(s, n, out, k) : narrow_ssse3(s, n, out, k);
#endif
  return d == Direction::Widen ? widen_scalar(s, n, i, out, k) : narrow_scalar(s, n, i, out, k);
}

}  // namespace

void latin1_to_utf8(std::string_view bytes, char* out) noexcept {
  size_t k;
  convert(Direction::Widen, bytes, out, k);
}

std::string latin1_to_utf8(std::string_view bytes) {
  const size_t size = latin1_utf8_size(bytes);
  std::string out(size + kLatin1Slack, '\0');
  latin1_to_utf8(bytes, out.data());
  out.resize(size);
  return out;
}

std::optional<size_t> latin1_length(std::string_view utf8) noexcept {
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  const size_t n = utf8.size();
  size_t cont = 0, i = 0;
  unsigned top = 0;
#ifdef PKL_LATIN1_SIMD
  // SSE2 is x86-64's baseline: no dispatch.
  const __m128i c0 = _mm_set1_epi8(static_cast<char>(0xC0)), x80 = _mm_set1_epi8(static_cast<char>(0x80));
  __m128i max = _mm_setzero_si128();
  for (; n - i >= 16; i += 16) {
    const __m128i v = load16(s + i);
    max = _mm_max_epu8(max, v);
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, c0), x80)));
    cont += kTables.bits[m & 0xFF] + kTables.bits[m >> 8];
  }
  alignas(16) uint8_t lanes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), max);
  for (uint8_t b : lanes) top = b > top ? b : top;
#endif
  for (; i < n; ++i) {
    cont += (s[i] & 0xC0) == 0x80;
    top = s[i] > top ? s[i] : top;
  }
  if (top >= 0xC4) return std::nullopt;
  return n - cont;
}

std::optional<size_t> utf8_to_latin1(std::string_view utf8, char* out) noexcept {
  size_t k;
  if (!convert(Direction::Narrow, utf8, out, k)) return std::nullopt;
  return k;
}

std::optional<std::string_view> utf8_to_latin1(std::string_view utf8, std::string& scratch) {
  if (scratch.size() < utf8.size() + 8) scratch.resize(utf8.size() + 8);
  const std::optional<size_t> k = utf8_to_latin1(utf8, scratch.data());
  if (!k) return std::nullopt;
  return std::string_view(scratch.data(), *k);
}

}  // namespace pkl::detail
