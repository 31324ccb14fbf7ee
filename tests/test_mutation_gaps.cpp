// Gaps that mutation testing (ci/mutate) found: each test here fails on a
// mutant of codec/ that the rest of the suite let through, and passes on
// the real code. Expected results are CPython 3.11's where it has one (the
// bytes and messages quoted were printed by it).
#include <gtest/gtest.h>

#include <any>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/memory.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/typed.hpp"
#include "text/python_text.hpp"

namespace {

using namespace pkl;
using namespace std::string_literals;

struct Caught {
  ErrorCode code = ErrorCode::Usage;
  std::string message = "(no error)";
  int64_t offset = Error::kNoOffset;
  int opcode = Error::kNoOpcode;
};

template <class F>
Caught caught(F f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.message(), e.offset(), e.opcode()};
  }
  return {};
}

// ---- a short str whose only byte past ASCII is 0x80, at the input's end ----
// The decoder checks a str of under 4 bytes with no 16 bytes readable after
// it byte by byte (Machine::ascii); 0x80 is the smallest byte that is not
// ASCII, so `c < 0x80` moved to `c <= 0x80` accepted it.

TEST(MutationGaps, ShortStrEndingInByte0x80AtTheInputsEndIsRejected) {
  struct Case {
    std::string pickle;
    std::string message;  // CPython: pickle.loads(pickle) raises UnicodeDecodeError(message)
  };
  const std::vector<Case> cases = {
      {"\x80\x04\x8c\x01\x80."s, "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte"},
      {"\x80\x04\x8c\x02" "a\x80."s, "'utf-8' codec can't decode byte 0x80 in position 1: invalid start byte"},
      {"\x80\x04\x8c\x03" "ab\x80."s, "'utf-8' codec can't decode byte 0x80 in position 2: invalid start byte"},
      {"\x80\x04\x8c\x02\x80" "a."s, "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte"},
      {"\x80\x04\x8c\x03\xc3\xa9\x80."s, "'utf-8' codec can't decode byte 0x80 in position 2: invalid start byte"},
  };
  for (const Case& c : cases) {
    const Caught e = caught([&] { decode(c.pickle); });
    EXPECT_EQ(error_code_name(e.code), std::string(error_code_name(ErrorCode::BadArgument))) << e.message;
    EXPECT_EQ(e.message, c.message);
    EXPECT_EQ(e.offset, 2);
    EXPECT_EQ(e.opcode, op::SHORT_BINUNICODE);
  }
  // Every length 1..3 with a single 0x80, anywhere in it: rejected; the same
  // bytes with 0x7f decode to that str.
  for (size_t len = 1; len <= 3; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string body(len, 'a');
      body[at] = '\x80';
      const std::string p = "\x80\x04\x8c"s + static_cast<char>(len) + body + ".";
      EXPECT_EQ(caught([&] { decode(p); }).message,
                "'utf-8' codec can't decode byte 0x80 in position " + std::to_string(at) + ": invalid start byte")
          << len << " " << at;
      body[at] = '\x7f';
      const Graph g = decode("\x80\x04\x8c"s + static_cast<char>(len) + body + ".");
      EXPECT_EQ(g.as_str(g.root()), body);
    }
  }
}

// ---- a registered class whose reduce gives a fourth item that is not an iterator ----
// CPython 3.11: pickle.dumps(obj) with obj.__reduce__() == (C, (1,), None, v)
// raises _pickle.PicklingError("fourth element of the tuple returned by
// __reduce__ must be an iterator, not <type(v).__name__>") at every protocol.

