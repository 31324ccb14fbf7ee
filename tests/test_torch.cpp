// PyTorch checkpoints (torch.hpp) against torch itself: the checkpoints of
// tests/fixtures/gen_torch_fixtures.py (a small model's state dict, tensors
// of every plain dtype, shared storages, strided views, a Parameter), zip
// and legacy, each tensor's values equal to what torch says
// (torch_small.txt): the committed ones, and fresh ones written by the
// machine's torch at test time (skipped when /usr/bin/python3 has no torch).
#include <gtest/gtest.h>

#include <array>
#include <complex>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "picklecodec/torch.hpp"

namespace {

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Expect {
  std::string name, dtype, shape;
  int64_t offset = 0;
  bool contiguous = false;
  std::string data;
};

std::vector<Expect> expectations(const std::string& txt) {
  std::vector<Expect> out;
  std::istringstream in(read_file(txt));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Expect e;
    int contiguous = 0;
    std::string hex;
    ls >> e.name >> e.dtype >> e.shape >> e.offset >> contiguous >> hex;
    e.contiguous = contiguous != 0;
    e.data = hex == "-" ? "" : unhex(hex);
    out.push_back(e);
  }
  return out;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s.empty() ? "-" : s;
}

// Every tensor of the checkpoint, in order, as torch described it.
void check_checkpoint(const pkl::torch::Checkpoint& ck, const std::vector<Expect>& want, const std::string& what) {
  const auto tensors = ck.tensors();
  ASSERT_EQ(tensors.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const Expect& e = want[i];
    EXPECT_EQ(name, e.name) << what;
    EXPECT_EQ(t.dtype, e.dtype) << what << " " << name;
    EXPECT_EQ(shape_text(t.shape), e.shape) << what << " " << name;
    EXPECT_EQ(t.storage_offset, e.offset) << what << " " << name;
    EXPECT_EQ(t.is_contiguous(), e.contiguous) << what << " " << name;
    std::string got;
    switch (t.element_size) {
      case 1: { auto v = t.to_vector<uint8_t>(); got.assign(reinterpret_cast<const char*>(v.data()), v.size()); break; }
      case 2: { auto v = t.to_vector<uint16_t>(); got.assign(reinterpret_cast<const char*>(v.data()), v.size() * 2); break; }
      case 4: { auto v = t.to_vector<float>(); got.assign(reinterpret_cast<const char*>(v.data()), v.size() * 4); break; }
      case 8: { auto v = t.to_vector<double>(); got.assign(reinterpret_cast<const char*>(v.data()), v.size() * 8); break; }
      case 16: {
        auto v = t.to_vector<std::complex<double>>();
        got.assign(reinterpret_cast<const char*>(v.data()), v.size() * 16);
        break;
      }
      default: FAIL() << "element size " << t.element_size;
    }
    EXPECT_EQ(got, e.data) << what << " " << name;
  }
}

const std::string kFixtures = std::string(PICKLECODEC_SOURCE_DIR) + "/tests/fixtures/";

TEST(Torch, CommittedZipCheckpoint) {
  const auto ck = pkl::torch::Checkpoint::open(kFixtures + "torch_small.pt");
  EXPECT_TRUE(ck.is_zip());
  EXPECT_EQ(ck.version(), "3");
  EXPECT_EQ(ck.byteorder(), "little");
  check_checkpoint(ck, expectations(kFixtures + "torch_small.txt"), "zip");
}

TEST(Torch, CommittedLegacyCheckpoint) {
  const auto ck = pkl::torch::Checkpoint::open(kFixtures + "torch_small_legacy.pt");
  EXPECT_FALSE(ck.is_zip());
  EXPECT_EQ(ck.version(), "1001");
  check_checkpoint(ck, expectations(kFixtures + "torch_small.txt"), "legacy");
}

