// Large strs kept as latin-1 (Graph::Impl::make_str): which strs are, that
// every reader still sees the same UTF-8 str, that the budget counts them as
// their UTF-8, and that the decoder and encoder take the latin-1 bytes as
// they are (protocol-2 bytes decode through such a str). Byte-for-byte
// agreement with CPython is the corpus's job (corpus/seeds/*/text.*,
// bytes.*: strs at this threshold from every Python).
#include <gtest/gtest.h>

#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "text/latin1.hpp"
#include "value/access.hpp"

namespace {

using namespace pkl;
using namespace std::string_literals;

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::string e_acute = "\xc3\xa9", y_diaeresis = "\xc3\xbf", a_macron = "\xc4\x80";

bool kept_latin1(const Graph& g, NodeId n) { return GraphAccess::str_latin1(g, n).data() != nullptr; }

template <class F>
ErrorCode error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::Usage;  // no error: never the code these tests expect
}

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A large str that converts to latin-1 is not validated again: one that is
// not UTF-8 still gets CPython's error, and over the budget the encoding is
// still checked first.
TEST(Latin1Str, DecoderErrorsAsForAnyStr) {
  auto pickle = [](const std::string& utf8) { return "\x80\x02X"s + le(utf8.size(), 4) + utf8 + "."; };
  auto message = [](const std::string& data, const DecodeOptions& o = {}) -> std::string {
    try {
      decode(data, o);
    } catch (const Error& e) {
      return std::to_string(static_cast<int>(e.code())) + " " + e.message();
    }
    return "no error";
  };
  const std::string body = repeat(e_acute, 3000);
  const std::string bad = std::to_string(static_cast<int>(ErrorCode::BadArgument)) + " ";
  // pickle.loads(b'\x80\x02X' + ... + b'.') under python3:
  EXPECT_EQ(message(pickle(body + "\xc3(")),
            bad + "'utf-8' codec can't decode byte 0xc3 in position 6000: invalid continuation byte");
  EXPECT_EQ(message(pickle(body + "\x80")), bad + "'utf-8' codec can't decode byte 0x80 in position 6000: invalid start byte");
  EXPECT_EQ(message(pickle(body + "\xc3")), bad + "'utf-8' codec can't decode byte 0xc3 in position 6000: unexpected end of data");
  DecodeOptions tight;
  tight.limits.max_total_bytes = 5000;
  EXPECT_EQ(message(pickle(body + "\x80"), tight).substr(0, bad.size()), bad);
  EXPECT_EQ(message(pickle(body), tight).substr(0, 3), std::to_string(static_cast<int>(ErrorCode::ResourceLimit)) + " ");
}

TEST(Latin1Str, WhichStrsAreKeptSo) {
  Graph g;
  struct Case {
    std::string utf8;
    bool latin1;
  } cases[] = {
      {repeat(e_acute, 2047), false},                          // 4094 bytes: below 4 KiB
      {repeat(e_acute, 2048), true},                           // 4096 bytes
      {std::string(6000, 'a') + repeat(y_diaeresis, 1000), true},   // saves 1000 of 8000: an eighth
      {std::string(6001, 'a') + repeat(y_diaeresis, 1000), false},  // 1000 of 8001: less
      {repeat(e_acute, 2100) + a_macron, false},               // a character beyond U+00FF
      {std::string(8000, 'a'), false},                         // ASCII: nothing to save
      {a_macron + repeat(e_acute, 2100), false},
  };
  for (const Case& c : cases) {
    const NodeId n = g.str(c.utf8);
    EXPECT_EQ(kept_latin1(g, n), c.latin1) << c.utf8.size();
    EXPECT_EQ(GraphAccess::str_size(g, n), c.utf8.size());
    EXPECT_EQ(g.as_str(n), c.utf8);
  }
  const NodeId n = g.str(repeat(e_acute, 2048));
  EXPECT_EQ(GraphAccess::str_latin1(g, n), std::string(2048, '\xe9'));
}

TEST(Latin1Str, Utf8MadeOnceAndKept) {
  Graph g;
  const std::string text = repeat("caf" + e_acute + " " + y_diaeresis, 1000);
  const NodeId n = g.str(text);
  ASSERT_TRUE(kept_latin1(g, n));
  const std::string_view first = g.as_str(n);
  const std::string_view second = g.as_str(n);
  EXPECT_EQ(first, text);
  EXPECT_EQ(first.data(), second.data());
  EXPECT_TRUE(kept_latin1(g, n));  // still read as latin-1 by the encoder
}

