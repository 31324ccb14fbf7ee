// The typed layer's non-template parts: error paths and names, big unsigned
// ints, the Value view, and copying a subgraph between graphs.
#include <bit>
#include <unordered_map>
#include <vector>

#include "picklecodec/repr.hpp"
#include "picklecodec/typed.hpp"
#include "value/access.hpp"

namespace pkl {

namespace detail {

std::string join_path(const std::vector<std::string>& innermost_first) {
  std::string out;
  for (auto it = innermost_first.rbegin(); it != innermost_first.rend(); ++it) out += *it;
  return out;
}

std::string key_segment(const Graph& g, NodeId key) {
  switch (g.kind(key)) {
    case Kind::Str:
      return "[" + repr_str(g.as_str(key)) + "]";
    case Kind::Int:
      return "[" + g.int_decimal(key) + "]";
    case Kind::Float:
      return "[" + repr_float(g.as_float(key)) + "]";
    case Kind::Bool:
      return g.as_bool(key) ? "[True]" : "[False]";
    case Kind::None:
      return "[None]";
    case Kind::Bytes:
      return "[" + repr_bytes(g.as_bytes(key)) + "]";
    default:
      return "[<" + python_type_name(g, key) + ">]";
  }
}

namespace {
std::string last_component(std::string_view qualname) {
  const size_t dot = qualname.rfind('.');
  return std::string(dot == std::string_view::npos ? qualname : qualname.substr(dot + 1));
}
}  // namespace

std::string python_type_name(const Graph& g, NodeId n) {
  switch (g.kind(n)) {
    case Kind::Global:
      return "type";
    case Kind::Buffer:
      return "PickleBuffer";
    case Kind::PersId:
      return "persistent id";
    case Kind::Object: {
      const ObjectData& od = g.object_data(n);
      if (od.callable != kNoNode && g.kind(od.callable) == Kind::Global) {
        const GlobalData& c = g.global_data(od.callable);
        if (c.module == "copyreg" && (c.qualname == "__newobj__" || c.qualname == "__newobj_ex__" ||
                                      c.qualname == "_reconstructor") &&
            od.args != kNoNode && g.length(od.args) > 0) {
          const NodeId cls = g.items(od.args)[0];
          if (g.kind(cls) == Kind::Global) return last_component(g.global_data(cls).qualname);
        }
        return last_component(c.qualname);
      }
      return "object";
    }
    default:
      return kind_name(g.kind(n));
  }
}

void throw_typed(TypedError& e) {
  if (e.path.empty()) throw Error(e.code, e.message);
  throw Error(e.code, join_path(e.path) + ": " + e.message);
}

std::string int_range_message(const Graph& g, NodeId n, bool is_signed, int bits) {
  return "int " + g.int_decimal(n) + " out of range for a " + std::to_string(bits) + "-bit " +
         (is_signed ? "signed" : "unsigned") + " integer";
}

std::optional<uint64_t> as_uint64(const Graph& g, NodeId n) {
  const std::string le = g.int_le(n);  // minimal two's complement: 2^63..2^64-1 take 9 bytes, the last 0
  if (le.size() > 9 || le.empty() || static_cast<uint8_t>(le.back()) & 0x80) return std::nullopt;
  if (le.size() == 9 && le[8] != 0) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < le.size() && i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(le[i])} << (8 * i);
  return v;
}

NodeId uint64_node(Graph& g, uint64_t v) {
  uint8_t le[9];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  le[8] = 0;
  return g.integer_le(std::span<const uint8_t>(le, 9));
}

size_t float_run(const Graph& g, std::span<const NodeId> items, double* out) noexcept {
  const size_t nodes = GraphAccess::size(g);
  size_t i = 0;
  for (; i < items.size(); ++i) {
    const NodeId n = items[i];
    if (n >= nodes || GraphAccess::kind(g, n) != Kind::Float) break;
    out[i] = std::bit_cast<double>(GraphAccess::bits(g, n));
  }
  return i;
}

std::string join_alternatives(const std::vector<std::string>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i) out += "; ";
    out += messages[i];
  }
  return out;
}

}  // namespace detail

// ---- Value -------------------------------------------------------------------

