#include "codec_backend.hpp"

#include "gdoc.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace pklharness {

std::string describe_error(const pkl::Error& e) {
  return std::string("error ") + pkl::error_code_name(e.code()) + ": " + e.text();
}

namespace {

// `g` written at `protocol` (with the registry when there is one), or the
// refusal. Not const: registered instances' hooks may add nodes.
Answer::Dump dump(pkl::Graph& g, const pkl::ClassRegistry* registry, int protocol) {
  Answer::Dump d;
  try {
    pkl::EncodeOptions eo;
    eo.protocol = protocol;
    eo.registry = registry;
    d.bytes.emplace(pkl::encode(g, g.root(), eo));
  } catch (const pkl::Error& e) {
    d.error = describe_error(e);
  }
  return d;
}

}  // namespace

Answer CodecBackend::run(const Case& c) {
  Answer a;
  std::string_view input = c.input;
  if (c.graph && c.load) {  // a round trip: the graph written at c.protocol, then loaded
    a.dumps.push_back(dump(*c.graph->graph, c.graph->registry, c.protocol));
    if (!a.dumps[0].ok()) {
      a.kind = Answer::Kind::Reject;
      a.text = a.dumps[0].error;
      return a;
    }
    input = *a.dumps[0].bytes;
  } else if (c.graph) {  // the graph itself, written at every protocol
    a.kind = Answer::Kind::Accept;
    for (int p = 0; p < kProtocols; ++p) a.dumps.push_back(dump(*c.graph->graph, c.graph->registry, p));
    return a;
  }
  const GraphCase* hooks = c.load ? c.load->hooks : nullptr;
  try {
    if (hooks) {  // the registry's hooks log each set_state call's argument
      pkl::DecodeOptions o = options_;
      o.registry = hooks->registry;
      call_log().clear();
      a.graph.emplace(pkl::decode(input, o));
      a.calls = call_log();
    } else {
      a.graph.emplace(pkl::decode(input, options_));
    }
  } catch (const pkl::Error& e) {
    a.kind = Answer::Kind::Reject;
    a.text = describe_error(e);
    return a;
  }
  a.kind = Answer::Kind::Accept;
  if (c.load) return a;  // described by the graph (and the calls)
  for (int p = 0; p < kProtocols; ++p) a.dumps.push_back(dump(*a.graph, nullptr, p));
  return a;
}

}  // namespace pklharness
