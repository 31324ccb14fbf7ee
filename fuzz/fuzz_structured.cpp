// fuzz_structured: reaches deep opcode sequences, not only parser errors.
//
// Two modes, chosen by the input's first byte:
//  - 0xff (no pickle opcode): the rest feeds a FuzzedDataProvider, the
//    source of choices of the harness's one graph generator
//    (harness/graph_gen.hpp, the property tests' too: every kind, sharing,
//    cycles, objects, registered instances), whose graph is encoded at
//    every protocol, decoded, and checked (isomorphism and byte-identical
//    fixed point).
//  - anything else: a pickle, decoded under the strict budget and, when
//    accepted, checked as above.
// LLVMFuzzerCustomMutator parses a pickle-mode input into opcodes (with the
// generated opcode table) and mutates opcodes and arguments: it inserts
// whole values (nested containers, objects, memo references), wraps runs of
// opcodes in MARK ... LIST/TUPLE/DICT/APPENDS/SETITEMS/ADDITEMS/FROZENSET/
// REDUCE, refers GETs to memo indices defined before them, swaps opcodes of
// the same argument shape, fixes PROTO, FRAME lengths and STOP. One mutation
// in eight (and any it cannot apply) falls back to LLVMFuzzerMutate.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "decode/opcode_length.hpp"
#include "fuzz_common.hpp"
#include "picklecodec/opcodes.hpp"
#include "graph_gen.hpp"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

constexpr uint8_t kGraphMode = 0xff;

// ===================================================================
// The opcode model
// ===================================================================

enum class Layout { None, Fixed, Line, LinePair, Len1, Len4, Len4Signed, Len8 };

Layout layout_of(pkl::ArgType t) {
  using A = pkl::ArgType;
  switch (t) {
    case A::None: return Layout::None;
    case A::Uint1: case A::Uint2: case A::Int4: case A::Uint4: case A::Uint8: case A::Float8:
      return Layout::Fixed;
    case A::Floatnl: case A::DecimalnlShort: case A::DecimalnlLong: case A::Stringnl:
    case A::StringnlNoescape: case A::Unicodestringnl:
      return Layout::Line;
    case A::StringnlNoescapePair: return Layout::LinePair;
    case A::Bytes1: case A::String1: case A::Unicodestring1: case A::Long1: return Layout::Len1;
    case A::Bytes4: case A::Unicodestring4: return Layout::Len4;
    case A::String4: case A::Long4: return Layout::Len4Signed;
    case A::Bytes8: case A::Unicodestring8: case A::Bytearray8: return Layout::Len8;
  }
  return Layout::None;
}

size_t fixed_size(pkl::ArgType t) {
  using A = pkl::ArgType;
  switch (t) {
    case A::Uint1: return 1;
    case A::Uint2: return 2;
    case A::Int4: case A::Uint4: return 4;
    case A::Uint8: case A::Float8: return 8;
    default: return 0;
  }
}

// One opcode and its argument's content: without length prefix or final
// newline ("module\nname" for a pair); the raw bytes for fixed sizes.
struct Op {
  uint8_t code;
  std::string arg;
};

struct Program {
  std::vector<Op> ops;
  std::string tail;  // bytes after the last whole opcode (unknown opcode, truncated)
};

uint64_t read_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

