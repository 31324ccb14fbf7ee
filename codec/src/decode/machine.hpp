// The pickle machine, following CPython 3.11's C unpickler
// (Modules/_pickle.c) with docs/conformance.md's inert globals and objects:
// the stack machine (decode/machine.cpp: the loop dispatching each opcode to
// its load_* handler, in decode/load_*.cpp; the fast loops over the hot
// opcodes, decode/fast_run.cpp, built on the same inline cores) and the
// object model (globals resolution and policy, decode/globals.cpp; what
// calls, BUILD and the item opcodes do to values, decode/calls.cpp).
// Internal header.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "decode/memo.hpp"
#include "decode/opcode_args.hpp"
#include "decode/reader.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/trace.hpp"
#include "base/tuning.hpp"
#include "text/python_text.hpp"
#include "text/utf8_simd.hpp"
#include "value/access.hpp"

namespace pkl::detail {

// What a global resolves to (docs/conformance.md §2).
enum class Special : uint8_t {
  None,           // inert, or a registered class
  Set,            // builtins.set
  FrozenSet,      // builtins.frozenset
  ByteArray,      // builtins.bytearray
  Bytes,          // builtins.bytes
  CodecsEncode,   // _codecs.encode
  Getattr,        // builtins.getattr
  Reconstructor,  // copyreg._reconstructor (registered classes below protocol 2)
  Object,         // builtins.object (the base _reconstructor names)
};

struct GlobalInfo {
  Special special = Special::None;
  int32_t class_index = -1;  // registered class, or -1
};

// The unpickler's stack of NodeIds: one capacity check per push (the
// machine grows it through grow_stack, charging the budget).
class NodeStack {
 public:
  size_t size() const noexcept { return v_.size(); }
  size_t capacity() const noexcept { return v_.capacity(); }
  bool full() const noexcept { return v_.size() == v_.capacity(); }
  void reserve(size_t n) { v_.reserve(n); }
  // Only with room (see full()).
  void push_unchecked(NodeId n) noexcept { v_.push_unchecked(n); }
  NodeId& back() noexcept { return v_[v_.size() - 1]; }
  void pop_back() noexcept { v_.resize_down(v_.size() - 1); }
  // Drops the items from `n` on (n <= size()).
  void resize(size_t n) noexcept { v_.resize_down(n); }
  const NodeId* data() const noexcept { return v_.data(); }
  // Room for n pushes written at end() then committed (n <= capacity() - size()).
  NodeId* end() noexcept { return v_.data() + v_.size(); }
  void commit(size_t n) noexcept { v_.resize_up_unchecked(v_.size() + n); }
  NodeId operator[](size_t i) const noexcept { return v_[i]; }

 private:
  PodVector<NodeId> v_;
};

// ---- errors worded once (decode/machine.cpp), in CPython's words ------------
// EOFError at the end of input where an opcode should be.
inline constexpr const char* kRanOutOfInput = "Ran out of input";
// "<what> exceeds system's maximum size of <PY_SSIZE_T_MAX> bytes" (calc_binsize's
// overflow; FRAME's says "maximum of").
[[noreturn]] void fail_too_large(std::string_view what, const char* of = "size of");
// DICT and SETITEMS with a key missing its value.
[[noreturn]] void fail_odd_items(std::string_view opname);
// "the <what> exceeds the memory budget (max_total_bytes)": the graph (a
// bytearray grown or made by a call), the pickle's stack.
[[noreturn]] void fail_memory_budget(std::string_view what);

class Machine {
 public:
  Machine(Reader& in, const DecodeOptions& options);
  // Decodes one pickle starting at the reader's position.
  Graph run();

