// The decoder: pickle bytes (protocols 0-5, Python 2 pickles included) to a
// value graph. It never runs anything a pickle names, keeps to a Limits
// budget, and reports every fault as a pkl::Error with the byte offset and
// opcode. On error no partial graph reaches the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/limits.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/value.hpp"

namespace pkl {

class TraceObserver;  // picklecodec/trace.hpp

// How STRING / BINSTRING / SHORT_BINSTRING (Python 2 str) decode, as
// pickle.loads(encoding=...): 'ASCII' strict (CPython's default), 'latin1',
// or 'bytes' (keep them as bytes).
enum class StringEncoding : uint8_t { Ascii, Latin1, Bytes };

// What happens to a global that is neither a builtin type pickle spells with
// a global (docs/conformance.md §2.1) nor a registered class.
enum class GlobalPolicy : uint8_t {
  Inert,          // an inert Global node
  AllowlistOnly,  // an error naming it ("Can't get attribute ...")
};

// What a persistent id (PERSID, BINPERSID) becomes when no persistent_load
// hook is set.
enum class PersistentIds : uint8_t {
  // CPython's Unpickler without persistent_load: an error, "A load
  // persistent id instruction was encountered, but no persistent_load
  // function was specified." (ErrorCode::NoHook).
  Refuse,
  // A PersId node holding the pid, as an Unpickler whose persistent_load
  // returns a marker wrapping the pid (one new marker per opcode: a pid
  // read twice is two nodes). The encoder writes such a node back with its
  // pid (EncodeOptions: no option needed) exactly as a Pickler whose
  // persistent_id returns that pid: BINPERSID from protocol 1, PERSID with
  // str(pid) at protocol 0. This is how a PyTorch checkpoint's data.pkl or
  // a ZODB record is read and written without their storage.
  Keep,
};

// Which of CPython's unpicklers the decoder reads as, where they disagree
// (oracle/loader_diff.py finds and counts the differences; docs/conformance.md
// §11 lists them). Only the error paths of the default look at it.
enum class Unpickler : uint8_t {
  // _pickle.c: pickle.loads, pickle.load, pickle.Unpickler, torch.load.
  C,
  // pickle._Unpickler, the pure-Python one (and its subclasses: joblib.load's
  // NumpyUnpickler). Where it goes on and the C one stops, the decoder goes
  // on: REDUCE, NEWOBJ and NEWOBJ_EX take any iterable of arguments (a
  // list's items, a dict's keys: func(*args)); BUILD without __setstate__
  // skips a falsy state or slot state ("if state:"); FLOAT reads Python's
  // float() text (spaces, underscores); a FRAME longer than the input holds
  // what is left; GLOBAL, INST and PERSID at the end of the input take the
  // cut line (readline()[:-1]). Where it calls before failing, the decoder
  // calls (trace) and then fails: SETITEMS with an odd count sets the
  // leading pairs; INST resolves its class before it looks for the MARK;
  // APPENDS with no items calls extend([]). Where it fails and the C one
  // goes on, the decoder fails: APPENDS or ADDITEMS with no items on a value
  // without extend/append or add; int()'s text (a NUL where C stops
  // reading, INT's C octal "017"). FRAME's bounds (the pure-Python
  // unpickler's _Unframer) are not checked here: pkl::scan walks them.
  Python,
};

struct DecodeOptions {
  Limits limits;
  Unpickler unpickler = Unpickler::C;
  StringEncoding string_encoding = StringEncoding::Ascii;
  GlobalPolicy policy = GlobalPolicy::Inert;
  // Map Python 2 names (below protocol 3) as CPython's fix_imports=True.
  bool fix_imports = true;
  // Registered classes for typed decoding; may be null.
  const ClassRegistry* registry = nullptr;
  // persistent_load(pid): returns the node that stands for pid. Unset:
  // what `persistent_ids` says.
  std::function<NodeId(Graph&, NodeId pid)> persistent_load;
  PersistentIds persistent_ids = PersistentIds::Refuse;
  // Out-of-band buffers for NEXT_BUFFER, in order (pickle.loads(buffers=...)).
  // Unset: "pickle stream refers to out-of-band data but no *buffers* argument was given".
  std::optional<std::vector<std::string>> buffers;
  // Extension registry (copyreg's inverted registry): code -> (module, qualname).
  // Unset or missing code: CPython's "unregistered extension code N".
  std::function<std::optional<std::pair<std::string, std::string>>(int32_t code)> extension;
  // Zero-copy bytes. When set, a bytes object of the pickle (BINBYTES,
  // SHORT_BINBYTES, BINBYTES8) of at least `bytes_view_min` bytes becomes a
  // Bytes node that refers to the input instead of holding a copy (see
  // Graph::bytes_view). Only for input in memory: decode(), decode_all() and
  // a Decoder over a MemorySource; bytes read from a file, a pipe or a stream
  // pass through a temporary buffer and are copied as usual. The caller keeps
  // the input alive and unchanged for as long as the graph is read.
  bool bytes_as_views = false;
  uint64_t bytes_view_min = 4096;
  // Trace mode (picklecodec/trace.hpp): every global resolved and every call
  // CPython would make, told as the decoder reaches it. Not owned; may be null.
  TraceObserver* trace = nullptr;
  // Called after each BUILD when set: `object` is what BUILD gave its state
  // to, `next` the offset of the byte after the BUILD opcode. Returns how
  // many bytes that are not opcodes follow (0: none); the decoder passes over
  // them and goes on with the opcode after. They must be in the input (else
  // ErrorCode::Truncated) and do not count against Limits::max_input_bytes
  // (bytes from a stream are read in bounded chunks and dropped). May throw
  // pkl::Error to stop the decode. For readers of formats that write raw
  // data inside a pickle stream: joblib's NumpyArrayWrapper (pkl::scan).
  std::function<uint64_t(const Graph&, NodeId object, uint64_t next)> after_build;
};

// Where bytes come from. read() returns 0 only at end of input.
//
// How much the decoder reads, and how often:
// - may_read_ahead() true: in chunks of 64 KiB and more, whatever a read
//   returns (a pipe's read returns what it holds without waiting for more,
//   so pickles are still decoded as they arrive).
// - false: never a byte past the STOP of the pickle it returns (except the
//   rest of a FRAME that holds the STOP: a frame's bytes are declared part of
//   the stream, and CPython's unpickler reads a frame whole too; the Decoder
//   keeps those bytes for the next pickle). It looks ahead with peek() when
//   the source can (a file, a pipe, a socket: see FdSource), and consumes
//   only what the pickle used; a source that cannot peek is read exactly:
//   one read per opcode and argument, one per byte of a text line
//   (protocols 0-3 have no frames), the cost of not reading ahead.
class Source {
 public:
  virtual ~Source() = default;
  virtual size_t read(void* buf, size_t n) = 0;
  // True when reading ahead is harmless (memory, a private file); false for a
  // pipe or socket shared with others (see above).
  virtual bool may_read_ahead() const { return false; }
  // Looking ahead without consuming: copies up to n of the next bytes into
  // buf and leaves them in the source, waiting until at least one is there;
  // 0 at the end of input; kNoPeek (the default) when the source cannot.
  static constexpr size_t kNoPeek = SIZE_MAX;
  virtual size_t peek(void* buf, size_t n);
  // Consumes the next n bytes, which a peek() has just copied to `copy`:
  // by default reads them again into `copy` (same bytes).
  virtual void consume(void* copy, size_t n);
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::span<const uint8_t> data) : data_(data) {}
  explicit MemorySource(std::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data()), data.size()) {}
  size_t read(void* buf, size_t n) override;
  bool may_read_ahead() const override { return true; }
  std::span<const uint8_t> remaining() const { return data_.subspan(pos_); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// A POSIX file descriptor (file, pipe, socket); not owned. Without read-ahead
// it peeks at a regular file with pread(2) (consuming by moving the offset),
// at a pipe with tee(2) into a private pipe, at a socket with
// recv(MSG_PEEK); anything else (a terminal, a device) is read exactly.
class FdSource final : public Source {
 public:
  explicit FdSource(int fd, bool may_read_ahead = false) : fd_(fd), ahead_(may_read_ahead) {}
  ~FdSource() override;
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;
  size_t read(void* buf, size_t n) override;
  bool may_read_ahead() const override { return ahead_; }
  size_t peek(void* buf, size_t n) override;
  void consume(void* copy, size_t n) override;

 private:
  enum class Kind : uint8_t { Unknown, File, Pipe, Socket, Other };
  int fd_;
  bool ahead_;
  Kind kind_ = Kind::Unknown;
  int tee_[2] = {-1, -1};  // the private pipe a pipe is peeked through
};

class StreamSource final : public Source {
 public:
  explicit StreamSource(std::istream& in) : in_(in) {}
  size_t read(void* buf, size_t n) override;

 private:
  std::istream& in_;
};

// Reads successive pickles from one source.
class Decoder {
 public:
  Decoder(Source& source, DecodeOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // The next pickle's graph; std::nullopt at a clean end of input (no byte
  // of a new pickle). An end of input inside a pickle is ErrorCode::Truncated.
  std::optional<Graph> next();
  // Offset in the source of the next byte the decoder will consume.
  uint64_t offset() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One pickle from memory (bytes after its STOP are ignored, as pickle.loads does).
Graph decode(std::span<const uint8_t> data, const DecodeOptions& options = {});
Graph decode(std::string_view data, const DecodeOptions& options = {});
// Every pickle in memory until a clean end.
std::vector<Graph> decode_all(std::string_view data, const DecodeOptions& options = {});

}  // namespace pkl