std::string le(uint64_t v, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// The stream as opcodes and their arguments (a count left out: append_op
// writes it again from the argument's size), as far as each opcode's length
// can be told (decode/opcode_length.hpp); the rest is the tail.
Program parse(const uint8_t* data, size_t size) {
  Program p;
  size_t pos = 0;
  while (pos < size) {
    const pkl::OpcodeLength len = pkl::opcode_length({data, size}, pos);
    if (!len.ok()) break;
    const pkl::OpcodeInfo* info = pkl::opcode_info(data[pos]);
    const char* a = reinterpret_cast<const char*>(data + pos + 1);
    const size_t used = len.length - 1;
    Op op{data[pos], {}};
    switch (const Layout l = layout_of(info->arg)) {
      case Layout::None: break;
      case Layout::Fixed: op.arg.assign(a, used); break;
      case Layout::Line: case Layout::LinePair: op.arg.assign(a, used - 1); break;  // less the last newline
      case Layout::Len1: case Layout::Len4: case Layout::Len4Signed: case Layout::Len8: {
        const size_t w = l == Layout::Len1 ? 1 : l == Layout::Len8 ? 8 : 4;
        op.arg.assign(a + w, used - w);
        break;
      }
    }
    p.ops.push_back(std::move(op));
    pos += len.length;
  }
  p.tail.assign(reinterpret_cast<const char*>(data + pos), size - pos);
  return p;
}

void append_op(std::string& out, const Op& op) {
  out += static_cast<char>(op.code);
  const pkl::OpcodeInfo* info = pkl::opcode_info(op.code);
  switch (layout_of(info->arg)) {
    case Layout::None: break;
    case Layout::Fixed: {
      std::string a = op.arg;
      a.resize(fixed_size(info->arg), '\0');
      out += a;
      break;
    }
    case Layout::Line: case Layout::LinePair: out += op.arg; out += '\n'; break;
    case Layout::Len1: {
      std::string_view a(op.arg);
      a = a.substr(0, 255);
      out += static_cast<char>(a.size());
      out += a;
      break;
    }
    case Layout::Len4: case Layout::Len4Signed: out += le(op.arg.size(), 4); out += op.arg; break;
    case Layout::Len8: out += le(op.arg.size(), 8); out += op.arg; break;
  }
}

std::string serialize(const Program& p) {
  std::string out;
  for (const auto& op : p.ops) append_op(out, op);
  out += p.tail;
  return out;
}

// ===================================================================
// Generating opcodes and values
// ===================================================================

using Rng = std::minstd_rand;

size_t pick(Rng& rng, size_t n) { return n ? rng() % n : 0; }
bool chance(Rng& rng, unsigned one_in) { return rng() % one_in == 0; }
template <class T, size_t N>
const T& pick_of(Rng& rng, const std::array<T, N>& a) { return a[pick(rng, N)]; }

const std::array<std::string_view, 27> kGlobals = {
    "builtins\nset", "builtins\nfrozenset", "builtins\nbytearray", "builtins\nbytes",
    "_codecs\nencode", "builtins\ngetattr", "builtins\nobject", "builtins\nlist",
    "builtins\ndict", "builtins\nint", "copyreg\n_reconstructor", "copyreg\n__newobj__",
    "copyreg\n__newobj_ex__", "__builtin__\nset", "__builtin__\nobject", "copy_reg\n_reconstructor",
    "__builtin__\nxrange", "collections\nOrderedDict", "datetime\ndatetime", "decimal\nDecimal",
    "functools\npartial", "numpy.core.multiarray\n_reconstruct", "os\nsystem", "exceptions\nValueError",
    "UserDict\nUserDict", "mod\nOuter.Inner", "__main__\nPoint"};

// Classes the decoder leaves inert (none of the builtins it gives meaning:
// docs/conformance.md section 2.1's, builtins.object, copyreg._reconstructor):
// the callables and classes of built objects.
const std::array<std::string_view, 7> kClasses = {
    "__main__\nPoint", "mod\nOuter.Inner", "collections\nOrderedDict", "datetime\ndatetime",
    "decimal\nDecimal", "os\nsystem", "functools\npartial"};

const std::array<std::string_view, 16> kNames = {
    "builtins", "set", "copyreg", "__newobj__", "__main__", "Point", "getattr", "__new__",
    "", "a", "\xc3\xa9", "\xed\xa0\x80", "\xff", "Outer.Inner", "_codecs", "latin1"};

const std::array<std::string_view, 14> kDecimals = {
    "0", "1", "-1", "00", "01", "255", "256", "2147483647", "2147483648", "-2147483649",
    "99999999999999999999", "1L", " 1", "0x10"};

const std::array<std::string_view, 11> kFloatTexts = {
    "0.0", "-0.0", "1.5", "nan", "inf", "-inf", "1e309", "1e-320", "3", "1_0", "x"};

const std::array<std::string_view, 10> kPy2Strings = {
    "'abc'", "\"a'b\"", "'\\x00\\x7f'", "'\\n'", "''", "'\\x00\\xff'", "'abc", "abc", "'\\u20ac'", "'\\'"};

const std::array<std::string_view, 8> kRawUnicode = {
    "abc", "", "\\u20ac", "\\U0001f600", "\\ud800", "\\x41", "\\u12", "caf\xe9"};

const std::array<uint64_t, 12> kInts = {0, 1, 2, 127, 128, 255, 256, 0x7fff, 0xffff,
                                        0x7fffffff, 0x80000000, 0xffffffff};

const std::array<uint64_t, 9> kFloatBits = {
    0, 0x8000000000000000u, 0x3ff0000000000000u, 0x7ff0000000000000u, 0xfff0000000000000u,
    0x7ff8000000000000u, 0xfff8000000000001u, 0x0000000000000001u, 0x7fefffffffffffffu};

// Memo indices defined by ops[0, end): PUT, BINPUT, LONG_BINPUT, MEMOIZE.
std::vector<uint32_t> memo_before(const Program& p, size_t end) {
  std::vector<uint32_t> idx;
  for (size_t i = 0; i < end && i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    switch (op.code) {
      case pkl::op::PUT: idx.push_back(static_cast<uint32_t>(std::strtoul(op.arg.c_str(), nullptr, 10))); break;
      case pkl::op::BINPUT: if (!op.arg.empty()) idx.push_back(static_cast<uint8_t>(op.arg[0])); break;
      case pkl::op::LONG_BINPUT:
        if (op.arg.size() == 4)
          idx.push_back(static_cast<uint32_t>(read_le(reinterpret_cast<const uint8_t*>(op.arg.data()), 4)));
        break;
      case pkl::op::MEMOIZE: {
        std::vector<uint32_t> s(idx);
        std::sort(s.begin(), s.end());
        idx.push_back(static_cast<uint32_t>(std::unique(s.begin(), s.end()) - s.begin()));
        break;
      }
      default: break;
    }
  }
  return idx;
}

// Memo operations (PUT/GET of every width) for index i.
Op memo_put(Rng& rng, uint32_t i) {
  if (i < 256 && chance(rng, 2)) return {pkl::op::BINPUT, le(i, 1)};
  if (chance(rng, 2)) return {pkl::op::LONG_BINPUT, le(i, 4)};
  return {pkl::op::PUT, std::to_string(i)};
}
Op memo_get(Rng& rng, uint32_t i) {
  if (i < 256 && chance(rng, 2)) return {pkl::op::BINGET, le(i, 1)};
  if (chance(rng, 2)) return {pkl::op::LONG_BINGET, le(i, 4)};
  return {pkl::op::GET, std::to_string(i)};
}

std::string random_bytes(Rng& rng, size_t max_len) {
  std::string s(pick(rng, max_len + 1), '\0');
  for (auto& c : s) c = static_cast<char>(chance(rng, 2) ? 'a' + pick(rng, 26) : rng());
  return s;
}

// How many leading entries of each list above are well formed.
constexpr size_t kValidDecimals = 11, kValidFloatTexts = 7, kValidPy2Strings = 5, kValidRawUnicode = 6;

template <class T, size_t N>
const T& pick_first(Rng& rng, const std::array<T, N>& a, size_t n) { return a[pick(rng, n)]; }

std::string ascii_word(Rng& rng, size_t max_len) {
  std::string s(pick(rng, max_len + 1), 'a');
  for (auto& c : s) c = static_cast<char>('a' + pick(rng, 26));
  return s;
}

// An argument for `code`; with `valid`, one the unpickler accepts (so that
// generated values decode and the fuzzer gets past them).
std::string random_arg(Rng& rng, uint8_t code, const std::vector<uint32_t>& memo, bool valid = false) {
  const pkl::OpcodeInfo* info = pkl::opcode_info(code);
  using A = pkl::ArgType;
  const uint32_t some_memo = memo.empty() ? static_cast<uint32_t>(pick(rng, 4)) : memo[pick(rng, memo.size())];
  switch (info->arg) {
    case A::None: return {};
    case A::Uint1:
      if (code == pkl::op::PROTO) return le(pick(rng, 7), 1);
      if (code == pkl::op::BINGET || code == pkl::op::BINPUT) return le(some_memo, 1);
      return le(pick_of(rng, kInts), 1);
    case A::Uint2: return le(pick_of(rng, kInts), 2);
    case A::Int4: case A::Uint4:
      if (code == pkl::op::LONG_BINGET || code == pkl::op::LONG_BINPUT) return le(some_memo, 4);
      return le(chance(rng, 4) ? rng() : pick_of(rng, kInts), 4);
    case A::Uint8: return le(pick(rng, 64), 8);
    case A::Float8: {  // big-endian on the wire
      uint64_t bits = pick_of(rng, kFloatBits);
      std::string s(8, '\0');
      for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(bits >> (56 - 8 * i));
      return s;
    }
    case A::Floatnl:
      return std::string(valid ? pick_first(rng, kFloatTexts, kValidFloatTexts) : pick_of(rng, kFloatTexts));
    case A::DecimalnlShort:
      if (code == pkl::op::GET || code == pkl::op::PUT) return std::to_string(some_memo);
      return std::string(valid ? pick_first(rng, kDecimals, kValidDecimals) : pick_of(rng, kDecimals));
    case A::DecimalnlLong: {
      if (chance(rng, 8)) return std::string(valid ? 4300 : 4300 + pick(rng, 3), '9');
      std::string s(valid ? pick_first(rng, kDecimals, kValidDecimals) : pick_of(rng, kDecimals));
      if (chance(rng, 2)) s += 'L';
      return s;
    }
    case A::Stringnl:
      return std::string(valid ? pick_first(rng, kPy2Strings, kValidPy2Strings) : pick_of(rng, kPy2Strings));
    case A::StringnlNoescape: return "pid" + std::to_string(pick(rng, 3));
    case A::StringnlNoescapePair: return std::string(pick_of(rng, kGlobals));
    case A::Unicodestringnl:
      return std::string(valid ? pick_first(rng, kRawUnicode, kValidRawUnicode) : pick_of(rng, kRawUnicode));
    case A::Unicodestring1: case A::Unicodestring4: case A::Unicodestring8:
      if (valid) return ascii_word(rng, 6);
      return chance(rng, 2) ? std::string(pick_of(rng, kNames)) : random_bytes(rng, 8);
    case A::Long1: case A::Long4: return random_bytes(rng, 10);
    case A::String1: case A::String4:  // Python 2 str: ASCII by default
      return valid ? ascii_word(rng, 12) : random_bytes(rng, 12);
    case A::Bytes1: case A::Bytes4: case A::Bytes8: case A::Bytearray8:
      return random_bytes(rng, 12);
  }
  return {};
}

Op random_op(Rng& rng, const std::vector<uint32_t>& memo) {
  const auto& info = pkl::kOpcodes[pick(rng, pkl::kOpcodes.size())];
  return {info.code, random_arg(rng, info.code, memo)};
}

// Ops that push one scalar value and pop nothing.
const std::array<uint8_t, 19> kScalarOps = {
    pkl::op::NONE, pkl::op::NEWTRUE, pkl::op::NEWFALSE, pkl::op::INT, pkl::op::BININT,
    pkl::op::BININT1, pkl::op::BININT2, pkl::op::LONG, pkl::op::LONG1, pkl::op::LONG4,
    pkl::op::FLOAT, pkl::op::BINFLOAT, pkl::op::STRING, pkl::op::SHORT_BINSTRING,
    pkl::op::UNICODE, pkl::op::BINUNICODE, pkl::op::SHORT_BINUNICODE, pkl::op::SHORT_BINBYTES,
    pkl::op::BYTEARRAY8};

// Appends ops that build one whole value: scalars, containers, objects and
// references to memo entries, nested up to `depth`. `memo` holds the indices
// defined so far and grows with the PUTs written.
void gen_value(Rng& rng, std::vector<Op>& out, std::vector<uint32_t>& memo, int depth) {
  auto value = [&] { gen_value(rng, out, memo, depth - 1); };
  auto maybe_memoize = [&] {
    if (!chance(rng, 2)) return;
    uint32_t i = static_cast<uint32_t>(memo.size());
    out.push_back(chance(rng, 2) ? Op{pkl::op::MEMOIZE, {}} : memo_put(rng, i));
    memo.push_back(i);
  };
  auto items = [&](size_t max) {
    size_t n = pick(rng, max + 1);
    for (size_t i = 0; i < n; ++i) value();
    return n;
  };
  const bool valid = !chance(rng, 8);  // now and then a malformed one
  unsigned choice = depth <= 0 ? 0 : static_cast<unsigned>(pick(rng, 12));
  switch (choice) {
    case 0: case 1: {
      if (!memo.empty() && chance(rng, 4)) {
        out.push_back(memo_get(rng, memo[pick(rng, memo.size())]));
        return;
      }
      uint8_t code = pick_of(rng, kScalarOps);
      out.push_back({code, random_arg(rng, code, memo, valid)});
      if (code != pkl::op::NONE && code != pkl::op::NEWTRUE && code != pkl::op::NEWFALSE) maybe_memoize();
      return;
    }
    case 2:  // list
      out.push_back({pkl::op::EMPTY_LIST, {}});
      maybe_memoize();
      if (chance(rng, 2)) {
        out.push_back({pkl::op::MARK, {}});
        items(4);
        out.push_back({pkl::op::APPENDS, {}});
      } else if (chance(rng, 2)) {
        value();
        out.push_back({pkl::op::APPEND, {}});
      }
      return;
    case 3: {  // tuple
      if (chance(rng, 2)) {
        size_t n = items(3);
        out.push_back({n == 0 ? pkl::op::EMPTY_TUPLE
                              : static_cast<uint8_t>(pkl::op::TUPLE1 + (n - 1)), {}});
      } else {
        out.push_back({pkl::op::MARK, {}});
        items(4);
        out.push_back({pkl::op::TUPLE, {}});
      }
      maybe_memoize();
      return;
    }
    case 4:  // dict
      out.push_back({pkl::op::EMPTY_DICT, {}});
      maybe_memoize();
      if (chance(rng, 2)) {
        out.push_back({pkl::op::MARK, {}});
        for (size_t n = pick(rng, 3); n > 0; --n) { value(); value(); }
        out.push_back({pkl::op::SETITEMS, {}});
      } else {
        value();
        value();
        out.push_back({pkl::op::SETITEM, {}});
      }
      return;
    case 5:  // set / frozenset
      if (chance(rng, 2)) {
        out.push_back({pkl::op::EMPTY_SET, {}});
        maybe_memoize();
        out.push_back({pkl::op::MARK, {}});
        items(3);
        out.push_back({pkl::op::ADDITEMS, {}});
      } else {
        out.push_back({pkl::op::MARK, {}});
        items(3);
        out.push_back({pkl::op::FROZENSET, {}});
        maybe_memoize();
      }
      return;
    case 6: {  // callable(*args): an inert class, or any global (set, bytearray, ...)
      out.push_back({pkl::op::GLOBAL, std::string(valid ? pick_of(rng, kClasses) : pick_of(rng, kGlobals))});
      maybe_memoize();
      out.push_back({pkl::op::MARK, {}});
      items(2);
      out.push_back({pkl::op::TUPLE, {}});
      out.push_back({pkl::op::REDUCE, {}});
      maybe_memoize();
      if (chance(rng, 2)) {
        value();
        out.push_back({pkl::op::BUILD, {}});
      }
      return;
    }
    case 7: {  // cls.__new__(cls, *args) [+ state]
      out.push_back({pkl::op::GLOBAL, "__main__\nPoint"});
      maybe_memoize();
      if (chance(rng, 2)) {
        size_t k = items(2);
        out.push_back({k == 0 ? pkl::op::EMPTY_TUPLE : static_cast<uint8_t>(pkl::op::TUPLE1 + (k - 1)), {}});
        out.push_back({pkl::op::NEWOBJ, {}});
      } else {
        out.push_back({pkl::op::EMPTY_TUPLE, {}});
        out.push_back({pkl::op::EMPTY_DICT, {}});
        out.push_back({pkl::op::NEWOBJ_EX, {}});
      }
      maybe_memoize();
      if (chance(rng, 2)) {
        value();
        out.push_back({pkl::op::BUILD, {}});
      }
      return;
    }
    case 8: {  // STACK_GLOBAL, getattr(G, name)
      if (chance(rng, 2)) {
        out.push_back({pkl::op::SHORT_BINUNICODE, std::string(pick_of(rng, kNames))});
        out.push_back({pkl::op::SHORT_BINUNICODE, std::string(pick_of(rng, kNames))});
        out.push_back({pkl::op::STACK_GLOBAL, {}});
      } else {
        out.push_back({pkl::op::GLOBAL, "builtins\ngetattr"});
        out.push_back({pkl::op::GLOBAL, std::string(pick_of(rng, kGlobals))});
        out.push_back({pkl::op::SHORT_BINUNICODE, "Inner"});
        out.push_back({pkl::op::TUPLE2, {}});
        out.push_back({pkl::op::REDUCE, {}});
      }
      maybe_memoize();
      return;
    }
    case 9:  // INST / OBJ
      out.push_back({pkl::op::MARK, {}});
      if (chance(rng, 2)) {
        items(2);
        out.push_back({pkl::op::INST, std::string(valid ? pick_of(rng, kClasses) : pick_of(rng, kGlobals))});
      } else {
        out.push_back({pkl::op::GLOBAL, std::string(valid ? pick_of(rng, kClasses) : pick_of(rng, kGlobals))});
        items(2);
        out.push_back({pkl::op::OBJ, {}});
      }
      maybe_memoize();
      return;
    case 10: {  // a self-reference: a list holding itself, a tuple holding it
      uint32_t i = static_cast<uint32_t>(memo.size());
      out.push_back({pkl::op::EMPTY_LIST, {}});
      out.push_back(memo_put(rng, i));
      memo.push_back(i);
      out.push_back(memo_get(rng, i));
      if (chance(rng, 2)) out.push_back({pkl::op::TUPLE1, {}});
      out.push_back({pkl::op::APPEND, {}});
      return;
    }
    default: {  // a stack shuffle around a value
      value();
      out.push_back({pkl::op::DUP, {}});
      out.push_back({pkl::op::POP, {}});
      return;
    }
  }
}

// Net stack effect of ops (values pushed minus popped, marks balanced), or
// false when a MARK consumer in the run reaches below its start.
bool balanced_run(const Program& p, size_t from, size_t to) {
  int level = 0;  // open MARKs inside the run
  for (size_t i = from; i < to; ++i) {
    switch (p.ops[i].code) {
      case pkl::op::MARK: ++level; break;
      case pkl::op::TUPLE: case pkl::op::LIST: case pkl::op::DICT: case pkl::op::APPENDS:
      case pkl::op::SETITEMS: case pkl::op::ADDITEMS: case pkl::op::FROZENSET: case pkl::op::OBJ:
      case pkl::op::INST: case pkl::op::POP_MARK:
        if (--level < 0) return false;
        break;
      case pkl::op::STOP: return false;
      default: break;
    }
  }
  return level == 0;
}

// Wraps ops[i, j) (a run with balanced MARKs) into a container or a call.
void wrap(Rng& rng, Program& p, size_t i, size_t j, std::vector<uint32_t>& memo) {
  static const std::array<uint8_t, 8> closers = {pkl::op::LIST, pkl::op::TUPLE, pkl::op::DICT,
                                                 pkl::op::FROZENSET, pkl::op::POP_MARK, pkl::op::APPENDS,
                                                 pkl::op::SETITEMS, pkl::op::ADDITEMS};
  uint8_t closer = pick_of(rng, closers);
  std::vector<Op> before{{pkl::op::MARK, {}}};
  std::vector<Op> after{{closer, {}}};
  if (closer == pkl::op::APPENDS) before.insert(before.begin(), Op{pkl::op::EMPTY_LIST, {}});
  if (closer == pkl::op::SETITEMS) before.insert(before.begin(), Op{pkl::op::EMPTY_DICT, {}});
  if (closer == pkl::op::ADDITEMS) before.insert(before.begin(), Op{pkl::op::EMPTY_SET, {}});
  if (closer == pkl::op::TUPLE && chance(rng, 2)) {  // callable(*run)
    before.insert(before.begin(), Op{pkl::op::GLOBAL, std::string(pick_of(rng, kGlobals))});
    after.push_back({chance(rng, 4) ? pkl::op::NEWOBJ : pkl::op::REDUCE, {}});
  }
  if (chance(rng, 2)) {
    uint32_t m = static_cast<uint32_t>(memo.size() + 100);
    after.push_back(memo_put(rng, m));
  }
  p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(j), after.begin(), after.end());
  p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(i), before.begin(), before.end());
}

