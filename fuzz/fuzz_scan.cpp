// fuzz_scan: pkl::scan on any bytes, under its strict budget. No input may
// crash, hang, leak or throw (a scan reports its failures as findings), and
// no finding is worse than the verdict.
//
// And the scan's steps cover the decoder's graphs, in every container: each
// pickle stream the scan decodes is handed to this target (Options::
// on_stream: the input as a plain pickle, zip and tar members, inflated
// streams, the legacy torch format, .npy object arrays, joblib streams and
// their object arrays, joblib < 0.10's ZF pickle, nested loaders' bytes),
// which decodes it itself, pickle after pickle as the scan reads it: as the
// C unpickler reads it, and, for a stream read until its end (not a .npy or
// joblib object array or the legacy torch format, which only the C
// unpickler reads), as the pure-Python one does too (DecodeOptions::
// unpickler; the scan reads such a stream both ways). Every object of each
// graph was made by a callable (or class) the report lists among the steps
// at that stream's location, and a stream whose first pickle does not
// decode (as the C unpickler reads it) makes the report not clean.
//
// What cannot be checked this way, and why:
// - joblib.load's reading of a joblib stream. Which bytes it passes over as
//   array data (after a NumpyArrayWrapper's BUILD) is decided by the scan's
//   own reading of the wrapper (scan/joblib.cpp); an independent decoder
//   reads those bytes as opcodes. The stream is checked as pickle.load reads
//   it (the scan reports that reading's steps from the first array on), and
//   each object array's pickle is checked as a stream of its own.
// - The streams that only the scan's pure-Python reading reaches (a nested
//   loader's bytes past the point where the C unpickler stops): the scan
//   reports their steps, but hands over only the streams of its C reading.
// - A stream where the scan failed closed: an error at its location other
//   than the decoder's own load error (bad-joblib: the scan stops where it
//   cannot place what joblib reads), a load error of one of its object
//   arrays (the stream stops there, while a decoder that reads the array's
//   bytes as opcodes may go on), or a scan-error (the scan stopped whole).
//   Later objects are not listed; the verdict is error (or dangerous),
//   which nothing passes. A load error alone is no exemption: the decoder
//   fails at the same point as the scan's reading.
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

// Decodes a stream the scan read, as the scan's options and `unpickler`
// say, and notes what made each object. false: its first pickle does not decode.
bool decode_stream(std::span<const uint8_t> data, const std::string& loc, size_t pickles, const pkl::scan::Options& o,
                   pkl::Unpickler unpickler, std::vector<Made>& made) {
  pkl::DecodeOptions d;
  d.unpickler = unpickler;
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
    if (!decode_stream(s, loc, pickles, o, pkl::Unpickler::C, made)) undecodable.push_back(loc);
    if (pickles == 0) decode_stream(s, loc, pickles, o, pkl::Unpickler::Python, made);
  };
  const pkl::scan::Report r = pkl::scan::scan_bytes(std::span<const uint8_t>(data, size), o);
  for (const auto& f : r.findings)
    if (f.severity > r.verdict && !(r.verdict == pkl::scan::Verdict::Dangerous && f.severity == pkl::scan::Verdict::Error))
      fail("a finding worse than the verdict: " + f.rule);
  if (!undecodable.empty() && r.verdict == pkl::scan::Verdict::Clean)
    fail("clean, though the first pickle at '" + undecodable.front() + "' does not decode");

  bool stopped = false;                 // a scan-error: the scan stopped whole
  std::set<std::string> failed_closed;  // where the scan stopped before the decoder would
  for (const auto& f : r.findings) {
    if (f.severity != pkl::scan::Verdict::Error) continue;
    stopped |= f.rule == "scan-error";
    if (f.rule != "load-error") failed_closed.insert(f.location);
    if (const size_t a = f.location.rfind("#array@"); a != std::string::npos) failed_closed.insert(f.location.substr(0, a));
  }
  std::map<std::string, std::set<std::string>> targets;
  std::set<std::string> on_results;  // locations with a step on the result of a call ("<result of ...>")
  for (const auto& s : r.steps) {
    targets[s.location].insert(s.target);
    if (s.target.rfind("<result of ", 0) == 0) on_results.insert(s.location);
  }
  for (const Made& m : made) {
    if (stopped || failed_closed.count(m.location)) continue;
    const auto& t = targets[m.location];
    if (!t.count(m.callable) && !(m.cls.size() && t.count(m.cls)) && !(m.cls_is_result && on_results.count(m.location)))
      fail("the graph at '" + m.location + "' holds an object made by " + m.callable +
           (m.cls.empty() ? "" : "(" + m.cls + ")") + " that the scan did not list");
  }
  return 0;
}
