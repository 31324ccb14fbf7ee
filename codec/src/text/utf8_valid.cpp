// UTF-8 validation (see utf8_valid.hpp). References: CPython 3.11
// Objects/unicodeobject.c (the UTF-8 decoder and its error handlers).
#include "text/utf8_valid.hpp"

#include <cstring>

#include "text/utf8_simd.hpp"
#include "base/tuning.hpp"

namespace pkl::text {

namespace {

bool is_cont(uint8_t c) { return (c & 0xc0) == 0x80; }

#ifdef PKL_TEXT_SIMD
__attribute__((target("ssse3"))) bool utf8_valid_ssse3(const uint8_t* s, size_t n, size_t slack) noexcept {
  const Utf8Tables t = utf8_tables();
  __m128i prev = _mm_setzero_si128();
  __m128i err = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    err = _mm_or_si128(err, utf8_block(t, in, prev));
    prev = in;
  }
  // The rest, padded with zero bytes (ASCII: a sequence cut by the end shows
  // as too short); a zero block when there is no rest.
  const size_t r = n - i;
  alignas(16) static constexpr uint8_t kMask[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  __m128i last;
  if (r == 0) {
    last = _mm_setzero_si128();
  } else if (slack >= 16 - r) {
    last = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)),
                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(kMask + 16 - r)));
  } else {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, s + i, r);
    last = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
  }
  err = _mm_or_si128(err, utf8_block(t, last, prev));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(err, _mm_setzero_si128())) == 0xffff;
}

#endif

}  // namespace

std::optional<Utf8Fault> utf8_check(std::string_view data, bool surrogatepass) noexcept {
  const auto* s = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      // Skip ASCII runs quickly.
      while (i + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      continue;
    }
    const size_t left = n - i;
    if (c < 0xC2) return Utf8Fault{i, i + 1, "invalid start byte"};
    if (c < 0xE0) {
      if (left < 2) return Utf8Fault{i, n, "unexpected end of data"};
      if (!is_cont(s[i + 1])) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      i += 2;
      continue;
    }
    if (c < 0xF0) {
      if (left < 3) {
        if (left < 2) return Utf8Fault{i, n, "unexpected end of data"};
        uint8_t c2 = s[i + 1];
        if (!is_cont(c2) || (c2 < 0xA0 ? c == 0xE0 : c == 0xED))
          return Utf8Fault{i, i + 1, "invalid continuation byte"};
        return Utf8Fault{i, n, "unexpected end of data"};
      }
      uint8_t c2 = s[i + 1], c3 = s[i + 2];
      if (!is_cont(c2)) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      if (c == 0xE0 && c2 < 0xA0) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      if (c == 0xED && c2 >= 0xA0) {
        // A surrogate: 'surrogatepass' takes the 3 bytes if they are one.
        if (surrogatepass && is_cont(c3)) {
          i += 3;
          continue;
        }
        return Utf8Fault{i, i + 1, "invalid continuation byte"};
      }
      if (!is_cont(c3)) return Utf8Fault{i, i + 2, "invalid continuation byte"};
      i += 3;
      continue;
    }
    if (c < 0xF5) {
      if (left < 4) {
        if (left < 2) return Utf8Fault{i, n, "unexpected end of data"};
        uint8_t c2 = s[i + 1];
        if (!is_cont(c2) || (c2 < 0x90 ? c == 0xF0 : c == 0xF4))
          return Utf8Fault{i, i + 1, "invalid continuation byte"};
        if (left < 3) return Utf8Fault{i, n, "unexpected end of data"};
        if (!is_cont(s[i + 2])) return Utf8Fault{i, i + 2, "invalid continuation byte"};
        return Utf8Fault{i, n, "unexpected end of data"};
      }
      uint8_t c2 = s[i + 1];
      if (!is_cont(c2)) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      if (c == 0xF0 && c2 < 0x90) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      if (c == 0xF4 && c2 >= 0x90) return Utf8Fault{i, i + 1, "invalid continuation byte"};
      if (!is_cont(s[i + 2])) return Utf8Fault{i, i + 2, "invalid continuation byte"};
      if (!is_cont(s[i + 3])) return Utf8Fault{i, i + 3, "invalid continuation byte"};
      i += 4;
      continue;
    }
    return Utf8Fault{i, i + 1, "invalid start byte"};
  }
  return std::nullopt;
}


