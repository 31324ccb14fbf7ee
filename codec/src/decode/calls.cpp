// What calls (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX), BUILD and the item
// opcodes (APPEND(S), SETITEM(S), ADDITEMS) do to values: builtin types
// behave as CPython's do, inert globals and objects record reduce tuples
// (docs/conformance.md §2-3), registered classes go through their hooks.
#include <algorithm>
#include <new>
#include <span>
#include <string_view>
#include <utility>

#include "base/foreign.hpp"
#include "base/hex.hpp"
#include "decode/machine.hpp"
#include "text/python_text.hpp"
#include "text/latin1.hpp"

namespace pkl::detail {

namespace {

// The §2.1 builtins: globals that resolve to CPython's own objects.
bool is_cpython_builtin(Special s) {
  return s == Special::Set || s == Special::FrozenSet || s == Special::ByteArray || s == Special::Bytes ||
         s == Special::CodecsEncode;
}

std::string last_component(std::string_view qualname) {
  size_t dot = qualname.rfind('.');
  return std::string(dot == std::string_view::npos ? qualname : qualname.substr(dot + 1));
}

// Python's codec lookup name: lower case, runs of other than [a-z0-9.] as one
// '_', none at either end. CPython's C lookup (_Py_normalize_encoding) does
// this on the name's UTF-8 bytes first, so a non-ASCII character separates
// like punctuation ("utf\u00b28" is utf_8, "l\u00baatin" l_atin, unknown);
// encodings.normalize_encoding then finds nothing left to change.
std::string normalize_encoding(std::string_view name) {
  std::string out;
  bool punct = false;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || c == '.') {
      if (punct && !out.empty()) out += '_';
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      punct = false;
    } else {
      punct = true;
    }
  }
  return out;
}

#include "decode/codec_names.inc"

std::string_view table_find(std::span<const std::pair<std::string_view, std::string_view>> table,
                            std::string_view key) {
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  return it != table.end() && it->first == key ? it->second : std::string_view{};
}

// The codec CPython's lookup finds for `name` (CodecInfo.name, e.g.
// "iso8859-1"), or "" when it raises LookupError: encodings.search_function's
// rule, over tables generated from the installed Python.
std::string_view lookup_codec(std::string_view name) {
  const std::string norm = normalize_encoding(name);
  std::string dotless = norm;
  std::replace(dotless.begin(), dotless.end(), '.', '_');
  std::string_view aliased = table_find(kEncodingAliases, norm);
  if (aliased.empty()) aliased = table_find(kEncodingAliases, dotless);
  for (std::string_view module : {aliased, std::string_view(norm)}) {
    if (module.empty() || module.find('.') != std::string_view::npos) continue;
    std::string_view codec = table_find(kEncodingModules, module);
    if (!codec.empty()) return codec;
  }
  return {};
}

bool encoding_known(std::string_view name) { return !lookup_codec(name).empty(); }

// The codecs the decoder evaluates; a call naming another known codec stays
// an inert call (oracle/divergences.py: codecs-not-evaluated).
enum class Codec { Unknown, Latin1, Ascii, Utf8 };

Codec codec_of(std::string_view name) {
  const std::string_view codec = lookup_codec(name);
  if (codec == "iso8859-1") return Codec::Latin1;
  if (codec == "ascii") return Codec::Ascii;
  if (codec == "utf-8") return Codec::Utf8;
  return Codec::Unknown;
}

// str.encode(codec, 'strict') of surrogatepass UTF-8, errors in CPython's
// words: utf8 itself, or the encoding written to `buf` (reused from call to call).
std::string_view encode_str(std::string_view utf8, Codec codec, std::string& buf) {
  if (codec == Codec::Utf8) {
    if (utf8_valid(utf8, false)) return utf8;
  } else if (latin1_length(utf8) == utf8.size()) {
    return utf8;  // no continuation bytes in valid UTF-8: ASCII, its own latin-1 and ASCII encoding
  }
  if (codec == Codec::Latin1) {
    // The common case (protocol 2 bytes and bytearrays): every character
    // below U+0100; anything else is left to the loop below, which reports it.
    if (auto latin1 = utf8_to_latin1(utf8, buf)) return *latin1;
  }
  const uint32_t limit = codec == Codec::Latin1 ? 0x100 : codec == Codec::Ascii ? 0x80 : 0x110000;
  auto bad = [&](uint32_t cp) { return codec == Codec::Utf8 ? (cp >= 0xD800 && cp <= 0xDFFF) : cp >= limit; };
  std::string& out = buf;
  out.clear();
  out.reserve(utf8.size());
  size_t i = 0, pos = 0;
  while (i < utf8.size()) {
    uint32_t cp = next_code_point(utf8, i);
    if (!bad(cp)) {
      if (codec == Codec::Utf8) append_utf8(out, cp);
      else out += static_cast<char>(cp);
      ++pos;
      continue;
    }
    size_t start = pos, end = pos + 1;
    uint32_t first = cp;
    while (i < utf8.size()) {
      size_t j = i;
      uint32_t next = next_code_point(utf8, j);
      if (!bad(next)) break;
      i = j;
      ++end;
    }
    const char* name = codec == Codec::Latin1 ? "latin-1" : codec == Codec::Ascii ? "ascii" : "utf-8";
    const char* reason = codec == Codec::Latin1  ? "ordinal not in range(256)"
                         : codec == Codec::Ascii ? "ordinal not in range(128)"
                                                 : "surrogates not allowed";
    std::string m = std::string("'") + name + "' codec can't encode ";
    if (end == start + 1) {
      int digits = first <= 0xff ? 2 : first <= 0xffff ? 4 : 8;
      m += "character '\\";
      m += digits == 2 ? 'x' : digits == 4 ? 'u' : 'U';
      append_hex(m, first, digits);
      m += "' in position " + std::to_string(start);
    } else {
      m += "characters in position " + std::to_string(start) + "-" + std::to_string(end - 1);
    }
    m += ": ";
    m += reason;
    fail(ErrorCode::ValueError, m);
  }
  return out;
}

