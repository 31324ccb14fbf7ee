// The opcode loop: one switch over the 68 opcodes of protocols 0-5, a stack
// of NodeIds and a stack of marks, as CPython 3.11's load() in
// Modules/_pickle.c (accepts, rejects and builds what it does).
#include "decode/machine.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <new>
#include <stdexcept>

#include "text/python_text.hpp"
#include "text/latin1.hpp"
#include "picklecodec/opcodes.hpp"
#include "text/utf8_simd.hpp"
#include "base/tuning.hpp"

namespace pkl::detail {

namespace {

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

int64_t le_int32(const uint8_t* p) { return static_cast<int32_t>(static_cast<uint32_t>(le(p, 4))); }

constexpr uint64_t kSsizeMax = uint64_t{INT64_MAX};

// Inputs from this size on get their node array and memo reserved up front.
constexpr size_t kReserveMin = size_t{64} << 10;

std::string bad_load_key(int c) {
  std::string m = "invalid load key, '";
  if (c >= 0x20 && c <= 0x7e && c != '\'' && c != '\\') {
    m += static_cast<char>(c);
  } else {
    static const char hex[] = "0123456789abcdef";
    m += "\\x";
    m += hex[(c >> 4) & 0xf];
    m += hex[c & 0xf];
  }
  m += "'.";
  return m;
}

// True when `data` (followed by `slack` readable bytes) is UTF-8 with
// surrogates allowed (text/utf8_valid.hpp; require_utf8 reports a fault).
inline bool utf8_fast(const char* data, size_t n, size_t slack) noexcept {
  return text::utf8_valid(std::string_view(data, n), true, slack);
}

#ifdef PKL_TEXT_SIMD
using text::utf8_short_ssse3;
#endif

}  // namespace

Machine::Machine(Reader& in, const DecodeOptions& options) : in_(in), opt_(options) {
  fast_run_ = tuning.fast_run;
  scalar_run_ = tuning.scalar_run;
#ifdef PKL_TEXT_SIMD
  simd_ = fast_run_ && simd_enabled();
#endif
  stack_.reserve(64);
}

void Machine::grow_stack() {
  uint64_t want = std::max<uint64_t>(64, stack_.capacity() * 2);
  if (want * sizeof(NodeId) + g_.bytes_held() > opt_.limits.max_total_bytes)
    fail(ErrorCode::ResourceLimit, "the pickle's stack exceeds the memory budget (max_total_bytes)");
  stack_.reserve(want);
}

void Machine::underflow() const {
  fail(ErrorCode::StackUnderflow, marks_.empty() ? "unpickling stack underflow" : "unexpected MARK found");
}

size_t Machine::marker() {
  if (marks_.empty()) fail(ErrorCode::NoMark, "could not find MARK");
  size_t m = marks_.back();
  marks_.pop_back();
  set_fence();
  return m;
}

void Machine::check_len(uint64_t n) const {
  if (n > opt_.limits.max_container_len)
    fail(ErrorCode::ResourceLimit, "a container exceeds " + std::to_string(opt_.limits.max_container_len) +
                                       " items (max_container_len)");
}

void Machine::op_string_bytes(std::string_view raw) {
  switch (opt_.string_encoding) {
    case StringEncoding::Bytes:
      push(g_.bytes(raw));
      return;
    case StringEncoding::Latin1:
      push(g_.str(latin1_to_utf8(raw)));
      return;
    case StringEncoding::Ascii:
      require_ascii(raw);
      push(g_.str(raw));
      return;
  }
}

void Machine::memo_overflow() const {
  fail(ErrorCode::ResourceLimit,
       "the memo exceeds " + std::to_string(opt_.limits.max_memo_entries) + " entries (max_memo_entries)");
}

void Machine::memo_missing(int64_t idx) const {
  fail(ErrorCode::MemoMissing, "Memo value not found at index " + std::to_string(idx));
}

void Machine::check_utf8(std::string_view data) {
  const auto* end = reinterpret_cast<const uint8_t*>(data.data() + data.size());
  const size_t slack = end >= in_.cursor() && end <= in_.limit() ? static_cast<size_t>(in_.limit() - end) : 0;
  if (utf8_fast(data.data(), data.size(), slack)) return;
  require_utf8(data, true);
}

namespace {

// What scalar_run needs to know of an opcode: the length of BININT1,
// BININT2, BININT, BINFLOAT (bits 0-7); the left shift that keeps the
// argument's bits in a word (8-15); whether its value is signed (16), a
// float (17), or LONG1's (18: length and shift from its count byte); 0 for
// every other opcode.
constexpr uint32_t kSigned = 1u << 16, kFloat = 1u << 17, kLong = 1u << 18;
constexpr std::array<uint32_t, 256> kScalarOps = [] {
  std::array<uint32_t, 256> t{};
  t[op::BININT1] = 2 | (56u << 8);
  t[op::BININT2] = 3 | (48u << 8);
  t[op::BININT] = 5 | (32u << 8) | kSigned;
  t[op::BINFLOAT] = 9 | kFloat;
  t[op::LONG1] = kSigned | kLong;
  return t;
}();

// A number opcode's node bits, without a branch: its argument word `w`
// (w1, or w2 for LONG1) cut to its bits by `shl`, sign-extended if signed;
// BINFLOAT's big-endian double from w1.
inline uint64_t scalar_bits(uint32_t e, uint64_t w1, uint64_t w, unsigned shl) noexcept {
  const uint64_t x = w << shl;
  const uint64_t sx = static_cast<uint64_t>(static_cast<int64_t>(x) >> shl);
  const uint64_t ux = x >> shl;
  const uint64_t bits = (e & kSigned) ? sx : ux;
  return (e & kFloat) ? __builtin_bswap64(w1) : bits;
}

#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#define PKL_SCALAR_SSE2 1

// The bytes next_offsets() covers at once.
constexpr ptrdiff_t kNextBlock = 64;
// next_offsets()'s mark of a position that is not a number scalar_run()
// takes (never a position: they are below kNextBlock + 11).
constexpr uint8_t kNotScalar = 0xff;

// For each position i of [0, kNextBlock) of `blk`, as if an opcode were
// there: next[i], i + the opcode's length when it is one the mixed loop of
// scalar_run() takes (BININT1 2, BININT2 3, BININT 5, BINFLOAT 9, LONG1 of
// a count of 1 to 8: 2 + the count), else kNotScalar; shl[i], the left
// shift that keeps its argument's bits in a 64-bit word (LONG1: 64 - 8 *
// count). 16 positions at a time; reads kNextBlock + 1 bytes of `blk`.
inline void next_offsets(const uint8_t* blk, uint8_t* next, uint8_t* shl) noexcept {
  const __m128i j = _mm_set1_epi8(static_cast<char>(op::BININT));
  const __m128i k1 = _mm_set1_epi8(static_cast<char>(op::BININT1));
  const __m128i k2 = _mm_set1_epi8(static_cast<char>(op::BININT2));
  const __m128i g = _mm_set1_epi8(static_cast<char>(op::BINFLOAT));
  const __m128i l = _mm_set1_epi8(static_cast<char>(op::LONG1));
  const __m128i one = _mm_set1_epi8(1);
  const __m128i zero = _mm_setzero_si128();
  __m128i at = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (ptrdiff_t i = 0; i < kNextBlock; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + i));
    const __m128i n = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + i + 1));  // LONG1's count
    const __m128i is_j = _mm_cmpeq_epi8(b, j), is_k1 = _mm_cmpeq_epi8(b, k1), is_k2 = _mm_cmpeq_epi8(b, k2);
    const __m128i is_g = _mm_cmpeq_epi8(b, g);
    // LONG1 of a count of 1 to 8: (count - 1) & 0xf8 is 0.
    const __m128i n_ok = _mm_cmpeq_epi8(_mm_and_si128(_mm_sub_epi8(n, one), _mm_set1_epi8(static_cast<char>(0xf8))), zero);
    const __m128i is_l = _mm_and_si128(_mm_cmpeq_epi8(b, l), n_ok);
    __m128i len = _mm_and_si128(is_j, _mm_set1_epi8(5));
    len = _mm_or_si128(len, _mm_and_si128(is_k1, _mm_set1_epi8(2)));
    len = _mm_or_si128(len, _mm_and_si128(is_k2, _mm_set1_epi8(3)));
    len = _mm_or_si128(len, _mm_and_si128(is_g, _mm_set1_epi8(9)));
    len = _mm_or_si128(len, _mm_and_si128(is_l, _mm_add_epi8(n, _mm_set1_epi8(2))));
    const __m128i valid = _mm_or_si128(_mm_or_si128(is_j, is_k1), _mm_or_si128(_mm_or_si128(is_k2, is_g), is_l));
    // Invalid: all bits set (kNotScalar); valid: at + len.
    _mm_store_si128(reinterpret_cast<__m128i*>(next + i),
                    _mm_or_si128(_mm_add_epi8(at, len), _mm_xor_si128(valid, _mm_set1_epi8(-1))));
    const __m128i n8 = _mm_add_epi8(_mm_add_epi8(n, n), _mm_add_epi8(n, n));  // 4n
    __m128i sh = _mm_and_si128(is_j, _mm_set1_epi8(32));
    sh = _mm_or_si128(sh, _mm_and_si128(is_k1, _mm_set1_epi8(56)));
    sh = _mm_or_si128(sh, _mm_and_si128(is_k2, _mm_set1_epi8(48)));
    sh = _mm_or_si128(sh, _mm_and_si128(is_l, _mm_sub_epi8(_mm_set1_epi8(64), _mm_add_epi8(n8, n8))));
    _mm_store_si128(reinterpret_cast<__m128i*>(shl + i), sh);
    at = _mm_add_epi8(at, _mm_set1_epi8(16));
  }
}
#endif

}  // namespace

