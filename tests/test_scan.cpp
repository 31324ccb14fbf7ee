// pkl::scan on hand-assembled pickles: verdicts, findings and steps.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

TEST(Scan, ACountThatWouldWrapTheFrameWalkIsALoadError) {
  // BINUNICODE8 of 2**64 - 9 bytes: the walk for loader differences added
  // the count to its position and came back round to the same opcode, for
  // ever; of 2**64 - 11 bytes after a BININT1, back to that BININT1.
  auto r = scan_of("\x80\x04\x8d\xf7\xff\xff\xff\xff\xff\xff\xff."s);
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_EQ(rules(r), "error:load-error@2 ");
  r = scan_of("\x80\x04K\x01\x8d\xf5\xff\xff\xff\xff\xff\xff\xff."s);
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_EQ(rules(r), "error:load-error@4 ");
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

// A STOP inside a FRAME that goes on: the stream is read again from the
// frame's end (io.BytesIO's and the pure-Python unpickler's next pickle),
// nested like a container. Two such pickles in a chain, then the payload.
TEST(ScanLimits, ResumeAtFrameEndIsNestedJustBelowAndAbove) {
  const std::string stop_inside = "\x80\x04\x95\x04\0\0\0\0\0\0\0K\x01.N"s;  // the frame holds K 1 . N
  const std::string payload = "\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R."s;
  const std::string chain = stop_inside + stop_inside + payload;
  Options o;
  o.max_nesting = 2;
  auto r = scan_with(chain, o);
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_FALSE(has_rule(r, "nesting"));
  EXPECT_TRUE(has_rule(r, "loader-difference"));
  o.max_nesting = 1;
  r = scan_with(chain, o);
  EXPECT_TRUE(has_rule(r, "nesting")) << rules(r);
  // The reading on after each STOP reaches the payload too, so the verdict
  // stays dangerous (a dangerous finding outranks an analysis error).
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  // Without the frame going on past the STOP there is one reading only.
  r = scan_of("\x80\x04\x95\x03\0\0\0\0\0\0\0K\x01."s + payload);
  EXPECT_FALSE(has_rule(r, "loader-difference")) << rules(r);
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

std::string J(int32_t v) {  // BININT
  std::string s = "J";
  for (int i = 0; i < 4; ++i) s += static_cast<char>((static_cast<uint32_t>(v) >> (8 * i)) & 0xff);
  return s;
}

// numpy.dtype(code, False, True) and BUILD with numpy's state (version,
// byteorder, subarray, names, fields, elsize, alignment, flags): `names`,
// `fields` and `subarray` are opcodes ("N" for None).
std::string np_dtype(const std::string& code, int version, int32_t elsize, int flags, const std::string& names = "N",
                     const std::string& fields = "N", const std::string& subarray = "N") {
  return "cnumpy\ndtype\n" + u8(code) + "\x89\x88\x87R(" + J(version) + u8("|") + subarray + names + fields +
         J(elsize) + J(-1) + J(flags) + "tb";
}

// A structured dtype's names and fields: each (name, dtype opcodes, offset).
struct Field {
  std::string name, dtype;
  int offset;
};
std::string names_of(const std::vector<Field>& fs) {
  std::string s = "(";
  for (const auto& f : fs) s += u8(f.name);
  return s + "t";
}
std::string fields_of(const std::vector<Field>& fs) {
  std::string s = "}(";
  for (const auto& f : fs) s += u8(f.name) + "(" + f.dtype + J(f.offset) + "t";
  return s + "u";
}

// joblib.dump's wrapper of an array: `shape` are the opcodes of the shape
// tuple, `dtype` those of its dtype, `padded`: alignment set.
std::string jl_wrapper_of(const std::string& shape, const std::string& dtype, bool padded = true) {
  std::string p = "\x80\x02" "cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}("s;
  p += u8("subclass") + "cnumpy\nndarray\n" + u8("shape") + shape + u8("dtype") + dtype;
  if (padded) p += u8("numpy_array_alignment_bytes") + "K\x10";
  return p + "ub";
}

// The same with a dtype of a plain code ("i8", "O8").
std::string jl_wrapper(const std::string& shape, const std::string& code, bool padded = true) {
  return jl_wrapper_of(shape, np_dtype(code, 3, -1, code[0] == 'O' ? 63 : 0), padded);
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
  // Its data is not in the stream: the opcode right after its BUILD is read
  // as one (ci/mutate m8104271bd6 skipped one byte there unnoticed).
  r = jl_scan("\x80\x02" "cjoblib.numpy_pickle_compat\nNDArrayWrapper\n)\x81}b" "cos\nsystem\nX\x01\x00\x00\x00x\x85R."s);
  EXPECT_EQ(rules(r), "unknown:not-allowlisted@2 unknown:not-allowlisted@46 unknown:not-allowlisted@48 "
                      "dangerous:joblib-external-file@49 dangerous:dangerous-callable@49 dangerous:dangerous-callable@67 ");
}

// ---- structured dtypes: numpy 1.24's __setstate__ (checked against numpy by hand:
// tests/scan_test.py's joblib_struct_* samples run under joblib.load) ----

const std::string kPayload = "\x80\x02" "cos\nsystem\nX\x01\x00\x00\x00x\x85R."s;

TEST(ScanJoblibDtype, VersionThreeFlagsAreTakenAsStated) {
  const std::vector<Field> obj = {{"x", np_dtype("i8", 3, -1, 0), 0}, {"o", np_dtype("O8", 3, -1, 63), 8}};
  // Flags 27 (hasobject): joblib pickles the data, the pickle is scanned.
  auto r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V16", 3, 16, 27, names_of(obj), fields_of(obj))) + kPayload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_EQ(r.pickles, 2u);
  // Flags 0 over an object field: numpy would make object pointers from the file's bytes.
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V16", 3, 16, 0, names_of(obj), fields_of(obj))) + "\x00"s +
              std::string(16, '\0') + ".");
  EXPECT_EQ(r.verdict, Verdict::Error) << rules(r);
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  // Flags 1 without objects: hasobject all the same, the data is a pickle.
  const std::vector<Field> raw = {{"x", np_dtype("i8", 3, -1, 0), 0}, {"y", np_dtype("f8", 3, -1, 0), 8}};
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V16", 3, 16, 1, names_of(raw), fields_of(raw))) + kPayload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  // No objects: count * elsize raw bytes (2 * 16 here), whatever the code's digits say.
  r = jl_scan(jl_wrapper_of("K\x02\x85", np_dtype("V4", 3, 16, 16, names_of(raw), fields_of(raw))) + "\x00"s +
              std::string(32, 'c') + ".");
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
  // An object code under flags 0 is object pointers too.
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("O8", 3, -1, 0)) + "\x00"s + std::string(8, '\0') + ".");
  EXPECT_TRUE(has_rule(r, "bad-joblib")) << rules(r);
}

