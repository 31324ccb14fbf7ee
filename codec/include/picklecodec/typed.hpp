// Typed load and dump: C++ values to pickles and back, without walking
// NodeIds by hand.
//
//   std::string bytes = pkl::dump(std::map<std::string, int>{{"a", 1}});
//   auto m = pkl::load<std::map<std::string, int>>(bytes);
//
// Both go through the value graph (value.hpp): dump() builds a graph and
// writes it with the one encoder (encode.hpp), so a standard value's bytes
// are CPython's pickle.dumps of the equivalent Python value at every
// protocol; load() decodes with the decoder's budget (DecodeOptions) and
// converts the graph. A mismatch is a pkl::Error (TypeError for a wrong
// type, ValueError for a value out of range or a wrong length) whose message
// names the path inside the value: "[3]['b']: expected int, got str".
//
// The standard conversions (docs/cpp-api.md has the table):
//   C++                               Python (dump)   load also accepts
//   bool                              bool
//   integers (range checked on load)  int
//   float, double                     float           int (exact below 2^53)
//   std::string (UTF-8)               str
//   pkl::bytes                        bytes           bytearray
//   std::vector, std::deque,
//   std::list, std::array<T, N>       list            tuple (array: length N)
//   std::pair, std::tuple             tuple           list of the same length
//   std::map, std::unordered_map      dict
//   std::set, std::unordered_set      set             frozenset
//   std::optional<T>                  None or T
//   std::variant<Ts...>               the held T      the first T that converts
//   std::shared_ptr<T>, unique_ptr    None or T; shared_ptrs to one object are one
//                                     object (a memo reference), and one object
//                                     loads as one shared_ptr
//   enums                             int (the underlying value)
//   pkl::Value                        any             any (a view into the graph)
//
// Your own types: specialize pkl::convert<T> (static dump / load members as
// below), define to_pickle / from_pickle next to the type (found by ADL), or
// bind a Python class with PKL_CLASS (binding.hpp).
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/value.hpp"

namespace pkl {

// A Python bytes value (std::string is a Python str: UTF-8 text).
struct bytes {
  std::string data;
  bytes() = default;
  explicit bytes(std::string d) : data(std::move(d)) {}
  explicit bytes(std::string_view d) : data(d) {}
  explicit bytes(const char* d) : data(d) {}
  friend bool operator==(const bytes&, const bytes&) = default;
  friend auto operator<=>(const bytes&, const bytes&) = default;
};

template <class T>
struct convert;  // the customization point: static NodeId dump(Dumper&, const T&);
                 //                           static void load(Loader&, NodeId, T&);

class Dumper;
class Loader;

namespace detail {

// A conversion failure on its way out: the path is collected while the
// stack unwinds (innermost segment first) and joined at the entry point.
struct TypedError {
  ErrorCode code;
  std::string message;
  std::vector<std::string> path;  // innermost first
};

// "[3]['b']" from segments innermost first.
std::string join_path(const std::vector<std::string>& innermost_first);
// A path segment for a dict key: "['b']", "[3]", "[None]".
std::string key_segment(const Graph& g, NodeId key);
// Python's name for a node's type as an error names it: "int", "list", or a
// class's qualname for an object.
std::string python_type_name(const Graph& g, NodeId n);
[[noreturn]] void throw_typed(TypedError& e);  // as pkl::Error

template <class T>
inline constexpr bool always_false = false;

// One level of a typed dump or load: past `max` levels a ResourceLimit
// error (raised through the caller's `fail`, which adds the path); the
// level is given back when the conversion returns or throws.
class NestingLevel {
 public:
  template <class Fail>
  NestingLevel(uint32_t& depth, uint32_t max, Fail&& fail) : depth_(depth) {
    if (depth >= max) fail(ErrorCode::ResourceLimit, "value nested deeper than " + std::to_string(max) + " levels");
    ++depth_;
  }
  ~NestingLevel() { --depth_; }
  NestingLevel(const NestingLevel&) = delete;
  NestingLevel& operator=(const NestingLevel&) = delete;

