// The encoder's work loop, value access, memo, and the containers' item
// batches: _pickle.c's save(), save_list / batch_list_exact, save_dict /
// batch_dict_exact, save_set, save_frozenset and save_tuple, step by step.
#include "encode/engine.hpp"
#include "text/latin1.hpp"
#include "text/utf8.hpp"

#include <bit>
#include <cstring>
#include <span>

#include "value/access.hpp"

namespace pkl::enc {

namespace {

// Nested saves of one object before it is memoized; past this CPython would
// long have raised RecursionError.
constexpr uint32_t kMaxNest = 100'000;

std::string global_key(std::string_view module, std::string_view qualname) {
  std::string key;
  key.reserve(module.size() + qualname.size() + 6);
  key += 'G';
  const auto m = static_cast<uint32_t>(module.size());
  key.append(reinterpret_cast<const char*>(&m), sizeof m);
  key += module;
  key += qualname;
  return key;
}

}  // namespace

[[noreturn]] void fail(ErrorCode code, std::string message) { throw Error(code, std::move(message)); }

void bad_reduce_element(const char* nth, const char* expected, std::string_view got) {
  unpicklable(std::string(nth) + " element of the tuple returned by __reduce__ must be " + expected + ", not " +
              std::string(got));
}

void bad_newobj_ex_item(const char* nth, const char* expected, Kind got) {
  unpicklable(std::string(nth) + " item from NEWOBJ_EX argument tuple must be a " + expected + ", not " +
              kind_name(got));
}

void bad_getnewargs_ex_item(const char* nth, const char* expected, std::string_view got) {
  fail(ErrorCode::TypeError, std::string(nth) + " item of the tuple returned by __getnewargs_ex__ must be a " +
                                 expected + ", not '" + std::string(got) + "'");
}

void bad_identifier(const char* what, std::string_view name, int protocol) {
  unpicklable("can't pickle " + std::string(what) + " identifier '" + std::string(name) + "' using pickle protocol " +
              std::to_string(protocol));
}

void too_large_below_protocol_4(const char* what) {
  unpicklable("serializing a " + std::string(what) + " larger than 4 GiB requires pickle protocol 4 or higher");
}

void unhashable(Kind k) { fail(ErrorCode::TypeError, std::string("unhashable type: '") + kind_name(k) + "'"); }

Engine::Engine(const Graph* g, Graph* mg, const EncodeOptions& options, std::string& out,
               std::vector<Extern>* externs)
    : g_(*g),
      mg_(mg),
      o_(options),
      proto_(options.protocol < 0 ? kHighestProtocol : options.protocol),
      bin_(proto_ > 0),
      inline_ok_(!options.persistent_id),
      buf_(out),
      out_(out),
      externs_(externs) {
  if (options.protocol > kHighestProtocol)
    fail(ErrorCode::Usage, "pickle protocol must be <= " + std::to_string(kHighestProtocol));
  memo_.assign(g_.size());
  active_.assign(g_.size());
  // The pickle is at most about the graph's payload bytes (twice that below
  // protocol 3, whose bytes are written as latin-1 text in UTF-8) plus a
  // few bytes a node (a float is 9): reserved, not touched, so the output
  // buffer is not copied as it grows.
  out_.reserve((proto_ < 3 ? 2 : 1) * GraphAccess::payload_bytes(g_) + 10 * g_.size() + 4096);
  stack_.reserve(64);
}

Graph& Engine::mutable_graph(const char* why) {
  if (!mg_)
    fail(ErrorCode::Usage, std::string(why) + " needs a mutable Graph: call encode() with a non-const Graph");
  return *mg_;
}

// ---- synthetic values -----------------------------------------------------

Val Engine::add_synth(const Synth& s) {
  if (synth_.size() >= kSynthBit - 1) fail(ErrorCode::ResourceLimit, "too many objects to pickle");
  synth_.push_back(s);
  return static_cast<Val>(synth_.size() - 1) | kSynthBit;
}

size_t Engine::add_text(std::string_view s) {
  const size_t off = text_.size();
  text_.append(s.data(), s.size());
  return off;
}

Val Engine::s_global(std::string_view module, std::string_view qualname) {
  std::string key = global_key(module, qualname);
  auto it = named_synth_.find(key);
  if (it != named_synth_.end()) return it->second;
  Synth s{SKind::Global};
  s.t = add_text(module);
  s.tn = module.size();
  s.u = add_text(qualname);
  s.un = qualname.size();
  const Val v = add_synth(s);
  named_synth_.emplace(std::move(key), v);
  return v;
}

Val Engine::s_str(std::string_view utf8) {
  Synth s{SKind::Str};
  s.t = add_text(utf8);
  s.tn = utf8.size();
  return add_synth(s);
}

Val Engine::s_str_of_latin1(Val bytes) {
  // Megabytes for a large blob: a binary pickle gets them widened straight
  // into the output when the str is saved (save_str); protocol 0's
  // raw-unicode-escape reads the UTF-8 from the text store.
  const std::string_view data = str_utf8(bytes);
  if (bin_) {
    Synth s{SKind::Str};
    s.latin1 = true;
    s.view = bytes;
    s.tn = detail::latin1_utf8_size(data);
    return add_synth(s);
  }
  return s_str(detail::latin1_to_utf8(data));
}

Val Engine::s_named_str(char cat, std::string_view utf8) {
  std::string key(1, cat);
  key += utf8;
  auto it = named_synth_.find(key);
  if (it != named_synth_.end()) return it->second;
  Synth s{SKind::Str};
  s.named = true;
  s.u = add_text(key);
  s.un = key.size();
  s.t = s.u + 1;
  s.tn = utf8.size();
  const Val v = add_synth(s);
  named_synth_.emplace(std::move(key), v);
  return v;
}

Val Engine::s_latin1_char(unsigned code) {
  Synth s{SKind::Latin1Char};
  s.a = code;
  char buf[4];
  const size_t len = code == kEmptyStr ? 0 : static_cast<size_t>(put_utf8(buf, code) - buf);
  s.t = add_text(std::string_view(buf, len));
  s.tn = len;
  return add_synth(s);
}

Val Engine::s_str_piece(std::string_view utf8) {
  // str.split makes empty pieces and one-character pieces below U+0100 as
  // the interpreter's singletons (_PyUnicode_FromUCS1), others as new strs.
  if (utf8.empty()) return s_latin1_char(kEmptyStr);
  if (const int c = detail::one_latin1_char(utf8); c >= 0) return s_latin1_char(static_cast<unsigned>(c));
  return s_str(utf8);
}

Val Engine::s_tuple(std::initializer_list<Val> items, Val view) {
  if (items.size() == 0 && view == kNoVal) {
    if (empty_tuple_ == kNoVal) empty_tuple_ = add_synth(Synth{SKind::EmptyTuple});
    return empty_tuple_;
  }
  Synth s{SKind::Tuple};
  s.a = static_cast<uint32_t>(pool_.size());
  s.n = static_cast<uint32_t>(items.size());
  pool_.insert(pool_.end(), items.begin(), items.end());
  s.view = view;
  return add_synth(s);
}

Val Engine::s_list_view(Val view) {
  Synth s{SKind::List};
  s.view = view;
  return add_synth(s);
}

Val Engine::s_dict_view(Val view) {
  Synth s{SKind::Dict};
  s.view = view;
  return add_synth(s);
}

Kind Engine::kind_of(Val v) const {
  if (!is_synth(v)) return g_.kind(v);
  switch (syn(v).kind) {
    case SKind::EmptyTuple:
    case SKind::Tuple: return Kind::Tuple;
    case SKind::Latin1Char:
    case SKind::Str: return Kind::Str;
    case SKind::Bytes: return Kind::Bytes;
    case SKind::List: return Kind::List;
    case SKind::Dict: return Kind::Dict;
    case SKind::Global: return Kind::Global;
    case SKind::ObjectNew:
    case SKind::Partial: return Kind::Object;
  }
  return Kind::Object;
}

size_t Engine::seq_len(Val v) const {
  if (!is_synth(v)) return g_.items(v).size();
  const Synth& s = syn(v);
  if (s.kind == SKind::EmptyTuple) return 0;
  size_t len = s.n;
  if (s.view != kNoVal) len += seq_len(s.view) - s.skip;
  return len;
}

Val Engine::seq_item(Val v, size_t i) const {
  if (!is_synth(v)) return g_.items(v)[i];
  const Synth& s = syn(v);
  if (i < s.n) return pool_[s.a + i];
  return seq_item(s.view, i - s.n + s.skip);
}

size_t Engine::dict_len(Val v) const {
  if (!is_synth(v)) return g_.dict_items(v).size();
  const Synth& s = syn(v);
  size_t len = s.n;
  if (s.view != kNoVal) len += dict_len(s.view);
  return len;
}

std::pair<Val, Val> Engine::dict_pair(Val v, size_t i) const {
  if (!is_synth(v)) {
    const Pair& p = g_.dict_items(v)[i];
    return {p.first, p.second};
  }
  const Synth& s = syn(v);
  if (i < s.n) return {pool_[s.a + 2 * i], pool_[s.a + 2 * i + 1]};
  return dict_pair(s.view, i - s.n);
}

std::string_view Engine::str_utf8(Val v) const {
  if (!is_synth(v)) return kind_of(v) == Kind::Str ? g_.as_str(v) : g_.as_bytes(v);
  const Synth& s = syn(v);
  if (s.latin1) throw std::logic_error("str_utf8 of a latin-1 str that is never stored");
  return text(s.t, s.tn);
}

int Engine::singleton_code(Val v) const {
  if (is_synth(v)) {
    const Synth& s = syn(v);
    return s.kind == SKind::Latin1Char ? static_cast<int>(s.a) : -1;
  }
  const bool node = v < GraphAccess::size(g_) && GraphAccess::kind(g_, v) == Kind::Str;
  if (node && GraphAccess::str_size(g_, v) > 2) return -1;  // not made (a latin-1 str's UTF-8)
  const std::string_view s = node ? GraphAccess::str(g_, v) : g_.as_str(v);
  if (s.empty()) return static_cast<int>(kEmptyStr);
  return detail::one_latin1_char(s);
}

void Engine::global_name(Val v, std::string_view& module, std::string_view& qualname) const {
  if (!is_synth(v)) {
    const GlobalData& gd = g_.global_data(v);
    module = gd.module;
    qualname = gd.qualname;
    return;
  }
  const Synth& s = syn(v);
  module = text(s.t, s.tn);
  qualname = text(s.u, s.un);
}

// ---- memo -----------------------------------------------------------------

void Engine::grow_nodes() {
  const size_t size = g_.size();  // a hook added nodes
  memo_.resize(size);
  active_.resize(size);
}

uint32_t Engine::memo_lookup(Val v) {
  if (!is_synth(v)) {
    ensure_node(v);
    if (memo_[v]) return memo_[v];
    return memo_lookup_shared(v, g_.kind(v));
  }
  return memo_lookup_synth(v);
}

// A str or global not memoized as itself may be, as a singleton str or a
// global of the same name met as a synthetic value.
uint32_t Engine::memo_lookup_shared(NodeId v, Kind k) {
  if (k == Kind::Str) {
    const int c = singleton_code(v);
    return c >= 0 ? latin1_memo_[c] : 0;
  }
  if (k == Kind::Global) {
    std::string_view m, q;
    global_name(v, m, q);
    auto it = named_memo_.find(global_key(m, q));
    if (it != named_memo_.end()) return memo_[v] = it->second;
  }
  return 0;
}

uint32_t Engine::memo_lookup_synth(Val v) {
  const Synth& s = syn(v);
  switch (s.kind) {
    case SKind::Latin1Char: return latin1_memo_[s.a];
    case SKind::Global: {
      auto it = named_memo_.find(global_key(text(s.t, s.tn), text(s.u, s.un)));
      return it == named_memo_.end() ? 0 : it->second;
    }
    case SKind::Str:
      if (s.named) {
        auto it = named_memo_.find(std::string(text(s.u, s.un)));
        return it == named_memo_.end() ? 0 : it->second;
      }
      return s.memo;
    case SKind::ObjectNew: {
      auto it = named_memo_.find("N");
      return it == named_memo_.end() ? 0 : it->second;
    }
    default: return s.memo;
  }
}

void Engine::memo_put(Val v) {
  if (!is_synth(v)) {
    memo_put_node(v, v < g_.size() ? kind_fast(v) : g_.kind(v));
    return;
  }
  const uint32_t cell = next_memo();
  Synth& s = syn(v);
  switch (s.kind) {
    case SKind::Latin1Char: latin1_memo_[s.a] = cell; break;
    case SKind::Global: named_memo_[global_key(text(s.t, s.tn), text(s.u, s.un))] = cell; break;
    case SKind::Str:
      if (s.named)
        named_memo_[std::string(text(s.u, s.un))] = cell;
      else
        s.memo = cell;
      break;
    case SKind::ObjectNew: named_memo_["N"] = cell; break;
    default: s.memo = cell; break;
  }
  write_put(cell - 1);
}

void Engine::memo_put_node(NodeId v, Kind k) {
  const uint32_t cell = next_memo();
  ensure_node(v);
  memo_[v] = cell;
  ++node_puts_;
  if (k == Kind::Str) {
    const int c = singleton_code(v);
    if (c >= 0) latin1_memo_[c] = cell;
  } else if (k == Kind::Global) {
    std::string_view m, q;
    global_name(v, m, q);
    named_memo_[global_key(m, q)] = cell;
  }
  write_put(cell - 1);
}

void Engine::memo_too_large() { unpicklable("memo id too large for LONG_BINPUT"); }

void Engine::write_text_memo(char code, uint32_t idx) {
  out_.write(std::string(1, code) + std::to_string(idx) + "\n");
}

uint32_t Engine::enter(Val v) {
  if (is_synth(v)) return 0;
  ensure_node(v);
  const uint32_t prev = active_[v];
  if (prev != 0) {
    // v is being saved again before it was memoized. If no graph node was
    // memoized since the last time, the same path repeats for ever.
    if (prev - 1 == node_puts_ || ++nest_[v] > kMaxNest)
      fail(ErrorCode::ResourceLimit, "maximum recursion depth exceeded while pickling an object");
  }
  active_[v] = node_puts_ + 1;
  return prev;
}

void Engine::leave(Val v, uint32_t prev) {
  if (is_synth(v)) return;
  active_[v] = prev;
  if (prev != 0) {
    auto it = nest_.find(v);
    if (it != nest_.end() && --it->second == 0) nest_.erase(it);
  }
}

// ---- the loop -------------------------------------------------------------

void Engine::run(NodeId root) {
  (void)g_.kind(root);  // a bad handle is a Usage error
  if (o_.buffer_callback && proto_ < 5) fail(ErrorCode::Usage, "buffer_callback needs protocol >= 5");
  if (proto_ >= 2) {
    const char header[2] = {static_cast<char>(op::PROTO), static_cast<char>(proto_)};
    out_.write(header, 2);
    if (proto_ >= 4) out_.set_framing(true);
  }
  push_save(root);
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    switch (f.op) {
      case Op::Save: {
        const Val v = f.v;
        const bool pers = f.b != 0;
        stack_.pop_back();
        step_save(v, pers);
        break;
      }
      case Op::Write1: {
        const auto code = static_cast<uint8_t>(f.x);
        stack_.pop_back();
        out_.op(code);
        break;
      }
      case Op::Tuple: step_tuple(f); break;
      case Op::FrozenSet: step_frozenset(f); break;
      case Op::List: step_list(f); break;
      case Op::Dict: step_dict(f); break;
      case Op::Set: step_set(f); break;
      case Op::Batch0: step_batch0(f); break;
      case Op::BatchList: step_batch_items(f, false); break;
      case Op::BatchDict: step_batch_items(f, true); break;
      case Op::ReduceTail: step_reduce_tail(); break;
      case Op::MemoPut: {
        const Val v = f.v;
        stack_.pop_back();
        memo_put(v);
        break;
      }
    }
  }
  out_.op(op::STOP);
  out_.commit_frame();
  out_.finish();
}

