// PyTorch checkpoints (torch.hpp): the file mapped, the zip archive read by
// libzip, the legacy stream read pickle by pickle, tensors resolved against
// their storages.
#include "picklecodec/torch.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "picklecodec/repr.hpp"
#include "picklecodec/show.hpp"
#include "picklecodec/typed.hpp"

namespace pkl::torch {

namespace {

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

// The file, mapped read-only (or the caller's memory).
struct Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool owned = false;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (owned && data) munmap(const_cast<uint8_t*>(data), size);
  }
  static std::shared_ptr<Mapping> map_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(ErrorCode::Io, "cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      fail(ErrorCode::Io, "cannot stat " + path + ": " + std::strerror(e));
    }
    auto m = std::make_shared<Mapping>();
    m->size = static_cast<size_t>(st.st_size);
    if (m->size > 0) {
      void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        fail(ErrorCode::Io, "cannot map " + path + ": " + std::strerror(e));
      }
      m->data = static_cast<const uint8_t*>(p);
      m->owned = true;
    }
    ::close(fd);
    return m;
  }
};

struct DTypeInfo {
  const char* storage;  // torch.<storage> global
  const char* dtype;
  uint32_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {"FloatStorage", "float32", 4},         {"DoubleStorage", "float64", 8},
    {"HalfStorage", "float16", 2},          {"BFloat16Storage", "bfloat16", 2},
    {"LongStorage", "int64", 8},            {"IntStorage", "int32", 4},
    {"ShortStorage", "int16", 2},           {"CharStorage", "int8", 1},
    {"ByteStorage", "uint8", 1},            {"BoolStorage", "bool", 1},
    {"ComplexFloatStorage", "complex64", 8}, {"ComplexDoubleStorage", "complex128", 16},
};

const DTypeInfo* dtype_of_storage(const Graph& g, NodeId type) {
  if (g.kind(type) != Kind::Global) return nullptr;
  const GlobalData& gd = g.global_data(type);
  if (gd.module != "torch") return nullptr;
  for (const auto& d : kDTypes)
    if (gd.qualname == d.storage) return &d;
  return nullptr;
}

// A storage as the pickle names it: ('storage', type, key, location, numel[, view_metadata]).
struct StorageRef {
  std::string key;
  const DTypeInfo* dtype = nullptr;
  std::string location;
  uint64_t numel = 0;
  NodeId view_metadata = kNoNode;
};

StorageRef parse_pid(const Graph& g, NodeId pid) {
  if (g.kind(pid) != Kind::Tuple) fail(ErrorCode::ValueError, "a persistent id that is not a tuple");
  const auto it = g.items(pid);
  if (it.size() < 5 || g.kind(it[0]) != Kind::Str || g.as_str(it[0]) != "storage")
    fail(ErrorCode::ValueError, "a persistent id that is not ('storage', type, key, location, numel)");
  StorageRef r;
  r.dtype = dtype_of_storage(g, it[1]);
  if (!r.dtype) fail(ErrorCode::ValueError, "a storage of an unknown type " + detail::python_type_name(g, it[1]));
  if (g.kind(it[2]) != Kind::Str || g.kind(it[3]) != Kind::Str)
    fail(ErrorCode::ValueError, "a storage key or location that is not a str");
  r.key = g.as_str(it[2]);
  r.location = g.as_str(it[3]);
  if (g.kind(it[4]) != Kind::Int || !g.int_fits64(it[4]) || g.as_int(it[4]) < 0)
    fail(ErrorCode::ValueError, "a storage size that is not a count");
  r.numel = static_cast<uint64_t>(g.as_int(it[4]));
  if (it.size() >= 6 && g.kind(it[5]) != Kind::None) r.view_metadata = it[5];
  return r;
}

// libzip over the mapped bytes, through a source that notes where it reads:
// libzip finds a member's data (after its local header) and reads it, and
// the first read's offset is where a stored member lies in the file.
struct ZipSource {
  const uint8_t* data;
  uint64_t size;
  uint64_t pos = 0;
  bool capture = false;
  int64_t first_read = -1;
  zip_error_t error{};
};

