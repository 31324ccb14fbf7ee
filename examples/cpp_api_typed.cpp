// docs/cpp-api.md, "Typed load and dump": every snippet of that section, run
// by ctest (example_cpp_api_typed); tests/cpp_api_docs_test.py checks that the
// document quotes this file exactly. Exits 1 if a result is not the one shown.
#include <picklecodec/typed.hpp>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "doc_check.hpp"

// [doc:adl]
namespace geo {
struct Point {
  double x = 0, y = 0;
};
// Found by argument-dependent lookup: a Point is the tuple (x, y).
pkl::NodeId to_pickle(pkl::Dumper& d, const Point& p) { return d.dump(std::make_tuple(p.x, p.y)); }
void from_pickle(pkl::Loader& l, pkl::NodeId n, Point& p) {
  std::tie(p.x, p.y) = l.load<std::tuple<double, double>>(n);
}
}  // namespace geo
// [/doc:adl]

int main() {
  // [doc:dump]
  std::map<std::string, std::vector<double>> series{{"x", {1.0, 2.5}}, {"y", {}}};
  std::string bytes = pkl::dump(series);       // pickle.dumps({'x': [1.0, 2.5], 'y': []})
  std::string p2 = pkl::dump(series, 2);       // protocol 2
  auto back = pkl::load<std::map<std::string, std::vector<double>>>(bytes);
  // [/doc:dump]
  CHECK(back == series);
  CHECK(p2.substr(0, 2) == "\x80\x02");

  // [doc:errors]
  // pickle.dumps([{'b': 1}, {'b': 'x'}])
  std::string rows = pkl::dump(std::vector<std::map<std::string, std::variant<int, std::string>>>{
      {{"b", 1}}, {{"b", "x"}}});
  try {
    pkl::load<std::vector<std::map<std::string, int>>>(rows);
  } catch (const pkl::Error& e) {
    std::cout << e.what() << "\n";             // [1]['b']: expected int, got str
  }
  // [/doc:errors]
  try {
    pkl::load<std::vector<std::map<std::string, int>>>(rows);
    CHECK(false);
  } catch (const pkl::Error& e) {
    CHECK(e.message() == "[1]['b']: expected int, got str");
    CHECK(e.code() == pkl::ErrorCode::TypeError);
  }

  // [doc:shared]
  auto name = std::make_shared<std::string>("shared");
  std::vector<std::shared_ptr<std::string>> two{name, name};   // one str object, written once
  auto again = pkl::load<std::vector<std::shared_ptr<std::string>>>(pkl::dump(two));
  // again[0] == again[1]: the same std::string
  // [/doc:shared]
  CHECK(again.size() == 2 && again[0] == again[1] && *again[0] == "shared");

  // [doc:value]
  pkl::Graph g = pkl::decode(bytes);           // keep the graph: Values point into it
  pkl::Value root(g);
  double x1 = root["x"][1].get<double>();      // 2.5
  auto columns = root.get<std::map<std::string, pkl::Value>>();
  std::cout << columns.at("y").type_name() << " of " << columns.at("y").size() << "\n";  // list of 0
  std::string same = pkl::dump(root);          // a Value dumps as the part of the graph it views
  // [/doc:value]
  CHECK(x1 == 2.5);
  CHECK(same == bytes);

  // [doc:adl-use]
  std::vector<geo::Point> path{{0, 0}, {1.5, 2}};
  std::string tuples = pkl::dump(path);        // pickle.dumps([(0.0, 0.0), (1.5, 2.0)])
  auto path2 = pkl::load<std::vector<geo::Point>>(tuples);
  // [/doc:adl-use]
  CHECK(path2.size() == 2 && path2[1].x == 1.5 && path2[1].y == 2);
  CHECK(tuples == pkl::dump(std::vector<std::tuple<double, double>>{{0, 0}, {1.5, 2}}));
  return 0;
}
