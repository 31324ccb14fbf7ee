// The encoder's API and the rules the CPython fixtures (test_encode_fixtures)
// cannot show: graphs deeper than CPython can pickle, sinks and streams,
// nothing written on error, refusals (unpicklable, unhashable, endless
// reduction), hooks, and decode(encode(g)) round trips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/memory.hpp"
#include "picklecodec/opcodes.hpp"
#include "test_encode_util.hpp"

namespace {

using pkl::ErrorCode;
using pkl::NodeId;

pkl::EncodeOptions proto(int p) {
  pkl::EncodeOptions o;
  o.protocol = p;
  return o;
}

ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const pkl::Error& e) {
    if (message) *message = e.message();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::Usage;
}

// A list nested `depth` deep: [[[...[]...]]].
NodeId deep_list(pkl::Graph& g, size_t depth) {
  NodeId inner = g.list();
  for (size_t i = 1; i < depth; ++i) {
    NodeId outer = g.list();
    g.list_append(outer, inner);
    inner = outer;
  }
  return inner;
}

// ---- depth --------------------------------------------------------------------

TEST(Encode, MillionDeepListProtocol2IsExact) {
  constexpr size_t kDepth = 1'000'000;
  pkl::Graph g;
  const NodeId root = deep_list(g, kDepth);
  const std::string out = pkl::encode(g, root, proto(2));
  // What save_list writes, unrolled: PROTO 2, then per list EMPTY_LIST and
  // its memo PUT, then one APPEND per non-empty list, STOP.
  std::string want = "\x80\x02";
  for (size_t i = 0; i < kDepth; ++i) {
    want += ']';
    if (i < 256) {
      want += 'q';
      want += static_cast<char>(i);
    } else {
      want += 'r';
      for (int b = 0; b < 4; ++b) want += static_cast<char>((i >> (8 * b)) & 0xff);
    }
  }
  want.append(kDepth - 1, 'a');
  want += '.';
  EXPECT_EQ(out.size(), want.size());
  EXPECT_TRUE(out == want);
}

// Removes the FRAME headers of a protocol 4+ pickle, checking each frame but
// the last is at least 64 KiB (frames end at the first opcode boundary past
// the target).
std::string unframe(const std::string& p, int* frames) {
  std::string out = p.substr(0, 2);
  size_t i = 2;
  *frames = 0;
  while (i < p.size()) {
    EXPECT_EQ(static_cast<uint8_t>(p[i]), pkl::op::FRAME) << "at " << i;
    uint64_t len = 0;
    for (int b = 0; b < 8; ++b) len |= static_cast<uint64_t>(static_cast<uint8_t>(p[i + 1 + b])) << (8 * b);
    i += 9;
    if (i + len < p.size()) {
      EXPECT_GE(len, 64u * 1024);
    }
    out.append(p, i, len);
    i += len;
    ++*frames;
  }
  return out;
}

TEST(Encode, MillionDeepListProtocol4Frames) {
  constexpr size_t kDepth = 1'000'000;
  pkl::Graph g;
  const NodeId root = deep_list(g, kDepth);
  const std::string out = pkl::encode(g, root, proto(4));
  int frames = 0;
  const std::string flat = unframe(out, &frames);
  std::string want = "\x80\x04";
  for (size_t i = 0; i < kDepth; ++i) want += "]\x94";
  want.append(kDepth - 1, 'a');
  want += '.';
  EXPECT_TRUE(flat == want);
  // Frames end only where a save() starts: the million APPENDs that close the
  // lists come after the last save() and share the last frame.
  EXPECT_EQ(frames, 31);
}

