// Inline fast paths into pkl::Graph for the decoder's hot loop (the
// GraphAccess friend that value.hpp names). Each does what the public member
// of the same name does, with the same budget charges and the same results,
// without the checks the decoder has already made (node ids taken from its
// own stack are valid; UTF-8 is validated before a str is made). Whenever a
// fast path does not apply (a full node vector, a budget about to run out, a
// singleton value, a large payload) it calls the public member, so limits and
// errors stay exactly those of the public API. Internal header.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

#include "value/impl.hpp"

namespace pkl {

class GraphAccess {
 public:
  using Rec = detail::Rec;

  static Kind kind(const Graph& g, NodeId n) noexcept { return g.nodes_[n].kind; }
  static size_t size(const Graph& g) noexcept { return g.nodes_.size(); }
  // Bytes of the arena (strs, bytes, tuples, small containers' items): with
  // size(), what an output estimate needs.
  static size_t arena_bytes(const Graph& g) noexcept { return g.impl_ ? g.impl_->arena.allocated() : 0; }
  // The payload bytes the graph holds or refers to (arena and bytes views).
  static size_t payload_bytes(const Graph& g) noexcept {
    return g.impl_ ? g.impl_->arena.allocated() + g.impl_->view_bytes : 0;
  }

  // Room for n nodes in all (address space: pages are touched only as nodes
  // are made; the budget is charged per node as always).
  static void reserve_nodes(Graph& g, size_t n) {
    constexpr size_t kMaxNodes = kNoNode - 1;
    g.nodes_.reserve(n < kMaxNodes ? n : kMaxNodes);
  }
  // Room for about n lists and n dicts (address space, as reserve_nodes).
  static void reserve_containers(Graph& g, size_t n) {
    g.impl_->lists.reserve_first(n);
    g.impl_->dicts.reserve_first(n);
  }

  // ---- reading, for the encoder: n is valid and of the kind named ----------
  // An Int that fits in int64 (else the encoder's general path), its value.
  static bool int_small(const Graph& g, NodeId n) noexcept { return !(g.nodes_[n].flags & 1); }
  // The raw bits of an Int (int64), Float (binary64) or Bool (0 / 1).
  static uint64_t bits(const Graph& g, NodeId n) noexcept { return g.nodes_[n].bits; }
  static std::string_view str(const Graph& g, NodeId n) {
    const Rec* r = Graph::Impl::utf8_rec(g, n);
    return {r->chars(), static_cast<size_t>(r->len)};
  }
  // A str's size in UTF-8 bytes, and its latin-1 bytes when it is kept so
  // (else null data): the encoder widens those straight into its output.
  static size_t str_size(const Graph& g, NodeId n) noexcept { return Graph::Impl::rec(g, n)->len; }
  static std::string_view str_latin1(const Graph& g, NodeId n) noexcept {
    const Rec* r = Graph::Impl::rec(g, n);
    return r->external == Rec::kLatin1 ? r->latin1() : std::string_view();
  }
  // What a str holds, read once: its UTF-8, or (latin1 set) its latin-1.
  struct StoredStr {
    std::string_view bytes;
    bool latin1;
  };
  static StoredStr str_stored(const Graph& g, NodeId n) noexcept {
    const Rec* r = Graph::Impl::rec(g, n);
    if (r->external == Rec::kLatin1) [[unlikely]] return {r->latin1(), true};
    return {{r->chars(), static_cast<size_t>(r->len)}, false};
  }
  static std::span<const NodeId> list_items(const Graph& g, NodeId n) noexcept {
    return g.impl_->lists[g.nodes_[n].aux];
  }
  static std::span<const Pair> dict_items(const Graph& g, NodeId n) noexcept {
    return g.impl_->dicts[g.nodes_[n].aux].items;
  }
  static std::span<const NodeId> tuple_items(const Graph& g, NodeId n) noexcept {
    const Rec* r = Graph::Impl::rec(g, n);
    return {r->ids(), static_cast<size_t>(r->len)};
  }

  // The try_ functions never throw and never allocate: kNoNode when the
  // node vector, the arena's current chunk or the budget has no room (the
  // caller then takes the general path, which grows or fails).

