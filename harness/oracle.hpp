// The CPython oracle in server mode (oracle/server.py): one long-lived
// python3 process per test binary, spoken to over two pipes with framed JSON
// (4-byte little-endian length + UTF-8 JSON).
#pragma once

#include <sys/types.h>

#include <string>

#include "json.hpp"

namespace pklharness {

class Oracle {
 public:
  // Starts `python3 <source>/oracle/server.py` with PYTHONHASHSEED=0.
  Oracle();
  ~Oracle();
  Oracle(const Oracle&) = delete;
  Oracle& operator=(const Oracle&) = delete;

  // One request (a JSON object text) -> its answer. Throws std::runtime_error
  // if the server died or the frame is malformed (never for {"ok": false}).
  JVal request(const std::string& json);
  uint64_t requests() const { return requests_; }

 private:
  void start();
  void stop();
  pid_t pid_ = -1;
  int to_ = -1;    // our write end (server's stdin)
  int from_ = -1;  // our read end (server's stdout)
  uint64_t requests_ = 0;
};

// The binary's one oracle, started on first use.
Oracle& oracle();

}  // namespace pklharness