TEST(Encode, DeepTuplesAndDictsDoNotRecurse) {
  pkl::Graph g;
  NodeId t = g.tuple({});
  for (int i = 0; i < 300'000; ++i) {
    const NodeId items[] = {t};
    t = g.tuple(items);
  }
  NodeId d = g.dict();
  for (int i = 0; i < 300'000; ++i) {
    NodeId outer = g.dict();
    g.dict_set(outer, g.str("k"), d);
    d = outer;
  }
  const NodeId both[] = {t, d};
  const NodeId root = g.list(both);
  for (int p = 0; p <= 5; ++p) EXPECT_GT(pkl::encode(g, root, proto(p)).size(), 600'000u);
}

// ---- round trips -------------------------------------------------------------------

TEST(Encode, RoundTripsThroughTheDecoder) {
  pkl::Graph g;
  const NodeId l = g.list();
  const NodeId s = g.str("shared");
  const NodeId t = g.tuple(std::vector<NodeId>{l, s, g.integer(-5)});
  g.list_append(l, t);  // a cycle through a tuple
  g.list_append(l, s);
  g.list_append(l, g.bytes("bytes"));
  g.list_append(l, g.bytearray("ba"));
  const NodeId st = g.set();
  g.set_add(st, g.integer(1));
  g.set_add(st, g.str("x"));
  g.list_append(l, st);
  const NodeId key = g.tuple(std::vector<NodeId>{s, g.integer(2)});
  g.list_append(l, g.frozenset(std::vector<NodeId>{g.integer(2), key}));
  const NodeId d = g.dict();
  g.dict_set(d, key, l);
  g.dict_set(d, g.floating(-0.0), g.none());
  g.list_append(l, d);
  g.list_append(l, g.integer_decimal("-123456789012345678901234567890"));
  const NodeId obj = g.object(g.global("mod", "Cls"), g.tuple(std::vector<NodeId>{g.integer(1)}));
  g.object_data(obj).state = d;
  g.object_data(obj).listitems = {s};
  g.list_append(l, obj);
  g.list_append(l, g.global("mod", "Outer.Inner"));
  for (int p = 0; p <= 5; ++p) {
    const std::string bytes = pkl::encode(g, l, proto(p));
    pkl::Graph back = pkl::decode(bytes);
    EXPECT_TRUE(pkl::isomorphic(g, l, back, back.root())) << "protocol " << p;
    // A recode of the decoded graph is a fixed point.
    EXPECT_EQ(pkl::encode(back, back.root(), proto(p)), bytes) << "protocol " << p;
  }
}

// Below protocol 3 bytes are _codecs.encode(<latin-1 str>, 'latin1') and a
// bytearray is bytearray(<those bytes>): large, every byte value, the str is
// widened into the encoder's store, where the bytearray's bytes also live.
TEST(Encode, LargeBytesAndBytearrayBelowProtocol3RoundTrip) {
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7) & 0xFF);
  pkl::Graph g;
  const NodeId l = g.list();
  for (int k = 0; k < 4; ++k) {
    g.list_append(l, g.bytes(data.substr(k)));
    g.list_append(l, g.bytearray(data.substr(0, data.size() - k)));
  }
  for (int p = 0; p <= 3; ++p) {
    const std::string bytes = pkl::encode(g, l, proto(p));
    pkl::Graph back = pkl::decode(bytes);
    EXPECT_TRUE(pkl::isomorphic(g, l, back, back.root())) << "protocol " << p;
    EXPECT_EQ(pkl::encode(back, back.root(), proto(p)), bytes) << "protocol " << p;
  }
}

TEST(Encode, DefaultsAndProtocolRange) {
  pkl::Graph g;
  g.set_root(g.integer(1));
  EXPECT_EQ(pkl::encode(g, g.root()), std::string("\x80\x04K\x01.", 5));  // pickle.DEFAULT_PROTOCOL, no frame under 4 bytes
  EXPECT_EQ(pkl::encode(g, g.root(), proto(-1)), std::string("\x80\x05K\x01.", 5));
  EXPECT_EQ(code_of([&] { pkl::encode(g, g.root(), proto(6)); }), ErrorCode::Usage);
  EXPECT_EQ(code_of([&] { pkl::encode(g, NodeId{12345}, proto(2)); }), ErrorCode::Usage);
  pkl::Graph empty;
  EXPECT_EQ(code_of([&] { pkl::encode(empty, empty.root()); }), ErrorCode::Usage);  // no root
  const pkl::Graph& cg = g;
  EXPECT_EQ(pkl::encode(cg, cg.root(), {.protocol = 0}), "I1\n.");
}

// ---- sinks ---------------------------------------------------------------------

class CountingSink : public pkl::Sink {
 public:
  void write(const char* data, size_t size) override {
    data_.append(data, size);
    ++writes_;
  }
  void flush() override { ++flushes_; }
  std::string data_;
  int writes_ = 0;
  int flushes_ = 0;
};

