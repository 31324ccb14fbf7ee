// pkl::Graph: Python's key semantics (docs/conformance.md §5): hashing, equality,
// dict and set tables. Everything is iterative: nothing recurses on the C++
// stack in proportion to the depth of nested tuples or frozensets.
#include <bit>
#include <cmath>

#include "text/bigint.hpp"
#include "value/impl.hpp"

namespace pkl {

using detail::guarded;
using detail::Rec;
using detail::SipHasher;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;

bool is_numeric(Kind k) { return k == Kind::Bool || k == Kind::Int || k == Kind::Float; }
bool is_unhashable(Kind k) {
  return k == Kind::List || k == Kind::Dict || k == Kind::Set || k == Kind::ByteArray;
}
bool is_set_kind(Kind k) { return k == Kind::Set || k == Kind::FrozenSet; }

[[noreturn]] void recursion_error() {
  throw Error(ErrorCode::ResourceLimit,
              "maximum recursion depth exceeded while calling a Python object");
}

template <class Item>
NodeId key_of(const Item& it) {
  if constexpr (std::is_same_v<Item, Pair>) {
    return it.first;
  } else {
    return it;
  }
}

// Calls fn(pos) for every indexed item whose stored hash is h, until fn
// returns true. Only for tables that have hashes (sets, or large dicts).
template <class Table, class Fn>
bool for_each_match(const Table& t, uint64_t h, Fn&& fn) {
  if (t.slots.empty()) {
    const size_t n = t.hashes.size();
    for (size_t i = 0; i < n; ++i) {
      if (t.hashes[i] == h && fn(i)) return true;
    }
    return false;
  }
  const size_t mask = t.slots.size() - 1;
  const uint64_t tag = h >> 32;
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    const uint64_t s = t.slots[i];
    if (s == 0) return false;
    if ((s >> 32) != tag) continue;
    const size_t pos = static_cast<uint32_t>(s) - 1;
    if (t.hashes[pos] == h && fn(pos)) return true;
  }
}

void place(detail::SlotVector& slots, uint64_t h, size_t pos) {
  const size_t mask = slots.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  while (slots[i] != 0) i = (i + 1) & mask;
  slots[i] = (h & 0xffffffff00000000ULL) | static_cast<uint64_t>(pos + 1);
}

// A set of (x, y) node pairs (never x == y), open addressing.
class PairSet {
 public:
  explicit PairSet(uint64_t salt) : salt_(salt | 1) {}
  // True when the pair was not in the set yet.
  bool insert(NodeId x, NodeId y) {
    const uint64_t v = (uint64_t{x} << 32) | y;
    if ((count_ + 1) * 2 > table_.size()) rehash(table_.empty() ? 1024 : table_.size() * 2);
    const size_t mask = table_.size() - 1;
    for (size_t i = slot_of(v) & mask;; i = (i + 1) & mask) {
      if (table_[i] == v) return false;
      if (table_[i] == 0) {
        table_[i] = v;
        ++count_;
        return true;
      }
    }
  }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (uint64_t v : table_) {
      if (v != 0) fn(static_cast<NodeId>(v >> 32), static_cast<NodeId>(v));
    }
  }

 private:
  size_t slot_of(uint64_t v) const {
    uint64_t z = (v ^ salt_) * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(z ^ (z >> 29));
  }
  void rehash(size_t cap) {
    std::vector<uint64_t> old;
    old.swap(table_);
    table_.assign(cap, 0);
    const size_t mask = cap - 1;
    for (uint64_t v : old) {
      if (v == 0) continue;
      size_t i = slot_of(v) & mask;
      while (table_[i] != 0) i = (i + 1) & mask;
      table_[i] = v;
    }
  }
  std::vector<uint64_t> table_;
  size_t count_ = 0;
  uint64_t salt_;
};

