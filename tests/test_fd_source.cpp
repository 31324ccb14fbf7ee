// FdSource without read-ahead: the Decoder looks ahead with peek() (pread on
// a file, tee on a pipe, MSG_PEEK on a socket) and consumes no byte past the
// STOP, at a cost per chunk rather than per byte of a protocol-0 text line.
// The cost bounds are CPU time of this thread (getrusage), never wall time.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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