inline bool scalar_kind(Kind k) { return k == Kind::Int || k == Kind::Float || k == Kind::None || k == Kind::Bool; }

// save() of a number, None or a bool at protocol 1+ straight into the output
// (at most Out::kMaxItem bytes, as save_inline writes it); null for any other
// value. v is a graph node.
inline char* Engine::scalar_at(char* w, NodeId v) const noexcept {
  const Kind k = GraphAccess::kind(g_, v);
  const uint64_t bits = GraphAccess::bits(g_, v);
  switch (k) {
    case Kind::Int: {
      if (!GraphAccess::int_small(g_, v)) return nullptr;
      const auto val = static_cast<int64_t>(bits);
      if (val >= INT32_MIN && val <= INT32_MAX) [[likely]] {
        // BININT1, BININT2 or BININT (the smallest that holds it), chosen
        // without a branch: in a list of ints of all sizes a branch on the
        // size was mispredicted about every other int. The four bytes are
        // written whatever the opcode (an item has kMaxItem bytes of room);
        // the length says which of them count.
        const auto u = static_cast<uint32_t>(static_cast<int32_t>(val));
        const unsigned cls = static_cast<unsigned>(u > 0xffu) + static_cast<unsigned>(u > 0xffffu);
        constexpr uint32_t kOps = uint32_t{op::BININT1} | uint32_t{op::BININT2} << 8 | uint32_t{op::BININT} << 16;
        constexpr uint32_t kLens = 2u | 3u << 8 | 5u << 16;
        w[0] = static_cast<char>(kOps >> (8 * cls));
        put_le(w + 1, u, 4);
        return w + ((kLens >> (8 * cls)) & 0xffu);
      }
      if (proto_ < 2) return nullptr;
      return put_long1(w, val);
    }
    case Kind::Float: return put_binfloat(w, bits);
    case Kind::None:
      w[0] = static_cast<char>(op::NONE);
      return w + 1;
    case Kind::Bool:
      if (proto_ < 2) return nullptr;
      w[0] = static_cast<char>(bits ? op::NEWTRUE : op::NEWFALSE);
      return w + 1;
    default:
      return nullptr;
  }
}

