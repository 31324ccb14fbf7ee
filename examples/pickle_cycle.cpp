// pickle_cycle: a directed graph with cycles survives pickling; each node is
// rebuilt once. Node is a registered C++ class whose value holds its name
// and the NodeId of its `connections` list (ids into the graph, never owning
// pointers, so cycles cost nothing to free). Ids print as node indices.
//
// `pickle_cycle --write FILE` also saves the pickle; `--read FILE` reloads
// FILE instead of the pickle it made (to cross-check with Python).
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <set>

#include <picklecodec/picklecodec.hpp>
#include "seed_classes.hpp"

namespace {

// class Node:
//     def __init__(self, name): self.name = name; self.connections = []
//     def add_edge(self, node): self.connections.append(node)
//     def __iter__(self): return iter(self.connections)
struct Node {
  std::string name;
  pkl::NodeId connections = pkl::kNoNode;  // a list of Node objects
};

int register_node(pkl::ClassRegistry& registry) {
  pkl::ClassHooks h;
  h.module = "__main__";
  h.qualname = "Node";
  h.create = [](const pkl::Graph&, pkl::NodeId, pkl::NodeId) { return std::any(Node{}); };
  h.set_attr = [](std::any& self, const pkl::Graph& g, std::string_view name, pkl::NodeId v) {
    Node& n = *std::any_cast<Node>(&self);
    if (name == "name" && g.kind(v) == pkl::Kind::Str) n.name = g.as_str(v);
    if (name == "connections") n.connections = v;
  };
  h.get_attrs = [](const std::any& self, pkl::Graph& g) {
    const Node& n = *std::any_cast<Node>(&self);
    return std::vector<std::pair<std::string, pkl::NodeId>>{{"name", g.str(n.name)},
                                                            {"connections", n.connections}};
  };
  return registry.add(std::move(h));
}

pkl::NodeId new_node(pkl::Graph& g, const pkl::ClassRegistry& reg, int cls, std::string name) {
  return reg.instance(g, cls, Node{std::move(name), g.list()});
}

void add_edge(pkl::Graph& g, pkl::NodeId from, pkl::NodeId to) {
  g.list_append(pkl::native_cast<Node>(g, from)->connections, to);
}

const std::string& name_of(const pkl::Graph& g, pkl::NodeId n) { return pkl::native_cast<Node>(g, n)->name; }

// def preorder_traversal(root, seen=None, parent=None): yields the edges.
void preorder_traversal(const pkl::Graph& g, pkl::NodeId root, std::set<pkl::NodeId>& seen, pkl::NodeId parent,
                        const std::function<void(pkl::NodeId, pkl::NodeId)>& yield) {
  yield(parent, root);
  if (seen.count(root)) return;
  seen.insert(root);
  const pkl::NodeId conns = pkl::native_cast<Node>(g, root)->connections;
  const size_t n = g.length(conns);
  for (size_t i = 0; i < n; ++i) preorder_traversal(g, g.items(conns)[i], seen, root, yield);
}

// def show_edges(root): print all the edges in the graph.
void show_edges(const pkl::Graph& g, pkl::NodeId root) {
  std::set<pkl::NodeId> seen;
  preorder_traversal(g, root, seen, pkl::kNoNode, [&](pkl::NodeId parent, pkl::NodeId child) {
    if (parent == pkl::kNoNode) return;
    std::cout << std::setw(5) << name_of(g, parent) << " -> " << std::setw(2) << name_of(g, child) << " ("
              << child << ")\n";
  });
}

}  // namespace

int main(int argc, char** argv) {
  const char* write_to = nullptr;
  const char* read_from = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--write") == 0) write_to = argv[i + 1];
    if (std::strcmp(argv[i], "--read") == 0) read_from = argv[i + 1];
  }
  try {
    pkl::ClassRegistry registry;
    const int cls = register_node(registry);
    pkl::Graph g;

    // Set up the nodes.
    const pkl::NodeId root = new_node(g, registry, cls, "root");
    const pkl::NodeId a = new_node(g, registry, cls, "a");
    const pkl::NodeId b = new_node(g, registry, cls, "b");
    const pkl::NodeId c = new_node(g, registry, cls, "c");

    // Add edges between them.
    add_edge(g, root, a);
    add_edge(g, root, b);
    add_edge(g, a, b);
    add_edge(g, b, a);
    add_edge(g, b, c);
    add_edge(g, a, a);

    std::cout << "ORIGINAL GRAPH:\n";
    show_edges(g, root);

    // Pickle and unpickle the graph to create a new set of nodes.
    pkl::EncodeOptions options;
    options.registry = &registry;
    std::string dumped = pkl::encode(g, root, options);
    if (write_to) std::ofstream(write_to, std::ios::binary) << dumped;
    if (read_from) {
      std::ifstream in(read_from, std::ios::binary);
      dumped.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    pkl::DecodeOptions decode_options;
    decode_options.registry = &registry;
    pkl::Graph reloaded = pkl::decode(dumped, decode_options);

    std::cout << "\nRELOADED GRAPH:\n";
    show_edges(reloaded, reloaded.root());
  } catch (const pkl::Error& e) {
    std::cerr << pkl::python_exception_name(e.code()) << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
