#include "gdoc.hpp"

#include <bit>
#include <cstdio>
#include <stdexcept>

namespace pklharness {

using pkl::Graph;
using pkl::Kind;
using pkl::kNoNode;
using pkl::NodeId;

std::vector<uint32_t> children(const GNode& g) {
  std::vector<uint32_t> c(g.items.begin(), g.items.end());
  for (auto [k, v] : g.pairs) {
    c.push_back(k);
    c.push_back(v);
  }
  for (int64_t x : {g.callable, g.args, g.state, g.newargs, g.nx_args, g.nx_kwargs})
    if (x >= 0) c.push_back(static_cast<uint32_t>(x));
  return c;
}

namespace {
const ShapeInfo kShapeTable[kShapes] = {
    {"S", true, true, false, false, false, false},
    {"SN", true, true, true, false, false, false},
    {"SX", true, true, false, true, false, false},
    {"G", true, false, false, false, false, true},
    {"A", false, false, false, false, false, false},
    {"R", false, false, false, false, true, false},
};

const char* kind_tag(GK k) {
  switch (k) {
    case GK::None: return "none";
    case GK::Bool: return "bool";
    case GK::Int: return "int";
    case GK::Float: return "float";
    case GK::Str: return "str";
    case GK::Bytes: return "bytes";
    case GK::ByteArray: return "bytearray";
    case GK::Tuple: return "tuple";
    case GK::List: return "list";
    case GK::Dict: return "dict";
    case GK::Set: return "set";
    case GK::FrozenSet: return "frozenset";
    case GK::Global: return "global";
    case GK::Object: return "object";
    case GK::Instance: return "instance";
  }
  return "?";
}

void put_idx_list(std::string& o, const std::vector<uint32_t>& v) {
  o += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) o += ", ";
    o += std::to_string(v[i]);
  }
  o += ']';
}

void put_pairs(std::string& o, const std::vector<std::pair<uint32_t, uint32_t>>& v) {
  o += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) o += ", ";
    o += '[' + std::to_string(v[i].first) + ", " + std::to_string(v[i].second) + ']';
  }
  o += ']';
}

}  // namespace

const ShapeInfo& shape_info(int shape) { return kShapeTable[shape]; }

std::string to_json(const GDoc& d) {
  std::string o;
  o.reserve(64 + d.nodes.size() * 24);
  o += "{\"root\": " + std::to_string(d.root) + ", \"nodes\": [";
  for (size_t i = 0; i < d.nodes.size(); ++i) {
    const GNode& n = d.nodes[i];
    if (i) o += ", ";
    const bool reduce_shape = n.k == GK::Object && n.shape == kR;
    o += "{\"t\": \"";
    o += kind_tag(n.k);
    o += '"';
    switch (n.k) {
      case GK::None: break;
      case GK::Bool: o += n.b ? ", \"v\": true" : ", \"v\": false"; break;
      case GK::Int: o += ", \"v\": \"" + n.v + "\""; break;
      case GK::Float: {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(n.bits));
        o += ", \"bits\": \"";
        o += buf;
        o += '"';
        break;
      }
      case GK::Str: o += ", \"v\": "; json_quote(o, n.v); break;
      case GK::Bytes:
      case GK::ByteArray: o += ", \"hex\": \"" + to_hex(n.v) + "\""; break;
      case GK::Tuple:
      case GK::List:
      case GK::Set:
      case GK::FrozenSet: o += ", \"items\": "; put_idx_list(o, n.items); break;
      case GK::Dict: o += ", \"items\": "; put_pairs(o, n.pairs); break;
      case GK::Global:
        o += ", \"module\": ";
        json_quote(o, n.v);
        o += ", \"name\": ";
        json_quote(o, n.name);
        break;
      case GK::Object:
        o += ", \"callable\": " + std::to_string(n.callable) + ", \"args\": " + std::to_string(n.args);
        if (n.state >= 0) o += ", \"state\": " + std::to_string(n.state);
        o += ", \"listitems\": ";
        put_idx_list(o, n.items);
        o += ", \"dictitems\": ";
        put_pairs(o, n.pairs);
        if (reduce_shape) o += ", \"x_registered\": \"R\"";
        break;
      case GK::Instance: {
        const ShapeInfo& s = shape_info(n.shape);
        o += ", \"class\": [\"";
        o += kClassModule;
        o += "\", \"";
        o += s.qualname;
        o += "\"], \"hooks\": {\"getstate\": ";
        o += s.getstate ? "true" : "false";
        o += ", \"setstate\": ";
        o += s.setstate ? "true" : "false";
        o += ", \"slots\": ";
        o += s.slots ? "[\"p\", \"q\", \"__dict__\"]" : "[]";
        o += ", \"getnewargs\": ";
        o += s.getnewargs ? "true" : "false";
        o += ", \"getnewargs_ex\": ";
        o += s.getnewargs_ex ? "true" : "false";
        o += '}';
        if (n.state >= 0) o += ", \"state\": " + std::to_string(n.state);
        if (n.newargs >= 0) o += ", \"newargs\": " + std::to_string(n.newargs);
        if (n.nx_args >= 0)
          o += ", \"newargs_ex\": [" + std::to_string(n.nx_args) + ", " + std::to_string(n.nx_kwargs) + "]";
        break;
      }
    }
    o += '}';
  }
  o += "]}";
  return o;
}

