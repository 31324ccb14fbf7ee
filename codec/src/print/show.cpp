// Printing a graph: the readable notation (show) and the graph JSON format
// (show_json). Both walk the graph with explicit stacks, never recursion.
//
// show() counts how often each node is reached (to know which need a
// label), then prints as it walks: nothing is laid out ahead except, at a
// group's open, a measure of its one-line width that stops at the line
// width. Memory is one word per graph node and one 16-byte frame per nesting
// level (issue 2: a level can cost one input byte, and show may use 64 per
// input byte).
#include "picklecodec/show.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/bigint.hpp"
#include "base/hex.hpp"
#include "text/utf8.hpp"
#include "picklecodec/repr.hpp"
#include "value/access.hpp"

namespace pkl {
namespace {

// A big int as repr() prints it, or in hex past CPython's 4300 digits, where
// repr() raises and a decimal conversion would be quadratic in its size.
std::string int_literal(const std::string& le) {
  return detail::le_to_literal({reinterpret_cast<const uint8_t*>(le.data()), le.size()});
}

// Calls f(child) for each edge of n, in print order.
template <class F>
void for_each_child(const Graph& g, NodeId n, F&& f) {
  switch (g.kind(n)) {
    case Kind::Tuple:
    case Kind::List:
    case Kind::Set:
    case Kind::FrozenSet:
      for (NodeId c : g.items(n)) f(c);
      break;
    case Kind::Dict:
      for (const Pair& p : g.dict_items(n)) {
        f(p.first);
        f(p.second);
      }
      break;
    case Kind::Object: {
      const ObjectData& od = g.object_data(n);
      if (od.callable != kNoNode) f(od.callable);
      if (od.args != kNoNode) f(od.args);
      if (od.state != kNoNode) f(od.state);
      if (od.state_setter != kNoNode) f(od.state_setter);
      for (NodeId c : od.listitems) f(c);
      for (const Pair& p : od.dictitems) {
        f(p.first);
        f(p.second);
      }
      break;
    }
    case Kind::PersId:
      f(g.persid_value(n));
      break;
    default:
      break;
  }
}

bool is_labelable(Kind k) {
  switch (k) {
    case Kind::Tuple:
    case Kind::List:
    case Kind::Dict:
    case Kind::Set:
    case Kind::FrozenSet:
    case Kind::ByteArray:
    case Kind::Object:
    case Kind::PersId:
    case Kind::Buffer:
      return true;
    default:
      return false;
  }
}

// ---- the walk ------------------------------------------------------------------

// Per node, one word: how often the node is reached from the root, then,
// once printed, its label. A shared node gets its label where it is first
// printed, so the word goes from kShared to kShared + label then.
constexpr uint32_t kUnreached = 0;
constexpr uint32_t kOnce = 1;
constexpr uint32_t kShared = 2;

bool has_children(Kind k) {
  switch (k) {
    case Kind::Tuple:
    case Kind::List:
    case Kind::Set:
    case Kind::FrozenSet:
    case Kind::Dict:
    case Kind::Object:
    case Kind::PersId:
      return true;
    default:
      return false;
  }
}

std::vector<uint32_t> count_reach(const Graph& g, NodeId root) {
  std::vector<uint32_t> mark(g.size(), kUnreached);
  std::vector<NodeId> todo{root};
  mark[root] = kOnce;
  while (!todo.empty()) {
    NodeId n = todo.back();
    todo.pop_back();
    for_each_child(g, n, [&](NodeId c) {
      if (mark[c] == kUnreached) {
        mark[c] = kOnce;
        // A scalar has no children: nothing to visit.
        if (has_children(g.kind(c))) todo.push_back(c);
      } else {
        mark[c] = kShared;
      }
    });
  }
  return mark;
}

// Code points in UTF-8 text: its bytes less the continuation bytes
// (10xxxxxx), counted eight at a time.
uint64_t display_cols(std::string_view s) {
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  size_t left = s.size();
  uint64_t cont = 0;
  for (; left >= 8; p += 8, left -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    // A continuation byte's top bit, moved to its low bit, the bytes summed.
    cont += (((w & ~(w << 1) & kHigh) >> 7) * 0x0101010101010101ull) >> 56;
  }
  for (; left > 0; ++p, --left)
    if ((static_cast<uint8_t>(*p) & 0xc0) == 0x80) ++cont;
  return s.size() - cont;
}

// Copies s to w. Short texts (most of them) by two overlapping word copies,
// not a call.
inline void copy_text(char* w, std::string_view s) {
  const size_t n = s.size();
  if (n >= 8 && n <= 16) {
    std::memcpy(w, s.data(), 8);
    std::memcpy(w + n - 8, s.data() + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(w, s.data(), 4);
    std::memcpy(w + n - 4, s.data() + n - 4, 4);
  } else if (n < 4) {
    for (size_t k = 0; k < n; ++k) w[k] = s[k];
  } else {
    std::memcpy(w, s.data(), n);
  }
}

enum FrameKind : uint8_t {
  kSeq,        // tuple / list / set / frozenset items
  kDictPairs,  // dict items
  kObj,        // an object's entries
  kObjList,    // listitems=[..]
  kObjDict,    // dictitems={..}
  kRest,       // NEWOBJ args after the class
  kPersid,
};

enum ObjForm : uint8_t { kReduce, kNewobj, kNewobjEx };

// One open group. The stack holds one per nesting level, so its size is what
// a deep graph costs beyond the graph itself (issue 2's bound allows 64 bytes
// per input byte, and a level can cost one input byte).
struct Frame {
  NodeId n;
  FrameKind kind;
  ObjForm form;
  bool any;    // kObj: an entry was written
  uint64_t i;  // next item (kDictPairs, kObjDict: next key or value)
};
static_assert(sizeof(Frame) <= 16);

// A deque, not a vector: growing never holds an old and a new copy at once
// (a vector's peak would be 1.5 times its size, at a doubling), and
// references to frames stay valid across pushes.
using FrameStack = std::deque<Frame>;

// The reprs of recently written floats, by node. A float inside a group is
// made three times otherwise: measuring its enclosing group, measuring its
// own, and printing it (an object's state: each float of each object).
class FloatTexts {
 public:
  std::string_view text(NodeId n, double v) {
    Entry& e = slots_[n % kSlots];
    if (e.node != n) {
      scratch_.clear();
      append_repr_float(scratch_, v);
      // The longest repr, '-2.2250738585072014e-308', has 24 characters.
      e.len = static_cast<uint8_t>(std::min(scratch_.size(), sizeof e.text));
      std::memcpy(e.text, scratch_.data(), e.len);
      e.node = n;
    }
    return {e.text, e.len};
  }

 private:
  static constexpr size_t kSlots = 256;
  struct Entry {
    NodeId node = kNoNode;
    uint8_t len = 0;
    char text[27];
  };
  std::unique_ptr<Entry[]> slots_ = std::make_unique<Entry[]>(kSlots);
  std::string scratch_;
};

// Produces the notation of a graph as a stream of tokens (text, group open,
// item separator, group close), one step at a time, into a Sink:
//   text(s)  open(s, single_comma)  sep()  close(s, single_comma)
// where single_comma marks a one-item tuple, written "(x,)" on one line.
// A step ends with at most one open, as its last token.
template <class Sink>
class Walker {
 public:
  Walker(const Graph& g, std::vector<uint32_t>& mark, FloatTexts& floats, Sink& sink)
      : g_(g), mark_(mark), floats_(floats), sink_(sink) {}

  uint32_t last_label = 0;
  // When set, every label given is recorded here (to be taken back).
  std::vector<NodeId>* given = nullptr;

  bool done() const { return stack_.empty(); }
  const Frame& top() const { return stack_.back(); }

  // Continues from a group that another walker has just opened.
  void restart(const Frame& f, uint32_t label) {
    stack_.clear();
    stack_.push_back(f);
    last_label = label;
  }

  // The group just opened was written whole by another walker, which gave
  // labels up to `label`.
  void skip_group(uint32_t label) {
    stack_.pop_back();
    last_label = label;
  }

  // Writes an item: a scalar in full, or a labelled/labelling compound node,
  // opening a group for its contents.
  void visit(NodeId n, bool callable_position) {
    // n is the graph's own (the root, checked by the caller, or an edge).
    Kind k = GraphAccess::kind(g_, n);
    if (is_labelable(k) && mark_[n] >= kShared) {
      char buf[16];
      char* p = buf;
      if (mark_[n] > kShared) {
        *p++ = '*';
        p = std::to_chars(p, buf + sizeof buf, mark_[n] - kShared).ptr;
        sink_.ascii(std::string_view(buf, static_cast<size_t>(p - buf)));
        return;
      }
      mark_[n] = kShared + ++last_label;
      if (given) given->push_back(n);
      *p++ = '&';
      p = std::to_chars(p, buf + sizeof buf - 1, last_label).ptr;
      *p++ = ' ';
      sink_.ascii(std::string_view(buf, static_cast<size_t>(p - buf)));
    }
    // A str reached many times is printed in full each time: its repr is
    // made once.
    if (n == text_node_ && callable_position == text_callable_) {
      sink_.text(text_);
      return;
    }
    switch (k) {
      case Kind::None: sink_.ascii("None"); break;
      case Kind::Bool: sink_.ascii(g_.as_bool(n) ? "True" : "False"); break;
      case Kind::Int:
        if (GraphAccess::int_small(g_, n)) {
          char buf[24];
          char* p = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(GraphAccess::bits(g_, n))).ptr;
          sink_.ascii(std::string_view(buf, static_cast<size_t>(p - buf)));
        } else {
          const std::string le = g_.int_le(n);
          if constexpr (Sink::kMeasures) {
            // At least (8 * bytes - 9) * log10(2) decimal digits, or in hex
            // (past CPython's 4300 digits) two digits a byte less one.
            if (sink_.beyond(std::min((8 * le.size() - 9) * 3 / 10, 2 * le.size() - 2))) break;
          }
          emit(n, false, int_literal(le));
        }
        break;
      case Kind::Float:
        sink_.ascii(floats_.text(n, std::bit_cast<double>(GraphAccess::bits(g_, n))));
        break;
      case Kind::Str: {
        const std::string_view s = GraphAccess::str(g_, n);
        if constexpr (Sink::kMeasures) {
          if (sink_.beyond(s.size() / 4)) break;
        }
        // Printable ASCII with no quote or backslash is its own repr less
        // the two quotes: measured, or written, as it is.
        if (detail::repr_str_is_plain(s)) {
          sink_.quoted_ascii(s);
          break;
        }
        text_.clear();
        append_repr_str(text_, s);
        emitted(n, false);
        break;
      }
      case Kind::Bytes:
      case Kind::ByteArray:
        if constexpr (Sink::kMeasures) {
          if (sink_.beyond(g_.as_bytes(n).size())) break;
        }
        emit(n, false, repr_bytes(g_.as_bytes(n), k == Kind::ByteArray));
        break;
      case Kind::Global: {
        const GlobalData& gd = g_.global_data(n);
        if constexpr (Sink::kMeasures) {
          if (sink_.beyond((gd.module.size() + gd.qualname.size()) / 4)) break;
        }
        text_.clear();
        if (!callable_position) text_ += "<global ";
        text_ += gd.module;
        text_ += '.';
        text_ += gd.qualname;
        if (!callable_position) text_ += '>';
        emitted(n, callable_position);
        break;
      }
      case Kind::Buffer: {
        const BufferData& bd = g_.buffer_data(n);
        if constexpr (Sink::kMeasures) {
          if (sink_.beyond(bd.data.size())) break;
        }
        std::string s = "<buffer " + std::to_string(bd.index) + (bd.readonly ? " readonly" : " writable");
        if (!bd.data.empty()) s += " " + repr_bytes(bd.data);
        emit(n, false, std::move(s) + ">");
        break;
      }
      case Kind::Tuple: {
        size_t len = g_.length(n);
        if (len == 0) {
          sink_.text("()");
        } else {
          push(kSeq, n);
          sink_.open("(", len == 1);
        }
        break;
      }
      case Kind::List: open_or_empty(n, kSeq, "[", "[]"); break;
      case Kind::Set: open_or_empty(n, kSeq, "{", "set()"); break;
      case Kind::FrozenSet: open_or_empty(n, kSeq, "frozenset({", "frozenset()"); break;
      case Kind::Dict: open_or_empty(n, kDictPairs, "{", "{}"); break;
      case Kind::Object: {
        ObjForm form = object_form(n);
        push(kObj, n, 0, form);
        sink_.open(form == kReduce ? "Reduce(" : "Object(", false);
        break;
      }
      case Kind::PersId:
        push(kPersid, n);
        sink_.open("PersId(", false);
        break;
    }
  }

  // Advances the top group by one item (or closes it).
  void step() {
    Frame& f = stack_.back();
    switch (f.kind) {
      case kSeq: {
        auto items = seq_items(f.n);
        if (f.i >= items.size()) {
          close(close_text(f.n), g_.kind(f.n) == Kind::Tuple && items.size() == 1);
          return;
        }
        if (f.i > 0) sink_.sep();
        visit(items[f.i++], false);
        return;
      }
      case kRest: {
        auto items = g_.items(f.n);
        if (f.i >= items.size()) {
          close(")", items.size() == 2);
          return;
        }
        if (f.i > 1) sink_.sep();
        visit(items[f.i++], false);
        return;
      }
      case kDictPairs:
      case kObjDict: {
        std::span<const Pair> pairs =
            f.kind == kDictPairs ? dict_pairs(f.n) : std::span<const Pair>(g_.object_data(f.n).dictitems);
        if (f.i >= 2 * pairs.size()) {
          close("}", false);
          return;
        }
        uint64_t i = f.i++;
        const Pair& p = pairs[i / 2];
        if (i % 2 == 0) {
          if (i > 0) sink_.sep();
          visit(p.first, false);
        } else {
          sink_.text(": ");
          visit(p.second, false);
        }
        return;
      }
      case kObjList: {
        const std::vector<NodeId>& items = g_.object_data(f.n).listitems;
        if (f.i >= items.size()) {
          close("]", false);
          return;
        }
        if (f.i > 0) sink_.sep();
        visit(items[f.i++], false);
        return;
      }
      case kPersid:
        if (f.i == 0) {
          f.i = 1;
          visit(g_.persid_value(f.n), false);
        } else {
          close(")", false);
        }
        return;
      case kObj:
        step_object();
        return;
    }
  }

 private:
  void push(FrameKind kind, NodeId n, uint64_t i = 0, ObjForm form = kReduce) {
    stack_.push_back(Frame{n, kind, form, false, i});
  }

  void open_or_empty(NodeId n, FrameKind kind, const char* open, const char* empty) {
    if (g_.length(n) == 0) {
      sink_.text(empty);
    } else {
      push(kind, n);
      sink_.open(open, false);
    }
  }

  void close(const char* text, bool single_comma) {
    stack_.pop_back();
    sink_.close(text, single_comma);
  }

  void emit(NodeId n, bool callable_position, std::string s) {
    text_ = std::move(s);
    emitted(n, callable_position);
  }
  // text_ holds the text of n, just written there.
  void emitted(NodeId n, bool callable_position) {
    text_node_ = n;
    text_callable_ = callable_position;
    sink_.text(text_);
  }

  std::span<const NodeId> seq_items(NodeId n) {
    if (n != items_node_) {
      items_ = g_.items(n);
      items_node_ = n;
    }
    return items_;
  }

  std::span<const Pair> dict_pairs(NodeId n) {
    if (n != pairs_node_) {
      pairs_ = g_.dict_items(n);
      pairs_node_ = n;
    }
    return pairs_;
  }

  ObjForm object_form(NodeId n) const {
    const ObjectData& od = g_.object_data(n);
    if (od.callable == kNoNode || g_.kind(od.callable) != Kind::Global) return kReduce;
    if (od.args == kNoNode || g_.kind(od.args) != Kind::Tuple || mark_[od.args] >= kShared) return kReduce;
    const GlobalData& gd = g_.global_data(od.callable);
    if (gd.module != "copyreg") return kReduce;
    size_t len = g_.length(od.args);
    if (gd.qualname == "__newobj__" && len >= 1) return kNewobj;
    if (gd.qualname == "__newobj_ex__" && len == 3) return kNewobjEx;
    return kReduce;
  }

  const char* close_text(NodeId n) const {
    switch (g_.kind(n)) {
      case Kind::Tuple: return ")";
      case Kind::List: return "]";
      case Kind::FrozenSet: return "})";
      default: return "}";
    }
  }

  void step_object() {
    Frame& f = stack_.back();
    const NodeId n = f.n;
    const ObjectData& od = g_.object_data(n);
    const ObjForm form = f.form;
    while (f.i < 7) {
      uint64_t i = f.i++;
      auto entry = [&]() {
        if (f.any) sink_.sep();
        f.any = true;
      };
      switch (i) {
        case 0:  // the callable, or the class of NEWOBJ / NEWOBJ_EX
          if (form == kReduce) {
            if (od.callable == kNoNode) continue;
            entry();
            visit(od.callable, true);
          } else {
            entry();
            visit(g_.items(od.args)[0], true);
          }
          return;
        case 1:  // the arguments
          if (form == kReduce) {
            if (od.args == kNoNode) continue;
            entry();
            visit(od.args, false);
          } else if (form == kNewobj) {
            entry();
            size_t len = g_.length(od.args);
            if (len == 1) {
              sink_.text("()");
            } else {
              push(kRest, od.args, 1);
              sink_.open("(", len == 2);
            }
          } else {
            entry();
            visit(g_.items(od.args)[1], false);
          }
          return;
        case 2:  // NEWOBJ_EX keyword arguments
          if (form != kNewobjEx) continue;
          entry();
          sink_.text("kwargs=");
          visit(g_.items(od.args)[2], false);
          return;
        case 3:
          if (od.state == kNoNode) continue;
          entry();
          sink_.text("state=");
          visit(od.state, false);
          return;
        case 4:
          if (od.listitems.empty()) continue;
          entry();
          sink_.text("listitems=");
          push(kObjList, n);
          sink_.open("[", false);
          return;
        case 5:
          if (od.dictitems.empty()) continue;
          entry();
          sink_.text("dictitems=");
          push(kObjDict, n);
          sink_.open("{", false);
          return;
        case 6:  // the 6th item of the reduce tuple: state_setter(obj, state)
          if (od.state_setter == kNoNode) continue;
          entry();
          sink_.text("state_setter=");
          visit(od.state_setter, true);
          return;
      }
    }
    close(")", false);
  }

  const Graph& g_;
  std::vector<uint32_t>& mark_;
  FloatTexts& floats_;
  Sink& sink_;
  FrameStack stack_;
  std::string text_;  // the text of the last scalar made by emit()
  NodeId text_node_ = kNoNode;
  bool text_callable_ = false;
  NodeId pairs_node_ = kNoNode;  // the dict whose items pairs_ is
  std::span<const Pair> pairs_;
  NodeId items_node_ = kNoNode;  // the tuple, list or set whose items items_ is
  std::span<const NodeId> items_;
};

// ---- printing ------------------------------------------------------------------------

// Writes the tokens, breaking a group over lines (one item per line,
// indented by two blanks) when its one-line width does not fit. Whether a
// group fits is decided by the caller, right after its open (undecided()).
class Printer {
 public:
  static constexpr bool kMeasures = false;

