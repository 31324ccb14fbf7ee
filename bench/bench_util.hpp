// What both benchmark programs measure with: thread CPU time, whole files,
// and fields of /proc/self/status.
#pragma once

#include <time.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace bench {

// CPU time of this thread (user + system, page faults included): unlike the
// wall clock it does not count the time other processes of a loaded machine
// take, so both sides are measured alike (cpython_bench.py: time.thread_time).
inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  std::string data;
  data.resize(size);
  in.read(data.data(), static_cast<std::streamsize>(size));
  return data;
}

// A field of /proc/self/status in kB (VmHWM, VmRSS), -1 if absent.
inline long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

}  // namespace bench
