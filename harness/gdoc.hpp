// GDoc: a value graph as plain data, one-to-one with graph JSON
// (docs/graph-json.md). The graph generator (graph_gen.hpp) makes a
// description and turns it into a GDoc; from the GDoc the property tests
// build both the pkl::Graph the codec gets and the graph JSON the oracle
// gets, and fuzz_structured the graph it checks. Regression files store the GDoc as
// graph JSON, and the oracle's answers (graph_of) parse back into GDocs.
//
// Registered classes: a fixed family of shapes, module "pcprop", one
// ClassHooks each (registry()), mirroring the Python classes that the
// oracle's builder defines from an `instance` node's hooks. Their C++ value
// is a Rec, which both drives encoding (state, newargs, ...) and records
// what decoding did (create arguments, set_state calls, set_attr calls).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"
#include "json.hpp"

namespace pklharness {

enum class GK : uint8_t {
  None, Bool, Int, Float, Str, Bytes, ByteArray, Tuple, List, Dict, Set, FrozenSet, Global, Object, Instance
};

// The registered class shapes (index = index in registry()).
enum Shape : int {
  kS = 0,   // __getstate__ + __setstate__
  kSN = 1,  // __getstate__ + __setstate__ + __getnewargs__
  kSX = 2,  // __getstate__ + __setstate__ + __getnewargs_ex__
  kG = 3,   // __getstate__ only, __slots__ = ('p', 'q', '__dict__'): state a dict or (dict, slots)
  kA = 4,   // no hooks: attributes (__dict__), state = a dict of str -> value
  kR = 5,   // __reduce__: (callable, args, state, listitems, dictitems); graph JSON `object`
  kShapes = 6
};
struct ShapeInfo {
  const char* qualname;
  bool getstate, setstate, getnewargs, getnewargs_ex, reduce;
  bool slots;
};
const ShapeInfo& shape_info(int shape);
inline constexpr const char* kClassModule = "pcprop";

struct GNode {
  GNode() = default;
  explicit GNode(GK kind) : k(kind) {}
  GK k = GK::None;
  bool b = false;
  std::string v;       // Int: decimal; Str: UTF-8 (surrogates allowed); Bytes/ByteArray: raw; Global: module
  std::string name;    // Global: qualname
  uint64_t bits = 0;   // Float
  std::vector<uint32_t> items;                      // Tuple/List/Set/FrozenSet; Object: listitems
  std::vector<std::pair<uint32_t, uint32_t>> pairs; // Dict; Object: dictitems
  int64_t callable = -1, args = -1;                 // Object (and shape R)
  int64_t state = -1;                               // Object / Instance; -1: none
  int64_t newargs = -1, nx_args = -1, nx_kwargs = -1;  // Instance
  int shape = -1;                                   // Instance; Object with shape R
};

struct GDoc {
  std::vector<GNode> nodes;
  uint32_t root = 0;
};

// A node's children: items, pairs, then callable, args, state, newargs,
// nx_args, nx_kwargs (those present).
std::vector<uint32_t> children(const GNode& g);

std::string to_json(const GDoc& d);
GDoc gdoc_from_json(const JVal& doc);

// What a registered instance holds.
struct Rec {
  // A graph built from a GDoc (what the encoder asks for).
  pkl::NodeId state = pkl::kNoNode;  // S/SN/SX/G: __getstate__'s result; A: the attribute dict
  pkl::NodeId newargs = pkl::kNoNode;
  pkl::NodeId nx_args = pkl::kNoNode, nx_kwargs = pkl::kNoNode;
  std::vector<std::pair<std::string, pkl::NodeId>> attrs;  // A
  pkl::NodeId r_callable = pkl::kNoNode, r_args = pkl::kNoNode, r_state = pkl::kNoNode;  // R
  std::vector<pkl::NodeId> r_list;
  std::vector<pkl::Pair> r_dict;
  // What decoding did.
  bool decoded = false;
  pkl::NodeId cargs = pkl::kNoNode, ckwargs = pkl::kNoNode;
  std::vector<pkl::NodeId> calls;                              // set_state arguments, in order
  std::vector<std::pair<std::string, pkl::NodeId>> set_attrs;  // set_attr calls, in order
};

// Every set_state call of the registered shapes, in order (the tests clear it).
std::vector<pkl::NodeId>& call_log();

// The fixed registry of the shapes (index = Shape).
const pkl::ClassRegistry& registry();

// Builds the graph of a GDoc (sharing and cycles as given); sets its root.
// Throws std::runtime_error for a GDoc no Python could build.
pkl::Graph to_graph(const GDoc& d, std::vector<pkl::NodeId>* ids = nullptr);

}  // namespace pklharness
