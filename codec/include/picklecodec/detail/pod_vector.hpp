// Part of value.hpp, not an API: the storage of Graph's node array, which
// Graph's layout needs. Large blocks come from the library's page allocator
// (memory.hpp bounds its cache); its other entry points are internal
// (codec/src/value/pages.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace pkl::detail {

// Large blocks of memory, for the graph's node array, side tables and arena
// chunks and the decoder's memo: from kPageMin bytes on they are mapped from
// the system directly (never through malloc's heap, so how glibc trims or
// places its heap does not decide how many pages a decode faults in), and
// they grow by remapping (no copy, no page touched twice). Freed blocks are
// kept in a process-wide cache of at most 64 MiB (set_block_cache_limit) so
// that a loop of decodes reuses pages already faulted in, as CPython's
// allocator reuses its arenas. (value/pages.cpp)
inline constexpr size_t kPageMin = size_t{64} << 10;
// `bytes` (>= kPageMin) is rounded up to the block's actual size. A cached
// block may be up to twice the size asked for; with `exact`, a block is
// always the size the same request gives (for callers that cannot keep the
// actual size).
void* page_allocate(size_t& bytes, bool exact = false);
// Grows a block of `old_bytes` (its actual size) to at least `bytes`
// (rounded up on return); contents kept. May move it.
void* page_reallocate(void* p, size_t old_bytes, size_t& bytes);
// Gives a block back (`bytes` its actual size; `used`, how many bytes from
// its start were used, what the cache counts it for).
void page_free(void* p, size_t bytes, size_t used) noexcept;
inline void page_free(void* p, size_t bytes) noexcept { page_free(p, bytes, bytes); }

// A vector of trivially copyable items: small ones from malloc (grown with
// realloc), large ones from page_allocate (grown by remapping: neither
// copied nor touched twice). (Graph's node array, the decoder's memo and stack.)
template <class T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  PodVector() noexcept = default;
  PodVector(const PodVector&) = delete;
  PodVector& operator=(const PodVector&) = delete;
  PodVector(PodVector&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_), block_(o.block_) {
    o.p_ = nullptr;
    o.n_ = o.cap_ = o.block_ = 0;
  }
  PodVector& operator=(PodVector&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_;
      n_ = o.n_;
      cap_ = o.cap_;
      block_ = o.block_;
      o.p_ = nullptr;
      o.n_ = o.cap_ = o.block_ = 0;
    }
    return *this;
  }
  ~PodVector() { release(); }

  size_t size() const noexcept { return n_; }
  size_t capacity() const noexcept { return cap_; }
  T& operator[](size_t i) noexcept { return p_[i]; }
  const T& operator[](size_t i) const noexcept { return p_[i]; }
  void reserve(size_t n) {
    if (n <= cap_) return;
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    size_t bytes = n * sizeof(T);
    if (bytes < kPageMin) {
      void* q = std::realloc(static_cast<void*>(p_), bytes);
      if (!q) throw std::bad_alloc();
      p_ = static_cast<T*>(q);
      cap_ = n;
      return;
    }
    void* q;
    if (block_) {
      q = page_reallocate(p_, block_, bytes);
    } else {
      q = page_allocate(bytes);
      if (n_) std::memcpy(q, static_cast<const void*>(p_), n_ * sizeof(T));
      std::free(p_);
    }
    p_ = static_cast<T*>(q);
    block_ = bytes;
    cap_ = bytes / sizeof(T);
  }
  void push_back(const T& v) {
    if (n_ == cap_) reserve(cap_ < 8 ? 16 : cap_ * 2);
    p_[n_++] = v;
  }
  // Only when size() < capacity().
  void push_unchecked(const T& v) noexcept { p_[n_++] = v; }
  // Only for n <= size().
  void resize_down(size_t n) noexcept { n_ = n; }
  // Only for n <= capacity(), once items [size(), n) are written.
  void resize_up_unchecked(size_t n) noexcept { n_ = n; }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }

 private:
  void release() noexcept {
    if (block_) {
      page_free(p_, block_, n_ * sizeof(T));
    } else {
      std::free(p_);
    }
  }
  T* p_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
  size_t block_ = 0;  // actual size of a page block, 0 when p_ is from malloc
};

}  // namespace pkl::detail