TEST(Latin1Str, ChargedAsItsUtf8) {
  // "é" * 2048 and "a" * 4096 are both 4096 bytes of UTF-8: the same charge.
  Graph g;
  const uint64_t s0 = g.bytes_held();
  g.str(std::string(4096, 'a'));
  const uint64_t ascii_cost = g.bytes_held() - s0;
  const uint64_t s1 = g.bytes_held();
  const NodeId n = g.str(repeat(e_acute, 2048));
  ASSERT_TRUE(kept_latin1(g, n));
  EXPECT_EQ(g.bytes_held() - s1, ascii_cost);
  const uint64_t held = g.bytes_held();
  (void)g.as_str(n);  // paid for when the str was made
  EXPECT_EQ(g.bytes_held(), held);

  // Just below and at the limit, where its ASCII twin fails and fits; the
  // same for a decoder's max_total_bytes.
  for (const std::string& text : {std::string(4096, 'a'), repeat(e_acute, 2048)}) {
    Graph below;
    below.set_byte_limit(below.bytes_held() + ascii_cost - 1);
    EXPECT_EQ(error_of([&] { below.str(text); }), ErrorCode::ResourceLimit);
    Graph at;
    at.set_byte_limit(at.bytes_held() + ascii_cost);
    EXPECT_EQ(kept_latin1(at, at.str(text)), text[0] != 'a');

    const std::string pickle = "\x80\x02X"s + le(text.size(), 4) + text + ".";
    const uint64_t needed = decode(pickle).bytes_held();
    EXPECT_EQ(needed, decode("\x80\x02X"s + le(4096, 4) + std::string(4096, 'b') + ".").bytes_held());
    DecodeOptions o;
    o.limits.max_total_bytes = needed;
    const Graph fits = decode(pickle, o);
    EXPECT_EQ(fits.as_str(fits.root()), text);
    o.limits.max_total_bytes = needed - 1;
    EXPECT_EQ(error_of([&] { decode(pickle, o); }), ErrorCode::ResourceLimit);
  }
}

TEST(Latin1Str, EqualityAndKeys) {
  Graph g;
  const std::string s = repeat(e_acute, 2048);
  const NodeId a = g.str(s), b = g.str(s);
  const NodeId other = g.str(std::string(4096, 'a'));  // the same UTF-8 length
  const NodeId near = g.str(repeat(e_acute, 2047) + y_diaeresis);
  ASSERT_TRUE(kept_latin1(g, a) && kept_latin1(g, near));
  ASSERT_FALSE(kept_latin1(g, other));
  for (int filler : {0, 20}) {  // a small dict (scanned) and a hashed one
    const NodeId d = g.dict();
    for (int i = 0; i < filler; ++i) g.dict_set(d, g.integer(i), g.none());
    g.dict_set(d, a, g.integer(1));
    g.dict_set(d, other, g.integer(2));
    g.dict_set(d, near, g.integer(3));
    g.dict_set(d, b, g.integer(4));  // equal to a: a's value replaced
    EXPECT_EQ(g.length(d), static_cast<size_t>(filler) + 3);
    EXPECT_EQ(g.as_int(g.dict_get(d, a)), 4);
    EXPECT_EQ(g.as_int(g.dict_get(d, other)), 2);
    EXPECT_EQ(g.as_int(g.dict_get(d, near)), 3);
  }
  const NodeId members[] = {a, other, b, near};
  EXPECT_EQ(g.length(g.frozenset(members)), 3u);
  EXPECT_TRUE(isomorphic(g, a, g, b));
  EXPECT_FALSE(isomorphic(g, a, g, near));
}

// [s, s, _codecs.encode(s, 'latin1')] at protocol 2, s a BINUNICODE of n
// UTF-8 bytes: what CPython writes for [s, s, bytes] when s is the bytes'
// latin-1 str.
std::string protocol2_list(const std::string& utf8) {
  return "\x80\x02]q\x00(X"s + le(utf8.size(), 4) + utf8 +
         "q\x01h\x01" "c_codecs\nencode\nq\x02h\x01X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05" "e."s;
}

// The UTF-8 of latin-1 text (latin1.cpp, checked against a reference in test_latin1.cpp).
std::string to_utf8(const std::string& latin1) { return pkl::detail::latin1_to_utf8(latin1); }

