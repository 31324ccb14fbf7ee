// Ways to spell integers, None, bools and floats (pickletools' groups):
// CPython 3.11's load_int, load_long, load_binintx, load_counted_long,
// load_float, load_binfloat, load_none and load_bool (Modules/_pickle.c).
// A number's bits come from num_bits() and int_bits() (decode/opcode_args.hpp),
// as in the fast loops.
#include "decode/machine.hpp"
#include "text/python_text.hpp"

namespace pkl::detail {

void Machine::load_int() {
  const std::string_view line = in_.line();
  push(parse_int_line(g_, line, opt_.limits.max_int_digits));
  if (python() && line != "00\n" && line != "01\n") [[unlikely]] py_int_text(line, 0);  // int(data, 0)
}

void Machine::load_long() {
  const std::string_view line = in_.line();
  push(parse_long_line(g_, line, opt_.limits.max_int_digits));
  if (python()) [[unlikely]] {
    std::string_view val = line.substr(0, line.size() - 1);  // int(val, 0), less a trailing 'L'
    if (val.ends_with('L')) val.remove_suffix(1);
    py_int_text(val, 0);
  }
}

void Machine::py_int_text(std::string_view text, int base) {
  parse_py_long(text, base, opt_.limits.max_int_digits, Dialect::Pickletools);
}

void Machine::load_binintx(NumArg a) { push_number(a.kind(), num_bits(a, le(in_.take(a.width), a.width))); }

void Machine::load_counted_long(size_t width) {
  const int64_t n = calc_binint(in_.take(width), width);
  if (n < 0) fail(ErrorCode::BadArgument, "LONG pickle has negative byte count");
  if (n == 0) {
    push(g_.integer(0));
    return;
  }
  const uint8_t* p = in_.take(static_cast<size_t>(n));
  if (n <= 8) {
    // Fits in int64 whatever its minimal length: sign-extended.
    push_number(Kind::Int, int_bits(le(p, static_cast<size_t>(n)), long_shl(static_cast<uint64_t>(n)), true));
    return;
  }
  push(g_.integer_le({p, static_cast<size_t>(n)}));
}

void Machine::load_float() {
  const std::string_view line = in_.line();
  if (python()) [[unlikely]] {
    push(g_.floating(py_float_of_bytes(line.substr(0, line.size() - 1))));  // float(readline()[:-1])
    return;
  }
  push(g_.floating(parse_float_line(line)));
}

void Machine::load_none() { push(g_.none()); }

void Machine::load_bool(bool value) { push(g_.boolean(value)); }

}  // namespace pkl::detail
