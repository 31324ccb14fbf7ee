// Python's repr() of scalar values, byte for byte as CPython 3.11 prints
// them; used by the disassembler and by `show`.
#pragma once

#include <string>
#include <string_view>

namespace pkl {

// repr(str): `utf8` may hold surrogates (surrogatepass UTF-8). Uses Python's
// quote choice and str.isprintable() (a table generated from the installed Python).
std::string repr_str(std::string_view utf8);
// repr(bytes) "b'..'"; with bytearray=true "bytearray(b'..')".
std::string repr_bytes(std::string_view data, bool bytearray = false);
// repr(float): the shortest repr that round-trips ('1e+16', 'nan', '-0.0').
std::string repr_float(double v);

// The same texts, appended to `out` (no string of their own).
void append_repr_str(std::string& out, std::string_view utf8);
void append_repr_float(std::string& out, double v);

namespace detail {
// Whether s is printable ASCII with no single quote or backslash, so that
// repr_str(s) is s itself between single quotes: `show` writes such a str
// without making its repr.
bool repr_str_is_plain(std::string_view s) noexcept;
}  // namespace detail

}  // namespace pkl
