// pkl::Graph: building and reading nodes, the arena, the budget.
// Hashing and Python's key semantics live in value/hash.cpp, structural
// comparison of graphs in value/iso.cpp.
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <random>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "text/bigint.hpp"
#include "text/latin1.hpp"
#include "picklecodec/repr.hpp"
#include "value/access.hpp"
#include "text/utf8_valid.hpp"
#include "value/impl.hpp"
#include "base/foreign.hpp"

namespace pkl {

using detail::guarded;
using detail::Rec;

const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::ByteArray: return "bytearray";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::FrozenSet: return "frozenset";
    case Kind::Global: return "type";
    case Kind::Object: return "object";
    case Kind::PersId: return "persistent_id";
    case Kind::Buffer: return "pickle.PickleBuffer";
  }
  return "unknown";
}

namespace detail {

void* Arena::allocate_zeroed(size_t bytes) {
  bytes = (bytes + 7) & ~size_t{7};
  if (bytes <= kChunk / 4) {
    void* p = allocate(bytes);
    std::memset(p, 0, bytes);
    return p;
  }
  size_t size = bytes;
  void* p = page_allocate_zeroed(size);
  chunks_.reserve(chunks_.size() + 1);
  chunks_.emplace_back(p, size);  // given back by page_free, as the chunks are
  allocated_ += size;
  return p;
}

void* Arena::allocate_pages(size_t& bytes) {
  chunks_.reserve(chunks_.size() + 1);
  void* p = page_allocate(bytes);
  chunks_.emplace_back(p, bytes);  // given back by page_free, as the chunks are
  allocated_ += bytes;
  return p;
}

void* Arena::allocate_slow(size_t bytes) {
  if (bytes > kChunk / 4) {
    auto block = std::make_unique_for_overwrite<uint64_t[]>(bytes / 8);
    void* p = block.get();
    big_.push_back(std::move(block));
    allocated_ += bytes;
    return p;
  }
  if (bytes > left_) {
    size_t size = std::clamp(allocated_, kChunk, kMaxChunk);
    // With huge pages on, from kHugeGrowFrom held on, chunks in huge pages.
    if (size >= kHugeGrowFrom && size < kHugeBlockMin && huge_pages_on()) size = kHugeBlockMin;
    chunks_.reserve(chunks_.size() + 1);
    void* p;
    if (size >= kPageMin) {
      p = page_allocate(size);
      chunks_.emplace_back(p, size);
    } else {
      p = std::malloc(size);
      if (!p) throw std::bad_alloc();
      chunks_.emplace_back(p, 0);
    }
    allocated_ += size;
    cur_ = static_cast<char*>(p);
    left_ = size;
  }
  void* p = cur_;
  cur_ += bytes;
  left_ -= bytes;
  return p;
}

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

void* huge_allocate(size_t bytes) {
  if (bytes >= kHugePage) {
    const size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }
  return ::operator new(bytes);
}

void huge_deallocate(void* p, size_t bytes) noexcept {
  if (bytes >= kHugePage) {
    std::free(p);
  } else {
    ::operator delete(p);
  }
}

SipKey graph_key() noexcept {
  // One secret per process from the OS; each graph's key derives from it and
  // a counter, so making a graph never touches the entropy source.
  static const SipKey process = [] {
    SipKey k;
    try {
      std::random_device rd;
      k.k0 = (uint64_t{rd()} << 32) ^ rd();
      k.k1 = (uint64_t{rd()} << 32) ^ rd();
    } catch (...) {
      auto t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      k.k0 = t ^ reinterpret_cast<uintptr_t>(&k);
      k.k1 = t * 0x9e3779b97f4a7c15ULL;
    }
    return k;
  }();
  static std::atomic<uint64_t> counter{0};
  const uint64_t c = counter.fetch_add(1, std::memory_order_relaxed);
  return SipKey{siphash_words(process, c, 1), siphash_words(process, c, 2)};
}

}  // namespace detail

namespace {

[[noreturn]] void moved_from() { throw Error(ErrorCode::Usage, "use of a moved-from graph"); }

[[noreturn]] void wrong_kind(Kind got, const char* expected) {
  throw Error(ErrorCode::Usage,
              std::string("expected ") + expected + ", got " + kind_name(got));
}

bool is_one_char_latin1(std::string_view s, unsigned& cp) {
  const int c = detail::one_latin1_char(s);
  if (c < 0) return false;
  cp = static_cast<unsigned>(c);
  return true;
}

}  // namespace

