// The encoder's engine: _pickle.c's save() and its helpers turned into an
// explicit work stack, so a graph of any depth encodes without recursion.
// Internal header; the public API is picklecodec/encode.hpp.
//
// Values. A Val is a graph NodeId, or (top bit set) an object the pickler
// makes up on its own as CPython does: the `_codecs.encode` global and the
// latin-1 str of protocol-2 bytes, the list of a protocol-3 set, the
// functools.partial of __newobj_ex__ below protocol 4, a registered
// instance's attribute dict, ... ("synthetic" values). Each synthetic value
// has the identity CPython's object has: most are fresh objects (memoized,
// never met again); globals are one object per (module, qualname) (shared
// with the graph's Global node of that name); one-character strs below
// U+0100 are the interpreter's singletons (shared with the graph's); module
// names, attribute names and the 'latin1' literal are one str per text.
//
// Memo. memo_[node] holds (memo index + 1) for graph nodes; globals and
// singleton strs go through name tables so that graph nodes and synthetic
// values of the same identity share one entry.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "encode/output.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "value/access.hpp"
#include "value/pages.hpp"

namespace pkl::enc {

using Val = uint32_t;
inline constexpr Val kNoVal = kNoNode;
inline constexpr Val kSynthBit = 0x80000000u;
inline bool is_synth(Val v) { return v != kNoVal && (v & kSynthBit) != 0; }

inline constexpr int kBatchSize = 1000;
// The singleton strs: codes 0-255 for one character below U+0100, and:
inline constexpr unsigned kEmptyStr = 256;

// save_long's LONG1 of an int64 (the minimal two's complement bytes, 1 to
// 8) at w; returns the end (at most 10 bytes).
inline char* put_long1(char* w, int64_t val) noexcept {
  int n = 8;
  while (n > 1) {
    const int shift = 64 - 8 * (n - 1);
    if (static_cast<int64_t>(static_cast<uint64_t>(val) << shift) >> shift != val) break;
    --n;
  }
  w[0] = static_cast<char>(op::LONG1);
  w[1] = static_cast<char>(n);
  put_le(w + 2, static_cast<uint64_t>(val), n);
  return w + 2 + n;
}

// BINFLOAT of a double's bits (big-endian) at w; returns the end (9 bytes on).
inline char* put_binfloat(char* w, uint64_t bits) noexcept {
  if constexpr (std::endian::native == std::endian::little) bits = __builtin_bswap64(bits);
  w[0] = static_cast<char>(op::BINFLOAT);
  std::memcpy(w + 1, &bits, 8);
  return w + 9;
}

enum class SKind : uint8_t {
  EmptyTuple,  // ()
  Latin1Char,  // a one-character str below U+0100 (code in `a`), or '' (code kEmptyStr)
  Str,         // text [t, t+tn); named: one object per key [u, u+un)
  Bytes,       // text [t, t+tn)
  Tuple,       // items: pool [a, a+n), then the items of `view`
  List,        // same
  Dict,        // pairs: pool [a, a+2n), then the pairs of `view`
  Global,      // module [t, t+tn), qualname [u, u+un)
  ObjectNew,   // object.__new__ (pickled as getattr(object, '__new__'))
  Partial,     // functools.partial(cls.__new__, cls, *args, **kwargs): pool [cls, args, kwargs, cls.__new__ or kNoVal]
};

struct Synth {
  SKind kind;
  bool named = false;
  bool latin1 = false;  // a Str of tn UTF-8 bytes: the latin-1 decoding of bytes `view`, never stored
  uint32_t memo = 0;  // memo index + 1, fresh objects only
  Val view = kNoVal;
  uint32_t skip = 0;  // items of `view` start at this index
  uint32_t a = 0, n = 0;
  size_t t = 0, tn = 0;
  size_t u = 0, un = 0;
};

// Where an object's APPEND / SETITEM items come from.
enum class Src : uint8_t {
  None,
  ObjectList,  // an Object node's listitems
  ObjectDict,  // an Object node's dictitems
  ListNode,    // a List node's items (a reduce hook's listitems)
  DictNode,    // a Dict node's pairs (a reduce hook's dictitems)
  PairList,    // a List node of 2-tuples (a reduce hook's dictitems)
};

// save_reduce() state kept until the object is memoized.
struct Reduce {
  Val obj = kNoVal;  // kNoVal: not memoized (getattr of a nested global)
  Val state = kNoVal;
  Val state_setter = kNoVal;  // the 6th item: setter(obj, state) instead of BUILD
  Val list = kNoVal;
  Val dict = kNoVal;
  Src list_kind = Src::None;
  Src dict_kind = Src::None;
  uint32_t prev_active = 0;  // recursion guard of obj (see Engine::enter)
  // cls.__new__ when the class defines its own (a registered class with
  // ClassHooks::defines_new); kNoVal means object.__new__.
  Val cls_new = kNoVal;
};

enum class Op : uint8_t {
  Save,        // save(v, pers_save = b)
  Write1,      // write the opcode in `x`
  Tuple,       // save_tuple: items, then the recursion check
  FrozenSet,   // save_frozenset (protocol 4+): items, then the recursion check
  List,        // batch_list_exact (protocols 1+)
  Dict,        // batch_dict_exact (protocols 1+)
  Set,         // save_set (protocol 4+)
  Batch0,      // protocol 0 list / dict: one APPEND / SETITEM per item (b: dict)
  BatchList,   // batch_list over an iterator (reduce listitems)
  BatchDict,   // batch_dict over an iterator (reduce dictitems)
  ReduceTail,  // save_reduce after REDUCE / NEWOBJ: memo, items, BUILD
  MemoPut,     // memo_put(v) (a global written by getattr)
};

struct Frame {
  Op op;
  uint8_t b = 0;      // flags: pers_save, mark used, dict, Src kind
  uint32_t n = 0;     // this batch's count / tuple length
  Val v = kNoVal;
  uint32_t x = 0;     // opcode, saved recursion guard
  uint64_t i = 0;     // position
};

// Per-node cells (memo index + 1, recursion marks), zero when unused. The
// array comes from calloc, so the pages of nodes that are never memoized
// (ints, floats, most of a large graph) are never written or made resident.
// With huge pages on (memory.hpp), one of 1 MiB or more is a block of fresh
// zero pages of 4 MiB or more, in huge pages: a fault per 2 MiB, where each
// 4 KiB took two (the read of a zero page, then the write).
class NodeCells {
 public:
  NodeCells() = default;
  NodeCells(const NodeCells&) = delete;
  NodeCells& operator=(const NodeCells&) = delete;
  ~NodeCells() { release(); }
  void assign(size_t n) {
    release();
    n = std::max<size_t>(n, 1);
    if (n * sizeof(uint32_t) >= kHugeFrom && detail::huge_pages_on()) {
      size_t bytes = std::max(n * sizeof(uint32_t), detail::kHugeBlockMin);
      p_ = static_cast<uint32_t*>(detail::page_allocate_zeroed(bytes));
      block_ = bytes;
      n_ = bytes / sizeof(uint32_t);
      return;
    }
    p_ = static_cast<uint32_t*>(std::calloc(n, sizeof(uint32_t)));
    if (!p_) throw std::bad_alloc();
    n_ = n;
  }
  // Grows to n cells, the new ones zero.
  void resize(size_t n) {
    if (n <= n_) return;
    if (block_) {
      size_t bytes = n * sizeof(uint32_t);  // grown pages are fresh: zero
      p_ = static_cast<uint32_t*>(detail::page_reallocate(p_, block_, bytes));
      block_ = bytes;
      n_ = bytes / sizeof(uint32_t);
      return;
    }
    auto* q = static_cast<uint32_t*>(std::realloc(p_, n * sizeof(uint32_t)));
    if (!q) throw std::bad_alloc();
    std::memset(q + n_, 0, (n - n_) * sizeof(uint32_t));
    p_ = q;
    n_ = n;
  }
  size_t size() const noexcept { return n_; }
  uint32_t& operator[](size_t i) noexcept { return p_[i]; }
  uint32_t operator[](size_t i) const noexcept { return p_[i]; }