  Printer(std::ostream& out, const ShowOptions& opt)
      : out_(out), max_levels_(opt.max_indent_levels), buf_(new char[2 * kChunk]) {}

  void text(std::string_view s) {
    put(s);
    col_ += display_cols(s);
  }
  // Text known to be ASCII: a column a byte.
  void ascii(std::string_view s) {
    put(s);
    col_ += s.size();
  }
  // 's', for s printable ASCII with no quote or backslash (its repr).
  void quoted_ascii(std::string_view s) {
    if (s.size() + 2 >= kChunk) {
      put("'");
      put(s);
      put("'");
    } else {
      char* w = buf_.get() + used_;
      w[0] = '\'';
      std::memcpy(w + 1, s.data(), s.size());
      w[s.size() + 1] = '\'';
      used_ += s.size() + 2;
      if (used_ >= kChunk) flush();
    }
    col_ += s.size() + 2;
  }
  void open(std::string_view s, bool) {
    const uint64_t before = col_;
    text(s);
    if (flat_depth_ > 0) {
      ++flat_depth_;
    } else if (levels_ >= max_levels_) {
      flat_depth_ = 1;
    } else {
      undecided_ = true;
      open_col_ = before;
      open_cols_ = col_ - before;
    }
  }
  void sep() {
    if (flat_depth_ > 0) {
      put(", ");
      col_ += 2;
    } else {
      put(",");
      newline();
    }
  }
  void close(std::string_view s, bool single_comma) {
    if (flat_depth_ > 0) {
      --flat_depth_;
      if (single_comma) {
        put(",");
        col_ += 1;
      }
    } else {
      put(",");
      --levels_;
      newline();
    }
    text(s);
  }

