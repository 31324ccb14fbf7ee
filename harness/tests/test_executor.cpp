// The executor: one compare and the one table decide between two backends'
// answers (fake backends here, so the decision alone is tested).
#include <gtest/gtest.h>

#include <string>

#include "codec_backend.hpp"
#include "equivalence.hpp"
#include "executor.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"

namespace {

using namespace std::string_literals;
using pklharness::Answer;
using pklharness::Outcome;

// An answer without the codec's graph (a reference gives none; Graph is move-only).
Answer clone(const Answer& a) {
  Answer b;
  b.kind = a.kind;
  b.text = a.text;
  b.dumps = a.dumps;
  return b;
}

class Canned : public pklharness::Backend {
 public:
  explicit Canned(const Answer& a) : a_(clone(a)) {}
  std::string_view name() const override { return "CPython"; }
  Answer run(const pklharness::Case&) override {
    ++runs;
    return clone(a_);
  }
  int runs = 0;

 private:
  Answer a_;
};

// The codec's own answer to `input`, as a reference would give it.
Answer codec_answer(std::string_view input) { return pklharness::CodecBackend().run({input}); }

TEST(Executor, SameAnswers) {
  const std::string input = "\x80\x04K\x07."s;
  pklharness::CodecBackend codec;
  Canned ref(codec_answer(input));
  EXPECT_EQ(pklharness::Executor(codec, ref).run({input}).status, Outcome::Status::Same);
}

TEST(Executor, DifferentBytesReportBothAnswers) {
  const std::string input = "\x80\x04K\x07."s;
  pklharness::CodecBackend codec;
  Answer other = codec_answer(input);
  other.dumps[2].bytes = "\x80\x02K\x08."s;
  Canned ref(other);
  const Outcome o = pklharness::Executor(codec, ref).run({input});
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.what, "recode at protocol 2 differs (codec ok, CPython ok)");
  EXPECT_EQ(o.subject_answer, "ok (5 bytes): 80024b072e");
  EXPECT_EQ(o.reference_answer, "ok (5 bytes): 80024b082e");
}

TEST(Executor, AcceptRejectDiffers) {
  const std::string input = "\x80\x04K\x07."s;
  pklharness::CodecBackend codec;
  Answer reject;
  reject.kind = Answer::Kind::Reject;
  reject.text = "UnpicklingError: invalid load key";
  Canned ref(reject);
  const Outcome o = pklharness::Executor(codec, ref).run({input});
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.what, "accept/reject differs (codec ok, CPython UnpicklingError)");
  EXPECT_EQ(o.reference_answer, "rejected: UnpicklingError: invalid load key");
}

TEST(Executor, TableAllowsACodecLimit) {
  // 200 open MARKs (tuples nested 200 deep): refused by a codec whose depth
  // budget is 100, loaded by the reference: the table's marks-over-max-depth
  // (a codec_message rule).
  const std::string input = "\x80\x02"s + std::string(200, '(') + std::string(200, 't') + ".";
  pkl::DecodeOptions tight;
  tight.limits.max_depth = 100;
  pklharness::CodecBackend codec(tight);
  Canned ref(codec_answer(input));
  const Outcome o = pklharness::Executor(codec, ref).run({input});
  EXPECT_EQ(o.status, Outcome::Status::Allowed) << o.what << " " << o.subject_answer;
  EXPECT_EQ(o.divergence, "marks-over-max-depth");
}

TEST(Executor, CannotAnswer) {
  pklharness::CodecBackend codec;
  // A memo index past the table's limit: the reference is not even asked.
  const std::string memo = "\x80\x04N" "r\x01\x00\x40\x00."s;
  Canned ref(Answer::cannot("never asked"));
  Outcome o = pklharness::Executor(codec, ref).run({memo});
  EXPECT_EQ(o.status, Outcome::Status::CannotAnswer);
  EXPECT_EQ(o.divergence, "memo-huge-sparse-index");
  EXPECT_EQ(ref.runs, 0);
  // The reference says it cannot.
  o = pklharness::Executor(codec, ref).run({"N."});
  EXPECT_EQ(o.status, Outcome::Status::CannotAnswer);
  EXPECT_EQ(o.divergence, "never asked");
  // The reference's answer names an exception the table lists.
  Answer oom;
  oom.kind = Answer::Kind::Reject;
  oom.text = "MemoryError: ";
  Canned ref2(oom);
  EXPECT_EQ(pklharness::Executor(codec, ref2).run({"N."}).status, Outcome::Status::CannotAnswer);
}

