// The decoder's public entry points: decode, decode_all and the streaming
// Decoder. Only pkl::Error leaves them; a graph reaches the caller only when
// its pickle decoded completely.
#include <new>
#include <stdexcept>

#include "decode/machine.hpp"
#include "decode/reader.hpp"
#include "picklecodec/decode.hpp"
#include "base/foreign.hpp"

namespace pkl {

namespace {

// Runs `f`, turning every foreign exception into a pkl::Error at `offset`.
template <class F>
auto guarded(detail::Reader& reader, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    detail::rethrow_as_error({}, static_cast<int64_t>(reader.offset()));
  }
}

}  // namespace

struct Decoder::Impl {
  Impl(Source& s, DecodeOptions o) : options(std::move(o)), reader(s) {}
  DecodeOptions options;
  detail::Reader reader;
};

Decoder::Decoder(Source& source, DecodeOptions options)
    : impl_(std::make_unique<Impl>(source, std::move(options))) {}

Decoder::~Decoder() = default;

std::optional<Graph> Decoder::next() {
  detail::Reader& r = impl_->reader;
  struct Finish {
    detail::Reader& r;
    ~Finish() { r.finish(); }
  } finish{r};
  return guarded(r, [&]() -> std::optional<Graph> {
    if (r.at_end()) return std::nullopt;
    detail::Machine m(r, impl_->options);
    return m.run();
  });
}

uint64_t Decoder::offset() const noexcept { return impl_->reader.offset(); }

Graph decode(std::span<const uint8_t> data, const DecodeOptions& options) {
  detail::Reader r(data);
  return guarded(r, [&]() -> Graph {
    if (r.at_end()) throw Error(ErrorCode::EndOfInput, detail::kRanOutOfInput, 0);
    detail::Machine m(r, options);
    return m.run();
  });
}

Graph decode(std::string_view data, const DecodeOptions& options) {
  return decode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()), options);
}

std::vector<Graph> decode_all(std::string_view data, const DecodeOptions& options) {
  detail::Reader r(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  return guarded(r, [&]() -> std::vector<Graph> {
    std::vector<Graph> out;
    while (!r.at_end()) {
      detail::Machine m(r, options);
      out.push_back(m.run());
    }
    return out;
  });
}

}  // namespace pkl