zip_int64_t zip_callback(void* user, void* buf, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* s = static_cast<ZipSource*>(user);
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      s->pos = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      if (s->capture && s->first_read < 0) s->first_read = static_cast<int64_t>(s->pos);
      const uint64_t n = std::min<uint64_t>(len, s->size - std::min(s->pos, s->size));
      if (n) std::memcpy(buf, s->data + s->pos, n);
      s->pos += n;
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = static_cast<zip_stat_t*>(buf);
      zip_stat_init(st);
      st->size = s->size;
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&s->error, buf, len);
    case ZIP_SOURCE_SEEK: {
      const zip_int64_t p = zip_source_seek_compute_offset(s->pos, s->size, buf, len, &s->error);
      if (p < 0) return -1;
      s->pos = static_cast<uint64_t>(p);
      return 0;
    }
    case ZIP_SOURCE_TELL:
      return static_cast<zip_int64_t>(s->pos);
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
                                            ZIP_SOURCE_SUPPORTS, -1);
    default:
      zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

class Zip {
 public:
  Zip(const uint8_t* data, uint64_t size) : src_{data, size} {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* zs = zip_source_function_create(zip_callback, &src_, &err);
    if (!zs) fail(ErrorCode::ValueError, "libzip: " + std::string(zip_error_strerror(&err)));
    za_ = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za_) {
      zip_source_free(zs);
      const std::string msg = zip_error_strerror(&err);
      zip_error_fini(&err);
      fail(ErrorCode::ValueError, "not a readable zip archive: " + msg);
    }
    zip_error_fini(&err);
  }
  ~Zip() {
    if (za_) zip_discard(za_);
  }
  Zip(const Zip&) = delete;
  Zip& operator=(const Zip&) = delete;

  int64_t entries() const { return zip_get_num_entries(za_, 0); }
  std::string name(int64_t i) const {
    const char* n = zip_get_name(za_, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    return n ? n : "";
  }
  int64_t find(const std::string& name) const { return zip_name_locate(za_, name.c_str(), ZIP_FL_ENC_RAW); }
  zip_stat_t stat(int64_t i) const {
    zip_stat_t st;
    if (zip_stat_index(za_, static_cast<zip_uint64_t>(i), 0, &st) != 0) fail(ErrorCode::ValueError, "libzip: " + error());
    return st;
  }
  // The whole member, inflated (and its CRC checked by libzip), within `max` bytes.
  std::string read(int64_t i, uint64_t max) const {
    const zip_stat_t st = stat(i);
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > max)
      fail(ErrorCode::ResourceLimit, "zip member " + name(i) + " is larger than the input budget");
    std::string out(st.size, '\0');
    zip_file_t* f = zip_fopen_index(za_, static_cast<zip_uint64_t>(i), 0);
    if (!f) fail(ErrorCode::ValueError, "libzip: " + error());
    const zip_int64_t n = out.empty() ? 0 : zip_fread(f, out.data(), out.size());
    char extra;
    const zip_int64_t more = zip_fread(f, &extra, 1);
    zip_fclose(f);
    if (n != static_cast<zip_int64_t>(out.size()) || more != 0)
      fail(ErrorCode::ValueError, "zip member " + name(i) + " could not be read");
    return out;
  }
  // Where a stored (uncompressed, unencrypted) member's bytes lie in the
  // archive, or -1 when it is compressed.
  int64_t stored_offset(int64_t i) {
    const zip_stat_t st = stat(i);
    if (st.comp_method != ZIP_CM_STORE || ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE))
      return -1;
    if (st.size == 0) return 0;
    zip_file_t* f = zip_fopen_index(za_, static_cast<zip_uint64_t>(i), 0);
    if (!f) fail(ErrorCode::ValueError, "libzip: " + error());
    src_.capture = true;
    src_.first_read = -1;
    unsigned char first = 0;
    const zip_int64_t n = zip_fread(f, &first, 1);
    src_.capture = false;
    zip_fclose(f);
    const int64_t off = src_.first_read;
    if (n != 1 || off < 0 || static_cast<uint64_t>(off) > src_.size || st.size > src_.size - static_cast<uint64_t>(off) ||
        src_.data[off] != first)
      fail(ErrorCode::ValueError, "zip member " + name(i) + " lies outside the archive");
    return off;
  }

 private:
  std::string error() const { return zip_strerror(za_); }
  ZipSource src_;
  zip_t* za_ = nullptr;
};