TEST(Executor, SetOrderIsSame) {
  // frozenset({'a', 'b'}) at protocol 4, members written in the other order
  // by the reference: the same value (the one equivalence, any set order).
  pkl::Graph g, h;
  std::vector<pkl::NodeId> ab{g.str("a"), g.str("b")}, ba{h.str("b"), h.str("a")};
  g.set_root(g.frozenset(ab));
  h.set_root(h.frozenset(ba));
  const std::string input = pkl::encode(g, g.root(), {.protocol = 4});
  pklharness::CodecBackend codec;
  Answer theirs = codec_answer(input);
  theirs.dumps[4].bytes = pkl::encode(h, h.root(), {.protocol = 4});
  ASSERT_NE(*theirs.dumps[4].bytes, *codec_answer(input).dumps[4].bytes);
  Canned ref(theirs);
  const Outcome o = pklharness::Executor(codec, ref).run({input});
  EXPECT_EQ(o.status, Outcome::Status::Same) << o.what;
  EXPECT_EQ(o.set_order, 1);
  // A member that is not there is a difference.
  pkl::Graph k;
  std::vector<pkl::NodeId> ac{k.str("a"), k.str("c")};
  k.set_root(k.frozenset(ac));
  theirs.dumps[4].bytes = pkl::encode(k, k.root(), {.protocol = 4});
  Canned ref2(theirs);
  EXPECT_EQ(pklharness::Executor(codec, ref2).run({input}).status, Outcome::Status::Different);
}

}  // namespace

// A graph case (the property tests' MatchesCPython): the codec encodes the
// graph itself at every protocol; a difference names its protocol.
TEST(Executor, GraphCaseDifferenceNamesItsProtocol) {
  pkl::Graph g;
  const pkl::NodeId items[] = {g.integer(7), g.str("a")};
  g.set_root(g.list(items));
  const pklharness::GraphCase gc{&g, nullptr, "(the graph JSON)"};
  pklharness::CodecBackend codec;
  const Answer mine = codec.run({{}, &gc});
  ASSERT_TRUE(mine.accepted());
  ASSERT_EQ(mine.dumps.size(), 6u);
  EXPECT_EQ(*mine.dumps[4].bytes, pkl::encode(g, g.root(), {.protocol = 4}));
  Canned same(mine);
  EXPECT_EQ(pklharness::Executor(codec, same).run({{}, &gc}).status, Outcome::Status::Same);
  Answer other = clone(mine);
  other.dumps[3].bytes = "\x80\x03K\x08."s;
  Canned ref(other);
  pklharness::Executor ex(codec, ref);
  const Outcome o = ex.run({{}, &gc});
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.protocol, 3);
  EXPECT_EQ(*ex.reference_answer().dumps[3].bytes, "\x80\x03K\x08."s);
}

namespace {

// A reference answering every load case with the graph `pickle` decodes to
// (and, with `calls`, that many set_state calls of that graph's root).
class LoadRef : public pklharness::Backend {
 public:
  LoadRef(std::string pickle, size_t calls = 0) : pickle_(std::move(pickle)), calls_(calls) {}
  std::string_view name() const override { return "CPython"; }
  Answer run(const pklharness::Case& c) override {
    Answer a;
    if (c.graph && c.load) a.dumps.emplace_back().bytes.emplace("(the reference's bytes)");
    a.kind = Answer::Kind::Accept;
    a.graph.emplace(pkl::decode(pickle_));
    for (size_t i = 0; i < calls_; ++i) {
      a.call_graphs.push_back(pkl::decode(pickle_));
      a.calls.push_back(a.call_graphs.back().root());
    }
    return a;
  }

