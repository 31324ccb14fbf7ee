// CPython's C pickle module embedded in this process as a backend, through
// fuzz/diff_cpython.py: the C unpickler with the oracle's inert stand-ins,
// reading as pickle.loads does, then the C pickler at every protocol. The
// table's python-only rows and set order are decided there too
// (oracle/verdict.py). One per process (the interpreter is global).
#pragma once

#include "backend.hpp"

namespace pklharness {

class EmbeddedCPython : public Backend {
 public:
  // Starts the interpreter (PYTHONHASHSEED=0: reproducible set order) and
  // imports fuzz/diff_cpython.py from `source_dir`; aborts if it cannot.
  explicit EmbeddedCPython(const std::string& source_dir);
  std::string_view name() const override { return "CPython"; }
  Answer run(const Case& c) override;
  std::optional<std::string> python_only_divergence(const Case& c, const std::string& subject,
                                                    const std::string& mine) override;
  std::optional<bool> same_up_to_set_order(int protocol, const std::string& mine,
                                           const std::string& subject_bytes) override;

 private:
  void* answer_ = nullptr;            // diff_cpython.answer
  void* known_divergence_ = nullptr;  // diff_cpython.known_divergence
  void* set_order_ = nullptr;         // diff_cpython.set_order
};

}  // namespace pklharness
