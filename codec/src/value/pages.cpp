// Large blocks for the graph and the decoder (value/pages.hpp, memory.hpp).
//
// Why not malloc: glibc serves a block of this size either from its heap
// (then trims the heap's top as soon as a graph is freed) or from its own
// mmap (then unmaps it on free), with a threshold that moves with what the
// process freed before; either way a loop of decodes faulted every page of
// every graph in afresh (a fault costs ~1.6 us per 4 KiB page on the
// benchmark machine: two thirds of a large decode's time), and realloc in the
// heap copies. Here blocks are mapped directly, grow by mremap (no copy), and
// freed blocks are kept in a bounded process-wide cache for the next graph
// (pages already faulted in). Nothing here changes the process's allocator
// settings. Transparent huge pages make first faults 4-5x cheaper, but the
// last huge page of every growing block is resident whole (up to 2 MiB of
// peak memory a block) and, with the cache, a loop of decodes gains nothing
// from them: they are off unless asked for (set_huge_pages), as a process
// that decodes once does (pickletool: a fifth of a large recode was faults).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "picklecodec/memory.hpp"
#include "picklecodec/value.hpp"
#include "value/pages.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define PKL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PKL_ASAN 1
#endif
#endif
#ifdef PKL_ASAN
#include <sanitizer/asan_interface.h>
// A cached block is poisoned: a graph's storage read after the graph is gone
// is reported as it would be for malloc's memory.
#define PKL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define PKL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define PKL_POISON(p, n) ((void)(p), (void)(n))
#define PKL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace pkl {