// The same of a str node: a str kept as latin-1 is its own latin-1 encoding.
std::string_view encode_str(const Graph& g, NodeId str, Codec codec, std::string& buf) {
  if (codec == Codec::Latin1) {
    const std::string_view latin1 = GraphAccess::str_latin1(g, str);
    if (latin1.data()) return latin1;
  }
  return encode_str(g.as_str(str), codec, buf);
}

// Bytes from this size on share a str's storage: below it the pointer and
// the indirection are not worth it.
const size_t& kShareMin = GraphAccess::kLatin1StrMin;  // pkl::tuning, read at each use

// str.encode(codec) as a bytes node. A large encoding that is the str's own
// storage (a latin-1 str's latin-1, an ASCII str's bytes: what protocols 0-2
// write for a bytes) is shared with the str rather than copied.
NodeId encoded_bytes(Graph& g, NodeId str, Codec codec, std::string& buf) {
  const std::string_view data = encode_str(g, str, codec, buf);
  if (data.size() >= kShareMin && data.data() != buf.data()) return GraphAccess::bytes_in_graph(g, data);
  return g.bytes(data);
}

// An argument that CPython's argument parser converts to a C string ("s"):
// its UTF-8 (UnicodeEncodeError for a surrogate), then no NUL in it.
void require_c_string(std::string_view arg) {
  std::string buf;
  (void)encode_str(arg, Codec::Utf8, buf);
  if (arg.find('\0') != std::string_view::npos) fail(ErrorCode::ValueError, "embedded null character");
}

// ---- errors worded once ------------------------------------------------------

void require_known_encoding(std::string_view name) {
  if (!encoding_known(name)) fail(ErrorCode::LookupError, "unknown encoding: " + std::string(name));
}

// Argument Clinic's "takes at most 3 [keyword ]arguments" (bytes, bytearray, _codecs.encode).
[[noreturn]] void fail_too_many_args(std::string_view fn, size_t given, bool keyword = false) {
  fail(ErrorCode::TypeError, std::string(fn) + "() takes at most 3 " + (keyword ? "keyword " : "") + "arguments (" +
                                 std::to_string(given) + " given)");
}

// NEWOBJ(_EX)'s checks of its arguments: "<op> <arg> argument must be <want>, not <type>".
[[noreturn]] void fail_newobj_arg(std::string_view opname, const char* arg, const char* want, const std::string& got) {
  fail(ErrorCode::TypeError, std::string(opname) + " " + arg + " argument must be " + want + ", not " + got);
}

template <class F>
auto guarded_hook(const char* what, F&& f) -> decltype(f()) {
  return as_error(std::forward<F>(f), what);
}

}  // namespace

// How CPython's argument parsers name a wrong argument's type
// (_PyArg_BadArgument): None by itself, anything else by its type.
std::string Machine::arg_type_name(NodeId n) const {
  return g_.kind(n) == Kind::None ? "None" : type_name(n);
}

// AttributeError: `target` has no attribute `name` (a class: "type object 'C' ...").
void Machine::no_attribute(NodeId target, std::string_view name) const {
  if (g_.kind(target) == Kind::Global)
    fail(ErrorCode::AttributeError,
         "type object '" + g_.global_data(target).qualname + "' has no attribute '" + std::string(name) + "'");
  fail(ErrorCode::AttributeError, "'" + type_name(target) + "' object has no attribute '" + std::string(name) + "'");
}

// setattr's name, and a __new__ written in Python's keyword names: strs.
void Machine::require_attr_name(NodeId key) const {
  if (g_.kind(key) != Kind::Str)
    fail(ErrorCode::TypeError, "attribute name must be string, not '" + type_name(key) + "'");
}

void Machine::require_keyword(NodeId key) const {
  if (g_.kind(key) != Kind::Str) fail(ErrorCode::TypeError, "keywords must be strings");
}

// An argument a builtin parses as a str: "<fn>() argument '<what>' must be str, not <type>".
void Machine::require_str_arg(const char* fn, const char* what, NodeId arg) const {
  if (g_.kind(arg) != Kind::Str)
    fail(ErrorCode::TypeError, std::string(fn) + "() argument '" + what + "' must be str, not " + arg_type_name(arg));
}

std::string Machine::type_name(NodeId n) const {
  switch (g_.kind(n)) {
    case Kind::Global:
      return "type";
    case Kind::Buffer:
      return "PickleBuffer";
    case Kind::Object: {
      const ObjectData& od = g_.object_data(n);
      if (od.class_index >= 0 && opt_.registry) return last_component(opt_.registry->at(od.class_index).qualname);
      if (od.callable != kNoNode && g_.kind(od.callable) == Kind::Global) {
        const GlobalData& c = g_.global_data(od.callable);
        if (c.module == "copyreg" && (c.qualname == "__newobj__" || c.qualname == "__newobj_ex__") &&
            od.args != kNoNode && g_.length(od.args) > 0) {
          NodeId cls = g_.items(od.args)[0];
          if (g_.kind(cls) == Kind::Global) return last_component(g_.global_data(cls).qualname);
        }
        return last_component(c.qualname);
      }
      return "object";
    }
    default:
      return kind_name(g_.kind(n));
  }
}

