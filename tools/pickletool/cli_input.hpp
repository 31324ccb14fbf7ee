// The input of a pickletool command, FILE or "-", opened for the cheapest
// parse: a one-shot process pays for every read, copy and page fault.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "cli_common.hpp"
#include "picklecodec/decode.hpp"

// A regular file of known size (a path, or standard input redirected from
// one) is mapped whole and parsed in place, its large bytes objects kept as
// views into the mapping (DecodeOptions::bytes_as_views): no read, no copy.
// Anything else (a pipe, a terminal, a socket, a file whose size says 0) is
// read as it arrives, ahead of the parser:
// pickletool owns its standard input, so reading past a pickle's STOP takes
// nothing from anyone, and read(2) of a pipe returns what the pipe holds
// without waiting for more, so recode still writes each pickle as soon as
// its STOP has arrived.
class Input {
 public:
  explicit Input(const std::string& path);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // What to decode from. apply() sets bytes_as_views when the input is
  // mapped (the mapping lives as long as this object).
  pkl::Source& source() noexcept { return *source_; }
  void apply(pkl::DecodeOptions& options) const noexcept;
  // The whole input in memory: the mapping, or the rest of a pipe read to
  // its end.
  std::span<const uint8_t> all();

 private:
  OpenFd fd_;
  uint8_t* map_ = nullptr;  // the mapped file
  size_t map_size_ = 0;
  bool mapped_ = false;
  uint8_t* read_ = nullptr;  // a pipe read whole by all() (malloc'd)
  size_t read_size_ = 0;
  std::unique_ptr<pkl::Source> source_;
};