// Whether save_inline(v) writes v (without writing anything): the item
// test of the inline tuple.
inline bool Engine::inlinable(NodeId v) const noexcept {
  if (v >= GraphAccess::size(g_)) return false;
  switch (GraphAccess::kind(g_, v)) {
    case Kind::None:
    case Kind::Float:
    case Kind::Str: return true;
    case Kind::Bool: return proto_ >= 2;
    case Kind::Int: {
      if (!GraphAccess::int_small(g_, v)) return false;
      const auto val = static_cast<int64_t>(GraphAccess::bits(g_, v));
      return (val >= INT32_MIN && val <= INT32_MAX) || proto_ >= 2;
    }
    case Kind::PersId: return false;
    default: return v < memo_.size() && memo_[v] != 0;
  }
}

inline bool Engine::save_inline(Val v) { return save_inline_here(v); }

// save_inline written into the caller: the dict items' loop, where a call
// per key and value costs.
[[gnu::always_inline]] inline bool Engine::save_inline_here(Val v) {
  if (v >= GraphAccess::size(g_) || !inline_ok_) return false;  // synthetic values too
  switch (GraphAccess::kind(g_, v)) {
    case Kind::None:
      out_.boundary();
      out_.op(op::NONE);
      return true;
    case Kind::Bool:
      if (proto_ < 2) return false;
      out_.boundary();
      out_.op(GraphAccess::bits(g_, v) ? op::NEWTRUE : op::NEWFALSE);
      return true;
    case Kind::Int: return save_inline_int(v);
    case Kind::Float: {
      if (!bin_) return false;
      out_.boundary();
      char buf[9];
      put_binfloat(buf, GraphAccess::bits(g_, v));
      out_.write_fixed<9>(buf);
      return true;
    }
    case Kind::Str: save_inline_str(v); return true;
    case Kind::PersId: return false;
    case Kind::Tuple: return save_inline_tuple(v);
    default: return save_inline_memo_get(v);
  }
}