GDoc gdoc_from_json(const JVal& doc) {
  GDoc d;
  d.root = static_cast<uint32_t>(doc.at("root").as_int());
  const JVal& nodes = doc.at("nodes");
  d.nodes.resize(nodes.arr.size());
  auto idx = [&](const JVal& v) -> uint32_t {
    int64_t i = v.as_int();
    if (i < 0 || static_cast<size_t>(i) >= nodes.arr.size()) throw std::runtime_error("graph JSON: bad index");
    return static_cast<uint32_t>(i);
  };
  auto idx_list = [&](const JVal* v, std::vector<uint32_t>& out) {
    if (!v || v->is_null()) return;
    for (const JVal& x : v->arr) out.push_back(idx(x));
  };
  auto pair_list = [&](const JVal* v, std::vector<std::pair<uint32_t, uint32_t>>& out) {
    if (!v || v->is_null()) return;
    for (const JVal& x : v->arr) out.emplace_back(idx(x[0]), idx(x[1]));
  };
  for (size_t i = 0; i < nodes.arr.size(); ++i) {
    const JVal& j = nodes.arr[i];
    GNode& n = d.nodes[i];
    const std::string& t = j.at("t").s;
    if (t == "none") n.k = GK::None;
    else if (t == "bool") { n.k = GK::Bool; n.b = j.at("v").b; }
    else if (t == "int") { n.k = GK::Int; n.v = j.at("v").s; }
    else if (t == "float") { n.k = GK::Float; n.bits = std::stoull(j.at("bits").s, nullptr, 16); }
    else if (t == "str") { n.k = GK::Str; n.v = j.at("v").s; }
    else if (t == "bytes") { n.k = GK::Bytes; n.v = unhex(j.at("hex").s); }
    else if (t == "bytearray") { n.k = GK::ByteArray; n.v = unhex(j.at("hex").s); }
    else if (t == "tuple" || t == "list" || t == "set" || t == "frozenset") {
      n.k = t == "tuple" ? GK::Tuple : t == "list" ? GK::List : t == "set" ? GK::Set : GK::FrozenSet;
      idx_list(j.find("items"), n.items);
    } else if (t == "dict") { n.k = GK::Dict; pair_list(j.find("items"), n.pairs); }
    else if (t == "global") { n.k = GK::Global; n.v = j.at("module").s; n.name = j.at("name").s; }
    else if (t == "object") {
      n.k = GK::Object;
      n.callable = idx(j.at("callable"));
      n.args = idx(j.at("args"));
      if (const JVal* s = j.find("state"); s && !s->is_null()) n.state = idx(*s);
      idx_list(j.find("listitems"), n.items);
      pair_list(j.find("dictitems"), n.pairs);
      if (const JVal* x = j.find("x_registered"); x && x->s == "R") n.shape = kR;
    } else if (t == "instance") {
      n.k = GK::Instance;
      const std::string& q = j.at("class")[1].s;
      for (int s = 0; s < kShapes; ++s)
        if (q == shape_info(s).qualname) n.shape = s;
      if (n.shape < 0 || n.shape == kR) throw std::runtime_error("graph JSON: unknown class " + q);
      if (const JVal* s = j.find("state"); s && !s->is_null()) n.state = idx(*s);
      if (const JVal* s = j.find("newargs"); s && !s->is_null()) n.newargs = idx(*s);
      if (const JVal* s = j.find("newargs_ex"); s && !s->is_null()) {
        n.nx_args = idx((*s)[0]);
        n.nx_kwargs = idx((*s)[1]);
      }
    } else {
      throw std::runtime_error("graph JSON: unsupported node kind " + t);
    }
  }
  return d;
}

// ---- registry --------------------------------------------------------------

