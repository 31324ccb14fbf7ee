// INST and OBJ without arguments, and copyreg._reconstructor(cls, object,
// None): CPython makes the instance with cls.__new__(cls) (instantiate() in
// Modules/_pickle.c; object.__new__(cls)), __init__ not called. The graph
// records the object NEWOBJ makes, copyreg.__newobj__(cls), and the encoder
// writes it as CPython writes an instance of a plain class: copyreg's
// _reconstructor below protocol 2, NEWOBJ from 2. Expected bytes are
// python3 3.11's pickle.dumps of a real class `m.C` whose __init__ needs an
// argument, loaded from the same input.
#include <gtest/gtest.h>

#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/registry.hpp"

namespace {

using namespace pkl;
using namespace std::string_view_literals;

std::string global_name(const Graph& g, NodeId n) {
  if (g.kind(n) != Kind::Global) return std::string("<") + kind_name(g.kind(n)) + ">";
  const GlobalData& d = g.global_data(n);
  return d.module + "." + d.qualname;
}

// "copyreg.__newobj__(m.C)" for an object made by cls.__new__(cls).
std::string call_of(const Graph& g, NodeId obj) {
  const ObjectData& od = g.object_data(obj);
  std::string s = global_name(g, od.callable) + "(";
  auto args = g.items(od.args);
  for (size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + global_name(g, args[i]);
  return s + ")";
}

std::string encode_at(const Graph& g, int q) {
  EncodeOptions o;
  o.protocol = q;
  return encode(g, g.root(), o);
}

constexpr std::string_view kInst = "(im\nC\n(dp0\nS'a'\nI1\nsb.";

// CPython 3.11 re-dumping `C.__new__(C)` with __dict__ {'a': 1}.
constexpr std::string_view kPlainP0 =
    "ccopy_reg\n_reconstructor\np0\n(cm\nC\np1\nc__builtin__\nobject\np2\nNtp3\nRp4\n(dp5\nVa\np6\nI1\nsb.";
constexpr std::string_view kPlainP1 =
    "ccopy_reg\n_reconstructor\nq\x00(cm\nC\nq\x01" "c__builtin__\nobject\nq\x02Ntq\x03Rq\x04}q\x05X\x01\x00\x00\x00"
    "aq\x06K\x01sb."sv;
constexpr std::string_view kPlainP2 = "\x80\x02" "cm\nC\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00" "aq\x03K\x01sb."sv;

TEST(InstObj, WithoutArgumentsIsNew) {
  for (std::string_view data : {kInst, "(cm\nC\no}X\x01\x00\x00\x00" "aK\x01sb."sv,
                                "\x80\x02(cm\nC\no}X\x01\x00\x00\x00" "aK\x01sb."sv}) {
    Graph g = decode(data);
    ASSERT_EQ(g.kind(g.root()), Kind::Object) << data;
    EXPECT_EQ(call_of(g, g.root()), "copyreg.__newobj__(m.C)") << data;
    const ObjectData& od = g.object_data(g.root());
    ASSERT_EQ(g.kind(od.state), Kind::Dict);
    EXPECT_EQ(g.length(od.state), 1u);
  }
}

TEST(InstObj, WithArgumentsIsACall) {
  // Python 2's __getinitargs__: C(*args), __init__ runs.
  Graph g = decode("(I1\nim\nC\n."sv);
  EXPECT_EQ(global_name(g, g.object_data(g.root()).callable), "m.C");
  EXPECT_EQ(g.length(g.object_data(g.root()).args), 1u);
  g = decode("(cm\nC\nK\x01o."sv);
  EXPECT_EQ(global_name(g, g.object_data(g.root()).callable), "m.C");
}

TEST(InstObj, WhatIsNotAClassIsCalled) {
  // OBJ of an instance: calling it (no __new__ of a class involved).
  Graph g = decode("(cm\nF\n)Ro."sv);
  const ObjectData& od = g.object_data(g.root());
  EXPECT_EQ(g.kind(od.callable), Kind::Object);
  EXPECT_EQ(g.length(od.args), 0u);
  // _codecs.encode is CPython's function: called, and refuses no arguments.
  try {
    decode("(c_codecs\nencode\no."sv);
    ADD_FAILURE() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "encode() missing required argument 'obj' (pos 1)");
  }
  // The builtin types' __new__: empty values.
  g = decode("(c__builtin__\nset\no."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Set);
  g = decode("(c__builtin__\nbytes\no."sv);
  EXPECT_EQ(g.kind(g.root()), Kind::Bytes);
  EXPECT_EQ(g.as_bytes(g.root()), "");
}

TEST(InstObj, ReconstructorOfObjectIsNew) {
  Graph g = decode("ccopy_reg\n_reconstructor\n(cm\nC\nc__builtin__\nobject\nNtR(dVa\nI1\nsb."sv);
  EXPECT_EQ(call_of(g, g.root()), "copyreg.__newobj__(m.C)");
  // Its argument tuple, used again, stays a tuple of its own.
  g = decode("(ccopy_reg\n_reconstructor\n(cm\nC\nc__builtin__\nobject\nNtp0\nRp1\ng0\nt."sv);
  auto items = g.items(g.root());
  EXPECT_EQ(call_of(g, items[0]), "copyreg.__newobj__(m.C)");
  EXPECT_EQ(g.length(items[1]), 3u);
  // Another base, a state, or a builtin type as the class: the call stays inert.
  for (std::string_view data : {"ccopy_reg\n_reconstructor\n(cm\nC\ncm\nBase\nNtR."sv,
                                "ccopy_reg\n_reconstructor\n(cm\nC\nc__builtin__\nobject\nI0\ntR."sv,
                                "ccopy_reg\n_reconstructor\n(c__builtin__\nset\nc__builtin__\nobject\nNtR."sv}) {
    g = decode(data);
    EXPECT_EQ(global_name(g, g.object_data(g.root()).callable), "copyreg._reconstructor") << data;
  }
}

TEST(InstObj, WrittenAsAPlainInstance) {
  DecodeOptions latin1;
  latin1.string_encoding = StringEncoding::Latin1;
  Graph g = decode(kInst, latin1);
  EXPECT_EQ(encode_at(g, 0), kPlainP0);
  EXPECT_EQ(encode_at(g, 1), kPlainP1);
  EXPECT_EQ(encode_at(g, 2), kPlainP2);
  // A protocol-2 NEWOBJ comes back the same way.
  g = decode(kPlainP2);
  EXPECT_EQ(encode_at(g, 0), kPlainP0);
  EXPECT_EQ(encode_at(g, 1), kPlainP1);
  // No attributes (Python 2's BUILD of an empty dict): no BUILD below
  // protocol 2; kept from 2, as a __getstate__ returning {} writes it.
  g = decode("(im\nC\n(db."sv);
  EXPECT_EQ(encode_at(g, 0), "ccopy_reg\n_reconstructor\np0\n(cm\nC\np1\nc__builtin__\nobject\np2\nNtp3\nRp4\n.");
  EXPECT_EQ(encode_at(g, 2), "\x80\x02" "cm\nC\nq\x00)\x81q\x01}q\x02" "b."sv);
  // A false state other than a dict: dropped below protocol 2 (copyreg's
  // `if dict:`), written from 2 (__getstate__ returned it).
  g = decode("\x80\x02" "cm\nC\n)\x81K\x00" "b."sv);
  EXPECT_EQ(encode_at(g, 1), "ccopy_reg\n_reconstructor\nq\x00(cm\nC\nq\x01" "c__builtin__\nobject\nq\x02Ntq\x03Rq\x04."sv);
  EXPECT_EQ(encode_at(g, 2), "\x80\x02" "cm\nC\nq\x00)\x81q\x01K\x00" "b."sv);
  // NEWOBJ with arguments keeps its recorded form below protocol 2.
  g = decode("\x80\x02" "cm\nC\nK\x01\x85\x81."sv);
  EXPECT_EQ(encode_at(g, 0), "ccopy_reg\n__newobj__\np0\n(cm\nC\np1\nI1\ntp2\nRp3\n.");
}

// A registered class: create runs as __new__ (no arguments), the object
// records copyreg.__newobj__(cls).
TEST(InstObj, RegisteredClassCreatedAsNew) {
  ClassRegistry reg;
  std::vector<size_t> created;
  ClassHooks h;
  h.module = "m";
  h.qualname = "C";
  h.create = [&](const Graph& g, NodeId args, NodeId) -> std::any {
    created.push_back(g.length(args));
    return 0;
  };
  h.set_state = [](std::any&, const Graph&, NodeId) {};
  reg.add(std::move(h));
  DecodeOptions o;
  o.registry = &reg;
  Graph g = decode(kInst, o);
  EXPECT_EQ(created, std::vector<size_t>{0});
  EXPECT_EQ(g.object_data(g.root()).class_index, 0);
  EXPECT_EQ(call_of(g, g.root()), "copyreg.__newobj__(m.C)");
  g = decode("(I1\nim\nC\n."sv, o);
  EXPECT_EQ(created, (std::vector<size_t>{0, 1}));
}

}  // namespace
