// The page allocator's entry points that only the library uses (value.hpp's
// detail/pod_vector.hpp declares the ones Graph's node array needs).
// (value/pages.cpp)
#pragma once

#include <cstddef>

#include "picklecodec/detail/pod_vector.hpp"

namespace pkl::detail {

// A fresh block of zero pages, never from the cache: its pages take memory
// only once written (bytes(N) from a few input bytes stays address space).
void* page_allocate_zeroed(size_t& bytes);
// The actual size of a block of `bytes` that page_allocate(bytes, true) gives.
size_t page_block_size(size_t bytes) noexcept;
// Blocks of a list's items, which grow: from the cache, any block a list
// gave back that is big enough (in a loop of decodes, the last graph's
// full-grown block, within which the growth to come stays), else as
// page_allocate (which takes any cached block, a list's too, of up to twice
// its size); grown (first `used` bytes live) into such a list block (a copy,
// where remapping would fault fresh pages in), else as page_reallocate; and
// given back as page_free does. The caller keeps the sizes returned.
void* page_allocate_growable(size_t& bytes);
void* page_grow(void* p, size_t old_bytes, size_t used, size_t& bytes);
void page_free_growable(void* p, size_t bytes, size_t used) noexcept;

// With huge pages on (set_huge_pages): blocks of kHugeBlockMin bytes and
// more are mapped in whole huge pages, and what grows past kHugeGrowFrom
// (a block, an arena, a side table) grows to kHugeBlockMin at once, so that
// a stream's storage, which starts small and grows as its bytes arrive,
// faults in huge pages as a file's (reserved from its size) does.
inline constexpr size_t kHugeBlockMin = size_t{4} << 20;
inline constexpr size_t kHugeGrowFrom = size_t{256} << 10;
bool huge_pages_on() noexcept;
// For a large buffer that is not a page block (malloc's): asks for huge
// pages for the whole 2 MiB pages inside it, when huge pages are on and it
// is kHugeBlockMin bytes or more.
void advise_huge(void* p, size_t bytes) noexcept;

}  // namespace pkl::detail