// ---- bytearrays mutated while decoding -------------------------------------

std::string_view Machine::bytearray_data(NodeId n) {
  auto it = pending_ba_.find(n);
  if (it != pending_ba_.end()) return it->second;
  return g_.as_bytes(n);
}

std::string& Machine::bytearray_pending(NodeId n) {
  auto it = pending_ba_.find(n);
  if (it == pending_ba_.end()) it = pending_ba_.emplace(n, std::string(g_.as_bytes(n))).first;
  return it->second;
}

void Machine::flush_bytearrays() {
  for (auto& [n, data] : pending_ba_) g_.bytearray_assign(n, data);
  pending_ba_.clear();
  pending_ba_bytes_ = 0;
}

// ---- calls -----------------------------------------------------------------

NodeId Machine::make_registered(int32_t index, NodeId callable, NodeId args, NodeId create_args, NodeId kwargs) {
  const ClassHooks& h = opt_.registry->at(index);
  if (!h.create) fail(ErrorCode::Usage, "registered class " + h.module + "." + h.qualname + " has no create hook");
  flush_bytearrays();
  std::any value = guarded_hook("create", [&] { return h.create(g_, create_args, kwargs); });
  NodeId obj = g_.object(callable, args);
  ObjectData& od = g_.object_data(obj);
  od.native = std::move(value);
  od.class_index = index;
  return obj;
}

NodeId Machine::call(NodeId callable, NodeId args) {
  if (g_.kind(args) != Kind::Tuple) [[unlikely]] args = star_args(args, "argument list must be a tuple");
  switch (g_.kind(callable)) {
    case Kind::Global: {
      GlobalInfo gi = info(callable);
      if (gi.class_index >= 0) return make_registered(gi.class_index, callable, args, args, kNoNode);
      if (gi.special != Special::None && gi.special != Special::Object) return call_builtin(gi.special, callable, args);
      return g_.object(callable, args);
    }
    case Kind::Object:
      if (g_.object_data(callable).class_index < 0) {
        check_len(g_.length(args));
        return g_.object(callable, args);
      }
      [[fallthrough]];
    default:
      fail(ErrorCode::TypeError, "'" + type_name(callable) + "' object is not callable");
  }
}

// INST and OBJ: CPython's instantiate() (Modules/_pickle.c). Without
// arguments a class is made by cls.__new__(cls), __init__ not called (how
// Python 2 writes every classic instance at protocols 0-1): the object NEWOBJ
// makes, recorded as copyreg.__newobj__(cls). Every global is a class here
// (docs/conformance.md §2) but _codecs.encode, CPython's own function, which
// is called. A class defining __getinitargs__ would be called too; an inert
// global has none. Anything else on the stack is called: cls(*args).
NodeId Machine::instantiate(NodeId cls, NodeId args) {
  if (g_.length(args) == 0 && g_.kind(cls) == Kind::Global && info(cls).special != Special::CodecsEncode)
    return newobj(cls, args, kNoNode, false);
  return call(cls, args);
}

// copyreg._reconstructor(cls, base, state) for a registered cls: copyreg's
// three lines, obj = base.__new__(cls, state), then base.__init__(obj, state)
// unless it is object's. A registered class mirrors a plain Python class (no
// __new__, no __init__ of its own). -> kNoNode when base is a class or object
// the decoder does not know, whose __new__ would run: the call stays inert.
NodeId Machine::reconstruct_registered(NodeId cls, NodeId base, NodeId callable, NodeId args) {
  const int32_t index = info(cls).class_index;
  const std::string c = last_component(g_.global_data(cls).qualname);
  std::string base_type;  // the type whose __new__ runs, when it is CPython's own
  bool object_new = false;  // object.__new__ (a registered class's) with an argument
  switch (g_.kind(base)) {
    case Kind::Global: {
      const GlobalInfo bi = info(base);
      if (bi.special == Special::Object) return make_registered(index, callable, args, g_.tuple({}), kNoNode);
      object_new = bi.special == Special::CodecsEncode || bi.class_index >= 0;
      if (!object_new && !is_cpython_builtin(bi.special)) return kNoNode;
      base_type = g_.global_data(base).qualname;
      break;
    }
    case Kind::Object:
      if (g_.object_data(base).class_index < 0) return kNoNode;
      object_new = true;
      break;
    case Kind::PersId:
      return kNoNode;
    default:
      base_type = type_name(base);  // a value: its type's __new__
  }
  if (object_new) fail(ErrorCode::TypeError, c + "() takes no arguments");
  fail(ErrorCode::TypeError, base_type + ".__new__(" + c + "): " + c + " is not a subtype of " + base_type);
}

