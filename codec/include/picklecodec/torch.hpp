// PyTorch checkpoints without Python or libtorch: the file torch.save
// writes, read into its tree of values and tensors whose data is mapped
// from the file, not copied.
//
//   auto ckpt = pkl::torch::Checkpoint::open("model.pt");
//   for (const auto& [name, t] : ckpt.tensors())          // "0.weight", "1.bias", ...
//     std::cout << name << " " << t.dtype << " " << t.shape.size() << "\n";
//   std::vector<float> w = ckpt.tensors()[0].second.to_vector<float>();
//
// Both formats, told apart by content (not by name):
//  - the zip archive (torch >= 1.6): <name>/data.pkl, the pickle, whose
//    persistent ids ('storage', storage_type, key, location, numel) name the
//    members <name>/data/<key> that hold each storage's bytes; <name>/version
//    and, from torch 2.0, <name>/byteorder. The archive is read by libzip;
//    a stored (uncompressed) member, which is what torch writes, is used in
//    place in the mapped file, a compressed one is inflated into memory;
//  - the legacy format (torch.save(..., _use_new_zipfile_serialization=False)):
//    pickles of the magic number, the protocol version and the system info,
//    the data pickle (persistent ids ('storage', type, key, location, numel,
//    view_metadata)), the list of storage keys, then each storage as an
//    int64 count of elements and its bytes.
// The pickle is read by this codec with the caller's DecodeOptions (its
// Limits; nothing runs); its persistent ids become PersId nodes that the
// reader resolves to storages. A tensor is a call of
// torch._utils._rebuild_tensor_v2 (or _rebuild_tensor, _rebuild_parameter,
// _rebuild_parameter_with_state) on a storage; its shape, strides and
// storage offset are checked against the storage, so every element it names
// lies inside the file; a tensor's elements (more than its storage holds
// when a stride is 0) count against Limits::max_total_bytes, which bounds
// what to_vector() makes. Storages of every dtype torch's typed storages name
// (float32/64/16, bfloat16, int8..64, uint8, bool, complex64/128);
// quantized and sparse tensors stay plain objects of the tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/typed.hpp"  // pkl::Value, for the rest of the tree
#include "picklecodec/value.hpp"

namespace pkl::torch {

struct Storage {
  std::string key;           // the archive's name for it ("0", "1", ...)
  std::string dtype;         // "float32", "int64", "bfloat16", ...
  uint32_t element_size = 0;
  uint64_t numel = 0;        // elements
  std::string location;      // "cpu", "cuda:0"
  std::span<const std::byte> data;  // numel * element_size bytes, in the archive's byte order
  bool big_endian = false;          // the archive's byteorder record says "big"
  bool is_complex = false;          // complex64 / complex128: two numbers an element
};

struct Tensor {
  std::shared_ptr<const Storage> storage;  // shared by the tensors that view it
  std::string dtype;
  uint32_t element_size = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements, as torch counts them
  int64_t storage_offset = 0;    // in elements
  bool requires_grad = false;
  bool is_parameter = false;     // an nn.Parameter

  uint64_t numel() const noexcept;
  // The elements lie in C order one after the other (torch's is_contiguous()).
  bool is_contiguous() const noexcept;
  // Contiguous tensors: the bytes of the elements, in the mapped file.
  std::span<const std::byte> bytes() const;
  // Contiguous tensors in this machine's byte order: the elements as T
  // (sizeof(T) == element_size), no copy.
  template <class T>
  std::span<const T> as() const {
    check(sizeof(T), alignof(T), true);
    const auto b = bytes();
    return {reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T)};
  }
  // Any tensor: its elements as T in C order (a copy; strided views gathered;
  // a big-endian archive's numbers swapped to this machine's order).
  template <class T>
  std::vector<T> to_vector() const {
    check(sizeof(T), alignof(T), false);
    std::vector<T> out(numel());
    gather(out.data());
    return out;
  }

 private:
  void check(size_t size, size_t align, bool view) const;
  void gather(void* out) const;
};

class Checkpoint {
 public:
  // A torch.save file: mapped, never read whole. pkl::Error (ValueError) when
  // it is neither format; the decoder's errors for a bad pickle.
  static Checkpoint open(const std::string& path, const DecodeOptions& options = {});
  // The same from bytes in memory the caller keeps alive and unchanged.
  static Checkpoint from_memory(std::span<const uint8_t> data, const DecodeOptions& options = {});
  // True when the bytes start as a torch.save file does (a zip archive, or
  // the legacy format's magic number).
  static bool looks_like_checkpoint(std::span<const uint8_t> head) noexcept;

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  const Graph& graph() const noexcept;
  NodeId root() const noexcept;
  bool is_zip() const noexcept;
  // The archive's version record ("3"), the legacy format's protocol ("1001").
  const std::string& version() const noexcept;
  // "little" or "big" (the zip's byteorder record; torch < 2.0: little).
  const std::string& byteorder() const noexcept;
  const std::map<std::string, std::shared_ptr<const Storage>>& storages() const noexcept;

  // The tensor node n stands for, or nullopt when it is not one.
  std::optional<Tensor> tensor(NodeId n) const;
  // Every tensor of the tree by its path of names joined by '.' (dict keys,
  // list indexes), in order: a state dict's own names.
  std::vector<std::pair<std::string, Tensor>> tensors() const;
  // The tree, one line per entry, tensors summarized ("float32 [2, 3]").
  void show(std::ostream& out) const;

 private:
  struct Impl;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkl::torch