TEST(MutationGaps, RegisteredReduceWithANonIterableFourthItemIsRefused) {
  struct Case {
    std::string type;
    std::function<NodeId(Graph&)> make;
  };
  const std::vector<Case> cases = {
      {"int", [](Graph& g) { return g.integer(5); }},
      {"str", [](Graph& g) { return g.str("ab"); }},
      {"float", [](Graph& g) { return g.floating(1.5); }},
      {"bytes", [](Graph& g) { return g.bytes("x"); }},
      {"tuple", [](Graph& g) {
         const std::vector<NodeId> items = {g.integer(1), g.integer(2)};
         return g.tuple(items);
       }},
      {"dict", [](Graph& g) {
         const NodeId d = g.dict();
         g.dict_set(d, g.integer(1), g.integer(2));
         return d;
       }},
  };
  for (const Case& c : cases) {
    ClassRegistry reg;
    ClassHooks h;
    h.module = "m";
    h.qualname = "C";
    h.reduce = [&c](const std::any&, Graph& g) {
      const NodeId cls = g.global("m", "C");
      const std::vector<NodeId> args = {g.integer(1)};
      const std::vector<NodeId> items = {cls, g.tuple(args), g.none(), c.make(g)};
      return g.tuple(items);
    };
    const int ci = reg.add(h);
    for (int p = 0; p <= 5; ++p) {
      Graph g;
      const NodeId n = reg.instance(g, ci, 0);
      EncodeOptions o;
      o.protocol = p;
      o.registry = &reg;
      const Caught e = caught([&] { encode(g, n, o); });
      EXPECT_EQ(error_code_name(e.code), std::string(error_code_name(ErrorCode::Unpicklable))) << e.message;
      EXPECT_EQ(e.message, "fourth element of the tuple returned by __reduce__ must be an iterator, not " + c.type)
          << "protocol " << p;
    }
  }
}

// ---- a nested persistent id at protocol 0 ----
// Protocol 0 writes `P<str(pid)>\n`; str() of a tuple holding a tuple
// writes the inner one in full. CPython 3.11 (a Pickler whose
// persistent_id returns the pid for the list's one item):
//   pickle protocol 0 of [X] -> b'(lp0\nP' + str(pid) + b'\na.'

TEST(MutationGaps, NestedPersistentIdAtProtocol0IsWrittenAsCPythonWritesIt) {
  struct Case {
    std::function<NodeId(Graph&)> pid;
    std::string text;  // str(pid)
  };
  auto tuple = [](Graph& g, std::vector<NodeId> items) { return g.tuple(items); };
  auto list = [](Graph& g, std::vector<NodeId> items) { return g.list(items); };
  const std::vector<Case> cases = {
      {[&](Graph& g) { return tuple(g, {g.integer(1), tuple(g, {g.integer(2), g.integer(3)})}); }, "(1, (2, 3))"},
      {[&](Graph& g) { return list(g, {g.integer(1), list(g, {g.integer(2)})}); }, "[1, [2]]"},
      {[&](Graph& g) { return tuple(g, {g.integer(1)}); }, "(1,)"},
      {[&](Graph& g) { return tuple(g, {g.str("a"), tuple(g, {g.bytes("x"), g.none()})}); }, "('a', (b'x', None))"},
      {[&](Graph& g) { return tuple(g, {tuple(g, {tuple(g, {})}), list(g, {})}); }, "(((),), [])"},
      {[&](Graph& g) { return tuple(g, {g.bytearray("x"), g.bytes("y")}); }, "(bytearray(b'x'), b'y')"},
  };
  for (const Case& c : cases) {
    Graph g;
    const NodeId root = g.list(std::vector<NodeId>{g.persid(c.pid(g))});
    EXPECT_EQ(encode(g, root, {.protocol = 0}), "(lp0\nP" + c.text + "\na.");
  }
}

// A dict as a persistent id is refused at protocol 0 (encode.hpp: only
// scalars, globals and tuples / lists of them; CPython writes str() of any
// pid, b'(lp0\nP{1: 2}\na.' here); its items must never be written as a
// tuple's or a list's.
TEST(MutationGaps, DictPersistentIdAtProtocol0IsRefused) {
  Graph g;
  const NodeId d = g.dict();
  g.dict_set(d, g.integer(1), g.integer(2));
  const NodeId root = g.list(std::vector<NodeId>{g.persid(d)});
  const Caught e = caught([&] { encode(g, root, {.protocol = 0}); });
  EXPECT_EQ(error_code_name(e.code), std::string(error_code_name(ErrorCode::Unpicklable)));
  EXPECT_EQ(e.message, "cannot write a persistent id of type 'dict' at protocol 0");
  // protocol 1 and up write the pid itself
  EXPECT_EQ(encode(g, root, {.protocol = 2}), "\x80\x02]q\x00}q\x01K\x01K\x02sQa."s);
}

