// Zero-copy bytes: DecodeOptions::bytes_as_views and Graph::bytes_view. A
// view is a bytes node whose payload is the caller's buffer; everything that
// reads bytes (equality, hashing, dict keys, encoding, isomorphism) sees an
// ordinary bytes, and only input in memory is ever viewed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace {

using namespace pkl;
using namespace std::string_literals;

std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A protocol-5 pickle of [b1, b2, b3]: BINBYTES8, BINBYTES, SHORT_BINBYTES.
std::string three_bytes(const std::string& b1, const std::string& b2, const std::string& b3) {
  return "\x80\x05]("s + "\x8e" + le(b1.size(), 8) + b1 + "B" + le(b2.size(), 4) + b2 + "C" +
         static_cast<char>(b3.size()) + b3 + "e.";
}

bool points_into(std::string_view part, const std::string& buffer) {
  return part.data() >= buffer.data() && part.data() + part.size() <= buffer.data() + buffer.size();
}

EncodeOptions protocol(int p) {
  EncodeOptions o;
  o.protocol = p;
  return o;
}

ErrorCode error_of_copy(Graph& g, const std::string& data) {
  try {
    g.bytes(data);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::Usage;
}

DecodeOptions views(uint64_t min = 4096) {
  DecodeOptions o;
  o.bytes_as_views = true;
  o.bytes_view_min = min;
  return o;
}

TEST(ZeroCopy, LargeBytesReferToTheInput) {
  const std::string big1(100000, 'a'), big2(5000, 'b'), small(100, 'c');
  const std::string in = three_bytes(big1, big2, small);
  Graph g = decode(in, views());
  auto items = g.items(g.root());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(g.is_view(items[0]));
  EXPECT_TRUE(g.is_view(items[1]));
  EXPECT_FALSE(g.is_view(items[2]));  // below bytes_view_min: copied
  EXPECT_TRUE(points_into(g.as_bytes(items[0]), in));
  EXPECT_TRUE(points_into(g.as_bytes(items[1]), in));
  EXPECT_FALSE(points_into(g.as_bytes(items[2]), in));
  EXPECT_EQ(g.as_bytes(items[0]), big1);
  EXPECT_EQ(g.as_bytes(items[1]), big2);
  EXPECT_EQ(g.as_bytes(items[2]), small);
  EXPECT_EQ(g.kind(items[0]), Kind::Bytes);
  // The budget holds the node and a small record, not the payload.
  Graph copied = decode(in);
  EXPECT_LT(g.bytes_held() + big1.size() + big2.size(), copied.bytes_held() + 1024);
}

TEST(ZeroCopy, OffByDefaultAndThresholdIsInclusive) {
  const std::string payload(4096, 'x');
  const std::string in = three_bytes(payload, std::string(4095, 'y'), "z");
  Graph copied = decode(in);
  for (NodeId n : copied.items(copied.root())) {
    EXPECT_FALSE(copied.is_view(n));
    EXPECT_FALSE(points_into(copied.as_bytes(n), in));
  }
  Graph viewed = decode(in, views(4096));
  auto items = viewed.items(viewed.root());
  EXPECT_TRUE(viewed.is_view(items[0]));   // exactly bytes_view_min
  EXPECT_FALSE(viewed.is_view(items[1]));  // one below
  EXPECT_FALSE(viewed.is_view(items[2]));
}

TEST(ZeroCopy, EveryNonEmptyBytesWithMinimumZero) {
  const std::string in = three_bytes("abc", "", "q");
  Graph g = decode(in, views(0));
  auto items = g.items(g.root());
  EXPECT_TRUE(g.is_view(items[0]));
  EXPECT_FALSE(g.is_view(items[1]));  // b"" stays the shared empty bytes
  EXPECT_TRUE(g.is_view(items[2]));   // its own object, as BINBYTES makes it
  EXPECT_EQ(g.as_bytes(items[1]), "");
  EXPECT_EQ(g.as_bytes(items[2]), "q");
  EXPECT_NE(items[2], g.bytes("q"));  // not the one-byte singleton
}

TEST(ZeroCopy, SameGraphAsCopying) {
  const std::string blob(70000, '\x07');
  // A dict with a view as a key and a value, the same bytes memoized twice,
  // and a bytes that equals the key: exactly the graph decoding copies.
  const std::string in = "\x80\x05}\x94(\x8e"s + le(blob.size(), 8) + blob + "\x94h\x01u.";
  Graph viewed = decode(in, views());
  Graph copied = decode(in);
  EXPECT_TRUE(isomorphic(viewed, viewed.root(), copied, copied.root()));
  ASSERT_EQ(viewed.length(viewed.root()), 1u);
  const Pair p = viewed.dict_items(viewed.root())[0];
  EXPECT_TRUE(viewed.is_view(p.first));
  EXPECT_EQ(p.first, p.second);  // the memo keeps identity
  // Key semantics: a copied bytes with the same content is the same key.
  const NodeId same = viewed.bytes(blob);
  EXPECT_FALSE(viewed.is_view(same));
  EXPECT_TRUE(viewed.key_equal(p.first, same));
  EXPECT_EQ(viewed.dict_get(viewed.root(), same), p.second);
  // Encoding reads through the view: the same bytes as from the copy.
  for (int proto : {0, 1, 2, 3, 4, 5}) {
    EXPECT_EQ(encode(viewed, viewed.root(), protocol(proto)), encode(copied, copied.root(), protocol(proto))) << "protocol " << proto;
  }
}

TEST(ZeroCopy, OnlyInputInMemoryIsViewed) {
  const std::string blob(10000, 'm');
  const std::string in = three_bytes(blob, blob, "x");
  // A Decoder over a MemorySource parses in place: views.
  {
    MemorySource src(in);
    Decoder d(src, views());
    auto g = d.next();
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->is_view(g->items(g->root())[0]));
    EXPECT_TRUE(points_into(g->as_bytes(g->items(g->root())[0]), in));
  }
  // A stream's bytes pass through the decoder's buffer: copied.
  {
    std::istringstream s(in);
    StreamSource src(s);
    Decoder d(src, views());
    auto g = d.next();
    ASSERT_TRUE(g);
    for (NodeId n : g->items(g->root())) EXPECT_FALSE(g->is_view(n));
    EXPECT_EQ(g->as_bytes(g->items(g->root())[0]), blob);
  }
  {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], in.data(), in.size()), static_cast<ssize_t>(in.size()));
    close(fds[1]);
    FdSource src(fds[0]);
    Decoder d(src, views());
    auto g = d.next();
    close(fds[0]);
    ASSERT_TRUE(g);
    for (NodeId n : g->items(g->root())) EXPECT_FALSE(g->is_view(n));
    EXPECT_EQ(g->as_bytes(g->items(g->root())[1]), blob);
  }
  // decode_all: every pickle of the buffer.
  const std::string twice = in + in;
  std::vector<Graph> all = decode_all(twice, views());
  ASSERT_EQ(all.size(), 2u);
  for (const Graph& one : all) {
    EXPECT_TRUE(one.is_view(one.items(one.root())[0]));
    EXPECT_TRUE(points_into(one.as_bytes(one.items(one.root())[0]), twice));
  }
  EXPECT_NE(all[0].as_bytes(all[0].items(all[0].root())[0]).data(),
            all[1].as_bytes(all[1].items(all[1].root())[0]).data());
}