 private:
  uint32_t& depth_;
};

// The values of the leading Float nodes of `items` (nodes of g) into out;
// returns how many there were.
size_t float_run(const Graph& g, std::span<const NodeId> items, double* out) noexcept;

template <class F>
decltype(auto) at_segment(F&& f, std::string_view segment) {
  try {
    return f();
  } catch (TypedError& e) {
    e.path.emplace_back(segment);
    throw;
  }
}

// As at_segment for a dict key, its segment made only on the error path.
template <class F>
decltype(auto) at_key(F&& f, const Graph& g, NodeId key, bool as_key = false) {
  try {
    return f();
  } catch (TypedError& e) {
    e.path.push_back(as_key ? "<key " + key_segment(g, key) + ">" : key_segment(g, key));
    throw;
  }
}

template <class F>
decltype(auto) at_index(F&& f, size_t i) {
  try {
    return f();
  } catch (TypedError& e) {
    e.path.push_back("[" + std::to_string(i) + "]");
    throw;
  }
}

// Typed conversion recurses on the C++ stack (a type may contain itself
// through a pointer or a container): at most this many levels, and never
// more than Limits::max_depth.
inline constexpr uint32_t kMaxTypedDepth = 1000;

template <class T>
struct is_std_array : std::false_type {};
template <class T, size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};

}  // namespace detail

// Holds what one dump needs: the graph being built, the shared_ptr memo
// (one node per object), the nesting depth, and the registry of bound classes.
class Dumper {
 public:
  explicit Dumper(Graph& g, uint32_t max_depth = detail::kMaxTypedDepth) : graph_(g), max_depth_(max_depth) {}
  Graph& graph() noexcept { return graph_; }
  // The protocol the pickle will be written at (some types, numpy arrays
  // among them, are reduced differently at protocol 5).
  int protocol() const noexcept { return protocol_; }
  void set_protocol(int p) noexcept { protocol_ = p < 0 || p > kHighestProtocol ? kHighestProtocol : p; }
  // Nodes a conversion keeps by name to use again (numpy's builtin dtypes
  // are one object each, written once and then referred to).
  std::unordered_map<std::string, NodeId>& named() noexcept { return named_; }

  // The node for `v` (the conversion chosen as the header comment says).
  template <class T>
  NodeId dump(const T& v);

  // The node already made for the object at `p`, or kNoNode.
  NodeId shared(const void* p) const {
    auto it = shared_.find(p);
    return it == shared_.end() ? kNoNode : it->second;
  }
  void remember(const void* p, NodeId n) { shared_.emplace(p, n); }

  // Classes bound with PKL_CLASS met while dumping (binding.hpp).
  ClassRegistry& registry() noexcept { return registry_; }
  std::unordered_map<std::type_index, int>& class_indexes() noexcept { return class_indexes_; }

  [[noreturn]] void fail(ErrorCode code, std::string message) const {
    throw detail::TypedError{code, std::move(message), {}};
  }

 private:
  Graph& graph_;
  uint32_t depth_ = 0;
  uint32_t max_depth_;
  int protocol_ = kDefaultProtocol;
  std::unordered_map<const void*, NodeId> shared_;
  std::unordered_map<std::string, NodeId> named_;
  ClassRegistry registry_;
  std::unordered_map<std::type_index, int> class_indexes_;
};

// Holds what one load needs: the graph read, the objects already loaded as
// shared_ptrs (one object, one shared_ptr), the nodes being loaded (a cycle
// through shared_ptrs is refused), the nesting depth.
class Loader {
 public:
  explicit Loader(const Graph& g, uint32_t max_depth = detail::kMaxTypedDepth) : graph_(g), max_depth_(max_depth) {}
  const Graph& graph() const noexcept { return graph_; }
  // What keeps the graph alive when load() made it (views into it, such as
  // an ndarray's data, hold it); null when the caller owns the graph.
  const std::shared_ptr<const void>& owner() const noexcept { return owner_; }
  void set_owner(std::shared_ptr<const void> o) noexcept { owner_ = std::move(o); }

  template <class T>
  void load(NodeId n, T& out);
  template <class T>
  T load(NodeId n) {
    T v{};
    load(n, v);
    return v;
  }

  // The type error every conversion reports: "expected int, got str".
  [[noreturn]] void mismatch(NodeId n, std::string_view expected) const {
    fail(ErrorCode::TypeError, "expected " + std::string(expected) + ", got " + detail::python_type_name(graph_, n));
  }
  void expect(NodeId n, Kind k, std::string_view expected) const {
    if (graph_.kind(n) != k) mismatch(n, expected);
  }
  [[noreturn]] void fail(ErrorCode code, std::string message) const {
    throw detail::TypedError{code, std::move(message), {}};
  }

  // shared_ptr bookkeeping (convert<std::shared_ptr<T>>).
  struct SharedEntry {
    std::type_index type;
    std::shared_ptr<void> object;
  };
  std::unordered_map<NodeId, SharedEntry>& shared() noexcept { return shared_; }
  std::unordered_set<NodeId>& in_progress() noexcept { return in_progress_; }

