// fuzz_decode_paths: the decoder's equivalent paths checked against each
// other. Each input is decoded under every combination of pkl::tuning (the
// fast loop over hot opcodes on/off, the loop over runs of numbers on/off,
// SSSE3 on/off, the large-str threshold at 64 and at the release 4096): every
// combination must give the same graph (pkl::isomorphic) or the same error
// (code, offset, opcode, message) as the release setting. A disagreement
// between the switch, fast_run_* and scalar_run, or between the SIMD and
// scalar validators, is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.hpp"
#include "base/tuning.hpp"

namespace {

std::string describe_tuning(const pkl::Tuning& t) {
  return std::string("fast_run=") + (t.fast_run ? "1" : "0") + " scalar_run=" + (t.scalar_run ? "1" : "0") +
         " simd=" + (t.simd ? "1" : "0") + " large_str_min=" + std::to_string(t.large_str_min);
}

bool same_error(const pkl::Error& a, const pkl::Error& b) {
  return a.code() == b.code() && a.offset() == b.offset() && a.opcode() == b.opcode() &&
         a.message() == b.message();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pklfuzz;
  static const pkl::DecodeOptions strict = strict_options();
  const Bytes input(data, size);
  const pkl::Tuning saved = pkl::tuning;
  pkl::tuning = pkl::Tuning{};  // the release setting: the reference
  const Decoded want = try_decode(input, strict);
  for (unsigned combo = 1; combo < 16; ++combo) {
    pkl::Tuning t;
    t.fast_run = (combo & 1) == 0;
    t.scalar_run = (combo & 2) == 0;
    t.simd = (combo & 4) == 0;
    t.large_str_min = (combo & 8) ? 64 : 4096;
    pkl::tuning = t;
    const Decoded got = try_decode(input, strict);
    const bool same = want.ok() ? got.ok() && pkl::isomorphic(*want.graph, want.graph->root(), *got.graph,
                                                               got.graph->root())
                                : !got.ok() && same_error(*want.error, *got.error);
    if (!same) {
      pkl::tuning = saved;
      fail("the decoder's paths disagree", {{"input", hex(input)},
                                            {"release tuning", describe(want)},
                                            {"tuning", describe_tuning(t)},
                                            {"gives", describe(got)}});
    }
  }
  pkl::tuning = saved;
  return 0;
}