 private:
  std::string pickle_;
  size_t calls_;
};

// A load case (Property.DecodesCPython's deep graphs): the loaded graphs
// compared by the one equivalence, the reference's as the first graph.
TEST(Executor, LoadCaseComparesGraphs) {
  const std::string input = "\x80\x04]q\x00(K\x01K\x02" "e."s;  // [1, 2]
  const pklharness::Equivalence eq = pklharness::Equivalence::round_trip();
  const pklharness::LoadCase load{&eq, nullptr};
  pklharness::CodecBackend codec;
  LoadRef same(input);
  EXPECT_EQ(pklharness::Executor(codec, same).run({input, nullptr, &load}).status, Outcome::Status::Same);
  LoadRef other("\x80\x04]q\x00(K\x01K\x03" "e."s);  // [1, 3]
  pklharness::Executor ex(codec, other);
  const Outcome o = ex.run({input, nullptr, &load});
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.what, "the loaded graphs differ: at root[1]: expected int 3, got int 2");
  EXPECT_EQ(o.subject_answer, "graph of 6 nodes");  // None, False, True, ... preallocated
  EXPECT_TRUE(ex.subject_answer().dumps.empty());  // a load case dumps nothing
  // Sharing is part of the graph: [x, x] against [[], []].
  LoadRef shared("\x80\x04]q\x00(]q\x01h\x01" "e."s);
  const std::string distinct = "\x80\x04]q\x00(]q\x01]q\x02" "e."s;
  EXPECT_EQ(pklharness::Executor(codec, shared).run({distinct, nullptr, &load}).status, Outcome::Status::Different);
  // Accept against reject is still the first question.
  Answer reject;
  reject.kind = Answer::Kind::Reject;
  reject.text = "UnpicklingError: invalid load key";
  Canned refuses(reject);
  EXPECT_EQ(pklharness::Executor(codec, refuses).run({input, nullptr, &load}).what,
            "accept/reject differs (codec ok, CPython UnpicklingError)");
}

// A round trip (Property.StateHooks): each writes the graph at the case's
// protocol and loads it; the dump's refusal, then the set_state calls.
TEST(Executor, RoundTripComparesDumpsThenCalls) {
  pkl::Graph g;
  const pkl::NodeId items[] = {g.integer(7)};
  g.set_root(g.list(items));  // no registered instance: the codec's load calls set_state 0 times
  const pklharness::GraphCase gc{&g, nullptr, "(the graph JSON)"};
  const pklharness::Equivalence eq = pklharness::Equivalence::round_trip();
  const pklharness::LoadCase load{&eq, &gc};
  pklharness::Case c{{}, &gc, &load};
  c.protocol = 2;
  pklharness::CodecBackend codec;
  LoadRef no_calls("\x80\x02K\x05."s);
  pklharness::Executor ex(codec, no_calls);
  EXPECT_EQ(ex.run(c).status, Outcome::Status::Same);
  EXPECT_EQ(*ex.subject_answer().dumps.at(0).bytes, pkl::encode(g, g.root(), {.protocol = 2}));
  LoadRef one_call("\x80\x02K\x05."s, 1);
  Outcome o = pklharness::Executor(codec, one_call).run(c);
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.what, "set_state ran 0 times (codec), 1 times (CPython)");
  // The reference refuses to write the graph: so must the codec.
  Answer refused;
  refused.kind = Answer::Kind::Reject;
  refused.text = "PicklingError: Can't pickle it";
  refused.dumps.emplace_back().error = refused.text;
  Canned refuses(refused);
  o = pklharness::Executor(codec, refuses).run(c);
  EXPECT_EQ(o.status, Outcome::Status::Different);
  EXPECT_EQ(o.what, "the dump at protocol 2 differs (codec ok, CPython PicklingError)");
  EXPECT_EQ(o.protocol, 2);
}

}  // namespace
