// The encoder's public entry points: encode(), encode_to() and Encoder.
#include <exception>
#include <new>
#include <stdexcept>
#include <vector>

#include "encode/engine.hpp"
#include "base/foreign.hpp"

namespace pkl {

namespace {

// Runs the engine into `out` (cleared first), and into `externs` when given
// (large payloads of the graph left where they are). Nothing but pkl::Error
// leaves: rethrow_as_error maps the rest (a hook's own exception: Usage).
void run(const Graph& g, Graph* mg, NodeId root, const EncodeOptions& options, std::string& out,
         std::vector<enc::Extern>* externs = nullptr) {
  out.clear();
  try {
    enc::Engine engine(&g, mg, options, out, externs);
    engine.run(root);
  } catch (...) {
    out.clear();
    detail::rethrow_as_error("a hook");
  }
}

// A whole pickle to the sink, flushed: the buffer with the payloads left out
// of it put back in their places. Only a pickle that was made whole is
// written, so a failed dump writes nothing; the graph (and so every
// extern's bytes) outlives this call.
void write_out(Sink& sink, const std::string& pickle, const std::vector<enc::Extern>& externs) {
  size_t at = 0;
  for (const enc::Extern& e : externs) {
    if (e.at > at) sink.write(pickle.data() + at, e.at - at);
    sink.write(e.data, e.size);
    at = e.at;
  }
  sink.write(pickle.data() + at, pickle.size() - at);
  sink.flush();
}

}  // namespace

std::string encode(Graph& graph, NodeId root, const EncodeOptions& options) {
  std::string out;
  run(graph, &graph, root, options, out);
  return out;
}

std::string encode(const Graph& graph, NodeId root, const EncodeOptions& options) {
  std::string out;
  run(graph, nullptr, root, options, out);
  return out;
}

void encode_to(Sink& sink, Graph& graph, NodeId root, const EncodeOptions& options) {
  Encoder(sink, options).dump(graph, root);
}

void encode_to(Sink& sink, const Graph& graph, NodeId root, const EncodeOptions& options) {
  Encoder(sink, options).dump(graph, root);
}

// A sink takes the graph's large payloads from where they are (a recode's
// blobs straight from the mapped input): the buffer holds the rest.
void Encoder::dump(Graph& graph, NodeId root) {
  std::vector<enc::Extern> externs;
  run(graph, &graph, root, options_, buffer_, &externs);
  write_out(sink_, buffer_, externs);
  ++count_;
}

void Encoder::dump(const Graph& graph, NodeId root) {
  std::vector<enc::Extern> externs;
  run(graph, nullptr, root, options_, buffer_, &externs);
  write_out(sink_, buffer_, externs);
  ++count_;
}

}  // namespace pkl
