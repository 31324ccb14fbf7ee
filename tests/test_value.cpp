// Tests of the value graph (codec/src/value*.cpp) and the class registry.
// Expected values that depend on Python semantics were checked with python3
// (3.11); the Python expression is given next to each.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/memory.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"
#include "base/hex.hpp"
#include "value/impl.hpp"
#include "value/pages.hpp"

namespace {

using pkl::ErrorCode;
using pkl::Graph;
using pkl::Kind;
using pkl::kNoNode;
using pkl::NodeId;

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(std::string_view s) { return pkl::hex_string(s); }

NodeId int_from_le(Graph& g, std::string_view le) {
  return g.integer_le(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(le.data()), le.size()));
}

template <class F>
ErrorCode error_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const pkl::Error& e) {
    if (message) *message = e.message();
    return e.code();
  } catch (...) {
    ADD_FAILURE() << "non-pkl exception";
    return ErrorCode::Io;
  }
  ADD_FAILURE() << "no exception";
  return ErrorCode::Io;
}

// a + b without `"literal" + std::string` (GCC 12 -Wrestrict false positive at -O3).
std::string cat(std::string_view a, std::string_view b) {
  std::string out(a);
  out += b;
  return out;
}

double nan_with_payload(uint64_t payload) {
  return std::bit_cast<double>(0x7ff8000000000000ULL | payload);
}

// ---- construction and singletons --------------------------------------

TEST(Value, FixedNodes) {
  Graph g;
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g.none(), 0u);
  EXPECT_EQ(g.boolean(false), 1u);
  EXPECT_EQ(g.boolean(true), 2u);
  EXPECT_EQ(g.kind(0), Kind::None);
  EXPECT_EQ(g.kind(1), Kind::Bool);
  EXPECT_FALSE(g.as_bool(1));
  EXPECT_TRUE(g.as_bool(2));
  EXPECT_EQ(g.root(), kNoNode);
  g.set_root(2);
  EXPECT_EQ(g.root(), 2u);
}

TEST(Value, StrAndBytesSingletons) {
  Graph g;
  EXPECT_EQ(g.str(""), g.str(""));
  EXPECT_EQ(g.str("a"), g.str("a"));
  EXPECT_EQ(g.str("\x7f"), g.str("\x7f"));
  EXPECT_EQ(g.str("\xc2\x80"), g.str("\xc2\x80"));  // U+0080
  EXPECT_EQ(g.str("\xc3\xbf"), g.str("\xc3\xbf"));  // U+00FF
  EXPECT_NE(g.str("\xc4\x80"), g.str("\xc4\x80"));  // U+0100 is not shared
  EXPECT_NE(g.str("ab"), g.str("ab"));
  EXPECT_NE(g.str("a"), g.str("b"));
  EXPECT_NE(g.str("\xc3\xa9"), g.str("e"));
  EXPECT_EQ(g.as_str(g.str("\xc3\xa9")), "\xc3\xa9");
  EXPECT_EQ(g.bytes(""), g.bytes(""));
  EXPECT_EQ(g.bytes(std::string_view("\0", 1)), g.bytes(std::string_view("\0", 1)));
  EXPECT_EQ(g.bytes("\xff"), g.bytes("\xff"));
  EXPECT_NE(g.bytes("ab"), g.bytes("ab"));
  EXPECT_NE(g.bytes("a"), g.str("a"));
  EXPECT_NE(g.bytearray(""), g.bytearray(""));
  EXPECT_NE(g.bytearray("a"), g.bytearray("a"));
  EXPECT_EQ(g.kind(g.bytes("a")), Kind::Bytes);
  EXPECT_EQ(g.kind(g.bytearray("a")), Kind::ByteArray);
  EXPECT_EQ(g.as_bytes(g.bytearray("xyz")), "xyz");
  // Every one-char str below U+0100 and every 1-byte bytes: 256 + 256 nodes.
  Graph h;
  const size_t before = h.size();
  for (int round = 0; round < 2; ++round) {
    for (unsigned cp = 0; cp < 256; ++cp) {
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      }
      NodeId n = h.str(s);
      EXPECT_EQ(h.as_str(n), s);
      h.bytes(std::string(1, static_cast<char>(cp)));
    }
  }
  EXPECT_EQ(h.size(), before + 512);
}

TEST(Value, GlobalsInterned) {
  Graph g;
  NodeId a = g.global("collections", "OrderedDict");
  EXPECT_EQ(a, g.global("collections", "OrderedDict"));
  EXPECT_NE(a, g.global("collections", "Counter"));
  EXPECT_NE(g.global("a", "b.c"), g.global("a.b", "c"));
  EXPECT_NE(g.global("ab", "c"), g.global("a", "bc"));
  EXPECT_EQ(g.global_data(a).module, "collections");
  EXPECT_EQ(g.global_data(a).qualname, "OrderedDict");
  EXPECT_EQ(g.kind(a), Kind::Global);
}

TEST(Value, KindNames) {
  EXPECT_STREQ(pkl::kind_name(Kind::None), "NoneType");
  EXPECT_STREQ(pkl::kind_name(Kind::Bool), "bool");
  EXPECT_STREQ(pkl::kind_name(Kind::Int), "int");
  EXPECT_STREQ(pkl::kind_name(Kind::Float), "float");
  EXPECT_STREQ(pkl::kind_name(Kind::Str), "str");
  EXPECT_STREQ(pkl::kind_name(Kind::Bytes), "bytes");
  EXPECT_STREQ(pkl::kind_name(Kind::ByteArray), "bytearray");
  EXPECT_STREQ(pkl::kind_name(Kind::Tuple), "tuple");
  EXPECT_STREQ(pkl::kind_name(Kind::List), "list");
  EXPECT_STREQ(pkl::kind_name(Kind::Dict), "dict");
  EXPECT_STREQ(pkl::kind_name(Kind::Set), "set");
  EXPECT_STREQ(pkl::kind_name(Kind::FrozenSet), "frozenset");
  EXPECT_STREQ(pkl::kind_name(Kind::Global), "type");
  EXPECT_STREQ(pkl::kind_name(Kind::Object), "object");
  EXPECT_STREQ(pkl::kind_name(Kind::PersId), "persistent_id");
  EXPECT_STREQ(pkl::kind_name(Kind::Buffer), "pickle.PickleBuffer");
}

// ---- ints -----------------------------------------------------------------

struct IntCase {
  const char* decimal;
  const char* le_hex;  // pickle.encode_long(v).hex()
};

const IntCase kIntCases[] = {
    {"0", ""},
    {"1", "01"},
    {"-1", "ff"},
    {"127", "7f"},
    {"128", "8000"},
    {"255", "ff00"},
    {"256", "0001"},
    {"-128", "80"},
    {"-129", "7fff"},
    {"-256", "00ff"},
    {"2147483647", "ffffff7f"},
    {"2147483648", "0000008000"},
    {"-2147483648", "00000080"},
    {"9223372036854775807", "ffffffffffffff7f"},
    {"-9223372036854775808", "0000000000000080"},
    {"9223372036854775808", "000000000000008000"},
    {"-9223372036854775809", "ffffffffffffff7fff"},
    {"18446744073709551616", "000000000000000001"},
    {"-18446744073709551616", "0000000000000000ff"},
    {"9007199254740993", "01000000000020"},
    {"10000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000",
     "000000000000000000000000108f2ea80843b2aa7c1a218e40ce8af30bcec484270beb7cc39425ad4912"},
    {"-1000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000",
     "000000000000000000000000f070d157f7bc4d5583e5de71bf31750cf4313b7bd8f414833c6bda52b6ed"},
};

TEST(Value, IntBoundaries) {
  for (const auto& c : kIntCases) {
    SCOPED_TRACE(c.decimal);
    Graph g;
    NodeId a = g.integer_decimal(c.decimal);
    EXPECT_EQ(g.kind(a), Kind::Int);
    EXPECT_EQ(hex(g.int_le(a)), c.le_hex);
    EXPECT_EQ(g.int_decimal(a), c.decimal);
    NodeId b = int_from_le(g, unhex(c.le_hex));
    EXPECT_EQ(g.int_decimal(b), c.decimal);
    EXPECT_EQ(hex(g.int_le(b)), c.le_hex);
    EXPECT_TRUE(g.key_equal(a, b));
    const bool fits = std::strlen(c.le_hex) <= 16;
    EXPECT_EQ(g.int_fits64(a), fits);
    EXPECT_EQ(g.int_fits64(b), fits);
    if (fits) {
      EXPECT_EQ(std::to_string(g.as_int(a)), c.decimal);
      NodeId d = g.integer(g.as_int(a));
      EXPECT_EQ(hex(g.int_le(d)), c.le_hex);
    } else {
      EXPECT_EQ(error_of([&] { g.as_int(a); }), ErrorCode::Usage);
    }
  }
}

TEST(Value, IntegerLeNormalizes) {
  Graph g;
  // Redundant sign bytes are dropped; values that fit in 64 bits become the fast form.
  NodeId a = int_from_le(g, unhex("ffffffffffffffffffff"));
  EXPECT_TRUE(g.int_fits64(a));
  EXPECT_EQ(g.as_int(a), -1);
  EXPECT_EQ(hex(g.int_le(a)), "ff");
  NodeId z = int_from_le(g, unhex("000000000000000000000000"));
  EXPECT_EQ(g.as_int(z), 0);
  EXPECT_EQ(g.int_le(z), "");
  NodeId m = int_from_le(g, unhex("0000000000000080ffff"));  // -2**63
  EXPECT_TRUE(g.int_fits64(m));
  EXPECT_EQ(g.as_int(m), std::numeric_limits<int64_t>::min());
  NodeId big = int_from_le(g, unhex("00000000000000000100"));  // 2**64, one redundant byte
  EXPECT_FALSE(g.int_fits64(big));
  EXPECT_EQ(hex(g.int_le(big)), "000000000000000001");
  EXPECT_EQ(g.int_decimal(big), "18446744073709551616");
  EXPECT_EQ(g.int_decimal(int_from_le(g, "")), "0");
}

