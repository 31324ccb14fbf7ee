// The decoder's byte reader and the byte sources.
#include "decode/reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>

#include "text/python_text.hpp"

namespace pkl {

// ---- sources -----------------------------------------------------------------

// A null `buf` skips n bytes (the reader's in-place parsing uses it to give
// back what it consumed without copying).
size_t MemorySource::read(void* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  if (buf && k) std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

size_t Source::peek(void*, size_t) { return kNoPeek; }

void Source::consume(void* copy, size_t n) {
  auto* p = static_cast<uint8_t*>(copy);
  while (n) {
    size_t got = read(p, n);
    if (got == 0) throw Error(ErrorCode::Io, "read failed: the input ended before bytes it had shown");
    p += got;
    n -= got;
  }
}

namespace {
[[noreturn]] void io_failed(const char* what) {
  throw Error(ErrorCode::Io, std::string(what) + " failed: " + std::strerror(errno));
}
}  // namespace

FdSource::~FdSource() {
  if (tee_[0] >= 0) ::close(tee_[0]);
  if (tee_[1] >= 0) ::close(tee_[1]);
}

size_t FdSource::read(void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    io_failed("read");
  }
}

size_t FdSource::peek(void* buf, size_t n) {
  if (kind_ == Kind::Unknown) {
    struct stat st {};
    kind_ = ::fstat(fd_, &st) != 0 ? Kind::Other
            : S_ISREG(st.st_mode)  ? Kind::File
            : S_ISFIFO(st.st_mode) ? Kind::Pipe
            : S_ISSOCK(st.st_mode) ? Kind::Socket
                                   : Kind::Other;
    if (kind_ == Kind::Pipe && ::pipe2(tee_, O_CLOEXEC) != 0) kind_ = Kind::Other;
  }
  ssize_t r = -1;
  switch (kind_) {
    case Kind::File: {
      const off_t at = ::lseek(fd_, 0, SEEK_CUR);
      if (at < 0) break;
      do r = ::pread(fd_, buf, n, at);
      while (r < 0 && errno == EINTR);
      if (r < 0) io_failed("read");
      return static_cast<size_t>(r);
    }
    case Kind::Socket:
      do r = ::recv(fd_, buf, n, MSG_PEEK);
      while (r < 0 && errno == EINTR);
      if (r < 0 && errno == ENOTSOCK) break;
      if (r < 0) io_failed("read");
      return static_cast<size_t>(r);
    case Kind::Pipe: {
      // tee(2) duplicates what the pipe holds (up to the private pipe's
      // capacity, 64 KiB: it is empty before each call) without consuming
      // it, waiting until something is there; 0 when the writers are gone.
      do r = ::tee(fd_, tee_[1], n, 0);
      while (r < 0 && errno == EINTR);
      if (r < 0 && errno == EINVAL) break;
      if (r < 0) io_failed("read");
      auto* p = static_cast<uint8_t*>(buf);
      for (size_t got = 0; got < static_cast<size_t>(r);) {
        ssize_t k = ::read(tee_[0], p + got, static_cast<size_t>(r) - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) io_failed("read");
        got += static_cast<size_t>(k);
      }
      return static_cast<size_t>(r);
    }
    default:
      break;
  }
  kind_ = Kind::Other;
  return kNoPeek;
}

void FdSource::consume(void* copy, size_t n) {
  if (kind_ == Kind::File) {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) io_failed("seek");
    return;
  }
  Source::consume(copy, n);
}

size_t StreamSource::read(void* buf, size_t n) {
  in_.read(static_cast<char*>(buf), static_cast<std::streamsize>(n));
  auto got = static_cast<size_t>(in_.gcount());
  if (in_.bad()) throw Error(ErrorCode::Io, "read failed: the stream is bad");
  return got;
}

