// The checks that ask CPython (through the oracle server), per protocol.
// Property 2 is a case of the harness's executor (docs/harness.md).
#pragma once

#include <string>

#include "checks.hpp"
#include "executor.hpp"
#include "json.hpp"

namespace pklprop {

// CPython's answer for a subject's graph (one build_dump request through
// the oracle server as a harness backend, harness/oracle_backend.hpp) and
// the harness's executor's verdict on it: the one compare (bytes, set
// order) and the one divergence table, as fuzz_diff_cpython's.
struct CPythonRun {
  pklharness::Outcome outcome;
  pklharness::Answer cpython;  // its dumps per protocol (empty when it cannot answer)
};
CPythonRun run_against_cpython(Subject& s);

// A refusal of CPython's that the codec need not copy (documented in
// property/README.md): the 4300-digit text limit at protocols 0-1.
bool allowed_refusal(const Subject& s, int protocol, const std::string& error);

// Property 2: encode(g) at `protocol` is CPython's bytes, by the executor's
// verdict; with sets CPython writes in hash order, decoding CPython's bytes
// also gives g.
std::string check_cpython_bytes(Subject& s, int protocol, const CPythonRun& r, std::string* evidence);
// Property 3: decoding CPython's bytes gives g, recode is idempotent (and
// reproduces CPython's bytes when set order is known). Deep graphs: CPython
// loads the codec's bytes as the codec does (the executor's load case).
std::string check_cpython_decode(Subject& s, int protocol, const pklharness::Answer::Dump* d, std::string* evidence);
// Property 4: set_state runs when and as CPython runs __setstate__: each
// one's round trip at `protocol`, and CPython's bytes loaded by both (the
// executor's load cases).
std::string check_setstate(Subject& s, int protocol, std::string* evidence);

}  // namespace pklprop
