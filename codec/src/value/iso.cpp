// pkl::isomorphic: structural identity of two graphs, by a bijection between
// the nodes reached from the two roots. Iterative.
#include <bit>
#include <cstring>

#include "value/impl.hpp"

namespace pkl {

namespace {

class Matcher {
 public:
  Matcher(const Graph& a, const Graph& b)
      : a_(a), b_(b), to_b_(a.size(), kNoNode), to_a_(b.size(), kNoNode) {}

  bool run(NodeId ra, NodeId rb) {
    if (!link(ra, rb)) return false;
    while (!work_.empty()) {
      const auto [x, y] = work_.back();
      work_.pop_back();
      if (!same_node(x, y)) return false;
    }
    return true;
  }

 private:
  // Pairs x with y, scheduling their comparison the first time.
  bool link(NodeId x, NodeId y) {
    if (x == kNoNode || y == kNoNode) return x == y;
    if (x >= to_b_.size() || y >= to_a_.size()) {
      throw Error(ErrorCode::Usage, "bad node id in isomorphic()");
    }
    if (to_b_[x] == kNoNode && to_a_[y] == kNoNode) {
      to_b_[x] = y;
      to_a_[y] = x;
      work_.push_back({x, y});
      return true;
    }
    return to_b_[x] == y;
  }

  bool link_all(std::span<const NodeId> xs, std::span<const NodeId> ys) {
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!link(xs[i], ys[i])) return false;
    }
    return true;
  }

  bool link_pairs(std::span<const Pair> xs, std::span<const Pair> ys) {
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!link(xs[i].first, ys[i].first) || !link(xs[i].second, ys[i].second)) return false;
    }
    return true;
  }

  bool same_node(NodeId x, NodeId y) {
    const Kind k = a_.kind(x);
    if (b_.kind(y) != k) return false;
    switch (k) {
      case Kind::None: return true;
      case Kind::Bool: return a_.as_bool(x) == b_.as_bool(y);
      case Kind::Int:
        if (a_.int_fits64(x) != b_.int_fits64(y)) return false;
        if (a_.int_fits64(x)) return a_.as_int(x) == b_.as_int(y);
        return a_.int_le(x) == b_.int_le(y);
      case Kind::Float:
        return std::bit_cast<uint64_t>(a_.as_float(x)) == std::bit_cast<uint64_t>(b_.as_float(y));
      case Kind::Str: return a_.as_str(x) == b_.as_str(y);
      case Kind::Bytes:
      case Kind::ByteArray: return a_.as_bytes(x) == b_.as_bytes(y);
      case Kind::Tuple:
      case Kind::List:
      case Kind::Set:
      case Kind::FrozenSet: return link_all(a_.items(x), b_.items(y));
      case Kind::Dict: return link_pairs(a_.dict_items(x), b_.dict_items(y));
      case Kind::Global: {
        const auto& ga = a_.global_data(x);
        const auto& gb = b_.global_data(y);
        return ga.module == gb.module && ga.qualname == gb.qualname;
      }
      case Kind::Object: {
        const auto& oa = a_.object_data(x);
        const auto& ob = b_.object_data(y);
        return oa.class_index == ob.class_index && link(oa.callable, ob.callable) &&
               link(oa.args, ob.args) && link(oa.state, ob.state) && link(oa.state_setter, ob.state_setter) &&
               link_all(oa.listitems, ob.listitems) && link_pairs(oa.dictitems, ob.dictitems);
      }
      case Kind::PersId: return link(a_.persid_value(x), b_.persid_value(y));
      case Kind::Buffer: {
        const auto& ba = a_.buffer_data(x);
        const auto& bb = b_.buffer_data(y);
        return ba.index == bb.index && ba.readonly == bb.readonly && ba.data == bb.data;
      }
    }
    return false;
  }

  const Graph& a_;
  const Graph& b_;
  std::vector<NodeId> to_b_;
  std::vector<NodeId> to_a_;
  std::vector<Pair> work_;
};

}  // namespace

bool isomorphic(const Graph& a, NodeId ra, const Graph& b, NodeId rb) {
  return detail::guarded([&] {
    Matcher m(a, b);
    return m.run(ra, rb);
  });
}

}  // namespace pkl