// Any node already in the memo is a GET, as step_save finds it.
inline bool Engine::save_inline_memo_get(NodeId v) {
  if (v < memo_.size() && memo_[v] != 0) {
    out_.boundary();
    memo_get(memo_[v]);
    return true;
  }
  return false;
}

[[gnu::always_inline]] inline bool Engine::save_inline_int(NodeId v) {
  if (!bin_ || !GraphAccess::int_small(g_, v)) return false;
  const auto val = static_cast<int64_t>(GraphAccess::bits(g_, v));
  if (val < INT32_MIN || val > INT32_MAX) {
    if (proto_ < 2) return false;
    out_.boundary();
    char buf[10];
    out_.write(buf, static_cast<size_t>(put_long1(buf, val) - buf));  // save_long (2 to 8 bytes here)
    return true;
  }
  out_.boundary();
  write_binint(static_cast<uint32_t>(static_cast<int32_t>(val)));
  return true;
}

// memo_lookup / save_str / memo_put_node of a graph str, its text read once
// (only strs of up to two bytes can be singletons).
[[gnu::always_inline]] inline void Engine::save_inline_str(NodeId v) {
  out_.boundary();
  ensure_node(v);
  const GraphAccess::StoredStr text = GraphAccess::str_stored(g_, v);
  const int code = text.bytes.size() <= 2 && !text.latin1 ? singleton_code(v) : -1;
  uint32_t cell = memo_[v];
  if (cell == 0 && code >= 0) cell = latin1_memo_[code];
  if (cell) {
    memo_get(cell);
    return;
  }
  if (!text.latin1) [[likely]] {
    save_str_data(v, text.bytes);
  } else {
    save_node_str_data(v);
  }
  cell = next_memo();
  memo_[v] = cell;
  ++node_puts_;
  if (code >= 0) latin1_memo_[code] = cell;
  write_put(cell - 1);
}