namespace {

const Rec& rec(const std::any& self) { return *std::any_cast<Rec>(&self); }
Rec& rec(std::any& self) { return *std::any_cast<Rec>(&self); }

pkl::ClassRegistry make_registry() {
  pkl::ClassRegistry r;
  for (int s = 0; s < kShapes; ++s) {
    const ShapeInfo& si = shape_info(s);
    pkl::ClassHooks h;
    h.module = kClassModule;
    h.qualname = si.qualname;
    // The oracle's builder gives a class that asks for constructor args its
    // own __new__, as a real class accepting them has.
    h.defines_new = si.getnewargs || si.getnewargs_ex;
    h.create = [](const Graph&, NodeId args, NodeId kwargs) {
      Rec x;
      x.decoded = true;
      x.cargs = args;
      x.ckwargs = kwargs;
      return std::any(std::move(x));
    };
    if (si.setstate)
      h.set_state = [](std::any& self, const Graph&, NodeId state) {
        rec(self).calls.push_back(state);
        call_log().push_back(state);
      };
    else if (!si.reduce)
      h.set_attr = [](std::any& self, const Graph&, std::string_view name, NodeId value) {
        rec(self).set_attrs.emplace_back(std::string(name), value);
      };
    if (si.getstate)
      h.get_state = [](const std::any& self, Graph& g) -> NodeId {
        const Rec& x = rec(self);
        if (x.decoded) return x.calls.empty() ? g.none() : x.calls.back();
        return x.state == kNoNode ? g.none() : x.state;
      };
    if (!si.getstate && !si.reduce)
      h.get_attrs = [](const std::any& self, Graph&) {
        const Rec& x = rec(self);
        return x.decoded ? x.set_attrs : x.attrs;
      };
    if (si.getnewargs)
      h.get_newargs = [](const std::any& self, Graph& g) -> NodeId {
        const Rec& x = rec(self);
        NodeId a = x.decoded ? x.cargs : x.newargs;
        return a == kNoNode ? g.tuple({}) : a;
      };
    if (si.getnewargs_ex)
      h.get_newargs_ex = [](const std::any& self, Graph& g) -> std::pair<NodeId, NodeId> {
        const Rec& x = rec(self);
        NodeId a = x.decoded ? x.cargs : x.nx_args;
        NodeId k = x.decoded ? x.ckwargs : x.nx_kwargs;
        return {a == kNoNode ? g.tuple({}) : a, k == kNoNode ? g.dict() : k};
      };
    if (si.reduce)
      h.reduce = [](const std::any& self, Graph& g) -> NodeId {
        const Rec& x = rec(self);
        std::vector<NodeId> pairs;
        for (const auto& [k, v] : x.r_dict) {
          const NodeId kv[2] = {k, v};
          pairs.push_back(g.tuple(kv));
        }
        const NodeId items[5] = {x.r_callable, x.r_args, x.r_state == kNoNode ? g.none() : x.r_state,
                                 g.list(x.r_list), g.list(pairs)};
        return g.tuple(items);
      };
    r.add(std::move(h));
  }
  return r;
}

}  // namespace

std::vector<NodeId>& call_log() {
  static thread_local std::vector<NodeId> log;
  return log;
}

const pkl::ClassRegistry& registry() {
  static const pkl::ClassRegistry r = make_registry();
  return r;
}

// ---- GDoc -> Graph -----------------------------------------------------------

