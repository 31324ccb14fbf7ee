// The encoder's output buffer and FRAME layout: a copy of _pickle.c's
// _Pickler_Write / _Pickler_CommitFrame / _Pickler_OpcodeBoundary /
// _Pickler_write_bytes, so frames start and end exactly where CPython's do.
// Internal header.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/opcodes.hpp"
#include "value/pages.hpp"

namespace pkl::enc {

inline constexpr size_t kFrameSizeMin = 4;
inline constexpr size_t kFrameSizeTarget = 64 * 1024;
inline constexpr size_t kFrameHeaderSize = 9;

inline void put_le(char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A large payload left where it is instead of copied into the buffer: it
// goes out after the buffer's first `at` bytes (Encoder::dump writes the
// pieces in order). Only bytes that stay put until the pickle is written
// (a graph's own payloads: its arena never moves) are left out this way.
struct Extern {
  size_t at;
  const char* data;
  size_t size;
};

class Out {
 public:
  // Writes into `buf` from its start (reusing its capacity); finish() trims it.
  // The string's size is the part made writable so far (zero-filled by
  // resize as it grows, a step at a time, never the whole capacity at once).
  explicit Out(std::string& buf) : buf_(buf) {
    buf_.clear();
    p_ = buf_.data();
    cap_ = 0;
  }

  // Room for about `n` bytes without reallocating: an estimate of the whole
  // pickle. The capacity is only reserved (memory the pickle never reaches
  // is not touched), so a generous estimate costs address space, not memory.
  void reserve(size_t n) {
    if (n > buf_.capacity()) {
      buf_.reserve(n);
      p_ = buf_.data();
      detail::advise_huge(p_, buf_.capacity());
    }
  }

  // Frames are on from protocol 4 (after the PROTO opcode), as dump() does.
  void set_framing(bool on) { framing_ = on; }
  // The least payload write_bytes_stable records as an Extern.
  static constexpr size_t kExternMin = kFrameSizeTarget;

#define PKL_OUT_HOT __attribute__((always_inline)) inline
  PKL_OUT_HOT void write(const char* data, size_t n) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (n > cap_ - len_) grow(n);
    std::memcpy(p_ + len_, data, n);
    len_ += n;
  }
  void write(std::string_view s) { write(s.data(), s.size()); }
  // write() of a size known at compile time (an opcode and its argument).
  template <size_t N>
  PKL_OUT_HOT void write_fixed(const char* data) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (cap_ - len_ < N) grow(N);
    std::memcpy(p_ + len_, data, N);
    len_ += N;
  }
  PKL_OUT_HOT void op(uint8_t code) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (cap_ == len_) grow(1);
    p_[len_++] = static_cast<char>(code);
  }
  PKL_OUT_HOT void op_arg(uint8_t code, uint64_t arg, int arg_bytes) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (cap_ - len_ < 9) grow(9);
    char* p = p_ + len_;
    p[0] = static_cast<char>(code);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(p + 1, &arg, 8);  // room for 9 was made; only arg_bytes count
    } else {
      put_le(p + 1, arg, arg_bytes);
    }
    len_ += static_cast<size_t>(1 + arg_bytes);
  }

  // Ends the current frame: writes its FRAME header, or drops the header of
  // a frame too small to be worth one (under 4 bytes).
  void commit_frame() {
    if (!framing_ || frame_start_ == kNoFrame) return;
    const size_t frame_len = len_ - frame_start_ - kFrameHeaderSize;
    if (frame_len >= kFrameSizeMin) {
      p_[frame_start_] = static_cast<char>(op::FRAME);
      put_le(p_ + frame_start_ + 1, frame_len, 8);
    } else {
      std::memmove(p_ + frame_start_, p_ + frame_start_ + kFrameHeaderSize, frame_len);
      len_ -= kFrameHeaderSize;
    }
    frame_start_ = kNoFrame;
  }

  // Many small saves in a row (a list of numbers): emit(w, i) writes item i
  // at w and returns the end of what it wrote, or null when item i is not
  // one it writes (nothing written). Each item is a save() of at most
  // kMaxItem bytes: the frame boundary is checked before it as boundary()
  // does, with the write position in a register. Returns how many items
  // were written (all of [0, count) unless emit refused one).
  static constexpr size_t kMaxItem = 16;
  template <class Emit>
  size_t run(size_t count, Emit&& emit) {
    size_t done = 0;
    while (done < count) {
      boundary();
      if (framing_ && frame_start_ == kNoFrame) open_frame();
      const size_t chunk = std::min<size_t>(count - done, 4096);
      if (cap_ - len_ < chunk * kMaxItem) grow(chunk * kMaxItem);
      char* w = p_ + len_;
      const char* frame_end =
          framing_ ? p_ + frame_start_ + kFrameHeaderSize + kFrameSizeTarget : p_ + cap_;
      size_t k = 0;
      while (k < chunk && w < frame_end) {
        char* next = emit(w, done + k);
        if (!next) {
          len_ = static_cast<size_t>(w - p_);
          return done + k;
        }
        w = next;
        ++k;
      }
      len_ = static_cast<size_t>(w - p_);
      done += k;
    }
    return done;
  }

  // At the start of every save(): a frame that reached the 64 KiB target ends.
  PKL_OUT_HOT void boundary() {
    if (!framing_ || frame_start_ == kNoFrame) return;
    if (len_ - frame_start_ - kFrameHeaderSize >= kFrameSizeTarget) commit_frame();
  }

  // A header and its payload; a payload of 64 KiB or more goes outside any
  // frame (the frame before it is committed, and the next write opens a new one).
  void write_bytes(const char* header, size_t header_size, std::string_view data) {
    if (data.size() <= 64) {
      // A short str or bytes: header and payload with one capacity check.
      if (framing_ && frame_start_ == kNoFrame) open_frame();
      if (cap_ - len_ < header_size + data.size()) grow(header_size + data.size());
      std::memcpy(p_ + len_, header, header_size);
      std::memcpy(p_ + len_ + header_size, data.data(), data.size());
      len_ += header_size + data.size();
      return;
    }
    write_made(header, header_size, data.size(), 0,
               [&](char* p) { std::memcpy(p, data.data(), data.size()); });
  }

  // write_bytes of a payload of kExternMin bytes or more that stays valid
  // and unchanged until the pickle is written out: recorded in `externs`
  // instead of copied (Encoder::dump, whose sink takes the pieces: a recode
  // of 100 MB of blobs mapped from its input touches no 100 MB output
  // buffer); copied when `externs` is null (encode() into a string). Out of
  // line: the hot write_bytes stays as small as it was.
  [[gnu::noinline]] void write_bytes_stable(const char* header, size_t header_size, std::string_view data,
                                            std::vector<Extern>* externs) {
    static_assert(kExternMin >= kFrameSizeTarget, "an extern payload is outside any frame");
    if (!externs || data.size() < kExternMin) {
      write_bytes(header, header_size, data);
      return;
    }
    commit_frame();
    const bool framing = framing_;
    framing_ = false;
    write(header, header_size);
    externs->push_back({len_, data.data(), data.size()});
    framing_ = framing;
  }

  // write_bytes of a header and a payload of `size` bytes that make(p)
  // writes in place (it may scribble on `slack` bytes past them).
  template <class Make>
  void write_made(const char* header, size_t header_size, size_t size, size_t slack, Make&& make) {
    const bool outside = size >= kFrameSizeTarget;
    const bool framing = framing_;
    if (outside) {
      commit_frame();
      framing_ = false;
    }
    write(header, header_size);
    if (cap_ - len_ < size + slack) grow(size + slack);
    make(p_ + len_);
    len_ += size;
    framing_ = framing;
  }

  size_t size() const noexcept { return len_; }
  // Trims the buffer to what was written.
  void finish() { buf_.resize(len_); }

 private:
  static constexpr size_t kNoFrame = SIZE_MAX;

  void open_frame() {
    frame_start_ = len_;
    if (cap_ - len_ < kFrameHeaderSize) grow(kFrameHeaderSize);
    std::memset(p_ + len_, 0xfe, kFrameHeaderSize);
    len_ += kFrameHeaderSize;
  }
  // Makes n more bytes writable: within the reserved capacity a step of 16
  // KiB, or what one larger write needs; past it, the capacity doubles.
  // resize() zero-fills what it adds, and what the pickle does not reach of
  // the last step stays resident: steps of an eighth of what was written
  // left up to 12% of a large pickle's size in its peak memory.
  void grow(size_t n) {
    const size_t need = len_ + n;
    if (need > buf_.capacity()) {
      buf_.reserve(std::max(need, buf_.capacity() * 2));
      detail::advise_huge(buf_.data(), buf_.capacity());
    }
    constexpr size_t kStep = size_t{16} << 10;
    const size_t want = n >= kStep ? need : std::min(buf_.capacity(), len_ + kStep);
    buf_.resize(want);
    p_ = buf_.data();
    cap_ = want;
  }

  std::string& buf_;
  char* p_ = nullptr;
  size_t len_ = 0;
  size_t cap_ = 0;
  bool framing_ = false;
  size_t frame_start_ = kNoFrame;
};

}  // namespace pkl::enc
