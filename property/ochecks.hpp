// The checks that ask CPython (through the oracle server), per protocol.
#pragma once

#include <string>

#include "checks.hpp"
#include "json.hpp"

namespace pklprop {

// CPython's result for one protocol of a build_dump answer.
struct Dump {
  bool ok = false;
  std::string data;
  std::string error;  // "Type: message"
};
Dump dump_of(const JVal& build_dump_answer, int protocol);

// A refusal of CPython's that the codec need not copy (documented in
// property/README.md): the 4300-digit text limit at protocols 0-1.
bool allowed_refusal(const Subject& s, int protocol, const std::string& error);

// Property 2: encode(g) equals CPython's bytes (modulo set order).
std::string check_cpython_bytes(Subject& s, int protocol, const Dump& d, std::string* evidence);
// Property 3: decoding CPython's bytes gives g, recode is idempotent (and
// reproduces CPython's bytes when set order is known). Deep graphs: CPython
// loads the codec's bytes and gets g.
std::string check_cpython_decode(Subject& s, int protocol, const Dump* d, std::string* evidence);
// Property 4: set_state runs when and as CPython runs __setstate__.
std::string check_setstate(Subject& s, int protocol, std::string* evidence);

}  // namespace pklprop