// A tuple of up to three inlinable values at protocol 2+ (an edge, a pair):
// save_tuple without a work frame. Its items cannot save it again, so the
// recursion check after them has nothing to find.
inline bool Engine::save_inline_tuple(NodeId v) {
  if (save_inline_memo_get(v)) return true;
  if (proto_ < 2) return false;
  const auto items = GraphAccess::tuple_items(g_, v);
  if (items.size() > 3) return false;
  for (NodeId x : items)
    if (!inlinable(x)) return false;
  out_.boundary();
  if (items.empty()) {
    out_.op(op::EMPTY_TUPLE);  // not memoized
    return true;
  }
  for (NodeId x : items) save_inline(x);
  static constexpr uint8_t kLen2Op[] = {op::EMPTY_TUPLE, op::TUPLE1, op::TUPLE2, op::TUPLE3};
  out_.op(kLen2Op[items.size()]);
  memo_put_node(v, Kind::Tuple);
  return true;
}

void Engine::step_save(Val v, bool pers) {
  if (!pers && save_inline(v)) return;
  out_.boundary();
  if (!pers && !is_synth(v) && o_.persistent_id) {
    Graph& mg = mutable_graph("persistent_id");
    const NodeId pid = o_.persistent_id(mg, v);
    if (pid != kNoNode && g_.kind(pid) != Kind::None) {
      save_pid(pid);
      return;
    }
  }
  if (!is_synth(v) && save_node_container(v)) return;
  const Kind k = kind_of(v);
  if (save_unmemoized(v, k)) return;
  if (const uint32_t cell = memo_lookup(v)) {
    memo_get(cell);
    return;
  }
  save_memoized(v, k);
}

// A persistent id: BINPERSID after the pid's own save, PERSID of its str()
// at protocol 0.
inline void Engine::save_pid(NodeId pid) {
  if (bin_) {
    push_op(op::BINPERSID);
    push_save(pid, true);
  } else {
    save_pers_text(pid);
  }
}