TEST(Value, IntegerDecimalSyntax) {
  Graph g;
  EXPECT_EQ(g.as_int(g.integer_decimal("+5")), 5);
  EXPECT_EQ(g.as_int(g.integer_decimal("-0")), 0);
  EXPECT_EQ(g.as_int(g.integer_decimal("00")), 0);
  EXPECT_EQ(g.as_int(g.integer_decimal("007")), 7);
  EXPECT_EQ(g.as_int(g.integer_decimal(" 12 ")), 12);    // int(' 12 ') == 12
  EXPECT_EQ(g.as_int(g.integer_decimal("\t7\n")), 7);
  EXPECT_EQ(g.as_int(g.integer_decimal("1_000")), 1000);  // int('1_000') == 1000
  EXPECT_EQ(g.int_decimal(g.integer_decimal("-000000000000000000000000000000001")), "-1");
  EXPECT_EQ(g.int_decimal(g.integer_decimal("123456789012345678901234567890")),
            "123456789012345678901234567890");
  for (const char* bad : {"", "-", "+", " ", "0x10", "1__0", "_1", "1_", "1.5", "--1", "+-1",
                          "1 2", "abc", "1L", "\xff"}) {
    SCOPED_TRACE(bad);
    std::string msg;
    EXPECT_EQ(error_of([&] { g.integer_decimal(bad); }, &msg), ErrorCode::ValueError);
    EXPECT_EQ(msg.rfind("invalid literal for int() with base 10: ", 0), 0u);
  }
  std::string msg;
  error_of([&] { g.integer_decimal("0x10"); }, &msg);
  EXPECT_EQ(msg, "invalid literal for int() with base 10: '0x10'");
}

TEST(Value, HugeIntRoundTrips) {
  Graph g;
  std::string ten1000 = cat("1", std::string(1000, '0'));
  NodeId a = g.integer_decimal(ten1000);
  EXPECT_EQ(g.int_decimal(a), ten1000);
  std::string le = g.int_le(a);
  EXPECT_EQ(le.size(), 416u);  // len(pickle.encode_long(10**1000))
  EXPECT_EQ(hex(le.substr(0, 20)), "0000000000000000000000000000000000000000");
  NodeId b = int_from_le(g, le);
  EXPECT_EQ(g.int_decimal(b), ten1000);
  EXPECT_TRUE(g.key_equal(a, b));
  NodeId neg = g.integer_decimal(cat("-", ten1000));
  EXPECT_EQ(g.int_decimal(neg), cat("-", ten1000));
  EXPECT_EQ(g.int_le(neg).size(), 416u);
  EXPECT_FALSE(g.key_equal(a, neg));

  // 100k digits: must stay well under a second (schoolbook base 10^9).
  std::string digits;
  digits.reserve(100001);
  digits.push_back('-');
  for (int i = 0; i < 100000; ++i) digits.push_back(static_cast<char>('1' + (i * 7) % 9));
  NodeId h = g.integer_decimal(digits);
  EXPECT_EQ(g.int_decimal(h), digits);
  EXPECT_EQ(g.int_decimal(int_from_le(g, g.int_le(h))), digits);
}

// ---- floats and strs ----------------------------------------------------

TEST(Value, FloatBitsKept) {
  Graph g;
  for (uint64_t bits : {0x0000000000000000ULL, 0x8000000000000000ULL, 0x7ff8000000000000ULL,
                        0x7ff8000000000123ULL, 0xfff0000000000001ULL, 0x7ff0000000000000ULL,
                        0x0000000000000001ULL, 0x3ff0000000000000ULL}) {
    NodeId n = g.floating(std::bit_cast<double>(bits));
    EXPECT_EQ(std::bit_cast<uint64_t>(g.as_float(n)), bits);
  }
}

TEST(Value, StrIsValid) {
  using S = std::string_view;
  for (S ok : {S(""), S("abc"), S("\xc3\xa9"), S("\xe2\x82\xac"), S("\xf0\x9f\x98\x80"),
               S("\xed\xa0\x80"),    // U+D800 (surrogate, allowed)
               S("\xed\xbf\xbf"),    // U+DFFF
               S("\xf4\x8f\xbf\xbf"),  // U+10FFFF
               S("\xef\xbf\xbf"), S("\xe0\xa0\x80"), S("\xf0\x90\x80\x80"), S("\xc2\x80"),
               S("0123456789abcdef\xc3\xa9" "0123456789abcdef"), S("\0", 1)}) {
    EXPECT_TRUE(Graph::str_is_valid(ok)) << hex(ok);
  }
  for (S bad : {S("\x80"), S("\xbf"), S("\xc0\x80"), S("\xc1\xbf"),  // overlong 2-byte
                S("\xe0\x80\x80"), S("\xe0\x9f\xbf"),                 // overlong 3-byte
                S("\xf0\x80\x80\x80"), S("\xf0\x8f\xbf\xbf"),         // overlong 4-byte
                S("\xf4\x90\x80\x80"), S("\xf5\x80\x80\x80"),         // > U+10FFFF
                S("\xff"), S("\xfe"), S("\xc3"), S("\xe2\x82"), S("\xf0\x9f\x98"),  // truncated
                S("\xc3\x28"), S("\xe2\x28\xa1"), S("abcdefgh\xc3"),
                S("0123456789abcdef\x80")}) {
    EXPECT_FALSE(Graph::str_is_valid(bad)) << hex(bad);
  }
}

// ---- dict keys and set members -----------------------------------------

TEST(Value, EqualNumbersMergeKeepFirstKeyLastValue) {
  Graph g;
  // d = {1: 'a'}; d[1.0] = 'b'; d[True] = 'c'  ->  {1: 'c'}
  NodeId d = g.dict();
  NodeId one = g.integer(1);
  g.dict_set(d, one, g.str("a"));
  g.dict_set(d, g.floating(1.0), g.str("b"));
  NodeId c = g.str("c");
  g.dict_set(d, g.boolean(true), c);
  ASSERT_EQ(g.dict_items(d).size(), 1u);
  EXPECT_EQ(g.dict_items(d)[0].first, one);
  EXPECT_EQ(g.dict_items(d)[0].second, c);
  // d = {0: 'a'}; d[-0.0] = 'b'; d[False] = 'c'  ->  {0: 'c'}
  NodeId d0 = g.dict();
  NodeId negzero = g.floating(-0.0);
  g.dict_set(d0, negzero, g.str("a"));
  g.dict_set(d0, g.integer(0), g.str("b"));
  g.dict_set(d0, g.boolean(false), c);
  ASSERT_EQ(g.length(d0), 1u);
  EXPECT_EQ(g.dict_items(d0)[0].first, negzero);
  EXPECT_EQ(g.dict_items(d0)[0].second, c);
  // {True: 'a'}; d[1] = 'b'  ->  {True: 'b'}
  NodeId d1 = g.dict();
  g.dict_set(d1, g.boolean(true), g.str("a"));
  g.dict_set(d1, g.integer(1), g.str("b"));
  EXPECT_EQ(g.dict_items(d1)[0].first, g.boolean(true));
  EXPECT_EQ(g.as_str(g.dict_items(d1)[0].second), "b");
  EXPECT_EQ(g.dict_get(d1, g.floating(1.0)), g.dict_items(d1)[0].second);
  EXPECT_EQ(g.dict_get(d1, g.integer(2)), kNoNode);
}

TEST(Value, NumericEqualityIsExact) {
  Graph g;
  auto eq = [&](NodeId a, NodeId b) { return g.key_equal(a, b) && g.key_equal(b, a); };
  // 2**64 == 18446744073709551616.0
  EXPECT_TRUE(eq(g.integer_decimal("18446744073709551616"), g.floating(18446744073709551616.0)));
  // 2**53 + 1 != 9007199254740992.0 ; 2**53 == 9007199254740992.0
  EXPECT_FALSE(eq(g.integer_decimal("9007199254740993"), g.floating(9007199254740992.0)));
  EXPECT_TRUE(eq(g.integer_decimal("9007199254740992"), g.floating(9007199254740992.0)));
  // -2**63 == -9223372036854775808.0 ; 2**63 == 9223372036854775808.0
  EXPECT_TRUE(eq(g.integer(std::numeric_limits<int64_t>::min()), g.floating(-9223372036854775808.0)));
  EXPECT_TRUE(eq(g.integer_decimal("9223372036854775808"), g.floating(9223372036854775808.0)));
  EXPECT_FALSE(eq(g.integer(std::numeric_limits<int64_t>::max()), g.floating(9223372036854775808.0)));
  // int(-1e300) == -1e300
  NodeId m = g.integer_decimal(
      "-10000000000000000525047602552044202487044685811081591549158541155118024579889081957863713"
      "750804478640437044438328838781769425232353604305756447921847867069828483872009265758037378"
      "302337947880900593689532349707999450811190389676408800746527427801424945792587888200568428"
      "38115669472196386865459400540160");
  EXPECT_TRUE(eq(m, g.floating(-1e300)));
  EXPECT_FALSE(eq(m, g.floating(1e300)));
  EXPECT_FALSE(eq(g.integer(1), g.floating(1.5)));
  EXPECT_FALSE(eq(g.integer(0), g.floating(0.5)));
  EXPECT_FALSE(eq(g.integer(1), g.floating(INFINITY)));
  EXPECT_TRUE(eq(g.floating(INFINITY), g.floating(INFINITY)));
  EXPECT_TRUE(eq(g.floating(0.0), g.floating(-0.0)));
  EXPECT_TRUE(eq(g.floating(2.5), g.floating(2.5)));
  EXPECT_TRUE(eq(g.boolean(false), g.floating(-0.0)));
  EXPECT_FALSE(eq(g.boolean(true), g.integer(2)));
  // Same value, same hash: equal keys merge in a big dict too.
  NodeId d = g.dict();
  for (int i = 0; i < 100; ++i) g.dict_set(d, g.integer(i), g.none());
  g.dict_set(d, g.integer_decimal("18446744073709551616"), g.none());
  for (int i = 0; i < 100; ++i) g.dict_set(d, g.floating(i), g.boolean(true));
  g.dict_set(d, g.floating(18446744073709551616.0), g.boolean(true));
  EXPECT_EQ(g.length(d), 101u);
  for (const auto& [k, v] : g.dict_items(d)) {
    EXPECT_EQ(g.kind(k), Kind::Int);
    EXPECT_EQ(v, g.boolean(true));
  }
}

