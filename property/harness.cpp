#include "harness.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

namespace pklprop {

int configured_cases(int default_cases) {
  const char* env = std::getenv("RC_PARAMS");
  if (env && std::string(env).find("max_success") != std::string::npos)
    return rc::detail::configuration().testParams.maxSuccess;
  return default_cases;
}

std::string regressions_dir() {
  const char* env = std::getenv("PICKLECODEC_REGRESSIONS");
  if (env && *env) return env;
  return std::string(PICKLECODEC_SOURCE_DIR) + "/corpus/regressions";
}

std::string write_regression(const CaseRecord& r, const std::string& reproduce) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  };
  feed(r.property);
  feed(std::to_string(r.protocol));
  for (const std::string& g : r.graphs) feed(g);
  feed(r.pickle);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(h));
  const std::string dir = regressions_dir();
  ::mkdir(dir.c_str(), 0755);
  const std::string base = dir + "/property-" + r.property + "-" + std::string(hash, 12);
  {
    std::ofstream p(base + ".pickle", std::ios::binary);
    p.write(r.pickle.data(), static_cast<std::streamsize>(r.pickle.size()));
    if (!p) throw std::runtime_error("cannot write " + base + ".pickle");
  }
  std::ofstream t(base + ".txt", std::ios::binary);
  t << "property: " << r.property << "\n";
  t << "protocol: " << r.protocol << "\n";
  t << "status: open\n";
  t << "reproduce: " << reproduce << "\n";
  for (const std::string& g : r.graphs) t << "graph: " << g << "\n";
  t << "show:\n" << r.show << "\n";
  t << "message:\n" << r.message << "\n";
  if (!t) throw std::runtime_error("cannot write " + base + ".txt");
  return base + ".txt";
}

void report_rate(const char* id, int cases, double seconds) {
  std::printf("[pklprop] %s: %d cases in %.1f s (%.0f cases/minute)\n", id, cases, seconds,
              seconds > 0 ? cases * 60.0 / seconds : 0.0);
  std::fflush(stdout);
}

}  // namespace pklprop
