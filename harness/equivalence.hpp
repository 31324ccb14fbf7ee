// One answer to "are these two graphs the same?" for every part of the
// harness: fuzz/ (a recode against its input, the codec's recode against
// CPython's), property/ (an original graph against its decode) and the
// executor (harness/executor.hpp). pkl::isomorphic (codec/) is the strictest
// case, Equivalence::strict(): a bijection between the nodes reached from the
// two roots, values equal, floats bit for bit. Every relaxation pickle forces
// on a comparison is an option below, named by why it is needed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/value.hpp"

namespace pklharness {

class Matching;

// How a caller compares its registered instances (class_index >= 0 in the
// first graph), e.g. property/ by what decoding them must have done. Without
// one, a registered instance is compared like an inert object.
class InstanceRule {
 public:
  virtual ~InstanceRule() = default;
  // a's registered instance x against b's node y: m.link() their parts, or
  // m.fail(why).
  virtual bool same(Matching& m, pkl::NodeId x, pkl::NodeId y) const = 0;
  // A structural fingerprint of g's registered instance n, blind to
  // identity, for matching set members (equal for nodes same() may pair).
  virtual uint64_t fingerprint(const Matching& m, const pkl::Graph& g, pkl::NodeId n, int depth) const = 0;
};

struct Equivalence {
  // Pickle memoizes neither ints, floats, None, bools nor empty tuples, so
  // their identity never survives a pickle (docs/conformance.md): compare
  // them by value.
  bool atoms_by_value = false;
  // An inert object's None state is not written (save_reduce writes BUILD
  // only for a state that is not None): None and no state are the same.
  bool none_state_is_no_state = false;
  // An instance made by copyreg.__newobj__(cls) alone (no items) is written
  // as a plain class's: no BUILD of a false state below protocol 2. Such a
  // state and none are the same.
  bool plain_false_state_is_no_state = false;
  // Set and frozenset members in any order (CPython writes them in hash
  // order): members are paired by a structural fingerprint once everything
  // else is paired.
  bool sets_unordered = false;
  // Any NaN equals any NaN (protocol 0 writes every NaN as the text 'nan').
  bool nan_any = false;
  // A call through copyreg.__newobj_ex__ in the first graph may be a call of
  // an inert object in the second: below protocol 4 pickle writes it as
  // functools.partial(cls.__new__, cls, *args, **kwargs)().
  bool newobj_ex_as_partial = false;
  // copyreg.__newobj__(cls, *args) gets its arguments unpacked: nothing in
  // Python holds the tuple itself, and below protocol 2 pickle writes such
  // an object as copyreg._reconstructor(cls, object, None), without it. The
  // args tuple is compared by its items, its own identity left unpaired (a
  // graph may reach it again, as a dict key say, where the other has a new
  // tuple).
  bool newobj_args_by_items = false;
  // Registered instances compared by the caller's rule (not owned).
  const InstanceRule* instances = nullptr;

  // pkl::isomorphic.
  static Equivalence strict() { return {}; }
  // decode(encode(g, p)) against g: what pickle cannot carry is relaxed.
  static Equivalence round_trip() {
    Equivalence e;
    e.atoms_by_value = e.none_state_is_no_state = e.plain_false_state_is_no_state = e.newobj_args_by_items = true;
    return e;
  }
  // round_trip(), set members in any order: a graph against the codec's
  // decode of CPython's bytes for it.
  static Equivalence any_set_order() {
    Equivalence e = round_trip();
    e.sets_unordered = true;
    return e;
  }
  bool is_strict() const {
    return !atoms_by_value && !none_state_is_no_state && !plain_false_state_is_no_state && !sets_unordered &&
           !nan_any && !newobj_ex_as_partial && !newobj_args_by_items && instances == nullptr;
  }
};

// Whether b from rb is a from ra under `eq`. The strict case is pkl::isomorphic.
bool equivalent(const pkl::Graph& a, pkl::NodeId ra, const pkl::Graph& b, pkl::NodeId rb,
                const Equivalence& eq);
// "" when equivalent; else where (a path from the root) and how they differ.
std::string difference(const pkl::Graph& a, pkl::NodeId ra, const pkl::Graph& b, pkl::NodeId rb,
                       const Equivalence& eq);

// The matcher's state, as an InstanceRule sees it.
class Matching {
 public:
  Matching(const pkl::Graph& a, const pkl::Graph& b, const Equivalence& eq, bool explain);
  // The whole comparison from the roots.
  bool run(pkl::NodeId ra, pkl::NodeId rb);
  const std::string& why() const { return why_; }

  const pkl::Graph& a() const { return a_; }
  const pkl::Graph& b() const { return b_; }
  const Equivalence& options() const { return eq_; }
  // Pairs a's x with b's y (either may be kNoNode: then both must be), the
  // pair's parts compared later; `step` names x below the pair being compared
  // (".state", "[3]") in a difference's path.
  bool link(pkl::NodeId x, pkl::NodeId y, std::string_view step);
  bool link_all(std::span<const pkl::NodeId> xs, std::span<const pkl::NodeId> ys, std::string_view what);
  bool link_pairs(std::span<const pkl::Pair> xs, std::span<const pkl::Pair> ys, std::string_view what);
  // Records why the pair being compared differs; always false.
  bool fail(const std::string& why);
  // Whether a difference's text is wanted (else fail() skips formatting).
  bool explaining() const { return explain_; }
  // "int 3", "str of length 2 'ab'", ... for a difference's text.
  static std::string brief(const pkl::Graph& g, pkl::NodeId n);
  static bool is_atom(const pkl::Graph& g, pkl::NodeId n);
  // A structural fingerprint of g's node n, `depth` levels deep, blind to identity.
  uint64_t fingerprint(const pkl::Graph& g, pkl::NodeId n, int depth) const;
  // The fingerprint's hash step, for an InstanceRule's own fingerprints.
  static uint64_t mix(uint64_t h, uint64_t v);

 private:
  struct Work {
    pkl::NodeId x, y;
    int trail;
  };
  struct Trail {
    int parent;
    std::string step;
  };
  int sub(std::string_view step);
  std::string path(int t) const;
  bool atoms_equal(pkl::NodeId x, pkl::NodeId y) const;
  bool same(pkl::NodeId x, pkl::NodeId y);
  bool same_object(pkl::NodeId x, pkl::NodeId y);
  bool match_sets(pkl::NodeId x, pkl::NodeId y);
  bool try_each(pkl::NodeId x, pkl::NodeId y, pkl::NodeId m, std::span<const pkl::NodeId> ys,
                const std::vector<size_t>& candidates);
  // The comparison from the pairs still to compare.
  bool finish();
  struct Snapshot {
    std::vector<pkl::NodeId> to_b, to_a;
    std::vector<Work> work, deferred;
    size_t trail_size;
    int current;
  };
  pkl::NodeId state(const pkl::Graph& g, const pkl::ObjectData& o) const;

  const pkl::Graph& a_;
  const pkl::Graph& b_;
  const Equivalence& eq_;
  const bool explain_;
  std::vector<pkl::NodeId> to_b_, to_a_;
  std::vector<Work> work_, deferred_;
  std::vector<Trail> trail_;
  int current_ = -1;  // the trail of the pair being compared
  std::string why_;
  int trials_left_ = 256;  // set-member trials (try_each) for the whole comparison
};

}  // namespace pklharness