// Opcodes whose arguments have the same shape as `code`'s.
uint8_t same_shape(Rng& rng, uint8_t code) {
  const pkl::OpcodeInfo* info = pkl::opcode_info(code);
  std::vector<uint8_t> alike;
  for (const auto& o : pkl::kOpcodes)
    if (layout_of(o.arg) == layout_of(info->arg) && fixed_size(o.arg) == fixed_size(info->arg))
      alike.push_back(o.code);
  return alike[pick(rng, alike.size())];
}

// PROTO first, FRAME lengths right, STOP last: what a real pickle has.
void fix_structure(Rng& rng, Program& p) {
  if (p.ops.empty() || p.ops.front().code != pkl::op::PROTO) {
    uint8_t proto = 0;
    for (const auto& op : p.ops) proto = std::max(proto, pkl::opcode_info(op.code)->proto);
    if (proto >= 2 || chance(rng, 2)) p.ops.insert(p.ops.begin(), Op{pkl::op::PROTO, le(proto, 1)});
  }
  if (chance(rng, 2)) p.tail.clear();
  if (p.ops.empty() || p.ops.back().code != pkl::op::STOP) p.ops.push_back({pkl::op::STOP, {}});
  // Each FRAME spans up to the next FRAME (or the end of the opcodes).
  for (size_t i = 0; i < p.ops.size(); ++i) {
    if (p.ops[i].code != pkl::op::FRAME) continue;
    std::string body;
    for (size_t k = i + 1; k < p.ops.size() && p.ops[k].code != pkl::op::FRAME; ++k) append_op(body, p.ops[k]);
    p.ops[i].arg = le(body.size(), 8);
  }
}

