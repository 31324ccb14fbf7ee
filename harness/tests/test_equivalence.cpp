// The one equivalence: each option relaxes exactly what it names, the strict
// case is pkl::isomorphic, and a difference says where.
#include <gtest/gtest.h>

#include <bit>
#include <limits>
#include <vector>

#include "equivalence.hpp"

namespace {

using pkl::Graph;
using pkl::NodeId;
using pklharness::Equivalence;
using pklharness::Matching;

bool same(const Graph& a, const Graph& b, const Equivalence& eq) {
  const bool fast = pklharness::equivalent(a, a.root(), b, b.root(), eq);
  const std::string why = pklharness::difference(a, a.root(), b, b.root(), eq);
  EXPECT_EQ(fast, why.empty()) << why;  // the fast path and the explaining one agree
  return fast;
}

// [x, x] with one shared int, and [x, y] with two equal ints.
Graph two_ints(bool shared) {
  Graph g;
  NodeId x = g.integer(7);
  NodeId y = shared ? x : g.integer(7);
  std::vector<NodeId> items{x, y};
  g.set_root(g.list(items));
  return g;
}

TEST(Equivalence, StrictIsIsomorphic) {
  const Graph a = two_ints(true), b = two_ints(false);
  EXPECT_FALSE(pkl::isomorphic(a, a.root(), b, b.root()));
  EXPECT_FALSE(same(a, b, Equivalence::strict()));
  EXPECT_TRUE(same(a, a, Equivalence::strict()));
  // The harness's own matcher (difference() always uses it) agrees with pkl::isomorphic.
  EXPECT_EQ(pklharness::difference(a, a.root(), b, b.root(), Equivalence::strict()),
            "at root[1]: a new node where the original reaches a node again (sharing lost): int 7");
}

TEST(Equivalence, AtomsByValue) {
  const Graph a = two_ints(true), b = two_ints(false);
  EXPECT_TRUE(same(a, b, Equivalence::round_trip()));
  // A shared list is not an atom: its sharing must survive.
  Graph c, d;
  NodeId l = c.list();
  std::vector<NodeId> shared{l, l};
  c.set_root(c.list(shared));
  std::vector<NodeId> apart{d.list(), d.list()};
  d.set_root(d.list(apart));
  EXPECT_FALSE(same(c, d, Equivalence::round_trip()));
}

Graph set_of(std::initializer_list<int> members, bool frozen) {
  Graph g;
  std::vector<NodeId> ms;
  for (int m : members) ms.push_back(g.str(std::string(1, static_cast<char>('a' + m))));
  if (frozen) {
    g.set_root(g.frozenset(ms));
  } else {
    NodeId s = g.set();
    for (NodeId m : ms) g.set_add(s, m);
    g.set_root(s);
  }
  return g;
}

TEST(Equivalence, SetsUnordered) {
  for (bool frozen : {false, true}) {
    const Graph a = set_of({0, 1, 2}, frozen), b = set_of({2, 0, 1}, frozen), c = set_of({2, 0, 3}, frozen);
    EXPECT_FALSE(same(a, b, Equivalence::round_trip()));
    EXPECT_TRUE(same(a, b, Equivalence::any_set_order()));
    EXPECT_FALSE(same(a, c, Equivalence::any_set_order()));
  }
}

// frozenset({((((((v,),),),),),) for v in vs}): members alike to a depth of
// five, told apart only below it.
Graph deep_members(std::initializer_list<int> vs) {
  Graph g;
  std::vector<NodeId> ms;
  for (int v : vs) {
    NodeId n = g.integer(v);
    for (int depth = 0; depth < 6; ++depth) {
      std::vector<NodeId> one{n};
      n = g.tuple(one);
    }
    ms.push_back(n);
  }
  g.set_root(g.frozenset(ms));
  return g;
}

TEST(Equivalence, SetMembersAlikeAtFirstArePairedBySearch) {
  // The first partner alike at depth four is the wrong one for one order:
  // the matcher must try the other rather than report a difference.
  EXPECT_TRUE(same(deep_members({1, 2}), deep_members({2, 1}), Equivalence::any_set_order()));
  EXPECT_TRUE(same(deep_members({1, 2, 3}), deep_members({3, 1, 2}), Equivalence::any_set_order()));
  EXPECT_FALSE(same(deep_members({1, 2}), deep_members({2, 3}), Equivalence::any_set_order()));
}

Graph one_float(double v) {
  Graph g;
  g.set_root(g.floating(v));
  return g;
}

TEST(Equivalence, NanAny) {
  const Graph a = one_float(std::bit_cast<double>(uint64_t{0x7ff8000000000001})),
              b = one_float(std::numeric_limits<double>::quiet_NaN()), c = one_float(1.5);
  Equivalence eq = Equivalence::round_trip();
  EXPECT_FALSE(same(a, b, eq));
  eq.nan_any = true;
  EXPECT_TRUE(same(a, b, eq));
  EXPECT_FALSE(same(a, c, eq));
}

// cls.__new__(cls) (copyreg.__newobj__ at protocol 2), with `state` (kNoNode: none).
Graph newobj(int state) {  // 0: none, 1: None, 2: {}, 3: {'a': 1}
  Graph g;
  NodeId cls = g.global("m", "C");
  std::vector<NodeId> args{cls};
  NodeId o = g.object(g.global("copyreg", "__newobj__"), g.tuple(args));
  NodeId s = pkl::kNoNode;
  if (state == 1) s = g.none();
  if (state >= 2) s = g.dict();
  if (state == 3) g.dict_set(s, g.str("a"), g.integer(1));
  g.object_data(o).state = s;
  g.set_root(o);
  return g;
}

TEST(Equivalence, NoneStateIsNoState) {
  Equivalence eq = Equivalence::strict();
  eq.atoms_by_value = true;
  EXPECT_FALSE(same(newobj(1), newobj(0), eq));
  eq.none_state_is_no_state = true;
  EXPECT_TRUE(same(newobj(1), newobj(0), eq));
  EXPECT_FALSE(same(newobj(3), newobj(0), eq));
}

TEST(Equivalence, PlainFalseStateIsNoState) {
  Equivalence eq = Equivalence::round_trip();
  EXPECT_TRUE(same(newobj(2), newobj(0), eq));
  EXPECT_FALSE(same(newobj(3), newobj(0), eq));
  eq.plain_false_state_is_no_state = false;
  EXPECT_FALSE(same(newobj(2), newobj(0), eq));
}

// (copyreg.__newobj__(C), {args: 1}): the call's args tuple reached again
// as a dict key (shared), or a new tuple there, as decode(encode(g, 0))
// gives (protocol 0 writes copyreg._reconstructor(C, object, None), without
// the tuple). Found by fuzz_structured's corpus replay.
Graph newobj_args_as_key(bool shared) {
  Graph g;
  const std::vector<NodeId> cls{g.global("m", "C")};
  const NodeId args = g.tuple(cls);
  const NodeId o = g.object(g.global("copyreg", "__newobj__"), args);
  const NodeId d = g.dict();
  g.dict_set(d, shared ? args : g.tuple(cls), g.integer(1));
  const std::vector<NodeId> root{o, d};
  g.set_root(g.tuple(root));
  return g;
}

TEST(Equivalence, NewobjArgsByItems) {
  const Graph a = newobj_args_as_key(true), b = newobj_args_as_key(false);
  Equivalence eq = Equivalence::round_trip();
  EXPECT_TRUE(same(a, b, eq));
  EXPECT_TRUE(same(b, a, eq));
  eq.newobj_args_by_items = false;
  EXPECT_FALSE(same(a, b, eq));
  EXPECT_EQ(pklharness::difference(a, a.root(), b, b.root(), eq),
            "at root[0].args: a new node where the original reaches a node again (sharing lost): tuple of length 1");
  EXPECT_FALSE(same(a, b, Equivalence::strict()));
}

TEST(Equivalence, NewobjExAsPartial) {
  // copyreg.__newobj_ex__(C, (), {}) against partial(...)() (an object called).
  Graph a, b;
  std::vector<NodeId> args{a.global("m", "C"), a.tuple({}), a.dict()};
  a.set_root(a.object(a.global("copyreg", "__newobj_ex__"), a.tuple(args)));
  NodeId partial = b.object(b.global("functools", "partial"), b.tuple({}));
  b.set_root(b.object(partial, b.tuple({})));
  Equivalence eq = Equivalence::round_trip();
  EXPECT_FALSE(same(a, b, eq));
  eq.newobj_ex_as_partial = true;
  EXPECT_TRUE(same(a, b, eq));
}

// A rule that pairs registered instances by class only, counting its calls.
class ByClass : public pklharness::InstanceRule {
 public:
  mutable int calls = 0;
  bool same(Matching& m, NodeId x, NodeId y) const override {
    ++calls;
    if (m.b().kind(y) != pkl::Kind::Object || m.b().object_data(y).class_index != m.a().object_data(x).class_index)
      return m.fail("another class");
    return true;
  }
  uint64_t fingerprint(const Matching&, const Graph& g, NodeId n, int) const override {
    return static_cast<uint64_t>(g.object_data(n).class_index);
  }
};

Graph registered(int cls, int arg) {
  Graph g;
  std::vector<NodeId> args{g.integer(arg)};
  NodeId o = g.object(g.global("m", "C"), g.tuple(args));
  g.object_data(o).class_index = cls;
  g.set_root(o);
  return g;
}

TEST(Equivalence, InstanceRule) {
  ByClass rule;
  Equivalence eq = Equivalence::round_trip();
  EXPECT_FALSE(same(registered(0, 1), registered(0, 2), eq));  // without the rule: its parts
  eq.instances = &rule;
  EXPECT_TRUE(same(registered(0, 1), registered(0, 2), eq));
  EXPECT_FALSE(same(registered(0, 1), registered(1, 1), eq));
  EXPECT_GT(rule.calls, 0);
  EXPECT_EQ(pklharness::difference(registered(0, 1), 0, registered(1, 1), 0, eq), "");
}

TEST(Equivalence, DifferenceSaysWhere) {
  Graph a, b;
  std::vector<NodeId> xs{a.str("x"), a.bytes("y")};
  NodeId da = a.dict();
  a.dict_set(da, a.str("k"), a.list(xs));
  a.set_root(da);
  std::vector<NodeId> ys{b.str("x"), b.bytes("z")};
  NodeId db = b.dict();
  b.dict_set(db, b.str("k"), b.list(ys));
  b.set_root(db);
  EXPECT_EQ(pklharness::difference(a, a.root(), b, b.root(), Equivalence::round_trip()),
            "at root{value 0}[1]: expected bytes of length 1, got different content (bytes of length 1)");
}

}  // namespace