TEST(ScanJoblibDtype, VersionTwoFlagsAreRecomputedFromTheFields) {
  const std::vector<Field> obj = {{"x", np_dtype("i8", 3, -1, 0), 0}, {"o", np_dtype("O8", 3, -1, 63), 8}};
  // Flags 0 stated, an 'O' field: hasobject, the data is a pickle (the scan used to skip 16 raw bytes).
  auto r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V16", 2, 16, 0, names_of(obj), fields_of(obj))) + kPayload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_EQ(r.pickles, 2u);
  // Any stated flag means objects under version 2.
  const std::vector<Field> raw = {{"x", np_dtype("i8", 3, -1, 0), 0}};
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V8", 2, 8, 16, names_of(raw), fields_of(raw))) + kPayload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  // Flags 0 and plain fields: raw bytes.
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V8", 2, 8, 0, names_of(raw), fields_of(raw))) + "\x00"s +
              std::string(8, 'c') + ".");
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
  // A field's dtype with flags 16 (a structured one) would get numpy's object flags: fail closed.
  const std::vector<Field> nested = {{"s", np_dtype("V8", 3, 8, 16, names_of(raw), fields_of(raw)), 0}};
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V8", 2, 8, 0, names_of(nested), fields_of(nested))) + kPayload + ".");
  EXPECT_TRUE(has_rule(r, "bad-joblib")) << rules(r);
  // The subarray is not looked at by _descr_find_object: an object subarray under flags 0 fails closed.
  r = jl_scan(jl_wrapper_of("K\x01\x85", np_dtype("V16", 2, 16, 0, "N", "N", "(" + np_dtype("O8", 3, -1, 63) + "K\x02\x85t")) +
              "\x00"s + std::string(16, '\0') + ".");
  EXPECT_TRUE(has_rule(r, "bad-joblib")) << rules(r);
}

