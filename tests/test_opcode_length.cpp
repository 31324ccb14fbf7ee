// opcode_length (codec/src/decode/opcode_length.hpp): the length of every
// kind of opcode, and each way it has none, just at and just past the end of
// the input.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decode/opcode_length.hpp"
#include "picklecodec/opcodes.hpp"

namespace {

using pkl::OpLenStatus;
using namespace std::string_literals;

pkl::OpcodeLength len_of(const std::string& s, size_t pos = 0) {
  return pkl::opcode_length(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), pos);
}
// The length, or -1 - status when there is none.
int64_t L(const std::string& s, size_t pos = 0) {
  const auto r = len_of(s, pos);
  if (r.ok()) return static_cast<int64_t>(r.length);
  EXPECT_EQ(r.length, 0u);
  return -1 - static_cast<int64_t>(r.status);
}
constexpr int64_t kUnknown = -1 - static_cast<int64_t>(OpLenStatus::UnknownOpcode);
constexpr int64_t kNoNewline = -1 - static_cast<int64_t>(OpLenStatus::NoNewline);
constexpr int64_t kCountCut = -1 - static_cast<int64_t>(OpLenStatus::CountTruncated);
constexpr int64_t kNegative = -1 - static_cast<int64_t>(OpLenStatus::NegativeCount);
constexpr int64_t kArgCut = -1 - static_cast<int64_t>(OpLenStatus::ArgTruncated);

std::string op(uint8_t code) { return std::string(1, static_cast<char>(code)); }
// n little-endian bytes of v.
std::string le(uint64_t v, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

TEST(OpcodeLength, UnknownOpcodesAndPositionAtTheEnd) {
  int unknown = 0;
  for (int c = 0; c < 256; ++c)
    if (!pkl::opcode_info(static_cast<uint8_t>(c))) {
      ++unknown;
      EXPECT_EQ(L(op(static_cast<uint8_t>(c)) + std::string(16, '\n')), kUnknown) << c;
    }
  EXPECT_EQ(unknown, 256 - pkl::kOpcodeCount);
  EXPECT_EQ(L(""), kArgCut);
  EXPECT_EQ(L("N", 1), kArgCut);
  EXPECT_EQ(L("NN", 1), 1);
}

TEST(OpcodeLength, FixedWidths) {
  EXPECT_EQ(L("."), 1);                                // STOP
  EXPECT_EQ(L("\x93"), 1);                             // STACK_GLOBAL: its names are on the stack
  EXPECT_EQ(L("K\x05"), 2);                            // BININT1
  EXPECT_EQ(L("M\x05\x06"), 3);                        // BININT2
  EXPECT_EQ(L("J\xff\xff\xff\xff"), 5);                // BININT
  EXPECT_EQ(L("G" + std::string(8, '\0')), 9);         // BINFLOAT
  EXPECT_EQ(L("\x95" + le(~uint64_t{0}, 8)), 9);       // FRAME: its count is no argument length
  // Every fixed-width opcode: exactly its argument, and one byte short.
  for (const auto& info : pkl::kOpcodes) {
    if (info.arg_bytes < 0) continue;
    const auto w = static_cast<size_t>(info.arg_bytes);
    EXPECT_EQ(L(op(info.code) + std::string(w, '\n')), static_cast<int64_t>(1 + w)) << info.name;
    EXPECT_EQ(L(op(info.code) + std::string(w, '\n') + "."), static_cast<int64_t>(1 + w)) << info.name;
    if (w > 0) {
      EXPECT_EQ(L(op(info.code) + std::string(w - 1, '\n')), kArgCut) << info.name;
    }
  }
}

TEST(OpcodeLength, TextLines) {
  EXPECT_EQ(L("I12\n"), 4);
  EXPECT_EQ(L("I12\n."), 4);
  EXPECT_EQ(L("I\n"), 2);  // an empty line is a line (the loaders refuse it, not its length)
  EXPECT_EQ(L("I12"), kNoNewline);
  EXPECT_EQ(L("I"), kNoNewline);
  EXPECT_EQ(L("L5L\n"), 4);
  EXPECT_EQ(L("F1.5\n"), 5);
  EXPECT_EQ(L("Sabc\n"), 5);
  EXPECT_EQ(L("Vx\\u20ac\n"), 9);
  EXPECT_EQ(L("g0\n"), 3);
  EXPECT_EQ(L("p0\np1\n"), 3);
  EXPECT_EQ(L("Pid\n"), 4);
  // Every one-line opcode takes one line only.
  for (const auto& info : pkl::kOpcodes) {
    if (info.arg_bytes != -1 || info.arg == pkl::ArgType::StringnlNoescapePair) continue;
    EXPECT_EQ(L(op(info.code) + "ab\ncd\n"), 4) << info.name;
    EXPECT_EQ(L(op(info.code) + "ab"), kNoNewline) << info.name;
  }
}

TEST(OpcodeLength, TwoLinesForGlobalAndInst) {
  for (const uint8_t c : {pkl::op::GLOBAL, pkl::op::INST}) {
    EXPECT_EQ(L(op(c) + "os\nsystem\n"), 11) << int{c};
    EXPECT_EQ(L(op(c) + "os\nsystem\n(t."), 11) << int{c};
    EXPECT_EQ(L(op(c) + "\n\n"), 3) << int{c};
    EXPECT_EQ(L(op(c) + "os\nsystem"), kNoNewline) << int{c};
    EXPECT_EQ(L(op(c) + "os\n"), kNoNewline) << int{c};
    EXPECT_EQ(L(op(c) + "os"), kNoNewline) << int{c};
    EXPECT_EQ(L(op(c)), kNoNewline) << int{c};
  }
  int pairs = 0;
  for (const auto& info : pkl::kOpcodes) pairs += info.arg == pkl::ArgType::StringnlNoescapePair;
  EXPECT_EQ(pairs, 2);
}

TEST(OpcodeLength, CountedForms) {
  // The count's width by marker: -2 one byte, -3 and -4 four, -5 eight.
  struct Form {
    int8_t marker;
    size_t width;
  };
  int seen = 0;
  for (const Form f : {Form{-2, 1}, Form{-3, 4}, Form{-4, 4}, Form{-5, 8}})
    for (const auto& info : pkl::kOpcodes) {
      if (info.arg_bytes != f.marker) continue;
      ++seen;
      const std::string o = op(info.code);
      const auto n = static_cast<int64_t>(1 + f.width);
      EXPECT_EQ(L(o + le(0, f.width)), n) << info.name;
      EXPECT_EQ(L(o + le(3, f.width) + "abc"), n + 3) << info.name;       // the count is exactly what is left
      EXPECT_EQ(L(o + le(3, f.width) + "abc."), n + 3) << info.name;
      EXPECT_EQ(L(o + le(4, f.width) + "abc"), kArgCut) << info.name;     // one more than is left
      EXPECT_EQ(L(o + le(1, f.width)), kArgCut) << info.name;
      EXPECT_EQ(L(o + le(0, f.width - 1)), kCountCut) << info.name;      // the count itself cut
      EXPECT_EQ(L(o), kCountCut) << info.name;
      // The count's bytes are little-endian.
      if (f.width > 1) {
        EXPECT_EQ(L(o + le(0x100, f.width) + std::string(0x100, 'x')), n + 0x100) << info.name;
        EXPECT_EQ(L(o + le(0x100, f.width) + std::string(0xff, 'x')), kArgCut) << info.name;
      }
      // The largest counts of the width: never an overflow.
      const uint64_t max = f.width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * f.width)) - 1;
      EXPECT_EQ(L(o + le(max, f.width) + "abc"), f.marker == -3 ? kNegative : kArgCut) << info.name;
    }
  EXPECT_EQ(seen, 4 + 2 + 2 + 3);
}

