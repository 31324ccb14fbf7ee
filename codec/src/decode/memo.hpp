// The unpickler's memo: index -> node. Dense indices (what picklers write)
// live in a vector; an index far past the entries seen so far goes to a hash
// map, so a sparse LONG_BINPUT 4294967295 costs what a dense one costs.
// size() counts distinct indices, which is CPython's memo_len (MEMOIZE's
// next index). Internal header.
#pragma once

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "picklecodec/value.hpp"

namespace pkl::detail {

class Memo {
 public:
  __attribute__((always_inline)) NodeId get(uint64_t idx) const {
    if (idx < dense_.size()) [[likely]] return dense_[idx];
    return get_sparse(idx);
  }

  // Returns true when idx is a new entry.
  __attribute__((always_inline)) bool put(uint64_t idx, NodeId value) {
    if (next_fits(idx)) [[likely]] {
      // The next index, as picklers write them (MEMOIZE, BINPUT n+1).
      dense_.push_unchecked(value);
      ++count_;
      return true;
    }
    return put_slow(idx, value);
  }

  // Room for n dense entries (address space; see Machine::run).
  void reserve(size_t n) { dense_.reserve(n); }

  uint64_t size() const noexcept { return count_; }

  // For the decoder's fast loop: put() of index idx when that is the next
  // dense index with room and no more than `max` entries result; false
  // (nothing done) otherwise.
  bool try_put_next(uint64_t idx, NodeId value, uint64_t max) noexcept {
    if (!next_fits(idx) || count_ >= max) return false;
    dense_.push_unchecked(value);
    ++count_;
    return true;
  }
  // The entry at a dense index, or kNoNode.
  NodeId get_dense(uint64_t idx) const noexcept { return idx < dense_.size() ? dense_[idx] : kNoNode; }
  // The next index MEMOIZE uses when the memo is dense and full (else kNoNode's width).
  uint64_t next_dense() const noexcept { return count_ == dense_.size() ? count_ : UINT64_MAX; }

 private:
  // idx is the next dense index and has room without allocating.
  __attribute__((always_inline)) bool next_fits(uint64_t idx) const noexcept {
    return idx == dense_.size() && idx < dense_.capacity() && sparse_.empty() && idx < 2 * count_ + 1024;
  }
  __attribute__((noinline)) NodeId get_sparse(uint64_t idx) const {
    if (sparse_.empty()) return kNoNode;
    auto it = sparse_.find(idx);
    return it == sparse_.end() ? kNoNode : it->second;
  }

  __attribute__((noinline)) bool put_slow(uint64_t idx, NodeId value) {
    if (idx < dense_.size()) {
      bool fresh = dense_[idx] == kNoNode;
      dense_[idx] = value;
      count_ += fresh;
      return fresh;
    }
    // Grow the dense part only while it stays proportional to the entries,
    // and only while no sparse entry could fall into the grown range.
    if (sparse_.empty() && idx < 2 * count_ + 1024) {
      if (idx >= dense_.capacity()) dense_.reserve(std::max<uint64_t>(idx + 1, dense_.capacity() * 2));
      while (dense_.size() < idx) dense_.push_unchecked(kNoNode);
      dense_.push_unchecked(value);
      ++count_;
      return true;
    }
    auto [it, fresh] = sparse_.try_emplace(idx, value);
    if (!fresh) it->second = value;
    count_ += fresh;
    return fresh;
  }

  PodVector<NodeId> dense_;
  std::unordered_map<uint64_t, NodeId> sparse_;
  uint64_t count_ = 0;
};

}  // namespace pkl::detail
