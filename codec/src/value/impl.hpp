// Internals of pkl::Graph shared by the value_*.cpp files. Internal header.
//
// Layout: a node is 16 bytes (kind, flags, aux, bits). Strs, bytes,
// bytearrays, big ints (flags bit 0) and tuples keep their payload in an
// arena record that `bits` points to (a payload of 64 KiB or more in a page
// block of its own, behind a pointer; see Rec for the other forms); lists,
// dicts, sets, globals, objects and buffers live in side tables indexed by
// `aux`; ints, floats and bools are held in `bits` itself; a persid's `bits`
// is the pid node.
//
// Const functions that hash (key_equal, dict_get, set_contains, hashable)
// fill hash caches in records and sets, and as_str makes a latin-1 str's
// UTF-8: a graph is not safe to use from two threads at once, even read-only.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "picklecodec/value.hpp"
#include "base/siphash.hpp"
#include "base/tuning.hpp"
#include "base/foreign.hpp"
#include "value/pages.hpp"

namespace pkl {

namespace detail {

// Header of a record in the arena: strs, bytes, bytearrays, big ints and
// tuples keep their payload right after it. The hash is cached lazily. An
// external record (a bytes made by Graph::bytes_view) holds, instead of its
// payload, a pointer to the caller's bytes. A latin-1 str (a large str that
// takes an eighth or more less as latin-1: Graph::Impl::make_str) holds a
// Latin1Head that points to its latin-1 bytes; `len` is still its UTF-8 size, and
// the head's pointer is null until the UTF-8 is first asked for
// (Graph::Impl::utf8_rec makes it, in the arena).
struct Rec {
  // kInGraph: a bytes whose payload is part of another record of the same
  // graph (the latin-1 or ASCII str it was encoded from), by pointer as kExternal.
  static constexpr uint32_t kInline = 0, kExternal = 1, kLatin1 = 2, kInGraph = 3;
  struct Latin1Head {
    const char* utf8;
    uint64_t count;      // characters (latin-1 bytes)
    const char* latin1;  // in the arena (a page block of its own when large)
  };
  uint64_t len;       // payload length in units (bytes, or NodeIds for tuples)
  uint64_t hash;      // valid when hashed != 0
  uint32_t hashed;
  uint32_t external;  // kInline, or the payload is elsewhere: *(const char**)(this + 1)
  const char* chars() const noexcept {
    if (external) [[unlikely]] {
      const char* p;  // a latin-1 str's Latin1Head::utf8
      std::memcpy(&p, this + 1, sizeof p);
      return p;
    }
    return reinterpret_cast<const char*>(this + 1);
  }
  // Storage of an inline payload (records being built).
  char* inline_chars() noexcept { return reinterpret_cast<char*>(this + 1); }
  const NodeId* ids() const noexcept { return reinterpret_cast<const NodeId*>(this + 1); }
  NodeId* ids() noexcept { return reinterpret_cast<NodeId*>(this + 1); }
  Latin1Head* latin1_head() const noexcept {
    return reinterpret_cast<Latin1Head*>(const_cast<Rec*>(this) + 1);
  }
  std::string_view latin1() const noexcept {
    const Latin1Head* h = latin1_head();
    return {h->latin1, static_cast<size_t>(h->count)};
  }
};

// A bump allocator of records whose addresses never move, so string_views and
// spans handed out stay valid for the graph's lifetime.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns 8-aligned storage for `bytes` bytes.
  void* allocate(size_t bytes) {
    bytes = (bytes + 7) & ~size_t{7};
    if (bytes <= left_) [[likely]] {
      void* p = cur_;
      cur_ += bytes;
      left_ -= bytes;
      return p;
    }
    return allocate_slow(bytes);
  }
  // 8-aligned zeroed storage for `bytes` bytes; a large one is fresh zero
  // pages, resident only once written.
  void* allocate_zeroed(size_t bytes);
  // A page block of at least `bytes` (set to its size) of its own, given back
  // with the arena: a large payload starts on a page and takes no page more
  // than its size needs.
  void* allocate_pages(size_t& bytes);
  // allocate(), or allocate_pages() from kPageMin bytes on.
  void* allocate_large(size_t bytes) { return bytes >= kPageMin ? allocate_pages(bytes) : allocate(bytes); }
  // Storage from the current chunk, or null (never allocates, never throws).
  void* try_allocate(size_t bytes) noexcept {
    bytes = (bytes + 7) & ~size_t{7};
    if (bytes > left_) return nullptr;
    void* p = cur_;
    cur_ += bytes;
    left_ -= bytes;
    return p;
  }