 private:
  // ---- the opcodes' handlers: CPython's load_*, grouped as pickletools
  // groups the opcodes; run() (decode/machine.cpp) dispatches to them, a
  // width or a constant from the table (decode/opcode_args.hpp) passed as
  // _pickle.c's OP_ARG passes it.
  // ints, None, bools, floats (decode/load_scalars.cpp)
  void load_int();                          // INT
  void load_long();                         // LONG
  void load_binintx(NumArg a);              // BININT, BININT1, BININT2, BINFLOAT
  void load_counted_long(size_t width);     // LONG1, LONG4
  void load_float();                        // FLOAT
  void load_none();                         // NONE
  void load_bool(bool value);               // NEWTRUE, NEWFALSE
  // strings, bytes, bytearrays, unicode, out-of-band buffers (decode/load_strings.cpp)
  void load_string();                       // STRING
  void load_counted_binstring(size_t width);   // SHORT_BINSTRING, BINSTRING
  void load_counted_binbytes(size_t width);    // SHORT_BINBYTES, BINBYTES, BINBYTES8
  void load_counted_bytearray(size_t width);   // BYTEARRAY8
  void load_unicode();                      // UNICODE
  void load_counted_binunicode(size_t width);  // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
  void load_next_buffer();                  // NEXT_BUFFER
  void load_readonly_buffer();              // READONLY_BUFFER
  // lists, tuples, dicts, sets, frozensets; stack and memo (decode/load_containers.cpp)
  void load_counted_tuple(size_t n);        // EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3
  void load_tuple();                        // TUPLE
  void load_empty_list();                   // EMPTY_LIST
  void load_list();                         // LIST
  void load_empty_dict();                   // EMPTY_DICT
  void load_dict();                         // DICT
  void load_empty_set();                    // EMPTY_SET
  void load_frozenset();                    // FROZENSET
  void load_append();                       // APPEND
  void load_appends();                      // APPENDS
  void load_setitem();                      // SETITEM
  void load_setitems();                     // SETITEMS
  void load_additems();                     // ADDITEMS
  void load_mark();                         // MARK
  void load_pop();                          // POP
  void load_pop_mark();                     // POP_MARK
  void load_dup();                          // DUP
  void load_get();                          // GET
  void load_binget(size_t width);           // BINGET, LONG_BINGET
  void load_put();                          // PUT
  void load_binput(size_t width);           // BINPUT, LONG_BINPUT
  void load_memoize();                      // MEMOIZE
  // extensions, globals, objects, persistent ids, machine control (decode/load_objects.cpp)
  void load_extension(uint8_t opcode);      // EXT1, EXT2, EXT4
  void load_global();                       // GLOBAL
  void load_stack_global();                 // STACK_GLOBAL
  void load_inst();                         // INST
  void load_obj();                          // OBJ
  void load_reduce();                       // REDUCE
  void load_newobj(bool ex);                // NEWOBJ, NEWOBJ_EX
  void load_build();                        // BUILD
  void load_persid();                       // PERSID
  void load_binpersid();                    // BINPERSID
  void load_proto();                        // PROTO
  void load_frame();                        // FRAME
  Graph load_stop();                        // STOP

  // ---- the handlers' helpers --------------------------------------------
  // A count of `width` bytes (calc_binsize), at most PY_SSIZE_T_MAX.
  uint64_t read_size(size_t width, const char* opname);
  // A text opcode's line without its '\n'; `nonempty`: not empty either
  // (CPython's bad_readline otherwise).
  std::string_view text_line(bool nonempty = false);
  // GLOBAL's and INST's "module\nname\n", each checked by `check` (the
  // name is valid until the next read); name_line() reads one (and
  // PERSID's, which may be empty: `nonempty` false).
  std::string_view name_line(bool nonempty = true);
  std::pair<std::string, std::string_view> global_lines(void (*check)(std::string_view));
  // The readable bytes after `data`, an argument just taken from the reader.
  size_t slack_after(std::string_view data) const noexcept {
    const auto* end = reinterpret_cast<const uint8_t*>(data.data() + data.size());
    return end >= in_.cursor() && end <= in_.limit() ? static_cast<size_t>(in_.limit() - end) : 0;
  }
  // The items from `mark` on as one container made by `make`, replacing them.
  template <class Make>
  void collect(size_t mark, Make make) {
    check_len(stack_.size() - mark);
    const NodeId made = make(top_from(mark));
    stack_.resize(mark);
    push(made);
  }
  void push_string_bytes(std::string_view raw);  // STRING/BINSTRING/SHORT_BINSTRING per encoding
  void push_bytes(std::string_view data);        // BINBYTES(8), SHORT_BINBYTES
  bool push_read_straight(uint64_t n, Kind k);  // a long one from a stream
  NodeId persistent_load(NodeId pid, uint8_t via);
  void require_persistent_load();
  [[noreturn]] void too_deep() const;  // MARK past max_depth

