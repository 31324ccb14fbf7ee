// The decoder's trace mode (picklecodec/trace.hpp): every global resolved,
// every call, BUILD and item method CPython would reach, with its opcode and
// offset, told as it happens (a load that ends in an error keeps them).
// Inputs are hand-assembled pickles; the offsets are counted by hand.
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

const char* kind_name_of(TraceKind k) {
  switch (k) {
    case TraceKind::Global: return "global";
    case TraceKind::Getattr: return "getattr";
    case TraceKind::Call: return "call";
    case TraceKind::Build: return "build";
    case TraceKind::Method: return "method";
    case TraceKind::PersistentLoad: return "persid";
  }
  return "?";
}

std::string op_name(uint8_t c) {
  const OpcodeInfo* i = opcode_info(c);
  return i ? i->name : "?";
}

std::string node_text(const Graph& g, NodeId n) {
  if (n == kNoNode) return "-";
  switch (g.kind(n)) {
    case Kind::Global: return g.global_data(n).module + "." + g.global_data(n).qualname;
    case Kind::Object: {
      const ObjectData& od = g.object_data(n);
      return "<" + node_text(g, od.callable) + "(...)>";
    }
    case Kind::Str: return "'" + std::string(g.as_str(n)) + "'";
    case Kind::Tuple: {
      std::string s = "(";
      for (NodeId i : g.items(n)) s += node_text(g, i) + ",";
      return s + ")";
    }
    default: return std::string("<") + kind_name(g.kind(n)) + ">";
  }
}

// One line per event: "kind@offset opcode what".
struct Recorder final : TraceObserver {
  std::vector<std::string> lines;
  void on_event(const TraceEvent& e, const Graph& g) override {
    std::string s = std::string(kind_name_of(e.kind)) + "@" + std::to_string(e.offset) + " " +
                    op_name(e.opcode) + " ";
    switch (e.kind) {
      case TraceKind::Global:
        s += std::string(e.module) + "." + std::string(e.qualname);
        if (e.raw_module != e.module || e.raw_qualname != e.qualname)
          s += " (" + std::string(e.raw_module) + "." + std::string(e.raw_qualname) + ")";
        if (e.ext_code) s += " ext " + std::to_string(e.ext_code);
        break;
      case TraceKind::Getattr:
        s += node_text(g, e.target) + " ." + std::string(e.name) + " -> " + std::string(e.module) + "." +
             std::string(e.qualname);
        break;
      case TraceKind::Call:
        s += node_text(g, e.target) + node_text(g, e.args);
        if (e.kwargs != kNoNode) s += " kw";
        break;
      case TraceKind::Build: s += node_text(g, e.target) + " state " + node_text(g, e.args); break;
      case TraceKind::Method:
        s += node_text(g, e.target) + "." + std::string(e.name) + " x" + std::to_string(e.count);
        break;
      case TraceKind::PersistentLoad: s += node_text(g, e.args); break;
    }
    lines.push_back(s);
  }
};

std::vector<std::string> trace_of(const std::string& pickle, DecodeOptions o = {}, bool expect_error = false) {
  Recorder r;
  o.trace = &r;
  if (expect_error) {
    EXPECT_THROW(decode(pickle, o), Error);
  } else {
    decode(pickle, o);
  }
  return r.lines;
}

TEST(Trace, GlobalAndReduceWithOffsets) {
  // 0: GLOBAL 'os system'  11: MARK 12: BINUNICODE 'x' 18: TUPLE 19: REDUCE 20: STOP
  const std::string p = "cos\nsystem\n(X\x01\x00\x00\x00xtR."s;
  EXPECT_EQ(trace_of(p), (std::vector<std::string>{"global@0 GLOBAL os.system", "call@19 REDUCE os.system('x',)"}));
}

TEST(Trace, StackGlobalFromMemoAndFixImports) {
  // Protocol 2: fix_imports maps __builtin__.eval to builtins.eval.
  const std::string p =
      "\x80\x02"                  // 0 PROTO 2
      "c__builtin__\neval\n"      // 2 GLOBAL
      "X\x01\x00\x00\x00" "1"     // 20 BINUNICODE '1'
      "\x85R."s;                  // 26 TUPLE1 27 REDUCE 28 STOP
  EXPECT_EQ(trace_of(p), (std::vector<std::string>{"global@2 GLOBAL builtins.eval (__builtin__.eval)",
                                                   "call@27 REDUCE builtins.eval('1',)"}));
  // STACK_GLOBAL whose operands come from the memo.
  const std::string q =
      "\x80\x04"            // 0
      "\x8c\x02os\x94"      // 2 SHORT_BINUNICODE 'os', 6 MEMOIZE
      "\x8c\x06system\x94"  // 7, 15 MEMOIZE
      "0"                   // 16 POP
      "0"                   // 17 POP
      "h\x00h\x01\x93"      // 18 BINGET 0, 20 BINGET 1, 22 STACK_GLOBAL
      ")R."s;               // 23 EMPTY_TUPLE 24 REDUCE 25 STOP
  EXPECT_EQ(trace_of(q), (std::vector<std::string>{"global@22 STACK_GLOBAL os.system", "call@24 REDUCE os.system()"}));
}