 private:
  void* allocate_slow(size_t bytes);
  // Chunks grow with the arena (kChunk, then the bytes held so far, up to
  // kMaxChunk): the large ones are page blocks (value.hpp: page_allocate),
  // reused from one graph to the next.
  static constexpr size_t kChunk = 64 * 1024;
  static constexpr size_t kMaxChunk = size_t{8} << 20;
  struct Chunk {
    void* p = nullptr;
    size_t bytes = 0;  // a page block's actual size, or 0 for malloc's
    Chunk() = default;
    Chunk(void* q, size_t b) noexcept : p(q), bytes(b) {}
    Chunk(Chunk&& o) noexcept : p(o.p), bytes(o.bytes) { o.p = nullptr; }
    Chunk& operator=(Chunk&& o) noexcept {
      std::swap(p, o.p);
      std::swap(bytes, o.bytes);
      return *this;
    }
    ~Chunk() {
      if (bytes) {
        page_free(p, bytes);
      } else {
        std::free(p);
      }
    }
  };
  std::vector<Chunk> chunks_;
  std::vector<std::unique_ptr<uint64_t[]>> big_;     // one large record each
  char* cur_ = nullptr;
  size_t left_ = 0;
  size_t allocated_ = 0;  // bytes of all chunks

 public:
  size_t allocated() const noexcept { return allocated_; }
};

// An allocator for the item vectors of dicts (lists have ItemVector): blocks
// of up to kArenaItems items come from the graph's arena (most are small;
// no malloc, no free, no per-block header), larger ones from the heap. Arena
// blocks are given back with the graph; a vector that outgrows one leaves it
// unused (at most kArenaItems items).
template <class T>
struct SmallArenaAlloc {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  static constexpr size_t kArenaItems = 8;

  Arena* arena = nullptr;  // null: every block from the heap

  SmallArenaAlloc() noexcept = default;
  explicit SmallArenaAlloc(Arena* a) noexcept : arena(a) {}
  template <class U>
  SmallArenaAlloc(const SmallArenaAlloc<U>& o) noexcept : arena(o.arena) {}

  T* allocate(size_t n) {
    if (arena && n <= kArenaItems) return static_cast<T*>(arena->allocate(n * sizeof(T)));
    if (n < kPageMin / sizeof(T)) return std::allocator<T>().allocate(n);
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    size_t bytes = n * sizeof(T);
    return static_cast<T*>(page_allocate(bytes, true));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (arena && n <= kArenaItems) return;
    if (n < kPageMin / sizeof(T)) return std::allocator<T>().deallocate(p, n);
    size_t bytes = n * sizeof(T);
    page_free(p, page_block_size(bytes));
  }
  template <class U>
  bool operator==(const SmallArenaAlloc<U>& o) const noexcept { return arena == o.arena; }
};

// The items of a list: trivially copyable items in three tiers of storage.
// Up to kArenaItems items come from the graph's arena (most lists are small:
// no malloc), then from malloc (grown by realloc), and from kPageMin bytes on
// from a page block grown by page_grow: a cached block already resident when
// there is one, else the block itself, remapped. A std::vector kept its old
// block beside the new one at every doubling, and the old blocks stayed in
// the block cache, resident: a big list's growth cost half its size again in
// peak memory. The capacity is always what was asked for (the budget is
// charged for it); a page block may be bigger (block_).
template <class T>
class ItemVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr size_t kArenaItems = 8;

  explicit ItemVector(Arena* arena) noexcept : arena_(arena) {}
  template <class It>
  ItemVector(It first, It last, Arena* arena) : arena_(arena) {
    append(first, last);
  }
  ItemVector(const ItemVector&) = delete;
  ItemVector& operator=(const ItemVector&) = delete;
  ~ItemVector() { release(); }

