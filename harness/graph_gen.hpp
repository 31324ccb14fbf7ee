// The one random generator of value graphs, shared by the property tests
// (property/, RapidCheck) and fuzz_structured's graph mode (fuzz/, a
// FuzzedDataProvider). It reads its choices from a `Choices` source, so the
// same code makes a graph from RapidCheck's random (and shrinkable) picks
// and from a fuzzer's bytes.
//
// It makes a *description* of a graph: nodes refer to each other by index
// (any index: sharing and cycles come from that), and big payloads are
// described compactly (a length class and a seed, not the 65536
// characters), so RapidCheck shrinks the description, not the graph.
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
// to_graph() (gdoc.hpp) then builds the pkl::Graph, registered instances
// included (registry()).
//
// What it covers, and how to add a feature: docs/harness.md ("The graph
// generator").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "gdoc.hpp"

namespace pklharness {

// Where the generator's choices come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A pick in [lo, hi] (both included): uniform for a random source; a
  // source that shrinks shrinks it toward lo; a source with nothing left
  // answers lo (so an exhausted fuzzer input makes the smallest choices).
  virtual int64_t range(int64_t lo, int64_t hi) = 0;
  // As range(), scaled down by the source's size where it has one
  // (RapidCheck's rc::gen::inRange): the node count.
  virtual int64_t sized(int64_t lo, int64_t hi) { return range(lo, hi); }
  // Any int64, any 64 bits.
  virtual int64_t any_int64() = 0;
  virtual uint64_t any_bits() = 0;

  int pick(int lo, int hi) { return static_cast<int>(range(lo, hi)); }
  // True with probability pct%; false when shrunk or exhausted.
  bool chance(int pct) { return range(0, 99) >= 100 - pct; }
  template <class T>
  T element(std::initializer_list<T> xs) {
    return xs.begin()[range(0, static_cast<int64_t>(xs.size()) - 1)];
  }
  // One of the values, each with its weight (the first when shrunk or exhausted).
  template <class T>
  T weighted(std::initializer_list<std::pair<int, T>> xs) {
    int64_t total = 0;
    for (const auto& x : xs) total += x.first;
    int64_t r = range(0, total - 1);
    for (const auto& x : xs) {
      if (r < x.first) return x.second;
      r -= x.first;
    }
    return xs.begin()->second;
  }
};

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
  bool any_code_points = false;   // str: random code points of every UTF-8 length (wide only)
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
  bool wide = false;         // GenOptions::wide: its global pools, and objects called on objects
};

struct GenOptions {
  // Scales the node count (RapidCheck's size; 100 at most).
  int size = 100;
  // One more registered instance under the root, its state falsy half the
  // time (Property.StateHooks).
  bool with_instance = false;
  // What only the codec's own checks take (the oracle's builder would not):
  // globals beyond the ten the oracle builds (names the decoder gives
  // meaning to, as values; more inert classes, as callables), strs of
  // random code points, objects called on objects; and more objects,
  // bytearrays and frozensets (fuzz_structured).
  bool wide = false;
  // Chains up to 100005 deep (past the decoder's default max_depth); else
  // at most 1200.
  bool very_deep = true;
  // The chance of the costly parts (containers of 999-2001 items, ~64 KiB
  // payloads and strs of 64-128 Ki characters, ints of 200+ bytes or 4300
  // digits, chains 900+ deep), in percent of their full chance: a fuzzer
  // trades some of them for executions per second.
  int heavy = 100;
  // References are picked in [0, refs) (then taken modulo the node count):
  // a smaller bound costs a fuzzer fewer input bytes per reference.
  uint32_t refs = 1u << 20;
};

// A description from `c`'s choices.
Desc generate(Choices& c, const GenOptions& options = {});

// The description's GDoc (the rules above).
GDoc materialize(const Desc& d);

// Whether the GDoc holds a registered instance (encoding it needs registry()).
bool has_registered(const GDoc& d);

}  // namespace pklharness
