// Ways to spell strings, bytes, bytearrays and unicode, and out-of-band
// buffers (pickletools' groups): CPython 3.11's load_string,
// load_counted_binstring, load_counted_binbytes, load_counted_bytearray,
// load_unicode, load_counted_binunicode, load_next_buffer and
// load_readonly_buffer (Modules/_pickle.c).
#include <string>

#include "decode/machine.hpp"
#include "text/latin1.hpp"
#include "text/python_text.hpp"

namespace pkl::detail {

// STRING, BINSTRING and SHORT_BINSTRING: Python 2 strs, per DecodeOptions::string_encoding.
void Machine::push_string_bytes(std::string_view raw) {
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

void Machine::load_string() {
  const std::string_view s = text_line();
  if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"'))
    fail(ErrorCode::BadArgument, "the STRING opcode argument must be quoted");
  push_string_bytes(escape_decode(s.substr(1, s.size() - 2)));
}

void Machine::load_counted_binstring(size_t width) { push_string_bytes(in_.take_view(read_size(width, "BINSTRING"))); }

void Machine::push_bytes(std::string_view data) {
  if (opt_.bytes_as_views && data.size() >= opt_.bytes_view_min && in_.in_place()) {
    push(g_.bytes_view(data));
    return;
  }
  push(GraphAccess::bytes_unshared(g_, data));
}

// A long bytes or bytearray from a stream, read straight into the graph's
// pages (one copy, where take() would copy into the window first); false
// when it is not one, or the graph has no room for it (then take() it).
bool Machine::push_read_straight(uint64_t n, Kind k) {
  if (n < detail::kPageMin || in_.in_place() || !in_.has_room(n)) return false;
  char* payload = GraphAccess::try_payload(g_, static_cast<size_t>(n));
  if (!payload) return false;
  in_.take_into(reinterpret_cast<uint8_t*>(payload), static_cast<size_t>(n));
  push(GraphAccess::payload_node(g_, k, payload, static_cast<size_t>(n)));
  return true;
}

void Machine::load_counted_binbytes(size_t width) {
  const uint64_t n = read_size(width, "BINBYTES");
  if (!push_read_straight(n, Kind::Bytes)) push_bytes(in_.take_view(n));
}

void Machine::load_counted_bytearray(size_t width) {
  const uint64_t n = read_size(width, "BYTEARRAY8");
  if (!push_read_straight(n, Kind::ByteArray)) push(g_.bytearray(in_.take_view(n)));
}

void Machine::load_unicode() { push(g_.str(raw_unicode_escape_decode(text_line()))); }

void Machine::load_counted_binunicode(size_t width) {
  const std::string_view data = in_.take_view(read_size(width, "BINUNICODE"));
  op_unicode(data, slack_after(data));
}

void Machine::load_next_buffer() {
  if (!opt_.buffers)
    fail(ErrorCode::NoHook, "pickle stream refers to out-of-band data but no *buffers* argument was given");
  if (buffers_used_ >= opt_.buffers->size()) fail(ErrorCode::NoHook, "not enough out-of-band buffers");
  push(g_.buffer(buffers_used_, false, (*opt_.buffers)[buffers_used_]));
  ++buffers_used_;
}

void Machine::load_readonly_buffer() {
  if (top_missing()) underflow();
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
      fail(ErrorCode::TypeError, "memoryview: a bytes-like object is required, not '" + type_name(top) + "'");
  }
}

}  // namespace pkl::detail
