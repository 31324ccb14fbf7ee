// Persistent ids kept (DecodeOptions::persistent_ids = Keep): PersId nodes
// holding their pid, written back as CPython's Pickler writes them when its
// persistent_id returns that pid (BINPERSID from protocol 1, PERSID with
// str(pid) at protocol 0). Expected bytes are python3 3.11's, with a
// Pickler subclass whose persistent_id returns the kept pid.
#include <gtest/gtest.h>

#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/opcodes.hpp"

namespace {

using namespace pkl;
using namespace std::string_view_literals;

DecodeOptions keep() {
  DecodeOptions o;
  o.persistent_ids = PersistentIds::Keep;
  return o;
}

std::string encode_at(const Graph& g, int q) {
  EncodeOptions o;
  o.protocol = q;
  return encode(g, g.root(), o);
}

TEST(PersistentIds, RefusedByDefault) {
  for (std::string_view data : {"Pabc\n."sv, "K\x01Q."sv}) {
    try {
      decode(data);
      ADD_FAILURE() << "decoded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::NoHook);
      EXPECT_EQ(e.message(),
                "A load persistent id instruction was encountered,\nbut no persistent_load function was specified.");
    }
  }
}

TEST(PersistentIds, KeptAsNodes) {
  Graph g = decode("(Pabc\n\x8c\x01xQt."sv, keep());
  auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(g.kind(items[0]), Kind::PersId);
  EXPECT_EQ(g.as_str(g.persid_value(items[0])), "abc");
  EXPECT_EQ(g.as_str(g.persid_value(items[1])), "x");
  // Protocol 0's pid must be ASCII, as CPython's decoder says.
  try {
    decode("P\xe9\n.", keep());
    ADD_FAILURE() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "persistent IDs in protocol 0 must be ASCII strings");
    EXPECT_EQ(e.opcode(), op::PERSID);
  }
  // BINPERSID on an empty stack: the stack's error, as with a hook.
  try {
    decode("Q."sv, keep());
    ADD_FAILURE() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.opcode(), op::BINPERSID);
  }
  // The caller's hook wins over the policy.
  DecodeOptions o = keep();
  o.persistent_load = [](Graph& g, NodeId) { return g.integer(7); };
  g = decode("Pabc\n."sv, o);
  EXPECT_EQ(g.as_int(g.root()), 7);
}

// A PyTorch storage id, ('storage', torch.FloatStorage, '0', 'cpu', 4),
// read twice through the memo: CPython writes it at each protocol so.
TEST(PersistentIds, TorchStorageIdAtEveryProtocol) {
  const std::string_view expected[] = {
      "(lp0\nP('storage', <class 'torch.FloatStorage'>, '0', 'cpu', 4)\naP('storage', <class "
      "'torch.FloatStorage'>, '0', 'cpu', 4)\na.",
      "]q\x00((X\x07\x00\x00\x00storageq\x01" "ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x00" "0q\x03X\x03\x00\x00\x00"
      "cpuq\x04K\x04tq\x05Qh\x05Qe."sv,
      "\x80\x02]q\x00((X\x07\x00\x00\x00storageq\x01" "ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x00"
      "0q\x03X\x03\x00\x00\x00" "cpuq\x04K\x04tq\x05Qh\x05Qe."sv,
      "\x80\x03]q\x00((X\x07\x00\x00\x00storageq\x01" "ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x00"
      "0q\x03X\x03\x00\x00\x00" "cpuq\x04K\x04tq\x05Qh\x05Qe."sv,
      "\x80\x04\x95;\x00\x00\x00\x00\x00\x00\x00]\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0c"
      "FloatStorage\x94\x93\x94\x8c\x01" "0\x94\x8c\x03" "cpu\x94K\x04t\x94Qh\x07Qe."sv,
      "\x80\x05\x95;\x00\x00\x00\x00\x00\x00\x00]\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0c"
      "FloatStorage\x94\x93\x94\x8c\x01" "0\x94\x8c\x03" "cpu\x94K\x04t\x94Qh\x07Qe."sv,
  };
  for (int from = 1; from <= 5; ++from) {
    const Graph g = decode(expected[from], keep());
    for (int q = 0; q <= 5; ++q) EXPECT_EQ(encode_at(g, q), expected[q]) << "from " << from << " at " << q;
  }
}

TEST(PersistentIds, ProtocolZeroWritesStrOfThePid) {
  // Nested containers and scalars: str() of the tuple.
  Graph g = decode("\x80\x02(X\x01\x00\x00\x00" "aK\x01\x88N(G?\xf8\x00\x00\x00\x00\x00\x00]C\x02\xff\x00tl\x85Q."sv,
                   keep());
  EXPECT_EQ(encode_at(g, 0), "P(['a', 1, True, None, (1.5, [], b'\\xff\\x00')],)\n.");
  // Builtins without their module, _codecs.encode a function.
  g = decode("\x80\x02(c__builtin__\nset\nc_codecs\nencode\ncm\nA.B\ntQ."sv, keep());
  EXPECT_EQ(encode_at(g, 0), "P(<class 'set'>, <built-in function encode>, <class 'm.A.B'>)\n.");
  // CPython's PicklingError where str(pid) is not ASCII.
  g = decode("\x80\x02X\x02\x00\x00\x00\xc3\xa9Q."sv, keep());
  try {
    encode_at(g, 0);
    ADD_FAILURE() << "encoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unpicklable);
    EXPECT_EQ(e.message(), "persistent IDs in protocol 0 must be ASCII strings");
  }
  EXPECT_EQ(encode_at(g, 1), "X\x02\x00\x00\x00\xc3\xa9q\x00Q."sv);
  // str() of an object shows its address: refused (oracle/divergences.py:
  // persid-text-of-object).
  g = decode("\x80\x02" "cm\nC\n)\x81Q."sv, keep());
  try {
    encode_at(g, 0);
    ADD_FAILURE() << "encoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unpicklable);
  }
}

}  // namespace
