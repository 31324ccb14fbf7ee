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

// What joblib.load does after BUILD on `obj` (the object BUILD gave its state to).
JoblibArray joblib_array(const Graph& g, NodeId obj);

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