bool is_global(const Graph& g, NodeId n, std::string_view module, std::string_view qualname) {
  if (n == kNoNode || g.kind(n) != Kind::Global) return false;
  const GlobalData& d = g.global_data(n);
  return d.module == module && d.qualname == qualname;
}

std::vector<int64_t> int_tuple(const Graph& g, NodeId n, const char* what) {
  if (g.kind(n) != Kind::Tuple) fail(ErrorCode::ValueError, std::string("a tensor's ") + what + " is not a tuple");
  std::vector<int64_t> out;
  for (NodeId d : g.items(n)) {
    if (g.kind(d) != Kind::Int || !g.int_fits64(d) || g.as_int(d) < 0)
      fail(ErrorCode::ValueError, std::string("a tensor's ") + what + " holds a value that is not a count");
    out.push_back(g.as_int(d));
  }
  return out;
}

// torch.serialization.MAGIC_NUMBER, 0x1950a86a20f9469cfc6c, in decimal
constexpr const char* kLegacyMagic = "119547037146038801333356";

}  // namespace

// ---- Tensor -------------------------------------------------------------------

uint64_t Tensor::numel() const noexcept {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

bool Tensor::is_contiguous() const noexcept {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return numel() == 0;
    expected *= shape[i];
  }
  return true;
}

std::span<const std::byte> Tensor::bytes() const {
  if (!is_contiguous()) fail(ErrorCode::TypeError, "the tensor is not contiguous: use to_vector()");
  return storage->data.subspan(static_cast<size_t>(storage_offset) * element_size, numel() * element_size);
}

void Tensor::check(size_t size, size_t align, bool view) const {
  if (size != element_size)
    fail(ErrorCode::TypeError, "the tensor holds " + dtype + " (" + std::to_string(element_size) +
                                   "-byte elements), not " + std::to_string(size) + "-byte ones");
  if (view) {
    if (storage->big_endian != (std::endian::native == std::endian::big) && element_size > 1)
      fail(ErrorCode::TypeError, "the tensor's numbers are not in this machine's byte order: use to_vector()");
    const auto b = bytes();
    if (reinterpret_cast<uintptr_t>(b.data()) % align != 0)
      fail(ErrorCode::TypeError, "the tensor's data is not aligned to " + std::to_string(align) + " bytes: use to_vector()");
  }
}

