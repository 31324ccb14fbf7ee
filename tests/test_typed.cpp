// The typed layer (typed.hpp): conversions both ways, errors that name the
// path inside the value, sharing through shared_ptr, the Value view, and a
// round trip through CPython (C++ -> pickle -> pickle.loads -> pickle.dumps -> C++).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "picklecodec/typed.hpp"

namespace {

using namespace std::string_literals;

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pkl::Error& e) {
    return e.message();
  }
  return "(no error)";
}
pkl::ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pkl::Error& e) {
    return e.code();
  }
  return pkl::ErrorCode::Usage;
}

// pickle.dumps(pickle.loads(b), protocol) by CPython for each input, in one process.
std::vector<std::string> cpython_redump(const std::vector<std::string>& pickles, int protocol) {
  const std::string dir = ::testing::TempDir();
  const std::string in = dir + "/typed_redump_in.bin", out = dir + "/typed_redump_out.bin";
  {
    std::ofstream f(in, std::ios::binary);
    for (const auto& p : pickles) {
      const uint64_t n = p.size();
      f.write(reinterpret_cast<const char*>(&n), 8);
      f << p;
    }
  }
  const std::string cmd = "python3 -c \"import pickle,struct,sys\n"
                          "d=open(sys.argv[1],'rb').read();o=open(sys.argv[2],'wb');i=0\n"
                          "while i<len(d):\n"
                          " n,=struct.unpack_from('<Q',d,i);i+=8\n"
                          " r=pickle.dumps(pickle.loads(d[i:i+n]),int(sys.argv[3]));i+=n\n"
                          " o.write(struct.pack('<Q',len(r))+r)\n\" " +
                          in + " " + out + " " + std::to_string(protocol);
  if (std::system(cmd.c_str()) != 0) return {};
  std::ifstream f(out, std::ios::binary);
  std::string d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> res;
  for (size_t i = 0; i + 8 <= d.size();) {
    uint64_t n;
    std::memcpy(&n, d.data() + i, 8);
    i += 8;
    res.push_back(d.substr(i, n));
    i += n;
  }
  return res;
}