NodeId Machine::call_builtin(Special s, NodeId callable, NodeId args) {
  std::vector<NodeId> a(g_.items(args).begin(), g_.items(args).end());
  const size_t n = a.size();
  if ((s == Special::Set || s == Special::FrozenSet) && n > 1)
    fail(ErrorCode::TypeError,
         std::string(s == Special::Set ? "set" : "frozenset") + " expected at most 1 argument, got " + std::to_string(n));
  switch (s) {
    case Special::Set: {
      NodeId set = g_.set();
      if (n == 1) {
        std::vector<NodeId> items = iterate(a[0], "set");
        check_len(items.size());
        for (NodeId item : items) g_.set_add(set, item);
      }
      return set;
    }
    case Special::FrozenSet: {
      if (n == 0) return g_.frozenset({});
      if (g_.kind(a[0]) == Kind::FrozenSet) return a[0];  // frozenset(f) is f
      std::vector<NodeId> items = iterate(a[0], "frozenset");
      check_len(items.size());
      return g_.frozenset(items);
    }
    case Special::Bytes:
    case Special::ByteArray: {
      bool ba = s == Special::ByteArray;
      if (n > 3) fail_too_many_args(ba ? "bytearray" : "bytes", n);
      const NodeId r = bytes_like(n > 0 ? a[0] : kNoNode, n > 1 ? a[1] : kNoNode, n > 2 ? a[2] : kNoNode, ba);
      return r != kNoNode ? r : g_.object(callable, args);
    }
    case Special::CodecsEncode: {
      // _codecs.encode(obj, encoding='utf-8', errors='strict'): arguments are
      // checked in CPython's order before the codec runs.
      if (n == 0) fail(ErrorCode::TypeError, "encode() missing required argument 'obj' (pos 1)");
      if (n > 3) fail_too_many_args("encode", n);
      if (n >= 2) require_str_arg("encode", "encoding", a[1]);
      std::string_view encoding = n >= 2 ? g_.as_str(a[1]) : std::string_view("utf-8");
      require_c_string(encoding);
      if (n == 3) {
        require_str_arg("encode", "errors", a[2]);
        require_c_string(g_.as_str(a[2]));
      }
      require_known_encoding(encoding);
      const Codec codec = codec_of(encoding);
      if (codec == Codec::Unknown) break;
      if (g_.kind(a[0]) != Kind::Str) {
        // The codec refuses a non-str: an inert object, a global or a
        // persistent id too (§6: CPython with inert stand-ins refuses them,
        // as it would an instance of any class not derived from str).
        const char* fn = codec == Codec::Latin1 ? "latin_1_encode" : codec == Codec::Ascii ? "ascii_encode" : "utf_8_encode";
        fail(ErrorCode::TypeError, "encoding with '" + std::string(encoding) + "' codec failed (TypeError: " + fn +
                                       "() argument 1 must be str, not " +
                                       arg_type_name(a[0]) + ")");
      }
      if (n == 3 && g_.as_str(a[2]) != "strict") {
        // The error handler only matters when a character cannot be encoded;
        // then the result depends on a handler the decoder does not run.
        try {
          return encoded_bytes(g_, a[0], codec, scratch_);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::ValueError) throw;
          break;
        }
      }
      return encoded_bytes(g_, a[0], codec, scratch_);
    }
    case Special::Getattr: {
      // §2.2 nests names on globals that stand for a class the decoder does
      // not build (inert or registered). A §2.1 builtin (builtins.bytes, ...)
      // is CPython's own object, whose attributes are real: getattr on it is
      // an ordinary call, kept inert, so it re-encodes as the same REDUCE.
      if (n == 2 && g_.kind(a[0]) == Kind::Global && g_.kind(a[1]) == Kind::Str && !is_cpython_builtin(info(a[0]).special)) {
        const GlobalData& gd = g_.global_data(a[0]);
        std::string module = gd.module;
        std::string qualname = gd.qualname + "." + std::string(g_.as_str(a[1]));
        if (opt_.trace) [[unlikely]] {
          TraceEvent e{.kind = TraceKind::Getattr, .opcode = 0, .offset = 0, .module = module, .qualname = qualname,
                       .name = g_.as_str(a[1]), .target = a[0]};
          trace(e, trace_op_);
        }
        return resolve(module, qualname);
      }
      if (opt_.policy == GlobalPolicy::AllowlistOnly)
        fail(ErrorCode::NotAllowed, "Can't get attribute 'getattr' on <module 'builtins'>");
      break;
    }
    case Special::Reconstructor: {
      if (n == 3 && g_.kind(a[0]) == Kind::Global && info(a[0]).class_index >= 0) {
        const NodeId created = reconstruct_registered(a[0], a[1], callable, args);
        if (created != kNoNode) return created;
      }
      // _reconstructor(cls, object, None) of an inert class is
      // object.__new__(cls), how protocols 0-1 write an instance of a plain
      // class: the object NEWOBJ makes (copyreg.__newobj__(cls)), which the
      // encoder writes back as CPython writes a plain instance at each protocol.
      if (n == 3 && g_.kind(a[0]) == Kind::Global && info(a[0]).class_index < 0 &&
          !is_cpython_builtin(info(a[0]).special) && g_.kind(a[1]) == Kind::Global &&
          info(a[1]).special == Special::Object && g_.kind(a[2]) == Kind::None)
        return newobj(a[0], g_.tuple({}), kNoNode, false);
      break;
    }
    case Special::None:
    case Special::Object:
      break;
  }
  // Nothing CPython's builtin would make here that the codec can compute: an inert call.
  return g_.object(callable, args);
}

