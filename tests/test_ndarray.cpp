// numpy arrays (ndarray.hpp) against numpy itself: tests/fixtures/ndarray_cases.txt
// (gen_ndarray_fixtures.py, run by the python3 that has numpy) holds, for
// every array of the real-library corpus and for arrays made there, numpy's
// dtype.str, shape and tobytes(); and numpy's own pickles of the made
// arrays at protocols 0-5 (and protocol 5 out of band), which the writer
// must reproduce byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "picklecodec/ndarray.hpp"

namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

struct Expect {
  std::string dtype, shape, data;
  bool fortran = false;
};
struct Fixture {
  std::vector<std::tuple<std::string, std::string, Expect>> corpus;  // file, key, expected
  std::map<std::string, Expect> arrays;
  std::map<std::string, std::vector<std::string>> pickles;  // name -> 6 protocols
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> oob;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    std::ifstream in(std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/ndarray_cases.txt");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string tag;
      ls >> tag;
      if (tag == "corpus") {
        std::string file, key;
        Expect e;
        ls >> file >> key >> e.dtype >> e.shape >> e.data;
        e.data = unhex(e.data);
        f.corpus.emplace_back(file, key, e);
      } else if (tag == "array") {
        std::string name, fortran;
        Expect e;
        ls >> name >> e.dtype >> e.shape >> fortran >> e.data;
        e.fortran = fortran == "1";
        e.data = unhex(e.data);
        f.arrays[name] = e;
      } else if (tag == "pickle") {
        std::string name, hex;
        int p = 0;
        ls >> name >> p >> hex;
        auto& v = f.pickles[name];
        v.resize(6);
        v[p] = unhex(hex);
      } else if (tag == "oob") {
        std::string name, hex, buf;
        size_t n = 0;
        ls >> name >> hex >> n;
        std::vector<std::string> bufs;
        for (size_t i = 0; i < n && ls >> buf; ++i) bufs.push_back(buf == "-" ? "" : unhex(buf));
        f.oob[name] = {unhex(hex), bufs};
      }
    }
    return f;
  }();
  return f;
}

