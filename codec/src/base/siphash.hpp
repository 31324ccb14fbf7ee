// SipHash-1-3 (Aumasson & Bernstein), keyed per graph so that floods of
// colliding dict keys stay linear. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pkl::detail {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

class SipHasher {
 public:
  explicit SipHasher(const SipKey& k) noexcept
      : v0_(0x736f6d6570736575ULL ^ k.k0),
        v1_(0x646f72616e646f6dULL ^ k.k1),
        v2_(0x6c7967656e657261ULL ^ k.k0),
        v3_(0x7465646279746573ULL ^ k.k1) {}

  // Absorbs one 64-bit word (counts as 8 bytes of input).
  void word(uint64_t m) noexcept {
    v3_ ^= m;
    round();
    v0_ ^= m;
    len_ += 8;
  }

  void bytes(const void* data, size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    while (n >= 8) {
      uint64_t m;
      std::memcpy(&m, p, 8);
      word(m);
      p += 8;
      n -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; ++i) tail |= uint64_t{p[i]} << (8 * i);
    tail_ = tail;
    tail_len_ = static_cast<uint8_t>(n);
  }

  uint64_t finish() noexcept {
    uint64_t b = (static_cast<uint64_t>(len_ + tail_len_) << 56) | tail_;
    v3_ ^= b;
    round();
    v0_ ^= b;
    v2_ ^= 0xff;
    round();
    round();
    round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  static uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }
  void round() noexcept {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }
  uint64_t v0_, v1_, v2_, v3_;
  uint64_t tail_ = 0;
  uint64_t len_ = 0;
  uint8_t tail_len_ = 0;
};

inline uint64_t siphash_words(const SipKey& k, uint64_t a, uint64_t b) noexcept {
  SipHasher h(k);
  h.word(a);
  h.word(b);
  return h.finish();
}

inline uint64_t siphash_tagged_bytes(const SipKey& k, uint64_t tag, const void* data,
                                     size_t n) noexcept {
  SipHasher h(k);
  h.word(tag);
  h.bytes(data, n);
  return h.finish();
}

}  // namespace pkl::detail