namespace detail {

namespace {
constexpr size_t kMinChunk = size_t{64} << 10;  // a read-ahead chunk
}

Reader::Reader(std::span<const uint8_t> data) : in_place_(true), eof_(true) {
  origin_ = cur_ = data.data();
  end_ = lim_ = data.data() + data.size();
}

Reader::Reader(Source& source)
    : source_(&source), read_ahead_(source.may_read_ahead()), peeking_(!read_ahead_) {
  if (auto* m = dynamic_cast<MemorySource*>(&source)) {
    peeking_ = false;
    memory_source_ = m;
    in_place_ = true;
    eof_ = true;
    auto rest = m->remaining();
    origin_ = cur_ = rest.data();
    end_ = lim_ = rest.data() + rest.size();
  }
}

void Reader::begin_pickle(uint64_t max_input_bytes) {
  uint64_t here = offset();
  budget_end_ = max_input_bytes > UINT64_MAX - here ? UINT64_MAX : here + max_input_bytes;
  set_limit();
}

void Reader::set_limit() {
  uint64_t window = static_cast<uint64_t>(end_ - origin_);
  uint64_t allowed = budget_end_ - base_;
  lim_ = allowed < window ? origin_ + allowed : end_;
}

void Reader::truncated() const { fail_truncated(); }

void Reader::over_budget() const {
  throw Error(ErrorCode::ResourceLimit, "the pickle exceeds the input budget (max_input_bytes)");
}

void Reader::finish() noexcept {
  if (memory_source_) {
    size_t used = static_cast<size_t>(cur_ - origin_);
    memory_source_->read(nullptr, used);
    base_ += used;
    origin_ = cur_;
  } else if (peeking_) {
    // Consume what the pickle used; forget what was only looked at (someone
    // else may read it before the next pickle).
    try {
      commit(cur_);
    } catch (...) {  // the source failed: the next read reports it
    }
    end_ = origin_ + std::max(committed_, static_cast<size_t>(cur_ - origin_));
    set_limit();
  }
}

void Reader::commit(const uint8_t* upto) {
  const size_t target = static_cast<size_t>(upto - origin_);
  if (target > committed_) {
    source_->consume(buf_.data() + committed_, target - committed_);
    committed_ = target;
  }
}

bool Reader::at_end() {
  if (cur_ < end_) return false;
  return fill(1) == 0;
}

size_t Reader::read_more(size_t want, bool exact) {
  // The buffer may move: the current opcode's start becomes an offset.
  if (op_) {
    op_saved_ = base_ + static_cast<uint64_t>(op_ - origin_);
    op_ = nullptr;
  }
  // fill() asks for more than is at hand only when the pickle needs every
  // byte at hand and `want` more: what was peeked is consumed now.
  if (peeking_) commit(end_);
  // A short or open-ended need (an opcode, a text line) looks ahead; a
  // long argument of known length is read exactly, straight.
  const bool peek = peeking_ && want < kMinChunk;
  // Keep the unread bytes; drop the consumed ones when that frees enough room.
  size_t consumed = static_cast<size_t>(cur_ - origin_);
  size_t have = static_cast<size_t>(end_ - cur_);
  size_t chunk = exact && !peek ? want : std::max(want, kMinChunk);
  // Grow only as bytes arrive: at most double what is buffered per step.
  chunk = std::min(chunk, std::max(kMinChunk, have));
  if (consumed && (consumed >= buf_.size() / 2 || have + chunk > buf_.size() - consumed)) {
    if (have) std::memmove(buf_.data(), cur_, have);
    base_ += consumed;
    committed_ -= std::min(committed_, consumed);
    consumed = 0;
  }
  size_t used = consumed + have;
  buf_.grow_to(used + chunk);
  uint8_t* to = buf_.data() + used;
  size_t got = peek ? source_->peek(to, chunk) : Source::kNoPeek;
  if (got == Source::kNoPeek) {
    if (peek) peeking_ = false;  // the source cannot look ahead: read exactly
    got = source_->read(to, peek ? want : chunk);
    committed_ = used + got;
  }
  origin_ = buf_.data();
  cur_ = origin_ + consumed;
  end_ = origin_ + used + got;
  if (got == 0) eof_ = true;
  set_limit();
  return got;
}

size_t Reader::fill(uint64_t want) {
  size_t avail = static_cast<size_t>(end_ - cur_);
  while (avail < want && !eof_) {
    read_more(static_cast<size_t>(want - avail), !read_ahead_);
    avail = static_cast<size_t>(end_ - cur_);
  }
  return avail;
}

int Reader::next_byte_slow() {
  if (cur_ < end_) over_budget();  // bytes are there but past the budget
  if (offset() >= budget_end_) {
    if (fill(1) > 0) over_budget();
    return -1;
  }
  if (fill(1) == 0) return -1;
  return *cur_++;
}

const uint8_t* Reader::take_slow(size_t n) {
  uint64_t room = budget_end_ - offset();
  if (n > room) {
    if (fill(room + 1) > room) over_budget();
    truncated();
  }
  if (fill(n) < n) truncated();
  const uint8_t* p = cur_;
  cur_ += n;
  return p;
}

void Reader::take_into(uint8_t* to, size_t n) {
  const size_t at_hand = std::min(n, static_cast<size_t>(end_ - cur_));
  if (at_hand) std::memcpy(to, cur_, at_hand);
  cur_ += at_hand;
  if (at_hand == n) return;
  // The window is used up: the pickle takes every byte peeked so far, and
  // the window starts again, empty, at the buffer's start, where the bytes
  // after these will be read.
  if (op_) {
    op_saved_ = base_ + static_cast<uint64_t>(op_ - origin_);
    op_ = nullptr;
  }
  if (peeking_) commit(end_);
  base_ = offset();
  origin_ = cur_ = end_ = buf_.data();
  committed_ = 0;
  set_limit();
  // A step at a time, its pages made present first in one call (fresh
  // pages faulted in one by one by the kernel's copy cost more than the
  // copy): pages are taken only for bytes about to arrive.
  constexpr size_t kStep = size_t{1} << 20;
  for (size_t got = at_hand; got < n;) {
    const size_t step_end = std::min(n, got + kStep);
#ifdef MADV_POPULATE_WRITE
    const uintptr_t page = 4096;
    const uintptr_t from = (reinterpret_cast<uintptr_t>(to + got) + page - 1) & ~(page - 1);
    const uintptr_t upto = reinterpret_cast<uintptr_t>(to + step_end) & ~(page - 1);
    if (upto > from) ::madvise(reinterpret_cast<void*>(from), upto - from, MADV_POPULATE_WRITE);
#endif
    while (got < step_end) {
      const size_t k = source_->read(to + got, step_end - got);
      base_ += k;
      if (k == 0) {
        eof_ = true;
        truncated();
      }
      got += k;
    }
  }
}

std::string_view Reader::line() {
  size_t scanned = 0;
  for (;;) {
    size_t avail = static_cast<size_t>(lim_ - cur_);
    if (avail > scanned) {
      const void* nl = std::memchr(cur_ + scanned, '\n', avail - scanned);
      if (nl) {
        const auto* e = static_cast<const uint8_t*>(nl) + 1;
        std::string_view v(reinterpret_cast<const char*>(cur_), static_cast<size_t>(e - cur_));
        cur_ = e;
        return v;
      }
      scanned = avail;
    }
    uint64_t room = budget_end_ - offset();
    if (scanned >= room) {
      if (fill(scanned + 1) > scanned) over_budget();
      truncated();
    }
    if (fill(scanned + 1) <= scanned) truncated();
  }
}

void Reader::prefetch(uint64_t n) {
  uint64_t room = budget_end_ - offset();
  if (n > room) {
    if (fill(room + 1) > room) over_budget();
    truncated();
  }
  if (fill(n) < n) truncated();
}

void Reader::skip(uint64_t n) {
  while (n) {
    // In memory, at once; from a source, a chunk at a time (the window keeps
    // no more than a chunk of them).
    const uint64_t k = in_place_ ? n : std::min<uint64_t>(n, kMinChunk);
    budget_end_ = budget_end_ > UINT64_MAX - k ? UINT64_MAX : budget_end_ + k;
    set_limit();
    if (fill(k) < k) truncated();
    cur_ += k;
    n -= k;
  }
}

}  // namespace detail
}  // namespace pkl