TEST(OpcodeLength, SignedFourByteCounts) {
  for (const uint8_t c : {pkl::op::BINSTRING, pkl::op::LONG4}) {
    const std::string o = op(c);
    EXPECT_EQ(L(o + le(0x80000000u, 4)), kNegative) << int{c};
    EXPECT_EQ(L(o + le(0xffffffffu, 4) + std::string(64, 'x')), kNegative) << int{c};
    EXPECT_EQ(L(o + le(0x7fffffffu, 4) + "abc"), kArgCut) << int{c};
  }
  // The unsigned four-byte counts (BINBYTES, BINUNICODE) are only too long.
  EXPECT_EQ(L("X" + le(0x80000000u, 4)), kArgCut);
  EXPECT_EQ(L("B" + le(0x80000000u, 4)), kArgCut);
}

TEST(OpcodeLength, EightByteCountsDoNotWrap) {
  // A count that would bring pos + length round to pos, or just before it.
  const std::string pre = "\x80\x04";
  for (const uint64_t count : {~uint64_t{0} - 8, ~uint64_t{0} - 9, ~uint64_t{0} - 10, uint64_t{1} << 63})
    for (const uint8_t c : {pkl::op::BINUNICODE8, pkl::op::BINBYTES8, pkl::op::BYTEARRAY8})
      EXPECT_EQ(L(pre + op(c) + le(count, 8) + ".", 2), kArgCut) << count;
}

