// numpy arrays (ndarray.hpp): reading the inert objects numpy's pickles
// decode to, and making the graph numpy's pickler makes.
#include "picklecodec/ndarray.hpp"

#include <bit>
#include <limits>
#include <utility>

namespace pkl {

namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }
[[noreturn]] void expected(const char* what, const Graph& g, NodeId n) {
  fail(ErrorCode::TypeError, std::string("expected ") + what + ", got " + detail::python_type_name(g, n));
}
[[noreturn]] void unknown_dtype(const std::string& typestr) { fail(ErrorCode::ValueError, "unknown dtype " + typestr); }
[[noreturn]] void negative_dimension() { fail(ErrorCode::ValueError, "a negative dimension"); }
[[noreturn]] void shape_overflows() { fail(ErrorCode::ValueError, "the shape's size overflows"); }

// A dtype nested in a dtype (structured fields, subarrays): at most this deep.
constexpr int kMaxDTypeDepth = 32;

bool is_global(const Graph& g, NodeId n, std::string_view module, std::string_view qualname) {
  if (g.kind(n) != Kind::Global) return false;
  const GlobalData& d = g.global_data(n);
  return d.module == module && d.qualname == qualname;
}

bool is_numpy_global(const Graph& g, NodeId n, std::string_view core_module, std::string_view qualname) {
  // numpy 1.x: numpy.core.<m>; numpy 2.x: numpy._core.<m>
  return is_global(g, n, "numpy.core." + std::string(core_module), qualname) ||
         is_global(g, n, "numpy._core." + std::string(core_module), qualname);
}

int64_t int_of(const Graph& g, NodeId n, const char* what) {
  if (g.kind(n) != Kind::Int || !g.int_fits64(n)) fail(ErrorCode::TypeError, std::string(what) + " is not an int");
  return g.as_int(n);
}

std::span<const NodeId> tuple_of(const Graph& g, NodeId n, const char* what) {
  if (g.kind(n) != Kind::Tuple) fail(ErrorCode::TypeError, std::string(what) + " is not a tuple");
  return g.items(n);
}

std::vector<int64_t> shape_of(const Graph& g, NodeId n) {
  std::vector<int64_t> shape;
  for (NodeId d : tuple_of(g, n, "the shape")) {
    const int64_t v = int_of(g, d, "a dimension");
    if (v < 0) negative_dimension();
    shape.push_back(v);
  }
  return shape;
}

std::string text_of(const Graph& g, NodeId n) {
  if (g.kind(n) == Kind::Str) return std::string(g.as_str(n));
  if (g.kind(n) == Kind::Bytes) return std::string(g.as_bytes(n));
  fail(ErrorCode::TypeError, "expected a str");
}

