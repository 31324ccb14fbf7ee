// Classes bound with PKL_CLASS (binding.hpp) against CPython: the bytes of
// tests/fixtures/typed_class_cases.txt (gen_typed_class_fixtures.py: plain
// Python classes with the same attributes and hooks) at protocols 0-5, both
// ways; Python's falsy-state rules; errors that name the attribute.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "picklecodec/binding.hpp"

namespace geometry {

struct Point {
  double x = 0, y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
PKL_CLASS(Point, "geometry", "Point", x, y)

struct Empty {
  friend bool operator==(const Empty&, const Empty&) = default;
};
PKL_CLASS(Empty, "geometry", "Empty")

class Counter {
 public:
  Counter() = default;
  explicit Counter(int n) : n_(n) {}
  int pkl_getstate() const { return n_; }
  void pkl_setstate(const int& n) {
    n_ = n;
    ++setstate_calls;
  }
  int n() const { return n_; }
  int setstate_calls = 0;

 private:
  int n_ = -1;
  PKL_CLASS_INTRUSIVE(Counter, "geometry", "Counter")
};

struct Pair {
  int a = 0;
  std::string b;
  Pair() = default;
  Pair(int a_, std::string b_) : a(a_), b(std::move(b_)), made_by_new(true) {}
  std::tuple<int, std::string> pkl_getnewargs() const { return {a, b}; }
  bool made_by_new = false;
};
PKL_CLASS(Pair, "geometry", "Pair", a, b)

struct Line {
  std::shared_ptr<Point> start, end;
  std::string label;
};
PKL_CLASS(Line, "geometry", "Line", start, end, label)

struct Tags {
  std::vector<std::string> names;
  std::optional<double> weight;
  friend bool operator==(const Tags&, const Tags&) = default;
};
PKL_CLASS(Tags, "geometry", "Tags", names, weight)

struct Slotted {
  double x = 0, y = 0;
};
PKL_CLASS(Slotted, "geometry", "Slotted", x, y)

struct Half {  // x in the instance dict, y in a slot
  double x = 0, y = 0;
};
PKL_CLASS(Half, "geometry", "Half", x, y)

}  // namespace geometry

namespace {

using namespace geometry;

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

const std::string& fixture(const std::string& name, int protocol) {
  static const auto m = [] {
    std::map<std::pair<std::string, int>, std::string> out;
    std::ifstream in(std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/typed_class_cases.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string n, hex;
      int p = 0;
      ls >> n >> p >> hex;
      out[{n, p}] = hex == "-" ? "-" : unhex(hex);
    }
    return out;
  }();
  return m.at({name, protocol});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pkl::Error& e) {
    return e.message();
  }
  return "(no error)";
}

TEST(TypedBinding, AttributesMatchCPython) {
  for (int p = 0; p <= 5; ++p) {
    EXPECT_EQ(pkl::dump(Point{1.5, -2.0}, p), fixture("point", p)) << p;
    EXPECT_EQ(pkl::load<Point>(fixture("point", p)), (Point{1.5, -2.0})) << p;
    EXPECT_EQ(pkl::dump(std::vector<Point>{{0, 0}, {1, 1}}, p), fixture("points", p)) << p;
    EXPECT_EQ(pkl::load<std::vector<Point>>(fixture("points", p)), (std::vector<Point>{{0, 0}, {1, 1}}));
    const Tags tags{{"a", "b"}, std::nullopt};
    EXPECT_EQ(pkl::dump(tags, p), fixture("tags", p)) << p;
    EXPECT_EQ(pkl::load<Tags>(fixture("tags", p)), tags);
  }
}

// No attributes: the state is None, so no BUILD at any protocol.
TEST(TypedBinding, EmptyInstanceWritesNoState) {
  for (int p = 0; p <= 5; ++p) {
    const std::string bytes = pkl::dump(Empty{}, p);
    EXPECT_EQ(bytes, fixture("empty", p)) << p;
    const pkl::Graph g = pkl::decode(bytes);
    EXPECT_EQ(g.object_data(g.root()).state, pkl::kNoNode) << "a BUILD at protocol " << p;
    EXPECT_EQ(pkl::load<Empty>(bytes), Empty{});
  }
}

// __getstate__ returning 0: falsy, so protocols 0-1 write no BUILD (and
// loading does not call __setstate__); protocols 2+ write BUILD of 0.
TEST(TypedBinding, FalsyStateRules) {
  for (int p = 0; p <= 5; ++p) {
    EXPECT_EQ(pkl::dump(Counter(0), p), fixture("counter_zero", p)) << p;
    EXPECT_EQ(pkl::dump(Counter(5), p), fixture("counter_five", p)) << p;
    const Counter zero = pkl::load<Counter>(fixture("counter_zero", p));
    EXPECT_EQ(zero.setstate_calls, p < 2 ? 0 : 1) << p;
    EXPECT_EQ(zero.n(), p < 2 ? -1 : 0) << p;  // -1: the default, never set
    const Counter five = pkl::load<Counter>(fixture("counter_five", p));
    EXPECT_EQ(five.setstate_calls, 1);
    EXPECT_EQ(five.n(), 5);
  }
}

// __getnewargs__: NEWOBJ's arguments from protocol 2 on (then T(a, b) on
// load); below, copyreg._reconstructor and the attribute dict.
TEST(TypedBinding, NewArgs) {
  for (int p = 0; p <= 5; ++p) {
    EXPECT_EQ(pkl::dump(Pair(7, "seven"), p), fixture("pair", p)) << p;
    const Pair back = pkl::load<Pair>(fixture("pair", p));
    EXPECT_EQ(back.a, 7);
    EXPECT_EQ(back.b, "seven");
    EXPECT_EQ(back.made_by_new, p >= 2) << p;
  }
}

TEST(TypedBinding, SharedMembers) {
  auto pt = std::make_shared<Point>(Point{1.5, -2.0});
  const Line line{pt, pt, "loop"};
  for (int p = 0; p <= 5; ++p) {
    EXPECT_EQ(pkl::dump(line, p), fixture("line_shared", p)) << p;
    const Line back = pkl::load<Line>(fixture("line_shared", p));
    ASSERT_TRUE(back.start);
    EXPECT_EQ(back.start, back.end);
    EXPECT_EQ(*back.start, *pt);
    EXPECT_EQ(back.label, "loop");
  }
}

TEST(TypedBinding, ErrorsNameTheAttribute) {
  // a Tags whose names hold an int: geometry.Tags([1], None)
  struct BadTags {
    std::vector<int> names;
    std::optional<double> weight;
  };
  const std::string tags = fixture("tags", 2);
  EXPECT_EQ(error_of([&] { pkl::load<Point>(tags); }), "expected geometry.Point, got geometry.Tags");
  EXPECT_EQ(error_of([&] { pkl::load<Point>(pkl::dump(std::vector<int>{})); }), "expected geometry.Point, got list");
  const std::string bad = pkl::dump(std::vector<Tags>{{{"ok"}, 1.0}, {{"x"}, std::nullopt}});
  EXPECT_EQ(error_of([&] { pkl::load<std::vector<Point>>(bad); }), "[0]: expected geometry.Point, got geometry.Tags");
  // the attribute's path: build Tags with a float where a str belongs through the Graph API
  pkl::Graph g = pkl::decode(fixture("tags", 2));
  const pkl::NodeId state = g.object_data(g.root()).state;
  const pkl::NodeId names = pkl::detail::dict_str_get(g, state, "names");
  g.list_set(names, 1, g.floating(2.5));
  EXPECT_EQ(error_of([&] { pkl::from_graph<Tags>(g); }), ".names[1]: expected str, got float");
  EXPECT_EQ(error_of([&] { pkl::dump(Line{nullptr, nullptr, "\xff"}); }), ".label: std::string is not UTF-8: a str must be");
}

// Python classes with __slots__: the state (None, slots) or (dict, slots)
// sets the members from both dicts (CPython refuses them below protocol 2).
TEST(TypedBinding, SlotsStates) {
  for (int p = 2; p <= 5; ++p) {
    const Slotted s = pkl::load<Slotted>(fixture("slotted", p));
    EXPECT_EQ(s.x, 1.5);
    EXPECT_EQ(s.y, 2.5);
    const Half h = pkl::load<Half>(fixture("half", p));
    EXPECT_EQ(h.x, 3.5);
    EXPECT_EQ(h.y, 4.5);
  }
  EXPECT_EQ(fixture("slotted", 1), "-");
}

// Unknown attributes are ignored; missing ones keep their defaults.
TEST(TypedBinding, MissingAndExtraAttributes) {
  // geometry.Point with only x, and an extra attribute z: built in the graph
  pkl::Graph g = pkl::decode(fixture("point", 4));
  pkl::ObjectData& od = g.object_data(g.root());
  const pkl::NodeId d = g.dict();
  g.dict_set(d, g.str("x"), g.floating(4.0));
  g.dict_set(d, g.str("z"), g.str("extra"));
  od.state = d;
  EXPECT_EQ(pkl::from_graph<Point>(g), (Point{4.0, 0.0}));
}

}  // namespace
