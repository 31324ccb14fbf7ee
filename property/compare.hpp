// Comparing an original graph (built from a GDoc, registered instances
// holding their encoding Rec) with a decoded one: the same values, the same
// sharing and cycles. The harness's one equivalence (harness/equivalence.hpp)
// with the registered instances compared here. Unlike pkl::isomorphic it
//  - treats ints, floats, None, bools and empty tuples as values (pickle
//    never memoizes them, so their identity never survives);
//  - compares registered instances by what decoding them must do: the
//    create arguments, the set_state calls or the set_attr calls, given the
//    protocol they were written with (protocols 0-1 write no BUILD for a
//    falsy state);
//  - optionally ignores set order (CPython writes set items in hash order)
//    and NaN payloads (protocol 0 writes every NaN as 'nan').
#pragma once

#include <memory>
#include <string>

#include "equivalence.hpp"
#include "picklecodec/value.hpp"

namespace pklprop {

struct CmpOptions {
  int protocol = 4;              // the protocol the decoded graph was written with
  bool unordered_sets = false;   // match set/frozenset members in any order
  bool nan_any = false;          // any NaN equals any NaN
  bool instances_by_class = false;  // `a` holds decoded-style instances too: match them by class only
};

// The harness's Equivalence for `options` (registered instances by the
// rule above), for the executor's load cases; not copyable (the
// Equivalence points at its rule).
class CmpEquivalence {
 public:
  explicit CmpEquivalence(const CmpOptions& options);
  ~CmpEquivalence();
  CmpEquivalence(const CmpEquivalence&) = delete;
  CmpEquivalence& operator=(const CmpEquivalence&) = delete;
  const pklharness::Equivalence& get() const { return eq_; }

 private:
  CmpOptions options_;
  std::unique_ptr<pklharness::InstanceRule> rule_;
  pklharness::Equivalence eq_;
};

// "" when `b` from `rb` is `a` from `ra`; else where and how they differ.
std::string compare(const pkl::Graph& a, pkl::NodeId ra, const pkl::Graph& b, pkl::NodeId rb,
                    const CmpOptions& options);

}  // namespace pklprop