  // The group just opened, whose layout is still to be decided: the column
  // it starts at, and the width of its open text.
  bool undecided() const { return undecided_; }
  uint64_t open_col() const { return open_col_; }
  uint64_t open_cols() const { return open_cols_; }
  // The group just opened fits, and `rest` is the rest of it on one line.
  void write_line(std::string_view rest, uint64_t cols) {
    undecided_ = false;
    put(rest);
    col_ += cols;
  }
  void decide(bool one_line) {
    undecided_ = false;
    if (one_line) {
      flat_depth_ = 1;
    } else {
      ++levels_;
      newline();
    }
  }

  void flush() {
    out_.write(buf_.get(), static_cast<std::streamsize>(used_));
    used_ = 0;
  }

 private:
  // Written out once it holds kChunk bytes; it has room for 2 * kChunk, so
  // anything shorter than kChunk is stored without a check.
  static constexpr size_t kChunk = size_t{1} << 16;

  void put(std::string_view s) {
    if (s.size() >= kChunk) {
      flush();
      out_.write(s.data(), static_cast<std::streamsize>(s.size()));
      return;
    }
    copy_text(buf_.get() + used_, s);
    used_ += s.size();
    if (used_ >= kChunk) flush();
  }
  void newline() {
    buf_[used_++] = '\n';
    size_t blanks = static_cast<size_t>(2 * levels_);
    col_ = blanks;
    if (blanks <= 32) {
      // A fixed-size fill (no call): the buffer has kChunk bytes of room.
      std::memset(buf_.get() + used_, ' ', 32);
      used_ += blanks;
      blanks = 0;
    }
    while (blanks > 0) {
      const size_t n = std::min(blanks, 2 * kChunk - used_);
      std::memset(buf_.get() + used_, ' ', n);
      used_ += n;
      blanks -= n;
      if (used_ >= kChunk) flush();
    }
    if (used_ >= kChunk) flush();
  }