// ---- construction ---------------------------------------------------------

Graph::Graph() try : impl_(std::make_unique<Impl>()) {
  nodes_.reserve(16);
  add(Kind::None, 0, 0);
  add(Kind::Bool, 0, 0);
  add(Kind::Bool, 0, 1);
} catch (...) {
  detail::rethrow_as_error();
}

Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;
Graph::~Graph() = default;

namespace {
[[noreturn]] __attribute__((noinline, cold)) void bad_node(NodeId n, size_t size) {
  throw Error(ErrorCode::Usage,
              "bad node id " + std::to_string(n) + " (graph has " + std::to_string(size) + " nodes)");
}
}  // namespace

void Graph::check(NodeId n) const {
  if (n >= nodes_.size()) [[unlikely]] bad_node(n, nodes_.size());
}

void Graph::charge(uint64_t bytes) {
  if (bytes == 0) return;
  if (bytes_held_ > byte_limit_ || bytes > byte_limit_ - bytes_held_) {
    throw Error(ErrorCode::ResourceLimit,
                "the value graph would exceed its byte limit (" + std::to_string(byte_limit_) +
                    " bytes)");
  }
  bytes_held_ += bytes;
}

void Graph::Impl::grow_nodes(Graph& g) {
  if (!g.impl_) moved_from();
  // Capacity never exceeds kNoNode - 1, so kNoNode is never a node's id.
  constexpr size_t kMaxNodes = kNoNode - 1;
  const size_t cap = g.nodes_.capacity();
  if (cap >= kMaxNodes) throw Error(ErrorCode::ResourceLimit, "too many nodes in one graph");
  size_t want = cap < 16 ? 16 : cap * 2;
  if (want > kMaxNodes) want = kMaxNodes;
  guarded([&] { g.nodes_.reserve(want); });
}

NodeId Graph::add(Kind k, uint32_t aux, uint64_t bits) {
  const size_t n = nodes_.size();
  if (n == nodes_.capacity()) [[unlikely]] Impl::grow_nodes(*this);
  charge(sizeof(Node));
  nodes_.push_back(Node{k, 0, 0, aux, bits});  // capacity is reserved: no throw
  return static_cast<NodeId>(n);
}

Rec* Graph::Impl::new_rec(Graph& g, const void* data, size_t bytes, uint64_t units) {
  g.charge(sizeof(Rec) + static_cast<uint64_t>(bytes));
  detail::Arena& a = g.impl_->arena;
  auto* r = static_cast<Rec*>(data || !bytes ? a.allocate(sizeof(Rec) + bytes) : a.allocate_zeroed(sizeof(Rec) + bytes));
  r->len = units;
  r->hash = 0;
  r->hashed = 0;
  r->external = 0;
  if (data && bytes) std::memcpy(r->inline_chars(), data, bytes);
  return r;
}

Rec* Graph::Impl::new_paged_rec(Graph& g, const void* data, size_t bytes, uint64_t units) {
  g.charge(sizeof(Rec) + static_cast<uint64_t>(bytes));
  detail::Arena& a = g.impl_->arena;
  size_t size = bytes;
  char* payload = static_cast<char*>(a.allocate_pages(size));
  std::memcpy(payload, data, bytes);
  return paged_rec(g, payload, units);
}

Rec* Graph::Impl::paged_rec(Graph& g, char* payload, uint64_t units) {
  auto* r = static_cast<Rec*>(g.impl_->arena.allocate(sizeof(Rec) + sizeof payload));
  r->len = units;
  r->hash = 0;
  r->hashed = 0;
  r->external = Rec::kInGraph;
  std::memcpy(r->inline_chars(), &payload, sizeof payload);
  return r;
}

NodeId Graph::Impl::make_rec(Graph& g, Kind k, uint8_t flags, const void* data, size_t bytes,
                             uint64_t units) {
  if (!g.impl_) moved_from();
  // A large payload of bytes on pages of its own: behind a record header it
  // took one page more (257 for a MiB), and its block now comes from the
  // block cache (resident, in a loop of decodes) rather than from malloc.
  const bool paged = data && bytes >= detail::kPageMin && (k == Kind::Str || k == Kind::Bytes || k == Kind::ByteArray);
  Rec* r = paged ? new_paged_rec(g, data, bytes, units) : new_rec(g, data, bytes, units);
  NodeId n = g.add(k, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r)));
  g.nodes_[n].flags = flags;
  return n;
}

