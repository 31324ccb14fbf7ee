// How many bytes the opcode at a position takes, its argument with it, from
// the generated table's layouts (picklecodec/opcodes.hpp, pickletools'
// arg_bytes markers): one walk over a stream's opcodes for the scan's frame
// walk, the harness's memo-index reader and the fuzz targets. It reads no
// argument's value beyond a count. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pkl {

// Why an opcode's length cannot be told from the bytes at hand.
enum class OpLenStatus : uint8_t {
  Ok,
  UnknownOpcode,   // the byte is no pickle opcode
  NoNewline,       // a text argument whose line (GLOBAL and INST: either line) has no '\n' before the end
  CountTruncated,  // a counted argument's count (1, 4 or 8 bytes) runs past the end
  NegativeCount,   // BINSTRING's or LONG4's signed four-byte count is below zero (CPython refuses it)
  ArgTruncated,    // a fixed-width argument, or a counted one's bytes, run past the end (or pos is at it)
};

struct OpcodeLength {
  OpLenStatus status;
  size_t length;  // the opcode byte and its argument (with a text argument's newlines); 0 unless ok()
  constexpr bool ok() const noexcept { return status == OpLenStatus::Ok; }
};

// The length of the opcode at data[pos], or why it has none. Counts are read
// as CPython reads them: one byte, four bytes little-endian (signed for -3:
// BINSTRING, LONG4), eight bytes; a count larger than the bytes left is
// ArgTruncated (never an overflow).
OpcodeLength opcode_length(std::span<const uint8_t> data, size_t pos) noexcept;

}  // namespace pkl
