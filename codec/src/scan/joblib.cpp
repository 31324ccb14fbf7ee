// joblib's arrays: what joblib.load reads after a wrapper's BUILD (scan/joblib.hpp),
// told from the wrapper's state as joblib/numpy_pickle.py's NumpyArrayWrapper.read_array does.
#include "scan/joblib.hpp"

#include <string_view>

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

// numpy.dtype(code, align, copy) with BUILD's state (version, byteorder,
// subarray, names, fields, elsize, alignment, flags[, metadata]), as
// np.dtype.__reduce__ writes it and numpy 1.24's __setstate__ reads it: the
// flags decide hasobject (bit 0, whatever the code says); a flexible type
// (S, U, V: structured and subarray dtypes too) takes its size from elsize,
// the others from their code.
std::string read_dtype(const Graph& g, NodeId dt, JoblibArray& a) {
  if (g.kind(dt) != Kind::Object) return "the dtype is not a numpy.dtype the pickle made";
  const ObjectData& od = g.object_data(dt);
  if (g.kind(od.callable) != Kind::Global || dotted(g.global_data(od.callable)) != "numpy.dtype")
    return "the dtype is not made by numpy.dtype";
  if (g.kind(od.args) != Kind::Tuple || g.length(od.args) == 0 || g.kind(g.items(od.args)[0]) != Kind::Str)
    return "numpy.dtype is called without a type code";
  const std::string_view code = g.as_str(g.items(od.args)[0]);
  if (code.size() < 2 || code.size() > 6 || std::string_view("biufcMmOSUV").find(code[0]) == std::string_view::npos)
    return "the dtype code '" + std::string(code) + "' is not read by the scanner";
  uint64_t digits = 0;
  for (char c : code.substr(1)) {
    if (c < '0' || c > '9') return "the dtype code '" + std::string(code) + "' is not read by the scanner";
    digits = digits * 10 + static_cast<uint64_t>(c - '0');
  }
  const char kind = code[0];
  const bool flexible = kind == 'S' || kind == 'U' || kind == 'V';
  if (od.state == kNoNode) {
    a.object = kind == 'O';
    a.data_bytes = kind == 'U' ? digits * 4 : digits;  // the itemsize, times the count by the caller
    return {};
  }
  if (g.kind(od.state) != Kind::Tuple || g.length(od.state) < 8) return "a dtype state that is not numpy's";
  const auto s = g.items(od.state);
  if (g.kind(s[5]) != Kind::Int || g.kind(s[7]) != Kind::Int || !g.int_fits64(s[5]) || !g.int_fits64(s[7]))
    return "a dtype state that is not numpy's";
  const int64_t elsize = g.as_int(s[5]);
  a.object = (g.as_int(s[7]) & 1) != 0;
  if (flexible && elsize < 0) return "a flexible dtype without a size";
  a.data_bytes = flexible ? static_cast<uint64_t>(elsize) : digits;
  return {};
}

std::string read_wrapper(const Graph& g, const ObjectData& od, JoblibArray& a) {
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
  if (std::string why = read_dtype(g, dtype, a); !why.empty()) return why;
  if (a.object) return {};
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

JoblibArray joblib_array(const Graph& g, NodeId obj) {
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
  a.problem = read_wrapper(g, g.object_data(obj), a);
  return a;
}

}  // namespace pkl::scan::detail