DType parse_dtype(const Graph& g, NodeId n, int depth) {
  if (depth > kMaxDTypeDepth) fail(ErrorCode::ResourceLimit, "dtype nested deeper than 32 levels");
  if (g.kind(n) != Kind::Object) expected("numpy.dtype", g, n);
  const ObjectData& od = g.object_data(n);
  if (od.callable == kNoNode || !is_global(g, od.callable, "numpy", "dtype"))
    expected("numpy.dtype", g, n);
  const auto args = tuple_of(g, od.args, "numpy.dtype's arguments");
  if (args.empty() || g.kind(args[0]) != Kind::Str) fail(ErrorCode::TypeError, "numpy.dtype's first argument is not a str");
  const std::string typestr(g.as_str(args[0]));
  if (typestr.empty()) fail(ErrorCode::ValueError, "an empty dtype string");
  DType d;
  d.kind = typestr[0];
  if (d.kind == 'O') fail(ErrorCode::TypeError, "an object array (dtype O) holds Python objects, not a buffer");
  if (std::string_view("biufcMmSUV").find(d.kind) == std::string_view::npos)
    unknown_dtype(typestr);
  uint64_t digits = 0;
  for (size_t i = 1; i < typestr.size(); ++i) {
    if (typestr[i] < '0' || typestr[i] > '9' || digits > (uint64_t{1} << 40))
      unknown_dtype(typestr);
    digits = digits * 10 + static_cast<uint64_t>(typestr[i] - '0');
  }
  d.itemsize = d.kind == 'U' ? digits * 4 : digits;
  if (od.state == kNoNode) {
    d.byteorder = d.itemsize == 1 ? '|' : (std::endian::native == std::endian::little ? '<' : '>');
    return d;
  }
  const auto st = tuple_of(g, od.state, "numpy.dtype's state");
  if (st.size() < 8) fail(ErrorCode::ValueError, "numpy.dtype's state has " + std::to_string(st.size()) + " items");
  const std::string order = text_of(g, st[1]);
  if (order.size() != 1 || std::string_view("<>|=").find(order[0]) == std::string_view::npos)
    fail(ErrorCode::ValueError, "bad byte order " + order);
  d.byteorder = order[0] == '=' ? (std::endian::native == std::endian::little ? '<' : '>') : order[0];
  if (g.kind(st[2]) != Kind::None) {  // subarray: (base dtype, shape)
    const auto sub = tuple_of(g, st[2], "a subarray");
    if (sub.size() != 2) fail(ErrorCode::ValueError, "a subarray is not (dtype, shape)");
    d.subarray_base = std::make_shared<DType>(parse_dtype(g, sub[0], depth + 1));
    d.subarray_shape = g.kind(sub[1]) == Kind::Int ? std::vector<int64_t>{int_of(g, sub[1], "a dimension")}
                                                    : shape_of(g, sub[1]);
  }
  if (g.kind(st[3]) != Kind::None) {  // names, and the fields dict: name -> (dtype, offset[, title])
    if (g.kind(st[4]) != Kind::Dict) fail(ErrorCode::TypeError, "a structured dtype's fields are not a dict");
    for (NodeId name : tuple_of(g, st[3], "a structured dtype's names")) {
      if (g.kind(name) != Kind::Str) fail(ErrorCode::TypeError, "a field name is not a str");
      const NodeId f = g.dict_get(st[4], name);
      if (f == kNoNode) fail(ErrorCode::ValueError, "field " + std::string(g.as_str(name)) + " has no entry");
      const auto ft = tuple_of(g, f, "a field");
      if (ft.size() < 2) fail(ErrorCode::ValueError, "a field is not (dtype, offset)");
      DType::Field field;
      field.name = g.as_str(name);
      field.type = std::make_shared<DType>(parse_dtype(g, ft[0], depth + 1));
      const int64_t off = int_of(g, ft[1], "a field offset");
      if (off < 0) fail(ErrorCode::ValueError, "a negative field offset");
      field.offset = static_cast<uint64_t>(off);
      d.fields.push_back(std::move(field));
    }
  }
  const int64_t elsize = int_of(g, st[5], "the item size");
  if (elsize >= 0) d.itemsize = static_cast<uint64_t>(elsize);
  d.alignment = int_of(g, st[6], "the alignment");
  d.flags = int_of(g, st[7], "the flags");
  if (d.kind == 'M' || d.kind == 'm') {
    d.itemsize = 8;
    d.unit = "generic";
    // version 4: (metadata, (unit, count, num, den)); older: the tuple itself
    if (st.size() >= 9 && g.kind(st[8]) == Kind::Tuple) {
      auto meta = g.items(st[8]);
      if (meta.size() == 2 && g.kind(meta[1]) == Kind::Tuple) meta = g.items(meta[1]);
      if (meta.size() >= 2) {
        d.unit = text_of(g, meta[0]);
        d.unit_count = int_of(g, meta[1], "the datetime unit count");
      }
    }
  }
  for (const auto& f : d.fields)
    if (f.offset > d.itemsize || f.type->itemsize > d.itemsize - f.offset)
      fail(ErrorCode::ValueError, "field " + f.name + " lies outside the item");
  return d;
}

}  // namespace

std::string DType::str() const {
  const char order = itemsize <= 1 && kind != 'U' ? '|' : byteorder;
  switch (kind) {
    case 'S':
    case 'V':
      return std::string("|") + kind + std::to_string(itemsize);
    case 'U':
      return std::string(1, order) + "U" + std::to_string(itemsize / 4);
    case 'M':
    case 'm': {
      std::string s = std::string(1, order) + kind + "8";
      if (unit != "generic" && !unit.empty()) s += "[" + (unit_count != 1 ? std::to_string(unit_count) : "") + unit + "]";
      return s;
    }
    default:
      return std::string(1, order) + kind + std::to_string(itemsize);
  }
}

bool DType::native() const {
  if (byteorder == '|' || itemsize <= 1) return true;
  return (byteorder == '<') == (std::endian::native == std::endian::little);
}

DType as_dtype(const Graph& g, NodeId n) { return parse_dtype(g, n, 0); }

uint64_t ndarray::size() const noexcept {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

void ndarray::finish() {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) negative_dimension();
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      shape_overflows();
    n *= static_cast<uint64_t>(d);
  }
  if (dtype.itemsize != 0 && n > std::numeric_limits<uint64_t>::max() / dtype.itemsize)
    shape_overflows();
  if (n * dtype.itemsize != data.size())
    fail(ErrorCode::ValueError, "the data holds " + std::to_string(data.size()) + " bytes, the shape and dtype need " +
                                    std::to_string(n * dtype.itemsize));
  strides.assign(shape.size(), 0);
  int64_t step = static_cast<int64_t>(dtype.itemsize);
  if (fortran_order) {
    for (size_t i = 0; i < shape.size(); ++i) {
      strides[i] = step;
      step *= shape[i] ? shape[i] : 1;
    }
  } else {
    for (size_t i = shape.size(); i-- > 0;) {
      strides[i] = step;
      step *= shape[i] ? shape[i] : 1;
    }
  }
}