// The common case, a graph str, list, dict or tuple, with its kind looked up
// once; false, with nothing written, for any other value.
[[gnu::always_inline]] inline bool Engine::save_node_container(NodeId v) {
  const Kind k = g_.kind(v);
  if (k != Kind::Str && k != Kind::List && k != Kind::Dict && k != Kind::Tuple) return false;
  ensure_node(v);
  uint32_t cell = memo_[v];
  if (cell == 0 && k == Kind::Str) cell = memo_lookup_shared(v, k);
  if (cell) {
    memo_get(cell);
  } else if (k == Kind::Str) {
    save_node_str_data(v);
    memo_put_node(v, k);
  } else if (k == Kind::List) {
    save_container_start(v, k, g_.items(v).empty());
  } else if (k == Kind::Dict) {
    save_container_start(v, k, g_.dict_items(v).empty());
  } else {
    save_tuple_start(v);
  }
  return true;
}

// EMPTY_LIST / EMPTY_DICT ("(l" / "(d" at protocol 0), memoized, then a
// work frame for the items unless there are none.
void Engine::save_container_start(Val v, Kind k, bool empty) {
  const bool dict = k == Kind::Dict;
  if (bin_)
    out_.op(dict ? op::EMPTY_DICT : op::EMPTY_LIST);
  else
    out_.write(dict ? "(d" : "(l", 2);
  if (is_synth(v))
    memo_put(v);
  else
    memo_put_node(v, k);
  if (empty) return;
  const Op step = bin_ ? (dict ? Op::Dict : Op::List) : Op::Batch0;
  stack_.push_back(Frame{step, uint8_t{!bin_ && dict}, 0, v, 0, 0});
}

// save() of what the memo never holds (None, bools, numbers, persistent
// ids); false, with nothing written, for anything else.
[[gnu::always_inline]] inline bool Engine::save_unmemoized(Val v, Kind k) {
  switch (k) {
    case Kind::None: out_.op(op::NONE); return true;
    case Kind::Bool: {
      const bool t = g_.as_bool(v);
      if (proto_ >= 2)
        out_.op(t ? op::NEWTRUE : op::NEWFALSE);
      else
        out_.write(t ? "I01\n" : "I00\n");
      return true;
    }
    case Kind::Int: save_int(v); return true;
    case Kind::Float: save_float(g_.as_float(v)); return true;
    case Kind::PersId: save_pid(g_.persid_value(v)); return true;
    default: return false;
  }
}

// save() of a value not in the memo yet.
inline void Engine::save_memoized(Val v, Kind k) {
  switch (k) {
    case Kind::Bytes:
      if (proto_ >= 3)
        save_bytes_data(v, str_utf8(v));
      else
        save_bytes(v);
      return;
    case Kind::Str: save_str(v); return;
    case Kind::Dict: save_container_start(v, k, dict_len(v) == 0); return;
    case Kind::List: save_container_start(v, k, seq_len(v) == 0); return;
    case Kind::Set:
      if (proto_ < 4) {
        save_set_reduce(v, false);
        return;
      }
      out_.op(op::EMPTY_SET);
      memo_put(v);
      if (seq_len(v) != 0) stack_.push_back(Frame{Op::Set, 0, 0, v, 0, 0});
      return;
    case Kind::FrozenSet: {
      if (proto_ < 4) {
        save_set_reduce(v, true);
        return;
      }
      out_.op(op::MARK);
      const uint32_t prev = enter(v);
      stack_.push_back(Frame{Op::FrozenSet, 0, 0, v, prev, 0});
      return;
    }
    case Kind::Tuple: save_tuple_start(v); return;
    case Kind::ByteArray: save_bytearray(v); return;
    case Kind::Buffer: save_buffer(v); return;
    case Kind::Global: save_global(v); return;
    case Kind::Object:
      if (is_synth(v))
        save_synth_object(v);
      else
        save_object(v);
      return;
    default: fail(ErrorCode::Usage, std::string("cannot pickle a node of kind ") + kind_name(k));
  }
}

// ---- tuples and sets --------------------------------------------------------

void Engine::save_tuple_start(Val v) {
  const size_t len = seq_len(v);
  if (len == 0) {
    if (bin_)
      out_.op(op::EMPTY_TUPLE);
    else
      out_.write("(t", 2);
    return;
  }
  if (len > 0xffffffffu) fail(ErrorCode::ResourceLimit, "tuple too large");
  const uint32_t prev = enter(v);
  Frame f{Op::Tuple, 0, static_cast<uint32_t>(len), v, prev, 0};
  if (!(len <= 3 && proto_ >= 2)) {
    out_.op(op::MARK);
    f.b = 1;
  }
  stack_.push_back(f);
}

