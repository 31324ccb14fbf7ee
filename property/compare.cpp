#include "compare.hpp"

#include <bit>
#include <unordered_map>
#include <vector>

#include "gdoc.hpp"

namespace pklprop {

using pkl::Graph;
using pkl::Kind;
using pkl::kNoNode;
using pkl::NodeId;

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}
uint64_t hash_str(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

class Cmp {
 public:
  Cmp(const Graph& a, const Graph& b, const CmpOptions& o)
      : a_(a), b_(b), o_(o), to_b_(a.size(), kNoNode), to_a_(b.size(), kNoNode) {}

  std::string run(NodeId ra, NodeId rb) {
    trail_.push_back({-1, "root"});
    if (!link(ra, rb, 0)) return err_;
    while (!work_.empty() || !deferred_.empty()) {
      while (!work_.empty()) {
        Work w = work_.back();
        work_.pop_back();
        if (!same(w.x, w.y, w.trail)) return err_;
      }
      if (!deferred_.empty()) {
        Work w = deferred_.back();
        deferred_.pop_back();
        if (!match_sets(w.x, w.y, w.trail)) return err_;
      }
    }
    return "";
  }

 private:
  struct Work {
    NodeId x, y;
    int trail;
  };
  struct Trail {
    int parent;
    std::string label;
  };

  std::string path(int t) const {
    std::vector<const std::string*> parts;
    for (; t >= 0; t = trail_[static_cast<size_t>(t)].parent) parts.push_back(&trail_[static_cast<size_t>(t)].label);
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += **it;
    return out;
  }
  bool fail(int t, const std::string& why) {
    if (err_.empty()) err_ = "at " + path(t) + ": " + why;
    return false;
  }
  int sub(int t, std::string label) {
    trail_.push_back({t, std::move(label)});
    return static_cast<int>(trail_.size() - 1);
  }

  static bool is_atom(const Graph& g, NodeId n) {
    Kind k = g.kind(n);
    return k == Kind::None || k == Kind::Bool || k == Kind::Int || k == Kind::Float ||
           (k == Kind::Tuple && g.length(n) == 0);
  }

  std::string brief(const Graph& g, NodeId n) const {
    Kind k = g.kind(n);
    std::string s = pkl::kind_name(k);
    switch (k) {
      case Kind::Int: return s + " " + g.int_decimal(n).substr(0, 40);
      case Kind::Float: {
        char buf[32];
        std::snprintf(buf, sizeof buf, " %016llx", static_cast<unsigned long long>(std::bit_cast<uint64_t>(g.as_float(n))));
        return s + buf;
      }
      case Kind::Bool: return g.as_bool(n) ? "True" : "False";
      case Kind::Str: return s + " of length " + std::to_string(g.as_str(n).size()) + " '" + std::string(g.as_str(n).substr(0, 24)) + "'";
      case Kind::Bytes:
      case Kind::ByteArray: return s + " of length " + std::to_string(g.as_bytes(n).size());
      case Kind::Global: return "global " + g.global_data(n).module + "." + g.global_data(n).qualname;
      default:
        return s + " of length " + std::to_string(g.length(n));
    }
  }

  bool atoms_equal(NodeId x, NodeId y) const {
    Kind k = a_.kind(x);
    if (b_.kind(y) != k) return false;
    switch (k) {
      case Kind::None: return true;
      case Kind::Bool: return a_.as_bool(x) == b_.as_bool(y);
      case Kind::Int:
        if (a_.int_fits64(x) != b_.int_fits64(y)) return false;
        return a_.int_fits64(x) ? a_.as_int(x) == b_.as_int(y) : a_.int_le(x) == b_.int_le(y);
      case Kind::Float: {
        double p = a_.as_float(x), q = b_.as_float(y);
        if (o_.nan_any && p != p && q != q) return true;
        return std::bit_cast<uint64_t>(p) == std::bit_cast<uint64_t>(q);
      }
      case Kind::Tuple: return b_.length(y) == 0;
      default: return false;
    }
  }

  bool link(NodeId x, NodeId y, int t) {
    if (x == kNoNode || y == kNoNode) {
      if (x == y) return true;
      return fail(t, x == kNoNode ? "expected nothing, got " + brief(b_, y) : "expected " + brief(a_, x) + ", got nothing");
    }
    if (is_atom(a_, x) || is_atom(b_, y)) {
      if (atoms_equal(x, y)) return true;
      return fail(t, "expected " + brief(a_, x) + ", got " + brief(b_, y));
    }
    if (to_b_[x] == kNoNode && to_a_[y] == kNoNode) {
      to_b_[x] = y;
      to_a_[y] = x;
      work_.push_back({x, y, t});
      return true;
    }
    if (to_b_[x] == y) return true;
    return fail(t, to_b_[x] == kNoNode ? "a node reached again where the original has a new one (" + brief(a_, x) + ")"
                                       : "a new node where the original reaches a node again (sharing lost): " + brief(a_, x));
  }

  bool link_all(std::span<const NodeId> xs, std::span<const NodeId> ys, int t, const char* what) {
    if (xs.size() != ys.size())
      return fail(t, std::string(what) + ": expected " + std::to_string(xs.size()) + " items, got " + std::to_string(ys.size()));
    for (size_t i = 0; i < xs.size(); ++i)
      if (!link(xs[i], ys[i], sub(t, std::string(what == std::string("items") ? "" : std::string(".") + what) + "[" + std::to_string(i) + "]"))) return false;
    return true;
  }
  bool link_pairs(std::span<const pkl::Pair> xs, std::span<const pkl::Pair> ys, int t, const char* what) {
    if (xs.size() != ys.size())
      return fail(t, std::string(what) + ": expected " + std::to_string(xs.size()) + " pairs, got " + std::to_string(ys.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!link(xs[i].first, ys[i].first, sub(t, std::string("{key ") + std::to_string(i) + "}"))) return false;
      if (!link(xs[i].second, ys[i].second, sub(t, std::string("{value ") + std::to_string(i) + "}"))) return false;
    }
    return true;
  }

  bool same(NodeId x, NodeId y, int t) {
    const Kind k = a_.kind(x);
    const Kind kb = b_.kind(y);
    if (k == Kind::Object && a_.object_data(x).class_index >= 0) return same_instance(x, y, t);
    if (kb != k) return fail(t, "expected " + brief(a_, x) + ", got " + brief(b_, y));
    switch (k) {
      case Kind::Str:
        if (a_.as_str(x) != b_.as_str(y)) return fail(t, "expected " + brief(a_, x) + ", got different content (" + brief(b_, y) + ")");
        return true;
      case Kind::Bytes:
      case Kind::ByteArray:
        if (a_.as_bytes(x) != b_.as_bytes(y)) return fail(t, "expected " + brief(a_, x) + ", got different content (" + brief(b_, y) + ")");
        return true;
      case Kind::Tuple:
      case Kind::List:
        return link_all(a_.items(x), b_.items(y), t, "items");
      case Kind::Set:
      case Kind::FrozenSet:
        if (o_.unordered_sets) {
          if (a_.length(x) != b_.length(y))
            return fail(t, "expected " + brief(a_, x) + ", got " + brief(b_, y));
          deferred_.push_back({x, y, t});
          return true;
        }
        return link_all(a_.items(x), b_.items(y), t, "items");
      case Kind::Dict:
        return link_pairs(a_.dict_items(x), b_.dict_items(y), t, "dict");
      case Kind::Global: {
        const auto& ga = a_.global_data(x);
        const auto& gb = b_.global_data(y);
        if (ga.module != gb.module || ga.qualname != gb.qualname) return fail(t, "expected " + brief(a_, x) + ", got " + brief(b_, y));
        return true;
      }
      case Kind::Object: {
        const auto& oa = a_.object_data(x);
        const auto& ob = b_.object_data(y);
        if (ob.class_index >= 0) return fail(t, "expected an inert object, got a registered instance");
        // A None state writes no BUILD: it reads back as no state.
        const NodeId sa = oa.state != kNoNode && a_.kind(oa.state) == Kind::None ? kNoNode : oa.state;
        if ((o_.protocol == 2 || o_.protocol == 3) && a_.kind(oa.callable) == Kind::Global &&
            a_.global_data(oa.callable).module == "copyreg" && a_.global_data(oa.callable).qualname == "__newobj_ex__") {
          // Below protocol 4 pickle writes functools.partial(cls.__new__, cls, *args, **kwargs)():
          // an inert call of an inert object.
          if (ob.callable == kNoNode || b_.kind(ob.callable) != Kind::Object)
            return fail(t, "expected the inert functools.partial call that __newobj_ex__ becomes, got a call of " +
                               brief(b_, ob.callable));
          return link(sa, ob.state, sub(t, ".state")) && link_all(oa.listitems, ob.listitems, t, "listitems") &&
                 link_pairs(oa.dictitems, ob.dictitems, t, "dictitems");
        }
        return link(oa.callable, ob.callable, sub(t, ".callable")) && link(oa.args, ob.args, sub(t, ".args")) &&
               link(sa, ob.state, sub(t, ".state")) &&
               link_all(oa.listitems, ob.listitems, t, "listitems") &&
               link_pairs(oa.dictitems, ob.dictitems, t, "dictitems");
      }
      default:
        return fail(t, std::string("unexpected kind ") + pkl::kind_name(k));
    }
  }

  bool empty_tuple(const Graph& g, NodeId n) const {
    return n != kNoNode && g.kind(n) == Kind::Tuple && g.length(n) == 0;
  }

  bool same_instance(NodeId x, NodeId y, int t) {
    const pkl::ObjectData& oa = a_.object_data(x);
    const int shape = oa.class_index;
    const Rec& ra = *std::any_cast<Rec>(&oa.native);
    const bool b_obj = b_.kind(y) == Kind::Object;
    const pkl::ObjectData* ob = b_obj ? &b_.object_data(y) : nullptr;
    const std::string cls = std::string("pcprop.") + shape_info(shape).qualname;
    if (o_.instances_by_class) {
      if (!ob || ob->class_index != shape) return fail(t, "expected an instance of " + cls + ", got " + brief(b_, y));
      return true;
    }
    if (shape == kR) {
      if (!ob || ob->class_index >= 0) return fail(t, "expected the inert object " + cls + "'s __reduce__ makes, got " + brief(b_, y));
      const bool has_state = ra.r_state != kNoNode && a_.kind(ra.r_state) != Kind::None;
      if (!link(ra.r_callable, ob->callable, sub(t, ".callable")) || !link(ra.r_args, ob->args, sub(t, ".args")))
        return false;
      if (!link(has_state ? ra.r_state : kNoNode, ob->state, sub(t, ".state"))) return false;
      return link_all(ra.r_list, ob->listitems, t, "listitems") && link_pairs(ra.r_dict, ob->dictitems, t, "dictitems");
    }
    const bool state_present = ra.state != kNoNode && a_.kind(ra.state) != Kind::None;
    const bool kwargs = shape == kSX && ra.nx_kwargs != kNoNode && a_.length(ra.nx_kwargs) > 0;
    if (kwargs && o_.protocol >= 2 && o_.protocol < 4) {
      // functools.partial(cls.__new__, cls, *args, **kwargs)(): an inert call.
      if (!ob || ob->class_index >= 0 || ob->callable == kNoNode || b_.kind(ob->callable) != Kind::Object)
        return fail(t, "expected the inert functools.partial call of " + cls + ", got " + brief(b_, y));
      return link(state_present ? ra.state : kNoNode, ob->state, sub(t, ".state"));
    }
    if (!ob || ob->class_index != shape) return fail(t, "expected an instance of " + cls + ", got " + brief(b_, y));
    const Rec& rb = *std::any_cast<Rec>(&ob->native);
    // __new__'s arguments.
    NodeId want_args = kNoNode;
    if (o_.protocol >= 2) want_args = shape == kSN ? ra.newargs : shape == kSX ? ra.nx_args : kNoNode;
    if (want_args == kNoNode || a_.length(want_args) == 0) {
      if (!empty_tuple(b_, rb.cargs)) return fail(t, cls + " created with arguments " + (rb.cargs == kNoNode ? std::string("none") : brief(b_, rb.cargs)) + ", expected ()");
    } else if (!link(want_args, rb.cargs, sub(t, ".__new__args"))) {
      return false;
    }
    if (kwargs && o_.protocol >= 4) {
      if (!link(ra.nx_kwargs, rb.ckwargs, sub(t, ".__new__kwargs"))) return false;
    } else if (rb.ckwargs != kNoNode && b_.length(rb.ckwargs) != 0) {
      return fail(t, cls + " created with keyword arguments, expected none");
    }
    // BUILD.
    if (shape == kA) {
      if (rb.set_attrs.size() != ra.attrs.size())
        return fail(t, cls + ": " + std::to_string(rb.set_attrs.size()) + " set_attr calls, expected " + std::to_string(ra.attrs.size()));
      for (size_t i = 0; i < ra.attrs.size(); ++i) {
        if (rb.set_attrs[i].first != ra.attrs[i].first) return fail(t, cls + ": set_attr name " + rb.set_attrs[i].first + ", expected " + ra.attrs[i].first);
        if (!link(ra.attrs[i].second, rb.set_attrs[i].second, sub(t, "." + ra.attrs[i].first))) return false;
      }
      return true;
    }
    const bool build = state_present && (o_.protocol >= 2 || a_.truthy(ra.state));
    if (shape_info(shape).setstate) {
      const size_t want = build ? 1 : 0;
      if (rb.calls.size() != want)
        return fail(t, cls + ": set_state ran " + std::to_string(rb.calls.size()) + " times, expected " + std::to_string(want) +
                           (state_present ? " (state " + brief(a_, ra.state) + ")" : " (no state)"));
      return !build || link(ra.state, rb.calls[0], sub(t, ".__setstate__(arg)"));
    }
    // kG: the default __setstate__ sets attributes from the dict and the slots dict.
    std::vector<std::pair<std::string, NodeId>> want;
    if (build) {
      NodeId dpart = ra.state, spart = kNoNode;
      if (a_.kind(ra.state) == Kind::Tuple && a_.length(ra.state) == 2) {
        dpart = a_.items(ra.state)[0];
        spart = a_.items(ra.state)[1];
      }
      for (NodeId part : {dpart, spart})
        if (part != kNoNode && a_.kind(part) == Kind::Dict)
          for (const pkl::Pair& p : a_.dict_items(part)) want.emplace_back(std::string(a_.as_str(p.first)), p.second);
    }
    if (rb.set_attrs.size() != want.size())
      return fail(t, cls + ": " + std::to_string(rb.set_attrs.size()) + " set_attr calls, expected " + std::to_string(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      if (rb.set_attrs[i].first != want[i].first) return fail(t, cls + ": set_attr name " + rb.set_attrs[i].first + ", expected " + want[i].first);
      if (!link(want[i].second, rb.set_attrs[i].second, sub(t, "." + want[i].first))) return false;
    }
    return true;
  }

  // A structural fingerprint, blind to identity, for matching set members.
  uint64_t fp(const Graph& g, NodeId n, int depth) const {
    const Kind k = g.kind(n);
    uint64_t h = mix(0, static_cast<uint64_t>(k));
    switch (k) {
      case Kind::None: return h;
      case Kind::Bool: return mix(h, g.as_bool(n));
      case Kind::Int: return mix(h, hash_str(g.int_decimal(n)));
      case Kind::Float: {
        double v = g.as_float(n);
        return mix(h, o_.nan_any && v != v ? 1 : std::bit_cast<uint64_t>(v));
      }
      case Kind::Str: return mix(h, hash_str(g.as_str(n)));
      case Kind::Bytes:
      case Kind::ByteArray: return mix(h, hash_str(g.as_bytes(n)));
      case Kind::Global: return mix(h, hash_str(g.global_data(n).module + "." + g.global_data(n).qualname));
      case Kind::Tuple:
      case Kind::FrozenSet: {
        if (depth <= 0) return mix(h, g.length(n));
        uint64_t acc = mix(h, g.length(n));
        uint64_t sum = 0;
        for (NodeId c : g.items(n)) {
          if (k == Kind::Tuple) acc = mix(acc, fp(g, c, depth - 1));
          else sum += fp(g, c, depth - 1);
        }
        return mix(acc, sum);
      }
      case Kind::Object: {
        const auto& od = g.object_data(n);
        if (od.class_index == kR) {
          // Shape R decodes to the inert object its __reduce__ describes.
          const Rec* r = std::any_cast<Rec>(&od.native);
          if (r && !r->decoded) {
            uint64_t acc = mix(h, 0);
            if (depth > 0) {
              acc = mix(acc, fp(g, r->r_callable, depth - 1));
              acc = mix(acc, fp(g, r->r_args, depth - 1));
            }
            return acc;
          }
        }
        if (od.class_index == kSX && (o_.protocol == 2 || o_.protocol == 3)) {
          // An SX with keyword arguments is written, and read back, as the
          // inert functools.partial call (same_instance): fingerprint it so.
          const Rec* r = std::any_cast<Rec>(&od.native);
          if (r && r->nx_kwargs != kNoNode && g.length(r->nx_kwargs) > 0) return mix(mix(h, 0), 0x5eed);
        }
        uint64_t acc = mix(h, static_cast<uint64_t>(od.class_index + 1));
        if (od.class_index >= 0) return acc;  // registered: by class (its callable is how it was made)
        // copyreg.__newobj_ex__ becomes a call of a functools.partial object at
        // protocols 2-3: calls through __newobj_ex__ or of an object share one tag.
        const bool ex_or_object_call =
            od.callable != kNoNode &&
            (g.kind(od.callable) == Kind::Object ||
             (g.kind(od.callable) == Kind::Global && g.global_data(od.callable).qualname == "__newobj_ex__"));
        if (ex_or_object_call) return mix(acc, 0x5eed);
        if (depth > 0 && od.class_index < 0) {
          acc = mix(acc, fp(g, od.callable, depth - 1));
          acc = mix(acc, fp(g, od.args, depth - 1));
        }
        return acc;
      }
      default: return mix(h, g.length(n));
    }
  }

  bool match_sets(NodeId x, NodeId y, int t) {
    auto xs = a_.items(x);
    auto ys = b_.items(y);
    std::vector<bool> used(ys.size(), false);
    std::unordered_map<NodeId, size_t> pos_in_y;
    for (size_t j = 0; j < ys.size(); ++j) pos_in_y[ys[j]] = j;
    std::vector<NodeId> rest;
    // Members already paired elsewhere must meet their partners here.
    for (NodeId m : xs) {
      if (!is_atom(a_, m) && to_b_[m] != kNoNode) {
        auto it = pos_in_y.find(to_b_[m]);
        if (it == pos_in_y.end() || used[it->second]) return fail(t, "a set member is missing (" + brief(a_, m) + ")");
        used[it->second] = true;
      } else {
        rest.push_back(m);
      }
    }
    std::unordered_multimap<uint64_t, size_t> by_fp;
    for (size_t j = 0; j < ys.size(); ++j)
      if (!used[j]) by_fp.emplace(fp(b_, ys[j], 4), j);
    for (NodeId m : rest) {
      auto range = by_fp.equal_range(fp(a_, m, 4));
      size_t best = SIZE_MAX;
      for (auto it = range.first; it != range.second; ++it) {
        if (used[it->second]) continue;
        if (is_atom(b_, ys[it->second]) || to_a_[ys[it->second]] == kNoNode) {
          best = it->second;
          break;
        }
      }
      if (best == SIZE_MAX) return fail(t, "no set member matches " + brief(a_, m));
      used[best] = true;
      if (!link(m, ys[best], sub(t, "{member}"))) return false;
    }
    return true;
  }

  const Graph& a_;
  const Graph& b_;
  const CmpOptions& o_;
  std::vector<NodeId> to_b_, to_a_;
  std::vector<Work> work_, deferred_;
  std::vector<Trail> trail_;
  std::string err_;
};

}  // namespace

std::string compare(const Graph& a, NodeId ra, const Graph& b, NodeId rb, const CmpOptions& options) {
  try {
    return Cmp(a, b, options).run(ra, rb);
  } catch (const std::exception& e) {
    return std::string("comparison failed: ") + e.what();
  }
}

}  // namespace pklprop
