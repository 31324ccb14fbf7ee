// fuzz_text: the text layer checked against itself and against CPython.
//
// Input: one mode byte, then the argument. Every input checks that the UTF-8
// validators agree (text::utf8_check, the reference, against
// utf8_valid_scalar and utf8_valid_simd, strict and surrogatepass, with and
// without readable bytes after the text), that the latin-1 conversions give
// the same with SSSE3 on and off, and that the CPython text parsers the mode
// names (escape_decode, raw-unicode-escape, FLOAT's and LONG's arguments,
// and pickletools' int() and float() of bytes) throw nothing but pkl::Error. An input that ends in CPython's answer (written by
// fuzz/gen_text_corpus.py into corpus/fuzz_text/; the answer carries a hash,
// so a mutated input is not mistaken for one) must give that answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/python_text.hpp"
#include "fuzz_common.hpp"
#include "text/bigint.hpp"  // kIntMaxStrDigits
#include "text/latin1.hpp"
#include "text/utf8_valid.hpp"
#include "base/tuning.hpp"
#include "base/hex.hpp"

namespace {

// Modes 5 and 6 are pickletools' int() and float() of bytes (what dis
// calls, Dialect::Pickletools); 7 is LONG's argument as pickle.loads reads it.
enum Mode : uint8_t {
  kUtf8Strict = 0,
  kEscape = 1,
  kRawUnicodeEscape = 2,
  kFloat = 3,
  kUtf8Pass = 4,
  kIntBytes = 5,
  kFloatBytes = 6,
  kLong = 7,
  kModes = 8
};

std::string hex_of(std::string_view s) { return pkl::hex_string(s); }

// FNV-1a, 64 bits: the answer's seal (gen_text_corpus.py computes the same).
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Whether `seal` is the 16 hex digits of h. Compared out of libFuzzer's
// sight (no coverage instrumentation, no memcmp): a comparison it traces
// hands it the expected seal, and it then forges answers CPython never gave
// (a 10-minute run "found" one, its made-up answer sealed right).
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
bool seal_matches(std::string_view seal, uint64_t h) {
  static const char digits[] = "0123456789abcdef";
  unsigned diff = 0;
  for (size_t i = 0; i < 16; ++i) diff |= static_cast<unsigned>(static_cast<uint8_t>(seal[i]) ^ digits[(h >> (60 - 4 * i)) & 15]);
  return diff == 0;
}

// The codec's answer in the corpus's words: "ok:<hex of the result>" or
// "error:<CPython's message>".
std::string answer(Mode mode, std::string_view arg) {
  try {
    switch (mode) {
      case kUtf8Strict:
      case kUtf8Pass: {
        const auto fault = pkl::text::utf8_check(arg, mode == kUtf8Pass);
        if (!fault) return "ok:" + hex_of(arg);
        return "error:" + pkl::detail::decode_error_text("utf-8", arg, fault->start, fault->end, fault->reason);
      }
      case kEscape: return "ok:" + hex_of(pkl::detail::escape_decode(arg));
      case kRawUnicodeEscape: return "ok:" + hex_of(pkl::detail::raw_unicode_escape_decode(arg));
      case kFloat: {
        const std::string line = std::string(arg.substr(0, arg.find('\n'))) + "\n";
        const double v = pkl::detail::parse_float_line(line);
        return "ok:" + hex_of(std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
      }
      case kIntBytes: return "ok:" + hex_of(pkl::detail::py_int_of_bytes(arg));
      case kFloatBytes: {
        const double v = pkl::detail::py_float_of_bytes(arg);
        return "ok:" + hex_of(std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
      }
      case kLong: {
        const std::string line = std::string(arg.substr(0, arg.find('\n'))) + "\n";
        pkl::Graph g;
        const pkl::NodeId n = pkl::detail::parse_long_line(g, line, pkl::detail::kIntMaxStrDigits);
        return "ok:" + hex_of(g.int_decimal(n));
      }
      case kModes: break;
    }
  } catch (const pkl::Error& e) {
    return "error:" + e.message();
  } catch (const std::exception& e) {
    pklfuzz::fail("text: an exception other than pkl::Error", {{"exception", e.what()}, {"input", hex_of(arg)}});
  }
  return {};
}

void check_utf8(std::string_view s) {
  std::vector<char> padded(s.begin(), s.end());
  padded.resize(s.size() + 16, '\x80');  // readable bytes after the text, not part of it
  const std::string_view in_padded(padded.data(), s.size());
  for (bool pass : {false, true}) {
    const bool ref = !pkl::text::utf8_check(s, pass).has_value();
    const bool scalar = pkl::text::utf8_valid_scalar(s, pass);
    bool simd = scalar, simd_slack = scalar;
    if (pass && pkl::text::utf8_simd_built()) {
      simd = pkl::text::utf8_valid_simd(s, 0);
      simd_slack = pkl::text::utf8_valid_simd(in_padded, 16);
    }
    if (ref != scalar || ref != simd || ref != simd_slack)
      pklfuzz::fail("the UTF-8 validators disagree",
                    {{"text", hex_of(s)},
                     {"surrogatepass", pass ? "yes" : "no"},
                     {"utf8_check", ref ? "valid" : "invalid"},
                     {"utf8_valid_scalar", scalar ? "valid" : "invalid"},
                     {"utf8_valid_simd", simd ? "valid" : "invalid"},
                     {"utf8_valid_simd with slack", simd_slack ? "valid" : "invalid"}});
  }
}

// The latin-1 conversions with SSSE3 on and off.
struct Latin1Answers {
  std::string widened;
  std::optional<size_t> length;
  std::optional<std::string> narrowed;
  bool operator==(const Latin1Answers&) const = default;
};

Latin1Answers latin1_answers(std::string_view s) {
  Latin1Answers a;
  a.widened = pkl::detail::latin1_to_utf8(s);
  a.length = pkl::detail::latin1_length(s);
  std::string scratch;
  if (auto n = pkl::detail::utf8_to_latin1(s, scratch)) a.narrowed = std::string(*n);
  return a;
}

void check_latin1(std::string_view s) {
  const pkl::Tuning saved = pkl::tuning;
  pkl::tuning.simd = true;
  const Latin1Answers simd = latin1_answers(s);
  pkl::tuning.simd = false;
  const Latin1Answers scalar = latin1_answers(s);
  pkl::tuning = saved;
  if (!(simd == scalar)) pklfuzz::fail("the latin-1 conversions differ with SSSE3 on and off", {{"text", hex_of(s)}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // CPython's answer, when the input carries one: "\0ANSWER\0<answer><16 hex of the seal>".
  static constexpr std::string_view kTag("\0ANSWER\0", 8);
  std::optional<std::string> expected;
  const size_t tag = input.rfind(kTag);
  if (tag != std::string_view::npos && input.size() - tag >= kTag.size() + 16) {
    if (seal_matches(input.substr(input.size() - 16), fnv1a(input.substr(0, input.size() - 16)))) {
      expected = std::string(input.substr(tag + kTag.size(), input.size() - 16 - tag - kTag.size()));
      input = input.substr(0, tag);
    }
  }
  if (input.empty()) return 0;
  const auto mode = static_cast<Mode>(static_cast<uint8_t>(input[0]) % kModes);
  const std::string_view arg = input.substr(1);
  check_utf8(arg);
  check_latin1(arg);
  const std::string got = answer(mode, arg);
  if (expected && got != *expected)
    pklfuzz::fail("the text layer and CPython differ",
                  {{"mode", std::to_string(mode)}, {"argument", hex_of(arg)}, {"CPython", *expected}, {"codec", got}});
  return 0;
}
