// fuzz_scan: pkl::scan on any bytes, under its strict budget. No input may
// crash, hang, leak or throw (a scan reports its failures as findings), and
// no finding is worse than the verdict.
//
// And the scan's steps cover the decoder's graphs, in every container: each
// pickle stream the scan decodes is handed to this target (Options::
// on_stream: the input as a plain pickle, zip and tar members, inflated
// streams, the legacy torch format, .npy object arrays, joblib streams and
// their object arrays, joblib < 0.10's ZF pickle, nested loaders' bytes),
// which decodes it itself, pickle after pickle as the scan reads it. Every
// object of each graph was made by a callable (or class) the report lists
// among the steps at that stream's location, and a stream whose first
// pickle does not decode makes the report not clean.
//
// What cannot be checked this way, and why:
// - joblib.load's reading of a joblib stream. Which bytes it passes over as
//   array data (after a NumpyArrayWrapper's BUILD) is decided by the scan's
//   own reading of the wrapper (scan/joblib.cpp); an independent decoder
//   reads those bytes as opcodes. The stream is checked as pickle.load reads
//   it (the scan reports that reading's steps from the first array on), and
//   each object array's pickle is checked as a stream of its own.
// - A stream where the scan failed closed (a finding of severity error at
//   its location: bad-joblib, a load error of an object array, a budget):
//   the scan stops where it cannot place what follows, so later objects are
//   not listed; the verdict is then error (or dangerous), which nothing passes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/scan.hpp"

namespace {

std::string name_of(const pkl::Graph& g, pkl::NodeId n) {
  if (n == pkl::kNoNode || g.kind(n) != pkl::Kind::Global) return "";
  return g.global_data(n).module + "." + g.global_data(n).qualname;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "fuzz_scan: %s\n", why.c_str());
  std::abort();
}

// An object of a decoded graph: made by `callable` (cls.__new__ of `cls`).
struct Made {
  std::string location, callable, cls;
  bool cls_is_result = false;  // cls.__new__ on an object a call made
};

// Decodes a stream the scan read, as the scan's options say, and notes what
// made each object. false: its first pickle does not decode.
bool decode_stream(std::span<const uint8_t> data, const std::string& loc, size_t pickles, const pkl::scan::Options& o,
                   std::vector<Made>& made) {
  pkl::DecodeOptions d;
  d.limits = o.limits;
  d.string_encoding = o.string_encoding;
  d.persistent_ids = pkl::PersistentIds::Keep;
  pkl::MemorySource src(data);
  pkl::Decoder dec(src, d);
  for (size_t n = 0; pickles == 0 || n < pickles; ++n) {
    const bool first = n == 0;
    try {
      const auto g = dec.next();
      if (!g) return !first;
      for (pkl::NodeId n = 0; n < g->size(); ++n) {
        if (g->kind(n) != pkl::Kind::Object) continue;
        const pkl::ObjectData& od = g->object_data(n);
        Made m{loc, name_of(*g, od.callable), "", false};
        if (m.callable.empty()) continue;  // a call on a call's result: its callable object is checked itself
        if (g->kind(od.args) == pkl::Kind::Tuple && g->length(od.args) > 0) {
          m.cls = name_of(*g, g->items(od.args)[0]);
          m.cls_is_result = g->kind(g->items(od.args)[0]) == pkl::Kind::Object;
        }
        made.push_back(std::move(m));
      }
    } catch (const pkl::Error&) {
      return !first;  // what follows a pickle that does not decode is read by nobody
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pkl::scan::Options o;
  o.policy = pkl::scan::Policy::profile("stdlib");
  o.max_inflated_bytes = uint64_t{64} << 20;
  std::vector<Made> made;
  std::vector<std::string> undecodable;  // streams whose first pickle does not decode
  o.on_stream = [&](std::span<const uint8_t> s, const std::string& loc, size_t pickles) {
    if (!decode_stream(s, loc, pickles, o, made)) undecodable.push_back(loc);
  };
  const pkl::scan::Report r = pkl::scan::scan_bytes(std::span<const uint8_t>(data, size), o);
  for (const auto& f : r.findings)
    if (f.severity > r.verdict && !(r.verdict == pkl::scan::Verdict::Dangerous && f.severity == pkl::scan::Verdict::Error))
      fail("a finding worse than the verdict: " + f.rule);
  if (!undecodable.empty() && r.verdict == pkl::scan::Verdict::Clean)
    fail("clean, though the first pickle at '" + undecodable.front() + "' does not decode");

  std::set<std::string> failed_closed;  // locations with an error finding
  for (const auto& f : r.findings)
    if (f.severity == pkl::scan::Verdict::Error) failed_closed.insert(f.location);
  std::map<std::string, std::set<std::string>> targets;
  std::set<std::string> on_results;  // locations with a step on the result of a call ("<result of ...>")
  for (const auto& s : r.steps) {
    targets[s.location].insert(s.target);
    if (s.target.rfind("<result of ", 0) == 0) on_results.insert(s.location);
  }
  for (const Made& m : made) {
    if (failed_closed.count(m.location)) continue;
    const auto& t = targets[m.location];
    if (!t.count(m.callable) && !(m.cls.size() && t.count(m.cls)) && !(m.cls_is_result && on_results.count(m.location)))
      fail("the graph at '" + m.location + "' holds an object made by " + m.callable +
           (m.cls.empty() ? "" : "(" + m.cls + ")") + " that the scan did not list");
  }
  return 0;
}