bool pushes_scalar(uint8_t code) {
  return std::find(kScalarOps.begin(), kScalarOps.end(), code) != kScalarOps.end() ||
         code == pkl::op::BINGET || code == pkl::op::LONG_BINGET || code == pkl::op::GET;
}

// Puts the ops of one value `v` into the program without upsetting the
// stack: in place of a scalar, into the container just built (APPEND,
// SETITEM, ADDITEMS), or pushed and popped again.
void insert_value(Rng& rng, Program& p, size_t at, std::vector<Op> v, std::vector<uint32_t>& memo) {
  auto put = [&](size_t pos, std::vector<Op> ops) {
    p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(pos), ops.begin(), ops.end());
  };
  std::vector<size_t> scalars, containers;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    uint8_t c = p.ops[i].code;
    if (pushes_scalar(c)) scalars.push_back(i);
    if (c == pkl::op::EMPTY_LIST || c == pkl::op::LIST || c == pkl::op::EMPTY_DICT || c == pkl::op::DICT ||
        c == pkl::op::EMPTY_SET)
      containers.push_back(i);
  }
  switch (pick(rng, 3)) {
    case 0:
      if (!scalars.empty()) {
        size_t i = scalars[pick(rng, scalars.size())];
        p.ops.erase(p.ops.begin() + static_cast<std::ptrdiff_t>(i));
        put(i, std::move(v));
        return;
      }
      break;
    case 1:
      if (!containers.empty()) {
        size_t i = containers[pick(rng, containers.size())];
        uint8_t c = p.ops[i].code;
        size_t pos = i + 1;
        while (pos < p.ops.size() && (p.ops[pos].code == pkl::op::MEMOIZE || p.ops[pos].code == pkl::op::BINPUT ||
                                      p.ops[pos].code == pkl::op::LONG_BINPUT || p.ops[pos].code == pkl::op::PUT))
          ++pos;
        if (c == pkl::op::EMPTY_SET) {
          v.insert(v.begin(), Op{pkl::op::MARK, {}});
          v.push_back({pkl::op::ADDITEMS, {}});
        } else if (c == pkl::op::EMPTY_DICT || c == pkl::op::DICT) {
          std::vector<Op> key;
          gen_value(rng, key, memo, 0);  // a scalar key
          v.insert(v.begin(), key.begin(), key.end());
          v.push_back({pkl::op::SETITEM, {}});
        } else {
          v.push_back({pkl::op::APPEND, {}});
        }
        put(pos, std::move(v));
        return;
      }
      break;
    default:
      break;
  }
  v.push_back({pkl::op::POP, {}});
  put(at, std::move(v));
}