  size_t size() const noexcept { return n_; }
  size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return n_ == 0; }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  T* begin() noexcept { return p_; }
  T* end() noexcept { return p_ + n_; }
  const T* begin() const noexcept { return p_; }
  const T* end() const noexcept { return p_ + n_; }
  T& operator[](size_t i) noexcept { return p_[i]; }
  const T& operator[](size_t i) const noexcept { return p_[i]; }

  void reserve(size_t n) {
    if (n <= cap_) return;
    if (n > UINT32_MAX) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    if (bytes <= block_) {  // a page block taken bigger than asked for
      cap_ = static_cast<uint32_t>(n);
      return;
    }
    T* q;
    if (in_arena(n)) {
      q = static_cast<T*>(arena_->allocate(bytes));  // the old arena block is left unused
      if (n_) std::memcpy(static_cast<void*>(q), static_cast<const void*>(p_), n_ * sizeof(T));
    } else if (bytes < kPageMin) {
      const bool heap = cap_ && !in_arena(cap_);
      void* r = heap ? std::realloc(static_cast<void*>(p_), bytes) : std::malloc(bytes);
      if (!r) throw std::bad_alloc();
      q = static_cast<T*>(r);
      if (!heap && n_) std::memcpy(r, static_cast<const void*>(p_), n_ * sizeof(T));
    } else if (block_) {
      size_t size = bytes;
      q = static_cast<T*>(page_grow(p_, block_, n_ * sizeof(T), size));
      block_ = size;
    } else {
      size_t size = bytes;
      q = static_cast<T*>(page_allocate_growable(size));
      if (n_) std::memcpy(static_cast<void*>(q), static_cast<const void*>(p_), n_ * sizeof(T));
      if (cap_ && !in_arena(cap_)) std::free(p_);
      block_ = size;
    }
    p_ = q;
    cap_ = static_cast<uint32_t>(n);
  }
  // Room for one more: the caller has reserved it (Graph::Impl::grow).
  void push_back(const T& v) noexcept { p_[n_++] = v; }
  template <class It>
  void append(It first, It last) {
    const size_t k = static_cast<size_t>(last - first);
    if (cap_ - n_ < k) reserve(n_ + k);
    std::copy(first, last, p_ + n_);
    n_ += static_cast<uint32_t>(k);
  }

 private:
  bool in_arena(size_t cap) const noexcept { return arena_ && cap <= kArenaItems; }
  void release() noexcept {
    if (block_) {
      page_free_growable(p_, block_, n_ * sizeof(T));
    } else if (cap_ && !in_arena(cap_)) {
      std::free(p_);
    }
  }

  T* p_ = nullptr;
  uint32_t n_ = 0, cap_ = 0;
  Arena* arena_ = nullptr;
  size_t block_ = 0;  // a page block's actual size, or 0
};

using ListItems = ItemVector<NodeId>;

// An allocator that asks for transparent huge pages for big blocks (hash
// indexes of large dicts are probed at random: fewer TLB misses).
template <class T>
struct HugeAlloc {
  using value_type = T;
  HugeAlloc() noexcept = default;
  template <class U>
  HugeAlloc(const HugeAlloc<U>&) noexcept {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t n) noexcept;
  template <class U>
  bool operator==(const HugeAlloc<U>&) const noexcept { return true; }
};

void* huge_allocate(size_t bytes);
void huge_deallocate(void* p, size_t bytes) noexcept;

template <class T>
T* HugeAlloc<T>::allocate(size_t n) {
  if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
  return static_cast<T*>(huge_allocate(n * sizeof(T)));
}
template <class T>
void HugeAlloc<T>::deallocate(T* p, size_t n) noexcept {
  huge_deallocate(p, n * sizeof(T));
}

using SlotVector = std::vector<uint64_t, HugeAlloc<uint64_t>>;

// An insertion-ordered hash table of dict keys or set members with Python's
// key semantics. `items` is the insertion order. Past kSmall items, `hashes`
// (parallel to items) and `slots` (open addressing, linear probing) index it:
// a slot is (hash's high 32 bits) << 32 | (position + 1), 0 when empty, so a
// probe rarely touches `hashes`. Sets keep `hashes` at every size (a
// frozenset's hash is computed from them without recursion); small dicts
// scan their keys and keep no hashes.
template <class Item, bool kAlwaysHashes, class Alloc = std::allocator<Item>>
struct HashedItems {
  static constexpr size_t kSmall = 8;
  static constexpr bool kKeepsHashes = kAlwaysHashes;
  HashedItems() = default;
  explicit HashedItems(const Alloc& a) : items(a) {}
  std::vector<Item, Alloc> items;
  std::vector<uint64_t> hashes;
  SlotVector slots;
};