TEST(Encode, EncoderWritesEachPickleWholeAndFlushes) {
  pkl::Graph g;
  const NodeId a = g.list(std::vector<NodeId>{g.integer(1)});
  const NodeId b = g.str("two");
  CountingSink sink;
  pkl::Encoder enc(sink, proto(2));
  enc.dump(g, a);
  EXPECT_EQ(sink.writes_, 1);
  EXPECT_EQ(sink.flushes_, 1);
  enc.dump(g, b);
  EXPECT_EQ(sink.writes_, 2);
  EXPECT_EQ(sink.flushes_, 2);
  EXPECT_EQ(enc.count(), 2u);
  EXPECT_EQ(sink.data_, pkl::encode(g, a, proto(2)) + pkl::encode(g, b, proto(2)));
  // Each dump has its own memo, as repeated pickle.dump calls.
  const auto all = pkl::decode_all(sink.data_);
  ASSERT_EQ(all.size(), 2u);
}

TEST(Encode, NothingReachesTheSinkOnError) {
  pkl::Graph g;
  const NodeId l = g.list(std::vector<NodeId>{g.integer(1), g.buffer(0, true, "data")});
  CountingSink sink;
  pkl::Encoder enc(sink, proto(4));
  std::string message;
  EXPECT_EQ(code_of([&] { enc.dump(g, l); }, &message), ErrorCode::Unpicklable);
  EXPECT_EQ(message, "PickleBuffer can only pickled with protocol >= 5");
  EXPECT_EQ(sink.writes_, 0);
  EXPECT_EQ(sink.flushes_, 0);
  EXPECT_EQ(enc.count(), 0u);
}

// A sink takes a graph's large bytes and strs from where they are (a view
// into the caller's memory, the graph's own payloads), between the pieces of
// the buffer: the same bytes as encode() at every protocol, frames included,
// and still nothing written when the dump fails after a large payload.
TEST(Encode, LargePayloadsReachTheSinkFromTheGraph) {
  pkl::Graph g;
  const std::string viewed(70000, 'v');
  std::string euro;
  for (int i = 0; i < 30000; ++i) euro += "\xe2\x82\xac";  // not latin-1: stored as UTF-8
  std::vector<NodeId> items;
  for (int i = 0; i < 3; ++i) {
    items.push_back(g.str("small"));
    items.push_back(g.bytes(std::string(100000 + i, static_cast<char>('a' + i))));
    items.push_back(g.integer(i));
    items.push_back(g.bytes_view(viewed));
    items.push_back(g.str(euro));
    items.push_back(g.bytearray(std::string(80000, 'z')));
    items.push_back(g.bytes(std::string(65535, 'w')));  // just under the size left in place
    items.push_back(g.bytes(std::string(65536, 'x')));
  }
  items.push_back(items[1]);  // a memo reference to a payload left in place
  const NodeId root = g.list(items);
  for (int p = 0; p <= pkl::kHighestProtocol; ++p) {
    CountingSink sink;
    pkl::Encoder enc(sink, proto(p));
    enc.dump(g, root);
    enc.dump(g, root);
    const std::string want = pkl::encode(g, root, proto(p));
    EXPECT_EQ(sink.data_, want + want) << "protocol " << p;
    EXPECT_EQ(sink.flushes_, 2);
    if (p >= 3) {
      EXPECT_GT(sink.writes_, 2) << "protocol " << p;
    }
  }
  const NodeId bad = g.list(std::vector<NodeId>{items[1], items[4], g.buffer(0, true, "data")});
  CountingSink sink;
  pkl::Encoder enc(sink, proto(4));
  EXPECT_EQ(code_of([&] { enc.dump(g, bad); }), ErrorCode::Unpicklable);
  EXPECT_EQ(sink.writes_, 0);
  EXPECT_EQ(sink.flushes_, 0);
}

TEST(Encode, StringStreamAndFdSinks) {
  pkl::Graph g;
  g.set_root(g.str("hello"));
  const std::string want = pkl::encode(g, g.root(), proto(3));

  std::string s = "prefix";
  pkl::StringSink ss(s);
  pkl::encode_to(ss, g, g.root(), proto(3));
  EXPECT_EQ(s, "prefix" + want);

  std::ostringstream os;
  pkl::StreamSink oss(os);
  pkl::encode_to(oss, g, g.root(), proto(3));
  EXPECT_EQ(os.str(), want);

  // A pipe: the reader has each pickle as soon as dump() returns.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pkl::FdSink fs(fds[1]);
  pkl::Encoder enc(fs, proto(3));
  enc.dump(g, g.root());
  pkl::FdSource src(fds[0]);
  pkl::Decoder dec(src);
  auto first = dec.next();  // would block if the pickle were held back
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->as_str(first->root()), "hello");
  enc.dump(g, g.root());
  ::close(fds[1]);
  EXPECT_TRUE(dec.next().has_value());
  EXPECT_FALSE(dec.next().has_value());
  ::close(fds[0]);

  pkl::FdSink bad(-1);
  EXPECT_EQ(code_of([&] { pkl::encode_to(bad, g, g.root()); }), ErrorCode::Io);
}