// bytes(source, encoding, errors) and bytearray(...), each argument kNoNode
// when absent: Argument Clinic's checks first (encoding, then errors: each a
// str that is a C string), then the constructor's. -> kNoNode when the call
// must stay inert (a codec the decoder does not run, or a handler that would).
NodeId Machine::bytes_like(NodeId source, NodeId encoding, NodeId errors, bool ba) {
  const char* tname = ba ? "bytearray" : "bytes";
  for (auto [arg, what] : {std::pair{encoding, "encoding"}, std::pair{errors, "errors"}}) {
    if (arg == kNoNode) continue;
    require_str_arg(tname, what, arg);
    require_c_string(g_.as_str(arg));
  }
  const bool is_str = source != kNoNode && g_.kind(source) == Kind::Str;
  if (!is_str && (encoding != kNoNode || errors != kNoNode))
    fail(ErrorCode::TypeError,
         encoding != kNoNode ? "encoding without a string argument" : "errors without a string argument");
  if (source == kNoNode) return ba ? g_.bytearray({}) : g_.bytes({});
  std::string data;
  if (is_str) {
    if (encoding == kNoNode) fail(ErrorCode::TypeError, "string argument without an encoding");
    const std::string_view name = g_.as_str(encoding);
    require_known_encoding(name);
    const Codec codec = codec_of(name);
    if (codec == Codec::Unknown) return kNoNode;
    auto make = [&] {
      return ba ? g_.bytearray(encode_str(g_, source, codec, scratch_)) : encoded_bytes(g_, source, codec, scratch_);
    };
    if (errors != kNoNode && g_.as_str(errors) != "strict") {
      // The handler matters only for a character the codec cannot encode.
      try {
        return make();
      } catch (const Error& e) {
        if (e.code() != ErrorCode::ValueError) throw;
        return kNoNode;
      }
    }
    return make();
  } else {
    switch (g_.kind(source)) {
      case Kind::Bytes:
        if (!ba) return source;  // bytes(b) is b
        data = std::string(g_.as_bytes(source));
        break;
      case Kind::ByteArray:
        data = std::string(bytearray_data(source));
        break;
      case Kind::Buffer:
        data = g_.buffer_data(source).data;
        break;
      case Kind::Bool:
      case Kind::Int: {
        if (g_.kind(source) == Kind::Int && !g_.int_fits64(source))
          fail(ErrorCode::ValueError, "cannot fit 'int' into an index-sized integer");
        int64_t count = g_.kind(source) == Kind::Bool ? (g_.as_bool(source) ? 1 : 0) : g_.as_int(source);
        if (count < 0) fail(ErrorCode::ValueError, "negative count");
        if (static_cast<uint64_t>(count) + g_.bytes_held() > opt_.limits.max_total_bytes)
          fail_memory_budget("graph");
        // Zero pages, not written: a 24-byte bytes(2**28) costs address
        // space until something reads or writes it.
        return GraphAccess::zero_bytes(g_, static_cast<size_t>(count), ba);
      }
      case Kind::List:
      case Kind::Tuple:
      case Kind::Set:
      case Kind::FrozenSet:
      case Kind::Dict:
        data = ints_to_bytes(iterate(source, tname),
                             ba ? "byte" : "bytes");
        break;
      default:
        fail(ErrorCode::TypeError, "cannot convert '" + type_name(source) + "' object to " + tname);
    }
  }
  return ba ? g_.bytearray(data) : g_.bytes(data);
}

// bytes.__new__(bytes, *args, **kwargs) as NEWOBJ_EX calls it: CPython's
// _PyArg_UnpackKeywords for (source, encoding, errors), checks in its order.
// -> the three arguments, kNoNode where absent.
std::array<NodeId, 3> Machine::bytes_keywords(NodeId args, NodeId kwargs) {
  static constexpr std::string_view kNames[3] = {"source", "encoding", "errors"};
  const auto a = g_.items(args);
  const auto kw = g_.dict_items(kwargs);
  const size_t given = a.size() + kw.size();
  if (given > 3) fail_too_many_args("bytes", given, a.empty());
  auto by_name = [&](std::string_view name) {
    for (const auto& item : kw)
      if (g_.kind(item.first) == Kind::Str && g_.as_str(item.first) == name) return item.second;
    return kNoNode;
  };
  std::array<NodeId, 3> slot{kNoNode, kNoNode, kNoNode};
  size_t unused = kw.size();
  for (size_t i = 0; i < 3; ++i) {
    if (i < a.size()) {
      slot[i] = a[i];
    } else if ((slot[i] = by_name(kNames[i])) != kNoNode) {
      --unused;
    }
  }
  if (unused == 0) return slot;
  for (size_t i = 0; i < a.size(); ++i)
    if (by_name(kNames[i]) != kNoNode)
      fail(ErrorCode::TypeError, "argument for bytes() given by name ('" + std::string(kNames[i]) +
                                     "') and position (" + std::to_string(i + 1) + ")");
  for (const auto& item : kw) {  // the first offending key, in the dict's order
    require_keyword(item.first);
    const std::string_view key = g_.as_str(item.first);
    if (std::find(std::begin(kNames), std::end(kNames), key) == std::end(kNames))
      fail(ErrorCode::TypeError, "'" + std::string(key) + "' is an invalid keyword argument for bytes()");
  }
  fail(ErrorCode::TypeError, "invalid keyword argument for bytes()");
}

std::vector<NodeId> Machine::iterate(NodeId v, const char* /*what*/) {
  std::vector<NodeId> out;
  switch (g_.kind(v)) {
    case Kind::List:
    case Kind::Tuple:
    case Kind::Set:
    case Kind::FrozenSet: {
      auto items = g_.items(v);
      out.assign(items.begin(), items.end());
      break;
    }
    case Kind::Dict:
      for (const Pair& p : g_.dict_items(v)) out.push_back(p.first);
      break;
    case Kind::Str: {
      std::string s(g_.as_str(v));
      size_t i = 0;
      while (i < s.size()) {
        size_t j = i;
        next_code_point(s, j);
        out.push_back(g_.str(std::string_view(s).substr(i, j - i)));
        i = j;
      }
      break;
    }
    case Kind::Bytes:
    case Kind::ByteArray: {
      std::string s(g_.kind(v) == Kind::Bytes ? g_.as_bytes(v) : bytearray_data(v));
      for (char c : s) out.push_back(g_.integer(static_cast<uint8_t>(c)));
      break;
    }
    default:
      fail(ErrorCode::TypeError, "'" + type_name(v) + "' object is not iterable");
  }
  return out;
}

