// The encoder's objects: _pickle.c's save_reduce, save_global (EXT codes,
// STACK_GLOBAL, getattr for nested names, fix_imports), the reduce forms of
// bytes / bytearray / set / frozenset at the protocols without their
// opcodes, PickleBuffer, inert objects (their recorded reduce tuple) and
// registered instances (object.__reduce_ex__ of a plain class with the
// same hooks: copyreg._reduce_ex below protocol 2, copyreg.__newobj__ /
// __newobj_ex__ from 2 on, and functools.partial for __newobj_ex__ below 4).
#include "base/compat_tables.inc"
#include "encode/interned_chars.inc"
#include "encode/engine.hpp"
#include "text/latin1.hpp"

namespace pkl::enc {

namespace {

std::string_view last_component(std::string_view qualname) {
  const size_t dot = qualname.rfind('.');
  return dot == std::string_view::npos ? qualname : qualname.substr(dot + 1);
}

std::string class_repr(std::string_view module, std::string_view qualname) {
  return "<class '" + std::string(module) + "." + std::string(qualname) + "'>";
}

// "Can't pickle <class 'module.qualname'>: <why>"
[[noreturn]] void cant_pickle_global(std::string_view module, std::string_view qualname, const std::string& why) {
  unpicklable("Can't pickle " + class_repr(module, qualname) + ": " + why);
}

// A hook's answer that is absent or None.
bool is_none(const Graph& g, NodeId x) { return x == kNoNode || g.kind(x) == Kind::None; }
// The Python type name of a hook's answer (NoneType when absent).
std::string type_of(const Graph& g, NodeId x) { return x == kNoNode ? "NoneType" : kind_name(g.kind(x)); }

bool interned_apart(unsigned code) {
  for (std::size_t i = 0; i < kInternedApartCount; ++i)
    if (kInternedApartChars[i] == code) return true;
  return false;
}

}  // namespace

Val Engine::s_bytes(std::string_view data) {
  Synth s{SKind::Bytes};
  s.t = add_text(data);
  s.tn = data.size();
  return add_synth(s);
}

// The interned str of a module name. Interning a one-character str below
// U+0100 gives the interpreter's singleton (the graph's str), except for the
// characters CPython interns at startup as strs of their own (generated table).
Val Engine::module_name_str(std::string_view module) {
  const int code = detail::one_latin1_char(module);
  if (code >= 0 && !interned_apart(static_cast<unsigned>(code))) return s_latin1_char(static_cast<unsigned>(code));
  return s_named_str('M', module);
}

Val Engine::object_new() {
  if (object_new_ == kNoVal) object_new_ = add_synth(Synth{SKind::ObjectNew});
  return object_new_;
}

// ---- save_reduce --------------------------------------------------------------

void Engine::save_reduce(Val callable, Val args, Reduce r, Val cls_of_obj) {
  const Kind ck = callable == kNoVal ? Kind::None : kind_of(callable);
  if (ck != Kind::Global && ck != Kind::Object)
    unpicklable("first item of the tuple returned by __reduce__ must be callable");
  if (args == kNoVal || kind_of(args) != Kind::Tuple)
    unpicklable("second item of the tuple returned by __reduce__ must be a tuple");

  // use_newobj / use_newobj_ex: the callable's __name__ (protocol 2+).
  int mode = 0;
  if (proto_ >= 2 && ck == Kind::Global) {
    std::string_view m, q;
    global_name(callable, m, q);
    const std::string_view name = last_component(q);
    if (name == "__newobj_ex__")
      mode = 2;
    else if (name == "__newobj__")
      mode = 1;
  }

  if (mode == 2) {
    const size_t len = seq_len(args);
    if (len != 3)
      unpicklable("length of the NEWOBJ_EX argument tuple must be exactly 3, not " + std::to_string(len));
    const Val cls = seq_item(args, 0);
    const Val a = seq_item(args, 1);
    const Val k = seq_item(args, 2);
    if (!is_class(cls)) bad_newobj_ex_item("first", "class", kind_of(cls));
    if (kind_of(a) != Kind::Tuple) bad_newobj_ex_item("second", "tuple", kind_of(a));
    if (kind_of(k) != Kind::Dict) bad_newobj_ex_item("third", "dict", kind_of(k));
    reduces_.push_back(r);
    stack_.push_back(Frame{Op::ReduceTail});
    if (proto_ >= 4) {
      push_op(op::NEWOBJ_EX);
      push_save(k);
      push_save(a);
      push_save(cls);
    } else {
      // functools.partial(cls.__new__, cls, *args, **kwargs)()
      Synth p{SKind::Partial};
      p.a = static_cast<uint32_t>(pool_.size());
      p.n = 4;
      pool_.push_back(cls);
      pool_.push_back(a);
      pool_.push_back(k);
      pool_.push_back(r.cls_new);
      const Val partial = add_synth(p);
      const Val empty = s_tuple({});
      push_op(op::REDUCE);
      push_save(empty);
      push_save(partial);
    }
    return;
  }

  if (mode == 1) {
    if (seq_len(args) < 1) unpicklable("__newobj__ arglist is empty");
    const Val cls = seq_item(args, 0);
    if (!is_class(cls)) unpicklable("args[0] from __newobj__ args is not a type");
    if (cls_of_obj != kNoVal) {
      std::string_view m1, q1, m2, q2;
      global_name(cls, m1, q1);
      global_name(cls_of_obj, m2, q2);
      if (m1 != m2 || q1 != q2) unpicklable("args[0] from __newobj__ args has the wrong class");
    }
    // cls, then a new tuple args[1:] (the empty tuple when there is none).
    Val newargs;
    if (seq_len(args) == 1) {
      newargs = s_tuple({});
    } else {
      Synth t{SKind::Tuple};
      t.view = args;
      t.skip = 1;
      newargs = add_synth(t);
    }
    reduces_.push_back(r);
    stack_.push_back(Frame{Op::ReduceTail});
    push_op(op::NEWOBJ);
    push_save(newargs);
    push_save(cls);
    return;
  }

  reduces_.push_back(r);
  stack_.push_back(Frame{Op::ReduceTail});
  push_op(op::REDUCE);
  push_save(args);
  push_save(callable);
}

// After REDUCE / NEWOBJ: the object is memoized (or, if saving its
// arguments memoized it already, the copy just built is popped and the memo
// fetched), then its listitems, dictitems and BUILD state.
void Engine::step_reduce_tail() {
  const Reduce r = reduces_.back();
  reduces_.pop_back();
  stack_.pop_back();
  if (r.obj != kNoVal) {
    leave(r.obj, r.prev_active);
    if (const uint32_t cell = memo_lookup(r.obj)) {
      out_.op(op::POP);
      memo_get(cell);
      return;
    }
    memo_put(r.obj);
  }
  if (r.state != kNoVal && r.state_setter != kNoVal) {
    // save_reduce's state_setter: setter, obj, state, TUPLE2, REDUCE, POP
    // (TUPLE2 at every protocol, as CPython writes it).
    push_op(op::POP);
    push_op(op::REDUCE);
    push_op(op::TUPLE2);
    push_save(r.state);
    push_save(r.obj);
    push_save(r.state_setter);
  } else if (r.state != kNoVal) {
    push_op(op::BUILD);
    push_save(r.state);
  }
  if (r.dict_kind != Src::None) stack_.push_back(Frame{Op::BatchDict, static_cast<uint8_t>(r.dict_kind), 0, r.dict, 0, 0});
  if (r.list_kind != Src::None) stack_.push_back(Frame{Op::BatchList, static_cast<uint8_t>(r.list_kind), 0, r.list, 0, 0});
}

// ---- globals --------------------------------------------------------------------

void Engine::save_global(Val v) {
  std::string module, qualname;
  {
    std::string_view m, q;
    global_name(v, m, q);
    module.assign(m);
    qualname.assign(q);
  }
  // get_dotted_path: no '<locals>' component.
  for (size_t start = 0;;) {
    const size_t dot = qualname.find('.', start);
    const std::string_view part = std::string_view(qualname).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part == "<locals>") unpicklable("Can't pickle local object " + quote(qualname));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }

  // whichmodule + PyImport_Import: a module name with an empty component
  // ('', '.x', 's.', 'a..b') never imports. (Other names are taken to
  // import, as the module of a class that exists does.)
  if (module.empty() || module.front() == '.' || module.back() == '.' ||
      module.find("..") != std::string::npos)
    cant_pickle_global(module, qualname, "import of module " + quote(module) + " failed");

  if (proto_ >= 2 && o_.extension) {
    if (const std::optional<int32_t> code = o_.extension(module, qualname)) {
      const int64_t c = *code;
      if (c <= 0 || c > 0x7fffffff)
        cant_pickle_global(module, qualname, "extension code " + std::to_string(c) + " is out of range");
      if (c <= 0xff)
        out_.op_arg(op::EXT1, static_cast<uint64_t>(c), 1);
      else if (c <= 0xffff)
        out_.op_arg(op::EXT2, static_cast<uint64_t>(c), 2);
      else
        out_.op_arg(op::EXT4, static_cast<uint64_t>(c), 4);
      return;  // EXT codes are not memoized
    }
  }

  const size_t dot = qualname.rfind('.');
  if (proto_ >= 4) {
    // STACK_GLOBAL: the module's name (one interned str per module, as real
    // classes share their module's __name__) and the class's __qualname__
    // (its own str; a one-character one below U+0100 is the interpreter's
    // singleton, as the unpickler made it).
    const Val mod = module_name_str(module);
    const Val name = s_str_piece(qualname);
    stack_.push_back(Frame{Op::MemoPut, 0, 0, v, 0, 0});
    push_op(op::STACK_GLOBAL);
    push_save(name);
    push_save(mod);
    return;
  }
  if (dot != std::string::npos) {
    // A nested name below protocol 4: getattr(parent, lastname), then memoize.
    const Val parent = s_global(module, std::string_view(qualname).substr(0, dot));
    const Val last = s_str_piece(std::string_view(qualname).substr(dot + 1));
    const Val args = s_tuple({parent, last});
    const Val getattr = s_global("builtins", "getattr");
    stack_.push_back(Frame{Op::MemoPut, 0, 0, v, 0, 0});
    save_reduce(getattr, args, Reduce{}, kNoVal);
    return;
  }

