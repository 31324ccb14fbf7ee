// The categories of known-dangerous callables the scanner names (internal).
#pragma once

#include <string_view>

#include "picklecodec/scan.hpp"

namespace pkl::scan::detail {

struct Danger {
  const char* category;  // "process", "code-exec", "code-object", "file-io", "network", "import", "nested-load", "reflection"
  Verdict severity;      // Dangerous, or Suspicious for reflection
  const char* why;       // what reaching it lets a pickle do
};

// The category of (module, qualname), or null. Besides exact names, a whole
// module may be listed (os, subprocess, socket...), and a dotted qualname
// (protocol 4 walks attributes: 'posixpath' 'os.system') is dangerous when
// any step of it names a dangerous module or its last step a dangerous
// function.
const Danger* danger_of(std::string_view module, std::string_view qualname);

}  // namespace pkl::scan::detail