 private:
  const Graph& graph_;
  uint32_t depth_ = 0;
  uint32_t max_depth_;
  std::shared_ptr<const void> owner_;
  std::unordered_map<NodeId, SharedEntry> shared_;
  std::unordered_set<NodeId> in_progress_;
};

// ---- customization detection ---------------------------------------------

// ADL hooks next to a user type:
//   pkl::NodeId to_pickle(pkl::Dumper&, const T&);
//   void from_pickle(pkl::Loader&, pkl::NodeId, T&);
template <class T>
concept adl_dumpable = requires(Dumper& d, const T& v) {
  { to_pickle(d, v) } -> std::convertible_to<NodeId>;
};
template <class T>
concept adl_loadable = requires(Loader& l, NodeId n, T& v) { from_pickle(l, n, v); };

template <class T>
concept convert_dumpable = requires(Dumper& d, const T& v) {
  { convert<T>::dump(d, v) } -> std::convertible_to<NodeId>;
};
template <class T>
concept convert_loadable = requires(Loader& l, NodeId n, T& v) { convert<T>::load(l, n, v); };

template <class T>
NodeId Dumper::dump(const T& v) {
  const detail::NestingLevel level(depth_, max_depth_, [this](ErrorCode c, std::string m) { fail(c, std::move(m)); });
  if constexpr (adl_dumpable<T>) {
    return to_pickle(*this, v);
  } else if constexpr (convert_dumpable<T>) {
    return convert<T>::dump(*this, v);
  } else {
    static_assert(detail::always_false<T>, "no pickle conversion for this type: specialize pkl::convert<T>, "
                                           "define to_pickle/from_pickle, or bind it with PKL_CLASS");
  }
}

template <class T>
void Loader::load(NodeId n, T& out) {
  const detail::NestingLevel level(depth_, max_depth_, [this](ErrorCode c, std::string m) { fail(c, std::move(m)); });
  if constexpr (adl_loadable<T>) {
    from_pickle(*this, n, out);
  } else if constexpr (convert_loadable<T>) {
    convert<T>::load(*this, n, out);
  } else {
    static_assert(detail::always_false<T>, "no pickle conversion for this type: specialize pkl::convert<T>, "
                                           "define to_pickle/from_pickle, or bind it with PKL_CLASS");
  }
}

// ---- Value: a view of one node of a graph ----------------------------------

// Untyped access where a part of a pickle has no fixed C++ type: walk it,
// then get<T>() the parts that do. A Value refers to its graph (keep the
// graph alive). As a member of a loaded type it is the node as is; dumped,
// it is copied into the new graph (sharing and cycles kept).
class Value {
 public:
  Value() = default;
  explicit Value(const Graph& g) : g_(&g), n_(g.root()) {}
  Value(const Graph& g, NodeId n) : g_(&g), n_(n) {}

  bool valid() const noexcept { return g_ != nullptr && n_ != kNoNode; }
  const Graph& graph() const { return *g_; }
  NodeId node() const noexcept { return n_; }
  Kind kind() const { return g_->kind(n_); }
  // Python's type name ("int", "dict", a class's qualname).
  std::string type_name() const { return detail::python_type_name(*g_, n_); }
  bool is_none() const { return kind() == Kind::None; }
  // The path from the Value this one was reached from by operator[] ("[3]['b']").
  const std::string& path() const noexcept { return path_; }

  // Number of items (list, tuple, dict, set, frozenset); 0 for scalars.
  size_t size() const { return g_->length(n_); }
  // Item i of a list or tuple (TypeError otherwise; ValueError out of range).
  Value item(size_t i) const;
  template <std::integral I>
  Value operator[](I i) const {
    if constexpr (std::is_signed_v<I>) {
      if (i < 0) return item(SIZE_MAX);
    }
    return item(static_cast<size_t>(i));
  }
  // The value of a dict's str key (TypeError if not a dict; LookupError when
  // absent). A linear search: for many lookups, get<std::map<...>>().
  Value operator[](std::string_view key) const;
  Value operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  bool contains(std::string_view key) const;
  // The items of a dict, in order.
  std::vector<std::pair<Value, Value>> items() const;
  // The items of a list, tuple, set or frozenset, in order.
  std::vector<Value> elements() const;

