// The typed layer's and the checkpoint reader's costs, as one process each
// measures them (CPU time of this thread; peak resident memory from /proc).
// bench/bench_typed.py drives it against CPython and prints the figures.
//
//   bench_typed --load-doubles FILE [--repeat N]
//       pkl::load<std::vector<double>> of the pickle in FILE, N times (default 9):
//       {"items": n, "cpu_s_best": t, "cpu_s_median": t}
//   bench_typed --checkpoint FILE [--touch]
//       pkl::torch::Checkpoint::open(FILE) and its tensors() (with --touch, also
//       every byte of every contiguous tensor read once):
//       {"tensors": n, "tensor_bytes": b, "cpu_s": t, "peak_rss_kb": k, "rss_before_kb": k}
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "picklecodec/torch.hpp"
#include "picklecodec/typed.hpp"

namespace {

using bench::cpu_seconds;
using bench::read_file;
using bench::status_kb;

int load_doubles(const std::string& path, int repeat) {
  const std::string data = read_file(path);
  std::vector<double> times;
  size_t items = 0;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = cpu_seconds();
    const auto v = pkl::load<std::vector<double>>(data);
    times.push_back(cpu_seconds() - t0);
    items = v.size();
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"items\": %zu, \"cpu_s_best\": %.6f, \"cpu_s_median\": %.6f}\n", items, times.front(),
              times[times.size() / 2]);
  return 0;
}

int checkpoint(const std::string& path, bool touch) {
  // The peak counter starts here: what opening and reading add.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const long before = status_kb("VmRSS");
  const double t0 = cpu_seconds();
  const auto ck = pkl::torch::Checkpoint::open(path);
  const auto tensors = ck.tensors();
  uint64_t bytes = 0, sum = 0;
  for (const auto& [name, t] : tensors) {
    bytes += t.numel() * t.element_size;
    if (touch && t.is_contiguous())
      for (std::byte b : t.bytes()) sum += static_cast<uint64_t>(b);
  }
  const double cpu = cpu_seconds() - t0;
  std::printf("{\"tensors\": %zu, \"tensor_bytes\": %llu, \"cpu_s\": %.6f, \"peak_rss_kb\": %ld, \"rss_before_kb\": %ld, "
              "\"checksum\": %llu}\n",
              tensors.size(), static_cast<unsigned long long>(bytes), cpu, status_kb("VmHWM"), before,
              static_cast<unsigned long long>(sum));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() >= 2 && a[0] == "--load-doubles") {
      int repeat = 9;
      if (a.size() >= 4 && a[2] == "--repeat") repeat = std::stoi(a[3]);
      return load_doubles(a[1], repeat);
    }
    if (a.size() >= 2 && a[0] == "--checkpoint") return checkpoint(a[1], a.size() >= 3 && a[2] == "--touch");
    std::cerr << "usage: bench_typed --load-doubles FILE [--repeat N] | --checkpoint FILE [--touch]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bench_typed: " << e.what() << "\n";
    return 1;
  }
}
