// FdSource without read-ahead: the Decoder looks ahead with peek() (pread on
// a file, tee on a pipe, MSG_PEEK on a socket) and consumes no byte past the
// STOP, at a cost per chunk rather than per byte of a protocol-0 text line.
// The cost bounds are CPU time of this thread (getrusage), never wall time.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "picklecodec/decode.hpp"

#include "cpu_time.hpp"

using namespace pkl;

namespace {

// pickle.dumps('a' * n, 0): one UNICODE text line of n + 1 bytes.
std::string text_pickle(size_t n) { return "V" + std::string(n, 'a') + "\np0\n."; }

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

std::string read_rest(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0) return out;
    out.append(buf, static_cast<size_t>(r));
  }
}

// Decodes the first pickle of `fd` (no read-ahead), then checks that what is
// left in the descriptor is exactly `tail`; returns the decode's CPU seconds.
double decode_first_then_tail(int read_fd, size_t n, const std::string& tail) {
  FdSource src(read_fd);
  Decoder dec(src);
  double t0 = thread_cpu_seconds();
  auto g = dec.next();
  double cpu = thread_cpu_seconds() - t0;
  EXPECT_TRUE(g);
  if (g) {
    EXPECT_EQ(g->as_str(g->root()), std::string(n, 'a'));
  }
  EXPECT_EQ(dec.offset(), text_pickle(n).size());
  EXPECT_EQ(read_rest(read_fd), tail);
  return cpu;
}

constexpr size_t kLine = 1000000;  // a 1 MB text line
// One read(2) per byte cost 0.4-1.5 us a byte (0.39-0.61 s here on this
// machine); a look-ahead in chunks 8-12 ms. CPU time of this thread.
constexpr double kCpuBound = 0.1;

}  // namespace

TEST(FdSourcePeek, PipeTextLineInChunksAndNotPastStop) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string tail = "\x80\x02K\x07.next pickle";
  std::thread writer([&] {
    write_all(fds[1], text_pickle(kLine) + tail);
    close(fds[1]);
  });
  double cpu = decode_first_then_tail(fds[0], kLine, tail);
  writer.join();
  close(fds[0]);
  EXPECT_LT(cpu, kCpuBound);
}

TEST(FdSourcePeek, SocketTextLineInChunksAndNotPastStop) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const std::string tail = "(lp0\n.";
  std::thread writer([&] {
    write_all(fds[1], text_pickle(kLine) + tail);
    shutdown(fds[1], SHUT_WR);
  });
  double cpu = decode_first_then_tail(fds[0], kLine, tail);
  writer.join();
  close(fds[0]);
  close(fds[1]);
  EXPECT_LT(cpu, kCpuBound);
}

TEST(FdSourcePeek, FileOffsetEndsAtEachStop) {
  char path[] = "/tmp/picklecodec_fdsource_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  const std::string first = text_pickle(kLine), second = "I42\n.", tail = "tail";
  write_all(fd, first + second + tail);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  FdSource src(fd);
  Decoder dec(src);
  double t0 = thread_cpu_seconds();
  auto a = dec.next();
  double cpu = thread_cpu_seconds() - t0;
  ASSERT_TRUE(a);
  EXPECT_EQ(a->as_str(a->root()).size(), kLine);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), static_cast<off_t>(first.size()));
  auto b = dec.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), static_cast<off_t>(first.size() + second.size()));
  EXPECT_EQ(read_rest(fd), tail);
  close(fd);
  EXPECT_LT(cpu, kCpuBound);
}

// A text line that arrives in two writes with a pause between them: the
// reader waits for the second (no busy loop on the bytes it already peeked
// at: the wait costs no CPU time) and returns the whole line.
TEST(FdSourcePeek, PipeWaitsForTheRestOfALineWithoutSpinning) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::thread writer([&] {
    write_all(fds[1], "Vab");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    write_all(fds[1], "c\n.N.");
  });
  FdSource src(fds[0]);
  Decoder dec(src);
  double t0 = thread_cpu_seconds();
  auto g = dec.next();
  double cpu = thread_cpu_seconds() - t0;
  writer.join();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->as_str(g->root()), "abc");
  EXPECT_LT(cpu, 0.1);
  char buf[8];
  EXPECT_EQ(read(fds[0], buf, sizeof buf), 2);  // "N." is still in the pipe
  close(fds[0]);
  close(fds[1]);
}

// A stream of pickles through a pipe: each next() leaves the pipe at the
// next pickle's first byte, whatever was peeked at.
TEST(FdSourcePeek, PipeStreamOfPickles) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string all;
  for (int i = 0; i < 2000; ++i) all += "(I" + std::to_string(i) + "\nS'x'\nl.";
  std::thread writer([&] {
    write_all(fds[1], all);
    close(fds[1]);
  });
  FdSource src(fds[0]);
  Decoder dec(src);
  int count = 0;
  while (auto g = dec.next()) {
    ASSERT_EQ(g->length(g->root()), 2u);
    ++count;
  }
  writer.join();
  close(fds[0]);
  EXPECT_EQ(count, 2000);
}

// A descriptor that cannot be peeked at (a character device) is read
// exactly, and still decodes.
TEST(FdSourcePeek, NoPeekDeviceReadsExactly) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  FdSource src(fd);
  EXPECT_EQ(src.peek(nullptr, 0), Source::kNoPeek);
  Decoder dec(src);
  EXPECT_FALSE(dec.next());
  close(fd);
}