  // ---- where the pure-Python unpickler parts from the C one
  // (DecodeOptions::unpickler; read in error branches and rare paths only) -----
  bool python() const noexcept { return opt_.unpickler == Unpickler::Python; }
  // INST with no MARK open: the pure-Python unpickler resolves the class first.
  [[noreturn]] void inst_without_mark();
  // APPENDS or ADDITEMS with no items on `target`: the pure-Python unpickler
  // looks up (and for extend, calls) the method all the same.
  void no_items(NodeId target, uint8_t opcode);
  // func(*args) of args that is not a tuple: its items as a tuple (pure
  // Python), else the C unpickler's error `c_error`.
  NodeId star_args(NodeId args, const char* c_error);
  // A state BUILD passes over without __setstate__: the pure-Python
  // unpickler's `if state:` on a falsy one.
  bool state_skipped(NodeId state) const;
  // INT's, LONG's, GET's and PUT's text (read by the C unpickler's rules)
  // as the pure-Python unpickler's int(text, base) reads it, in its words:
  // it refuses a NUL (where C stops reading) and INT's C octal ("017").
  void py_int_text(std::string_view text, int base);

  // ---- inline cores: an opcode's meaning written once, for the handlers
  // and the fast loops (decode/fast_run.cpp), which take an opcode only
  // when its core says it can be done without an error or an allocation
  // and leave the rest to the handler.
  PKL_HOT void push(NodeId v) {
    if (stack_.full()) [[unlikely]] grow_stack();
    stack_.push_unchecked(v);
  }
  NodeId pop() {
    if (top_missing()) underflow();
    NodeId v = stack_.back();
    stack_.pop_back();
    return v;
  }
  // No item above the innermost mark (what pop() would underflow on).
  PKL_HOT bool top_missing() const noexcept { return stack_.size() <= fence_; }
  // At least n items above the innermost mark.
  PKL_HOT bool top_has(size_t n) const noexcept { return stack_.size() >= n && stack_.size() - n >= fence_; }
  void grow_stack();
  [[noreturn]] void underflow() const;
  size_t marker();
  void set_fence() { fence_ = marks_.empty() ? 0 : marks_.back(); }
  void check_len(uint64_t n) const;
  std::span<const NodeId> top_from(size_t start) const {
    return {stack_.data() + start, stack_.size() - start};
  }
  // MARK: allowed below max_depth open marks; pushes one.
  PKL_HOT bool mark_allowed() const noexcept { return marks_.size() < opt_.limits.max_depth; }
  PKL_HOT void push_mark() {
    marks_.push_back(stack_.size());
    fence_ = stack_.size();
  }
  // PUT and friends: the top item at `idx`.
  PKL_HOT void op_put(uint64_t idx) {
    if (top_missing()) [[unlikely]] underflow();
    if (memo_.put(idx, stack_.back()) && memo_.size() > opt_.limits.max_memo_entries) [[unlikely]]
      memo_overflow();
  }
  // The same when it is the next dense index with room and the memo stays
  // within `max_memo` (max_memo_entries, read once by the caller's loop):
  // false, nothing done, otherwise.
  PKL_HOT bool try_put(uint64_t idx, uint64_t max_memo) noexcept {
    return !top_missing() && memo_.try_put_next(idx, stack_.back(), max_memo);
  }
  PKL_HOT void op_get(int64_t idx) {
    const NodeId v = idx < 0 ? kNoNode : memo_.get(static_cast<uint64_t>(idx));
    if (v == kNoNode) [[unlikely]] memo_missing(idx);
    push(v);
  }
  [[noreturn]] void memo_overflow() const;
  [[noreturn]] void memo_missing(int64_t idx) const;
  // BINUNICODE(8), SHORT_BINUNICODE: validated, then a str (`slack`
  // readable bytes after `data`).
  PKL_HOT void op_unicode(std::string_view data, size_t slack) {
    if (!ascii_window(data.data(), data.size(), slack)) [[unlikely]] {
      // A large str of characters below U+0100 is converted to latin-1, which
      // checks it as the validator would: one pass over megabytes, not two.
      if (data.size() >= tuning.large_str_min) {
        const NodeId n = GraphAccess::latin1_str(g_, data);
        if (n != kNoNode) {
          push(n);
          return;
        }
      }
      if (!utf8_fast(data.data(), data.size(), slack)) require_utf8(data, true);
    }
    push(GraphAccess::str(g_, data));
  }
  // True when `data` (followed by `slack` readable bytes) is UTF-8 with
  // surrogates allowed (text/utf8_valid.hpp; require_utf8 reports a fault).
  static PKL_HOT bool utf8_fast(const char* data, size_t n, size_t slack) noexcept {
    return text::utf8_valid(std::string_view(data, n), true, slack);
  }
  // True when every byte is below 0x80 (then the bytes are valid UTF-8).
  static PKL_HOT bool ascii(const char* p, size_t n) noexcept {
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    uint64_t w, acc = 0;
    if (n >= 8) {
      for (size_t i = 0; i + 8 < n; i += 8) {
        std::memcpy(&w, p + i, 8);
        acc |= w;
      }
      std::memcpy(&w, p + n - 8, 8);  // the tail, overlapping
      return ((acc | w) & kHigh) == 0;
    }
    if (n >= 4) {
      uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      return ((a | b) & 0x80808080u) == 0;
    }
    unsigned c = 0;
    for (size_t i = 0; i < n; ++i) c |= static_cast<unsigned char>(p[i]);
    return c < 0x80;
  }
  // ascii(p, n) for a str followed by `slack` readable bytes: with SSE2,
  // one 16-byte load and mask for up to 16 bytes (when 16 can be read), two
  // overlapping loads up to 32, without a loop or a branch on the length
  // past that choice.
  static PKL_HOT bool ascii_window(const char* p, size_t n, size_t slack) noexcept {
#if defined(__x86_64__) && defined(__SSE2__)
    if (n <= 16) {
      if (slack < 16 - n) return ascii(p, n);
      const int m = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      return (static_cast<unsigned>(m) & ((1u << n) - 1)) == 0;
    }
    if (n <= 32) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16));
      return _mm_movemask_epi8(_mm_or_si128(a, b)) == 0;
    }
