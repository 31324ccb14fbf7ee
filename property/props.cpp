// The properties, each checked at every protocol 0-5 for every generated
// graph. See property/README.md.
#include <algorithm>

#include "backend.hpp"  // kProtocols
#include "harness.hpp"
#include "ochecks.hpp"
#include "picklecodec/error.hpp"

using namespace pklprop;

// 1. decode(encode(g)) is g: isomorphic, sharing and cycles included.
PKL_PROP(Property, RoundTrip, 500, (const Desc& d)) {
  Subject s = make_subject(materialize(d));
  for (int q = 0; q < kProtocols; ++q) {
    std::string bytes;
    std::string msg = check_roundtrip(s, q, &bytes);
    if (!msg.empty()) RC_FAIL(record_failure("roundtrip", q, {&s}, bytes, msg));
  }
}

// 2. encode(g) equals CPython's pickle.dumps of the same graph.
PKL_PROP(Property, MatchesCPython, 500, (const Desc& d)) {
  Subject s = make_subject(materialize(d));
  // CPython's pickler recurses too deep (property 3 covers these); the
  // oracle's builder cannot make ints of more than 4300 digits.
  if (s.facts.deep || s.facts.big_int_text) return;
  const CPythonRun run = run_against_cpython(s);
  for (int q = 0; q < kProtocols; ++q) {
    std::string evidence;
    std::string msg = check_cpython_bytes(s, q, run, &evidence);
    if (!msg.empty()) RC_FAIL(record_failure("cpython-bytes", q, {&s}, evidence, msg));
  }
}

// 3. Decoding CPython's bytes for g gives g; recode is idempotent.
PKL_PROP(Property, DecodesCPython, 300, (const Desc& d)) {
  Subject s = make_subject(materialize(d));
  if (s.facts.big_int_text) return;  // the oracle can neither build nor show such ints
  std::optional<CPythonRun> run;
  if (!s.facts.deep) run = run_against_cpython(s);
  for (int q = 0; q < kProtocols; ++q) {
    if (s.facts.very_deep && q != 2 && q != 5) continue;  // two protocols suffice for 100k-deep graphs
    const pklharness::Answer::Dump* dump =
        run && static_cast<size_t>(q) < run->cpython.dumps.size() ? &run->cpython.dumps[static_cast<size_t>(q)] : nullptr;
    if (run && !dump) RC_FAIL(record_failure("cpython-decode", q, {&s}, "", "CPython cannot answer: " + run->outcome.divergence));
    std::string evidence;
    std::string msg = check_cpython_decode(s, q, dump, &evidence);
    if (!msg.empty()) RC_FAIL(record_failure("cpython-decode", q, {&s}, evidence, msg));
  }
}

// 4. set_state runs exactly when CPython runs __setstate__, with the same value.
PKL_PROP(Property, StateHooks, 300, ()) {
  // Graphs with at least one registered instance, with a falsy state half the time.
  GenOptions with_instance;
  with_instance.with_instance = true;
  const Desc d = *gen_desc(with_instance);
  Subject s = make_subject(materialize(d));
  if (s.facts.deep || s.facts.big_int_text) return;
  for (int q = 0; q < kProtocols; ++q) {
    std::string evidence;
    std::string msg = check_setstate(s, q, &evidence);
    if (!msg.empty()) RC_FAIL(record_failure("setstate", q, {&s}, evidence, msg));
  }
}

// 5. n graphs written to one stream come back in order, then a clean end.
PKL_PROP(Property, Streams, 200, ()) {
  const int n = uniform<int>(1, 6);
  std::vector<Subject> ss;
  for (int i = 0; i < n; ++i) ss.push_back(make_subject(materialize(*rc::gen::scale(0.6, gen_desc()))));
  std::vector<const Subject*> ptrs;
  for (const Subject& s : ss) ptrs.push_back(&s);
  for (int q = 0; q < kProtocols; ++q) {
    std::string msg = check_stream(ss, q);
    if (!msg.empty()) RC_FAIL(record_failure("stream", q, ptrs, "", msg));
  }
}

// 6a. Every proper prefix of a valid pickle is rejected as truncated.
PKL_PROP(Property, Truncation, 80, (const Desc& d)) {
  Subject s = make_subject(materialize(d));
  for (int q = 0; q < kProtocols; ++q) {
    std::string bytes;
    try {
      bytes = encode_graph(s, q);
    } catch (const pkl::Error&) {
      continue;  // property 2 checks refusals
    }
    std::string msg = check_prefixes(bytes, 2048, static_cast<uint64_t>(q));
    if (!msg.empty()) RC_FAIL(record_failure("truncated", q, {&s}, bytes, msg));
  }
}

// 6b. A mutated pickle is decoded or rejected, nothing else.
PKL_PROP(Property, Mutation, 400, (const Desc& d)) {
  Subject s = make_subject(materialize(d));
  static const std::vector<uint8_t> kOps = {'(', ')', '.', '0', '1', '2', 'a', 'b', 'c', 'd', 'e', 'g', 'h', 'i', 'j', 'l', 'o',
                                 'p', 'q', 'r', 's', 't', 'u', ']', '}', 0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89,
                                 0x8c, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 'R', 'N', 'J', 'K',
                                 'M', 'X', 'B', 'C', 'V', 'F', 'G', 'L', 'I', 'S', 'T', 'U', 0xff, 0x00};
  for (int q = 0; q < kProtocols; ++q) {
    std::string bytes;
    try {
      bytes = encode_graph(s, q);
    } catch (const pkl::Error&) {
      continue;
    }
    if (bytes.size() > 300000) continue;  // mutants of huge pickles add little
    for (int m = 0; m < 4; ++m) {
      std::string x = bytes;
      const int edits = uniform<int>(1, 4);
      for (int e = 0; e < edits && !x.empty(); ++e) {
        const size_t at = uniform<size_t>(0, x.size());
        switch (uniform<int>(0, 8)) {
          case 0: x[at] = static_cast<char>(*rc::gen::arbitrary<uint8_t>()); break;
          case 1: x[at] = static_cast<char>(*rc::gen::elementOf(kOps)); break;
          case 2: x.erase(at, std::min<size_t>(x.size() - at, uniform<size_t>(1, 9))); break;
          case 3: x.insert(at, 1, static_cast<char>(*rc::gen::elementOf(kOps))); break;
          case 4: {
            const size_t len = std::min<size_t>(x.size() - at, uniform<size_t>(1, 17));
            x.insert(at, x.substr(at, len));
            break;
          }
          case 5: x[at] = static_cast<char>(x[at] ^ (1 << uniform<int>(0, 8))); break;
          case 6: std::swap(x[at], x[uniform<size_t>(0, x.size())]); break;
          default: x = x.substr(0, at) + "."; break;
        }
      }
      std::string msg = check_mutant(x);
      if (!msg.empty()) RC_FAIL(record_failure("mutated", q, {&s}, x, msg));
    }
  }
}
