// CPU time of the calling thread (user + system), for the tests' cost
// bounds: a busy machine stretches wall time, not the CPU a call uses.
#pragma once

#include <sys/resource.h>

inline double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
