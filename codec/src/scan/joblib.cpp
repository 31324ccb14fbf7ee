// joblib's arrays: what joblib.load reads after a wrapper's BUILD (scan/joblib.hpp),
// told from the wrapper's state as joblib/numpy_pickle.py's NumpyArrayWrapper.read_array does.
#include "scan/joblib.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "picklecodec/error.hpp"
#include "text/python_text.hpp"

namespace pkl::scan::detail {

namespace {


std::string dotted(const GlobalData& gd) { return gd.module + "." + gd.qualname; }

// The class `obj` is an instance of, and whether it was made empty (cls.__new__:
// NEWOBJ, copyreg's __newobj__ and _reconstructor) rather than by calling the class.
std::string class_of(const Graph& g, NodeId obj, bool& made_empty) {
  made_empty = false;
  const ObjectData& od = g.object_data(obj);
  if (g.kind(od.callable) != Kind::Global) return {};
  const GlobalData& gd = g.global_data(od.callable);
  if (gd.module == "copyreg" &&
      (gd.qualname == "__newobj__" || gd.qualname == "__newobj_ex__" || gd.qualname == "_reconstructor")) {
    if (g.kind(od.args) != Kind::Tuple || g.length(od.args) == 0) return {};
    const NodeId cls = g.items(od.args)[0];
    if (g.kind(cls) != Kind::Global) return {};
    made_empty = true;
    return dotted(g.global_data(cls));
  }
  return dotted(gd);
}

// numpy's dtype flags: NPY_ITEM_REFCOUNT (bit 0, what dtype.hasobject
// reads), and what an object dtype carries (NPY_OBJECT_DTYPE_FLAGS).
constexpr int kHasObject = 1;
constexpr int kObjectFlags = 63;
constexpr int kMaxDtypeDepth = 32;

// A numpy.dtype as numpy 1.24's __setstate__ leaves it.
struct Dtype {
  int64_t itemsize = 0;
  int flags = 0;         // bit 0: hasobject
  bool objects = false;  // object pointers in the layout: the code 'O', a field's or the subarray's
  bool found = false;    // what numpy's _descr_find_object says of it (any flag, 'O', or a field found)
};

// One reading of a dtype: the stream's dtypes, the dtypes being read (a
// dtype that contains itself), those read (a dtype shared by fields is read
// once), and at a version 2 BUILD the dtype whose flags are computed now.
struct DtypeReading {
  Dtypes& dtypes;
  NodeId building = kNoNode;
  std::vector<NodeId> open;
  std::unordered_map<NodeId, Dtype> done;
};

std::string read_dtype(const Graph& g, NodeId dt, Dtype& out, DtypeReading& r);

// The fields of a structured dtype (names, and fields: name -> (dtype,
// offset[, title])), each placed inside the item as numpy's dtype()
// requires (it refuses an offset < 0 or a field past the itemsize;
// __setstate__ checks neither, and reading such an array reads outside it).
std::string read_fields(const Graph& g, NodeId names, NodeId fields, bool v2_now, Dtype& d, bool& any_found,
                        DtypeReading& r) {
  if (g.kind(names) == Kind::None && g.kind(fields) == Kind::None) return {};
  if (g.kind(names) != Kind::Tuple || g.kind(fields) != Kind::Dict)
    return "a structured dtype whose names and fields are not a tuple and a dict";
  if (r.dtypes.work < g.length(fields)) return "more dtype fields than the scan reads in one stream";
  r.dtypes.work -= g.length(fields);
  std::unordered_map<std::string_view, NodeId> by_name;  // a later key replaces an earlier one, as in Python
  for (const Pair& p : g.dict_items(fields))
    if (g.kind(p.first) == Kind::Str) by_name[g.as_str(p.first)] = p.second;
  for (NodeId name : g.items(names)) {
    if (g.kind(name) != Kind::Str) return "a structured dtype with a field name that is not a str";
    const auto it = by_name.find(g.as_str(name));
    const std::string fname = "field '" + std::string(g.as_str(name)) + "'";
    if (it == by_name.end()) return "the " + fname + " is named but not described (numpy fails)";
    const NodeId field = it->second;
    if (g.kind(field) != Kind::Tuple || g.length(field) < 2 || g.length(field) > 3)
      return "the " + fname + " is not (dtype, offset[, title])";
    const NodeId off = g.items(field)[1];
    if (g.kind(off) != Kind::Int || !g.int_fits64(off)) return "the " + fname + "'s offset is not an int";
    Dtype sub;
    if (std::string why = read_dtype(g, g.items(field)[0], sub, r); !why.empty())
      return "the " + fname + ": " + why;
    const int64_t at = g.as_int(off);
    if (at < 0 || sub.itemsize < 0 || at > d.itemsize || sub.itemsize > d.itemsize - at)
      return "the " + fname + " (offset " + std::to_string(at) + ", " + std::to_string(sub.itemsize) +
             " bytes) lies outside the " + std::to_string(d.itemsize) + "-byte item: numpy's dtype() refuses it";
    d.objects |= sub.objects;
    any_found |= sub.found;
    // Setting a version 2 state, numpy sets the flags of the field's dtype
    // it finds objects in (a dtype object the pickle may share with an array).
    if (v2_now && sub.found && sub.flags != kObjectFlags)
      return "a version 2 dtype state changes the flags of its " + fname + "'s dtype";
  }
  return {};
}

// (base dtype, shape): the subarray within the item.
std::string read_subarray(const Graph& g, NodeId sa, Dtype& d, DtypeReading& r) {
  if (g.kind(sa) == Kind::None) return {};
  if (g.kind(sa) != Kind::Tuple || g.length(sa) != 2 || g.kind(g.items(sa)[1]) != Kind::Tuple)
    return "a subarray that is not (dtype, shape)";
  Dtype base;
  if (std::string why = read_dtype(g, g.items(sa)[0], base, r); !why.empty()) return "the subarray: " + why;
  uint64_t size = base.itemsize < 0 ? UINT64_MAX : static_cast<uint64_t>(base.itemsize);
  for (NodeId n : g.items(g.items(sa)[1])) {
    if (g.kind(n) != Kind::Int || !g.int_fits64(n) || g.as_int(n) < 0)
      return "a subarray dimension that is not an int >= 0";
    if (__builtin_mul_overflow(size, static_cast<uint64_t>(g.as_int(n)), &size)) size = UINT64_MAX;
  }
  if (size > static_cast<uint64_t>(d.itemsize))
    return "the subarray is larger than the " + std::to_string(d.itemsize) + "-byte item: numpy's dtype() refuses it";
  d.objects |= base.objects;
  return {};
}

// numpy.dtype(code, align, copy) with BUILD's state (version, byteorder,
// subarray, names, fields, elsize, alignment, flags[, metadata]), as
// np.dtype.__reduce__ writes it and numpy 1.24's __setstate__ reads it
// (tried state by state on Debian's numpy 1.24.2; tests/test_scan.cpp's
// ScanJoblibDtype follows what it does):
// - the flags of a version 3 or 4 state are taken as they are: bit 0 is
//   hasobject, whatever the fields hold; a version 2 state's flags are
//   recomputed by _descr_find_object when BUILD sets the state (dtype_built):
//   objects when the stated flags are not 0, the code is 'O', or a field's
//   dtype has flags (recursively; not the subarray). Versions 0 and 1
//   (names under fields[-1]) are not read;
// - numpy keeps the fields dict it is given, so the fields are read as they
//   are when joblib reads the array;
// - a flexible type (S, U, V: structured and subarray dtypes too) takes its
//   size from elsize, the others from their code.
std::string read_dtype(const Graph& g, NodeId dt, Dtype& out, DtypeReading& r) {
  if (const auto it = r.done.find(dt); it != r.done.end()) {
    out = it->second;
    return {};
  }
  if (r.open.size() > kMaxDtypeDepth) return "dtypes nested deeper than " + std::to_string(kMaxDtypeDepth);
  if (std::find(r.open.begin(), r.open.end(), dt) != r.open.end()) return "a dtype that contains itself";
  if (r.dtypes.work == 0) return "more dtypes than the scan reads in one stream";
  --r.dtypes.work;
  if (g.kind(dt) != Kind::Object) return "the dtype is not a numpy.dtype the pickle made";
  const ObjectData& od = g.object_data(dt);
  if (g.kind(od.callable) != Kind::Global || dotted(g.global_data(od.callable)) != "numpy.dtype")
    return "the dtype is not made by numpy.dtype";
  if (g.kind(od.args) != Kind::Tuple || g.length(od.args) == 0 || g.kind(g.items(od.args)[0]) != Kind::Str)
    return "numpy.dtype is called without a type code";
  const std::string_view code = g.as_str(g.items(od.args)[0]);
  if (code.size() < 2 || code.size() > 6 || std::string_view("biufcMmOSUV").find(code[0]) == std::string_view::npos)
    return "the dtype code '" + std::string(code) + "' is not read by the scanner";
  int64_t digits = 0;
  for (char c : code.substr(1)) {
    if (c < '0' || c > '9') return "the dtype code '" + std::string(code) + "' is not read by the scanner";
    digits = digits * 10 + (c - '0');
  }
  const char kind = code[0];
  const bool flexible = kind == 'S' || kind == 'U' || kind == 'V';
  // np.dtype(code) before BUILD: an object dtype's flags, NPY_NEEDS_INIT for str.
  out = Dtype{};
  out.itemsize = kind == 'U' ? digits * 4 : digits;
  out.flags = kind == 'O' ? kObjectFlags : kind == 'U' ? 8 : 0;
  out.objects = kind == 'O';
  out.found = out.flags != 0;
  if (od.state == kNoNode) return {};
  if (g.kind(od.state) != Kind::Tuple || (g.length(od.state) != 8 && g.length(od.state) != 9))
    return "a dtype state that is not numpy's";
  const auto s = g.items(od.state);
  for (size_t i : {0, 5, 6, 7})  // C ints to numpy
    if (g.kind(s[i]) != Kind::Int || !g.int_fits64(s[i]) || g.as_int(s[i]) < INT32_MIN || g.as_int(s[i]) > INT32_MAX)
      return "a dtype state that is not numpy's";
  const int64_t version = g.as_int(s[0]), elsize = g.as_int(s[5]), flags = g.as_int(s[7]);
  if (version < 2 || version > 4) return "a version " + std::to_string(version) + " dtype state";
  if (flags < -128 || flags > 127) return "dtype flags that numpy refuses";
  if (flexible && elsize < 0) return "a flexible dtype without a size";
  if (flexible) out.itemsize = elsize;
  out.flags = static_cast<int>(flags);
  const bool v2_now = version < 3 && dt == r.building;
  const auto fixed = r.dtypes.v2.find(dt);
  if (version < 3 && !v2_now && (fixed == r.dtypes.v2.end() || fixed->second.first != od.state))
    return "a version 2 dtype state the scan did not see set";
  bool field_found = false;
  r.open.push_back(dt);
  std::string why = read_fields(g, s[3], s[4], v2_now, out, field_found, r);
  if (why.empty()) why = read_subarray(g, s[2], out, r);
  r.open.pop_back();
  if (!why.empty()) return why;
  if (v2_now) out.flags = (out.flags != 0 || kind == 'O' || field_found) ? kObjectFlags : 0;
  else if (version < 3) out.flags = fixed->second.second;
  out.found = out.flags != 0 || kind == 'O' || field_found;
  r.done.emplace(dt, out);
  return {};
}

std::string read_wrapper(const Graph& g, const ObjectData& od, Dtypes& dtypes, JoblibArray& a) {
  if (od.state == kNoNode || g.kind(od.state) != Kind::Dict)
    return "the wrapper's state is not a dict of attributes (slots or __setstate__ are not read by the scanner)";
  NodeId dtype = kNoNode, shape = kNoNode, subclass = kNoNode;
  for (const Pair& p : g.dict_items(od.state)) {
    if (g.kind(p.first) != Kind::Str) continue;
    const std::string_view k = g.as_str(p.first);
    if (k == "dtype") dtype = p.second;
    else if (k == "shape") shape = p.second;
    else if (k == "subclass") subclass = p.second;
    else if (k == "numpy_array_alignment_bytes") a.padded = g.kind(p.second) != Kind::None;
  }
  if (dtype == kNoNode || shape == kNoNode || subclass == kNoNode) return "the wrapper lacks its dtype, shape or subclass";
  if (g.kind(subclass) != Kind::Global) return "the array's subclass is not a class the pickle names";
  const std::string sub = dotted(g.global_data(subclass));
  if (sub != "numpy.ndarray" && sub != "numpy.memmap") a.subclass = subclass;
  Dtype dt;
  DtypeReading r{dtypes, kNoNode, {}, {}};
  if (std::string why = read_dtype(g, dtype, dt, r); !why.empty()) return why;
  a.object = (dt.flags & kHasObject) != 0;
  if (a.object) return {};  // pickled: the layout does not matter
  // Not hasobject, yet object pointers in the layout: numpy would make them
  // from the file's bytes (np.frombuffer checks the flags only).
  if (dt.objects) return "the dtype holds objects but its flags do not say so: numpy would read object pointers from the file";
  // joblib reads BUFFER_SIZE // itemsize items at a time: ZeroDivisionError.
  if (dt.itemsize == 0) return "an item size of 0 (joblib.load fails dividing by it)";
  a.data_bytes = static_cast<uint64_t>(dt.itemsize);
  if (g.kind(shape) != Kind::Tuple && g.kind(shape) != Kind::List) return "the shape is not a tuple";
  uint64_t count = 1;
  for (NodeId d : g.items(shape)) {
    if (g.kind(d) != Kind::Int || !g.int_fits64(d) || g.as_int(d) < 0) return "a dimension that is not an int >= 0";
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(g.as_int(d)), &count))
      return "the array's element count overflows";
  }
  if (__builtin_mul_overflow(count, a.data_bytes, &a.data_bytes)) return "the array's size overflows";
  return {};
}

}  // namespace

