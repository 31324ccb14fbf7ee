// Ways to build lists, tuples, dicts, sets and frozensets; stack and memo
// manipulation (pickletools' groups): CPython 3.11's load_empty_list,
// load_append(s), load_list, load_counted_tuple, load_tuple, load_empty_dict,
// load_dict, load_setitem(s), load_empty_set, load_additems, load_frozenset,
// load_pop, load_dup, load_mark, load_pop_mark, load_get, load_binget,
// load_put, load_binput, load_memoize (Modules/_pickle.c). What the item
// opcodes do to their target is the object model's (decode/calls.cpp).
#include "decode/machine.hpp"
#include "text/python_text.hpp"

namespace pkl::detail {

// ---- lists --------------------------------------------------------------------

void Machine::load_empty_list() { push(GraphAccess::empty_list(g_)); }

void Machine::load_append() {
  const int64_t x = static_cast<int64_t>(stack_.size()) - 1;
  if (x <= static_cast<int64_t>(fence_)) underflow();
  do_append(x, op::APPEND);
}

void Machine::load_appends() { do_append(static_cast<int64_t>(marker()), op::APPENDS); }

void Machine::load_list() {
  collect(marker(), [&](std::span<const NodeId> items) { return g_.list(items); });
}

// ---- tuples -------------------------------------------------------------------

void Machine::load_counted_tuple(size_t n) {
  if (!top_has(n)) underflow();
  const size_t start = stack_.size() - n;
  const NodeId t = GraphAccess::tuple(g_, top_from(start));
  stack_.resize(start);
  push(t);
}

void Machine::load_tuple() {
  collect(marker(), [&](std::span<const NodeId> items) { return GraphAccess::tuple(g_, items); });
}

// ---- dicts --------------------------------------------------------------------

void Machine::load_empty_dict() { push(GraphAccess::empty_dict(g_)); }

void Machine::load_dict() {
  const size_t mark = marker();
  const size_t j = stack_.size();
  if ((j - mark) % 2 != 0) fail_odd_items("DICT");
  check_len((j - mark) / 2);
  const NodeId d = g_.dict();
  for (size_t k = mark; k + 1 < j; k += 2) g_.dict_set(d, stack_[k], stack_[k + 1]);
  stack_.resize(mark);
  push(d);
}

void Machine::load_setitem() { do_setitems(static_cast<int64_t>(stack_.size()) - 2, op::SETITEM); }

void Machine::load_setitems() { do_setitems(static_cast<int64_t>(marker()), op::SETITEMS); }

// ---- sets and frozensets ------------------------------------------------------

void Machine::load_empty_set() { push(g_.set()); }

void Machine::load_additems() { do_additems(static_cast<int64_t>(marker())); }

void Machine::load_frozenset() {
  collect(marker(), [&](std::span<const NodeId> items) { return g_.frozenset(items); });
}

// ---- stack manipulation -------------------------------------------------------

void Machine::load_pop() {
  if (!marks_.empty() && marks_.back() == stack_.size()) {
    marks_.pop_back();
    set_fence();
  } else {
    discard(pop());
  }
}

void Machine::load_dup() {
  if (top_missing()) underflow();
  push(stack_.back());
}

void Machine::load_mark() {
  if (!mark_allowed()) too_deep();
  push_mark();
}

void Machine::load_pop_mark() { stack_.resize(marker()); }

// ---- memo manipulation --------------------------------------------------------

void Machine::load_get() {
  const std::string_view line = in_.line();
  require_line(line);
  if (python()) [[unlikely]] py_int_text(line.substr(0, line.size() - 1), 10);  // int(readline()[:-1])
  op_get(parse_memo_index(line, opt_.limits.max_int_digits));
}

void Machine::load_binget(size_t width) { op_get(static_cast<int64_t>(le(in_.take(width), width))); }

void Machine::load_put() {
  const std::string_view line = in_.line();
  require_line(line);
  if (top_missing()) underflow();
  if (python()) [[unlikely]] py_int_text(line.substr(0, line.size() - 1), 10);  // int(readline()[:-1])
  const int64_t idx = parse_memo_index(line, opt_.limits.max_int_digits);
  if (idx < 0) fail(ErrorCode::BadArgument, "negative PUT argument");
  op_put(static_cast<uint64_t>(idx));
}

void Machine::load_binput(size_t width) { op_put(le(in_.take(width), width)); }

void Machine::load_memoize() { op_put(memo_.size()); }

}  // namespace pkl::detail
