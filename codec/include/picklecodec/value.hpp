// The value graph: what a pickle decodes to and what the encoder writes.
//
// A Graph owns every node; a node is named by a NodeId (a 32-bit index), so
// handles are free to copy and identity is explicit: a node reached twice is
// one node, and cycles are ordinary. Nodes live in flat vectors, so no
// operation recurses on the C++ stack in proportion to the graph's depth
// (destruction, equality, hashing, printing and traversal are iterative).
//
// Python's identity rules that pickle exposes are applied here, in one place
// (docs/conformance.md §4): None, True and False are single nodes; the empty str,
// every one-character str below U+0100, the empty bytes and every one-byte
// bytes are shared singletons; a (module, qualname) global is one node.
//
// Dict keys and set members follow Python (docs/conformance.md §5): equal numbers
// are one key whatever their type, NaN equals only itself, tuples and
// frozensets compare by content, globals and objects by identity; list, dict,
// set and bytearray (and tuples holding one) are unhashable. Hashing is keyed
// per graph (SipHash) so that floods of colliding keys stay linear.
#pragma once

#include <any>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "picklecodec/detail/pod_vector.hpp"
#include "picklecodec/error.hpp"

namespace pkl {

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = 0xffffffffu;

enum class Kind : uint8_t {
  None,
  Bool,
  Int,        // arbitrary precision; int64 fast path inside
  Float,      // bit-exact binary64
  Str,        // any Python str, read as UTF-8 with surrogates allowed ("surrogatepass")
  Bytes,
  ByteArray,
  Tuple,
  List,
  Dict,       // insertion order
  Set,
  FrozenSet,
  Global,     // an inert (module, qualname)
  Object,     // an inert object: a reduce tuple (docs/conformance.md §3), or a registered class's instance
  PersId,     // a persistent-id reference the caller's hook did not resolve
  Buffer,     // an out-of-band buffer reference (protocol 5)
};

const char* kind_name(Kind k) noexcept;  // Python's type name: "NoneType", "int", "list", ...

using Pair = std::pair<NodeId, NodeId>;

// What an inert object records: how CPython's pickler would see it.
struct ObjectData {
  NodeId callable = kNoNode;   // a Global or an Object
  NodeId args = kNoNode;       // a Tuple
  NodeId state = kNoNode;      // kNoNode: no BUILD seen / none to write
  // The 6th item of a reduce tuple: when set (a Global or an Object), the
  // state is applied by calling state_setter(obj, state), whose result is
  // discarded (the pickle's `setter, obj, state, TUPLE2, REDUCE, POP`), not
  // by BUILD. kNoNode: BUILD. Written only when the state is not None.
  NodeId state_setter = kNoNode;
  std::vector<NodeId> listitems;
  std::vector<Pair> dictitems;  // in order, duplicates kept
  // A registered class's C++ instance (typed decoding), empty for inert objects.
  std::any native;
  int32_t class_index = -1;     // index in the registry that made `native`, or -1
  // An inert object used as the class of NEWOBJ / NEWOBJ_EX (the result of a
  // call that made a class): encoded as a class in copyreg.__newobj__(cls).
  bool is_class = false;
};

struct GlobalData {
  std::string module;
  std::string qualname;
};

struct BufferData {
  uint64_t index = 0;     // position in the out-of-band buffer list
  bool readonly = true;
  std::string data;       // the buffer's bytes when known (in-band or supplied)
};

class Graph {
 public:
  Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  ~Graph();

  // The root of the graph (what a decoded pickle is); kNoNode when unset.
  NodeId root() const noexcept { return root_; }
  void set_root(NodeId n) { check(n); root_ = n; }

  size_t size() const noexcept { return nodes_.size(); }
  // Bytes held by the graph, as charged to the budget.
  uint64_t bytes_held() const noexcept { return bytes_held_; }
  // Limit on bytes_held(); exceeding it raises ErrorCode::ResourceLimit.
  void set_byte_limit(uint64_t limit) noexcept { byte_limit_ = limit; }

