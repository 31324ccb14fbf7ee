// The unpickler's memo: index -> node. Dense indices (what picklers write)
// live in a vector; an index far past the entries seen so far goes to a hash
// map, so a sparse LONG_BINPUT 4294967295 costs what a dense one costs.
// size() counts distinct indices, which is CPython's memo_len (MEMOIZE's
// next index). Internal header.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "picklecodec/value.hpp"

namespace pkl::detail {

class Memo {
 public:
  NodeId get(uint64_t idx) const {
    if (idx < dense_.size()) return dense_[idx];
    if (sparse_.empty()) return kNoNode;
    auto it = sparse_.find(idx);
    return it == sparse_.end() ? kNoNode : it->second;
  }

  // Returns true when idx is a new entry.
  bool put(uint64_t idx, NodeId value) {
    if (idx < dense_.size()) {
      bool fresh = dense_[idx] == kNoNode;
      dense_[idx] = value;
      count_ += fresh;
      return fresh;
    }
    // Grow the dense part only while it stays proportional to the entries,
    // and only while no sparse entry could fall into the grown range.
    if (sparse_.empty() && idx < 2 * count_ + 1024) {
      dense_.resize(idx + 1, kNoNode);
      dense_[idx] = value;
      ++count_;
      return true;
    }
    auto [it, fresh] = sparse_.try_emplace(idx, value);
    if (!fresh) it->second = value;
    count_ += fresh;
    return fresh;
  }

  uint64_t size() const noexcept { return count_; }

 private:
  std::vector<NodeId> dense_;
  std::unordered_map<uint64_t, NodeId> sparse_;
  uint64_t count_ = 0;
};

}  // namespace pkl::detail