// Values m * 2**e built as ints (e >= 0) and as floats: equal values must be
// one key whatever their type, in small dicts (scanned) and big ones (hashed).
TEST(Value, NumericKeysAgreeAcrossTypes) {
  struct Num {
    int64_t m;
    int e;
  };
  auto normalize = [](Num n) {
    if (n.m == 0) return Num{0, 0};
    while ((n.m & 1) == 0) {
      n.m /= 2;
      ++n.e;
    }
    return n;
  };
  auto int_node = [](Graph& g, int64_t m, int e) {
    // Two's complement LE of m << e.
    std::vector<uint8_t> mag(static_cast<size_t>(e / 8 + 10), 0);
    const uint64_t um = m < 0 ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
    for (int bit = 0; bit < 64; ++bit) {
      if ((um >> bit) & 1) mag[static_cast<size_t>((bit + e) / 8)] |= static_cast<uint8_t>(1u << ((bit + e) % 8));
    }
    if (m < 0) {
      unsigned carry = 1;
      for (auto& b : mag) {
        unsigned v = (~unsigned{b} & 0xffu) + carry;
        b = static_cast<uint8_t>(v);
        carry = v >> 8;
      }
    }
    return g.integer_le(mag);
  };
  const int64_t ms[] = {0, 1, -1, 3, -3, 5, 7, (int64_t{1} << 53) - 1, -((int64_t{1} << 53) - 1)};
  const int es[] = {-3, -1, 0, 1, 10, 31, 32, 52, 53, 62, 63, 64, 65, 100, 200, 900};
  for (bool big : {false, true}) {
    Graph g;
    std::vector<std::pair<NodeId, Num>> nodes;
    for (int64_t m : ms) {
      for (int e : es) {
        nodes.push_back({g.floating(std::ldexp(static_cast<double>(m), e)), normalize({m, e})});
        if (e >= 0) nodes.push_back({int_node(g, m, e), normalize({m, e})});
      }
    }
    nodes.push_back({g.boolean(true), Num{1, 0}});
    nodes.push_back({g.boolean(false), Num{0, 0}});
    std::vector<std::pair<int64_t, int>> distinct;
    for (const auto& [n, v] : nodes) {
      if (std::find(distinct.begin(), distinct.end(), std::make_pair(v.m, v.e)) == distinct.end()) {
        distinct.push_back({v.m, v.e});
      }
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (size_t j = 0; j < nodes.size(); ++j) {
        const bool same = nodes[i].second.m == nodes[j].second.m && nodes[i].second.e == nodes[j].second.e;
        ASSERT_EQ(g.key_equal(nodes[i].first, nodes[j].first), same) << i << " " << j;
      }
    }
    if (big) {
      NodeId d = g.dict();
      for (const auto& [n, v] : nodes) g.dict_set(d, n, n);
      EXPECT_EQ(g.length(d), distinct.size());
      for (const auto& [n, v] : nodes) {
        NodeId got = g.dict_get(d, n);
        ASSERT_NE(got, kNoNode);
        EXPECT_TRUE(g.key_equal(got, n));
      }
    } else {
      // Pairwise in small dicts (no index).
      for (size_t i = 0; i < nodes.size(); i += 7) {
        for (size_t j = 0; j < nodes.size(); ++j) {
          NodeId d = g.dict();
          g.dict_set(d, nodes[i].first, g.none());
          g.dict_set(d, nodes[j].first, g.none());
          const bool same = nodes[i].second.m == nodes[j].second.m && nodes[i].second.e == nodes[j].second.e;
          EXPECT_EQ(g.length(d), same ? 1u : 2u);
        }
      }
    }
  }
}

TEST(Value, NaNKeysAreEqualOnlyToThemselves) {
  Graph g;
  // n = float('nan'); d = {n: 1}; d[n] = 2; d[float('nan')] = 3  ->  {nan: 2, nan: 3}
  NodeId d = g.dict();
  NodeId n = g.floating(std::nan(""));
  g.dict_set(d, n, g.integer(1));
  g.dict_set(d, n, g.integer(2));
  g.dict_set(d, g.floating(std::nan("")), g.integer(3));
  ASSERT_EQ(g.length(d), 2u);
  EXPECT_EQ(g.as_int(g.dict_items(d)[0].second), 2);
  EXPECT_EQ(g.as_int(g.dict_items(d)[1].second), 3);
  EXPECT_TRUE(g.key_equal(n, n));
  EXPECT_FALSE(g.key_equal(n, g.floating(nan_with_payload(0))));
  // Tuples holding the same NaN node are equal (identity first, as in Python).
  NodeId t1 = g.tuple(std::vector<NodeId>{n});
  NodeId t2 = g.tuple(std::vector<NodeId>{n});
  EXPECT_TRUE(g.key_equal(t1, t2));
  EXPECT_FALSE(g.key_equal(t1, g.tuple(std::vector<NodeId>{g.floating(std::nan(""))})));
  NodeId s = g.set();
  for (int i = 0; i < 20; ++i) g.set_add(s, g.floating(std::nan("")));
  g.set_add(s, n);
  g.set_add(s, n);
  EXPECT_EQ(g.length(s), 21u);
}

TEST(Value, StrBytesTuplesFrozensetsByContent) {
  Graph g;
  NodeId d = g.dict();
  NodeId k1 = g.str("key");
  g.dict_set(d, k1, g.integer(1));
  g.dict_set(d, g.str("key"), g.integer(2));
  g.dict_set(d, g.bytes("key"), g.integer(3));  // str never equals bytes
  g.dict_set(d, g.bytes("key"), g.integer(4));
  ASSERT_EQ(g.length(d), 2u);
  EXPECT_EQ(g.dict_items(d)[0].first, k1);
  EXPECT_EQ(g.as_int(g.dict_items(d)[0].second), 2);
  EXPECT_EQ(g.as_int(g.dict_items(d)[1].second), 4);

  // (1, 'a') == (1.0, 'a'); hash((1, 'a')) == hash((1.0, 'a'))
  NodeId ta = g.tuple(std::vector<NodeId>{g.integer(1), g.str("ab")});
  NodeId tb = g.tuple(std::vector<NodeId>{g.floating(1.0), g.str("ab")});
  NodeId tc = g.tuple(std::vector<NodeId>{g.integer(1), g.str("ab"), g.none()});
  EXPECT_TRUE(g.key_equal(ta, tb));
  EXPECT_FALSE(g.key_equal(ta, tc));
  NodeId dt = g.dict();
  g.dict_set(dt, ta, g.integer(1));
  g.dict_set(dt, tb, g.integer(2));
  g.dict_set(dt, tc, g.integer(3));
  EXPECT_EQ(g.length(dt), 2u);
  EXPECT_EQ(g.as_int(g.dict_get(dt, tb)), 2);
  EXPECT_NE(g.tuple({}), g.tuple({}));  // empty tuples are not interned
  EXPECT_TRUE(g.key_equal(g.tuple({}), g.tuple({})));

  // frozenset({1, 2}) == frozenset({2.0, 1})
  NodeId f1 = g.frozenset(std::vector<NodeId>{g.integer(1), g.integer(2)});
  NodeId f2 = g.frozenset(std::vector<NodeId>{g.floating(2.0), g.integer(1), g.boolean(true)});
  EXPECT_EQ(g.length(f2), 2u);
  EXPECT_TRUE(g.key_equal(f1, f2));
  EXPECT_FALSE(g.key_equal(f1, g.frozenset(std::vector<NodeId>{g.integer(1)})));
  EXPECT_FALSE(g.key_equal(f1, g.frozenset(std::vector<NodeId>{g.integer(1), g.integer(3)})));
  NodeId ds = g.dict();
  g.dict_set(ds, f1, g.integer(1));
  g.dict_set(ds, f2, g.integer(2));
  g.dict_set(ds, g.frozenset({}), g.integer(3));
  g.dict_set(ds, g.frozenset({}), g.integer(4));
  ASSERT_EQ(g.length(ds), 2u);
  EXPECT_EQ(g.dict_items(ds)[0].first, f1);
  EXPECT_EQ(g.as_int(g.dict_items(ds)[0].second), 2);
  EXPECT_EQ(g.as_int(g.dict_items(ds)[1].second), 4);
  // A frozenset is not equal to a tuple of the same items.
  EXPECT_FALSE(g.key_equal(f1, g.tuple(std::vector<NodeId>{g.integer(1), g.integer(2)})));
  // {1} in {frozenset({1})} -> True (a set member is looked up as a frozenset)
  NodeId sf = g.set();
  g.set_add(sf, g.frozenset(std::vector<NodeId>{g.integer(1)}));
  NodeId probe = g.set();
  g.set_add(probe, g.integer(1));
  EXPECT_TRUE(g.set_contains(sf, probe));
  g.set_add(probe, g.integer(2));
  EXPECT_FALSE(g.set_contains(sf, probe));
  // Frozensets of frozensets.
  NodeId ff1 = g.frozenset(std::vector<NodeId>{f1, g.frozenset({})});
  NodeId ff2 = g.frozenset(std::vector<NodeId>{g.frozenset({}), f2});
  EXPECT_TRUE(g.key_equal(ff1, ff2));
}

