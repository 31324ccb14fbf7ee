// Globals (docs/conformance.md §2): Python 2 names through fix_imports below
// protocol 3 (CPython's find_class, Modules/_pickle.c), then one of the
// builtins pickle spells with a global, a registered class, or an inert
// global; the allowlist policy refuses the rest in CPython's words.
#include "base/compat_tables.inc"
#include "decode/machine.hpp"
#include "text/python_text.hpp"
#include "picklecodec/repr.hpp"

namespace pkl::detail {

namespace {

Special special_of(std::string_view module, std::string_view name) {
  if (module == "builtins") {
    if (name == "set") return Special::Set;
    if (name == "frozenset") return Special::FrozenSet;
    if (name == "bytearray") return Special::ByteArray;
    if (name == "bytes") return Special::Bytes;
    if (name == "getattr") return Special::Getattr;
    if (name == "object") return Special::Object;
  } else if (module == "_codecs" && name == "encode") {
    return Special::CodecsEncode;
  } else if (module == "copyreg" && name == "_reconstructor") {
    return Special::Reconstructor;
  }
  return Special::None;
}

}  // namespace

NodeId Machine::find_class(std::string_view module, std::string_view name, uint8_t via, int32_t ext) {
  std::string_view m = module, n = name;
  if (proto_ < 3 && opt_.fix_imports) {
    if (const auto* e = compat::find_name(compat::kNameMapping, module, name)) {
      m = e->to_module;
      n = e->to_name;
    } else if (const auto* e2 = compat::find_import(compat::kImportMapping, module)) {
      m = e2->to;
    }
  }
  if (opt_.trace) [[unlikely]] {
    // Before the policy may refuse it: CPython imports the module first.
    TraceEvent e{.kind = TraceKind::Global, .opcode = via, .offset = 0, .module = m, .qualname = n,
                 .raw_module = module, .raw_qualname = name, .ext_code = ext};
    trace(e, via);
  }
  return resolve(m, n);
}

void Machine::trace(TraceEvent& e, uint8_t opcode) {
  e.opcode = opcode;
  e.offset = in_.op_offset();
  opt_.trace->on_event(e, g_);
}

void Machine::trace_call(uint8_t opcode, NodeId callable, NodeId args, NodeId kwargs) {
  TraceEvent e{.kind = TraceKind::Call, .opcode = opcode, .offset = 0, .target = callable, .args = args,
               .kwargs = kwargs};
  trace_op_ = opcode;
  trace(e, opcode);
}

void Machine::trace_method(uint8_t opcode, const char* method, NodeId target, std::span<const NodeId> items) {
  TraceEvent e{.kind = TraceKind::Method, .opcode = opcode, .offset = 0, .name = method, .target = target,
               .items = items.data(), .count = items.size()};
  trace(e, opcode);
}

NodeId Machine::resolve(std::string_view module, std::string_view name) {
  NodeId n = g_.global(module, name);
  const GlobalInfo& gi = info(n);
  if (opt_.policy == GlobalPolicy::AllowlistOnly && gi.special == Special::None && gi.class_index < 0) {
    fail(ErrorCode::NotAllowed, "Can't get attribute " + repr_str(name) + " on <module " + repr_str(module) + ">");
  }
  return n;
}

const GlobalInfo& Machine::info(NodeId global) {
  InfoCache& c = info_cache_[global & 7];
  if (c.node == global) return c.info;
  auto it = globals_.find(global);
  if (it != globals_.end()) {
    c.node = global;
    c.info = it->second;
    return it->second;
  }
  const GlobalData& d = g_.global_data(global);
  GlobalInfo gi;
  if (opt_.registry) gi.class_index = opt_.registry->find(d.module, d.qualname);
  if (gi.class_index < 0) gi.special = special_of(d.module, d.qualname);
  return globals_.emplace(global, gi).first->second;
}

}  // namespace pkl::detail
