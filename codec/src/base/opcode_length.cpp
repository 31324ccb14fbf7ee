// opcode_length: see opcode_length.hpp.
#include "base/opcode_length.hpp"

#include <cstring>

#include "picklecodec/opcodes.hpp"

namespace pkl {

OpcodeLength opcode_length(std::span<const uint8_t> data, size_t pos) noexcept {
  const size_t n = data.size();
  if (pos >= n) return {OpLenStatus::ArgTruncated, 0};
  const OpcodeInfo* info = opcode_info(data[pos]);
  if (!info) return {OpLenStatus::UnknownOpcode, 0};
  const size_t at = pos + 1;  // the argument's first byte (<= n)
  const size_t left = n - at;
  if (info->arg_bytes >= 0) {
    const auto width = static_cast<size_t>(info->arg_bytes);
    if (width > left) return {OpLenStatus::ArgTruncated, 0};
    return {OpLenStatus::Ok, 1 + width};
  }
  if (info->arg_bytes == -1) {  // up to a newline; a pair of lines for GLOBAL and INST
    const int lines = info->arg == ArgType::StringnlNoescapePair ? 2 : 1;
    size_t end = at;
    for (int l = 0; l < lines; ++l) {
      const void* nl = end < n ? std::memchr(data.data() + end, '\n', n - end) : nullptr;
      if (!nl) return {OpLenStatus::NoNewline, 0};
      end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - data.data()) + 1;
    }
    return {OpLenStatus::Ok, end - pos};
  }
  // A count first (-2: one byte, -3: four signed, -4: four, -5: eight), then that many bytes.
  const size_t width = info->arg_bytes == -2 ? 1 : info->arg_bytes == -5 ? 8 : 4;
  if (width > left) return {OpLenStatus::CountTruncated, 0};
  uint64_t count = 0;
  for (size_t i = 0; i < width; ++i) count |= uint64_t{data[at + i]} << (8 * i);
  if (info->arg_bytes == -3 && (count & 0x80000000u)) return {OpLenStatus::NegativeCount, 0};
  if (count > left - width) return {OpLenStatus::ArgTruncated, 0};
  return {OpLenStatus::Ok, 1 + width + static_cast<size_t>(count)};
}

}  // namespace pkl
