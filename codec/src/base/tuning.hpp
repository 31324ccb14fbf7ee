// The library's tuning: which of its equivalent ways of doing a job it takes.
// Every setting gives the same results (fuzz/fuzz_decode_paths.cpp decodes
// each input under every combination and requires the same graph or the same
// error); they exist so that tests and fuzzers reach each way in the code that
// ships. Internal header: set it before decoding, from one thread.
#pragma once

#include <cstddef>

namespace pkl {

struct Tuning {
  // The decoder's loop over the hot opcodes before its switch (fast_run_*).
  bool fast_run = true;
  // The decoder's loop over runs of numbers (scalar_run).
  bool scalar_run = true;
  // SSSE3 kernels (UTF-8 validation, latin-1, fast_run_ssse3) where the CPU has them.
  bool simd = true;
  // From how many UTF-8 bytes a str may be kept as latin-1, and a bytes
  // encoded from a str share its storage (value.hpp: Graph::str). The
  // fuzzers lower it so that their inputs (4 KiB at most) reach those paths.
  size_t large_str_min = 4096;
};

// The one tuning of the process, read where each choice is made.
inline Tuning tuning;

// True when the SSSE3 kernels run: the CPU has SSSE3 and tuning.simd is set.
inline bool simd_enabled() noexcept {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool cpu = __builtin_cpu_supports("ssse3");
  return cpu && tuning.simd;
#else
  return false;
#endif
}

}  // namespace pkl
