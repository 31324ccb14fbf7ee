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

namespace {
pklharness::CodecBackend& codec_backend() {
  static pklharness::CodecBackend codec;
  return codec;
}
pklharness::OracleServer& cpython_backend() {
  static pklharness::OracleServer server;
  return server;
}
// Load cases: the codec decodes inert (or with the case's hooks), with room
// for the deep graphs and no digit limit, as decode_options() does.
pklharness::Executor& load_executor() {
  static pklharness::CodecBackend codec(decode_options(false, true));
  static pklharness::Executor executor(codec, cpython_backend());
  return executor;
}
}  // namespace

CPythonRun run_against_cpython(Subject& s) {
  static pklharness::Executor executor(codec_backend(), cpython_backend());
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
  // CPython's inert load (registered classes are stand-ins there too) must
  // be the codec's inert decode of the same bytes, by the executor's load
  // case; property 1 ties that to g.
  const CmpEquivalence eq(cmp_options(s, q));
  const pklharness::LoadCase load{&eq.get(), nullptr};
  const pklharness::Outcome o = load_executor().run({bytes, nullptr, &load});
  using Status = pklharness::Outcome::Status;
  if (o.status == Status::CannotAnswer) return "CPython cannot load the codec's pickle: " + o.divergence;
  if (o.status == Status::Different)
    return "CPython and the codec load the codec's pickle differently: " + o.what + "\n  codec:   " + o.subject_answer +
           "\n  cpython: " + o.reference_answer;
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
  // Two cases of the executor with the shapes' hook classes, the codec's
  // set_state calls against CPython's __setstate__ calls (the oracle loads
  // with the shapes' classes, copyreg._reconstructor included: protocols
  // 0-1 rebuild instances with it):
  //  - the round trip: each writes the graph at q and loads its own bytes
  //    (where CPython refuses to write, the codec refuses; with sets in hash
  //    order the instances in them may be built in another order: counted);
  //  - where the bytes differ, CPython's bytes loaded by both.
  const int qi = q >= 0 && q < 6 ? q : 0;
  ++setstate_stats.graphs[qi];
  if (s.facts.falsy_states > 0) ++setstate_stats.falsy[qi];
  using Status = pklharness::Outcome::Status;
  CmpOptions co = cmp_options(s, q);
  co.instances_by_class = true;
  const CmpEquivalence eq(co);
  const pklharness::GraphCase g{&s.graph, &registry(), s.json};
  auto verdict = [](const pklharness::Outcome& o, const std::string& whose) -> std::string {
    if (o.status == Status::CannotAnswer) return whose + ": CPython cannot answer: " + o.divergence;
    if (o.status == Status::Different)
      return whose + ": " + o.what + "\n  codec:   " + o.subject_answer + "\n  cpython: " + o.reference_answer;
    return "";
  };
  pklharness::Executor& ex = load_executor();
  const pklharness::LoadCase round{&eq.get(), &g, s.facts.unordered_sets};
  pklharness::Case c{{}, &g, &round};
  c.protocol = q;
  const pklharness::Outcome o = ex.run(c);
  const pklharness::Answer& cpython = ex.reference_answer();
  const pklharness::Answer::Dump* theirs = cpython.dumps.empty() ? nullptr : &cpython.dumps[0];
  if (theirs && !theirs->ok()) ++setstate_stats.refused_dumps[qi];
  if (theirs && theirs->ok()) {
    if (evidence) *evidence = *theirs->bytes;
    if (cpython.kind == pklharness::Answer::Kind::Reject) ++setstate_stats.refused_loads[qi];
    if (!cpython.calls.empty()) ++setstate_stats.with_calls[qi];
    setstate_stats.calls[qi] += static_cast<long>(cpython.calls.size());
  }
  std::string msg = verdict(o, "the round trip");
  if (!msg.empty() || !theirs || !theirs->ok()) return msg;
  const pklharness::Answer& codec = ex.subject_answer();
  if (!codec.dumps.empty() && codec.dumps[0].ok() && *codec.dumps[0].bytes == *theirs->bytes) return "";
  const std::string cpython_bytes = *theirs->bytes;
  const pklharness::LoadCase load{&eq.get(), &g};
  return verdict(ex.run({cpython_bytes, nullptr, &load}), "CPython's pickle");
}

}  // namespace pklprop