// ---- refusals ------------------------------------------------------------------------

TEST(Encode, UnhashableMembersAndKeysAreRefused) {
  pkl::Graph g;
  // A tuple made unhashable after it became a set member / dict key.
  const NodeId t = g.tuple(std::vector<NodeId>{g.integer(1)});
  const NodeId s = g.set();
  g.set_add(s, t);
  const NodeId d = g.dict();
  g.dict_set(d, t, g.none());
  g.tuple_assign(t, std::vector<NodeId>{g.list()});
  for (int p = 0; p <= 5; ++p) {
    std::string m1, m2;
    EXPECT_EQ(code_of([&] { pkl::encode(g, s, proto(p)); }, &m1), ErrorCode::TypeError);
    EXPECT_EQ(m1, "unhashable type: 'list'");
    EXPECT_EQ(code_of([&] { pkl::encode(g, d, proto(p)); }, &m2), ErrorCode::TypeError);
    EXPECT_EQ(m2, "unhashable type: 'list'");
  }
}

TEST(Encode, EndlessReductionIsRefusedNotLooped) {
  // A tuple holding itself (only the Graph API can make one): CPython would
  // recurse until RecursionError.
  pkl::Graph g;
  const NodeId t = g.tuple(std::vector<NodeId>{g.integer(1)});
  g.tuple_assign(t, std::vector<NodeId>{g.str("x"), t});
  for (int p = 0; p <= 5; ++p) {
    std::string m;
    EXPECT_EQ(code_of([&] { pkl::encode(g, t, proto(p)); }, &m), ErrorCode::ResourceLimit);
    EXPECT_EQ(m, "maximum recursion depth exceeded while pickling an object");
  }
  // An object whose reduce args hold the object itself.
  pkl::Graph h;
  const NodeId args = h.tuple(std::vector<NodeId>{h.integer(0)});
  const NodeId o = h.object(h.global("m", "C"), args);
  h.tuple_assign(args, std::vector<NodeId>{o});
  for (int p = 0; p <= 5; ++p)
    EXPECT_EQ(code_of([&] { pkl::encode(h, o, proto(p)); }), ErrorCode::ResourceLimit);
}

TEST(Encode, HookThatReducesIntoItselfForeverIsRefused) {
  // __getnewargs__ returning a new [self] each time: every pass memoizes a
  // new list, so only the nesting bound stops it.
  pkl::ClassRegistry reg;
  pkl::ClassHooks h;
  h.module = "m";
  h.qualname = "Loop";
  h.create = [](const pkl::Graph&, NodeId, NodeId) { return std::any(0); };
  NodeId self_node = pkl::kNoNode;
  h.get_newargs = [&](const std::any&, pkl::Graph& g) {
    return g.tuple(std::vector<NodeId>{g.list(std::vector<NodeId>{self_node})});
  };
  const int ci = reg.add(h);
  pkl::Graph g;
  self_node = reg.instance(g, ci, 0);
  pkl::EncodeOptions o = proto(2);
  o.registry = &reg;
  EXPECT_EQ(code_of([&] { pkl::encode(g, self_node, o); }), ErrorCode::ResourceLimit);
}

TEST(Encode, RegisteredInstancesNeedTheRegistryAndAMutableGraph) {
  pkl::ClassRegistry reg;
  const int ci = reg.add(enctest::test_class_hooks("m", "C", "a"));
  pkl::Graph g;
  const NodeId n = reg.instance(g, ci, enctest::TestInst{});
  EXPECT_EQ(code_of([&] { pkl::encode(g, n, proto(2)); }), ErrorCode::Usage);  // no registry
  pkl::EncodeOptions o = proto(2);
  o.registry = &reg;
  EXPECT_EQ(pkl::encode(g, n, o), std::string("\x80\x02" "cm\nC\nq\x00)\x81q\x01.", 14));
  const pkl::Graph& cg = g;
  std::string m;
  EXPECT_EQ(code_of([&] { pkl::encode(cg, n, o); }, &m), ErrorCode::Usage);
  EXPECT_NE(m.find("mutable Graph"), std::string::npos);
}