 private:
  void release() noexcept {
    if (block_) {
      detail::page_free(p_, block_);
    } else {
      std::free(p_);
    }
    p_ = nullptr;
    n_ = block_ = 0;
  }
  // From 262,144 nodes: a smaller graph's cells would be mostly one huge
  // page, resident whole, to save a few hundred faults.
  static constexpr size_t kHugeFrom = size_t{1} << 20;
  uint32_t* p_ = nullptr;
  size_t n_ = 0;
  size_t block_ = 0;  // a page block's size, or 0 for calloc's
};

class Engine {
 public:
  // externs: where large stable payloads are recorded instead of copied
  // into `out` (Out::set_externs); null copies everything.
  Engine(const Graph* g, Graph* mg, const EncodeOptions& options, std::string& out,
         std::vector<Extern>* externs = nullptr);
  // Writes one whole pickle of `root`.
  void run(NodeId root);

 private:
  // ---- values ---------------------------------------------------------
  Kind kind_of(Val v) const;  // Python type of a value (Object for ObjectNew / Partial)
  const Synth& syn(Val v) const { return synth_[v & ~kSynthBit]; }
  Synth& syn(Val v) { return synth_[v & ~kSynthBit]; }
  Val add_synth(const Synth& s);
  size_t add_text(std::string_view s);
  std::string_view text(size_t off, size_t len) const { return std::string_view(text_).substr(off, len); }
  Val s_global(std::string_view module, std::string_view qualname);
  Val s_str(std::string_view utf8);                 // a fresh str
  Val s_str_of_latin1(Val bytes);                   // a fresh str: bytes decoded as latin-1
  Val s_named_str(char cat, std::string_view utf8);  // one str per (cat, text)
  Val s_latin1_char(unsigned code);
  Val s_str_piece(std::string_view utf8);  // a substring made by str.split (singletons included)
  Val s_tuple(std::initializer_list<Val> items, Val view = kNoVal);
  Val s_list_view(Val view);
  Val s_dict_view(Val view);
  size_t seq_len(Val v) const;            // Tuple / List / Set / FrozenSet, real or synthetic
  Val seq_item(Val v, size_t i) const;
  size_t dict_len(Val v) const;
  std::pair<Val, Val> dict_pair(Val v, size_t i) const;
  std::string_view str_utf8(Val v) const;  // a str value's UTF-8
  // A singleton str: its code (one character below U+0100) or kEmptyStr, else -1.
  int singleton_code(Val v) const;
  void global_name(Val v, std::string_view& module, std::string_view& qualname) const;