void Tensor::gather(void* out) const {
  const uint64_t n = numel();
  if (n == 0) return;
  auto* dst = static_cast<std::byte*>(out);
  const std::byte* base = storage->data.data();
  std::vector<int64_t> idx(shape.size(), 0);
  for (uint64_t k = 0; k < n; ++k) {
    int64_t off = storage_offset;
    for (size_t d = 0; d < shape.size(); ++d) off += idx[d] * strides[d];
    std::memcpy(dst + k * element_size, base + static_cast<size_t>(off) * element_size, element_size);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  // numbers of the other byte order: each reversed (a complex element's two halves apart)
  const size_t width = storage->is_complex ? element_size / 2 : element_size;
  if (storage->big_endian != (std::endian::native == std::endian::big) && width > 1)
    for (size_t i = 0; i + width <= n * element_size; i += width) std::reverse(dst + i, dst + i + width);
}

// ---- Checkpoint -----------------------------------------------------------------

struct Checkpoint::Impl {
  std::shared_ptr<Mapping> mapping;
  std::vector<std::shared_ptr<std::string>> inflated;  // compressed members, read into memory
  Graph graph;
  bool zip = false;
  std::string version;
  std::string byteorder = "little";
  std::map<std::string, std::shared_ptr<const Storage>> storages;
  std::unordered_map<std::string, StorageRef> refs;  // key -> as the pickle names it
  uint64_t max_tensor_bytes = UINT64_MAX;            // Limits::max_total_bytes of the options

  DecodeOptions options_with_hook(const DecodeOptions& base) {
    DecodeOptions o = base;
    o.persistent_load = [this](Graph& g, NodeId pid) {
      StorageRef r = parse_pid(g, pid);
      auto [it, fresh] = refs.emplace(r.key, r);
      if (!fresh && (it->second.dtype != r.dtype || it->second.numel != r.numel))
        fail(ErrorCode::ValueError, "storage " + r.key + " is named with two types or sizes");
      return g.persid(pid);
    };
    return o;
  }

  void add_storage(const StorageRef& r, std::span<const std::byte> data) {
    auto s = std::make_shared<Storage>();
    s->key = r.key;
    s->dtype = r.dtype->dtype;
    s->element_size = r.dtype->size;
    s->numel = r.numel;
    s->location = r.location;
    s->data = data;
    s->big_endian = byteorder == "big";
    s->is_complex = s->dtype.rfind("complex", 0) == 0;
    storages.emplace(r.key, std::move(s));
  }

  void read_zip(const DecodeOptions& base) {
    zip = true;
    Zip z(mapping->data, mapping->size);
    // The records are <archive name>/data.pkl and its siblings.
    std::string prefix;
    bool found = false;
    for (int64_t i = 0; i < z.entries(); ++i) {
      const std::string n = z.name(i);
      const size_t slash = n.find('/');
      if (slash != std::string::npos && n.compare(slash, std::string::npos, "/data.pkl") == 0) {
        prefix = n.substr(0, slash + 1);
        found = true;
        break;
      }
    }
    if (!found) fail(ErrorCode::ValueError, "a zip archive without a data.pkl: not a torch.save file");
    const uint64_t budget = base.limits.max_input_bytes;
    if (const int64_t v = z.find(prefix + "version"); v >= 0) version = z.read(v, 64);
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (const int64_t b = z.find(prefix + "byteorder"); b >= 0) byteorder = z.read(b, 64);
    if (byteorder != "little" && byteorder != "big") fail(ErrorCode::ValueError, "byteorder record " + repr_str(byteorder));
    const std::string pickle = z.read(z.find(prefix + "data.pkl"), budget);
    graph = decode(pickle, options_with_hook(base));
    for (const auto& [key, r] : refs) {
      const int64_t i = z.find(prefix + "data/" + key);
      if (i < 0) fail(ErrorCode::ValueError, "storage " + key + " has no member data/" + key);
      const zip_stat_t st = z.stat(i);
      const uint64_t need = r.numel * r.dtype->size;
      if (r.numel > std::numeric_limits<uint64_t>::max() / r.dtype->size || st.size != need)
        fail(ErrorCode::ValueError, "member data/" + key + " holds " + std::to_string(st.size) + " bytes, its storage " +
                                        std::to_string(r.numel) + " " + r.dtype->dtype + " elements");
      const int64_t off = z.stored_offset(i);
      std::span<const std::byte> data;
      if (off >= 0) {
        data = std::as_bytes(std::span<const uint8_t>(mapping->data + off, st.size));
      } else {
        auto buf = std::make_shared<std::string>(z.read(i, budget));
        data = std::as_bytes(std::span<const char>(buf->data(), buf->size()));
        inflated.push_back(std::move(buf));
      }
      add_storage(r, data);
    }
  }

  void read_legacy(const DecodeOptions& base) {
    const std::string_view all(reinterpret_cast<const char*>(mapping->data), mapping->size);
    MemorySource src(all);
    DecodeOptions plain = base;
    Decoder header(src, plain);
    auto magic = header.next();
    if (!magic || magic->kind(magic->root()) != Kind::Int || magic->int_decimal(magic->root()) != kLegacyMagic)
      fail(ErrorCode::ValueError, "neither a zip archive nor torch's legacy format");
    auto proto = header.next();
    if (!proto || proto->kind(proto->root()) != Kind::Int) fail(ErrorCode::ValueError, "no legacy protocol version");
    version = proto->int_decimal(proto->root());
    auto info = header.next();  // sys_info: {'little_endian': bool, ...}
    if (!info) fail(ErrorCode::Truncated, "the legacy header ends early");
    if (info->kind(info->root()) == Kind::Dict) {
      const Value le = Value(*info)["little_endian"];
      if (le.kind() == Kind::Bool && !le.get<bool>()) byteorder = "big";
    }
    const uint64_t data_pickle_at = header.offset();
    MemorySource rest(all.substr(data_pickle_at));
    Decoder body(rest, options_with_hook(base));
    auto g = body.next();
    if (!g) fail(ErrorCode::Truncated, "the legacy data pickle is missing");
    graph = std::move(*g);
    auto keys_graph = body.next();
    if (!keys_graph) fail(ErrorCode::Truncated, "the legacy storage keys are missing");
    const auto keys = from_graph<std::vector<std::string>>(*keys_graph);
    uint64_t at = data_pickle_at + body.offset();
    std::unordered_map<std::string, std::span<const std::byte>> raw;
    for (const std::string& key : keys) {
      auto it = refs.find(key);
      if (it == refs.end()) fail(ErrorCode::ValueError, "storage " + key + " is listed but never used");
      const StorageRef& r = it->second;
      if (mapping->size - std::min<uint64_t>(at, mapping->size) < 8) fail(ErrorCode::Truncated, "storage " + key + " is cut short");
      int64_t count = 0;
      std::memcpy(&count, mapping->data + at, 8);
      at += 8;
      const uint64_t es = r.dtype->size;
      if (count < 0 || static_cast<uint64_t>(count) > (mapping->size - at) / es)
        fail(ErrorCode::ValueError, "storage " + key + " claims more elements than the file holds");
      raw[key] = std::as_bytes(std::span<const uint8_t>(mapping->data + at, static_cast<size_t>(count) * es));
      at += static_cast<uint64_t>(count) * es;
    }
    for (const auto& [key, r] : refs) {
      std::string root_key = key;
      uint64_t first = 0;
      if (r.view_metadata != kNoNode) {  // an old storage view: (root key, offset, size)
        const auto vm = from_graph<std::tuple<std::string, uint64_t, uint64_t>>(graph, r.view_metadata);
        root_key = std::get<0>(vm);
        first = std::get<1>(vm);
      }
      auto it = raw.find(root_key);
      if (it == raw.end()) fail(ErrorCode::ValueError, "storage " + key + " has no data");
      const uint64_t es = r.dtype->size;
      if (first > it->second.size() / es || r.numel > it->second.size() / es - first)
        fail(ErrorCode::ValueError, "storage " + key + " holds " + std::to_string(it->second.size() / es) +
                                        " elements, not " + std::to_string(r.numel));
      add_storage(r, it->second.subspan(first * es, r.numel * es));
    }
  }

  // Reads the file: a zip archive by its signature, else the legacy format.
  void read(const DecodeOptions& options) {
    max_tensor_bytes = options.limits.max_total_bytes;
    const auto& m = *mapping;
    if (m.size >= 4 && m.data[0] == 'P' && m.data[1] == 'K' && m.data[2] == 3 && m.data[3] == 4)
      read_zip(options);
    else
      read_legacy(options);
  }

  std::optional<Tensor> tensor(NodeId n) const {
    const Graph& g = graph;
    if (g.kind(n) != Kind::Object) return std::nullopt;
    const ObjectData& od = g.object_data(n);
    if (od.args == kNoNode || g.kind(od.args) != Kind::Tuple) return std::nullopt;
    const auto args = g.items(od.args);
    const bool v2 = is_global(g, od.callable, "torch._utils", "_rebuild_tensor_v2");
    const bool v1 = is_global(g, od.callable, "torch._utils", "_rebuild_tensor");
    if (is_global(g, od.callable, "torch._utils", "_rebuild_parameter") ||
        is_global(g, od.callable, "torch._utils", "_rebuild_parameter_with_state")) {
      if (args.size() < 2) fail(ErrorCode::ValueError, "_rebuild_parameter without its tensor");
      auto t = tensor(args[0]);
      if (!t) return std::nullopt;
      t->is_parameter = true;
      t->requires_grad = g.kind(args[1]) == Kind::Bool && g.as_bool(args[1]);
      return t;
    }
    if (!v1 && !v2) return std::nullopt;
    if (args.size() < 4 || g.kind(args[0]) != Kind::PersId)
      fail(ErrorCode::ValueError, "a tensor rebuilt without (storage, offset, size, stride)");
    const StorageRef r = parse_pid(g, g.persid_value(args[0]));
    auto it = storages.find(r.key);
    if (it == storages.end()) fail(ErrorCode::ValueError, "storage " + r.key + " has no data");
    Tensor t;
    t.storage = it->second;
    t.dtype = t.storage->dtype;
    t.element_size = t.storage->element_size;
    if (g.kind(args[1]) != Kind::Int || !g.int_fits64(args[1]) || g.as_int(args[1]) < 0)
      fail(ErrorCode::ValueError, "a tensor's storage offset is not a count");
    t.storage_offset = g.as_int(args[1]);
    t.shape = int_tuple(g, args[2], "size");
    t.strides = int_tuple(g, args[3], "stride");
    if (t.shape.size() != t.strides.size()) fail(ErrorCode::ValueError, "a tensor's size and stride differ in length");
    if (v2 && args.size() >= 5 && g.kind(args[4]) == Kind::Bool) t.requires_grad = g.as_bool(args[4]);
    // Every element it names lies in its storage: offset + sum((size-1)*stride) < numel.
    uint64_t last = static_cast<uint64_t>(t.storage_offset);
    bool empty = false;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] == 0) empty = true;
      const uint64_t span = static_cast<uint64_t>(t.shape[d] ? t.shape[d] - 1 : 0);
      const uint64_t stride = static_cast<uint64_t>(t.strides[d]);
      if (stride && span > (std::numeric_limits<uint64_t>::max() - last) / stride)
        fail(ErrorCode::ValueError, "a tensor's extent overflows");
      last += span * stride;
    }
    // A tensor's elements may outnumber its storage's (stride 0, as expand()
    // makes): to_vector() would make them all, so they count against the budget.
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      if (d && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d) / t.element_size)
        fail(ErrorCode::ResourceLimit, "a tensor's size overflows");
      count *= static_cast<uint64_t>(d);
    }
    if (count * t.element_size > max_tensor_bytes)
      fail(ErrorCode::ResourceLimit,
           "a tensor of " + std::to_string(count) + " elements exceeds the budget (max_total_bytes)");
    if (!empty && last >= t.storage->numel)
      fail(ErrorCode::ValueError, "a tensor reaches element " + std::to_string(last) + " of storage " + r.key + ", which has " +
                                      std::to_string(t.storage->numel));
    return t;
  }

  // Containers of the tree, walked in order with their names: dicts,
  // OrderedDicts (an inert collections.OrderedDict with its items), lists and tuples.
  template <class F>
  void walk(F&& visit) const {
    const Graph& g = graph;
    struct Frame {
      NodeId n;
      std::string name;  // the path of keys joined by '.'
      std::string key;   // its own key
      int depth;
    };
    std::vector<Frame> stack{{graph.root(), "", "", 0}};
    std::unordered_set<NodeId> seen;
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      const auto t = tensor(f.n);
      std::vector<std::tuple<std::string, std::string, NodeId>> kids;  // path, key, node
      bool container = false;
      if (!t && seen.insert(f.n).second) {
        auto add = [&](const std::string& k, NodeId v) { kids.emplace_back(f.name.empty() ? k : f.name + "." + k, k, v); };
        auto key_text = [&](NodeId k) {
          if (g.kind(k) == Kind::Str) return std::string(g.as_str(k));
          if (g.kind(k) == Kind::Int) return g.int_decimal(k);
          return detail::key_segment(g, k);
        };
        switch (g.kind(f.n)) {
          case Kind::Dict:
            container = true;
            for (const auto& [k, v] : g.dict_items(f.n)) add(key_text(k), v);
            break;
          case Kind::List:
          case Kind::Tuple: {
            container = true;
            size_t i = 0;
            for (NodeId v : g.items(f.n)) add(std::to_string(i++), v);
            break;
          }
          case Kind::Object: {
            const ObjectData& od = g.object_data(f.n);
            if (is_global(g, od.callable, "collections", "OrderedDict")) {
              container = true;
              for (const auto& [k, v] : od.dictitems) add(key_text(k), v);
            }
            break;
          }
          default:
            break;
        }
      }
      visit(f.name, f.key, f.n, t, f.depth, container, kids.size());
      for (auto it = kids.rbegin(); it != kids.rend(); ++it)
        stack.push_back({std::get<2>(*it), std::get<0>(*it), std::get<1>(*it), f.depth + 1});
    }
  }
};

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