// The encoder's per-node cells of a large graph (with huge pages on, a page
// block from 262,144 nodes) grow when a hook adds nodes during the dump:
// here past the block's 4 MiB (1,048,576 cells), so that the block itself
// is regrown. The pickle is the same with huge pages on and off.
TEST(Encode, CellsGrowWhenAHookAddsNodesToALargeGraph) {
  pkl::ClassRegistry reg;
  pkl::ClassHooks h;
  h.module = "m";
  h.qualname = "Big";
  h.create = [](const pkl::Graph&, NodeId, NodeId) { return std::any(0); };
  h.get_state = [](const std::any&, pkl::Graph& g) -> NodeId {
    std::vector<NodeId> items;
    for (int i = 0; i < 800000; ++i) items.push_back(g.integer(i % 1000));
    return g.list(items);
  };
  const int ci = reg.add(h);
  std::string with[2];
  for (bool huge : {true, false}) {
    const bool old = pkl::set_huge_pages(huge);
    pkl::Graph g;
    std::vector<NodeId> items;
    for (int i = 0; i < 300000; ++i) items.push_back(g.integer(i % 1000));
    items.push_back(reg.instance(g, ci, 0));
    items.push_back(g.list());  // memoized after the hook's nodes: cells past the growth
    const NodeId root = g.list(items);
    pkl::EncodeOptions o = proto(2);
    o.registry = &reg;
    with[huge] = pkl::encode(g, root, o);
    pkl::set_huge_pages(old);
    const pkl::Graph back = pkl::decode(with[huge]);
    const auto top = back.items(back.root());
    ASSERT_EQ(top.size(), 300002u);
    EXPECT_EQ(back.as_int(top[299999]), 999);
    EXPECT_EQ(back.kind(top[300001]), pkl::Kind::List);
  }
  EXPECT_EQ(with[0], with[1]);
}

TEST(Encode, HookExceptionsBecomeCodecErrors) {
  pkl::ClassRegistry reg;
  pkl::ClassHooks h;
  h.module = "m";
  h.qualname = "Bad";
  h.get_state = [](const std::any&, pkl::Graph&) -> NodeId { throw std::runtime_error("boom"); };
  const int ci = reg.add(h);
  pkl::Graph g;
  const NodeId n = reg.instance(g, ci, 1);
  pkl::EncodeOptions o = proto(2);
  o.registry = &reg;
  std::string m;
  EXPECT_EQ(code_of([&] { pkl::encode(g, n, o); }, &m), ErrorCode::Usage);
  EXPECT_NE(m.find("boom"), std::string::npos);
}

TEST(Encode, OptionChecks) {
  pkl::Graph g;
  g.set_root(g.global("m", "G"));
  pkl::EncodeOptions o = proto(4);
  o.buffer_callback = [](const pkl::Graph&, NodeId) { return true; };
  std::string m;
  EXPECT_EQ(code_of([&] { pkl::encode(g, g.root(), o); }, &m), ErrorCode::Usage);
  EXPECT_EQ(m, "buffer_callback needs protocol >= 5");

  pkl::EncodeOptions e = proto(2);
  e.extension = [](std::string_view, std::string_view) -> std::optional<int32_t> { return 0; };
  EXPECT_EQ(code_of([&] { pkl::encode(g, g.root(), e); }, &m), ErrorCode::Unpicklable);
  EXPECT_EQ(m, "Can't pickle <class 'm.G'>: extension code 0 is out of range");
  // Below protocol 2 the registry is not consulted.
  e.protocol = 1;
  EXPECT_EQ(pkl::encode(g, g.root(), e), std::string("cm\nG\nq\x00.", 8));
}

TEST(Encode, PersistentIdHook) {
  pkl::Graph g;
  const NodeId target = g.list();
  const NodeId root = g.list(std::vector<NodeId>{target, g.integer(7)});
  pkl::EncodeOptions o = proto(0);
  o.persistent_id = [target](pkl::Graph& gr, NodeId n) { return n == target ? gr.integer(12) : pkl::kNoNode; };
  EXPECT_EQ(pkl::encode(g, root, o), "(lp0\nP12\naI7\na.");
  o.protocol = 2;
  EXPECT_EQ(pkl::encode(g, root, o), std::string("\x80\x02]q\x00(K\x0cQK\x07" "e.", 13));
  const pkl::Graph& cg = g;
  EXPECT_EQ(code_of([&] { pkl::encode(cg, root, o); }), ErrorCode::Usage);
}