NodeId Graph::integer(int64_t v) { return add(Kind::Int, 0, static_cast<uint64_t>(v)); }

NodeId Graph::integer_le(std::span<const uint8_t> le) {
  const size_t n = detail::minimal_le_length(le);
  if (n <= 8) return integer(detail::le_to_int64(le.first(n)));
  return guarded([&] { return Impl::make_rec(*this, Kind::Int, 1, le.data(), n, n); });
}

NodeId Graph::integer_decimal(std::string_view digits) {
  return guarded([&] {
    auto le = detail::decimal_to_le(digits);
    if (!le) {
      // CPython: "invalid literal for int() with base 10: %.200R".
      std::string shown = str_is_valid(digits) ? repr_str(digits)
                                               : repr_bytes(digits);
      size_t chars = 0, cut = 0;  // keep the first 200 code points
      while (cut < shown.size() && chars < 200) {
        ++cut;
        while (cut < shown.size() && (static_cast<unsigned char>(shown[cut]) & 0xc0) == 0x80) ++cut;
        ++chars;
      }
      shown.resize(cut);
      throw Error(ErrorCode::ValueError, "invalid literal for int() with base 10: " + shown);
    }
    return integer_le(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(le->data()),
                                               le->size()));
  });
}

NodeId Graph::floating(double v) { return add(Kind::Float, 0, std::bit_cast<uint64_t>(v)); }

NodeId Graph::str(std::string_view utf8) {
  return guarded([&] {
    if (!impl_) moved_from();
    unsigned cp = 0;
    if (utf8.empty()) {
      if (impl_->str0 == kNoNode) impl_->str0 = Impl::make_rec(*this, Kind::Str, 0, "", 0, 0);
      return impl_->str0;
    }
    if (is_one_char_latin1(utf8, cp)) {
      NodeId& slot = impl_->str1[cp];
      if (slot == kNoNode) slot = Impl::make_rec(*this, Kind::Str, 0, utf8.data(), utf8.size(), utf8.size());
      return slot;
    }
    return Impl::make_str(*this, utf8);
  });
}

NodeId Graph::Impl::make_str(Graph& g, std::string_view utf8) {
  const NodeId n = try_latin1_str(g, utf8);
  return n != kNoNode ? n : make_rec(g, Kind::Str, 0, utf8.data(), utf8.size(), utf8.size());
}

NodeId Graph::Impl::try_latin1_str(Graph& g, std::string_view utf8) {
  const size_t size = utf8.size();
  if (size < kLatin1StrMin) return kNoNode;
  const std::optional<size_t> count = detail::latin1_length(utf8);
  if (!count || (size - *count) * 8 < size) return kNoNode;
  // Charged as the UTF-8 record it stands for: limits do not depend on how a
  // str is kept, and the UTF-8, if it is ever made, is paid for. Over the
  // budget, or not UTF-8, it is the caller's general path that reports, in
  // the order it always has (the decoder: the encoding first).
  const uint64_t cost = sizeof(Rec) + static_cast<uint64_t>(size);
  if (g.bytes_held_ > g.byte_limit_ || cost > g.byte_limit_ - g.bytes_held_) return kNoNode;
  detail::Arena& a = g.impl_->arena;
  auto* latin1 = static_cast<char*>(a.allocate_large(*count + 8));
  if (detail::utf8_to_latin1(utf8, latin1) != count) return kNoNode;
  auto* r = static_cast<Rec*>(a.allocate(sizeof(Rec) + sizeof(Rec::Latin1Head)));
  g.charge(cost);
  r->len = size;
  r->hash = 0;
  r->hashed = 0;
  r->external = Rec::kLatin1;
  Rec::Latin1Head* head = r->latin1_head();
  head->utf8 = nullptr;
  head->count = *count;
  head->latin1 = latin1;
  return g.add(Kind::Str, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r)));
}

void Graph::Impl::make_utf8(const Graph& g, const Rec* r) {
  const std::string_view latin1 = r->latin1();
  guarded([&] {
    auto* p = static_cast<char*>(g.impl_->arena.allocate_large(r->len + detail::kLatin1Slack));
    detail::latin1_to_utf8(latin1, p);
    r->latin1_head()->utf8 = p;
  });
}