  template <class T>
  T get() const {
    T v{};
    get_to(v);
    return v;
  }
  template <class T>
  void get_to(T& out) const {
    Loader l(*g_);
    try {
      l.load(n_, out);
    } catch (detail::TypedError& e) {
      if (!path_.empty()) e.path.push_back(path_);
      detail::throw_typed(e);
    }
  }

 private:
  Value(const Graph& g, NodeId n, std::string path) : g_(&g), n_(n), path_(std::move(path)) {}
  [[noreturn]] void fail(ErrorCode code, const std::string& message) const;
  const Graph* g_ = nullptr;
  NodeId n_ = kNoNode;
  std::string path_;
};

// Copies the subgraph reached from `n` of `src` into `dst` (sharing and
// cycles kept, registered instances as inert objects); returns its node there.
NodeId copy_subgraph(Graph& dst, const Graph& src, NodeId n);

// ---- entry points ------------------------------------------------------------

// A graph of the value (its root set), for callers that go on untyped.
template <class T>
Graph to_graph(const T& v, ClassRegistry* registry_out = nullptr) {
  Graph g;
  Dumper d(g);
  try {
    g.set_root(d.dump(v));
  } catch (detail::TypedError& e) {
    detail::throw_typed(e);
  }
  if (registry_out) *registry_out = d.registry();
  return g;
}

// The node `n` of `g` as a T.
template <class T>
T from_graph(const Graph& g, NodeId n) {
  return Value(g, n).get<T>();
}
template <class T>
T from_graph(const Graph& g) {
  return from_graph<T>(g, g.root());
}

// pickle.dumps(v, protocol) for the Python value equivalent to v.
// options.registry is ignored: classes bound with PKL_CLASS register themselves.
template <class T>
std::string dump(const T& v, const EncodeOptions& options = {}) {
  Graph g;
  Dumper d(g);
  d.set_protocol(options.protocol);
  NodeId root;
  try {
    root = d.dump(v);
  } catch (detail::TypedError& e) {
    detail::throw_typed(e);
  }
  EncodeOptions o = options;
  o.registry = &d.registry();
  return encode(g, root, o);
}
template <class T>
std::string dump(const T& v, int protocol) {
  EncodeOptions o;
  o.protocol = protocol;
  return dump(v, o);
}
// pickle.dump(v, file): one pickle to the sink, flushed.
template <class T>
void dump(Sink& sink, const T& v, const EncodeOptions& options = {}) {
  const std::string out = dump(v, options);
  sink.write(out.data(), out.size());
  sink.flush();
}

// pickle.loads(data) as a T. The decoder's budget and policies are the
// options' (an inert decode: options.registry is not needed for PKL_CLASS types).
namespace detail {
// The T of a graph load() made: views into it (an ndarray's data) share its ownership.
template <class T>
T from_owned_graph(Graph&& graph) {
  auto g = std::make_shared<const Graph>(std::move(graph));
  Loader l(*g);
  l.set_owner(g);
  T v{};
  try {
    l.load(g->root(), v);
  } catch (TypedError& e) {
    throw_typed(e);
  }
  return v;
}
}  // namespace detail

template <class T>
T load(std::string_view data, const DecodeOptions& options = {}) {
  return detail::from_owned_graph<T>(decode(data, options));
}
template <class T>
T load(std::span<const uint8_t> data, const DecodeOptions& options = {}) {
  return detail::from_owned_graph<T>(decode(data, options));
}
// The next pickle of a source (pickle.load(file)); ErrorCode::EndOfInput at
// a clean end of input. Each call reads with a Decoder of its own: a
// MemorySource, or a source that does not read ahead, is left just after the
// pickle; a file read ahead (FdSource with may_read_ahead) may lose what
// follows, so for a stream of pickles keep one pkl::Decoder and call
// from_graph<T> on each graph it returns.
template <class T>
T load(Source& source, const DecodeOptions& options = {}) {
  Decoder dec(source, options);
  std::optional<Graph> g = dec.next();
  if (!g) throw Error(ErrorCode::EndOfInput, "Ran out of input");
  return detail::from_owned_graph<T>(std::move(*g));
}

// ---- the standard conversions ------------------------------------------------

template <>
struct convert<bool> {
  static NodeId dump(Dumper& d, bool v) { return d.graph().boolean(v); }
  static void load(Loader& l, NodeId n, bool& out) {
    l.expect(n, Kind::Bool, "bool");
    out = l.graph().as_bool(n);
  }
};