void Engine::step_tuple(Frame& f) {
  if (f.i < f.n) {
    if (is_synth(f.v)) {
      const Val item = seq_item(f.v, f.i);
      ++f.i;
      push_save(item);
      return;
    }
    const auto items = GraphAccess::tuple_items(g_, f.v);
    while (f.i < f.n) {
      const Val item = items[f.i];
      ++f.i;
      if (!save_inline(item)) {
        push_save(item);
        return;
      }
    }
  }
  const Val v = f.v;
  const uint32_t prev = f.x;
  const bool mark = f.b != 0;
  const uint32_t len = f.n;
  stack_.pop_back();
  leave(v, prev);
  if (const uint32_t cell = is_synth(v) ? memo_lookup(v) : (ensure_node(v), memo_[v])) {
    // The tuple is recursive: it was memoized while its items were saved.
    // Throw away what was pushed and fetch it from the memo.
    if (mark && bin_) {
      out_.op(op::POP_MARK);
    } else {
      const uint32_t pops = mark ? len + 1 : len;
      for (uint32_t i = 0; i < pops; ++i) out_.op(op::POP);
    }
    memo_get(cell);
    return;
  }
  if (mark) {
    out_.op(op::TUPLE);
  } else {
    static constexpr uint8_t kLen2Op[] = {op::EMPTY_TUPLE, op::TUPLE1, op::TUPLE2, op::TUPLE3};
    out_.op(kLen2Op[len]);
  }
  memo_put(v);
}

void Engine::step_frozenset(Frame& f) {
  if (f.i < seq_len(f.v)) {
    const Val item = seq_item(f.v, f.i);
    ++f.i;
    check_key(item);
    push_save(item);
    return;
  }
  const Val v = f.v;
  const uint32_t prev = f.x;
  stack_.pop_back();
  leave(v, prev);
  if (const uint32_t cell = memo_lookup(v)) {
    out_.op(op::POP_MARK);
    memo_get(cell);
    return;
  }
  out_.op(op::FROZENSET);
  memo_put(v);
}

// ---- item batches -------------------------------------------------------------

// batch_list_exact: one APPEND for a one-item list, else MARK ... APPENDS in
// batches of 1000.
void Engine::step_list(Frame& f) {
  std::span<const NodeId> real;
  const bool synth = is_synth(f.v);
  if (!synth) real = GraphAccess::list_items(g_, f.v);
  const size_t size = synth ? seq_len(f.v) : real.size();
  auto item = [&](size_t i) { return synth ? seq_item(f.v, i) : real[i]; };
  if (f.b == 0) {
    if (size == 1) {
      push_last(op::APPEND, {item(0), kNoVal}, false);
      return;
    }
    open_batch(f);
  }
  while (f.i < size && f.n < kBatchSize) {
    if (!synth && bin_ && inline_ok_ && scalar_kind(GraphAccess::kind(g_, real[f.i]))) {
      // Numbers, None and bools written in a run (see scalar_at).
      const size_t first = f.i;
      const size_t n = out_.run(std::min<size_t>(size - f.i, kBatchSize - f.n),
                                [&](char* w, size_t j) { return scalar_at(w, real[first + j]); });
      f.i += n;
      f.n += n;
      if (f.i >= size || f.n >= kBatchSize) break;
    }
    const Val x = item(f.i);
    ++f.i;
    ++f.n;
    if (!save_inline(x)) {
      push_save(x);
      return;
    }
  }
  out_.op(op::APPENDS);
  if (f.i < size) {
    out_.op(op::MARK);
    f.n = 0;
    return;
  }
  stack_.pop_back();
}

// batch_dict_exact: one SETITEM for a one-item dict, else MARK ... SETITEMS
// in batches of 1000, with an empty last batch when the size is a multiple
// of 1000 (the loop runs again while a batch was full).
void Engine::step_dict(Frame& f) {
  std::span<const Pair> real;
  const bool synth = is_synth(f.v);
  if (!synth) real = GraphAccess::dict_items(g_, f.v);
  const size_t size = synth ? dict_len(f.v) : real.size();
  auto pair = [&](size_t i) -> std::pair<Val, Val> {
    if (synth) return dict_pair(f.v, i);
    return {real[i].first, real[i].second};
  };
  if (f.b == 0) {
    if (size == 1) {
      const std::pair<Val, Val> kv = pair(0);
      check_key(kv.first);
      push_last(op::SETITEM, kv, true);
      return;
    }
    open_batch(f);
  }
  while (f.i < size && f.n < kBatchSize) {
    const auto [k, val] = pair(f.i);
    check_key(k);
    ++f.i;
    ++f.n;
    if (!save_inline_here(k)) {
      push_save(val);
      push_save(k);
      return;
    }
    if (!save_inline_here(val)) {
      push_save(val);
      return;
    }
  }
  end_batch(f, op::SETITEMS);
}

// save_set at protocol 4+: MARK ... ADDITEMS in batches of 1000 (an empty
// last batch when the size is a multiple of 1000, as for dicts).
void Engine::step_set(Frame& f) {
  const size_t size = seq_len(f.v);
  if (f.b == 0) open_batch(f);
  if (f.i < size && f.n < kBatchSize) {
    const Val item = seq_item(f.v, f.i);
    check_key(item);
    ++f.i;
    ++f.n;
    push_save(item);
    return;
  }
  end_batch(f, op::ADDITEMS);
}

