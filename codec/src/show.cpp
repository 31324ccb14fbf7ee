// Printing a graph: the readable notation (show) and the graph JSON format
// (show_json). Both walk the graph with explicit stacks, never recursion.
//
// show() works in three passes: count how often each node is reached (to
// know which need a label), lay the notation out as a flat stream of tokens
// (text, group open/close, item separator) in print order, then print the
// stream, breaking a group over lines when its one-line width does not fit.
#include "picklecodec/show.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "picklecodec/repr.hpp"

namespace pkl {
namespace {

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

// ---- tokens ------------------------------------------------------------------

enum TokKind : uint8_t { kText, kOpen, kSep, kClose };

struct Tok {
  TokKind kind;
  bool single_comma = false;  // kOpen: a one-item tuple, written "(x,)" on one line
  uint32_t cols = 0;          // display width of the text
  uint64_t off = 0;           // text in the arena
  uint64_t len = 0;
  uint64_t size = 0;          // kOpen: one-line width of the whole group
};

uint32_t display_cols(std::string_view s) {
  uint32_t n = 0;
  for (char c : s)
    if ((static_cast<uint8_t>(c) & 0xc0) != 0x80) ++n;
  return n;
}

class Layout {
 public:
  void text(std::string_view s) { add(kText, s); }
  void open(std::string_view s, bool single_comma = false) {
    add(kOpen, s);
    toks_.back().single_comma = single_comma;
  }
  void sep() { toks_.push_back(Tok{kSep}); }
  void close(std::string_view s) { add(kClose, s); }

  void measure() {
    struct Open {
      size_t index;
      uint64_t acc;
    };
    std::vector<Open> stack;
    uint64_t top_acc = 0;
    for (size_t i = 0; i < toks_.size(); ++i) {
      Tok& t = toks_[i];
      uint64_t* acc = stack.empty() ? &top_acc : &stack.back().acc;
      switch (t.kind) {
        case kText: *acc += t.cols; break;
        case kSep: *acc += 2; break;
        case kOpen: stack.push_back(Open{i, t.cols}); break;
        case kClose: {
          Open o = stack.back();
          stack.pop_back();
          uint64_t total = o.acc + t.cols + (toks_[o.index].single_comma ? 1 : 0);
          toks_[o.index].size = total;
          (stack.empty() ? top_acc : stack.back().acc) += total;
          break;
        }
      }
    }
  }

  void print(std::ostream& out, const ShowOptions& opt) {
    std::string buf;
    auto flush = [&] {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    };
    const uint64_t width = static_cast<uint64_t>(std::max(1, opt.width));
    uint64_t col = 0;
    int levels = 0;           // broken groups open
    uint64_t flat_depth = 0;  // >0 inside a group printed on one line
    auto newline = [&] {
      buf += '\n';
      buf.append(static_cast<size_t>(2 * levels), ' ');
      col = static_cast<uint64_t>(2 * levels);
    };
    for (const Tok& t : toks_) {
      std::string_view s(arena_.data() + t.off, t.len);
      switch (t.kind) {
        case kText:
          buf += s;
          col += t.cols;
          break;
        case kOpen:
          buf += s;
          col += t.cols;
          if (flat_depth > 0) {
            ++flat_depth;
          } else if (col - t.cols + t.size <= width || levels >= opt.max_indent_levels) {
            flat_depth = 1;
          } else {
            ++levels;
            newline();
          }
          break;
        case kSep:
          if (flat_depth > 0) {
            buf += ", ";
            col += 2;
          } else {
            buf += ',';
            newline();
          }
          break;
        case kClose:
          if (flat_depth > 0) {
            --flat_depth;
            if (t.single_comma) {
              buf += ',';
              col += 1;
            }
          } else {
            buf += ',';
            --levels;
            newline();
          }
          buf += s;
          col += t.cols;
          break;
      }
      if (buf.size() >= (1u << 16)) flush();
    }
    flush();
  }