// The bytes of ints 0-255 (and bools); "<noun> must be in range(0, 256)" otherwise.
std::string Machine::ints_to_bytes(std::span<const NodeId> items, const char* noun) {
  const auto out_of_range = [&] { fail(ErrorCode::ValueError, std::string(noun) + " must be in range(0, 256)"); };
  std::string out;
  out.reserve(items.size());
  for (NodeId item : items) {
    Kind k = g_.kind(item);
    if (k == Kind::Bool) {
      out += static_cast<char>(g_.as_bool(item) ? 1 : 0);
      continue;
    }
    if (k != Kind::Int)
      fail(ErrorCode::TypeError, "'" + type_name(item) + "' object cannot be interpreted as an integer");
    if (!g_.int_fits64(item) || g_.as_int(item) < 0 || g_.as_int(item) > 255) out_of_range();
    const int64_t v = g_.as_int(item);
    out += static_cast<char>(v);
  }
  return out;
}

NodeId Machine::newobj_global(bool ex) {
  NodeId& cached = ex ? newobj_ex_ : newobj_;
  if (cached == kNoNode) cached = g_.global("copyreg", ex ? "__newobj_ex__" : "__newobj__");
  return cached;
}

NodeId Machine::newobj(NodeId cls, NodeId args, NodeId kwargs, bool ex) {
  const char* opname = ex ? "NEWOBJ_EX" : "NEWOBJ";
  GlobalInfo gi;
  bool is_type = false;
  const char* cls_type = nullptr;
  if (g_.kind(cls) == Kind::Global) {
    gi = info(cls);
    // _codecs.encode is CPython's own function (§2.1), no class. getattr and
    // copyreg._reconstructor are special only when called in their shape
    // (§2.2); otherwise they are inert globals, which NEWOBJ accepts as
    // CPython with inert stand-ins does.
    if (gi.special == Special::CodecsEncode)
      cls_type = "builtin_function_or_method";
    else
      is_type = true;
    if (gi.class_index >= 0) is_type = true;
  } else if (g_.kind(cls) == Kind::Object && g_.object_data(cls).class_index < 0) {
    // An inert object: the result of calling an inert global or object,
    // which may be a class (cloudpickle's _make_skeleton_class). Marked so
    // that re-encoding writes it where CPython writes a class (§3).
    is_type = true;
    g_.object_data(cls).is_class = true;
  }
  if (!is_type) fail_newobj_arg(opname, "class", "a type", cls_type ? std::string(cls_type) : type_name(cls));
  if (g_.kind(args) != Kind::Tuple) [[unlikely]] {
    if (!python()) fail_newobj_arg(opname, "args", "a tuple", type_name(args));
    args = star_args(args, nullptr);
  }
  if (ex && g_.kind(kwargs) != Kind::Dict) fail_newobj_arg(opname, "kwargs", "a dict", type_name(kwargs));
  const bool has_kwargs = ex && g_.length(kwargs) > 0;
  // tp_new gets the kwargs dict as it is: set and bytearray ignore it,
  // frozenset refuses any, bytes parses it (bytes_keywords), but every other
  // __new__ (a Python function) first requires every key to be a str.
  if (has_kwargs && !(gi.class_index < 0 && is_cpython_builtin(gi.special)))
    for (const auto& item : g_.dict_items(kwargs))
      require_keyword(item.first);

  if (gi.class_index < 0) {
    switch (gi.special) {
      case Special::Set:
        return g_.set();  // set.__new__ ignores its arguments, keywords too
      case Special::FrozenSet:
        if (has_kwargs) fail(ErrorCode::TypeError, "frozenset() takes no keyword arguments");
        return call_builtin(Special::FrozenSet, cls, args);
      case Special::ByteArray:
        return g_.bytearray({});  // bytearray.__new__ ignores its arguments
      case Special::Bytes: {
        if (!has_kwargs) return call_builtin(Special::Bytes, cls, args);
        const auto [source, encoding, errors] = bytes_keywords(args, kwargs);
        const NodeId r = bytes_like(source, encoding, errors, false);
        if (r != kNoNode) return r;
        break;  // a codec the decoder does not run: the inert NEWOBJ_EX call
      }
      default:
        break;
    }
  }

  NodeId tuple;
  const NodeId callable = newobj_global(ex);
  if (ex) {
    const NodeId newargs[3] = {cls, args, kwargs};
    tuple = GraphAccess::tuple(g_, newargs);
  } else {
    auto a = g_.items(args);
    check_len(a.size() + 1);
    NodeId small[8];
    std::vector<NodeId> big;
    NodeId* newargs = small;
    if (a.size() + 1 > std::size(small)) {
      big.resize(a.size() + 1);
      newargs = big.data();
    }
    newargs[0] = cls;
    std::copy(a.begin(), a.end(), newargs + 1);
    tuple = GraphAccess::tuple(g_, std::span<const NodeId>(newargs, a.size() + 1));
  }
  if (gi.class_index >= 0) return make_registered(gi.class_index, callable, tuple, args, ex ? kwargs : kNoNode);
  return g_.object(callable, tuple);
}

// ---- POP of a call's result: a state_setter -----------------------------------

// CPython's save_reduce writes a reduce tuple's 6th item, state_setter, as
// `setter, obj, state, TUPLE2, REDUCE, POP`: the call's result is discarded.
// A REDUCE of an inert call (obj, state) on an inert object, popped right
// away, is recorded as that object's (state, state_setter), so that
// re-encoding writes the same call; a later setter call or BUILD replaces
// it, as a second BUILD does. Any other discarded value is dropped: an inert
// call has no other effect (docs/conformance.md, inert objects).
void Machine::discard(NodeId popped) {
  if (popped != reduced_ || in_.op_offset() != reduced_end_ || g_.kind(popped) != Kind::Object) return;
  const ObjectData& call = g_.object_data(popped);
  if (call.class_index >= 0 || g_.length(call.args) != 2) return;
  const auto a = g_.items(call.args);
  if (g_.kind(a[0]) != Kind::Object || g_.object_data(a[0]).class_index >= 0) return;
  ObjectData& od = g_.object_data(a[0]);
  od.state = a[1];
  od.state_setter = call.callable;
}