void mutate_program(Rng& rng, Program& p) {
  const size_t n = p.ops.size();
  const size_t at = pick(rng, n + 1);
  std::vector<uint32_t> memo = memo_before(p, at);
  // Weighted: the mutations that keep the pickle well formed come up more.
  static constexpr std::array<uint8_t, 18> kWeighted = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10};
  switch (pick_of(rng, kWeighted)) {
    case 0: {  // a whole value, where the stack stays as the pickle expects
      std::vector<Op> v;
      gen_value(rng, v, memo, 1 + static_cast<int>(pick(rng, 4)));
      insert_value(rng, p, at, std::move(v), memo);
      break;
    }
    case 1:  // insert one opcode
      p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(at), random_op(rng, memo));
      break;
    case 2:  // delete a run
      if (n) {
        size_t i = pick(rng, n), len = 1 + pick(rng, std::min<size_t>(4, n - i));
        p.ops.erase(p.ops.begin() + static_cast<std::ptrdiff_t>(i),
                    p.ops.begin() + static_cast<std::ptrdiff_t>(i + len));
      }
      break;
    case 3:  // copy a run elsewhere
      if (n) {
        size_t i = pick(rng, n), len = 1 + pick(rng, std::min<size_t>(8, n - i));
        std::vector<Op> run(p.ops.begin() + static_cast<std::ptrdiff_t>(i),
                            p.ops.begin() + static_cast<std::ptrdiff_t>(i + len));
        p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
      }
      break;
    case 4:  // swap two opcodes
      if (n >= 2) std::swap(p.ops[pick(rng, n)], p.ops[pick(rng, n)]);
      break;
    case 5:  // another opcode with the same argument shape
      if (n) {
        Op& op = p.ops[pick(rng, n)];
        op.code = same_shape(rng, op.code);
      }
      break;
    case 6:  // a new argument
      if (n) {
        size_t i = pick(rng, n);
        p.ops[i].arg = random_arg(rng, p.ops[i].code, memo_before(p, i), chance(rng, 2));
      }
      break;
    case 7:  // mutate an argument's bytes with libFuzzer, lengths kept right
      if (n) {
        Op& op = p.ops[pick(rng, n)];
        std::string buf = op.arg;
        size_t len = buf.size();
        buf.resize(len + 16);
        len = LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(buf.data()), len, buf.size());
        buf.resize(len);
        op.arg = buf;
      }
      break;
    case 8: {  // wrap a balanced run in MARK ... closer
      if (!n) break;
      size_t i = pick(rng, n), j = i + pick(rng, std::min<size_t>(12, n - i) + 1);
      if (balanced_run(p, i, j)) wrap(rng, p, i, j, memo);
      break;
    }
    case 9:  // refer to an existing memo entry, or memoize the value just built
      if (!memo.empty() && chance(rng, 2))
        p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(at), memo_get(rng, memo[pick(rng, memo.size())]));
      else
        p.ops.insert(p.ops.begin() + static_cast<std::ptrdiff_t>(at),
                     chance(rng, 2) ? Op{pkl::op::MEMOIZE, {}} : memo_put(rng, static_cast<uint32_t>(memo.size())));
      break;
    default:  // frame it: PROTO 4 + FRAME
      if (n && p.ops[0].code == pkl::op::PROTO && p.ops[0].arg.size() == 1 && static_cast<uint8_t>(p.ops[0].arg[0]) >= 4)
        p.ops.insert(p.ops.begin() + 1, Op{pkl::op::FRAME, le(0, 8)});
      break;
  }
}