void Value::fail(ErrorCode code, const std::string& message) const {
  throw Error(code, path_.empty() ? message : path_ + ": " + message);
}

namespace {

std::string expected_text(const char* what, const std::string& got) { return std::string("expected ") + what + ", got " + got; }

}  // namespace

Value Value::item(size_t i) const {
  const Kind k = kind();
  if (k != Kind::List && k != Kind::Tuple) fail(ErrorCode::TypeError, expected_text("list", type_name()));
  const auto items = g_->items(n_);
  if (i >= items.size())
    fail(ErrorCode::ValueError, (i == SIZE_MAX ? std::string("a negative index") : "index " + std::to_string(i)) +
                                    " out of range (" + std::to_string(items.size()) + " items)");
  return Value(*g_, items[i], path_ + "[" + std::to_string(i) + "]");
}

Value Value::operator[](std::string_view key) const {
  if (kind() != Kind::Dict) fail(ErrorCode::TypeError, expected_text("dict", type_name()));
  for (const auto& [k, v] : g_->dict_items(n_))
    if (g_->kind(k) == Kind::Str && g_->as_str(k) == key) return Value(*g_, v, path_ + "[" + repr_str(key) + "]");
  fail(ErrorCode::LookupError, "no key " + repr_str(key));
}

bool Value::contains(std::string_view key) const {
  if (kind() != Kind::Dict) return false;
  for (const auto& [k, v] : g_->dict_items(n_))
    if (g_->kind(k) == Kind::Str && g_->as_str(k) == key) return true;
  return false;
}

std::vector<std::pair<Value, Value>> Value::items() const {
  if (kind() != Kind::Dict) fail(ErrorCode::TypeError, expected_text("dict", type_name()));
  std::vector<std::pair<Value, Value>> out;
  for (const auto& [k, v] : g_->dict_items(n_))
    out.emplace_back(Value(*g_, k, path_ + "<key>"), Value(*g_, v, path_ + detail::key_segment(*g_, k)));
  return out;
}

std::vector<Value> Value::elements() const {
  const Kind k = kind();
  if (k != Kind::List && k != Kind::Tuple && k != Kind::Set && k != Kind::FrozenSet)
    fail(ErrorCode::TypeError, expected_text("list", type_name()));
  std::vector<Value> out;
  const auto items = g_->items(n_);
  for (size_t i = 0; i < items.size(); ++i) out.push_back(Value(*g_, items[i], path_ + "[" + std::to_string(i) + "]"));
  return out;
}

// ---- copy_subgraph -------------------------------------------------------------

