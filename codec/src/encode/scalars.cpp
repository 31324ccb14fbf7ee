// The encoder's scalar writers: _pickle.c's save_long, save_float,
// save_unicode (with its raw_unicode_escape), _save_bytes_data,
// _save_bytearray_data and the protocol-0 persistent id.
#include <bit>
#include <cstring>
#include <unordered_set>

#include "text/bigint.hpp"
#include "encode/engine.hpp"
#include "text/latin1.hpp"
#include "picklecodec/repr.hpp"
#include "value/access.hpp"
#include "base/hex.hpp"
#include "text/python_text.hpp"

namespace pkl::enc {

namespace {


// Decodes one code point of surrogatepass UTF-8 (well formed by the graph's
// contract; a stray byte decodes as itself).
uint32_t next_cp(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3f); };
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  if ((b0 & 0xe0) == 0xc0 && i + 1 < s.size()) {
    const uint32_t cp = ((b0 & 0x1fu) << 6) | cont(1);
    i += 2;
    return cp;
  }
  if ((b0 & 0xf0) == 0xe0 && i + 2 < s.size()) {
    const uint32_t cp = ((b0 & 0x0fu) << 12) | (cont(1) << 6) | cont(2);
    i += 3;
    return cp;
  }
  if ((b0 & 0xf8) == 0xf0 && i + 3 < s.size()) {
    const uint32_t cp = ((b0 & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    i += 4;
    return cp;
  }
  i += 1;
  return b0;
}

}  // namespace

std::string raw_unicode_escape(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + 8);
  size_t i = 0;
  while (i < utf8.size()) {
    // ASCII that needs no escape, copied in runs.
    const size_t run = i;
    while (i < utf8.size()) {
      const auto c = static_cast<unsigned char>(utf8[i]);
      if (c >= 0x80 || c == '\\' || c == 0 || c == '\n' || c == '\r' || c == 0x1a) break;
      ++i;
    }
    out.append(utf8.data() + run, i - run);
    if (i >= utf8.size()) break;
    const uint32_t ch = next_cp(utf8, i);
    if (ch >= 0x10000) {
      out += "\\U";
      append_hex(out, ch, 8);
    } else if (ch >= 256 || ch == '\\' || ch == 0 || ch == '\n' || ch == '\r' || ch == 0x1a) {
      out += "\\u";
      append_hex(out, ch, 4);
    } else {
      out += static_cast<char>(ch);  // latin-1 as one byte
    }
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

bool has_surrogate(std::string_view utf8) {
  for (size_t i = 0; i + 1 < utf8.size(); ++i) {
    if (static_cast<unsigned char>(utf8[i]) == 0xed && (static_cast<unsigned char>(utf8[i + 1]) & 0xe0) == 0xa0)
      return true;
  }
  return false;
}

std::string quote(std::string_view utf8) { return repr_str(utf8); }

// str(pid) for the scalars, globals and the tuples / lists of them a
// persistent id usually is (a PyTorch storage's ('storage', <class>, key,
// location, numel)); other kinds are refused: str() of an object shows its
// address (oracle/divergences.py: persid-text-of-object).
std::string py_str(const Graph& g, NodeId n) {
  struct Item {
    NodeId node;
    size_t next;
  };
  auto scalar = [&](NodeId x, bool top, std::string& out) -> bool {
    switch (g.kind(x)) {
      case Kind::None: out += "None"; return true;
      case Kind::Bool: out += g.as_bool(x) ? "True" : "False"; return true;
      case Kind::Int: out += g.int_decimal(x); return true;
      case Kind::Float: out += repr_float(g.as_float(x)); return true;
      case Kind::Str:
        if (top)
          out += g.as_str(x);
        else
          out += repr_str(g.as_str(x));
        return true;
      case Kind::Bytes: out += repr_bytes(g.as_bytes(x)); return true;
      case Kind::ByteArray: out += repr_bytes(g.as_bytes(x), true); return true;
      case Kind::Global: {
        // A global is a class (docs/conformance.md §2), and str() of a class is
        // type.__repr__: the module left out for builtins. _codecs.encode is
        // CPython's own function.
        const GlobalData& d = g.global_data(x);
        if (d.module == "_codecs" && d.qualname == "encode") {
          out += "<built-in function encode>";
        } else {
          out += "<class '";
          if (d.module != "builtins") (out += d.module) += '.';
          out += d.qualname;
          out += "'>";
        }
        return true;
      }
      default: return false;
    }
  };
  std::string out;
  if (scalar(n, true, out)) return out;
  std::vector<Item> stack;
  auto open = [&](NodeId x) {
    const Kind k = g.kind(x);
    if (k != Kind::Tuple && k != Kind::List)
      unpicklable(std::string("cannot write a persistent id of type '") + kind_name(k) + "' at protocol 0");
    if (stack.size() > 1000) unpicklable("persistent id nested too deeply for protocol 0");
    out += k == Kind::Tuple ? '(' : '[';
    stack.push_back({x, 0});
  };
  open(n);
  while (!stack.empty()) {
    Item& top = stack.back();
    const auto items = g.items(top.node);
    if (top.next < items.size()) {
      if (top.next > 0) out += ", ";
      const NodeId c = items[top.next++];
      if (!scalar(c, false, out)) open(c);
      continue;
    }
    const bool tuple = g.kind(top.node) == Kind::Tuple;
    if (tuple && items.size() == 1) out += ',';
    out += tuple ? ')' : ']';
    stack.pop_back();
  }
  return out;
}

void Engine::save_int(NodeId n) {
  if (g_.int_fits64(n)) {
    const int64_t val = g_.as_int(n);
    if (val >= INT32_MIN && val <= INT32_MAX) {
      if (bin_) {
        write_binint(static_cast<uint32_t>(static_cast<int32_t>(val)));
      } else {
        out_.write("I" + std::to_string(val) + "\n");
      }
      return;
    }
  }
  if (proto_ >= 2) {
    const std::string le = g_.int_le(n);  // minimal two's complement, as save_long trims it
    if (le.size() > 0x7fffffffu) unpicklable("int too large to pickle");
    if (le.size() < 256)
      out_.op_arg(op::LONG1, le.size(), 1);
    else
      out_.op_arg(op::LONG4, le.size(), 4);
    out_.write(le);
  } else {
    const std::string le = g_.int_le(n);
    if (detail::le_decimal_exceeds({reinterpret_cast<const uint8_t*>(le.data()), le.size()}, o_.max_int_digits))
      fail(ErrorCode::ValueError, detail::int_to_str_limit_text(o_.max_int_digits));
    out_.write("L" + g_.int_decimal(n) + "L\n");
  }
}

void Engine::save_float(double v) {
  if (bin_) {
    char data[9];
    put_binfloat(data, std::bit_cast<uint64_t>(v));
    out_.write(data, 9);
  } else {
    out_.op(op::FLOAT);
    out_.write(repr_float(v));
    out_.write("\n", 1);
  }
}

void Engine::save_str(Val v) {
  if (!is_synth(v)) {
    save_node_str_data(v);
  } else if (syn(v).latin1) {
    const Synth& s = syn(v);
    save_latin1_str(str_utf8(s.view), s.tn);
  } else {
    save_str_data(v, str_utf8(v));
  }
  memo_put(v);
}

void Engine::save_node_str_data(NodeId v) {
  const GraphAccess::StoredStr s = GraphAccess::str_stored(g_, v);
  if (!s.latin1) {
    save_str_data(v, s.bytes);
  } else if (bin_) {
    save_latin1_str(s.bytes, GraphAccess::str_size(g_, v));
  } else {
    save_str_data(v, GraphAccess::str(g_, v));  // protocol 0's raw-unicode-escape reads UTF-8
  }
}

// Widened in place, not built elsewhere first: megabytes for a large blob.
void Engine::save_latin1_str(std::string_view latin1, size_t utf8_size) {
  char header[9];
  out_.write_made(header, str_header(header, utf8_size), utf8_size, detail::kLatin1Slack,
                  [&](char* p) { detail::latin1_to_utf8(latin1, p); });
}

// The BINUNICODE-family header of a str of `size` UTF-8 bytes; -> its length.
size_t Engine::str_header(char* header, size_t size) {
  if (size <= 0xff && proto_ >= 4) {
    header[0] = static_cast<char>(op::SHORT_BINUNICODE);
    header[1] = static_cast<char>(size);
    return 2;
  }
  if (size <= 0xffffffffu) {
    header[0] = static_cast<char>(op::BINUNICODE);
    put_le(header + 1, size, 4);
    return 5;
  }
  if (proto_ >= 4) {
    header[0] = static_cast<char>(op::BINUNICODE8);
    put_le(header + 1, size, 8);
    return 9;
  }
  too_large_below_protocol_4("string");
}

bool Engine::stable_payload(Val v) const {
  if (is_synth(v)) return false;
  const Kind k = GraphAccess::kind(g_, v);
  return k == Kind::Str || k == Kind::Bytes;
}

void Engine::save_str_data(Val, std::string_view data) {
  if (bin_) {
    char header[9];
    out_.write_bytes(header, str_header(header, data.size()), data);
  } else {
    const std::string encoded = raw_unicode_escape(data);
    out_.op(op::UNICODE);
    out_.write(encoded);
    out_.write("\n", 1);
  }
}

void Engine::save_bytes_data(Val v, std::string_view data) {
  char header[9];
  size_t len;
  const size_t size = data.size();
  if (size <= 0xff) {
    header[0] = static_cast<char>(op::SHORT_BINBYTES);
    header[1] = static_cast<char>(size);
    len = 2;
  } else if (size <= 0xffffffffu) {
    header[0] = static_cast<char>(op::BINBYTES);
    put_le(header + 1, size, 4);
    len = 5;
  } else if (proto_ >= 4) {
    header[0] = static_cast<char>(op::BINBYTES8);
    put_le(header + 1, size, 8);
    len = 9;
  } else {
    too_large_below_protocol_4("bytes object");
  }
  if (size >= Out::kExternMin && stable_payload(v)) [[unlikely]]
    out_.write_bytes_stable(header, len, data, externs_);
  else
    out_.write_bytes(header, len, data);
  memo_put(v);
}

void Engine::save_bytearray_data(Val v, std::string_view data) {
  char header[9];
  header[0] = static_cast<char>(op::BYTEARRAY8);
  put_le(header + 1, data.size(), 8);
  out_.write_bytes(header, 9, data);
  memo_put(v);
}

void Engine::save_pers_text(Val pid) {
  const std::string s = py_str(g_, pid);
  if (!is_ascii(s)) unpicklable("persistent IDs in protocol 0 must be ASCII strings");
  out_.op(op::PERSID);
  out_.write(s);
  out_.write("\n", 1);
}

void Engine::check_key_slow(Val key) {
  if (is_synth(key)) return;
  const Kind k = g_.kind(key);
  if (k == Kind::Str || k == Kind::Int) return;
  switch (k) {
    case Kind::List:
    case Kind::Dict:
    case Kind::Set:
    case Kind::ByteArray:
      unhashable(k);
    case Kind::Tuple: break;
    default: return;
  }
  if (g_.hashable(key)) return;
  // Name the unhashable kind inside, as Python's hash(tuple) does.
  std::vector<NodeId> todo{key};
  std::unordered_set<NodeId> seen;
  while (!todo.empty()) {
    const NodeId t = todo.back();
    todo.pop_back();
    for (NodeId c : g_.items(t)) {
      const Kind ck = g_.kind(c);
      if (ck == Kind::List || ck == Kind::Dict || ck == Kind::Set || ck == Kind::ByteArray)
        unhashable(ck);
      if (ck == Kind::Tuple && seen.insert(c).second) todo.push_back(c);
    }
  }
  fail(ErrorCode::ResourceLimit, "maximum recursion depth exceeded while hashing a tuple that contains itself");
}

}  // namespace pkl::enc