void ndarray::type_error(const std::string& want) const {
  fail(ErrorCode::TypeError, "the array holds " + dtype.str() + ", not " + want);
}
void ndarray::type_error_order() const {
  fail(ErrorCode::TypeError, "the array's items are " + dtype.str() + ", not in this machine's byte order: use to_vector()");
}
void ndarray::type_error_alignment(size_t align) const {
  fail(ErrorCode::TypeError, "the array's data is not aligned to " + std::to_string(align) + " bytes: use to_vector()");
}

void ndarray::swap_items(std::byte* p, size_t bytes, size_t width) noexcept {
  for (size_t i = 0; width > 1 && i + width <= bytes; i += width) {
    for (size_t a = i, b = i + width - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
  }
}

ndarray as_ndarray(const Graph& g, NodeId n) {
  if (g.kind(n) != Kind::Object) expected("a numpy array", g, n);
  const ObjectData& od = g.object_data(n);
  if (od.callable == kNoNode) expected("a numpy array", g, n);
  ndarray a;
  std::string_view bytes;
  if (is_numpy_global(g, od.callable, "multiarray", "_reconstruct")) {
    const auto args = tuple_of(g, od.args, "_reconstruct's arguments");
    if (args.size() != 3 || g.kind(args[0]) != Kind::Global)
      fail(ErrorCode::ValueError, "_reconstruct's arguments are not (cls, shape, dtype)");
    if (!is_global(g, args[0], "numpy", "ndarray"))
      a.subclass = g.global_data(args[0]).module + "." + g.global_data(args[0]).qualname;
    if (od.state == kNoNode) fail(ErrorCode::ValueError, "a numpy array without its state");
    auto st = tuple_of(g, od.state, "the array's state");
    if (st.size() == 5) st = st.subspan(1);  // (version, shape, dtype, is_fortran, data)
    if (st.size() != 4) fail(ErrorCode::ValueError, "the array's state has " + std::to_string(st.size()) + " items");
    a.shape = shape_of(g, st[0]);
    a.dtype = as_dtype(g, st[1]);
    if (g.kind(st[2]) != Kind::Bool) fail(ErrorCode::TypeError, "the array's order flag is not a bool");
    a.fortran_order = g.as_bool(st[2]);
    const Kind k = g.kind(st[3]);
    if (k == Kind::List) fail(ErrorCode::TypeError, "an object array holds Python objects, not a buffer");
    if (k == Kind::Str)
      fail(ErrorCode::TypeError, "the array's data is a str (a Python 2 pickle: decode with StringEncoding::Bytes)");
    if (k != Kind::Bytes && k != Kind::ByteArray) fail(ErrorCode::TypeError, "the array's data is not bytes");
    bytes = g.as_bytes(st[3]);
  } else if (is_numpy_global(g, od.callable, "numeric", "_frombuffer")) {
    const auto args = tuple_of(g, od.args, "_frombuffer's arguments");
    if (args.size() != 4) fail(ErrorCode::ValueError, "_frombuffer's arguments are not (buffer, dtype, shape, order)");
    switch (g.kind(args[0])) {
      case Kind::Bytes:
        a.writeable = false;
        bytes = g.as_bytes(args[0]);
        break;
      case Kind::ByteArray:
        bytes = g.as_bytes(args[0]);
        break;
      case Kind::Buffer: {
        const BufferData& b = g.buffer_data(args[0]);
        a.writeable = !b.readonly;
        bytes = b.data;
        break;
      }
      default:
        fail(ErrorCode::TypeError, "_frombuffer's buffer is a " + detail::python_type_name(g, args[0]));
    }
    a.dtype = as_dtype(g, args[1]);
    a.shape = shape_of(g, args[2]);
    const std::string order = text_of(g, args[3]);
    if (order != "C" && order != "F") fail(ErrorCode::ValueError, "order " + order + " is not C or F");
    a.fortran_order = order == "F";
  } else {
    expected("a numpy array", g, n);
  }
  a.data = std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
  a.finish();
  return a;
}

// ---- writing ---------------------------------------------------------------

namespace {

NodeId dtype_node(Dumper& d, const DType& t) {
  Graph& g = d.graph();
  if (!t.fields.empty() || t.subarray_base || t.kind == 'V')
    fail(ErrorCode::ValueError, "writing a structured, subarray or void dtype (" + t.str() + ") is not supported");
  if (std::string_view("biufcMmSU").find(t.kind) == std::string_view::npos || t.kind == 0)
    fail(ErrorCode::ValueError, "no numpy dtype of kind " + std::string(1, t.kind));
  const std::string key = "numpy.dtype " + t.str();
  // numpy's dtypes in native order are one object each (np.dtype('f8') is
  // np.dtype('float64')): written once, then a memo reference.
  if (t.native()) {
    if (auto it = d.named().find(key); it != d.named().end()) return it->second;
  }
  std::string typestr;
  const bool dt = t.kind == 'M' || t.kind == 'm';
  if (t.kind == 'b')
    typestr = "b1";
  else if (t.kind == 'U')
    typestr = "U" + std::to_string(t.itemsize / 4);
  else if (dt)
    typestr = std::string(1, t.kind) + "8";
  else
    typestr = t.kind + std::to_string(t.itemsize);
  const NodeId args[3] = {g.str(typestr), g.boolean(false), g.boolean(true)};
  const NodeId obj = g.object(g.global("numpy", "dtype"), g.tuple(args));
  const bool flexible = t.kind == 'S' || t.kind == 'U';
  const char order = t.itemsize <= 1 || t.kind == 'S' ? '|' : t.byteorder;
  std::vector<NodeId> st{g.integer(dt ? 4 : 3),
                         g.str(std::string(1, order)),
                         g.none(),
                         g.none(),
                         g.none(),
                         g.integer(flexible ? static_cast<int64_t>(t.itemsize) : -1),
                         g.integer(t.kind == 'S' ? 1 : t.kind == 'U' ? 4 : -1),
                         g.integer(t.kind == 'U' ? 8 : 0)};
  if (dt) {
    const std::string unit = t.unit.empty() ? "generic" : t.unit;
    const NodeId meta[4] = {g.bytes(unit), g.integer(t.unit_count), g.integer(1), g.integer(1)};
    const NodeId pair[2] = {g.dict(), g.tuple(meta)};
    st.push_back(g.tuple(pair));
  }
  g.object_data(obj).state = g.tuple(st);
  if (t.native()) d.named().emplace(key, obj);
  return obj;
}

NodeId shape_node(Graph& g, const std::vector<int64_t>& shape) {
  std::vector<NodeId> dims;
  for (int64_t v : shape) dims.push_back(g.integer(v));
  return g.tuple(dims);
}

// A bytes of the array's data: b'' and one-byte bytes are CPython's shared
// objects (as tobytes() returns them); longer ones refer to the caller's
// buffer (no copy; the graph is written before dump() returns).
NodeId data_bytes(Graph& g, std::string_view data) {
  return data.size() <= 1 ? g.bytes(data) : g.bytes_view(data);
}

}  // namespace

NodeId ndarray_node(Dumper& d, const ndarray& a) {
  Graph& g = d.graph();
  ndarray check = a;
  check.finish();  // the shape matches the data
  const std::string_view data(reinterpret_cast<const char*>(a.data.data()), a.data.size());
  // numpy's is_fortran: Fortran order where that is not also C order (at
  // most one dimension longer than 1 is both).
  size_t long_dims = 0;
  for (int64_t v : a.shape) long_dims += v > 1;
  const bool fortran = a.fortran_order && long_dims > 1;
  // numpy's __reduce_ex__(5) exports a PickleBuffer, which datetime64 and
  // timedelta64 refuse (no buffer format): those take the regular reduction.
  if (d.protocol() >= 5 && a.dtype.kind != 'M' && a.dtype.kind != 'm') {
    // _frombuffer(PickleBuffer(a), dtype, shape, order): in-band, a
    // writeable buffer is a bytearray, a read-only one bytes.
    const NodeId buf = a.writeable ? g.bytearray(data) : data_bytes(g, data);
    const NodeId args[4] = {buf, dtype_node(d, a.dtype), shape_node(g, a.shape), g.str(fortran ? "F" : "C")};
    return g.object(g.global("numpy.core.numeric", "_frombuffer"), g.tuple(args));
  }
  const NodeId rargs[3] = {g.global("numpy", "ndarray"), g.tuple(std::vector<NodeId>{g.integer(0)}), g.bytes("b")};
  const NodeId obj = g.object(g.global("numpy.core.multiarray", "_reconstruct"), g.tuple(rargs));
  const NodeId st[5] = {g.integer(1), shape_node(g, a.shape), dtype_node(d, a.dtype), g.boolean(fortran),
                        data_bytes(g, data)};
  g.object_data(obj).state = g.tuple(st);
  return obj;
}

}  // namespace pkl
