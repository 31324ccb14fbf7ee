// The codec as a backend: pkl::decode with the given options, then
// pkl::encode at every protocol; a graph case: pkl::encode of the graph at
// every protocol, with the case's registry; a load case: pkl::decode alone
// (with hooks, the case's registry, its set_state calls read from call_log()).
#pragma once

#include "backend.hpp"
#include "picklecodec/decode.hpp"

namespace pklharness {

class CodecBackend : public Backend {
 public:
  explicit CodecBackend(pkl::DecodeOptions options = {}) : options_(std::move(options)) {}
  std::string_view name() const override { return "codec"; }
  Answer run(const Case& c) override;

 private:
  pkl::DecodeOptions options_;
};

// "error <Code>: <message>", as every report writes a codec error.
std::string describe_error(const pkl::Error& e);

}  // namespace pklharness