// ===================================================================
// Graph mode: the harness's one graph generator (harness/graph_gen.hpp,
// also the property tests'), its choices read from the input
// ===================================================================

// A FuzzedDataProvider as the generator's source of choices (an exhausted
// one answers the low end of every range: no more nodes, no motif).
class FdpChoices final : public pklharness::Choices {
 public:
  explicit FdpChoices(FuzzedDataProvider& fdp) : fdp_(fdp) {}
  int64_t range(int64_t lo, int64_t hi) override { return fdp_.ConsumeIntegralInRange<int64_t>(lo, hi); }
  int64_t any_int64() override { return fdp_.ConsumeIntegral<int64_t>(); }
  uint64_t any_bits() override { return fdp_.ConsumeIntegral<uint64_t>(); }

 private:
  FuzzedDataProvider& fdp_;
};

void graph_mode(const uint8_t* data, size_t size) {
  const pklfuzz::Bytes input(data, size);
  FuzzedDataProvider fdp(data, size);
  FdpChoices choices(fdp);
  pklharness::GenOptions options;
  options.wide = true;        // every global and code point: the codec alone judges
  options.very_deep = false;  // check_recode decodes with the default max_depth
  options.size = 300;         // up to 32 nodes before the motifs
  options.refs = 256;         // one input byte per reference
  options.heavy = 10;         // a tenth of the 1000-item, 64 KiB, 4300-digit and 900-deep parts: execs/s
  const pklharness::GDoc doc = pklharness::materialize(pklharness::generate(choices, options));
  pkl::Graph g;
  try {
    g = pklharness::to_graph(doc);
  } catch (const std::exception& e) {
    pklfuzz::fail("fuzz_structured: the generator made a graph no Python could build",
                  {{"error", e.what()}, {"graph", pklharness::to_json(doc)}, {"input", pklfuzz::hex(input)}});
  }
  if (!pklharness::has_registered(doc)) {
    pklfuzz::check_recode(g, input, "fuzz_structured (graph mode)", {});
    return;
  }
  // Registered instances: written through their classes' hooks at one
  // protocol, read back inert (the property tests compare them with the
  // hooks' records); the recode checks then hold of what was read.
  pkl::EncodeOptions eo;
  eo.protocol = choices.pick(0, pkl::kHighestProtocol);
  eo.registry = &pklharness::registry();
  std::string bytes;
  try {
    bytes = pkl::encode(g, g.root(), eo);
  } catch (const pkl::Error& e) {
    // What pickle cannot write, an int past 4300 digits at protocols 0-1,
    // the encoder's budget.
    if (e.code() == pkl::ErrorCode::Unpicklable || e.code() == pkl::ErrorCode::ValueError ||
        e.code() == pkl::ErrorCode::ResourceLimit)
      return;
    pklfuzz::fail("fuzz_structured (graph mode): encoding registered instances raised",
                  {{"error", pklfuzz::describe(e)}, {"protocol", std::to_string(eo.protocol)},
                   {"input", pklfuzz::hex(input)}});
  }
  const pklfuzz::Decoded back = pklfuzz::try_decode(bytes, pklfuzz::roomy_options());
  if (!back.ok())
    pklfuzz::fail("fuzz_structured (graph mode): the encoder wrote registered instances its decoder rejects",
                  {{"protocol", std::to_string(eo.protocol)}, {"decoding it", pklfuzz::describe(back)},
                   {"encoded", pklfuzz::hex(bytes)}, {"input", pklfuzz::hex(input)}});
  pklfuzz::check_recode(*back.graph, input, "fuzz_structured (graph mode, registered)", {});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pklfuzz;
  if (size > 0 && data[0] == kGraphMode) {
    graph_mode(data + 1, size - 1);
    return 0;
  }
  static const pkl::DecodeOptions strict = strict_options();
  const Bytes input(data, size);
  Decoded d = try_decode(input, strict);
  if (d.ok()) check_recode(*d.graph, input, "fuzz_structured", {});
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng rng(seed);
  if (size > 0 && data[0] == kGraphMode) {
    // Graph mode: unstructured bytes for the FuzzedDataProvider.
    return size > 1 ? 1 + LLVMFuzzerMutate(data + 1, size - 1, max_size - 1) : size;
  }
  if (chance(rng, 8)) return LLVMFuzzerMutate(data, size, max_size);
  Program p = parse(data, size);
  const std::string before = std::string(reinterpret_cast<const char*>(data), size);
  for (size_t k = 1 + pick(rng, 3); k > 0; --k) mutate_program(rng, p);
  if (chance(rng, 3)) fix_structure(rng, p);
  std::string out = serialize(p);
  if (out.size() > max_size || out == before) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2,
                                            size_t size2, uint8_t* out, size_t max_out_size,
                                            unsigned int seed) {
  Rng rng(seed);
  Program a = parse(data1, size1), b = parse(data2, size2);
  // A prefix of one pickle's opcodes, then a suffix of the other's.
  Program c;
  size_t i = pick(rng, a.ops.size() + 1), j = pick(rng, b.ops.size() + 1);
  c.ops.assign(a.ops.begin(), a.ops.begin() + static_cast<std::ptrdiff_t>(i));
  c.ops.insert(c.ops.end(), b.ops.begin() + static_cast<std::ptrdiff_t>(j), b.ops.end());
  c.tail = b.tail;
  std::string s = serialize(c);
  if (s.size() > max_out_size) s.resize(max_out_size);
  std::memcpy(out, s.data(), s.size());
  return s.size();
}
