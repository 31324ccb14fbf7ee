// The extension registry, classes and functions, objects, persistent ids
// and machine control (pickletools' groups): CPython 3.11's load_extension,
// load_global, load_stack_global, load_reduce, load_build, load_inst,
// load_obj, load_newobj, load_persid, load_binpersid, load_proto,
// load_frame and load_stop (Modules/_pickle.c). They take their arguments
// off the stack and hand them to the object model: globals.cpp (find_class)
// and calls.cpp (call, instantiate, newobj, build).
#include <optional>
#include <string>
#include <utility>

#include "base/foreign.hpp"
#include "decode/machine.hpp"
#include "text/python_text.hpp"

namespace pkl::detail {

// ---- the extension registry ---------------------------------------------------

void Machine::load_extension(uint8_t opcode) {
  const size_t width = arg_width(opcode);
  const int64_t code = calc_binint(in_.take(width), width);
  if (code <= 0) fail(ErrorCode::BadArgument, "EXT specifies code <= 0");
  std::optional<std::pair<std::string, std::string>> pair;
  if (opt_.extension) {
    pair = as_error([&] { return opt_.extension(static_cast<int32_t>(code)); }, "the extension hook");
  }
  if (!pair) fail(ErrorCode::NoHook, "unregistered extension code " + std::to_string(code));
  push(find_class(pair->first, pair->second, opcode, static_cast<int32_t>(code)));
}

// ---- classes and functions ------------------------------------------------------

// Where the C unpickler's bad_readline stops, the pure-Python one takes
// readline()[:-1] all the same: an empty line, or the input's last bytes
// (without '\n': less their last byte), and resolves that name.
std::string_view Machine::name_line(bool nonempty) {
  std::string_view line;
  try {
    line = in_.line();
  } catch (const Error& e) {
    if (!python() || e.code() != ErrorCode::Truncated) throw;
    const auto left = static_cast<size_t>(in_.limit() - in_.cursor());
    return in_.take_view(left).substr(0, left ? left - 1 : 0);
  }
  if (line.size() < 2 && nonempty && !python()) [[unlikely]] fail_truncated();
  return line.substr(0, line.size() - 1);
}

std::pair<std::string, std::string_view> Machine::global_lines(void (*check)(std::string_view)) {
  std::string module(name_line());  // a copy: the next read may move the buffer
  check(module);
  const std::string_view name = name_line();
  check(name);
  return {std::move(module), name};
}

void Machine::load_global() {
  const auto [module, name] = global_lines([](std::string_view s) { require_utf8(s, false); });
  push(find_class(module, name, op::GLOBAL));
}

void Machine::load_stack_global() {
  const NodeId name = pop();
  const NodeId module = pop();
  if (g_.kind(module) != Kind::Str || g_.kind(name) != Kind::Str)
    fail(ErrorCode::BadArgument, "STACK_GLOBAL requires str");
  push(find_class(g_.as_str(module), g_.as_str(name), op::STACK_GLOBAL));
}

// ---- objects --------------------------------------------------------------------

void Machine::load_reduce() {
  const NodeId args = pop();
  const NodeId callable = pop();
  if (opt_.trace) [[unlikely]] trace_call(op::REDUCE, callable, args);
  push(reduced_ = call(callable, args));
  reduced_end_ = in_.offset();
}

void Machine::load_build() {
  if (!top_has(2)) underflow();
  const NodeId state = pop();
  if (opt_.trace) [[unlikely]] {
    TraceEvent e{.kind = TraceKind::Build, .opcode = op::BUILD, .offset = 0, .target = stack_.back(), .args = state};
    trace(e, op::BUILD);
  }
  build(stack_.back(), state);
  if (opt_.after_build) [[unlikely]] in_.skip(opt_.after_build(g_, stack_.back(), in_.offset()));
}

void Machine::load_inst() {
  if (marks_.empty()) [[unlikely]] inst_without_mark();
  const size_t mark = marker();
  const auto [module, name] = global_lines(&require_ascii);
  const NodeId cls = find_class(module, name, op::INST);
  check_len(stack_.size() - mark);
  const NodeId args = g_.tuple(top_from(mark));
  stack_.resize(mark);
  if (opt_.trace) [[unlikely]] trace_call(op::INST, cls, args);
  push(instantiate(cls, args));
}

void Machine::inst_without_mark() {
  if (python()) {
    const auto [module, name] = global_lines(&require_ascii);
    find_class(module, name, op::INST);
  }
  fail(ErrorCode::NoMark, "could not find MARK");
}

void Machine::load_obj() {
  const size_t mark = marker();
  if (stack_.size() - mark < 1) underflow();
  check_len(stack_.size() - mark - 1);
  const NodeId args = g_.tuple(top_from(mark + 1));
  stack_.resize(mark + 1);
  const NodeId cls = pop();
  if (opt_.trace) [[unlikely]] trace_call(op::OBJ, cls, args);
  push(instantiate(cls, args));
}

void Machine::load_newobj(bool ex) {
  const NodeId kwargs = ex ? pop() : kNoNode;
  const NodeId args = pop();
  const NodeId cls = pop();
  if (opt_.trace) [[unlikely]] trace_call(ex ? op::NEWOBJ_EX : op::NEWOBJ, cls, args, kwargs);
  push(newobj(cls, args, kwargs, ex));
}

// ---- persistent ids ---------------------------------------------------------------

// Whether there is a hook is checked before the pid is read, as CPython does.
void Machine::require_persistent_load() {
  if (!opt_.persistent_load && opt_.persistent_ids != PersistentIds::Keep)
    fail(ErrorCode::NoHook,
         "A load persistent id instruction was encountered,\n"
         "but no persistent_load function was specified.");
}

// The object a persistent id stands for: the caller's hook, else a kept
// PersId node (DecodeOptions::persistent_ids).
NodeId Machine::persistent_load(NodeId pid, uint8_t via) {
  if (opt_.trace) [[unlikely]] {
    TraceEvent e{.kind = TraceKind::PersistentLoad, .opcode = via, .offset = 0, .args = pid};
    trace(e, via);
  }
  if (!opt_.persistent_load) return g_.persid(pid);
  const NodeId obj = as_error([&] { return opt_.persistent_load(g_, pid); }, "persistent_load");
  if (obj >= g_.size()) fail(ErrorCode::Usage, "persistent_load returned an invalid node");
  return obj;
}

void Machine::load_persid() {
  require_persistent_load();
  const std::string_view text = name_line(false);
  if (first_non_ascii(text) != std::string_view::npos)
    fail(ErrorCode::BadArgument, "persistent IDs in protocol 0 must be ASCII strings");
  push(persistent_load(g_.str(text), op::PERSID));
}

void Machine::load_binpersid() {
  require_persistent_load();
  const NodeId pid = pop();
  push(persistent_load(pid, op::BINPERSID));
}

// ---- machine control ----------------------------------------------------------------

void Machine::load_proto() {
  const int v = *in_.take(kWidth<op::PROTO>);
  if (v > 5) fail(ErrorCode::BadProtocol, "unsupported pickle protocol: " + std::to_string(v));
  proto_ = v;
}

void Machine::load_frame() {
  const uint64_t n = le(in_.take(kWidth<op::FRAME>), kWidth<op::FRAME>);
  if (n > kSsizeMax) fail_too_large("FRAME length", "of");
  try {
    in_.prefetch(n);
  } catch (const Error& e) {
    // The pure-Python unpickler's frame holds what is left (file.read(n)).
    if (!python() || e.code() != ErrorCode::Truncated) throw;
  }
}

Graph Machine::load_stop() {
  const NodeId root = pop();
  flush_bytearrays();
  g_.set_root(root);
  return std::move(g_);
}

}  // namespace pkl::detail
