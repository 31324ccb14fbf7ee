// Text arguments of the protocol-0 opcodes and the codecs they use, parsed
// exactly as CPython 3.11's C unpickler does (Modules/_pickle.c with the
// Objects/ helpers it calls), errors in CPython's words. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "picklecodec/error.hpp"
#include "picklecodec/value.hpp"
#include "text/utf8_valid.hpp"
#include "text/utf8.hpp"

namespace pkl::detail {

[[noreturn]] void fail(ErrorCode code, std::string message);
// "pickle data was truncated" (CPython's bad_readline and short reads).
[[noreturn]] void fail_truncated();
// A text opcode's line ends in '\n' and holds more than that: CPython's
// `if (len < 2) return bad_readline();`.
inline void require_line(std::string_view line) {
  if (line.size() < 2) [[unlikely]] fail_truncated();
}

// ---- UTF-8 and friends ------------------------------------------------

// The validator (text/utf8_valid.hpp), under the names this layer's users know.
using text::Utf8Fault;
using text::utf8_check;
using text::utf8_valid;
// UnicodeDecodeError's text: "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte".
std::string decode_error_text(std::string_view codec, std::string_view data, size_t start, size_t end,
                              std::string_view reason);
// Throws the UnicodeDecodeError (as ErrorCode::BadArgument) for a UTF-8 fault.
[[noreturn]] void fail_utf8(std::string_view data, const Utf8Fault& fault);
// Validates UTF-8 (strict or surrogatepass), throwing CPython's error.
void require_utf8(std::string_view data, bool surrogatepass);
// Position of the first byte >= 0x80, or npos.
size_t first_non_ascii(std::string_view data) noexcept;
// Requires ASCII (the 'ascii' codec, strict), throwing CPython's error.
void require_ascii(std::string_view data);
// Decodes UTF-8 with errors='replace' (as PyErr_Format's %s does).
std::string utf8_replace(std::string_view data);
// (Appending and reading a code point: pkl::append_utf8, pkl::next_code_point, utf8.hpp.)

// ---- string opcodes ---------------------------------------------------

// PyBytes_DecodeEscape: the body of a STRING argument.
std::string escape_decode(std::string_view body);
// PyUnicode_DecodeRawUnicodeEscape: a UNICODE argument, to surrogatepass UTF-8.
std::string raw_unicode_escape_decode(std::string_view data);

// ---- numbers ----------------------------------------------------------

// Whose words a number parser's errors are in, where the two readers of a
// pickle's text differ: the C unpickler (Modules/_pickle.c hands a C string
// to PyLong_FromString / PyOS_string_to_double: a str's repr, the digit
// limit a ValueError) or pickletools (Python's int() / float() of the
// bytes: a bytes' repr, every fault a malformed argument).
enum class Dialect : uint8_t { Unpickler, Pickletools };

// CPython's ValueError past the digit limit (sys.get_int_max_str_digits()):
// str() of an int over it, and int() of text with `digits` digits.
std::string int_to_str_limit_text(uint64_t max_digits);
std::string str_to_int_limit_text(uint64_t max_digits, uint64_t digits);

// PyLong_FromString's reading of `text`: sign, base, digit characters.
struct ParsedLong {
  bool negative = false;
  int base = 10;
  std::string digits;  // digit characters only, most significant first
};
ParsedLong parse_py_long(std::string_view text, int base, uint32_t max_digits,
                         Dialect dialect = Dialect::Unpickler);

// Python's Py_ISSPACE (bytes): space, \t, \n, \v, \f, \r.
inline bool py_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The parts of a line the C code sees: up to its first NUL (C strings).
inline std::string_view c_string(std::string_view line) noexcept {
  size_t nul = line.find('\0');
  return nul == std::string_view::npos ? line : line.substr(0, nul);
}

// PyLong_FromString(text, NULL, base) for base 0 or 10 with Python's rules
// (whitespace, sign, prefixes, underscores, digit limit); `max_digits` 0 = none.
// Throws ValueError in CPython's words.
NodeId py_long_from_string(Graph& g, std::string_view text, int base, uint32_t max_digits);
// load_int: INT's argument (`line` is the whole line, '\n' included).
NodeId parse_int_line(Graph& g, std::string_view line, uint32_t max_digits);
// load_long: LONG's argument.
NodeId parse_long_line(Graph& g, std::string_view line, uint32_t max_digits);
// load_float: FLOAT's argument.
double parse_float_line(std::string_view line);
// GET/PUT arguments: PyLong_FromString(base 10) then PyLong_AsSsize_t.
int64_t parse_memo_index(std::string_view line, uint32_t max_digits);

// pickletools' int(bytes) (base 10, CPython's default digit limit): the
// canonical decimal text ("-12", "0"). Throws as Dialect::Pickletools.
std::string py_int_of_bytes(std::string_view bytes);
// pickletools' float(bytes): surrounding whitespace, '_' between digits,
// overflow to infinity. Throws as Dialect::Pickletools.
double py_float_of_bytes(std::string_view bytes);

}  // namespace pkl::detail
