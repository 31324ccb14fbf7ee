// Arbitrary-precision integer helpers for the value graph. Big ints are
// stored as minimal two's complement little-endian bytes (the LONG1 payload);
// these helpers convert to and from int64, decimal text and doubles.
// Internal header.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pkl::detail {

// Minimal two's complement LE bytes of v (0 -> "", 255 -> "\xff\x00", -1 -> "\xff").
std::string int64_to_le(int64_t v);

// Length of the minimal form of a two's complement LE byte string.
size_t minimal_le_length(std::span<const uint8_t> le) noexcept;

// Value of a two's complement LE byte string of at most 8 bytes (sign-extended).
int64_t le_to_int64(std::span<const uint8_t> le) noexcept;

// Parses Python int() decimal text: optional surrounding whitespace, optional
// sign, digits with single underscores between them. Returns the minimal
// two's complement LE bytes, or nullopt when malformed.
std::optional<std::string> decimal_to_le(std::string_view text);

// Decimal text ("-123") of a two's complement LE byte string (any length).
std::string le_to_decimal(std::span<const uint8_t> le);

// For an integral finite double: its minimal two's complement LE bytes.
std::string integral_double_to_le(double d);

}  // namespace pkl::detail
