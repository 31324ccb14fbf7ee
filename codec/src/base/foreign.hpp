// The one place where an exception that is not a pkl::Error becomes one.
// Every public entry point and every call into user code (hooks, the
// persistent_load and extension callbacks) goes through here, so a caller
// only ever catches pkl::Error, with the same code for the same cause.
#pragma once

#include <cstdint>
#include <string_view>

#include "picklecodec/error.hpp"

namespace pkl::detail {

// From inside a catch block: rethrows the exception in flight as a
// pkl::Error. A pkl::Error is located at (offset, opcode) when given and
// rethrown; running out of memory (bad_alloc, length_error) is
// ResourceLimit "out of memory"; a stream's ios_base::failure is Io; any
// other exception is Usage, its text
// prefixed with "<what> failed: " when `what` names the user code that threw.
[[noreturn]] void rethrow_as_error(std::string_view what = {}, int64_t offset = Error::kNoOffset,
                                   int opcode = Error::kNoOpcode);

// Runs f(), with every exception leaving it passed through rethrow_as_error.
template <class F>
decltype(auto) as_error(F&& f, std::string_view what = {}, int64_t offset = Error::kNoOffset,
                        int opcode = Error::kNoOpcode) {
  try {
    return f();
  } catch (...) {
    rethrow_as_error(what, offset, opcode);
  }
}

}  // namespace pkl::detail
