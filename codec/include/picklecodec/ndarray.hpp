// numpy arrays without numpy: a view of the inert object a numpy array's
// pickle decodes to, and the pickle numpy writes for a C++ buffer.
//
//   pkl::Graph g = pkl::decode(bytes);               // pickle.dumps(np.arange(3.0))
//   pkl::ndarray a = pkl::as_ndarray(g, g.root());
//   a.dtype.str();                                   // "<f8"
//   std::span<const double> v = a.as<double>();      // the decoded bytes, no copy
//
//   std::vector<float> buf{1, 2, 3, 4, 5, 6};
//   pkl::ndarray w = pkl::ndarray::of<float>(buf, {2, 3});
//   std::string p = pkl::dump(w);                    // what pickle.dumps(np.array(...)) writes
//
// Read: numpy's two spellings of an array, numpy.core.multiarray._reconstruct
// (cls, (0,), b'b') with BUILD (1, shape, dtype, is_fortran, data) at every
// protocol, and numpy.core.numeric._frombuffer(buffer, dtype, shape, order)
// at protocol 5 (the buffer in-band, or out of band: DecodeOptions::buffers);
// numpy 2's numpy._core spellings too. dtypes: bool, signed and unsigned
// integers, floats (f2..f16), complex, datetime64 / timedelta64 with their
// unit, fixed-width bytes (S) and unicode (U, UCS-4), void (V), and
// structured dtypes (fields with their dtypes and offsets) and subarrays
// described; object arrays (dtype O) hold Python objects, not a buffer, and
// are refused. The data is a span over the bytes the graph holds (it lives
// as long as the graph; from pkl::load, as long as the ndarray), C or
// Fortran order as the pickle says, with the strides that order gives, in
// the byte order the pickle holds (numpy itself makes a big-endian array
// native when it loads one below protocol 5: the same values).
//
// Write: numpy's own bytes for the same array (numpy 1.x's module names):
// _reconstruct below protocol 5, _frombuffer with an in-band bytearray at 5.
#pragma once

#include <bit>
#include <complex>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "picklecodec/typed.hpp"

namespace pkl {

struct DType {
  char kind = 0;         // numpy's dtype.kind: b i u f c M m S U V
  char byteorder = '|';  // '<' little-endian, '>' big-endian, '|' not applicable
  uint64_t itemsize = 0; // bytes per item
  // datetime64 / timedelta64: the unit ("D", "ms", "generic") and its count (5 in m8[5ms])
  std::string unit;
  int64_t unit_count = 1;
  // A structured dtype's fields, in order (numpy's dtype.names and .fields).
  struct Field;
  std::vector<Field> fields;
  // A subarray dtype (numpy's dtype.subdtype): the item's dtype and shape.
  std::shared_ptr<DType> subarray_base;
  std::vector<int64_t> subarray_shape;
  int64_t alignment = -1;  // as pickled (numpy's state; -1: the type's own)
  int64_t flags = 0;       // numpy's dtype.flags as pickled

  // numpy's dtype.str: "<f8", "|b1", "|S3", "<U2", "<M8[D]", "|V7".
  std::string str() const;
  // True when the items are in this machine's byte order (or it does not apply).
  bool native() const;
};
struct DType::Field {
  std::string name;
  std::shared_ptr<DType> type;
  uint64_t offset = 0;
};

// The dtype of a node that is a pickled numpy.dtype (TypeError otherwise).
DType as_dtype(const Graph& g, NodeId n);

class ndarray {
 public:
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in bytes, from the shape and the order
  bool fortran_order = false;
  bool writeable = true;         // numpy's flags.writeable (what _frombuffer's buffer was)
  std::span<const std::byte> data;
  // Keeps `data` alive when the ndarray is not a view of a graph the caller holds.
  std::shared_ptr<const void> owner;
  // The array's class when not numpy.ndarray (e.g. numpy.matrix): module.qualname.
  std::string subclass;

  // Number of items (the product of the shape; 1 for a 0-d array).
  uint64_t size() const noexcept;