  // The close of a one-item tuple: ",)" when printed on one line.
  void close_single(std::string_view s) {
    add(kClose, s);
    toks_.back().single_comma = true;
  }

  std::vector<Tok>& toks() { return toks_; }

 private:
  void add(TokKind k, std::string_view s) {
    Tok t{k};
    t.off = arena_.size();
    t.len = s.size();
    t.cols = display_cols(s);
    arena_ += s;
    toks_.push_back(t);
  }
  std::vector<Tok> toks_;
  std::string arena_;
};

// ---- building the token stream -------------------------------------------------

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

struct Frame {
  FrameKind kind;
  ObjForm form = kReduce;
  bool any = false;  // an entry was written (kObj)
  NodeId n;
  uint64_t i = 0;
};

class Builder {
 public:
  Builder(const Graph& g, Layout& out) : g_(g), out_(out) {}

  void run(NodeId root) {
    count(root);
    visit(root, false);
    while (!stack_.empty()) step();
  }

 private:
  void count(NodeId root) {
    refs_.assign(g_.size(), 0);
    std::vector<uint8_t> seen(g_.size(), 0);
    std::vector<NodeId> todo{root};
    refs_[root] = 1;
    seen[root] = 1;
    while (!todo.empty()) {
      NodeId n = todo.back();
      todo.pop_back();
      for_each_child(g_, n, [&](NodeId c) {
        if (refs_[c] < 2) ++refs_[c];
        if (!seen[c]) {
          seen[c] = 1;
          todo.push_back(c);
        }
      });
    }
    labels_.assign(g_.size(), 0);
  }

  std::string global_name(NodeId n) const {
    const GlobalData& gd = g_.global_data(n);
    return gd.module + "." + gd.qualname;
  }

  // Writes an item: a scalar in full, or a labelled/labelling compound node,
  // pushing a frame for its contents.
  void visit(NodeId n, bool callable_position) {
    Kind k = g_.kind(n);
    if (is_labelable(k) && refs_[n] >= 2) {
      if (labels_[n] != 0) {
        out_.text("*" + std::to_string(labels_[n]));
        return;
      }
      labels_[n] = ++next_label_;
      out_.text("&" + std::to_string(labels_[n]) + " ");
    }
    switch (k) {
      case Kind::None: out_.text("None"); break;
      case Kind::Bool: out_.text(g_.as_bool(n) ? "True" : "False"); break;
      case Kind::Int:
        out_.text(g_.int_fits64(n) ? std::to_string(g_.as_int(n)) : g_.int_decimal(n));
        break;
      case Kind::Float: out_.text(repr_float(g_.as_float(n))); break;
      case Kind::Str: out_.text(repr_str(g_.as_str(n))); break;
      case Kind::Bytes: out_.text(repr_bytes(g_.as_bytes(n))); break;
      case Kind::ByteArray: out_.text(repr_bytes(g_.as_bytes(n), true)); break;
      case Kind::Global:
        out_.text(callable_position ? global_name(n) : "<global " + global_name(n) + ">");
        break;
      case Kind::Buffer: {
        const BufferData& bd = g_.buffer_data(n);
        std::string s = "<buffer " + std::to_string(bd.index) + (bd.readonly ? " readonly" : " writable");
        if (!bd.data.empty()) s += " " + repr_bytes(bd.data);
        out_.text(s + ">");
        break;
      }
      case Kind::Tuple: {
        size_t len = g_.length(n);
        if (len == 0) {
          out_.text("()");
        } else {
          out_.open("(", len == 1);
          stack_.push_back(Frame{kSeq, kReduce, false, n, 0});
        }
        break;
      }
      case Kind::List:
        if (g_.length(n) == 0) {
          out_.text("[]");
        } else {
          out_.open("[");
          stack_.push_back(Frame{kSeq, kReduce, false, n, 0});
        }
        break;
      case Kind::Set:
        if (g_.length(n) == 0) {
          out_.text("set()");
        } else {
          out_.open("{");
          stack_.push_back(Frame{kSeq, kReduce, false, n, 0});
        }
        break;
      case Kind::FrozenSet:
        if (g_.length(n) == 0) {
          out_.text("frozenset()");
        } else {
          out_.open("frozenset({");
          stack_.push_back(Frame{kSeq, kReduce, false, n, 0});
        }
        break;
      case Kind::Dict:
        if (g_.length(n) == 0) {
          out_.text("{}");
        } else {
          out_.open("{");
          stack_.push_back(Frame{kDictPairs, kReduce, false, n, 0});
        }
        break;
      case Kind::Object: {
        ObjForm form = object_form(n);
        out_.open(form == kReduce ? "Reduce(" : "Object(");
        stack_.push_back(Frame{kObj, form, false, n, 0});
        break;
      }
      case Kind::PersId:
        out_.open("PersId(");
        stack_.push_back(Frame{kPersid, kReduce, false, n, 0});
        break;
    }
  }

