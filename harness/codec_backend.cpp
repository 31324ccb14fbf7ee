#include "codec_backend.hpp"

#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace pklharness {

std::string describe_error(const pkl::Error& e) {
  return std::string("error ") + pkl::error_code_name(e.code()) + ": " + e.text();
}

Answer CodecBackend::run(const Case& c) {
  Answer a;
  if (c.graph) {  // the graph itself, written at every protocol
    a.kind = Answer::Kind::Accept;
    for (int p = 0; p < kProtocols; ++p) {
      Answer::Dump d;
      try {
        pkl::EncodeOptions eo;
        eo.protocol = p;
        eo.registry = c.graph->registry;
        d.bytes.emplace(pkl::encode(*c.graph->graph, c.graph->graph->root(), eo));
      } catch (const pkl::Error& e) {
        d.error = describe_error(e);
      }
      a.dumps.push_back(std::move(d));
    }
    return a;
  }
  try {
    a.graph.emplace(pkl::decode(c.input, options_));
  } catch (const pkl::Error& e) {
    a.kind = Answer::Kind::Reject;
    a.text = describe_error(e);
    return a;
  }
  a.kind = Answer::Kind::Accept;
  for (int p = 0; p < kProtocols; ++p) {
    Answer::Dump d;
    try {
      d.bytes.emplace(pkl::encode(*a.graph, a.graph->root(), {.protocol = p}));
    } catch (const pkl::Error& e) {
      d.error = describe_error(e);
    }
    a.dumps.push_back(std::move(d));
  }
  return a;
}

}  // namespace pklharness
