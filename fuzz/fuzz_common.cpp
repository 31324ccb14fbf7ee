#include "fuzz_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "picklecodec/encode.hpp"
#include "base/tuning.hpp"

namespace pklfuzz {

// The fuzzers' inputs are 4 KiB at most: every target takes the large-str
// paths from 64 bytes on (pkl::tuning; fuzz_decode_paths also decodes each
// input at the release 4096 and requires the same graph).
[[maybe_unused]] static const bool kLargeStrsReachable = (pkl::tuning.large_str_min = 64, true);

pkl::DecodeOptions strict_options() {
  pkl::DecodeOptions o;
  o.limits = pkl::Limits::strict();
  return o;
}

pkl::DecodeOptions roomy_options() {
  pkl::DecodeOptions o;
  // Roomy, but still bounded well below the fuzzer's RSS limit.
  o.limits.max_total_bytes = uint64_t{1} << 30;
  return o;
}

Decoded try_decode(Bytes data, const pkl::DecodeOptions& options) {
  Decoded d;
  try {
    d.graph.emplace(pkl::decode(data, options));
  } catch (const pkl::Error& e) {
    d.error.emplace(e);
  } catch (const std::exception& e) {
    fail("decode: an exception other than pkl::Error left the library",
         {{"exception", e.what()}, {"input", hex(data)}});
  }
  return d;
}

Encoded try_encode(const pkl::Graph& g, int protocol) {
  Encoded r;
  try {
    r.bytes.emplace(pkl::encode(g, g.root(), {.protocol = protocol}));
  } catch (const pkl::Error& e) {
    r.error.emplace(e);
  } catch (const std::exception& e) {
    fail("encode: an exception other than pkl::Error left the library",
         {{"exception", e.what()}, {"protocol", std::to_string(protocol)}});
  }
  return r;
}

std::string describe(const pkl::Error& e) {
  return std::string("error ") + pkl::error_code_name(e.code()) + ": " + e.text();
}

std::string describe(const Decoded& d) {
  if (d.error) return describe(*d.error);
  return "ok (graph of " + std::to_string(d.graph->size()) + " nodes)";
}

std::string describe(const Encoded& e) {
  if (e.error) return describe(*e.error);
  return "ok (" + std::to_string(e.bytes->size()) + " bytes): " + hex(*e.bytes);
}

void fail(std::string_view what, std::initializer_list<Detail> details) {
  std::fprintf(stderr, "\n==picklecodec-fuzz== FAILURE: %.*s\n", static_cast<int>(what.size()),
               what.data());
  for (const auto& d : details)
    std::fprintf(stderr, "  %.*s: %s\n", static_cast<int>(d.label.size()), d.label.data(),
                 d.value.c_str());
  std::fflush(stderr);
  std::abort();
}

// Aborts unless `e` is one of the codes an encoder may legitimately raise on
// a graph the decoder built.
static void check_encode_error(int protocol, const pkl::Error& e, Bytes input) {
  // CPython's pickler raises PicklingError; TypeError "cannot pickle ..."
  // (a memoryview, which READONLY_BUFFER leaves on a bytearray); ValueError
  // "Exceeds the limit ..." (an int past 4300 digits at protocols 0-1); and
  // the encoder has its budget. Any other error on a decoded graph is a bug.
  const std::string_view m = e.message();
  if (e.code() == pkl::ErrorCode::Unpicklable || e.code() == pkl::ErrorCode::ResourceLimit ||
      (e.code() == pkl::ErrorCode::TypeError && m.starts_with("cannot pickle ")) ||
      (e.code() == pkl::ErrorCode::ValueError && m.starts_with("Exceeds the limit")))
    return;
  fail("encode: the encoder raised something other than PicklingError on a decoded graph",
       {{"protocol", std::to_string(protocol)}, {"error", describe(e)}, {"input", hex(input)}});
}

void check_recode(const pkl::Graph& g, Bytes input, const char* target, RecodeChecks checks) {
  static const pkl::DecodeOptions roomy = roomy_options();
  auto failure = [&](const char* what) { return std::string(target) + ": " + what; };
  for (int p = 0; p <= kMaxProtocol; ++p) {
    Encoded first = try_encode(g, p);
    if (!first.ok()) {
      check_encode_error(p, *first.error, input);
      continue;
    }
    Decoded back = try_decode(*first.bytes, roomy);
    if (!back.ok()) {
      if (recode_loses_information(g, p)) continue;
      fail(failure("the encoder wrote a pickle its decoder rejects"),
           {{"protocol", std::to_string(p)}, {"input", hex(input)}, {"encoded", describe(first)},
            {"decoding it", describe(back)}});
    }
    if (checks.isomorphism && !equivalent(g, g.root(), *back.graph, back.graph->root(), Equivalence::round_trip())) {
      if (recode_loses_information(g, p)) continue;
      fail(failure("decode(encode(g, p)) is not g"),
           {{"protocol", std::to_string(p)},
            {"difference", difference(g, g.root(), *back.graph, back.graph->root(), Equivalence::round_trip())},
            {"input", hex(input)}, {"encoded", describe(first)}});
    }
    if (checks.fixed_point) {
      Encoded second = try_encode(*back.graph, p);
      if (!second.ok() || *second.bytes != *first.bytes) {
        if (recode_loses_information(g, p)) continue;
        fail(failure("recoding a recode changed its bytes"),
             {{"protocol", std::to_string(p)}, {"input", hex(input)}, {"recode", describe(first)},
              {"recode of the recode", describe(second)}});
      }
    }
  }
}

}  // namespace pklfuzz
