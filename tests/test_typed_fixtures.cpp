// pkl::dump of C++ values against CPython's pickle.dumps of the equivalent
// Python values (tests/fixtures/typed_cases.txt, made by
// tests/fixtures/gen_typed_fixtures.py), byte for byte at protocols 0-5, and
// pkl::load of CPython's bytes giving the C++ value back.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "picklecodec/typed.hpp"

namespace {

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// name -> the 6 pickles
const std::map<std::string, std::vector<std::string>>& fixtures() {
  static const auto m = [] {
    std::map<std::string, std::vector<std::string>> out;
    std::ifstream in(std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/typed_cases.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string name, hex;
      int p = 0;
      ls >> name >> p >> hex;
      auto& v = out[name];
      v.resize(6);
      v[p] = unhex(hex);
    }
    return out;
  }();
  return m;
}

enum class Color : int8_t { Red = 1, Green = 2 };

// Each case: dump at protocols 0-5 equals CPython's bytes, and load of
// CPython's bytes equals the value.
struct Case {
  std::string name;
  std::function<std::string(int protocol)> dump;
  std::function<bool(const std::string& pickle)> load_equals;
};

template <class T>
Case make(std::string name, T value) {
  return Case{std::move(name), [value](int p) { return pkl::dump(value, p); },
              [value](const std::string& bytes) { return pkl::load<T>(bytes) == value; }};
}

// For vectors of shared_ptrs: equal values, and the same sharing.
template <class T>
Case make_shared_case(std::string name, std::vector<std::shared_ptr<T>> value) {
  return Case{std::move(name), [value](int p) { return pkl::dump(value, p); },
              [value](const std::string& bytes) {
                const auto got = pkl::load<std::vector<std::shared_ptr<T>>>(bytes);
                if (got.size() != value.size()) return false;
                for (size_t i = 0; i < got.size(); ++i) {
                  if (!got[i] || *got[i] != *value[i]) return false;
                  for (size_t j = 0; j < got.size(); ++j)
                    if ((got[i] == got[j]) != (value[i] == value[j])) return false;
                }
                return true;
              }};
}

std::vector<Case> cases() {
  using namespace std::string_literals;
  std::vector<Case> c;
  c.push_back(make("bool_true", true));
  c.push_back(make("bool_false", false));
  c.push_back(make("int_small", 5));
  c.push_back(make("int_neg", int16_t{-300}));
  c.push_back(make("int_i32_max", int32_t{2147483647}));
  c.push_back(make("int_i64_max", std::numeric_limits<int64_t>::max()));
  c.push_back(make("int_i64_min", std::numeric_limits<int64_t>::min()));
  c.push_back(make("int_u64_max", std::numeric_limits<uint64_t>::max()));
  c.push_back(make("float_half", 1.5));
  c.push_back(make("float_negzero", -0.0));
  c.push_back(make("float_big", 1e300));
  c.push_back(make("str_empty", ""s));
  c.push_back(make("str_one", "a"s));
  c.push_back(make("str_latin1", "h\xc3\xa9llo"s));
  c.push_back(make("str_cjk", "\xe6\x97\xa5\xe6\x9c\xac"s));
  c.push_back(make("str_surrogate", "\xed\xa0\x80x"s));
  c.push_back(make("bytes_empty", pkl::bytes("")));
  c.push_back(make("bytes_one", pkl::bytes(std::string(1, '\0'))));
  c.push_back(make("bytes_abc", pkl::bytes("abc")));
  c.push_back(make("list_ints", std::vector<int>{1, 2, 3}));
  c.push_back(make("list_empty", std::vector<std::string>{}));
  c.push_back(make("list_strs", std::vector<std::string>{"ab", "ab"}));
  c.push_back(make("list_bools", std::vector<bool>{true, false, true}));
  c.push_back(make("array_ints", std::array<long, 3>{7, 8, 9}));
  c.push_back(make("tuple_mixed", std::tuple<int, std::string, double>{1, "x", 2.5}));
  c.push_back(make("tuple_empty", std::tuple<>{}));
  c.push_back(make("pair", std::pair<std::string, int>{"k", 1}));
  c.push_back(make("dict_str_int", std::map<std::string, int>{{"a", 1}, {"b", 2}}));
  c.push_back(make("dict_int_str", std::map<int, std::string>{{1, "one"}, {2, "two"}}));
  c.push_back(make("set_ints", std::set<int>{1, 2, 3}));
  c.push_back(make("optional_none", std::optional<int>{}));
  c.push_back(make("optional_some", std::optional<int>{5}));
  c.push_back(make("variant_str", std::variant<int, std::string>{"x"}));
  {
    auto s = std::make_shared<std::string>("shared");
    c.push_back(make_shared_case("shared_str", std::vector<std::shared_ptr<std::string>>{s, s}));
    auto l = std::make_shared<std::vector<int>>(std::vector<int>{1, 2});
    c.push_back(make_shared_case("shared_list", std::vector<std::shared_ptr<std::vector<int>>>{
                                        l, l, std::make_shared<std::vector<int>>(std::vector<int>{1, 2})}));
  }
  using Pairs = std::vector<std::tuple<int, std::optional<std::string>>>;
  c.push_back(make("nested", std::map<std::string, Pairs>{{"xs", {{1, "one"}, {2, std::nullopt}}}, {"ys", {}}}));
  using Scalar = std::variant<std::string, int64_t, double>;
  c.push_back(make("seed_dict", std::vector<std::map<std::string, Scalar>>{{{"a", "A"}, {"b", 2}, {"c", 3.0}}}));
  {
    std::vector<double> f;
    for (int i = 0; i < 10; ++i) f.push_back(0.5 * i);
    c.push_back(make("floats", f));
  }
  c.push_back(make("dict_tuple_keys",
                   std::map<std::pair<int, int>, std::string>{{{1, 2}, "a"}, {{3, 4}, "b"}}));
  c.push_back(make("enum_value", Color::Green));
  c.push_back(make("uint8s", std::vector<uint8_t>{0, 255}));
  return c;
}

TEST(TypedFixtures, EveryCaseMatchesCPython) {
  const auto all = cases();
  EXPECT_EQ(all.size(), fixtures().size()) << "the fixture and the C++ cases list different values";
  for (const Case& c : all) {
    auto it = fixtures().find(c.name);
    ASSERT_NE(it, fixtures().end()) << c.name << " missing from typed_cases.txt";
    for (int p = 0; p <= 5; ++p) {
      EXPECT_EQ(c.dump(p), it->second[p]) << c.name << " at protocol " << p;
      EXPECT_TRUE(c.load_equals(it->second[p])) << c.name << " loaded from CPython's protocol " << p;
    }
  }
}

}  // namespace
