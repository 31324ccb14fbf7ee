// NEWOBJ / NEWOBJ_EX whose class is an inert object, the result of a call
// (cloudpickle's _make_skeleton_class(type, 'P', ...)): CPython loads it, the
// call returning a class. The codec cannot tell whether an inert call returns
// a type, so it accepts any inert object there (docs/conformance.md, inert
// objects) and marks it ObjectData::is_class, so that re-encoding writes it
// where CPython writes a class. Expected bytes are oracle/inert.py's re-dump
// of the same input with CPython 3.11's C pickler (oracle/test_oracle.py).
#include <gtest/gtest.h>

#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace {

using namespace pkl;
using namespace std::string_view_literals;

// type('P', (), {}), then NEWOBJ of it with no arguments.
constexpr std::string_view kSkeleton = "\x80\x02" "cbuiltins\ntype\nX\x01\x00\x00\x00P)}\x87R)\x81."sv;

std::string encode_at(const Graph& g, int q) {
  EncodeOptions o;
  o.protocol = q;
  return encode(g, g.root(), o);
}

TEST(NewobjInertClass, ClassMadeByACallIsAccepted) {
  Graph g = decode(kSkeleton);
  ASSERT_EQ(g.kind(g.root()), Kind::Object);
  const ObjectData& od = g.object_data(g.root());
  ASSERT_EQ(g.kind(od.callable), Kind::Global);
  EXPECT_EQ(g.global_data(od.callable).qualname, "__newobj__");
  ASSERT_EQ(g.length(od.args), 1u);
  const NodeId cls = g.items(od.args)[0];
  ASSERT_EQ(g.kind(cls), Kind::Object);
  EXPECT_TRUE(g.object_data(cls).is_class);
  EXPECT_EQ(g.global_data(g.object_data(cls).callable).qualname, "type");
}

TEST(NewobjInertClass, ReencodedAsAnInstanceOfThatClass) {
  Graph g = decode(kSkeleton);
  EXPECT_EQ(encode_at(g, 2),
            "\x80\x02" "c__builtin__\ntype\nq\x00X\x01\x00\x00\x00Pq\x01)}q\x02\x87q\x03Rq\x04)\x81q\x05."sv);
  // Below 2 as recorded: _reconstructor(X, object, None) would read back as
  // an inert call of X.
  EXPECT_EQ(encode_at(g, 1),
            "ccopy_reg\n__newobj__\nq\x00(c__builtin__\ntype\nq\x01(X\x01\x00\x00\x00Pq\x02)}q\x03tq\x04"
            "Rq\x05tq\x06Rq\x07."sv);
}

TEST(NewobjInertClass, NewobjExToo) {
  Graph g = decode("\x80\x04" "cbuiltins\ntype\nX\x01\x00\x00\x00P)}\x87R)}\x92."sv);
  const ObjectData& od = g.object_data(g.root());
  EXPECT_EQ(g.global_data(od.callable).qualname, "__newobj_ex__");
  EXPECT_TRUE(g.object_data(g.items(od.args)[0]).is_class);
}

TEST(NewobjInertClass, BuiltinResultsAndValuesKeepCPythonsError) {
  for (auto [data, msg] : {std::pair{"\x80\x02" "c__builtin__\nset\n)R)\x81."sv,
                                     "NEWOBJ class argument must be a type, not set"sv},
                           std::pair{"\x80\x02K\x01)\x81."sv, "NEWOBJ class argument must be a type, not int"sv}}) {
    try {
      decode(data);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(msg), std::string::npos) << e.what();
    }
  }
}

TEST(NewobjInertClass, AnInertObjectNeverUsedAsAClassIsNoType) {
  // copyreg.__newobj__(x) called explicitly: x is not known as a class.
  Graph g = decode("\x80\x02" "ccopyreg\n__newobj__\ncm\nf\n)R\x85R."sv);
  EXPECT_THROW(encode_at(g, 2), Error);
}

}  // namespace