bool utf8_valid_scalar(std::string_view data, bool surrogatepass) noexcept {
  // What utf8_check accepts, decided faster: sixteen bytes at a time while
  // they are ASCII, else byte by byte through those sixteen (mixed text,
  // such as the Latin-1 strs of protocol 2 bytes, stays in the inner loop).
  const auto* s = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  bool latin1_run = false;
  while (i < n) {
    if (n - i >= 16) {
      uint64_t a, b;
      std::memcpy(&a, s + i, 8);
      std::memcpy(&b, s + i + 8, 8);
      if (((a | b) & 0x8080808080808080ull) == 0) {
        i += 16;
        continue;
      }
    }
    // Latin-1 text (one- and two-byte characters below U+0100, as in the
    // strs of protocol 2 bytes) in blocks of 64 characters without a branch
    // per character, while blocks pass; the general loop takes over a block
    // that holds anything else.
    if (s[i] >= 0x80 || (n - i >= 16 && latin1_run)) {
      while (n - i >= 2 * 64 + 1) {
        size_t j = i;
        unsigned bad = 0;
        for (int k = 0; k < 64; ++k) {
          const unsigned c = s[j], d = s[j + 1];
          const unsigned hi = c >> 7;
          bad |= hi & (static_cast<unsigned>((c & 0xFE) != 0xC2) | static_cast<unsigned>((d & 0xC0) != 0x80));
          j += 1 + hi;
        }
        if (bad) {
          latin1_run = false;
          break;
        }
        latin1_run = true;
        i = j;
      }
    }
    const size_t stop = n - i >= 16 ? i + 16 : n;
    while (i < stop) {
      const unsigned c = s[i];
      if (c < 0x80) {
        ++i;
        continue;
      }
      if (c - 0xC2u < 0x1Eu) {  // C2..DF: two bytes
        if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return false;
        i += 2;
        continue;
      }
      if (c < 0xE0) return false;  // 80..C1: not a start byte
      if (c < 0xF0) {
        if (n - i < 3) return false;
        const unsigned c2 = s[i + 1], c3 = s[i + 2];
        if ((c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return false;
        if (c == 0xE0 && c2 < 0xA0) return false;
        if (c == 0xED && c2 >= 0xA0 && !surrogatepass) return false;
        i += 3;
        continue;
      }
      if (c < 0xF5) {
        if (n - i < 4) return false;
        const unsigned c2 = s[i + 1];
        if ((c2 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return false;
        if (c == 0xF0 && c2 < 0x90) return false;
        if (c == 0xF4 && c2 >= 0x90) return false;
        i += 4;
        continue;
      }
      return false;
    }
  }
  return true;
}

bool utf8_simd_built() noexcept {
#ifdef PKL_TEXT_SIMD
  return true;
#else
  return false;
#endif
}

bool utf8_valid_simd(std::string_view data, size_t slack) noexcept {
#ifdef PKL_TEXT_SIMD
  return utf8_valid_ssse3(reinterpret_cast<const uint8_t*>(data.data()), data.size(), slack);
#else
  (void)slack;
  return utf8_valid_scalar(data, true);
#endif
}

bool utf8_valid(std::string_view data, bool surrogatepass, size_t slack) noexcept {
  if (surrogatepass && simd_enabled()) return utf8_valid_simd(data, slack);
  return utf8_valid_scalar(data, surrogatepass);
}

}  // namespace pkl::text