namespace detail {
template <class T>
concept integer = std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
                  !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> &&
                  !std::is_same_v<T, char32_t>;
// Range error text: "int 300 out of range for an 8-bit unsigned integer".
std::string int_range_message(const Graph& g, NodeId n, bool is_signed, int bits);
// An int that does not fit int64 but fits uint64, or nullopt.
std::optional<uint64_t> as_uint64(const Graph& g, NodeId n);
NodeId uint64_node(Graph& g, uint64_t v);
}  // namespace detail

template <detail::integer T>
struct convert<T> {
  static NodeId dump(Dumper& d, T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= 8) {
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return detail::uint64_node(d.graph(), v);
    }
    return d.graph().integer(static_cast<int64_t>(v));
  }
  static void load(Loader& l, NodeId n, T& out) {
    const Graph& g = l.graph();
    l.expect(n, Kind::Int, "int");
    if (g.int_fits64(n)) {
      const int64_t v = g.as_int(n);
      if constexpr (std::is_signed_v<T>) {
        if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max()) {
          out = static_cast<T>(v);
          return;
        }
      } else {
        if (v >= 0 && static_cast<uint64_t>(v) <= std::numeric_limits<T>::max()) {
          out = static_cast<T>(v);
          return;
        }
      }
    } else if constexpr (std::is_unsigned_v<T> && sizeof(T) >= 8) {
      if (auto u = detail::as_uint64(g, n)) {
        out = static_cast<T>(*u);
        return;
      }
    }
    l.fail(ErrorCode::ValueError, detail::int_range_message(g, n, std::is_signed_v<T>, int(sizeof(T) * 8)));
  }
};

template <class T>
  requires std::is_enum_v<T>
struct convert<T> {
  using U = std::underlying_type_t<T>;
  static NodeId dump(Dumper& d, T v) { return d.dump(static_cast<U>(v)); }
  static void load(Loader& l, NodeId n, T& out) {
    U u{};
    l.load(n, u);
    out = static_cast<T>(u);
  }
};

template <class T>
  requires std::is_floating_point_v<T>
struct convert<T> {
  static NodeId dump(Dumper& d, T v) { return d.graph().floating(static_cast<double>(v)); }
  static void load(Loader& l, NodeId n, T& out) {
    const Graph& g = l.graph();
    if (g.kind(n) == Kind::Float) {
      out = static_cast<T>(g.as_float(n));
      return;
    }
    if (g.kind(n) == Kind::Int) {
      constexpr int64_t kExact = int64_t{1} << 53;
      if (g.int_fits64(n) && g.as_int(n) >= -kExact && g.as_int(n) <= kExact) {
        out = static_cast<T>(g.as_int(n));
        return;
      }
      l.fail(ErrorCode::ValueError, "int " + g.int_decimal(n) + " is not exactly a float");
    }
    l.mismatch(n, "float");
  }
};

template <>
struct convert<std::string> {
  static NodeId dump(Dumper& d, const std::string& v) { return dump(d, std::string_view(v)); }
  static NodeId dump(Dumper& d, std::string_view v) {
    if (!Graph::str_is_valid(v)) d.fail(ErrorCode::ValueError, "std::string is not UTF-8: a str must be");
    return d.graph().str(v);
  }
  static void load(Loader& l, NodeId n, std::string& out) {
    l.expect(n, Kind::Str, "str");
    out = l.graph().as_str(n);
  }
};
// Dump only: literals and views write a str.
template <>
struct convert<std::string_view> {
  static NodeId dump(Dumper& d, std::string_view v) { return convert<std::string>::dump(d, v); }
};
template <>
struct convert<const char*> {
  static NodeId dump(Dumper& d, const char* v) { return convert<std::string>::dump(d, std::string_view(v)); }
};
template <size_t N>
struct convert<char[N]> {
  static NodeId dump(Dumper& d, const char (&v)[N]) {
    return convert<std::string>::dump(d, std::string_view(v, N > 0 && v[N - 1] == '\0' ? N - 1 : N));
  }
};

template <>
struct convert<bytes> {
  static NodeId dump(Dumper& d, const bytes& v) { return d.graph().bytes(v.data); }
  static void load(Loader& l, NodeId n, bytes& out) {
    const Kind k = l.graph().kind(n);
    if (k != Kind::Bytes && k != Kind::ByteArray) l.mismatch(n, "bytes");
    out.data = l.graph().as_bytes(n);
  }
};

template <>
struct convert<Value> {
  static NodeId dump(Dumper& d, const Value& v) {
    if (!v.valid()) d.fail(ErrorCode::Usage, "an empty pkl::Value");
    if (&v.graph() == &d.graph()) return v.node();
    return copy_subgraph(d.graph(), v.graph(), v.node());
  }
  static void load(Loader& l, NodeId n, Value& out) { out = Value(l.graph(), n); }
};

