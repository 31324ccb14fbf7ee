// The encoder's sinks: a std::string, a file descriptor, a std::ostream.
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "base/foreign.hpp"

namespace pkl {

void StringSink::write(const char* data, size_t size) {
  detail::as_error([&] { out_.append(data, size); });
}

void FdSink::write(const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::Io, std::string("write failed: ") + std::strerror(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

namespace {

[[noreturn]] void stream_failed(const char* what) {
  throw Error(ErrorCode::Io, std::string(what) + " failed: the output stream is in a failed state");
}

}  // namespace

void StreamSink::write(const char* data, size_t size) {
  out_.write(data, static_cast<std::streamsize>(size));
  if (!out_) stream_failed("write");
}

void StreamSink::flush() {
  out_.flush();
  if (!out_) stream_failed("flush");
}

}  // namespace pkl
