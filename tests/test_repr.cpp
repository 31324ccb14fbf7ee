// repr_str / repr_bytes / repr_float against the installed python3: fixed
// cases with known answers, then thousands of seeded random values whose
// expected reprs python3 computes at test time.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "picklecodec/repr.hpp"
#include "text/utf8.hpp"
#include "base/hex.hpp"

namespace {

std::string utf8(uint32_t cp) { return pkl::utf8_of(cp); }

std::string to_hex(std::string_view s) {
  return pkl::hex_string(s);
}

std::string from_hex(std::string_view s) {
  std::string out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out += static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
  return out;
}

// Runs python3 on `script` with `input` as a file argument; returns stdout.
std::string run_python(const std::string& script, const std::string& input) {
  char dir_template[] = "/tmp/pkl_repr_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (!dir) return {};
  std::string d(dir);
  std::ofstream(d + "/s.py") << script;
  std::ofstream(d + "/in.txt", std::ios::binary) << input;
  std::string cmd = "python3 " + d + "/s.py " + d + "/in.txt > " + d + "/out.txt";
  int rc = std::system(cmd.c_str());
  std::ifstream in(d + "/out.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove((d + "/s.py").c_str());
  std::remove((d + "/in.txt").c_str());
  std::remove((d + "/out.txt").c_str());
  std::remove(d.c_str());
  if (rc != 0) return {};
  return ss.str();
}

TEST(Repr, StrFixed) {
  EXPECT_EQ(pkl::repr_str(""), "''");
  EXPECT_TRUE(pkl::detail::repr_str_is_plain(""));
  EXPECT_TRUE(pkl::detail::repr_str_is_plain("abcdefgh ~ 0123"));
  EXPECT_FALSE(pkl::detail::repr_str_is_plain("abcdefgh'"));   // the quote in the tail
  EXPECT_FALSE(pkl::detail::repr_str_is_plain("abc\\defgh"));  // a backslash in the first word
  EXPECT_FALSE(pkl::detail::repr_str_is_plain("abcdefg\x7f"));  // DEL, the word's last byte
  EXPECT_EQ(pkl::repr_str("abc"), "'abc'");
  EXPECT_EQ(pkl::repr_str("it's"), "\"it's\"");
  EXPECT_EQ(pkl::repr_str("say \"hi\""), "'say \"hi\"'");
  EXPECT_EQ(pkl::repr_str("'\""), "'\\'\"'");
  EXPECT_EQ(pkl::repr_str("a\\b\n\r\t"), "'a\\\\b\\n\\r\\t'");
  EXPECT_EQ(pkl::repr_str(std::string("\0\x1f\x7f", 3)), "'\\x00\\x1f\\x7f'");
  EXPECT_EQ(pkl::repr_str(utf8(0x80) + utf8(0xa0) + utf8(0xad) + utf8(0xe9)), "'\\x80\\xa0\\xad\xc3\xa9'");
  EXPECT_EQ(pkl::repr_str(utf8(0x20ac)), "'\xe2\x82\xac'");
  EXPECT_EQ(pkl::repr_str(utf8(0x2028)), "'\\u2028'");
  EXPECT_EQ(pkl::repr_str(utf8(0xd800)), "'\\ud800'");
  EXPECT_EQ(pkl::repr_str(utf8(0xdfff) + "x"), "'\\udfffx'");
  EXPECT_EQ(pkl::repr_str(utf8(0x1f600)), "'\xf0\x9f\x98\x80'");
  EXPECT_EQ(pkl::repr_str(utf8(0xe0000)), "'\\U000e0000'");
  EXPECT_EQ(pkl::repr_str(utf8(0x10ffff)), "'\\U0010ffff'");
  // Malformed UTF-8 (which no Graph holds) is U+FFFD a byte; a latin-1 lead
  // without its continuation byte included.
  EXPECT_EQ(pkl::repr_str("abcdefgh\xc3"), "'abcdefgh\xef\xbf\xbd'");
  EXPECT_EQ(pkl::repr_str("\xc3x"), "'\xef\xbf\xbdx'");
  // Appended after what the string already holds.
  std::string out = "x=";
  pkl::append_repr_str(out, "0123456789'\n");
  EXPECT_EQ(out, "x=\"0123456789'\\n\"");
}

TEST(Repr, BytesFixed) {
  EXPECT_EQ(pkl::repr_bytes(""), "b''");
  EXPECT_EQ(pkl::repr_bytes("", true), "bytearray(b'')");
  EXPECT_EQ(pkl::repr_bytes("it's"), "b\"it's\"");
  EXPECT_EQ(pkl::repr_bytes("'\""), "b'\\'\"'");
  EXPECT_EQ(pkl::repr_bytes(std::string("\0\t\n\r\\\x7f\x80\xff ~", 10)),
            "b'\\x00\\t\\n\\r\\\\\\x7f\\x80\\xff ~'");
  EXPECT_EQ(pkl::repr_bytes("ab", true), "bytearray(b'ab')");
}

TEST(Repr, FloatFixed) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(pkl::repr_float(inf), "inf");
  EXPECT_EQ(pkl::repr_float(-inf), "-inf");
  EXPECT_EQ(pkl::repr_float(std::nan("")), "nan");
  EXPECT_EQ(pkl::repr_float(-std::nan("")), "nan");
  EXPECT_EQ(pkl::repr_float(0.0), "0.0");
  EXPECT_EQ(pkl::repr_float(-0.0), "-0.0");
  EXPECT_EQ(pkl::repr_float(1e16), "1e+16");
  EXPECT_EQ(pkl::repr_float(1e15), "1000000000000000.0");
  EXPECT_EQ(pkl::repr_float(1e-5), "1e-05");
  EXPECT_EQ(pkl::repr_float(1e-4), "0.0001");
  EXPECT_EQ(pkl::repr_float(100.0), "100.0");
  EXPECT_EQ(pkl::repr_float(12345678901234567890.0), "1.2345678901234567e+19");
  EXPECT_EQ(pkl::repr_float(0.1), "0.1");
  EXPECT_EQ(pkl::repr_float(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(pkl::repr_float(5e-324), "5e-324");
  EXPECT_EQ(pkl::repr_float(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(pkl::repr_float(1e100), "1e+100");
  EXPECT_EQ(pkl::repr_float(-1.5e-7), "-1.5e-07");
  EXPECT_EQ(pkl::repr_float(123456.789), "123456.789");
}

// Python's answers for seeded random values. Input lines: "s HEX" (a str as
// surrogatepass UTF-8), "b HEX" (bytes), "a HEX" (bytearray), "f HEX16"
// (float bits), with "x" for an empty HEX; the script
// prints the hex of each repr's UTF-8, one per line.
const char* kReprScript = R"PY(
import struct, sys
out = []
for line in open(sys.argv[1]):
    kind, h = line.split()
    raw = b"" if h == "x" else bytes.fromhex(h)  # "x": empty
    if kind == "s":
        r = repr(raw.decode("utf-8", "surrogatepass"))
    elif kind == "b":
        r = repr(raw)
    elif kind == "a":
        r = repr(bytearray(raw))
    else:
        r = repr(struct.unpack("<d", raw)[0])
    out.append(r.encode("utf-8").hex())
sys.stdout.write("\n".join(out) + "\n")
)PY";

TEST(Repr, AgreesWithPython) {
  std::mt19937_64 rng(12345);
  std::vector<std::pair<char, std::string>> cases;
  // Strs: code points drawn from interesting ranges, surrogates included.
  const uint32_t ranges[][2] = {{0, 0x7f},         {0x80, 0xff},       {0x100, 0x7ff},
                                {0x800, 0xffff},   {0xd800, 0xdfff},   {0x10000, 0x10ffff},
                                {0x2000, 0x206f},  {0xe000, 0xf8ff},   {0xfff0, 0xffff},
                                {0x1f000, 0x1faff}, {0xe0000, 0xe01ff}, {0x30000, 0x3ffff}};
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    int len = static_cast<int>(rng() % 8);
    for (int k = 0; k < len; ++k) {
      const auto& r = ranges[rng() % std::size(ranges)];
      s += utf8(r[0] + static_cast<uint32_t>(rng() % (r[1] - r[0] + 1)));
    }
    if (rng() % 5 == 0) s += (rng() % 2) ? "'" : "\"";
    cases.emplace_back('s', s);
  }
  // Longer strs, mostly ASCII and U+0080..U+00FF (a protocol-2 bytes'
  // latin-1 text), so that the 8-byte ASCII words and the one-at-a-time
  // steps after them meet every kind of code point at every offset.
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    int len = 8 + static_cast<int>(rng() % 40);
    for (int k = 0; k < len; ++k) {
      const uint32_t pick = static_cast<uint32_t>(rng() % 16);
      if (pick < 9) {
        s += static_cast<char>(0x20 + rng() % 0x5f);  // printable ASCII, quotes and backslash included
      } else if (pick < 13) {
        s += utf8(0x80 + static_cast<uint32_t>(rng() % 0x80));
      } else if (pick < 14) {
        s += static_cast<char>(rng() % 0x20 == 0 ? 0x7f : rng() % 0x20);
      } else {
        const auto& r = ranges[rng() % std::size(ranges)];
        s += utf8(r[0] + static_cast<uint32_t>(rng() % (r[1] - r[0] + 1)));
      }
    }
    cases.emplace_back('s', s);
  }
  // Every code point of the BMP and a stride through the rest, in chunks.
  for (uint32_t cp = 0; cp < 0x110000; cp += (cp < 0x10000 ? 1 : 7)) {
    if (cases.empty() || cases.back().first != 's' || cases.back().second.size() > 200) cases.emplace_back('s', "");
    cases.back().second += utf8(cp);
  }
  for (int i = 0; i < 1000; ++i) {
    std::string b;
    int len = static_cast<int>(rng() % 10);
    for (int k = 0; k < len; ++k) b += static_cast<char>(rng() % 256);
    cases.emplace_back(i % 3 == 0 ? 'a' : 'b', b);
  }
  // Floats: random bits, random "nice" decimals, powers of ten, boundaries.
  auto add_double = [&](double d) {
    std::string raw(8, '\0');
    std::memcpy(raw.data(), &d, 8);
    cases.emplace_back('f', raw);
  };
  for (int i = 0; i < 5000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    add_double(d);
  }
  for (int e = -330; e <= 310; ++e) {
    add_double(std::pow(10.0, e));
    add_double(1.5 * std::pow(10.0, e));
    add_double(-std::nextafter(std::pow(10.0, e), 0.0));
  }
  for (int i = 0; i < 3000; ++i) {
    double d = static_cast<double>(rng() % 100000) / std::pow(10.0, static_cast<double>(rng() % 12));
    add_double(d);
  }
  add_double(std::numeric_limits<double>::denorm_min());
  add_double(std::numeric_limits<double>::min());
  add_double(std::numeric_limits<double>::max());
  add_double(9007199254740993.0);
  add_double(1e16 - 2);

  std::string input;
  for (const auto& [kind, data] : cases) {
    input += kind;
    input += ' ';
    input += data.empty() ? std::string("x") : to_hex(data);
    input += '\n';
  }
  std::string output = run_python(kReprScript, input);
  ASSERT_FALSE(output.empty()) << "python3 failed";
  std::istringstream lines(output);
  std::string line;
  size_t i = 0, mismatches = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, cases.size());
    const auto& [kind, data] = cases[i++];
    std::string want = from_hex(line);
    std::string got;
    if (kind == 's') {
      got = pkl::repr_str(data);
      // show's shortcut: a plain str's repr is itself in single quotes, and
      // an ASCII str is plain exactly when it is.
      const bool ascii = std::all_of(data.begin(), data.end(), [](char c) { return (c & 0x80) == 0; });
      if (pkl::detail::repr_str_is_plain(data) || ascii) {
        EXPECT_EQ(pkl::detail::repr_str_is_plain(data), want == "'" + data + "'") << to_hex(data);
      }
    } else if (kind == 'b' || kind == 'a') {
      got = pkl::repr_bytes(data, kind == 'a');
    } else {
      double d;
      std::memcpy(&d, data.data(), 8);
      got = pkl::repr_float(d);
    }
    if (got != want && ++mismatches <= 20) {
      ADD_FAILURE() << "kind " << kind << " input " << to_hex(data) << ": got " << got << ", python "
                    << want;
    }
  }
  EXPECT_EQ(i, cases.size());
  EXPECT_EQ(mismatches, 0u);
}

TEST(Repr, GeneratedTableIsCurrent) {
  std::string cmd = std::string("python3 ") + PICKLECODEC_SOURCE_DIR + "/codec/gen/gen_unicode.py --check";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "unicode_printable.inc is stale";
}

}  // namespace