struct SetData : HashedItems<NodeId, true> {
  uint64_t hash = 0;  // frozenset hash cache
  bool hashed = false;
};
struct DictData : HashedItems<Pair, false, SmallArenaAlloc<Pair>> {
  DictData() = default;
  explicit DictData(Arena* a) : HashedItems(SmallArenaAlloc<Pair>(a)) {}
  // While the dict is small (unindexed): two bits per str or bytes key,
  // from its hash (bloom_bits). A str key whose bits are not both set equals
  // no key yet, so it is appended without a scan.
  uint64_t bloom = 0;
  static uint64_t bloom_bits(uint64_t h) noexcept {
    return (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63));
  }
};

// The side tables of lists, dicts, sets and objects: a vector whose storage is a
// series of chunks, chunk 0 of first_ items (a power of two: 16, or what
// reserve_first sized from the input) and chunk c >= 1 of first_ << (c - 1),
// so that growing never moves (copies, or touches twice) what is there;
// large chunks are page blocks (value.hpp: page_allocate). Items of chunk 0
// are reached as in a plain vector. With huge pages on, the chunks after
// the first from kHugeGrowFrom to kHugeBlockMin bytes (less than
// 2 * kHugeBlockMin in all: each doubles the last) are cut from one block of
// that size, in huge pages, as the larger chunks are on their own (chunk 0,
// address space reserved from the input, is touched as items are made).
template <class T>
class ChunkedTable {
  static constexpr unsigned kMaxChunks = 48;

 public:
  ChunkedTable() = default;
  ChunkedTable(const ChunkedTable&) = delete;
  ChunkedTable& operator=(const ChunkedTable&) = delete;
  ~ChunkedTable() {
    const size_t high = n_;  // what the cache is told was used
    while (n_) pop_back();
    size_t region_used = 0;
    for (unsigned c = 0; c < chunks_; ++c) {
      if (block_[c] == kInRegion) {
        region_used += used_bytes(c, high);
      } else if (block_[c]) {
        page_free(chunk_[c], block_[c], used_bytes(c, high));
      } else {
        ::operator delete(chunk_[c]);
      }
    }
    if (region_) page_free(region_, region_bytes_, region_used);
  }

  size_t size() const noexcept { return n_; }
  size_t capacity() const noexcept { return cap_; }
  T& operator[](size_t i) noexcept { return *at(i); }
  const T& operator[](size_t i) const noexcept { return *const_cast<ChunkedTable*>(this)->at(i); }
  T& back() noexcept { return *at(n_ - 1); }
  template <class... A>
  T& emplace_back(A&&... a) {
    if (n_ == cap_) add_chunk();
    T* p = ::new (static_cast<void*>(at(n_))) T(std::forward<A>(a)...);
    ++n_;
    return *p;
  }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  void pop_back() noexcept {
    --n_;
    at(n_)->~T();
  }
  void reserve(size_t n) {
    while (cap_ < n) add_chunk();
  }
  // Before the first item: chunk 0 is to hold about n items (address space;
  // pages are touched as items are made).
  void reserve_first(size_t n) {
    if (chunks_ != 0 || n <= first_) return;
    const unsigned shift = std::min<unsigned>(std::bit_width(n - 1), 40);
    first_shift_ = shift;
    first_ = size_t{1} << shift;
    add_chunk();
  }