template <>
struct convert<std::nullptr_t> {
  static NodeId dump(Dumper& d, std::nullptr_t) { return d.graph().none(); }
  static void load(Loader& l, NodeId n, std::nullptr_t&) { l.expect(n, Kind::None, "None"); }
};
template <>
struct convert<std::monostate> {
  static NodeId dump(Dumper& d, std::monostate) { return d.graph().none(); }
  static void load(Loader& l, NodeId n, std::monostate&) { l.expect(n, Kind::None, "None"); }
};

namespace detail {
// Items of a list or tuple (the sequences a load accepts), else a mismatch.
inline std::span<const NodeId> sequence_items(Loader& l, NodeId n, std::string_view expected) {
  const Kind k = l.graph().kind(n);
  if (k != Kind::List && k != Kind::Tuple) l.mismatch(n, expected);
  return l.graph().items(n);
}
template <class Range>
NodeId dump_list(Dumper& d, const Range& r) {
  std::vector<NodeId> items;
  if constexpr (requires { r.size(); }) items.reserve(r.size());
  size_t i = 0;
  for (const auto& x : r) {
    items.push_back(at_index([&] { return d.dump(x); }, i));
    ++i;
  }
  return d.graph().list(items);
}
}  // namespace detail

// Sequences: list; load from a list or a tuple.
template <class T, class A>
struct convert<std::vector<T, A>> {
  static NodeId dump(Dumper& d, const std::vector<T, A>& v) {
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<NodeId> items;
      items.reserve(v.size());
      for (bool b : v) items.push_back(d.graph().boolean(b));
      return d.graph().list(items);
    } else {
      return detail::dump_list(d, v);
    }
  }
  static void load(Loader& l, NodeId n, std::vector<T, A>& out) {
    const auto items = detail::sequence_items(l, n, "list");
    out.clear();
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        bool b = false;
        detail::at_index([&] { l.load(items[i], b); }, i);
        out.push_back(b);
      } else {
        out.emplace_back();
        detail::at_index([&] { l.load(items[i], out.back()); }, i);
      }
    }
  }
};

// A faster path for the common vector<double>: no per-item dispatch.
template <class A>
struct convert<std::vector<double, A>> {
  static NodeId dump(Dumper& d, const std::vector<double, A>& v) {
    std::vector<NodeId> items(v.size());
    for (size_t i = 0; i < v.size(); ++i) items[i] = d.graph().floating(v[i]);
    return d.graph().list(items);
  }
  static void load(Loader& l, NodeId n, std::vector<double, A>& out) {
    const auto items = detail::sequence_items(l, n, "list");
    out.resize(items.size());
    for (size_t i = 0; i < items.size();) {
      // floats in a run without a call per item; anything else one by one
      i += detail::float_run(l.graph(), items.subspan(i), out.data() + i);
      if (i < items.size()) {
        detail::at_index([&] { l.load(items[i], out[i]); }, i);
        ++i;
      }
    }
  }
};

namespace detail {
// A sequence filled at its back (deque, list): a Python list.
template <class C>
struct back_filled_list {
  static NodeId dump(Dumper& d, const C& v) { return dump_list(d, v); }
  static void load(Loader& l, NodeId n, C& out) {
    const auto items = sequence_items(l, n, "list");
    out.clear();
    for (size_t i = 0; i < items.size(); ++i) {
      out.emplace_back();
      at_index([&] { l.load(items[i], out.back()); }, i);
    }
  }
};
}  // namespace detail

template <class T, class A>
struct convert<std::deque<T, A>> : detail::back_filled_list<std::deque<T, A>> {};
template <class T, class A>
struct convert<std::list<T, A>> : detail::back_filled_list<std::list<T, A>> {};

template <class T, size_t N>
struct convert<std::array<T, N>> {
  static NodeId dump(Dumper& d, const std::array<T, N>& v) { return detail::dump_list(d, v); }
  static void load(Loader& l, NodeId n, std::array<T, N>& out) {
    const auto items = detail::sequence_items(l, n, "list");
    if (items.size() != N)
      l.fail(ErrorCode::ValueError, "expected " + std::to_string(N) + " items, got " + std::to_string(items.size()));
    for (size_t i = 0; i < N; ++i) detail::at_index([&] { l.load(items[i], out[i]); }, i);
  }
};