  ObjForm object_form(NodeId n) const {
    const ObjectData& od = g_.object_data(n);
    if (od.callable == kNoNode || g_.kind(od.callable) != Kind::Global) return kReduce;
    if (od.args == kNoNode || g_.kind(od.args) != Kind::Tuple || refs_[od.args] >= 2) return kReduce;
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

  void close_frame(const char* text, bool single) {
    if (single) {
      out_.close_single(text);
    } else {
      out_.close(text);
    }
    stack_.pop_back();
  }

  // Advances the top frame by one item.
  void step() {
    Frame& f = stack_.back();
    switch (f.kind) {
      case kSeq: {
        auto items = g_.items(f.n);
        if (f.i >= items.size()) {
          close_frame(close_text(f.n), g_.kind(f.n) == Kind::Tuple && items.size() == 1);
          return;
        }
        if (f.i > 0) out_.sep();
        NodeId c = items[f.i++];
        visit(c, false);
        return;
      }
      case kRest: {
        auto items = g_.items(f.n);
        if (f.i >= items.size()) {
          close_frame(")", items.size() == 2);
          return;
        }
        if (f.i > 1) out_.sep();
        NodeId c = items[f.i++];
        visit(c, false);
        return;
      }
      case kDictPairs:
      case kObjDict: {
        std::span<const Pair> pairs =
            f.kind == kDictPairs ? g_.dict_items(f.n) : std::span<const Pair>(g_.object_data(f.n).dictitems);
        if (f.i >= 2 * pairs.size()) {
          close_frame("}", false);
          return;
        }
        uint64_t i = f.i++;
        const Pair& p = pairs[i / 2];
        if (i % 2 == 0) {
          if (i > 0) out_.sep();
          visit(p.first, false);
        } else {
          out_.text(": ");
          visit(p.second, false);
        }
        return;
      }
      case kObjList: {
        const std::vector<NodeId>& items = g_.object_data(f.n).listitems;
        if (f.i >= items.size()) {
          close_frame("]", false);
          return;
        }
        if (f.i > 0) out_.sep();
        NodeId c = items[f.i++];
        visit(c, false);
        return;
      }
      case kPersid:
        if (f.i == 0) {
          f.i = 1;
          visit(g_.persid_value(f.n), false);
        } else {
          close_frame(")", false);
        }
        return;
      case kObj:
        step_object();
        return;
    }
  }

  void step_object() {
    Frame& f = stack_.back();
    const NodeId n = f.n;
    const ObjectData& od = g_.object_data(n);
    const ObjForm form = f.form;
    while (f.i < 6) {
      uint64_t i = f.i++;
      auto entry = [&]() {
        if (f.any) out_.sep();
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
              out_.text("()");
            } else {
              out_.open("(", len == 2);
              stack_.push_back(Frame{kRest, kReduce, false, od.args, 1});
            }
          } else {
            entry();
            visit(g_.items(od.args)[1], false);
          }
          return;
        case 2:  // NEWOBJ_EX keyword arguments
          if (form != kNewobjEx) continue;
          entry();
          out_.text("kwargs=");
          visit(g_.items(od.args)[2], false);
          return;
        case 3:
          if (od.state == kNoNode) continue;
          entry();
          out_.text("state=");
          visit(od.state, false);
          return;
        case 4:
          if (od.listitems.empty()) continue;
          entry();
          out_.text("listitems=");
          out_.open("[");
          stack_.push_back(Frame{kObjList, kReduce, false, n, 0});
          return;
        case 5:
          if (od.dictitems.empty()) continue;
          entry();
          out_.text("dictitems=");
          out_.open("{");
          stack_.push_back(Frame{kObjDict, kReduce, false, n, 0});
          return;
      }
    }
    close_frame(")", false);
  }