// ---- bytes() of a list holding bools ----
// A bool is an int to bytes() and bytearray(): CPython 3.11's
// pickle.loads of these REDUCEs gives b'\x01\x00\x05' and
// bytearray(b'\x01\x00'). A mutant that let a bool fall through to the int
// check refused it ("'bool' object cannot be interpreted as an integer").

TEST(MutationGaps, BytesOfAListOfBoolsTakesThemAsInts) {
  const Graph b = decode("\x80\x04\x8c\x08" "builtins\x8c\x05" "bytes\x93](\x88\x89K\x05" "e\x85R."s);
  EXPECT_EQ(b.kind(b.root()), Kind::Bytes);
  EXPECT_EQ(b.as_bytes(b.root()), "\x01\x00\x05"s);
  const Graph ba = decode("\x80\x04\x8c\x08" "builtins\x8c\t" "bytearray\x93](\x88\x89" "e\x85R."s);
  EXPECT_EQ(ba.kind(ba.root()), Kind::ByteArray);
  EXPECT_EQ(ba.as_bytes(ba.root()), "\x01\x00"s);
}

// ---- bytes() and bytearray() of a bytearray ----
// The decoder evaluates bytes(x) and bytearray(x) for a bytearray x by
// copying its bytes; a mutant that dropped the copy (an empty result) went
// unnoticed (ci/mutate m8e781c26ac). CPython 3.11: pickle.loads of these
// gives b'xy' and bytearray(b'xy').
TEST(MutationGaps, BytesOfABytearrayCopiesItsBytes) {
  const std::string inner = "cbuiltins\nbytearray\nC\x02xy\x85R\x85R."s;
  const Graph b = decode("\x80\x03" "cbuiltins\nbytes\n"s + inner);
  EXPECT_EQ(b.kind(b.root()), Kind::Bytes);
  EXPECT_EQ(b.as_bytes(b.root()), "xy");
  const Graph ba = decode("\x80\x03" "cbuiltins\nbytearray\n"s + inner);
  EXPECT_EQ(ba.kind(ba.root()), Kind::ByteArray);
  EXPECT_EQ(ba.as_bytes(ba.root()), "xy");
}

// ---- the scalar UTF-8 validator's four-byte sequences ----
// text::utf8_valid_scalar is what the decoder has without SSSE3; a mutant reading a four-byte sequence's second byte from before
// it went unnoticed. Expected: whether CPython's bytes.decode('utf-8')
// accepts each input.

TEST(MutationGaps, ScalarUtf8ValidatorChecksFourByteSequences) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"a\xf0\x9f\x98\x80"s, true},           {"\xf0\x9f\x98\x80z"s, true},
      {"ab\xf4\x8f\xbf\xbf"s, true},          {"\xe2\x82\xac\xf0\x90\x80\x80"s, true},
      {"a\xf0\x8f\xbf\xbf"s, false},          {"a\xf4\x90\x80\x80"s, false},
      {"a\xf0\x9f\x98"s, false},               {"a\xf0\x9fx\x80"s, false},
  };
  for (const auto& [data, valid] : cases) {
    EXPECT_EQ(text::utf8_valid_scalar(data, false), valid) << testing::PrintToString(data);
    EXPECT_EQ(text::utf8_valid_scalar(data, true), valid) << testing::PrintToString(data);
    EXPECT_EQ(detail::utf8_valid(data, false), valid) << testing::PrintToString(data);
  }
}