  // ---- memo -----------------------------------------------------------
  uint32_t memo_lookup(Val v);
  uint32_t memo_lookup_shared(NodeId v, Kind k);
  uint32_t memo_lookup_synth(Val v);
  void memo_put(Val v);
  void memo_put_node(NodeId v, Kind k);
  uint32_t next_memo() {  // a new memo index + 1
    if (memo_count_ >= 0xfffffffeu) [[unlikely]] memo_too_large();
    return ++memo_count_;
  }
  [[noreturn]] void memo_too_large();
  [[gnu::always_inline]] void write_put(uint32_t idx) {
    if (proto_ >= 4) {
      out_.op(op::MEMOIZE);
    } else if (!bin_) [[unlikely]] {
      write_text_memo('p', idx);
    } else if (idx < 256) {
      out_.op_arg(op::BINPUT, idx, 1);
    } else {
      out_.op_arg(op::LONG_BINPUT, idx, 4);
    }
  }
  [[gnu::always_inline]] void memo_get(uint32_t cell) {
    const uint32_t idx = cell - 1;
    if (!bin_) [[unlikely]] {
      write_text_memo('g', idx);
    } else if (idx < 256) {
      out_.op_arg(op::BINGET, idx, 1);
    } else {
      out_.op_arg(op::LONG_BINGET, idx, 4);
    }
  }
  void write_text_memo(char op, uint32_t idx);  // protocol 0's "p12\n" / "g12\n"
  // BININT1, BININT2 or BININT: the smallest that holds the int32 `u`.
  void write_binint(uint32_t u) {
    if ((u >> 16) != 0)
      out_.op_arg(op::BININT, u, 4);
    else if ((u >> 8) != 0)
      out_.op_arg(op::BININT2, u, 2);
    else
      out_.op_arg(op::BININT1, u, 1);
  }
  void ensure_node(NodeId n) {
    if (n >= memo_.size()) grow_nodes();
  }
  void grow_nodes();
  // Recursion guard of an object being saved before it is memoized.
  uint32_t enter(Val v);
  void leave(Val v, uint32_t prev);

