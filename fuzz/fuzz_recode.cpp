// fuzz_recode: decode (strict budget), recode at every protocol, recode that
// again: the second recode must write exactly the bytes of the first (a
// byte-identical fixed point), except where pickle itself loses information
// (recode_loses_information).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pklfuzz;
  static const pkl::DecodeOptions strict = strict_options();
  const Bytes input(data, size);
  Decoded d = try_decode(input, strict);
  if (d.ok()) check_recode(*d.graph, input, "fuzz_recode", {.isomorphism = false, .fixed_point = true});
  return 0;
}