size_t Machine::scalar_run() {
  // Numbers come in runs (a list of ints or floats is one opcode after the
  // other): decoded here with the cursor, the node slots and the stack in
  // registers, and without a branch on which opcode it is (in a list of
  // mixed ints the opcode changes at random: a mispredicted branch per
  // number cost more than the rest of its decoding). Takes BININT1, BININT2,
  // BININT, BINFLOAT and LONG1 of 1 to 8 bytes (sign-extended, as run()
  // does). Stops before any other opcode, before an opcode whose argument
  // might be cut by the window's end, and when the node vector, the stack or
  // the budget has no room left; the general loop goes on from there.
  const uint8_t* p = in_.cursor();  // the next opcode
  const uint8_t* const lim = in_.limit();
  size_t room = GraphAccess::scalar_room(g_);
  const size_t stack_room = stack_.capacity() - stack_.size();
  if (stack_room < room) room = stack_room;
  GraphAccess::ScalarOut out = GraphAccess::scalar_slots(g_);
  NodeId* sp = stack_.end();
  size_t k = 0;
  // Two loops. A run of one opcode (a list of floats, or of small ints) is
  // decoded by a loop that steps by that opcode's fixed length: the branch
  // on the next opcode is predicted and the next address does not wait for
  // the load of this opcode. A mixed run (a list of ints of all sizes) is
  // decoded without a branch on the opcode: a branch would be mispredicted
  // about every other number; the length and value come from tables and
  // selects instead. Each loop hands over to the other when the opcodes
  // change their pattern.
  for (;;) {
    const unsigned c0 = *p;
    if (k >= room || lim - p < 10 || kScalarOps[c0] == 0 || (kScalarOps[c0] & kLong)) {
      if (k >= room || lim - p < 10 || kScalarOps[c0] == 0) break;
    } else {
      const uint32_t e0 = kScalarOps[c0];
      const size_t len = e0 & 0xff;
      const unsigned shl = (e0 >> 8) & 0xff;
      const size_t k0 = k;
      while (k < room && lim - p >= 10 && *p == c0) {
        uint64_t w;
        std::memcpy(&w, p + 1, 8);
        if constexpr (std::endian::native != std::endian::little) w = __builtin_bswap64(w);
        uint64_t bits;
        Kind kind = Kind::Int;
        if (c0 == op::BINFLOAT) {
          bits = __builtin_bswap64(w);
          kind = Kind::Float;
        } else if (c0 == op::BININT) {
          bits = static_cast<uint64_t>(static_cast<int64_t>(w << 32) >> 32);
        } else {
          bits = (w << shl) >> shl;
        }
        GraphAccess::write_scalar(out, k, kind, bits);
        sp[k] = out.first + static_cast<NodeId>(k);
        ++k;
        p += len;
      }
      if (k - k0 >= 8) continue;  // a run of one opcode: look again after it
    }
    // Mixed opcodes: the next 64 numbers (at most) without a branch on which.
    const size_t stop = room - k < 64 ? room : k + 64;
#ifdef PKL_SCALAR_SSE2
    // Where the window allows, the opcodes are found through next_offsets():
    // the offset of the next opcode is one load from a table made 16 bytes
    // at a time, so the chain from one number to the next is that load,
    // not the load of the opcode, its table entry and the length's select.
    // (Not for a run that ends here: a record's two floats, say.)
    if (lim - p >= kNextBlock + 16 && kScalarOps[*p] != 0) {
      const uint8_t* blk = p;
      alignas(16) uint8_t next[kNextBlock];
      alignas(16) uint8_t shift[kNextBlock];
      next_offsets(blk, next, shift);
      size_t pos = 0;
      while (k < stop) {
        if (pos >= kNextBlock) {
          blk += kNextBlock;
          pos -= kNextBlock;
          if (lim - blk < kNextBlock + 16) break;  // the rest by the loop below
          next_offsets(blk, next, shift);
        }
        const uint8_t* q = blk + pos;
        const size_t nx = next[pos];
        if (nx == kNotScalar) {
          p = q;
          goto done;  // not a number this loop takes
        }
        const uint32_t e = kScalarOps[*q];
        uint64_t w1, w2;
        std::memcpy(&w1, q + 1, 8);
        std::memcpy(&w2, q + 2, 8);
        const uint64_t w = (e & kLong) ? w2 : w1;
        const uint64_t bits = scalar_bits(e, w1, w, shift[pos]);
        GraphAccess::write_scalar(out, k, (e & kFloat) ? Kind::Float : Kind::Int, bits);
        sp[k] = out.first + static_cast<NodeId>(k);
        ++k;
        pos = nx;  // pos + this opcode's length
      }
      p = blk + pos;
    }
#endif
    while (k < stop && lim - p >= 10) {
      const uint32_t e = kScalarOps[*p];
      const unsigned n = p[1];  // LONG1's count
      const bool lng = (e & kLong) != 0;
      if ((e == 0) | (lng & (n - 1u > 7u))) goto done;  // not a number this loop takes
      uint64_t w1, w2;
      std::memcpy(&w1, p + 1, 8);
      std::memcpy(&w2, p + 2, 8);
      if constexpr (std::endian::native != std::endian::little) {
        w1 = __builtin_bswap64(w1);
        w2 = __builtin_bswap64(w2);
      }
      const uint64_t w = lng ? w2 : w1;
      const uint64_t bits = scalar_bits(e, w1, w, lng ? 64 - 8 * n : (e >> 8) & 0xff);
      p += lng ? 2 + n : (e & 0xff);
      GraphAccess::write_scalar(out, k, (e & kFloat) ? Kind::Float : Kind::Int, bits);
      sp[k] = out.first + static_cast<NodeId>(k);
      ++k;
    }
    if (k < stop) break;  // the window's end
  }
done:
  GraphAccess::commit_scalars(g_, k);
  stack_.commit(k);
  in_.set_cursor(p);
  return k;
}