// The pairs a deep comparison has already expanded, so that shared
// sub-structure (DAGs) and cycles are compared once: linear, not exponential.
// Nothing is tracked for small comparisons; large ones remember each x's
// first partner in a flat array (cache-friendly along chains) and any
// further partners in a PairSet.
class Expanded {
 public:
  Expanded(size_t graph_size, uint64_t salt) : graph_size_(graph_size), extra_(salt) {}
  // True when (x, y) is expanded for the first time.
  bool first_time(NodeId x, NodeId y) {
    if (++steps_ <= kFree) return true;
    if (partner_.empty()) {
      // The flat array costs O(graph); take it once the work is comparable.
      if (steps_ < graph_size_ / 64) return extra_.insert(x, y);
      partner_.assign(graph_size_, kNoNode);
      // Pairs recorded so far stay in the PairSet; each x's array entry
      // names one of them, so an empty entry means x was never expanded.
      extra_.for_each([this](NodeId px, NodeId py) {
        if (partner_[px] == kNoNode) partner_[px] = py;
      });
    }
    NodeId& p = partner_[x];
    if (p == y) return false;
    if (p == kNoNode) {
      p = y;
      return true;
    }
    return extra_.insert(x, y);
  }

 private:
  static constexpr size_t kFree = 1024;
  size_t graph_size_;
  size_t steps_ = 0;
  std::vector<NodeId> partner_;
  PairSet extra_;
};

}  // namespace

// ---- hashing --------------------------------------------------------------

uint64_t Graph::Impl::scalar_hash(const Graph& g, NodeId n) {
  const Node& nd = g.nodes_[n];
  const detail::SipKey& k = g.impl_->sip();
  switch (nd.kind) {
    case Kind::Bool:
      return detail::siphash_words(k, detail::kTagInt, nd.bits);
    case Kind::Int: {
      if (!(nd.flags & 1)) return detail::siphash_words(k, detail::kTagInt, nd.bits);
      Rec* r = rec(g, n);
      if (!r->hashed) {
        r->hash = detail::siphash_tagged_bytes(k, detail::kTagBigInt, r->chars(), r->len);
        r->hashed = 1;
      }
      return r->hash;
    }
    case Kind::Float: {
      const double d = std::bit_cast<double>(nd.bits);
      if (std::isnan(d)) return detail::siphash_words(k, detail::kTagIdentity, n);
      if (std::isfinite(d) && d == std::floor(d)) {
        // An integral float hashes as the int it equals.
        if (d >= -kTwo63 && d < kTwo63) {
          return detail::siphash_words(k, detail::kTagInt,
                                       static_cast<uint64_t>(static_cast<int64_t>(d)));
        }
        std::string le = detail::integral_double_to_le(d);
        return detail::siphash_tagged_bytes(k, detail::kTagBigInt, le.data(), le.size());
      }
      return detail::siphash_words(k, detail::kTagFloat, nd.bits);
    }
    case Kind::Str:
    case Kind::Bytes: {
      Rec* r = rec(g, n);
      if (!r->hashed) {
        if (nd.kind == Kind::Str) utf8_rec(g, n);
        r->hash = detail::siphash_tagged_bytes(
            k, nd.kind == Kind::Str ? detail::kTagStr : detail::kTagBytes, r->chars(), r->len);
        r->hashed = 1;
      }
      return r->hash;
    }
    default:
      // None, Global, Object, PersId, Buffer: identity.
      return detail::siphash_words(k, detail::kTagIdentity, n);
  }
}