std::string read_file(const std::string& rel) {
  std::ifstream in(std::string(PICKLECODEC_SOURCE_DIR) + "/" + rel, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s.empty() ? "-" : s;
}

std::string data_of(const pkl::ndarray& a) { return std::string(reinterpret_cast<const char*>(a.data.data()), a.data.size()); }

void expect_array(const pkl::ndarray& a, const Expect& e, const std::string& what) {
  EXPECT_EQ(shape_text(a.shape), e.shape) << what;
  // numpy converts a big-endian array to native order when it loads one
  // below protocol 5 (_reconstruct); the view keeps the pickle's order:
  // the same values, the bytes of each item reversed.
  if (a.dtype.str()[0] == '>' && e.dtype[0] == '<' && a.dtype.str().substr(1) == e.dtype.substr(1)) {
    std::string swapped = data_of(a);
    const size_t w = a.dtype.kind == 'c' ? a.dtype.itemsize / 2 : a.dtype.kind == 'U' ? 4 : a.dtype.itemsize;
    for (size_t i = 0; i + w <= swapped.size(); i += w) std::reverse(swapped.begin() + i, swapped.begin() + i + w);
    EXPECT_EQ(swapped, e.data) << what;
    return;
  }
  EXPECT_EQ(a.dtype.str(), e.dtype) << what;
  EXPECT_EQ(data_of(a), e.data) << what;
}

TEST(Ndarray, EveryCorpusArrayReadsAsNumpySees) {
  ASSERT_GT(fixture().corpus.size(), 100u);
  std::map<std::string, pkl::Graph> graphs;
  for (const auto& [file, key, e] : fixture().corpus) {
    auto it = graphs.find(file);
    if (it == graphs.end()) it = graphs.emplace(file, pkl::decode(read_file(file))).first;
    const pkl::Graph& g = it->second;
    const pkl::Value root(g);
    pkl::NodeId n = g.root();
    if (key != "-") {
      std::string k = key;
      for (char& c : k)
        if (c == '_' && !root.contains(k)) c = ' ';
      n = root[k].node();
    }
    expect_array(pkl::as_ndarray(g, n), e, file + " " + key);
  }
}

TEST(Ndarray, MadeArraysReadAtEveryProtocolAndOutOfBand) {
  for (const auto& [name, e] : fixture().arrays) {
    if (e.dtype == "list") continue;
    for (int p = 0; p <= 5; ++p) {
      const auto a = pkl::load<pkl::ndarray>(fixture().pickles.at(name)[p]);
      expect_array(a, e, name + " protocol " + std::to_string(p));
      EXPECT_EQ(a.fortran_order, e.fortran) << name;
    }
    const auto& [data, buffers] = fixture().oob.at(name);
    pkl::DecodeOptions o;
    o.buffers = buffers;
    const auto a = pkl::load<pkl::ndarray>(data, o);
    expect_array(a, e, name + " out of band");
  }
}

TEST(Ndarray, DTypesAreDescribed) {
  const pkl::Graph g = pkl::decode(read_file("corpus/realworld/numpy_structured.p2.pickle"));
  const pkl::ndarray a = pkl::as_ndarray(g, g.root());
  // [('a', '<i4'), ('b', '<f8', (2,)), ('c', '<U3'), ('d', [('x', 'u1'), ('y', '?')])]
  ASSERT_EQ(a.dtype.fields.size(), 4u);
  EXPECT_EQ(a.dtype.fields[0].name, "a");
  EXPECT_EQ(a.dtype.fields[0].type->str(), "<i4");
  EXPECT_EQ(a.dtype.fields[1].offset, 4u);
  ASSERT_TRUE(a.dtype.fields[1].type->subarray_base);
  EXPECT_EQ(a.dtype.fields[1].type->subarray_base->str(), "<f8");
  EXPECT_EQ(a.dtype.fields[1].type->subarray_shape, std::vector<int64_t>{2});
  EXPECT_EQ(a.dtype.fields[2].type->str(), "<U3");
  EXPECT_EQ(a.dtype.fields[2].offset, 20u);
  ASSERT_EQ(a.dtype.fields[3].type->fields.size(), 2u);
  EXPECT_EQ(a.dtype.fields[3].type->fields[1].type->str(), "|b1");
  EXPECT_EQ(a.dtype.itemsize, 34u);

  const auto m = pkl::load<pkl::ndarray>(fixture().pickles.at("m8_ms")[4]);
  EXPECT_EQ(m.dtype.unit, "ms");
  EXPECT_EQ(m.dtype.unit_count, 5);
  EXPECT_EQ(m.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Ndarray, TypedAccessChecks) {
  const auto a = pkl::load<pkl::ndarray>(fixture().pickles.at("f4_2x3")[5]);
  const auto v = a.as<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(a.strides, (std::vector<int64_t>{12, 4}));
  try {
    a.as<double>();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the array holds <f4, not <f8");
  }
  // big-endian items: no view, a swapped copy
  const auto be = pkl::load<pkl::ndarray>(fixture().pickles.at("i2_big_endian")[2]);
  try {
    be.as<int16_t>();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the array's items are >i2, not in this machine's byte order: use to_vector()");
  }
  EXPECT_EQ(be.to_vector<int16_t>(), (std::vector<int16_t>{1, -2, 300}));
  const auto c = pkl::load<pkl::ndarray>(fixture().pickles.at("c16_2")[3]);
  EXPECT_EQ(c.as<std::complex<double>>()[0], std::complex<double>(1, 2));
  const auto f = pkl::load<pkl::ndarray>(fixture().pickles.at("f8_fortran")[4]);
  EXPECT_TRUE(f.fortran_order);
  EXPECT_EQ(f.strides, (std::vector<int64_t>{8, 16}));
  // the data is the decoded bytes: a view into the graph, not a copy
  const pkl::Graph g = pkl::decode(fixture().pickles.at("f4_2x3")[4]);
  const pkl::ndarray view = pkl::as_ndarray(g, g.root());
  const auto st = g.items(g.object_data(g.root()).state);
  EXPECT_EQ(static_cast<const void*>(view.data.data()), static_cast<const void*>(g.as_bytes(st[4]).data()));
}

TEST(Ndarray, NotAnArray) {
  auto msg = [](const std::string& bytes) {
    try {
      pkl::load<pkl::ndarray>(bytes);
    } catch (const pkl::Error& e) {
      return e.message();
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(msg(pkl::dump(std::vector<int>{1})), "expected a numpy array, got list");
  EXPECT_EQ(msg(read_file("corpus/realworld/numpy_object.p4.pickle")),
            "an object array (dtype O) holds Python objects, not a buffer");
  // a shape that the data does not fill
  pkl::Graph g = pkl::decode(fixture().pickles.at("f4_2x3")[2]);
  pkl::ObjectData& od = g.object_data(g.root());
  std::vector<pkl::NodeId> st(g.items(od.state).begin(), g.items(od.state).end());
  const pkl::NodeId dims[2] = {g.integer(2), g.integer(4)};
  st[1] = g.tuple(dims);
  od.state = g.tuple(st);
  try {
    pkl::as_ndarray(g, g.root());
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the data holds 24 bytes, the shape and dtype need 32");
  }
}

// Each refusal of a malformed array, with its one wording: a negative
// dimension, a shape whose size overflows, a dtype numpy does not know.
TEST(Ndarray, MalformedShapesAndDTypes) {
  auto refusal = [](auto&& edit) {
    pkl::Graph g = pkl::decode(fixture().pickles.at("f4_2x3")[2]);
    pkl::ObjectData& od = g.object_data(g.root());
    std::vector<pkl::NodeId> st(g.items(od.state).begin(), g.items(od.state).end());
    edit(g, st);
    od.state = g.tuple(st);
    try {
      pkl::as_ndarray(g, g.root());
    } catch (const pkl::Error& e) {
      return e.message();
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(refusal([](pkl::Graph& g, std::vector<pkl::NodeId>& st) {
              const pkl::NodeId dims[2] = {g.integer(2), g.integer(-3)};
              st[1] = g.tuple(dims);
            }),
            "a negative dimension");
  EXPECT_EQ(refusal([](pkl::Graph& g, std::vector<pkl::NodeId>& st) {
              const pkl::NodeId dims[2] = {g.integer(int64_t{1} << 40), g.integer(int64_t{1} << 40)};
              st[1] = g.tuple(dims);
            }),
            "the shape's size overflows");
  EXPECT_EQ(refusal([](pkl::Graph& g, std::vector<pkl::NodeId>& st) {
              pkl::ObjectData& dt = g.object_data(st[2]);
              std::vector<pkl::NodeId> args(g.items(dt.args).begin(), g.items(dt.args).end());
              args[0] = g.str("f4x");
              dt.args = g.tuple(args);
            }),
            "unknown dtype f4x");
}

// Every made array read from numpy's pickle and written again: numpy's bytes
// at every protocol (so numpy loads it as the same array).
TEST(Ndarray, WritesNumpysBytes) {
  for (const auto& [name, e] : fixture().arrays) {
    if (e.dtype == "list") continue;
    const auto a = pkl::load<pkl::ndarray>(fixture().pickles.at(name)[4]);
    for (int p = 0; p <= 5; ++p) EXPECT_EQ(pkl::dump(a, p), fixture().pickles.at(name)[p]) << name << " protocol " << p;
  }
}

TEST(Ndarray, WritesCppBuffers) {
  const std::vector<float> f{0, 1, 2, 3, 4, 5};
  const std::vector<double> col{0, 1, 2};
  const std::vector<int64_t> i{-2, -1, 0, 1, 2};
  const std::vector<std::complex<double>> c{{1, 2}, {-0.0, -1}};  // Python's -1j is (-0-1j)
  const std::vector<double> fortran{0, 3, 1, 4, 2, 5};  // np.asfortranarray(np.arange(6.).reshape(2, 3))
  for (int p = 0; p <= 5; ++p) {
    const auto arr = pkl::ndarray::of(f, {2, 3});
    EXPECT_EQ(pkl::dump(arr, p), fixture().pickles.at("f4_2x3")[p]) << p;
    EXPECT_EQ(pkl::dump(pkl::ndarray::of(i), p), fixture().pickles.at("i8_5")[p]) << p;
    EXPECT_EQ(pkl::dump(pkl::ndarray::of(c), p), fixture().pickles.at("c16_2")[p]) << p;
    EXPECT_EQ(pkl::dump(pkl::ndarray::of(fortran, {2, 3}, true), p), fixture().pickles.at("f8_fortran")[p]) << p;
    EXPECT_EQ(pkl::dump(pkl::ndarray::of(col, {3, 1}, true), p), fixture().pickles.at("f8_column_fortran")[p]) << p;
    // two arrays of one dtype: numpy's dtype is one object, written once
    const std::vector<float> rev{3, 4, 5, 0, 1, 2};
    EXPECT_EQ(pkl::dump(std::vector<pkl::ndarray>{arr, pkl::ndarray::of(rev, {2, 3})}, p),
              fixture().pickles.at("two_f4")[p])
        << p;
  }
  try {
    pkl::dump(pkl::ndarray::of(f, {4, 2}));
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the data holds 24 bytes, the shape and dtype need 32");
  }
}

}  // namespace