NodeId Graph::bytes(std::string_view data) {
  return guarded([&] {
    if (!impl_) moved_from();
    if (data.empty()) {
      if (impl_->bytes0 == kNoNode) impl_->bytes0 = Impl::make_rec(*this, Kind::Bytes, 0, "", 0, 0);
      return impl_->bytes0;
    }
    if (data.size() == 1) {
      NodeId& slot = impl_->bytes1[static_cast<unsigned char>(data[0])];
      if (slot == kNoNode) slot = Impl::make_rec(*this, Kind::Bytes, 0, data.data(), 1, 1);
      return slot;
    }
    return Impl::make_rec(*this, Kind::Bytes, 0, data.data(), data.size(), data.size());
  });
}

NodeId Graph::bytes_unshared(std::string_view data) {
  if (data.size() != 1) return bytes(data);
  return guarded([&] { return Impl::make_rec(*this, Kind::Bytes, 0, data.data(), 1, 1); });
}

NodeId Graph::bytes_view(std::string_view data) {
  if (data.empty()) return bytes(data);
  if (!impl_) moved_from();
  return guarded([&] {
    const char* p = data.data();
    Rec* r = Impl::new_rec(*this, &p, sizeof p, data.size());
    r->external = 1;
    impl_->view_bytes += data.size();
    return add(Kind::Bytes, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r)));
  });
}

bool Graph::is_view(NodeId n) const {
  check(n);
  const Kind k = nodes_[n].kind;
  return (k == Kind::Bytes) && Impl::rec(*this, n)->external == Rec::kExternal;
}

NodeId Graph::bytearray(std::string_view data) {
  return guarded(
      [&] { return Impl::make_rec(*this, Kind::ByteArray, 0, data.data(), data.size(), data.size()); });
}

NodeId Graph::tuple(std::span<const NodeId> items) {
  for (NodeId c : items) check(c);
  return guarded([&] {
    return Impl::make_rec(*this, Kind::Tuple, 0, items.data(), items.size() * sizeof(NodeId),
                          items.size());
  });
}

NodeId Graph::list(std::span<const NodeId> items) {
  for (NodeId c : items) check(c);
  if (!impl_) moved_from();
  return guarded([&] {
    auto& lists = impl_->lists;
    charge(sizeof(detail::ListItems) + items.size() * sizeof(NodeId));
    Impl::grow(*this, lists, 1);
    lists.emplace_back(items.begin(), items.end(), &impl_->arena);
    try {
      return add(Kind::List, static_cast<uint32_t>(lists.size() - 1), 0);
    } catch (...) {
      lists.pop_back();
      throw;
    }
  });
}

NodeId Graph::dict() {
  if (!impl_) moved_from();
  return guarded([&] {
    auto& dicts = impl_->dicts;
    charge(sizeof(detail::DictData));
    Impl::grow(*this, dicts, 1);
    dicts.emplace_back(&impl_->arena);
    try {
      return add(Kind::Dict, static_cast<uint32_t>(dicts.size() - 1), 0);
    } catch (...) {
      dicts.pop_back();
      throw;
    }
  });
}

NodeId Graph::set() {
  if (!impl_) moved_from();
  return guarded([&] {
    auto& sets = impl_->sets;
    charge(sizeof(detail::SetData));
    Impl::grow(*this, sets, 1);
    sets.emplace_back();
    try {
      return add(Kind::Set, static_cast<uint32_t>(sets.size() - 1), 0);
    } catch (...) {
      sets.pop_back();
      throw;
    }
  });
}

NodeId Graph::frozenset(std::span<const NodeId> members) {
  for (NodeId c : members) check(c);
  if (!impl_) moved_from();
  return guarded([&] {
    detail::SetData s;
    const size_t want = members.size() < detail::SetData::kSmall ? members.size() : 0;
    if (want) {  // exact capacity for small frozensets; big ones grow as they merge
      Impl::reserve_exact(*this, s.items, want);
      Impl::reserve_exact(*this, s.hashes, want);
    }
    for (NodeId m : members) Impl::set_insert(*this, s, m, key_hash(m));
    auto& sets = impl_->sets;
    charge(sizeof(detail::SetData));
    Impl::grow(*this, sets, 1);
    sets.push_back(std::move(s));
    try {
      return add(Kind::FrozenSet, static_cast<uint32_t>(sets.size() - 1), 0);
    } catch (...) {
      sets.pop_back();
      throw;
    }
  });
}