  // ---- the work stack -------------------------------------------------
  void push_save(Val v, bool pers = false) { stack_.push_back(Frame{Op::Save, pers ? uint8_t{1} : uint8_t{0}, 0, v, 0, 0}); }
  void push_op(uint8_t code) { stack_.push_back(Frame{Op::Write1, 0, 0, kNoVal, code, 0}); }
  void step_save(Val v, bool pers);
  // save() of a graph node that needs no work frame (None, bools, ints
  // that fit in 32 bits, floats, strs); false, with nothing written, for
  // anything else or when a persistent_id hook must see the node first.
  bool save_inline(Val v);
  bool save_inline_here(Val v);
  bool save_inline_memo_get(NodeId v);
  bool save_inline_int(NodeId v);
  void save_inline_str(NodeId v);
  bool save_inline_tuple(NodeId v);
  bool save_node_container(NodeId v);
  bool save_unmemoized(Val v, Kind k);
  void save_memoized(Val v, Kind k);
  void save_container_start(Val v, Kind k, bool empty);
  void save_pid(NodeId pid);
  char* scalar_at(char* w, NodeId v) const noexcept;
  bool inlinable(NodeId v) const noexcept;
  void step_tuple(Frame& f);
  void step_frozenset(Frame& f);
  void step_list(Frame& f);
  void step_dict(Frame& f);
  void step_set(Frame& f);
  void step_batch0(Frame& f);
  void step_batch_items(Frame& f, bool dict);
  void end_batch(Frame& f, uint8_t code);
  void step_reduce_tail();
  size_t src_len(Val c, Src k) const;
  Val src_item(Val c, Src k, size_t i) const;
  std::pair<Val, Val> src_pair(Val c, Src k, size_t i) const;
  std::pair<Val, Val> src_entry(Val c, Src k, bool dict, size_t i) const;
  void push_entry(std::pair<Val, Val> item, bool dict);
  void push_last(uint8_t code, std::pair<Val, Val> item, bool dict);
  void open_batch(Frame& f);

  // ---- savers (encode/scalars.cpp) -----------------------------------
  void save_int(NodeId n);
  void save_float(double v);
  void save_str(Val v);
  void save_str_data(Val v, std::string_view utf8);  // the opcodes, without the memo
  void save_node_str_data(NodeId v);                  // the same of a graph str
  void save_latin1_str(std::string_view latin1, size_t utf8_size);  // binary, widened in place
  size_t str_header(char* header, size_t size);
  void save_bytes_data(Val v, std::string_view data);  // protocol 3+ bytes
  // data is a graph str's or bytes' own payload (its arena never moves, and
  // neither changes): it may go out from where it is (Out::write_bytes).
  bool stable_payload(Val v) const;
  void save_bytearray_data(Val v, std::string_view data);
  void save_pers_text(Val pid);
  // A dict key / set member Python could hold (strs and ints inline).
  void check_key(Val key) {
    if (key < g_.size()) {
      const Kind k = kind_fast(key);
      if (k == Kind::Str || k == Kind::Int) return;
    }
    check_key_slow(key);
  }
  void check_key_slow(Val key);
  Kind kind_fast(NodeId n) const noexcept { return GraphAccess::kind(g_, n); }  // n < g_.size()

