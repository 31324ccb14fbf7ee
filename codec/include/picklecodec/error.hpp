// The codec's one error type. Every failure the library reports, from any
// entry point, is a pkl::Error; no other exception leaves the library.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace pkl {

enum class ErrorCode : uint8_t {
  Truncated,          // "pickle data was truncated" (input ended inside a pickle)
  EndOfInput,         // clean end of a stream: no pickle started ("Ran out of input")
  StackUnderflow,     // "unpickling stack underflow"
  NoMark,             // "could not find MARK"
  BadOpcode,          // "invalid load key, 'x'."
  BadProtocol,        // "unsupported pickle protocol: 6"
  BadArgument,        // a malformed opcode argument (bad int text, bad escape, bad UTF-8, ...)
  MemoMissing,        // "Memo value not found at index 5"
  TypeError,          // CPython raises TypeError (unhashable key, not callable, wrong type)
  ValueError,         // CPython raises ValueError (negative length, bad state, ...)
  AttributeError,     // CPython raises AttributeError (no such method on an object)
  LookupError,        // CPython raises LookupError ("unknown encoding: latin0")
  NotAllowed,         // the global policy refused a global (allowlist-only)
  NoHook,             // persistent id / buffer / extension code without the caller's hook
  ResourceLimit,      // a limit of the budget was reached
  Unpicklable,        // the encoder cannot write this graph (PicklingError)
  Io,                 // the source or sink failed
  Usage,              // the API was misused (a bad node handle, a wrong kind)
};

// Python's exception class for an error code, e.g. "UnpicklingError".
const char* python_exception_name(ErrorCode code) noexcept;
// A stable identifier for an error code, e.g. "truncated".
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::exception {
 public:
  static constexpr int64_t kNoOffset = -1;
  static constexpr int kNoOpcode = -1;

  Error(ErrorCode code, std::string message, int64_t offset = kNoOffset,
        int opcode = kNoOpcode);

  ErrorCode code() const noexcept { return code_; }
  // CPython's words, without offset or opcode.
  const std::string& message() const noexcept { return message_; }
  // Byte offset in the input of the opcode where decoding stopped, or kNoOffset.
  int64_t offset() const noexcept { return offset_; }
  // The opcode byte being executed, or kNoOpcode.
  int opcode() const noexcept { return opcode_; }

  // Attach a position if none is known yet (the innermost position wins).
  void locate(int64_t offset, int opcode) noexcept;

  // "<message> at offset N (opcode NAME)"
  const char* what() const noexcept override { return what_.c_str(); }
  // The same text whole: a message may quote a name holding a NUL, where
  // what()'s C string stops.
  const std::string& text() const noexcept { return what_; }

 private:
  void render();
  ErrorCode code_;
  std::string message_;
  int64_t offset_;
  int opcode_;
  std::string what_;
};

}  // namespace pkl
