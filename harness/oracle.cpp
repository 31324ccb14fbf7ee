#include "oracle.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#ifndef PICKLECODEC_SOURCE_DIR
#error "PICKLECODEC_SOURCE_DIR must name the source tree"
#endif

extern char** environ;

namespace pklharness {

namespace {

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("oracle: write failed: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("oracle: read failed: ") + std::strerror(errno));
    }
    if (r == 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

Oracle::Oracle() { start(); }

Oracle::~Oracle() { stop(); }

void Oracle::start() {
  ::signal(SIGPIPE, SIG_IGN);
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("oracle: pipe failed");
  const std::string script = std::string(PICKLECODEC_SOURCE_DIR) + "/oracle/server.py";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("oracle: fork failed");
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::setenv("PYTHONHASHSEED", "0", 1);
    ::setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    const char* python = std::getenv("PICKLECODEC_PYTHON");
    if (!python || !*python) python = "python3";
    ::execlp(python, python, script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  pid_ = pid;
  to_ = in_pipe[1];
  from_ = out_pipe[0];
}

void Oracle::stop() {
  if (pid_ <= 0) return;
  try {
    const std::string quit = "{\"op\": \"quit\"}";
    uint32_t n = static_cast<uint32_t>(quit.size());
    char head[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 24)};
    write_all(to_, head, 4);
    write_all(to_, quit.data(), quit.size());
  } catch (...) {
  }
  ::close(to_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  ::close(from_);
  pid_ = -1;
}

JVal Oracle::request(const std::string& json) {
  if (pid_ <= 0) throw std::runtime_error("oracle: not running");
  ++requests_;
  uint32_t n = static_cast<uint32_t>(json.size());
  char head[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                  static_cast<char>(n >> 24)};
  write_all(to_, head, 4);
  write_all(to_, json.data(), json.size());
  unsigned char h[4];
  if (!read_all(from_, reinterpret_cast<char*>(h), 4)) {
    // The server is gone: restart it so later cases still run, and report.
    stop();
    start();
    throw std::runtime_error("oracle: the server closed the stream (restarted)");
  }
  const uint32_t len = h[0] | (h[1] << 8) | (h[2] << 16) | (static_cast<uint32_t>(h[3]) << 24);
  std::string payload(len, '\0');
  if (!read_all(from_, payload.data(), len)) throw std::runtime_error("oracle: truncated frame");
  return json_parse(payload);
}

Oracle& oracle() {
  static Oracle instance;
  return instance;
}

}  // namespace pklharness