TEST(Value, IdentityKeys) {
  Graph g;
  NodeId cls = g.global("m", "C");
  NodeId o1 = g.object(cls, g.tuple({}));
  NodeId o2 = g.object(cls, g.tuple({}));
  NodeId d = g.dict();
  g.dict_set(d, o1, g.integer(1));
  g.dict_set(d, o2, g.integer(2));
  g.dict_set(d, o1, g.integer(3));
  g.dict_set(d, g.global("m", "C"), g.integer(4));
  g.dict_set(d, cls, g.integer(5));
  g.dict_set(d, g.none(), g.integer(6));
  g.dict_set(d, g.none(), g.integer(7));
  NodeId p1 = g.persid(g.str("x"));
  g.dict_set(d, p1, g.integer(8));
  g.dict_set(d, g.persid(g.str("x")), g.integer(9));
  NodeId b1 = g.buffer(0, true, "ab");
  g.dict_set(d, b1, g.integer(10));
  g.dict_set(d, g.buffer(0, true, "ab"), g.integer(11));
  ASSERT_EQ(g.length(d), 8u);
  EXPECT_EQ(g.as_int(g.dict_get(d, o1)), 3);
  EXPECT_EQ(g.as_int(g.dict_get(d, o2)), 2);
  EXPECT_EQ(g.as_int(g.dict_get(d, cls)), 5);
  EXPECT_EQ(g.as_int(g.dict_get(d, g.none())), 7);
  EXPECT_EQ(g.as_int(g.dict_get(d, p1)), 8);
  EXPECT_EQ(g.as_int(g.dict_get(d, b1)), 10);
  EXPECT_FALSE(g.key_equal(g.none(), g.boolean(false)));
  EXPECT_FALSE(g.key_equal(g.none(), g.integer(0)));
}