// numpy keeps the fields dict it is given, and fixes a version 2 state's
// flags when BUILD sets it: the pickle can change the dict afterwards.
std::string v2_then_mutated(const std::string& field_before, const std::string& field_after) {
  // dtype -> memo 1, its fields dict -> memo 2; then fields['o'] replaced.
  std::string p = "cnumpy\ndtype\n" + u8("V16") + "\x89\x88\x87Rq\x01(" + J(2) + u8("|") + "N(" + u8("x") + u8("o") +
                  "t}q\x02(" + u8("x") + "(" + np_dtype("i8", 3, -1, 0) + J(0) + "t" + u8("o") + "(" + field_before +
                  J(8) + "tu" + J(16) + J(-1) + J(0) + "tb0";
  p += "h\x02" + u8("o") + "(" + field_after + J(8) + "ts0";
  return "\x80\x02"s + p + jl_wrapper_of("K\x01\x85", "h\x01").substr(2);
}

TEST(ScanJoblibDtype, VersionTwoFlagsAreFixedWhenTheStateIsSet) {
  // An 'O' field at BUILD (numpy: hasobject), an i8 when joblib reads: the data is a pickle.
  auto r = jl_scan(v2_then_mutated(np_dtype("O8", 3, -1, 63), np_dtype("i8", 3, -1, 0)) + kPayload + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_EQ(r.pickles, 2u);
  // An i8 at BUILD (flags 0), an 'O' when joblib reads: object pointers from raw bytes, refused.
  r = jl_scan(v2_then_mutated(np_dtype("i8", 3, -1, 0), np_dtype("O8", 3, -1, 63)) + std::string(16, '\0') + ".");
  EXPECT_EQ(r.verdict, Verdict::Error) << rules(r);
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
}

TEST(ScanJoblibDtype, ASharedDtypeIsReadOnce) {
  // 30 levels, each with two fields of the level below (through the memo):
  // 2^30 paths, 30 dtypes.
  std::string p = "\x80\x02" + np_dtype("f8", 3, -1, 0) + "q\x00"s;
  for (int level = 1; level <= 30; ++level) {
    const std::string below = "h"s + static_cast<char>(level - 1);
    p += np_dtype("V8", 3, 8, 16, names_of({{"a", "", 0}, {"b", "", 0}}), fields_of({{"a", below, 0}, {"b", below, 0}})) +
         "q" + static_cast<char>(level);
  }
  p += "0" + jl_wrapper_of("K\x01\x85", "h\x1e", false).substr(2) + std::string(8, 'c') + ".";
  const auto r = jl_scan(p);
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
  EXPECT_FALSE(has_rule(r, "bad-joblib")) << rules(r);
}

TEST(ScanJoblibDtype, WhatNumpyWouldNotPlaceFailsClosed) {
  const auto f8 = np_dtype("f8", 3, -1, 0);
  auto bad = [&](const std::string& dtype) {
    const auto r = jl_scan(jl_wrapper_of("K\x01\x85", dtype) + "\x00"s + std::string(64, '\0') + ".");
    return r.verdict == Verdict::Error && has_rule(r, "bad-joblib");
  };
  const std::vector<Field> past = {{"a", f8, 0}, {"b", f8, 8}};
  EXPECT_TRUE(bad(np_dtype("V8", 3, 8, 16, names_of(past), fields_of(past))));    // b ends at 16 > 8
  EXPECT_FALSE(bad(np_dtype("V16", 3, 16, 16, names_of(past), fields_of(past))));  // just fits
  const std::vector<Field> negative = {{"a", f8, -8}};
  EXPECT_TRUE(bad(np_dtype("V16", 3, 16, 16, names_of(negative), fields_of(negative))));
  EXPECT_TRUE(bad(np_dtype("V16", 3, 16, 16, names_of({{"a", f8, 0}, {"z", f8, 8}}), fields_of(past))));  // z not described
  EXPECT_TRUE(bad(np_dtype("V16", 3, 16, 16, names_of(past))));                       // names without fields
  EXPECT_TRUE(bad(np_dtype("V16", 1, 16, 16, names_of(past), fields_of(past))));     // version 1: fields[-1]
  EXPECT_TRUE(bad(np_dtype("V0", 3, 0, 0)));                                          // joblib divides by the item size
  EXPECT_TRUE(bad(np_dtype("V16", 3, 16, 0, "N", "N", "(" + f8 + "K\x03\x85t")));  // 24-byte subarray in 16
  EXPECT_FALSE(bad(np_dtype("V16", 3, 16, 0, "N", "N", "(" + f8 + "K\x02\x85t")));
  EXPECT_TRUE(bad(np_dtype("V8", 3, 8, 200)));                                        // flags are a C char
  // A dtype that is its own field (through the memo) is bounded.
  const std::string cyclic = "cnumpy\ndtype\n" + u8("V8") + "\x89\x88\x87R\x94(" + J(3) + u8("|") + "N(" + u8("a") +
                             "t}(" + u8("a") + "(h\x00" + J(0) + "tu" + J(8) + J(-1) + J(16) + "tb";
  const auto r = jl_scan(jl_wrapper_of("K\x01\x85", cyclic) + std::string(16, '\0') + ".");
  EXPECT_EQ(r.verdict, Verdict::Error) << rules(r);
}

// ---- joblib < 0.10's single file: "ZF", a hex length in 19 bytes, a zlib stream ----

// write_zfile's output: "ZF", the length field (padded to 19 bytes), the zlib stream.
std::string zfile(const std::string& length, const std::string& stream) {
  std::string h = "ZF" + length;
  h.resize(21, ' ');
  return h + stream;
}
// zlib.compress of the 12-byte kBenign and the 22-byte kPayload.
const std::string kBenign = "\x80\x02]q\x00(K\x01K\x02e."s;
const std::string kBenignZ = "\x78\x9c\x6b\x60\x8a\x2d\x64\xd0\xf0\x66\xf4\x66\x4a\xd5\x03\x00\x12\xc6\x02\xa5"s;
const std::string kPayloadZ =
    "\x78\x9c\x6b\x60\x4a\xce\x2f\xe6\x2a\xae\x2c\x2e\x49\xcd\xe5\x8a\x60\x64\x60\x60\xa8\x68\x0d\xd2\x03\x00\x4f\x9e\x06\x57"s;

TEST(ScanJoblibZFile, TheHeaderIsReadAsIntOfBase16) {
  EXPECT_EQ(scan_of(zfile("0x16", kPayloadZ)).verdict, Verdict::Dangerous);
  auto r = scan_of(zfile("0xc", kBenignZ));
  EXPECT_EQ(r.container, "joblib-zfile");
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
  // What int(x, 16) takes: whitespace around, a sign, no prefix, underscores between digits.
  for (const char* ok : {"\t0XC\v", "+c", "0x_c", "0_c", "0x0_c"})
    EXPECT_EQ(scan_of(zfile(ok, kBenignZ)).verdict, Verdict::Clean) << ok;
  // joblib <= 0.8.4 wrote one space more: the stream starts after it.
  EXPECT_EQ(scan_of(zfile("0xc", " " + kBenignZ)).verdict, Verdict::Clean);
  // What it refuses: joblib.load fails before inflating.
  for (const char* bad : {"0x", "", "0x1__2", "0xc_", "_c", "0xg", "-0xc", "0xc\x1c"}) {
    r = scan_of(zfile(bad, kPayloadZ));
    EXPECT_EQ(r.verdict, Verdict::Error) << bad << ": " << rules(r);
    EXPECT_TRUE(has_rule(r, "bad-joblib")) << bad;
  }
  // The finding is at the length field (offset 2), the only finding.
  EXPECT_EQ(rules(scan_of(zfile("0xg", kPayloadZ))), "error:bad-joblib@2 ");
  // The length field is 19 bytes: a digit in the 20th is the stream's first byte.
  r = scan_of("ZF" + std::string(18, '0') + "c" + kBenignZ);
  EXPECT_EQ(r.verdict, Verdict::Clean) << rules(r);
}

TEST(ScanJoblibZFile, TheStreamIsInflatedWholeWithinTheBudget) {
  Options o;
  o.max_inflated_bytes = 12;  // the stated length is checked first, then what inflates
  auto r = scan_with(zfile("0xc", kBenignZ), o);
  EXPECT_FALSE(has_rule(r, "inflation-limit")) << rules(r);
  o.max_inflated_bytes = 11;
  r = scan_with(zfile("0xc", kBenignZ), o);
  EXPECT_EQ(r.verdict, Verdict::Error);
  EXPECT_TRUE(has_rule(r, "inflation-limit"));
  o.max_inflated_bytes = 1 << 20;
  r = scan_with(zfile("0xffffffffffffffffff", kBenignZ), o);  // over 2^64
  EXPECT_EQ(rules(r), "error:inflation-limit@2 ");
  // Cut short: zlib.decompress fails, nothing is unpickled (the payload is not reported).
  r = scan_of(zfile("0x16", kPayloadZ.substr(0, kPayloadZ.size() - 4)));
  EXPECT_EQ(r.verdict, Verdict::Error) << rules(r);
  EXPECT_EQ(r.pickles, 0u);
  // A length that is not the pickle's: the assert fails (error); python -O loads it, so it is read.
  r = scan_of(zfile("0x15", kPayloadZ));
  EXPECT_TRUE(has_rule(r, "bad-joblib"));
  EXPECT_EQ(r.verdict, Verdict::Dangerous);
  r = scan_of(zfile("0xd", kBenignZ));
  EXPECT_EQ(r.verdict, Verdict::Error);
  // Bytes after the stream: zlib.decompress ignores them.
  r = scan_of(zfile("0xc", kBenignZ + "junk"));
  EXPECT_TRUE(has_rule(r, "trailing-data"));
}

// A zlib stream of one stored (uncompressed) block: header, block, adler32.
std::string stored_zlib(const std::string& p) {
  const size_t n = p.size();
  std::string s = "\x78\x01\x01"s;
  for (size_t v : {n, ~n}) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  }
  s += p;
  uint32_t a = 1, b = 0;
  for (unsigned char c : p) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  for (int i = 3; i >= 0; --i) s += static_cast<char>((((b << 16) | a) >> (8 * i)) & 0xff);
  return s;
}