TEST(Latin1Str, DecodedAndEncodedAsLatin1) {
  std::string latin1;
  for (int i = 0; i < 6000; ++i) latin1 += static_cast<char>((i * 37) & 0xff);
  const std::string utf8 = to_utf8(latin1);
  const Graph g = decode(protocol2_list(utf8));
  const auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0], items[1]);
  EXPECT_TRUE(kept_latin1(g, items[0]));
  EXPECT_EQ(g.as_bytes(items[2]), latin1);
  EXPECT_EQ(GraphAccess::str_latin1(g, items[0]), latin1);

  // Every protocol writes it back as the same str (protocol 0 as
  // raw-unicode-escape of its UTF-8).
  for (int p = 0; p <= 5; ++p) {
    const Graph fresh = decode(protocol2_list(utf8));
    const std::string out = encode(fresh, fresh.root(), {.protocol = p});
    const Graph back = decode(out);
    EXPECT_TRUE(isomorphic(fresh, fresh.root(), back, back.root())) << "protocol " << p;
    EXPECT_EQ(back.as_str(back.items(back.root())[0]), utf8) << "protocol " << p;
    if (p >= 1) {
      EXPECT_NE(out.find("X"s + le(utf8.size(), 4) + utf8), std::string::npos) << "protocol " << p;
    }
  }
}

// bytes(s, 'latin-1') and _codecs.encode(s, 'latin1') of a large latin-1 or
// ASCII str: the bytes is the str's own storage; a bytearray, a small bytes
// and any other encoding are copies.
TEST(Latin1Str, EncodedBytesShareTheStrsStorage) {
  // [s, callable(s, codec)]
  auto call = [](const std::string& callable, const std::string& utf8, const std::string& codec) {
    return "\x80\x02]q\x00(X"s + le(utf8.size(), 4) + utf8 + "q\x01" + callable + "h\x01X" + le(codec.size(), 4) +
           codec + "\x86R" "e.";
  };
  const std::string codecs_encode = "c_codecs\nencode\n", bytes_ = "c__builtin__\nbytes\n",
                    bytearray_ = "c__builtin__\nbytearray\n";
  const std::string latin1(5000, '\xe9'), utf8 = to_utf8(latin1), ascii(5000, 'q');
  struct Case {
    std::string callable, text, codec, expected;
    bool shared;
  } cases[] = {
      {codecs_encode, utf8, "latin1", latin1, true},
      {bytes_, utf8, "latin-1", latin1, true},
      {codecs_encode, ascii, "latin1", ascii, true},
      {codecs_encode, ascii, "ascii", ascii, true},
      {codecs_encode, utf8, "utf-8", utf8, true},  // the UTF-8 it makes for that
      {bytearray_, utf8, "latin-1", latin1, false},
      {codecs_encode, std::string(4095, 'q'), "latin1", std::string(4095, 'q'), false},
      {codecs_encode, std::string(4096, 'q'), "latin1", std::string(4096, 'q'), true},
  };
  for (const Case& c : cases) {
    const Graph g = decode(call(c.callable, c.text, c.codec));
    const auto items = g.items(g.root());
    ASSERT_EQ(items.size(), 2u);
    const std::string_view bytes = g.as_bytes(items[1]);
    EXPECT_EQ(bytes, c.expected) << c.callable << c.codec;
    const bool shared = bytes.data() == GraphAccess::str_latin1(g, items[0]).data() ||
                        bytes.data() == g.as_str(items[0]).data();
    EXPECT_EQ(shared, c.shared) << c.callable << c.codec << " " << c.text.size();
    EXPECT_FALSE(g.is_view(items[1]));  // not the caller's buffer
    const Graph again = decode(encode(g, g.root(), {.protocol = 2}));
    EXPECT_TRUE(isomorphic(g, g.root(), again, again.root()));
  }
}

TEST(Latin1Str, BinaryEncodingWidensWithoutMakingTheUtf8) {
  // 40000 characters: its UTF-8 (60000 bytes) would be an arena block of its own.
  std::string latin1;
  for (int i = 0; i < 40000; ++i) latin1 += static_cast<char>(0x80 | (i & 0x7f));
  const std::string utf8 = to_utf8(latin1);
  const Graph g = decode(protocol2_list(utf8));
  const size_t arena = GraphAccess::arena_bytes(g);
  const std::string out = encode(g, g.root(), {.protocol = 3});
  EXPECT_NE(out.find("X"s + le(utf8.size(), 4) + utf8), std::string::npos);
  EXPECT_EQ(GraphAccess::arena_bytes(g), arena);
  EXPECT_EQ(g.as_str(g.items(g.root())[0]), utf8);
  EXPECT_GT(GraphAccess::arena_bytes(g), arena + utf8.size() - 1);  // now made
}

}  // namespace