 private:
  T* at(size_t i) noexcept {
    if (i < first_) [[likely]] return chunk_[0] + i;
    const int c = std::bit_width(i >> first_shift_);
    return reinterpret_cast<T*>(base_[c] + i * sizeof(T));
  }
  // Items chunk c holds, and the index of its first.
  size_t chunk_items(unsigned c) const noexcept { return c == 0 ? first_ : first_ << (c - 1); }
  size_t chunk_start(unsigned c) const noexcept { return c == 0 ? 0 : first_ << (c - 1); }
  size_t used_bytes(unsigned c, size_t high) const noexcept {
    const size_t start = chunk_start(c), items = chunk_items(c);
    const size_t used = high <= start ? 0 : std::min(high - start, items);
    return used * sizeof(T);
  }
  void add_chunk() {
    if (chunks_ == kMaxChunks) throw std::length_error("table too large");
    const size_t items = chunk_items(chunks_);
    if (items > SIZE_MAX / sizeof(T)) throw std::length_error("table too large");
    size_t bytes = items * sizeof(T);
    void* p;
    if (chunks_ > 0 && bytes >= kHugeGrowFrom && bytes < kHugeBlockMin && huge_pages_on()) {
      if (!region_) {
        size_t size = 2 * kHugeBlockMin;
        region_ = static_cast<char*>(page_allocate(size, true));
        region_bytes_ = size;
      }
      if (region_bytes_ - region_at_ >= bytes) {
        p = region_ + region_at_;
        region_at_ += bytes;
        bytes = kInRegion;
      } else {
        p = page_allocate(bytes);
      }
    } else if (bytes >= kPageMin) {
      p = page_allocate(bytes);
    } else {
      p = ::operator new(bytes);
      bytes = 0;
    }
    chunk_[chunks_] = static_cast<T*>(p);
    base_[chunks_] = reinterpret_cast<uintptr_t>(p) - chunk_start(chunks_) * sizeof(T);
    block_[chunks_] = bytes;
    ++chunks_;
    cap_ += items;
  }
  T* chunk_[kMaxChunks] = {};
  uintptr_t base_[kMaxChunks] = {};  // the address item 0 would have if chunk c began the table
  size_t block_[kMaxChunks] = {};    // a page block's actual size, 0 for operator new's, or:
  static constexpr size_t kInRegion = SIZE_MAX;  // cut from region_
  char* region_ = nullptr;  // with huge pages on: the block the middle-sized chunks share
  size_t region_bytes_ = 0, region_at_ = 0;
  size_t first_ = 16;
  unsigned first_shift_ = 4;
  unsigned chunks_ = 0;
  size_t n_ = 0;
  size_t cap_ = 0;
};

enum Tag : uint64_t {
  kTagInt = 0x49,
  kTagBigInt = 0x4c,
  kTagFloat = 0x46,
  kTagIdentity = 0x69,
  kTagStr = 0x73,
  kTagBytes = 0x62,
  kTagTuple = 0x74,
  kTagFrozenSet = 0x66,
};

SipKey graph_key() noexcept;

}  // namespace detail

struct Graph::Impl {
  detail::Arena arena;
  detail::ChunkedTable<detail::ListItems> lists;
  detail::ChunkedTable<detail::DictData> dicts;
  detail::ChunkedTable<detail::SetData> sets;
  std::deque<GlobalData> globals;
  detail::ChunkedTable<ObjectData> objects;  // not a deque: its 512-byte blocks, from the heap, faulted a page at a time
  std::deque<BufferData> buffers;
  struct KeyedStrHash {
    Impl* impl;
    size_t operator()(const std::string& s) const noexcept {
      return static_cast<size_t>(detail::siphash_tagged_bytes(impl->sip(), 0x67, s.data(), s.size()));
    }
  };
  std::unordered_map<std::string, NodeId, KeyedStrHash> global_index;  // length-prefixed key -> node
  std::array<NodeId, 256> str1;
  std::array<NodeId, 256> bytes1;
  NodeId str0 = kNoNode;
  NodeId bytes0 = kNoNode;
  size_t view_bytes = 0;  // what the bytes views refer to (not in the arena)
  detail::SipKey key;

  static_assert(sizeof(Node) == 16, "a node is 16 bytes");

  Impl() : global_index(0, KeyedStrHash{this}), key(detail::graph_key()) {
    str1.fill(kNoNode);
    bytes1.fill(kNoNode);
  }

  const detail::SipKey& sip() const noexcept { return key; }

  // ---- helpers over a graph (Impl is a member class: it sees Graph's privates)
  static detail::Rec* rec(const Graph& g, NodeId n) noexcept {
    return reinterpret_cast<detail::Rec*>(static_cast<uintptr_t>(g.nodes_[n].bits));
  }
  // The record of a str with its UTF-8 at chars(): a latin-1 one gets it
  // made the first time (in the arena, already charged when the str was made).
  static const detail::Rec* utf8_rec(const Graph& g, NodeId n) {
    const detail::Rec* r = rec(g, n);
    if (r->external == detail::Rec::kLatin1 && !r->latin1_head()->utf8) [[unlikely]] make_utf8(g, r);
    return r;
  }
  static void make_utf8(const Graph& g, const detail::Rec* r);
  // A str of validated UTF-8 (surrogatepass), kept as latin-1 when that is
  // large and saves an eighth or more (as CPython keeps a str of such
  // characters at a byte each).
  static NodeId make_str(Graph& g, std::string_view utf8);
  // The latin-1 form of such a str, or kNoNode when it is not one (or not
  // UTF-8: converting checks the encoding as the UTF-8 validator would).
  static NodeId try_latin1_str(Graph& g, std::string_view utf8);
  // From how many UTF-8 bytes (pkl::tuning.large_str_min, read at each use).
  static inline const size_t& kLatin1StrMin = tuning.large_str_min;
  static bool is_big(const Graph& g, NodeId n) noexcept { return g.nodes_[n].flags & 1; }
  static const Node& node(const Graph& g, NodeId n) noexcept { return g.nodes_[n]; }