NodeId Graph::global(std::string_view module, std::string_view qualname) {
  if (!impl_) moved_from();
  return guarded([&] {
    std::string key = std::to_string(module.size());
    key += ':';
    key += module;
    key += qualname;
    auto it = impl_->global_index.find(key);
    if (it != impl_->global_index.end()) return it->second;
    charge(sizeof(GlobalData) + module.size() + qualname.size() + key.size() + 32);
    impl_->globals.push_back(GlobalData{std::string(module), std::string(qualname)});
    NodeId n;
    try {
      n = add(Kind::Global, static_cast<uint32_t>(impl_->globals.size() - 1), 0);
    } catch (...) {
      impl_->globals.pop_back();
      throw;
    }
    impl_->global_index.emplace(std::move(key), n);
    return n;
  });
}

NodeId Graph::object(NodeId callable, NodeId args) {
  check(callable);
  check(args);
  Kind ck = nodes_[callable].kind;
  if (ck != Kind::Global && ck != Kind::Object) wrong_kind(ck, "a global or an object as callable");
  if (nodes_[args].kind != Kind::Tuple) wrong_kind(nodes_[args].kind, "tuple as args");
  return guarded([&] {
    charge(sizeof(ObjectData));
    impl_->objects.emplace_back();
    impl_->objects.back().callable = callable;
    impl_->objects.back().args = args;
    try {
      return add(Kind::Object, static_cast<uint32_t>(impl_->objects.size() - 1), 0);
    } catch (...) {
      impl_->objects.pop_back();
      throw;
    }
  });
}

NodeId Graph::persid(NodeId pid) {
  check(pid);
  return add(Kind::PersId, 0, pid);
}

NodeId Graph::buffer(uint64_t index, bool readonly, std::string_view data) {
  if (!impl_) moved_from();
  return guarded([&] {
    charge(sizeof(BufferData) + data.size());
    impl_->buffers.push_back(BufferData{index, readonly, std::string(data)});
    try {
      return add(Kind::Buffer, static_cast<uint32_t>(impl_->buffers.size() - 1), 0);
    } catch (...) {
      impl_->buffers.pop_back();
      throw;
    }
  });
}

// ---- mutating -------------------------------------------------------------

void Graph::list_append(NodeId list, NodeId item) {
  check(list);
  check(item);
  if (nodes_[list].kind != Kind::List) wrong_kind(nodes_[list].kind, "list");
  guarded([&] {
    auto& v = impl_->lists[nodes_[list].aux];
    Impl::grow(*this, v, 1);
    v.push_back(item);
  });
}

void Graph::list_set(NodeId list, size_t index, NodeId item) {
  check(list);
  check(item);
  if (nodes_[list].kind != Kind::List) wrong_kind(nodes_[list].kind, "list");
  auto& v = impl_->lists[nodes_[list].aux];
  if (index >= v.size()) throw Error(ErrorCode::Usage, "list assignment index out of range");
  v[index] = item;
}

void Graph::list_extend(NodeId list, std::span<const NodeId> items) {
  check(list);
  if (nodes_[list].kind != Kind::List) wrong_kind(nodes_[list].kind, "list");
  for (NodeId c : items) check(c);
  guarded([&] {
    auto& v = impl_->lists[nodes_[list].aux];
    std::less<const NodeId*> lt;
    const bool aliased = !items.empty() && !v.empty() && !lt(items.data(), v.data()) &&
                         lt(items.data(), v.data() + v.size());
    if (aliased) {
      const std::vector<NodeId> copy(items.begin(), items.end());
      Impl::grow(*this, v, copy.size());
      v.append(copy.begin(), copy.end());
    } else {
      Impl::grow(*this, v, items.size());
      v.append(items.begin(), items.end());
    }
  });
}

void Graph::dict_set(NodeId dict, NodeId key, NodeId value) {
  check(dict);
  check(key);
  check(value);
  if (nodes_[dict].kind != Kind::Dict) wrong_kind(nodes_[dict].kind, "dict");
  Impl::dict_put(*this, impl_->dicts[nodes_[dict].aux], key, value);
}

