// Helpers of the encoder tests: hex, FNV-1a, and the loader of
// tests/fixtures/encode_cases.txt (see tests/fixtures/gen_encode_fixtures.py
// for its format), which rebuilds each case's graph with the Graph API.
#pragma once

#include <any>
#include <bit>
#include <optional>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "picklecodec/encode.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"
#include "base/hex.hpp"

namespace enctest {

inline std::string hex(std::string_view s) { return pkl::hex_string(s); }

inline std::string unhex(std::string_view h) {
  if (h == ".") return {};
  if (!h.empty() && h[0] == 'R') {  // R<count>:<hex unit>
    const size_t colon = h.find(':');
    const size_t count = std::stoull(std::string(h.substr(1, colon - 1)));
    const std::string unit = unhex(h.substr(colon + 1));
    std::string out;
    out.reserve(unit.size() * count);
    for (size_t i = 0; i < count; ++i) out += unit;
    return out;
  }
  auto nib = [](char c) -> int { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(nib(h[i]) * 16 + nib(h[i + 1]));
  return out;
}

inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The hook data of a registered test instance (the fixture's 'r' nodes).
struct TestInst {
  pkl::NodeId state = pkl::kNoNode;
  pkl::NodeId nargs = pkl::kNoNode;
  pkl::NodeId nex_args = pkl::kNoNode;
  pkl::NodeId nex_kwargs = pkl::kNoNode;
  pkl::NodeId reduce = pkl::kNoNode;
  std::vector<std::pair<std::string, pkl::NodeId>> attrs;
};

struct Expect {
  bool ok = false;
  size_t length = 0;
  uint64_t fnv = 0;
  std::string bytes;  // when the fixture has them in full
  bool have_bytes = false;
  std::string error;
};

struct FixtureCase {
  std::string name;
  std::vector<std::string> lines;
  Expect expect[6];
};

inline std::vector<FixtureCase> load_fixture_cases(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<FixtureCase> cases;
  std::string line;
  FixtureCase* cur = nullptr;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "case") {
      cases.emplace_back();
      cur = &cases.back();
      ls >> cur->name;
    } else if (tag == "expect") {
      int p;
      std::string what;
      ls >> p >> what;
      Expect& e = cur->expect[p];
      if (what == "ok") {
        std::string fnv, full;
        ls >> e.length >> fnv >> full;
        e.ok = true;
        e.fnv = std::stoull(fnv, nullptr, 16);
        if (full != "*") {
          e.bytes = unhex(full);
          e.have_bytes = true;
        }
      } else {
        std::string msg;
        ls >> msg;
        e.error = unhex(msg);
      }
    } else if (tag == "end") {
      cur = nullptr;
    } else if (cur) {
      cur->lines.push_back(line);
    }
  }
  return cases;
}

// A case's graph, root, registry and encoder hooks.
struct BuiltCase {
  pkl::Graph graph;
  pkl::NodeId root = pkl::kNoNode;
  std::unique_ptr<pkl::ClassRegistry> registry = std::make_unique<pkl::ClassRegistry>();
  std::map<pkl::NodeId, pkl::NodeId> persid;
  std::set<pkl::NodeId> oob;
  std::map<std::pair<std::string, std::string>, int32_t> ext;