  // Graph::integer / floating.
  static NodeId try_scalar(Graph& g, Kind k, uint64_t bits) noexcept {
    const size_t n = g.nodes_.size();
    if (n == g.nodes_.capacity() || g.bytes_held_ + sizeof(Graph::Node) > g.byte_limit_) [[unlikely]] {
      return kNoNode;
    }
    g.bytes_held_ += sizeof(Graph::Node);
    g.nodes_.push_unchecked(Graph::Node{k, 0, 0, 0, bits});
    return static_cast<NodeId>(n);
  }
  static NodeId scalar(Graph& g, Kind k, uint64_t bits) {
    const NodeId n = try_scalar(g, k, bits);
    return n != kNoNode ? n : g.add(k, 0, bits);
  }
  // A str of validated UTF-8 of 3 bytes or more (shorter ones may be singletons).
  static NodeId try_str3(Graph& g, const void* utf8, size_t len) noexcept {
    return try_record(g, Kind::Str, utf8, len, len);
  }
  static NodeId try_tuple(Graph& g, std::span<const NodeId> items) noexcept {
    return try_record(g, Kind::Tuple, items.data(), items.size() * sizeof(NodeId), items.size());
  }

  // Many scalars at once (a run of BININT / BINFLOAT): room for how many
  // nodes the vector and the budget have without the slow path; where to
  // write them; then commit how many were written, charged as scalar() does.
  static size_t scalar_room(const Graph& g) noexcept {
    const size_t room = g.nodes_.capacity() - g.nodes_.size();
    const uint64_t budget =
        g.bytes_held_ <= g.byte_limit_ ? (g.byte_limit_ - g.bytes_held_) / sizeof(Graph::Node) : 0;
    return budget < room ? static_cast<size_t>(budget) : room;
  }
  struct ScalarOut {
    Graph::Node* out;
    NodeId first;
  };
  static ScalarOut scalar_slots(Graph& g) noexcept {
    return {g.nodes_.data() + g.nodes_.size(), static_cast<NodeId>(g.nodes_.size())};
  }
  static void write_scalar(ScalarOut& o, size_t i, Kind k, uint64_t bits) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      // Two 8-byte stores (the member-wise copy was five): the kind in the
      // low byte of the first word, flags, spare and aux zero.
      static_assert(sizeof(Graph::Node) == 16 && offsetof(Graph::Node, kind) == 0 &&
                    offsetof(Graph::Node, aux) == 4 && offsetof(Graph::Node, bits) == 8);
      const uint64_t head = static_cast<uint8_t>(k);
      char* d = reinterpret_cast<char*>(o.out + i);
      std::memcpy(d, &head, 8);
      std::memcpy(d + 8, &bits, 8);
    } else {
      o.out[i] = Graph::Node{k, 0, 0, 0, bits};
    }
  }
  static void commit_scalars(Graph& g, size_t count) noexcept {
    g.nodes_.resize_up_unchecked(g.nodes_.size() + count);
    g.bytes_held_ += count * sizeof(Graph::Node);
  }

  // Graph::str of UTF-8 (surrogatepass) already validated.
  static NodeId str(Graph& g, std::string_view utf8) {
    if (utf8.size() <= 2) return g.str(utf8);  // "" and one-character strs are singletons
    return record(g, Kind::Str, utf8.data(), utf8.size(), utf8.size());
  }
  // A str of `utf8`, not yet validated, kept as latin-1 (Graph::str's rule),
  // or kNoNode when it is not such a str or not UTF-8.
  static NodeId latin1_str(Graph& g, std::string_view utf8) { return Graph::Impl::try_latin1_str(g, utf8); }
  static inline const size_t& kLatin1StrMin = Graph::Impl::kLatin1StrMin;
  // Strs of more bytes than this are never made by the try_ functions.
  static constexpr size_t kInlineMax = 1024;
  // A bytes of `payload`, which a str record of g holds (its latin-1 or its
  // ASCII): both are immutable and live as long as the graph, so the bytes
  // points to it instead of holding a copy, and is charged as such a record.
  static NodeId bytes_in_graph(Graph& g, std::string_view payload) {
    return detail::guarded([&] {
      const char* p = payload.data();
      Rec* r = Graph::Impl::new_rec(g, &p, sizeof p, payload.size());
      r->external = Rec::kInGraph;
      return g.add(Kind::Bytes, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r)));
    });
  }
  // A large bytes or bytearray read straight into the graph (the decoder's
  // long argument from a stream): `n` (>= kPageMin) bytes on pages of their
  // own, charged to g as make_rec charges such a payload, for the caller to
  // fill (the pages take memory only as they are written); null, with
  // nothing charged, when g's byte limit or the address space has no room
  // for them (the caller then reads as before, and fails as before).
  static char* try_payload(Graph& g, size_t n) {
    if (!g.impl_ || n < detail::kPageMin) return nullptr;
    const uint64_t cost = sizeof(Rec) + static_cast<uint64_t>(n);
    if (g.bytes_held_ > g.byte_limit_ || cost > g.byte_limit_ - g.bytes_held_) return nullptr;
    size_t size = n;
    void* p;
    try {
      p = g.impl_->arena.allocate_pages(size);
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    g.charge(cost);
    return static_cast<char*>(p);
  }
  // The node of a payload try_payload gave, now filled: as make_rec's paged record.
  static NodeId payload_node(Graph& g, Kind k, char* payload, size_t n) {
    return detail::guarded([&] {
      Rec* r = Graph::Impl::paged_rec(g, payload, n);
      return g.add(k, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r)));
    });
  }
  // Graph::bytes_unshared.
  static NodeId bytes_unshared(Graph& g, std::string_view data) {
    if (data.size() <= 1) return g.bytes_unshared(data);
    return record(g, Kind::Bytes, data.data(), data.size(), data.size());
  }
  // bytes(n) / bytearray(n): n zero bytes, not written (resident only as read
  // or written later). bytes of 0 or 1 byte are the shared ones.
  static NodeId zero_bytes(Graph& g, size_t n, bool bytearray) {
    if (!bytearray && n <= 1) return g.bytes(std::string_view("\0", n));
    const Kind k = bytearray ? Kind::ByteArray : Kind::Bytes;
    return detail::guarded([&] { return Graph::Impl::make_rec(g, k, 0, nullptr, n, n); });
  }
  // Graph::tuple of valid ids.
  static NodeId tuple(Graph& g, std::span<const NodeId> items) {
    return record(g, Kind::Tuple, items.data(), items.size() * sizeof(NodeId), items.size());
  }

  // Graph::list() and Graph::dict(): a new empty list or dict.
  static NodeId try_empty_list(Graph& g) noexcept {
    auto& lists = g.impl_->lists;
    const size_t n = g.nodes_.size();
    constexpr uint64_t cost = sizeof(detail::ListItems) + sizeof(Graph::Node);
    if (lists.size() == lists.capacity() || n == g.nodes_.capacity() || g.bytes_held_ + cost > g.byte_limit_)
        [[unlikely]] {
      return kNoNode;
    }
    lists.emplace_back(&g.impl_->arena);  // no allocation
    g.bytes_held_ += cost;
    g.nodes_.push_unchecked(Graph::Node{Kind::List, 0, 0, static_cast<uint32_t>(lists.size() - 1), 0});
    return static_cast<NodeId>(n);
  }
  static NodeId empty_list(Graph& g) {
    const NodeId n = try_empty_list(g);
    return n != kNoNode ? n : g.list();
  }
  static NodeId try_empty_dict(Graph& g) noexcept {
    auto& dicts = g.impl_->dicts;
    const size_t n = g.nodes_.size();
    constexpr uint64_t cost = sizeof(detail::DictData) + sizeof(Graph::Node);
    if (dicts.size() == dicts.capacity() || n == g.nodes_.capacity() || g.bytes_held_ + cost > g.byte_limit_)
        [[unlikely]] {
      return kNoNode;
    }
    dicts.emplace_back(&g.impl_->arena);  // no allocation
    g.bytes_held_ += cost;
    g.nodes_.push_unchecked(Graph::Node{Kind::Dict, 0, 0, static_cast<uint32_t>(dicts.size() - 1), 0});
    return static_cast<NodeId>(n);
  }
  static NodeId empty_dict(Graph& g) {
    const NodeId n = try_empty_dict(g);
    return n != kNoNode ? n : g.dict();
  }

  // Graph::list_extend of valid ids that are not the list's own storage.
  static void list_extend(Graph& g, NodeId list, std::span<const NodeId> items) {
    auto& v = g.impl_->lists[g.nodes_[list].aux];
    if (v.capacity() - v.size() < items.size()) Graph::Impl::grow(g, v, items.size());
    v.append(items.begin(), items.end());
  }
  static size_t list_length(const Graph& g, NodeId list) noexcept {
    return g.impl_->lists[g.nodes_[list].aux].size();
  }

  // Graph::dict_set of valid ids into a Dict node.
  static detail::DictData& dict_data(Graph& g, NodeId dict) noexcept {
    return g.impl_->dicts[g.nodes_[dict].aux];
  }
  // A whole SETITEMS into a new, empty dict at once, in two halves (the
  // decoder keeps the first's answer for the next dict with the same keys:
  // Machine::try_fill). The key half: true, with their bloom, when every key of
  // kv (pairs: key, value) is a str with its hash cached and no two keys'
  // bloom bits collide (then no two keys are equal). Depends only on the key
  // nodes, which never change: a caller may keep the answer for the same ids.
  static bool fill_keys(const Graph& g, std::span<const NodeId> kv, uint64_t& bloom_out) noexcept {
    uint64_t bloom = 0;
    for (size_t i = 0; i < kv.size(); i += 2) {
      const NodeId key = kv[i];
      if (g.nodes_[key].kind != Kind::Str) return false;
      const Rec* kr = Graph::Impl::rec(g, key);
      if (!kr->hashed) return false;
      const uint64_t bits = detail::DictData::bloom_bits(kr->hash);
      if ((bloom & bits) == bits) return false;  // perhaps an equal key: the general path decides
      bloom |= bits;
    }
    bloom_out = bloom;
    return true;
  }
  // The dict half, for keys fill_keys() accepted with `bloom`: when they fit
  // the small form, the pairs are appended as dict_set would append them one
  // by one. False (nothing done) otherwise.
  static bool try_dict_fill_keys(Graph& g, detail::DictData& d, std::span<const NodeId> kv, uint64_t bloom) {
    const size_t pairs = kv.size() / 2;
    constexpr uint64_t kFirst = detail::DictData::kSmall * sizeof(Pair);
    if (pairs == 0 || pairs > detail::DictData::kSmall || !d.items.empty() || d.items.capacity() != 0 ||
        g.bytes_held_ + kFirst > g.byte_limit_) {
      return false;
    }
    d.items.reserve(detail::DictData::kSmall);  // from the arena, charged as reserve_exact does
    g.bytes_held_ += kFirst;
    for (size_t i = 0; i < kv.size(); i += 2) d.items.push_back(Pair{kv[i], kv[i + 1]});
    d.bloom = bloom;
    return true;
  }

  static void dict_set(Graph& g, detail::DictData& d, NodeId key, NodeId value) {
    // The common case inline: a str key (hash cached) new to a small dict
    // with room, as Impl::dict_put's small path would append it.
    const size_t size = d.items.size();
    if (size < detail::DictData::kSmall && g.nodes_[key].kind == Kind::Str) {
      const Rec* kr = Graph::Impl::rec(g, key);
      if (kr->hashed) {
        const uint64_t bit = detail::DictData::bloom_bits(kr->hash);
        if ((d.bloom & bit) != bit) {
          if (size < d.items.capacity()) {
            d.items.push_back(Pair{key, value});
            d.bloom |= bit;
            return;
          }
          constexpr uint64_t kFirst = detail::DictData::kSmall * sizeof(Pair);
          if (size == 0 && d.items.capacity() == 0 && g.bytes_held_ + kFirst <= g.byte_limit_) {
            // The first key: room for kSmall items from the arena, charged as
            // dict_put's reserve_exact charges it.
            d.items.reserve(detail::DictData::kSmall);
            g.bytes_held_ += kFirst;
            d.items.push_back(Pair{key, value});
            d.bloom |= bit;
            return;
          }
        }
      }
    }
    Graph::Impl::dict_put(g, d, key, value);
  }

 private:
  // A record node of `bytes` payload bytes copied from `data`, as
  // Impl::make_rec makes it (same charges), or kNoNode.
  static NodeId try_record(Graph& g, Kind k, const void* data, size_t bytes, uint64_t units) noexcept {
    const size_t n = g.nodes_.size();
    const uint64_t cost = sizeof(Rec) + bytes + sizeof(Graph::Node);
    if (bytes > kInlineMax || n == g.nodes_.capacity() || g.bytes_held_ + cost > g.byte_limit_) [[unlikely]] {
      return kNoNode;
    }
    auto* r = static_cast<Rec*>(g.impl_->arena.try_allocate(sizeof(Rec) + bytes));
    if (!r) [[unlikely]] return kNoNode;
    r->len = units;
    r->hash = 0;
    r->hashed = 0;
    r->external = 0;
    copy_small(r->inline_chars(), static_cast<const char*>(data), bytes);
    g.bytes_held_ += cost;
    g.nodes_.push_unchecked(Graph::Node{k, 0, 0, 0, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(r))});
    return static_cast<NodeId>(n);
  }
  static NodeId record(Graph& g, Kind k, const void* data, size_t bytes, uint64_t units) {
    const NodeId n = try_record(g, k, data, bytes, units);
    return n != kNoNode ? n : Graph::Impl::make_rec(g, k, 0, data, bytes, units);
  }

  // memcpy for the short payloads of most strs and tuples, without a call.
  static void copy_small(char* dst, const char* src, size_t n) noexcept {
    if (n > 16 && n <= 32) {
      char a[16], b[16];
      std::memcpy(a, src, 16);
      std::memcpy(b, src + n - 16, 16);
      std::memcpy(dst, a, 16);
      std::memcpy(dst + n - 16, b, 16);
    } else if (n >= 8 && n <= 16) {
      uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
      uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
    } else if (n != 0) {  // an empty tuple's items may be a null span
      std::memcpy(dst, src, n);
    }
  }
};

}  // namespace pkl
