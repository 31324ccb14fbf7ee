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

}  // namespace pkl::detail