std::string dtype_built(const Graph& g, NodeId obj, Dtypes& dtypes) {
  if (g.kind(obj) != Kind::Object) return {};
  const ObjectData& od = g.object_data(obj);
  if (g.kind(od.callable) != Kind::Global || dotted(g.global_data(od.callable)) != "numpy.dtype" ||
      g.kind(od.state) != Kind::Tuple || g.length(od.state) < 8 || g.kind(g.items(od.state)[0]) != Kind::Int ||
      !g.int_fits64(g.items(od.state)[0]) || g.as_int(g.items(od.state)[0]) != 2)
    return {};
  Dtype d;
  DtypeReading r{dtypes, obj, {}, {}};
  if (std::string why = read_dtype(g, obj, d, r); !why.empty()) return why;
  dtypes.v2[obj] = {od.state, d.flags};
  return {};
}

JoblibArray joblib_array(const Graph& g, NodeId obj, Dtypes& dtypes) {
  JoblibArray a;
  if (g.kind(obj) != Kind::Object) return a;
  bool made_empty = false;
  a.cls = class_of(g, obj, made_empty);
  const std::string_view last = std::string_view(a.cls).substr(a.cls.rfind('.') + 1);
  if (last == "NDArrayWrapper" || last == "ZNDArrayWrapper") {
    a.kind = JoblibArray::External;
    return a;
  }
  if (last != "NumpyArrayWrapper") return a;
  a.kind = JoblibArray::Array;
  if (!made_empty) {
    a.problem = "the wrapper is made by calling its class: its attributes come from the call";
    return a;
  }
  a.problem = read_wrapper(g, g.object_data(obj), dtypes, a);
  return a;
}