TEST(ZeroCopy, ProtocolTwoBytesAndBytearraysAreBuilt) {
  // Protocol 2 writes bytes as _codecs.encode(str, 'latin1'): a new object,
  // never a view; BYTEARRAY8 is mutable: always a copy.
  const std::string p2 = "\x80\x02" "c_codecs\nencode\nX\x05\x00\x00\x00hello" "X\x06\x00\x00\x00latin1\x86R."s;
  Graph g = decode(p2, views(0));
  EXPECT_EQ(g.kind(g.root()), Kind::Bytes);
  EXPECT_FALSE(g.is_view(g.root()));
  EXPECT_EQ(g.as_bytes(g.root()), "hello");
  const std::string ba = "\x80\x05\x96"s + le(5000, 8) + std::string(5000, 'k') + ".";
  Graph h = decode(ba, views(0));
  EXPECT_EQ(h.kind(h.root()), Kind::ByteArray);
  EXPECT_FALSE(h.is_view(h.root()));
  EXPECT_FALSE(points_into(h.as_bytes(h.root()), ba));
}

TEST(ZeroCopy, GraphBytesView) {
  const std::string owner = "some caller-owned bytes";
  Graph g;
  const NodeId v = g.bytes_view(owner);
  EXPECT_EQ(g.kind(v), Kind::Bytes);
  EXPECT_TRUE(g.is_view(v));
  EXPECT_EQ(g.as_bytes(v).data(), owner.data());
  EXPECT_EQ(g.as_bytes(v), owner);
  EXPECT_TRUE(g.truthy(v));
  EXPECT_EQ(g.length(v), 0u);  // a scalar, as any bytes
  // Its own object, equal to a copied bytes with the same content.
  const NodeId c = g.bytes(owner);
  EXPECT_NE(v, c);
  EXPECT_TRUE(g.key_equal(v, c));
  const NodeId s = g.set();
  g.set_add(s, v);
  g.set_add(s, c);
  EXPECT_EQ(g.length(s), 1u);
  // The empty view is the shared empty bytes.
  EXPECT_EQ(g.bytes_view({}), g.bytes({}));
  EXPECT_FALSE(g.is_view(g.bytes({})));
  EXPECT_FALSE(g.is_view(g.integer(3)));
  // The budget: a view of a large buffer costs a node and a small record.
  const std::string large(1 << 20, 'L');
  Graph h;
  h.set_byte_limit(h.bytes_held() + 256);
  EXPECT_NO_THROW(h.bytes_view(large));
  EXPECT_EQ(error_of_copy(h, large), ErrorCode::ResourceLimit);
}

}  // namespace
