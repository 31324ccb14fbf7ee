// Typed decoding and encoding: a registry binds a Python (module, qualname)
// to C++ hooks that mirror Python's (__new__/__init__, __getstate__,
// __setstate__, __getnewargs__, __getnewargs_ex__, __reduce__).
//
// A registered instance lives in the graph as an Object node whose
// `native` holds the C++ value and whose `class_index` names the class.
#pragma once

#include <any>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "picklecodec/value.hpp"

namespace pkl {

struct ClassHooks {
  std::string module;
  std::string qualname;

  // ---- decoding -------------------------------------------------------
  // Makes the C++ value for cls.__new__(cls, *args, **kwargs) (NEWOBJ,
  // NEWOBJ_EX, copyreg._reconstructor, and INST / OBJ without arguments,
  // which CPython makes with cls.__new__(cls), __init__ not called: how
  // Python 2 writes classic instances) or cls(*args) (REDUCE, INST and OBJ
  // with arguments). `kwargs` is kNoNode when there are none. A registered
  // class mirrors a plain Python class (no __new__, __init__ or
  // __getinitargs__ of its own), so both are one hook; an instance made by
  // __new__ records copyreg.__newobj__(cls, *args) as its callable and
  // arguments, as NEWOBJ does. Required for decoding.
  std::function<std::any(const Graph&, NodeId args, NodeId kwargs)> create;
  // __setstate__(state): when present, BUILD calls it with the state as is.
  std::function<void(std::any& self, const Graph&, NodeId state)> set_state;
  // Without set_state, BUILD sets attributes from a dict state (and from
  // both dicts of a (dict, slots) pair), one call per item, as CPython does.
  std::function<void(std::any& self, const Graph&, std::string_view name, NodeId value)> set_attr;

  // ---- encoding -------------------------------------------------------
  // The encoder writes an instance as CPython writes an instance of a plain
  // Python class with these hooks (object.__reduce_ex__(protocol)):
  //  - with `reduce`: save_reduce of what it returns;
  //  - protocols 0-1: copyreg._reconstructor(cls, object, None), then BUILD
  //    of the state only if the state is true (a falsy state writes no
  //    BUILD); get_newargs / get_newargs_ex are not used (copyreg._reduce_ex);
  //  - protocols 2+: NEWOBJ of cls with get_newargs (or get_newargs_ex with
  //    empty kwargs), NEWOBJ_EX with non-empty kwargs (below protocol 4:
  //    functools.partial(cls.__new__, cls, *args, **kwargs)), then BUILD
  //    unless the state is None.
  // The state is get_state's result, else the dict of get_attrs (None when
  // empty or absent, as object.__getstate__ returns for an empty __dict__).
  // Hooks are called once per instance per pickle, in CPython's order
  // (get_newargs_ex / get_newargs, then get_state / get_attrs); they may add
  // nodes to the graph (a new state object, a tuple of arguments).
  //
  // __getstate__: the state to write (may be falsy; None or kNoNode: none).
  std::function<NodeId(const std::any& self, Graph&)> get_state;
  // The instance's attributes (name, value) in order, as its __dict__ (the
  // names are written as the interned strs CPython's attribute names are).
  std::function<std::vector<std::pair<std::string, NodeId>>(const std::any& self, Graph&)> get_attrs;
  // __getnewargs__: a Tuple node.
  std::function<NodeId(const std::any& self, Graph&)> get_newargs;
  // __getnewargs_ex__: (args Tuple, kwargs Dict).
  std::function<std::pair<NodeId, NodeId>(const std::any& self, Graph&)> get_newargs_ex;
  // The Python class defines its own __new__. Below protocol 4 pickle writes
  // __newobj_ex__ as functools.partial(cls.__new__, ...), which then names
  // cls.__new__ instead of object.__new__.
  bool defines_new = false;
  // __reduce__: a Tuple node of 2 to 5 items (callable, args, state,
  // listitems, dictitems); listitems a List (or None), dictitems a Dict or a
  // List of 2-tuples (or None).
  std::function<NodeId(const std::any& self, Graph&)> reduce;
};

class ClassRegistry {
 public:
  // Registers a class; returns its index. Re-registering a name replaces it.
  int add(ClassHooks hooks);
  // The index of (module, qualname), or -1.
  int find(std::string_view module, std::string_view qualname) const;
  // The hooks of class `index`; a pkl::Error (Usage) if there is none.
  const ClassHooks& at(int index) const;
  size_t size() const noexcept { return classes_.size(); }

  // A new instance of class `index` in `g`, holding `native`: an Object node
  // as decoding makes them (callable: the class's global; args: ()), for
  // graphs built in C++ to encode.
  NodeId instance(Graph& g, int index, std::any native) const {
    const ClassHooks& h = at(index);
    const NodeId n = g.object(g.global(h.module, h.qualname), g.tuple({}));
    ObjectData& od = g.object_data(n);
    od.native = std::move(native);
    od.class_index = index;
    return n;
  }

 private:
  std::vector<ClassHooks> classes_;
  std::unordered_map<std::string, int> index_;  // registry_key(module, qualname) -> index
};

// The C++ value of a registered instance: a pointer to its T, or nullptr
// when n is not an Object holding a T.
template <class T>
T* native_cast(Graph& g, NodeId n) {
  if (n == kNoNode || n >= g.size() || g.kind(n) != Kind::Object) return nullptr;
  return std::any_cast<T>(&g.object_data(n).native);
}
template <class T>
const T* native_cast(const Graph& g, NodeId n) {
  if (n == kNoNode || n >= g.size() || g.kind(n) != Kind::Object) return nullptr;
  return std::any_cast<T>(&g.object_data(n).native);
}

}  // namespace pkl
