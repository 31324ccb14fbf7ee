// The non-template parts of class bindings (binding.hpp): recognizing how
// CPython's reductions of a plain class instance decode.
#include "picklecodec/binding.hpp"

namespace pkl::detail {

NodeId instance_class(const Graph& g, NodeId obj, std::span<const NodeId>* newargs) {
  const ObjectData& od = g.object_data(obj);
  if (od.callable == kNoNode || g.kind(od.callable) != Kind::Global) return kNoNode;
  const GlobalData& c = g.global_data(od.callable);
  const auto args = od.args == kNoNode || g.kind(od.args) != Kind::Tuple ? std::span<const NodeId>() : g.items(od.args);
  if (c.module == "copyreg" && c.qualname == "__newobj__") {  // NEWOBJ: cls.__new__(cls, *args)
    if (args.empty() || g.kind(args[0]) != Kind::Global) return kNoNode;
    *newargs = args.subspan(1);
    return args[0];
  }
  if (c.module == "copyreg" && c.qualname == "_reconstructor") {  // (cls, object, None) below protocol 2
    if (args.size() != 3 || g.kind(args[0]) != Kind::Global) return kNoNode;
    *newargs = {};
    return args[0];
  }
  if (c.module == "copyreg" && c.qualname == "__newobj_ex__") return kNoNode;
  *newargs = args;  // cls(*args): REDUCE, INST, OBJ
  return od.callable;
}

void share_newargs(const Graph& g, BoundParts& parts) {
  const auto items = g.items(parts.newargs);
  for (auto& [name, node] : parts.attrs) {
    const Kind k = g.kind(node);
    if (k != Kind::Str && k != Kind::Bytes) continue;
    for (NodeId a : items) {
      if (g.kind(a) != k) continue;
      if (k == Kind::Str ? g.as_str(a) == g.as_str(node) : g.as_bytes(a) == g.as_bytes(node)) {
        node = a;
        break;
      }
    }
  }
}

std::vector<NodeId> state_dicts(const Graph& g, NodeId state) {
  if (g.kind(state) == Kind::Dict) return {state};
  std::vector<NodeId> out;
  if (g.kind(state) == Kind::Tuple && g.length(state) == 2) {
    for (NodeId d : g.items(state)) {
      if (g.kind(d) == Kind::Dict) {
        out.push_back(d);
      } else if (g.kind(d) != Kind::None) {
        return {};
      }
    }
  }
  return out;
}

NodeId dict_str_get(const Graph& g, NodeId dict, std::string_view key) {
  for (const auto& [k, v] : g.dict_items(dict))
    if (g.kind(k) == Kind::Str && g.as_str(k) == key) return v;
  return kNoNode;
}

}  // namespace pkl::detail