  const Graph& g_;
  Layout& out_;
  std::vector<uint8_t> refs_;
  std::vector<uint32_t> labels_;
  uint32_t next_label_ = 0;
  std::vector<Frame> stack_;
};

// ---- JSON ---------------------------------------------------------------------------

constexpr char kHex[] = "0123456789abcdef";

void json_u(std::string& out, uint32_t u) {
  out += "\\u";
  for (int s = 12; s >= 0; s -= 4) out += kHex[(u >> s) & 0xf];
}

// A JSON string as json.dumps(ensure_ascii=True) writes it, from
// surrogatepass UTF-8 (malformed bytes, which a Graph never holds, become
// U+FFFD).
void json_string(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    auto b0 = static_cast<uint8_t>(s[i]);
    uint32_t cp = 0xfffd;
    size_t len = 1;
    auto cont = [&](size_t k) {
      return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xc0) == 0x80;
    };
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) {
      cp = (uint32_t{b0 & 0x1fu} << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3fu);
      len = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef && cont(1) && cont(2)) {
      uint32_t v = (uint32_t{b0 & 0x0fu} << 12) | ((static_cast<uint8_t>(s[i + 1]) & 0x3fu) << 6) |
                   (static_cast<uint8_t>(s[i + 2]) & 0x3fu);
      if (v >= 0x800) {
        cp = v;
        len = 3;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4 && cont(1) && cont(2) && cont(3)) {
      uint32_t v = (uint32_t{b0 & 0x07u} << 18) | ((static_cast<uint8_t>(s[i + 1]) & 0x3fu) << 12) |
                   ((static_cast<uint8_t>(s[i + 2]) & 0x3fu) << 6) | (static_cast<uint8_t>(s[i + 3]) & 0x3fu);
      if (v >= 0x10000 && v <= 0x10ffff) {
        cp = v;
        len = 4;
      }
    }
    i += len;
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

void hex_of(std::string& out, std::string_view data) {
  for (char c : data) {
    auto b = static_cast<uint8_t>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
}

}  // namespace

void show(const Graph& g, NodeId root, std::ostream& out, const ShowOptions& options) {
  Layout layout;
  Builder builder(g, layout);
  builder.run(root);
  layout.measure();
  layout.print(out, options);
}

void show_json(const Graph& g, NodeId root, std::ostream& out) {
  // Depth-first preorder numbering from the root.
  std::vector<uint32_t> index(g.size(), UINT32_MAX);
  std::vector<NodeId> order;
  std::vector<NodeId> todo{root};
  std::vector<NodeId> kids;
  while (!todo.empty()) {
    NodeId n = todo.back();
    todo.pop_back();
    if (index[n] != UINT32_MAX) continue;
    index[n] = static_cast<uint32_t>(order.size());
    order.push_back(n);
    kids.clear();
    for_each_child(g, n, [&](NodeId c) { kids.push_back(c); });
    for (size_t k = kids.size(); k-- > 0;)
      if (index[kids[k]] == UINT32_MAX) todo.push_back(kids[k]);
  }

  std::string buf;
  auto flush = [&] {
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    buf.clear();
  };
  auto ref = [&](NodeId n) { buf += std::to_string(index[n]); };
  auto ref_list = [&](std::span<const NodeId> items) {
    buf += '[';
    for (size_t k = 0; k < items.size(); ++k) {
      if (k) buf += ", ";
      ref(items[k]);
    }
    buf += ']';
  };
  auto pair_list = [&](std::span<const Pair> pairs) {
    buf += '[';
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (k) buf += ", ";
      buf += '[';
      ref(pairs[k].first);
      buf += ", ";
      ref(pairs[k].second);
      buf += ']';
    }
    buf += ']';
  };

  buf += "{\"root\": 0, \"nodes\": [";
  for (size_t k = 0; k < order.size(); ++k) {
    NodeId n = order[k];
    if (k) buf += ", ";
    switch (g.kind(n)) {
      case Kind::None: buf += "{\"t\": \"none\"}"; break;
      case Kind::Bool: buf += g.as_bool(n) ? "{\"t\": \"bool\", \"v\": true}" : "{\"t\": \"bool\", \"v\": false}"; break;
      case Kind::Int:
        buf += "{\"t\": \"int\", \"v\": \"";
        buf += g.int_fits64(n) ? std::to_string(g.as_int(n)) : g.int_decimal(n);
        buf += "\"}";
        break;
      case Kind::Float: {
        double d = g.as_float(n);
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
        buf += "{\"t\": \"float\", \"bits\": \"";
        buf += hex;
        buf += "\", \"repr\": \"";
        buf += repr_float(d);
        buf += "\"}";
        break;
      }
      case Kind::Str:
        buf += "{\"t\": \"str\", \"v\": ";
        json_string(buf, g.as_str(n));
        buf += '}';
        break;
      case Kind::Bytes:
      case Kind::ByteArray:
        buf += g.kind(n) == Kind::Bytes ? "{\"t\": \"bytes\", \"hex\": \"" : "{\"t\": \"bytearray\", \"hex\": \"";
        hex_of(buf, g.as_bytes(n));
        buf += "\"}";
        break;
      case Kind::Tuple:
      case Kind::List:
      case Kind::Set:
      case Kind::FrozenSet: {
        const char* t = g.kind(n) == Kind::Tuple  ? "tuple"
                        : g.kind(n) == Kind::List ? "list"
                        : g.kind(n) == Kind::Set  ? "set"
                                                  : "frozenset";
        buf += "{\"t\": \"";
        buf += t;
        buf += "\", \"items\": ";
        ref_list(g.items(n));
        buf += '}';
        break;
      }
      case Kind::Dict:
        buf += "{\"t\": \"dict\", \"items\": ";
        pair_list(g.dict_items(n));
        buf += '}';
        break;
      case Kind::Global: {
        const GlobalData& gd = g.global_data(n);
        buf += "{\"t\": \"global\", \"module\": ";
        json_string(buf, gd.module);
        buf += ", \"name\": ";
        json_string(buf, gd.qualname);
        buf += '}';
        break;
      }
      case Kind::Object: {
        const ObjectData& od = g.object_data(n);
        buf += "{\"t\": \"object\"";
        if (od.callable != kNoNode) {
          buf += ", \"callable\": ";
          ref(od.callable);
        }
        if (od.args != kNoNode) {
          buf += ", \"args\": ";
          ref(od.args);
        }
        if (od.state != kNoNode) {
          buf += ", \"state\": ";
          ref(od.state);
        }
        buf += ", \"listitems\": ";
        ref_list(od.listitems);
        buf += ", \"dictitems\": ";
        pair_list(od.dictitems);
        buf += '}';
        break;
      }
      case Kind::PersId:
        buf += "{\"t\": \"persid\", \"pid\": ";
        ref(g.persid_value(n));
        buf += '}';
        break;
      case Kind::Buffer: {
        const BufferData& bd = g.buffer_data(n);
        buf += "{\"t\": \"buffer\", \"index\": " + std::to_string(bd.index) +
               ", \"readonly\": " + (bd.readonly ? "true" : "false") + "}";
        break;
      }
    }
    if (buf.size() >= (1u << 16)) flush();
  }
  buf += "]}";
  flush();
}

}  // namespace pkl