TEST(Typed, ScalarsRoundTrip) {
  for (int p = 0; p <= 5; ++p) {
    EXPECT_EQ(pkl::load<int>(pkl::dump(-7, p)), -7);
    EXPECT_EQ(pkl::load<uint64_t>(pkl::dump(std::numeric_limits<uint64_t>::max(), p)),
              std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(pkl::load<uint64_t>(pkl::dump(uint64_t{1} << 63, p)), uint64_t{1} << 63);
    EXPECT_EQ(pkl::load<double>(pkl::dump(0.1, p)), 0.1);
    EXPECT_EQ(pkl::load<float>(pkl::dump(1.5f, p)), 1.5f);
    EXPECT_EQ(pkl::load<std::string>(pkl::dump("text"s, p)), "text");
    EXPECT_EQ(pkl::load<pkl::bytes>(pkl::dump(pkl::bytes("\x01\x02"), p)), pkl::bytes("\x01\x02"));
    EXPECT_EQ(pkl::load<bool>(pkl::dump(true, p)), true);
  }
  // literals and views dump as str
  EXPECT_EQ(pkl::dump("ab"), pkl::dump("ab"s));
  EXPECT_EQ(pkl::dump(std::string_view("ab")), pkl::dump("ab"s));
}

TEST(Typed, IntegerRangesAreChecked) {
  EXPECT_EQ(pkl::load<uint8_t>(pkl::dump(255)), 255);
  EXPECT_EQ(error_of([] { pkl::load<uint8_t>(pkl::dump(256)); }), "int 256 out of range for a 8-bit unsigned integer");
  EXPECT_EQ(error_of([] { pkl::load<uint8_t>(pkl::dump(-1)); }), "int -1 out of range for a 8-bit unsigned integer");
  EXPECT_EQ(pkl::load<int8_t>(pkl::dump(-128)), -128);
  EXPECT_EQ(error_of([] { pkl::load<int8_t>(pkl::dump(-129)); }), "int -129 out of range for a 8-bit signed integer");
  EXPECT_EQ(error_of([] { pkl::load<int64_t>(pkl::dump(uint64_t{1} << 63)); }),
            "int 9223372036854775808 out of range for a 64-bit signed integer");
  // 2**64 and -1 for uint64: CPython's bytes
  EXPECT_EQ(error_of([] { pkl::load<uint64_t>(unhex("80028a090000000000000000012e")); }),
            "int 18446744073709551616 out of range for a 64-bit unsigned integer");
  EXPECT_EQ(error_of([] { pkl::load<uint64_t>(pkl::dump(-1)); }),
            "int -1 out of range for a 64-bit unsigned integer");
  EXPECT_EQ(code_of([] { pkl::load<uint8_t>(pkl::dump(256)); }), pkl::ErrorCode::ValueError);
  // bool is not an int here, nor an int a bool
  EXPECT_EQ(error_of([] { pkl::load<int>(pkl::dump(true)); }), "expected int, got bool");
  EXPECT_EQ(error_of([] { pkl::load<bool>(pkl::dump(1)); }), "expected bool, got int");
}

TEST(Typed, FloatsAcceptExactInts) {
  EXPECT_EQ(pkl::load<double>(pkl::dump(3)), 3.0);
  EXPECT_EQ(pkl::load<double>(pkl::dump(int64_t{1} << 53)), 9007199254740992.0);
  EXPECT_EQ(error_of([] { pkl::load<double>(pkl::dump((int64_t{1} << 53) + 1)); }),
            "int 9007199254740993 is not exactly a float");
  EXPECT_EQ(error_of([] { pkl::load<double>(pkl::dump("1.0"s)); }), "expected float, got str");
  // a list of floats with ints among them (runs of floats are read in bulk)
  using Num = std::variant<double, int, std::string>;
  EXPECT_EQ(pkl::load<std::vector<double>>(pkl::dump(std::vector<Num>{0.5, 1, 2.5, 3.5, 4})),
            (std::vector<double>{0.5, 1.0, 2.5, 3.5, 4.0}));
  EXPECT_EQ(error_of([] { pkl::load<std::vector<double>>(pkl::dump(std::vector<Num>{0.5, 1, 2.5, "x", 1.5})); }),
            "[3]: expected float, got str");
}

TEST(Typed, MismatchNamesThePath) {
  using Row = std::map<std::string, int>;
  // [{'b': 1}, {'b': 2}, {'b': 3}, {'b': 'x'}]
  const std::string bad = pkl::dump(std::vector<std::map<std::string, std::variant<int, std::string>>>{
      {{"b", 1}}, {{"b", 2}}, {{"b", 3}}, {{"b", "x"s}}});
  EXPECT_EQ(error_of([&] { pkl::load<std::vector<Row>>(bad); }), "[3]['b']: expected int, got str");
  EXPECT_EQ(code_of([&] { pkl::load<std::vector<Row>>(bad); }), pkl::ErrorCode::TypeError);
  // keys, tuples, sets, optionals, arrays
  EXPECT_EQ(error_of([] { pkl::load<std::map<int, int>>(pkl::dump(std::map<std::string, int>{{"k", 1}})); }),
            "<key ['k']>: expected int, got str");
  EXPECT_EQ(error_of([] {
              pkl::load<std::tuple<int, std::string>>(pkl::dump(std::tuple<int, int>{1, 2}));
            }),
            "[1]: expected str, got int");
  EXPECT_EQ(error_of([] { pkl::load<std::tuple<int, int>>(pkl::dump(std::tuple<int>{1})); }),
            "expected a tuple of 2 items, got 1");
  EXPECT_EQ(error_of([] { pkl::load<std::array<int, 2>>(pkl::dump(std::vector<int>{1, 2, 3})); }),
            "expected 2 items, got 3");
  EXPECT_EQ(error_of([] { pkl::load<std::set<int>>(pkl::dump(std::vector<int>{1})); }), "expected set, got list");
  EXPECT_EQ(error_of([] {
              pkl::load<std::map<int, std::optional<std::vector<double>>>>(
                  pkl::dump(std::map<int, std::vector<std::string>>{{7, {"a"}}}));
            }),
            "[7][0]: expected float, got str");
  EXPECT_EQ(error_of([] { pkl::load<std::vector<int>>(pkl::dump(pkl::bytes("ab"))); }), "expected list, got bytes");
  EXPECT_EQ(error_of([] { pkl::load<std::string>(pkl::dump(pkl::bytes("ab"))); }), "expected str, got bytes");
}

TEST(Typed, MismatchNamesObjectsByClass) {
  // pickle.dumps(collections.OrderedDict(), 2)
  const std::string od = unhex("800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012e");
  EXPECT_EQ(error_of([&] { pkl::load<std::map<int, int>>(od); }), "expected dict, got OrderedDict");
  // a plain class instance by NEWOBJ: class Point: pass; pickle.dumps(Point(), 2)
  const std::string pt = unhex("8002635f5f6d61696e5f5f0a506f696e740a7100298171012e");
  EXPECT_EQ(error_of([&] { pkl::load<int>(pt); }), "expected int, got Point");
}

TEST(Typed, SequencesAcceptTuplesAndListsBoth) {
  EXPECT_EQ(pkl::load<std::vector<int>>(pkl::dump(std::tuple<int, int>{1, 2})), (std::vector<int>{1, 2}));
  EXPECT_EQ((pkl::load<std::pair<int, int>>(pkl::dump(std::vector<int>{1, 2}))), (std::pair<int, int>{1, 2}));
  EXPECT_EQ(pkl::load<std::deque<int>>(pkl::dump(std::list<int>{4, 5})), (std::deque<int>{4, 5}));
  // frozenset loads as a set; bytearray as bytes: pickle.dumps((frozenset({1}), bytearray(b'z')), 2)
  const std::string fs = pkl::dump(std::tuple<std::set<int>>{{1}});
  EXPECT_EQ(pkl::load<std::tuple<std::set<int>>>(fs), std::tuple<std::set<int>>{{1}});
  const std::string ba = unhex(
      "8002635f5f6275696c74696e5f5f0a6279746561727261790a7100635f636f646563730a656e636f64650a71015801000000"
      "7a710258060000006c6174696e3171038671045271058571065271072e");
  EXPECT_EQ(pkl::load<pkl::bytes>(ba), pkl::bytes("z"));
  EXPECT_EQ((pkl::load<std::unordered_map<std::string, int>>(pkl::dump(std::map<std::string, int>{{"a", 1}}))),
            (std::unordered_map<std::string, int>{{"a", 1}}));
}

TEST(Typed, VariantTakesTheFirstAlternativeThatConverts) {
  using V = std::variant<int, double, std::string, std::vector<int>>;
  EXPECT_EQ(pkl::load<V>(pkl::dump(2)).index(), 0u);
  EXPECT_EQ(pkl::load<V>(pkl::dump(2.5)).index(), 1u);
  EXPECT_EQ(pkl::load<V>(pkl::dump("s"s)).index(), 2u);
  EXPECT_EQ(pkl::load<V>(pkl::dump(std::vector<int>{1})).index(), 3u);
  EXPECT_EQ(error_of([] { pkl::load<std::variant<int, std::string>>(pkl::dump(1.5)); }),
            "no alternative of the variant converts: expected int, got float; expected str, got float");
  EXPECT_EQ(error_of([] { pkl::load<std::vector<std::variant<int, std::string>>>(pkl::dump(std::vector<double>{1.5})); }),
            "[0]: no alternative of the variant converts: expected int, got float; expected str, got float");
}

TEST(Typed, SharedPtrKeepsSharingBothWays) {
  auto a = std::make_shared<std::vector<int>>(std::vector<int>{1, 2});
  auto b = std::make_shared<std::vector<int>>(std::vector<int>{1, 2});
  const std::vector<std::shared_ptr<std::vector<int>>> v{a, a, b, nullptr};
  for (int p = 0; p <= 5; ++p) {
    const std::string bytes = pkl::dump(v, p);
    // one object written once: the graph of the pickle has [x, x, y, None]
    const pkl::Graph g = pkl::decode(bytes);
    const auto items = g.items(g.root());
    EXPECT_EQ(items[0], items[1]);
    EXPECT_NE(items[0], items[2]);
    const auto back = pkl::load<std::vector<std::shared_ptr<std::vector<int>>>>(bytes);
    ASSERT_EQ(back.size(), 4u);
    EXPECT_EQ(back[0], back[1]);
    EXPECT_NE(back[0], back[2]);
    EXPECT_EQ(*back[2], (std::vector<int>{1, 2}));
    EXPECT_EQ(back[3], nullptr);
  }
  // unique_ptr: no sharing, None is null
  auto u = pkl::load<std::vector<std::unique_ptr<int>>>(pkl::dump(std::vector<std::optional<int>>{3, std::nullopt}));
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(*u[0], 3);
  EXPECT_EQ(u[1], nullptr);
}

// A recursive C++ type by a user's ADL hooks: a tree of shared nodes.
struct Tree {
  int value = 0;
  std::vector<std::shared_ptr<Tree>> kids;
};
pkl::NodeId to_pickle(pkl::Dumper& d, const Tree& t) { return d.dump(std::tie(t.value, t.kids)); }
void from_pickle(pkl::Loader& l, pkl::NodeId n, Tree& t) {
  auto [v, k] = l.load<std::tuple<int, std::vector<std::shared_ptr<Tree>>>>(n);
  t.value = v;
  t.kids = std::move(k);
}

TEST(Typed, AdlHooksAndCycles) {
  auto leaf = std::make_shared<Tree>(Tree{3, {}});
  Tree root{1, {leaf, std::make_shared<Tree>(Tree{2, {leaf}})}};
  const std::string bytes = pkl::dump(root);
  const Tree back = pkl::load<Tree>(bytes);
  EXPECT_EQ(back.value, 1);
  ASSERT_EQ(back.kids.size(), 2u);
  EXPECT_EQ(back.kids[0], back.kids[1]->kids[0]);  // the shared leaf is one object again
  EXPECT_EQ(back.kids[0]->value, 3);

  // l = []; l.append(l): a cycle no shared_ptr can own
  const std::string cyc = unhex("80025d71006800612e");
  EXPECT_EQ(error_of([&] { pkl::load<std::vector<std::shared_ptr<std::vector<int>>>>(cyc); }),
            "[0][0]: expected int, got list");
}

// A cycle through shared_ptrs is refused with its path.
struct Cyc {
  std::vector<std::shared_ptr<Cyc>> items;
};
pkl::NodeId to_pickle(pkl::Dumper& d, const Cyc& c) { return d.dump(c.items); }
void from_pickle(pkl::Loader& l, pkl::NodeId n, Cyc& c) { l.load(n, c.items); }

std::string nested_lists(int depth) {
  std::string deep = "\x80\x02"s;
  for (int i = 0; i < depth; ++i) deep += "]";
  for (int i = 0; i < depth - 1; ++i) deep += "a";
  return deep + ".";
}

// A nesting deeper than the typed layer's bound is a budget error, not a
// stack overflow; one level less loads.
TEST(Typed, DepthIsBounded) {
  const uint32_t max = pkl::detail::kMaxTypedDepth;
  // Cyc takes two levels per list (Cyc, then its shared_ptr), the vector one more
  EXPECT_EQ(code_of([&] { pkl::load<Cyc>(nested_lists(5000)); }), pkl::ErrorCode::ResourceLimit);
  EXPECT_EQ(error_of([&] { pkl::load<Cyc>(nested_lists(5000)); }).substr(0, 12), "[0][0][0][0]");
  // vector<vector<...>> of a fixed depth never recurses past its type; a
  // shared_ptr chain counts 3 levels a list: max/3 lists load, one more does not
  const int fits = static_cast<int>(max / 3);
  EXPECT_NO_THROW(pkl::load<Cyc>(nested_lists(fits)));
  EXPECT_EQ(code_of([&] { pkl::load<Cyc>(nested_lists(fits + 1)); }), pkl::ErrorCode::ResourceLimit);
}

TEST(Typed, SharedPtrCycleIsAnError) {
  const std::string cyc = unhex("80025d71006800612e");  // l = []; l.append(l)
  EXPECT_EQ(error_of([&] { pkl::load<std::shared_ptr<Cyc>>(cyc); }),
            "[0]: a cycle through shared_ptr (C++ ownership cannot hold it)");
}

TEST(Typed, ValueViewMixesTypedAndUntyped) {
  // the seed's [{'a': 'A', 'b': 2, 'c': 3.0}]
  const std::string data =
      unhex("80049523000000000000005d947d94288c0161948c0141948c0162944b028c01639447400800000000000075612e");
  const pkl::Graph g = pkl::decode(data);
  const pkl::Value root(g);
  EXPECT_EQ(root.size(), 1u);
  EXPECT_EQ(root[0]["a"].get<std::string>(), "A");
  EXPECT_EQ(root[0]["b"].get<int>(), 2);
  EXPECT_EQ(root[0]["c"].get<double>(), 3.0);
  EXPECT_TRUE(root[0].contains("c"));
  EXPECT_FALSE(root[0].contains("d"));
  EXPECT_EQ(error_of([&] { root[0]["a"].get<int>(); }), "[0]['a']: expected int, got str");
  EXPECT_EQ(error_of([&] { root[0]["z"]; }), "[0]: no key 'z'");
  EXPECT_EQ(error_of([&] { root[1]; }), "index 1 out of range (1 items)");
  // a typed map of untyped values
  auto m = root[0].get<std::map<std::string, pkl::Value>>();
  EXPECT_EQ(m.at("b").kind(), pkl::Kind::Int);
  EXPECT_EQ(m.at("c").type_name(), "float");
  // a Value dumped again is copied into the new graph: bytes as CPython's
  EXPECT_EQ(pkl::dump(root, 4), data);
  EXPECT_EQ(pkl::dump(std::make_tuple(root[0]["a"], 5), 2), pkl::dump(std::make_tuple("A"s, 5), 2));
}

TEST(Typed, ValueCopyKeepsSharingAndCycles) {
  // l = [1]; d = {'x': l, 'y': l, 'self': None}; d['self'] = d; t = (l, d); at every protocol
  const std::string py = unhex(
      "80025d71004b01617d7101285801000000787102680058010000007971036800580400000073656c6671046801758671052e");
  const pkl::Graph g = pkl::decode(py);
  for (int p = 0; p <= 5; ++p) EXPECT_EQ(pkl::dump(pkl::Value(g), p), pkl::encode(g, g.root(), {.protocol = p})) << p;
  pkl::Graph copy;
  copy.set_root(pkl::copy_subgraph(copy, g, g.root()));
  EXPECT_TRUE(pkl::isomorphic(g, g.root(), copy, copy.root()));
}

TEST(Typed, SourceAndSink) {
  std::string out;
  pkl::StringSink sink(out);
  pkl::dump(sink, std::vector<int>{1, 2});
  pkl::dump(sink, "two"s);
  pkl::MemorySource src(out);
  EXPECT_EQ(pkl::load<std::vector<int>>(src), (std::vector<int>{1, 2}));
  EXPECT_EQ(pkl::load<std::string>(src), "two");
  EXPECT_EQ(code_of([&] { pkl::load<int>(src); }), pkl::ErrorCode::EndOfInput);
  // options reach the decoder: its budget applies
  pkl::DecodeOptions o;
  o.limits.max_container_len = 2;
  EXPECT_EQ(code_of([&] { pkl::load<std::vector<int>>(pkl::dump(std::vector<int>{1, 2, 3}), o); }),
            pkl::ErrorCode::ResourceLimit);
  EXPECT_EQ(pkl::load<std::vector<int>>(pkl::dump(std::vector<int>{1, 2}), o), (std::vector<int>{1, 2}));
}

TEST(Typed, DumpRefusesWhatPythonCannotHold) {
  EXPECT_EQ(error_of([] { pkl::dump("\xff"s); }), "std::string is not UTF-8: a str must be");
  EXPECT_EQ(error_of([] { pkl::dump(std::vector<std::string>{"ok", "\xc3"}); }),
            "[1]: std::string is not UTF-8: a str must be");
  // a dict key Python cannot hash: a list
  EXPECT_EQ(error_of([] { pkl::dump(std::map<std::vector<int>, int>{{{1}, 2}}); }), "unhashable type: 'list'");
}

// C++ -> pickle -> CPython loads + dumps -> C++, at every protocol: the value
// comes back, and CPython's bytes are ours.
TEST(Typed, RoundTripThroughCPython) {
  using Rec = std::tuple<std::string, std::optional<int64_t>, std::vector<double>, pkl::bytes, bool>;
  using Doc = std::map<std::string, std::vector<Rec>>;
  const Doc doc{{"alpha", {{"a", 1, {0.5, -2.0}, pkl::bytes("xy"), true}, {"\xc3\xa9t\xc3\xa9", std::nullopt, {}, pkl::bytes(""), false}}},
                {"beta", {}},
                {"gamma", {{"", -(int64_t{1} << 40), {1e-300}, pkl::bytes(std::string(300, 'z')), true}}}};
  const std::vector<std::vector<int>> lists{{}, {1}, {1, 2, 3}};
  for (int p = 0; p <= 5; ++p) {
    const std::vector<std::string> ours{pkl::dump(doc, p), pkl::dump(lists, p), pkl::dump(std::set<int>{3, 1, 2}, p),
                                        pkl::dump(std::numeric_limits<uint64_t>::max(), p)};
    const auto theirs = cpython_redump(ours, p);
    ASSERT_EQ(theirs.size(), ours.size()) << "python3 failed";
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_EQ(theirs[i], ours[i]) << "value " << i << " protocol " << p;
    EXPECT_EQ(pkl::load<Doc>(theirs[0]), doc);
    EXPECT_EQ(pkl::load<std::vector<std::vector<int>>>(theirs[1]), lists);
    EXPECT_EQ(pkl::load<std::set<int>>(theirs[2]), (std::set<int>{1, 2, 3}));
    EXPECT_EQ(pkl::load<uint64_t>(theirs[3]), std::numeric_limits<uint64_t>::max());
  }
}

}  // namespace
