#include "equivalence.hpp"

#include <bit>
#include <cstdio>
#include <unordered_map>

namespace pklharness {

using pkl::Graph;
using pkl::Kind;
using pkl::kNoNode;
using pkl::NodeId;

namespace {

// An object made by copyreg.__newobj__(cls, *args).
bool is_newobj(const Graph& g, const pkl::ObjectData& o) {
  if (o.callable == kNoNode || g.kind(o.callable) != Kind::Global) return false;
  const pkl::GlobalData& c = g.global_data(o.callable);
  return c.module == "copyreg" && c.qualname == "__newobj__";
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}
uint64_t hash_str(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
bool is_nan(double v) { return v != v; }

}  // namespace

uint64_t Matching::mix(uint64_t h, uint64_t v) { return pklharness::mix(h, v); }

Matching::Matching(const Graph& a, const Graph& b, const Equivalence& eq, bool explain)
    : a_(a), b_(b), eq_(eq), explain_(explain), to_b_(a.size(), kNoNode), to_a_(b.size(), kNoNode) {}

bool Matching::run(NodeId ra, NodeId rb) {
  if (explain_) trail_.push_back({-1, "root"});
  current_ = explain_ ? 0 : -1;
  if (!link(ra, rb, "")) return false;
  return finish();
}

bool Matching::finish() {
  while (!work_.empty() || !deferred_.empty()) {
    while (!work_.empty()) {
      const Work w = work_.back();
      work_.pop_back();
      current_ = w.trail;
      if (!same(w.x, w.y)) return false;
    }
    // Sets last: members paired elsewhere must meet their partners there.
    if (!deferred_.empty()) {
      const Work w = deferred_.back();
      deferred_.pop_back();
      current_ = w.trail;
      if (!match_sets(w.x, w.y)) return false;
    }
  }
  return true;
}

int Matching::sub(std::string_view step) {
  if (!explain_) return -1;
  if (step.empty()) return current_;
  trail_.push_back({current_, std::string(step)});
  return static_cast<int>(trail_.size() - 1);
}

std::string Matching::path(int t) const {
  std::vector<const std::string*> parts;
  for (; t >= 0; t = trail_[static_cast<size_t>(t)].parent) parts.push_back(&trail_[static_cast<size_t>(t)].step);
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += **it;
  return out;
}

bool Matching::fail(const std::string& why) {
  if (why_.empty()) why_ = explain_ ? "at " + path(current_) + ": " + why : why;
  return false;
}

bool Matching::is_atom(const Graph& g, NodeId n) {
  const Kind k = g.kind(n);
  return k == Kind::None || k == Kind::Bool || k == Kind::Int || k == Kind::Float ||
         (k == Kind::Tuple && g.length(n) == 0);
}

std::string Matching::brief(const Graph& g, NodeId n) {
  if (n == kNoNode) return "nothing";
  const Kind k = g.kind(n);
  std::string s = pkl::kind_name(k);
  switch (k) {
    case Kind::Int: return s + " " + g.int_decimal(n).substr(0, 40);
    case Kind::Float: {
      char buf[32];
      std::snprintf(buf, sizeof buf, " %016llx",
                    static_cast<unsigned long long>(std::bit_cast<uint64_t>(g.as_float(n))));
      return s + buf;
    }
    case Kind::Bool: return g.as_bool(n) ? "True" : "False";
    case Kind::None: return "None";
    case Kind::Str:
      return s + " of length " + std::to_string(g.as_str(n).size()) + " '" + std::string(g.as_str(n).substr(0, 24)) + "'";
    case Kind::Bytes:
    case Kind::ByteArray: return s + " of length " + std::to_string(g.as_bytes(n).size());
    case Kind::Global: return "global " + g.global_data(n).module + "." + g.global_data(n).qualname;
    case Kind::PersId:
    case Kind::Buffer: return s;
    default: return s + " of length " + std::to_string(g.length(n));
  }
}

bool Matching::atoms_equal(NodeId x, NodeId y) const {
  const Kind k = a_.kind(x);
  if (b_.kind(y) != k) return false;
  switch (k) {
    case Kind::None: return true;
    case Kind::Bool: return a_.as_bool(x) == b_.as_bool(y);
    case Kind::Int:
      if (a_.int_fits64(x) != b_.int_fits64(y)) return false;
      return a_.int_fits64(x) ? a_.as_int(x) == b_.as_int(y) : a_.int_le(x) == b_.int_le(y);
    case Kind::Float: {
      const double p = a_.as_float(x), q = b_.as_float(y);
      if (eq_.nan_any && is_nan(p) && is_nan(q)) return true;
      return std::bit_cast<uint64_t>(p) == std::bit_cast<uint64_t>(q);
    }
    case Kind::Tuple: return a_.length(x) == 0 && b_.length(y) == 0;
    default: return false;
  }
}

bool Matching::link(NodeId x, NodeId y, std::string_view step) {
  const int t = sub(step);
  auto fail_here = [&](auto&& why) {
    if (!why_.empty()) return false;
    const int saved = current_;
    current_ = t;
    fail(explain_ ? why() : std::string("differs"));
    current_ = saved;
    return false;
  };
  if (x == kNoNode || y == kNoNode) {
    if (x == y) return true;
    return fail_here([&] { return "expected " + brief(a_, x) + ", got " + brief(b_, y); });
  }
  if (x >= to_b_.size() || y >= to_a_.size()) throw pkl::Error(pkl::ErrorCode::Usage, "bad node id in equivalent()");
  if (eq_.atoms_by_value && (is_atom(a_, x) || is_atom(b_, y))) {
    if (atoms_equal(x, y)) return true;
    return fail_here([&] { return "expected " + brief(a_, x) + ", got " + brief(b_, y); });
  }
  if (to_b_[x] == kNoNode && to_a_[y] == kNoNode) {
    to_b_[x] = y;
    to_a_[y] = x;
    work_.push_back({x, y, t});
    return true;
  }
  if (to_b_[x] == y) return true;
  return fail_here([&] {
    return to_b_[x] == kNoNode ? "a node reached again where the original has a new one (" + brief(a_, x) + ")"
                               : "a new node where the original reaches a node again (sharing lost): " + brief(a_, x);
  });
}

bool Matching::link_all(std::span<const NodeId> xs, std::span<const NodeId> ys, std::string_view what) {
  if (xs.size() != ys.size())
    return fail(std::string(what) + ": expected " + std::to_string(xs.size()) + " items, got " + std::to_string(ys.size()));
  const bool items = what == "items";
  for (size_t i = 0; i < xs.size(); ++i) {
    std::string step;
    if (explain_) step = (items ? std::string() : "." + std::string(what)) + "[" + std::to_string(i) + "]";
    if (!link(xs[i], ys[i], step)) return false;
  }
  return true;
}

bool Matching::link_pairs(std::span<const pkl::Pair> xs, std::span<const pkl::Pair> ys, std::string_view what) {
  if (xs.size() != ys.size())
    return fail(std::string(what) + ": expected " + std::to_string(xs.size()) + " pairs, got " + std::to_string(ys.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string n = explain_ ? std::to_string(i) : std::string();
    if (!link(xs[i].first, ys[i].first, explain_ ? "{key " + n + "}" : std::string())) return false;
    if (!link(xs[i].second, ys[i].second, explain_ ? "{value " + n + "}" : std::string())) return false;
  }
  return true;
}

NodeId Matching::state(const Graph& g, const pkl::ObjectData& o) const {
  if (o.state == kNoNode) return kNoNode;
  if (eq_.none_state_is_no_state && g.kind(o.state) == Kind::None) return kNoNode;
  if (eq_.plain_false_state_is_no_state && !g.truthy(o.state) && o.class_index < 0 && o.listitems.empty() &&
      o.dictitems.empty() && is_newobj(g, o) && o.args != kNoNode && g.kind(o.args) == Kind::Tuple &&
      g.length(o.args) == 1 && g.kind(g.items(o.args)[0]) == Kind::Global)
    return kNoNode;
  return o.state;
}

bool Matching::same_object(NodeId x, NodeId y) {
  const pkl::ObjectData& oa = a_.object_data(x);
  const pkl::ObjectData& ob = b_.object_data(y);
  if (oa.class_index != ob.class_index)
    return fail(ob.class_index >= 0 ? "expected an inert object, got a registered instance"
                                    : "expected " + brief(a_, x) + " of class " + std::to_string(oa.class_index) +
                                          ", got class " + std::to_string(ob.class_index));
  if (eq_.newobj_ex_as_partial && oa.callable != kNoNode && a_.kind(oa.callable) == Kind::Global &&
      a_.global_data(oa.callable).module == "copyreg" && a_.global_data(oa.callable).qualname == "__newobj_ex__") {
    if (ob.callable == kNoNode || b_.kind(ob.callable) != Kind::Object)
      return fail("expected the inert functools.partial call that __newobj_ex__ becomes, got a call of " +
                  brief(b_, ob.callable));
    return link(state(a_, oa), state(b_, ob), ".state") && link_all(oa.listitems, ob.listitems, "listitems") &&
           link_pairs(oa.dictitems, ob.dictitems, "dictitems");
  }
  const bool args_by_items = eq_.newobj_args_by_items && is_newobj(a_, oa) && oa.args != kNoNode &&
                             ob.args != kNoNode && a_.kind(oa.args) == Kind::Tuple && b_.kind(ob.args) == Kind::Tuple;
  return link(oa.callable, ob.callable, ".callable") &&
         (args_by_items ? link_all(a_.items(oa.args), b_.items(ob.args), "args") : link(oa.args, ob.args, ".args")) &&
         link(state(a_, oa), state(b_, ob), ".state") && link_all(oa.listitems, ob.listitems, "listitems") &&
         link_pairs(oa.dictitems, ob.dictitems, "dictitems");
}

bool Matching::same(NodeId x, NodeId y) {
  const Kind k = a_.kind(x);
  if (k == Kind::Object && eq_.instances && a_.object_data(x).class_index >= 0) return eq_.instances->same(*this, x, y);
  if (b_.kind(y) != k) return fail("expected " + brief(a_, x) + ", got " + brief(b_, y));
  auto differs = [&] { return fail("expected " + brief(a_, x) + ", got different content (" + brief(b_, y) + ")"); };
  switch (k) {
    case Kind::None:
    case Kind::Bool:
    case Kind::Int:
    case Kind::Float: return atoms_equal(x, y) || differs();
    case Kind::Str: return a_.as_str(x) == b_.as_str(y) || differs();
    case Kind::Bytes:
    case Kind::ByteArray: return a_.as_bytes(x) == b_.as_bytes(y) || differs();
    case Kind::Set:
    case Kind::FrozenSet:
      if (eq_.sets_unordered) {
        if (a_.length(x) != b_.length(y)) return fail("expected " + brief(a_, x) + ", got " + brief(b_, y));
        deferred_.push_back({x, y, current_});
        return true;
      }
      return link_all(a_.items(x), b_.items(y), "items");
    case Kind::Tuple:
    case Kind::List: return link_all(a_.items(x), b_.items(y), "items");
    case Kind::Dict: return link_pairs(a_.dict_items(x), b_.dict_items(y), "dict");
    case Kind::Global: {
      const auto& ga = a_.global_data(x);
      const auto& gb = b_.global_data(y);
      return (ga.module == gb.module && ga.qualname == gb.qualname) || differs();
    }
    case Kind::Object: return same_object(x, y);
    case Kind::PersId: return link(a_.persid_value(x), b_.persid_value(y), ".pid");
    case Kind::Buffer: {
      const auto& ba = a_.buffer_data(x);
      const auto& bb = b_.buffer_data(y);
      return (ba.index == bb.index && ba.readonly == bb.readonly && ba.data == bb.data) || differs();
    }
  }
  return fail(std::string("unexpected kind ") + pkl::kind_name(k));
}

uint64_t Matching::fingerprint(const Graph& g, NodeId n, int depth) const {
  if (n == kNoNode) return 0x2d;
  const Kind k = g.kind(n);
  const uint64_t h = mix(0, static_cast<uint64_t>(k));
  switch (k) {
    case Kind::None: return h;
    case Kind::Bool: return mix(h, g.as_bool(n));
    case Kind::Int: return mix(h, hash_str(g.int_le(n)));
    case Kind::Float: {
      const double v = g.as_float(n);
      return mix(h, eq_.nan_any && is_nan(v) ? 1 : std::bit_cast<uint64_t>(v));
    }
    case Kind::Str: return mix(h, hash_str(g.as_str(n)));
    case Kind::Bytes:
    case Kind::ByteArray: return mix(h, hash_str(g.as_bytes(n)));
    case Kind::Global: return mix(mix(h, hash_str(g.global_data(n).module)), hash_str(g.global_data(n).qualname));
    case Kind::Tuple:
    case Kind::FrozenSet: {
      uint64_t acc = mix(h, g.length(n));
      if (depth <= 0) return acc;
      uint64_t sum = 0;  // a frozenset's members in any order
      for (NodeId c : g.items(n)) {
        if (k == Kind::Tuple) acc = mix(acc, fingerprint(g, c, depth - 1));
        else sum += fingerprint(g, c, depth - 1);
      }
      return mix(acc, sum);
    }
    case Kind::Object: {
      const pkl::ObjectData& od = g.object_data(n);
      if (od.class_index >= 0 && eq_.instances) return eq_.instances->fingerprint(*this, g, n, depth);
      const uint64_t acc = mix(h, static_cast<uint64_t>(od.class_index + 1));
      if (od.class_index >= 0) return acc;
      // A call through __newobj_ex__ and a call of an object may be the same
      // (newobj_ex_as_partial): both share one tag.
      if (od.callable != kNoNode &&
          (g.kind(od.callable) == Kind::Object ||
           (g.kind(od.callable) == Kind::Global && g.global_data(od.callable).qualname == "__newobj_ex__")))
        return mix(acc, 0x5eed);
      if (depth <= 0) return acc;
      return mix(mix(acc, fingerprint(g, od.callable, depth - 1)), fingerprint(g, od.args, depth - 1));
    }
    default: return mix(h, g.length(n));
  }
}

bool Matching::match_sets(NodeId x, NodeId y) {
  const auto xs = a_.items(x);
  const auto ys = b_.items(y);
  std::vector<bool> used(ys.size(), false);
  std::unordered_map<NodeId, size_t> pos_in_y;
  for (size_t j = 0; j < ys.size(); ++j) pos_in_y[ys[j]] = j;
  std::vector<NodeId> rest;
  // Members already paired elsewhere must meet their partners here.
  for (NodeId m : xs) {
    if (!(eq_.atoms_by_value && is_atom(a_, m)) && to_b_[m] != kNoNode) {
      auto it = pos_in_y.find(to_b_[m]);
      if (it == pos_in_y.end() || used[it->second]) return fail("a set member is missing (" + brief(a_, m) + ")");
      used[it->second] = true;
    } else {
      rest.push_back(m);
    }
  }
  std::unordered_multimap<uint64_t, size_t> by_fp;
  for (size_t j = 0; j < ys.size(); ++j)
    if (!used[j]) by_fp.emplace(fingerprint(b_, ys[j], 4), j);
  for (NodeId m : rest) {
    auto range = by_fp.equal_range(fingerprint(a_, m, 4));
    std::vector<size_t> candidates;
    for (auto it = range.first; it != range.second; ++it)
      if (!used[it->second] && ((eq_.atoms_by_value && is_atom(b_, ys[it->second])) || to_a_[ys[it->second]] == kNoNode))
        candidates.push_back(it->second);
    if (candidates.empty()) return fail("no set member matches " + brief(a_, m));
    if (candidates.size() > 1 && !(eq_.atoms_by_value && is_atom(a_, m)) && trials_left_ > 0)
      return try_each(x, y, m, ys, candidates);
    used[candidates[0]] = true;
    if (!link(m, ys[candidates[0]], "{member}")) return false;
  }
  return true;
}

// Members alike to a depth of four may still differ deeper, or in what they
// share: the first alike partner is not always the right one. Each is tried
// with the whole rest of the comparison; the set is then taken up again with
// m paired (as a member paired elsewhere). Trials are bounded, so a hostile
// graph of many alike members costs a bounded search, then the greedy choice.
bool Matching::try_each(NodeId x, NodeId y, NodeId m, std::span<const NodeId> ys, const std::vector<size_t>& candidates) {
  const Snapshot before{to_b_, to_a_, work_, deferred_, trail_.size(), current_};
  std::string first_why;
  for (size_t c : candidates) {
    if (trials_left_ > 0) --trials_left_;
    if (link(m, ys[c], "{member}")) {
      deferred_.push_back({x, y, current_});
      if (finish()) return true;
    }
    if (first_why.empty()) first_why = why_;
    to_b_ = before.to_b;
    to_a_ = before.to_a;
    work_ = before.work;
    deferred_ = before.deferred;
    trail_.resize(before.trail_size);
    current_ = before.current;
    why_.clear();
  }
  why_ = first_why;
  return false;
}

bool equivalent(const Graph& a, NodeId ra, const Graph& b, NodeId rb, const Equivalence& eq) {
  if (eq.is_strict()) return pkl::isomorphic(a, ra, b, rb);
  return Matching(a, b, eq, false).run(ra, rb);
}

std::string difference(const Graph& a, NodeId ra, const Graph& b, NodeId rb, const Equivalence& eq) {
  try {
    Matching m(a, b, eq, true);
    return m.run(ra, rb) ? std::string() : m.why();
  } catch (const std::exception& e) {
    return std::string("comparison failed: ") + e.what();
  }
}

}  // namespace pklharness