// ---- BUILD -----------------------------------------------------------------

void Machine::build(NodeId inst, NodeId state) {
  if (g_.kind(inst) == Kind::Object) {
    ObjectData& od = g_.object_data(inst);
    if (od.class_index < 0) {
      od.state = state;  // inert: stored as given; a later BUILD replaces it
      od.state_setter = kNoNode;
      return;
    }
    const ClassHooks& h = opt_.registry->at(od.class_index);
    if (h.set_state) {
      flush_bytearrays();
      guarded_hook("set_state", [&] { h.set_state(g_.object_data(inst).native, g_, state); });
      return;
    }
  }
  // CPython's default __setstate__: a dict, or (dict or None, slot dict).
  NodeId dict_state = state, slot_state = kNoNode;
  if (g_.kind(state) == Kind::Tuple && g_.length(state) == 2) {
    auto items = g_.items(state);
    dict_state = items[0];
    slot_state = items[1];
  }
  if (g_.kind(dict_state) != Kind::None) {
    if (g_.kind(dict_state) == Kind::Dict) set_attrs(inst, dict_state, false);
    else if (!state_skipped(dict_state)) fail(ErrorCode::ValueError, "state is not a dictionary");
  }
  if (slot_state != kNoNode) {
    if (g_.kind(slot_state) == Kind::Dict) set_attrs(inst, slot_state, true);
    else if (!state_skipped(slot_state)) fail(ErrorCode::ValueError, "slot state is not a dictionary");
  }
}

// ---- where the pure-Python unpickler parts (DecodeOptions::unpickler) --------------

bool Machine::state_skipped(NodeId state) const {
  return python() && !g_.truthy(state);  // `if state:` passes over a falsy state
}

NodeId Machine::star_args(NodeId args, const char* c_error) {
  if (!python()) fail(ErrorCode::TypeError, c_error);
  switch (g_.kind(args)) {
    case Kind::List:
    case Kind::Set:
    case Kind::FrozenSet:
    case Kind::Dict:
    case Kind::Str:
    case Kind::Bytes:
    case Kind::ByteArray: {
      const std::vector<NodeId> items = iterate(args, "args");
      check_len(items.size());
      return g_.tuple(items);
    }
    default:
      fail(ErrorCode::TypeError, "argument after * must be an iterable, not " + type_name(args));
  }
}

void Machine::no_items(NodeId target, uint8_t opcode) {
  const bool add = opcode == op::ADDITEMS;
  if (traced_target(target)) {
    if (opt_.trace && !add) [[unlikely]] trace_method(opcode, "extend", target, {});
    return;
  }
  const Kind k = g_.kind(target);
  if (add ? k != Kind::Set : (k != Kind::List && k != Kind::ByteArray)) no_attribute(target, add ? "add" : "append");
}

void Machine::set_attrs(NodeId inst, NodeId d, bool slots) {
  auto items = g_.dict_items(d);
  const Kind k = g_.kind(inst);
  if (k == Kind::Object) {  // a registered class without set_state
    const ObjectData& od = g_.object_data(inst);
    const ClassHooks& h = opt_.registry->at(od.class_index);
    if (items.empty()) return;
    if (!h.set_attr)
      no_attribute(inst, !slots ? "__dict__" : g_.kind(items[0].first) == Kind::Str ? g_.as_str(items[0].first) : "?");
    flush_bytearrays();
    std::vector<Pair> copy(items.begin(), items.end());
    for (const Pair& p : copy) {
      require_attr_name(p.first);
      std::string name(g_.as_str(p.first));
      guarded_hook("set_attr", [&] { h.set_attr(g_.object_data(inst).native, g_, name, p.second); });
    }
    return;
  }
  if (!slots) {
    // inst.__dict__ must exist; a class (inert global) has a read-only one.
    if (k == Kind::Global) {
      if (!items.empty()) fail(ErrorCode::TypeError, "'mappingproxy' object does not support item assignment");
      return;
    }
    if (state_skipped(d)) return;  // the pure-Python unpickler passes over an empty dict
    no_attribute(inst, "__dict__");
  }
  if (items.empty()) return;
  const Pair& p = items[0];
  require_attr_name(p.first);
  if (k == Kind::Global)
    fail(ErrorCode::TypeError, "cannot set attributes of an inert global ('" + std::string(g_.as_str(p.first)) + "')");
  no_attribute(inst, g_.as_str(p.first));
}

// ---- item opcodes -------------------------------------------------------------