  // Hash of a hashable node; false with `bad` set to the offending kind
  // when the node is (or holds) an unhashable value; throws on cycles.
  static bool try_hash(const Graph& g, NodeId n, uint64_t& out, Kind& bad);
  static uint64_t scalar_hash(const Graph& g, NodeId n);
  static bool numbers_equal(const Graph& g, NodeId a, NodeId b);

  // Position of `key` (with hash h) in a table, or -1.
  template <class Table>
  static int64_t find(const Graph& g, const Table& t, NodeId key, uint64_t h);
  // Appends the item (new key `key` with hash h) and indexes it.
  template <class Table, class Item>
  static void append(Graph& g, Table& t, const Item& item, uint64_t h);

  static void set_insert(Graph& g, detail::SetData& s, NodeId member, uint64_t h);
  // Graph::dict_set without the checks of its arguments.
  static void dict_put(Graph& g, detail::DictData& d, NodeId key, NodeId value);
  static uint64_t set_hash(Graph::Impl& impl, detail::SetData& s);
  // 0: unequal, 1: equal, 2: both tuples or both sets (need a deep comparison).
  static int shallow_equal(const Graph& g, NodeId a, NodeId b);
  static bool deep_equal(const Graph& g, NodeId a, NodeId b);
  static bool equal(const Graph& g, NodeId a, NodeId b) {
    int r = shallow_equal(g, a, b);
    return r == 2 ? deep_equal(g, a, b) : r == 1;
  }

  // A node whose payload is an arena record (str, bytes, bytearray, big int, tuple).
  static void grow_nodes(Graph& g);
  static NodeId make_rec(Graph& g, Kind k, uint8_t flags, const void* data, size_t bytes,
                         uint64_t units);
  // A record of `bytes` copied from `data`; with data null, of `bytes` zero
  // bytes not written (bytes(N), bytearray(N): Arena::allocate_zeroed).
  static detail::Rec* new_rec(Graph& g, const void* data, size_t bytes, uint64_t units);
  // The same for a large str, bytes or bytearray: the payload in page blocks
  // of its own, the record a kInGraph pointer to it.
  static detail::Rec* new_paged_rec(Graph& g, const void* data, size_t bytes, uint64_t units);
  // The record of a payload already on pages of its own (charged, filled):
  // a header holding the payload's address.
  static detail::Rec* paged_rec(Graph& g, char* payload, uint64_t units);

  // Grows v's capacity for `extra` more items, charging the growth to the budget.
  template <class V>
  static void grow(Graph& g, V& v, size_t extra) {
    using T = std::remove_reference_t<decltype(v[0])>;
    const size_t need = v.size() + extra;
    if (need <= v.capacity()) return;
    size_t cap = v.capacity() < 4 ? 4 : v.capacity() * 2;
    if (cap < need) cap = need;
    g.charge(static_cast<uint64_t>(cap - v.capacity()) * sizeof(T));
    v.reserve(cap);
  }
  // Reserves exactly n items of capacity, charging the growth.
  template <class T, class A>
  static void reserve_exact(Graph& g, std::vector<T, A>& v, size_t n) {
    if (n <= v.capacity()) return;
    g.charge(static_cast<uint64_t>(n - v.capacity()) * sizeof(T));
    v.reserve(n);
  }
  [[noreturn]] static void unhashable(Kind k);
};

}  // namespace pkl

namespace pkl::detail {

// Runs f, turning allocation failures and stray standard exceptions into
// pkl::Error so that nothing else leaves a public function.
template <class F>
decltype(auto) guarded(F&& f) {
  return as_error(std::forward<F>(f));
}

}  // namespace pkl::detail