ZFile zfile_header(std::span<const uint8_t> d) {
  ZFile z;
  constexpr size_t kHeader = 2 + 19;  // len(_ZFILE_PREFIX) + _MAX_LEN (len(hex(2**64)))
  z.data_at = std::min(d.size(), kHeader);
  std::string_view f(reinterpret_cast<const char*>(d.data()) + 2, z.data_at - 2);
  // int(bytes, 16), read as the decoder reads int(): whitespace, a sign,
  // "0x", single underscores between digits.
  bool negative = false, ok = true;
  try {
    const pkl::detail::ParsedLong hex = pkl::detail::parse_py_long(f, 16, 0);
    negative = hex.negative;
    for (const char c : hex.digits) {
      const auto v = static_cast<uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      z.length = z.length > (UINT64_MAX >> 4) ? UINT64_MAX : (z.length << 4) | v;
    }
  } catch (const Error&) {
    ok = false;
  }
  if (!ok) {
    z.problem = "the length is not a hexadecimal number (int(x, 16) refuses it)";
  } else if (negative && z.length != 0) {
    z.problem = "a negative length (zlib.decompress refuses it)";
  } else if (z.data_at < d.size() && d[z.data_at] == ' ') {
    ++z.data_at;  // joblib <= 0.8.4 under Python 2 wrote one more space
  }
  return z;
}

}  // namespace pkl::scan::detail