#else
    (void)slack;
#endif
    return ascii(p, n);
  }
  // The number opcodes scalar_run() takes: BININT, BININT1, BININT2, BINFLOAT, LONG1.
  static PKL_HOT bool scalar_op(uint8_t c) noexcept { return kScalarOps[c] != 0; }
  // A number opcode's node, pushed; a run of them after it goes to scalar_run().
  PKL_HOT void push_number(Kind kind, uint64_t bits) {
    push(GraphAccess::scalar(g_, kind, bits));
    if (scalar_next()) scalar_run();
  }

  // ---- the fast loops (decode/fast_run.cpp) ---------------------------------
  // A run of BININT, BININT1, BININT2, BINFLOAT and short LONG1 from the reader's cursor.
  size_t scalar_run();  // how many it decoded
  // The most frequent opcodes, decoded with the cursor in a register, until
  // one needs the general loop (another opcode, an argument past the window,
  // no room without allocating, anything to report). Never throws; leaves
  // the reader at the first opcode it did not decode.
  void fast_run_generic();
  void fast_run_ssse3();  // the same with SSSE3 (x86-64, when the CPU has it: simd_)
  void reserve_for_input();  // run()'s reservation for a large input
  void fast_runs() {
#ifdef PKL_TEXT_SIMD
    if (simd_) {
      fast_run_ssse3();
      return;
    }
#endif
    if (fast_run_) fast_run_generic();
  }
  // True when the next opcode is one scalar_run() decodes.
  bool scalar_next() const noexcept {
    const uint8_t* p = in_.cursor();
    return p < in_.limit() && scalar_run_ && scalar_op(*p);
  }

  // ---- globals (decode/globals.cpp) ---------------------------------------
  // find_class: applies fix_imports below protocol 3, the policy, and
  // returns the interned Global node.
  // `via`: the opcode (GLOBAL, STACK_GLOBAL, INST, EXT*), `ext` its code.
  NodeId find_class(std::string_view module, std::string_view name, uint8_t via, int32_t ext = 0);
  // Like find_class, without fix_imports (getattr's result).
  NodeId resolve(std::string_view module, std::string_view name);
  const GlobalInfo& info(NodeId global);
  // The interned copyreg.__newobj__ / __newobj_ex__ globals (NEWOBJ, NEWOBJ_EX).
  NodeId newobj_global(bool ex);
  void discard(NodeId popped);

  // ---- trace mode (picklecodec/trace.hpp): only when opt_.trace is set -----
  void trace(TraceEvent& e, uint8_t opcode);
  void trace_call(uint8_t opcode, NodeId callable, NodeId args, NodeId kwargs = kNoNode);
  void trace_method(uint8_t opcode, const char* method, NodeId target, std::span<const NodeId> items);
  // A target whose item methods are Python code CPython would call (not a builtin container).
  bool traced_target(NodeId target) const {
    const Kind k = g_.kind(target);
    return k == Kind::Object || k == Kind::Global || k == Kind::PersId;
  }
  uint8_t trace_op_ = 0;  // the opcode of the last traced call (a getattr hop happens inside it)

  // ---- values (decode/calls.cpp) -------------------------------------------
  NodeId call(NodeId callable, NodeId args);                 // REDUCE (INST, OBJ with arguments)
  NodeId instantiate(NodeId cls, NodeId args);               // INST, OBJ
  NodeId newobj(NodeId cls, NodeId args, NodeId kwargs, bool ex);  // NEWOBJ(_EX)
  void build(NodeId inst, NodeId state);                      // BUILD
  void do_append(int64_t x, uint8_t opcode);                  // APPEND(S)
  void do_setitems(int64_t x, uint8_t opcode);                // SETITEM(S)
  // GraphAccess::fill_keys then try_dict_fill_keys, remembering the keys of the last fill.
  bool try_fill(detail::DictData& d, std::span<const NodeId> items);
  void do_additems(int64_t mark);                             // ADDITEMS
  NodeId call_builtin(Special s, NodeId callable, NodeId args);
  NodeId reconstruct_registered(NodeId cls, NodeId base, NodeId callable, NodeId args);
  NodeId make_registered(int32_t index, NodeId callable, NodeId args, NodeId create_args, NodeId kwargs);
  NodeId bytes_like(NodeId source, NodeId encoding, NodeId errors, bool bytearray_result);
  std::array<NodeId, 3> bytes_keywords(NodeId args, NodeId kwargs);
  std::vector<NodeId> iterate(NodeId v, const char* what);
  std::string ints_to_bytes(std::span<const NodeId> items, const char* noun);
  void set_attrs(NodeId inst, NodeId dict_state, bool slots);
  std::string type_name(NodeId n) const;
  // The object model's errors worded once (decode/calls.cpp).
  [[noreturn]] void no_attribute(NodeId target, std::string_view name) const;
  void require_attr_name(NodeId key) const;
  void require_keyword(NodeId key) const;
  void require_str_arg(const char* fn, const char* what, NodeId arg) const;
  std::string arg_type_name(NodeId n) const;
  // Bytearrays mutated by APPEND/SETITEM are kept here until the end, so
  // that n appends cost O(n) in all.
  std::string_view bytearray_data(NodeId n);
  std::string& bytearray_pending(NodeId n);
  void flush_bytearrays();

  Reader& in_;
  bool simd_ = false;        // fast_run_ssse3 rather than fast_run_generic (pkl::tuning)
  bool fast_run_ = true;     // fast_run_* before the switch (pkl::tuning.fast_run)
  bool scalar_run_ = true;   // scalar_run on runs of numbers (pkl::tuning.scalar_run)
  const DecodeOptions& opt_;
  Graph g_;
  NodeStack stack_;
  std::vector<size_t> marks_;
  size_t fence_ = 0;
  Memo memo_;
  int proto_ = 0;
  uint64_t buffers_used_ = 0;
  std::unordered_map<NodeId, GlobalInfo> globals_;
  // The last globals info() answered for, in front of globals_.
  struct InfoCache {
    NodeId node = kNoNode;
    GlobalInfo info;
  };
  InfoCache info_cache_[8];
  // The key ids of the last SETITEMS fill_keys() accepted, and its bloom.
  static constexpr size_t kFillKeys = 8;
  NodeId fill_keys_[kFillKeys] = {};
  size_t fill_pairs_ = 0;
  uint64_t fill_bloom_ = 0;
  NodeId newobj_ = kNoNode;
  // The result of the last REDUCE and the offset just after it: a POP right
  // there discards it (discard(): a state_setter call).
  NodeId reduced_ = kNoNode;
  uint64_t reduced_end_ = UINT64_MAX;
  NodeId newobj_ex_ = kNoNode;
  std::unordered_map<NodeId, std::string> pending_ba_;
  uint64_t pending_ba_bytes_ = 0;
  // encode_str's output before it becomes a bytes node (no larger than
  // the longest str met, which the input holds).
  std::string scratch_;
};

}  // namespace pkl::detail