  // ---- savers (encode/reduce.cpp) -------------------------------------
  void save_tuple_start(Val v);
  void save_global(Val v);
  void save_bytes(Val v);
  void save_bytearray(Val v);
  void save_set_reduce(Val v, bool frozen);
  void save_buffer(NodeId n);
  void save_object(NodeId n);
  bool made_by_new_alone(const ObjectData& od) const;
  bool is_class(Val v) const;
  void save_registered(NodeId n);
  void save_hook_reduce(NodeId t, Reduce r, Val cls);
  void save_synth_object(Val v);  // ObjectNew / Partial
  // save_reduce() of (callable, args) for r.obj; cls_of_obj: obj's class when
  // known (registered instances), checked against __newobj__'s args[0].
  void save_reduce(Val callable, Val args, Reduce r, Val cls_of_obj);
  Val s_bytes(std::string_view data);
  Val module_name_str(std::string_view module);
  Val object_new();
  Graph& mutable_graph(const char* why);

  const Graph& g_;
  Graph* mg_;
  const EncodeOptions& o_;
  const int proto_;
  const bool bin_;
  const bool inline_ok_;  // no persistent_id hook: save_inline may write nodes directly
  std::string& buf_;
  Out out_;

  std::vector<Frame> stack_;
  std::vector<Reduce> reduces_;
  NodeCells memo_;    // by NodeId: memo index + 1
  NodeCells active_;  // by NodeId: recursion guard mark + 1
  std::unordered_map<NodeId, uint32_t> nest_;  // re-entered unmemoized saves, by node
  uint32_t latin1_memo_[kEmptyStr + 1] = {};  // the singleton strs' memo cells
  std::unordered_map<std::string, uint32_t> named_memo_;
  uint32_t memo_count_ = 0;
  uint32_t node_puts_ = 0;  // memo entries of graph nodes (progress of the recursion guard)

  std::vector<Synth> synth_;
  std::vector<Val> pool_;
  std::string text_;
  std::unordered_map<std::string, Val> named_synth_;  // canonical synthetic values by key
  Val empty_tuple_ = kNoVal;
  Val latin1_ = kNoVal;  // the 'latin1' literal of save_bytes
  Val object_new_ = kNoVal;
  std::vector<Extern>* externs_;  // Out::write_bytes_stable's (last: the hot members keep their places)
};

// Shared helpers (encode/scalars.cpp).
// Python's raw_unicode_escape as _pickle.c's copy of it (also escapes \\, \0,
// \n, \r and \x1a) of surrogatepass UTF-8.
std::string raw_unicode_escape(std::string_view utf8);
bool is_ascii(std::string_view s);
bool has_surrogate(std::string_view utf8);
// Python's str(v) for a persistent id at protocol 0.
std::string py_str(const Graph& g, NodeId n);
// '%R' of a str, as in CPython's messages.
std::string quote(std::string_view utf8);

[[noreturn]] void fail(ErrorCode code, std::string message);
[[noreturn]] inline void unpicklable(std::string message) { fail(ErrorCode::Unpicklable, std::move(message)); }
// The errors written at more than one place, each once (CPython's wording).
// "<nth> element of the tuple returned by __reduce__ must be <expected>, not <got>"
[[noreturn]] void bad_reduce_element(const char* nth, const char* expected, std::string_view got);
// "<nth> item from NEWOBJ_EX argument tuple must be a <expected>, not <got>"
[[noreturn]] void bad_newobj_ex_item(const char* nth, const char* expected, Kind got);
// "<nth> item of the tuple returned by __getnewargs_ex__ must be a <expected>, not '<got>'"
[[noreturn]] void bad_getnewargs_ex_item(const char* nth, const char* expected, std::string_view got);
// "can't pickle <what> identifier '<name>' using pickle protocol <protocol>"
[[noreturn]] void bad_identifier(const char* what, std::string_view name, int protocol);
// "serializing a <what> larger than 4 GiB requires pickle protocol 4 or higher"
[[noreturn]] void too_large_below_protocol_4(const char* what);
// "unhashable type: '<kind>'"
[[noreturn]] void unhashable(Kind k);

}  // namespace pkl::enc
