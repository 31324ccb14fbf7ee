// joblib's arrays (joblib/numpy_pickle.py): joblib.dump pickles each numpy
// array as a NumpyArrayWrapper (class, shape, order, dtype) and writes the
// array right after the wrapper's BUILD, in the same file: for an object
// dtype a nested pickle (pickle.dump, protocol 2), else an optional
// alignment (one byte n, then n padding bytes) and count * itemsize bytes.
// joblib.load's unpickler reads that data when BUILD makes a wrapper, then
// goes on with the outer pickle. Internal header of pkl::scan.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

#include "picklecodec/value.hpp"

namespace pkl::scan::detail {

struct JoblibArray {
  enum Kind : uint8_t {
    None,      // not one of joblib's wrappers
    Array,     // NumpyArrayWrapper: its data follows the BUILD
    External,  // NDArrayWrapper / ZNDArrayWrapper (joblib < 0.10): the data is another file
  } kind = None;
  std::string cls;          // the wrapper's dotted class name
  std::string problem;      // not empty: what joblib reads cannot be told (fail closed)
  bool object = false;      // dtype.hasobject: a pickle follows
  bool padded = false;      // numpy_array_alignment_bytes is set: a length byte and padding precede the data
  uint64_t data_bytes = 0;  // count * itemsize (not object)
  NodeId subclass = kNoNode;  // the array's class when it is not numpy.ndarray or numpy.memmap (joblib makes one)
};

// The dtypes of one joblib stream. numpy fixes a version 2 dtype state's
// flags when BUILD sets it, from the fields as they are then (the pickle can
// change the fields dict, which the dtype shares, afterwards): `v2` holds
// what each such dtype got, dtype node -> (its state node, flags). `work`:
// the dtypes and fields the scan reads in this stream at most (each
// wrapper reads its dtype whole; fail closed beyond).
struct Dtypes {
  std::unordered_map<NodeId, std::pair<NodeId, int>> v2;
  uint64_t work = 1'000'000;
};

// At each BUILD of a joblib stream: when `obj` is a numpy.dtype given a
// version 2 state, records its flags. Not empty: what numpy does there
// cannot be followed (it would rewrite the flags of a field's dtype, or the
// state is one the scan does not read): fail closed.
std::string dtype_built(const Graph& g, NodeId obj, Dtypes& dtypes);

// What joblib.load does after BUILD on `obj` (the object BUILD gave its state to).
JoblibArray joblib_array(const Graph& g, NodeId obj, Dtypes& dtypes);

// joblib < 0.10's single-file format, which joblib.load still reads
// (numpy_pickle_compat.py, read_zfile): "ZF", then 19 bytes that
// int(field, 16) reads as the pickle's length, one optional space, then a
// zlib stream of the pickle.
struct ZFile {
  std::string problem;  // not empty: joblib.load fails on the header
  uint64_t length = 0;  // the stated length (UINT64_MAX when larger)
  size_t data_at = 0;   // where the zlib stream begins
};
ZFile zfile_header(std::span<const uint8_t> d);

}  // namespace pkl::scan::detail