namespace detail {

namespace {

constexpr size_t kSmallPage = 4096;

std::atomic<bool> huge_pages{false};

// With huge pages on (set_huge_pages): blocks of kHugeBlockMin and more,
// two huge pages at least so that a whole-resident last one is at most half
// the block, are mapped on a huge page's boundary, in whole huge pages, and
// advised MADV_HUGEPAGE; a block that outgrows kHugeGrowFrom grows to
// kHugeBlockMin at once (page_reallocate).
constexpr size_t kHugePage = size_t{2} << 20;

// Whole small pages; with huge pages on, a large block in whole huge pages
// (its last one would be small pages otherwise, one fault each).
size_t round_block(size_t bytes) noexcept {
  if (bytes >= kHugeBlockMin && huge_pages.load(std::memory_order_relaxed))
    return (bytes + kHugePage - 1) & ~(kHugePage - 1);
  return (bytes + kSmallPage - 1) & ~(kSmallPage - 1);
}

#if defined(__linux__)

void advise(void* p, size_t size) noexcept {
#ifdef MADV_HUGEPAGE
  if (size >= kHugeBlockMin && huge_pages.load(std::memory_order_relaxed)) madvise(p, size, MADV_HUGEPAGE);
#else
  (void)p;
  (void)size;
#endif
}

// MAP_NORESERVE: a block reserved from an input's length (Machine::run) is
// address space until its pages are touched.
void* map_block(size_t size) noexcept {
  constexpr int kProt = PROT_READ | PROT_WRITE;
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (size >= kHugeBlockMin && huge_pages.load(std::memory_order_relaxed)) {
    // Starting on a huge page's boundary, so that every whole 2 MiB of the
    // block can be one (address space is mapped 2 MiB over, then trimmed).
    void* q = mmap(nullptr, size + kHugePage, kProt, kFlags, -1, 0);
    if (q != MAP_FAILED) {
      const auto at = reinterpret_cast<uintptr_t>(q);
      const uintptr_t start = (at + kHugePage - 1) & ~(kHugePage - 1);
      if (start > at) munmap(q, start - at);
      munmap(reinterpret_cast<void*>(start + size), at + kHugePage - start);
      void* p = reinterpret_cast<void*>(start);
      advise(p, size);
      return p;
    }
  }
  void* p = mmap(nullptr, size, kProt, kFlags, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmap_block(void* p, size_t size) noexcept { munmap(p, size); }

#else

void* map_block(size_t size) noexcept { return std::malloc(size); }
void unmap_block(void* p, size_t) noexcept { std::free(p); }

#endif

struct Cache {
  std::mutex m;
  struct Block {
    void* p;
    size_t size;
    size_t used;  // what the cache counts: the bytes its last owner used (resident), rounded
    bool growable;  // a list's items (page_free_growable): what page_grow looks for
  };
  std::vector<Block> blocks;  // oldest first
  size_t total = 0;
  size_t limit = size_t{64} << 20;
};

// Never destroyed: graphs may be freed during static destruction.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

// The smallest cached block of at least `size` bytes and at most `most`
// (only a list's, when `growable`), or null when there is none.
void* take_cached(size_t& size, size_t most, bool growable = false) noexcept {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.m);
  size_t best = SIZE_MAX;
  size_t at = 0;
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const size_t s = c.blocks[i].size;
    if (s >= size && s <= most && s < best && (!growable || c.blocks[i].growable)) {
      best = s;
      at = i;
    }
  }
  if (best == SIZE_MAX) return nullptr;
  void* p = c.blocks[at].p;
  PKL_UNPOISON(p, best);
  c.total -= c.blocks[at].used;
  c.blocks.erase(c.blocks.begin() + static_cast<ptrdiff_t>(at));
  size = best;
  return p;
}

}  // namespace

size_t page_block_size(size_t bytes) noexcept { return round_block(bytes); }

void* page_allocate(size_t& bytes, bool exact) {
  size_t size = round_block(bytes);
  // A block may be up to twice the size asked for: one that big has done
  // the same job for the last graph (a loop of similar decodes).
  if (void* p = take_cached(size, exact ? size : 2 * size)) {
    bytes = size;
    return p;
  }
  void* p = map_block(size);
  if (!p) throw std::bad_alloc();
  bytes = size;
  return p;
}

void* page_allocate_zeroed(size_t& bytes) {
  const size_t size = round_block(bytes);
#if defined(__linux__)
  void* p = map_block(size);  // anonymous memory: zero, and not resident until written
#else
  void* p = std::calloc(size, 1);
#endif
  if (!p) throw std::bad_alloc();
  bytes = size;
  return p;
}

void* page_reallocate(void* p, size_t old_bytes, size_t& bytes) {
  size_t size = round_block(bytes);
#if defined(__linux__)
  const bool huge = huge_pages.load(std::memory_order_relaxed);
  // With huge pages on, a block that outgrows kHugeGrowFrom grows to
  // kHugeBlockMin at once, so that its growth is in huge pages too (a
  // stream's blocks start small, as its bytes arrive, where a file's are
  // reserved whole): only pages touched become resident.
  if (huge && old_bytes >= kHugeGrowFrom && size < kHugeBlockMin) size = kHugeBlockMin;
#endif
  if (size <= old_bytes) {
    bytes = old_bytes;
    return p;
  }
#if defined(__linux__)
  if (huge && size >= kHugeBlockMin) {
    void* q = map_block(size);  // on a huge page's boundary
    if (!q) throw std::bad_alloc();
    if (old_bytes < kHugeBlockMin) {
      // Copied: remapped, the small pages already touched would keep the
      // first huge page from being one.
      std::memcpy(q, p, old_bytes);
      unmap_block(p, old_bytes);
    } else if (mremap(p, old_bytes, size, MREMAP_MAYMOVE | MREMAP_FIXED, q) == MAP_FAILED) {
      unmap_block(q, size);
      throw std::bad_alloc();
    } else {
      advise(q, size);
    }
    bytes = size;
    return q;
  }
  // Remapped: in place when the address space after the block is free, else
  // moved by the kernel (page tables, not bytes).
  void* q = mremap(p, old_bytes, size, MREMAP_MAYMOVE);
  if (q == MAP_FAILED) throw std::bad_alloc();
  bytes = size;
  return q;
#else
  void* q = std::realloc(p, size);
  if (!q) throw std::bad_alloc();
  bytes = size;
  return q;
#endif
}

void* page_grow(void* p, size_t old_bytes, size_t used, size_t& bytes) {
  size_t size = round_block(bytes);
  if (size <= old_bytes) {
    bytes = old_bytes;
    return p;
  }
  // Any cached list block that is big enough: in a loop of decodes, the last
  // graph's full-grown one, within which the growth to come then stays.
  if (void* q = take_cached(size, SIZE_MAX, true)) {
    std::memcpy(q, p, used);
    page_free_growable(p, old_bytes, used);
    bytes = size;
    return q;
  }
  return page_reallocate(p, old_bytes, bytes);
}

// Drops the oldest cached blocks until `total + room <= limit` (lock held).
void evict(Cache& c, size_t room) noexcept {
  size_t drop = 0;
  while (drop < c.blocks.size() && c.total + room > c.limit) {
    PKL_UNPOISON(c.blocks[drop].p, c.blocks[drop].size);
    unmap_block(c.blocks[drop].p, c.blocks[drop].size);
    c.total -= c.blocks[drop].used;
    ++drop;
  }
  c.blocks.erase(c.blocks.begin(), c.blocks.begin() + static_cast<ptrdiff_t>(drop));
}

void* page_allocate_growable(size_t& bytes) {
  size_t size = round_block(bytes);
  if (void* p = take_cached(size, SIZE_MAX, true)) {
    bytes = size;
    return p;
  }
  return page_allocate(bytes);
}

namespace {

void give_back(void* p, size_t bytes, size_t used, bool growable) noexcept {
  if (!p) return;
  used = std::min(round_block(std::max(used, kSmallPage)), bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.m);
    if (used <= c.limit) {
      try {
        c.blocks.reserve(c.blocks.size() + 1);
        evict(c, used);
        c.blocks.push_back({p, bytes, used, growable});
        c.total += used;
        PKL_POISON(p, bytes);
        return;
      } catch (...) {
        // No room to remember the block: give it back.
      }
    }
  }
  unmap_block(p, bytes);
}

}  // namespace

void page_free(void* p, size_t bytes, size_t used) noexcept { give_back(p, bytes, used, false); }
void page_free_growable(void* p, size_t bytes, size_t used) noexcept { give_back(p, bytes, used, true); }

}  // namespace detail

size_t set_block_cache_limit(size_t bytes) noexcept {
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.m);
  const size_t old = c.limit;
  c.limit = bytes;
  detail::evict(c, 0);
  return old;
}

size_t block_cache_bytes() noexcept {
  detail::Cache& c = detail::cache();
  std::lock_guard<std::mutex> lock(c.m);
  return c.total;
}

bool set_huge_pages(bool on) noexcept { return detail::huge_pages.exchange(on); }

namespace detail {

bool huge_pages_on() noexcept { return huge_pages.load(std::memory_order_relaxed); }

void advise_huge(void* p, size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < kHugeBlockMin || !huge_pages_on()) return;
  const auto at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = (at + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (at + bytes) & ~(kHugePage - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace detail

void release_block_cache() noexcept {
  const size_t limit = set_block_cache_limit(0);
  set_block_cache_limit(limit);
}

}  // namespace pkl
