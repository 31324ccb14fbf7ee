// Shared helpers of the fuzz targets: the decode options they use, the one
// encoder entry point, and failure reporting. A check that fails prints
// "==picklecodec-fuzz== FAILURE: <what>" and every answer involved, then
// aborts: ci/fuzz names a finding by that line (or, for a sanitizer report,
// by the top frames of its stack).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "divergences.hpp"
#include "equivalence.hpp"
#include "executor.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/value.hpp"

namespace pklfuzz {

inline constexpr int kMaxProtocol = pkl::kHighestProtocol;

using Bytes = std::span<const uint8_t>;

inline std::string_view as_view(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The options every target decodes untrusted input with: the strict budget.
pkl::DecodeOptions strict_options();
// The options for decoding what the encoder wrote from an accepted graph:
// the default (roomy) budget, since an encoding may legitimately need more
// memo entries or MARK depth than the input it came from.
pkl::DecodeOptions roomy_options();

// Outcome of decoding: a graph, or the codec's error.
struct Decoded {
  std::optional<pkl::Graph> graph;
  std::optional<pkl::Error> error;
  bool ok() const { return graph.has_value(); }
};

// Decodes one pickle; a pkl::Error is a result, any other exception a failure.
Decoded try_decode(Bytes data, const pkl::DecodeOptions& options);
inline Decoded try_decode(std::string_view data, const pkl::DecodeOptions& options) {
  return try_decode(Bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size()), options);
}

// Outcome of encoding at one protocol: the bytes, or the codec's error.
struct Encoded {
  std::optional<std::string> bytes;
  std::optional<pkl::Error> error;
  bool ok() const { return bytes.has_value(); }
};

// The one call of the encoder used by every target.
Encoded try_encode(const pkl::Graph& g, int protocol);

// How two graphs may differ and still be "the same": the harness's one
// equivalence (harness/equivalence.hpp); check_recode uses
// Equivalence::round_trip().
using pklharness::Equivalence;
using pklharness::equivalent;

// Why re-decoding what the encoder wrote at `protocol` from `g` may
// legitimately not give `g` back (CPython's pickler loses the same
// information): the divergence table's graph-predicate row that holds, or
// nullptr when it must (harness/divergences.hpp).
using pklharness::recode_loses_information;

// One printed answer of a failure report.
struct Detail {
  std::string_view label;
  std::string value;
};
// Hex of bytes, cut to `limit` bytes ("... (N bytes)"): the executor's.
using pklharness::hex;
inline std::string hex(Bytes data, size_t limit = 4096) { return hex(as_view(data), limit); }
// "ok (N bytes): <hex>" or "error <code>: <what>".
std::string describe(const Decoded& d);
std::string describe(const Encoded& e);
std::string describe(const pkl::Error& e);

// Prints the failure and every detail, then aborts.
[[noreturn]] void fail(std::string_view what, std::initializer_list<Detail> details);

// The recode checks, at every protocol, of a graph `g` (decoded from, or
// built by, `input`), for the target named `target`:
//  - encoding may fail only with a PicklingError (or an encoder budget limit);
//  - isomorphism: decode(encode(g, p)) is g (Equivalence::round_trip());
//  - fixed_point: encode(decode(encode(g, p)), p) is encode(g, p), byte for byte;
// except where recode_loses_information says pickle loses something.
struct RecodeChecks {
  bool isomorphism = true;
  bool fixed_point = true;
};
void check_recode(const pkl::Graph& g, Bytes input, const char* target, RecodeChecks checks);

}  // namespace pklfuzz
