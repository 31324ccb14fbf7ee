#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace rc::detail {
TestListener& globalTestListener();
}

namespace pklprop {

int configured_cases(int default_cases);

template <typename Testable>
void check_property(const char* id, int default_cases, Testable&& testable) {
  using namespace rc::detail;
  TestMetadata metadata;
  metadata.id = id;
  metadata.description = id;
  TestParams params = configuration().testParams;
  params.maxSuccess = configured_cases(default_cases);
  last_failure().reset();
  const auto t0 = std::chrono::steady_clock::now();
  const auto result = checkProperty(toProperty(std::forward<Testable>(testable)), metadata, params,
                                    globalTestListener(), configuration().reproduce);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (result.template is<SuccessResult>()) {
    const auto success = result.template get<SuccessResult>();
    report_rate(id, success.numSuccess, secs);
    if (!success.distribution.empty()) {
      printResultMessage(result, std::cout);
      std::cout << std::endl;
    }
    return;
  }
  std::ostringstream ss;
  printResultMessage(result, ss);
  if (result.template is<FailureResult>()) {
    Configuration config = configuration();
    config.reproduce.clear();
    config.reproduce[id] = result.template get<FailureResult>().reproduce;
    const std::string reproduce = "RC_PARAMS=\"" + configToMinimalString(config) + "\"";
    ss << "\nreproduce: " << reproduce << "\n";
    if (last_failure()) {
      try {
        ss << "regression: " << write_regression(*last_failure(), reproduce) << "\n";
      } catch (const std::exception& e) {
        ss << "regression not written: " << e.what() << "\n";
      }
    }
  }
  FAIL() << ss.str() << std::endl;
}

}  // namespace pklprop
