// opcode_length: see opcode_length.hpp. The widths and the count's value
// are the decoder's own (opcode_args.hpp: arg_width, le).
#include "decode/opcode_length.hpp"

#include <cstring>

#include "decode/opcode_args.hpp"
#include "picklecodec/opcodes.hpp"

namespace pkl {

OpcodeLength opcode_length(std::span<const uint8_t> data, size_t pos) noexcept {
  const size_t n = data.size();
  if (pos >= n) return {OpLenStatus::ArgTruncated, 0};
  const OpcodeInfo* info = opcode_info(data[pos]);
  if (!info) return {OpLenStatus::UnknownOpcode, 0};
  const size_t at = pos + 1;  // the argument's first byte (<= n)
  const size_t left = n - at;
  const size_t width = detail::arg_width(data[pos]);
  if (info->arg_bytes >= 0) {
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
  // A count first (width 1, 4 or 8; -3: four signed), then that many bytes.
  if (width > left) return {OpLenStatus::CountTruncated, 0};
  const uint64_t count = detail::le(data.data() + at, width);
  if (info->arg_bytes == -3 && (count & 0x80000000u)) return {OpLenStatus::NegativeCount, 0};
  if (count > left - width) return {OpLenStatus::ArgTruncated, 0};
  return {OpLenStatus::Ok, 1 + width + static_cast<size_t>(count)};
}

}  // namespace pkl
