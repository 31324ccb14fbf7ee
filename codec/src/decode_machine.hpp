// The pickle machine: the opcode loop (decode_machine.cpp), globals
// resolution and policy (decode_globals.cpp) and what calls, BUILD and the
// item opcodes do to values (decode_calls.cpp), following CPython 3.11's C
// unpickler (Modules/_pickle.c) with CONFORMANCE.md's inert globals and
// objects. Internal header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decode_memo.hpp"
#include "decode_reader.hpp"
#include "picklecodec/decode.hpp"

namespace pkl::detail {

// What a global resolves to (CONFORMANCE.md §2).
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

class Machine {
 public:
  Machine(Reader& in, const DecodeOptions& options);
  // Decodes one pickle starting at the reader's position.
  Graph run();

 private:
  // ---- stack ----------------------------------------------------------
  void push(NodeId v) {
    if (stack_.size() == stack_.capacity()) grow_stack();
    stack_.push_back(v);
  }
  NodeId pop() {
    if (stack_.size() <= fence_) underflow();
    NodeId v = stack_.back();
    stack_.pop_back();
    return v;
  }
  void grow_stack();
  [[noreturn]] void underflow() const;
  size_t marker();
  void set_fence() { fence_ = marks_.empty() ? 0 : marks_.back(); }
  void check_len(uint64_t n) const;
  std::span<const NodeId> top_from(size_t start) const {
    return {stack_.data() + start, stack_.size() - start};
  }

  // ---- opcodes with a body ----------------------------------------------
  void op_string_bytes(std::string_view raw);  // STRING/BINSTRING/SHORT_BINSTRING per encoding
  void op_put(uint64_t idx);
  void op_get(int64_t idx);
  void op_ext(int64_t code);
  void op_persid_text();
  void op_readonly_buffer();
  void op_dict(size_t mark);

  // ---- globals (decode_globals.cpp) ---------------------------------------
  // find_class: applies fix_imports below protocol 3, the policy, and
  // returns the interned Global node.
  NodeId find_class(std::string_view module, std::string_view name);
  // Like find_class, without fix_imports (getattr's result).
  NodeId resolve(std::string_view module, std::string_view name);
  const GlobalInfo& info(NodeId global);

  // ---- values (decode_calls.cpp) -------------------------------------------
  NodeId call(NodeId callable, NodeId args);                 // REDUCE, INST, OBJ
  NodeId newobj(NodeId cls, NodeId args, NodeId kwargs, bool ex);  // NEWOBJ(_EX)
  void build(NodeId inst, NodeId state);                      // BUILD
  void do_append(int64_t x);                                  // APPEND(S)
  void do_setitems(int64_t x);                                // SETITEM(S)
  void do_additems(int64_t mark);                             // ADDITEMS
  NodeId call_builtin(Special s, NodeId callable, NodeId args);
  NodeId make_registered(int32_t index, NodeId callable, NodeId args, NodeId create_args, NodeId kwargs);
  NodeId bytes_like(NodeId arg, bool bytearray_result, std::span<const NodeId> rest, NodeId callable,
                    NodeId args);
  std::vector<NodeId> iterate(NodeId v, const char* what);
  std::string ints_to_bytes(std::span<const NodeId> items, const char* range_msg);
  void set_attrs(NodeId inst, NodeId dict_state, bool slots);
  std::string type_name(NodeId n) const;
  // Bytearrays mutated by APPEND/SETITEM are kept here until the end, so
  // that n appends cost O(n) in all.
  std::string_view bytearray_data(NodeId n);
  std::string& bytearray_pending(NodeId n);
  void flush_bytearrays();

  Reader& in_;
  const DecodeOptions& opt_;
  Graph g_;
  std::vector<NodeId> stack_;
  std::vector<size_t> marks_;
  size_t fence_ = 0;
  Memo memo_;
  int proto_ = 0;
  uint64_t buffers_used_ = 0;
  std::unordered_map<NodeId, GlobalInfo> globals_;
  std::unordered_map<NodeId, std::string> pending_ba_;
  uint64_t pending_ba_bytes_ = 0;
};

}  // namespace pkl::detail
