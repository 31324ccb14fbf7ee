// pkl::scan on hand-assembled pickles: verdicts, findings and steps.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "picklecodec/error.hpp"
#include "picklecodec/scan.hpp"

namespace {

using namespace pkl::scan;
using namespace std::string_literals;

Report scan_of(const std::string& p, const Policy& policy = {}) {
  Options o;
  o.policy = policy;
  return scan_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()), o);
}

std::string rules(const Report& r) {
  std::string s;
  for (const auto& f : r.findings) s += std::string(verdict_name(f.severity)) + ":" + f.rule + "@" + std::to_string(f.offset) + " ";
  return s;
}

std::string steps(const Report& r) {
  std::string s;
  for (const auto& st : r.steps) s += st.what + " " + st.target + "@" + std::to_string(st.offset) + "; ";
  return s;
}

TEST(Scan, ReduceOfOsSystemIsDangerous) {
  const auto r = scan_of("cos\nsystem\n(X\x01\x00\x00\x00xtR."s);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_EQ(r.container, "pickle");
  EXPECT_EQ(rules(r), "dangerous:dangerous-callable@0 dangerous:dangerous-callable@19 ");
  EXPECT_EQ(steps(r), "import os.system@0; call os.system@19; ");
}

TEST(Scan, AllowlistMakesClean) {
  const std::string p = "\x80\x02" "ccollections\nOrderedDict\n)R}b."s;
  EXPECT_EQ(scan_of(p).verdict, Verdict::Unknown);
  EXPECT_EQ(scan_of(p, Policy::profile("stdlib")).verdict, Verdict::Clean);
  Policy call_only;
  call_only.load_text("collections OrderedDict ic\n", "t");
  // Allowed to be called, not to receive BUILD.
  const auto r = scan_of(p, call_only);
  EXPECT_EQ(r.verdict, Verdict::Unknown);
  EXPECT_EQ(rules(r), "unknown:not-allowlisted@30 ");
}

TEST(Scan, CallsBeforeALoadErrorAreReported) {
  const auto r = scan_of("cos\nsystem\n(X\x01\x00\x00\x00xtR\xff."s);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_NE(rules(r).find("error:load-error@20"), std::string::npos);
  // Without a dangerous call an error fails closed.
  EXPECT_EQ(scan_of("(K\x01\xff."s).verdict, Verdict::Error);
}

TEST(Scan, SecondPickleAndTrailingData) {
  const auto two = scan_of("K\x01.cos\nsystem\n)R."s);
  EXPECT_EQ(two.verdict, Verdict::Dangerous);
  EXPECT_EQ(two.pickles, 2u);
  EXPECT_NE(rules(two).find("suspicious:several-pickles"), std::string::npos);
  const auto trailing = scan_of("K\x01.garbage"s);
  EXPECT_EQ(trailing.verdict, Verdict::Suspicious);
  EXPECT_EQ(rules(trailing).substr(0, 27), "suspicious:trailing-data@3 ");
}

TEST(Scan, DottedNamesAndGetattr) {
  // Protocol 4 walks 'os.system' on posixpath.
  const auto r = scan_of("\x80\x04\x8c\x09posixpath\x8c\x09os.system\x93)R."s);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  // getattr on a call's result, then a call on the result: reflection.
  const auto g = scan_of("cbuiltins\ngetattr\n(cm\nC\n)RX\x01\x00\x00\x00" "ftR)R."s);
  EXPECT_EQ(g.verdict, Verdict::Suspicious);
  EXPECT_NE(rules(g).find("suspicious:call-on-result"), std::string::npos);
}

TEST(Scan, MutatingAModuleGlobal) {
  // sys.path.extend(['x']) through APPEND on the global.
  const auto r = scan_of("\x80\x02" "cbuiltins\nlist\n0csys\npath\nX\x01\x00\x00\x00xa."s);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_NE(rules(r).find("dangerous:mutates-global"), std::string::npos);
}

TEST(Scan, PolicyFiles) {
  Policy p;
  EXPECT_THROW(p.load_text("os *\n", "f"), pkl::Error);
  EXPECT_THROW(p.load_text("m C x\n", "f"), pkl::Error);
  p.load_text("# comment\nm C icnb  # trailing\n\n", "f");
  EXPECT_EQ(p.uses("m", "C"), kImport | kCall | kClass | kBuild);
  EXPECT_EQ(p.uses("m", "D"), 0);
  EXPECT_THROW(Policy::profile("everything"), pkl::Error);
  for (const auto& n : Policy::profile_names()) EXPECT_GT(Policy::profile(n).size(), 0u);
}

}  // namespace

