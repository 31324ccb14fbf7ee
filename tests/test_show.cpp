// pkl::show and pkl::show_json: exact notation for graphs built with the
// Graph API (sharing, cycles, objects, line breaking), million-deep graphs,
// and JSON that python3's json module reads back to the same document.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "picklecodec/show.hpp"
#include "picklecodec/value.hpp"
#include "text/utf8.hpp"

namespace {

using pkl::Graph;
using pkl::NodeId;

std::string show(const Graph& g, NodeId root, int width = 80) {
  std::ostringstream out;
  pkl::ShowOptions o;
  o.width = width;
  pkl::show(g, root, out, o);
  return out.str();
}

std::string json(const Graph& g, NodeId root) {
  std::ostringstream out;
  pkl::show_json(g, root, out);
  return out.str();
}

NodeId tuple(Graph& g, std::initializer_list<NodeId> items) {
  std::vector<NodeId> v(items);
  return g.tuple(v);
}

NodeId list(Graph& g, std::initializer_list<NodeId> items) {
  std::vector<NodeId> v(items);
  return g.list(v);
}

// The SimpleObject of the pickle chapter of PyMOTW, as NEWOBJ decodes it.
NodeId simple_object(Graph& g, const char* name) {
  NodeId cls = g.global("__main__", "SimpleObject");
  NodeId obj = g.object(g.global("copyreg", "__newobj__"), tuple(g, {cls}));
  NodeId state = g.dict();
  g.dict_set(state, g.str("name"), g.str(name));
  g.object_data(obj).state = state;
  return obj;
}

TEST(Show, Scalars) {
  Graph g;
  EXPECT_EQ(show(g, g.none()), "None");
  EXPECT_EQ(show(g, g.boolean(true)), "True");
  EXPECT_EQ(show(g, g.boolean(false)), "False");
  EXPECT_EQ(show(g, g.integer(-5)), "-5");
  EXPECT_EQ(show(g, g.integer_decimal("1267650600228229401496703205376")), "1267650600228229401496703205376");
  EXPECT_EQ(show(g, g.floating(1e16)), "1e+16");
  EXPECT_EQ(show(g, g.floating(-0.0)), "-0.0");
  EXPECT_EQ(show(g, g.str("it's")), "\"it's\"");
  EXPECT_EQ(show(g, g.str("\xed\xa0\x80")), "'\\ud800'");
  EXPECT_EQ(show(g, g.bytes(std::string("\x00\xff", 2))), "b'\\x00\\xff'");
  EXPECT_EQ(show(g, g.bytearray("ab")), "bytearray(b'ab')");
  EXPECT_EQ(show(g, g.global("__main__", "SimpleObject")), "<global __main__.SimpleObject>");
}

TEST(Show, Containers) {
  Graph g;
  EXPECT_EQ(show(g, tuple(g, {})), "()");
  EXPECT_EQ(show(g, tuple(g, {g.integer(1)})), "(1,)");
  EXPECT_EQ(show(g, tuple(g, {g.integer(1), g.str("a")})), "(1, 'a')");
  EXPECT_EQ(show(g, g.list()), "[]");
  EXPECT_EQ(show(g, g.dict()), "{}");
  EXPECT_EQ(show(g, g.set()), "set()");
  std::vector<NodeId> none;
  EXPECT_EQ(show(g, g.frozenset(none)), "frozenset()");
  std::vector<NodeId> members{g.integer(1), g.integer(2)};
  EXPECT_EQ(show(g, g.frozenset(members)), "frozenset({1, 2})");
  NodeId s = g.set();
  g.set_add(s, g.str("x"));
  EXPECT_EQ(show(g, s), "{'x'}");
  NodeId d = g.dict();
  g.dict_set(d, g.str("a"), g.integer(1));
  g.dict_set(d, tuple(g, {g.integer(1), g.integer(2)}), list(g, {g.none()}));
  EXPECT_EQ(show(g, d), "{'a': 1, (1, 2): [None]}");
}

TEST(Show, SharingAndCycles) {
  Graph g;
  NodeId l = list(g, {g.integer(1), g.str("a")});
  g.list_append(l, l);
  EXPECT_EQ(show(g, l), "&1 [1, 'a', *1]");

  NodeId shared = list(g, {g.integer(1), g.integer(2)});
  NodeId outer = list(g, {shared, shared, g.list()});
  EXPECT_EQ(show(g, outer), "[&1 [1, 2], *1, []]");

  // Scalars reached twice are printed in full; globals are never labelled.
  NodeId str = g.str("long string");
  NodeId G = g.global("m", "C");
  EXPECT_EQ(show(g, list(g, {str, str, G, G})), "['long string', 'long string', <global m.C>, <global m.C>]");

  // A dict whose value is itself; a tuple on a cycle through a list.
  NodeId d = g.dict();
  g.dict_set(d, g.str("self"), d);
  EXPECT_EQ(show(g, d), "&1 {'self': *1}");
  NodeId inner = g.list();
  NodeId t = tuple(g, {inner});
  g.list_append(inner, t);
  EXPECT_EQ(show(g, t), "&1 ([*1],)");

  // Labels are numbered in print order.
  NodeId a = g.list();
  NodeId b = g.list();
  g.list_append(a, b);
  g.list_append(b, a);
  EXPECT_EQ(show(g, list(g, {b, a})), "[&1 [&2 [*1]], *2]");
}

TEST(Show, Objects) {
  Graph g;
  EXPECT_EQ(show(g, simple_object(g, "pickle")), "Object(__main__.SimpleObject, (), state={'name': 'pickle'})");

  // NEWOBJ with arguments, NEWOBJ_EX with kwargs.
  NodeId cls = g.global("pkg.mod", "Outer.Inner");
  NodeId o1 = g.object(g.global("copyreg", "__newobj__"), tuple(g, {cls, g.integer(1), g.integer(2)}));
  EXPECT_EQ(show(g, o1), "Object(pkg.mod.Outer.Inner, (1, 2))");
  NodeId o1b = g.object(g.global("copyreg", "__newobj__"), tuple(g, {cls, g.integer(1)}));
  EXPECT_EQ(show(g, o1b), "Object(pkg.mod.Outer.Inner, (1,))");
  NodeId kw = g.dict();
  g.dict_set(kw, g.str("y"), g.integer(6));
  NodeId o2 = g.object(g.global("copyreg", "__newobj_ex__"), tuple(g, {cls, tuple(g, {g.integer(5)}), kw}));
  EXPECT_EQ(show(g, o2), "Object(pkg.mod.Outer.Inner, (5,), kwargs={'y': 6})");

  // Any other callable: Reduce(...), with list and dict items.
  NodeId r = g.object(g.global("copyreg", "_reconstructor"),
                      tuple(g, {g.global("__main__", "C"), g.global("builtins", "object"), g.none()}));
  pkl::ObjectData& od = g.object_data(r);
  od.state = g.dict();
  od.listitems = {g.integer(4), g.integer(5)};
  od.dictitems = {{g.str("k"), g.str("v")}, {g.str("k"), g.str("w")}};
  EXPECT_EQ(show(g, r, 200),
            "Reduce(copyreg._reconstructor, (<global __main__.C>, <global builtins.object>, None), "
            "state={}, listitems=[4, 5], dictitems={'k': 'v', 'k': 'w'})");

  // Calling an object (functools.partial below protocol 4).
  NodeId partial = g.object(g.global("functools", "partial"), tuple(g, {g.global("copyreg", "__newobj__")}));
  NodeId called = g.object(partial, tuple(g, {cls}));
  EXPECT_EQ(show(g, called, 200), "Reduce(Reduce(functools.partial, (<global copyreg.__newobj__>,)), (<global pkg.mod.Outer.Inner>,))");

  // An object that contains itself.
  NodeId self = simple_object(g, "loop");
  g.object_data(self).listitems = {self};
  EXPECT_EQ(show(g, self), "&1 Object(__main__.SimpleObject, (), state={'name': 'loop'}, listitems=[*1])");

  NodeId pid = g.persid(g.str("key"));
  EXPECT_EQ(show(g, list(g, {pid, pid})), "[&1 PersId('key'), *1]");
  EXPECT_EQ(show(g, g.buffer(0, true, "ab")), "<buffer 0 readonly b'ab'>");
  EXPECT_EQ(show(g, g.buffer(2, false)), "<buffer 2 writable>");
}

TEST(Show, BreaksLongLines) {
  Graph g;
  NodeId l = g.list();
  for (int i = 0; i < 30; ++i) g.list_append(l, g.integer(1000 + i));
  NodeId d = g.dict();
  g.dict_set(d, g.str("numbers"), l);
  g.dict_set(d, g.str("short"), list(g, {g.integer(1)}));
  g.dict_set(d, g.str("obj"), simple_object(g, "pickle"));
  EXPECT_EQ(show(g, d, 60),
            "{\n"
            "  'numbers': [\n"
            "    1000,\n    1001,\n    1002,\n    1003,\n    1004,\n    1005,\n    1006,\n    1007,\n"
            "    1008,\n    1009,\n    1010,\n    1011,\n    1012,\n    1013,\n    1014,\n    1015,\n"
            "    1016,\n    1017,\n    1018,\n    1019,\n    1020,\n    1021,\n    1022,\n    1023,\n"
            "    1024,\n    1025,\n    1026,\n    1027,\n    1028,\n    1029,\n"
            "  ],\n"
            "  'short': [1],\n"
            "  'obj': Object(\n"
            "    __main__.SimpleObject,\n"
            "    (),\n"
            "    state={'name': 'pickle'},\n"
            "  ),\n"
            "}");
  // The same object fits in 80 columns, on the dict's item line.
  EXPECT_NE(show(g, d).find("\n  'obj': Object(__main__.SimpleObject, (), state={'name': 'pickle'}),\n}"),
            std::string::npos);
  NodeId t = tuple(g, {l});
  std::string s = show(g, t, 40);
  EXPECT_EQ(s.substr(0, 10), "(\n  [\n    ");
  EXPECT_EQ(s.substr(s.size() - 8), ",\n  ],\n)");
}

// A group goes on one line exactly when its one-line width fits; the
// labels it would give are measured, then given once, in print order.
TEST(Show, FitsExactlyAndLabelsOnce) {
  Graph g;
  NodeId pair = list(g, {g.integer(1000), g.integer(1001)});
  EXPECT_EQ(show(g, pair, 12), "[1000, 1001]");
  EXPECT_EQ(show(g, pair, 11), "[\n  1000,\n  1001,\n]");
  NodeId one = tuple(g, {g.integer(1000)});
  EXPECT_EQ(show(g, one, 7), "(1000,)");
  EXPECT_EQ(show(g, one, 6), "(\n  1000,\n)");

  NodeId a = list(g, {g.integer(1), g.integer(2)});
  NodeId outer = list(g, {a, a, g.list()});
  EXPECT_EQ(show(g, outer, 19), "[&1 [1, 2], *1, []]");
  EXPECT_EQ(show(g, outer, 18), "[\n  &1 [1, 2],\n  *1,\n  [],\n]");

  NodeId b = g.list();
  g.list_append(b, b);
  NodeId c = list(g, {g.integer(9)});
  NodeId top = list(g, {list(g, {b, c}), c, b});
  EXPECT_EQ(show(g, top), "[[&1 [*1], &2 [9]], *2, *1]");
  EXPECT_EQ(show(g, top, 19), "[\n  [&1 [*1], &2 [9]],\n  *2,\n  *1,\n]");
  EXPECT_EQ(show(g, top, 18), "[\n  [\n    &1 [*1],\n    &2 [9],\n  ],\n  *2,\n  *1,\n]");
}

// A group that fits is written from the text its measure kept, up to 4096
// characters after its open; past that it is walked again. Both ways print
// the same, labels included.
TEST(Show, WideGroupKeptOrWalked) {
  for (size_t cols : {4095u, 4096u, 4097u}) {
    Graph g;
    NodeId shared = list(g, {g.integer(7)});
    // After the open: "&1 [7], *1, '" + s + "']", 14 + s.size() characters.
    const std::string s(cols - 14, 'x');
    NodeId top = list(g, {shared, shared, g.str(s)});
    EXPECT_EQ(show(g, top, 100000), "[&1 [7], *1, '" + s + "']") << cols;
    EXPECT_EQ(show(g, top, static_cast<int>(cols)), "[\n  &1 [7],\n  *1,\n  '" + s + "',\n]") << cols;
  }
}

// Float reprs are remembered by node (256 of them): a float met again, and
// floats whose nodes share a slot, each print their own repr.
TEST(Show, FloatsRememberedByNode) {
  Graph g;
  std::vector<NodeId> items;
  std::string expected_flat = "[";
  for (int k = 0; k < 600; ++k) {
    items.push_back(g.floating(k + 0.25));
    if (k) expected_flat += ", ";
    expected_flat += std::to_string(k) + ".25";
  }
  items.push_back(items[3]);
  items.push_back(items[300]);
  expected_flat += ", 3.25, 300.25]";
  NodeId top = g.list(items);
  EXPECT_EQ(show(g, top, 100000), expected_flat);
  std::string broken = show(g, top, 10);
  const std::string head = "[\n  0.25,\n  1.25,\n";
  const std::string tail = "  599.25,\n  3.25,\n  300.25,\n]";
  EXPECT_EQ(broken.substr(0, head.size()), head);
  EXPECT_EQ(broken.substr(broken.size() - tail.size()), tail);
  EXPECT_EQ(std::count(broken.begin(), broken.end(), '\n'), 603);
}

TEST(Show, MillionDeep) {
  Graph g;
  const int depth = 1000000;
  NodeId root = g.list();
  NodeId cur = root;
  for (int i = 1; i < depth; ++i) {
    NodeId next = g.list();
    g.list_append(cur, next);
    cur = next;
  }
  g.list_append(cur, root);  // and a cycle back to the top
  std::string s = show(g, root);
  EXPECT_EQ(s.substr(0, 6), "&1 [\n ");
  EXPECT_NE(s.find("*1"), std::string::npos);
  size_t brackets = 0;
  for (char c : s) brackets += c == '[';
  EXPECT_EQ(brackets, static_cast<size_t>(depth));
  std::string j = json(g, root);
  EXPECT_EQ(j.substr(0, 60).find("{\"root\": 0, \"nodes\": [{\"t\": \"list\", \"items\": [1]}"), 0u);
  EXPECT_NE(j.find("{\"t\": \"list\", \"items\": [0]}]}"), std::string::npos);

  // Deep objects and dicts too (fewer: slower to build in Debug builds).
  Graph h;
  NodeId top = h.dict();
  NodeId at = top;
  const int odepth = 200000;
  for (int i = 0; i < odepth; ++i) {
    NodeId o = h.object(h.global("m", "C"), tuple(h, {}));
    NodeId d = h.dict();
    h.object_data(o).state = d;
    h.dict_set(at, h.integer(i % 3), o);
    at = d;
  }
  std::string s2 = show(h, top);
  EXPECT_GT(s2.size(), static_cast<size_t>(odepth) * 10);
  std::string j2 = json(h, top);
  EXPECT_GT(j2.size(), static_cast<size_t>(odepth) * 10);
}

TEST(Show, JsonFixed) {
  Graph g;
  NodeId l = g.list();
  NodeId s = g.str("abc");
  g.list_append(l, s);
  g.list_append(l, s);
  EXPECT_EQ(json(g, l), "{\"root\": 0, \"nodes\": [{\"t\": \"list\", \"items\": [1, 1]}, {\"t\": \"str\", \"v\": \"abc\"}]}");
  NodeId o = simple_object(g, "pickle");
  EXPECT_EQ(json(g, o),
            "{\"root\": 0, \"nodes\": [{\"t\": \"object\", \"callable\": 1, \"args\": 2, \"state\": 4, "
            "\"listitems\": [], \"dictitems\": []}, {\"t\": \"global\", \"module\": \"copyreg\", \"name\": "
            "\"__newobj__\"}, {\"t\": \"tuple\", \"items\": [3]}, {\"t\": \"global\", \"module\": \"__main__\", "
            "\"name\": \"SimpleObject\"}, {\"t\": \"dict\", \"items\": [[5, 6]]}, {\"t\": \"str\", \"v\": "
            "\"name\"}, {\"t\": \"str\", \"v\": \"pickle\"}]}");
  EXPECT_EQ(json(g, g.floating(-0.0)),
            "{\"root\": 0, \"nodes\": [{\"t\": \"float\", \"bits\": \"8000000000000000\", \"repr\": \"-0.0\"}]}");
  EXPECT_EQ(json(g, g.integer_decimal("-1267650600228229401496703205376")),
            "{\"root\": 0, \"nodes\": [{\"t\": \"int\", \"v\": \"-1267650600228229401496703205376\"}]}");
  EXPECT_EQ(json(g, g.str("\xed\xa0\x80\xe2\x82\xac\xf0\x9f\x98\x80\"\\\n\x7f\x01")),
            "{\"root\": 0, \"nodes\": [{\"t\": \"str\", \"v\": \"\\ud800\\u20ac\\ud83d\\ude00\\\"\\\\\\n\\u007f\\u0001\"}]}");
  EXPECT_EQ(json(g, g.bytearray(std::string("\x00\xab", 2))),
            "{\"root\": 0, \"nodes\": [{\"t\": \"bytearray\", \"hex\": \"00ab\"}]}");
  NodeId p = g.persid(g.none());
  EXPECT_EQ(json(g, tuple(g, {p, g.buffer(3, false), g.boolean(true)})),
            "{\"root\": 0, \"nodes\": [{\"t\": \"tuple\", \"items\": [1, 3, 4]}, {\"t\": \"persid\", \"pid\": 2}, "
            "{\"t\": \"none\"}, {\"t\": \"buffer\", \"index\": 3, \"readonly\": false}, {\"t\": \"bool\", \"v\": true}]}");
}

// Every str of every code point (surrogates included) survives json.loads,
// and json.dumps writes our document back byte for byte.
TEST(Show, JsonAgreesWithPython) {
  Graph g;
  NodeId root = g.list();
  std::string chunk;
  for (uint32_t cp = 0; cp < 0x110000; cp += (cp < 0x10000 ? 1 : 13)) {
    pkl::append_utf8(chunk, cp);
    // (Not U+DBFF then U+DC00 in one str: json.loads joins an escaped
    // surrogate pair into one code point, as it does for json.dumps.)
    if (chunk.size() > 300 || cp == 0xdbff) {
      g.list_append(root, g.str(chunk));
      chunk.clear();
    }
  }
  g.list_append(root, g.str(chunk));
  g.list_append(root, g.floating(std::numeric_limits<double>::quiet_NaN()));
  g.list_append(root, g.floating(5e-324));
  g.list_append(root, g.global("m\xc3\xa9", "q\"x"));
  std::string doc = json(g, root);

  char dir_template[] = "/tmp/pkl_show_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  std::string d(dir);
  std::ofstream(d + "/doc.json", std::ios::binary) << doc;
  std::ofstream(d + "/s.py") << R"PY(
import json, struct, sys
text = open(sys.argv[1], encoding="ascii").read()
doc = json.loads(text)
assert json.dumps(doc) == text, "json.dumps differs"
cps = []
for n in doc["nodes"]:
    if n["t"] == "str":
        cps.extend(ord(c) for c in n["v"])
    if n["t"] == "float":
        v = struct.unpack("<d", bytes.fromhex(n["bits"])[::-1])[0]
        assert repr(v) == n["repr"], n
expected = [cp for cp in range(0x110000) if cp < 0x10000 or (cp - 0x10000) % 13 == 0]
assert cps == expected, "code points differ"
print("ok")
)PY";
  std::string cmd = "python3 " + d + "/s.py " + d + "/doc.json > " + d + "/out.txt 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(d + "/out.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove((d + "/doc.json").c_str());
  std::remove((d + "/s.py").c_str());
  std::remove((d + "/out.txt").c_str());
  std::remove(d.c_str());
  EXPECT_EQ(rc, 0) << ss.str();
  EXPECT_EQ(ss.str(), "ok\n");
}

}  // namespace
