// The decoder's byte reader: one interface over a span in memory (parsed in
// place, no copy) and over a Source (buffered in bounded chunks as bytes
// arrive; when the source forbids reading ahead, looked at with peek() and
// consumed no further than the pickle's STOP, or read exactly what each
// opcode needs when it cannot peek). It enforces Limits::max_input_bytes per pickle and never trusts a
// declared length: buffers grow only as bytes actually arrive. Internal header.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string_view>
#include <vector>

#include "picklecodec/decode.hpp"

namespace pkl::detail {

class Reader {
 public:
  // Memory: parse `data` in place.
  explicit Reader(std::span<const uint8_t> data);
  // A source; a MemorySource is parsed in place too.
  explicit Reader(Source& source);

  // Starts a pickle at the current position with this input budget.
  void begin_pickle(uint64_t max_input_bytes);
  // True when no byte is left (reads, and may block, to find out).
  bool at_end();

  // True when the input is parsed in place (memory): what take() returns
  // then points into the caller's buffer and stays valid.
  bool in_place() const noexcept { return in_place_; }

  // The window of bytes at hand for a tight loop: [cursor(), limit()) may be
  // consumed (limit() respects the input budget); set_cursor() moves on.
  const uint8_t* cursor() const noexcept { return cur_; }
  const uint8_t* limit() const noexcept { return lim_; }
  void set_cursor(const uint8_t* p) noexcept { cur_ = p; }

  // Marks where the current opcode starts; op_offset() is its offset, even
  // after the buffer has moved (stream mode).
  void mark_op() noexcept { op_ = cur_; }
  uint64_t op_offset() const noexcept {
    return op_ ? base_ + static_cast<uint64_t>(op_ - origin_) : op_saved_;
  }

  // Offset of the next byte, counted from where the reader started.
  uint64_t offset() const noexcept { return base_ + static_cast<uint64_t>(cur_ - origin_); }

  // The next byte; -1 at the end of input.
  int next_byte() {
    if (cur_ < lim_) return *cur_++;
    return next_byte_slow();
  }
  // The next n bytes, valid until the next call; Truncated if input ends.
  const uint8_t* take(size_t n) {
    if (static_cast<size_t>(lim_ - cur_) >= n) {
      const uint8_t* p = cur_;
      cur_ += n;
      return p;
    }
    return take_slow(n);
  }
  std::string_view take_view(size_t n) { return {reinterpret_cast<const char*>(take(n)), n}; }
  // True when the next n bytes are within the pickle's input budget.
  bool has_room(uint64_t n) const noexcept { return n <= budget_end_ - offset(); }
  // The next n bytes (has_room(n)) copied to `to`: what the window holds,
  // then the rest read from the source straight into `to`, not through the
  // window (one copy of a long argument from a pipe, not two); Truncated if
  // input ends first, as take(n).
  void take_into(uint8_t* to, size_t n);
  // The next line, '\n' included; Truncated if input ends first.
  std::string_view line();
  // Makes the next n bytes available without consuming them (FRAME).
  void prefetch(uint64_t n);
  // Passes over n bytes that are not part of the pickle (DecodeOptions::
  // after_build): Truncated if input ends first; they do not count against
  // the pickle's input budget, and a stream's are read in bounded chunks.
  void skip(uint64_t n);

  // Gives bytes read from the source but not consumed back to a MemorySource.
  void finish() noexcept;

 private:
  int next_byte_slow();
  const uint8_t* take_slow(size_t n);
  // Makes at least `want` bytes available past cur_ if input allows; returns
  // the bytes available (may be fewer at end of input). Respects the budget.
  size_t fill(uint64_t want);
  size_t read_more(size_t want, bool exact);
  // Peeking: consumes from the source the bytes of the window up to `upto`.
  void commit(const uint8_t* upto);
  void set_limit();
  [[noreturn]] void truncated() const;
  [[noreturn]] void over_budget() const;

  Source* source_ = nullptr;
  MemorySource* memory_source_ = nullptr;
  bool in_place_ = false;    // parsing a span directly
  bool read_ahead_ = false;  // the source allows reading past what an opcode needs
  bool eof_ = false;
  // Looking ahead with Source::peek(): the window's first committed_ bytes
  // have been consumed from the source, the rest only peeked at.
  bool peeking_ = false;
  size_t committed_ = 0;

  // The window of bytes at hand: [origin_, end_) with cur_ the next byte;
  // lim_ = min(end_, the pickle's budget end).
  const uint8_t* origin_ = nullptr;
  const uint8_t* cur_ = nullptr;
  const uint8_t* end_ = nullptr;
  const uint8_t* lim_ = nullptr;
  uint64_t base_ = 0;  // offset of origin_
  const uint8_t* op_ = nullptr;  // start of the current opcode (see mark_op)
  uint64_t op_saved_ = 0;        // its offset once the buffer moved (op_ null)
  uint64_t budget_end_ = UINT64_MAX;  // offset where the pickle's input budget ends

  // Stream mode storage, from malloc: it grows by realloc (a large block
  // moves by mremap, not by a copy) and is never zero-filled.
  class Buffer {
   public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { std::free(p_); }
    uint8_t* data() noexcept { return p_; }
    size_t size() const noexcept { return n_; }
    // At least n bytes (growing at least by half, as a vector would).
    void grow_to(size_t n) {
      if (n <= n_) return;
      const size_t want = std::max(n, n_ + n_ / 2);
      void* q = std::realloc(p_, want);
      if (!q) throw std::bad_alloc();
      p_ = static_cast<uint8_t*>(q);
      n_ = want;
    }

   private:
    uint8_t* p_ = nullptr;
    size_t n_ = 0;
  };
  Buffer buf_;
};

}  // namespace pkl::detail
