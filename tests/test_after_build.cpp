// DecodeOptions::after_build: bytes that are not opcodes after a BUILD
// (joblib's arrays), passed over in memory and from streams, outside the
// input budget, and refused when the input ends first.
#include <gtest/gtest.h>

#include <unistd.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"

namespace {

using namespace std::string_literals;

// An inert m.C made by NEWOBJ and given an empty dict by BUILD, `raw` after
// the BUILD, then STOP.
std::string with_raw(const std::string& raw) { return "\x80\x02" "cm\nC\n)\x81}b"s + raw + "."; }
constexpr uint64_t kAfterBuild = 11;  // the offset after BUILD

struct Calls {
  std::vector<uint64_t> next;
};

pkl::DecodeOptions passing_over(uint64_t n, Calls& calls, uint64_t max_input = uint64_t{1} << 32) {
  pkl::DecodeOptions o;
  o.limits.max_input_bytes = max_input;
  o.after_build = [n, &calls](const pkl::Graph& g, pkl::NodeId obj, uint64_t next) -> uint64_t {
    EXPECT_EQ(g.kind(obj), pkl::Kind::Object);
    calls.next.push_back(next);
    return n;
  };
  return o;
}

TEST(AfterBuild, PassesOverBytesInMemory) {
  const std::string raw(100, 'c');  // 'c' would be GLOBAL if it were read as an opcode
  Calls calls;
  const pkl::Graph g = pkl::decode(with_raw(raw), passing_over(raw.size(), calls));
  EXPECT_EQ(g.kind(g.root()), pkl::Kind::Object);
  EXPECT_EQ(calls.next, std::vector<uint64_t>{kAfterBuild});
  // Without the hook the same bytes are opcodes.
  EXPECT_THROW(pkl::decode(with_raw(raw)), pkl::Error);
}

TEST(AfterBuild, PassedBytesDoNotCountAgainstTheBudget) {
  const std::string raw(1 << 20, '\0');
  const std::string p = with_raw(raw);
  Calls calls;
  EXPECT_EQ(pkl::decode(p, passing_over(raw.size(), calls, 64)).kind(0), pkl::Kind::None);
  // From a stream that cannot read ahead: a chunk at a time; two pickles in
  // a row stay in step.
  std::istringstream in(p + p);
  pkl::StreamSource src(in);
  pkl::Decoder dec(src, passing_over(raw.size(), calls, 64));
  for (int i = 0; i < 2; ++i) {
    auto g = dec.next();
    ASSERT_TRUE(g);
    EXPECT_EQ(g->kind(g->root()), pkl::Kind::Object);
  }
  EXPECT_FALSE(dec.next());
  EXPECT_EQ(calls.next, (std::vector<uint64_t>{kAfterBuild, kAfterBuild, p.size() + kAfterBuild}));
  // From a pipe, which the decoder peeks at (it must not read past a STOP).
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    const std::string both = p + p;
    for (size_t at = 0; at < both.size();) {
      const ssize_t w = ::write(fds[1], both.data() + at, both.size() - at);
      if (w <= 0) break;
      at += static_cast<size_t>(w);
    }
    ::close(fds[1]);
  });
  {
    pkl::FdSource pipe_src(fds[0]);
    pkl::Decoder from_pipe(pipe_src, passing_over(raw.size(), calls, 64));
    for (int i = 0; i < 2; ++i) {
      auto g = from_pipe.next();
      if (!g) {
        ADD_FAILURE() << "pickle " << i << " missing";
        break;
      }
      EXPECT_EQ(g->kind(g->root()), pkl::Kind::Object);
    }
    EXPECT_FALSE(from_pipe.next());
  }
  writer.join();
  ::close(fds[0]);
  // The budget still holds for the pickle's own bytes.
  EXPECT_THROW(pkl::decode(p, passing_over(raw.size(), calls, 8)), pkl::Error);
}

TEST(AfterBuild, BytesThatAreNotThereAreTruncated) {
  Calls calls;
  for (const std::string& p : {with_raw("abc"), with_raw("abc").substr(0, kAfterBuild + 2)}) {
    try {
      pkl::decode(p, passing_over(5, calls));
      ADD_FAILURE() << "decoded";
    } catch (const pkl::Error& e) {
      EXPECT_EQ(e.code(), pkl::ErrorCode::Truncated) << e.what();
    }
    std::istringstream in(p);
    pkl::StreamSource src(in);
    pkl::Decoder dec(src, passing_over(5, calls));
    EXPECT_THROW(dec.next(), pkl::Error);
  }
}

}  // namespace
