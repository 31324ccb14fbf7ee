// fuzz_stream: several pickles in one stream. The input's last byte (read
// with FuzzedDataProvider, which takes integers from the end) chooses how a
// source hands the rest out in short reads; the rest is the stream. Checks:
//  - a Decoder over memory (read-ahead allowed) and a Decoder over a source
//    that hands out short reads and forbids read-ahead give the same graphs,
//    offsets and final outcome;
//  - with read-ahead forbidden, the decoder has consumed exactly up to the
//    STOP of each pickle it returns (Decoder::offset()), or to the end of the
//    FRAME holding that STOP (the frame's bytes were declared part of the
//    pickle; CPython's unpickler reads a frame whole too);
//  - decode_all gives the same graphs (or the same error);
//  - each pickle decoded alone from its offset with pkl::decode is the same.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "decode/opcode_args.hpp"
#include "decode/opcode_length.hpp"
#include "fuzz_common.hpp"
#include "picklecodec/opcodes.hpp"

namespace {

using namespace pklfuzz;

// Hands the stream out in reads of fuzzer-chosen sizes; counts what it gave.
class ShortReadSource final : public pkl::Source {
 public:
  ShortReadSource(std::string_view data, uint8_t pattern) : data_(data), state_(pattern | 0x100u) {}
  size_t read(void* buf, size_t n) override {
    if (pos_ >= data_.size() || n == 0) return 0;
    size_t chunk = next_chunk();
    size_t k = std::min({n, chunk, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  bool may_read_ahead() const override { return false; }
  size_t consumed() const { return pos_; }

 private:
  size_t next_chunk() {
    state_ = state_ * 1103515245u + 12345u;
    uint32_t r = (state_ >> 16) & 0x7fff;
    switch (state_ & 3) {
      case 0: return 1;
      case 1: return 1 + r % 8;
      case 2: return 1 + r % 200;
      default: return 1 + r;
    }
  }
  std::string_view data_;
  size_t pos_ = 0;
  uint32_t state_;
};

// How far a decoder without read-ahead may have read once it returned the
// pickle ending at `stop_end`: the end of the FRAME holding that STOP, else
// stop_end. Walks the opcodes from the stream's start (a frame may hold
// several pickles).
uint64_t read_limit(std::string_view s, uint64_t stop_end) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  uint64_t pos = 0, frame_end = 0;
  while (pos < stop_end) {
    const auto code = static_cast<uint8_t>(s[pos]);
    const pkl::OpcodeLength len = pkl::opcode_length(bytes, pos);
    // An argument past the stream's end (so past stop_end) ends the walk;
    // a cut FRAME, an unknown opcode, a line without its newline, a cut or
    // negative count give stop_end.
    if (len.status == pkl::OpLenStatus::ArgTruncated && code != pkl::op::FRAME) break;
    if (!len.ok()) return stop_end;
    if (code == pkl::op::FRAME)  // a FRAME inside a frame: the outer one was read whole already
      frame_end = std::max<uint64_t>(frame_end, pos + len.length + pkl::detail::le(bytes.data() + pos + 1, 8));
    pos += len.length;
  }
  return frame_end > stop_end ? std::min<uint64_t>(frame_end, s.size()) : stop_end;
}

struct Outcome {
  std::vector<pkl::Graph> graphs;
  std::vector<uint64_t> ends;  // Decoder::offset() after each graph
  std::optional<pkl::Error> error;
};

constexpr size_t kMaxPickles = 64;

Outcome run(pkl::Source& src, ShortReadSource* counted, std::string_view stream) {
  static const pkl::DecodeOptions strict = strict_options();
  Outcome out;
  try {
    pkl::Decoder dec(src, strict);
    // Reads only grow: a FRAME that ran past an earlier pickle's STOP may
    // already have been read whole (its next pickle then starts inside it,
    // as with pickle.loads), so the bound is the largest one so far.
    uint64_t allowed = 0;
    while (out.graphs.size() < kMaxPickles) {
      std::optional<pkl::Graph> g = dec.next();
      if (!g) break;
      out.graphs.push_back(std::move(*g));
      out.ends.push_back(dec.offset());
      allowed = std::max(allowed, read_limit(stream, dec.offset()));
      if (counted && (counted->consumed() < dec.offset() || counted->consumed() > allowed))
        fail("fuzz_stream: without read-ahead, the decoder read past the STOP of a pickle",
             {{"pickle", std::to_string(out.graphs.size() - 1)},
              {"offset()", std::to_string(dec.offset())},
              {"bytes read from the source", std::to_string(counted->consumed())},
              {"stream", hex(stream)}});
    }
  } catch (const pkl::Error& e) {
    out.error.emplace(e);
  } catch (const std::exception& e) {
    fail("fuzz_stream: an exception other than pkl::Error left the Decoder",
         {{"exception", e.what()}, {"stream", hex(stream)}});
  }
  return out;
}

std::string describe(const Outcome& o) {
  std::string s = std::to_string(o.graphs.size()) + " pickles, ends at";
  for (auto e : o.ends) s += " " + std::to_string(e);
  s += o.error ? "; then " + pklfuzz::describe(*o.error) : "; then a clean end";
  return s;
}

bool same_graphs(const std::vector<pkl::Graph>& a, const std::vector<pkl::Graph>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!pkl::isomorphic(a[i], a[i].root(), b[i], b[i].root())) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const uint8_t pattern = fdp.ConsumeIntegral<uint8_t>();
  const std::string stream = fdp.ConsumeRemainingBytesAsString();

  pkl::MemorySource mem(stream);
  Outcome a = run(mem, nullptr, stream);
  ShortReadSource shorts(stream, pattern);
  Outcome b = run(shorts, &shorts, stream);

  const bool a_capped = a.graphs.size() == kMaxPickles;
  if (!same_graphs(a.graphs, b.graphs) || a.ends != b.ends ||
      a.error.has_value() != b.error.has_value() ||
      (a.error && (a.error->code() != b.error->code() || a.error->offset() != b.error->offset())))
    fail("fuzz_stream: a memory source and a short-read source disagree",
         {{"memory", describe(a)}, {"short reads", describe(b)},
          {"read pattern", std::to_string(pattern)}, {"stream", hex(stream)}});

  // decode_all: the same pickles, or the same error (checked when the whole
  // stream was read, i.e. the Decoder did not stop at kMaxPickles).
  if (!a_capped) {
    try {
      std::vector<pkl::Graph> all = pkl::decode_all(stream, strict_options());
      if (a.error || !same_graphs(a.graphs, all))
        fail("fuzz_stream: decode_all and Decoder disagree",
             {{"Decoder", describe(a)}, {"decode_all", std::to_string(all.size()) + " pickles"},
              {"stream", hex(stream)}});
    } catch (const pkl::Error& e) {
      if (!a.error || a.error->code() != e.code())
        fail("fuzz_stream: decode_all and Decoder disagree",
             {{"Decoder", describe(a)}, {"decode_all", pklfuzz::describe(e)}, {"stream", hex(stream)}});
    }
  }

  // Each pickle alone, from where the previous one ended.
  uint64_t start = 0;
  for (size_t i = 0; i < a.graphs.size(); ++i) {
    Decoded alone = try_decode(std::string_view(stream).substr(start), strict_options());
    if (!alone.ok() || !pkl::isomorphic(a.graphs[i], a.graphs[i].root(), *alone.graph,
                                        alone.graph->root()))
      fail("fuzz_stream: a pickle decoded alone differs from the same pickle in the stream",
           {{"pickle", std::to_string(i)}, {"starting at", std::to_string(start)},
            {"alone", describe(alone)}, {"stream", hex(stream)}});
    start = a.ends[i];
  }
  return 0;
}
