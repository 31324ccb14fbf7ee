// The executor: sends a case to the subject (the codec) and a reference,
// compares their answers with the one equivalence, and decides a difference
// with the one divergence table (divergences.hpp; its python-only rows by
// the reference). A disagreement comes back with both answers. A load case
// (backend.hpp's LoadCase) compares what the loads made: the graphs, or the
// set_state calls, by the one equivalence.
#pragma once

#include <string>

#include "backend.hpp"

namespace pklharness {

struct Outcome {
  enum class Status { Same, Allowed, Different, CannotAnswer };
  Status status = Status::Same;
  std::string divergence;  // Allowed: the table's id; CannotAnswer: why
  // Different (and Allowed): what differs, e.g. "recode at protocol 2
  // differs (codec ok, CPython PicklingError)", then both answers.
  std::string what;
  std::string subject_answer;
  std::string reference_answer;
  // How many protocols agreed only up to the order of set items.
  int set_order = 0;
  // Different (and Allowed): the protocol whose dumps differ, or -1 when
  // accept/reject differs.
  int protocol = -1;
};

class Executor {
 public:
  Executor(Backend& subject, Backend& reference) : subject_(subject), reference_(reference) {}
  // The first difference (by protocol) decides; Same when there is none.
  Outcome run(const Case& c);
  // The answers of the last run (a backend not asked answered nothing:
  // CannotAnswer, empty).
  const Answer& subject_answer() const { return sub_; }
  const Answer& reference_answer() const { return ref_; }

 private:
  // A difference: allowed by the table (a refusal of the subject's where the
  // reference accepts may be a codec_message row), or a finding.
  Outcome differ(const Case& c, bool subject_refuses, std::string what, std::string subject, std::string reference);
  bool only_set_order(const std::string& subject, const std::string& reference, int protocol);
  Outcome compare_loads(const Case& c);

  Backend& subject_;
  Backend& reference_;
  Answer sub_, ref_;
};

// "ok (N bytes): <hex>" or the refusal, as reports print a dump.
std::string describe(const Answer::Dump& d);
// Hex of bytes, cut to `limit` bytes ("... (N bytes)").
std::string hex(std::string_view data, size_t limit = 4096);

}  // namespace pklharness
