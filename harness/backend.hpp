// A backend answers a case (one input: a pickle, or a stream of them) as
// pickle.loads and then pickle.dumps at every protocol would, or a graph
// case as pickle.dumps of that graph at every protocol, or says it cannot
// answer. The codec is one backend (codec_backend.hpp), CPython embedded in
// the process another (embedded_cpython.hpp), the oracle server a third
// (oracle_backend.hpp); the executor (executor.hpp) sends a case to two of
// them and compares.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"

namespace pklharness {

struct Equivalence;

inline constexpr int kProtocols = 6;  // 0..5

// A graph to write at every protocol (pickle.dumps of the graph the
// oracle's builder makes from `json`): the codec encodes `graph` (with
// `registry` for its registered instances), CPython builds `json`.
struct GraphCase {
  pkl::Graph* graph = nullptr;  // not const: registered instances' hooks may add nodes
  const pkl::ClassRegistry* registry = nullptr;
  std::string_view json;        // the same graph as graph JSON (docs/graph-json.md)
};

// Load and describe: what loading makes, compared as graphs (not as the
// bytes a dump writes): the loaded graph, or with `hooks` the arguments of
// the registered classes' set_state (__setstate__) calls, in order.
struct LoadCase {
  // How the two answers' graphs and calls compare (not owned): the one
  // equivalence, with the options the caller's protocol needs.
  const Equivalence* equivalence = nullptr;
  // Load with registered classes that log their set_state calls: the codec
  // decodes with `hooks->registry` (its set_state calls logged in gdoc.hpp's
  // call_log()), CPython with the classes the instance nodes of
  // `hooks->json` define. The calls are compared, not the loaded graphs.
  const GraphCase* hooks = nullptr;
  // The calls are counted, not compared: a round trip where the two may
  // build instances in another order (inside sets each writes in its order).
  bool count_calls_only = false;
};

// A case: an input to load (a pickle, or a stream of them) then dump at
// every protocol; or, with `graph`, a graph to dump at every protocol; or,
// with `load`, the input loaded and described (LoadCase); or, with `graph`
// and `load`, a round trip: the graph dumped at `protocol` and that loaded
// (the dump's refusal, then the load's, then what it made compared).
struct Case {
  std::string_view input;
  const GraphCase* graph = nullptr;
  const LoadCase* load = nullptr;
  int protocol = -1;  // a round trip's
};

struct Answer {
  enum class Kind { Accept, Reject, CannotAnswer };
  Kind kind = Kind::CannotAnswer;
  // Reject: the refusal ("error ResourceLimit: ..." from the codec, "Type:
  // message" from CPython); CannotAnswer: why.
  std::string text;
  // Accept: per protocol, the bytes written, or the refusal to write (a
  // round trip: its one dump, whatever the load did).
  struct Dump {
    std::optional<std::string> bytes;
    std::string error;  // when !bytes: "error Code: message" / "Type: message"
    bool ok() const { return bytes.has_value(); }
  };
  std::vector<Dump> dumps;
  // Accept: the graph read (the codec's always; a load case's from every
  // backend).
  std::optional<pkl::Graph> graph;
  // Accept, a load case with hooks: the argument of each set_state call, in
  // order, as a node of call_graph(i).
  std::vector<pkl::NodeId> calls;
  std::vector<pkl::Graph> call_graphs;  // one per call, or none: the calls are nodes of `graph`
  const pkl::Graph& call_graph(size_t i) const { return call_graphs.empty() ? *graph : call_graphs[i]; }

  bool accepted() const { return kind == Kind::Accept; }
  static Answer cannot(std::string why) {
    Answer a;
    a.text = std::move(why);
    return a;
  }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual Answer run(const Case& c) = 0;
  // A reference that runs Python decides the table's python-only rows: the
  // divergence id a difference between `subject`'s and this backend's
  // answers (as described by describe()) is, if any.
  virtual std::optional<std::string> python_only_divergence(const Case&, const std::string& /*subject*/,
                                                            const std::string& /*mine*/) {
    return std::nullopt;
  }
  // Whether `subject_bytes` is this backend's writing `mine` of the last
  // accepted case at `protocol` with set items in another order: true,
  // false, or nullopt when it cannot tell (the executor then compares graphs).
  virtual std::optional<bool> same_up_to_set_order(int /*protocol*/, const std::string& /*mine*/,
                                                   const std::string& /*subject_bytes*/) {
    return std::nullopt;
  }
};

}  // namespace pklharness
