// The property tests' side of the one graph generator (harness/graph_gen.hpp):
// RapidCheck as its source of choices, and the facts of a materialized graph.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <rapidcheck.h>

#include "gdoc.hpp"
#include "graph_gen.hpp"
#include "json.hpp"

namespace pklprop {

// The harness's generator, GDoc, registry, JSON and oracle client, by their names.
using namespace pklharness;

// What a materialized graph holds (for the properties' choices and the
// coverage counters).
struct Facts {
  bool deep = false;             // a chain deeper than kDeep: CPython's pickler would recurse too far
  bool very_deep = false;        // deeper than the decoder's default max_depth
  bool unordered_sets = false;   // a set/frozenset of 2+ members whose CPython order we cannot predict
  bool big_int_text = false;     // an int of more than 4300 digits (CPython refuses its protocol-0 text)
  bool nan = false;              // a NaN (protocol 0 writes every NaN as 'nan')
  bool kwargs_instance = false;  // an SX instance with non-empty kwargs (protocols 2-3: functools.partial)
  bool newobj_ex_object = false; // an inert object called through copyreg.__newobj_ex__
  bool newobj_object = false;    // an inert object called through copyreg.__newobj__
  bool instances = false;
  int merged_keys = 0;           // dict keys / set members that merged with an earlier equal one
  int falsy_states = 0;          // instances and objects whose state is falsy (None included)
  int batch_containers = 0;      // containers of 999+ items within 1 of a multiple of 1000
  int big_payloads = 0;          // str/bytes/bytearray of 64 KiB +/- 64 bytes or more
  uint32_t max_chain = 0;
};

inline constexpr uint32_t kDeep = 500;

// The facts of a GDoc and the graph built from it (ids: GDoc index -> node).
Facts analyze(const GDoc& d, const pkl::Graph& g, const std::vector<pkl::NodeId>& ids);


// A uniform pick in [lo, hi) whatever RapidCheck's size (rc::gen::inRange
// scales its range with the size); shrinks toward lo.
template <class T>
T uniform(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

// The generator with RapidCheck as its source (RapidCheck's size scales
// the node count; options.size is ignored).
rc::Gen<Desc> gen_desc(GenOptions options = {});

}  // namespace pklprop

namespace pklharness {
// The description's graph in `pickletool show` notation, then its graph JSON
// (how RapidCheck prints a counterexample: found by argument-dependent lookup,
// hence in Desc's namespace).
void showValue(const Desc& d, std::ostream& os);
}  // namespace pklharness

namespace rc {
template <>
struct Arbitrary<pklprop::Desc> {
  static Gen<pklprop::Desc> arbitrary() { return pklprop::gen_desc(); }
};
}  // namespace rc