  if (proto_ < 3 && o_.fix_imports) {
    if (const auto* e = compat::find_name(compat::kReverseNameMapping, module, qualname)) {
      module.assign(e->to_module);
      qualname.assign(e->to_name);
    } else if (const auto* i = compat::find_import(compat::kReverseImportMapping, module)) {
      module.assign(i->to);
    }
  }
  auto encodable = [&](const std::string& s) { return proto_ == 3 ? !has_surrogate(s) : is_ascii(s); };
  if (!encodable(module)) bad_identifier("module", module, proto_);
  if (!encodable(qualname)) bad_identifier("global", qualname, proto_);
  out_.op(op::GLOBAL);
  out_.write(module);
  out_.write("\n", 1);
  out_.write(qualname);
  out_.write("\n", 1);
  memo_put(v);
}

// ---- builtin types without their opcodes at this protocol -----------------------

// Below protocol 3: _codecs.encode(latin-1 str, 'latin1'), or bytes() when empty.
void Engine::save_bytes(Val v) {
  int single = -1;
  bool empty;
  Val str = kNoVal;
  {
    const std::string_view data = str_utf8(v);
    empty = data.empty();
    if (data.size() == 1)
      single = static_cast<unsigned char>(data[0]);
    else if (!empty)
      str = s_str_of_latin1(v);
  }
  Reduce r;
  r.obj = v;
  r.prev_active = enter(v);
  if (empty) {
    const Val callable = s_global("builtins", "bytes");
    save_reduce(callable, s_tuple({}), r, kNoVal);
    return;
  }
  const Val callable = s_global("_codecs", "encode");
  // A one-character latin-1 str is the interpreter's singleton.
  if (single >= 0) str = s_latin1_char(static_cast<unsigned>(single));
  const Val latin1 = s_named_str('L', "latin1");
  save_reduce(callable, s_tuple({str, latin1}), r, kNoVal);
}

