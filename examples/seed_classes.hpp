// What the seed's programs share: the SimpleObject class (pickle_stream,
// pickle_dump_to_file_1, pickle_load_from_file_2) as a registered C++ class,
// and small helpers for printing as Python does.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"

namespace seed {

// s[::-1] for a str: code points reversed (s is UTF-8).
inline std::string reversed(std::string_view s) {
  std::vector<std::string_view> cps;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xf0) n = 4;
    else if (c >= 0xe0) n = 3;
    else if (c >= 0xc0) n = 2;
    cps.push_back(s.substr(i, n));
    i += n;
  }
  std::string out;
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
  return out;
}

// class SimpleObject:
//     def __init__(self, name):
//         self.name = name
//         self.name_backwards = name[::-1]
struct SimpleObject {
  std::string name;
  std::string name_backwards;
};

// Registers SimpleObject as the Python class `module.SimpleObject`; its
// instance __dict__ is {'name': ..., 'name_backwards': ...}.
inline int register_simple_object(pkl::ClassRegistry& registry, std::string module = "__main__") {
  pkl::ClassHooks h;
  h.module = std::move(module);
  h.qualname = "SimpleObject";
  h.create = [](const pkl::Graph&, pkl::NodeId, pkl::NodeId) { return std::any(SimpleObject{}); };
  h.set_attr = [](std::any& self, const pkl::Graph& g, std::string_view name, pkl::NodeId value) {
    auto& o = *std::any_cast<SimpleObject>(&self);
    if (g.kind(value) != pkl::Kind::Str) return;
    if (name == "name") o.name = g.as_str(value);
    if (name == "name_backwards") o.name_backwards = g.as_str(value);
  };
  h.get_attrs = [](const std::any& self, pkl::Graph& g) {
    const auto& o = *std::any_cast<SimpleObject>(&self);
    return std::vector<std::pair<std::string, pkl::NodeId>>{{"name", g.str(o.name)},
                                                            {"name_backwards", g.str(o.name_backwards)}};
  };
  return registry.add(std::move(h));
}

inline SimpleObject make_simple_object(std::string name) {
  SimpleObject o;
  o.name_backwards = reversed(name);
  o.name = std::move(name);
  return o;
}

}  // namespace seed
