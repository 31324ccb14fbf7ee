// PKL_PROP: RapidCheck's RC_GTEST_PROP (rapidcheck/gtest.h) plus what a
// failure must leave behind: the shrunk case (the last one recorded with
// record_failure) is written to corpus/regressions/property-<name>-<hash>
// (.pickle + .txt with the graph JSON, the `pickletool show` notation and
// the RC_PARAMS reproduce string), and the failure message names them.
//
// Each property has a default number of cases (tuned so that the whole
// binary stays within about two minutes of ctest); RC_PARAMS="max_success=N"
// overrides it for every property.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>

#include "checks.hpp"
#include "oracle.hpp"

namespace pklprop {

// Runs a property as RC_GTEST_PROP does, with `default_cases` successes
// unless RC_PARAMS sets max_success.
template <typename Testable>
void check_property(const char* id, int default_cases, Testable&& testable);

// Where regression files go: $PICKLECODEC_REGRESSIONS, else
// <source>/corpus/regressions.
std::string regressions_dir();
// Writes the record's files; returns the .txt path.
std::string write_regression(const CaseRecord& r, const std::string& reproduce);

// Cases per property and elapsed time, printed at the end of each test
// (for the README's cases-per-minute figures).
void report_rate(const char* id, int cases, double seconds);

}  // namespace pklprop

#define PKL_PROP(Suite, Name, Cases, ArgList)                                  \
  void pklprop_impl_##Suite##_##Name ArgList;                                  \
  TEST(Suite, Name) {                                                          \
    ::pklprop::check_property(#Suite "/" #Name, Cases, &pklprop_impl_##Suite##_##Name); \
  }                                                                            \
  void pklprop_impl_##Suite##_##Name ArgList

#include "harness_impl.hpp"