// Below protocol 5: bytearray(bytes(data)), or bytearray() when empty.
void Engine::save_bytearray(Val v) {
  const std::string_view data = g_.as_bytes(v);
  if (proto_ >= 5) {
    save_bytearray_data(v, data);
    return;
  }
  Reduce r;
  r.obj = v;
  r.prev_active = enter(v);
  const Val callable = s_global("builtins", "bytearray");
  const Val args = data.empty() ? s_tuple({}) : s_tuple({s_bytes(data)});
  save_reduce(callable, args, r, kNoVal);
}

// Below protocol 4: set(list(items)) / frozenset(list(items)).
void Engine::save_set_reduce(Val v, bool frozen) {
  const size_t n = seq_len(v);
  for (size_t i = 0; i < n; ++i) check_key(seq_item(v, i));
  Reduce r;
  r.obj = v;
  r.prev_active = enter(v);
  const Val callable = s_global("builtins", frozen ? "frozenset" : "set");
  const Val list = s_list_view(v);
  save_reduce(callable, s_tuple({list}), r, kNoVal);
}

void Engine::save_buffer(NodeId n) {
  const BufferData& bd = g_.buffer_data(n);
  // READONLY_BUFFER on a writable in-band object leaves a memoryview in
  // CPython (the decoder's Buffer with no index), which no protocol pickles.
  // (Below protocol 2 copyreg._reduce_ex says it, from 2 on object.__reduce_ex__.)
  if (bd.index == UINT64_MAX)
    fail(ErrorCode::TypeError, proto_ < 2 ? "cannot pickle 'memoryview' object" : "cannot pickle memoryview objects");
  if (proto_ < 5) unpicklable("PickleBuffer can only pickled with protocol >= 5");
  const bool in_band = o_.buffer_callback ? o_.buffer_callback(g_, n) : true;
  if (in_band) {
    if (bd.readonly)
      save_bytes_data(n, bd.data);
    else
      save_bytearray_data(n, bd.data);
    return;
  }
  out_.op(op::NEXT_BUFFER);
  if (bd.readonly) out_.op(op::READONLY_BUFFER);
}

// ---- objects --------------------------------------------------------------------

void Engine::save_object(NodeId n) {
  const ObjectData& od = g_.object_data(n);
  if (od.class_index >= 0) {
    save_registered(n);
    return;
  }
  Reduce r;
  r.obj = n;
  if (od.state != kNoNode && g_.kind(od.state) != Kind::None) r.state = od.state;
  if (od.state_setter != kNoNode) {
    const Kind sk = g_.kind(od.state_setter);
    if (sk != Kind::Global && sk != Kind::Object) bad_reduce_element("sixth", "a function", kind_name(sk));
    r.state_setter = od.state_setter;
  }
  if (!od.listitems.empty()) {
    r.list = n;
    r.list_kind = Src::ObjectList;
  }
  if (!od.dictitems.empty()) {
    r.dict = n;
    r.dict_kind = Src::ObjectDict;
  }
  r.prev_active = enter(n);
  // An instance made by cls.__new__(cls) alone (NEWOBJ, INST / OBJ without
  // arguments, copyreg._reconstructor(cls, object, None)) is written as
  // CPython writes an instance of a plain class. From protocol 2 that is
  // its recorded copyreg.__newobj__(cls) (object.__reduce_ex__'s NEWOBJ)
  // with its state as read: an empty dict too, as a __getstate__ that
  // returns one writes it (a class without one writes no BUILD instead:
  // the codec cannot tell them apart).
  if (proto_ < 2 && made_by_new_alone(od)) {
    // Below protocol 2, copyreg._reduce_ex: _reconstructor(cls, object,
    // None), and the state only when it is true.
    if (r.state != kNoVal && !g_.truthy(r.state)) r.state = kNoVal;
    const Val cls = g_.items(od.args)[0];
    save_reduce(s_global("copyreg", "_reconstructor"), s_tuple({cls, s_global("builtins", "object"), g_.none()}), r,
                kNoVal);
    return;
  }
  save_reduce(od.callable, od.args, r, kNoVal);
}

