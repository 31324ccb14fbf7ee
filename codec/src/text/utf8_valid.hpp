// UTF-8 validation, written once: utf8_check says where and why CPython's
// decoder stops (the reference), utf8_valid_scalar and utf8_valid_simd decide
// the same faster, utf8_valid picks one (pkl::tuning.simd). fuzz/fuzz_text.cpp
// checks the three against each other and against CPython. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pkl::text {

// Where CPython's UTF-8 decoder stops: bytes [start, end) and its reason
// ("invalid start byte", "invalid continuation byte", "unexpected end of data").
struct Utf8Fault {
  size_t start;
  size_t end;
  const char* reason;
};

// Checks `data` as CPython's UTF-8 decoder with errors 'strict' (surrogates
// rejected) or 'surrogatepass' (an encoded surrogate is accepted).
std::optional<Utf8Fault> utf8_check(std::string_view data, bool surrogatepass) noexcept;

// True when utf8_check finds no fault: scalar, a word at a time over ASCII.
bool utf8_valid_scalar(std::string_view data, bool surrogatepass) noexcept;

// True when the SSSE3 validator exists in this build (x86-64).
bool utf8_simd_built() noexcept;
// utf8_valid_scalar(data, true) with SSSE3; the CPU must have it (see
// pkl::simd_enabled). `slack` readable bytes follow the data (0 if unknown):
// the last partial block is then read whole, masked to the data.
bool utf8_valid_simd(std::string_view data, size_t slack = 0) noexcept;

// True when utf8_check finds no fault, decided the fastest way enabled.
bool utf8_valid(std::string_view data, bool surrogatepass, size_t slack = 0) noexcept;

}  // namespace pkl::text
