// Memory the library keeps between graphs: the cache of freed large blocks.
//
// A graph's node array, side tables and arena chunks, and the decoder's memo,
// come from the system in large blocks (64 KiB and up). Freed blocks are kept
// in a process-wide cache so that a loop of decodes reuses pages already
// faulted in, as CPython's allocator reuses its arenas. These knobs bound it.
#pragma once

#include <cstddef>

namespace pkl {

// At most this many bytes of freed blocks are kept for reuse, process-wide
// (default 64 MiB; 0 turns the cache off and gives its blocks back).
// Returns the previous limit.
size_t set_block_cache_limit(size_t bytes) noexcept;
// Gives every cached block back to the system.
void release_block_cache() noexcept;
// The bytes the cache holds now (of each block, the part its last owner used).
size_t block_cache_bytes() noexcept;

}  // namespace pkl