// copyreg.__newobj__(cls) with cls a class (a global other than
// _codecs.encode, CPython's function), and no list or dict items nor
// state_setter (those are a __reduce__'s own). Not with cls an inert object
// used as a class: _reconstructor(cls, object, None) of one would read back
// as an inert call, so such an instance is written as recorded.
bool Engine::made_by_new_alone(const ObjectData& od) const {
  if (od.callable == kNoNode || g_.kind(od.callable) != Kind::Global || od.state_setter != kNoNode ||
      !od.listitems.empty() ||
      !od.dictitems.empty() || od.args == kNoNode || g_.kind(od.args) != Kind::Tuple || g_.length(od.args) != 1)
    return false;
  const GlobalData& c = g_.global_data(od.callable);
  if (c.module != "copyreg" || c.qualname != "__newobj__") return false;
  const NodeId cls = g_.items(od.args)[0];
  if (g_.kind(cls) != Kind::Global) return false;
  const GlobalData& k = g_.global_data(cls);
  return !(k.module == "_codecs" && k.qualname == "encode");
}

// A class as save_reduce's NEWOBJ paths require one: a global, or an inert
// object the decoder saw used as a class (ObjectData::is_class).
bool Engine::is_class(Val v) const {
  if (kind_of(v) == Kind::Global) return true;
  return !is_synth(v) && g_.kind(v) == Kind::Object && g_.object_data(v).class_index < 0 &&
         g_.object_data(v).is_class;
}

// save_reduce() of what a registered class's __reduce__ hook returned, `t`:
// (callable, args[, state[, listitems[, dictitems[, state_setter]]]]).
void Engine::save_hook_reduce(NodeId t, Reduce r, Val cls) {
  if (t == kNoNode || g_.kind(t) != Kind::Tuple) unpicklable("__reduce__ must return a string or tuple");
  const size_t len = seq_len(t);
  if (len < 2 || len > 6) unpicklable("tuple returned by __reduce__ must contain 2 through 6 elements");
  const Val callable = seq_item(t, 0);
  const Val args = seq_item(t, 1);
  if (len > 2 && !is_none(g_, seq_item(t, 2))) r.state = seq_item(t, 2);
  if (len > 3) {
    const NodeId li = seq_item(t, 3);
    if (!is_none(g_, li)) {
      if (g_.kind(li) != Kind::List)
        bad_reduce_element("fourth", "an iterator", type_of(g_, li));
      r.list = li;
      r.list_kind = Src::ListNode;
    }
  }
  if (len > 4) {
    const NodeId di = seq_item(t, 4);
    if (!is_none(g_, di)) {
      if (g_.kind(di) == Kind::Dict) {
        r.dict_kind = Src::DictNode;
      } else if (g_.kind(di) == Kind::List) {
        r.dict_kind = Src::PairList;
      } else {
        bad_reduce_element("fifth", "an iterator", type_of(g_, di));
      }
      r.dict = di;
    }
  }
  if (len > 5 && !is_none(g_, seq_item(t, 5))) {
    const Val setter = seq_item(t, 5);
    const Kind sk = kind_of(setter);
    if (sk != Kind::Global && sk != Kind::Object) bad_reduce_element("sixth", "a function", kind_name(sk));
    r.state_setter = setter;
  }
  save_reduce(callable, args, r, cls);
}