  pkl::EncodeOptions options(int protocol) const {
    pkl::EncodeOptions o;
    o.protocol = protocol;
    o.registry = registry.get();
    if (!persid.empty()) {
      auto map = persid;
      o.persistent_id = [map](pkl::Graph&, pkl::NodeId n) {
        auto it = map.find(n);
        return it == map.end() ? pkl::kNoNode : it->second;
      };
    }
    if (!oob.empty() && protocol >= 5) {
      auto set = oob;
      o.buffer_callback = [set](const pkl::Graph&, pkl::NodeId b) { return set.count(b) == 0; };
    }
    if (!ext.empty()) {
      auto map = ext;
      o.extension = [map](std::string_view m, std::string_view q) -> std::optional<int32_t> {
        auto it = map.find({std::string(m), std::string(q)});
        if (it == map.end()) return std::nullopt;
        return it->second;
      };
    }
    return o;
  }
};

inline pkl::ClassHooks test_class_hooks(const std::string& module, const std::string& qualname,
                                        const std::string& flags) {
  pkl::ClassHooks h;
  h.module = module;
  h.qualname = qualname;
  auto inst = [](const std::any& self) -> const TestInst& { return *std::any_cast<TestInst>(&self); };
  h.create = [](const pkl::Graph&, pkl::NodeId, pkl::NodeId) { return std::any(TestInst{}); };
  if (flags.find('g') != std::string::npos)
    h.get_state = [inst](const std::any& self, pkl::Graph& g) {
      const auto s = inst(self).state;
      return s == pkl::kNoNode ? g.none() : s;
    };
  if (flags.find('a') != std::string::npos)
    h.get_attrs = [inst](const std::any& self, pkl::Graph&) { return inst(self).attrs; };
  if (flags.find('n') != std::string::npos)
    h.get_newargs = [inst](const std::any& self, pkl::Graph&) { return inst(self).nargs; };
  if (flags.find('x') != std::string::npos)
    h.get_newargs_ex = [inst](const std::any& self, pkl::Graph&) {
      return std::make_pair(inst(self).nex_args, inst(self).nex_kwargs);
    };
  if (flags.find('r') != std::string::npos)
    h.reduce = [inst](const std::any& self, pkl::Graph&) { return inst(self).reduce; };
  return h;
}

inline std::unique_ptr<BuiltCase> build_case(const FixtureCase& c) {
  auto b = std::make_unique<BuiltCase>();
  pkl::Graph& g = b->graph;
  std::vector<pkl::NodeId> ids;
  auto id = [&](const std::string& t) -> pkl::NodeId {
    return t == "-" ? pkl::kNoNode : ids.at(static_cast<size_t>(std::stoul(t)));
  };
  auto rest = [&](std::istringstream& ls) {
    std::vector<pkl::NodeId> v;
    std::string t;
    while (ls >> t) v.push_back(id(t));
    return v;
  };
  std::vector<int> class_index;
  for (const std::string& line : c.lines) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "class") {
      int ci;
      std::string m, q, flags;
      ls >> ci >> m >> q >> flags;
      class_index.push_back(b->registry->add(test_class_hooks(unhex(m), unhex(q), flags)));
    } else if (tag == "n") {
      std::string k;
      ls >> k;
      pkl::NodeId n;
      if (k == "N") {
        n = g.none();
      } else if (k == "T" || k == "F") {
        n = g.boolean(k == "T");
      } else if (k == "i") {
        std::string d;
        ls >> d;
        n = g.integer_decimal(d);
      } else if (k == "f") {
        std::string h;
        ls >> h;
        n = g.floating(std::bit_cast<double>(static_cast<uint64_t>(std::stoull(h, nullptr, 16))));
      } else if (k == "s" || k == "b" || k == "B") {
        std::string h;
        ls >> h;
        const std::string data = unhex(h);
        n = k == "s" ? g.str(data) : k == "b" ? g.bytes(data) : g.bytearray(data);
      } else if (k == "t") {
        const auto items = rest(ls);
        n = g.tuple(items);
      } else if (k == "z") {
        const auto items = rest(ls);
        n = g.frozenset(items);
      } else if (k == "l") {
        n = g.list();
      } else if (k == "d") {
        n = g.dict();
      } else if (k == "S") {
        n = g.set();
      } else if (k == "g") {
        std::string m, q;
        ls >> m >> q;
        n = g.global(unhex(m), unhex(q));
      } else if (k == "o") {
        std::string c1, a1;
        ls >> c1 >> a1;
        n = g.object(id(c1), id(a1));
      } else if (k == "p") {
        std::string p;
        ls >> p;
        n = g.persid(id(p));
      } else if (k == "u") {
        uint64_t index;
        int ro;
        std::string h;
        ls >> index >> ro >> h;
        n = g.buffer(index, ro != 0, unhex(h));
      } else if (k == "r") {
        int ci;
        ls >> ci;
        const auto& hooks = b->registry->at(class_index.at(static_cast<size_t>(ci)));
        n = g.object(g.global(hooks.module, hooks.qualname), g.tuple({}));
        auto& od = g.object_data(n);
        od.class_index = class_index.at(static_cast<size_t>(ci));
        od.native = TestInst{};
      } else {
        throw std::runtime_error("bad node kind " + k);
      }
      ids.push_back(n);
    } else if (tag == "L") {
      std::string l;
      ls >> l;
      for (pkl::NodeId x : rest(ls)) g.list_append(id(l), x);
    } else if (tag == "D") {
      std::string d;
      ls >> d;
      const auto kv = rest(ls);
      for (size_t i = 0; i + 1 < kv.size(); i += 2) g.dict_set(id(d), kv[i], kv[i + 1]);
    } else if (tag == "A") {
      std::string s;
      ls >> s;
      for (pkl::NodeId x : rest(ls)) g.set_add(id(s), x);
    } else if (tag == "OS" || tag == "OL" || tag == "OD") {
      std::string o;
      ls >> o;
      auto& od = g.object_data(id(o));
      const auto v = rest(ls);
      if (tag == "OS") od.state = v.at(0);
      if (tag == "OL") od.listitems = v;
      if (tag == "OD")
        for (size_t i = 0; i + 1 < v.size(); i += 2) od.dictitems.emplace_back(v[i], v[i + 1]);
    } else if (tag == "RS" || tag == "RN" || tag == "RX" || tag == "RR" || tag == "RA") {
      std::string o;
      ls >> o;
      auto* inst = std::any_cast<TestInst>(&g.object_data(id(o)).native);
      if (tag == "RA") {
        std::string name, v;
        ls >> name >> v;
        inst->attrs.emplace_back(unhex(name), id(v));
      } else {
        const auto v = rest(ls);
        if (tag == "RS") inst->state = v.at(0);
        if (tag == "RN") inst->nargs = v.at(0);
        if (tag == "RX") {
          inst->nex_args = v.at(0);
          inst->nex_kwargs = v.at(1);
        }
        if (tag == "RR") inst->reduce = v.at(0);
      }
    } else if (tag == "persid") {
      std::string n, p;
      ls >> n >> p;
      b->persid[id(n)] = id(p);
    } else if (tag == "oob") {
      std::string n;
      ls >> n;
      b->oob.insert(id(n));
    } else if (tag == "ext") {
      std::string m, q;
      int32_t code;
      ls >> m >> q >> code;
      b->ext[{unhex(m), unhex(q)}] = code;
    } else if (tag == "root") {
      std::string r;
      ls >> r;
      b->root = id(r);
    } else {
      throw std::runtime_error("bad fixture line: " + line);
    }
  }
  g.set_root(b->root);
  return b;
}

// Python's repr of bytes-like output, for readable failures.
inline std::string show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* d = "0123456789abcdef";
      out += "\\x";
      out += d[c >> 4];
      out += d[c & 15];
    }
  }
  return out;
}

}  // namespace enctest
