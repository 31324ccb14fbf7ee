#include "divergences.hpp"

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"
#include "picklecodec/opcodes.hpp"
#include "decode/opcode_length.hpp"

namespace pklharness {

using table::Predicate;
using table::Rule;

namespace {

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

template <class Fn>
const Divergence* first_row(Rule rule, Fn&& holds) {
  for (const Divergence& d : table::kDivergences)
    if (d.rule == rule && holds(d)) return &d;
  return nullptr;
}

// The memo indices a PUT, BINPUT or LONG_BINPUT stores anywhere in `data`
// (every pickle of a stream: CPython loads them all), by the generated opcode
// table. Tolerant as the C unpickler is: a PUT line "3\0..." reads as 3.
// Stops at the first byte that is no opcode, or at a truncated argument.
template <class Fn>
void for_each_memo_index(std::string_view data, Fn&& fn) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  for (size_t pos = 0; pos < data.size();) {
    const pkl::OpcodeLength len = pkl::opcode_length(bytes, pos);
    if (!len.ok()) return;
    const auto code = static_cast<uint8_t>(data[pos]);
    if (code == pkl::op::PUT) {  // its line, without the newline
      std::string_view digits = data.substr(pos + 1, len.length - 2);
      digits = digits.substr(0, digits.find('\0'));
      while (!digits.empty() && std::strchr(" \t\r\v\f", digits.front())) digits.remove_prefix(1);
      while (!digits.empty() && std::strchr(" \t\r\v\f", digits.back())) digits.remove_suffix(1);
      uint64_t v = 0;
      bool ok = !digits.empty() && digits.size() <= 19;
      for (char c : digits) ok = ok && c >= '0' && c <= '9', v = v * 10 + static_cast<uint64_t>(c - '0');
      if (ok) fn(v);
    } else if (code == pkl::op::BINPUT || code == pkl::op::LONG_BINPUT) {  // 1 or 4 bytes, little-endian
      uint64_t v = 0;
      for (size_t i = 1; i < len.length; ++i) v |= uint64_t{bytes[pos + i]} << (8 * (i - 1));
      fn(v);
    }
    pos += len.length;
  }
}

// Calls fn(node) once for each node reachable from `from` (iteratively).
template <class Fn>
void for_each_reachable(const pkl::Graph& g, pkl::NodeId from, Fn&& fn) {
  if (from == pkl::kNoNode) return;
  std::vector<bool> seen(g.size());
  std::vector<pkl::NodeId> todo{from};
  auto push = [&](pkl::NodeId n) {
    if (n != pkl::kNoNode && !seen[n]) todo.push_back(n);
  };
  while (!todo.empty()) {
    const pkl::NodeId n = todo.back();
    todo.pop_back();
    if (seen[n]) continue;
    seen[n] = true;
    fn(n);
    switch (g.kind(n)) {
      case pkl::Kind::Tuple: case pkl::Kind::List: case pkl::Kind::Set: case pkl::Kind::FrozenSet:
        for (auto c : g.items(n)) push(c);
        break;
      case pkl::Kind::Dict:
        for (auto [k, v] : g.dict_items(n)) { push(k); push(v); }
        break;
      case pkl::Kind::Object: {
        const auto& o = g.object_data(n);
        push(o.callable); push(o.args); push(o.state);
        for (auto c : o.listitems) push(c);
        for (auto [k, v] : o.dictitems) { push(k); push(v); }
        break;
      }
      case pkl::Kind::PersId:
        push(g.persid_value(n));
        break;
      default:
        break;
    }
  }
}

// A global whose name pickle cannot carry unchanged through `protocol`:
// GLOBAL / INST text can hold neither a newline nor an empty name (CPython
// reads an empty line as "pickle data was truncated") below protocol 4, and
// there a qualname "a.b" is written as getattr(GLOBAL mod a, 'b'), so its
// first dotted part must not be empty either; below protocol 3 names go
// through fix_imports both ways, which is not a bijection.
bool global_unstable(const pkl::Graph& g, pkl::NodeId n, int protocol) {
  const auto& gd = g.global_data(n);
  if (gd.module.empty() || gd.qualname.empty() || gd.qualname[0] == '.' ||
      gd.module.find('\n') != std::string::npos || gd.qualname.find('\n') != std::string::npos)
    return true;
  // Ask the codec itself what fix_imports (below protocol 3) and getattr
  // nesting make of the name: a lone global written at this protocol and read
  // back. (A name nested in a builtin, 'builtins set.x', is written as
  // getattr(set, 'x'): an inert call when read back.)
  pkl::Graph one;
  one.set_root(one.global(gd.module, gd.qualname));
  std::string bytes;
  try {
    bytes = pkl::encode(one, one.root(), {.protocol = protocol});
  } catch (const pkl::Error&) {
    return false;  // the encoder refuses it; the caller judges that
  }
  try {
    pkl::DecodeOptions roomy;
    const pkl::Graph back = pkl::decode(bytes, roomy);
    if (back.kind(back.root()) != pkl::Kind::Global) return true;
    const auto& b = back.global_data(back.root());
    return b.module != gd.module || b.qualname != gd.qualname;
  } catch (const pkl::Error&) {
    return true;
  }
}

bool newobj_ex_call(const pkl::Graph& g, pkl::NodeId n) {
  const auto& o = g.object_data(n);
  if (o.callable == pkl::kNoNode || g.kind(o.callable) != pkl::Kind::Global) return false;
  const auto& c = g.global_data(o.callable);
  return c.module == "copyreg" && c.qualname == "__newobj_ex__";
}

// An inert object made by a call f(obj, s) with obj inert (the shape the
// decoder reads as obj's state_setter when the call's result is discarded),
// reachable again from its own arguments: the encoder then writes the call a
// second time and discards it, as CPython's save_reduce does.
bool call_reached_in_own_args(const pkl::Graph& g, pkl::NodeId n) {
  const auto& o = g.object_data(n);
  if (o.class_index >= 0 || o.args == pkl::kNoNode || g.kind(o.args) != pkl::Kind::Tuple || g.length(o.args) != 2)
    return false;
  const pkl::NodeId first = g.items(o.args)[0];
  if (g.kind(first) != pkl::Kind::Object || g.object_data(first).class_index >= 0) return false;
  bool again = false;
  for_each_reachable(g, o.args, [&](pkl::NodeId m) { again = again || m == n; });
  return again;
}

// Whether `predicate` holds of g (at a protocol the row covers).
bool holds(Predicate predicate, const pkl::Graph& g, int protocol) {
  bool found = false;
  std::vector<pkl::NodeId> small_bytes;  // b'' and each b'\xNN' first seen
  if (predicate == Predicate::EqualOneByteBytesBelow3) small_bytes.assign(257, pkl::kNoNode);
  for_each_reachable(g, g.root(), [&](pkl::NodeId n) {
    if (found) return;
    const pkl::Kind k = g.kind(n);
    switch (predicate) {
      case Predicate::EqualOneByteBytesBelow3: {
        // Protocol 3 reads 1-byte bytes as new objects (SHORT_BINBYTES), but
        // below protocol 3 they come back as Python's shared ones.
        if (k != pkl::Kind::Bytes) break;
        const auto b = g.as_bytes(n);
        if (b.size() > 1) break;
        pkl::NodeId& first = small_bytes[b.empty() ? 256 : static_cast<uint8_t>(b[0])];
        if (first == pkl::kNoNode) first = n;
        else if (first != n) found = true;
        break;
      }
      case Predicate::GlobalNameUnstable:
        found = k == pkl::Kind::Global && global_unstable(g, n, protocol);
        break;
      case Predicate::NewobjExBelow4:
        // Written as functools.partial(cls.__new__, cls, *args, **kwargs)().
        found = k == pkl::Kind::Object && newobj_ex_call(g, n);
        break;
      case Predicate::NanPayloadProtocol0:
        // Protocol 0 writes repr(float): every NaN reads back as float('nan').
        if (k == pkl::Kind::Float) {
          const double v = g.as_float(n);
          found = v != v && std::bit_cast<uint64_t>(v) != 0x7ff8000000000000u;
        }
        break;
      case Predicate::CallReachedInItsOwnArgs:
        found = k == pkl::Kind::Object && call_reached_in_own_args(g, n);
        break;
      case Predicate::None:
        break;
    }
  });
  return found;
}

}  // namespace

