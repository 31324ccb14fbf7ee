// The encoder: a value graph to pickle bytes, protocols 0-5, byte for byte
// what CPython 3.11's C pickler (`_pickle.c`) writes for the same objects
// (docs/conformance.md §7; set items in their stored order, §6).
//
// Encoding is iterative (an explicit work stack, never the C++ stack), so a
// graph of any depth encodes. A pickle is built in memory and handed to the
// sink only when complete: on error the sink receives nothing.
//
//   pkl::Graph g = ...;
//   std::string bytes = pkl::encode(g, g.root(), {.protocol = 2});
//
//   pkl::FdSink out(1);                  // several pickles on one stream,
//   pkl::Encoder enc(out, {.protocol = 4});  // each flushed when written
//   enc.dump(g1, g1.root());
//   enc.dump(g2, g2.root());
//
// Identity. Memo use follows object identity as CPython's would be for the
// materialized graph: graph nodes are objects (the singleton strs and bytes
// of docs/conformance.md §4 included); the objects the pickler makes up have
// CPython's identities (a global is one object per (module, qualname); the
// module name of STACK_GLOBAL is one interned str per module; a class's
// qualname is its own str; attribute names of registered instances are
// interned strs shared by all instances; pieces of a dotted name that are
// '' or one character below U+0100 are the singleton strs). Two CPython
// quirks are not copied: builtin types and builtin functions spell their
// module 'builtins' with two different str objects (the encoder has one per
// module name), and which one-character strs CPython 3.11 interns apart from
// the singletons is taken as fixed ("BCLST_a-y" less g, u).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <string_view>

#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"

namespace pkl {

inline constexpr int kHighestProtocol = 5;
inline constexpr int kDefaultProtocol = 4;  // pickle.DEFAULT_PROTOCOL

// Where pickles go. write() takes whole pickles (or large parts of one);
// flush() is called after each complete pickle. Failures throw
// pkl::Error(ErrorCode::Io).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const char* data, size_t size) = 0;
  virtual void flush() {}
};

// Appends to a std::string.
class StringSink final : public Sink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(const char* data, size_t size) override;

 private:
  std::string& out_;
};

// A POSIX file descriptor (file, pipe, socket); not owned. Writes go straight
// to the descriptor (retrying short writes and EINTR), so a reader on a pipe
// has each pickle as soon as dump() returns.
class FdSink final : public Sink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  void write(const char* data, size_t size) override;

 private:
  int fd_;
};

// A std::ostream; flush() flushes the stream.
class StreamSink final : public Sink {
 public:
  explicit StreamSink(std::ostream& out) : out_(out) {}
  void write(const char* data, size_t size) override;
  void flush() override;

 private:
  std::ostream& out_;
};

// Every member has a default, so `{.protocol = 2}` names only what differs.
struct EncodeOptions {
  // 0..5; negative means the highest (5), as pickle does.
  int protocol = kDefaultProtocol;
  // Below protocol 3, write Python 2 names (_compat_pickle's REVERSE tables),
  // as pickle.dumps(fix_imports=True).
  bool fix_imports = true;
  // Registered classes: an Object node with class_index >= 0 is written as
  // CPython writes an instance of a plain Python class with the same hooks
  // (ClassHooks' encoding side). Required when the graph holds one.
  const ClassRegistry* registry = nullptr;
  // persistent_id(obj): a node to write as obj's persistent id, or kNoNode
  // (or a None node) to pickle obj normally. Called, as CPython does, for
  // every graph node the pickler saves except a persistent id itself
  // (objects the pickler makes up on its own, e.g. the `_codecs.encode`
  // global of protocol-2 bytes, are not graph nodes and are not offered).
  // A PersId node without this hook (or which it declines) is written as a
  // persistent id with its own pid, as CPython's Pickler whose
  // persistent_id returns that pid: BINPERSID from protocol 1; at protocol
  // 0 PERSID of str(pid), written for pids of scalars, globals (str() of a
  // class: "<class 'module.qualname'>") and tuples / lists of them, refused
  // (ErrorCode::Unpicklable) for any other pid, whose str() CPython writes
  // with an address, and, as CPython, when str(pid) is not ASCII. So a graph
  // decoded with PersistentIds::Keep writes its persistent ids back as read.
  std::function<NodeId(Graph& graph, NodeId node)> persistent_id{};
  // Protocol 5 out-of-band buffers, as pickle.dumps(buffer_callback=...):
  // called for each Buffer node written; return true to write the buffer
  // in-band (Python's truthy result), false to take it out of band
  // (NEXT_BUFFER, then READONLY_BUFFER when read-only). Unset: every buffer
  // is written in-band, as bytes (read-only) or bytearray (writable).
  // Setting it below protocol 5 is an error, as in CPython.
  std::function<bool(const Graph& graph, NodeId buffer)> buffer_callback{};
  // The extension registry (copyreg.add_extension): the code of a global
  // (module, qualname), if it has one; written as EXT1/EXT2/EXT4 from
  // protocol 2 on. Codes outside 1..0x7fffffff are refused as CPython does.
  std::function<std::optional<int32_t>(std::string_view module, std::string_view qualname)>
      extension{};
  // Protocols 0 and 1 write an int as decimal text (LONG). CPython refuses
  // one of more than sys.get_int_max_str_digits() digits (4300 by default)
  // with ValueError, and so does the encoder past this many (0: no limit;
  // the conversion then takes time quadratic in the int's size).
  uint64_t max_int_digits = 4300;
};

