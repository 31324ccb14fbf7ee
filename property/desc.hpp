// The generators' output: a *description* of a value graph. Nodes refer to
// each other by index (any index: sharing and cycles come from that), and
// big payloads are described compactly (a length class and a seed, not the
// 65536 characters), so RapidCheck shrinks the description, not the graph.
//
// materialize() turns a description into a GDoc (gdoc.hpp) by fixed rules
// that make every description buildable in CPython:
//  - a reference is `r % n`;
//  - tuples, frozensets, an object's callable and args and an instance's
//    newargs refer only forward (to higher indices); a backward reference
//    there becomes None (tuples, args) or is dropped (frozensets), so every
//    cycle passes through a mutable node (list, dict, set, an object's or
//    instance's state / items);
//  - an object or instance whose callable or arguments reach the object
//    itself gets empty arguments (pickle would make two objects of it);
//  - unhashable dict keys and set members are dropped;
//  - only nodes reached from the root are kept.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <rapidcheck.h>

#include "gdoc.hpp"

namespace pklprop {

enum class DK : uint8_t {
  None, Bool, Int, Float, Str, Bytes, ByteArray, Tuple, List, Dict, Set, FrozenSet, Global, Object, Instance,
  Chain,  // `fill` nested containers (kind `sub`) around the node `a`
};

struct IntSpec {
  uint8_t mode = 0;  // 0 small v; 1 +/-2^k + delta; 2 random, k bytes; 3 10^k - 1 (k digits)
  int64_t v = 0;
  uint16_t k = 0;
  int8_t delta = 0;
  bool neg = false;
  uint32_t seed = 0;
};

struct TextSpec {
  uint32_t len = 0;               // characters (str) or bytes
  std::vector<uint8_t> specials;  // indices into the special-character table / special bytes
  uint32_t seed = 0;
};

struct KeySpec {
  uint8_t inline_const = 0;  // 0: the reference `ref`; 1..13 a fresh constant of the merge pool;
                             // 100 + j: a fresh int j
  uint32_t ref = 0;
};

struct StateSpec {
  uint8_t mode = 0;   // 0 absent; 1 falsy value `falsy`; 2 the reference `ref`; 3 a dict of attributes;
                      // 4 (dict-or-None, slots dict) tuple
  uint8_t falsy = 0;  // None, False, 0, 0.0, '', b'', (), [], {}
  uint32_t ref = 0;
  std::vector<std::pair<uint8_t, uint32_t>> attrs;  // (name index, value ref)
  std::vector<std::pair<uint8_t, uint32_t>> slots;  // (0 'p' / 1 'q', value ref)
  bool dict_none = false;                           // mode 4: the dict part is None
};

struct DNode {
  DK k = DK::None;
  bool flag = false;
  IntSpec i;
  uint8_t fk = 0;        // float: table index, or 255 for `fbits`
  uint64_t fbits = 0;
  TextSpec t;
  uint8_t sub = 0;       // Global: pool index; Object: callable mode; Instance: shape; Chain: container kind
  std::vector<uint32_t> refs;    // items; Dict values; Object/R listitems
  std::vector<KeySpec> keys;     // Dict keys (parallel to refs); Object/R dictitems keys
  std::vector<uint32_t> vals;    // Object/R dictitems values
  uint32_t fill = 0;             // a big container's implicit items; Chain: depth
  uint32_t a = 0;                // Object: callable ref (mode 1); Chain: the innermost item
  std::vector<uint32_t> args;    // Object/R args; SN newargs; SX args
  std::vector<std::pair<uint8_t, uint32_t>> kwargs;  // SX kwargs (name index, value ref)
  StateSpec st;
};

struct Desc {
  std::vector<DNode> nodes;  // node 0 is the root
};

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

GDoc materialize(const Desc& d);
// The facts of a GDoc and the graph built from it (ids: GDoc index -> node).
Facts analyze(const GDoc& d, const pkl::Graph& g, const std::vector<pkl::NodeId>& ids);

// The description's graph in `pickletool show` notation, then its graph JSON.
void showValue(const Desc& d, std::ostream& os);

// A uniform pick in [lo, hi) whatever RapidCheck's size (rc::gen::inRange
// scales its range with the size); shrinks toward lo.
template <class T>
T uniform(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}

// The generator (RapidCheck's size scales the node count).
rc::Gen<Desc> gen_desc();

}  // namespace pklprop

namespace rc {
template <>
struct Arbitrary<pklprop::Desc> {
  static Gen<pklprop::Desc> arbitrary() { return pklprop::gen_desc(); }
};
}  // namespace rc
