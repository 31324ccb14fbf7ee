// A reduce tuple's 6th item, state_setter: CPython's save_reduce writes
// `setter, obj, state, TUPLE2, REDUCE, POP` (TUPLE2 at every protocol) and
// the unpickler calls setter(obj, state), discarding the result
// (cloudpickle's _function_setstate / _class_setstate). The decoder records
// a REDUCE of an inert call (obj, state), popped right away, as obj's state
// and ObjectData::state_setter; the encoder writes it back the same way.
// Expected bytes: CPython 3.11 pickle.dumps of an object whose __reduce__ is
// (collections.OrderedDict, (), [('a', 1)], None, None,
// collections.OrderedDict.update) at protocols 0-3, and oracle/inert.py's
// re-dump for the inert m.C / m.f (oracle/test_oracle.py).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/show.hpp"

namespace {

using namespace pkl;
using namespace std::string_view_literals;

std::string encode_at(const Graph& g, int q) {
  EncodeOptions o;
  o.protocol = q;
  return encode(g, g.root(), o);
}

std::string qualname(const Graph& g, NodeId n) {
  return n == kNoNode || g.kind(n) != Kind::Global ? "-" : g.global_data(n).qualname;
}

constexpr std::string_view kOrderedDict[] = {
    "ccollections\nOrderedDict\np0\n(tRp1\nc__builtin__\ngetattr\np2\n(g0\nVupdate\np3\ntp4\nRp5\ng1\n(lp6\n(Va\np7\n"
    "I1\ntp8\na\x86R0."sv,
    "ccollections\nOrderedDict\nq\x00)Rq\x01" "c__builtin__\ngetattr\nq\x02(h\x00X\x06\x00\x00\x00updateq\x03tq\x04"
    "Rq\x05h\x01]q\x06(X\x01\x00\x00\x00" "aq\x07K\x01tq\x08" "a\x86R0."sv,
    "\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01" "c__builtin__\ngetattr\nq\x02h\x00X\x06\x00\x00\x00updateq\x03"
    "\x86q\x04Rq\x05h\x01]q\x06X\x01\x00\x00\x00" "aq\x07K\x01\x86q\x08" "a\x86R0."sv,
    "\x80\x03" "ccollections\nOrderedDict\nq\x00)Rq\x01" "cbuiltins\ngetattr\nq\x02h\x00X\x06\x00\x00\x00updateq\x03"
    "\x86q\x04Rq\x05h\x01]q\x06X\x01\x00\x00\x00" "aq\x07K\x01\x86q\x08" "a\x86R0."sv,
};

TEST(StateSetter, OrderedDictUpdateRoundTripsAtEveryProtocol) {
  for (int q = 0; q < 4; ++q) {
    Graph g = decode(kOrderedDict[q]);
    ASSERT_EQ(g.kind(g.root()), Kind::Object) << q;
    const ObjectData& od = g.object_data(g.root());
    EXPECT_EQ(qualname(g, od.callable), "OrderedDict");
    EXPECT_EQ(qualname(g, od.state_setter), "OrderedDict.update") << q;
    ASSERT_EQ(g.kind(od.state), Kind::List);
    EXPECT_EQ(encode_at(g, q), kOrderedDict[q]) << q;
  }
}

TEST(StateSetter, ShowPrintsTheSetter) {
  Graph g = decode(kOrderedDict[2]);
  std::ostringstream out;
  show(g, g.root(), out);
  const std::string s = out.str();
  EXPECT_NE(s.find("state_setter=collections.OrderedDict.update"), std::string::npos) << s;
  EXPECT_NE(s.find("state=[('a', 1)]"), std::string::npos) << s;
  std::ostringstream json;
  show_json(g, g.root(), json);
  EXPECT_NE(json.str().find("\"state_setter\": "), std::string::npos) << json.str();
}

constexpr std::string_view kObj = "\x80\x02" "cm\nC\n)Rq\x00" "cm\nf\nh\x00K\x01"sv;

Graph decode_tail(std::string_view tail) { return decode(std::string(kObj) + std::string(tail)); }

TEST(StateSetter, InertObject) {
  Graph g = decode_tail("\x86R0."sv);
  const ObjectData& od = g.object_data(g.root());
  EXPECT_EQ(qualname(g, od.state_setter), "f");
  EXPECT_EQ(g.as_int(od.state), 1);
  EXPECT_EQ(encode_at(g, 0), "cm\nC\np0\n(tRp1\ncm\nf\np2\ng1\nI1\n\x86R0."sv);
  EXPECT_EQ(encode_at(g, 2), "\x80\x02" "cm\nC\nq\x00)Rq\x01" "cm\nf\nq\x02h\x01K\x01\x86R0."sv);
}

TEST(StateSetter, LaterBuildOrSetterReplacesIt) {
  Graph g = decode_tail("\x86R0K\x02" "b."sv);
  EXPECT_EQ(g.object_data(g.root()).state_setter, kNoNode);
  EXPECT_EQ(g.as_int(g.object_data(g.root()).state), 2);
  g = decode_tail("\x86R0" "cm\ng\nh\x00K\x02\x86R0."sv);
  EXPECT_EQ(qualname(g, g.object_data(g.root()).state_setter), "g");
  EXPECT_EQ(g.as_int(g.object_data(g.root()).state), 2);
}

TEST(StateSetter, OtherDiscardedCallsAreDropped) {
  // Memoized before the POP; three arguments: no setter, no state.
  for (std::string_view tail : {"\x86Rq\x01" "0."sv, "K\x02\x87R0."sv}) {
    Graph g = decode_tail(tail);
    const ObjectData& od = g.object_data(g.root());
    EXPECT_EQ(od.state_setter, kNoNode);
    EXPECT_EQ(od.state, kNoNode);
    EXPECT_EQ(encode_at(g, 2), "\x80\x02" "cm\nC\nq\x00)Rq\x01."sv);
  }
  // A builtin dict as obj: nothing to record it on.
  Graph g = decode("\x80\x02}q\x00" "cm\nf\nh\x00K\x01\x86R0."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Dict);
  EXPECT_EQ(g.length(g.root()), 0u);
}

TEST(StateSetter, NoneStateWritesNoCall) {
  Graph g = decode_tail("\x86R0."sv);
  g.object_data(g.root()).state = g.none();
  EXPECT_EQ(encode_at(g, 2), "\x80\x02" "cm\nC\nq\x00)Rq\x01."sv);
  g.object_data(g.root()).state = g.integer(3);
  g.object_data(g.root()).state_setter = g.integer(5);
  EXPECT_THROW(encode_at(g, 2), Error);
}

}  // namespace