void Engine::save_registered(NodeId n) {
  const int ci = g_.object_data(n).class_index;
  if (!o_.registry || static_cast<size_t>(ci) >= o_.registry->size())
    fail(ErrorCode::Usage, "an instance of registered class #" + std::to_string(ci) +
                               " needs EncodeOptions::registry (the registry that made it)");
  const ClassHooks& h = o_.registry->at(ci);
  Graph& mg = mutable_graph("an instance of a registered class");
  // Objects live in a deque: the reference stays valid while hooks add nodes.
  const std::any& self = g_.object_data(n).native;
  const Val cls = s_global(h.module, h.qualname);
  Reduce r;
  r.obj = n;
  r.prev_active = enter(n);


  if (h.reduce) {  // __reduce__ overrides object.__reduce_ex__
    save_hook_reduce(h.reduce(self, mg), r, cls);
    return;
  }

  // __getstate__, or the instance __dict__ (None when empty).
  auto state_of = [&]() -> Val {
    if (h.get_state) {
      const NodeId s = h.get_state(self, mg);
      return is_none(g_, s) ? kNoVal : s;
    }
    if (!h.get_attrs) return kNoVal;
    const auto attrs = h.get_attrs(self, mg);
    if (attrs.empty()) return kNoVal;
    std::vector<Val> pairs;
    pairs.reserve(2 * attrs.size());
    for (const auto& [name, value] : attrs) {
      pairs.push_back(s_named_str('A', name));  // attribute names are interned strs
      pairs.push_back(value);
    }
    Synth d{SKind::Dict};
    d.a = static_cast<uint32_t>(pool_.size());
    d.n = static_cast<uint32_t>(attrs.size());
    pool_.insert(pool_.end(), pairs.begin(), pairs.end());
    return add_synth(d);
  };

  if (proto_ < 2) {
    // copyreg._reduce_ex: _reconstructor(cls, object, None), and the state
    // only when it is true.
    const Val st = state_of();
    if (st != kNoVal && (is_synth(st) || g_.truthy(st))) r.state = st;
    const Val callable = s_global("copyreg", "_reconstructor");
    const Val args = s_tuple({cls, s_global("builtins", "object"), g_.none()});
    save_reduce(callable, args, r, kNoVal);
    return;
  }

  // copyreg.__reduce_ex__ from protocol 2: reduce_newobj.
  Val a = kNoVal, k = kNoVal;
  if (h.get_newargs_ex) {
    const auto [an, kn] = h.get_newargs_ex(self, mg);
    if (an == kNoNode || g_.kind(an) != Kind::Tuple)
      bad_getnewargs_ex_item("first", "tuple", type_of(g_, an));
    if (kn == kNoNode || g_.kind(kn) != Kind::Dict)
      bad_getnewargs_ex_item("second", "dict", type_of(g_, kn));
    a = an;
    if (g_.length(kn) != 0) k = kn;
  } else if (h.get_newargs) {
    const NodeId an = h.get_newargs(self, mg);
    if (an == kNoNode || g_.kind(an) != Kind::Tuple)
      fail(ErrorCode::TypeError, "__getnewargs__ should return a tuple, not '" + type_of(g_, an) + "'");
    a = an;
  }
  r.state = state_of();
  Val callable, argtup;
  if (k != kNoVal) {
    callable = s_global("copyreg", "__newobj_ex__");
    argtup = s_tuple({cls, a, k});
    if (h.defines_new) r.cls_new = s_global(h.module, h.qualname + ".__new__");
  } else {
    callable = s_global("copyreg", "__newobj__");
    argtup = a == kNoVal ? s_tuple({cls}) : s_tuple({cls}, a);
  }
  save_reduce(callable, argtup, r, cls);
}

// The pickler's own objects that are reduced: object.__new__ (a builtin
// method: getattr(object, '__new__')) and the functools.partial of
// __newobj_ex__ below protocol 4 (partial.__reduce__: (partial, (func,),
// (func, args, keywords, None))).
void Engine::save_synth_object(Val v) {
  const SKind kind = syn(v).kind;
  Reduce r;
  r.obj = v;
  if (kind == SKind::ObjectNew) {
    const Val callable = s_global("builtins", "getattr");
    const Val args = s_tuple({s_global("builtins", "object"), s_str("__new__")});
    save_reduce(callable, args, r, kNoVal);
    return;
  }
  const uint32_t at = syn(v).a;
  const Val cls = pool_[at];
  const Val args = pool_[at + 1];
  const Val kwargs = pool_[at + 2];
  const Val func = pool_[at + 3] != kNoVal ? pool_[at + 3] : object_new();
  const Val callable = s_global("functools", "partial");
  const Val rargs = s_tuple({func});
  const Val pargs = s_tuple({cls}, args);
  const Val keywords = s_dict_view(kwargs);
  r.state = s_tuple({func, pargs, keywords, g_.none()});
  save_reduce(callable, rargs, r, kNoVal);
}

}  // namespace pkl::enc