TEST(Torch, FreshCheckpointsFromTheMachinesTorch) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 has no torch (Debian's python3-torch): fresh checkpoints not made";
  const std::string dir = ::testing::TempDir() + "/torch_fresh";
  const std::string cmd = "mkdir -p " + dir + " && /usr/bin/python3 " + kFixtures + "gen_torch_fixtures.py " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto want = expectations(dir + "/torch_small.txt");
  check_checkpoint(pkl::torch::Checkpoint::open(dir + "/torch_small.pt"), want, "fresh zip");
  check_checkpoint(pkl::torch::Checkpoint::open(dir + "/torch_small_legacy.pt"), want, "fresh legacy");
}

TEST(Torch, SharedStoragesAndViewsWithoutCopies) {
  const std::string bytes = read_file(kFixtures + "torch_small.pt");
  const auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  const auto ck = pkl::torch::Checkpoint::from_memory(span);
  std::map<std::string, pkl::torch::Tensor> by_name;
  for (const auto& [n, t] : ck.tensors()) by_name.emplace(n, t);
  const auto& base = by_name.at("views.base");
  const auto& row = by_name.at("views.row");
  const auto& tr = by_name.at("views.transposed");
  EXPECT_EQ(base.storage, row.storage);  // one storage, one object
  EXPECT_EQ(base.storage, tr.storage);
  EXPECT_EQ(row.storage_offset, 4);
  EXPECT_EQ(tr.strides, (std::vector<int64_t>{1, 4}));
  // the data is the archive's bytes in place
  const auto b = base.bytes();
  EXPECT_GE(reinterpret_cast<const uint8_t*>(b.data()), span.data());
  EXPECT_LE(reinterpret_cast<const uint8_t*>(b.data() + b.size()), span.data() + span.size());
  EXPECT_EQ(row.as<float>()[0], 4.0f);
  EXPECT_EQ(tr.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  try {
    tr.as<float>();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the tensor is not contiguous: use to_vector()");
  }
  try {
    base.as<double>();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the tensor holds float32 (4-byte elements), not 8-byte ones");
  }
  EXPECT_TRUE(by_name.at("param").is_parameter);
  EXPECT_TRUE(by_name.at("param").requires_grad);
  EXPECT_EQ(ck.storages().size(), 24u);
}

TEST(Torch, ShowPrintsTheTree) {
  const auto ck = pkl::torch::Checkpoint::open(kFixtures + "torch_small.pt");
  std::ostringstream out;
  ck.show(out);
  const std::string s = out.str();
  EXPECT_NE(s.find("torch checkpoint (zip format, version 3, little-endian, 24 storages)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("\n  model: OrderedDict (9 items)\n    0.weight: float32 [3, 4] storage 0\n"), std::string::npos) << s;
  EXPECT_NE(s.find("    transposed: float32 [4, 3] (strided) storage "), std::string::npos) << s;
  EXPECT_NE(s.find("\n  step: 7\n"), std::string::npos) << s;
}

TEST(Torch, DetectsByContent) {
  const std::string zip = read_file(kFixtures + "torch_small.pt");
  const std::string legacy = read_file(kFixtures + "torch_small_legacy.pt");
  auto head = [](const std::string& s) { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  EXPECT_TRUE(pkl::torch::Checkpoint::looks_like_checkpoint(head(zip)));
  EXPECT_TRUE(pkl::torch::Checkpoint::looks_like_checkpoint(head(legacy)));
  EXPECT_FALSE(pkl::torch::Checkpoint::looks_like_checkpoint(head(std::string("\x80\x04K\x01.", 5))));
}

// A tensor's elements count against Limits::max_total_bytes, its storage's
// or not: 100000 float32 elements over one stored element.
TEST(Torch, ExpandedTensorIsWithinTheBudget) {
  pkl::DecodeOptions o;
  o.limits.max_total_bytes = 400000;
  const auto ck = pkl::torch::Checkpoint::open(kFixtures + "torch_expanded.pt", o);
  const auto t = ck.tensors();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].second.strides, std::vector<int64_t>{0});
  EXPECT_EQ(t[0].second.to_vector<float>(), std::vector<float>(100000, 0.0f));
  o.limits.max_total_bytes = 399999;
  const auto tight = pkl::torch::Checkpoint::open(kFixtures + "torch_expanded.pt", o);
  try {
    tight.tensors();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.code(), pkl::ErrorCode::ResourceLimit);
    EXPECT_EQ(e.message(), "a tensor of 100000 elements exceeds the budget (max_total_bytes)");
  }
}

// An archive whose byteorder record says big: the same bytes are numbers of
// the other order, which to_vector() swaps (complex numbers half by half)
// and as<T>() refuses to view.
TEST(Torch, BigEndianArchive) {
  const std::string dir = ::testing::TempDir();
  const std::string big = dir + "/torch_big.pt";
  const std::string cmd = "python3 -c \"import sys, zipfile\n"
                          "src = zipfile.ZipFile(sys.argv[1]); dst = zipfile.ZipFile(sys.argv[2], 'w')\n"
                          "for i in src.infolist(): dst.writestr(i, src.read(i))\n"
                          "dst.writestr('torch_small/byteorder', 'big')\n"
                          "dst.close()\" " + kFixtures + "torch_small.pt " + big;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto little = pkl::torch::Checkpoint::open(kFixtures + "torch_small.pt");
  const auto swapped = pkl::torch::Checkpoint::open(big);
  EXPECT_EQ(swapped.byteorder(), "big");
  const auto lt = little.tensors();
  const auto bt = swapped.tensors();
  ASSERT_EQ(lt.size(), bt.size());
  for (size_t i = 0; i < lt.size(); ++i) {
    const auto& a = lt[i].second;
    const auto& b = bt[i].second;
    if (a.element_size != 4 && a.element_size != 16) continue;
    if (a.element_size == 4) {
      auto want = a.to_vector<uint32_t>();
      for (auto& v : want) v = __builtin_bswap32(v);
      EXPECT_EQ(b.to_vector<uint32_t>(), want) << lt[i].first;
    } else {
      using Pair = std::array<uint64_t, 2>;  // a complex128: two float64
      auto want = a.to_vector<Pair>();
      for (auto& v : want) v = {__builtin_bswap64(v[0]), __builtin_bswap64(v[1])};
      const auto got = b.to_vector<Pair>();
      EXPECT_EQ(got, want) << lt[i].first;
    }
  }
  std::map<std::string, pkl::torch::Tensor> named(bt.begin(), bt.end());
  try {
    named.at("model.0.weight").as<float>();
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.message(), "the tensor's numbers are not in this machine's byte order: use to_vector()");
  }
}