  std::ostream& out_;
  const int max_levels_;
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
  uint64_t col_ = 0;
  int levels_ = 0;           // broken groups open
  uint64_t flat_depth_ = 0;  // >0 inside a group printed on one line
  bool undecided_ = false;
  uint64_t open_col_ = 0;
  uint64_t open_cols_ = 0;
};

// Sums the one-line width of tokens, until it passes a budget. Scalars whose
// text is surely too wide are not rendered at all (beyond()), so measuring
// costs at most about `budget` columns' worth of work, whatever the group holds.
class Measurer {
 public:
  static constexpr bool kMeasures = true;

  void start(uint64_t used, uint64_t budget) {
    start_ = sum_ = used;
    budget_ = budget;
    used_ = 0;
  }
  bool over() const { return sum_ > budget_; }
  // True (and over) if `min_cols` more columns cannot fit.
  bool beyond(uint64_t min_cols) {
    if (over() || min_cols > budget_ - sum_) {
      sum_ = budget_ + 1;
      return true;
    }
    return false;
  }

  void text(std::string_view s) {
    sum_ += display_cols(s);
    keep(s);
  }
  void ascii(std::string_view s) {
    sum_ += s.size();
    keep(s);
  }
  void quoted_ascii(std::string_view s) {
    sum_ += s.size() + 2;
    keep("'");
    keep(s);
    keep("'");
  }
  void open(std::string_view s, bool) { text(s); }
  void sep() { ascii(", "); }
  void close(std::string_view s, bool single_comma) {
    if (single_comma) ascii(",");
    text(s);
  }