// pair and tuple: a Python tuple; load from a tuple or a list of that length.
template <class... Ts>
struct convert<std::tuple<Ts...>> {
  static NodeId dump(Dumper& d, const std::tuple<Ts...>& v) {
    std::array<NodeId, sizeof...(Ts)> items{};
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((items[I] = detail::at_index([&] { return d.dump(std::get<I>(v)); }, I)), ...);
    }(std::index_sequence_for<Ts...>{});
    return d.graph().tuple(std::span<const NodeId>(items.data(), items.size()));
  }
  static void load(Loader& l, NodeId n, std::tuple<Ts...>& out) {
    const auto items = detail::sequence_items(l, n, "tuple");
    if (items.size() != sizeof...(Ts))
      l.fail(ErrorCode::ValueError,
             "expected a tuple of " + std::to_string(sizeof...(Ts)) + " items, got " + std::to_string(items.size()));
    [&]<size_t... I>(std::index_sequence<I...>) {
      (detail::at_index([&] { l.load(items[I], std::get<I>(out)); }, I), ...);
    }(std::index_sequence_for<Ts...>{});
  }
};
template <class A, class B>
struct convert<std::pair<A, B>> {
  static NodeId dump(Dumper& d, const std::pair<A, B>& v) {
    const NodeId items[2] = {detail::at_index([&] { return d.dump(v.first); }, 0),
                             detail::at_index([&] { return d.dump(v.second); }, 1)};
    return d.graph().tuple(items);
  }
  static void load(Loader& l, NodeId n, std::pair<A, B>& out) {
    const auto items = detail::sequence_items(l, n, "tuple");
    if (items.size() != 2) l.fail(ErrorCode::ValueError, "expected a tuple of 2 items, got " + std::to_string(items.size()));
    detail::at_index([&] { l.load(items[0], out.first); }, 0);
    detail::at_index([&] { l.load(items[1], out.second); }, 1);
  }
};

namespace detail {
template <class M>
NodeId dump_dict(Dumper& d, const M& m) {
  Graph& g = d.graph();
  const NodeId dict = g.dict();
  for (const auto& kv : m) {  // (clang 14 cannot capture structured bindings)
    const NodeId kn = d.dump(kv.first);
    const NodeId vn = at_key([&] { return d.dump(kv.second); }, g, kn);
    try {
      g.dict_set(dict, kn, vn);
    } catch (const Error& e) {
      d.fail(e.code(), e.message());
    }
  }
  return dict;
}
template <class M>
void load_dict(Loader& l, NodeId n, M& out) {
  l.expect(n, Kind::Dict, "dict");
  out.clear();
  const Graph& g = l.graph();
  for (const Pair& item : g.dict_items(n)) {
    const NodeId kn = item.first, vn = item.second;
    typename M::key_type k{};
    at_key([&] { l.load(kn, k); }, g, kn, true);
    typename M::mapped_type v{};
    at_key([&] { l.load(vn, v); }, g, kn);
    out.insert_or_assign(std::move(k), std::move(v));
  }
}
template <class S>
NodeId dump_set(Dumper& d, const S& s) {
  Graph& g = d.graph();
  const NodeId set = g.set();
  size_t i = 0;
  for (const auto& x : s) {
    const NodeId m = at_index([&] { return d.dump(x); }, i++);
    try {
      g.set_add(set, m);
    } catch (const Error& e) {
      d.fail(e.code(), e.message());
    }
  }
  return set;
}
template <class S>
void load_set(Loader& l, NodeId n, S& out) {
  const Kind k = l.graph().kind(n);
  if (k != Kind::Set && k != Kind::FrozenSet) l.mismatch(n, "set");
  out.clear();
  const auto items = l.graph().items(n);
  for (size_t i = 0; i < items.size(); ++i) {
    typename S::key_type x{};
    at_index([&] { l.load(items[i], x); }, i);
    out.insert(std::move(x));
  }
}
}  // namespace detail