TEST(Encode, DoesNotChangeAPlainGraph) {
  pkl::Graph g;
  const NodeId l = g.list(std::vector<NodeId>{g.bytes("ab"), g.set(), g.frozenset({}), g.global("a", "B.C")});
  const size_t before = g.size();
  for (int p = 0; p <= 5; ++p) {
    const std::string once = pkl::encode(g, l, proto(p));
    EXPECT_EQ(pkl::encode(g, l, proto(p)), once);
  }
  EXPECT_EQ(g.size(), before);
}

}  // namespace

// ---- interned module names ------------------------------------------------------

// [c, GLOBAL c c] re-encoded at protocol 4: STACK_GLOBAL's module name is the
// interned str of c. For most one-character names that is the singleton the
// list's c already memoized (BINGET 1); for the characters CPython 3.11 interns
// at startup as strs of their own (codec/gen/gen_interned.py) it is a second
// SHORT_BINUNICODE. Expected bytes: oracle/inert.py's redump of each input
// under CPython 3.11.7 (python3 -c "import inert; inert.redump(data, [4])").
TEST(Encode, OneCharacterModuleNamesFollowCPythonsInterning) {
  struct Case {
    const char* input;
    const char* ch;
    const char* expected;
  };
  const Case cases[] = {
      {"80025d710028580100000061710163610a610a7102652e", "a",
       "80049511000000000000005d94288c0161948c01619468019394652e"},
      {"80025d710028580100000034710163340a340a7102652e", "4",
       "8004950f000000000000005d94288c013494680168019394652e"},
      {"80025d71002858010000005f7101635f0a5f0a7102652e", "_",
       "80049511000000000000005d94288c015f948c015f9468019394652e"},
      {"80025d7100285802000000c3a9710163c3a90ac3a90a7102652e", "\\xe9",
       "80049510000000000000005d94288c02c3a994680168019394652e"},
      {"80025d710028580100000042710163420a420a7102652e", "B",
       "80049511000000000000005d94288c0142948c01429468019394652e"},
      {"80025d71002858010000007a7101637a0a7a0a7102652e", "z",
       "8004950f000000000000005d94288c017a94680168019394652e"},
      {"80025d710028580100000067710163670a670a7102652e", "g",
       "8004950f000000000000005d94288c016794680168019394652e"},
      {"80025d7100285802000000c3bf710163c3bf0ac3bf0a7102652e", "\\xff",
       "80049510000000000000005d94288c02c3bf94680168019394652e"},
      {"80025d710028580100000075710163750a750a7102652e", "u",
       "8004950f000000000000005d94288c017594680168019394652e"},
  };
  for (const Case& c : cases) {
    const pkl::Graph g = pkl::decode(enctest::unhex(c.input));
    EXPECT_EQ(enctest::hex(pkl::encode(g, g.root(), {.protocol = 4})), c.expected) << "module name " << c.ch;
  }
}

// Protocols 0-1 write ints as decimal text; EncodeOptions::max_int_digits
// (CPython's 4300 by default) refuses longer ones as CPython's dumps does.
TEST(Encode, DecimalIntDigitsLimitJustBelowAndAbove) {
  pkl::Graph g;
  const std::string nines(50, '9');  // 50 digits
  const NodeId at = g.integer_decimal(nines);
  const NodeId over = g.integer_decimal("1" + std::string(50, '0'));  // 51 digits
  for (int q : {0, 1}) {
    pkl::EncodeOptions o = proto(q);
    o.max_int_digits = 50;
    EXPECT_EQ(pkl::encode(g, at, o), "L" + nines + "L\n.");
    std::string message;
    EXPECT_EQ(code_of([&] { pkl::encode(g, over, o); }, &message), ErrorCode::ValueError);
    EXPECT_EQ(message,
              "Exceeds the limit (50 digits) for integer string conversion; use sys.set_int_max_str_digits() "
              "to increase the limit");
    o.max_int_digits = 0;  // no limit
    EXPECT_EQ(pkl::encode(g, over, o), "L1" + std::string(50, '0') + "L\n.");
    o.max_int_digits = 51;
    EXPECT_EQ(pkl::encode(g, over, o), "L1" + std::string(50, '0') + "L\n.");
  }
  EXPECT_EQ(pkl::EncodeOptions{}.max_int_digits, 4300u);
}