  // What a group that fits writes after its open, as the printer would
  // write it on one line, and its columns (if kept).
  bool kept() const { return used_ <= kKeep; }
  std::string_view line() const { return {line_.get(), used_}; }
  uint64_t line_cols() const { return sum_ - start_; }

 private:
  // The line is kept while it is short (a very wide --width could make it
  // as long as the whole output): a group that fits is then written from
  // here instead of being walked twice.
  static constexpr size_t kKeep = 4096;
  [[gnu::always_inline]] void keep(std::string_view s) {
    if (used_ + s.size() > kKeep) {
      // Too long, and from here on nothing is kept.
      used_ = kKeep + 1;
      return;
    }
    copy_text(line_.get() + used_, s);
    used_ += s.size();
  }

  uint64_t start_ = 0;
  uint64_t sum_ = 0;
  uint64_t budget_ = 0;
  std::unique_ptr<char[]> line_ = std::make_unique<char[]>(kKeep);
  size_t used_ = 0;  // kKeep + 1: not kept
};

// ---- JSON ---------------------------------------------------------------------------

void json_u(std::string& out, uint32_t u) {
  out += "\\u";
  append_hex(out, u, 4);
}

// A JSON string as json.dumps(ensure_ascii=True) writes it, from
// surrogatepass UTF-8 (malformed bytes, which a Graph never holds, become
// U+FFFD).
void json_string(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const uint32_t cp = next_code_point(s, i);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp <= 0x7e) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      json_u(out, cp);
    } else {
      uint32_t v = cp - 0x10000;
      json_u(out, 0xd800 | (v >> 10));
      json_u(out, 0xdc00 | (v & 0x3ff));
    }
  }
  out += '"';
}

}  // namespace