template <class K, class V, class C, class A>
struct convert<std::map<K, V, C, A>> {
  static NodeId dump(Dumper& d, const std::map<K, V, C, A>& m) { return detail::dump_dict(d, m); }
  static void load(Loader& l, NodeId n, std::map<K, V, C, A>& out) { detail::load_dict(l, n, out); }
};
template <class K, class V, class H, class E, class A>
struct convert<std::unordered_map<K, V, H, E, A>> {
  static NodeId dump(Dumper& d, const std::unordered_map<K, V, H, E, A>& m) { return detail::dump_dict(d, m); }
  static void load(Loader& l, NodeId n, std::unordered_map<K, V, H, E, A>& out) { detail::load_dict(l, n, out); }
};
template <class K, class C, class A>
struct convert<std::set<K, C, A>> {
  static NodeId dump(Dumper& d, const std::set<K, C, A>& s) { return detail::dump_set(d, s); }
  static void load(Loader& l, NodeId n, std::set<K, C, A>& out) { detail::load_set(l, n, out); }
};
template <class K, class H, class E, class A>
struct convert<std::unordered_set<K, H, E, A>> {
  static NodeId dump(Dumper& d, const std::unordered_set<K, H, E, A>& s) { return detail::dump_set(d, s); }
  static void load(Loader& l, NodeId n, std::unordered_set<K, H, E, A>& out) { detail::load_set(l, n, out); }
};

template <class T>
struct convert<std::optional<T>> {
  static NodeId dump(Dumper& d, const std::optional<T>& v) { return v ? d.dump(*v) : d.graph().none(); }
  static void load(Loader& l, NodeId n, std::optional<T>& out) {
    if (l.graph().kind(n) == Kind::None) {
      out.reset();
      return;
    }
    out.emplace();
    l.load(n, *out);
  }
};

namespace detail {
// The names of a variant's alternatives as the mismatch names them: the type
// error of each alternative, joined ("int | str").
std::string join_alternatives(const std::vector<std::string>& messages);
}  // namespace detail

template <class... Ts>
struct convert<std::variant<Ts...>> {
  static NodeId dump(Dumper& d, const std::variant<Ts...>& v) {
    return std::visit([&](const auto& x) { return d.dump(x); }, v);
  }
  // The first alternative that converts. When none does: a TypeError listing
  // what each alternative said at the top level.
  static void load(Loader& l, NodeId n, std::variant<Ts...>& out) {
    std::vector<std::string> why;
    bool done = false;
    [&]<size_t... I>(std::index_sequence<I...>) {
      (try_one<I>(l, n, out, done, why), ...);
    }(std::index_sequence_for<Ts...>{});
    if (!done) l.fail(ErrorCode::TypeError, "no alternative of the variant converts: " + detail::join_alternatives(why));
  }

 private:
  template <size_t I>
  static void try_one(Loader& l, NodeId n, std::variant<Ts...>& out, bool& done, std::vector<std::string>& why) {
    if (done) return;
    using T = std::variant_alternative_t<I, std::variant<Ts...>>;
    T v{};
    try {
      l.load(n, v);
    } catch (detail::TypedError& e) {
      why.push_back(detail::join_path(e.path) + (e.path.empty() ? "" : ": ") + e.message);
      return;
    }
    out.template emplace<I>(std::move(v));
    done = true;
  }
};

template <class T>
struct convert<std::shared_ptr<T>> {
  static NodeId dump(Dumper& d, const std::shared_ptr<T>& p) {
    if (!p) return d.graph().none();
    if (const NodeId seen = d.shared(p.get()); seen != kNoNode) return seen;
    const NodeId n = d.dump(*p);
    d.remember(p.get(), n);
    return n;
  }
  static void load(Loader& l, NodeId n, std::shared_ptr<T>& out) {
    if (l.graph().kind(n) == Kind::None) {
      out.reset();
      return;
    }
    auto& seen = l.shared();
    if (auto it = seen.find(n); it != seen.end() && it->second.type == std::type_index(typeid(T))) {
      out = std::static_pointer_cast<T>(it->second.object);
      return;
    }
    if (!l.in_progress().insert(n).second)
      l.fail(ErrorCode::ValueError, "a cycle through shared_ptr (C++ ownership cannot hold it)");
    auto p = std::make_shared<T>();
    try {
      l.load(n, *p);
    } catch (...) {
      l.in_progress().erase(n);
      throw;
    }
    l.in_progress().erase(n);
    seen.insert_or_assign(n, Loader::SharedEntry{std::type_index(typeid(T)), p});
    out = std::move(p);
  }
};

template <class T>
struct convert<std::unique_ptr<T>> {
  static NodeId dump(Dumper& d, const std::unique_ptr<T>& p) { return p ? d.dump(*p) : d.graph().none(); }
  static void load(Loader& l, NodeId n, std::unique_ptr<T>& out) {
    if (l.graph().kind(n) == Kind::None) {
      out.reset();
      return;
    }
    auto p = std::make_unique<T>();
    l.load(n, *p);
    out = std::move(p);
  }
};

}  // namespace pkl
