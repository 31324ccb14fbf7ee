#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "embedded_cpython.hpp"

#include <cstdio>
#include <cstdlib>

namespace pklharness {

namespace {

[[noreturn]] void python_failed(const char* what) {
  PyErr_Print();
  std::fprintf(stderr, "embedded CPython: %s\n", what);
  std::abort();
}

PyObject* import_attr(PyObject* module, const char* name) {
  PyObject* f = PyObject_GetAttrString(module, name);
  if (!f) python_failed(name);
  return f;
}

// A str as UTF-8. CPython's messages may quote a name holding a lone
// surrogate (strict UTF-8 refuses it): those are written as \\udXXX.
std::string utf8(PyObject* s) {
  PyObject* b = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
  if (!b) python_failed("a str from diff_cpython");
  std::string out(PyBytes_AS_STRING(b), static_cast<size_t>(PyBytes_GET_SIZE(b)));
  Py_DECREF(b);
  return out;
}

PyObject* fn(void* p) { return static_cast<PyObject*>(p); }

}  // namespace

EmbeddedCPython::EmbeddedCPython(const std::string& source_dir) {
  setenv("PYTHONHASHSEED", "0", 1);  // reproducible set order on CPython's side
  Py_InitializeEx(0);
  const std::string boot = "import sys\nsys.path[:0] = ['" + source_dir + "/fuzz', '" + source_dir + "/oracle']\n";
  if (PyRun_SimpleString(boot.c_str()) != 0) python_failed("setting sys.path");
  PyObject* m = PyImport_ImportModule("diff_cpython");
  if (!m) python_failed("importing fuzz/diff_cpython.py");
  answer_ = import_attr(m, "answer");
  known_divergence_ = import_attr(m, "known_divergence");
  set_order_ = import_attr(m, "set_order");
  Py_DECREF(m);
}

Answer EmbeddedCPython::run(const Case& c) {
  // fuzz/diff_cpython.py answers input cases only (no builder, no graphs).
  if (c.graph || c.load) return Answer::cannot("embedded CPython answers input cases only");
  Answer a;
  PyObject* arg = PyBytes_FromStringAndSize(c.input.data(), static_cast<Py_ssize_t>(c.input.size()));
  PyObject* r = PyObject_CallOneArg(fn(answer_), arg);
  Py_DECREF(arg);
  if (!r) python_failed("diff_cpython.answer raised");
  const std::string tag = utf8(PyTuple_GetItem(r, 0));
  PyObject* body = PyTuple_GetItem(r, 1);
  if (tag == "accept") {
    a.kind = Answer::Kind::Accept;
    for (Py_ssize_t i = 0; i < PyList_Size(body); ++i) {
      PyObject* d = PyList_GetItem(body, i);
      Answer::Dump dump;
      if (PyBytes_Check(d)) dump.bytes.emplace(PyBytes_AsString(d), static_cast<size_t>(PyBytes_Size(d)));
      else dump.error = utf8(d);
      a.dumps.push_back(std::move(dump));
    }
  } else {
    a.kind = tag == "reject" ? Answer::Kind::Reject : Answer::Kind::CannotAnswer;
    a.text = utf8(body);
  }
  Py_DECREF(r);
  return a;
}

std::optional<std::string> EmbeddedCPython::python_only_divergence(const Case& c, const std::string& subject,
                                                                   const std::string& mine) {
  // Answers as bytes: a message may quote a name holding NULs or surrogates.
  PyObject* r = PyObject_CallFunction(fn(known_divergence_), "y#y#y#", c.input.data(),
                                      static_cast<Py_ssize_t>(c.input.size()), subject.data(),
                                      static_cast<Py_ssize_t>(subject.size()), mine.data(),
                                      static_cast<Py_ssize_t>(mine.size()));
  if (!r) python_failed("diff_cpython.known_divergence raised");
  std::optional<std::string> id;
  if (r != Py_None) id = utf8(r);
  Py_DECREF(r);
  return id;
}

std::optional<bool> EmbeddedCPython::same_up_to_set_order(int protocol, const std::string& mine,
                                                          const std::string& subject_bytes) {
  PyObject* r = PyObject_CallFunction(fn(set_order_), "iy#y#", protocol, mine.data(),
                                      static_cast<Py_ssize_t>(mine.size()), subject_bytes.data(),
                                      static_cast<Py_ssize_t>(subject_bytes.size()));
  if (!r) python_failed("diff_cpython.set_order raised");
  std::optional<bool> verdict;
  if (r != Py_None) verdict = PyObject_IsTrue(r) == 1;
  Py_DECREF(r);
  return verdict;
}

}  // namespace pklharness
