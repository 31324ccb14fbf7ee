// The encoder's output buffer and FRAME layout: a copy of _pickle.c's
// _Pickler_Write / _Pickler_CommitFrame / _Pickler_OpcodeBoundary /
// _Pickler_write_bytes, so frames start and end exactly where CPython's do.
// Internal header.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "picklecodec/opcodes.hpp"

namespace pkl::enc {

inline constexpr size_t kFrameSizeMin = 4;
inline constexpr size_t kFrameSizeTarget = 64 * 1024;
inline constexpr size_t kFrameHeaderSize = 9;

inline void put_le(char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

class Out {
 public:
  // Writes into `buf` from its start (reusing its capacity); finish() trims it.
  explicit Out(std::string& buf) : buf_(buf) {
    buf_.resize(buf_.capacity());
    p_ = buf_.data();
    cap_ = buf_.size();
  }

  // Frames are on from protocol 4 (after the PROTO opcode), as dump() does.
  void set_framing(bool on) { framing_ = on; }

  void write(const char* data, size_t n) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (n > cap_ - len_) grow(n);
    std::memcpy(p_ + len_, data, n);
    len_ += n;
  }
  void write(std::string_view s) { write(s.data(), s.size()); }
  void op(uint8_t code) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (cap_ == len_) grow(1);
    p_[len_++] = static_cast<char>(code);
  }
  void op_arg(uint8_t code, uint64_t arg, int arg_bytes) {
    if (framing_ && frame_start_ == kNoFrame) open_frame();
    if (cap_ - len_ < 9) grow(9);
    char* p = p_ + len_;
    p[0] = static_cast<char>(code);
    put_le(p + 1, arg, arg_bytes);
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

  // At the start of every save(): a frame that reached the 64 KiB target ends.
  void boundary() {
    if (!framing_ || frame_start_ == kNoFrame) return;
    if (len_ - frame_start_ - kFrameHeaderSize >= kFrameSizeTarget) commit_frame();
  }

  // A header and its payload; a payload of 64 KiB or more goes outside any
  // frame (the frame before it is committed, and the next write opens a new one).
  void write_bytes(const char* header, size_t header_size, std::string_view data) {
    if (data.size() >= kFrameSizeTarget) {
      commit_frame();
      const bool framing = framing_;
      framing_ = false;
      write(header, header_size);
      write(data.data(), data.size());
      framing_ = framing;
    } else {
      write(header, header_size);
      write(data.data(), data.size());
    }
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
  void grow(size_t n) {
    size_t cap = cap_ < 4096 ? 4096 : cap_ * 2;
    if (cap - len_ < n) cap = len_ + n;
    buf_.resize(cap);
    p_ = buf_.data();
    cap_ = cap;
  }

  std::string& buf_;
  char* p_ = nullptr;
  size_t len_ = 0;
  size_t cap_ = 0;
  bool framing_ = false;
  size_t frame_start_ = kNoFrame;
};

}  // namespace pkl::enc