std::string zfile_of(const std::string& pickle) {
  char len[32];
  std::snprintf(len, sizeof len, "0x%zx", pickle.size());
  return zfile(len, stored_zlib(pickle));
}

TEST(ScanJoblibZFile, ThePickleIsReadAsZipNumpyUnpicklerReadsIt) {
  EXPECT_EQ(scan_of(zfile_of(kBenign)).verdict, Verdict::Clean);
  // A NumpyArrayWrapper is an ordinary object there: no data follows its
  // BUILD, the next opcodes are the pickle's (here a call of os.system).
  auto r = jl_scan(zfile_of(jl_wrapper("K\x01\x85", "i8", false) + "0" + kPayload.substr(2)));
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  EXPECT_FALSE(has_rule(r, "joblib-arrays")) << rules(r);
  // NDArrayWrapper reads another file there too.
  r = jl_scan(zfile_of("\x80\x02" "cjoblib.numpy_pickle_compat\nNDArrayWrapper\n)\x81}b."s));
  EXPECT_TRUE(has_rule(r, "joblib-external-file")) << rules(r);
}

// ---- Options::on_stream: every pickle stream the scan decodes, with its location ----

TEST(ScanStreams, EveryPickleStreamIsHandedOver) {
  auto seen = [](const std::string& file) {
    Options o;
    std::string locs;
    o.on_stream = [&](std::span<const uint8_t> s, const std::string& loc, size_t pickles) {
      locs += "[" + loc + "]" + std::to_string(pickles) + (s.empty() ? "empty" : "") + " ";
    };
    scan_with(corpus_file(file), o);
    return locs;
  };
  EXPECT_EQ(seen("reduce_global.pkl"), "[]0 ");
  EXPECT_EQ(seen("torch_zip.pt"), "[archive/data.pkl]0 ");
  EXPECT_EQ(seen("npy_object.npy"), "[#array]1 ");
  EXPECT_EQ(seen("joblib_zfile.joblib"), "[(zfile)]0 ");
  EXPECT_EQ(seen("nested_loads.pkl").substr(0, 6), "[]0 [@");
  // joblib: the stream, its object array's pickle, then the stream again as pickle.load reads it.
  EXPECT_EQ(seen("joblib_object.joblib"), "[]0 [#array@" + std::to_string(corpus_file("joblib_object.joblib").find("\x80\x02", 200)) + "]1 []0 ");
}

TEST(ScanStreams, PickleLoadsReadingOfArrayBytesReportsItsNestedLoads) {
  // A uint8 array's 45 bytes are, for pickle.load, a call of pickle.loads on
  // the payload: its steps are reported at their nested location.
  const std::string inner = "\x80\x02" "cos\nsystem\nX\x01\x00\x00\x00x\x85R."s;
  const std::string bytes = "cpickle\nloads\nC"s + static_cast<char>(inner.size()) + inner + "\x85R0";
  const std::string p = jl_wrapper("K"s + static_cast<char>(bytes.size()) + "\x85", "u1", false);
  const auto r = jl_scan(p + bytes + ".");
  EXPECT_EQ(r.verdict, Verdict::Dangerous) << rules(r);
  bool nested_call = false;
  const std::string at = "@" + std::to_string(p.size() + bytes.size() - 2);  // the REDUCE
  for (const auto& st : r.steps) nested_call |= st.location == at && st.target == "os.system";
  EXPECT_TRUE(nested_call) << steps(r);
}

}  // namespace
