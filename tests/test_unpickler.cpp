// DecodeOptions::unpickler: where CPython's pure-Python unpickler
// (pickle._Unpickler, joblib.load's) parts from the C one, the decoder reads
// as the one asked for (oracle/loader_diff.py finds the differences; each
// case below is one of its classes, checked against CPython 3.11). Each case
// is decoded under both: the trace (what each would import and call, at
// which offset) and how the load ends, exactly; just inside and just outside
// each difference where there is an edge. Offsets are counted by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/trace.hpp"

namespace {

using namespace pkl;
using namespace std::string_literals;

std::string text(const Graph& g, NodeId n) {
  if (n == kNoNode) return "-";
  switch (g.kind(n)) {
    case Kind::Global: return g.global_data(n).module + "." + g.global_data(n).qualname;
    case Kind::Object: {
      const ObjectData& od = g.object_data(n);
      return "<" + text(g, od.callable) + text(g, od.args) + ">";
    }
    case Kind::Int: return std::to_string(g.as_int(n));
    case Kind::Float: return std::to_string(g.as_float(n));
    case Kind::Str: return "'" + std::string(g.as_str(n)) + "'";
    case Kind::Tuple:
    case Kind::List: {
      std::string s = g.kind(n) == Kind::Tuple ? "(" : "[";
      for (NodeId i : g.items(n)) s += text(g, i) + ",";
      return s + (g.kind(n) == Kind::Tuple ? ")" : "]");
    }
    default: return std::string("<") + kind_name(g.kind(n)) + ">";
  }
}

struct Recorder final : TraceObserver {
  std::vector<std::string> lines;
  void on_event(const TraceEvent& e, const Graph& g) override {
    const OpcodeInfo* i = opcode_info(e.opcode);
    std::string s = std::to_string(e.offset) + " " + (i ? i->name : "?") + " ";
    switch (e.kind) {
      case TraceKind::Global: s += "import " + std::string(e.module) + "." + std::string(e.qualname); break;
      case TraceKind::Call: s += "call " + text(g, e.target) + text(g, e.args); break;
      case TraceKind::Method: s += text(g, e.target) + "." + std::string(e.name) + " x" + std::to_string(e.count); break;
      case TraceKind::Build: s += "build " + text(g, e.target); break;
      default: s += "other"; break;
    }
    lines.push_back(s);
  }
};

// The trace, then "ok <root>" or "error @offset: message".
std::vector<std::string> run(const std::string& data, Unpickler u) {
  Recorder r;
  DecodeOptions o;
  o.trace = &r;
  o.unpickler = u;
  try {
    const Graph g = decode(data, o);
    r.lines.push_back("ok " + text(g, g.root()));
  } catch (const Error& e) {
    r.lines.push_back("error @" + std::to_string(e.offset()) + ": " + e.message());
  }
  return r.lines;
}

using Lines = std::vector<std::string>;
const std::string P2 = "\x80\x02";

// ---- the pure-Python unpickler goes on where the C one stops ----------------

TEST(Unpickler, ReduceTakesAnyIterableAsArguments) {
  // GLOBAL m f; [1] ; REDUCE: func(*[1]) in pure Python.
  const std::string d = P2 + "cm\nf\n]K\x01" "aR.";
  EXPECT_EQ(run(d, Unpickler::C), (Lines{"2 GLOBAL import m.f", "11 REDUCE call m.f[1,]",
                                          "error @11: argument list must be a tuple"}));
  EXPECT_EQ(run(d, Unpickler::Python), (Lines{"2 GLOBAL import m.f", "11 REDUCE call m.f[1,]", "ok <m.f(1,)>"}));
  // A str's characters, a dict's keys.
  EXPECT_EQ(run(P2 + "cm\nf\nX\x02\x00\x00\x00" "abR."s, Unpickler::Python).back(), "ok <m.f('a','b',)>");
  EXPECT_EQ(run(P2 + "cm\nf\n}K\x01K\x02sR.", Unpickler::Python).back(), "ok <m.f(1,)>");
  // Not an iterable: both fail.
  EXPECT_EQ(run(P2 + "cm\nf\nNR.", Unpickler::Python).back(),
            "error @8: argument after * must be an iterable, not NoneType");
}

TEST(Unpickler, NewobjTakesAnyIterableAsArguments) {
  const std::string d = P2 + "cm\nC\n]\x81.";
  EXPECT_EQ(run(d, Unpickler::C).back(), "error @8: NEWOBJ args argument must be a tuple, not list");
  EXPECT_EQ(run(d, Unpickler::Python).back(), "ok <copyreg.__newobj__(m.C,)>");
  // NEWOBJ_EX: args a list goes on, kwargs not a dict fails under both.
  const std::string ex = "\x80\x04" "cm\nC\n]}\x92.";
  EXPECT_EQ(run(ex, Unpickler::C).back(), "error @9: NEWOBJ_EX args argument must be a tuple, not list");
  EXPECT_EQ(run(ex, Unpickler::Python).back(), "ok <copyreg.__newobj_ex__(m.C,(),<dict>,)>");
  const std::string bad_kw = "\x80\x04" "cm\nC\n)]\x92.";
  EXPECT_EQ(run(bad_kw, Unpickler::C), run(bad_kw, Unpickler::Python));
}

TEST(Unpickler, BuildSkipsAFalsyStateWithoutSetstate) {
  // BUILD on a list (no __setstate__, no __dict__) with 0: C "state is not a
  // dictionary"; pure Python `if state:` passes over it.
  EXPECT_EQ(run(P2 + "]K\x00" "b."s, Unpickler::C).back(), "error @5: state is not a dictionary");
  EXPECT_EQ(run(P2 + "]K\x00" "b."s, Unpickler::Python).back(), "ok []");
  // Just outside: 1 is true, and both fail (pure Python: 1 has no items()).
  EXPECT_EQ(run(P2 + "]K\x01" "b.", Unpickler::Python).back(), "error @5: state is not a dictionary");
  // An empty dict: C looks up __dict__, pure Python does not.
  EXPECT_EQ(run(P2 + "]}b.", Unpickler::C).back(), "error @4: 'list' object has no attribute '__dict__'");
  EXPECT_EQ(run(P2 + "]}b.", Unpickler::Python).back(), "ok []");
  // (None, ()) : the slot state () is falsy; (None, (1,)) is not.
  EXPECT_EQ(run(P2 + "]N)\x86" "b.", Unpickler::C).back(), "error @6: slot state is not a dictionary");
  EXPECT_EQ(run(P2 + "]N)\x86" "b.", Unpickler::Python).back(), "ok []");
  EXPECT_EQ(run(P2 + "]NK\x01\x85\x86" "b.", Unpickler::Python).back(), "error @8: slot state is not a dictionary");
  // '' and 0.0 are falsy too.
  EXPECT_EQ(run(P2 + "]X\x00\x00\x00\x00" "b."s, Unpickler::Python).back(), "ok []");
  EXPECT_EQ(run(P2 + "]G\x00\x00\x00\x00\x00\x00\x00\x00" "b."s, Unpickler::Python).back(), "ok []");
  // An empty bytearray (bytearray() by REDUCE) is falsy; bytearray(b'x') is not.
  const std::string ba = "cbuiltins\nbytearray\n";
  EXPECT_EQ(run(P2 + "]" + ba + ")Rb.", Unpickler::Python).back(), "ok []");
  EXPECT_EQ(run(P2 + "]" + ba + ")Rb.", Unpickler::C).back(), "error @25: state is not a dictionary");
}

TEST(Unpickler, FloatReadsPythonsFloatText) {
  EXPECT_EQ(run("F 1.5 \n.", Unpickler::C).back(), "error @0: could not convert string to float: ' 1.5 \n'");
  EXPECT_EQ(run("F 1.5 \n.", Unpickler::Python).back(), "ok 1.500000");
  EXPECT_EQ(run("F1_0.5\n.", Unpickler::Python).back(), "ok 10.500000");
  EXPECT_EQ(run("F1.0x\n.", Unpickler::Python).back(), "error @0: could not convert string to float: b'1.0x'");
}

TEST(Unpickler, AFrameLongerThanTheInputHoldsWhatIsLeft) {
  // FRAME of 9 bytes, 3 follow: C "pickle data was truncated"; pure Python reads what there is.
  const std::string d = "\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00K\x01."s;
  EXPECT_EQ(run(d, Unpickler::C).back(), "error @2: pickle data was truncated");
  EXPECT_EQ(run(d, Unpickler::Python).back(), "ok 1");
  // Just long enough: the same under both.
  const std::string exact = "\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01."s;
  EXPECT_EQ(run(exact, Unpickler::C), run(exact, Unpickler::Python));
}

TEST(Unpickler, PersidAtTheEndTakesTheCutLine) {
  // PERSID "ab" without '\n' at the end: pure Python hands "a" to persistent_load, then EOF.
  Recorder r;
  DecodeOptions o;
  o.trace = &r;
  o.persistent_ids = PersistentIds::Keep;
  o.unpickler = Unpickler::Python;
  EXPECT_THROW(decode("Pab"s, o), Error);
  EXPECT_EQ(r.lines, (Lines{"0 PERSID other"}));
  o.unpickler = Unpickler::C;
  r.lines.clear();
  EXPECT_THROW(decode("Pab"s, o), Error);
  EXPECT_EQ(r.lines, (Lines{}));
}

// ---- the pure-Python unpickler calls before it fails --------------------------

TEST(Unpickler, SetitemsWithAnOddCountSetsTheLeadingPairs) {
  // os.environ, MARK, 1 2 3, SETITEMS at 21.
  const std::string d = P2 + "cos\nenviron\n(K\x01K\x02K\x03u.";
  EXPECT_EQ(run(d, Unpickler::C),
            (Lines{"2 GLOBAL import os.environ", "error @21: odd number of items for SETITEMS"}));
  EXPECT_EQ(run(d, Unpickler::Python), (Lines{"2 GLOBAL import os.environ", "21 SETITEMS os.environ.__setitem__ x2",
                                               "error @21: odd number of items for SETITEMS"}));
  // Just inside: 4 items set under both.
  const std::string even = P2 + "cos\nenviron\n(K\x01K\x02K\x03K\x04u.";
  EXPECT_EQ(run(even, Unpickler::C), run(even, Unpickler::Python));
  EXPECT_EQ(run(even, Unpickler::C)[1], "23 SETITEMS os.environ.__setitem__ x4");
}

TEST(Unpickler, InstResolvesItsClassBeforeItLooksForTheMark) {
  EXPECT_EQ(run("ios\nsystem\n.", Unpickler::C), (Lines{"error @0: could not find MARK"}));
  EXPECT_EQ(run("ios\nsystem\n.", Unpickler::Python),
            (Lines{"0 INST import os.system", "error @0: could not find MARK"}));
  // With its MARK, the same under both.
  EXPECT_EQ(run("(ios\nsystem\n.", Unpickler::C), run("(ios\nsystem\n.", Unpickler::Python));
}

TEST(Unpickler, GlobalAtTheEndResolvesTheCutName) {
  // The last line has no '\n': pure Python's readline()[:-1] is "sys".
  EXPECT_EQ(run("cos\nsyst", Unpickler::C), (Lines{"error @0: pickle data was truncated"}));
  EXPECT_EQ(run("cos\nsyst", Unpickler::Python), (Lines{"0 GLOBAL import os.sys", "error @8: Ran out of input"}));
  // With its '\n', the same under both.
  EXPECT_EQ(run("cos\nsyst\n", Unpickler::C), run("cos\nsyst\n", Unpickler::Python));
}

TEST(Unpickler, AppendsWithNoItemsCallsExtend) {
  // m.C(), MARK, APPENDS at 10.
  const std::string d = P2 + "cm\nC\n)\x81(e.";
  EXPECT_EQ(run(d, Unpickler::C), (Lines{"2 GLOBAL import m.C", "8 NEWOBJ call m.C()", "ok <copyreg.__newobj__(m.C,)>"}));
  EXPECT_EQ(run(d, Unpickler::Python), (Lines{"2 GLOBAL import m.C", "8 NEWOBJ call m.C()",
                                               "10 APPENDS <copyreg.__newobj__(m.C,)>.extend x0",
                                               "ok <copyreg.__newobj__(m.C,)>"}));
}

// ---- the pure-Python unpickler fails where the C one goes on ------------------

TEST(Unpickler, EmptyAppendsAndAdditemsLookUpTheirMethod) {
  EXPECT_EQ(run(P2 + "}(e.", Unpickler::C).back(), "ok <dict>");
  EXPECT_EQ(run(P2 + "}(e.", Unpickler::Python).back(), "error @4: 'dict' object has no attribute 'append'");
  EXPECT_EQ(run(P2 + "](e.", Unpickler::Python).back(), "ok []");
  EXPECT_EQ(run(P2 + "](\x90.", Unpickler::C).back(), "ok []");
  EXPECT_EQ(run(P2 + "](\x90.", Unpickler::Python).back(), "error @4: 'list' object has no attribute 'add'");
  EXPECT_EQ(run(P2 + "\x8f(\x90.", Unpickler::Python).back(), "ok <set>");
}

TEST(Unpickler, IntTextWithANulOrACOctal) {
  // The C unpickler reads up to a NUL and reads "017" as octal; int(bytes,
  // base) refuses both, in CPython's words (pickle._Unpickler, 3.11).
  EXPECT_EQ(run("I12\x00x\n."s, Unpickler::C).back(), "ok 12");
  EXPECT_EQ(run("I12\x00x\n."s, Unpickler::Python).back(),
            "error @0: invalid literal for int() with base 0: b'12\\x00x\\n'");
  EXPECT_EQ(run("L12\x00L\n."s, Unpickler::Python).back(),
            "error @0: invalid literal for int() with base 0: b'12\\x00'");
  EXPECT_EQ(run("I017\n.", Unpickler::C).back(), "ok 15");
  EXPECT_EQ(run("I017\n.", Unpickler::Python).back(), "error @0: invalid literal for int() with base 0: b'017\\n'");
  // Just outside: "000" is 0 and "01" True under both; "0x17" is hex under both.
  for (const char* d : {"I000\n.", "I01\n.", "I0x17\n.", "L017L\n."})
    EXPECT_EQ(run(d, Unpickler::C), run(d, Unpickler::Python)) << d;
  EXPECT_EQ(run("K\x01p1\x00\n."s, Unpickler::C).back(), "ok 1");
  EXPECT_EQ(run("K\x01p1\x00\n."s, Unpickler::Python).back(),
            "error @2: invalid literal for int() with base 10: b'1\\x00'");
  EXPECT_EQ(run("K\x01p1\ng1\x00\n."s, Unpickler::Python).back(),
            "error @5: invalid literal for int() with base 10: b'1\\x00'");
}

// ---- the same under both ------------------------------------------------------------

TEST(Unpickler, OrdinaryPicklesReadTheSame) {
  for (const std::string& d : {P2 + "]q\x00(K\x01K\x02e."s, P2 + "cos\nsystem\nX\x04\x00\x00\x00true\x85R."s,
                               P2 + "cm\nC\n)\x81}X\x01\x00\x00\x00" "aK\x01sb."s, "(I1\nF2.5\nl."s})
    EXPECT_EQ(run(d, Unpickler::C), run(d, Unpickler::Python));
}

}  // namespace