bool Checkpoint::looks_like_checkpoint(std::span<const uint8_t> head) noexcept {
  if (head.size() >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return true;
  // the legacy format's first pickle: PROTO 2, LONG1 of 10 bytes, the magic number
  static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return head.size() >= sizeof(magic) && std::equal(std::begin(magic), std::end(magic), head.begin());
}

Checkpoint Checkpoint::open(const std::string& path, const DecodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->mapping = Mapping::map_file(path);
  impl->read(options);
  return Checkpoint(std::move(impl));
}

Checkpoint Checkpoint::from_memory(std::span<const uint8_t> data, const DecodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->mapping = std::make_shared<Mapping>();
  impl->mapping->data = data.data();
  impl->mapping->size = data.size();
  impl->read(options);
  return Checkpoint(std::move(impl));
}

const Graph& Checkpoint::graph() const noexcept { return impl_->graph; }
NodeId Checkpoint::root() const noexcept { return impl_->graph.root(); }
bool Checkpoint::is_zip() const noexcept { return impl_->zip; }
const std::string& Checkpoint::version() const noexcept { return impl_->version; }
const std::string& Checkpoint::byteorder() const noexcept { return impl_->byteorder; }
const std::map<std::string, std::shared_ptr<const Storage>>& Checkpoint::storages() const noexcept {
  return impl_->storages;
}
std::optional<Tensor> Checkpoint::tensor(NodeId n) const { return impl_->tensor(n); }

std::vector<std::pair<std::string, Tensor>> Checkpoint::tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  impl_->walk([&](const std::string& name, const std::string&, NodeId, const std::optional<Tensor>& t, int, bool, size_t) {
    if (t) out.emplace_back(name, *t);
  });
  return out;
}