#define PKL_FAST_RUN_NAME fast_run_generic
#define PKL_FAST_RUN_SSSE3 0
#include "decode/fast_run.inc"
#undef PKL_FAST_RUN_NAME
#undef PKL_FAST_RUN_SSSE3

#ifdef PKL_TEXT_SIMD
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("ssse3"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("ssse3")
#endif
#define PKL_FAST_RUN_NAME fast_run_ssse3
#define PKL_FAST_RUN_SSSE3 1
#include "decode/fast_run.inc"
#include "base/foreign.hpp"
#undef PKL_FAST_RUN_NAME
#undef PKL_FAST_RUN_SSSE3
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

void Machine::op_bytes(std::string_view data) {
  if (opt_.bytes_as_views && data.size() >= opt_.bytes_view_min && in_.in_place()) {
    push(g_.bytes_view(data));
    return;
  }
  push(GraphAccess::bytes_unshared(g_, data));
}

void Machine::op_ext(int64_t code) {
  if (code <= 0) fail(ErrorCode::BadArgument, "EXT specifies code <= 0");
  std::optional<std::pair<std::string, std::string>> pair;
  if (opt_.extension) {
    pair = as_error([&] { return opt_.extension(static_cast<int32_t>(code)); }, "the extension hook");
  }
  if (!pair) fail(ErrorCode::NoHook, "unregistered extension code " + std::to_string(code));
  push(find_class(pair->first, pair->second, code <= 0xff ? op::EXT1 : code <= 0xffff ? op::EXT2 : op::EXT4,
                  static_cast<int32_t>(code)));
}

void Machine::op_persid_text() {
  std::string_view line = in_.line();
  std::string_view text = line.substr(0, line.size() - 1);
  if (first_non_ascii(text) != std::string_view::npos)
    fail(ErrorCode::BadArgument, "persistent IDs in protocol 0 must be ASCII strings");
  push(persistent_load(g_.str(text), op::PERSID));
}

// The object a persistent id stands for: the caller's hook, else a kept
// PersId node (DecodeOptions::persistent_ids). Whether there is a hook is
// checked before the pid is read (require_persistent_load), as CPython does.
NodeId Machine::persistent_load(NodeId pid, uint8_t via) {
  if (opt_.trace) [[unlikely]] {
    TraceEvent e{.kind = TraceKind::PersistentLoad, .opcode = op::BINPERSID, .offset = 0, .args = pid};
    trace(e, via);
  }
  if (!opt_.persistent_load) return g_.persid(pid);
  NodeId obj;
  obj = as_error([&] { return opt_.persistent_load(g_, pid); }, "persistent_load");
  if (obj >= g_.size()) fail(ErrorCode::Usage, "persistent_load returned an invalid node");
  return obj;
}

void Machine::require_persistent_load() {
  if (!opt_.persistent_load && opt_.persistent_ids != PersistentIds::Keep)
    fail(ErrorCode::NoHook,
         "A load persistent id instruction was encountered,\n"
         "but no persistent_load function was specified.");
}

void Machine::op_readonly_buffer() {
  if (stack_.size() <= fence_) underflow();
  NodeId top = stack_.back();
  switch (g_.kind(top)) {
    case Kind::Bytes:
      return;  // already read-only: CPython keeps the object
    case Kind::Buffer: {
      const BufferData& b = g_.buffer_data(top);
      if (b.readonly) return;
      std::string data = b.data;
      stack_.back() = g_.buffer(b.index, true, data);
      return;
    }
    case Kind::ByteArray: {
      // A read-only memoryview of an in-band bytearray: not an out-of-band buffer.
      std::string data(bytearray_data(top));
      stack_.back() = g_.buffer(UINT64_MAX, true, data);
      return;
    }
    default:
      fail(ErrorCode::TypeError,
           "memoryview: a bytes-like object is required, not '" + type_name(top) + "'");
  }
}

void Machine::op_dict(size_t mark) {
  size_t j = stack_.size();
  if ((j - mark) % 2 != 0) fail(ErrorCode::BadArgument, "odd number of items for DICT");
  check_len((j - mark) / 2);
  NodeId d = g_.dict();
  for (size_t k = mark; k + 1 < j; k += 2) g_.dict_set(d, stack_[k], stack_[k + 1]);
  stack_.resize(mark);
  push(d);
}

Graph Machine::run() {
  g_.set_byte_limit(opt_.limits.max_total_bytes);
  in_.begin_pickle(opt_.limits.max_input_bytes);
  {
    // A large input gets its node array and memo reserved up front, in
    // proportion to the bytes at hand (a node or a memo entry takes an opcode
    // of at least one byte; these are typical densities, not bounds: both
    // still grow as needed). The reservation is address space: pages are
    // faulted in as nodes are made, the budget is charged per node, and one
    // block of the final size (not a series of doublings) is what the block
    // cache hands the next decode of a similar input.
    const auto present = static_cast<size_t>(in_.limit() - in_.cursor());
    if (present >= kReserveMin) {
      try {
        GraphAccess::reserve_nodes(g_, present / 3);
        memo_.reserve(present / 8);
        GraphAccess::reserve_containers(g_, present / 16);
      } catch (const std::bad_alloc&) {
        // No address space for it: grow as needed instead.
      }
    }
  }
  const uint32_t max_digits = opt_.limits.max_int_digits;
  in_.mark_op();
  int op = Error::kNoOpcode;
  try {
    for (;;) {
#ifdef PKL_TEXT_SIMD
      if (simd_) {
        fast_run_ssse3();
      } else if (fast_run_) {
        fast_run_generic();
      }
#else
      if (fast_run_) fast_run_generic();
#endif
      in_.mark_op();
      int c = in_.next_byte();
      if (c < 0) {
        op = Error::kNoOpcode;
        fail(ErrorCode::Truncated, "Ran out of input");
      }
      op = c;
      switch (static_cast<uint8_t>(c)) {
        // ---- constants and scalars --------------------------------------
        case op::NONE: push(g_.none()); break;
        case op::NEWTRUE: push(g_.boolean(true)); break;
        case op::NEWFALSE: push(g_.boolean(false)); break;
        case op::BININT:
          push(GraphAccess::scalar(g_, Kind::Int, static_cast<uint64_t>(le_int32(in_.take(4)))));
          if (scalar_next()) scalar_run();
          break;
        case op::BININT1:
          push(GraphAccess::scalar(g_, Kind::Int, *in_.take(1)));
          if (scalar_next()) scalar_run();
          break;
        case op::BININT2:
          push(GraphAccess::scalar(g_, Kind::Int, le(in_.take(2), 2)));
          if (scalar_next()) scalar_run();
          break;
        case op::INT: push(parse_int_line(g_, in_.line(), max_digits)); break;
        case op::LONG: push(parse_long_line(g_, in_.line(), max_digits)); break;
        case op::LONG1:
        case op::LONG4: {
          int64_t n = c == op::LONG1 ? *in_.take(1) : le_int32(in_.take(4));
          if (n < 0) fail(ErrorCode::BadArgument, "LONG pickle has negative byte count");
          if (n == 0) {
            push(g_.integer(0));
          } else if (n <= 8) {
            // Fits in int64 whatever its minimal length: sign-extend it.
            const uint8_t* p = in_.take(static_cast<size_t>(n));
            const uint64_t v = le(p, static_cast<int>(n));
            const int shift = 64 - 8 * static_cast<int>(n);
            push(GraphAccess::scalar(g_, Kind::Int, static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift)));
            if (scalar_next()) scalar_run();
          } else {
            const uint8_t* p = in_.take(static_cast<size_t>(n));
            push(g_.integer_le({p, static_cast<size_t>(n)}));
          }
          break;
        }
        case op::FLOAT: push(g_.floating(parse_float_line(in_.line()))); break;
        case op::BINFLOAT: {
          uint64_t bits;
          std::memcpy(&bits, in_.take(8), 8);
          if constexpr (std::endian::native == std::endian::little) bits = __builtin_bswap64(bits);  // big-endian
          push(GraphAccess::scalar(g_, Kind::Float, bits));
          if (scalar_next()) scalar_run();
          break;
        }

        // ---- bytes and strings --------------------------------------------
        case op::SHORT_BINBYTES:
        case op::BINBYTES:
        case op::BINBYTES8:
        case op::BYTEARRAY8: {
          int w = c == op::SHORT_BINBYTES ? 1 : c == op::BINBYTES ? 4 : 8;
          uint64_t n = le(in_.take(static_cast<size_t>(w)), w);
          if (n > kSsizeMax)
            fail(ErrorCode::BadArgument, std::string(c == op::BYTEARRAY8 ? "BYTEARRAY8" : "BINBYTES") +
                                             " exceeds system's maximum size of 9223372036854775807 bytes");
          std::string_view data = in_.take_view(static_cast<size_t>(n));
          if (c == op::BYTEARRAY8) {
            push(g_.bytearray(data));
          } else {
            op_bytes(data);
          }
          break;
        }
        case op::SHORT_BINSTRING:
        case op::BINSTRING: {
          int w = c == op::SHORT_BINSTRING ? 1 : 4;
          uint64_t n = le(in_.take(static_cast<size_t>(w)), w);
          op_string_bytes(in_.take_view(static_cast<size_t>(n)));
          break;
        }
        case op::STRING: {
          std::string_view line = in_.line();
          std::string_view s = line.substr(0, line.size() - 1);
          if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"'))
            fail(ErrorCode::BadArgument, "the STRING opcode argument must be quoted");
          op_string_bytes(escape_decode(s.substr(1, s.size() - 2)));
          break;
        }
        case op::UNICODE: {
          std::string_view line = in_.line();
          push(g_.str(raw_unicode_escape_decode(line.substr(0, line.size() - 1))));
          break;
        }
        case op::SHORT_BINUNICODE:
        case op::BINUNICODE:
        case op::BINUNICODE8: {
          int w = c == op::SHORT_BINUNICODE ? 1 : c == op::BINUNICODE ? 4 : 8;
          uint64_t n = le(in_.take(static_cast<size_t>(w)), w);
          if (n > kSsizeMax)
            fail(ErrorCode::BadArgument, "BINUNICODE exceeds system's maximum size of 9223372036854775807 bytes");
          op_unicode(in_.take_view(static_cast<size_t>(n)));
          break;
        }

        // ---- containers -------------------------------------------------------
        case op::EMPTY_TUPLE: push(g_.tuple({})); break;
        case op::TUPLE1:
        case op::TUPLE2:
        case op::TUPLE3: {
          size_t n = static_cast<size_t>(c - op::TUPLE1 + 1);
          if (stack_.size() < n || stack_.size() - n < fence_) underflow();
          size_t start = stack_.size() - n;
          NodeId t = GraphAccess::tuple(g_, top_from(start));
          stack_.resize(start);
          push(t);
          break;
        }
        case op::TUPLE: {
          size_t m = marker();
          check_len(stack_.size() - m);
          NodeId t = GraphAccess::tuple(g_, top_from(m));
          stack_.resize(m);
          push(t);
          break;
        }
        case op::EMPTY_LIST: push(GraphAccess::empty_list(g_)); break;
        case op::LIST: {
          size_t m = marker();
          check_len(stack_.size() - m);
          NodeId l = g_.list(top_from(m));
          stack_.resize(m);
          push(l);
          break;
        }
        case op::EMPTY_DICT: push(GraphAccess::empty_dict(g_)); break;
        case op::DICT: op_dict(marker()); break;
        case op::EMPTY_SET: push(g_.set()); break;
        case op::FROZENSET: {
          size_t m = marker();
          check_len(stack_.size() - m);
          NodeId f = g_.frozenset(top_from(m));
          stack_.resize(m);
          push(f);
          break;
        }
        case op::APPEND: {
          int64_t x = static_cast<int64_t>(stack_.size()) - 1;
          if (x <= static_cast<int64_t>(fence_)) underflow();
          do_append(x, op::APPEND);
          break;
        }
        case op::APPENDS: do_append(static_cast<int64_t>(marker()), op::APPENDS); break;
        case op::SETITEM: do_setitems(static_cast<int64_t>(stack_.size()) - 2, op::SETITEM); break;
        case op::SETITEMS: do_setitems(static_cast<int64_t>(marker()), op::SETITEMS); break;
        case op::ADDITEMS: do_additems(static_cast<int64_t>(marker())); break;

        // ---- stack and marks ------------------------------------------------
        case op::MARK:
          if (marks_.size() >= opt_.limits.max_depth)
            fail(ErrorCode::ResourceLimit,
                 "more than " + std::to_string(opt_.limits.max_depth) + " open MARKs (max_depth)");
          marks_.push_back(stack_.size());
          fence_ = stack_.size();
          break;
        case op::POP:
          if (!marks_.empty() && marks_.back() == stack_.size()) {
            marks_.pop_back();
            set_fence();
          } else {
            discard(pop());
          }
          break;
        case op::POP_MARK: stack_.resize(marker()); break;
        case op::DUP:
          if (stack_.size() <= fence_) underflow();
          push(stack_.back());
          break;

        // ---- memo -------------------------------------------------------------
        case op::GET: {
          std::string_view line = in_.line();
          require_line(line);
          op_get(parse_memo_index(line, max_digits));
          break;
        }
        case op::BINGET: op_get(*in_.take(1)); break;
        case op::LONG_BINGET: op_get(static_cast<int64_t>(le(in_.take(4), 4))); break;
        case op::PUT: {
          std::string_view line = in_.line();
          require_line(line);
          if (stack_.size() <= fence_) underflow();
          int64_t idx = parse_memo_index(line, max_digits);
          if (idx < 0) fail(ErrorCode::BadArgument, "negative PUT argument");
          op_put(static_cast<uint64_t>(idx));
          break;
        }
        case op::BINPUT: op_put(*in_.take(1)); break;
        case op::LONG_BINPUT: op_put(le(in_.take(4), 4)); break;
        case op::MEMOIZE: op_put(memo_.size()); break;

        // ---- globals and objects ---------------------------------------------
        case op::GLOBAL: {
          std::string_view l1 = in_.line();
          require_line(l1);
          std::string module(l1.substr(0, l1.size() - 1));
          require_utf8(module, false);
          std::string_view l2 = in_.line();
          require_line(l2);
          std::string_view name = l2.substr(0, l2.size() - 1);
          require_utf8(name, false);
          push(find_class(module, name, op::GLOBAL));
          break;
        }
        case op::STACK_GLOBAL: {
          NodeId name = pop();
          NodeId module = pop();
          if (g_.kind(module) != Kind::Str || g_.kind(name) != Kind::Str)
            fail(ErrorCode::BadArgument, "STACK_GLOBAL requires str");
          push(find_class(g_.as_str(module), g_.as_str(name), op::STACK_GLOBAL));
          break;
        }
        case op::INST: {
          size_t m = marker();
          std::string_view l1 = in_.line();
          require_line(l1);
          std::string module(l1.substr(0, l1.size() - 1));
          require_ascii(module);
          std::string_view l2 = in_.line();
          require_line(l2);
          std::string_view name = l2.substr(0, l2.size() - 1);
          require_ascii(name);
          NodeId cls = find_class(module, name, op::INST);
          check_len(stack_.size() - m);
          NodeId args = g_.tuple(top_from(m));
          stack_.resize(m);
          if (opt_.trace) [[unlikely]] trace_call(op::INST, cls, args);
          push(instantiate(cls, args));
          break;
        }
        case op::OBJ: {
          size_t m = marker();
          if (stack_.size() - m < 1) underflow();
          check_len(stack_.size() - m - 1);
          NodeId args = g_.tuple(top_from(m + 1));
          stack_.resize(m + 1);
          NodeId cls = pop();
          if (opt_.trace) [[unlikely]] trace_call(op::OBJ, cls, args);
          push(instantiate(cls, args));
          break;
        }
        case op::REDUCE: {
          NodeId args = pop();
          NodeId callable = pop();
          if (opt_.trace) [[unlikely]] trace_call(op::REDUCE, callable, args);
          push(reduced_ = call(callable, args));
          reduced_end_ = in_.offset();
          break;
        }
        case op::NEWOBJ: {
          NodeId args = pop();
          NodeId cls = pop();
          if (opt_.trace) [[unlikely]] trace_call(op::NEWOBJ, cls, args);
          push(newobj(cls, args, kNoNode, false));
          break;
        }
        case op::NEWOBJ_EX: {
          NodeId kwargs = pop();
          NodeId args = pop();
          NodeId cls = pop();
          if (opt_.trace) [[unlikely]] trace_call(op::NEWOBJ_EX, cls, args, kwargs);
          push(newobj(cls, args, kwargs, true));
          break;
        }
        case op::BUILD: {
          if (static_cast<int64_t>(stack_.size()) - 2 < static_cast<int64_t>(fence_)) underflow();
          NodeId state = pop();
          if (opt_.trace) [[unlikely]] {
            TraceEvent e{.kind = TraceKind::Build, .opcode = op::BUILD, .offset = 0, .target = stack_.back(), .args = state};
            trace(e, op::BUILD);
          }
          build(stack_.back(), state);
          if (opt_.after_build) [[unlikely]] in_.skip(opt_.after_build(g_, stack_.back(), in_.offset()));
          break;
        }
        case op::EXT1: op_ext(*in_.take(1)); break;
        case op::EXT2: op_ext(static_cast<int64_t>(le(in_.take(2), 2))); break;
        case op::EXT4: op_ext(le_int32(in_.take(4))); break;

        // ---- the caller's hooks -----------------------------------------------
        case op::PERSID:
          require_persistent_load();
          op_persid_text();
          break;
        case op::BINPERSID: {
          require_persistent_load();
          NodeId pid = pop();
          push(persistent_load(pid, op::BINPERSID));
          break;
        }
        case op::NEXT_BUFFER: {
          if (!opt_.buffers)
            fail(ErrorCode::NoHook,
                 "pickle stream refers to out-of-band data but no *buffers* argument was given");
          if (buffers_used_ >= opt_.buffers->size()) fail(ErrorCode::NoHook, "not enough out-of-band buffers");
          push(g_.buffer(buffers_used_, false, (*opt_.buffers)[buffers_used_]));
          ++buffers_used_;
          break;
        }
        case op::READONLY_BUFFER: op_readonly_buffer(); break;

        // ---- framing and protocol ------------------------------------------------
        case op::PROTO: {
          int v = *in_.take(1);
          if (v > 5) fail(ErrorCode::BadProtocol, "unsupported pickle protocol: " + std::to_string(v));
          proto_ = v;
          break;
        }
        case op::FRAME: {
          uint64_t n = le(in_.take(8), 8);
          if (n > kSsizeMax)
            fail(ErrorCode::BadArgument, "FRAME length exceeds system's maximum of 9223372036854775807 bytes");
          in_.prefetch(n);
          break;
        }
        case op::STOP: {
          NodeId root = pop();
          flush_bytearrays();
          g_.set_root(root);
          return std::move(g_);
        }
        default:
          fail(ErrorCode::BadOpcode, bad_load_key(c));
      }
    }
  } catch (...) {
    rethrow_as_error({}, static_cast<int64_t>(in_.op_offset()), op);
  }
}

}  // namespace pkl::detail