// The encoder's three entry points: encode() returns one pickle of the graph
// from `root` (graph.root() for a decoded graph), encode_to() writes it to a
// sink and flushes it, and Encoder writes successive pickles to one sink.
// Options (protocol, hooks) are EncodeOptions:
//
//   std::string bytes = pkl::encode(g, g.root(), {.protocol = 2});
//   pkl::FdSink out(1);
//   pkl::encode_to(out, g, g.root());
//
// Registered instances call their class's hooks, which may add nodes to the
// graph, and persistent_id gets the graph to add pid nodes: both need a
// non-const Graph; with a const Graph they are refused (ErrorCode::Usage).
// Errors: ErrorCode::Unpicklable with CPython's PicklingError / TypeError /
// OverflowError message for what pickle cannot write; ValueError for an int
// past max_int_digits at protocols 0-1; TypeError "unhashable
// type: 'list'" for a set member or dict key Python could not hold;
// ResourceLimit for an object endlessly reduced into itself (CPython's
// RecursionError); Usage for a bad handle or option. On error nothing is
// written to the sink.
std::string encode(Graph& graph, NodeId root, const EncodeOptions& options = {});
std::string encode(const Graph& graph, NodeId root, const EncodeOptions& options = {});

void encode_to(Sink& sink, Graph& graph, NodeId root, const EncodeOptions& options = {});
void encode_to(Sink& sink, const Graph& graph, NodeId root, const EncodeOptions& options = {});

// The protocol is an option ({.protocol = 2}), never the second argument:
// encode(g, 2) would take node 2 as the root and write None, so any integer
// there other than a NodeId does not compile.
template <class Int>
  requires(std::is_integral_v<Int> && !std::is_same_v<Int, NodeId>)
std::string encode(Graph& graph, Int root, const EncodeOptions& options = {}) = delete;
template <class Int>
  requires(std::is_integral_v<Int> && !std::is_same_v<Int, NodeId>)
std::string encode(const Graph& graph, Int root, const EncodeOptions& options = {}) = delete;

// Writes successive pickles to one sink (as repeated pickle.dump(obj, file)):
// each dump() is an independent pickle with its own memo, written once it
// is whole, then flushed: a dump that fails writes nothing (where CPython's
// pickle.dump to a file leaves what it wrote), and the pickles before it
// stay written. The graph's large bytes (64 KiB and more, at protocol 3
// and up) are not copied into the encoder's buffer: the sink gets them from
// the graph (a view's from the caller's memory) between the buffer's
// pieces, so one pickle may be several write() calls.
class Encoder {
 public:
  Encoder(Sink& sink, EncodeOptions options = {}) : sink_(sink), options_(std::move(options)) {}

  void dump(Graph& graph, NodeId root);
  void dump(const Graph& graph, NodeId root);
  // Pickles written so far.
  uint64_t count() const noexcept { return count_; }
  const EncodeOptions& options() const noexcept { return options_; }

 private:
  Sink& sink_;
  EncodeOptions options_;
  std::string buffer_;
  uint64_t count_ = 0;
};

}  // namespace pkl
