// fuzz_diff_cpython: the codec against CPython's C pickle module, embedded.
//
// Each input goes to the codec (decode with the default options, then
// encode at every protocol) and to CPython (fuzz/diff_cpython.py: the C
// unpickler with the oracle's inert stand-ins, reading as pickle.loads does,
// then the C pickler at every protocol). Accept/reject must agree, and so
// must the recode bytes at each protocol, up to the order of set members
// (CONFORMANCE.md section 6; only_set_order).
// A difference not in the oracle's divergence table (asked in one place,
// known_divergence) aborts with both answers printed.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

#ifndef PICKLECODEC_SOURCE_DIR
#error "PICKLECODEC_SOURCE_DIR must name the source tree (fuzz/ and oracle/ are imported from it)"
#endif

namespace {

using namespace pklfuzz;

PyObject* g_answer = nullptr;            // diff_cpython.answer
PyObject* g_known_divergence = nullptr;  // diff_cpython.known_divergence
PyObject* g_set_order = nullptr;         // diff_cpython.set_order

[[noreturn]] void python_failed(const char* what) {
  PyErr_Print();
  std::fprintf(stderr, "fuzz_diff_cpython: %s\n", what);
  std::abort();
}

PyObject* import_attr(PyObject* module, const char* name) {
  PyObject* f = PyObject_GetAttrString(module, name);
  if (!f) python_failed(name);
  return f;
}

// CPython's answer for one input.
struct PyAnswer {
  enum Kind { Reject, Accept, Skip } kind = Skip;
  std::string text;                       // Reject: the exception; Skip: why
  std::vector<Encoded> dumps;             // Accept: per protocol, bytes or "Exc: msg"
};

// An answer's text as UTF-8. CPython's messages may quote a name holding a
// lone surrogate (strict UTF-8 refuses it): those are written as \\udXXX.
std::string utf8(PyObject* s) {
  PyObject* b = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
  if (!b) python_failed("a str from diff_cpython");
  std::string out(PyBytes_AS_STRING(b), static_cast<size_t>(PyBytes_GET_SIZE(b)));
  Py_DECREF(b);
  return out;
}

PyAnswer ask_cpython(Bytes input) {
  PyAnswer a;
  PyObject* arg = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(input.data()),
                                            static_cast<Py_ssize_t>(input.size()));
  PyObject* r = PyObject_CallOneArg(g_answer, arg);
  Py_DECREF(arg);
  if (!r) python_failed("diff_cpython.answer raised");
  const std::string tag = utf8(PyTuple_GetItem(r, 0));
  PyObject* body = PyTuple_GetItem(r, 1);
  if (tag == "accept") {
    a.kind = PyAnswer::Accept;
    for (Py_ssize_t i = 0; i < PyList_Size(body); ++i) {
      PyObject* d = PyList_GetItem(body, i);
      Encoded e;
      if (PyBytes_Check(d))
        e.bytes.emplace(PyBytes_AsString(d), static_cast<size_t>(PyBytes_Size(d)));
      else
        e.error.emplace(pkl::ErrorCode::Unpicklable, utf8(d));
      a.dumps.push_back(std::move(e));
    }
  } else {
    a.kind = tag == "reject" ? PyAnswer::Reject : PyAnswer::Skip;
    a.text = utf8(body);
  }
  Py_DECREF(r);
  return a;
}

// The one place that asks whether a difference is a known divergence: the
// oracle's table (oracle/divergences.py), through diff_cpython.py.
std::optional<std::string> known_divergence(Bytes input, const std::string& codec,
                                            const std::string& cpython) {
  // Answers as bytes: a message may quote a name holding NULs or surrogates.
  PyObject* r = PyObject_CallFunction(g_known_divergence, "y#y#y#",
                                      reinterpret_cast<const char*>(input.data()),
                                      static_cast<Py_ssize_t>(input.size()), codec.data(),
                                      static_cast<Py_ssize_t>(codec.size()), cpython.data(),
                                      static_cast<Py_ssize_t>(cpython.size()));
  if (!r) python_failed("diff_cpython.known_divergence raised");
  std::optional<std::string> reason;
  if (r != Py_None) reason = utf8(r);
  Py_DECREF(r);
  return reason;
}

void differ(Bytes input, const std::string& what, const std::string& codec, const std::string& cpython) {
  if (known_divergence(input, codec, cpython)) return;
  fail("fuzz_diff_cpython: " + what,
       {{"input", hex(input)}, {"codec", codec}, {"cpython", cpython}});
}

bool has_multi_member_set(const pkl::Graph& g) {
  for (pkl::NodeId n = 0; n < g.size(); ++n)
    if ((g.kind(n) == pkl::Kind::Set || g.kind(n) == pkl::Kind::FrozenSet) && g.length(n) > 1) return true;
  return false;
}

