// The encoder's public entry points: encode(), encode_to() and Encoder.
#include <exception>
#include <new>
#include <stdexcept>

#include "encode/engine.hpp"
#include "base/foreign.hpp"

namespace pkl {

namespace {

// Runs the engine into `out` (cleared first). Nothing but pkl::Error leaves:
// rethrow_as_error maps the rest (a hook's own exception: Usage).
void run(const Graph& g, Graph* mg, NodeId root, const EncodeOptions& options, std::string& out) {
  out.clear();
  try {
    enc::Engine engine(&g, mg, options, out);
    engine.run(root);
  } catch (...) {
    out.clear();
    detail::rethrow_as_error("a hook");
  }
}

// A whole pickle to the sink, flushed.
void write_out(Sink& sink, const std::string& pickle) {
  sink.write(pickle.data(), pickle.size());
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

void Encoder::dump(Graph& graph, NodeId root) {
  run(graph, &graph, root, options_, buffer_);
  write_out(sink_, buffer_);
  ++count_;
}

void Encoder::dump(const Graph& graph, NodeId root) {
  run(graph, nullptr, root, options_, buffer_);
  write_out(sink_, buffer_);
  ++count_;
}

}  // namespace pkl