void Graph::Impl::dict_put(Graph& g, detail::DictData& d, NodeId key, NodeId value) {
  guarded([&] {
    const Kind kk = g.nodes_[key].kind;
    if (d.items.size() < detail::DictData::kSmall && kk != Kind::Tuple &&
        kk != Kind::FrozenSet && kk != Kind::List && kk != Kind::Dict && kk != Kind::Set &&
        kk != Kind::ByteArray) {
      // A small dict and a scalar key: no table hash needed (it stays
      // unindexed), but a str's or bytes' cached hash makes the scan cheap,
      // and the bloom of the str and bytes keys skips it for a new key.
      if (kk == Kind::Str || kk == Kind::Bytes) {
        const Rec* kr = utf8_rec(g, key);
        const uint64_t kh = kr->hashed ? kr->hash : scalar_hash(g, key);  // cached
        const uint64_t bit = detail::DictData::bloom_bits(kh);
        if ((d.bloom & bit) == bit) {
          for (auto& item : d.items) {
            const NodeId ik = item.first;
            if (ik != key) {
              if (g.nodes_[ik].kind != kk) continue;
              const Rec* ir = utf8_rec(g, ik);
              if ((ir->hashed && ir->hash != kh) || ir->len != kr->len ||
                  std::memcmp(ir->chars(), kr->chars(), kr->len) != 0) {
                continue;
              }
            }
            item.second = value;
            return;
          }
        }
        // Appending to a small dict: what append() does below kSmall items.
        if (d.items.capacity() == 0) {
          reserve_exact(g, d.items, detail::DictData::kSmall);
        } else if (d.items.size() == d.items.capacity()) {
          grow(g, d.items, 1);
        }
        d.items.push_back(Pair{key, value});
        d.bloom |= bit;
        return;
      }
      for (auto& item : d.items) {
        if (item.first == key || shallow_equal(g, item.first, key) == 1) {
          item.second = value;
          return;
        }
      }
      if (d.items.capacity() == 0) reserve_exact(g, d.items, detail::DictData::kSmall);
      append(g, d, Pair{key, value}, 0);
      return;
    }
    const uint64_t h = g.key_hash(key);
    int64_t pos = find(g, d, key, h);
    if (pos >= 0) {
      d.items[static_cast<size_t>(pos)].second = value;
      return;
    }
    append(g, d, Pair{key, value}, h);
  });
}

void Graph::set_add(NodeId set, NodeId member) {
  check(set);
  check(member);
  if (nodes_[set].kind != Kind::Set) wrong_kind(nodes_[set].kind, "set");
  guarded([&] {
    const uint64_t h = key_hash(member);
    Impl::set_insert(*this, impl_->sets[nodes_[set].aux], member, h);
  });
}

void Graph::bytearray_assign(NodeId ba, std::string_view data) {
  check(ba);
  if (nodes_[ba].kind != Kind::ByteArray) wrong_kind(nodes_[ba].kind, "bytearray");
  guarded([&] {
    Rec* r = Impl::new_rec(*this, data.data(), data.size(), data.size());
    nodes_[ba].bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r));
  });
}

void Graph::tuple_assign(NodeId tuple, std::span<const NodeId> items) {
  check(tuple);
  if (nodes_[tuple].kind != Kind::Tuple) wrong_kind(nodes_[tuple].kind, "tuple");
  for (NodeId c : items) check(c);
  guarded([&] {
    Rec* r = Impl::rec(*this, tuple);
    if (r->len == items.size()) {
      if (!items.empty()) std::memmove(r->ids(), items.data(), items.size() * sizeof(NodeId));
      r->hashed = 0;
      return;
    }
    Rec* nr = Impl::new_rec(*this, items.data(), items.size() * sizeof(NodeId), items.size());
    nodes_[tuple].bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(nr));
  });
}

ObjectData& Graph::object_data(NodeId obj) {
  check(obj);
  if (nodes_[obj].kind != Kind::Object) wrong_kind(nodes_[obj].kind, "object");
  return impl_->objects[nodes_[obj].aux];
}

// ---- reading --------------------------------------------------------------

bool Graph::as_bool(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Bool) wrong_kind(nodes_[n].kind, "bool");
  return nodes_[n].bits != 0;
}

bool Graph::int_fits64(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Int) wrong_kind(nodes_[n].kind, "int");
  return !Impl::is_big(*this, n);
}

int64_t Graph::as_int(NodeId n) const {
  if (!int_fits64(n)) throw Error(ErrorCode::Usage, "int does not fit in 64 bits");
  return static_cast<int64_t>(nodes_[n].bits);
}

