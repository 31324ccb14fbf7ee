// The oracle server (oracle/server.py, one python3 process spoken to over
// pipes: oracle.hpp) as a backend: CPython's C pickle module with the
// oracle's inert stand-ins. A graph case is its builder's graph from graph
// JSON dumped at every protocol (op build_dump: registered classes as the
// property tests define them, docs/graph-json.md); an input case is
// loaded as pickle.loads reads it and dumped at every protocol (op redump).
// A load case is its inert load's graph (op load_graph), or with hooks the
// __setstate__ calls of a load with the graph's hook classes (op
// load_hooks); a round trip (a graph case with a load) the builder's graph
// dumped and loaded with them (op setstate_calls). The table's python-only rows of an input case are the
// server's (op classify, oracle/verdict.py).
#pragma once

#include "backend.hpp"
#include "oracle.hpp"

namespace pklharness {

class OracleServer : public Backend {
 public:
  explicit OracleServer(Oracle& server = oracle()) : server_(server) {}
  std::string_view name() const override { return "CPython"; }
  // A request the server answers {"ok": false} (its builder could not make
  // the graph, ...) is CannotAnswer, with "oracle error: Type: message".
  Answer run(const Case& c) override;
  std::optional<std::string> python_only_divergence(const Case& c, const std::string& subject,
                                                    const std::string& mine) override;

 private:
  Answer load(const Case& c);
  Answer round_trip(const Case& c);
  Oracle& server_;
};

}  // namespace pklharness