TEST(OpcodeLength, AtAPositionInside) {
  const std::string s = "\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00hi."s;
  EXPECT_EQ(L(s, 0), 2);
  EXPECT_EQ(L(s, 2), 11);
  EXPECT_EQ(L(s, 13), 7);
  EXPECT_EQ(L(s, 20), 1);
  EXPECT_EQ(L(s, 21), kArgCut);
  EXPECT_EQ(L(s.substr(0, 19), 13), kArgCut);  // BINUNICODE one byte short
  EXPECT_EQ(L(s.substr(0, 16), 13), kCountCut);
  EXPECT_EQ(L(s.substr(0, 12), 2), kNoNewline);
}

// Pickles CPython writes, walked opcode by opcode: each opcode starts where
// pickletools.genops says. (python3.11: pickle.dumps([2**70, -1, 'a\u20ac',
// bytearray(b'xy'), 1.5, collections.OrderedDict()], protocol=p), and
// [pos for op, arg, pos in pickletools.genops(...)].)
TEST(OpcodeLength, WalksWhatCPythonWrites) {
  struct Case {
    int protocol;
    std::string bytes;
    std::vector<size_t> starts;
  };
  const std::vector<Case> cases = {
    {0,
     "\x28\x6c\x70\x30\x0a\x4c\x31\x31\x38\x30\x35\x39\x31\x36\x32\x30\x37\x31\x37\x34\x31\x31\x33\x30"
     "\x33\x34\x32\x34\x4c\x0a\x61\x49\x2d\x31\x0a\x61\x56\x61\x5c\x75\x32\x30\x61\x63\x0a\x70\x31\x0a"
     "\x61\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x62\x79\x74\x65\x61\x72\x72\x61\x79\x0a"
     "\x70\x32\x0a\x28\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x70\x33\x0a\x28"
     "\x56\x78\x79\x0a\x70\x34\x0a\x56\x6c\x61\x74\x69\x6e\x31\x0a\x70\x35\x0a\x74\x70\x36\x0a\x52\x70"
     "\x37\x0a\x74\x70\x38\x0a\x52\x70\x39\x0a\x61\x46\x31\x2e\x35\x0a\x61\x63\x63\x6f\x6c\x6c\x65\x63"
     "\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x0a\x70\x31\x30\x0a\x28\x74"
     "\x52\x70\x31\x31\x0a\x61\x2e"s,
     {0, 1, 2, 5, 30, 31, 35, 36, 45, 48, 49, 72, 75, 76, 92, 95, 96, 100, 103, 111, 114, 115, 118, 119, 122, 123, 126, 127, 130, 131, 136, 137, 162, 166, 167, 168, 169, 173, 174}},
    {2,
     "\x80\x02\x5d\x71\x00\x28\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40\x4a\xff\xff\xff\xff\x58\x04"
     "\x00\x00\x00\x61\xe2\x82\xac\x71\x01\x63\x5f\x5f\x62\x75\x69\x6c\x74\x69\x6e\x5f\x5f\x0a\x62\x79"
     "\x74\x65\x61\x72\x72\x61\x79\x0a\x71\x02\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64"
     "\x65\x0a\x71\x03\x58\x02\x00\x00\x00\x78\x79\x71\x04\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31"
     "\x71\x05\x86\x71\x06\x52\x71\x07\x85\x71\x08\x52\x71\x09\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x63"
     "\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x0a"
     "\x71\x0a\x29\x52\x71\x0b\x65\x2e"s,
     {0, 2, 3, 5, 6, 17, 22, 31, 33, 56, 58, 74, 76, 83, 85, 96, 98, 99, 101, 102, 104, 105, 107, 108, 110, 119, 144, 146, 147, 148, 150, 151}},
    {5,
     "\x80\x05\x95\x52\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x28\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00"
     "\x40\x4a\xff\xff\xff\xff\x8c\x04\x61\xe2\x82\xac\x94\x96\x02\x00\x00\x00\x00\x00\x00\x00\x78\x79"
     "\x94\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x8c\x0b\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x94"
     "\x8c\x0b\x4f\x72\x64\x65\x72\x65\x64\x44\x69\x63\x74\x94\x93\x94\x29\x52\x94\x65\x2e"s,
     {0, 2, 11, 12, 13, 14, 25, 30, 36, 37, 48, 49, 58, 71, 72, 85, 86, 87, 88, 89, 90, 91, 92}},
  };
  for (const Case& c : cases) {
    std::vector<size_t> starts;
    for (size_t pos = 0; pos < c.bytes.size();) {
      starts.push_back(pos);
      const auto r = len_of(c.bytes, pos);
      ASSERT_TRUE(r.ok()) << c.protocol << " at " << pos;
      pos += r.length;
    }
    EXPECT_EQ(starts, c.starts) << c.protocol;
    EXPECT_EQ(c.bytes.back(), '.');
  }
}

}  // namespace
