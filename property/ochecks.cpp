#include "ochecks.hpp"

#include <cstdio>

#include "codec_backend.hpp"
#include "executor.hpp"
#include "harness.hpp"
#include "oracle_backend.hpp"
#include "picklecodec/error.hpp"

namespace pklprop {

using pkl::Error;
using pkl::ErrorCode;

CPythonRun run_against_cpython(Subject& s) {
  static pklharness::CodecBackend codec;
  static pklharness::OracleServer server;
  static pklharness::Executor executor(codec, server);
  const pklharness::GraphCase g{&s.graph, &registry(), s.json};
  CPythonRun r;
  r.outcome = executor.run({{}, &g});
  const pklharness::Answer& a = executor.reference_answer();  // (no graph: a copy of the rest)
  r.cpython.kind = a.kind;
  r.cpython.text = a.text;
  r.cpython.dumps = a.dumps;
  return r;
}

bool allowed_refusal(const Subject& s, int q, const std::string& error) {
  // Protocols 0 and 1 write LONG text, refused past 4300 digits by CPython
  // and by the encoder alike (EncodeOptions::max_int_digits).
  return q <= 1 && s.facts.big_int_text && error.find("digits") != std::string::npos;
}

namespace {
// CPython refused; the codec must refuse too, unless the refusal is allowed.
std::string both_refuse(Subject& s, int q, const std::string& error) {
  if (allowed_refusal(s, q, error)) return "";
  try {
    std::string bytes = encode_graph(s, q);
    return "CPython refuses (" + error + ") but the codec wrote " + std::to_string(bytes.size()) + " bytes: " +
           hex(std::string_view(bytes).substr(0, 200));
  } catch (const Error&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("encode threw a foreign exception: ") + e.what();
  }
}
}  // namespace

std::string check_cpython_bytes(Subject& s, int q, const CPythonRun& r, std::string* evidence) {
  using pklharness::Outcome;
  const Outcome& o = r.outcome;
  if (o.status == Outcome::Status::CannotAnswer) return q == 0 ? "CPython cannot answer: " + o.divergence : "";
  const size_t qi = static_cast<size_t>(q);
  const pklharness::Answer::Dump* theirs = qi < r.cpython.dumps.size() ? &r.cpython.dumps[qi] : nullptr;
  if (evidence && theirs && theirs->ok()) *evidence = *theirs->bytes;
  if (o.status == Outcome::Status::Different && (o.protocol == q || (o.protocol < 0 && q == 0)) &&
      !(theirs && !theirs->ok() && allowed_refusal(s, q, theirs->error)))
    return o.what + "\n  codec:   " + o.subject_answer + "\n  cpython: " + o.reference_answer;
  // The executor judged the bytes up to set order; where CPython writes sets
  // in hash order its bytes must also decode to g.
  if (s.facts.unordered_sets && theirs && theirs->ok()) return check_decodes(s, q, *theirs->bytes);
  return "";
}

std::string check_cpython_decode(Subject& s, int q, const pklharness::Answer::Dump* d, std::string* evidence) {
  if (d) {
    if (!d->ok()) return "";  // property 2 checks the refusal
    if (evidence) *evidence = *d->bytes;
    std::string msg = check_decodes(s, q, *d->bytes);
    if (!msg.empty()) return msg;
    return check_recode(*d->bytes, q, s.facts.deep, s.facts.unordered_sets ? std::string_view() : std::string_view(*d->bytes));
  }
  // Deep: CPython cannot dump it, but must load the codec's pickle as g.
  // (Not where the oracle's loader must guess NEWOBJ_EX's memoized args and
  // kwargs back from its memo: that guess is a heuristic.)
  if (q >= 4 && (s.facts.kwargs_instance || s.facts.newobj_ex_object)) return "";
  std::string bytes;
  try {
    bytes = encode_graph(s, q);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Unpicklable) return "";
    return std::string("encode failed: ") + e.what();
  }
  if (evidence) *evidence = bytes;
  JVal ans = oracle_load_graph(bytes);
  const JVal& p = ans.at("pickles")[0];
  if (!p.at("accepted").truthy()) {
    const std::string err = p.at("error").at("type").s + ": " + p.at("error").at("message").s;
    if (q == 0 && s.facts.big_int_text && err.find("digits") != std::string::npos) return "";
    return "CPython refuses the codec's pickle: " + err;
  }
  // CPython's inert load (registered classes are stand-ins there too) must
  // be the codec's inert decode of the same bytes; property 1 ties that to g.
  pkl::Graph theirs = to_graph(gdoc_from_json(p.at("graph")));
  pkl::Graph ours;
  try {
    ours = pkl::decode(bytes, decode_options(false, true));
  } catch (const Error& e) {
    return std::string("the codec's inert decode of its own pickle failed: ") + e.what();
  }
  std::string diff = compare(ours, ours.root(), theirs, theirs.root(), cmp_options(s, q));
  if (!diff.empty()) return "CPython loads the codec's pickle as another graph than the codec's inert decode: " + diff;
  return check_recode(bytes, q, true);
}

