// fuzz_scan: pkl::scan on any bytes, under its strict budget. No input may
// crash, hang, leak or throw (a scan reports its failures as findings). And
// the scan's steps cover the decoder's graph: when the input is a plain
// pickle whose first pickle decodes, every object the graph holds was made
// by a callable (or class) the scan listed among its steps.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <string>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pkl::scan::Options o;
  o.policy = pkl::scan::Policy::profile("stdlib");
  o.max_inflated_bytes = uint64_t{64} << 20;
  const std::span<const uint8_t> in(data, size);
  const pkl::scan::Report r = pkl::scan::scan_bytes(in, o);
  for (const auto& f : r.findings)
    if (f.severity > r.verdict && !(r.verdict == pkl::scan::Verdict::Dangerous && f.severity == pkl::scan::Verdict::Error))
      fail("a finding worse than the verdict: " + f.rule);
  if (r.container != "pickle") return 0;

  std::set<std::string> targets;
  bool on_results = false;  // a step on the result of a call (its target reads "<result of ...>")
  for (const auto& s : r.steps)
    if (s.location.empty()) {
      targets.insert(s.target);
      on_results |= s.target.rfind("<result of ", 0) == 0;
    }
  pkl::DecodeOptions d;
  d.limits = o.limits;
  d.persistent_ids = pkl::PersistentIds::Keep;
  try {
    const pkl::Graph g = pkl::decode(in, d);
    for (pkl::NodeId n = 0; n < g.size(); ++n) {
      if (g.kind(n) != pkl::Kind::Object) continue;
      const pkl::ObjectData& od = g.object_data(n);
      const std::string callable = name_of(g, od.callable);
      if (callable.empty()) continue;  // a call on a call's result: its callable object is checked itself
      std::string cls;
      bool cls_is_result = false;  // cls.__new__ on an object a call made
      if (g.kind(od.args) == pkl::Kind::Tuple && g.length(od.args) > 0) {
        cls = name_of(g, g.items(od.args)[0]);
        cls_is_result = g.kind(g.items(od.args)[0]) == pkl::Kind::Object;
      }
      if (!targets.count(callable) && !(cls.size() && targets.count(cls)) && !(cls_is_result && on_results))
        fail("the graph holds an object made by " + callable + (cls.empty() ? "" : "(" + cls + ")") +
             " that the scan did not list");
    }
  } catch (const pkl::Error&) {
    // The decoder refuses it: the scan must not call it clean.
    if (r.verdict == pkl::scan::Verdict::Clean) fail("clean, though the first pickle does not decode");
  }
  return 0;
}
