// fuzz_diff_cpython: the codec against CPython's C pickle module, embedded.
//
// Each input is a case of the harness's executor (harness/executor.hpp):
// the codec (decode with the default options, then encode at every
// protocol) and CPython (harness/embedded_cpython.hpp, through
// fuzz/diff_cpython.py) answer it; accept/reject must agree, and so must the
// recode bytes at each protocol, up to the order of set members. A
// difference the divergence table (oracle/divergences.py, generated into
// harness/divergence_table.hpp) does not allow aborts with both answers.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "codec_backend.hpp"
#include "embedded_cpython.hpp"
#include "executor.hpp"
#include "fuzz_common.hpp"

#ifndef PICKLECODEC_SOURCE_DIR
#error "PICKLECODEC_SOURCE_DIR must name the source tree (fuzz/ and oracle/ are imported from it)"
#endif

namespace {

std::unique_ptr<pklharness::CodecBackend> g_codec;          // pickle.loads' defaults, the default budget
std::unique_ptr<pklharness::EmbeddedCPython> g_cpython;
std::unique_ptr<pklharness::Executor> g_executor;

}  // namespace

// CPython keeps (and never frees) interpreter state until exit: LeakSanitizer
// would report it after every run and merge (leaks of the codec are found by
// the other targets). A huge allocation CPython asks for (a BINBYTES8 length)
// fails as MemoryError, as it would without ASan.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0:allocator_may_return_null=1";
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_codec = std::make_unique<pklharness::CodecBackend>();
  g_cpython = std::make_unique<pklharness::EmbeddedCPython>(PICKLECODEC_SOURCE_DIR);
  g_executor = std::make_unique<pklharness::Executor>(*g_codec, *g_cpython);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pklfuzz::Bytes input(data, size);
  pklharness::Outcome o;
  try {
    o = g_executor->run({pklfuzz::as_view(input)});
  } catch (const std::exception& e) {
    pklfuzz::fail("fuzz_diff_cpython: an exception other than pkl::Error left the library",
                  {{"exception", e.what()}, {"input", pklfuzz::hex(input)}});
  }
  // The FAILURE line names the kind of difference (ci/fuzz names findings by it).
  if (o.status == pklharness::Outcome::Status::Different)
    pklfuzz::fail("fuzz_diff_cpython: " + o.what,
                  {{"input", pklfuzz::hex(input)}, {"codec", o.subject_answer}, {"cpython", o.reference_answer}});
  return 0;
}
