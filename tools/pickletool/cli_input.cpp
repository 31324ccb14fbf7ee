#include "cli_input.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <new>

Input::Input(const std::string& path) : fd_(path, OpenFd::Read) {
  struct stat st {};
  if (::fstat(fd_.fd(), &st) == 0 && S_ISREG(st.st_mode)) {
    const auto size = static_cast<size_t>(st.st_size);
    // Standard input redirected from a file may start part way into it.
    const off_t at = ::lseek(fd_.fd(), 0, SEEK_CUR);
    const size_t skip = at > 0 && static_cast<size_t>(at) <= size ? static_cast<size_t>(at) : 0;
    // A size of 0 may be a file that is empty, or one of /proc's, whose
    // size says nothing: those are read like a pipe.
    if (size > 0) {
      // MAP_POPULATE maps every page at once (from the page cache, or read
      // in large requests) instead of taking a fault each 4 KiB, which costs
      // more than parsing the page.
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_.fd(), 0);
      if (p != MAP_FAILED) {
        map_ = static_cast<uint8_t*>(p);
        map_size_ = size;
        mapped_ = true;
      }
    }
    if (mapped_) {
      source_ = std::make_unique<pkl::MemorySource>(std::span<const uint8_t>(map_ + skip, size - skip));
      return;
    }
  }
  // A pipe holds 64 KiB by default: a read each 64 KiB, and the writer and
  // this process taking turns as often. Ask for 1 MiB (the default most an
  // unprivileged process may set); the pipe is ours to read, and a failure
  // leaves it as it was.
#ifdef F_SETPIPE_SZ
  struct stat ps {};
  if (::fstat(fd_.fd(), &ps) == 0 && S_ISFIFO(ps.st_mode)) ::fcntl(fd_.fd(), F_SETPIPE_SZ, 1 << 20);
#endif
  source_ = std::make_unique<pkl::FdSource>(fd_.fd(), /*may_read_ahead=*/true);
}

Input::~Input() {
  source_.reset();
  if (map_) ::munmap(map_, map_size_);
  std::free(read_);
}

void Input::apply(pkl::DecodeOptions& options) const noexcept {
  if (mapped_) options.bytes_as_views = true;
}

std::span<const uint8_t> Input::all() {
  if (mapped_) return static_cast<pkl::MemorySource&>(*source_).remaining();
  if (!read_) {
    size_t cap = size_t{1} << 20;
    read_ = static_cast<uint8_t*>(std::malloc(cap));
    if (!read_) throw std::bad_alloc();
    for (;;) {
      if (read_size_ == cap) {
        auto* grown = static_cast<uint8_t*>(std::realloc(read_, cap * 2));
        if (!grown) throw std::bad_alloc();
        read_ = grown;
        cap *= 2;
      }
      const size_t got = source_->read(read_ + read_size_, cap - read_size_);
      if (got == 0) break;
      read_size_ += got;
    }
  }
  return {read_, read_size_};
}