Graph to_graph(const GDoc& d, std::vector<NodeId>* ids_out) {
  Graph g;
  const size_t n = d.nodes.size();
  if (d.root >= n) throw std::runtime_error("GDoc: bad root");
  std::vector<NodeId> id(n, kNoNode);
  const NodeId placeholder_callable = g.global("pklprop", "placeholder");
  const NodeId placeholder_args = g.tuple({});
  // 1. Atoms and shells.
  for (size_t i = 0; i < n; ++i) {
    const GNode& x = d.nodes[i];
    switch (x.k) {
      case GK::None: id[i] = g.none(); break;
      case GK::Bool: id[i] = g.boolean(x.b); break;
      case GK::Int: id[i] = g.integer_decimal(x.v); break;
      case GK::Float: id[i] = g.floating(std::bit_cast<double>(x.bits)); break;
      case GK::Str: id[i] = g.str(x.v); break;
      case GK::Bytes: id[i] = g.bytes(x.v); break;
      case GK::ByteArray: id[i] = g.bytearray(x.v); break;
      case GK::Tuple: id[i] = g.tuple({}); break;
      case GK::List: id[i] = g.list(); break;
      case GK::Dict: id[i] = g.dict(); break;
      case GK::Set: id[i] = g.set(); break;
      case GK::FrozenSet: break;  // built from its members, below
      case GK::Global: id[i] = g.global(x.v, x.name); break;
      case GK::Object:
        if (x.shape == kR) id[i] = registry().instance(g, kR, Rec{});
        else id[i] = g.object(placeholder_callable, placeholder_args);
        break;
      case GK::Instance: id[i] = registry().instance(g, x.shape, Rec{}); break;
    }
  }
  // 2. Tuples and frozensets, children first along tuple/frozenset edges
  //    (what their hashes depend on; acyclic in any buildable graph).
  std::vector<uint8_t> state(n, 0);  // 0 new, 1 open, 2 done
  for (size_t start = 0; start < n; ++start) {
    if (state[start] || (d.nodes[start].k != GK::Tuple && d.nodes[start].k != GK::FrozenSet)) continue;
    std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(start), 0}};
    state[start] = 1;
    while (!stack.empty()) {
      auto& [u, pos] = stack.back();
      const GNode& x = d.nodes[u];
      if (pos < x.items.size()) {
        uint32_t c = x.items[pos++];
        const GK ck = d.nodes[c].k;
        if (ck == GK::Tuple || ck == GK::FrozenSet) {
          if (state[c] == 1) throw std::runtime_error("GDoc: cycle through tuples/frozensets only");
          if (state[c] == 0) {
            state[c] = 1;
            stack.emplace_back(c, 0);
          }
        }
        continue;
      }
      std::vector<NodeId> items;
      items.reserve(x.items.size());
      for (uint32_t c : x.items) {
        if (id[c] == kNoNode) throw std::runtime_error("GDoc: frozenset member not built");
        items.push_back(id[c]);
      }
      if (x.k == GK::Tuple) g.tuple_assign(id[u], items);
      else id[u] = g.frozenset(items);
      state[u] = 2;
      stack.pop_back();
    }
  }
  auto at = [&](int64_t i) -> NodeId {
    if (i < 0) return kNoNode;
    if (static_cast<size_t>(i) >= n || id[i] == kNoNode) throw std::runtime_error("GDoc: bad reference");
    return id[static_cast<size_t>(i)];
  };
  // 3. Fill the shells.
  for (size_t i = 0; i < n; ++i) {
    const GNode& x = d.nodes[i];
    switch (x.k) {
      case GK::List:
        for (uint32_t c : x.items) g.list_append(id[i], at(c));
        break;
      case GK::Dict:
        for (auto [k, v] : x.pairs) g.dict_set(id[i], at(k), at(v));
        break;
      case GK::Set:
        for (uint32_t c : x.items) g.set_add(id[i], at(c));
        break;
      case GK::Object: {
        if (x.shape == kR) {
          Rec& r = *std::any_cast<Rec>(&g.object_data(id[i]).native);
          r.r_callable = at(x.callable);
          r.r_args = at(x.args);
          r.r_state = at(x.state);
          for (uint32_t c : x.items) r.r_list.push_back(at(c));
          for (auto [k, v] : x.pairs) r.r_dict.emplace_back(at(k), at(v));
          break;
        }
        pkl::ObjectData& od = g.object_data(id[i]);
        od.callable = at(x.callable);
        od.args = at(x.args);
        if (g.kind(od.callable) != Kind::Global && g.kind(od.callable) != Kind::Object)
          throw std::runtime_error("GDoc: object callable must be a global or an object");
        if (g.kind(od.args) != Kind::Tuple) throw std::runtime_error("GDoc: object args must be a tuple");
        od.state = at(x.state);
        for (uint32_t c : x.items) od.listitems.push_back(at(c));
        for (auto [k, v] : x.pairs) od.dictitems.emplace_back(at(k), at(v));
        break;
      }
      case GK::Instance: {
        Rec& r = *std::any_cast<Rec>(&g.object_data(id[i]).native);
        r.state = at(x.state);
        r.newargs = at(x.newargs);
        r.nx_args = at(x.nx_args);
        r.nx_kwargs = at(x.nx_kwargs);
        if (x.shape == kA && r.state != kNoNode && g.kind(r.state) == Kind::Dict) {
          for (const pkl::Pair& p : g.dict_items(r.state)) {
            if (g.kind(p.first) != Kind::Str) throw std::runtime_error("GDoc: attribute names must be strs");
            r.attrs.emplace_back(std::string(g.as_str(p.first)), p.second);
          }
        }
        break;
      }
      default:
        break;
    }
  }
  g.set_root(id[d.root]);
  if (ids_out) *ids_out = std::move(id);
  return g;
}

}  // namespace pklharness