TEST(Trace, InstObjNewobjBuild) {
  // INST m C with an argument (a call), OBJ without (cls.__new__), NEWOBJ, BUILD.
  const std::string p =
      "(X\x01\x00\x00\x00" "a"  // 0 MARK, 1 BINUNICODE
      "im\nC\n"                 // 7 INST
      "0"                       // 12 POP
      "(cm\nD\n"                // 13 MARK, 14 GLOBAL
      "o"                       // 19 OBJ
      "}b"                      // 20 EMPTY_DICT 21 BUILD
      "0"                       // 22 POP
      "\x80\x02" "cm\nE\n)\x81."s;  // 23 PROTO 25 GLOBAL 30 EMPTY_TUPLE 31 NEWOBJ 32 STOP
  EXPECT_EQ(trace_of(p), (std::vector<std::string>{
                             "global@7 INST m.C",
                             "call@7 INST m.C('a',)",
                             "global@14 GLOBAL m.D",
                             "call@19 OBJ m.D()",
                             "build@21 BUILD <copyreg.__newobj__(...)> state <dict>",
                             "global@25 GLOBAL m.E",
                             "call@31 NEWOBJ m.E()",
                         }));
}

TEST(Trace, CallsBeforeAnErrorAreKept) {
  // os.system('x') is called and BUILD on its result, then an unknown opcode stops the load.
  const std::string p = "cos\nsystem\n(X\x01\x00\x00\x00xtR}b\xff."s;
  const auto t = trace_of(p, {}, true);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1], "call@19 REDUCE os.system('x',)");
  EXPECT_EQ(t[2], "build@21 BUILD <os.system(...)> state <dict>");
  // A refusing policy stops at the global, which is still told.
  DecodeOptions o;
  o.policy = GlobalPolicy::AllowlistOnly;
  EXPECT_EQ(trace_of(p, o, true), (std::vector<std::string>{"global@0 GLOBAL os.system"}));
}

TEST(Trace, GetattrHopsAndCallsOnResults) {
  // getattr(m.C, 'f') then a call on the result, then a call on that call's result.
  const std::string p =
      "cbuiltins\ngetattr\n"       // 0
      "(cm\nC\n"                   // 18 MARK 19 GLOBAL
      "X\x01\x00\x00\x00" "f"      // 24
      "tR"                         // 30 TUPLE 31 REDUCE
      ")R"                         // 32 EMPTY_TUPLE 33 REDUCE
      ")R."s;                      // 34 35 REDUCE 36 STOP
  EXPECT_EQ(trace_of(p), (std::vector<std::string>{
                             "global@0 GLOBAL builtins.getattr",
                             "global@19 GLOBAL m.C",
                             "call@31 REDUCE builtins.getattr(m.C,'f',)",
                             "getattr@31 REDUCE m.C .f -> m.C.f",
                             "call@33 REDUCE m.C.f()",
                             "call@35 REDUCE <m.C.f(...)>()",
                         }));
}

TEST(Trace, ItemMethodsOnObjectsAndGlobalsOnly) {
  // APPEND on a list: no event. APPEND on a global (sys.path.append): told,
  // although the decoder then refuses it (CPython calls it). SETITEM on an object.
  const std::string list_ok = "]K\x01" "a."s;
  EXPECT_TRUE(trace_of(list_ok).empty());
  const std::string p = "csys\npath\nX\x01\x00\x00\x00" "xa."s;  // 0 GLOBAL 10 BINUNICODE 16 APPEND
  EXPECT_EQ(trace_of(p, {}, true),
            (std::vector<std::string>{"global@0 GLOBAL sys.path", "method@16 APPEND sys.path.extend x1"}));
  const std::string q = "cm\nC\n)RK\x01K\x02s."s;  // 0 GLOBAL 5 ) 6 R 7 K 9 K 11 SETITEM
  EXPECT_EQ(trace_of(q), (std::vector<std::string>{"global@0 GLOBAL m.C", "call@6 REDUCE m.C()",
                                                   "method@11 SETITEM <m.C(...)>.__setitem__ x2"}));
  // ADDITEMS: the decoder refuses it on an inert object after telling it.
  const std::string r = "\x80\x04" "cm\nC\n)R(K\x01\x90."s;  // 2 GLOBAL 7 ) 8 R 9 ( 10 K 12 ADDITEMS
  EXPECT_EQ(trace_of(r, {}, true), (std::vector<std::string>{"global@2 GLOBAL m.C", "call@8 REDUCE m.C()",
                                                   "method@12 ADDITEMS <m.C(...)>.add x1"}));
}

TEST(Trace, ExtensionsAndPersistentIds) {
  DecodeOptions o;
  o.extension = [](int32_t code) -> std::optional<std::pair<std::string, std::string>> {
    if (code == 300) return std::pair<std::string, std::string>{"os", "system"};
    return std::nullopt;
  };
  o.persistent_ids = PersistentIds::Keep;
  const std::string p = "\x80\x02\x83\x2c\x01" "0" "X\x01\x00\x00\x00pQ."s;  // 2 EXT2 300, 5 POP, 6 BINUNICODE, 12 BINPERSID
  EXPECT_EQ(trace_of(p, o), (std::vector<std::string>{"global@2 EXT2 os.system ext 300", "persid@12 BINPERSID 'p'"}));
}

TEST(Trace, NoObserverSameGraph) {
  const std::string p = "cos\nsystem\n(X\x01\x00\x00\x00xtR."s;
  Recorder r;
  DecodeOptions o;
  o.trace = &r;
  EXPECT_EQ(decode(p).size(), decode(p, o).size());
}

}  // namespace