// The oracle's verdict (oracle/setorder.py) on whether `cc` is CPython's
// writing with set items in some order: true, false, or nullopt (undecided).
std::optional<bool> oracle_set_order(int protocol, const std::string& py, const std::string& cc) {
  PyObject* r = PyObject_CallFunction(g_set_order, "iy#y#", protocol, py.data(),
                                      static_cast<Py_ssize_t>(py.size()), cc.data(),
                                      static_cast<Py_ssize_t>(cc.size()));
  if (!r) python_failed("diff_cpython.set_order raised");
  std::optional<bool> verdict;
  if (r != Py_None) verdict = PyObject_IsTrue(r) == 1;
  Py_DECREF(r);
  return verdict;
}

// The codec's recode `cc` and CPython's `py` differ only in set order: the
// oracle's verdict when it gives one; else CPython's pickle decoded by the
// codec must re-encode to exactly CPython's bytes and be the codec's graph
// up to set member order.
bool only_set_order(const std::string& cc, const std::string& py, int protocol) {
  if (auto verdict = oracle_set_order(protocol, py, cc)) return *verdict;
  static const pkl::DecodeOptions roomy = roomy_options();
  Decoded gc = try_decode(cc, roomy), gp = try_decode(py, roomy);
  if (!gc.ok() || !gp.ok() || !has_multi_member_set(*gp.graph)) return false;
  Encoded again = try_encode(*gp.graph, protocol);  // CPython's set order, the codec's encoder
  return again.ok() && *again.bytes == py &&
         equivalent(*gc.graph, gc.graph->root(), *gp.graph, gp.graph->root(),
                    {.atoms_by_value = true, .sets_unordered = true});
}

}  // namespace

// CPython keeps (and never frees) interpreter state until exit: LeakSanitizer
// would report it after every run and merge (leaks of the codec are found by
// the other targets). A huge allocation CPython asks for (a BINBYTES8 length)
// fails as MemoryError, as it would without ASan.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0:allocator_may_return_null=1";
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("PYTHONHASHSEED", "0", 1);  // reproducible set order on CPython's side
  Py_InitializeEx(0);
  const std::string src = PICKLECODEC_SOURCE_DIR;
  const std::string boot = "import sys\nsys.path[:0] = ['" + src + "/fuzz', '" + src + "/oracle']\n";
  if (PyRun_SimpleString(boot.c_str()) != 0) python_failed("setting sys.path");
  PyObject* m = PyImport_ImportModule("diff_cpython");
  if (!m) python_failed("importing fuzz/diff_cpython.py");
  g_answer = import_attr(m, "answer");
  g_known_divergence = import_attr(m, "known_divergence");
  g_set_order = import_attr(m, "set_order");
  Py_DECREF(m);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pkl::DecodeOptions options{};  // pickle.loads' defaults, the default budget
  const Bytes input(data, size);
  PyAnswer py = ask_cpython(input);
  if (py.kind == PyAnswer::Skip) return 0;
  Decoded cc = try_decode(input, options);

  // The FAILURE line names the kind of difference (ci/fuzz names findings by it).
  auto codec_side = [](const std::optional<pkl::Error>& e) {
    return e ? std::string(pkl::error_code_name(e->code())) : std::string("ok");
  };
  auto python_side = [](const std::string& text) { return text.substr(0, text.find(':')); };
  if (cc.ok() != (py.kind == PyAnswer::Accept)) {
    differ(input,
           "accept/reject differs (codec " + codec_side(cc.error) + ", CPython " +
               (py.kind == PyAnswer::Accept ? std::string("ok") : python_side(py.text)) + ")",
           describe(cc), py.kind == PyAnswer::Accept ? "accepted" : "rejected: " + py.text);
    return 0;
  }
  if (!cc.ok()) return 0;

  for (int p = 0; p <= kMaxProtocol; ++p) {
    Encoded mine = try_encode(*cc.graph, p);
    const Encoded& theirs = py.dumps[static_cast<size_t>(p)];
    const std::string what = "recode at protocol " + std::to_string(p) + " differs (codec " +
                             codec_side(mine.error) + ", CPython " +
                             (theirs.ok() ? std::string("ok") : python_side(theirs.error->message())) + ")";
    if (mine.ok() != theirs.ok()) {
      differ(input, what, describe(mine), describe(theirs));
    } else if (mine.ok() && *mine.bytes != *theirs.bytes && !only_set_order(*mine.bytes, *theirs.bytes, p)) {
      differ(input, what, describe(mine), describe(theirs));
    }
  }
  return 0;
}