// A batch of dict or set items ends with `code` (SETITEMS, ADDITEMS); a
// full one opens the next (which may stay empty), else the items are done.
void Engine::end_batch(Frame& f, uint8_t code) {
  out_.op(code);
  if (f.n == kBatchSize) {
    out_.op(op::MARK);
    f.n = 0;
    return;
  }
  stack_.pop_back();
}

// Protocol 0 lists and dicts: batch_list / batch_dict write one APPEND or
// SETITEM per item.
void Engine::step_batch0(Frame& f) {
  const bool dict = f.b != 0;
  const size_t size = dict ? dict_len(f.v) : seq_len(f.v);
  if (f.i >= size) {
    stack_.pop_back();
    return;
  }
  if (dict) {
    const auto [k, val] = dict_pair(f.v, f.i);
    check_key(k);
    ++f.i;
    push_op(op::SETITEM);
    push_save(val);
    push_save(k);
  } else {
    const Val item = seq_item(f.v, f.i);
    ++f.i;
    push_op(op::APPEND);
    push_save(item);
  }
}

size_t Engine::src_len(Val c, Src k) const {
  switch (k) {
    case Src::None: return 0;
    case Src::ObjectList: return g_.object_data(c).listitems.size();
    case Src::ObjectDict: return g_.object_data(c).dictitems.size();
    case Src::ListNode:
    case Src::PairList: return seq_len(c);
    case Src::DictNode: return dict_len(c);
  }
  return 0;
}

Val Engine::src_item(Val c, Src k, size_t i) const {
  if (k == Src::ObjectList) return g_.object_data(c).listitems[i];
  return seq_item(c, i);
}

std::pair<Val, Val> Engine::src_pair(Val c, Src k, size_t i) const {
  switch (k) {
    case Src::ObjectDict: {
      const Pair& p = g_.object_data(c).dictitems[i];
      return {p.first, p.second};
    }
    case Src::DictNode: return dict_pair(c, i);
    case Src::PairList: {
      const Val t = seq_item(c, i);
      if (kind_of(t) != Kind::Tuple || seq_len(t) != 2)
        fail(ErrorCode::TypeError, "dict items iterator must return 2-tuples");
      return {seq_item(t, 0), seq_item(t, 1)};
    }
    default: fail(ErrorCode::Usage, "not a dict items source");
  }
}

// batch_list / batch_dict over an iterator (a reduce's listitems or
// dictitems): one APPEND / SETITEM when a batch would hold a single item,
// MARK ... APPENDS / SETITEMS otherwise; no empty batch. Protocol 0: one
// APPEND / SETITEM per item.
void Engine::step_batch_items(Frame& f, bool dict) {
  const Src kind = static_cast<Src>(f.b & 0x7f);
  const Val c = f.v;
  const size_t size = src_len(c, kind);
  const uint8_t one = dict ? op::SETITEM : op::APPEND;
  if (!bin_ || (f.b & 0x80) == 0) {  // protocol 0, or a new batch
    if (f.i >= size) {
      stack_.pop_back();
      return;
    }
    if (!bin_ || size - f.i == 1) {
      const std::pair<Val, Val> item = src_entry(c, kind, dict, f.i);
      if (bin_) {
        push_last(one, item, dict);
      } else {
        ++f.i;
        push_op(one);
        push_entry(item, dict);
      }
      return;
    }
    out_.op(op::MARK);
    f.b |= 0x80;
    f.n = 0;
  }
  if (f.i < size && f.n < kBatchSize) {
    const std::pair<Val, Val> item = src_entry(c, kind, dict, f.i);
    ++f.i;
    ++f.n;
    push_entry(item, dict);
    return;
  }
  out_.op(dict ? op::SETITEMS : op::APPENDS);
  if (f.n == kBatchSize) {
    f.b &= 0x7f;
    return;
  }
  stack_.pop_back();
}

// Item i of a reduce's listitems (first) or dictitems (key, value).
std::pair<Val, Val> Engine::src_entry(Val c, Src k, bool dict, size_t i) const {
  if (dict) return src_pair(c, k, i);
  return {src_item(c, k, i), kNoVal};
}

// The last item of a frame (which is done): its saves, then `code`.
void Engine::push_last(uint8_t code, std::pair<Val, Val> item, bool dict) {
  stack_.pop_back();
  push_op(code);
  push_entry(item, dict);
}

// MARK: the first batch of a list, dict or set's items.
void Engine::open_batch(Frame& f) {
  out_.op(op::MARK);
  f.b = 1;
  f.n = 0;
}

// The saves of an item (or of a key, then its value), pushed to run next.
void Engine::push_entry(std::pair<Val, Val> item, bool dict) {
  if (dict) push_save(item.second);
  push_save(item.first);
}

}  // namespace pkl::enc
