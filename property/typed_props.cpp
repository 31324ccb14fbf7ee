// RapidCheck properties of the typed layer (typed.hpp) over random nested
// standard types: load<T>(dump(v)) == v at protocols 0-5, and dump(v) is
// CPython's pickle.dumps of what CPython loads from it (the oracle server).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdlib>

#include "codec_backend.hpp"
#include "executor.hpp"
#include "oracle_backend.hpp"
#include "picklecodec/typed.hpp"

namespace {

// UTF-8 text from code points (lone surrogates included: a Python str may
// hold them, and pickle writes them as surrogatepass UTF-8).
std::string utf8_of(const std::vector<uint32_t>& cps) {
  std::string s;
  for (uint32_t c : cps) {
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xc0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xe0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return s;
}

rc::Gen<std::string> gen_text() {
  const auto cp = rc::gen::weightedOneOf<uint32_t>({{6, rc::gen::inRange<uint32_t>(0x20, 0x7f)},
                                                     {2, rc::gen::inRange<uint32_t>(0, 0x100)},
                                                     {1, rc::gen::inRange<uint32_t>(0x100, 0x110000)}});
  return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(cp), utf8_of);
}

rc::Gen<double> gen_double() {
  return rc::gen::map(rc::gen::arbitrary<double>(), [](double d) { return std::isnan(d) ? 0.25 : d; });
}

rc::Gen<pkl::bytes> gen_bytes() {
  return rc::gen::map(rc::gen::arbitrary<std::string>(), [](std::string s) { return pkl::bytes(std::move(s)); });
}

// A Python value of any shape: None, bool, int, float, str, bytes, list, dict.
struct Py {
  using List = std::vector<Py>;
  using Dict = std::map<std::string, Py>;
  std::variant<std::monostate, bool, int64_t, double, std::string, pkl::bytes, List, Dict> v;
  friend bool operator==(const Py&, const Py&) = default;
};
pkl::NodeId to_pickle(pkl::Dumper& d, const Py& p) { return d.dump(p.v); }
void from_pickle(pkl::Loader& l, pkl::NodeId n, Py& p) { l.load(n, p.v); }

rc::Gen<Py> gen_py(int depth) {
  const auto none = rc::gen::just(Py{});
  const auto boolean = rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return Py{b}; });
  const auto integer = rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return Py{i}; });
  const auto real = rc::gen::map(gen_double(), [](double x) { return Py{x}; });
  const auto text = rc::gen::map(gen_text(), [](std::string s) { return Py{std::move(s)}; });
  const auto data = rc::gen::map(gen_bytes(), [](pkl::bytes b) { return Py{std::move(b)}; });
  if (depth == 0)
    return rc::gen::weightedOneOf<Py>({{1, none}, {2, boolean}, {4, integer}, {3, real}, {4, text}, {2, data}});
  const auto item = rc::gen::lazy([depth] { return gen_py(depth - 1); });
  const auto list = rc::gen::map(rc::gen::container<Py::List>(item), [](Py::List l) { return Py{std::move(l)}; });
  const auto dict =
      rc::gen::map(rc::gen::container<Py::Dict>(gen_text(), item), [](Py::Dict m) { return Py{std::move(m)}; });
  return rc::gen::weightedOneOf<Py>(
      {{1, none}, {2, boolean}, {4, integer}, {3, real}, {4, text}, {2, data}, {2, list}, {2, dict}});
}

using Rows = std::map<std::string, std::vector<std::tuple<int64_t, double, std::optional<std::string>>>>;
using Mixed = std::tuple<std::unordered_map<int64_t, std::pair<std::string, bool>>, std::array<uint8_t, 3>,
                         std::optional<std::vector<uint64_t>>, std::vector<pkl::bytes>, std::vector<int16_t>>;

rc::Gen<Rows> gen_rows() {
  const auto row = rc::gen::tuple(rc::gen::arbitrary<int64_t>(), gen_double(),
                                  rc::gen::oneOf(rc::gen::just(std::optional<std::string>{}),
                                                 rc::gen::map(gen_text(), [](std::string s) {
                                                   return std::optional<std::string>(std::move(s));
                                                 })));
  return rc::gen::container<Rows>(gen_text(), rc::gen::container<typename Rows::mapped_type>(row));
}

rc::Gen<Mixed> gen_mixed() {
  return rc::gen::tuple(
      rc::gen::container<std::unordered_map<int64_t, std::pair<std::string, bool>>>(
          rc::gen::arbitrary<int64_t>(), rc::gen::pair(gen_text(), rc::gen::arbitrary<bool>())),
      rc::gen::arbitrary<std::array<uint8_t, 3>>(),
      rc::gen::oneOf(rc::gen::just(std::optional<std::vector<uint64_t>>{}),
                     rc::gen::map(rc::gen::arbitrary<std::vector<uint64_t>>(),
                                  [](std::vector<uint64_t> v) { return std::optional<std::vector<uint64_t>>(v); })),
      rc::gen::container<std::vector<pkl::bytes>>(gen_bytes()), rc::gen::arbitrary<std::vector<int16_t>>());
}

template <class T>
void check_roundtrip(const T& v) {
  for (int p = 0; p <= 5; ++p) {
    const std::string bytes = pkl::dump(v, p);
    RC_ASSERT(pkl::load<T>(bytes) == v);
    // the one encoder: the graph of the pickle writes the same bytes again
    const pkl::Graph g = pkl::decode(bytes);
    RC_ASSERT(pkl::encode(g, g.root(), {.protocol = p}) == bytes);
  }
}

// CPython loads our pickle and dumps it again at every protocol, by the
// harness's executor (an input case, against the oracle server): the
// codec's recode is CPython's, and our dump at every protocol is that recode.
template <class T>
void check_cpython(const T& v) {
  static pklharness::CodecBackend codec;
  static pklharness::OracleServer server;
  static pklharness::Executor executor(codec, server);
  const std::string bytes = pkl::dump(v, 5);
  const pklharness::Outcome o = executor.run({bytes});
  RC_ASSERT(o.status == pklharness::Outcome::Status::Same);
  const pklharness::Answer& recode = executor.subject_answer();
  RC_ASSERT(recode.dumps.size() == 6u);
  for (int p = 0; p <= 5; ++p) {
    const pklharness::Answer::Dump& d = recode.dumps[static_cast<size_t>(p)];
    RC_ASSERT(d.ok());
    RC_ASSERT(*d.bytes == pkl::dump(v, p));
  }
}

}  // namespace

RC_GTEST_PROP(TypedProperty, RoundTripAnyShape, ()) { check_roundtrip(*gen_py(4)); }
RC_GTEST_PROP(TypedProperty, RoundTripRows, ()) { check_roundtrip(*gen_rows()); }
RC_GTEST_PROP(TypedProperty, RoundTripMixed, ()) { check_roundtrip(*gen_mixed()); }
RC_GTEST_PROP(TypedProperty, MatchesCPythonAnyShape, ()) { check_cpython(*gen_py(4)); }
RC_GTEST_PROP(TypedProperty, MatchesCPythonRows, ()) { check_cpython(*gen_rows()); }
RC_GTEST_PROP(TypedProperty, MatchesCPythonMixed, ()) { check_cpython(*gen_mixed()); }
