// The decoder's trace mode: what CPython's unpickler would have done, told
// to an observer as the decoder reaches each step. Every global the pickle
// imports, every call it makes and every method it calls on an object that
// is not a builtin container, each with the byte offset of its opcode. A
// security scanner (pkl::scan) is built on it: since the decoder reads every
// pickle as CPython's C unpickler does, the trace is what CPython would run
// (under DecodeOptions::unpickler = Unpickler::Python, what its pure-Python
// unpickler would run: pkl::scan reads each stream both ways).
//
// Events are delivered when the decoder reaches the step, before the step
// itself is checked further: a load that ends in an error has already told
// every call CPython would have made before that error (CPython runs them
// too). Set DecodeOptions::trace to receive them; unset, the decoder pays
// one null-pointer test at each of these opcodes and nothing else.
#pragma once

#include <cstdint>
#include <string_view>

#include "picklecodec/value.hpp"

namespace pkl {

enum class TraceKind : uint8_t {
  // find_class(module, qualname) by GLOBAL, STACK_GLOBAL, INST or EXT1/2/4
  // (opcode says which). raw_module/raw_qualname are the names in the
  // pickle; module/qualname what fix_imports made of them (the same at
  // protocol 3 and above). CPython's audit event pickle.find_class is
  // raised with the raw names.
  Global,
  // builtins.getattr(global, "name") resolved as a nested name: `target` is
  // the global, `name` the attribute, module/qualname the result
  // (qualname is the global's qualname + "." + name). The call of getattr
  // itself is a Call event before it.
  Getattr,
  // A call: REDUCE callable(*args); INST and OBJ cls(*args), or with no
  // arguments cls.__new__(cls) when cls is a class and a call otherwise;
  // NEWOBJ cls.__new__(cls, *args); NEWOBJ_EX cls.__new__(cls, *args,
  // **kwargs). `target` is the callable (a Global, an Object made by an
  // earlier call, or any other node, which CPython refuses), `args` the
  // argument tuple (or what stands there), `kwargs` the NEWOBJ_EX dict.
  Call,
  // BUILD on `target` with `state`: target.__setstate__(state) when the
  // object's class has one, else attributes set on it (a dict, or the
  // (dict, slots) pair).
  Build,
  // APPEND/APPENDS, SETITEM/SETITEMS or ADDITEMS on a `target` that is not
  // a builtin list, dict, set or bytearray: CPython looks up the method
  // (`name`: "append", "extend", "__setitem__" or "add") on it and calls it
  // with `args` (kNoNode; the items are the `count` nodes in `items`).
  Method,
  // A persistent id handed to persistent_load (PERSID, BINPERSID): `args`
  // is the pid.
  PersistentLoad,
};

struct TraceEvent {
  TraceKind kind = TraceKind::Global;
  uint8_t opcode = 0;          // the opcode that did it
  uint64_t offset = 0;          // of that opcode in the source
  std::string_view module{};   // Global, Getattr: the resolved name
  std::string_view qualname{};
  std::string_view raw_module{};  // Global: as the pickle spells it
  std::string_view raw_qualname{};
  std::string_view name{};    // Getattr: the attribute; Method: the method
  int32_t ext_code = 0;      // Global by EXT: the extension code
  NodeId target = kNoNode;   // Call: the callable; Build, Method: the object; Getattr: the base
  NodeId args = kNoNode;     // Call: the argument tuple; Build: the state; PersistentLoad: the pid
  NodeId kwargs = kNoNode;   // Call by NEWOBJ_EX: the keyword dict
  const NodeId* items = nullptr;  // Method: the items passed (valid during the call only)
  size_t count = 0;
};

// Receives events during a decode. The graph is the one being built (nodes
// named in the event are valid in it); strings and `items` are valid only
// during the call. An observer may throw pkl::Error to stop the decode.
class TraceObserver {
 public:
  virtual ~TraceObserver() = default;
  virtual void on_event(const TraceEvent& event, const Graph& graph) = 0;
};

}  // namespace pkl