void Machine::do_append(int64_t x, uint8_t opcode) {
  const auto len = static_cast<int64_t>(stack_.size());
  if (x > len || x <= static_cast<int64_t>(fence_)) underflow();
  if (len == x) [[unlikely]] {
    if (python()) no_items(stack_[static_cast<size_t>(x - 1)], opcode);
    return;
  }
  const NodeId target = stack_[static_cast<size_t>(x - 1)];
  auto items = top_from(static_cast<size_t>(x));
  // Not a list: CPython calls target.extend(items) (or append per item).
  if (opt_.trace && traced_target(target)) [[unlikely]] trace_method(opcode, "extend", target, items);
  switch (g_.kind(target)) {
    case Kind::List:
      check_len(GraphAccess::list_length(g_, target) + items.size());
      GraphAccess::list_extend(g_, target, items);
      break;
    case Kind::Object: {
      ObjectData& od = g_.object_data(target);
      check_len(od.listitems.size() + items.size());
      od.listitems.insert(od.listitems.end(), items.begin(), items.end());
      break;
    }
    case Kind::ByteArray: {
      std::string add = ints_to_bytes(items, "byte");
      pending_ba_bytes_ += add.size();
      if (pending_ba_bytes_ + g_.bytes_held() > opt_.limits.max_total_bytes)
        fail_memory_budget("graph");
      bytearray_pending(target) += add;
      break;
    }
    default:
      no_attribute(target, "append");
  }
  stack_.resize(static_cast<size_t>(x));
}

bool Machine::try_fill(detail::DictData& d, std::span<const NodeId> items) {
  // Records: one SETITEMS after the other with the same key nodes (memo
  // GETs of the same strs); what fill_keys said of them still holds.
  const size_t pairs = items.size() / 2;
  bool same = pairs == fill_pairs_;
  for (size_t i = 0; same && i < pairs; ++i) same = items[2 * i] == fill_keys_[i];
  if (same) return GraphAccess::try_dict_fill_keys(g_, d, items, fill_bloom_);
  uint64_t bloom;
  if (!GraphAccess::fill_keys(g_, items, bloom)) return false;
  if (pairs <= kFillKeys) {
    for (size_t i = 0; i < pairs; ++i) fill_keys_[i] = items[2 * i];
    fill_pairs_ = pairs;
    fill_bloom_ = bloom;
  }
  return GraphAccess::try_dict_fill_keys(g_, d, items, bloom);
}

void Machine::do_setitems(int64_t x, uint8_t opcode) {
  const auto len = static_cast<int64_t>(stack_.size());
  if (x > len || x <= static_cast<int64_t>(fence_)) underflow();
  if (len == x) return;
  const NodeId target = stack_[static_cast<size_t>(x - 1)];
  auto items = top_from(static_cast<size_t>(x));
  if ((len - x) % 2 != 0) [[unlikely]] {
    // The pure-Python unpickler sets the leading pairs, then fails.
    if (python() && opt_.trace && traced_target(target))
      trace_method(opcode, "__setitem__", target, items.first(items.size() - 1));
    fail_odd_items("SETITEMS");
  }
  if (opt_.trace && traced_target(target)) [[unlikely]] trace_method(opcode, "__setitem__", target, items);
  switch (g_.kind(target)) {
    case Kind::Dict: {
      detail::DictData& d = GraphAccess::dict_data(g_, target);
      check_len(d.items.size() + items.size() / 2);
      if (try_fill(d, items)) break;
      for (size_t k = 0; k + 1 < items.size(); k += 2) GraphAccess::dict_set(g_, d, items[k], items[k + 1]);
      break;
    }
    case Kind::Object: {
      ObjectData& od = g_.object_data(target);
      check_len(od.dictitems.size() + items.size() / 2);
      for (size_t k = 0; k + 1 < items.size(); k += 2) od.dictitems.emplace_back(items[k], items[k + 1]);
      break;
    }
    case Kind::List:
    case Kind::ByteArray: {
      const bool ba = g_.kind(target) == Kind::ByteArray;
      const char* tname = ba ? "bytearray" : "list";
      for (size_t k = 0; k + 1 < items.size(); k += 2) {
        NodeId key = items[k];
        Kind kk = g_.kind(key);
        if (kk != Kind::Int && kk != Kind::Bool)
          fail(ErrorCode::TypeError,
               std::string(tname) + " indices must be integers or slices, not " + type_name(key));
        int64_t size = static_cast<int64_t>(ba ? bytearray_data(target).size() : g_.length(target));
        int64_t idx = kk == Kind::Bool ? (g_.as_bool(key) ? 1 : 0) : (g_.int_fits64(key) ? g_.as_int(key) : INT64_MAX);
        if (idx < 0 && idx != INT64_MIN) idx += size;
        if (idx < 0 || idx >= size)
          fail(ErrorCode::ValueError, ba ? "bytearray index out of range" : "list assignment index out of range");
        if (!ba) {
          g_.list_set(target, static_cast<size_t>(idx), items[k + 1]);
          continue;
        }
        std::string byte = ints_to_bytes(std::span<const NodeId>(&items[k + 1], 1), "byte");
        bytearray_pending(target)[static_cast<size_t>(idx)] = byte[0];
      }
      break;
    }
    default:
      fail(ErrorCode::TypeError, "'" + type_name(target) + "' object does not support item assignment");
  }
  stack_.resize(static_cast<size_t>(x));
}

void Machine::do_additems(int64_t mark) {
  const auto len = static_cast<int64_t>(stack_.size());
  if (mark > len || mark <= static_cast<int64_t>(fence_)) underflow();
  if (len == mark) [[unlikely]] {
    if (python()) no_items(stack_[static_cast<size_t>(mark - 1)], op::ADDITEMS);
    return;
  }
  const NodeId target = stack_[static_cast<size_t>(mark - 1)];
  auto items = top_from(static_cast<size_t>(mark));
  if (opt_.trace && traced_target(target)) [[unlikely]] trace_method(op::ADDITEMS, "add", target, items);
  switch (g_.kind(target)) {
    case Kind::Set:
      check_len(g_.length(target) + items.size());
      for (NodeId item : items) g_.set_add(target, item);
      break;
    default:
      no_attribute(target, "add");
  }
  stack_.resize(static_cast<size_t>(mark));
}

}  // namespace pkl::detail