TEST(Value, InsertionOrderAndUpdateInPlace) {
  Graph g;
  NodeId d = g.dict();
  for (int i = 0; i < 50; ++i) g.dict_set(d, g.integer(i * 7 % 50), g.integer(i));
  g.dict_set(d, g.integer(0), g.str("zero"));
  auto items = g.dict_items(d);
  ASSERT_EQ(items.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(g.as_int(items[i].first), i * 7 % 50);
  EXPECT_EQ(g.as_str(items[0].second), "zero");
  NodeId s = g.set();
  for (int i = 0; i < 50; ++i) g.set_add(s, g.integer(49 - i));
  for (int i = 0; i < 50; ++i) g.set_add(s, g.floating(i));
  auto members = g.items(s);
  ASSERT_EQ(members.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(g.kind(members[i]), Kind::Int);
    EXPECT_EQ(g.as_int(members[i]), 49 - i);
  }
  EXPECT_TRUE(g.set_contains(s, g.floating(3.0)));
  EXPECT_FALSE(g.set_contains(s, g.floating(3.5)));
}

TEST(Value, UnhashableErrors) {
  Graph g;
  NodeId d = g.dict();
  auto msg_of_key = [&](NodeId key) {
    std::string msg;
    EXPECT_EQ(error_of([&] { g.dict_set(d, key, g.none()); }, &msg), ErrorCode::TypeError);
    return msg;
  };
  EXPECT_EQ(msg_of_key(g.list()), "unhashable type: 'list'");
  EXPECT_EQ(msg_of_key(g.dict()), "unhashable type: 'dict'");
  EXPECT_EQ(msg_of_key(g.set()), "unhashable type: 'set'");
  EXPECT_EQ(msg_of_key(g.bytearray("x")), "unhashable type: 'bytearray'");
  // {(1, [2]): 0} -> unhashable type: 'list'
  NodeId l2 = g.list(std::vector<NodeId>{g.integer(2)});
  EXPECT_EQ(msg_of_key(g.tuple(std::vector<NodeId>{g.integer(1), l2})), "unhashable type: 'list'");
  // hash((1, (2, {3: 4}))) -> unhashable type: 'dict' (the first unhashable in order)
  NodeId inner = g.tuple(std::vector<NodeId>{g.integer(2), g.dict(), g.list()});
  EXPECT_EQ(msg_of_key(g.tuple(std::vector<NodeId>{g.integer(1), inner, g.set()})),
            "unhashable type: 'dict'");
  EXPECT_EQ(g.length(d), 0u);
  std::string msg;
  // frozenset([[1]]) -> unhashable type: 'list'
  EXPECT_EQ(error_of([&] { g.frozenset(std::vector<NodeId>{g.integer(1), g.list()}); }, &msg),
            ErrorCode::TypeError);
  EXPECT_EQ(msg, "unhashable type: 'list'");
  NodeId s = g.set();
  EXPECT_EQ(error_of([&] { g.set_add(s, g.list()); }, &msg), ErrorCode::TypeError);
  EXPECT_EQ(msg, "unhashable type: 'list'");
  // {}.get([1]) and set().__contains__([1]) raise too.
  EXPECT_EQ(error_of([&] { g.dict_get(d, g.list()); }, &msg), ErrorCode::TypeError);
  EXPECT_EQ(msg, "unhashable type: 'list'");
  EXPECT_EQ(error_of([&] { g.set_contains(s, g.bytearray("")); }, &msg), ErrorCode::TypeError);
  EXPECT_EQ(msg, "unhashable type: 'bytearray'");
  EXPECT_FALSE(g.hashable(g.list()));
  EXPECT_FALSE(g.hashable(g.tuple(std::vector<NodeId>{g.dict()})));
  EXPECT_TRUE(g.hashable(g.tuple(std::vector<NodeId>{g.frozenset({}), g.global("a", "b")})));
  EXPECT_TRUE(g.hashable(g.frozenset({})));
  EXPECT_TRUE(g.hashable(g.none()));
  EXPECT_TRUE(g.hashable(g.floating(std::nan(""))));
}

TEST(Value, Truthy) {
  Graph g;
  EXPECT_FALSE(g.truthy(g.none()));
  EXPECT_FALSE(g.truthy(g.boolean(false)));
  EXPECT_TRUE(g.truthy(g.boolean(true)));
  EXPECT_FALSE(g.truthy(g.integer(0)));
  EXPECT_TRUE(g.truthy(g.integer(-1)));
  EXPECT_TRUE(g.truthy(g.integer_decimal("-18446744073709551616")));
  EXPECT_FALSE(g.truthy(g.floating(0.0)));
  EXPECT_FALSE(g.truthy(g.floating(-0.0)));
  EXPECT_TRUE(g.truthy(g.floating(std::nan(""))));
  EXPECT_TRUE(g.truthy(g.floating(5e-324)));
  EXPECT_FALSE(g.truthy(g.str("")));
  EXPECT_TRUE(g.truthy(g.str(std::string_view("\0", 1))));
  EXPECT_FALSE(g.truthy(g.bytes("")));
  EXPECT_TRUE(g.truthy(g.bytes("a")));
  EXPECT_FALSE(g.truthy(g.bytearray("")));
  EXPECT_FALSE(g.truthy(g.tuple({})));
  EXPECT_TRUE(g.truthy(g.tuple(std::vector<NodeId>{g.none()})));
  NodeId l = g.list();
  EXPECT_FALSE(g.truthy(l));
  g.list_append(l, g.none());
  EXPECT_TRUE(g.truthy(l));
  NodeId d = g.dict();
  EXPECT_FALSE(g.truthy(d));
  g.dict_set(d, g.none(), g.none());
  EXPECT_TRUE(g.truthy(d));
  EXPECT_FALSE(g.truthy(g.set()));
  EXPECT_FALSE(g.truthy(g.frozenset({})));
  NodeId cls = g.global("m", "C");
  EXPECT_TRUE(g.truthy(cls));
  EXPECT_TRUE(g.truthy(g.object(cls, g.tuple({}))));
  EXPECT_TRUE(g.truthy(g.persid(g.none())));
  EXPECT_TRUE(g.truthy(g.buffer(0, true)));
}

// ---- containers, objects, mutation -------------------------------------

TEST(Value, ContainersAndMutation) {
  Graph g;
  NodeId l = g.list(std::vector<NodeId>{g.integer(1), g.integer(2)});
  g.list_append(l, g.integer(3));
  // Extending a list by itself (l.extend(l)).
  g.list_extend(l, g.items(l));
  ASSERT_EQ(g.length(l), 6u);
  EXPECT_EQ(g.as_int(g.items(l)[5]), 3);
  NodeId t = g.tuple(std::vector<NodeId>{g.none()});
  g.tuple_assign(t, std::vector<NodeId>{l, t});
  ASSERT_EQ(g.length(t), 2u);
  EXPECT_EQ(g.items(t)[1], t);
  g.tuple_assign(t, std::vector<NodeId>{g.integer(7), g.integer(8)});
  EXPECT_TRUE(g.key_equal(t, g.tuple(std::vector<NodeId>{g.integer(7), g.integer(8)})));
  NodeId ba = g.bytearray("abc");
  std::string_view before = g.as_bytes(ba);
  g.bytearray_assign(ba, "defgh");
  EXPECT_EQ(g.as_bytes(ba), "defgh");
  EXPECT_EQ(before, "abc");  // old views stay readable
  std::string_view sv = g.as_str(g.str("stable view"));
  for (int i = 0; i < 100000; ++i) g.str(cat("filler string ", std::to_string(i)));
  EXPECT_EQ(sv, "stable view");

  NodeId cls = g.global("copyreg", "__newobj__");
  NodeId args = g.tuple(std::vector<NodeId>{g.global("m", "C")});
  NodeId o = g.object(cls, args);
  pkl::ObjectData& od = g.object_data(o);
  EXPECT_EQ(od.callable, cls);
  EXPECT_EQ(od.args, args);
  EXPECT_EQ(od.state, kNoNode);
  EXPECT_EQ(od.class_index, -1);
  od.state = g.dict();
  od.listitems.push_back(g.integer(1));
  const Graph& cg = g;
  EXPECT_EQ(cg.object_data(o).listitems.size(), 1u);
  NodeId o2 = g.object(o, g.tuple({}));  // calling an inert object
  EXPECT_EQ(g.object_data(o2).callable, o);
  EXPECT_EQ(error_of([&] { g.object(g.list(), g.tuple({})); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.object(cls, g.list()); }), ErrorCode::Usage);

  NodeId b = g.buffer(3, false, "data");
  EXPECT_EQ(g.buffer_data(b).index, 3u);
  EXPECT_FALSE(g.buffer_data(b).readonly);
  EXPECT_EQ(g.buffer_data(b).data, "data");
  NodeId p = g.persid(g.str("pid"));
  EXPECT_EQ(g.as_str(g.persid_value(p)), "pid");
  EXPECT_EQ(g.length(g.str("abc")), 0u);
  EXPECT_EQ(g.length(g.frozenset(std::vector<NodeId>{g.integer(1), g.integer(1)})), 1u);
}

TEST(Value, UsageErrors) {
  Graph g;
  NodeId i = g.integer(5);
  EXPECT_EQ(error_of([&] { g.kind(12345); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.kind(kNoNode); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.set_root(999); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.as_str(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.as_bytes(g.str("x")); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.as_float(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.as_bool(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.as_int(g.floating(1.0)); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.int_le(g.str("1")); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.items(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.dict_items(g.list()); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.list_append(g.tuple({}), i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.list_append(g.list(), 9999); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.dict_set(g.list(), i, i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.dict_set(g.dict(), i, 9999); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.set_add(g.frozenset({}), i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.tuple(std::vector<NodeId>{i, 9999}); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.object_data(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.global_data(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.buffer_data(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.persid_value(i); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.bytearray_assign(g.bytes("ab"), "x"); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { g.key_equal(i, 9999); }), ErrorCode::Usage);
  EXPECT_EQ(error_of([&] { pkl::isomorphic(g, 9999, g, 0); }), ErrorCode::Usage);

  Graph moved_to(std::move(g));
  EXPECT_EQ(moved_to.as_int(i), 5);
  EXPECT_EQ(error_of([&] { g.integer(1); }), ErrorCode::Usage);  // NOLINT: use after move
  EXPECT_EQ(error_of([&] { g.str("xyz"); }), ErrorCode::Usage);
  Graph other;
  other = std::move(moved_to);
  EXPECT_EQ(other.as_int(i), 5);
}

// ---- the budget ---------------------------------------------------------

TEST(Value, ByteLimitJustBelowAndAbove) {
  Graph g;
  const uint64_t start = g.bytes_held();
  EXPECT_GE(start, 3 * 16u);
  g.integer(1);
  const uint64_t per_int = g.bytes_held() - start;
  EXPECT_EQ(per_int, 16u);  // one node
  // Just enough for one more int, not two.
  g.set_byte_limit(g.bytes_held() + per_int);
  EXPECT_NO_THROW(g.integer(2));
  const uint64_t held = g.bytes_held();
  const size_t nodes = g.size();
  EXPECT_EQ(error_of([&] { g.integer(3); }), ErrorCode::ResourceLimit);
  EXPECT_EQ(g.bytes_held(), held);
  EXPECT_EQ(g.size(), nodes);

  // A str costs its node, a record header and its bytes.
  Graph h;
  const uint64_t s0 = h.bytes_held();
  h.str("0123456789");
  const uint64_t per_str = h.bytes_held() - s0;
  EXPECT_GE(per_str, 16u + 10u);
  h.set_byte_limit(h.bytes_held() + per_str - 1);
  EXPECT_EQ(error_of([&] { h.str("9876543210"); }), ErrorCode::ResourceLimit);
  h.set_byte_limit(h.bytes_held() + per_str);
  EXPECT_NO_THROW(h.str("9876543210"));

  // Container growth is charged: a list cannot grow past the limit.
  Graph k;
  k.set_byte_limit(1 << 20);
  NodeId l = k.list();
  std::string msg;
  EXPECT_EQ(error_of([&] {
              for (int i = 0; i < 1000000; ++i) k.list_append(l, k.none());
            }, &msg),
            ErrorCode::ResourceLimit);
  EXPECT_LE(k.bytes_held(), uint64_t{1} << 20);
  EXPECT_LT(k.length(l), 1000000u);
  // A huge payload is refused before it is allocated.
  EXPECT_EQ(error_of([&] { k.bytes(std::string(2 << 20, 'x')); }), ErrorCode::ResourceLimit);
  // Dicts charge their tables.
  Graph m;
  m.set_byte_limit(m.bytes_held() + 4096);
  NodeId d = m.dict();
  EXPECT_EQ(error_of([&] {
              for (int i = 0; i < 1000; ++i) m.dict_set(d, m.integer(i), m.none());
            }),
            ErrorCode::ResourceLimit);
  EXPECT_LE(m.bytes_held(), m.bytes_held() + 4096);
}

// ---- deep structures ----------------------------------------------------

constexpr int kDeep = 1000000;

NodeId deep_tuple(Graph& g, int depth, NodeId leaf) {
  NodeId t = leaf;
  for (int i = 0; i < depth; ++i) t = g.tuple(std::span<const NodeId>(&t, 1));
  return t;
}

TEST(Value, DeepTupleKeys) {
  Graph g;
  NodeId a = deep_tuple(g, kDeep, g.integer(1));
  NodeId b = deep_tuple(g, kDeep, g.floating(1.0));
  NodeId c = deep_tuple(g, kDeep, g.integer(2));
  // Deep equality before any hash is cached, then with hashes.
  EXPECT_TRUE(g.key_equal(a, b));
  EXPECT_FALSE(g.key_equal(a, c));
  EXPECT_TRUE(g.hashable(a));
  NodeId d = g.dict();
  g.dict_set(d, a, g.str("first"));
  g.dict_set(d, b, g.str("second"));
  g.dict_set(d, c, g.str("third"));
  ASSERT_EQ(g.length(d), 2u);
  EXPECT_EQ(g.dict_items(d)[0].first, a);
  EXPECT_EQ(g.as_str(g.dict_get(d, b)), "second");
  EXPECT_TRUE(g.key_equal(a, b));
  // Unhashable at the bottom of a deep tuple.
  NodeId bad = deep_tuple(g, kDeep, g.list());
  EXPECT_FALSE(g.hashable(bad));
  std::string msg;
  EXPECT_EQ(error_of([&] { g.dict_set(d, bad, g.none()); }, &msg), ErrorCode::TypeError);
  EXPECT_EQ(msg, "unhashable type: 'list'");
  EXPECT_FALSE(g.key_equal(a, bad));
}

TEST(Value, SharedTupleDagIsLinear) {
  // t_k = (t_{k-1}, t_{k-1}) against v_k = (v_{k-1}, w_{k-1}), w_k = (w_{k-1}, v_{k-1}):
  // 2**64 paths, a few distinct node pairs per level. Run in a small graph (the
  // comparison tracks pairs in a flat array) and in a big one (a pair set).
  for (int padding : {0, 2000000}) {
    SCOPED_TRACE(padding);
    Graph g;
    for (int i = 0; i < padding; ++i) g.integer(i);
    NodeId t = g.integer(0), u = g.integer(0), v = g.floating(0.0), w = g.boolean(false);
    for (int i = 0; i < 64; ++i) {
      NodeId tt[2] = {t, t};
      NodeId uu[2] = {u, u};
      NodeId vw[2] = {v, w};
      NodeId wv[2] = {w, v};
      t = g.tuple(tt);
      u = g.tuple(uu);
      v = g.tuple(vw);
      w = g.tuple(wv);
    }
    EXPECT_TRUE(g.key_equal(t, u));
    EXPECT_TRUE(g.key_equal(t, v));
    EXPECT_TRUE(g.key_equal(w, t));
    EXPECT_TRUE(g.hashable(t));
    NodeId d = g.dict();
    g.dict_set(d, t, g.none());
    g.dict_set(d, u, g.none());
    g.dict_set(d, v, g.none());
    g.dict_set(d, w, g.none());
    EXPECT_EQ(g.length(d), 1u);
    // Unequal at every leaf of one side.
    NodeId x = g.integer(1);
    for (int i = 0; i < 64; ++i) {
      NodeId xx[2] = {x, x};
      x = g.tuple(xx);
    }
    EXPECT_FALSE(g.key_equal(t, x));
  }
}

TEST(Value, TupleCycleDoesNotHang) {
  Graph g;
  NodeId t = g.tuple(std::vector<NodeId>{g.none()});
  g.tuple_assign(t, std::vector<NodeId>{t});
  EXPECT_FALSE(g.hashable(t));
  EXPECT_EQ(error_of([&] { g.dict_set(g.dict(), t, g.none()); }), ErrorCode::ResourceLimit);
  NodeId u = g.tuple(std::vector<NodeId>{g.none()});
  g.tuple_assign(u, std::vector<NodeId>{u});
  EXPECT_TRUE(g.key_equal(t, u) || !g.key_equal(t, u));  // terminates either way
}

TEST(Value, DeepFrozensets) {
  Graph g;
  auto chain = [&](NodeId leaf) {
    NodeId f = g.frozenset(std::span<const NodeId>(&leaf, 1));
    for (int i = 1; i < kDeep / 4; ++i) f = g.frozenset(std::span<const NodeId>(&f, 1));
    return f;
  };
  NodeId a = chain(g.integer(1));
  NodeId b = chain(g.boolean(true));
  NodeId c = chain(g.integer(3));
  EXPECT_TRUE(g.key_equal(a, b));
  EXPECT_FALSE(g.key_equal(a, c));
  NodeId s = g.set();
  g.set_add(s, a);
  g.set_add(s, b);
  g.set_add(s, c);
  EXPECT_EQ(g.length(s), 2u);
  EXPECT_TRUE(g.set_contains(s, b));
}

TEST(Value, DeepListsDestroyAndCompare) {
  auto build = [](Graph& g) {
    NodeId l = g.list();
    for (int i = 0; i < kDeep; ++i) l = g.list(std::span<const NodeId>(&l, 1));
    NodeId d = g.dict();
    g.dict_set(d, g.str("deep"), l);
    for (int i = 0; i < kDeep / 10; ++i) {
      NodeId nd = g.dict();
      g.dict_set(nd, g.integer(i), d);
      d = nd;
    }
    return d;
  };
  {
    auto g = std::make_unique<Graph>();
    auto h = std::make_unique<Graph>();
    NodeId a = build(*g);
    NodeId b = build(*h);
    EXPECT_TRUE(pkl::isomorphic(*g, a, *h, b));
    g.reset();  // destruction of a 10^6-deep structure
    h.reset();
  }
}

// ---- isomorphic ---------------------------------------------------------

TEST(Value, IsomorphicSharingCyclesAndValues) {
  Graph g, h;
  // [x, x] vs [x, y] with equal values: different sharing.
  NodeId x = g.str("xyz");
  NodeId l1 = g.list(std::vector<NodeId>{x, x});
  NodeId hx = h.str("xyz");
  NodeId hy = h.str("xyz");
  NodeId l2 = h.list(std::vector<NodeId>{hx, hy});
  NodeId l3 = h.list(std::vector<NodeId>{hx, hx});
  EXPECT_FALSE(pkl::isomorphic(g, l1, h, l2));
  EXPECT_TRUE(pkl::isomorphic(g, l1, h, l3));
  // Cycles: l = [l] vs m = [[m]] are not isomorphic; l vs [l'] with l' = [l'] ... cycles map.
  NodeId c1 = g.list();
  g.list_append(c1, c1);
  NodeId c2 = h.list();
  g.list_append(c1, g.integer(1));
  h.list_append(c2, c2);
  h.list_append(c2, h.integer(1));
  EXPECT_TRUE(pkl::isomorphic(g, c1, h, c2));
  NodeId c3 = h.list();
  NodeId c4 = h.list(std::vector<NodeId>{c3, h.integer(1)});
  h.list_append(c3, c4);
  h.list_append(c3, h.integer(1));
  EXPECT_FALSE(pkl::isomorphic(g, c1, h, c3));
  // Floats bit for bit; ints exactly; kinds strictly.
  EXPECT_FALSE(pkl::isomorphic(g, g.floating(0.0), h, h.floating(-0.0)));
  EXPECT_TRUE(pkl::isomorphic(g, g.floating(nan_with_payload(5)), h, h.floating(nan_with_payload(5))));
  EXPECT_FALSE(pkl::isomorphic(g, g.floating(nan_with_payload(5)), h, h.floating(nan_with_payload(6))));
  EXPECT_FALSE(pkl::isomorphic(g, g.integer(1), h, h.floating(1.0)));
  EXPECT_FALSE(pkl::isomorphic(g, g.integer(1), h, h.boolean(true)));
  EXPECT_TRUE(pkl::isomorphic(g, g.integer_decimal("123456789012345678901234567890"), h,
                              h.integer_decimal("123456789012345678901234567890")));
  EXPECT_FALSE(pkl::isomorphic(g, g.str("a"), h, h.bytes("a")));
  EXPECT_FALSE(pkl::isomorphic(g, g.bytes("ab"), h, h.bytearray("ab")));
  EXPECT_TRUE(pkl::isomorphic(g, kNoNode, h, kNoNode));
  EXPECT_FALSE(pkl::isomorphic(g, kNoNode, h, 0));
  // Dicts in order; objects structurally.
  NodeId d1 = g.dict();
  g.dict_set(d1, g.str("a"), g.integer(1));
  g.dict_set(d1, g.str("b"), g.integer(2));
  NodeId d2 = h.dict();
  h.dict_set(d2, h.str("a"), h.integer(1));
  h.dict_set(d2, h.str("b"), h.integer(2));
  NodeId d3 = h.dict();
  h.dict_set(d3, h.str("b"), h.integer(2));
  h.dict_set(d3, h.str("a"), h.integer(1));
  EXPECT_TRUE(pkl::isomorphic(g, d1, h, d2));
  EXPECT_FALSE(pkl::isomorphic(g, d1, h, d3));
  NodeId o1 = g.object(g.global("m", "C"), g.tuple(std::vector<NodeId>{g.integer(1)}));
  g.object_data(o1).state = d1;
  NodeId o2 = h.object(h.global("m", "C"), h.tuple(std::vector<NodeId>{h.integer(1)}));
  h.object_data(o2).state = d2;
  EXPECT_TRUE(pkl::isomorphic(g, o1, h, o2));
  h.object_data(o2).native = 42;  // native contents are ignored
  EXPECT_TRUE(pkl::isomorphic(g, o1, h, o2));
  h.object_data(o2).class_index = 0;
  EXPECT_FALSE(pkl::isomorphic(g, o1, h, o2));
  NodeId o3 = h.object(h.global("m", "D"), h.tuple(std::vector<NodeId>{h.integer(1)}));
  h.object_data(o3).state = d2;
  EXPECT_FALSE(pkl::isomorphic(g, o1, h, o3));
  EXPECT_TRUE(pkl::isomorphic(g, g.buffer(1, true, "x"), h, h.buffer(1, true, "x")));
  EXPECT_FALSE(pkl::isomorphic(g, g.buffer(1, true, "x"), h, h.buffer(1, false, "x")));
}

// ---- floods and volume --------------------------------------------------

TEST(Value, CollisionFloodStaysLinear) {
  // Keys that all collide under CPython's hash (k * (2**61 - 1) hashes to 0)
  // or under an identity hash modulo a power of two (multiples of 2**32).
  Graph g;
  NodeId d = g.dict();
  constexpr int64_t kMersenne = (int64_t{1} << 61) - 1;
  for (int64_t k = 0; k < 100000; ++k) {
    g.dict_set(d, g.integer_decimal(std::to_string(k) + "0000000000000000000000"), g.none());
  }
  for (int64_t k = 1; k < 4; ++k) g.dict_set(d, g.integer(k * kMersenne), g.none());
  NodeId s = g.set();
  for (int64_t k = 0; k < 100000; ++k) g.set_add(s, g.integer(k << 32));
  EXPECT_EQ(g.length(d), 100003u);
  EXPECT_EQ(g.length(s), 100000u);
  EXPECT_TRUE(g.set_contains(s, g.floating(static_cast<double>(int64_t{77} << 32))));
  EXPECT_FALSE(g.set_contains(s, g.integer(1)));
  // hash(-1) == hash(-2) in CPython.
  NodeId d2 = g.dict();
  g.dict_set(d2, g.integer(-1), g.none());
  g.dict_set(d2, g.integer(-2), g.none());
  EXPECT_EQ(g.length(d2), 2u);
}

TEST(Value, ManyKeys) {
  Graph g;
  NodeId d = g.dict();
  constexpr int kN = 200000;
  for (int i = 0; i < kN; ++i) g.dict_set(d, g.integer(i), g.integer(i));
  for (int i = 0; i < kN; ++i) g.dict_set(d, g.str(cat("k", std::to_string(i))), g.integer(i));
  for (int i = 0; i < kN; i += 997) g.dict_set(d, g.floating(i), g.integer(-i));
  EXPECT_EQ(g.length(d), 2u * kN);
  EXPECT_EQ(g.as_int(g.dict_get(d, g.integer(997))), -997);
  EXPECT_EQ(g.as_int(g.dict_get(d, g.str("k12345"))), 12345);
  EXPECT_EQ(g.dict_get(d, g.str("k")), kNoNode);
}

// ---- registry -----------------------------------------------------------

pkl::ClassHooks hooks_for(std::string module, std::string qualname) {
  pkl::ClassHooks h;
  h.module = std::move(module);
  h.qualname = std::move(qualname);
  return h;
}

TEST(Registry, AddFindReplace) {
  pkl::ClassRegistry r;
  EXPECT_EQ(r.find("m", "C"), -1);
  pkl::ClassHooks h = hooks_for("m", "C");
  EXPECT_EQ(r.add(h), 0);
  pkl::ClassHooks h2 = hooks_for("m", "C.Inner");
  EXPECT_EQ(r.add(h2), 1);
  pkl::ClassHooks h3 = hooks_for("m.C", "Inner");
  EXPECT_EQ(r.add(h3), 2);
  EXPECT_EQ(r.find("m", "C"), 0);
  EXPECT_EQ(r.find("m", "C.Inner"), 1);
  EXPECT_EQ(r.find("m.C", "Inner"), 2);
  EXPECT_EQ(r.find("m", "D"), -1);
  pkl::ClassHooks again = hooks_for("m", "C");
  again.create = [](const Graph&, NodeId, NodeId) { return std::any(7); };
  EXPECT_EQ(r.add(again), 0);  // re-registering replaces
  EXPECT_EQ(r.size(), 3u);
  EXPECT_TRUE(static_cast<bool>(r.at(0).create));
  EXPECT_EQ(r.at(2).module, "m.C");
}

// ---- large graphs: page blocks, chunked side tables, the block cache ------

// Many lists and dicts: the side tables cross every chunk boundary (chunk 0
// holds 16, each next chunk twice the one before) and keep their items.
TEST(LargeGraph, SideTablesAcrossChunks) {
  Graph g;
  std::vector<NodeId> lists, dicts;
  for (int i = 0; i < 70000; ++i) {
    const NodeId l = g.list();
    g.list_append(l, g.integer(i));
    lists.push_back(l);
    const NodeId d = g.dict();
    g.dict_set(d, g.str("k"), g.integer(-i));
    dicts.push_back(d);
  }
  for (int i = 0; i < 70000; i += 997) {
    ASSERT_EQ(g.items(lists[i]).size(), 1u);
    EXPECT_EQ(g.as_int(g.items(lists[i])[0]), i);
    ASSERT_EQ(g.dict_items(dicts[i]).size(), 1u);
    EXPECT_EQ(g.as_int(g.dict_items(dicts[i])[0].second), -i);
  }
  Graph moved = std::move(g);
  EXPECT_EQ(moved.as_int(moved.items(lists.back())[0]), 69999);
}

// The protocol-2 pickle of a list of the ints in `values` (BININT1, BININT2,
// BININT and LONG1, as pickle writes them), in APPENDS batches of 1000.
std::string int_list_pickle(const std::vector<int64_t>& values) {
  std::string p("\x80\x02]q\x00", 5);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i % 1000 == 0) p += '(';
    const int64_t v = values[i];
    if (v >= 0 && v < 256) {
      p += 'K';
      p += static_cast<char>(v);
    } else if (v >= 0 && v < 65536) {
      p += 'M';
      p += static_cast<char>(v & 0xff);
      p += static_cast<char>(v >> 8);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      p += 'J';
      for (int b = 0; b < 4; ++b) p += static_cast<char>((static_cast<uint64_t>(v) >> (8 * b)) & 0xff);
    } else {
      int n = 8;
      while (n > 1 && (static_cast<int64_t>(static_cast<uint64_t>(v) << (64 - 8 * (n - 1))) >> (64 - 8 * (n - 1))) == v) --n;
      p += '\x8a';
      p += static_cast<char>(n);
      for (int b = 0; b < n; ++b) p += static_cast<char>((static_cast<uint64_t>(v) >> (8 * b)) & 0xff);
    }
    if (i % 1000 == 999 || i + 1 == values.size()) p += 'e';
  }
  p += '.';
  return p;
}

// Runs of mixed int opcodes (decoded without a branch on the opcode) and of
// one opcode, LONG1 of every length, at every position of the runs: the
// values, and the re-encoding, are exact.
TEST(LargeGraph, MixedIntRunsDecodeAndEncodeExactly) {
  std::vector<int64_t> values;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 150000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int kind = (i / 5000) % 3 == 0 ? 0 : static_cast<int>(x % 7);  // stretches of one kind, then mixed
    int64_t v;
    switch (kind) {
      case 0: v = static_cast<int64_t>(x % 256); break;
      case 1: v = 256 + static_cast<int64_t>(x % 65280); break;
      case 2: v = static_cast<int32_t>(x); break;
      case 3: v = -static_cast<int64_t>(x % 1000) - 1; break;
      case 4: v = static_cast<int64_t>(x); break;  // LONG1 of up to 8 bytes
      case 5: v = static_cast<int64_t>(x >> (x % 40)); break;
      default: v = -static_cast<int64_t>(x >> (1 + x % 40)); break;
    }
    values.push_back(v);
  }
  values.push_back(INT64_MIN);
  values.push_back(INT64_MAX);
  values.push_back(int64_t{1} << 31);
  values.push_back(-(int64_t{1} << 31) - 1);
  const std::string p = int_list_pickle(values);
  const Graph g = pkl::decode(p);
  const auto items = g.items(g.root());
  ASSERT_EQ(items.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(g.int_fits64(items[i])) << i;
    ASSERT_EQ(g.as_int(items[i]), values[i]) << i;
  }
  pkl::EncodeOptions o;
  o.protocol = 2;
  EXPECT_EQ(pkl::encode(g, g.root(), o), p);
}

// Repeated decodes reuse cached blocks; with the cache off, or emptied, the
// results are the same.
TEST(LargeGraph, BlockCacheDoesNotChangeResults) {
  std::vector<int64_t> values;
  for (int i = 0; i < 100000; ++i) values.push_back(static_cast<int64_t>(i) * 7919 - 300000);
  const std::string p = int_list_pickle(values);
  const size_t old = pkl::set_block_cache_limit(size_t{64} << 20);
  for (int round = 0; round < 3; ++round) {
    if (round == 1) pkl::set_block_cache_limit(0);
    if (round == 2) {
      pkl::set_block_cache_limit(size_t{64} << 20);
      pkl::release_block_cache();
    }
    for (int rep = 0; rep < 3; ++rep) {
      const Graph g = pkl::decode(p);
      const auto items = g.items(g.root());
      ASSERT_EQ(items.size(), values.size());
      EXPECT_EQ(g.as_int(items[0]), values[0]);
      EXPECT_EQ(g.as_int(items[99999]), values[99999]);
    }
  }
  pkl::set_block_cache_limit(old);
}

// set_huge_pages: blocks of 4 MiB and more (not one page less) are mapped
// with MADV_HUGEPAGE (smaps' VmFlags "hg") while it is on, none while it is
// off; a graph decoded either way is the same.
bool vma_has_huge_flag(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  const auto at = reinterpret_cast<uintptr_t>(p);
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return (line + " ").find(" hg ") != std::string::npos;
    }
  }
  ADD_FAILURE() << "no mapping holds " << p;
  return false;
}

TEST(LargeGraph, HugePagesForLargeBlocksWhenAsked) {
#if defined(__linux__)
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) GTEST_SKIP() << "no transparent huge pages";
  const size_t kMin = size_t{4} << 20;
  const bool old = pkl::set_huge_pages(false);
  for (bool on : {true, false}) {
    EXPECT_EQ(pkl::set_huge_pages(on), !on);  // the previous setting
    for (size_t want : {kMin - 4096, kMin, kMin + 4096}) {
      size_t bytes = want;
      void* p = pkl::detail::page_allocate_zeroed(bytes);
      const bool huge = on && want >= kMin;
      EXPECT_EQ(vma_has_huge_flag(p), huge) << want << (on ? " on" : " off");
      // A huge block starts on a huge page and is whole huge pages.
      if (huge) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t{2} << 20), 0u) << want;
      }
      EXPECT_EQ(bytes, huge ? (want + (size_t{2} << 20) - 1) / (size_t{2} << 20) * (size_t{2} << 20) : want) << want;
      pkl::detail::page_free(p, bytes, 0);
    }
    // A block that outgrows 256 KiB grows to 4 MiB at once (huge pages on).
    for (size_t from : {(size_t{256} << 10) - 4096, size_t{256} << 10}) {
      size_t bytes = from;
      void* p = pkl::detail::page_allocate_zeroed(bytes);
      size_t grown = 2 * from;
      p = pkl::detail::page_reallocate(p, bytes, grown);
      EXPECT_EQ(grown, on && from >= (size_t{256} << 10) ? kMin : 2 * from) << from << (on ? " on" : " off");
      pkl::detail::page_free(p, grown, 0);
    }
  }
  pkl::set_huge_pages(true);
  std::vector<int64_t> values;
  for (int i = 0; i < 600000; ++i) values.push_back(static_cast<int64_t>(i) * 7919 - 300000);
  const std::string p = int_list_pickle(values);
  const Graph with = pkl::decode(p);
  pkl::set_huge_pages(false);
  const Graph without = pkl::decode(p);
  pkl::EncodeOptions o;
  o.protocol = 2;
  EXPECT_EQ(pkl::encode(with, with.root(), o), p);
  EXPECT_EQ(pkl::encode(without, without.root(), o), p);
  pkl::set_huge_pages(old);
#else
  GTEST_SKIP() << "Linux only";
#endif
}

// With huge pages on, storage that grows past 256 KiB grows in huge pages,
// as a file's storage reserved from its size is (a stream's starts small):
// a page block regrown to 4 MiB starts on a huge page, contents copied, and
// grows on from there still on one; a side table's chunks from 256 KiB to
// 4 MiB are cut from one 8 MiB block; an arena holding 256 KiB takes its
// next chunk of 4 MiB; a malloc'd buffer of 4 MiB or more is advised for the
// whole huge pages inside it. With huge pages off, none of it.
TEST(LargeGraph, GrowthInHugePagesWhenAsked) {
#if defined(__linux__)
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) GTEST_SKIP() << "no transparent huge pages";
  constexpr size_t kHuge = size_t{2} << 20, kMin = size_t{4} << 20, kFrom = size_t{256} << 10;
  static_assert(kFrom == pkl::detail::kHugeGrowFrom && kMin == pkl::detail::kHugeBlockMin);
  const bool old = pkl::set_huge_pages(false);
  const size_t old_limit = pkl::set_block_cache_limit(0);  // every block fresh
  const auto aligned = [&](const void* p) { return reinterpret_cast<uintptr_t>(p) % kHuge == 0; };
  for (bool on : {true, false}) {
    pkl::set_huge_pages(on);
    const char* mode = on ? "on" : "off";
    // A page block: kFrom, then twice that, then 6 MiB.
    size_t bytes = kFrom;
    auto* b = static_cast<uint8_t*>(pkl::detail::page_allocate_zeroed(bytes));
    for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(i * 131 + 7);
    for (size_t want : {2 * kFrom, 3 * kHuge}) {
      const size_t had = bytes;
      bytes = want;
      b = static_cast<uint8_t*>(pkl::detail::page_reallocate(b, had, bytes));
      EXPECT_EQ(bytes, on ? std::max(want, kMin) : want) << want << mode;
      EXPECT_EQ(aligned(b) && vma_has_huge_flag(b), on) << want << mode;
      size_t bad = 0;
      for (size_t i = 0; i < kFrom; ++i) bad += b[i] != static_cast<uint8_t>(i * 131 + 7);
      EXPECT_EQ(bad, 0u) << want << mode;
    }
    pkl::detail::page_free(b, bytes, 0);

    // A side table of 8-byte items: chunk 12 (from item 32768) is the first
    // of 256 KiB, chunk 16 (from item 524288) the first of 4 MiB.
    {
      pkl::detail::ChunkedTable<uint64_t> t;
      for (uint64_t i = 0; i <= 524288; ++i) t.push_back(uint64_t{i});
      size_t bad = 0;
      for (uint64_t i = 0; i <= 524288; ++i) bad += t[i] != i;
      EXPECT_EQ(bad, 0u) << mode;
      EXPECT_EQ(aligned(&t[32768]) && vma_has_huge_flag(&t[32768]), on) << mode;
      // Chunks 12 to 15 one after the other in their block (with huge pages
      // off, each a block of its own).
      EXPECT_EQ(&t[65536] == &t[32768] + 32768 && &t[262144] == &t[32768] + 229376, on) << mode;
      EXPECT_EQ(aligned(&t[524288]) && vma_has_huge_flag(&t[524288]), on) << mode;
    }
    // A table whose first chunk is reserved (from an input's size): that
    // chunk is not cut from the shared block, even of the sizes that are.
    {
      pkl::detail::ChunkedTable<uint64_t> t;
      t.reserve_first(32768);
      t.push_back(uint64_t{1});
      EXPECT_FALSE(vma_has_huge_flag(&t[0])) << mode;
    }

    // An arena: chunks of 64, 64 and 128 KiB, then 256 KiB or 4 MiB.
    {
      pkl::detail::Arena a;
      void* last = nullptr;
      while (a.allocated() <= kFrom) last = a.allocate(1000);
      EXPECT_EQ(a.allocated(), kFrom + (on ? kMin : kFrom)) << mode;
      EXPECT_EQ(vma_has_huge_flag(last), on) << mode;
    }

    // Another buffer (mapped here, as malloc maps a large one, so that no
    // earlier advice lingers on it): advised from 4 MiB on, its whole huge
    // pages only.
    for (size_t size : {kMin - 4096, kMin + kHuge}) {
      void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      ASSERT_NE(m, MAP_FAILED);
      pkl::detail::advise_huge(m, size);
      const uintptr_t inside = (reinterpret_cast<uintptr_t>(m) + kHuge - 1) & ~(kHuge - 1);
      EXPECT_EQ(vma_has_huge_flag(reinterpret_cast<void*>(inside)), on && size >= kMin) << size << mode;
      munmap(m, size);
    }
  }
  pkl::set_block_cache_limit(old_limit);
  pkl::set_huge_pages(old);
#else
  GTEST_SKIP() << "Linux only";
#endif
}

// A list's items grow from the arena through malloc to page blocks, each
// step keeping every item; a grown page block replaces the old one (no old
// block stays cached beside it, which held a big list's peak memory at 1.5
// times its size), and the next graph's list grows into the block it left.
TEST(LargeGraph, ListItemsGrowInPlace) {
  for (size_t n : {0u, 1u, 8u, 9u, 16u, 17u, 16383u, 16384u, 16385u, 40000u}) {
    Graph g;
    const NodeId by_one = g.list(), by_batch = g.list();
    std::vector<NodeId> want;
    for (size_t i = 0; i < n; ++i) {
      want.push_back(g.integer(static_cast<int64_t>(i)));
      g.list_append(by_one, want.back());
    }
    for (size_t i = 0; i < n; i += 1000) {
      const size_t k = std::min<size_t>(1000, n - i);
      g.list_extend(by_batch, std::span<const NodeId>(want.data() + i, k));
    }
    const NodeId whole = g.list(want);
    for (NodeId l : {by_one, by_batch, whole}) {
      const auto items = g.items(l);
      ASSERT_EQ(items.size(), n);
      ASSERT_TRUE(std::equal(items.begin(), items.end(), want.begin())) << n;
    }
  }
  const size_t old = pkl::set_block_cache_limit(size_t{64} << 20);
  pkl::release_block_cache();
  size_t cached = 0;
  {
    Graph g;
    const NodeId l = g.list();
    for (int i = 0; i < (1 << 20); ++i) g.list_append(l, g.none());  // 4 MiB of items; None is one node
    EXPECT_EQ(pkl::block_cache_bytes(), 0u);
    EXPECT_EQ(g.length(l), size_t{1} << 20);
  }
  cached = pkl::block_cache_bytes();
  EXPECT_GE(cached, size_t{4} << 20);
  {
    Graph g;
    const NodeId l = g.list();
    for (int i = 0; i < (1 << 20); ++i) g.list_append(l, g.none());
    EXPECT_LE(pkl::block_cache_bytes() + (size_t{4} << 20), cached + (size_t{64} << 10));
  }
  pkl::set_block_cache_limit(old);
}

// A large input reserves address space for its nodes, not memory: the budget
// still stops a pickle whose values exceed it.
TEST(LargeGraph, ReservationsDoNotBypassTheBudget) {
  std::vector<int64_t> values(200000, 5);
  const std::string p = int_list_pickle(values);
  pkl::DecodeOptions o;
  o.limits.max_total_bytes = 1 << 20;  // 200k nodes need 3.2 MB
  try {
    (void)pkl::decode(p, o);
    FAIL() << "expected a ResourceLimit error";
  } catch (const pkl::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  }
  o.limits.max_total_bytes = 16 << 20;
  EXPECT_EQ(pkl::decode(p, o).items(pkl::decode(p, o).root()).size(), 200000u);
}

// Strs of every UTF-8 shape in a large pickle (the block validator): valid
// ones (surrogates included) decode, invalid ones fail with the exact
// validator's message.
TEST(LargeGraph, Utf8StrsInALargePickle) {
  const std::vector<std::string> good = {"caf\xc3\xa9 na\xc3\xafve", "\xe6\x9d\xb1\xe4\xba\xac",
                                         "\xf0\x9f\x99\x82 ok", "\xed\xa0\x80 surrogate",
                                         "\xf4\x8f\xbf\xbf max", std::string(40, 'a') + "\xc3\xbc"};
  std::string p = "\x80\x02](";
  for (int i = 0; i < 20000; ++i) {
    const std::string& s = good[static_cast<size_t>(i) % good.size()];
    p += 'X';
    const auto n = static_cast<uint32_t>(s.size());
    for (int b = 0; b < 4; ++b) p += static_cast<char>((n >> (8 * b)) & 0xff);
    p += s;
  }
  const std::string tail = "e.";
  const Graph g = pkl::decode(p + tail);
  ASSERT_EQ(g.items(g.root()).size(), 20000u);
  EXPECT_EQ(g.as_str(g.items(g.root())[3]), good[3]);
  const std::vector<std::string> bad = {"\xc0\x80 overlong", "\xe0\x80\x80x", "\xf4\x90\x80\x80 too big",
                                        "cut \xe6\x9d", "\x80 stray", "\xf5\x80\x80\x80"};
  for (const std::string& s : bad) {
    std::string q = p;
    q += 'X';
    const auto n = static_cast<uint32_t>(s.size());
    for (int b = 0; b < 4; ++b) q += static_cast<char>((n >> (8 * b)) & 0xff);
    q += s;
    try {
      (void)pkl::decode(q + tail);
      FAIL() << "expected a UTF-8 error";
    } catch (const pkl::Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::BadArgument);
      EXPECT_NE(std::string(e.what()).find("'utf-8' codec can't decode"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