// ---- copy_subgraph keeps each kind ----
// Its fill step handles a set and then a frozenset in adjacent cases: a set
// that fell through became a frozenset of its members.

TEST(MutationGaps, CopySubgraphKeepsSetsAndFrozensetsApart) {
  Graph src;
  const NodeId set = src.set();
  src.set_add(set, src.integer(1));
  src.set_add(set, src.str("a"));
  const NodeId empty = src.set();
  const NodeId frozen = src.frozenset(std::vector<NodeId>{src.integer(2)});
  const NodeId root = src.list(std::vector<NodeId>{set, frozen, set, empty});
  Graph dst;
  const NodeId copy = copy_subgraph(dst, src, root);
  const auto items = dst.items(copy);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(dst.kind(items[0]), Kind::Set);
  EXPECT_EQ(dst.kind(items[1]), Kind::FrozenSet);
  EXPECT_EQ(items[2], items[0]);  // shared, as in the source
  EXPECT_EQ(dst.kind(items[3]), Kind::Set);
  EXPECT_EQ(dst.length(items[0]), 2u);
  EXPECT_TRUE(isomorphic(src, root, dst, copy));
  // and the copy pickles byte for byte as its source
  EXPECT_EQ(encode(dst, copy, {.protocol = 4}), encode(src, root, {.protocol = 4}));
}

// ---- memory given back after each decode ----
// A list's items beyond kPageMin bytes live in a page block, and the
// arena's large chunks are page blocks too; both go back to the block cache
// (or to the system) with the graph. A mutant that dropped either free grew
// resident memory by the block's size at every decode of a loop. Measured as
// memory (resident pages), never time.

#if defined(__linux__)
size_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * 4096 : 0;
}

// Protocol 4: one list of `n` distinct 12-character strs (APPENDS once):
// the list's items take a page block (4 bytes an item), the strs' records
// the arena's chunks.
std::string list_of_strs(size_t n) {
  std::string p = "\x80\x04](";
  for (size_t i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "s%011zu", i);
    p += "\x8c\x0c";
    p.append(buf, 12);
  }
  return p + "e.";
}

// Resident memory over `decodes` decodes of `p`, after two to warm up (the
// block cache then holds the blocks of one graph).
size_t growth_over_decodes(const std::string& p, size_t n, int decodes) {
  for (int i = 0; i < 2; ++i) {
    const Graph g = decode(p);
    EXPECT_EQ(g.length(g.root()), n);
  }
  const size_t before = resident_bytes();
  EXPECT_GT(before, 0u);
  for (int i = 0; i < decodes; ++i) {
    const Graph g = decode(p);
    EXPECT_EQ(g.length(g.root()), n);
  }
  const size_t after = resident_bytes();
  return after > before ? after - before : 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define PKL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PKL_TEST_ASAN 1
#endif
#endif

TEST(MutationGaps, DecodeInALoopGivesItsMemoryBack) {
#ifdef PKL_TEST_ASAN
  GTEST_SKIP() << "AddressSanitizer keeps freed memory in its quarantine: resident memory is not the codec's";
#endif
  const size_t n = 256 * 1024;  // items: 1 MiB of NodeIds; strs: several MiB of records
  const std::string p = list_of_strs(n);
  const size_t old = set_block_cache_limit(0);
  release_block_cache();
  // Without the cache every block is unmapped when its graph goes: resident
  // memory stays where it was (a leak of the list's block alone is 1 MiB a
  // decode, 24 MiB here).
  EXPECT_LT(growth_over_decodes(p, n, 24), size_t{2} << 20);
  // With a cache of 16 MiB, a loop of the same decode reuses what it holds:
  // resident memory stays within the cache's room.
  set_block_cache_limit(size_t{16} << 20);
  EXPECT_LT(growth_over_decodes(p, n, 40), size_t{8} << 20);
  EXPECT_LE(block_cache_bytes(), size_t{16} << 20);
  set_block_cache_limit(old);
  release_block_cache();
}
#endif

}  // namespace
