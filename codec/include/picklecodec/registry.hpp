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
  // NEWOBJ_EX, copyreg._reconstructor) or cls(*args) (REDUCE, INST, OBJ).
  // `kwargs` is kNoNode when there are none. Required for decoding.
  std::function<std::any(const Graph&, NodeId args, NodeId kwargs)> create;
  // __setstate__(state): when present, BUILD calls it with the state as is.
  std::function<void(std::any& self, const Graph&, NodeId state)> set_state;
  // Without set_state, BUILD sets attributes from a dict state (and from
  // both dicts of a (dict, slots) pair), one call per item, as CPython does.
  std::function<void(std::any& self, const Graph&, std::string_view name, NodeId value)> set_attr;

  // ---- encoding -------------------------------------------------------
  // __getstate__: the state to write (may be falsy; None writes no BUILD).
  // Absent: the attributes from get_attrs form a dict (empty: no state).
  std::function<NodeId(const std::any& self, Graph&)> get_state;
  // The instance's attributes (name, value) in order, as its __dict__.
  std::function<std::vector<std::pair<std::string, NodeId>>(const std::any& self, Graph&)> get_attrs;
  // __getnewargs__: a Tuple node.
  std::function<NodeId(const std::any& self, Graph&)> get_newargs;
  // __getnewargs_ex__: (args Tuple, kwargs Dict).
  std::function<std::pair<NodeId, NodeId>(const std::any& self, Graph&)> get_newargs_ex;
  // __reduce__: a Tuple node of 2 to 5 items (callable, args, state, listitems, dictitems).
  std::function<NodeId(const std::any& self, Graph&)> reduce;
};

class ClassRegistry {
 public:
  // Registers a class; returns its index. Re-registering a name replaces it.
  int add(ClassHooks hooks);
  // The index of (module, qualname), or -1.
  int find(std::string_view module, std::string_view qualname) const;
  const ClassHooks& at(int index) const { return classes_.at(static_cast<size_t>(index)); }
  size_t size() const noexcept { return classes_.size(); }

 private:
  std::vector<ClassHooks> classes_;
  std::unordered_map<std::string, int> index_;  // "module\nqualname" -> index
};

}  // namespace pkl
