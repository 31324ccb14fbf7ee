// The one resource budget. Every decoder path checks it; every limit has
// tests just below and just above it. Defaults are safe for hostile input
// and roomy for real pickles.
#pragma once

#include <cstdint>

namespace pkl {

struct Limits {
  // Bytes of one pickle, opcodes and arguments included.
  uint64_t max_input_bytes = uint64_t{1} << 32;
  // Open MARKs at once and the depth of containers being built.
  uint32_t max_depth = 100'000;
  // Distinct memo entries of one pickle (sparse indices cost the same as dense).
  uint64_t max_memo_entries = uint64_t{1} << 24;
  // Items in one container (list, dict, set, tuple, an object's items).
  uint64_t max_container_len = uint64_t{1} << 28;
  // Everything the graph holds: nodes, payload bytes, item vectors.
  uint64_t max_total_bytes = uint64_t{8} << 30;
  // Digits of a text integer (INT, LONG, protocol 0); CPython's
  // sys.get_int_max_str_digits() default. 0 means no limit.
  uint32_t max_int_digits = 4300;

  // Tight limits for fuzzing and untrusted services.
  static Limits strict() {
    Limits l;
    l.max_input_bytes = uint64_t{1} << 24;
    l.max_depth = 2'000;
    l.max_memo_entries = uint64_t{1} << 16;
    l.max_container_len = uint64_t{1} << 20;
    l.max_total_bytes = uint64_t{256} << 20;
    return l;
  }
};

}  // namespace pkl