// Nodes are made in a depth-first walk: mutable containers, tuples and objects
// when first met (empty, so a cycle back to them finds them), filled when
// their children are done; a frozenset, whose members must exist (and be
// hashable) when it is made, when its children are done. A frozenset reached
// again through its own members is a cycle Python cannot build either.
NodeId copy_subgraph(Graph& dst, const Graph& src, NodeId root) {
  std::unordered_map<NodeId, NodeId> map;
  struct Frame {
    NodeId n;
    size_t next;  // index of the next child to visit
  };
  std::vector<NodeId> kids;
  auto children = [&](NodeId n, std::vector<NodeId>& out) {
    out.clear();
    switch (src.kind(n)) {
      case Kind::Tuple:
      case Kind::List:
      case Kind::Set:
      case Kind::FrozenSet:
        for (NodeId c : src.items(n)) out.push_back(c);
        break;
      case Kind::Dict:
        for (const auto& [k, v] : src.dict_items(n)) {
          out.push_back(k);
          out.push_back(v);
        }
        break;
      case Kind::Object: {
        const ObjectData& od = src.object_data(n);
        if (od.callable != kNoNode) out.push_back(od.callable);
        if (od.args != kNoNode) out.push_back(od.args);
        if (od.state != kNoNode) out.push_back(od.state);
        if (od.state_setter != kNoNode) out.push_back(od.state_setter);
        for (NodeId c : od.listitems) out.push_back(c);
        for (const auto& [k, v] : od.dictitems) {
          out.push_back(k);
          out.push_back(v);
        }
        break;
      }
      case Kind::PersId:
        out.push_back(src.persid_value(n));
        break;
      default:
        break;
    }
  };
  auto make_leaf_or_shell = [&](NodeId n) -> NodeId {
    switch (src.kind(n)) {
      case Kind::None: return dst.none();
      case Kind::Bool: return dst.boolean(src.as_bool(n));
      case Kind::Int: {
        if (src.int_fits64(n)) return dst.integer(src.as_int(n));
        const std::string le = src.int_le(n);
        return dst.integer_le(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(le.data()), le.size()));
      }
      case Kind::Float: return dst.floating(src.as_float(n));
      case Kind::Str: return dst.str(src.as_str(n));
      case Kind::Bytes: return src.as_bytes(n).empty() ? dst.bytes({}) : dst.bytes_unshared(src.as_bytes(n));
      case Kind::ByteArray: return dst.bytearray(src.as_bytes(n));
      case Kind::Tuple: return dst.tuple({});
      case Kind::List: return dst.list();
      case Kind::Dict: return dst.dict();
      case Kind::Set: return dst.set();
      case Kind::FrozenSet: return kNoNode;  // made when its members are
      case Kind::Global: {
        const GlobalData& gd = src.global_data(n);
        return dst.global(gd.module, gd.qualname);
      }
      case Kind::Object: return dst.object(dst.none(), dst.tuple({}));
      case Kind::PersId: return kNoNode;  // made when its pid is
      case Kind::Buffer: {
        const BufferData& b = src.buffer_data(n);
        return dst.buffer(b.index, b.readonly, b.data);
      }
    }
    return kNoNode;
  };
  auto fill = [&](NodeId n) {
    auto m = [&](NodeId c) { return map.at(c); };
    NodeId& out = map[n];
    std::vector<NodeId> items;
    switch (src.kind(n)) {
      case Kind::Tuple:
        for (NodeId c : src.items(n)) items.push_back(m(c));
        dst.tuple_assign(out, items);
        break;
      case Kind::List:
        for (NodeId c : src.items(n)) items.push_back(m(c));
        dst.list_extend(out, items);
        break;
      case Kind::Set:
        for (NodeId c : src.items(n)) dst.set_add(out, m(c));
        break;
      case Kind::FrozenSet:
        for (NodeId c : src.items(n)) {
          if (m(c) == kNoNode) throw Error(ErrorCode::Usage, "a frozenset that contains itself");
          items.push_back(m(c));
        }
        out = dst.frozenset(items);
        break;
      case Kind::Dict:
        for (const auto& [k, v] : src.dict_items(n)) dst.dict_set(out, m(k), m(v));
        break;
      case Kind::Object: {
        const ObjectData& so = src.object_data(n);
        ObjectData& od = dst.object_data(out);
        od.callable = so.callable == kNoNode ? kNoNode : m(so.callable);
        od.args = so.args == kNoNode ? kNoNode : m(so.args);
        od.state = so.state == kNoNode ? kNoNode : m(so.state);
        od.state_setter = so.state_setter == kNoNode ? kNoNode : m(so.state_setter);
        od.is_class = so.is_class;
        for (NodeId c : so.listitems) od.listitems.push_back(m(c));
        for (const auto& [k, v] : so.dictitems) od.dictitems.emplace_back(m(k), m(v));
        break;
      }
      case Kind::PersId:
        out = dst.persid(m(src.persid_value(n)));
        break;
      default:
        break;
    }
  };

  std::vector<Frame> stack;
  std::vector<std::vector<NodeId>> child_lists;  // parallel to stack
  map.emplace(root, make_leaf_or_shell(root));
  stack.push_back({root, 0});
  child_lists.emplace_back();
  children(root, child_lists.back());
  while (!stack.empty()) {
    Frame& f = stack.back();
    auto& cs = child_lists.back();
    if (f.next < cs.size()) {
      const NodeId c = cs[f.next++];
      if (map.count(c)) continue;
      map.emplace(c, make_leaf_or_shell(c));
      stack.push_back({c, 0});
      child_lists.emplace_back();
      children(c, child_lists.back());
      continue;
    }
    fill(f.n);
    stack.pop_back();
    child_lists.pop_back();
  }
  return map.at(root);
}

}  // namespace pkl