  // ---- building -------------------------------------------------------
  NodeId none() const noexcept { return 0; }
  NodeId boolean(bool v) const noexcept { return v ? 2 : 1; }
  NodeId integer(int64_t v);
  // Two's complement little-endian, any length (the LONG1/LONG4 payload);
  // normalized, so a value that fits in int64 becomes the fast form.
  NodeId integer_le(std::span<const uint8_t> twos_complement_le);
  // Decimal text with optional sign; ErrorCode::ValueError if malformed.
  NodeId integer_decimal(std::string_view digits);
  NodeId floating(double v);
  // `utf8` is UTF-8 that may encode surrogates (U+D800..U+DFFF) as 3-byte
  // sequences; the caller guarantees it is well formed in that sense
  // (see str_is_valid). One-character strs below U+0100 and "" are singletons.
  // A str of 4 KiB of UTF-8 or more whose characters are all below U+0100,
  // where latin-1 saves an eighth or more, is kept as latin-1 (as CPython
  // keeps it: a protocol-2 bytes decodes through one); as_str makes its UTF-8
  // when first asked. The budget counts every str as its UTF-8.
  NodeId str(std::string_view utf8);
  NodeId bytes(std::string_view data);
  // A bytes that is its own object even at length 1, as CPython 3.8+ makes
  // for BINBYTES, SHORT_BINBYTES and BINBYTES8 (only b"" stays shared).
  NodeId bytes_unshared(std::string_view data);
  // A bytes that refers to `data` instead of holding a copy of it (zero-copy
  // decoding, DecodeOptions::bytes_as_views). The caller keeps `data` alive
  // and unchanged for as long as the graph is read; the node is otherwise an
  // ordinary bytes (its own object, as bytes_unshared; b"" stays shared). The
  // budget is charged for the node and a small record, not for the bytes.
  NodeId bytes_view(std::string_view data);
  // True when n is a bytes made by bytes_view (its payload is the caller's).
  bool is_view(NodeId n) const;
  NodeId bytearray(std::string_view data);
  NodeId tuple(std::span<const NodeId> items);
  NodeId list(std::span<const NodeId> items = {});
  NodeId dict();
  NodeId set();
  // Builds from members with Python's merging; throws TypeError if unhashable.
  NodeId frozenset(std::span<const NodeId> members);
  // Interned: the same (module, qualname) is the same node.
  NodeId global(std::string_view module, std::string_view qualname);
  NodeId object(NodeId callable, NodeId args);
  NodeId persid(NodeId pid);
  NodeId buffer(uint64_t index, bool readonly, std::string_view data = {});

  // ---- mutating -------------------------------------------------------
  void list_append(NodeId list, NodeId item);
  void list_extend(NodeId list, std::span<const NodeId> items);
  // Python's lst[index] = item for 0 <= index < len(lst).
  void list_set(NodeId list, size_t index, NodeId item);
  // Python's d[k] = v: an equal existing key keeps the first key object and
  // takes the last value. TypeError "unhashable type: 'list'" if unhashable.
  void dict_set(NodeId dict, NodeId key, NodeId value);
  void set_add(NodeId set, NodeId member);
  void bytearray_assign(NodeId ba, std::string_view data);
  // Replace a tuple's items (used while decoding recursive structures).
  void tuple_assign(NodeId tuple, std::span<const NodeId> items);
  ObjectData& object_data(NodeId obj);

  // ---- reading --------------------------------------------------------
  Kind kind(NodeId n) const { check(n); return nodes_[n].kind; }
  bool as_bool(NodeId n) const;
  // True when the int fits in int64 (then as_int is exact).
  bool int_fits64(NodeId n) const;
  int64_t as_int(NodeId n) const;
  // Minimal two's complement little-endian bytes of any int (LONG1 payload;
  // 0 is the empty string, as pickle writes it).
  std::string int_le(NodeId n) const;
  // Decimal text of any int ("-123").
  std::string int_decimal(NodeId n) const;
  double as_float(NodeId n) const;
  // UTF-8 (surrogatepass), valid as long as the graph. For a str kept as
  // latin-1 the first call makes the UTF-8 (the graph then holds both); like
  // hashing, it writes to the graph: no two threads at once, even reading.
  std::string_view as_str(NodeId n) const;
  std::string_view as_bytes(NodeId n) const;  // Bytes or ByteArray
  // Tuple, List, Set, FrozenSet: items in order.
  std::span<const NodeId> items(NodeId n) const;
  std::span<const Pair> dict_items(NodeId n) const;
  const GlobalData& global_data(NodeId n) const;
  const ObjectData& object_data(NodeId n) const;
  NodeId persid_value(NodeId n) const;
  const BufferData& buffer_data(NodeId n) const;
  // Number of items of any container; 0 for scalars.
  size_t length(NodeId n) const;

  // ---- Python semantics -----------------------------------------------
  bool hashable(NodeId n) const;
  // Python's == for hashable values (dict key / set member equality).
  bool key_equal(NodeId a, NodeId b) const;
  // Python's truth value (falsy: None, False, 0, 0.0, '', b'', empty containers).
  bool truthy(NodeId n) const;
  // Looks up a key; kNoNode when absent. TypeError if unhashable.
  NodeId dict_get(NodeId dict, NodeId key) const;
  bool set_contains(NodeId set, NodeId member) const;

  // Checks that `utf8` is UTF-8 in which surrogates are allowed.
  static bool str_is_valid(std::string_view utf8) noexcept;

 private:
  struct Node {
    Kind kind;
    uint8_t flags;    // per-kind bits (hash cached, big int, ...)
    uint16_t spare;
    uint32_t aux;     // index into the side table of the kind
    uint64_t bits;    // int64 value, double bits, or a cached hash
  };
  struct Impl;

  NodeId add(Kind k, uint32_t aux, uint64_t bits);
  void check(NodeId n) const;
  void charge(uint64_t bytes);
  uint64_t key_hash(NodeId n) const;

  detail::PodVector<Node> nodes_;
  std::unique_ptr<Impl> impl_;
  NodeId root_ = kNoNode;
  uint64_t bytes_held_ = 0;
  uint64_t byte_limit_ = UINT64_MAX;

  friend class GraphAccess;
};

// Structural identity of two graphs: same values (floats bit for bit), same
// sharing and cycles (a bijection between the nodes reached from the roots).
bool isomorphic(const Graph& a, NodeId ra, const Graph& b, NodeId rb);

}  // namespace pkl
