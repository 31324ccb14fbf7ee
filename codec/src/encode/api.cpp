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

EncodeOptions with_protocol(int protocol) {
  EncodeOptions o;
  o.protocol = protocol;
  return o;
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

std::string encode(Graph& graph, NodeId root, int protocol) { return encode(graph, root, with_protocol(protocol)); }

std::string encode(const Graph& graph, NodeId root, int protocol) {
  return encode(graph, root, with_protocol(protocol));
}

std::string encode(Graph& graph, const EncodeOptions& options) { return encode(graph, graph.root(), options); }

std::string encode(const Graph& graph, const EncodeOptions& options) {
  return encode(graph, graph.root(), options);
}

void encode_to(Sink& sink, Graph& graph, NodeId root, const EncodeOptions& options) {
  Encoder enc(sink, options);
  enc.dump(graph, root);
}

void encode_to(Sink& sink, const Graph& graph, NodeId root, const EncodeOptions& options) {
  Encoder enc(sink, options);
  enc.dump(graph, root);
}

void encode_to(int fd, Graph& graph, NodeId root, const EncodeOptions& options) {
  FdSink sink(fd);
  encode_to(sink, graph, root, options);
}

void encode_to(std::ostream& out, Graph& graph, NodeId root, const EncodeOptions& options) {
  StreamSink sink(out);
  encode_to(sink, graph, root, options);
}

void Encoder::dump(Graph& graph, NodeId root) {
  run(graph, &graph, root, options_, buffer_);
  sink_.write(buffer_.data(), buffer_.size());
  sink_.flush();
  ++count_;
}

void Encoder::dump(const Graph& graph, NodeId root) {
  run(graph, nullptr, root, options_, buffer_);
  sink_.write(buffer_.data(), buffer_.size());
  sink_.flush();
  ++count_;
}

}  // namespace pkl