std::string Graph::int_le(NodeId n) const {
  const bool fits = int_fits64(n);
  return guarded([&] {
    if (fits) return detail::int64_to_le(static_cast<int64_t>(nodes_[n].bits));
    const Rec* r = Impl::rec(*this, n);
    return std::string(r->chars(), r->len);
  });
}

std::string Graph::int_decimal(NodeId n) const {
  const bool fits = int_fits64(n);
  return guarded([&] {
    if (fits) return std::to_string(static_cast<int64_t>(nodes_[n].bits));
    const Rec* r = Impl::rec(*this, n);
    return detail::le_to_decimal(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(r->chars()), r->len));
  });
}

double Graph::as_float(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Float) wrong_kind(nodes_[n].kind, "float");
  return std::bit_cast<double>(nodes_[n].bits);
}

std::string_view Graph::as_str(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Str) wrong_kind(nodes_[n].kind, "str");
  const Rec* r = Impl::utf8_rec(*this, n);
  return std::string_view(r->chars(), r->len);
}

std::string_view Graph::as_bytes(NodeId n) const {
  check(n);
  Kind k = nodes_[n].kind;
  if (k != Kind::Bytes && k != Kind::ByteArray) wrong_kind(k, "bytes or bytearray");
  const Rec* r = Impl::rec(*this, n);
  return std::string_view(r->chars(), r->len);
}

std::span<const NodeId> Graph::items(NodeId n) const {
  check(n);
  const Node& nd = nodes_[n];
  switch (nd.kind) {
    case Kind::Tuple: {
      const Rec* r = Impl::rec(*this, n);
      return {r->ids(), static_cast<size_t>(r->len)};
    }
    case Kind::List: return impl_->lists[nd.aux];
    case Kind::Set:
    case Kind::FrozenSet: return impl_->sets[nd.aux].items;
    default: wrong_kind(nd.kind, "tuple, list, set or frozenset");
  }
}

std::span<const Pair> Graph::dict_items(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Dict) wrong_kind(nodes_[n].kind, "dict");
  return impl_->dicts[nodes_[n].aux].items;
}

const GlobalData& Graph::global_data(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Global) wrong_kind(nodes_[n].kind, "global");
  return impl_->globals[nodes_[n].aux];
}

const ObjectData& Graph::object_data(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Object) wrong_kind(nodes_[n].kind, "object");
  return impl_->objects[nodes_[n].aux];
}

NodeId Graph::persid_value(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::PersId) wrong_kind(nodes_[n].kind, "persistent_id");
  return static_cast<NodeId>(nodes_[n].bits);
}

const BufferData& Graph::buffer_data(NodeId n) const {
  check(n);
  if (nodes_[n].kind != Kind::Buffer) wrong_kind(nodes_[n].kind, "pickle.PickleBuffer");
  return impl_->buffers[nodes_[n].aux];
}

size_t Graph::length(NodeId n) const {
  check(n);
  const Node& nd = nodes_[n];
  switch (nd.kind) {
    case Kind::Tuple: return static_cast<size_t>(Impl::rec(*this, n)->len);
    case Kind::List: return impl_->lists[nd.aux].size();
    case Kind::Dict: return impl_->dicts[nd.aux].items.size();
    case Kind::Set:
    case Kind::FrozenSet: return impl_->sets[nd.aux].items.size();
    default: return 0;
  }
}

bool Graph::truthy(NodeId n) const {
  check(n);
  const Node& nd = nodes_[n];
  switch (nd.kind) {
    case Kind::None: return false;
    case Kind::Bool: return nd.bits != 0;
    case Kind::Int: return Impl::is_big(*this, n) || nd.bits != 0;
    case Kind::Float: return std::bit_cast<double>(nd.bits) != 0.0;  // NaN is truthy
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray: return Impl::rec(*this, n)->len != 0;
    case Kind::Tuple:
    case Kind::List:
    case Kind::Dict:
    case Kind::Set:
    case Kind::FrozenSet: return length(n) != 0;
    case Kind::Global:
    case Kind::Object:
    case Kind::PersId:
    case Kind::Buffer: return true;
  }
  return true;
}

// ---- UTF-8 with surrogates ------------------------------------------------

bool Graph::str_is_valid(std::string_view s) noexcept { return text::utf8_valid(s, true); }

}  // namespace pkl