const Divergence* exact_input(std::string_view input) {
  return first_row(Rule::ExactInput, [&](const Divergence& d) {
    if (d.input_size != input.size()) return false;
    return d.input.size() == input.size() ? d.input == input : d.input_fnv1a64 == fnv1a64(input);
  });
}

const Divergence* codec_refusal(std::string_view codec_message) {
  return first_row(Rule::CodecMessage, [&](const Divergence& d) {
    return !d.codec_contains.empty() && codec_message.find(d.codec_contains) != std::string_view::npos;
  });
}

const Divergence* cannot_answer_input(std::string_view input) {
  return first_row(Rule::CannotAnswerMemoIndex, [&](const Divergence& d) {
    bool over = false;
    for_each_memo_index(input, [&](uint64_t index) { over = over || index > d.param; });
    return over;
  });
}

const Divergence* cannot_answer_exception(std::string_view reference_answer) {
  return first_row(Rule::CannotAnswerException, [&](const Divergence& d) {
    return !d.cpython_contains.empty() && reference_answer.starts_with(d.cpython_contains);
  });
}

const Divergence* recode_loses_information(const pkl::Graph& g, int protocol) {
  return first_row(Rule::GraphPredicate, [&](const Divergence& d) {
    return protocol >= d.min_protocol && protocol <= d.max_protocol && holds(d.predicate, g, protocol);
  });
}

bool has_python_only_rows() {
  return first_row(Rule::PythonOnly, [](const Divergence&) { return true; }) != nullptr;
}

}  // namespace pklharness