// ---- long bytes read straight into the graph ------------------------------------

namespace {

// A protocol-5 pickle of one long BINBYTES8 (or BYTEARRAY8) of n bytes.
std::string long_bytes_pickle(size_t n, bool bytearray) {
  std::string p = "\x80\x05";
  p += bytearray ? '\x96' : '\x8e';
  for (int i = 0; i < 8; ++i) p += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  for (size_t i = 0; i < n; ++i) p += static_cast<char>('a' + i % 23);
  return p + ".";
}

// Writes `data` into a pipe from a thread (more than the pipe holds), closing it after.
struct PipeFeed {
  int fds[2] = {-1, -1};
  std::thread writer;
  explicit PipeFeed(const std::string& data) {
    EXPECT_EQ(pipe(fds), 0);
    writer = std::thread([this, data] {
      write_all(fds[1], data);
      close(fds[1]);
    });
  }
  ~PipeFeed() {
    read_rest(fds[0]);  // what a failed decode left: the writer finishes
    writer.join();
    close(fds[0]);
  }
};

// What decode() of the same bytes in memory says: the error code and message, or "" when it decodes.
std::string memory_verdict(const std::string& data, const DecodeOptions& options) {
  try {
    decode(data, options);
  } catch (const Error& e) {
    return std::to_string(static_cast<int>(e.code())) + " " + e.message();
  }
  return "";
}

std::string stream_verdict(Source& src, const DecodeOptions& options) {
  try {
    Decoder dec(src, options);
    dec.next();
  } catch (const Error& e) {
    return std::to_string(static_cast<int>(e.code())) + " " + e.message();
  }
  return "";
}

}  // namespace

// A long bytes or bytearray from a pipe or a file, with and without
// read-ahead: the same value as from memory, the descriptor left after the
// STOP when the source must not read ahead, the next pickle read after it.
TEST(FdSourceLongBytes, SameValueAndOffsetFromPipesAndFiles) {
  for (bool bytearray : {false, true}) {
    const std::string first = long_bytes_pickle(300001, bytearray), second = "I42\n.", tail = "tail";
    const Graph want = decode(first);
    const std::string_view want_bytes = want.as_bytes(want.root());
    for (bool ahead : {false, true}) {
      for (bool file : {false, true}) {
        SCOPED_TRACE(std::string(bytearray ? "bytearray" : "bytes") + (ahead ? " ahead" : " exact") +
                     (file ? " file" : " pipe"));
        int fd = -1;
        std::unique_ptr<PipeFeed> feed;
        if (file) {
          char path[] = "/tmp/picklecodec_fdsource_XXXXXX";
          fd = mkstemp(path);
          ASSERT_GE(fd, 0);
          unlink(path);
          write_all(fd, first + second + tail);
          ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
        } else {
          feed = std::make_unique<PipeFeed>(first + second + tail);
          fd = feed->fds[0];
        }
        FdSource src(fd, ahead);
        Decoder dec(src);
        auto a = dec.next();
        ASSERT_TRUE(a);
        EXPECT_EQ(a->kind(a->root()), bytearray ? Kind::ByteArray : Kind::Bytes);
        EXPECT_EQ(a->as_bytes(a->root()), want_bytes);
        EXPECT_EQ(dec.offset(), first.size());
        if (!ahead && file) {
          EXPECT_EQ(lseek(fd, 0, SEEK_CUR), static_cast<off_t>(first.size()));
        }
        auto b = dec.next();
        ASSERT_TRUE(b);
        EXPECT_EQ(b->as_int(b->root()), 42);
        if (!ahead) {
          EXPECT_EQ(read_rest(fd), tail);
        }
        if (file) close(fd);
      }
    }
  }
}

// Cut short, over the input budget, over the graph's byte limit: from a
// pipe the same error as from memory (the bytes are not charged to the graph
// before they arrive, and a claim the graph has no room for fails as before).
TEST(FdSourceLongBytes, TruncatedAndBudgetsAsFromMemory) {
  const std::string whole = long_bytes_pickle(300001, false);
  struct Case {
    size_t keep;
    uint64_t max_input, max_total;
  };
  const Case cases[] = {
      {whole.size() - 1, 1ull << 32, 8ull << 30},  // no STOP
      {whole.size() - 2, 1ull << 32, 8ull << 30},  // the last byte of the payload missing
      {100000, 1ull << 32, 8ull << 30},            // most of the payload missing
      {whole.size(), 200000, 8ull << 30},          // over max_input_bytes
      {100000, 200000, 8ull << 30},                // both
      {whole.size(), 1ull << 32, 200000},          // over max_total_bytes
      {100000, 1ull << 32, 200000},                // cut short and over max_total_bytes
  };
  for (const Case& c : cases) {
    for (bool ahead : {false, true}) {
      SCOPED_TRACE("keep " + std::to_string(c.keep) + " max_input " + std::to_string(c.max_input) + " max_total " +
                   std::to_string(c.max_total) + (ahead ? " ahead" : " exact"));
      DecodeOptions o;
      o.limits.max_input_bytes = c.max_input;
      o.limits.max_total_bytes = c.max_total;
      const std::string data = whole.substr(0, c.keep);
      const std::string want = memory_verdict(data, o);
      PipeFeed feed(data);
      FdSource src(feed.fds[0], ahead);
      EXPECT_EQ(stream_verdict(src, o), want);
    }
  }
}