void show(const Graph& g, NodeId root, std::ostream& out, const ShowOptions& options) {
  std::vector<uint32_t> mark = count_reach(g, root);
  Printer printer(out, options);
  FloatTexts floats;
  Walker<Printer> walk(g, mark, floats, printer);
  Measurer measurer;
  Walker<Measurer> look(g, mark, floats, measurer);
  std::vector<NodeId> given;
  look.given = &given;
  const uint64_t width = static_cast<uint64_t>(std::max(1, options.width));

  // A group goes on one line when its one-line width fits in what is left
  // of the line. A second walker measures it from the group's open on, with
  // the labels printing would give, and stops once past the width: the
  // layout never holds more than a line's worth of the graph ahead.
  auto decide = [&] {
    if (!printer.undecided()) return;
    bool fits = false;
    const uint64_t at = printer.open_col();
    if (at < width) {
      measurer.start(printer.open_cols(), width - at);
      look.restart(walk.top(), walk.last_label);
      while (!look.done() && !measurer.over()) look.step();
      fits = !measurer.over();
      if (fits && measurer.kept()) {
        // Measured is written: the labels given stay given.
        printer.write_line(measurer.line(), measurer.line_cols());
        walk.skip_group(look.last_label);
        given.clear();
        return;
      }
      // Printing gives these labels again, in the same order.
      for (NodeId n : given) mark[n] = kShared;
      given.clear();
    }
    printer.decide(fits);
  };

  walk.visit(root, false);
  decide();
  while (!walk.done()) {
    walk.step();
    decide();
  }
  printer.flush();
}

