#include "picklecodec/error.hpp"

#include <ios>
#include <new>
#include <stdexcept>
#include <string>

#include "base/foreign.hpp"
#include "picklecodec/opcodes.hpp"
#include "base/hex.hpp"

namespace pkl {

const char* python_exception_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Truncated:
    case ErrorCode::StackUnderflow:
    case ErrorCode::NoMark:
    case ErrorCode::BadOpcode:
    case ErrorCode::BadArgument:
    case ErrorCode::MemoMissing:
    case ErrorCode::NoHook:
    case ErrorCode::ResourceLimit:
      return "UnpicklingError";
    case ErrorCode::BadProtocol:
      return "ValueError";
    case ErrorCode::EndOfInput:
      return "EOFError";
    case ErrorCode::TypeError:
    case ErrorCode::Usage:
      return "TypeError";
    case ErrorCode::ValueError:
      return "ValueError";
    case ErrorCode::AttributeError:
    case ErrorCode::NotAllowed:
      return "AttributeError";
    case ErrorCode::LookupError:
      return "LookupError";
    case ErrorCode::Unpicklable:
      return "PicklingError";
    case ErrorCode::Io:
      return "OSError";
  }
  return "Exception";
}

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Truncated: return "truncated";
    case ErrorCode::EndOfInput: return "end-of-input";
    case ErrorCode::StackUnderflow: return "stack-underflow";
    case ErrorCode::NoMark: return "no-mark";
    case ErrorCode::BadOpcode: return "bad-opcode";
    case ErrorCode::BadProtocol: return "bad-protocol";
    case ErrorCode::BadArgument: return "bad-argument";
    case ErrorCode::MemoMissing: return "memo-missing";
    case ErrorCode::TypeError: return "type-error";
    case ErrorCode::ValueError: return "value-error";
    case ErrorCode::AttributeError: return "attribute-error";
    case ErrorCode::LookupError: return "lookup-error";
    case ErrorCode::NotAllowed: return "not-allowed";
    case ErrorCode::NoHook: return "no-hook";
    case ErrorCode::ResourceLimit: return "resource-limit";
    case ErrorCode::Unpicklable: return "unpicklable";
    case ErrorCode::Io: return "io";
    case ErrorCode::Usage: return "usage";
  }
  return "unknown";
}

Error::Error(ErrorCode code, std::string message, int64_t offset, int opcode)
    : code_(code), message_(std::move(message)), offset_(offset), opcode_(opcode) {
  render();
}

void Error::locate(int64_t offset, int opcode) noexcept {
  if (offset_ != kNoOffset) return;
  offset_ = offset;
  opcode_ = opcode;
  try {
    render();
  } catch (...) {
    // what_ keeps its previous text; locating must never throw.
  }
}

void Error::render() {
  what_ = message_;
  if (offset_ == kNoOffset) return;
  what_ += " at offset " + std::to_string(offset_);
  if (opcode_ == kNoOpcode) return;
  const OpcodeInfo* info = opcode_info(static_cast<uint8_t>(opcode_));
  what_ += " (opcode ";
  if (info) {
    what_ += info->name;
  } else {
    what_ += "0x";
    append_hex(what_, static_cast<uint64_t>(opcode_), 2);
  }
  what_ += ")";
}

namespace detail {

void rethrow_as_error(std::string_view what, int64_t offset, int opcode) {
  auto usage = [&](const char* text) {
    std::string m = what.empty() ? std::string(text) : std::string(what) + " failed" + (*text ? ": " : "") + text;
    return Error(ErrorCode::Usage, std::move(m), offset, opcode);
  };
  try {
    throw;
  } catch (Error& e) {
    if (offset != Error::kNoOffset) e.locate(offset, opcode);
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::ResourceLimit, "out of memory", offset, opcode);
  } catch (const std::length_error&) {
    throw Error(ErrorCode::ResourceLimit, "out of memory", offset, opcode);
  } catch (const std::ios_base::failure& e) {
    throw Error(ErrorCode::Io, std::string("write failed: ") + e.what(), offset, opcode);
  } catch (const std::exception& e) {
    throw usage(e.what());
  } catch (...) {
    throw usage(what.empty() ? "an exception that is not a std::exception" : "");
  }
}

}  // namespace detail

}  // namespace pkl