// Damaged archives are errors, never reads outside the file.
TEST(Torch, DamagedInputIsAnError) {
  const std::string zip = read_file(kFixtures + "torch_small.pt");
  const std::string legacy = read_file(kFixtures + "torch_small_legacy.pt");
  auto open = [](const std::string& s) {
    try {
      pkl::torch::Checkpoint::from_memory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    } catch (const pkl::Error& e) {
      return e.code();
    }
    return pkl::ErrorCode::Usage;
  };
  // every truncation of the legacy file (its storages are at the end) and of the zip
  for (size_t n : {size_t{0}, size_t{10}, legacy.size() / 2, legacy.size() - 1})
    EXPECT_NE(open(legacy.substr(0, n)), pkl::ErrorCode::Usage) << n;
  for (size_t n : {size_t{4}, size_t{100}, zip.size() / 2, zip.size() - 1})
    EXPECT_NE(open(zip.substr(0, n)), pkl::ErrorCode::Usage) << n;
  // a budget too small for the data pickle
  pkl::DecodeOptions o;
  o.limits.max_input_bytes = 100;
  try {
    pkl::torch::Checkpoint::from_memory(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(zip.data()), zip.size()), o);
    FAIL();
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.code(), pkl::ErrorCode::ResourceLimit);
  }
}

}  // namespace