namespace {

// Depth-first preorder from the root: the JSON index of each node reached.
struct Preorder {
  std::vector<uint32_t> index;  // UINT32_MAX: not reached
  std::vector<NodeId> order;
};

Preorder preorder(const Graph& g, NodeId root) {
  Preorder p;
  p.index.assign(g.size(), UINT32_MAX);
  std::vector<NodeId> todo{root};
  std::vector<NodeId> kids;
  while (!todo.empty()) {
    NodeId n = todo.back();
    todo.pop_back();
    if (p.index[n] != UINT32_MAX) continue;
    p.index[n] = static_cast<uint32_t>(p.order.size());
    p.order.push_back(n);
    kids.clear();
    for_each_child(g, n, [&](NodeId c) { kids.push_back(c); });
    for (size_t k = kids.size(); k-- > 0;)
      if (p.index[kids[k]] == UINT32_MAX) todo.push_back(kids[k]);
  }
  return p;
}

// One node of the graph JSON format, appended to `buf`.
class JsonNode {
 public:
  JsonNode(const Graph& g, const std::vector<uint32_t>& index, std::string& buf) : g_(g), index_(index), buf_(buf) {}

  void write(NodeId n) {
    switch (g_.kind(n)) {
      case Kind::None: buf_ += "{\"t\": \"none\"}"; break;
      case Kind::Bool: buf_ += g_.as_bool(n) ? "{\"t\": \"bool\", \"v\": true}" : "{\"t\": \"bool\", \"v\": false}"; break;
      case Kind::Int:
        buf_ += "{\"t\": \"int\", \"v\": \"";
        buf_ += g_.int_fits64(n) ? std::to_string(g_.as_int(n)) : int_literal(g_.int_le(n));
        buf_ += "\"}";
        break;
      case Kind::Float: floating(g_.as_float(n)); break;
      case Kind::Str:
        buf_ += "{\"t\": \"str\", \"v\": ";
        json_string(buf_, g_.as_str(n));
        buf_ += '}';
        break;
      case Kind::Bytes:
      case Kind::ByteArray:
        buf_ += g_.kind(n) == Kind::Bytes ? "{\"t\": \"bytes\", \"hex\": \"" : "{\"t\": \"bytearray\", \"hex\": \"";
        append_hex_bytes(buf_, g_.as_bytes(n));
        buf_ += "\"}";
        break;
      case Kind::Tuple: items("tuple", g_.items(n)); break;
      case Kind::List: items("list", g_.items(n)); break;
      case Kind::Set: items("set", g_.items(n)); break;
      case Kind::FrozenSet: items("frozenset", g_.items(n)); break;
      case Kind::Dict:
        buf_ += "{\"t\": \"dict\", \"items\": ";
        pair_list(g_.dict_items(n));
        buf_ += '}';
        break;
      case Kind::Global: {
        const GlobalData& gd = g_.global_data(n);
        buf_ += "{\"t\": \"global\", \"module\": ";
        json_string(buf_, gd.module);
        buf_ += ", \"name\": ";
        json_string(buf_, gd.qualname);
        buf_ += '}';
        break;
      }
      case Kind::Object: object(g_.object_data(n)); break;
      case Kind::PersId:
        buf_ += "{\"t\": \"persid\", \"pid\": ";
        ref(g_.persid_value(n));
        buf_ += '}';
        break;
      case Kind::Buffer: {
        const BufferData& bd = g_.buffer_data(n);
        buf_ += "{\"t\": \"buffer\", \"index\": " + std::to_string(bd.index) +
                ", \"readonly\": " + (bd.readonly ? "true" : "false") + "}";
        break;
      }
    }
  }

