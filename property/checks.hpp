// The properties' checks, as plain functions: the RapidCheck properties run
// them on generated graphs, and the regression replay runs them on the
// graphs and pickles kept in corpus/regressions/property-*.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "compare.hpp"
#include "desc.hpp"
#include "gdoc.hpp"

namespace pklprop {

// A graph under test: its GDoc, the pkl::Graph built from it, its facts and
// its graph JSON.
struct Subject {
  GDoc doc;
  pkl::Graph graph;
  std::vector<pkl::NodeId> ids;
  Facts facts;
  std::string json;
};
Subject make_subject(GDoc doc);

// Decoding options of the properties: the registry of the shapes (or none:
// inert), no digit limit (the codec's text-int budget is a documented
// divergence), and room for the deep graphs.
pkl::DecodeOptions decode_options(bool registered, bool deep = false);

// Encodes with the shapes' registry; pkl::Error propagates.
std::string encode_graph(Subject& s, int protocol);

// Comparison options for a graph written at `protocol`.
CmpOptions cmp_options(const Subject& s, int protocol);

// Each check returns "" when it holds, else what went wrong.
std::string check_roundtrip(Subject& s, int protocol, std::string* bytes = nullptr);
// `cpython`: CPython's pickle of the same graph at `protocol`.
std::string check_decodes(Subject& s, int protocol, std::string_view cpython);
std::string check_recode(std::string_view pickle, int protocol, bool deep, std::string_view must_equal = {});
// Every proper prefix rejected as truncated (all of them up to `all_up_to`
// bytes, else a sample that always includes the first and last 64).
std::string check_prefixes(std::string_view pickle, size_t all_up_to = 4096, uint64_t seed = 0);
// A mutated pickle is decoded or rejected with pkl::Error, nothing else.
std::string check_mutant(std::string_view pickle);
// n graphs on one stream come back in order, then a clean end.
std::string check_stream(std::vector<Subject>& ss, int protocol);

// The regression record of the current property case (kept until the test
// ends: the last one recorded is the shrunk counterexample).
struct CaseRecord {
  std::string property;
  int protocol = -1;
  std::vector<std::string> graphs;  // graph JSON of each graph (streams: several)
  std::string pickle;               // the bytes the replay needs (see property/README.md)
  std::string message;
  std::string show;                 // pickletool show notation of the first graph
};
// Records the case and returns `message` (for RC_FAIL).
std::string record_failure(const char* property, int protocol, const std::vector<const Subject*>& subjects,
                           std::string pickle, std::string message);
std::optional<CaseRecord>& last_failure();

}  // namespace pklprop
