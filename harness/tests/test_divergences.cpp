// The divergence table decided in C++: each rule kind, just inside and just
// outside what it allows.
#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "divergences.hpp"

namespace {

using namespace std::string_literals;
using pklharness::Divergence;

std::string id(const Divergence* d) { return d ? std::string(d->id) : "none"; }

TEST(Divergences, ExactInput) {
  // The table's own input for persid-text-of-object, and one byte off it.
  const std::string persid = "\x80\x02" "cm\nC\n)\x81\x85Q."s;
  EXPECT_EQ(id(pklharness::exact_input(persid)), "persid-text-of-object");
  EXPECT_EQ(id(pklharness::exact_input(persid.substr(1))), "none");
  // A big input (not embedded): by size and FNV-1a: lists nested 100000 deep.
  std::string deep = "\x80\x02"s + std::string(100000, ']') + std::string(99999, 'a') + ".";
  EXPECT_EQ(id(pklharness::exact_input(deep)), "deep-nesting-dump-recursion");
  deep[5] = '(';
  EXPECT_EQ(id(pklharness::exact_input(deep)), "none");
}

TEST(Divergences, CodecRefusal) {
  EXPECT_EQ(id(pklharness::codec_refusal("error ResourceLimit: nesting too deep (max_depth)")), "marks-over-max-depth");
  EXPECT_EQ(id(pklharness::codec_refusal("error Unpicklable: cannot write a persistent id of type object")),
            "persid-text-of-object");
  EXPECT_EQ(id(pklharness::codec_refusal("error ValueError: could not convert string to float")), "none");
}

std::string long_binput(uint32_t index) {
  std::string s = "\x80\x04N" "r"s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((index >> (8 * i)) & 0xff);
  return s + ".";
}

TEST(Divergences, CannotAnswerMemoIndex) {
  EXPECT_EQ(id(pklharness::cannot_answer_input(long_binput(1u << 22))), "none");
  EXPECT_EQ(id(pklharness::cannot_answer_input(long_binput((1u << 22) + 1))), "memo-huge-sparse-index");
  // Text PUT, read as the C unpickler reads it (a NUL ends the digits).
  EXPECT_EQ(id(pklharness::cannot_answer_input("N" "p4194305\x00x\n."s)), "memo-huge-sparse-index");
  EXPECT_EQ(id(pklharness::cannot_answer_input("Np4194304\n."s)), "none");
  // In the second pickle of a stream, after a string holding an 'r' byte.
  EXPECT_EQ(id(pklharness::cannot_answer_input("\x8c\x01r."s + long_binput(0x0fffffff))), "memo-huge-sparse-index");
}

TEST(Divergences, CannotAnswerException) {
  EXPECT_EQ(id(pklharness::cannot_answer_exception("MemoryError: out of memory")), "memo-huge-sparse-index");
  EXPECT_EQ(id(pklharness::cannot_answer_exception("RecursionError: maximum recursion depth exceeded")),
            "deep-nesting-dump-recursion");
  EXPECT_EQ(id(pklharness::cannot_answer_exception("UnpicklingError: MemoryError: no")), "none");
}

TEST(Divergences, RecodeLosesInformation) {
  {  // two equal one-byte bytes objects: one below protocol 3
    pkl::Graph g;
    std::vector<pkl::NodeId> items{g.bytes_unshared("a"), g.bytes_unshared("a")};
    g.set_root(g.list(items));
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 2)), "equal-one-byte-bytes-below-3");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 3)), "none");
  }
  {  // a global with an empty module: GLOBAL text cannot hold it below 4
    pkl::Graph g;
    g.set_root(g.global("", "x"));
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 3)), "global-name-unstable");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 4)), "none");
  }
  {  // copyreg.__newobj_ex__ at protocols 2-3 only
    pkl::Graph g;
    std::vector<pkl::NodeId> args{g.global("m", "C"), g.tuple({}), g.dict()};
    g.set_root(g.object(g.global("copyreg", "__newobj_ex__"), g.tuple(args)));
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 1)), "none");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 2)), "newobj-ex-below-4");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 3)), "newobj-ex-below-4");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 4)), "none");
  }
  {  // a NaN with a payload at protocol 0; float('nan') itself survives
    pkl::Graph g, plain;
    g.set_root(g.floating(std::bit_cast<double>(uint64_t{0x7ff8000000000001})));
    plain.set_root(plain.floating(std::bit_cast<double>(uint64_t{0x7ff8000000000000})));
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 0)), "nan-payload-protocol-0");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 1)), "none");
    EXPECT_EQ(id(pklharness::recode_loses_information(plain, 0)), "none");
  }
  {  // made = f(x, None) with x's state made; not when x's state is None
    pkl::Graph g;
    const pkl::NodeId x = g.object(g.global("m", "X"), g.tuple({}));
    std::vector<pkl::NodeId> args{x, g.none()};
    const pkl::NodeId made = g.object(g.global("m", "f"), g.tuple(args));
    g.set_root(made);
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 2)), "none");
    g.object_data(x).state = made;
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 0)), "call-reached-in-its-own-args");
    EXPECT_EQ(id(pklharness::recode_loses_information(g, 5)), "call-reached-in-its-own-args");
  }
}

}  // namespace