namespace {
// What property 4 compared, per protocol (printed when the process ends, for
// the campaign figures in property/README.md).
struct SetstateStats {
  long graphs[6] = {}, falsy[6] = {}, refused_dumps[6] = {}, refused_loads[6] = {}, with_calls[6] = {},
       calls[6] = {};
  ~SetstateStats() {
    long total = 0;
    for (long g : graphs) total += g;
    if (total == 0) return;
    std::printf("[pklprop] set_state against CPython's __setstate__ log:\n");
    for (int q = 0; q < 6; ++q)
      std::printf("[pklprop]   protocol %d: %ld graphs (%ld with a falsy or None state), %ld dumps and %ld loads "
                  "CPython refuses, %ld with __setstate__ calls, %ld calls compared\n",
                  q, graphs[q], falsy[q], refused_dumps[q], refused_loads[q], with_calls[q], calls[q]);
    std::fflush(stdout);
  }
};
SetstateStats setstate_stats;
}  // namespace

std::string check_setstate(Subject& s, int q, std::string* evidence) {
  // CPython's own answer at every protocol: the oracle loads CPython's bytes
  // with the shapes' classes, copyreg._reconstructor included (protocols
  // 0-1 rebuild instances with it), and logs each __setstate__ call once.
  const int qi = q >= 0 && q < 6 ? q : 0;
  ++setstate_stats.graphs[qi];
  if (s.facts.falsy_states > 0) ++setstate_stats.falsy[qi];
  JVal ans = oracle_setstate_calls(s.json, q);
  if (!ans.at("ok").truthy()) {
    ++setstate_stats.refused_dumps[qi];
    const JVal& e = ans.at("error");
    return both_refuse(s, q, e.at("type").s + ": " + e.at("message").s);
  }
  const std::string cpython = base64_decode(ans.at("data").s);
  if (evidence) *evidence = cpython;
  const bool accepted = ans.at("accepted").truthy();
  std::vector<pkl::Graph> want;
  if (accepted)
    for (const JVal& c : ans.at("calls").arr) want.push_back(to_graph(gdoc_from_json(c)));
  if (!accepted) ++setstate_stats.refused_loads[qi];
  if (!want.empty()) ++setstate_stats.with_calls[qi];
  setstate_stats.calls[qi] += static_cast<long>(want.size());
  CmpOptions co = cmp_options(s, q);
  co.instances_by_class = true;
  auto run = [&](const std::string& bytes, const char* whose, bool values) -> std::string {
    call_log().clear();
    std::optional<pkl::Graph> g;
    std::string why;
    try {
      g = pkl::decode(bytes, decode_options(true, s.facts.deep));
    } catch (const Error& e) {
      why = e.what();
    } catch (const std::exception& e) {
      return std::string("decode threw a foreign exception: ") + e.what();
    }
    if (!accepted) {
      if (g) return std::string("CPython's load of ") + whose + " fails (" + ans.at("error").at("message").s + ") but the codec decodes it";
      return "";
    }
    if (!g) return std::string("CPython loads ") + whose + " but the codec refuses it: " + why;
    const std::vector<pkl::NodeId> calls = call_log();
    if (calls.size() != want.size())
      return std::string(whose) + ": set_state ran " + std::to_string(calls.size()) + " times, CPython's __setstate__ " +
             std::to_string(want.size()) + " times";
    for (size_t i = 0; values && i < calls.size(); ++i) {
      std::string diff = compare(want[i], want[i].root(), *g, calls[i], co);
      if (!diff.empty()) return std::string(whose) + ": set_state call " + std::to_string(i) + " has another argument: " + diff;
    }
    return "";
  };
  std::string msg = run(cpython, "CPython's pickle", true);
  if (!msg.empty()) return msg;
  std::string ours;
  try {
    ours = encode_graph(s, q);
  } catch (const Error& e) {
    return std::string("CPython writes it, the codec refuses: ") + e.what();
  }
  // With sets in hash order the instances in them may be built in another order.
  return run(ours, "the codec's pickle", !s.facts.unordered_sets);
}

}  // namespace pklprop
