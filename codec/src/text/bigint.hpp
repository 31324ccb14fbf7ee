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

// CPython's default limit on the digits of int <-> decimal str conversion
// (sys.get_int_max_str_digits()): beyond it str(i) raises ValueError, and a
// conversion would take time quadratic in the int's size.
inline constexpr uint64_t kIntMaxStrDigits = 4300;

// Hex text ("-0x1f", "0x0") of a two's complement LE byte string: linear time.
std::string le_to_hex(std::span<const uint8_t> le);

// Whether the decimal form of a two's complement LE byte string has more
// than max_digits digits (0: no limit). Decides from the length alone where
// it can; otherwise converts an int of about max_digits digits.
bool le_decimal_exceeds(std::span<const uint8_t> le, uint64_t max_digits);

// How the value graph prints an int: decimal, as repr(); hex when the decimal
// form would pass max_digits (repr would raise, and decimal is quadratic).
std::string le_to_literal(std::span<const uint8_t> le, uint64_t max_digits = kIntMaxStrDigits);

// For an integral finite double: its minimal two's complement LE bytes.
std::string integral_double_to_le(double d);

}  // namespace pkl::detail