namespace {

std::string corpus_file(const std::string& name) {
  std::ifstream f(std::string(PICKLECODEC_SOURCE_DIR) + "/corpus/scan/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

Report scan_with(const std::string& bytes, const Options& o) {
  return scan_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), o);
}

bool has_rule(const Report& r, const std::string& rule) {
  for (const auto& f : r.findings)
    if (f.rule == rule) return true;
  return false;
}

// gzip_pickle.bin inflates to the 47 bytes of the payload pickle.
TEST(ScanLimits, InflationJustBelowAndAbove) {
  const std::string gz = corpus_file("gzip_pickle.bin");
  ASSERT_FALSE(gz.empty());
  Options o;
  o.max_inflated_bytes = 47;
  auto r = scan_with(gz, o);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_FALSE(has_rule(r, "inflation-limit"));
  o.max_inflated_bytes = 46;
  r = scan_with(gz, o);
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_TRUE(has_rule(r, "inflation-limit"));
}

// tgz_torch_zip.tgz: gzip+tar (one libarchive read), a zip, its data.pkl.
TEST(ScanLimits, NestingJustBelowAndAbove) {
  const std::string tgz = corpus_file("tgz_torch_zip.tgz");
  Options o;
  o.max_nesting = 2;
  auto r = scan_with(tgz, o);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_FALSE(has_rule(r, "nesting"));
  o.max_nesting = 1;
  r = scan_with(tgz, o);
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_TRUE(has_rule(r, "nesting"));
}

// tar_second_member.tar has two members.
TEST(ScanLimits, MembersJustBelowAndAbove) {
  const std::string tar = corpus_file("tar_second_member.tar");
  Options o;
  o.max_members = 2;
  EXPECT_EQ(scan_with(tar, o).verdict, Verdict::Dangerous);
  o.max_members = 1;
  auto r = scan_with(tar, o);
  EXPECT_TRUE(has_rule(r, "too-many-members"));
  EXPECT_EQ(r.verdict, Verdict::Error);  // the payload is in the member not read
}

// ---- joblib (joblib/numpy_pickle.py): data after a NumpyArrayWrapper's BUILD ----

std::string u8(const std::string& s) { return "\x8c"s + static_cast<char>(s.size()) + s; }

// joblib.dump's wrapper of an array: `shape` are the opcodes of the shape
// tuple, `code` the dtype's code ("i8", "O8"), `padded`: alignment set.
std::string jl_wrapper(const std::string& shape, const std::string& code, bool padded = true) {
  const bool object = code[0] == 'O';
  std::string p = "\x80\x02" "cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}("s;
  p += u8("subclass") + "cnumpy\nndarray\n" + u8("shape") + shape;
  p += u8("dtype") + "cnumpy\ndtype\n" + u8(code) + "\x89\x88\x87R(K\x03" + u8(object ? "|" : "<") +
       "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK" + static_cast<char>(object ? 63 : 0) + "tb";
  if (padded) p += u8("numpy_array_alignment_bytes") + "K\x10";
  return p + "ub";
}

Report jl_scan(const std::string& p) { return scan_of(p, Policy::profile("joblib")); }

TEST(ScanJoblib, ArrayDataIsPassedOver) {
  // A (2, 3) int64 array: one length byte, 3 padding bytes, 48 bytes of data
  // that hold opcodes a plain reader would run if it read them ('c' ...).
  std::string data(48, 'c');
  const auto r = jl_scan(jl_wrapper("K\x02K\x03\x86", "i8") + "\x03\xff\xff\xff" + data + ".");
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
  EXPECT_EQ(r.container, "joblib");
  EXPECT_TRUE(has_rule(r, "joblib-arrays"));
  // Without alignment the data follows the BUILD at once.
  EXPECT_EQ(jl_scan(jl_wrapper("K\x02K\x03\x86", "i8", false) + data + ".").verdict, Verdict::Clean);
}

TEST(ScanJoblib, ObjectArrayPickleIsScanned) {
  const std::string payload = "\x80\x02" "cos\nsystem\nX\x01\x00\x00\x00x\x85R."s;
  const auto r = jl_scan(jl_wrapper("K\x01\x85", "O8") + payload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_EQ(r.pickles, 2u);
}

TEST(ScanJoblib, SizesFromThePickleAreBoundedByTheFile) {
  // 2^31-1 int64s (16 GiB) in a file of a few hundred bytes: refused, nothing allocated.
  auto r = jl_scan(jl_wrapper("J\xff\xff\xff\x7f\x85", "i8") + "\x03\xff\xff\xff" + std::string(48, '\0') + ".");
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  // A count that overflows 64 bits.
  r = jl_scan(jl_wrapper("J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x87", "i8") + ".");
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  EXPECT_EQ(r.verdict, Verdict::Error);
  // One byte short of the data.
  r = jl_scan(jl_wrapper("K\x02\x85", "i8") + "\x03\xff\xff\xff" + std::string(15, '\0'));
  EXPECT_EQ(r.verdict, Verdict::Error);
}

TEST(ScanJoblib, WhatCannotBePlacedFailsClosed) {
  // A dtype code the scanner does not size.
  auto r = jl_scan(jl_wrapper("K\x02\x85", "float64") + "\x03\xff\xff\xff" + std::string(16, '\0') + ".");
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  // The BUILD inside a FRAME that goes on: joblib reads the data after the frame.
  const std::string body = jl_wrapper("K\x01\x85", "i8", false) + "N0";
  std::string framed = "\x80\x04\x95"s;
  for (int i = 0; i < 8; ++i) framed += static_cast<char>(((body.size() - 2) >> (8 * i)) & 0xff);
  framed += body.substr(2) + std::string(8, '\0') + ".";
  r = jl_scan(framed);
  EXPECT_EQ(r.verdict, Verdict::Error) << rules(r);
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  // joblib < 0.10's wrapper reads another file the pickle names.
  r = jl_scan("\x80\x02" "cjoblib.numpy_pickle_compat\nNDArrayWrapper\n)\x81}b."s);
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  EXPECT_TRUE(has_rule(r, "joblib-external-file"));
}

}  // namespace