 private:
  void ref(NodeId n) { buf_ += std::to_string(index_[n]); }
  void ref_list(std::span<const NodeId> items) {
    buf_ += '[';
    for (size_t k = 0; k < items.size(); ++k) {
      if (k) buf_ += ", ";
      ref(items[k]);
    }
    buf_ += ']';
  }
  void pair_list(std::span<const Pair> pairs) {
    buf_ += '[';
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (k) buf_ += ", ";
      buf_ += '[';
      ref(pairs[k].first);
      buf_ += ", ";
      ref(pairs[k].second);
      buf_ += ']';
    }
    buf_ += ']';
  }
  void items(const char* t, std::span<const NodeId> items) {
    buf_ += "{\"t\": \"";
    buf_ += t;
    buf_ += "\", \"items\": ";
    ref_list(items);
    buf_ += '}';
  }
  void floating(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
    buf_ += "{\"t\": \"float\", \"bits\": \"";
    buf_ += hex;
    buf_ += "\", \"repr\": \"";
    buf_ += repr_float(d);
    buf_ += "\"}";
  }
  void optional_ref(const char* key, NodeId n) {
    if (n == kNoNode) return;
    buf_ += key;
    ref(n);
  }
  void object(const ObjectData& od) {
    buf_ += "{\"t\": \"object\"";
    optional_ref(", \"callable\": ", od.callable);
    optional_ref(", \"args\": ", od.args);
    optional_ref(", \"state\": ", od.state);
    optional_ref(", \"state_setter\": ", od.state_setter);
    buf_ += ", \"listitems\": ";
    ref_list(od.listitems);
    buf_ += ", \"dictitems\": ";
    pair_list(od.dictitems);
    buf_ += '}';
  }

  const Graph& g_;
  const std::vector<uint32_t>& index_;
  std::string& buf_;
};

}  // namespace

void show_json(const Graph& g, NodeId root, std::ostream& out) {
  const Preorder p = preorder(g, root);
  std::string buf;
  auto flush = [&] {
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    buf.clear();
  };
  JsonNode node(g, p.index, buf);
  buf += "{\"root\": 0, \"nodes\": [";
  for (size_t k = 0; k < p.order.size(); ++k) {
    if (k) buf += ", ";
    node.write(p.order[k]);
    if (buf.size() >= (1u << 16)) flush();
  }
  buf += "]}";
  flush();
}

}  // namespace pkl