  // The items as T, without a copy: T must be the dtype's type (bool: b1;
  // intN_t: iN; uintN_t: uN; float: f4; double: f8; std::complex<float>: c8;
  // std::complex<double>: c16; int64_t for M8 and m8), in native byte
  // order, the data aligned for T. A pkl::Error (TypeError) otherwise, which
  // says why; to_vector() copies, swapping bytes as needed.
  template <class T>
  std::span<const T> as() const {
    check<T>(true);
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
  // The items as T in the pickle's (C or Fortran) order, byte-swapped to
  // native order when needed. The same type rules as as().
  template <class T>
  std::vector<T> to_vector() const {
    check<T>(false);
    std::vector<T> out(data.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), data.data(), out.size() * sizeof(T));
    if (!dtype.native())
      swap_items(reinterpret_cast<std::byte*>(out.data()), out.size() * sizeof(T),
                 dtype.kind == 'c' ? sizeof(T) / 2 : sizeof(T));
    return out;
  }

  // An array over `items` (not copied: keep them alive while it is used),
  // with the dtype of T and this shape (default: one dimension).
  template <class T>
  static ndarray of(std::span<const T> items, std::vector<int64_t> shape = {}, bool fortran = false) {
    ndarray a;
    a.dtype = dtype_of<T>();
    a.shape = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(items.size())} : std::move(shape);
    a.fortran_order = fortran;
    a.data = std::as_bytes(items);
    a.finish();
    return a;
  }
  template <class T>
  static ndarray of(const std::vector<T>& items, std::vector<int64_t> shape = {}, bool fortran = false) {
    return of(std::span<const T>(items), std::move(shape), fortran);
  }

  // The dtype numpy gives T (native byte order).
  template <class T>
  static DType dtype_of();

  // Sets the strides from the shape, itemsize and order; checks that the
  // data holds size() items (ValueError otherwise).
  void finish();

 private:
  template <class T>
  void check(bool view) const {
    DType want = dtype_of<T>();
    bool ok = dtype.kind == want.kind && dtype.itemsize == want.itemsize;
    if constexpr (std::is_same_v<T, int64_t>) ok = ok || ((dtype.kind == 'M' || dtype.kind == 'm') && dtype.itemsize == 8);
    if (!ok) type_error(want.str());
    if (view && !dtype.native()) type_error_order();
    if (view && reinterpret_cast<uintptr_t>(data.data()) % alignof(T) != 0) type_error_alignment(alignof(T));
  }
  [[noreturn]] void type_error(const std::string& want) const;
  [[noreturn]] void type_error_order() const;
  [[noreturn]] void type_error_alignment(size_t align) const;
  // Reverses each `width`-byte number of `bytes` bytes.
  static void swap_items(std::byte* p, size_t bytes, size_t width) noexcept;
};

template <class T>
DType ndarray::dtype_of() {
  DType d;
  d.itemsize = sizeof(T);
  d.byteorder = sizeof(T) == 1 ? '|' : (std::endian::native == std::endian::little ? '<' : '>');
  if constexpr (std::is_same_v<T, bool>) {
    d.kind = 'b';
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    d.kind = 'i';
  } else if constexpr (std::is_integral_v<T>) {
    d.kind = 'u';
  } else if constexpr (std::is_floating_point_v<T>) {
    d.kind = 'f';
  } else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    d.kind = 'c';
  } else {
    static_assert(detail::always_false<T>, "ndarray: no numpy dtype for this type");
  }
  return d;
}

// The array a node holds (TypeError when it is not a numpy array).
ndarray as_ndarray(const Graph& g, NodeId n);

// The graph numpy's pickler makes of the array at d.protocol() (as
// ndarray.__reduce_ex__): its node. Structured, subarray and void dtypes
// are not written (ValueError).
NodeId ndarray_node(Dumper& d, const ndarray& a);

template <>
struct convert<ndarray> {
  static NodeId dump(Dumper& d, const ndarray& a) {
    try {
      return ndarray_node(d, a);
    } catch (const Error& e) {
      d.fail(e.code(), e.message());
    }
  }
  static void load(Loader& l, NodeId n, ndarray& out) {
    try {
      out = as_ndarray(l.graph(), n);
    } catch (const Error& e) {
      l.fail(e.code(), e.message());
    }
    out.owner = l.owner();
  }
};

}  // namespace pkl
