// The opcode loop, as CPython 3.11's load() in Modules/_pickle.c: the fast
// loops first (decode/fast_run.cpp), then one opcode dispatched to its
// load_* handler (decode/load_*.cpp), a stack of NodeIds and a stack of
// marks; and the errors the handlers share, each worded once.
#include "decode/machine.hpp"

#include <new>
#include <string>

#include "base/foreign.hpp"
#include "base/tuning.hpp"
#include "picklecodec/opcodes.hpp"
#include "text/python_text.hpp"
#include "base/hex.hpp"

namespace pkl::detail {

namespace {

// Inputs from this size on get their node array and memo reserved up front.
constexpr size_t kReserveMin = size_t{64} << 10;

std::string bad_load_key(int c) {
  std::string m = "invalid load key, '";
  if (c >= 0x20 && c <= 0x7e && c != '\'' && c != '\\') {
    m += static_cast<char>(c);
  } else {
    m += "\\x";
    append_hex(m, static_cast<uint64_t>(c), 2);
  }
  m += "'.";
  return m;
}

}  // namespace

// ---- errors the handlers share ---------------------------------------------

void fail_too_large(std::string_view what, const char* of) {
  fail(ErrorCode::BadArgument,
       std::string(what) + " exceeds system's maximum " + of + " " + std::to_string(kSsizeMax) + " bytes");
}

void fail_odd_items(std::string_view opname) {
  fail(ErrorCode::BadArgument, "odd number of items for " + std::string(opname));
}

void fail_memory_budget(std::string_view what) {
  fail(ErrorCode::ResourceLimit, "the " + std::string(what) + " exceeds the memory budget (max_total_bytes)");
}

void Machine::underflow() const {
  fail(ErrorCode::StackUnderflow, marks_.empty() ? "unpickling stack underflow" : "unexpected MARK found");
}

void Machine::too_deep() const {
  fail(ErrorCode::ResourceLimit, "more than " + std::to_string(opt_.limits.max_depth) + " open MARKs (max_depth)");
}

void Machine::memo_overflow() const {
  fail(ErrorCode::ResourceLimit,
       "the memo exceeds " + std::to_string(opt_.limits.max_memo_entries) + " entries (max_memo_entries)");
}

void Machine::memo_missing(int64_t idx) const {
  fail(ErrorCode::MemoMissing, "Memo value not found at index " + std::to_string(idx));
}

void Machine::check_len(uint64_t n) const {
  if (n > opt_.limits.max_container_len)
    fail(ErrorCode::ResourceLimit, "a container exceeds " + std::to_string(opt_.limits.max_container_len) +
                                       " items (max_container_len)");
}

// ---- the stack -----------------------------------------------------------------

Machine::Machine(Reader& in, const DecodeOptions& options) : in_(in), opt_(options) {
  fast_run_ = tuning.fast_run;
  scalar_run_ = tuning.scalar_run;
#ifdef PKL_TEXT_SIMD
  simd_ = fast_run_ && simd_enabled();
#endif
  stack_.reserve(64);
}

void Machine::grow_stack() {
  uint64_t want = std::max<uint64_t>(64, stack_.capacity() * 2);
  if (want * sizeof(NodeId) + g_.bytes_held() > opt_.limits.max_total_bytes)
    fail_memory_budget("pickle's stack");
  stack_.reserve(want);
}

size_t Machine::marker() {
  if (marks_.empty()) fail(ErrorCode::NoMark, "could not find MARK");
  size_t m = marks_.back();
  marks_.pop_back();
  set_fence();
  return m;
}

// ---- arguments ---------------------------------------------------------------------

uint64_t Machine::read_size(size_t width, const char* opname) {
  const uint64_t n = le(in_.take(width), width);
  if (n > kSsizeMax) fail_too_large(opname);
  return n;
}

std::string_view Machine::text_line(bool nonempty) {
  const std::string_view line = in_.line();
  if (nonempty) require_line(line);
  return line.substr(0, line.size() - 1);
}

// ---- the loop --------------------------------------------------------------------

void Machine::reserve_for_input() {
  // A large input gets its node array and memo reserved up front, in
  // proportion to the bytes at hand (a node or a memo entry takes an opcode
  // of at least one byte; these are typical densities, not bounds: both
  // still grow as needed). The reservation is address space: pages are
  // faulted in as nodes are made, the budget is charged per node, and one
  // block of the final size (not a series of doublings) is what the block
  // cache hands the next decode of a similar input.
  const auto present = static_cast<size_t>(in_.limit() - in_.cursor());
  if (present < kReserveMin) return;
  try {
    GraphAccess::reserve_nodes(g_, present / 3);
    memo_.reserve(present / 8);
    GraphAccess::reserve_containers(g_, present / 16);
  } catch (const std::bad_alloc&) {
    // No address space for it: grow as needed instead.
  }
}

Graph Machine::run() {
  g_.set_byte_limit(opt_.limits.max_total_bytes);
  in_.begin_pickle(opt_.limits.max_input_bytes);
  reserve_for_input();
  in_.mark_op();
  int op = Error::kNoOpcode;
  try {
    for (;;) {
      fast_runs();
      in_.mark_op();
      op = in_.next_byte();
      if (op < 0) {
        op = Error::kNoOpcode;
        fail(ErrorCode::Truncated, kRanOutOfInput);
      }
      switch (static_cast<uint8_t>(op)) {
        // ints
        case op::INT: load_int(); break;
        case op::BININT: load_binintx(kNumArg<op::BININT>); break;
        case op::BININT1: load_binintx(kNumArg<op::BININT1>); break;
        case op::BININT2: load_binintx(kNumArg<op::BININT2>); break;
        case op::LONG: load_long(); break;
        case op::LONG1: load_counted_long(kWidth<op::LONG1>); break;
        case op::LONG4: load_counted_long(kWidth<op::LONG4>); break;
        // strings, bytes, bytearrays, out-of-band buffers
        case op::STRING: load_string(); break;
        case op::BINSTRING: load_counted_binstring(kWidth<op::BINSTRING>); break;
        case op::SHORT_BINSTRING: load_counted_binstring(kWidth<op::SHORT_BINSTRING>); break;
        case op::BINBYTES: load_counted_binbytes(kWidth<op::BINBYTES>); break;
        case op::SHORT_BINBYTES: load_counted_binbytes(kWidth<op::SHORT_BINBYTES>); break;
        case op::BINBYTES8: load_counted_binbytes(kWidth<op::BINBYTES8>); break;
        case op::BYTEARRAY8: load_counted_bytearray(kWidth<op::BYTEARRAY8>); break;
        case op::NEXT_BUFFER: load_next_buffer(); break;
        case op::READONLY_BUFFER: load_readonly_buffer(); break;
        // None, bools
        case op::NONE: load_none(); break;
        case op::NEWTRUE: load_bool(true); break;
        case op::NEWFALSE: load_bool(false); break;
        // unicode
        case op::UNICODE: load_unicode(); break;
        case op::SHORT_BINUNICODE: load_counted_binunicode(kWidth<op::SHORT_BINUNICODE>); break;
        case op::BINUNICODE: load_counted_binunicode(kWidth<op::BINUNICODE>); break;
        case op::BINUNICODE8: load_counted_binunicode(kWidth<op::BINUNICODE8>); break;
        // floats
        case op::FLOAT: load_float(); break;
        case op::BINFLOAT: load_binintx(kNumArg<op::BINFLOAT>); break;
        // lists, tuples, dicts, sets, frozensets
        case op::EMPTY_LIST: load_empty_list(); break;
        case op::APPEND: load_append(); break;
        case op::APPENDS: load_appends(); break;
        case op::LIST: load_list(); break;
        case op::EMPTY_TUPLE: load_counted_tuple(0); break;
        case op::TUPLE: load_tuple(); break;
        case op::TUPLE1: load_counted_tuple(1); break;
        case op::TUPLE2: load_counted_tuple(2); break;
        case op::TUPLE3: load_counted_tuple(3); break;
        case op::EMPTY_DICT: load_empty_dict(); break;
        case op::DICT: load_dict(); break;
        case op::SETITEM: load_setitem(); break;
        case op::SETITEMS: load_setitems(); break;
        case op::EMPTY_SET: load_empty_set(); break;
        case op::ADDITEMS: load_additems(); break;
        case op::FROZENSET: load_frozenset(); break;
        // stack manipulation
        case op::POP: load_pop(); break;
        case op::DUP: load_dup(); break;
        case op::MARK: load_mark(); break;
        case op::POP_MARK: load_pop_mark(); break;
        // memo manipulation
        case op::GET: load_get(); break;
        case op::BINGET: load_binget(kWidth<op::BINGET>); break;
        case op::LONG_BINGET: load_binget(kWidth<op::LONG_BINGET>); break;
        case op::PUT: load_put(); break;
        case op::BINPUT: load_binput(kWidth<op::BINPUT>); break;
        case op::LONG_BINPUT: load_binput(kWidth<op::LONG_BINPUT>); break;
        case op::MEMOIZE: load_memoize(); break;
        // the extension registry, classes and functions, objects
        case op::EXT1: load_extension(op::EXT1); break;
        case op::EXT2: load_extension(op::EXT2); break;
        case op::EXT4: load_extension(op::EXT4); break;
        case op::GLOBAL: load_global(); break;
        case op::STACK_GLOBAL: load_stack_global(); break;
        case op::REDUCE: load_reduce(); break;
        case op::BUILD: load_build(); break;
        case op::INST: load_inst(); break;
        case op::OBJ: load_obj(); break;
        case op::NEWOBJ: load_newobj(false); break;
        case op::NEWOBJ_EX: load_newobj(true); break;
        // machine control, framing
        case op::PROTO: load_proto(); break;
        case op::FRAME: load_frame(); break;
        case op::STOP: return load_stop();
        // persistent ids
        case op::PERSID: load_persid(); break;
        case op::BINPERSID: load_binpersid(); break;
        default: fail(ErrorCode::BadOpcode, bad_load_key(op));
      }
    }
  } catch (...) {
    rethrow_as_error({}, static_cast<int64_t>(in_.op_offset()), op);
  }
}

}  // namespace pkl::detail
