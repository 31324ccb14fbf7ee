// CHECK for the docs/cpp-api.md examples: a result that is not the one the
// document shows ends the example with exit status 1, which fails its ctest.
#pragma once

#include <iostream>

#define CHECK(cond)                                                 \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::cerr << "failed: " #cond " (line " << __LINE__ << ")\n"; \
      return 1;                                                     \
    }                                                               \
  } while (0)