void Checkpoint::show(std::ostream& out) const {
  out << "torch checkpoint (" << (impl_->zip ? "zip" : "legacy") << " format, version " << impl_->version << ", "
      << impl_->byteorder << "-endian, " << impl_->storages.size() << " storages)\n";
  const Graph& g = impl_->graph;
  impl_->walk([&](const std::string&, const std::string& key, NodeId n, const std::optional<Tensor>& t, int depth,
                  bool container, size_t items) {
    out << std::string(static_cast<size_t>(depth) * 2, ' ');
    if (depth > 0) out << key << ": ";
    if (t) {
      out << (t->is_parameter ? "Parameter " : "") << t->dtype << " [";
      for (size_t i = 0; i < t->shape.size(); ++i) out << (i ? ", " : "") << t->shape[i];
      out << "]";
      if (!t->is_contiguous()) out << " (strided)";
      out << " storage " << t->storage->key;
      if (t->storage_offset) out << "+" << t->storage_offset;
      out << "\n";
    } else if (container) {
      out << detail::python_type_name(g, n) << " (" << items << (items == 1 ? " item" : " items") << ")\n";
    } else {
      std::ostringstream s;
      ShowOptions o;
      o.width = 1 << 20;
      pkl::show(g, n, s, o);
      std::string text = s.str();
      if (text.size() > 120) text = text.substr(0, 117) + "...";
      out << text << "\n";
    }
  });
}

}  // namespace pkl::torch
