// The divergence table (oracle/divergences.py, generated into
// divergence_table.hpp by codec/gen/gen_divergences.py) decided in C++: each
// row's rule is evaluated here, except the python-only rows, which a
// reference backend that runs Python decides (Backend::python_only_divergence).
// Nothing else in the C++ harness lists allowed differences.
#pragma once

#include <string_view>

#include "divergence_table.hpp"
#include "picklecodec/value.hpp"

namespace pklharness {

using table::Divergence;

// The row whose exact input is `input`: a difference on it is allowed.
const Divergence* exact_input(std::string_view input);

// The row a refusal of the codec's is, when the reference accepts: the
// codec's message holds the row's codec_contains (a budget limit, a
// persistent id the codec does not write as text).
const Divergence* codec_refusal(std::string_view codec_message);

// Why the reference cannot answer: a memo index past the row's limit stored
// in `input` (CPython allocates an array that long), or the reference's answer
// "Type: message" naming an exception the table lists (MemoryError, ...).
const Divergence* cannot_answer_input(std::string_view input);
const Divergence* cannot_answer_exception(std::string_view reference_answer);

// Why re-decoding what the encoder writes at `protocol` from `g` may
// legitimately not give `g` back (CPython's pickler loses the same
// information): the first graph-predicate row that holds, or nullptr.
const Divergence* recode_loses_information(const pkl::Graph& g, int protocol);

// Whether the table has python-only rows (then a difference the C++ rows do
// not explain goes to a Python reference before it is a finding).
bool has_python_only_rows();

}  // namespace pklharness
