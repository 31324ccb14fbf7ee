// fuzz_decode: any bytes, decoded under the strict budget. No input may
// crash, hang, leak, or throw anything but pkl::Error. When the input is
// accepted, the graph is encoded at every protocol and decoded again: the
// same graph must come back (pkl::isomorphic), except where pickle itself
// loses information (recode_loses_information).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pklfuzz;
  static const pkl::DecodeOptions strict = strict_options();
  const Bytes input(data, size);
  Decoded d = try_decode(input, strict);
  if (d.ok()) check_recode(*d.graph, input, "fuzz_decode", {.isomorphism = true, .fixed_point = false});
  return 0;
}