uint64_t Graph::Impl::set_hash(Graph::Impl& impl, detail::SetData& s) {
  if (s.hashed) return s.hash;
  // Order-independent combination of the members' (keyed) hashes.
  uint64_t sum = 0, mix = 0;
  for (uint64_t h : s.hashes) {
    sum += h;
    mix ^= (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
  }
  SipHasher hs(impl.sip());
  hs.word(detail::kTagFrozenSet);
  hs.word(s.hashes.size());
  hs.word(sum);
  hs.word(mix);
  s.hash = hs.finish();
  s.hashed = true;
  return s.hash;
}

bool Graph::Impl::try_hash(const Graph& g, NodeId n, uint64_t& out, Kind& bad) {
  const Kind k = g.nodes_[n].kind;
  if (is_unhashable(k)) {
    // A set member lookup of a set uses its frozenset hash; callers that
    // accept that handle Kind::Set themselves.
    bad = k;
    return false;
  }
  if (k == Kind::FrozenSet) {
    out = set_hash(*g.impl_, g.impl_->sets[g.nodes_[n].aux]);
    return true;
  }
  if (k != Kind::Tuple) {
    out = scalar_hash(g, n);
    return true;
  }
  Rec* root = rec(g, n);
  if (root->hashed) {
    out = root->hash;
    return true;
  }
  struct Frame {
    NodeId node;
    size_t next;
  };
  std::vector<Frame> stack;
  stack.push_back({n, 0});
  const detail::SipKey& key = g.impl_->sip();
  while (!stack.empty()) {
    const size_t top = stack.size() - 1;
    const NodeId t = stack[top].node;
    Rec* tr = rec(g, t);
    const NodeId* ids = tr->ids();
    const size_t len = static_cast<size_t>(tr->len);
    bool descended = false;
    for (size_t i = stack[top].next; i < len; ++i) {
      const NodeId c = ids[i];
      const Kind ck = g.nodes_[c].kind;
      if (is_unhashable(ck)) {
        bad = ck;
        return false;
      }
      if (ck == Kind::Tuple && !rec(g, c)->hashed) {
        stack[top].next = i;
        if (stack.size() > g.nodes_.size()) recursion_error();  // a cycle of tuples
        stack.push_back({c, 0});
        descended = true;
        break;
      }
    }
    if (descended) continue;
    SipHasher hs(key);
    hs.word(detail::kTagTuple);
    hs.word(len);
    for (size_t i = 0; i < len; ++i) {
      const NodeId c = ids[i];
      const Kind ck = g.nodes_[c].kind;
      uint64_t ch;
      if (ck == Kind::Tuple) {
        ch = rec(g, c)->hash;
      } else if (ck == Kind::FrozenSet) {
        ch = set_hash(*g.impl_, g.impl_->sets[g.nodes_[c].aux]);
      } else {
        ch = scalar_hash(g, c);
      }
      hs.word(ch);
    }
    tr->hash = hs.finish();
    tr->hashed = 1;
    stack.pop_back();
  }
  out = root->hash;
  return true;
}

void Graph::Impl::unhashable(Kind k) {
  throw Error(ErrorCode::TypeError, std::string("unhashable type: '") + kind_name(k) + "'");
}

uint64_t Graph::key_hash(NodeId n) const {
  check(n);
  return guarded([&] {
    uint64_t h = 0;
    Kind bad = Kind::None;
    if (!Impl::try_hash(*this, n, h, bad)) Impl::unhashable(bad);
    return h;
  });
}

bool Graph::hashable(NodeId n) const {
  check(n);
  try {
    uint64_t h = 0;
    Kind bad = Kind::None;
    return Impl::try_hash(*this, n, h, bad);
  } catch (...) {
    return false;  // a cycle of tuples, or no memory to find out
  }
}

// ---- equality -------------------------------------------------------------

bool Graph::Impl::numbers_equal(const Graph& g, NodeId a, NodeId b) {
  const Node* x = &g.nodes_[a];
  const Node* y = &g.nodes_[b];
  if (x->kind == Kind::Float && y->kind == Kind::Float) {
    return std::bit_cast<double>(x->bits) == std::bit_cast<double>(y->bits);
  }
  if (x->kind == Kind::Float) {
    std::swap(x, y);
    std::swap(a, b);
  }
  const bool x_big = x->kind == Kind::Int && (x->flags & 1);
  if (y->kind == Kind::Float) {
    const double d = std::bit_cast<double>(y->bits);
    if (!std::isfinite(d) || d != std::floor(d)) return false;
    const bool in64 = d >= -kTwo63 && d < kTwo63;
    if (!x_big) return in64 && static_cast<int64_t>(d) == static_cast<int64_t>(x->bits);
    if (in64) return false;  // big ints never fit in 64 bits
    const std::string le = detail::integral_double_to_le(d);
    const Rec* r = rec(g, a);
    return le.size() == r->len && std::memcmp(le.data(), r->chars(), le.size()) == 0;
  }
  const bool y_big = y->kind == Kind::Int && (y->flags & 1);
  if (x_big != y_big) return false;
  if (!x_big) return x->bits == y->bits;  // bools hold 0 or 1 in bits
  const Rec* rx = rec(g, a);
  const Rec* ry = rec(g, b);
  return rx->len == ry->len && std::memcmp(rx->chars(), ry->chars(), rx->len) == 0;
}

int Graph::Impl::shallow_equal(const Graph& g, NodeId a, NodeId b) {
  if (a == b) return 1;
  const Kind ka = g.nodes_[a].kind;
  const Kind kb = g.nodes_[b].kind;
  if (is_numeric(ka) || is_numeric(kb)) {
    return is_numeric(ka) && is_numeric(kb) && numbers_equal(g, a, b) ? 1 : 0;
  }
  if (is_set_kind(ka) && is_set_kind(kb)) {
    const auto& sa = g.impl_->sets[g.nodes_[a].aux];
    const auto& sb = g.impl_->sets[g.nodes_[b].aux];
    if (sa.items.size() != sb.items.size()) return 0;
    if (sa.hashed && sb.hashed && sa.hash != sb.hash) return 0;
    return 2;
  }
  if (ka != kb) return 0;
  switch (ka) {
    case Kind::Str:
    case Kind::Bytes: {
      const Rec* ra = rec(g, a);
      const Rec* rb = rec(g, b);
      if (ra->len != rb->len) return 0;
      if (ra->hashed && rb->hashed && ra->hash != rb->hash) return 0;
      if (ra->external == Rec::kLatin1 && rb->external == Rec::kLatin1) return ra->latin1() == rb->latin1() ? 1 : 0;
      if (ka == Kind::Str) {
        utf8_rec(g, a);
        utf8_rec(g, b);
      }
      return std::memcmp(ra->chars(), rb->chars(), ra->len) == 0 ? 1 : 0;
    }
    case Kind::Tuple: {
      const Rec* ra = rec(g, a);
      const Rec* rb = rec(g, b);
      if (ra->len != rb->len) return 0;
      if (ra->hashed && rb->hashed && ra->hash != rb->hash) return 0;
      return 2;
    }
    default:
      // None, Global, Object, PersId, Buffer compare by identity; so do the
      // unhashable kinds here (key_equal is for hashable values).
      return 0;
  }
}

bool Graph::Impl::deep_equal(const Graph& g, NodeId a, NodeId b) {
  std::vector<Pair> work;
  work.push_back({a, b});
  Expanded expanded(g.nodes_.size(), g.impl_->sip().k0);
  while (!work.empty()) {
    const auto [x, y] = work.back();
    work.pop_back();
    const int r = shallow_equal(g, x, y);
    if (r == 0) return false;
    if (r == 1) continue;
    if (!expanded.first_time(x, y)) continue;
    const Kind kx = g.nodes_[x].kind;
    if (kx == Kind::Tuple) {
      const Rec* rx = rec(g, x);
      const Rec* ry = rec(g, y);
      if (rx->len != ry->len) return false;
      if (rx->hashed && ry->hashed && rx->hash != ry->hash) return false;
      for (size_t i = rx->len; i-- > 0;) work.push_back({rx->ids()[i], ry->ids()[i]});
      continue;
    }
    // Sets: same size, and every member of x is in y.
    auto& sx = g.impl_->sets[g.nodes_[x].aux];
    auto& sy = g.impl_->sets[g.nodes_[y].aux];
    if (sx.items.size() != sy.items.size()) return false;
    if (set_hash(*g.impl_, sx) != set_hash(*g.impl_, sy)) return false;
    for (size_t i = 0; i < sx.items.size(); ++i) {
      const NodeId m = sx.items[i];
      const uint64_t h = sx.hashes[i];
      size_t found = 0;
      NodeId first = kNoNode;
      bool matched = false;
      for_each_match(sy, h, [&](size_t pos) {
        if (++found == 1) {
          first = sy.items[pos];
          return false;
        }
        return true;  // two candidates: stop and decide below
      });
      if (found == 0) return false;
      if (found == 1) {
        work.push_back({m, first});  // the only member of y that can equal m
        continue;
      }
      // Several members of y share m's 64-bit keyed hash (practically never):
      // decide this member by a nested comparison.
      for_each_match(sy, h, [&](size_t pos) {
        matched = equal(g, m, sy.items[pos]);
        return matched;
      });
      if (!matched) return false;
    }
  }
  return true;
}

bool Graph::key_equal(NodeId a, NodeId b) const {
  check(a);
  check(b);
  return guarded([&] { return Impl::equal(*this, a, b); });
}

// ---- tables ---------------------------------------------------------------

template <class Table>
int64_t Graph::Impl::find(const Graph& g, const Table& t, NodeId key, uint64_t h) {
  if constexpr (!Table::kKeepsHashes) {
    if (t.hashes.empty()) {
      // A small dict: scan the keys.
      for (size_t i = 0; i < t.items.size(); ++i) {
        if (equal(g, key_of(t.items[i]), key)) return static_cast<int64_t>(i);
      }
      return -1;
    }
  }
  int64_t result = -1;
  for_each_match(t, h, [&](size_t pos) {
    if (equal(g, key_of(t.items[pos]), key)) {
      result = static_cast<int64_t>(pos);
      return true;
    }
    return false;
  });
  return result;
}

template <class Table, class Item>
void Graph::Impl::append(Graph& g, Table& t, const Item& item, uint64_t h) {
  const size_t n = t.items.size() + 1;
  if (n >= 0xfffffff0u) throw Error(ErrorCode::ResourceLimit, "container too large");
  const bool indexed = n > Table::kSmall;
  grow(g, t.items, 1);
  if (Table::kKeepsHashes || indexed) grow(g, t.hashes, 1);
  if (indexed && (t.slots.empty() || n * 3 > t.slots.size() * 2)) {
    // (Re)build the index at load <= 1/2; it grows again past 2/3.
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    g.charge(static_cast<uint64_t>(cap - t.slots.size()) * sizeof(uint64_t));
    detail::SlotVector slots(cap, 0);
    if (t.hashes.size() + 1 < n) {
      // A dict leaving the small form: hash the keys it already has.
      std::vector<uint64_t> hashes;
      hashes.reserve(n < 16 ? 16 : n);
      g.charge(hashes.capacity() * sizeof(uint64_t));
      for (const auto& it : t.items) {
        uint64_t kh = 0;
        Kind bad = Kind::None;
        if (!try_hash(g, key_of(it), kh, bad)) unhashable(bad);
        hashes.push_back(kh);
      }
      t.hashes.swap(hashes);
    }
    for (size_t i = 0; i < t.hashes.size(); ++i) place(slots, t.hashes[i], i);
    place(slots, h, n - 1);
    t.slots.swap(slots);
  } else if (indexed) {
    place(t.slots, h, n - 1);
  }
  // Nothing below throws: capacity was reserved above.
  t.items.push_back(item);
  if (Table::kKeepsHashes || indexed) t.hashes.push_back(h);
}

void Graph::Impl::set_insert(Graph& g, detail::SetData& s, NodeId member, uint64_t h) {
  if (find(g, s, member, h) >= 0) return;
  append(g, s, member, h);
  s.hashed = false;
}

template int64_t Graph::Impl::find(const Graph&, const detail::DictData&, NodeId, uint64_t);
template void Graph::Impl::append(Graph&, detail::DictData&, const Pair&, uint64_t);

NodeId Graph::dict_get(NodeId dict, NodeId key) const {
  check(dict);
  check(key);
  if (nodes_[dict].kind != Kind::Dict) {
    throw Error(ErrorCode::Usage, std::string("expected dict, got ") + kind_name(nodes_[dict].kind));
  }
  return guarded([&] {
    const uint64_t h = key_hash(key);
    const auto& d = impl_->dicts[nodes_[dict].aux];
    const int64_t pos = Impl::find(*this, d, key, h);
    return pos < 0 ? kNoNode : d.items[static_cast<size_t>(pos)].second;
  });
}

bool Graph::set_contains(NodeId set, NodeId member) const {
  check(set);
  check(member);
  if (!is_set_kind(nodes_[set].kind)) {
    throw Error(ErrorCode::Usage,
                std::string("expected set or frozenset, got ") + kind_name(nodes_[set].kind));
  }
  return guarded([&] {
    uint64_t h;
    if (nodes_[member].kind == Kind::Set) {
      // Python retries an unhashable set as a frozenset of the same members.
      h = Impl::set_hash(*impl_, impl_->sets[nodes_[member].aux]);
    } else {
      h = key_hash(member);
    }
    return Impl::find(*this, impl_->sets[nodes_[set].aux], member, h) >= 0;
  });
}

}  // namespace pkl
