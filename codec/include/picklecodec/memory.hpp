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

// Whether the library's large storage is in transparent huge pages (Linux,
// in `madvise` or `always` mode): blocks of 4 MiB and more are mapped with
// MADV_HUGEPAGE, storage that grows past 256 KiB (a block, the arena, a
// side table) grows to 4 MiB at once, and the encoder's per-node cells of
// 1 MiB and more and output buffer of 4 MiB and more are in huge pages too,
// so that a pickle read from a pipe, whose storage grows as
// its bytes arrive, faults in as few pages as one read from a file, whose
// storage is reserved from its size. The first touch of a graph's memory
// then faults once per 2 MiB instead of once per 4 KiB (a fifth of a
// one-shot 10 MB recode), at the cost of up to 2 MiB resident beyond what
// each such block uses. Off by default: a program that decodes in a loop
// reuses cached, already faulted pages and gains nothing. A program that
// decodes one large pickle and exits (pickletool) turns it on. Applies to
// storage made from then on. Returns the previous setting.
bool set_huge_pages(bool on) noexcept;

}  // namespace pkl
