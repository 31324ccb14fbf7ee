// The decoder's byte reader and the byte sources.
#include "decode_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>

#include "decode_text.hpp"

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

size_t FdSource::read(void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    throw Error(ErrorCode::Io, std::string("read failed: ") + std::strerror(errno));
  }
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

Reader::Reader(Source& source) : source_(&source), read_ahead_(source.may_read_ahead()) {
  if (auto* m = dynamic_cast<MemorySource*>(&source)) {
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

void Reader::truncated() const { throw Error(ErrorCode::Truncated, "pickle data was truncated"); }

void Reader::over_budget() const {
  throw Error(ErrorCode::ResourceLimit, "the pickle exceeds the input budget (max_input_bytes)");
}

void Reader::finish() noexcept {
  if (memory_source_) {
    size_t used = static_cast<size_t>(cur_ - origin_);
    memory_source_->read(nullptr, used);
    base_ += used;
    origin_ = cur_;
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
  // Keep the unread bytes; drop the consumed ones when that frees enough room.
  size_t consumed = static_cast<size_t>(cur_ - origin_);
  size_t have = static_cast<size_t>(end_ - cur_);
  size_t chunk = exact ? want : std::max(want, kMinChunk);
  // Grow only as bytes arrive: at most double what is buffered per step.
  chunk = std::min(chunk, std::max(kMinChunk, have));
  if (consumed && (consumed >= buf_.size() / 2 || have + chunk > buf_.size() - consumed)) {
    if (have) std::memmove(buf_.data(), cur_, have);
    base_ += consumed;
    consumed = 0;
  }
  size_t used = consumed + have;
  if (buf_.size() < used + chunk) buf_.resize(used + chunk);
  size_t got = source_->read(buf_.data() + used, chunk);
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

}  // namespace detail
}  // namespace pkl
